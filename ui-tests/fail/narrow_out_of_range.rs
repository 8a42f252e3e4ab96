// Extra case: a typed slice that does not fit in the axis (elements 3..6 of a 5-vector).
// PyTorch: "start (3) + length (3) exceeds dimension size (5)", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let v = Tensor::<Rank1<5>, f32>::ones();
    let _ = v.narrow::<0, 3, 3>();
}
