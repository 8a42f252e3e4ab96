// A loss chaining several operations on a tensor of a generic tape `T` and a plain
// target: only `T: Tape` is needed, and the result is `T::Plain` whatever the chain.
use typegrad::prelude::*;

fn loss<S: Shape, T: Tape>(
    y: &Tensor<S, f32, T>,
    target: &Tensor<S, f32>,
) -> Tensor<Rank0, f32, T::Plain> {
    let d = y - target;
    let mse = (&d * &d).mean();
    let penalty = y.powf(2.0).sum() * 0.01;
    let hinge = (1.0 - y * target).relu().mean();
    (mse + penalty + &hinge).sqrt() + y.bce_with_logits(target)
}

fn main() {
    let y = Tensor::from_array([[0.5f32, -1.0], [2.0, 0.0]]);
    let target = Tensor::from_array([[1.0f32, 0.0], [1.0, 0.0]]);
    let plain: Tensor<Rank0, f32, NoGrad> = loss(&y, &target);
    let yt = y.track();
    let tracked: Tensor<Rank0, f32, Tracked> = loss(&yt, &target);
    assert_eq!(plain.item(), tracked.item());
    assert!(tracked.backward().contains(&yt));
}
