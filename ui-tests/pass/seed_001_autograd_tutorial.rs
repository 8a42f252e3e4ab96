// Seed notebook 001, "Autograd: automatic differentiation" (the PyTorch 1.6 tutorial):
// out = mean(3 (x + 2)^2) is 27 with gradient 4.5, tracking after the fact, a
// vector-Jacobian product with `backward_with`, and `no_grad`/`detach`. Shows that
// reassigning a tracked value in a loop (`y = y * 2.0`) compiles and keeps its tape.
use typegrad::prelude::*;

fn main() {
    let mut rng = seeded_rng(1);

    let x = Tensor::<Rank2<2, 2>, f32>::ones().track();
    assert_eq!(
        x.to_string(),
        "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    );
    let y = &x + 2.0;
    assert_eq!(y.to_vec(), vec![3.0; 4]);
    assert_eq!(y.grad_fn().unwrap().name(), "AddBackward0");
    let z = &y * &y * 3.0;
    assert_eq!(z.to_vec(), vec![27.0; 4]);
    assert_eq!(z.grad_fn().unwrap().name(), "MulBackward0");
    let out = z.mean();
    assert_eq!(out.to_string(), "tensor(27., grad_fn=<MeanBackward0>)");

    // `a.requires_grad_(True)`: a new tracked leaf from the plain value.
    let a = Tensor::<Rank2<2, 2>, f32>::randn(&mut rng);
    let a = (&a * 3.0) / (&a - 1.0);
    assert!(!a.requires_grad());
    let a = a.track();
    assert!(a.requires_grad());
    let b = (&a * &a).sum();
    assert_eq!(b.grad_fn().unwrap().name(), "SumBackward0");

    // Calculating gradient: d out / dx = 3/2 (x + 2) = 4.5.
    let grads = out.backward();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![4.5; 4]);

    // Vector-Jacobian product. `y.data.norm()` is the norm of the value alone.
    let x = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let mut y = &x * 2.0;
    let mut doublings = 1;
    while y.no_grad().norm().item() < 1000.0 {
        y = y * 2.0;
        doublings += 1;
    }
    let v = Tensor::from_array([0.1f32, 1.0, 0.0001]);
    let grads = y.backward_with(&v);
    // Doubling is exact, so x.grad is exactly 2^k v (the notebook's k is 10).
    let expected = &v * 2f32.powi(doublings);
    assert_eq!(grads.get(&x).unwrap().as_slice(), expected.as_slice());

    // Stop autograd from tracking history.
    assert!(x.requires_grad());
    assert!(x.powf(2.0).requires_grad());
    // `with torch.no_grad(): (x**2)`
    assert!(!x.no_grad().powf(2.0).requires_grad());
    assert!(x.requires_grad());
    let y: Tensor<Rank1<3>, f32, Detached> = x.detach();
    assert!(!y.requires_grad());
    // `x.eq(y)`: every element equal.
    assert!(x.as_slice().iter().zip(y.as_slice()).all(|(p, q)| p == q));
}
