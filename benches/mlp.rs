//! SPEC §7: one MLP training step (f32, batch 64, 784-256-128-10, ReLU, MSE loss,
//! forward + backward), beside the same step's 8 GEMMs as raw `sgemm` calls.
//!
//! Read the ratio `mlp_step/typegrad` ÷ `mlp_step/raw_sgemm_x8` (target: at most 1.02), or
//! the paired ratio printed after them (see `common::paired_ratio`).
//! The input `x` is `NoGrad`, so neither side computes its gradient: the 8 GEMMs are the
//! 3 forward products and, in backward, dW3, dH2, dW2, dH1 and dW1. The baseline writes
//! each product (beta = 0) into buffers allocated once, outside the timed loop.

mod common;

use std::hint::black_box;

use common::{sgemm, View};
use typegrad::prelude::*;

const BATCH: usize = 64;
const D0: usize = 784;
const D1: usize = 256;
const D2: usize = 128;
const D3: usize = 10;

/// The parameters, kept as plain values and tracked afresh each step (no copy).
struct Params {
    w1: Tensor<Rank2<D0, D1>, f32>,
    b1: Tensor<Rank1<D1>, f32>,
    w2: Tensor<Rank2<D1, D2>, f32>,
    b2: Tensor<Rank1<D2>, f32>,
    w3: Tensor<Rank2<D2, D3>, f32>,
    b3: Tensor<Rank1<D3>, f32>,
}

impl Params {
    fn new(rng: &mut SeededRng) -> Self {
        // Scaled as PyTorch's default init, so activations stay of order one.
        fn scale(fan_in: usize) -> f32 {
            1.0 / (fan_in as f32).sqrt()
        }
        Params {
            w1: Tensor::randn(rng) * scale(D0),
            b1: Tensor::randn(rng) * scale(D0),
            w2: Tensor::randn(rng) * scale(D1),
            b2: Tensor::randn(rng) * scale(D1),
            w3: Tensor::randn(rng) * scale(D2),
            b3: Tensor::randn(rng) * scale(D2),
        }
    }
}

/// One forward + backward pass: the gradients of the six parameters, and the tracked
/// `w1` leaf to look one of them up by.
fn step<const B: usize>(
    x: &Tensor<Rank2<B, D0>, f32>,
    target: &Tensor<Rank2<B, D3>, f32>,
    p: &Params,
) -> (Gradients<f32>, Tensor<Rank2<D0, D1>, f32, Tracked>) {
    let (w1, b1) = (p.w1.track(), p.b1.track());
    let (w2, b2) = (p.w2.track(), p.b2.track());
    let (w3, b3) = (p.w3.track(), p.b3.track());
    let h1 = (x.matmul(&w1) + &b1).relu();
    let h2 = (h1.matmul(&w2) + &b2).relu();
    let out = h2.matmul(&w3) + &b3;
    (out.mse(target).backward(), w1)
}

/// Preallocated buffers for the 8 GEMMs of the same step.
struct Raw {
    x: Vec<f32>,
    w1: Vec<f32>,
    w2: Vec<f32>,
    w3: Vec<f32>,
    h1: Vec<f32>,
    h2: Vec<f32>,
    out: Vec<f32>,
    d_out: Vec<f32>,
    d_h2: Vec<f32>,
    d_h1: Vec<f32>,
    dw1: Vec<f32>,
    dw2: Vec<f32>,
    dw3: Vec<f32>,
}

impl Raw {
    fn new() -> Self {
        Raw {
            x: common::filled(BATCH * D0, 0.1),
            w1: common::filled(D0 * D1, 0.2),
            w2: common::filled(D1 * D2, 0.3),
            w3: common::filled(D2 * D3, 0.4),
            h1: vec![0.0; BATCH * D1],
            h2: vec![0.0; BATCH * D2],
            out: vec![0.0; BATCH * D3],
            // The upstream gradients: any values, the GEMMs' cost does not depend on them.
            d_out: common::filled(BATCH * D3, 0.5),
            d_h2: common::filled(BATCH * D2, 0.6),
            d_h1: common::filled(BATCH * D1, 0.7),
            dw1: vec![0.0; D0 * D1],
            dw2: vec![0.0; D1 * D2],
            dw3: vec![0.0; D2 * D3],
        }
    }

