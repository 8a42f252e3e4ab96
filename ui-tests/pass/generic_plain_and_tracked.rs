// One forward function serves training (Tracked weights) and inference (plain weights);
// chains of operations on a generic tape keep the type `UnaryTape<T>`.
use typegrad::prelude::*;
fn squared_error<S: Shape, T: Tape>(
    x: &Tensor<S, f32, T>,
    t: &Tensor<S, f32>,
) -> Tensor<Rank0, f32, UnaryTape<T>> {
    (x - t).powf(2.0).sum()
}
fn forward<const I: usize, const O: usize, T: Tape>(
    x: &Tensor<Rank1<I>, f32>,
    w: &Tensor<Rank2<I, O>, f32, T>,
) -> Tensor<Rank1<O>, f32, UnaryTape<T>> {
    x.matmul(w)
}
fn main() {
    let x = Tensor::<Rank1<2>, f32>::ones();
    let w = Tensor::<Rank2<2, 2>, f32>::ones();
    let a = forward(&x, &w);
    let b = forward(&x, &w.track());
    let _ = squared_error(&b, &a).backward();
    assert_eq!(a, b.no_grad());
}
