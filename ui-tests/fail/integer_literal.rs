// Extra case: an integer literal where the element type is a float (`x + 2`).
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<3>, f32>::ones();
    let _ = x + 2;
}
