// SPEC §3.4: backward consumes its root, so a second call on the same root is a use
// after move. PyTorch: "Trying to backward through the graph a second time", at run time.
// rustc's E0382 names the value and the call that consumed it.
use typegrad::prelude::*;

fn main() {
    let x = Tensor::<Rank0, f32>::full(3.0).track();
    let z = x.powf(2.0) * 3.0;
    let _first = z.backward();
    let _second = z.backward();
}
