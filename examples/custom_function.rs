//! Custom differentiable functions (`typegrad::custom`), two classic uses:
//!
//! 1. A straight-through estimator: `round` in the forward pass, the identity in the
//!    backward pass, as quantisation-aware training uses it (the true derivative of
//!    `round` is zero almost everywhere, which would stop all learning).
//! 2. A special function with a hand-written, numerically stable derivative:
//!    `sinc(x) = sin(x) / x`, whose naive derivative `(x cos x - sin x) / x²` loses every
//!    digit near 0. Below |x| = 1e-2 both the value and the derivative come from their
//!    Taylor series. Its rules are written for plain and for tracked tensors, so its
//!    second derivative (and `func::hessian`) works too; `custom::check` tests all of
//!    them against finite differences.
//!
//! Run with `cargo run --release --example custom_function`.

use typegrad::custom::{self, Custom, CustomOp};
use typegrad::func;
use typegrad::prelude::*;

const N: usize = 4;
type V = Rank1<N>;

/// Rounds to the nearest integer; passes the gradient through unchanged.
struct StraightThroughRound;

impl CustomOp<f32> for StraightThroughRound {
    type Input = V;
    type Output = V;
    fn name(&self) -> &'static str {
        "StraightThroughRoundBackward"
    }
    fn forward(&self, x: &Tensor<V, f32>) -> Tensor<V, f32> {
        let mut rounded = x.clone();
        rounded.map_inplace(f32::round);
        rounded
    }
    fn vjp(
        &self,
        _x: &Tensor<V, f32>,
        _y: &Tensor<V, f32>,
        grad: &Tensor<V, f32>,
    ) -> Tensor<V, f32> {
        grad.clone()
    }
}

/// sinc(x) = sin(x) / x, with sinc(0) = 1.
struct Sinc;

/// Below this magnitude, sinc and its derivative come from their Taylor series.
const SMALL: f64 = 1e-2;

/// sinc'(x) = (x cos x - sin x) / x², or -x/3 + x³/30 - x⁵/840 near 0.
fn sinc_slope(x: f64) -> f64 {
    if x.abs() < SMALL {
        let x2 = x * x;
        x * (-1.0 / 3.0 + x2 * (1.0 / 30.0 - x2 / 840.0))
    } else {
        (x * x.cos() - x.sin()) / (x * x)
    }
}

/// sinc''(x) = -sinc(x) - 2 sinc'(x) / x, or -1/3 + x²/10 - x⁴/168 near 0.
fn sinc_curvature(x: f64) -> f64 {
    if x.abs() < SMALL {
        let x2 = x * x;
        -1.0 / 3.0 + x2 * (1.0 / 10.0 - x2 / 168.0)
    } else {
        -(x.sin() / x) - 2.0 * sinc_slope(x) / x
    }
}

impl CustomOp<f64> for Sinc {
    type Input = V;
    type Output = V;
    fn name(&self) -> &'static str {
        "SincBackward"
    }
    fn forward(&self, x: &Tensor<V, f64>) -> Tensor<V, f64> {
        let mut y = x.clone();
        y.map_inplace(|x| {
            if x.abs() < SMALL {
                let x2 = x * x;
                1.0 - x2 / 6.0 * (1.0 - x2 / 20.0)
            } else {
                x.sin() / x
            }
        });
        y
    }
    fn vjp(
        &self,
        x: &Tensor<V, f64>,
        _y: &Tensor<V, f64>,
        grad: &Tensor<V, f64>,
    ) -> Tensor<V, f64> {
        grad * &slopes(x)
    }
    fn vjp_recorded(
        &self,
        x: &Tensor<V, f64, Tracked>,
        _y: &Tensor<V, f64, Tracked>,
        grad: &Tensor<V, f64, Tracked>,
    ) -> Option<Tensor<V, f64, Tracked>> {
        // g · sinc'(x), differentiable in g and in x: sinc'(x) as a custom operation of
        // its own, whose derivative is sinc''(x).
        Some(grad * &Custom::new(SincSlope).apply(x))
    }
    fn jvp(
        &self,
        x: &Tensor<V, f64>,
        _y: &Tensor<V, f64>,
        tangent: &Tensor<V, f64>,
    ) -> Option<Tensor<V, f64>> {
        Some(tangent * &slopes(x))
    }
}

