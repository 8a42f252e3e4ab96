// An MLP layer written once, generic over the tape with only `T: Tape`: matmul, add and
// relu chained, called with plain parameters (inference) and with tracked ones
// (training), and on a tracked input with a detached one.
use typegrad::prelude::*;

fn layer<T: Tape>(
    x: &Tensor<Rank1<4>, f32, T>,
    w: &Tensor<Rank2<4, 3>, f32, T>,
    b: &Tensor<Rank1<3>, f32, T>,
) -> Tensor<Rank1<3>, f32, T::Plain> {
    (x.matmul(w) + b).relu()
}

fn main() {
    let x = Tensor::<Rank1<4>, f32>::from_array([1.0, -1.0, 2.0, 0.5]);
    let w = Tensor::<Rank2<4, 3>, f32>::randn(&mut seeded_rng(0));
    let b = Tensor::<Rank1<3>, f32>::full(0.1);

    let plain: Tensor<Rank1<3>, f32, NoGrad> = layer(&x, &w, &b);
    let detached: Tensor<Rank1<3>, f32, NoGrad> = layer(&x.detach(), &w.detach(), &b.detach());
    let (xt, wt, bt) = (x.track(), w.track(), b.track());
    let tracked: Tensor<Rank1<3>, f32, Tracked> = layer(&xt, &wt, &bt);
    assert_eq!(plain, tracked);
    assert_eq!(plain, detached);
    let grads = tracked.sum().backward();
    assert!(grads.contains(&wt) && grads.contains(&bt) && grads.contains(&xt));
}
