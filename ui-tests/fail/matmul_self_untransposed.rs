// `a.matmul(&a)` for a non-square `a` (meant: `a.matmul(&a.t())`): both operands have one
// type, and the message still names the inner dimensions 4 and 3.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 4>, f32>::ones();
    let _ = a.matmul(&a);
}
