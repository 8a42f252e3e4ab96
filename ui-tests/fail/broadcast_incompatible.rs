// Extra case: an explicit broadcast of [2, 3] to [4, 3]: the 2 is neither 4 nor 1.
// PyTorch: "The expanded size of the tensor (4) must match the existing size (2) at
// non-singleton dimension 0", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>, f32>::ones();
    let _: Tensor<Rank2<4, 3>, f32> = m.broadcast();
}
