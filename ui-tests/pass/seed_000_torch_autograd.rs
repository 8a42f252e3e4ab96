// Seed notebook 000, "Torch Autograd": a one-layer model with a binary cross-entropy
// loss, `no_grad`, `detach` (copy-on-write here, shared memory in PyTorch) and a break in
// the graph. Shows that the tape is in the type: `track()` makes a new `Tracked` leaf,
// `no_grad()`/`detach()` give untracked views, and gradients are looked up by leaf.
use typegrad::prelude::*;

fn main() {
    let mut rng = seeded_rng(0);
    let x = Tensor::<Rank1<5>, f32>::ones() + 3.0;
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng);
    // `b.requires_grad_(True)`: tracking gives a new value sharing b's storage.
    let b = b.track();
    let z = x.matmul(&w) + &b;
    let loss = z.bce_with_logits(&y);
    let _: &Tensor<Rank0, f32, Tracked> = &loss;
    assert_eq!(z.grad_fn().unwrap().name(), "AddBackward0");
    assert_eq!(
        loss.grad_fn().unwrap().name(),
        "BinaryCrossEntropyWithLogitsBackward0"
    );

    let grads = loss.backward();
    let w_grad: Tensor<Rank2<5, 3>, f32> = grads.get(&w).unwrap();
    let b_grad: Tensor<Rank1<3>, f32> = grads.get(&b).unwrap();
    // x is ones + 3, so every row of w.grad is 4 * b.grad; b.grad is sigmoid(z) / 3.
    for row in w_grad.as_slice().chunks(3) {
        assert_eq!(row, (&b_grad * 4.0).as_slice());
    }
    let expected = z.no_grad().sigmoid() / 3.0;
    for (g, e) in b_grad.as_slice().iter().zip(expected.as_slice()) {
        assert!((g - e).abs() < 1e-6);
    }
    // `z.backward()` is the notebook's deliberate error (a non-scalar root): it does not
    // compile, see ui-tests/fail/backward_non_scalar.rs.

    // no_grad(): `with torch.no_grad()` is computing with untracked views of the
    // parameters; the parameters stay tracked.
    let z = x.matmul(&w) + &b;
    assert!(z.requires_grad());
    let z_untracked: Tensor<Rank1<3>, f32, NoGrad> = x.matmul(&w.no_grad()) + b.no_grad();
    assert!(!z_untracked.requires_grad());
    assert!(w.requires_grad() && b.requires_grad());

    let z = x.matmul(&w) + &b;
    let zz: Tensor<Rank0, f32, NoGrad> = z.no_grad().matmul(&z.no_grad());
    assert!(z.requires_grad() && !zz.requires_grad());

    // detach(): same storage, no tape; an in-place edit copies first, so z keeps its
    // value (in PyTorch z changes too).
    let mut zd: Tensor<Rank1<3>, f32, Detached> = z.detach();
    assert!(!zd.requires_grad());
    assert_eq!(zd.as_slice(), z.as_slice());
    zd += 1.0;
    assert_eq!(zd.as_slice(), (&z.no_grad() + 1.0).as_slice());
    assert_ne!(zd.as_slice(), z.as_slice());

    // Intermediate break: a leaf made from an untracked value has no history behind it.
    let one = Tensor::<Rank1<3>, f32>::ones();
    let z = x.matmul(&w.no_grad()) + b.no_grad();
    let zz = z.matmul(&one).track();
    assert!(!z.requires_grad() && zz.requires_grad());
    // backward consumes its root; the clone is the same leaf, so zz can be looked up.
    let grads = zz.clone().backward();
    // `x.grad` and `z.grad` do not compile: x and z are NoGrad (grad_of_untracked.rs).
    assert_eq!(grads.get(&zz).unwrap().item(), 1.0);
    assert!(grads.get(&w).is_none());
}
