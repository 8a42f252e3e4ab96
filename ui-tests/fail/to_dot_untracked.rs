// A `NoGrad` tensor records no graph, so there is nothing to draw.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<3>, f32>::ones();
    let _ = (&x * 2.0).to_dot();
}
