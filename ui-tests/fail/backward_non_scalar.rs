// SPEC §3.1: `backward()` needs a scalar. PyTorch: "grad can be implicitly created only
// for scalar outputs", at run time.
use typegrad::prelude::*;

fn main() {
    let w = Tensor::<Rank2<5, 3>, f32>::ones().track();
    let x = Tensor::<Rank1<5>, f32>::ones();
    let z = x.matmul(&w);
    z.backward();
}
