// SPEC §3.5, batched form: batches of 2 x 3 matrices times batches of 4 x 5 matrices.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank3<8, 2, 3>, f64>::ones();
    let b = Tensor::<Rank3<8, 4, 5>, f64>::ones();
    let _ = a.matmul(&b);
}
