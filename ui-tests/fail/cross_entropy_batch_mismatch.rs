// Extra case: cross-entropy with a class index array whose length is not the batch size.
// PyTorch: "Expected input batch_size (2) to match target batch_size (3)", at run time.
use typegrad::prelude::*;

fn main() {
    let logits = Tensor::<Rank2<2, 4>, f32>::zeros().track();
    let _ = logits.cross_entropy(&[0, 1, 3]);
}
