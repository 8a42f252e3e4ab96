// SPEC §3.3: a `NoGrad` tensor records nothing, so it cannot be backpropagated.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<3>, f32>::ones();
    x.sum().backward();
}
