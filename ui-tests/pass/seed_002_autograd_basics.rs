// Seed notebook 002, "Automatic Differentiation with torch.autograd" (the current PyTorch
// basics tutorial): a one-layer model z = x·w + b with a binary cross-entropy loss, its
// gradients, and disabling tracking. Shows the shapes and tapes of each value.
use typegrad::prelude::*;

fn main() {
    let mut rng = seeded_rng(2);
    let x = Tensor::<Rank1<5>, f32>::ones();
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let z: Tensor<Rank1<3>, f32, Tracked> = x.matmul(&w) + &b;
    let loss: Tensor<Rank0, f32, Tracked> = z.bce_with_logits(&y);
    assert_eq!(z.grad_fn().unwrap().to_string(), "<AddBackward0>");
    assert_eq!(
        loss.grad_fn().unwrap().to_string(),
        "<BinaryCrossEntropyWithLogitsBackward0>"
    );

    // Computing gradients.
    let grads = loss.backward();
    let w_grad = grads.get(&w).unwrap();
    let b_grad = grads.get(&b).unwrap();
    // x is all ones, so every row of w.grad is b.grad, and b.grad is sigmoid(z) / 3.
    for row in w_grad.as_slice().chunks(3) {
        assert_eq!(row, b_grad.as_slice());
    }
    let expected = z.no_grad().sigmoid() / 3.0;
    for (g, e) in b_grad.as_slice().iter().zip(expected.as_slice()) {
        assert!((g - e).abs() < 1e-6);
    }

    // Disabling gradient tracking: `with torch.no_grad()` is computing with the
    // untracked views of the parameters.
    let z = x.matmul(&w) + &b;
    assert!(z.requires_grad());
    let z: Tensor<Rank1<3>, f32, NoGrad> = x.matmul(&w.no_grad()) + b.no_grad();
    assert!(!z.requires_grad());
}
