//! Property tests of operations' gradients against central finite differences in `f64`,
//! through the public [`typegrad::gradcheck::gradcheck`] (SPEC §5: "each: forward,
//! backward, a finite-difference property test"). Covered: the elementwise functions
//! (exp, ln, sqrt, abs, sin, cos, tanh, sigmoid, relu, softplus, neg, powf, powi, log1p,
//! expm1, erf, atan, asin, acos, clamp, clamp_min, clamp_max), arithmetic with a scalar
//! on either side, `+ - * /`, atan2 and pow between tensors with broadcasting, the
//! whole-tensor reductions (sum, mean, max, min, amax, amin, norm), every form of
//! matmul, and the losses (mse, bce_with_logits); plus random compositions of them.
//!
//! Each property draws random values and checks several shapes, size-1 dimensions
//! included; binary operations run over broadcasts in both directions, with both operands
//! tracked and with either one a constant. Every elementwise check is made twice: on the
//! tracked leaf itself and on an interior value (`x * 1.0`), since backward writes a
//! leaf's gradient and an interior node's gradient to different places. Non-scalar
//! outputs are checked by gradcheck through a vector-Jacobian product with a random seed.
//!
//! Inputs stay away from kinks and singularities (relu and abs away from 0, ln, sqrt and
//! fractional powers on positive inputs, divisors away from 0, max/min over values
//! separated by far more than the finite-difference step, asin and acos inside
//! (-0.95, 0.95), clamp's inputs away from its bounds, atan2 away from the origin and from
//! its jump on the negative x axis, pow with a tensor exponent on positive bases). The
//! documented subgradients at the kinks (relu'(0) = 0, abs'(0) = 0, ties of
//! maximum/minimum halved, of max/min shared evenly, along an axis to the first index,
//! clamp's 1 on its bounds) and the values PyTorch gives at the special points of pow
//! and atan2 are checked by the deterministic tests at the end.
//!
//! All checks use `Tolerance::default()` (PyTorch's eps 1e-6, atol 1e-5, rtol 1e-3).

use core::fmt::Debug;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError, TestRunner};
use typegrad::gradcheck::{gradcheck, gradgradcheck, jvpcheck, GradcheckInputs, Tolerance};
use typegrad::prelude::*;
use typegrad::shape::Broadcast;

/// A tracked `f64` tensor, as gradcheck hands the inputs to the checked function.
pub(crate) type Tr<S> = Tensor<S, f64, Tracked>;

/// The seed of every property's random generator.
const SEED: u64 = 0x7e57_5eed;

/// Few cases per property keeps the file fast (each case checks a dozen or more shapes);
/// no regression files are written into the source tree. The generator has a fixed seed,
/// so every run checks the same cases and CI cannot flake; `PROPTEST_RNG_SEED=<u64>`
/// explores other cases.
fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: match default.rng_seed {
            RngSeed::Random => RngSeed::Fixed(SEED),
            chosen => chosen,
        },
        ..default
    }
}

/// Runs a property: `test` on `cases` values drawn from `strategy`, shrinking a failure
/// to a minimal input, which the panic message shows (as `proptest!` does).
///
/// `proptest!` compiles its runner once per test; going through a boxed strategy and a
/// `&dyn Fn` compiles it once per value type, which keeps this file quick to build.
pub(crate) fn property<V: Debug + 'static>(
    cases: u32,
    strategy: impl Strategy<Value = V> + 'static,
    test: &dyn Fn(V) -> Result<(), TestCaseError>,
) {
    let strategy = strategy.boxed();
    if let Err(err) = TestRunner::new(config(cases)).run(&strategy, test) {
        panic!("{err}");
    }
}

/// The number of cases of most properties.
pub(crate) const CASES: u32 = 48;

/// An untracked tensor of shape `S` holding the first `S::NUM_ELEMENTS` values of `pool`.
pub(crate) fn t<S: Shape>(pool: &[f64]) -> Tensor<S, f64> {
    Tensor::from_vec(pool[..S::NUM_ELEMENTS].to_vec()).unwrap()
}

/// A function checked by gradcheck: from the tracked inputs `I` to an output of shape `SO`.
pub(crate) type Checked<'a, I, SO> =
    dyn Fn(&<I as GradcheckInputs>::Tracked) -> Tensor<SO, f64, Tracked> + 'a;

/// Checks all three derivative rules of the operations in `f` with the default
/// tolerance: the backward (gradcheck), the forward mode (jvpcheck) and the recorded
/// backward, by second derivatives (gradgradcheck), each against central finite
/// differences. A disagreement fails the case, naming the check.
///
/// The function is a `&dyn Fn`, so that the checks are compiled once per pair of input
/// and output types rather than once per closure (this file has hundreds).
pub(crate) fn check<I: GradcheckInputs, SO: Shape>(
    what: &str,
    f: &Checked<'_, I, SO>,
    inputs: &I,
) -> Result<(), TestCaseError> {
    let tol = Tolerance::default();
    let fail = |rule: &str, err: &dyn std::fmt::Display| {
        TestCaseError::fail(format!("{what}, {rule}: {err}"))
    };
    gradcheck(f, inputs, tol).map_err(|err| fail("backward", &err))?;
    jvpcheck(f, inputs, tol).map_err(|err| fail("forward mode", &err))?;
    gradgradcheck(f, inputs, tol).map_err(|err| fail("second derivative", &err))
}

// ---------------------------------------------------------------------------------------
// Value strategies
// ---------------------------------------------------------------------------------------

/// Values anywhere in a moderate range (smooth functions).
pub(crate) fn any_vals(n: usize) -> impl Strategy<Value = Vec<f64>> {
    vec(-3.0..3.0f64, n)
}

/// Values in `[lo, hi)`.
pub(crate) fn range(n: usize, lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    vec(lo..hi, n)
}

/// Positive values (ln, sqrt, fractional powers).
fn positive(n: usize) -> impl Strategy<Value = Vec<f64>> {
    vec(0.05..4.0f64, n)
}

/// Values of either sign with magnitude at least `min` (far above the step 1e-6).
fn signed_away_from_zero(n: usize, min: f64) -> impl Strategy<Value = Vec<f64>> {
    vec(
        (min..3.0f64, any::<bool>()).prop_map(|(m, neg)| if neg { -m } else { m }),
        n,
    )
}

/// Close to the kink of relu and abs, but never within a finite-difference step of it.
fn off_kink(n: usize) -> impl Strategy<Value = Vec<f64>> {
    signed_away_from_zero(n, 1e-3)
}

