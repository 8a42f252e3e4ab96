// `gather` along axis 1 with an index tensor longer than the tensor on axis 0 ([3, 1]
// for [2, 3]). PyTorch: "Size does not match at dimension 0 expected index [3, 1] to be
// smaller than self [2, 3] apart from dimension 1", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 3>, f32>::ones();
    let index = Indices::<Rank2<3, 1>>::full(0);
    let _ = x.gather::<1, _>(&index);
}
