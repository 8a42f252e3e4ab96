//! A tour of typegrad: the five PyTorch autograd notebooks of `shared/seeds/`, replayed
//! in order, notebook by notebook.
//!
//! Run it with `cargo run --release --example tour`. Tensors print exactly as PyTorch
//! prints them, so the output reads side by side with the notebooks. Where a notebook
//! runs into a PyTorch `RuntimeError`, the offending line is kept here as a comment:
//! in typegrad it does not compile, or it does something safer, and the output says
//! which.

use std::fmt::Display;

use typegrad::prelude::*;

fn main() -> Result<(), Error> {
    println!("Random tensors come from typegrad::seeded_rng, so they, and the numbers");
    println!("computed from them, differ from the notebooks'. Rust's true/false stand for");
    println!("Python's True/False.");

    torch_autograd();
    autograd_automatic_differentiation();
    automatic_differentiation_with_torch_autograd();
    computing_derivatives()?;
    understanding_graphs();
    Ok(())
}

/// seeds/000: a one-layer model, then `no_grad`, `detach` and a break in the graph.
fn torch_autograd() {
    heading("seeds/000: Torch Autograd");
    let mut rng = seeded_rng(0);

    let x = Tensor::<Rank1<5>, f32>::ones() + 3.0;
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng);
    // PyTorch's `b.requires_grad_(True)`. The tape is part of the type, so tracking
    // gives a new value (sharing b's storage) rather than changing b.
    let b = b.track();
    let z = x.matmul(&w) + &b;
    let loss = z.bce_with_logits(&y);
    println!("{loss}");
    println!(
        "{}",
        tuple(&[&or_none(z.grad_fn()), &or_none(loss.grad_fn())])
    );

    let grads = loss.backward();
    let w_grad = grads.get(&w).expect("w is a leaf on the loss's path");
    let b_grad = grads.get(&b).expect("b is a leaf on the loss's path");
    println!("{}", tuple(&[&w_grad, &b_grad]));
    // The notebook says the rows match "because x is all ones", but its x is ones + 3:
    // every row of w.grad is 4 * b.grad.
    println!(
        "max |w.grad - 4 * b.grad| = {}",
        (&w_grad - &b_grad * 4.0).abs().max()
    );

    // z.backward();
    println!(
        "z.backward() does not compile: z has shape Rank1<3>, not a scalar; \
         use z.backward_with(seed) or reduce first"
    );

    subheading("no_grad()");
    let z = x.matmul(&w) + &b;
    println!("{}", z.requires_grad());
    // `with torch.no_grad():` is computing with the untracked views of the parameters;
    // the parameters themselves stay tracked.
    let z = x.matmul(&w.no_grad()) + b.no_grad();
    println!("{}", z.requires_grad());
    println!("{}", w.requires_grad());
    println!("{}", b.requires_grad());

    let z = x.matmul(&w) + &b;
    let untracked = z.no_grad();
    // `torch.matmul(z, z)` of two vectors is their dot product.
    let zz = (&untracked * &untracked).sum();
    println!("{}", tuple(&[&z.requires_grad(), &zz.requires_grad()]));

    subheading("detach()");
    let mut zd = z.detach();
    println!("{}", zd.requires_grad());
    println!("{z}");
    println!("{zd}");
    zd += 1.0;
    println!("{zd}");
    println!("{z}");
    println!(
        "zd.add_(1) changed zd only: the storage zd shares with z is copied on write, \
         so z keeps its value (in PyTorch, z changes too)"
    );

    subheading("Intermediate break in requires_grad");
    let one = Tensor::<Rank1<3>, f32>::ones();
    let z = x.matmul(&w.no_grad()) + b.no_grad();
    // `zz.requires_grad_(True)` on an untracked value: a new leaf, with no history
    // behind it for backward to follow.
    let zz = (&z * &one).sum().track();
    println!("{} {}", z.requires_grad(), zz.requires_grad());
    // backward consumes its root; the clone is the same leaf, so zz can still be
    // looked up afterwards.
    let grads = zz.clone().backward();
    // (grads.get(&x), grads.get(&z))
    println!(
        "x.grad and z.grad do not compile: x and z are NoGrad tensors, \
         so there is no gradient to ask for"
    );
    println!(
        "{}",
        tuple(&[&or_none(grads.get(&zz)), &or_none(grads.get(&w))])
    );
}

