// SPEC §3.10: no in-place operation on a tracked tensor. PyTorch: "a leaf Variable that
// requires grad is being used in an in-place operation", at run time.
//
// Operators give E0368 ("cannot use `+=` on type `Tensor<..., Tracked>`") with the note
// "`Tracked` does not implement `Mutable`": rustc shows no custom text for a missing
// operator impl. The method forms (`fill`, `set`) carry the full message
// (inplace_fill_on_tracked.rs).
use typegrad::prelude::*;

fn main() {
    let mut x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    x += 1.0;
}
