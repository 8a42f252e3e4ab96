// No silent wrong answers: `backward_with` treats its seed as a constant, so a `Tracked`
// seed's own gradient path would end there without a word. The error says to `.detach()`
// it, or to differentiate through it with `backward_with_create_graph`.
use typegrad::prelude::*;

fn main() {
    let w = Tensor::from_array([1.0f64, 2.0]).track();
    let x = Tensor::from_array([3.0f64, 4.0]).track();
    let seed = &w * 2.0;
    let _ = (&x * 3.0).backward_with(&seed);
}
