// Issue 21: the right-hand side of a least-squares problem needs the matrix's rows.
// PyTorch: "torch.linalg.lstsq: input.size(-2) should match other.size(-1)", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank2<4, 2>, f64>::ones();
    let b = Tensor::<Rank1<3>, f64>::ones();
    let _ = a.lstsq(&b);
}
