// Extra case: element access with a compile-time index past the end (`at::<3>()` of a
// vector of 3). PyTorch: "index 3 is out of bounds for dimension 0 with size 3", at run
// time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let v = Tensor::<Rank1<3>, f32>::ones().track();
    let _ = v.at::<3>();
}