/// Divisors and bases of negative powers.
fn nonzero(n: usize) -> impl Strategy<Value = Vec<f64>> {
    signed_away_from_zero(n, 0.1)
}

/// Pairwise distinct values in random order, any two at least 0.3 apart, so that the
/// position of the max and the min cannot change within a finite-difference step.
pub(crate) fn distinct(n: usize) -> impl Strategy<Value = Vec<f64>> {
    (
        Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        vec(0.0..0.2f64, n),
        -2.0..2.0f64,
    )
        .prop_map(|(order, jitter, offset)| {
            order
                .iter()
                .zip(&jitter)
                .map(|(&rank, &j)| offset + 0.5 * rank as f64 + j)
                .collect()
        })
}

/// A scalar operand of either sign, away from 0 (a divisor).
fn nonzero_scalar() -> impl Strategy<Value = f64> {
    (0.2..4.0f64, any::<bool>()).prop_map(|(m, neg)| if neg { -m } else { m })
}

// ---------------------------------------------------------------------------------------
// Check generators
// ---------------------------------------------------------------------------------------

/// Checks `|x| body` for each shape, on the leaf and on an interior value `x * 1.0`.
macro_rules! for_shapes {
    ($pool:ident, |$x:ident| $body:expr; $($S:ty),+ $(,)?) => {$(
        check(
            concat!(stringify!($S), ", on the leaf"),
            &|$x: &Tr<$S>| $body,
            &t::<$S>(&$pool),
        )?;
        check(
            concat!(stringify!($S), ", on an interior value"),
            &|leaf: &Tr<$S>| {
                let $x = &(leaf * 1.0);
                $body
            },
            &t::<$S>(&$pool),
        )?;
    )+};
}
pub(crate) use for_shapes;

/// A property of an elementwise function over the usual shapes: a scalar, size-1
/// dimensions, a vector, matrices and a rank-3 tensor (at most 6 elements: the pool).
macro_rules! unary_property {
    ($(#[$doc:meta])* fn $name:ident($pool:ident in $vals:expr $(, $p:ident in $ps:expr)*)
        |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            property(CASES, ($vals, $($ps,)*), &|($pool, $($p,)*)| {
                for_shapes!($pool, |$x| $body;
                    Rank0, Rank1<1>, Rank1<5>, Rank2<1, 4>, Rank2<3, 1>, Rank2<2, 3>,
                    Rank3<2, 1, 3>);
                Ok(())
            });
        }
    };
}

/// Checks `|a, b| body` for each pair of shapes: both operands tracked, the right one a
/// constant, the left one a constant, and both interior values.
macro_rules! for_pairs {
    ($l:ident, $r:ident, |$a:ident, $b:ident| $body:expr; $(($L:ty, $R:ty)),+ $(,)?) => {$(
        check(
            concat!(stringify!($L), " with ", stringify!($R), ", both tracked"),
            &|($a, $b): &(Tr<$L>, Tr<$R>)| $body,
            &(t::<$L>(&$l), t::<$R>(&$r)),
        )?;
        let constant = t::<$R>(&$r);
        check(
            concat!(stringify!($L), " with ", stringify!($R), ", right constant"),
            &|$a: &Tr<$L>| {
                let $b = &constant;
                $body
            },
            &t::<$L>(&$l),
        )?;
        let constant = t::<$L>(&$l);
        check(
            concat!(stringify!($L), " with ", stringify!($R), ", left constant"),
            &|$b: &Tr<$R>| {
                let $a = &constant;
                $body
            },
            &t::<$R>(&$r),
        )?;
        check(
            concat!(stringify!($L), " with ", stringify!($R), ", interior values"),
            &|(left, right): &(Tr<$L>, Tr<$R>)| {
                let ($a, $b) = (&(left * 1.0), &(right * 1.0));
                $body
            },
            &(t::<$L>(&$l), t::<$R>(&$r)),
        )?;
    )+};
}
pub(crate) use for_pairs;

/// A property of an elementwise binary operator over equal shapes and every kind of
/// broadcast, in both directions (pools of 24 values: the largest shape).
macro_rules! binary_property {
    ($(#[$doc:meta])* fn $name:ident($l:ident in $ls:expr, $r:ident in $rs:expr)
        |$a:ident, $b:ident| $body:expr) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            property(CASES, ($ls, $rs), &|($l, $r)| {
                for_pairs!($l, $r, |$a, $b| $body;
                    // Equal shapes, size-1 ones included.
                    (Rank0, Rank0),
                    (Rank1<1>, Rank1<1>),
                    (Rank1<4>, Rank1<4>),
                    (Rank2<2, 3>, Rank2<2, 3>),
                    (Rank3<2, 1, 3>, Rank3<2, 1, 3>),
                    // A scalar with anything, on either side.
                    (Rank0, Rank1<1>),
                    (Rank1<4>, Rank0),
                    (Rank0, Rank2<2, 3>),
                    (Rank2<2, 3>, Rank0),
                    (Rank0, Rank3<2, 1, 3>),
                    (Rank3<2, 1, 3>, Rank0),
                    // A vector onto a matrix and onto a rank-3 tensor.
                    (Rank1<3>, Rank2<2, 3>),
                    (Rank2<2, 3>, Rank1<3>),
                    (Rank1<3>, Rank3<2, 2, 3>),
                    (Rank3<2, 2, 3>, Rank1<3>),
                    // A matrix onto a rank-3 tensor.
                    (Rank2<2, 3>, Rank3<4, 2, 3>),
                    (Rank3<4, 2, 3>, Rank2<2, 3>),
                    // Broadcasts where the repeated part has size-1 dimensions.
                    (Rank1<1>, Rank2<3, 1>),
                    (Rank2<3, 1>, Rank1<1>),
                    (Rank1<1>, Rank3<2, 3, 1>),
                    (Rank2<1, 3>, Rank3<2, 1, 3>),
                    (Rank3<2, 1, 3>, Rank2<1, 3>),
                );
                Ok(())
            });
        }
    };
}
pub(crate) use binary_property;

// ---------------------------------------------------------------------------------------
// Elementwise functions of one tensor
// ---------------------------------------------------------------------------------------

unary_property! {
    /// d/dx e^x = e^x.
    fn exp_gradient(pool in any_vals(6)) |x| x.exp()
}

unary_property! {
    /// d/dx ln x = 1/x, on positive inputs.
    fn ln_gradient(pool in positive(6)) |x| x.ln()
}

unary_property! {
    /// d/dx sqrt x = 1/(2 sqrt x), on positive inputs.
    fn sqrt_gradient(pool in positive(6)) |x| x.sqrt()
}

