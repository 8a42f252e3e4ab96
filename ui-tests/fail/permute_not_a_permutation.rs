// Extra case: `permute` with an axis listed twice. PyTorch: "permute(): duplicate dims
// are not allowed", at run time.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank3<2, 3, 4>, f32>::ones();
    let _ = x.permute::<0, 0, 1>();
}
