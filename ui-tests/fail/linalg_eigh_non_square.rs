// Issue 21: a symmetric eigendecomposition needs a square matrix. PyTorch: "linalg.eigh:
// A must be batches of square matrices, but they are 3 by 2 matrices", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 2>, f64>::ones();
    let _ = a.eigh();
}
