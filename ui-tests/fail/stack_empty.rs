// Extra case: `Tensor::stack` of an empty array. PyTorch: "stack expects a non-empty
// TensorList", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let parts: [Tensor<Rank1<3>, f32, Tracked>; 0] = [];
    let _ = Tensor::stack(parts);
}
