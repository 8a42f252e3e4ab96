//! SPEC §7: a chain of 1000 elementwise operations on a 4-element f32 tensor
//! (`x = x * c; x = x + d`, 500 times each), forward + backward, beside the same chain
//! on plain `NoGrad` values (no graph: the floor).
//!
//! Read `chain_1000_ops/typegrad_fwd_bwd` (target: under 20 µs, and at most 3x the
//! `NoGrad` chain) against `chain_1000_ops/nograd_floor` (target: at most 3x the same
//! arithmetic on plain `[f32; 4]` arrays, `plain_arrays`); the paired ratios printed
//! after criterion's figures compare them call by call.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;

// The shared helpers; the sgemm baseline is the other benches'.
#[allow(dead_code)]
mod common;
use typegrad::prelude::*;

type V = Rank1<4>;

/// The chain on a tracked leaf made from `x0`, then `.sum().backward()`; also returns
/// the leaf, to look its gradient up. Written as the SPEC writes it, `x = x * c`: the
/// previous value is given up by value at each step.
fn tracked_chain(
    x0: &Tensor<V, f32>,
    c: &Tensor<V, f32>,
    d: &Tensor<V, f32>,
) -> (Gradients<f32>, Tensor<V, f32, Tracked>) {
    let leaf = x0.track();
    let mut x = leaf.clone();
    for _ in 0..500 {
        x = x * c;
        x = x + d;
    }
    (x.sum().backward(), leaf)
}

/// The same chain on `NoGrad` values, then `.sum()`. Out of place on purpose, as the
/// tracked chain (`x *= c` would update in place and measure something else).
#[allow(clippy::assign_op_pattern)]
fn plain_chain(x0: &Tensor<V, f32>, c: &Tensor<V, f32>, d: &Tensor<V, f32>) -> f32 {
    let mut x = x0.clone();
    for _ in 0..500 {
        x = x * c;
        x = x + d;
    }
    x.sum().item()
}

/// The same arithmetic on plain `[f32; 4]` arrays in a loop: what the values cost with
/// no tensor type at all.
fn array_chain(x0: &[f32; 4], c: &[f32; 4], d: &[f32; 4]) -> f32 {
    let mut x = *x0;
    for _ in 0..500 {
        for (x, c) in x.iter_mut().zip(c) {
            *x *= c;
        }
        for (x, d) in x.iter_mut().zip(d) {
            *x += d;
        }
    }
    x.iter().sum()
}

fn bench(crit: &mut Criterion) {
    let x0 = Tensor::from_array([0.5f32, -1.0, 2.0, 0.25]);
    // Factors near 1, so 500 products stay finite and away from subnormals.
    let c = Tensor::from_array([0.999f32, 1.001, 0.9995, 1.0005]);
    let d = Tensor::from_array([0.01f32, -0.01, 0.002, -0.002]);

    let (grads, leaf) = tracked_chain(&x0, &c, &d);
    let g = grads.get(&leaf).expect("gradient of the leaf").to_vec();
    let expected: Vec<f32> = c.as_slice().iter().map(|f| f.powi(500)).collect();
    for (got, want) in g.iter().zip(&expected) {
        assert!(
            (got - want).abs() <= 1e-3 * want.abs(),
            "{g:?} vs {expected:?}"
        );
    }
    assert!(plain_chain(&x0, &c, &d).is_finite());

    let mut group = crit.benchmark_group("chain_1000_ops");
    group.bench_function("typegrad_fwd_bwd", |b| {
        b.iter(|| black_box(tracked_chain(black_box(&x0), black_box(&c), black_box(&d))))
    });
    group.bench_function("nograd_floor", |b| {
        b.iter(|| black_box(plain_chain(black_box(&x0), black_box(&c), black_box(&d))))
    });
    let arrays = |t: &Tensor<V, f32>| -> [f32; 4] { t.to_array() };
    let (ax, ac, ad) = (arrays(&x0), arrays(&c), arrays(&d));
    group.bench_function("plain_arrays", |b| {
        b.iter(|| black_box(array_chain(black_box(&ax), black_box(&ac), black_box(&ad))))
    });
    group.finish();
    common::paired_ratio(
        "chain: typegrad fwd + bwd / NoGrad chain (target 3)",
        200,
        20,
        || {
            drop(black_box(tracked_chain(
                black_box(&x0),
                black_box(&c),
                black_box(&d),
            )))
        },
        || {
            black_box(plain_chain(black_box(&x0), black_box(&c), black_box(&d)));
        },
    );
    common::paired_ratio(
        "chain: NoGrad chain / plain [f32; 4] arrays (target 3)",
        200,
        20,
        || {
            black_box(plain_chain(black_box(&x0), black_box(&c), black_box(&d)));
        },
        || {
            black_box(array_chain(black_box(&ax), black_box(&ac), black_box(&ad)));
        },
    );
}

fn main() {
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut crit);
    crit.final_summary();
}
