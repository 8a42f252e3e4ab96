// Extra case: a typed slice whose end (START + LEN) is past the largest usize
// (START = usize::MAX). Reported with the shape and the numbers, instead of rustc's
// "attempt to compute `usize::MAX + 1_usize`, which would overflow".
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let v = Tensor::<Rank1<5>, f32>::ones();
    let _ = v.narrow::<0, { usize::MAX }, 1>();
}
