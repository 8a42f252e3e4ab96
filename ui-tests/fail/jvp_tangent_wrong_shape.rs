// The transforms spec: a forward-mode tangent lives in the input's space, so it has the
// input's shape. A tangent of another shape is a type error naming both.
use typegrad::func;
use typegrad::prelude::*;

fn main() {
    let x = Tensor::from_array([1.0f64, 2.0, 3.0]);
    let v = Tensor::from_array([1.0f64, 0.0, 0.0, 0.0]);
    let _ = func::jvp(|x| x.sin(), &x, &v);
}
