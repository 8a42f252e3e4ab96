// Extra case: a concatenation of a matrix with a vector. PyTorch: "Tensors must have same
// number of dimensions: got 2 and 1", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>, f32>::ones();
    let b = Tensor::<Rank1<3>, f32>::ones();
    let _: Tensor<Rank2<3, 3>, f32> = a.concat::<0, _, _, _>(&b);
}
