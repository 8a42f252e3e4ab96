// A vector times a batch of matrices: no rank pair fits, so the message lists the right
// operands a vector can take.
use typegrad::prelude::*;

fn main() {
    let v = Tensor::<Rank1<3>, f32>::ones();
    let b = Tensor::<Rank3<2, 3, 4>, f32>::ones();
    let _ = v.matmul(&b);
}
