//! The gradient of a Gaussian process's negative log marginal likelihood, the issue's
//! comparison with PyTorch (f64, one thread):
//!
//! `NLL(θ) = ½ yᵀ K⁻¹ y + ½ ln det K + (n/2) ln 2π`, `K = σf² exp(-d² / 2ℓ²) + σn² I`,
//!
//! with respect to `θ = (ln ℓ, ln σf², ln σn²)`, through one `linalg::Cholesky` (its
//! `solve` and `logdet`), at n = 20 and n = 64 points of deterministic 1-D data. The
//! same computation in PyTorch (`torch.linalg.cholesky`, `torch.cholesky_solve`,
//! autograd) is `benches/pytorch/gp_likelihood.py`, which times it and checks typegrad's
//! values; this bench checks PyTorch's values (copied below) before timing anything.
//!
//! Criterion times the gradient (`func::try_value_and_grad`), the NLL alone on untracked
//! values, and nalgebra's raw static-size Cholesky on a kernel matrix built by plain
//! loops; paired ratios put the gradient beside the other two, so that a figure taken
//! on a shared machine can be read against a baseline timed in the same second.

#[allow(dead_code)]
mod common;

use core::f64::consts::TAU;

use criterion::Criterion;
use nalgebra::{SMatrix, SVector};
use std::hint::black_box;
use typegrad::func;
use typegrad::linalg::Cholesky;
use typegrad::prelude::*;

/// `(ln ℓ, ln σf², ln σn²)` where the gradient is taken: ℓ = 1.2, σf² = 0.8, σn² = 0.05.
fn theta_at() -> [f64; 3] {
    [1.2f64.ln(), 0.8f64.ln(), 0.05f64.ln()]
}

/// PyTorch 2.15's `(NLL, ∂NLL/∂θ)` at [`theta_at`], printed by
/// `benches/pytorch/gp_likelihood.py`.
const PYTORCH_20: [f64; 4] = [
    4.133_732_064_290_017e0,
    -8.209_127_379_394_735e0,
    2.804_892_525_366_336_4e0,
    5.441_922_709_956_501_5e0,
];
const PYTORCH_64: [f64; 4] = [
    -1.262_240_457_558_435_5e1,
    -9.953_945_220_060_504e0,
    2.737_996_166_013_091_6e0,
    2.421_557_170_392_231e1,
];

/// How far typegrad's values may be from PyTorch's, relative: both are backward-stable
/// Cholesky factorisations of a matrix whose condition number is below 1e4, so they
/// agree to about 1e-13; the issue asks for 1e-10.
const TOLERANCE: f64 = 1e-10;

struct Data<const N: usize> {
    y: Tensor<Rank1<N>, f64>,
    sq_dist: Tensor<Rank2<N, N>, f64>,
}

impl<const N: usize> Data<N> {
    /// Inputs spread unevenly over [0, 10] (some pairs close, some far apart) and
    /// targets from a smooth function plus a fixed oscillation standing in for noise:
    /// formulas, not a generator, so that the Python script builds the same numbers.
    fn new() -> Self {
        let x: [f64; N] = core::array::from_fn(|i| {
            let i = i as f64;
            (i + 0.5 + 0.4 * (7.0 * i).sin()) * 10.0 / N as f64
        });
        let y = Tensor::from_fn(|i| {
            let v = x[i];
            v.sin() * (-0.1 * v).exp() + 0.2 * v - 1.0 + 0.1 * (37.1 * i as f64 + 0.3).sin()
        });
        let sq_dist = Tensor::from_fn(|k| (x[k / N] - x[k % N]).powi(2));
        Data { y, sq_dist }
    }
}

/// The NLL at `theta`, generic over the tape: tracked for the gradient, plain for the
/// value alone.
fn nll<T: Tape, const N: usize>(
    theta: &Tensor<Rank1<3>, f64, T>,
    data: &Data<N>,
) -> Result<Tensor<Rank0, f64, T::Plain>, Error> {
    let scale = (theta.at::<0>() * -2.0).exp() * -0.5;
    let noise = Tensor::<Rank2<N, N>, f64>::eye() * &theta.at::<2>().exp();
    let k = (&data.sq_dist * &scale).exp() * &theta.at::<1>().exp() + &noise;
    let chol = Cholesky::new(&k)?;
    let fit = data.y.dot(&chol.solve(&data.y)?);
    Ok((fit + &chol.logdet()) * 0.5 + 0.5 * N as f64 * TAU.ln())
}

