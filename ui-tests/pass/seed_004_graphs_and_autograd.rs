// Seed notebook 004, "Understanding Graphs, Automatic Differentiation and Autograd": the
// one-layer model again, then a graph d = w3 (w1 a) + w4 (w2 a) of four weights with
// L = sum(10 - d). Shows grad_fn and is_leaf, that only leaves keep a gradient, and
// that dL/dw1 = -(w3 a) and dL/dw2 = -(w4 a) exactly.
use typegrad::prelude::*;

fn main() {
    let mut rng = seeded_rng(4);
    let x = Tensor::<Rank1<5>, f32>::ones();
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let z = x.matmul(&w) + &b;
    let loss = z.bce_with_logits(&y);
    assert_eq!(x.to_string(), "tensor([1., 1., 1., 1., 1.])");
    assert_eq!(y.to_string(), "tensor([0., 0., 0.])");
    assert!(w.requires_grad() && b.requires_grad() && w.is_leaf() && b.is_leaf());
    assert_eq!(z.grad_fn().unwrap().name(), "AddBackward0");
    assert_eq!(
        loss.grad_fn().unwrap().name(),
        "BinaryCrossEntropyWithLogitsBackward0"
    );

    // Understanding graphs. `torch.Tensor(3, 5)` is uninitialised memory (zeros in the
    // notebook); typegrad has none, so zeros. (The notebook's AttributeError cell is a
    // typo in Python, with no counterpart here.)
    let tsr = Tensor::<Rank2<3, 5>, f32>::zeros();
    assert_eq!(tsr.to_vec(), vec![0.0; 15]);
    let t1 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    // `t2 = torch.FloatTensor(3, 3); t2.requires_grad = True`
    let t2 = Tensor::<Rank2<3, 3>, f32>::zeros().track();
    assert!(t1.requires_grad() && t2.requires_grad());

    let a = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w1 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w2 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w3 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w4 = Tensor::<Rank2<3, 3>, f32>::rand(&mut rng).track();
    let b = &w1 * &a;
    let c = &w2 * &a;
    let d = &w3 * &b + &w4 * &c;
    let l = 10.0 - &d;
    assert!(a.grad_fn().is_none());
    assert_eq!(d.grad_fn().unwrap().name(), "AddBackward0");
    assert_eq!(c.grad_fn().unwrap().name(), "MulBackward0");
    assert_eq!(l.grad_fn().unwrap().name(), "RsubBackward1");

    // Overwriting the existing data.
    let a = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w1 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w2 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w3 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w4 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let b = &w1 * &a;
    let c = &w2 * &a;
    let d = &w3 * &b + &w4 * &c;
    let l = 10.0 - &d;
    assert_eq!(d.grad_fn().unwrap().name(), "AddBackward0");
    assert_eq!(l.grad_fn().unwrap().name(), "RsubBackward1");
    assert!(!l.is_leaf());
    assert!(a.is_leaf());
    // `L.backward()` on the 3 x 3 L is the notebook's deliberate error: it does not
    // compile (ui-tests/fail/backward_non_scalar.rs). Reduce first:
    let l = (10.0 - &d).sum();
    let grads = l.backward();
    let w1_grad = grads.get(&w1).unwrap();
    let w2_grad = grads.get(&w2).unwrap();
    // Negation is exact, so these hold bit for bit.
    let (a, w3, w4) = (a.no_grad(), w3.no_grad(), w4.no_grad());
    assert_eq!(w1_grad.as_slice(), (-(&w3 * &a)).as_slice());
    assert_eq!(w2_grad.as_slice(), (-(&w4 * &a)).as_slice());
    // `d.grad`: as in PyTorch only leaves keep a gradient (d.detach().track() would
    // make one).
    assert!(grads.get(&d).is_none());
    // Calling backward a second time on the same L, the notebook's closing remark, does
    // not compile: backward took l by value (ui-tests/fail/backward_twice.rs).
}
