// Extra case: a concatenation along an axis the shapes do not have (axis 2 of two
// matrices). PyTorch: "Dimension out of range (expected to be in range of [-2, 1], but
// got 2)", at run time.
//
// A trait bound (`ConcatAxis`), reported by `cargo check`, as for scalars (concat_rank0.rs).
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>, f32>::ones();
    let b = Tensor::<Rank2<2, 3>, f32>::ones();
    let _: Tensor<Rank2<2, 3>, f32> = a.concat::<2, _, _, _>(&b);
}
