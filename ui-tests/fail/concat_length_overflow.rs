// Extra case: a concatenation whose length along the axis would not fit in a usize
// ([usize::MAX] and [1]). Reported with the shapes, instead of rustc's "attempt to
// compute `usize::MAX + 1_usize`, which would overflow".
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank1<{ usize::MAX }>, f32>::ones();
    let b = Tensor::<Rank1<1>, f32>::ones();
    let _: Tensor<Rank1<0>, f32> = a.concat::<0, _, _, _>(&b);
}
