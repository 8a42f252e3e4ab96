// Batches of 2 and of 3 matrices (inner dimensions agree): the message names both sizes.
// PyTorch: "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [3, 4]".
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank3<2, 3, 4>, f32>::ones();
    let b = Tensor::<Rank3<3, 4, 5>, f32>::ones();
    let _ = a.matmul(&b);
}
