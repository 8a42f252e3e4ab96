// SPEC §3.10: no in-place operation on a tracked tensor. PyTorch: "a leaf Variable that
// requires grad is being used in an in-place operation", at run time.
use typegrad::prelude::*;

fn main() {
    let mut x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    x += 1.0;
}
