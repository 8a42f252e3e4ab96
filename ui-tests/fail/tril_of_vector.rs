// Extra case: `tril` of a vector, which has no matrix to take a triangle of. PyTorch:
// "tril: input tensor must have at least 2 dimensions", at run time.
use typegrad::prelude::*;

fn main() {
    let v = Tensor::<Rank1<3>, f32>::ones();
    let _ = v.tril(0);
}
