// Extra case: `concat` of two scalars, which have no axis to join along (the message
// points to `Tensor::stack`). PyTorch: "zero-dimensional tensor (at position 0) cannot
// be concatenated", at run time.
use typegrad::prelude::*;

fn main() {
    let a = Tensor::<Rank0, f32>::full(1.0).track();
    let b = Tensor::<Rank0, f32>::full(2.0).track();
    let _: Tensor<Rank1<2>, f32, Tracked> = a.concat::<0, _, _, _>(&b);
}
