// SPEC §3.2: a `Detached` tensor records nothing, so it cannot be backpropagated.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<3>, f32>::ones().track();
    let loss = x.sum();
    loss.detach().backward();
}
