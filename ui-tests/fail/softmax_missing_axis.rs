// Extra case: softmax along an axis the tensor does not have.
use typegrad::prelude::*;

fn main() {
    let v = Tensor::<Rank1<4>, f64>::ones();
    let _ = v.softmax::<1>();
}
