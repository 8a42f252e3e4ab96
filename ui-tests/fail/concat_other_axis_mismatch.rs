// Extra case: a concatenation along axis 0 of shapes whose axis 1 differs ([2, 3] and
// [1, 4]). PyTorch: "Sizes of tensors must match except in dimension 0. Expected size 3
// but got size 4 for tensor number 1 in the list", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>, f32>::ones();
    let b = Tensor::<Rank2<1, 4>, f32>::ones();
    let _: Tensor<Rank2<3, 3>, f32> = a.concat::<0, _, _, _>(&b);
}
