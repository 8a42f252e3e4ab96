// Building a tensor from tensors with `from_array`: the message points to
// `Tensor::stack`, not to float literals.
use typegrad::prelude::*;

fn main() {
    let t0 = Tensor::<Rank1<3>, f32>::ones();
    let t1 = Tensor::<Rank1<3>, f32>::zeros();
    let _ = Tensor::from_array([t0, t1]);
}
