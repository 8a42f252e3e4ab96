// Extra case: `Tensor::stack` of rank-4 tensors, whose stack would have five axes (shapes
// stop at `Rank4`). PyTorch has no such limit.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank4<1, 2, 3, 4>, f32>::ones();
    let _ = Tensor::stack([a.clone(), a]);
}
