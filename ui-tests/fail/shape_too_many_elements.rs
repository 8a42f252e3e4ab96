// Extra case: a shape whose element count does not fit in a usize ([usize::MAX, 2]),
// here as a reshape target. Any use of the element count (reshape, construction) reports
// it, naming the shape, instead of rustc's "attempt to compute `usize::MAX * 2_usize`,
// which would overflow".
//
// Reported by `cargo build` (a `const` evaluation; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>, f32>::ones();
    let _ = m.reshape::<Rank2<{ usize::MAX }, 2>>();
}
