// SPEC §3.7: reshape to another element count ([2, 3] -> [4, 2]). PyTorch: "shape '[4, 2]'
// is invalid for input of size 6", at run time.
//
// Reported by `cargo build`, not `cargo check`: stable Rust cannot compare the products
// of const generic dimensions in a trait bound for every size, so reshape checks with an
// inline `const` assertion, evaluated when the function is instantiated.
use typegrad::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>, f32>::ones();
    let _: Tensor<Rank2<4, 2>, f32> = m.reshape();
}
