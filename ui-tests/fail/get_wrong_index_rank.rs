// One index for a matrix: `get` takes one index per dimension.
use typegrad::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>, f32>::ones();
    let _ = m.get(1);
}