    /// The 3 forward and 5 backward products; transposes are stride swaps.
    fn step(&mut self) {
        let rm = View::row_major;
        // Forward: H1 = X·W1, H2 = H1·W2, OUT = H2·W3.
        sgemm(rm(&self.x, BATCH, D0), rm(&self.w1, D0, D1), &mut self.h1);
        sgemm(rm(&self.h1, BATCH, D1), rm(&self.w2, D1, D2), &mut self.h2);
        sgemm(rm(&self.h2, BATCH, D2), rm(&self.w3, D2, D3), &mut self.out);
        // Backward, layer 3: dW3 = H2ᵀ·dOUT, dH2 = dOUT·W3ᵀ.
        sgemm(
            rm(&self.h2, BATCH, D2).t(),
            rm(&self.d_out, BATCH, D3),
            &mut self.dw3,
        );
        sgemm(
            rm(&self.d_out, BATCH, D3),
            rm(&self.w3, D2, D3).t(),
            &mut self.d_h2,
        );
        // Layer 2: dW2 = H1ᵀ·dH2, dH1 = dH2·W2ᵀ.
        sgemm(
            rm(&self.h1, BATCH, D1).t(),
            rm(&self.d_h2, BATCH, D2),
            &mut self.dw2,
        );
        sgemm(
            rm(&self.d_h2, BATCH, D2),
            rm(&self.w2, D1, D2).t(),
            &mut self.d_h1,
        );
        // Layer 1: dW1 = Xᵀ·dH1; no dX, as `x` is NoGrad.
        sgemm(
            rm(&self.x, BATCH, D0).t(),
            rm(&self.d_h1, BATCH, D1),
            &mut self.dw1,
        );
    }
}

fn bench(c: &mut criterion::Criterion) {
    let mut rng = seeded_rng(0);
    let x = Tensor::<Rank2<BATCH, D0>, f32>::rand(&mut rng);
    let target = Tensor::<Rank2<BATCH, D3>, f32>::rand(&mut rng);
    let params = Params::new(&mut rng);

    // Sanity: every parameter gets a finite gradient, and nothing else does.
    let (grads, w1) = step(&x, &target, &params);
    assert_eq!(grads.len(), 6);
    let dw1 = grads.get(&w1).expect("dW1");
    assert!(dw1.as_slice().iter().all(|v| v.is_finite()));

    let mut raw = Raw::new();

    let mut group = c.benchmark_group("mlp_step");
    group.sample_size(50);
    group.measurement_time(std::time::Duration::from_secs(4));
    group.bench_function("typegrad", |bench| {
        bench.iter(|| black_box(step(black_box(&x), black_box(&target), black_box(&params))))
    });
    group.bench_function("raw_sgemm_x8", |bench| {
        bench.iter(|| {
            black_box(&mut raw).step();
            black_box(&raw.dw1);
        })
    });
    group.finish();
    common::paired_ratio(
        "mlp_step: typegrad / raw_sgemm_x8",
        200,
        5,
        || {
            black_box(step(black_box(&x), black_box(&target), black_box(&params)));
        },
        || {
            black_box(&mut raw).step();
            black_box(&raw.dw1);
        },
    );
}

/// The same step at batch 256, where the products are large enough for matrixmultiply's
/// threads to pay: build with `--features threads` and compare `MATMUL_NUM_THREADS=1`
/// with `MATMUL_NUM_THREADS=2` (without the feature both run on one thread).
fn bench_batch_256(c: &mut criterion::Criterion) {
    let mut rng = seeded_rng(1);
    let x = Tensor::<Rank2<256, D0>, f32>::rand(&mut rng);
    let target = Tensor::<Rank2<256, D3>, f32>::rand(&mut rng);
    let params = Params::new(&mut rng);
    let threads = std::env::var("MATMUL_NUM_THREADS").unwrap_or_else(|_| "unset".into());
    let mut group = c.benchmark_group("mlp_step_batch_256");
    group.sample_size(20);
    group.measurement_time(std::time::Duration::from_secs(4));
    group.bench_function(format!("typegrad, MATMUL_NUM_THREADS={threads}"), |bench| {
        bench.iter(|| black_box(step(black_box(&x), black_box(&target), black_box(&params))))
    });
    group.finish();
}

fn main() {
    let mut c = common::criterion();
    bench(&mut c);
    bench_batch_256(&mut c);
    c.final_summary();
}
