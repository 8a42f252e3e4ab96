// SPEC §3.11: f32 and f64 do not mix. PyTorch promotes silently or reports "expected
// scalar type Float but found Double", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>, f32>::ones();
    let b = Tensor::<Rank1<3>, f64>::ones();
    let _ = a + b;
}
