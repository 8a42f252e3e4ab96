// Extra case: `.track()` on a tensor that is already tracked.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<3>, f32>::ones().track();
    let y = &x * 2.0;
    let _ = y.track();
}
