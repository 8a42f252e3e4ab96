// SPEC §3.10, method form: `fill` (PyTorch's `fill_`) on a tracked tensor.
use typegrad::prelude::*;

fn main() {
    let mut x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    x.fill(0.0);
}
