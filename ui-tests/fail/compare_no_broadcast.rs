// A comparison between shapes that do not broadcast ([2, 3] with [4]). PyTorch: "The
// size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
// at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>, f32>::ones();
    let b = Tensor::<Rank1<4>, f32>::ones();
    let _ = a.gt(&b);
}
