// The index of the maximum of a tensor with no elements. PyTorch: "argmax(): Expected
// reduction dim to be specified for input.numel() == 0", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank2<3, 0>, f64>::zeros();
    let _ = x.argmax();
}
