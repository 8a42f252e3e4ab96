// An `f64` scalar on an `f32` tensor: the message names the fix (`2.0_f32`, `as f32`,
// or `E::from_f64` in generic code) instead of listing every `Mul` impl.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<3>, f32>::ones();
    let _ = x * 2.0_f64;
}
