//! Levenberg-Marquardt: a damped oscillation `y = a e^(-b t) cos(c t + d)` fitted to 60
//! noisy samples (noise from a seeded generator, so every run fits the same data).
//!
//! Each step takes the residuals' Jacobian from `func::jacobian` (forward mode, chosen
//! from the types: 4 parameters, 60 residuals) and solves Marquardt's damped normal
//! equations `(JᵀJ + λ diag JᵀJ) δ = -Jᵀr` with `linalg::solve`. At the fit, the
//! parameters' standard errors come from `σ² (JᵀJ)⁻¹`, through a Cholesky factor; the
//! example asserts that every parameter is recovered to within 3 standard errors and to
//! 0.02 of the value that generated the data.
//!
//! A solve of a singular system is an `Err` that `main` returns: nothing here unwraps a
//! numeric result.
//!
//! Run with `cargo run --release --example curve_fit`.

use typegrad::func;
use typegrad::linalg::{self, Cholesky};
use typegrad::prelude::*;

const M: usize = 60;
const NAMES: [&str; 4] = ["a", "b", "c", "d"];
const TRUE: [f64; 4] = [2.0, 0.25, 1.8, 0.6];
const NOISE: f64 = 0.02;

type Params<T = NoGrad> = Tensor<Rank1<4>, f64, T>;
type Samples<T = NoGrad> = Tensor<Rank1<M>, f64, T>;

/// `a e^(-b t) cos(c t + d)` at the times `t`; generic over the tape, so the same
/// function makes the data and, tracked, the Jacobian.
fn model<T: Tape>(p: &Params<T>, t: &Samples) -> Samples<T::Plain> {
    let (a, b, c, d) = (p.at::<0>(), p.at::<1>(), p.at::<2>(), p.at::<3>());
    (t * &-&b).exp() * &a * &(t * &c + &d).cos()
}

fn residuals<T: Tape>(p: &Params<T>, t: &Samples, y: &Samples) -> Samples<T::Plain> {
    model(p, t) - y
}

fn main() -> Result<(), Error> {
    let t = Samples::from_fn(|i| i as f64 * 10.0 / M as f64);
    let truth = Tensor::from_array(TRUE);
    let y = model(&truth, &t) + &(Samples::randn(&mut seeded_rng(21)) * NOISE);
    let residual = |p: &Params<Tracked>| residuals(p, &t, &y);
    let cost = |p: &Params| 0.5 * residuals(p, &t, &y).powf(2.0).sum().item();

    println!("Levenberg-Marquardt: y = a exp(-b t) cos(c t + d), {M} samples, noise {NOISE}");
    let mut p = Tensor::from_array([1.0, 0.1, 1.6, 0.0]);
    let mut damping = 1e-3;
    let mut converged = false;
    for iteration in 0..100 {
        let r = residuals(&p, &t, &y);
        let j: Tensor<Rank2<M, 4>, f64> = func::jacobian(residual, &p);
        let (jtj, g) = (j.t().matmul(&j), j.t().matmul(&r));
        let (value, gradient_norm) = (0.5 * r.dot(&r).item(), g.norm().item());
        println!("  iteration {iteration:2}: cost {value:.9}, |Jᵀr| {gradient_norm:.2e}, λ {damping:.0e}");
        if gradient_norm < 1e-9 {
            converged = true;
            break;
        }
        // Damping on JᵀJ's diagonal (Marquardt's) scales with each parameter's units:
        // the step for `b` (per second) is damped as much as the step for `a`.
        p = loop {
            let damped = &jtj + &(jtj.diagonal().diag() * damping);
            let candidate = &p + &linalg::solve(&damped, &-&g)?;
            if cost(&candidate) < value {
                damping = (damping / 3.0).max(1e-12);
                break candidate;
            }
            assert!(damping < 1e12, "no downhill step at iteration {iteration}");
            damping *= 2.0;
        };
    }
    assert!(converged, "Levenberg-Marquardt converged in 100 iterations");

    // Standard errors: the residual variance times the diagonal of (JᵀJ)⁻¹.
    let j: Tensor<Rank2<M, 4>, f64> = func::jacobian(residual, &p);
    let variance = 2.0 * cost(&p) / (M - 4) as f64;
    let covariance = Cholesky::new(&j.t().matmul(&j))?.inverse() * variance;
    println!("\n  parameter   true      fit  std error");
    for (k, (fit, var)) in p
        .to_array()
        .into_iter()
        .zip(covariance.diagonal().to_array())
        .enumerate()
    {
        let error = var.sqrt();
        println!("  {:>9} {:6.3} {:8.4} {error:10.4}", NAMES[k], TRUE[k], fit);
        let miss = (fit - TRUE[k]).abs();
        assert!(miss < 3.0 * error && miss < 0.02, "{} recovered", NAMES[k]);
    }
    println!(
        "  residual standard deviation {:.4} (the noise: {NOISE})",
        variance.sqrt()
    );
    Ok(())
}
