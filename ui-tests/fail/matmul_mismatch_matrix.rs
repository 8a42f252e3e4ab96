// SPEC §3.5: [5, 3] x [4, 2]: the inner dimensions differ. PyTorch: "mat1 and mat2 shapes
// cannot be multiplied (5x3 and 4x2)", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<5, 3>, f32>::ones();
    let b = Tensor::<Rank2<4, 2>, f32>::ones();
    let _ = a.matmul(&b);
}
