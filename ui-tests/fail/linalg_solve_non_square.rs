// Issue 21: `solve` needs a square matrix. PyTorch: "linalg.solve: A must be batches of
// square matrices, but they are 3 by 4 matrices", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 4>, f64>::ones();
    let b = Tensor::<Rank1<3>, f64>::ones();
    let _ = a.solve(&b);
}
