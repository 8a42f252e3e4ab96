// Extra case: `add_scaled` (PyTorch's `add_(other, alpha=...)`) with a `Tracked`
// argument: the update records nothing, so `w.exp()`'s gradient path would end there.
use typegrad::prelude::*;

fn main() {
    let w = Tensor::from_array([0.5f32, 1.0]).track();
    let mut acc = Tensor::<Rank1<2>, f32>::zeros();
    acc.add_scaled(1.0, &w.exp());
}
