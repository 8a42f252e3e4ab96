//! Gaussian-process regression: the hyperparameters of an RBF kernel fitted by Newton's
//! method on the exact gradient and Hessian of the negative log marginal likelihood
//!
//! `NLL(θ) = ½ yᵀ K⁻¹ y + ½ ln det K + (n/2) ln 2π`, where `K = σf² exp(-d² / 2ℓ²) + σn² I`
//!
//! and `θ = (ln ℓ, ln σf², ln σn²)`, through one Cholesky factorisation of `K` that
//! serves the solve and the log-determinant (`linalg::Cholesky`). The data are 20 noisy
//! samples of a smooth function, made deterministically (a fixed formula for the inputs,
//! a seeded generator for the noise). The fit is printed with the posterior's mean and
//! standard deviation at a few new inputs.
//!
//! `func::try_value_and_grad` and `func::try_hessian` take the likelihood as a closure
//! returning `Result`: a kernel matrix that is not positive-definite to working precision
//! is an `Err`, never a panic or a NaN. A trial step that makes one is refused; at an
//! accepted point, `main` would return it.
//!
//! Run with `cargo run --release --example gp`.

use core::f64::consts::TAU;

use typegrad::func;
use typegrad::linalg::Cholesky;
use typegrad::prelude::*;

const N: usize = 20;
const TEST: usize = 5;
const NOISE: f64 = 0.1;

/// The function the data sample.
fn truth(x: f64) -> f64 {
    x.sin() * (-0.1 * x).exp() + 0.2 * x - 1.0
}

struct Data {
    x: Tensor<Rank1<N>, f64>,
    y: Tensor<Rank1<N>, f64>,
    sq_dist: Tensor<Rank2<N, N>, f64>,
    /// The root mean square of the noise drawn: what σn should come out near.
    noise_sd: f64,
}

fn data() -> Data {
    // Spread over [0, 10], unevenly, so that some pairs are close and some far apart.
    let x = Tensor::<Rank1<N>, f64>::from_fn(|i| {
        let i = i as f64;
        (i + 0.5 + 0.4 * (7.0 * i).sin()) * 10.0 / N as f64
    });
    let noise = Tensor::<Rank1<N>, f64>::randn(&mut seeded_rng(21)) * NOISE;
    let y = Tensor::<Rank1<N>, f64>::from_fn(|i| truth(x.as_slice()[i])) + &noise;
    let sq_dist = squared_distances(&x, &x);
    let noise_sd = noise.norm().item() / (N as f64).sqrt();
    Data {
        x,
        y,
        sq_dist,
        noise_sd,
    }
}

fn squared_distances<const A: usize, const B: usize>(
    a: &Tensor<Rank1<A>, f64>,
    b: &Tensor<Rank1<B>, f64>,
) -> Tensor<Rank2<A, B>, f64> {
    Tensor::from_fn(|k| (a.as_slice()[k / B] - b.as_slice()[k % B]).powi(2))
}

/// `σf² exp(-d² / 2ℓ²)` at the squared distances `d²`, for `θ = (ln ℓ, ln σf², _)`.
/// Generic over the tape: plain for predictions, tracked under the transforms.
fn rbf<T: Tape, const A: usize, const B: usize>(
    theta: &Tensor<Rank1<3>, f64, T>,
    sq_dist: &Tensor<Rank2<A, B>, f64>,
) -> Tensor<Rank2<A, B>, f64, T::Plain> {
    let scale = (theta.at::<0>() * -2.0).exp() * -0.5;
    (sq_dist * &scale).exp() * &theta.at::<1>().exp()
}

/// `K`, the covariance of the noisy observations.
fn covariance<T: Tape>(
    theta: &Tensor<Rank1<3>, f64, T>,
    data: &Data,
) -> Tensor<Rank2<N, N>, f64, T::Plain> {
    let noise = Tensor::<Rank2<N, N>, f64>::eye() * &theta.at::<2>().exp();
    rbf(theta, &data.sq_dist) + &noise
}

fn nll<T: Tape>(
    theta: &Tensor<Rank1<3>, f64, T>,
    data: &Data,
) -> Result<Tensor<Rank0, f64, T::Plain>, Error> {
    let chol = Cholesky::new(&covariance(theta, data))?;
    let fit = data.y.dot(&chol.solve(&data.y)?);
    Ok((fit + &chol.logdet()) * 0.5 + 0.5 * N as f64 * TAU.ln())
}