/// seeds/001: the PyTorch 1.6 autograd tutorial, with a vector-Jacobian product.
fn autograd_automatic_differentiation() {
    heading("seeds/001: Autograd: automatic differentiation");
    let mut rng = seeded_rng(1);

    let x = Tensor::<Rank2<2, 2>, f32>::ones().track();
    println!("{x}");
    let y = &x + 2.0;
    println!("{y}");
    println!("{}", or_none(y.grad_fn()));
    let z = &y * &y * 3.0;
    println!("{z}");
    let out = z.mean();
    println!("{out}");

    let a = Tensor::<Rank2<2, 2>, f32>::randn(&mut rng);
    let a = (&a * 3.0) / (&a - 1.0);
    println!("{a}");
    println!("{}", a.requires_grad());
    let a = a.track();
    println!("{}", a.requires_grad());
    let b = (&a * &a).sum();
    println!("{b}");
    println!("{}", or_none(b.grad_fn()));

    subheading("Calculating gradient");
    println!("{out}");
    let grads = out.backward();
    println!("{}", grads.get(&x).expect("x is a leaf on out's path"));

    let x = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let mut y = &x * 2.0;
    let mut doublings = 1;
    // `y.data.norm()`: the norm of the value alone, so the test is not recorded.
    while y.detach().norm().item() < 1000.0 {
        y = y * 2.0;
        doublings += 1;
    }
    println!("{y}");
    let v = Tensor::from_array([0.1f32, 1.0, 0.0001]);
    let grads = y.backward_with(&v);
    let x_grad = grads.get(&x).expect("x is the leaf y was computed from");
    println!("{x_grad}");
    // Doubling is exact in floating point, so the product is exactly 2^k v.
    let expected = &v * 2f32.powi(doublings);
    println!(
        "x.grad == 2^{doublings} * v: {}",
        x_grad.as_slice() == expected.as_slice()
    );

    subheading("Stop autograd from tracking history");
    println!("{}", x.requires_grad());
    println!("{}", x.powf(2.0).requires_grad());
    // `with torch.no_grad():` around `x**2`.
    println!("{}", x.no_grad().powf(2.0).requires_grad());
    println!("{}", x.requires_grad());
    let y = x.detach();
    println!("{}", y.requires_grad());
    let equal: Vec<bool> = x
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .map(|(p, q)| p == q)
        .collect();
    println!("{equal:?}");
    println!("{}", tuple(&[&x, &y]));
}

/// seeds/002: the current PyTorch tutorial's one-layer model.
fn automatic_differentiation_with_torch_autograd() {
    heading("seeds/002: Automatic Differentiation with torch.autograd");
    let mut rng = seeded_rng(2);

    let x = Tensor::<Rank1<5>, f32>::ones();
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let z = x.matmul(&w) + &b;
    let loss = z.bce_with_logits(&y);
    println!("Gradient function for z = {}", or_none(z.grad_fn()));
    println!("Gradient function for loss = {}", or_none(loss.grad_fn()));

    subheading("Computing gradients");
    let grads = loss.backward();
    let w_grad = grads.get(&w).expect("w is a leaf on the loss's path");
    let b_grad = grads.get(&b).expect("b is a leaf on the loss's path");
    println!("{w_grad}");
    println!("{b_grad}");
    // x is all ones, so every row of w.grad is b.grad; and the mean binary cross-entropy
    // of three logits against zeros has derivative sigmoid(z) / 3.
    println!(
        "max |w.grad - b.grad| = {}",
        (&w_grad - &b_grad).abs().max()
    );
    println!("sigmoid(z) / 3 = {}", z.no_grad().sigmoid() / 3.0);

    subheading("Disabling gradient tracking");
    let z = x.matmul(&w) + &b;
    println!("{}", z.requires_grad());
    let z = x.matmul(&w.no_grad()) + b.no_grad();
    println!("{}", z.requires_grad());
}

