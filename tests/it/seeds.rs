//! The seed notebooks (`shared/seeds/`) replayed: every deterministic number they print,
//! and what typegrad does where PyTorch raises a `RuntimeError` (SPEC §4).

use typegrad::prelude::*;

fn assert_close(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        let scale = e.abs().max(1.0);
        assert!((a - e).abs() <= 1e-6 * scale, "{actual:?} vs {expected:?}");
    }
}

/// Notebook 001: `out = (3 (x + 2)²).mean()` at x = 1 is 27; d out / dx = 4.5.
#[test]
fn mean_of_squares_is_27_with_gradient_4_5() {
    let x = Tensor::<Rank2<2, 2>, f32>::ones().track();
    assert_eq!(
        x.to_string(),
        "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    );
    let y = &x + 2.0;
    assert_eq!(
        y.to_string(),
        "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    );
    assert_eq!(y.grad_fn().map(|g| g.name()), Some("AddBackward0"));
    let z = &y * &y * 3.0;
    assert_eq!(
        z.to_string(),
        "tensor([[27., 27.],\n        [27., 27.]], grad_fn=<MulBackward0>)"
    );
    let out = z.mean();
    assert_eq!(out.to_string(), "tensor(27., grad_fn=<MeanBackward0>)");
    let grads = out.backward();
    let gx = grads.get(&x).expect("x is on the path to out");
    assert_eq!(gx.to_vec(), vec![4.5; 4]);
    assert_eq!(
        gx.to_string(),
        "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])"
    );
}

/// Notebook 001: `requires_grad_` after the fact, then `(a * a).sum()` has `SumBackward0`.
#[test]
fn tracking_after_the_fact_and_sum_backward_name() {
    let a = Tensor::<Rank2<2, 2>, f32>::randn(&mut seeded_rng(1));
    let a = (&a * 3.0) / (&a - 1.0);
    assert!(!a.requires_grad());
    let a = a.track();
    assert!(a.requires_grad());
    let b = (&a * &a).sum();
    assert_eq!(b.grad_fn().map(|g| g.name()), Some("SumBackward0"));
    let expected: f32 = a.as_slice().iter().map(|v| v * v).sum();
    assert!((b.item() - expected).abs() <= 1e-5 * expected.abs());
    let ga = b.backward().get(&a).expect("a is on the path");
    let twice_a: Vec<f32> = a.as_slice().iter().map(|v| 2.0 * v).collect();
    assert_close(ga.as_slice(), &twice_a);
}

/// Notebook 003: `z = x w²` with x = 5 untracked, w = 3 tracked: 45, dz/dw = 30.
#[test]
fn product_with_an_untracked_factor() {
    let x = Tensor::<Rank0, f32>::full(5.0);
    let w = Tensor::<Rank0, f32>::full(3.0).track();
    let z = &x * w.powf(2.0);
    assert_eq!(z.to_string(), "tensor(45., grad_fn=<MulBackward0>)");
    let grads = z.backward();
    assert_eq!(grads.get(&w).map(|g| g.item()), Some(30.0));
    // `grads.get(&x)` does not compile: x is NoGrad (ui-tests/fail/grad_of_untracked.rs).
    let check = 2.0 * &x * &w;
    assert_eq!(check.to_string(), "tensor(30., grad_fn=<MulBackward0>)");
}

/// Notebook 003: `z = x · (x x)` at 2: 12 through both paths, 4 when `y` is detached or
/// computed without tracking.
#[test]
fn detaching_an_intermediate_cuts_its_path() {
    let x = Tensor::<Rank0, f32>::full(2.0).track();
    let y = &x * &x;
    assert!(y.requires_grad());
    let dz = (&x * &y).backward().get(&x).map(|g| g.item());
    assert_eq!(dz, Some(12.0));

    let x = Tensor::<Rank0, f32>::full(2.0).track();
    let y = (&x * &x).detach();
    assert!(!y.requires_grad());
    assert_eq!((&x * &y).backward().get(&x).map(|g| g.item()), Some(4.0));

    let x = Tensor::<Rank0, f32>::full(2.0).track();
    let y = x.no_grad() * x.no_grad();
    assert!(!y.requires_grad());
    assert_eq!((&x * &y).backward().get(&x).map(|g| g.item()), Some(4.0));
}

/// Notebook 003: a value used three times is a DAG: d(3x + x² + x)/dx at 2 is 8.
#[test]
fn reuse_makes_a_dag() {
    let x = Tensor::<Rank0, f32>::full(2.0).track();
    let y = 3.0 * &x;
    let z = x.powf(2.0);
    let w = y + z + &x;
    assert_eq!(w.backward().get(&x).map(|g| g.item()), Some(8.0));
    let check = 3.0 + 2.0 * &x + 1.0;
    assert_eq!(check.to_string(), "tensor(8., grad_fn=<AddBackward0>)");
}

/// Notebook 003: two roots sharing `y = x²`; each backward works (18, then 24) where
/// PyTorch's second call fails with "Trying to backward through the graph a second time".
#[test]
fn two_roots_share_a_graph() {
    let x = Tensor::<Rank0, f32>::full(3.0).track();
    let y = x.powf(2.0);
    let z1 = 3.0 * &y;
    let z2 = 4.0 * &y;
    assert_eq!(z1.backward().get(&x).map(|g| g.item()), Some(18.0));
    assert_eq!(z2.backward().get(&x).map(|g| g.item()), Some(24.0));
}

/// Notebook 003: gradients accumulate across backward passes (18, then 36) until zeroed.
#[test]
fn gradients_accumulate_until_zeroed() {
    let x = Tensor::<Rank0, f32>::full(3.0).track();
    let mut grads = Gradients::new();
    assert!(grads.get(&x).is_none());
    (3.0 * x.powf(2.0)).backward_into(&mut grads);
    assert_eq!(grads.get(&x).map(|g| g.item()), Some(18.0));
    (3.0 * x.powf(2.0)).backward_into(&mut grads);
    assert_eq!(grads.get(&x).map(|g| g.item()), Some(36.0));
    grads.zero();
    assert_eq!(grads.get(&x).map(|g| g.item()), Some(0.0));
}

/// Notebook 003: `(x²).sum()` at [1, 2, 3] gives [2, 4, 6]; `max` sends the gradient to
/// the maximum's position.
#[test]
fn sum_of_squares_and_max() {
    let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    assert_eq!(x.to_string(), "tensor([1., 2., 3.], requires_grad=True)");
    let grads = x.powf(2.0).sum().backward();
    let gx = grads.get(&x).expect("x is on the path");
    assert_eq!(gx.to_string(), "tensor([2., 4., 6.])");

    let x = Tensor::from_array([1.0f32, 2.0, 4.0, 3.0, 0.5]).track();
    let max_x = x.max();
    assert_eq!(max_x.to_string(), "tensor(4., grad_fn=<MaxBackward1>)");
    let grads = max_x.backward();
    assert_eq!(
        grads.get(&x).map(|g| g.to_vec()),
        Some(vec![0.0, 0.0, 1.0, 0.0, 0.0])
    );
}

/// Notebook 001: the vector-Jacobian product of `y = x · 2^k` with a seed is `2^k`
/// times the seed.
#[test]
fn vector_jacobian_product_scales_the_seed() {
    let x = Tensor::<Rank1<3>, f32>::randn(&mut seeded_rng(2)).track();
    let mut y = &x * 2.0;
    let mut doublings = 1;
    while y.norm().item() < 1000.0 {
        y = y * 2.0;
        doublings += 1;
    }
    assert_eq!(y.grad_fn().map(|g| g.name()), Some("MulBackward0"));
    let seed = Tensor::from_array([0.1f32, 1.0, 0.0001]);
    let grads = y.backward_with(&seed);
    let factor = 2f32.powi(doublings);
    let expected: Vec<f32> = seed.as_slice().iter().map(|v| v * factor).collect();
    assert_eq!(grads.get(&x).map(|g| g.to_vec()), Some(expected));
}

/// Notebooks 000, 002, 004: one linear layer and BCE with logits. With x all ones,
/// every row of w's gradient equals b's gradient, which is sigmoid(z) / 3.
#[test]
fn linear_layer_with_bce_with_logits() {
    let mut rng = seeded_rng(3);
    let x = Tensor::<Rank1<5>, f32>::ones();
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let z = x.matmul(&w) + &b;
    assert_eq!(z.grad_fn().map(|g| g.name()), Some("AddBackward0"));
    let loss = z.bce_with_logits(&y);
    assert_eq!(
        loss.grad_fn().map(|g| g.name()),
        Some("BinaryCrossEntropyWithLogitsBackward0")
    );
    let expected_loss: f32 = z
        .as_slice()
        .iter()
        .map(|&v| (1.0 + v.exp()).ln())
        .sum::<f32>()
        / 3.0;
    assert!((loss.item() - expected_loss).abs() < 1e-6 * expected_loss.max(1.0));
    let sigmoid_over_3: Vec<f32> = z
        .as_slice()
        .iter()
        .map(|&v| 1.0 / (1.0 + (-v).exp()) / 3.0)
        .collect();
    let grads = loss.backward();
    let gb = grads.get(&b).expect("b is on the path");
    let gw = grads.get(&w).expect("w is on the path");
    assert_close(gb.as_slice(), &sigmoid_over_3);
    for row in gw.as_slice().chunks(3) {
        assert_eq!(row, gb.as_slice());
    }

    // Notebook 000 uses x = ones + 3: every row of w's gradient is then 4 times b's.
    let x4 = Tensor::<Rank1<5>, f32>::ones() + 3.0;
    let grads = (x4.matmul(&w) + &b).bce_with_logits(&y).backward();
    let (gw, gb) = (
        grads.get(&w).expect("on path"),
        grads.get(&b).expect("on path"),
    );
    for row in gw.as_slice().chunks(3) {
        let four_gb: Vec<f32> = gb.as_slice().iter().map(|v| 4.0 * v).collect();
        assert_close(row, &four_gb);
    }
}

/// Notebook 004: `L = (10 - d).sum()` with `d = w3 (w1 a) + w4 (w2 a)`:
/// dL/dw1 = -(w3 a) and dL/dw2 = -(w4 a).
#[test]
fn chain_of_elementwise_products() {
    let mut rng = seeded_rng(4);
    let a = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let [w1, w2, w3] = [(); 3].map(|_| Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track());
    let w4 = Tensor::<Rank2<3, 3>, f32>::rand(&mut rng).track();
    let b = &w1 * &a;
    let c = &w2 * &a;
    let d = &w3 * &b + &w4 * &c;
    assert!(a.grad_fn().is_none());
    assert_eq!(d.grad_fn().map(|g| g.name()), Some("AddBackward0"));
    assert_eq!(c.grad_fn().map(|g| g.name()), Some("MulBackward0"));
    let l = 10.0 - &d;
    assert_eq!(l.grad_fn().map(|g| g.name()), Some("RsubBackward1"));
    assert!(!l.is_leaf() && a.is_leaf());
    let grads = l.sum().backward();
    let minus_w3_a: Vec<f32> = (-(&w3 * &a)).to_vec();
    let minus_w4_a: Vec<f32> = (-(&w4 * &a)).to_vec();
    assert_close(grads.get(&w1).expect("on path").as_slice(), &minus_w3_a);
    assert_close(grads.get(&w2).expect("on path").as_slice(), &minus_w4_a);
}

/// Notebook 000: a value computed without tracking and then made a leaf backpropagates
/// to itself (gradient 1) and not beyond.
#[test]
fn intermediate_break_in_tracking() {
    let mut rng = seeded_rng(5);
    let x = Tensor::<Rank1<5>, f32>::ones() + 3.0;
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let one = Tensor::<Rank1<3>, f32>::ones();
    // `with torch.no_grad()`: computed from the plain values of the parameters.
    let z = x.matmul(&w.no_grad()) + b.no_grad();
    assert!(!z.requires_grad());
    let zz = z.matmul(&one).track();
    assert!(zz.requires_grad() && zz.is_leaf());
    // backward consumes its root; a clone of a leaf is the same leaf.
    let grads = zz.clone().backward();
    assert_eq!(grads.get(&zz).map(|g| g.item()), Some(1.0));
    assert!(grads.get(&w).is_none() && grads.get(&b).is_none());
}

/// Notebook 000: `detach()` shares storage, but an in-place change of the detached value
/// leaves the original alone (PyTorch's `zd.add_(1)` silently changes `z` too).
#[test]
fn detached_in_place_change_does_not_alter_the_graph() {
    let x = Tensor::<Rank1<5>, f32>::ones() + 3.0;
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut seeded_rng(6)).track();
    let z = x.matmul(&w);
    let before = z.to_vec();
    let mut zd = z.detach();
    assert!(!zd.requires_grad());
    zd += 1.0;
    let plus_one: Vec<f32> = before.iter().map(|v| v + 1.0).collect();
    assert_eq!(zd.to_vec(), plus_one);
    assert_eq!(z.to_vec(), before);
    // The graph's saved values are intact: the gradient is still x's values.
    let grads = z.sum().backward();
    assert_eq!(grads.get(&w).map(|g| g.to_vec()), Some(vec![4.0; 15]));
}

/// Notebooks 000, 002: evaluating a tracked model without tracking records nothing.
#[test]
fn no_grad_evaluation() {
    let mut rng = seeded_rng(7);
    let x = Tensor::<Rank1<5>, f32>::ones();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let z = x.matmul(&w) + &b;
    assert!(z.requires_grad());
    let z_eval = x.matmul(&w.no_grad()) + b.no_grad();
    assert!(!z_eval.requires_grad() && z_eval.grad_fn().is_none());
    assert!(w.requires_grad() && b.requires_grad());
    assert_eq!(z_eval.to_vec(), z.to_vec());
    assert_eq!(
        Tensor::<Rank1<2>, f32>::ones().track().to_string(),
        "tensor([1., 1.], requires_grad=True)"
    );
}
