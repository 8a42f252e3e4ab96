// Issue 21: typegrad's qr is the factorisation of a tall matrix of full column rank (R
// square and invertible, which its derivative needs). PyTorch factors a 3 x 5 matrix
// into Q 3 x 3 and R 3 x 5, another factorisation with other rules; here the build
// fails, naming both numbers.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 5>, f64>::ones();
    let _ = a.qr();
}
