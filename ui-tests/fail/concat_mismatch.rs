// Extra case: concatenation whose lengths do not add up to the annotated result
// ([2, 3] and [1, 3] along axis 0 make [3, 3], not [4, 3]). PyTorch cannot get this wrong
// (it computes the result shape) but reports mismatched other dimensions at run time.
//
// Reported by `cargo build` (a `const` assertion; see reshape_element_count.rs).
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>, f32>::ones();
    let b = Tensor::<Rank2<1, 3>, f32>::ones();
    let _: Tensor<Rank2<4, 3>, f32> = a.concat::<0, _, _, _>(&b);
}
