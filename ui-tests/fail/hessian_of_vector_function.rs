// The transforms spec: `hessian` (like `grad`) needs a scalar function. A function
// returning a vector has a Jacobian of gradients, not a Hessian; the error says to reduce
// the output or use `jacobian`. (torch.func.hessian accepts it and returns a 3-axis
// tensor of second derivatives; typegrad asks for what was meant.)
use typegrad::func;
use typegrad::prelude::*;

fn main() {
    let x = Tensor::from_array([1.0f64, 2.0, 3.0]);
    let _ = func::hessian(|x: &Tensor<Rank1<3>, f64, Tracked>| x * 2.0, &x);
}
