// The index of the maximum along an axis of length 0: no element to point at. PyTorch:
// "argmax(): Expected reduction dim 1 to have non-zero size", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 0>, f32>::zeros();
    let _ = x.argmax_axis::<1>();
}
