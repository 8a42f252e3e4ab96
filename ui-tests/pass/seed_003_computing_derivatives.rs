// Seed notebook 003, "torch.autograd: Computing derivatives": z = x w^2 (45, dz/dw = 30),
// cutting a path with `detach`/`no_grad` (12 vs 4), a DAG (8), two backward passes
// through one graph (18, 24), accumulating gradients (18, 36), a scalar of a vector
// ([2, 4, 6]), editing instead of in-place modification, and the gradient of max
// ([0, 0, 1, 0, 0]).
use typegrad::prelude::*;

fn main() -> Result<(), Error> {
    let x = Tensor::from_array(5.0f32);
    let w = Tensor::from_array(3.0f32).track();
    let z = &x * w.powf(2.0);
    assert_eq!(z.to_string(), "tensor(45., grad_fn=<MulBackward0>)");
    let grads = z.backward();
    // `x.grad` (None in PyTorch) does not compile: x is NoGrad (grad_of_untracked.rs).
    let w_grad = grads.get(&w).unwrap();
    assert_eq!(w_grad.item(), 30.0);
    assert_eq!(w_grad.to_string(), "tensor(30.)");
    // dz/dw = 2 x w
    assert_eq!(
        (2.0 * &x * &w).to_string(),
        "tensor(30., grad_fn=<MulBackward0>)"
    );

    // Computing derivatives ... or not: z = x (x x) gives 12 through both factors.
    let x = Tensor::from_array(2.0f32).track();
    let y = &x * &x;
    assert!(y.requires_grad());
    let z = &x * &y;
    assert_eq!(z.backward().get(&x).unwrap().item(), 12.0);

    // With y detached only the outer factor is differentiated: 4.
    let x = Tensor::from_array(2.0f32).track();
    let y: Tensor<Rank0, f32, Detached> = (&x * &x).detach();
    assert!(!y.requires_grad());
    let z = &x * &y;
    assert_eq!(z.backward().get(&x).unwrap().item(), 4.0);

    // `with torch.no_grad(): y = x*x`
    let x = Tensor::from_array(2.0f32).track();
    let y: Tensor<Rank0, f32, NoGrad> = x.no_grad() * x.no_grad();
    assert!(!y.requires_grad());
    let z = &x * &y;
    assert_eq!(z.backward().get(&x).unwrap().item(), 4.0);

    // Computation graphs are not trees: w = 3x + x^2 + x, dw/dx = 3 + 2x + 1 = 8.
    let x = Tensor::from_array(2.0f32).track();
    let y = 3.0 * &x;
    let z = x.powf(2.0);
    let w = &y + &z + &x;
    assert_eq!(w.backward().get(&x).unwrap().item(), 8.0);
    let check = 3.0 + 2.0 * &x + 1.0;
    assert_eq!(check.to_string(), "tensor(8., grad_fn=<AddBackward0>)");

    // Two backward passes through the shared y: PyTorch's second one is a RuntimeError
    // (no retain_graph); here the graph lives while a value uses it, and each pass
    // returns its own gradients.
    let x = Tensor::from_array(3.0f32).track();
    let y = x.powf(2.0);
    let z1 = 3.0 * &y;
    let z2 = 4.0 * &y;
    assert_eq!(z1.backward().get(&x).unwrap().item(), 18.0);
    assert_eq!(z2.backward().get(&x).unwrap().item(), 24.0);

    // Accumulating effect: `backward_into` adds into one store, as `.grad` does.
    let x = Tensor::from_array(3.0f32).track();
    let y = x.powf(2.0);
    let z = 3.0 * &y;
    let mut grads = Gradients::new();
    assert!(grads.get(&x).is_none());
    z.backward_into(&mut grads);
    assert_eq!(grads.get(&x).unwrap().item(), 18.0);
    let y = x.powf(2.0);
    let z = 3.0 * &y;
    z.backward_into(&mut grads);
    assert_eq!(grads.get(&x).unwrap().item(), 36.0);
    // The notebook's commented-out `x.grad.zero_()`.
    grads.zero();
    assert_eq!(grads.get(&x).unwrap().item(), 0.0);

    // Derivatives of scalars with respect to tensors.
    let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    let y = x.powf(2.0).sum();
    assert_eq!(
        y.backward().get(&x).unwrap().to_string(),
        "tensor([2., 4., 6.])"
    );

    // Don't do in-place modifications to tensors.
    let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    assert_eq!(x.to_string(), "tensor([1., 2., 3.], requires_grad=True)");
    // `x[1] = x[2] + 1` is the notebook's deliberate error: no in-place operation on a
    // Tracked tensor compiles (ui-tests/fail/inplace_on_tracked.rs).
    // "But it's fine to do `x = 4 * x`": a new value.
    let x4 = 4.0 * &x;
    assert_eq!(
        x4.powf(2.0).sum().backward().get(&x).unwrap().to_vec(),
        vec![32.0, 64.0, 96.0]
    );
    // Or edit the plain value (copied on write: x keeps its value) and track that.
    let mut edited = x.no_grad();
    edited.set(1, x.as_slice()[2] + 1.0)?;
    let x_edited = edited.track();
    assert_eq!(x.to_vec(), vec![1.0, 2.0, 3.0]);
    let y = x_edited.powf(2.0).sum();
    assert_eq!(
        y.backward().get(&x_edited).unwrap().to_vec(),
        vec![2.0, 8.0, 6.0]
    );

    // Results can be slightly different from what you expect: max is differentiable.
    let x = Tensor::from_array([1.0f32, 2.0, 4.0, 3.0, 0.5]).track();
    let max_x = x.max();
    assert_eq!(max_x.to_string(), "tensor(4., grad_fn=<MaxBackward1>)");
    let grads = max_x.backward();
    assert_eq!(
        grads.get(&x).unwrap().to_vec(),
        vec![0.0, 0.0, 1.0, 0.0, 0.0]
    );
    Ok(())
}
