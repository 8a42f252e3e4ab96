//! Exact second-order methods with `typegrad::func`:
//!
//! 1. Newton's method with the exact Hessian on Rosenbrock's function in 10 variables,
//!    from the classic start (-1.2, 1, -1.2, 1, ...): a backtracking line search keeps
//!    each step downhill, and the last iterations converge quadratically.
//! 2. One predict-and-update step of an extended Kalman filter for a unicycle (position,
//!    heading, speed) observed by its range to a beacon: the motion and measurement
//!    Jacobians come from `func::jacobian`, typed `Rank2<4, 4>` and `Rank2<1, 4>`.
//!
//! Each model function is written once, generic over the tape: called on a plain value
//! it computes the value and records nothing, and a transform (`func::jacobian(motion,
//! &x)`) runs it on a tracked leaf (the compiler infers `T = Tracked`).
//!
//! Run with `cargo run --release --example newton`.

use typegrad::func;
use typegrad::prelude::*;

const N: usize = 10;

/// Rosenbrock's function: Σ 100 (xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)², minimum 0 at (1, ..., 1).
fn rosenbrock<T: Tape>(x: &Tensor<Rank1<N>, f64, T>) -> Tensor<Rank0, f64, T::Plain> {
    let head: Tensor<Rank1<{ N - 1 }>, f64, T::Plain> = x.narrow::<0, 0, { N - 1 }>();
    let tail: Tensor<Rank1<{ N - 1 }>, f64, T::Plain> = x.narrow::<0, 1, { N - 1 }>();
    ((&tail - &head.powf(2.0)).powf(2.0) * 100.0 + (1.0 - &head).powf(2.0)).sum()
}

/// Solves `a x = b` for a small dense system by Gaussian elimination with partial
/// pivoting; `None` if the matrix is singular to working precision.
fn solve<const M: usize>(
    a: &Tensor<Rank2<M, M>, f64>,
    b: &Tensor<Rank1<M>, f64>,
) -> Option<Vec<f64>> {
    let mut m: Vec<Vec<f64>> = (0..M)
        .map(|i| a.as_slice()[i * M..(i + 1) * M].to_vec())
        .collect();
    let mut rhs = b.to_vec();
    for col in 0..M {
        let pivot = (col..M).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        rhs.swap(col, pivot);
        let (upper, lower) = m.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            subtract_scaled(row, pivot_row, factor, col);
            rhs[col + 1 + offset] -= factor * rhs[col];
        }
    }
    let mut x = vec![0.0; M];
    for row in (0..M).rev() {
        let tail: f64 = (row + 1..M).map(|k| m[row][k] * x[k]).sum();
        x[row] = (rhs[row] - tail) / m[row][row];
    }
    Some(x)
}

/// Minimises Rosenbrock's function from `start` by damped Newton steps; returns the
/// point where the gradient vanished and the number of iterations.
fn newton_on_rosenbrock(start: Tensor<Rank1<N>, f64>) -> (Tensor<Rank1<N>, f64>, usize) {
    let mut x = start;
    // Damping λ: the step solves (H + λI) p = -g. Far from the minimum, where H may be
    // indefinite, a larger λ makes the step shorter and downhill; a step that lowers f
    // is accepted and λ shrinks, so near the minimum this is the pure Newton step and
    // converges quadratically.
    let mut damping = 1e-3;
    for iteration in 0..200 {
        let (value, gradient) = func::value_and_grad(rosenbrock, &x);
        let gradient_norm = gradient.norm().item();
        println!("  iteration {iteration:2}: f = {value:.6e}, |grad f| = {gradient_norm:.3e}, damping {damping:.0e}");
        if gradient_norm < 1e-10 {
            return (x, iteration);
        }
        let hessian: Tensor<Rank2<N, N>, f64> =
            func::hessian(rosenbrock, &x).expect("Rosenbrock uses built-in operations only");
        loop {
            let damped = &hessian + &(Tensor::<Rank2<N, N>, f64>::eye() * damping);
            let candidate = solve(&damped, &(-&gradient))
                .and_then(|step| Tensor::<Rank1<N>, f64>::from_vec(step).ok())
                .map(|step| &x + &step);
            match candidate {
                Some(next) if rosenbrock(&next).item() < value => {
                    x = next;
                    damping = (damping / 4.0).max(1e-12);
                    break;
                }
                _ if damping > 1e12 => panic!("no downhill step at iteration {iteration}"),
                _ => damping *= 4.0,
            }
        }
    }
    panic!("Newton's method did not converge in 200 iterations");
}

fn rosenbrock_minima() {
    println!("Newton's method, exact Hessian, Rosenbrock in {N} variables, from the origin");
    let (x, iterations) = newton_on_rosenbrock(Tensor::zeros());
    let error = (&x - 1.0).norm().item();
    println!("  converged in {iterations} iterations to the global minimum (1, ..., 1), distance {error:.1e}\n");
    assert!(error < 1e-8 && iterations < 40);

    // In 4 or more variables the function also has a local minimum near (-1, 1, ..., 1),
    // where the classic start (-1.2, 1, -1.2, 1, ...) leads: Newton finds it just as
    // quickly. The exact Hessian there is positive definite (a minimum, not a saddle).
    println!("The same from the classic start (-1.2, 1, -1.2, 1, ...)");
    let start = Tensor::<Rank1<N>, f64>::from_fn(|i| if i % 2 == 0 { -1.2 } else { 1.0 });
    let (x, iterations) = newton_on_rosenbrock(start);
    let value = rosenbrock(&x).item();
    println!(
        "  converged in {iterations} iterations to a local minimum, f = {value:.6}, x₀ = {:.6}",
        x.as_slice()[0]
    );
    let hessian = func::hessian(rosenbrock, &x).expect("built-in operations only");
    for k in 1..=N {
        assert!(
            leading_minor(&hessian, k) > 0.0,
            "the Hessian there is positive definite"
        );
    }
    assert!(iterations < 40 && (value - 3.986579).abs() < 1e-5);
}