/// The NLL by nalgebra's static-size Cholesky on a kernel matrix built by plain loops:
/// the raw forward computation, with no recording and no checks.
fn nll_raw<const N: usize>(
    theta: [f64; 3],
    sq_dist: &SMatrix<f64, N, N>,
    y: &SVector<f64, N>,
) -> Option<f64> {
    let scale = -0.5 * (-2.0 * theta[0]).exp();
    let (signal, noise) = (theta[1].exp(), theta[2].exp());
    let k = SMatrix::<f64, N, N>::from_fn(|i, j| {
        signal * (scale * sq_dist[(i, j)]).exp() + if i == j { noise } else { 0.0 }
    });
    let chol = k.cholesky()?;
    let logdet: f64 = chol.l_dirty().diagonal().iter().map(|v| 2.0 * v.ln()).sum();
    Some(0.5 * (y.dot(&chol.solve(y)) + logdet) + 0.5 * N as f64 * TAU.ln())
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
}

fn bench_size<const N: usize>(crit: &mut Criterion, pytorch: [f64; 4], rounds: usize, per: usize) {
    let data = Data::<N>::new();
    let theta = Tensor::<Rank1<3>, f64>::from_array(theta_at());
    let raw_sq_dist: SMatrix<f64, N, N> =
        SMatrix::from_fn(|i, j| data.sq_dist.as_slice()[i * N + j]);
    let raw_y: SVector<f64, N> = SVector::from_fn(|i, _| data.y.as_slice()[i]);
    let objective = |t: &Tensor<Rank1<3>, f64, Tracked>| nll(t, &data);

    // The three computations agree, and typegrad's agrees with PyTorch's, before
    // anything is timed.
    let (value, gradient) = func::try_value_and_grad(objective, &theta)
        .unwrap_or_else(|e| panic!("the benchmark's kernel matrix is refused: {e}"));
    let gradient = gradient.to_array();
    println!(
        "n = {N}: typegrad NLL {value:.17e}, gradient [{:.17e}, {:.17e}, {:.17e}]",
        gradient[0], gradient[1], gradient[2]
    );
    println!(
        "n = {N}: PyTorch  NLL {:.17e}, gradient [{:.17e}, {:.17e}, {:.17e}]",
        pytorch[0], pytorch[1], pytorch[2], pytorch[3]
    );
    let ours = [value, gradient[0], gradient[1], gradient[2]];
    let worst = ours
        .iter()
        .zip(&pytorch)
        .map(|(&a, &b)| relative(a, b))
        .fold(0.0, f64::max);
    println!("n = {N}: largest relative difference {worst:.1e}");
    assert!(worst <= TOLERANCE, "typegrad and PyTorch differ: {worst:e}");
    let plain = nll(&theta, &data).map(|v| v.item());
    let raw = nll_raw(theta_at(), &raw_sq_dist, &raw_y);
    for other in [plain.ok(), raw] {
        let other = other.unwrap_or(f64::NAN);
        assert!(relative(value, other) <= 1e-12, "{value} against {other}");
    }

    let gradient = || func::try_value_and_grad(objective, black_box(&theta)).ok();
    let value_only = || nll(black_box(&theta), &data).ok();
    let baseline = || nll_raw(black_box(theta_at()), &raw_sq_dist, &raw_y);

    let mut group = crit.benchmark_group(format!("gp_nll_{N}"));
    group.bench_function("typegrad value and gradient", |bench| bench.iter(gradient));
    group.bench_function("typegrad value alone (untracked)", |bench| {
        bench.iter(value_only)
    });
    group.bench_function("nalgebra raw value", |bench| bench.iter(baseline));
    group.finish();

    common::paired_ratio(
        &format!("n = {N}, typegrad gradient / typegrad value alone"),
        rounds,
        per,
        || drop(black_box(gradient())),
        || drop(black_box(value_only())),
    );
    common::paired_ratio(
        &format!("n = {N}, typegrad gradient / nalgebra raw value"),
        rounds,
        per,
        || drop(black_box(gradient())),
        || {
            let _ = black_box(baseline());
        },
    );
}

fn main() {
    let mut crit = common::criterion();
    bench_size::<20>(&mut crit, PYTORCH_20, 100, 500);
    bench_size::<64>(&mut crit, PYTORCH_64, 40, 50);
    crit.final_summary();
}
