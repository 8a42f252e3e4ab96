// SPEC §3.11, matmul form: an f32 vector times an f64 matrix. rustc reports the
// mismatched element as E0308 ("expected `&Tensor<_, f32, _>`, found ... f64"): with one
// element type per left operand it infers the right one from it, so no custom text.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank1<2>, f32>::ones();
    let w = Tensor::<Rank2<2, 2>, f64>::ones();
    let _ = x.matmul(&w);
}
