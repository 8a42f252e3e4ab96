// SPEC §3.8: only tracked leaves have gradients. PyTorch returns `None` for `x.grad`
// silently; here asking is a compile error.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank0, f32>::full(5.0);
    let w = Tensor::<Rank0, f32>::full(3.0).track();
    let grads = (&x * w.powf(2.0)).backward();
    let _ = grads.get(&x);
}
