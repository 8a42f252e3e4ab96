// Issue 21: the right-hand side of `solve` needs as many rows as the matrix. PyTorch:
// "linalg.solve: Incompatible shapes of A and B for the equation AX = B (3x3 and 4x1)",
// at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 3>, f64>::ones();
    let b = Tensor::<Rank2<4, 2>, f64>::ones();
    let _ = a.solve(&b);
}
