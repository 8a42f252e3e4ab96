// Extra case: `permute` of a matrix with an axis listed twice. PyTorch: "permute():
// duplicate dims are not allowed", at run time.
use typegrad::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>, f32>::ones();
    let _ = m.permute::<1, 1>();
}