unary_property! {
    /// d/dx |x| = sign x, off the kink at 0.
    fn abs_gradient(pool in off_kink(6)) |x| x.abs()
}

unary_property! {
    /// d/dx sin x = cos x.
    fn sin_gradient(pool in range(6, -7.0, 7.0)) |x| x.sin()
}

unary_property! {
    /// d/dx cos x = -sin x.
    fn cos_gradient(pool in range(6, -7.0, 7.0)) |x| x.cos()
}

unary_property! {
    /// d/dx tanh x = 1 - tanh² x.
    fn tanh_gradient(pool in range(6, -5.0, 5.0)) |x| x.tanh()
}

unary_property! {
    /// d/dx σ(x) = σ(x)(1 - σ(x)), on both branches of the stable formula.
    fn sigmoid_gradient(pool in range(6, -10.0, 10.0)) |x| x.sigmoid()
}

unary_property! {
    /// d/dx max(x, 0) = [x > 0], off the kink at 0.
    fn relu_gradient(pool in off_kink(6)) |x| x.relu()
}

unary_property! {
    /// d/dx ln(1 + e^x) = σ(x), on both branches of the stable formula.
    fn softplus_gradient(pool in range(6, -10.0, 10.0)) |x| x.softplus()
}

unary_property! {
    /// d/dx -x = -1.
    fn neg_gradient(pool in any_vals(6)) |x| -x
}

unary_property! {
    /// d/dx x^p = p x^(p-1) for any real p (0 and 1 included), on positive inputs.
    fn powf_real_exponent_gradient(
        pool in positive(6),
        p in prop_oneof![-3.0..3.0f64, Just(0.0), Just(1.0), Just(0.5)]
    ) |x| x.powf(p)
}

unary_property! {
    /// d/dx x^n for integer n, on inputs of either sign (away from 0 for n < 1).
    fn powf_integer_exponent_gradient(pool in nonzero(6), n in -3i32..=4) |x| x.powf(f64::from(n))
}

unary_property! {
    /// d/dx x^n = n x^(n-1) for an integer power, on inputs of either sign away from 0
    /// (negative n included).
    fn powi_gradient(pool in nonzero(6), n in -4i32..=5) |x| x.powi(n)
}

unary_property! {
    /// x^n for n >= 0 is a polynomial: smooth everywhere, 0 and its neighbourhood
    /// included, where `n x^(n-1)` must stay exact (no `0 · ∞`).
    fn powi_nonnegative_exponent_gradient(pool in any_vals(6), n in 0i32..=4) |x| x.powi(n)
}

unary_property! {
    /// d/dx ln(1 + x) = 1/(1 + x), above -1 (and near 0, where it is accurate).
    fn log1p_gradient(pool in prop_oneof![range(6, -0.9, 4.0), range(6, -1e-3, 1e-3)])
        |x| x.log1p()
}

unary_property! {
    /// d/dx (e^x - 1) = e^x.
    fn expm1_gradient(pool in prop_oneof![range(6, -6.0, 3.0), range(6, -1e-3, 1e-3)])
        |x| x.expm1()
}

unary_property! {
    /// d/dx erf x = 2/√π e^(-x²), across the pieces of erf's approximation (|x| ≤ 1, the
    /// three intervals of (1, 6) and the constant tail).
    fn erf_gradient(pool in range(6, -7.0, 7.0)) |x| x.erf()
}

unary_property! {
    /// d/dx atan x = 1/(1 + x²).
    fn atan_gradient(pool in range(6, -6.0, 6.0)) |x| x.atan()
}

unary_property! {
    /// d/dx asin x = 1/√(1 - x²), inside (-0.95, 0.95).
    fn asin_gradient(pool in range(6, -0.95, 0.95)) |x| x.asin()
}

unary_property! {
    /// d/dx acos x = -1/√(1 - x²), inside (-0.95, 0.95).
    fn acos_gradient(pool in range(6, -0.95, 0.95)) |x| x.acos()
}

/// Bounds `lo < hi` and values on both sides of each and between them, every value at
/// least 1e-3 (a thousand finite-difference steps) from both bounds.
fn clamp_case() -> impl Strategy<Value = (Vec<f64>, f64, f64)> {
    (any_vals(6), -2.0..0.0f64, 0.1..2.5f64)
        .prop_map(|(pool, lo, width)| (pool, lo, lo + width))
        .prop_filter("values away from the bounds", |(pool, lo, hi)| {
            pool.iter()
                .all(|v| (v - lo).abs() > 1e-3 && (v - hi).abs() > 1e-3)
        })
}

