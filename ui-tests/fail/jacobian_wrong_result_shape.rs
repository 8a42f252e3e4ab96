// The transforms spec: a Jacobian's shape is the output's dimensions followed by the
// input's, known at compile time. The Jacobian of a function from `Rank1<3>` to
// `Rank1<2>` is a `Rank2<2, 3>`; binding it to a `Rank2<3, 2>` (the transpose) is a
// type error naming both shapes.
use typegrad::func;
use typegrad::prelude::*;

fn main() {
    let w = Tensor::<Rank2<2, 3>, f64>::ones();
    let x = Tensor::from_array([1.0f64, 2.0, 3.0]);
    let _j: Tensor<Rank2<3, 2>, f64> = func::jacobian(|x| w.matmul(x), &x);
}
