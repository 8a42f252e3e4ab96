// Extra case: an explicit broadcast to a shape with fewer axes ([2, 3] to [3]).
// PyTorch: "the number of sizes provided (1) must be greater or equal to the number of
// dimensions in the tensor (2)", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>, f32>::ones();
    let _: Tensor<Rank1<3>, f32> = m.broadcast();
}