/// seeds/003: derivatives of scalars, detaching, DAGs, accumulation, in-place edits.
fn computing_derivatives() -> Result<(), Error> {
    heading("seeds/003: torch.autograd: Computing derivatives");

    let x = Tensor::from_array(5.0f32);
    let w = Tensor::from_array(3.0f32).track();
    let z = &x * w.powf(2.0);
    println!("{z}");
    let grads = z.backward();
    // grads.get(&x)
    println!("x.grad does not compile: x is a NoGrad tensor, so there is no gradient to ask for");
    let w_grad = grads.get(&w).expect("w is a leaf on z's path");
    println!("w.grad = {:?}", w_grad.item());
    println!("{w_grad}");
    println!("{}", 2.0 * &x * &w);

    subheading("Computing derivatives ... or not");
    let x = Tensor::from_array(2.0f32).track();
    let y = &x * &x;
    println!("y.requires_grad = {}", y.requires_grad());
    let z = &x * &y;
    let grads = z.backward();
    let dz_dx = grads.get(&x).expect("x is a leaf on z's path");
    println!("dz/dx = {:?}", dz_dx.item());

    let x = Tensor::from_array(2.0f32).track();
    let y = (&x * &x).detach();
    println!("y.requires_grad = {}", y.requires_grad());
    let z = &x * &y;
    let grads = z.backward();
    let dz_dx = grads.get(&x).expect("x is a leaf on z's path");
    println!("dz/dx = {:?}", dz_dx.item());

    let x = Tensor::from_array(2.0f32).track();
    // `with torch.no_grad():` around `y = x*x`.
    let y = x.no_grad() * x.no_grad();
    println!("y.requires_grad = {}", y.requires_grad());
    let z = &x * &y;
    let grads = z.backward();
    let dz_dx = grads.get(&x).expect("x is a leaf on z's path");
    println!("dz/dx = {:?}", dz_dx.item());

    subheading("Computation graphs are not trees");
    let x = Tensor::from_array(2.0f32).track();
    let y = 3.0 * &x;
    let z = x.powf(2.0);
    let w = &y + &z + &x;
    let grads = w.backward();
    println!("{}", grads.get(&x).expect("x is a leaf on w's path"));
    println!("{}", 3.0 + 2.0 * &x + 1.0);

    let x = Tensor::from_array(3.0f32).track();
    let y = x.powf(2.0);
    let z1 = 3.0 * &y;
    let z2 = 4.0 * &y;
    let grads = z1.backward();
    println!("{}", grads.get(&x).expect("x is a leaf on z1's path"));
    let grads = z2.backward();
    println!("{}", grads.get(&x).expect("x is a leaf on z2's path"));
    println!(
        "z2.backward() is no error (PyTorch: \"backward through the graph a second time\"): \
         the graph lives as long as a value uses it, and each backward returns its own \
         gradients (24, not 18 + 24)"
    );

    subheading("Accumulating effect");
    let x = Tensor::from_array(3.0f32).track();
    let y = x.powf(2.0);
    let z = 3.0 * &y;
    let mut grads = Gradients::new();
    println!("{}", or_none(grads.get(&x)));
    z.backward_into(&mut grads);
    println!("{}", or_none(grads.get(&x)));
    let y = x.powf(2.0);
    let z = 3.0 * &y;
    z.backward_into(&mut grads);
    println!("{}", or_none(grads.get(&x)));
    // The notebook's commented-out `x.grad.zero_()`.
    grads.zero();
    println!("after grads.zero(): {}", or_none(grads.get(&x)));

    subheading("Derivatives of scalars with respect to tensors");
    let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    let y = x.powf(2.0).sum();
    let grads = y.backward();
    println!("{}", grads.get(&x).expect("x is a leaf on y's path"));

    subheading("Don't do in-place modifications to tensors");
    let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    println!("{x}");
    // x.set(1, x.as_slice()[2] + 1.0)?;
    println!(
        "x[1] = x[2] + 1 does not compile: x is Tracked, and in-place operations exist only \
         on NoGrad and Detached tensors"
    );
    // Edit the plain value instead and track the result: a new leaf. The edit copies
    // the shared storage first, so the tracked x keeps its value.
    let mut edited = x.no_grad();
    edited.set(1, x.as_slice()[2] + 1.0)?;
    let x_edited = edited.track();
    println!("{}", tuple(&[&x, &x_edited]));
    let y = x_edited.powf(2.0).sum();
    let grads = y.backward();
    println!(
        "{}",
        grads
            .get(&x_edited)
            .expect("x_edited is a leaf on y's path")
    );

    subheading("Results can be slightly different from what you expect");
    let x = Tensor::from_array([1.0f32, 2.0, 4.0, 3.0, 0.5]).track();
    let max_x = x.max();
    println!("{max_x}");
    let grads = max_x.backward();
    println!("{}", grads.get(&x).expect("x is a leaf on max_x's path"));
    Ok(())
}

