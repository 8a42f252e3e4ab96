//! Kalman filtering and system identification with `typegrad::linalg`:
//!
//! 1. A linear Kalman filter tracks a target moving at nearly constant velocity in the
//!    plane from noisy position fixes. The gain solves `S Kᵀ = H P` with `linalg::solve`:
//!    no inverse is formed, by hand or otherwise.
//! 2. An extended Kalman filter tracks the same target from range and bearing: the
//!    measurement Jacobian comes from `func::jacobian`, the gain from `linalg::solve`.
//! 3. System identification: the filter's negative log-likelihood in innovations form,
//!    `½ Σₖ (ln det Sₖ + vₖᵀ Sₖ⁻¹ vₖ + 2 ln 2π)`, as a function of the log of the
//!    process-noise intensity `q`. Its exact gradient, through 300 steps of the filter,
//!    agrees with central finite differences; Newton steps with its exact second
//!    derivative (`func::try_hessian`) take `q` from a guess 8x too large to the maximum
//!    likelihood, asserted to lie within 3 standard errors of the `q` that generated
//!    the data (the standard error from that second derivative, the observed Fisher
//!    information).
//!
//! The filter is one function, generic over the tape: plain for tracking, tracked under
//! the transforms. The transforms' `try_` forms pass its `Err` (a solve of a singular
//! `S`) out, so nothing here unwraps a numeric result.
//!
//! Run with `cargo run --release --example kalman`.

use core::f64::consts::TAU;

use typegrad::func;
use typegrad::linalg;
use typegrad::model::ParamTape;
use typegrad::prelude::*;

const STEPS: usize = 300;
const DT: f64 = 1.0;
const Q_TRUE: f64 = 0.05;
/// The variance of each coordinate of a position fix.
const R_FIX: f64 = 1.0;
/// The standard deviations of a range (m) and a bearing (rad) measurement.
const SIGMA_RANGE: f64 = 0.5;
const SIGMA_BEARING: f64 = 0.02;

type State<T = NoGrad> = Tensor<Rank1<4>, f64, T>;
type Cov<T = NoGrad> = Tensor<Rank2<4, 4>, f64, T>;
type Obs<T = NoGrad> = Tensor<Rank1<2>, f64, T>;
type Scalar<T = NoGrad> = Tensor<Rank0, f64, T>;
/// A filtered mean and covariance, with a by-product of the step.
type Filtered<T, X> = (State<T>, Cov<T>, X);

/// Constant velocity over `DT`; the state is (x, y, vx, vy).
fn transition() -> Cov {
    Tensor::from_array([
        [1.0, 0.0, DT, 0.0],
        [0.0, 1.0, 0.0, DT],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ])
}

/// The process noise for `q = 1`: white-noise acceleration integrated over one step.
fn unit_process_noise() -> Cov {
    let (a, b, c) = (DT.powi(3) / 3.0, DT.powi(2) / 2.0, DT);
    Tensor::from_array([
        [a, 0.0, b, 0.0],
        [0.0, a, 0.0, b],
        [b, 0.0, c, 0.0],
        [0.0, b, 0.0, c],
    ])
}

fn position_fix() -> Tensor<Rank2<2, 4>, f64> {
    Tensor::from_array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
}

/// Range and bearing of the target seen from the origin.
fn range_bearing<T: Tape>(x: &State<T>) -> Obs<T::Plain> {
    let (px, py) = (x.at::<0>(), x.at::<1>());
    let range = (&px * &px + &(&py * &py)).sqrt();
    Tensor::stack([range, py.atan2(&px)])
}

struct Track {
    truth: [State; STEPS],
    fixes: [Obs; STEPS],
    polar: [Obs; STEPS],
}

fn simulate() -> Result<Track, Error> {
    let mut rng = seeded_rng(21);
    let (f, h) = (transition(), position_fix());
    let process = (unit_process_noise() * Q_TRUE).cholesky()?;
    let polar_sigma = Tensor::from_array([SIGMA_RANGE, SIGMA_BEARING]);
    let mut x = Tensor::from_array([30.0, 20.0, 1.0, 0.5]);
    let truth: [State; STEPS] = core::array::from_fn(|_| {
        x = f.matmul(&x) + &process.matmul(&State::randn(&mut rng));
        x.clone()
    });
    let fixes = truth
        .each_ref()
        .map(|x| h.matmul(x) + &(Obs::randn(&mut rng) * R_FIX.sqrt()));
    let polar = truth
        .each_ref()
        .map(|x| range_bearing(x) + &(Obs::randn(&mut rng) * &polar_sigma));
    Ok(Track {
        truth,
        fixes,
        polar,
    })
}

