// Two independent tape parameters: the input's `X` and the parameters' `T`. The one
// bound `X: Merge<T>` is needed (the compiler cannot know every pair merges); the chain
// after it needs nothing more. An MLP built from this layer, with plain data as input,
// needs only `T: Tape`: the first layer's `X` is `NoGrad`, the second's `T::Plain`.
use typegrad::prelude::*;

fn linear<const I: usize, const O: usize, X: Tape + Merge<T>, T: Tape>(
    x: &Tensor<Rank1<I>, f32, X>,
    w: &Tensor<Rank2<I, O>, f32, T>,
    b: &Tensor<Rank1<O>, f32, T>,
) -> Tensor<Rank1<O>, f32, BinaryTape<X, T>> {
    let y = (x.matmul(w) + b).relu();
    (&y * &y + b) * 0.5 + &y
}

fn mlp<T: Tape>(
    x: &Tensor<Rank1<4>, f32>,
    w1: &Tensor<Rank2<4, 8>, f32, T>,
    b1: &Tensor<Rank1<8>, f32, T>,
    w2: &Tensor<Rank2<8, 2>, f32, T>,
    b2: &Tensor<Rank1<2>, f32, T>,
) -> Tensor<Rank1<2>, f32, T::Plain> {
    let h = linear(x, w1, b1);
    linear(&h, w2, b2)
}

fn main() {
    let mut rng = seeded_rng(2);
    let x = Tensor::<Rank1<4>, f32>::randn(&mut rng);
    let w1 = Tensor::<Rank2<4, 8>, f32>::randn(&mut rng);
    let b1 = Tensor::<Rank1<8>, f32>::zeros();
    let w2 = Tensor::<Rank2<8, 2>, f32>::randn(&mut rng);
    let b2 = Tensor::<Rank1<2>, f32>::zeros();

    let plain: Tensor<Rank1<2>, f32, NoGrad> = mlp(&x, &w1, &b1, &w2, &b2);
    let w1t = w1.track();
    let tracked: Tensor<Rank1<2>, f32, Tracked> =
        mlp(&x, &w1t, &b1.track(), &w2.track(), &b2.track());
    assert_eq!(plain, tracked);
    let _ = tracked.sum().backward().get(&w1t);

    // A tracked input with plain parameters: `X = Tracked`, `T = NoGrad`.
    let xt = x.track();
    let y: Tensor<Rank1<8>, f32, Tracked> = linear(&xt, &w1, &b1);
    assert!(y.sum().backward().contains(&xt));
}
