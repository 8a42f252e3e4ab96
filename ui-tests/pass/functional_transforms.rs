// The transforms spec, compile-pass: closures and plain `fn` items, every result typed.
use typegrad::func;
use typegrad::prelude::*;

fn energy(x: &Tensor<Rank1<3>, f64, Tracked>) -> Tensor<Rank0, f64, Tracked> {
    (x * x).sum() * 0.5
}

fn main() {
    let x = Tensor::from_array([1.0f64, 2.0, 3.0]);
    let g: Tensor<Rank1<3>, f64> = func::grad(energy, &x);
    let (value, _): (f64, Tensor<Rank1<3>, f64>) = func::value_and_grad(energy, &x);
    let h: Tensor<Rank2<3, 3>, f64> = func::hessian(energy, &x).unwrap();
    let w = Tensor::<Rank2<2, 3>, f64>::ones();
    let j: Tensor<Rank2<2, 3>, f64> = func::jacobian(|x| w.matmul(x).tanh(), &x);
    let (y, jv): (Tensor<Rank1<2>, f64>, Tensor<Rank1<2>, f64>) =
        func::jvp(|x| w.matmul(x), &x, &Tensor::ones());
    let (_, vj): (Tensor<Rank1<2>, f64>, Tensor<Rank1<3>, f64>) =
        func::vjp(|x| w.matmul(x), &x, &Tensor::ones());
    // Gradients of gradients.
    let t = x.track();
    let dg = energy(&t).backward_create_graph().unwrap().get(&t).unwrap();
    let second = dg.sum().backward();
    assert_eq!(second.get(&t).unwrap().to_vec(), vec![1.0; 3]);
    assert_eq!((g.to_vec(), value), (x.to_vec(), 7.0));
    let _ = (h, j, y, jv, vj);
}
