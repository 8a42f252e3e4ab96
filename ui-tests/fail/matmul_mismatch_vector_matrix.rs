// SPEC §3.5, vector form: a 4-vector times a 5 x 3 matrix.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<4>, f32>::ones();
    let w = Tensor::<Rank2<5, 3>, f32>::ones().track();
    let _ = x.matmul(&w);
}
