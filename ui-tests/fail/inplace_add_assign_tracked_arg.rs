// Extra case: a compound assignment (`+=`, `-=`, `*=`, `/=`; one impl macro) whose
// right side is `Tracked`. The left side is a plain value that records nothing, so the
// gradient through `w * x` would be lost: `(&acc * &w).sum().backward()` would give
// `w * x` for `w` instead of `2 * w * x`. PyTorch gets this right by making `acc` part of
// the graph at run time; here `acc`'s tape is its type and cannot change, so the
// argument must be detached explicitly. The custom message shows for the operator form
// because the impl's argument tape is a bounded parameter (see src/tensor/inplace.rs).
use typegrad::prelude::*;

fn main() {
    let w = Tensor::from_array([2.0f32]).track();
    let x = Tensor::from_array([1.0f32]);
    let mut acc = Tensor::<Rank1<1>, f32>::zeros();
    acc += &(&w * &x);
}
