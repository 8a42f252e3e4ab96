// Extra case: `Tensor::stack` of a tuple of tensors of different shapes. PyTorch: "stack
// expects each tensor to be equal size, but got [3] at entry 0 and [4] at entry 1", at
// run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>, f32>::ones().track();
    let b = Tensor::<Rank1<4>, f32>::zeros();
    let _ = Tensor::stack((a, b));
}
