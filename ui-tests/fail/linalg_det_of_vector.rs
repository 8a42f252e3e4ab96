// Issue 21: a determinant needs a square matrix. PyTorch: "linalg.det: The input tensor
// A must have at least 2 dimensions.", at run time.
use typegrad::prelude::*;

fn main() {
    let v = Tensor::<Rank1<3>, f64>::ones();
    let _ = v.det();
}
