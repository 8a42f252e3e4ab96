// `gather` with an index tensor of another rank than the tensor's. PyTorch: "Index
// tensor must have the same number of dimensions as input tensor", at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 3>, f32>::ones();
    let index = Indices::<Rank1<2>>::full(0);
    let _ = x.gather::<1, _>(&index);
}