/// sinc'(x) of every element.
fn slopes(x: &Tensor<V, f64>) -> Tensor<V, f64> {
    let mut s = x.clone();
    s.map_inplace(sinc_slope);
    s
}

/// sinc'(x) as an operation, so that sinc's recorded backward is differentiable.
struct SincSlope;

impl CustomOp<f64> for SincSlope {
    type Input = V;
    type Output = V;
    fn name(&self) -> &'static str {
        "SincSlopeBackward"
    }
    fn forward(&self, x: &Tensor<V, f64>) -> Tensor<V, f64> {
        slopes(x)
    }
    fn vjp(
        &self,
        x: &Tensor<V, f64>,
        _y: &Tensor<V, f64>,
        grad: &Tensor<V, f64>,
    ) -> Tensor<V, f64> {
        let mut c = x.clone();
        c.map_inplace(sinc_curvature);
        grad * &c
    }
}

fn straight_through() {
    println!("Straight-through estimator: round forward, identity backward");
    let round = Custom::new(StraightThroughRound);
    let w = Tensor::from_array([0.4f32, 1.6, -2.3, 0.5]).track();
    let target = Tensor::from_array([0.0f32, 2.0, -2.0, 1.0]);
    let quantised = round.apply(&w);
    let loss = quantised.mse(&target);
    println!("  w          = {w}\n  round(w)   = {quantised}\n  loss       = {loss}");
    let grad = loss.backward().get(&w).expect("w is on the path");
    // The gradient of the mse at round(w), passed straight through to w.
    println!("  d loss / dw = {grad}");
    assert_eq!(grad.to_vec(), vec![0.0, 0.0, 0.0, 0.0]);
    let w2 = Tensor::from_array([0.4f32, 1.4, -2.6, 0.6]).track();
    let grad = round
        .apply(&w2)
        .mse(&target)
        .backward()
        .get(&w2)
        .expect("on the path");
    println!("  at w = {}: d loss / dw = {grad}", w2.detach());
    assert_eq!(grad.to_vec(), vec![0.0, -0.5, -0.5, 0.0]);
}

fn stable_sinc() {
    println!("\nsinc with a hand-written derivative, stable near 0");
    let sinc = Custom::new(Sinc);
    let x = Tensor::from_array([1e-9, 1e-3, 0.5, 3.0]);
    let naive = |x: f64| (x * x.cos() - x.sin()) / (x * x);
    let g = func::grad(|x| sinc.apply(x).sum(), &x);
    for (&x, &g) in x.as_slice().iter().zip(g.as_slice()) {
        println!(
            "  x = {x:>8.1e}: sinc'(x) = {g:>+.15e}   naive formula: {:>+.15e}",
            naive(x)
        );
    }
    assert!(
        (g.as_slice()[0] + 1e-9 / 3.0).abs() < 1e-24,
        "the series keeps every digit at 1e-9"
    );
    let h = func::hessian(|x| sinc.apply(x).sum(), &x).expect("sinc gives a recorded rule");
    println!(
        "  sinc''(x) on the Hessian's diagonal: {:?}",
        (0..N).map(|i| h.as_slice()[i * N + i]).collect::<Vec<_>>()
    );
    custom::check(&sinc, &Tensor::from_array([0.004, -0.7, 1.3, 2.9]))
        .expect("every rule agrees with finite differences");
    println!("  custom::check: vjp, jvp and the recorded vjp agree with finite differences");
}

fn main() {
    straight_through();
    stable_sinc();
}
