// SPEC §3.5, matrix · vector: a 5 x 3 matrix times a 5-vector.
use typegrad::prelude::*;

fn main() {
    let w = Tensor::<Rank2<5, 3>, f32>::ones();
    let x = Tensor::<Rank1<5>, f32>::ones();
    let _ = w.matmul(&x);
}
