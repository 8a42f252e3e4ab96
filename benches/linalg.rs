//! Cholesky + solve on a `Tracked` matrix beside nalgebra's raw static-size
//! `Cholesky::new` + `solve` on the same matrix (f64), at N = 6 and N = 64:
//!
//! - forward: the factorisation and the solve, recorded (`Cholesky::new`, `solve`;
//!   and `cholesky` then `cholesky_solve`);
//! - forward + backward: the same, then the gradient of `sum(x)` into a reused store.
//!
//! Issue 21's targets, as paired ratios to nalgebra's raw forward: forward <= 1.3,
//! forward + backward <= 4. The instruction counts behind the figures in docs/linalg.md
//! come from `examples/linalg_count.rs` under callgrind (load-independent).

#[allow(dead_code)]
mod common;

use criterion::Criterion;
use nalgebra::{SMatrix, SVector};
use std::hint::black_box;
use typegrad::linalg::Cholesky;
use typegrad::prelude::*;

/// `B Bᵀ + N I` with `B` of deterministic entries in about [-1, 1]: symmetric
/// positive-definite and well-conditioned.
fn spd<const N: usize>() -> [[f64; N]; N] {
    let b: Vec<f64> = common::filled(N * N, 0.3)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    core::array::from_fn(|i| {
        core::array::from_fn(|j| {
            let dot: f64 = (0..N).map(|k| b[i * N + k] * b[j * N + k]).sum();
            dot + if i == j { N as f64 } else { 0.0 }
        })
    })
}

fn rhs<const N: usize>() -> [f64; N] {
    core::array::from_fn(|i| (i as f64 * 0.37).sin())
}

fn bench_size<const N: usize>(crit: &mut Criterion, rounds: usize, per: usize) {
    let b = Tensor::<Rank1<N>, f64>::from_array(rhs::<N>());
    let values = spd::<N>();
    let a = Tensor::<Rank2<N, N>, f64>::from_array(values);
    let raw: SMatrix<f64, N, N> = SMatrix::from_fn(|i, j| values[i][j]);
    let raw_b: SVector<f64, N> = SVector::from_fn(|i, _| rhs::<N>()[i]);

    // Both sides agree before anything is timed.
    let ours = Cholesky::new(&a)
        .and_then(|c| c.solve(&b))
        .map(|x| x.to_vec());
    let theirs = raw.cholesky().map(|c| c.solve(&raw_b));
    if let (Ok(x), Some(y)) = (&ours, &theirs) {
        for (u, v) in x.iter().zip(y.iter()) {
            assert!((u - v).abs() <= 1e-12 * (1.0 + v.abs()), "{u} against {v}");
        }
    } else {
        panic!("the benchmark's matrix is refused");
    }

    let forward = || {
        let a = black_box(&a).track();
        let c = Cholesky::new(&a).ok()?;
        c.solve(black_box(&b)).ok()
    };
    let forward_op = || {
        let a = black_box(&a).track();
        a.cholesky().ok()?.cholesky_solve(black_box(&b)).ok()
    };
    let mut grads = Gradients::new();
    let mut forward_backward = || {
        if let Some(x) = forward() {
            grads.clear();
            x.sum().backward_into(&mut grads);
        }
    };
    let baseline = || {
        black_box(raw)
            .cholesky()
            .map(|c| c.solve(black_box(&raw_b)))
    };

    let mut group = crit.benchmark_group(format!("cholesky_solve_{N}"));
    group.bench_function("typegrad forward (Cholesky::new + solve)", |bench| {
        bench.iter(forward)
    });
    group.bench_function("typegrad forward (cholesky + cholesky_solve)", |bench| {
        bench.iter(forward_op)
    });
    group.bench_function("typegrad forward + backward", |bench| {
        bench.iter(&mut forward_backward)
    });
    group.bench_function("nalgebra raw forward", |bench| bench.iter(baseline));
    group.finish();

    common::paired_ratio(
        &format!("N = {N}, forward / nalgebra raw forward"),
        rounds,
        per,
        || drop(black_box(forward())),
        || {
            black_box(baseline());
        },
    );
    common::paired_ratio(
        &format!("N = {N}, cholesky + cholesky_solve / nalgebra raw forward"),
        rounds,
        per,
        || drop(black_box(forward_op())),
        || {
            black_box(baseline());
        },
    );
    common::paired_ratio(
        &format!("N = {N}, forward + backward / nalgebra raw forward"),
        rounds,
        per,
        &mut forward_backward,
        || {
            black_box(baseline());
        },
    );
}

fn main() {
    let mut crit = common::criterion();
    bench_size::<6>(&mut crit, 200, 2000);
    bench_size::<64>(&mut crit, 60, 20);
    crit.final_summary();
}