/// The prior: near the start, uncertain by 10 m and 2 m/s.
fn prior() -> (State, Cov) {
    let spread = Tensor::from_array([100.0, 100.0, 4.0, 4.0]);
    (Tensor::from_array([30.0, 20.0, 0.0, 0.0]), spread.diag())
}

/// The prediction over one step, with process noise `q`.
fn predict<T: Tape<Plain = T>>(mean: &State<T>, cov: &Cov<T>, q: &Scalar<T>) -> (State<T>, Cov<T>) {
    let f = transition();
    (
        f.matmul(mean),
        f.matmul(cov).matmul(&f.t()) + &(unit_process_noise() * q),
    )
}

/// The update by a measurement with Jacobian `h`, noise covariance `noise` and
/// innovation `v`: the mean, the covariance, and the innovation's covariance `S`.
///
/// One tape for everything (`T::Plain = T` holds for `NoGrad` and `Tracked`) keeps the
/// filter's loop variables of one type.
fn update<T: Tape<Plain = T>>(
    (mean, cov): (&State<T>, &Cov<T>),
    v: &Obs<T>,
    h: &Tensor<Rank2<2, 4>, f64>,
    noise: &Tensor<Rank2<2, 2>, f64>,
) -> Result<Filtered<T, Tensor<Rank2<2, 2>, f64, T>>, Error> {
    let hp = h.matmul(cov);
    let s = hp.matmul(&h.t()) + noise;
    // K = P Hᵀ S⁻¹, and S is symmetric: Kᵀ = S⁻¹ H P is one solve.
    let gain_t = linalg::solve(&s, &hp)?;
    Ok((mean + &v.matmul(&gain_t), cov - &gain_t.t().matmul(&hp), s))
}

/// One step of the linear filter with a position fix, and the step's term of the
/// negative log-likelihood, `½ (ln det S + vᵀ S⁻¹ v) + ln 2π`.
fn kalman_step<T: Tape<Plain = T>>(
    (mean, cov): (&State<T>, &Cov<T>),
    q: &Scalar<T>,
    fix: &Obs,
) -> Result<Filtered<T, Scalar<T>>, Error> {
    let (mean, cov) = predict(mean, cov, q);
    let h = position_fix();
    let v = fix - &h.matmul(&mean);
    let noise = Tensor::<Rank2<2, 2>, f64>::eye() * R_FIX;
    let (mean, cov, s) = update((&mean, &cov), &v, &h, &noise)?;
    let fit = v.dot(&linalg::solve(&s, &v)?);
    Ok((mean, cov, (s.logdet()? + &fit) * 0.5 + TAU.ln()))
}

/// The filtered means and the negative log-likelihood of the fixes, for the process
/// noise `q`, from the plain prior `(mean, cov)`: on tape `T` (`Tracked` to
/// differentiate in `q`, `NoGrad` to evaluate), the prior and the sum's zero lifted onto
/// it with `to_tape`.
fn filter<T: ParamTape>(
    q: &Scalar<T>,
    (mean, cov): (State, Cov),
    fixes: &[Obs; STEPS],
) -> Result<(Vec<State<T>>, Scalar<T>), Error> {
    let (mut mean, mut cov) = (mean.to_tape::<T>(), cov.to_tape::<T>());
    let mut nll = Tensor::<Rank0, f64>::zeros().to_tape::<T>();
    let mut means = Vec::with_capacity(STEPS);
    for fix in fixes {
        let term;
        (mean, cov, term) = kalman_step((&mean, &cov), q, fix)?;
        nll = nll + &term;
        means.push(mean.clone());
    }
    Ok((means, nll))
}

