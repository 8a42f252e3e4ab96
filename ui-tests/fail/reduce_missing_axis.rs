// SPEC §3.12: a reduction over an axis the tensor does not have. PyTorch: "Dimension out
// of range (expected to be in range of [-2, 1], but got 2)", at run time.
use typegrad::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>, f32>::ones();
    let _ = m.sum_axis::<2>();
}
