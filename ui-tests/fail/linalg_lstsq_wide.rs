// Issue 21: least squares with full column rank needs at least as many rows as columns;
// a 2 x 4 system is underdetermined (PyTorch returns one of its solutions). The build
// fails, naming both numbers.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 4>, f64>::ones();
    let b = Tensor::<Rank1<2>, f64>::ones();
    let _ = a.lstsq(&b);
}
