// Extra case: `unsqueeze` at a position past the rank. A `Rank1<3>` takes a new axis at
// 0 (`Rank2<1, 3>`) or 1 (`Rank2<3, 1>`); 2 is out. PyTorch: "Dimension out of range
// (expected to be in range of [-2, 1], but got 2)", at run time.
use typegrad::prelude::*;

fn main() {
    let v = Tensor::<Rank1<3>, f32>::ones();
    let _ = v.unsqueeze::<2>();
}
