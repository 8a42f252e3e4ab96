// A `where_` whose mask does not have the result's shape: a mask of [3] cannot choose
// among the elements of a [2, 3] tensor (the mask fixes the result's shape, and the
// operands broadcast to it; the scalar `b` does). PyTorch broadcasts all three and would
// accept this; a mask of [4] it reports as "The size of tensor a (4) must match the size
// of tensor b (3)", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>, f32>::ones();
    let b = Tensor::<Rank0, f32>::zeros();
    let mask = Mask::<Rank1<3>>::full(true);
    let _ = where_(&mask, &a, &b);
}
