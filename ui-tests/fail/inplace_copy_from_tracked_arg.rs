// Extra case: `copy_from` (PyTorch's `copy_`) from a `Tracked` tensor: the copy records
// nothing, so the source's gradient path would end there.
use typegrad::prelude::*;

fn main() {
    let w = Tensor::from_array([[1.0f32, 2.0], [3.0, 4.0]]).track();
    let mut m = Tensor::<Rank2<2, 2>, f32>::zeros();
    m.copy_from(&(&w * 2.0));
}
