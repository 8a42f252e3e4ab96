//! Heap allocations per training step after warm-up, counted by a global allocator (a
//! count, not a time, so it belongs in a test).
//!
//! One test function measures every case in turn, so that no other test's thread
//! allocates while a case is counted.
//!
//! A global allocator is an `unsafe impl` by definition; this file's is a pass-through
//! to the system allocator with counters, so the library's rule (unsafe only in its
//! kernels) is lifted here only.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use typegrad::func;
use typegrad::model::{Model, Visitor};
use typegrad::optim::{Adam, Param};
use typegrad::prelude::*;

/// Counts allocations (and reallocations) while passing them to the system allocator.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted: only the measuring thread's are,
    /// so that the test harness's own threads cannot change a count. (A `const`
    /// thread-local with no destructor allocates nothing when read.)
    static COUNTING: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Whether the calling thread is the one being measured.
fn counted() -> bool {
    COUNTING.try_with(core::cell::Cell::get).unwrap_or(false)
}
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// atomics that allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            let live = LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation is).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            let live = LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed) + new_size;
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
        }
        // SAFETY: as for `dealloc`; `new_size` is the caller's, unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `step`, after running it `warm_up` times.
fn allocations_per_step(warm_up: usize, mut step: impl FnMut()) -> usize {
    for _ in 0..warm_up {
        step();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    step();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn tutorial_step(
    x: &Tensor<Rank1<5>, f32>,
    w: &Tensor<Rank2<5, 3>, f32>,
    b: &Tensor<Rank1<3>, f32>,
    y: &Tensor<Rank1<3>, f32>,
    grads: &mut Gradients<f32>,
) {
    let (wt, bt) = (w.track(), b.track());
    let loss = (x.matmul(&wt) + &bt).bce_with_logits(y);
    grads.clear();
    loss.backward_into(grads);
}

const BATCH: usize = 64;

/// The parameters of the 784-256-128-10 MLP of the benchmark, as plain values.
struct Mlp {
    w1: Tensor<Rank2<784, 256>, f32>,
    b1: Tensor<Rank1<256>, f32>,
    w2: Tensor<Rank2<256, 128>, f32>,
    b2: Tensor<Rank1<128>, f32>,
    w3: Tensor<Rank2<128, 10>, f32>,
    b3: Tensor<Rank1<10>, f32>,
}

fn mlp_step(
    p: &Mlp,
    x: &Tensor<Rank2<BATCH, 784>, f32>,
    target: &Tensor<Rank2<BATCH, 10>, f32>,
    grads: &mut Gradients<f32>,
) {
    let (w1, b1, w2, b2, w3, b3) = (
        p.w1.track(),
        p.b1.track(),
        p.w2.track(),
        p.b2.track(),
        p.w3.track(),
        p.b3.track(),
    );
    let h1 = (x.matmul(&w1) + &b1).relu();
    let h2 = (h1.matmul(&w2) + &b2).relu();
    let out = h2.matmul(&w3) + &b3;
    grads.clear();
    out.mse(target).backward_into(grads);
}

#[test]
fn allocations_per_training_step() {
    COUNTING.with(|c| c.set(true));
    let mut rng = seeded_rng(0);
    let x = Tensor::<Rank1<5>, f32>::ones();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng);
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng);
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let mut grads = Gradients::new();
    let tutorial = allocations_per_step(10, || tutorial_step(&x, &w, &b, &y, &mut grads));
    println!("tutorial step: {tutorial} allocations");
    assert_eq!(
        tutorial, 0,
        "the tutorial step allocates nothing after warm-up"
    );

    // Made in place (no temporaries left in the buffer pool to blur the count).
    let small = |scale: f32| move |i: usize| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * scale;
    let before_model = LIVE_BYTES.load(Ordering::Relaxed);
    let p = Mlp {
        w1: Tensor::from_fn(small(0.07)),
        b1: Tensor::from_fn(small(0.07)),
        w2: Tensor::from_fn(small(0.12)),
        b2: Tensor::from_fn(small(0.12)),
        w3: Tensor::from_fn(small(0.18)),
        b3: Tensor::from_fn(small(0.18)),
    };
    let x = Tensor::<Rank2<BATCH, 784>, f32>::from_fn(small(2.0));
    let target = Tensor::<Rank2<BATCH, 10>, f32>::from_fn(small(2.0));
    let mut grads = Gradients::new();
    let model_and_data = LIVE_BYTES.load(Ordering::Relaxed) - before_model;
    let mlp = allocations_per_step(3, || {
        PEAK_BYTES.store(LIVE_BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
        mlp_step(&p, &x, &target, &mut grads)
    });
    // The step's peak, above what was live before the model was made, less the data.
    let f = core::mem::size_of::<f32>();
    let data = (BATCH * 784 + BATCH * 10) * f;
    let weights = (784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10) * f;
    // Each of the 8 values has an `Arc`'s two counters in front, but `b3`, whose 10
    // elements are stored inline (in the tensor, not on the heap).
    let inline = 10 * f;
    assert_eq!(model_and_data, weights - inline + data + 7 * 16);
    let peak = PEAK_BYTES.load(Ordering::Relaxed) - before_model - data - 7 * 16;
    // What the step must hold at its peak: the weights, the activations backward reads
    // (h1 and h2 before and after relu, the output), and a gradient per weight.
    let activations = (2 * BATCH * 256 + 2 * BATCH * 128 + BATCH * 10) * f;
    let gradients = weights;
    let bound = weights + activations + gradients;
    println!(
        "MLP step: {mlp} allocations; peak {peak} bytes = {:.3} x (weights {weights} + activations {activations} + gradients {gradients})",
        peak as f64 / bound as f64
    );
    // Above the bound: the gradients of the intermediate values (one flat buffer, 0.3 MB
    // here) and matrixmultiply's largest packing buffer (0.3 MB, for one product).
    // Pinned so that it cannot grow unnoticed.
    assert!(
        peak as f64 <= 1.32 * bound as f64,
        "peak {peak} bytes over 1.32 x {bound}"
    );
    // matrixmultiply allocates a packing buffer in each call it makes: the 3 forward
    // products and the 5 backward ones (dW3, dH2, dW2, dH1, dW1; x is untracked, so no
    // dX). typegrad itself allocates nothing.
    assert_eq!(mlp, 8, "one packing buffer per GEMM, nothing else");

    transform_allocations();
    model_step_allocations();
    linalg_allocations();
    kalman_allocations();
    linalg_phase_two_allocations();
    merged_graph_allocations();
}

/// An extended Kalman filter's covariance update in f32, the shape of the firmware's
/// (firmware/src/lib.rs, which the device counts too): constants written as arrays, a
/// forward-mode Jacobian, products with transposes of plain matrices, a `solve` for the
/// gain, and an element and a slice of a plain value. None of it records anything but
/// the Jacobian, and none of it allocates after warm-up: an untracked `t()`, `narrow` or
/// `at` needs no index map, and `from_array` writes straight into its storage.
fn kalman_allocations() {
    let motion = |x: &Tensor<Rank1<6>, f32, Tracked>| {
        let shift = Tensor::from_array([[0.9f32, 0.1, 0.0, 0.0, 0.0, 0.0]; 6]);
        shift.matmul(x).sin() + x
    };
    let x = Tensor::<Rank1<6>, f32>::from_fn(|i| 0.1 * i as f32);
    let mut covariance = Tensor::<Rank2<6, 6>, f32>::eye() * 0.1;
    let noise = Tensor::<Rank2<3, 3>, f32>::eye() * 0.05;
    let h = Tensor::<Rank2<3, 6>, f32>::from_fn(|i| (i % 5) as f32 * 0.2);
    let ekf = allocations_per_step(10, || {
        let f: Tensor<Rank2<6, 6>, f32> = func::jacobian(motion, &x);
        let predicted = f.matmul(&covariance).matmul(&f.t()) + Tensor::<Rank2<6, 6>, f32>::eye();
        let hp = h.matmul(&predicted);
        let s = hp.matmul(&h.t()) + &noise;
        let Ok(gain_t) = s.solve(&hp) else { return };
        let updated = &predicted - &gain_t.t().matmul(&hp);
        covariance = (&updated + &updated.t()) * 0.5;
        let corner: Tensor<Rank1<2>, f32> = x.narrow::<0, 1, 2>();
        assert!(corner.at::<0>().item() + covariance.at::<0, 0>().item() > 0.0);
    });
    println!("EKF covariance update (f32): {ekf} allocations");
    assert_eq!(ekf, 0, "an EKF step allocates nothing after warm-up");
}

/// The steady state of the transforms: a Jacobian by forward mode (its function merges
/// two graphs: `a.matmul(x).tanh()` and `x * x`) and a JVP. Called from the test above,
/// on its thread, so that the global counters see one test at a time.
fn transform_allocations() {
    let a = Tensor::<Rank2<6, 6>, f64>::from_fn(|i| (i * 7 % 11) as f64 / 4.0 - 1.25);
    let x = Tensor::<Rank1<6>, f64>::from_fn(|i| 0.1 * i as f64 - 0.2);
    let f = |x: &Tensor<Rank1<6>, f64, Tracked>| a.matmul(x).tanh() + x * x;
    let jacobian = allocations_per_step(10, || {
        let j: Tensor<Rank2<6, 6>, f64> = func::jacobian(f, &x);
        drop(j);
    });
    let tangent = Tensor::<Rank1<6>, f64>::ones();
    let jvp = allocations_per_step(10, || drop(func::jvp(f, &x, &tangent)));
    println!("jacobian: {jacobian} allocations; jvp: {jvp}");
    assert_eq!(jacobian, 0, "a Jacobian allocates nothing after warm-up");
    assert_eq!(jvp, 0, "a JVP allocates nothing after warm-up");
}

/// A step through `typegrad::model`: every parameter of a nested model read tracked,
/// backward into a reused store, and one `step_model` (Adam) for them all. The visit
/// looks at no name, so it formats none.
fn model_step_allocations() {
    struct Layer {
        w: Param<Rank2<5, 3>, f32>,
        b: Param<Rank1<3>, f32>,
    }
    impl Model<f32> for Layer {
        fn visit<V: Visitor<f32>>(&mut self, v: &mut V) {
            v.param("w", &mut self.w);
            v.param("b", &mut self.b);
        }
    }
    struct Net {
        layers: [Layer; 1],
    }
    impl Model<f32> for Net {
        fn visit<V: Visitor<f32>>(&mut self, v: &mut V) {
            v.model("layers", &mut self.layers);
        }
    }
    let mut rng = seeded_rng(1);
    let mut net = Net {
        layers: [Layer {
            w: Param::new(Tensor::randn(&mut rng)),
            b: Param::new(Tensor::randn(&mut rng)),
        }],
    };
    let (x, y) = (
        Tensor::<Rank1<5>, f32>::ones(),
        Tensor::<Rank1<3>, f32>::zeros(),
    );
    let adam = Adam::new(0.01).expect("a valid learning rate");
    let mut grads = Gradients::new();
    let step = allocations_per_step(10, || {
        let layer = &net.layers[0];
        let logits = x.matmul(&layer.w.tensor::<Tracked>()) + layer.b.tensor::<Tracked>();
        let loss = logits.bce_with_logits(&y);
        // Nothing of the graph left, so the update writes in place (copy-on-write
        // would copy a value a live graph still holds).
        drop(logits);
        grads.clear();
        loss.backward_into(&mut grads);
        adam.step_model(&mut net, &grads);
    });
    println!("model step: {step} allocations");
    assert_eq!(step, 0, "a model step allocates nothing after warm-up");
}

/// The steady state of linear algebra on fixed sizes: a Cholesky factorisation and a
/// solve with it on a tracked 6 x 6 matrix, forward and backward; the same through LU
/// (`solve`) with the determinant. The kernels' working space comes from the buffer pool.
fn linalg_allocations() {
    // B Bᵀ + 6 I: symmetric positive-definite.
    let b = Tensor::<Rank2<6, 6>, f64>::from_fn(|i| ((i * 7919 % 1000) as f64 / 1000.0) - 0.5);
    let spd = b.matmul(&b.t()) + &Tensor::<Rank1<6>, f64>::full(6.0).diag();
    let rhs = Tensor::<Rank1<6>, f64>::from_fn(|i| i as f64 - 2.5);
    // The steps below return early on an error: make sure there is none to take.
    assert!(spd.cholesky().and_then(|l| l.cholesky_solve(&rhs)).is_ok());
    assert!(spd.solve(&rhs).is_ok() && spd.det().is_ok() && spd.inv().is_ok());
    assert!(typegrad::linalg::Cholesky::<_, _, NoGrad>::new(&spd).is_ok());
    let mut grads = Gradients::new();
    let cholesky = allocations_per_step(10, || {
        let a = spd.track();
        let Ok(l) = a.cholesky() else { return };
        let Ok(x) = l.cholesky_solve(&rhs) else {
            return;
        };
        grads.clear();
        x.sum().backward_into(&mut grads);
    });
    let mut grads = Gradients::new();
    let lu = allocations_per_step(10, || {
        let a = spd.track();
        let (Ok(x), Ok(det)) = (a.solve(&rhs), a.det()) else {
            return;
        };
        grads.clear();
        (x.sum() + det).backward_into(&mut grads);
    });
    // A Gaussian's negative log-likelihood through one factorisation, and an inverse.
    let mut grads = Gradients::new();
    let likelihood = allocations_per_step(10, || {
        let a = spd.track();
        let Ok(chol) = typegrad::linalg::Cholesky::new(&a) else {
            return;
        };
        let Ok(x) = chol.solve(&rhs) else { return };
        let Ok(inverse) = a.inv() else { return };
        grads.clear();
        (rhs.dot(&x) + chol.logdet() + inverse.trace()).backward_into(&mut grads);
    });
    let spd32 = spd.cast::<f32>();
    let rhs32 = rhs.cast::<f32>();
    let mut grads32 = Gradients::new();
    let cholesky32 = allocations_per_step(10, || {
        let a = spd32.track();
        let Ok(l) = a.cholesky() else { return };
        let Ok(x) = l.cholesky_solve(&rhs32) else {
            return;
        };
        grads32.clear();
        x.sum().backward_into(&mut grads32);
    });
    println!(
        "cholesky + solve: {cholesky} allocations (f32: {cholesky32}); solve + det: {lu}; likelihood: {likelihood}"
    );
    assert_eq!(
        likelihood, 0,
        "Cholesky, solve, logdet and inv allocate nothing"
    );
    assert_eq!(
        cholesky, 0,
        "Cholesky + solve allocates nothing after warm-up"
    );
    assert_eq!(cholesky32, 0, "in f32 neither");
    assert_eq!(lu, 0, "LU solve + det allocates nothing after warm-up");
}

/// The phase-2 operations on fixed sizes, forward and backward: a symmetric
/// eigendecomposition (6 x 6), a QR factorisation and a least-squares solve (8 x 5), a
/// matrix exponential (6 x 6 and 16 x 16); their kernels' working space and the
/// factorisations the records keep come from the pool, and go back to it.
fn linalg_phase_two_allocations() {
    let b = Tensor::<Rank2<6, 6>, f64>::from_fn(|i| ((i * 7919 % 1000) as f64 / 1000.0) - 0.5);
    let sym = (&b + &b.t()) * 0.5 + &Tensor::<Rank1<6>, f64>::from_fn(|i| 3.0 * i as f64).diag();
    let tall = Tensor::<Rank2<8, 5>, f64>::from_fn(|i| ((i * 104729 % 997) as f64 / 997.0) - 0.5)
        + &Tensor::<Rank2<8, 5>, f64>::from_fn(|i| if i % 6 == 0 { 3.0 } else { 0.0 });
    let rhs = Tensor::<Rank1<8>, f64>::from_fn(|i| i as f64 - 3.5);
    let big = Tensor::<Rank2<16, 16>, f64>::from_fn(|i| ((i * 31 % 17) as f64 - 8.0) / 20.0);
    // The steps below return early on an error: make sure there is none to take.
    assert!(sym.eigh().is_ok() && tall.qr().is_ok() && tall.lstsq(&rhs).is_ok());
    assert!(sym.matrix_exp().is_ok() && big.matrix_exp().is_ok());
    let mut grads = Gradients::new();
    let eigh = allocations_per_step(10, || {
        let a = sym.track();
        let Ok((values, vectors)) = a.eigh() else {
            return;
        };
        grads.clear();
        (values.sum() + vectors.sin().sum()).backward_into(&mut grads);
    });
    let mut grads = Gradients::new();
    let qr = allocations_per_step(10, || {
        let a = tall.track();
        let (Ok((q, r)), Ok(x)) = (a.qr(), a.lstsq(&rhs)) else {
            return;
        };
        grads.clear();
        (q.sum() + r.sum() + x.sum()).backward_into(&mut grads);
    });
    let mut grads = Gradients::new();
    let exp = allocations_per_step(10, || {
        let (a, m) = (sym.track(), big.track());
        let (Ok(e), Ok(f)) = (a.matrix_exp(), m.matrix_exp()) else {
            return;
        };
        grads.clear();
        (e.sum() + f.sum()).backward_into(&mut grads);
    });
    let sym32 = sym.cast::<f32>();
    let mut grads32 = Gradients::new();
    let eigh32 = allocations_per_step(10, || {
        let a = sym32.track();
        let Ok(values) = a.eigvalsh() else { return };
        grads32.clear();
        values.sum().backward_into(&mut grads32);
    });
    println!(
        "eigh: {eigh} allocations (f32 eigvalsh: {eigh32}); qr + lstsq: {qr}; matrix_exp: {exp}"
    );
    assert_eq!(eigh, 0, "eigh allocates nothing after warm-up");
    assert_eq!(eigh32, 0, "in f32 neither");
    assert_eq!(qr, 0, "qr and lstsq allocate nothing after warm-up");
    assert_eq!(exp, 0, "matrix_exp allocates nothing after warm-up");
}

/// Two graphs started from one leaf and merged, where the graph that moved outlives the
/// other's handles (its forwarding entry is then the last holder of the graph it moved
/// into): both are given back for the next step. (They were not: the merged graph was
/// freed and allocated again each step, 6 allocations; `eigh` gave its two results
/// such graphs.)
fn merged_graph_allocations() {
    let x0 = Tensor::<Rank1<20>, f64>::from_fn(|i| i as f64);
    let mut grads = Gradients::new();
    let merged = allocations_per_step(10, || {
        let x = x0.track();
        let (a, b) = (x.sin(), x.cos().exp());
        grads.clear();
        (a.sum() + b.sin().sum()).backward_into(&mut grads);
    });
    println!("two graphs of one leaf, merged: {merged} allocations");
    assert_eq!(merged, 0, "merged graphs are reused");
}