/// The root-mean-square distance between the positions (the first two elements) of
/// two sequences of states or fixes.
fn rmse<A: Shape, B: Shape, TA: Tape, TB: Tape>(
    a: &[Tensor<A, f64, TA>],
    b: &[Tensor<B, f64, TB>],
) -> f64 {
    let pairs = a
        .iter()
        .zip(b)
        .flat_map(|(a, b)| a.as_slice()[..2].iter().zip(&b.as_slice()[..2]));
    (pairs.map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

fn ekf_step(mean: &State, cov: &Cov, z: &Obs) -> Result<(State, Cov), Error> {
    let (mean, cov) = predict(mean, cov, &Tensor::full(Q_TRUE));
    let h: Tensor<Rank2<2, 4>, f64> = func::jacobian(range_bearing, &mean);
    let [dr, db] = (z - &range_bearing(&mean)).to_array();
    // A bearing's innovation is an angle: wrapped to (-π, π].
    let v = Tensor::from_array([dr, db.sin().atan2(db.cos())]);
    let noise = Tensor::from_array([SIGMA_RANGE, SIGMA_BEARING])
        .powf(2.0)
        .diag();
    let (mean, cov, _) = update((&mean, &cov), &v, &h, &noise)?;
    Ok((mean, cov))
}

fn tracking(track: &Track) -> Result<(), Error> {
    println!("Linear Kalman filter, {STEPS} position fixes of a constant-velocity target");
    let (filtered, _) = filter(&Tensor::full(Q_TRUE), prior(), &track.fixes)?;
    let raw = rmse(&track.fixes, &track.truth);
    let smooth = rmse(&filtered, &track.truth);
    println!("  position error (RMS): fixes {raw:.3} m, filtered {smooth:.3} m");
    assert!(smooth < 0.8 * raw, "the filter improves on the raw fixes");

    println!("\nExtended Kalman filter, range and bearing from the origin");
    let (mut mean, mut cov) = prior();
    let mut ekf = Vec::with_capacity(STEPS);
    for z in &track.polar {
        (mean, cov) = ekf_step(&mean, &cov, z)?;
        ekf.push(mean.clone());
    }
    let inverted = track.polar.each_ref().map(|z| {
        let [r, b] = z.to_array();
        Tensor::from_array([r * b.cos(), r * b.sin()])
    });
    let raw = rmse(&inverted, &track.truth);
    let smooth = rmse(&ekf, &track.truth);
    println!("  position error (RMS): measurements inverted {raw:.3} m, EKF {smooth:.3} m");
    assert!(smooth < 0.8 * raw, "the EKF improves on the measurements");
    Ok(())
}

fn identification(track: &Track) -> Result<(), Error> {
    println!("\nSystem identification: the likelihood of the fixes as a function of ln q");
    let nll = |log_q: &Scalar<Tracked>| -> Result<Scalar<Tracked>, Error> {
        Ok(filter(&log_q.exp(), prior(), &track.fixes)?.1)
    };
    let plain_nll = |log_q: f64| -> Result<f64, Error> {
        Ok(filter(&Tensor::full(log_q.exp()), prior(), &track.fixes)?
            .1
            .item())
    };
    let start = 0.4f64.ln();
    let exact = func::try_grad(nll, &Tensor::full(start))?.item();
    let h = 1e-4;
    let central = (plain_nll(start + h)? - plain_nll(start - h)?) / (2.0 * h);
    let relative = (exact - central).abs() / central.abs();
    println!("  at q = {:.2}: dNLL/d ln q = {exact:.9}", start.exp());
    println!("  central differences:    {central:.9} (relative difference {relative:.1e})");
    assert!(
        relative < 1e-6,
        "the gradient agrees with finite differences"
    );

    let (mut log_q, mut g, mut curvature) = (start, f64::INFINITY, 0.0);
    for iteration in 0..20 {
        let value;
        (value, g) =
            func::try_value_and_grad(nll, &Tensor::full(log_q)).map(|(v, g)| (v, g.item()))?;
        curvature = func::try_hessian(nll, &Tensor::full(log_q))?.item();
        let q = log_q.exp();
        println!(
            "  step {iteration}: q = {q:.5}, NLL {value:.6}, derivatives {g:+.2e}, {curvature:.2}"
        );
        if g.abs() < 1e-9 {
            break;
        }
        // Newton's step where it is shorter than 1 (a factor e in q), else a step of 1
        // downhill, which is also the step where the curvature is not positive.
        log_q -= (g / curvature.max(g.abs())).clamp(-1.0, 1.0);
    }
    // The curvature of the NLL at its minimum is the observed Fisher information: its
    // inverse square root is the estimate's standard error in ln q.
    let standard_error = 1.0 / curvature.sqrt();
    let miss = (log_q - Q_TRUE.ln()).abs();
    println!(
        "  maximum likelihood q = {:.5} ± {standard_error:.3} in ln q",
        log_q.exp()
    );
    println!(
        "  generated with q = {Q_TRUE}: {:.2} standard errors away",
        miss / standard_error
    );
    assert!(g.abs() < 1e-9, "Newton converged");
    assert!(miss < 3.0 * standard_error, "the estimate agrees with q");
    Ok(())
}

fn main() -> Result<(), Error> {
    let track = simulate()?;
    tracking(&track)?;
    identification(&track)
}