/// `θ - (H + λI)⁻¹ g` if it lowers the NLL from `value`; `None` if it does not, or if
/// `H + λI` is not positive-definite (the step need not go downhill) or the step makes `K`
/// singular to working precision: a larger `λ` gives a shorter step.
fn damped_newton(
    theta: &Tensor<Rank1<3>, f64>,
    (value, gradient, hessian): (f64, &Tensor<Rank1<3>, f64>, &Tensor<Rank2<3, 3>, f64>),
    damping: f64,
    data: &Data,
) -> Result<Option<Tensor<Rank1<3>, f64>>, Error> {
    let damped = hessian + &(Tensor::<Rank2<3, 3>, f64>::eye() * damping);
    let step = match Cholesky::new(&damped) {
        Ok(chol) => chol.solve(&-gradient)?,
        Err(Error::NotPositiveDefinite { .. } | Error::SingularMatrix { .. }) => return Ok(None),
        Err(other) => return Err(other),
    };
    let next = theta + &step;
    match nll(&next, data) {
        Ok(v) if v.item() < value => Ok(Some(next)),
        Ok(_) | Err(Error::NotPositiveDefinite { .. } | Error::SingularMatrix { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

/// `½ gᵀ H⁻¹ g`, the decrease of the NLL a Newton step promises (and, near a minimum,
/// how far above it the NLL is), or infinity where the Hessian is not positive-definite.
fn newton_decrease(
    gradient: &Tensor<Rank1<3>, f64>,
    hessian: &Tensor<Rank2<3, 3>, f64>,
) -> Result<f64, Error> {
    match Cholesky::new(hessian) {
        Ok(chol) => Ok(0.5 * gradient.dot(&chol.solve(gradient)?).item()),
        Err(Error::NotPositiveDefinite { .. } | Error::SingularMatrix { .. }) => Ok(f64::INFINITY),
        Err(other) => Err(other),
    }
}

fn main() -> Result<(), Error> {
    let data = data();
    let objective = |theta: &Tensor<Rank1<3>, f64, Tracked>| nll(theta, &data);

    // ℓ = 3, σf² = 0.3, σn² = 0.3: too smooth, too quiet and too noisy.
    let mut theta = Tensor::from_array([3f64.ln(), 0.3f64.ln(), 0.3f64.ln()]);
    let start = nll(&theta, &data)?.item();
    println!("Gaussian process, RBF kernel, {N} points: Newton on (ln ℓ, ln σf², ln σn²)");
    let mut damping = 1e-3;
    for iteration in 0..50 {
        let (value, gradient) = func::try_value_and_grad(objective, &theta)?;
        let hessian = func::try_hessian(objective, &theta)?;
        let decrease = newton_decrease(&gradient, &hessian)?;
        let norm = gradient.norm().item();
        println!("  iteration {iteration:2}: NLL {value:.12}, |gradient| {norm:.2e}, decrease {decrease:.1e}");
        if decrease < 1e-20 {
            break;
        }
        theta = if decrease < 1e-10 {
            // A line search sees a decrease only above the NLL's rounding error (about
            // 1e-14: its terms are of size 10 to 100). This close to a minimum, with a
            // positive-definite Hessian, the pure Newton step needs none and converges
            // quadratically.
            &theta - &hessian.solve(&gradient)?
        } else {
            loop {
                match damped_newton(&theta, (value, &gradient, &hessian), damping, &data)? {
                    Some(next) => break next,
                    None if damping > 1e12 => panic!("no downhill step at iteration {iteration}"),
                    None => damping *= 4.0,
                }
            }
        };
        damping = (damping / 4.0).max(1e-12);
    }
    let (end, gradient) = func::try_value_and_grad(objective, &theta)?;
    let hessian = func::try_hessian(objective, &theta)?;
    let gradient_norm = gradient.norm().item();

    let [log_len, log_signal, log_noise] = theta.to_array();
    let (signal, noise) = (log_signal.exp(), log_noise.exp());
    println!(
        "\n  fit: ℓ = {:.4}, σf = {:.4}, σn = {:.4} (noise drawn with σ = {NOISE}: RMS {:.4})",
        log_len.exp(),
        signal.sqrt(),
        noise.sqrt(),
        data.noise_sd
    );
    println!("  NLL {start:.6} -> {end:.6}, |gradient| {gradient_norm:.1e}");

    // The posterior at new inputs: mean k*ᵀ K⁻¹ y, variance σf² - k*ᵀ K⁻¹ k*.
    let chol = Cholesky::new(&covariance(&theta, &data))?;
    let test_x = Tensor::<Rank1<TEST>, f64>::from_fn(|i| 1.0 + 2.0 * i as f64);
    let cross = rbf(&theta, &squared_distances(&test_x, &data.x));
    let mean = cross.matmul(&chol.solve(&data.y)?);
    let explained = cross.matmul(&chol.solve(&cross.t())?).diagonal();
    println!("\n       x    f(x)  posterior mean ± sd");
    let mut squared_error = 0.0;
    for ((x, m), e) in test_x
        .to_array()
        .into_iter()
        .zip(mean.to_array())
        .zip(explained.to_array())
    {
        println!(
            "  {x:6.2} {:7.3}  {m:7.3} ± {:.3}",
            truth(x),
            (signal - e).sqrt()
        );
        squared_error += (m - truth(x)).powi(2) / TEST as f64;
    }
    println!("  RMS error of the mean {:.3}", squared_error.sqrt());

    assert!(end < start, "the fit lowered the NLL");
    assert!(
        gradient_norm < 1e-9,
        "Newton converged: |gradient| {gradient_norm:.1e}"
    );
    assert!(
        hessian.cholesky().is_ok(),
        "the Hessian there is positive-definite: a minimum"
    );
    assert!(
        squared_error.sqrt() < NOISE,
        "the mean predicts f better than one observation"
    );
    Ok(())
}
