// A `Tracked` tensor is recorded on a graph that the thread which made it owns: moving
// one to another thread does not compile. Values travel (`.no_grad()`, `Gradients`);
// graphs do not.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::from_array([1.0f32, 2.0]).track();
    let y = &x * 3.0;
    std::thread::spawn(move || y.sum().backward());
}
