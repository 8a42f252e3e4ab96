// Two independent tape parameters combined without the bound `X: Merge<T>`: the message
// names the bound to add.
use typegrad::prelude::*;

fn weighted_sum<X: Tape, T: Tape>(
    x: &Tensor<Rank1<3>, f32, X>,
    w: &Tensor<Rank1<3>, f32, T>,
) -> f32 {
    (x * w).sum().item()
}

fn main() {
    let x = Tensor::<Rank1<3>, f32>::ones();
    let _ = weighted_sum(&x, &x.track());
}
