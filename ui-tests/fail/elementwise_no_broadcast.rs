// SPEC §3.6: [3] + [4] do not broadcast. PyTorch: "The size of tensor a (3) must match
// the size of tensor b (4) at non-singleton dimension 0", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>, f32>::ones();
    let b = Tensor::<Rank1<4>, f32>::ones();
    let _ = a + b;
}