/// The determinant of the leading `k x k` block (Sylvester's criterion).
fn leading_minor<const M: usize>(m: &Tensor<Rank2<M, M>, f64>, k: usize) -> f64 {
    let mut a: Vec<Vec<f64>> = (0..k)
        .map(|i| m.as_slice()[i * M..i * M + k].to_vec())
        .collect();
    let mut det = 1.0;
    for col in 0..k {
        det *= a[col][col];
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for row in lower.iter_mut() {
            let factor = row[col] / pivot_row[col];
            subtract_scaled(row, pivot_row, factor, col);
        }
    }
    det
}

/// `row[from..] -= factor * pivot[from..]`: one step of Gaussian elimination.
fn subtract_scaled(row: &mut [f64], pivot: &[f64], factor: f64, from: usize) {
    for (r, p) in row[from..].iter_mut().zip(&pivot[from..]) {
        *r -= factor * p;
    }
}

/// The unicycle's motion over `DT`: position (x, y), heading θ, speed v, turning at the
/// known rate `OMEGA`. Generic over the tape, so one function gives the predicted state
/// (`motion(&x)`, plain) and its Jacobian (`func::jacobian(motion, &x)`, tracked).
fn motion<T: Tape>(state: &Tensor<Rank1<4>, f64, T>) -> Tensor<Rank1<4>, f64, T::Plain> {
    const DT: f64 = 0.1;
    const OMEGA: f64 = 0.3;
    let heading = state.at::<2>();
    let speed = state.at::<3>();
    let dx = &speed * &heading.cos() * DT;
    let dy = &speed * &heading.sin() * DT;
    // The heading turns by a known amount and the speed is constant: their increments
    // are constants, which a tuple stacks with the tracked ones.
    let turn = Tensor::full(OMEGA * DT);
    let accelerate = Tensor::zeros();
    state + &Tensor::stack((dx, dy, turn, accelerate))
}

/// The range to a beacon at (4, 3).
fn range<T: Tape>(state: &Tensor<Rank1<4>, f64, T>) -> Tensor<Rank1<1>, f64, T::Plain> {
    let beacon = Tensor::from_array([4.0, 3.0]);
    let position: Tensor<Rank1<2>, f64, T::Plain> = state.narrow::<0, 0, 2>();
    (&position - &beacon).norm().reshape()
}

fn extended_kalman_step() {
    println!("\nExtended Kalman filter, one step: unicycle observed by its range to a beacon");
    let state = Tensor::from_array([0.0, 0.0, 0.5, 1.0]);
    let covariance = Tensor::<Rank2<4, 4>, f64>::eye() * 0.1;
    let process_noise = Tensor::<Rank2<4, 4>, f64>::eye() * 0.01;
    let measurement_noise = 0.05;
    let measured_range = 4.9;

    // Predict: x⁻ = f(x), P⁻ = F P Fᵀ + Q with F = ∂f/∂x.
    let f_jacobian: Tensor<Rank2<4, 4>, f64> = func::jacobian(motion, &state);
    let predicted = motion(&state);
    let predicted_cov = f_jacobian.matmul(&covariance).matmul(&f_jacobian.t()) + &process_noise;
    println!("  motion Jacobian F:\n{f_jacobian}");

    // Update: K = P⁻ Hᵀ / (H P⁻ Hᵀ + R), x = x⁻ + K (z - h(x⁻)), P = (I - K H) P⁻.
    let h_jacobian: Tensor<Rank2<1, 4>, f64> = func::jacobian(range, &predicted);
    let innovation_var = h_jacobian
        .matmul(&predicted_cov)
        .matmul(&h_jacobian.t())
        .sum()
        .item()
        + measurement_noise;
    let gain = predicted_cov.matmul(&h_jacobian.t()) / innovation_var;
    let residual = measured_range - range(&predicted).sum().item();
    let gain_vector: Tensor<Rank1<4>, f64> = gain.reshape();
    let updated = &predicted + &(&gain_vector * residual);
    let updated_cov =
        (Tensor::<Rank2<4, 4>, f64>::eye() - gain.matmul(&h_jacobian)).matmul(&predicted_cov);
    println!("  measurement Jacobian H: {h_jacobian}");
    println!("  predicted state {predicted}\n  updated state   {updated}");
    println!(
        "  trace of the covariance: {:.5} predicted, {:.5} updated",
        trace(&predicted_cov),
        trace(&updated_cov)
    );
    assert!(
        trace(&updated_cov) < trace(&predicted_cov),
        "a measurement reduces the uncertainty"
    );
}

fn trace<const M: usize>(m: &Tensor<Rank2<M, M>, f64>) -> f64 {
    (0..M).map(|i| m.as_slice()[i * M + i]).sum()
}

fn main() {
    rosenbrock_minima();
    extended_kalman_step();
}
