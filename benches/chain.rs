//! SPEC §7: a chain of 1000 elementwise operations on a 4-element f32 tensor
//! (`x = x * c; x = x + d`, 500 times each), forward + backward, beside the same chain
//! on plain `NoGrad` values (no graph: the floor).
//!
//! Read `chain_1000_ops/typegrad_fwd_bwd` (target: under 20 µs) against
//! `chain_1000_ops/nograd_floor`: the difference is the cost of recording and replaying
//! the graph.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
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
    group.finish();
}

fn main() {
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut crit);
    crit.final_summary();
}