/// d/dx clamp(x, lo, hi) = [lo ≤ x ≤ hi], and the one-sided clamp_min and clamp_max, off
/// the bounds; with the bounds swapped (`min > max`), the constant `max`.
#[test]
fn clamp_gradient() {
    property(CASES, clamp_case(), &|(pool, lo, hi)| {
        for_shapes!(pool, |x| x.clamp(lo, hi);
            Rank0, Rank1<1>, Rank1<5>, Rank2<3, 1>, Rank2<2, 3>, Rank3<2, 1, 3>);
        for_shapes!(pool, |x| x.clamp_min(lo) * x.clamp_max(hi);
            Rank0, Rank1<5>, Rank2<2, 3>);
        for_shapes!(pool, |x| x.clamp(hi, lo) + x; Rank0, Rank2<2, 3>);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Arithmetic with a scalar on either side
// ---------------------------------------------------------------------------------------

unary_property! {
    /// `x + c`.
    fn add_scalar_right_gradient(pool in any_vals(6), c in -5.0..5.0f64) |x| x + c
}

unary_property! {
    /// `c + x`.
    fn add_scalar_left_gradient(pool in any_vals(6), c in -5.0..5.0f64) |x| c + x
}

unary_property! {
    /// `x - c`.
    fn sub_scalar_right_gradient(pool in any_vals(6), c in -5.0..5.0f64) |x| x - c
}

unary_property! {
    /// `c - x` (and the literal `2.0 - x`).
    fn sub_scalar_left_gradient(pool in any_vals(6), c in -5.0..5.0f64) |x| (c - x) * (2.0 - x)
}

unary_property! {
    /// `x * c`.
    fn mul_scalar_right_gradient(pool in any_vals(6), c in -5.0..5.0f64) |x| x * c
}

unary_property! {
    /// `c * x`.
    fn mul_scalar_left_gradient(pool in any_vals(6), c in -5.0..5.0f64) |x| c * x
}

unary_property! {
    /// `x / c` (and the literal `x / 4.0`), with `c` away from 0.
    fn div_scalar_right_gradient(pool in any_vals(6), c in nonzero_scalar()) |x| (x / c) * (x / 4.0)
}

unary_property! {
    /// `c / x` (and the literal `3.0 / x`), with `x` away from 0.
    fn div_scalar_left_gradient(pool in nonzero(6), c in -5.0..5.0f64) |x| (c / x) + (3.0 / x)
}

// ---------------------------------------------------------------------------------------
// Arithmetic between tensors, with broadcasting
// ---------------------------------------------------------------------------------------

binary_property! {
    /// `a + b`: the broadcast operand's gradient is summed over the repeats.
    fn add_gradient(lhs in any_vals(24), rhs in any_vals(24)) |a, b| a + b
}

binary_property! {
    /// `a - b`.
    fn sub_gradient(lhs in any_vals(24), rhs in any_vals(24)) |a, b| a - b
}

binary_property! {
    /// `a * b`.
    fn mul_gradient(lhs in any_vals(24), rhs in any_vals(24)) |a, b| a * b
}

binary_property! {
    /// `a / b`, with `b` away from 0.
    fn div_gradient(lhs in any_vals(24), rhs in nonzero(24)) |a, b| a / b
}

binary_property! {
    /// `atan2(y, x)`: `x / (x² + y²)` in y, `-y / (x² + y²)` in x. Both operands at least
    /// 0.1 from 0: away from the origin, and from the jump between π and -π on the
    /// negative x axis.
    fn atan2_gradient(lhs in nonzero(24), rhs in nonzero(24)) |a, b| a.atan2(b)
}

/// Exponents of either sign, with the special values 0 (where the base's partial is
/// masked to 0), 1 and 2 among them.
fn exponents(n: usize) -> impl Strategy<Value = Vec<f64>> {
    vec(
        prop_oneof![4 => -2.5..2.5f64, 1 => Just(0.0), 1 => Just(1.0), 1 => Just(2.0)],
        n,
    )
}

binary_property! {
    /// `x^p` with a tensor exponent: `p x^(p-1)` in the base, `x^p ln x` in the exponent,
    /// on positive bases.
    fn pow_gradient(lhs in range(24, 0.2, 3.0), rhs in exponents(24)) |a, b| a.pow(b)
}

// ---------------------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------------------

/// The shapes the reductions are checked on (at most 12 elements).
macro_rules! reduce_shapes {
    ($pool:ident, |$x:ident| $body:expr) => {
        for_shapes!($pool, |$x| $body;
            Rank0, Rank1<1>, Rank1<5>, Rank2<1, 4>, Rank2<3, 1>, Rank2<2, 3>,
            Rank3<2, 1, 3>, Rank3<2, 2, 3>)
    };
}

/// d/dx Σx = 1 everywhere.
#[test]
fn sum_gradient() {
    property(CASES, any_vals(12), &|pool| {
        reduce_shapes!(pool, |x| x.sum());
        Ok(())
    });
}

/// d/dx mean x = 1/n everywhere.
#[test]
fn mean_gradient() {
    property(CASES, any_vals(12), &|pool| {
        reduce_shapes!(pool, |x| x.mean());
        Ok(())
    });
}

/// d/dx ‖x‖ = x/‖x‖, away from the origin (every element away from 0, so that the
/// one-element shapes, where the norm is |x|, stay off the kink).
#[test]
fn norm_gradient() {
    property(CASES, nonzero(12), &|pool| {
        reduce_shapes!(pool, |x| x.norm());
        Ok(())
    });
}

/// The max's gradient is 1 at the position of the (unique) maximum.
#[test]
fn max_gradient() {
    property(CASES, distinct(12), &|pool| {
        reduce_shapes!(pool, |x| x.max());
        Ok(())
    });
}

/// The min's gradient is 1 at the position of the (unique) minimum.
#[test]
fn min_gradient() {
    property(CASES, distinct(12), &|pool| {
        reduce_shapes!(pool, |x| x.min());
        Ok(())
    });
}

/// amax and amin, away from ties: the gradient is 1 at the (unique) extremum, as max's
/// and min's (ties: `amax_and_amin_share_ties_evenly_in_every_rule` in prop_more_ops).
#[test]
fn amax_and_amin_gradient() {
    property(CASES, distinct(12), &|pool| {
        reduce_shapes!(pool, |x| x.amax());
        reduce_shapes!(pool, |x| x.amin() * x.amax());
        Ok(())
    });
}

/// Reductions inside larger expressions: broadcast back onto the tensor they reduce
/// (non-scalar outputs, so the check is a vector-Jacobian product).
#[test]
fn reductions_broadcast_back() {
    property(CASES, (distinct(12), nonzero(12)), &|(pool, nz)| {
        for_shapes!(pool, |x| x - x.max() + x.min() * 2.0 + x.mean();
            Rank1<1>, Rank1<5>, Rank2<3, 1>, Rank2<2, 3>, Rank3<2, 2, 3>);
        for_shapes!(nz, |x| x / x.norm() - x.sum();
            Rank1<1>, Rank2<1, 4>, Rank2<2, 3>, Rank3<2, 2, 3>);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Matrix products
// ---------------------------------------------------------------------------------------

/// Every product `matmul` accepts, with size-1 dimensions, both operands tracked or
/// one constant (outputs are vectors, matrices and batches: vector-Jacobian products).
#[test]
fn matmul_gradient() {
    let strategy = (range(12, -2.0, 2.0), range(12, -2.0, 2.0));
    property(CASES, strategy, &|(lhs, rhs)| {
        for_pairs!(lhs, rhs, |a, b| a.matmul(b);
            // vector · matrix
            (Rank1<3>, Rank2<3, 2>),
            (Rank1<1>, Rank2<1, 4>),
            (Rank1<4>, Rank2<4, 1>),
            // matrix · vector
            (Rank2<2, 3>, Rank1<3>),
            (Rank2<1, 1>, Rank1<1>),
            (Rank2<4, 1>, Rank1<1>),
            (Rank2<1, 4>, Rank1<4>),
            // matrix · matrix (outer and inner products as size-1 cases)
            (Rank2<2, 3>, Rank2<3, 4>),
            (Rank2<1, 3>, Rank2<3, 1>),
            (Rank2<3, 1>, Rank2<1, 3>),
            (Rank2<1, 1>, Rank2<1, 1>),
            // batched Rank3 · Rank3
            (Rank3<2, 2, 3>, Rank3<2, 3, 2>),
            (Rank3<1, 2, 3>, Rank3<1, 3, 1>),
            (Rank3<3, 1, 2>, Rank3<3, 2, 2>),
            (Rank3<2, 3, 1>, Rank3<2, 1, 3>),
            // batch · one shared matrix
            (Rank3<2, 2, 3>, Rank2<3, 2>),
            (Rank3<3, 1, 2>, Rank2<2, 1>),
            (Rank3<1, 4, 1>, Rank2<1, 3>),
        );
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------

/// Mean squared error, in the prediction and in the target.
#[test]
fn mse_gradient() {
    property(CASES, (any_vals(6), any_vals(6)), &|(pred, target)| {
        for_pairs!(pred, target, |p, y| p.mse(y);
            (Rank0, Rank0),
            (Rank1<1>, Rank1<1>),
            (Rank1<5>, Rank1<5>),
            (Rank2<2, 3>, Rank2<2, 3>),
            (Rank3<2, 1, 3>, Rank3<2, 1, 3>),
        );
        Ok(())
    });
}

/// Binary cross-entropy with logits, in the logits and in the target (targets are
/// probabilities; logits on both branches of the stable formula).
#[test]
fn bce_with_logits_gradient() {
    let strategy = (range(6, -8.0, 8.0), range(6, 0.0, 1.0));
    property(CASES, strategy, &|(logits, target)| {
        for_pairs!(logits, target, |z, y| z.bce_with_logits(y);
            (Rank0, Rank0),
            (Rank1<1>, Rank1<1>),
            (Rank1<5>, Rank1<5>),
            (Rank2<2, 3>, Rank2<2, 3>),
            (Rank3<2, 1, 3>, Rank3<2, 1, 3>),
        );
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// A tensor used twice
// ---------------------------------------------------------------------------------------

/// The same tensor on both sides of an operation: both partial derivatives must
/// accumulate into its one gradient.
#[test]
fn tensor_used_twice() {
    let strategy = (
        any_vals(9),
        nonzero(9),
        range(9, -5.0, 5.0),
        range(9, -1.5, 1.5),
    );
    property(CASES, strategy, &|(pool, nz, logits, mat)| {
        for_shapes!(pool, |x| x * x; Rank0, Rank1<1>, Rank2<2, 3>, Rank3<2, 1, 3>);
        for_shapes!(pool, |x| x + x; Rank0, Rank1<4>, Rank2<3, 1>);
        // The two partials cancel: the gradient is 0 (a lost or doubled partial is not).
        for_shapes!(pool, |x| (x - x) + x * 0.5; Rank0, Rank1<4>, Rank2<3, 1>);
        for_shapes!(nz, |x| (x / x) + x * 0.5; Rank0, Rank1<4>, Rank2<3, 1>);
        for_shapes!(pool, |x| x * x.exp() * x; Rank1<3>, Rank2<2, 3>);
        for_shapes!(pool, |x| x * x.sum(); Rank1<1>, Rank1<5>, Rank3<2, 1, 3>);
        for_shapes!(logits, |x| x.bce_with_logits(x); Rank1<3>, Rank2<2, 3>);
        for_shapes!(pool, |x| x.mse(&x.sin()); Rank1<3>, Rank2<2, 3>);
        // A square matrix (and a batch of them) multiplied by itself.
        for_shapes!(mat, |x| x.matmul(x);
            Rank2<1, 1>, Rank2<2, 2>, Rank2<3, 3>, Rank3<2, 2, 2>);
        for_shapes!(mat, |x| x.matmul(&x.tanh()).matmul(x); Rank2<3, 3>, Rank3<2, 2, 2>);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Random compositions
// ---------------------------------------------------------------------------------------

/// One step of a random composition: a smooth function of the running value `h`, the
/// first input `x` and the second input `y`. Every step is Lipschitz with a constant
/// near 1 at most (|c| ≤ 1.2, |y| ≤ 1.2), so that twenty steps stay well-conditioned for
/// finite differences.
#[derive(Clone, Copy, Debug)]
enum Step {
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Softplus,
    Neg,
    /// `e^tanh(h) / 2`
    ExpTanh,
    /// `h * c`
    Scale(f64),
    /// `h + c`
    Shift(f64),
    /// `c - h`
    ScalarMinus(f64),
    /// `h / d`, `|d| ≥ 0.8`
    DivScalar(f64),
    /// `c / (h² + 1)`
    ScalarOver(f64),
    /// `sqrt(h² + 1)`
    SqrtSoft,
    /// `ln(h² + 1)`
    LnSoft,
    /// `(h² + 1)^p`, `p ∈ [-1, 0.5]`
    PowSoft(f64),
    /// `tanh(h)^3`
    CubeTanh,
    /// `h * tanh(h)`: `h` used twice
    SelfGate,
    /// `h * y`
    MulY,
    /// `h + y`
    AddY,
    /// `h - y`
    SubY,
    /// `y - h`
    YMinus,
    /// `h / (y² + 1)`
    DivY,
    /// `h + x`: the first input used again
    AddX,
    /// `h - mean(h)`: a Rank0 broadcast onto `h`
    Center,
    /// `h * tanh(Σy)`
    ScaleBySumY,
    /// `h / sqrt(Σh² + 1)`
    Normalize,
    /// a product with fixed matrices of norm below 1
    Mix,
}

/// A step drawn at random.
fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => prop::sample::select(vec![
            Step::Sin,
            Step::Cos,
            Step::Tanh,
            Step::Sigmoid,
            Step::Softplus,
            Step::Neg,
            Step::ExpTanh,
            Step::SqrtSoft,
            Step::LnSoft,
            Step::CubeTanh,
            Step::SelfGate,
            Step::MulY,
            Step::AddY,
            Step::SubY,
            Step::YMinus,
            Step::DivY,
            Step::AddX,
            Step::Center,
            Step::ScaleBySumY,
            Step::Normalize,
            Step::Mix,
        ]),
        1 => (-1.2..1.2f64).prop_map(Step::Scale),
        1 => (-2.0..2.0f64).prop_map(Step::Shift),
        1 => (-2.0..2.0f64).prop_map(Step::ScalarMinus),
        1 => (0.8..2.0f64, any::<bool>())
            .prop_map(|(d, neg)| Step::DivScalar(if neg { -d } else { d })),
        1 => (-2.0..2.0f64).prop_map(Step::ScalarOver),
        1 => (-1.0..0.5f64).prop_map(Step::PowSoft),
    ]
}

/// The input shapes of the composition property, each with its own matrix product.
trait Composable: Shape + Broadcast<Rank0, Output = Self> {
    /// A product of `h` with fixed matrices, keeping its shape.
    fn mix(h: &Tr<Self>) -> Tr<Self>;
}

impl Composable for Rank1<4> {
    fn mix(h: &Tr<Self>) -> Tr<Self> {
        // Absolute row and column sums below 1: the spectral norm is below 1.
        let m = Tensor::from_array([
            [0.5, -0.2, 0.1, 0.1],
            [0.1, 0.4, -0.3, 0.1],
            [-0.2, 0.1, 0.5, 0.1],
            [0.1, 0.2, 0.1, -0.5],
        ]);
        h.matmul(&m)
    }
}

impl Composable for Rank2<2, 3> {
    fn mix(h: &Tr<Self>) -> Tr<Self> {
        let left = Tensor::from_array([[0.6, -0.3], [0.2, 0.7]]);
        let right = Tensor::from_array([[0.5, 0.2, -0.2], [-0.1, 0.6, 0.2], [0.3, 0.1, 0.5]]);
        left.matmul(h).matmul(&right)
    }
}

/// Applies `steps` in order, starting from `x`.
fn compose<S: Composable>(x: &Tr<S>, y: &Tr<S>, steps: &[Step]) -> Tr<S> {
    let mut h = x.clone();
    for &step in steps {
        let soft = || &h * &h + 1.0;
        h = match step {
            Step::Sin => h.sin(),
            Step::Cos => h.cos(),
            Step::Tanh => h.tanh(),
            Step::Sigmoid => h.sigmoid(),
            Step::Softplus => h.softplus(),
            Step::Neg => -&h,
            Step::ExpTanh => h.tanh().exp() / 2.0,
            Step::Scale(c) => &h * c,
            Step::Shift(c) => &h + c,
            Step::ScalarMinus(c) => c - &h,
            Step::DivScalar(d) => &h / d,
            Step::ScalarOver(c) => c / soft(),
            Step::SqrtSoft => soft().sqrt(),
            Step::LnSoft => soft().ln(),
            Step::PowSoft(p) => soft().powf(p),
            Step::CubeTanh => h.tanh().powf(3.0),
            Step::SelfGate => &h * h.tanh(),
            Step::MulY => &h * y,
            Step::AddY => &h + y,
            Step::SubY => &h - y,
            Step::YMinus => y - &h,
            Step::DivY => &h / (y * y + 1.0),
            Step::AddX => &h + x,
            Step::Center => &h - h.mean(),
            Step::ScaleBySumY => &h * y.sum().tanh(),
            Step::Normalize => &h / ((&h * &h).sum() + 1.0).sqrt(),
            Step::Mix => S::mix(&h),
        };
    }
    h
}

/// Random sequences of 3 to 20 smooth operations on two tracked inputs (a vector or a
/// matrix), checked as a whole; the output keeps the input's shape, so the check is a
/// vector-Jacobian product.
#[test]
fn random_composition() {
    let strategy = (
        any::<bool>(),
        range(6, -2.0, 2.0),
        range(6, -1.2, 1.2),
        vec(step(), 3..=20),
    );
    property(64, strategy, &|(matrix, xs, ys, steps)| {
        if matrix {
            check(
                "Rank2<2, 3>",
                &|(x, y): &(Tr<Rank2<2, 3>>, Tr<Rank2<2, 3>>)| compose(x, y, &steps),
                &(t::<Rank2<2, 3>>(&xs), t::<Rank2<2, 3>>(&ys)),
            )
        } else {
            check(
                "Rank1<4>",
                &|(x, y): &(Tr<Rank1<4>>, Tr<Rank1<4>>)| compose(x, y, &steps),
                &(t::<Rank1<4>>(&xs), t::<Rank1<4>>(&ys)),
            )
        }
    });
}

// ---------------------------------------------------------------------------------------
// The harness itself, and the documented subgradients at kinks
// ---------------------------------------------------------------------------------------

/// The checks above can fail: a function whose backward misses half of the gradient
/// (one factor is a fresh leaf, invisible to the input) is rejected by `check`.
#[test]
fn check_rejects_a_wrong_gradient() {
    let x: Tensor<Rank2<2, 3>, f64> = t(&[0.5, -1.0, 2.0, 0.3, 1.5, -0.7]);
    let wrong = check("wrong", &|x: &Tr<Rank2<2, 3>>| x.no_grad().track() * x, &x);
    assert!(wrong.is_err());
    let right = check("right", &|x: &Tr<Rank2<2, 3>>| x * x, &x);
    assert!(right.is_ok(), "{right:?}");
}

/// Gradient of `f(x)` for the values `values`, through a VJP with seed `seed`.
fn grad_of<S: Shape>(values: &[f64], seed: &[f64], f: impl Fn(&Tr<S>) -> Tr<S>) -> Vec<f64> {
    let x = t::<S>(values).track();
    let seed = t::<S>(seed);
    f(&x).backward_with(&seed).get(&x).unwrap().to_vec()
}

#[test]
fn relu_subgradient_at_zero_is_zero() {
    let values = [-1.5, 0.0, -0.0, 2.0];
    let seed = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(
        grad_of::<Rank1<4>>(&values, &seed, |x| x.relu()),
        vec![0.0, 0.0, 0.0, 4.0]
    );
    // At an interior value that is exactly 0 (x - 1 at x = 1).
    let values = [1.0, 0.5, 3.0, 1.0];
    assert_eq!(
        grad_of::<Rank1<4>>(&values, &seed, |x| (x - 1.0).relu()),
        vec![0.0, 0.0, 3.0, 0.0]
    );
}

#[test]
fn abs_subgradient_at_zero_is_zero() {
    let values = [-2.0, 0.0, -0.0, 3.0];
    let seed = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(
        grad_of::<Rank1<4>>(&values, &seed, |x| x.abs()),
        vec![-1.0, 0.0, 0.0, 4.0]
    );
    let values = [1.0, 0.5, 3.0, -1.0];
    assert_eq!(
        grad_of::<Rank1<4>>(&values, &seed, |x| (x - 1.0).abs()),
        vec![0.0, -2.0, 3.0, -4.0]
    );
}

/// Gradient of a scalar function of a leaf holding `values`.
fn scalar_grad<S: Shape>(values: &[f64], f: impl Fn(&Tr<S>) -> Tr<Rank0>) -> Vec<f64> {
    let x = t::<S>(values).track();
    f(&x).backward().get(&x).unwrap().to_vec()
}

#[test]
fn max_ties_share_the_gradient_evenly() {
    assert_eq!(
        scalar_grad::<Rank1<3>>(&[3.0, 1.0, 3.0], |x| x.max()),
        vec![0.5, 0.0, 0.5]
    );
    assert_eq!(
        scalar_grad::<Rank1<4>>(&[2.0; 4], |x| x.max()),
        vec![0.25; 4]
    );
    assert_eq!(
        scalar_grad::<Rank2<2, 3>>(&[0.0, 5.0, -1.0, 5.0, 5.0, 2.0], |x| x.max()),
        vec![0.0, 1.0 / 3.0, 0.0, 1.0 / 3.0, 1.0 / 3.0, 0.0]
    );
    // Scaled by the upstream gradient, and through an interior value.
    assert_eq!(
        scalar_grad::<Rank1<3>>(&[1.0, 4.0, 4.0], |x| (x * 2.0).max() * 3.0),
        vec![0.0, 3.0, 3.0]
    );
}

#[test]
fn min_ties_share_the_gradient_evenly() {
    assert_eq!(
        scalar_grad::<Rank1<3>>(&[0.0, -1.0, -1.0], |x| x.min()),
        vec![0.0, 0.5, 0.5]
    );
    assert_eq!(
        scalar_grad::<Rank1<2>>(&[7.0, 7.0], |x| x.min()),
        vec![0.5, 0.5]
    );
    assert_eq!(
        scalar_grad::<Rank3<2, 1, 2>>(&[3.0, -2.0, 4.0, -2.0], |x| x.min() * -0.5),
        vec![0.0, -0.25, 0.0, -0.25]
    );
}

// ---------------------------------------------------------------------------------------
// Special points of log1p … pow: every rule, against PyTorch's values
// ---------------------------------------------------------------------------------------

/// Equal element by element (`-0 == 0`), or both NaN.
fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

/// The derivative of an elementwise function at each of `values`, by all three rules:
/// backward, the recorded backward (`backward_create_graph`) and forward mode (one
/// tangent of ones, since the Jacobian is diagonal). Fails unless the three agree.
fn derivative_by_every_rule<const N: usize>(
    values: [f64; N],
    f: impl Fn(&Tr<Rank1<N>>) -> Tr<Rank1<N>>,
) -> Vec<f64> {
    let x = t::<Rank1<N>>(&values);
    let leaf = x.clone().track();
    let backward = f(&leaf).sum().backward().get(&leaf).unwrap().to_vec();
    let recorded = f(&leaf)
        .sum()
        .backward_create_graph()
        .unwrap()
        .get(&leaf)
        .unwrap()
        .to_vec();
    let forward = typegrad::func::jvp(&f, &x, &Tensor::ones()).1.to_vec();
    assert!(
        same(&backward, &recorded),
        "backward {backward:?}, recorded {recorded:?}"
    );
    assert!(
        same(&backward, &forward),
        "backward {backward:?}, forward mode {forward:?}"
    );
    backward
}

/// abs'(0) = sgn(0) = 0, as PyTorch's `grad * self.sgn()`, at +0 and -0 and in every rule.
#[test]
fn abs_subgradient_at_zero_is_zero_in_every_rule() {
    assert_eq!(
        derivative_by_every_rule([-2.0, -0.0, 0.0, 3.0], |x| x.abs()),
        vec![-1.0, 0.0, 0.0, 1.0]
    );
    let x = t::<Rank1<2>>(&[0.0, 1.0]).track();
    assert_eq!(x.abs().grad_fn().unwrap().name(), "AbsBackward0");
}

/// clamp passes the gradient where `min <= x <= max`, the bounds included (PyTorch's
/// `clamp_backward` as it long was; PyTorch 2.15 passes 0 on the bounds), in every rule;
/// `min > max` makes every element `max` with gradient 0, as in PyTorch.
#[test]
fn clamp_at_its_bounds() {
    let values = [-2.0, -1.0, -0.0, 0.5, 1.0, 3.0];
    let x = t::<Rank1<6>>(&values);
    assert_eq!(
        x.clamp(-1.0, 1.0).to_vec(),
        vec![-1.0, -1.0, 0.0, 0.5, 1.0, 1.0]
    );
    assert_eq!(
        derivative_by_every_rule(values, |x| x.clamp(-1.0, 1.0)),
        vec![0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    );
    assert_eq!(
        derivative_by_every_rule(values, |x| x.clamp_min(-1.0)),
        vec![0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    );
    assert_eq!(
        derivative_by_every_rule(values, |x| x.clamp_max(1.0)),
        vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    );
    // A one-point interval passes the gradient at that point only.
    assert_eq!(
        derivative_by_every_rule(values, |x| x.clamp(1.0, 1.0)),
        vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    );
    // min > max: every element is max, and nothing passes.
    assert_eq!(x.clamp(1.0, -1.0).to_vec(), vec![-1.0; 6]);
    assert_eq!(
        derivative_by_every_rule(values, |x| x.clamp(1.0, -1.0)),
        vec![0.0; 6]
    );
    // Infinite bounds clamp nothing.
    assert_eq!(
        x.clamp(f64::NEG_INFINITY, f64::INFINITY).to_vec(),
        x.to_vec()
    );
    assert_eq!(
        derivative_by_every_rule(values, |x| x.clamp(f64::NEG_INFINITY, f64::INFINITY)),
        vec![1.0; 6]
    );
    // f32 alike.
    let x32 = Tensor::from_array([-2.0f32, -1.0, 0.5, 1.0, 3.0]).track();
    let y = x32.clamp(-1.0, 1.0);
    assert_eq!(y.to_vec(), vec![-1.0, -1.0, 0.5, 1.0, 1.0]);
    let g = y.sum().backward().get(&x32).unwrap().to_vec();
    assert_eq!(g, vec![0.0, 1.0, 1.0, 1.0, 0.0]);
}

/// `x^p` where PyTorch defines its partials specially (`pow_backward_self`,
/// `pow_backward_exponent`), in every rule: at x = 0 with p positive, 1, fractional, 0
/// and negative; at p = 0; on a negative base with integer exponents.
#[test]
fn pow_at_its_special_points() {
    let x = [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, -2.0, -2.0, 3.0];
    let p = [2.0, 1.0, 0.5, 0.0, -1.0, 0.0, 2.0, 3.0, 1.0];
    let inf = f64::INFINITY;
    let value = t::<Rank1<9>>(&x).pow(&t::<Rank1<9>>(&p)).to_vec();
    assert_eq!(value, vec![0.0, 0.0, 0.0, 1.0, inf, 1.0, 4.0, -8.0, 3.0]);
    // p x^(p-1), and 0 where p = 0 (0^0 included).
    let in_base = derivative_by_every_rule(x, |x| x.pow(&t::<Rank1<9>>(&p)));
    assert_eq!(
        in_base,
        vec![0.0, 1.0, inf, 0.0, -inf, 0.0, -4.0, 12.0, 1.0]
    );
    // x^p ln x: 0 where x = 0 and p >= 0, -inf where x = 0 and p < 0, NaN below 0.
    let in_exponent = derivative_by_every_rule(p, |p| t::<Rank1<9>>(&x).pow(p));
    let ln = f64::ln;
    assert!(
        same(
            &in_exponent,
            &[
                0.0,
                0.0,
                0.0,
                0.0,
                -inf,
                ln(2.0),
                f64::NAN,
                f64::NAN,
                3.0 * ln(3.0)
            ]
        ),
        "{in_exponent:?}"
    );
    // The second derivatives stay exact at p = 0 off x = 0: ∂²(x^p)/∂p∂x = 1/x there
    // (PyTorch's masked rule gives 0).
    let base = Tensor::from_array([2.0f64, 0.5]).track();
    let exponent = Tensor::<Rank1<2>, f64>::zeros().track();
    let grads = base.pow(&exponent).sum().backward_create_graph().unwrap();
    let d_base = grads.get(&base).unwrap();
    assert_eq!(d_base.to_vec(), vec![0.0, 0.0]);
    let mixed = d_base.sum().backward().get(&exponent).unwrap().to_vec();
    assert_eq!(mixed, vec![0.5, 2.0]);
}

/// atan2 on the axes and at the origin, in every rule: the partials `x / (x² + y²)` in y
/// and `-y / (x² + y²)` in x, as PyTorch computes them, so NaN at the origin (0/0).
#[test]
fn atan2_on_the_axes_and_at_the_origin() {
    use core::f64::consts::{FRAC_PI_2, PI};
    let y = [0.0, 2.0, 0.0, -0.0, -2.0, 0.0];
    let x = [2.0, 0.0, -2.0, -2.0, 0.0, 0.0];
    let angle = t::<Rank1<6>>(&y).atan2(&t::<Rank1<6>>(&x)).to_vec();
    assert_eq!(angle, vec![0.0, FRAC_PI_2, PI, -PI, -FRAC_PI_2, 0.0]);
    let in_y = derivative_by_every_rule(y, |y| y.atan2(&t::<Rank1<6>>(&x)));
    assert!(
        same(&in_y, &[0.5, 0.0, -0.5, -0.5, 0.0, f64::NAN]),
        "{in_y:?}"
    );
    let in_x = derivative_by_every_rule(x, |x| t::<Rank1<6>>(&y).atan2(x));
    assert!(
        same(&in_x, &[0.0, -0.5, 0.0, 0.0, 0.5, f64::NAN]),
        "{in_x:?}"
    );
}

/// asin and acos at ±1: the values ±π/2 and 0, π; derivatives ±inf in every rule.
#[test]
fn asin_and_acos_at_the_ends_of_their_domain() {
    use core::f64::consts::{FRAC_PI_2, PI};
    let x = t::<Rank1<2>>(&[-1.0, 1.0]);
    assert_eq!(x.asin().to_vec(), vec![-FRAC_PI_2, FRAC_PI_2]);
    assert_eq!(x.acos().to_vec(), vec![PI, 0.0]);
    let inf = f64::INFINITY;
    assert_eq!(
        derivative_by_every_rule([-1.0, 1.0], |x| x.asin()),
        vec![inf, inf]
    );
    assert_eq!(
        derivative_by_every_rule([-1.0, 1.0], |x| x.acos()),
        vec![-inf, -inf]
    );
    // Beyond ±1 the value and the derivative are NaN.
    let outside = derivative_by_every_rule([-1.5, 2.0], |x| x.asin());
    assert!(outside.iter().all(|v| v.is_nan()));
}

/// log1p and expm1 keep the digits of small inputs that `ln(1 + x)` and `e^x - 1` lose.
#[test]
fn log1p_and_expm1_are_accurate_near_zero() {
    let x = t::<Rank1<2>>(&[1e-10, -3e-12]);
    let l = x.log1p().to_vec();
    let e = x.expm1().to_vec();
    for (i, &v) in [1e-10f64, -3e-12].iter().enumerate() {
        assert!((l[i] - (v - v * v / 2.0)).abs() <= 2e-16 * v.abs(), "{l:?}");
        assert!((e[i] - (v + v * v / 2.0)).abs() <= 2e-16 * v.abs(), "{e:?}");
    }
    assert_eq!(
        t::<Rank1<1>>(&[-1.0]).log1p().to_vec(),
        vec![f64::NEG_INFINITY]
    );
    // expm1' = e^x to full relative accuracy, also where e^x - 1 rounds to -1.
    let d = derivative_by_every_rule([-40.0, 0.0, 2.0], |x| x.expm1());
    assert_eq!(d, vec![(-40f64).exp(), 1.0, 2f64.exp()]);
}

/// The grad_fn of each operation is the name PyTorch prints.
#[test]
fn grad_fn_names_are_pytorchs() {
    let x = t::<Rank1<2>>(&[0.5, 0.25]).track();
    let p = t::<Rank1<2>>(&[2.0, 3.0]).track();
    let names = [
        (x.log1p().grad_fn(), "Log1PBackward0"),
        (x.expm1().grad_fn(), "Expm1Backward0"),
        (x.erf().grad_fn(), "ErfBackward0"),
        (x.atan().grad_fn(), "AtanBackward0"),
        (x.asin().grad_fn(), "AsinBackward0"),
        (x.acos().grad_fn(), "AcosBackward0"),
        (x.clamp(0.0, 0.3).grad_fn(), "ClampBackward1"),
        (x.clamp_min(0.3).grad_fn(), "ClampMinBackward0"),
        (x.clamp_max(0.3).grad_fn(), "ClampMaxBackward0"),
        (x.atan2(&p).grad_fn(), "Atan2Backward0"),
        (x.pow(&p).grad_fn(), "PowBackward1"),
        (x.powf(2.0).grad_fn(), "PowBackward0"),
        (x.powi(3).grad_fn(), "PowBackward0"),
        (x.amax().grad_fn(), "AmaxBackward0"),
        (x.amin().grad_fn(), "AminBackward0"),
        (x.amax_axis::<0>().grad_fn(), "AmaxBackward0"),
        (x.amin_axis::<0>().grad_fn(), "AminBackward0"),
        (x.max().grad_fn(), "MaxBackward1"),
        (x.unsqueeze::<1>().grad_fn(), "UnsqueezeBackward0"),
        (x.reshape::<Rank2<1, 2>>().grad_fn(), "ViewBackward0"),
    ];
    for (grad_fn, name) in names {
        assert_eq!(grad_fn.unwrap().name(), name);
    }
}