/// seeds/004: the one-layer model again, then a graph of four weights.
fn understanding_graphs() {
    heading("seeds/004: Understanding Graphs, Automatic Differentiation and Autograd");
    let mut rng = seeded_rng(4);

    let x = Tensor::<Rank1<5>, f32>::ones();
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng).track();
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track();
    let z = x.matmul(&w) + &b;
    let loss = z.bce_with_logits(&y);
    println!("{}", tuple(&[&x, &y, &w, &b, &z, &loss]));
    println!("Gradient function for z = {}", or_none(z.grad_fn()));
    println!("Gradient function for loss = {}", or_none(loss.grad_fn()));

    subheading("Understanding graphs");
    // `torch.Tensor(3, 5)` is uninitialised memory (zeros in the notebook); typegrad
    // has no uninitialised tensors.
    let tsr = Tensor::<Rank2<3, 5>, f32>::zeros();
    println!("{tsr}");
    let t1 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    println!("{t1}");

    let a = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    println!("{a}");
    let w1 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w2 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w3 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w4 = Tensor::<Rank2<3, 3>, f32>::rand(&mut rng).track();
    let b = &w1 * &a;
    let c = &w2 * &a;
    let d = &w3 * &b + &w4 * &c;
    println!("The grad fn for a is, {}", or_none(a.grad_fn()));
    println!("The grad fn for d is, {}", or_none(d.grad_fn()));
    println!("{}", or_none(c.grad_fn()));

    subheading("Calling backward");
    let a = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w1 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w2 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w3 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let w4 = Tensor::<Rank2<3, 3>, f32>::randn(&mut rng).track();
    let b = &w1 * &a;
    let c = &w2 * &a;
    let d = &w3 * &b + &w4 * &c;
    let l = 10.0 - &d;
    println!("{}", or_none(d.grad_fn()));
    println!("{}", or_none(l.grad_fn()));
    println!("{}", l.is_leaf());
    println!("{}", a.is_leaf());
    // l.backward();
    println!(
        "l.backward() does not compile: l has shape Rank2<3, 3>, not a scalar; \
         use l.backward_with(seed) or reduce first"
    );

    let l = (10.0 - &d).sum();
    let grads = l.backward();
    let w1_grad = grads.get(&w1).expect("w1 is a leaf on l's path");
    let w2_grad = grads.get(&w2).expect("w2 is a leaf on l's path");
    println!("{w1_grad}");
    println!("{w2_grad}");
    // l = sum(10 - w3 * (w1 * a) - w4 * (w2 * a)), so dl/dw1 = -(w3 * a) and
    // dl/dw2 = -(w4 * a), exactly: negation is exact in floating point.
    let (a, w3, w4) = (a.no_grad(), w3.no_grad(), w4.no_grad());
    println!(
        "w1.grad == -(w3 * a): {}",
        w1_grad.as_slice() == (-(&w3 * &a)).as_slice()
    );
    println!(
        "w2.grad == -(w4 * a): {}",
        w2_grad.as_slice() == (-(&w4 * &a)).as_slice()
    );
    // As in PyTorch, only leaves keep a gradient; d.detach().track() would make one.
    println!("d.grad = {}", or_none(grads.get(&d)));

    // l.backward();
    println!(
        "l.backward() a second time does not compile: the first call took l by value \
         (\"use of moved value\"), so a graph is never backpropagated twice by mistake"
    );
}

/// Prints a notebook's title.
fn heading(title: &str) {
    println!("\n=== {title} ===\n");
}

/// Prints the title of a section within a notebook.
fn subheading(title: &str) {
    println!("\n--- {title} ---");
}

/// Python's `None` for a missing value, otherwise the value as PyTorch prints it.
fn or_none<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "None".to_owned(), |value| value.to_string())
}

/// A tuple as IPython prints one: on one line if that fits in 79 columns, otherwise one
/// item per line, each continuation line indented by one more column.
fn tuple(items: &[&dyn Display]) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    let one_line = format!("({})", items.join(", "));
    if one_line.len() <= 79 && !one_line.contains('\n') {
        return one_line;
    }
    let indented: Vec<String> = items.iter().map(|item| item.replace('\n', "\n ")).collect();
    format!("({})", indented.join(",\n "))
}
