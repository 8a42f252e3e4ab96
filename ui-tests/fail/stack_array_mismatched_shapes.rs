// Extra case: `Tensor::stack` of an array of tensors of different shapes: an array holds
// one type, so rustc reports the mismatch, naming both shapes. PyTorch: "stack expects
// each tensor to be equal size, but got [3] at entry 0 and [4] at entry 1", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>, f32>::ones();
    let b = Tensor::<Rank1<4>, f32>::zeros();
    let _ = Tensor::stack([a, b]);
}
