//! Derivatives at extreme magnitudes, where a formula can overflow or underflow in an
//! intermediate although the derivative itself is an ordinary number (found by a
//! differential test against PyTorch and exact arithmetic). Each case failed before its
//! fix: a finite partial that came out 0, or NaN or infinity where a number is right.

use typegrad::func;
use typegrad::prelude::*;

/// `∂(a / b)/∂b = -(a / b) / b`: `-a / b²` overflowed or underflowed in `b²`.
#[test]
fn division_by_huge_or_tiny_values_has_the_right_partial() {
    let a = Tensor::from_array([0.0f64, 1e-300, 1e300, f64::INFINITY]).track();
    let b = Tensor::from_array([1e-200f64, 1e-200, 1e200, 1e300]).track();
    let grads = (&a / &b).sum().backward();
    let db = grads.get(&b).map(|g| g.to_vec());
    assert_eq!(db, Some(vec![-0.0, -1e100, -1e-100, f64::NEG_INFINITY]));
    // The same partial in forward mode and in the recorded backward.
    let (_, jvp) = func::jvp(
        |b: &Tensor<Rank1<4>, f64, Tracked>| a.no_grad() / b,
        &b.no_grad(),
        &Tensor::ones(),
    );
    assert_eq!(jvp.to_vec(), vec![-0.0, -1e100, -1e-100, f64::NEG_INFINITY]);
    let recorded = (&a / &b)
        .sum()
        .backward_create_graph()
        .expect("built-in operations")
        .get(&b)
        .map(|g| g.to_vec());
    assert_eq!(recorded, db);
    let (a, b) = (
        Tensor::from_array([0.0f32]).track(),
        Tensor::from_array([1e-25f32]).track(),
    );
    let db = (&a / &b).sum().backward().get(&b).map(|g| g.as_slice()[0]);
    assert_eq!(db, Some(-0.0));
}

/// The norm's second derivative divides by the norm twice, not by its square.
#[test]
fn the_norm_of_a_tiny_vector_has_finite_second_derivatives() {
    let x = Tensor::from_array([1e-200f64, 1e-200, 1e-200, 1e-200]);
    let h: Tensor<Rank2<4, 4>, f64> =
        func::hessian(|x: &Tensor<Rank1<4>, f64, Tracked>| x.norm(), &x).expect("built-in");
    // (I - u uᵀ) / ‖x‖ with ‖x‖ = 2e-200 and u = x / ‖x‖ = 1/2: 3.75e199 on the
    // diagonal, -1.25e199 off it.
    for (i, &v) in h.as_slice().iter().enumerate() {
        let expected = if i % 5 == 0 { 3.75e199 } else { -1.25e199 };
        assert!((v - expected).abs() <= 1e-12 * expected.abs(), "{i}: {v}");
    }
}

/// atan2's partials divide by the hypotenuse twice: `y² + x²` overflowed or underflowed.
#[test]
fn atan2_far_from_the_origin_and_near_it_has_the_right_partials() {
    let (y, x) = (
        Tensor::from_array([0.0f32, 1e-25, 3e19]).track(),
        Tensor::from_array([1e-25f32, 0.0, 3e19]).track(),
    );
    let loss = y.atan2(&x).sum();
    let grads = loss.backward();
    let (dy, dx) = (
        grads.get(&y).map(|g| g.to_vec()),
        grads.get(&x).map(|g| g.to_vec()),
    );
    let close = |got: Option<Vec<f32>>, want: [f32; 3]| {
        let got = got.expect("a gradient");
        got.iter()
            .zip(want)
            .all(|(g, w)| g == &w || (g - w).abs() <= 1e-6 * w.abs())
    };
    let diagonal = 1.0 / 6e19;
    assert!(close(dy.clone(), [1e25, 0.0, diagonal]), "{dy:?}");
    assert!(close(dx.clone(), [-0.0, -1e25, -diagonal]), "{dx:?}");
    // The recorded partials (second derivatives' first step) give the same numbers.
    let recorded = y.atan2(&x).sum().backward_create_graph().expect("built-in");
    let (ry, rx) = (
        recorded.get(&y).map(|g| g.to_vec()),
        recorded.get(&x).map(|g| g.to_vec()),
    );
    assert!(close(ry.clone(), [1e25, 0.0, diagonal]), "{ry:?}");
    assert!(close(rx.clone(), [-0.0, -1e25, -diagonal]), "{rx:?}");
    // f64: ∂/∂y at one point.
    let dy_at = |y: f64, x: f64| {
        let (y, x) = (
            Tensor::from_array([y]).track(),
            Tensor::from_array([x]).track(),
        );
        let grads = y.atan2(&x).sum().backward();
        grads.get(&y).map(|g| g.as_slice()[0])
    };
    // y = 0, x = 1e-300 has ∂/∂y = 1 / x = 1e300, within an ulp (1e-300 / h / h rounds
    // twice).
    let dy = dy_at(0.0, 1e-300);
    assert!(
        dy.is_some_and(|d| (d - 1e300).abs() <= 1e-15 * 1e300),
        "{dy:?}"
    );
    // The origin stays NaN, as documented.
    assert!(dy_at(0.0, 0.0).is_some_and(f64::is_nan));
}

/// asin's and acos' second derivatives, `±x / (1 - x²)^(3/2)`: the recorded `1 - x²`
/// used to cancel near 0 and give `0 · ∞` at ±1.
#[test]
fn asin_and_acos_second_derivatives_are_accurate_near_zero_and_infinite_at_one() {
    let second = |x: f64| -> f64 {
        let h: Tensor<Rank2<1, 1>, f64> = func::hessian(
            |x: &Tensor<Rank1<1>, f64, Tracked>| x.asin().sum(),
            &Tensor::from_array([x]),
        )
        .expect("built-in");
        h.as_slice()[0]
    };
    for x in [1e-8f64, 1e-20, 0.3, -0.7] {
        let exact = x / (1.0f64 - x * x).powf(1.5);
        assert!(
            (second(x) - exact).abs() <= 1e-15 * exact.abs(),
            "{x}: {}",
            second(x)
        );
    }
    assert_eq!(second(1.0), f64::INFINITY);
    assert_eq!(second(-1.0), f64::NEG_INFINITY);
    let h: Tensor<Rank2<1, 1>, f64> = func::hessian(
        |x: &Tensor<Rank1<1>, f64, Tracked>| x.acos().sum(),
        &Tensor::from_array([1e-8]),
    )
    .expect("built-in");
    let exact = -1e-8 / (1.0f64 - 1e-16).powf(1.5);
    assert!((h.as_slice()[0] - exact).abs() <= 1e-15 * exact.abs());
    // f32 near 0: the old form was off by 1.5e-5 relative at 1e-3.
    let h: Tensor<Rank2<1, 1>, f32> = func::hessian(
        |x: &Tensor<Rank1<1>, f32, Tracked>| x.asin().sum(),
        &Tensor::from_array([1e-3f32]),
    )
    .expect("built-in");
    let exact = 1e-3f64 / (1.0f64 - 1e-6).powf(1.5);
    assert!(((h.as_slice()[0] as f64) - exact).abs() <= 2e-7 * exact);
}

/// `g / x` rather than `g · (1 / x)`: for a subnormal `x`, `1 / x` overflows, so a small
/// incoming gradient gave infinity and a zero one (a Jacobian's other columns) NaN.
#[test]
fn reciprocal_partials_of_subnormal_values_divide() {
    let x = Tensor::from_array([1e-310f64, 2.0]).track();
    let ln = (x.ln() * 1e-10)
        .sum()
        .backward()
        .get(&x)
        .map(|g| g.to_vec());
    assert_eq!(ln, Some(vec![1e-10 / 1e-310, 0.5e-10]));
    let by_scalar = (&x / 1e-310 * 1e-10)
        .sum()
        .backward()
        .get(&x)
        .map(|g| g.to_vec());
    assert_eq!(by_scalar, Some(vec![1e-10 / 1e-310; 2]));
    let a = Tensor::from_array([1e-300f64, 1.0]).track();
    let b = Tensor::from_array([1e-310f64, 4.0]).track();
    let da = (&a / &b * 1e-10)
        .sum()
        .backward()
        .get(&a)
        .map(|g| g.to_vec());
    assert_eq!(da, Some(vec![1e-10 / 1e-310, 0.25e-10]));
    // A Jacobian's zero tangents stay zero: d ln(x_i) / d x_j = 0 for i != j.
    let jac: Tensor<Rank2<2, 2>, f64> = func::jacobian(
        |x: &Tensor<Rank1<2>, f64, Tracked>| x.ln(),
        &Tensor::from_array([1e-310f64, 2.0]),
    );
    assert_eq!(jac.to_vec()[1..3], [0.0, 0.0]);
    assert_eq!(jac.to_vec()[3], 0.5);
    let jac: Tensor<Rank2<2, 2>, f64> = func::jacobian(
        |x: &Tensor<Rank1<2>, f64, Tracked>| x / &Tensor::from_array([1e-310f64, 2.0]),
        &Tensor::from_array([1e-300f64, 2.0]),
    );
    assert_eq!(jac.to_vec()[1..3], [0.0, 0.0]);
}

/// `σ(-x)`, computed without cancellation.
fn sigmoid_of_minus(x: f64) -> f64 {
    (-x).exp() / (1.0 + (-x).exp())
}

/// A confident correct logit: BCE's gradient `σ(z) - y` and sigmoid's derivative
/// `σ(1 - σ)` cancelled to 0 (z = 38 gave 0 for ∓3.1e-17), and the second derivatives
/// lost digits from z ≈ 30 on.
#[test]
fn confident_logits_keep_their_small_derivatives() {
    let close = |got: f64, want: f64| (got - want).abs() <= 1e-12 * want.abs();
    let one = Tensor::<Rank1<1>, f64>::from_array([1.0]);
    let bce = |z: &Tensor<Rank1<1>, f64, Tracked>| z.bce_with_logits(&one);
    for z in [30.0f64, 38.0, 50.0] {
        let point = Tensor::from_array([z]);
        let tail = sigmoid_of_minus(z);
        let g = func::grad(bce, &point).as_slice()[0];
        assert!(close(g, -tail), "bce gradient at {z}: {g}");
        let (_, t) = func::jvp(bce, &point, &Tensor::ones());
        assert!(close(t.item(), -tail), "bce tangent at {z}");
        let h: Tensor<Rank2<1, 1>, f64> = func::hessian(bce, &point).expect("built-in");
        let exact = tail / (1.0 + (-z).exp());
        assert!(close(h.as_slice()[0], exact), "bce Hessian at {z}");
        // sigmoid itself: σ' = σ(z) σ(-z), σ'' = σ' (σ(-z) - σ(z)).
        let sigmoid = |x: &Tensor<Rank1<1>, f64, Tracked>| x.sigmoid().sum();
        let d = func::grad(sigmoid, &point).as_slice()[0];
        assert!(close(d, exact), "sigmoid derivative at {z}: {d}");
        let h: Tensor<Rank2<1, 1>, f64> = func::hessian(sigmoid, &point).expect("built-in");
        let second = exact * (tail - 1.0 / (1.0 + (-z).exp()));
        assert!(
            close(h.as_slice()[0], second),
            "sigmoid second derivative at {z}"
        );
    }
}

/// A confident prediction: log-softmax's `ln(1 + rest)` rounded `1 + rest`, and the
/// gradient's `e^lp - 1` lost the digits of `1 - p`: logits [30, 0, 0] gave a
/// cross-entropy of 1.8696e-13 for 1.8715e-13 (1e-3 relative).
#[test]
fn confident_predictions_keep_their_small_loss_and_gradient() {
    let close = |got: f64, want: f64| (got - want).abs() <= 1e-14 * want.abs();
    let tail = (-30f64).exp();
    let loss_exact = (2.0 * tail).ln_1p();
    let other = tail / (1.0 + 2.0 * tail);
    let z = Tensor::<Rank1<3>, f64>::from_array([30.0, 0.0, 0.0]).track();
    let lp = z.log_softmax::<0>().to_vec();
    assert!(close(-lp[0], loss_exact), "{lp:?}");
    // logsumexp alike: ln(1 + 2e^-30), not ln of the rounded sum.
    let lse = Tensor::<Rank1<3>, f64>::from_array([0.0, -30.0, -30.0]).logsumexp::<0>();
    assert!(close(lse.item(), loss_exact), "{}", lse.item());
    let loss = z.cross_entropy(0).expect("class in range");
    assert!(close(loss.item(), loss_exact), "{}", loss.item());
    let g = loss
        .backward()
        .get(&z)
        .map(|g| g.to_vec())
        .expect("gradient");
    assert!(close(-g[0], 2.0 * other) && close(g[1], other), "{g:?}");
    // The same with the target as a distribution, in forward mode, and recorded.
    let one_hot = Tensor::<Rank1<3>, f64>::from_array([1.0, 0.0, 0.0]);
    let probs = |z: &Tensor<Rank1<3>, f64, Tracked>| z.cross_entropy_probs(&one_hot);
    let point = Tensor::from_array([30.0, 0.0, 0.0]);
    let g = func::grad(probs, &point).to_vec();
    assert!(close(-g[0], 2.0 * other) && close(g[1], other), "{g:?}");
    let (_, t) = func::jvp(probs, &point, &Tensor::from_array([1.0, 0.0, 0.0]));
    assert!(close(-t.item(), 2.0 * other), "{}", t.item());
    let indices = |z: &Tensor<Rank1<3>, f64, Tracked>| z.cross_entropy(0).expect("in range");
    let z = point.track();
    let g = indices(&z)
        .backward_create_graph()
        .expect("built-in")
        .get(&z)
        .map(|g| g.to_vec())
        .expect("gradient");
    assert!(close(-g[0], 2.0 * other) && close(g[1], other), "{g:?}");
}

/// The recorded first derivatives give the same small numbers as the plain ones (their
/// own cancellation would show in `backward_create_graph`'s values, not in a Hessian),
/// and a quotient's partial keeps `g` next to the output: `-(g · (a/b)) / b`.
#[test]
fn recorded_first_derivatives_keep_their_digits() {
    let close = |got: f64, want: f64| (got - want).abs() <= 1e-12 * want.abs();
    let tail = sigmoid_of_minus(38.0);
    let z = Tensor::<Rank1<1>, f64>::from_array([38.0]).track();
    let sigmoid = z.sigmoid().sum().backward_create_graph().expect("built-in");
    let d = sigmoid.get(&z).map(|g| g.to_vec()[0]).expect("gradient");
    assert!(close(d, tail / (1.0 + (-38f64).exp())), "{d}");
    let one = Tensor::<Rank1<1>, f64>::from_array([1.0]);
    let bce = z
        .bce_with_logits(&one)
        .backward_create_graph()
        .expect("built-in");
    let d = bce.get(&z).map(|g| g.to_vec()[0]).expect("gradient");
    assert!(close(d, -tail), "{d}");
    // Cross-entropy against a one-hot distribution, recorded.
    let z = Tensor::<Rank1<3>, f64>::from_array([30.0, 0.0, 0.0]).track();
    let target = Tensor::<Rank1<3>, f64>::from_array([1.0, 0.0, 0.0]);
    let recorded = z
        .cross_entropy_probs(&target)
        .backward_create_graph()
        .expect("built-in");
    let g = recorded.get(&z).map(|g| g.to_vec()).expect("gradient");
    let other = (-30f64).exp() / (1.0 + 2.0 * (-30f64).exp());
    assert!(close(-g[0], 2.0 * other) && close(g[1], other), "{g:?}");
    // ∂(a/b)/∂b times an incoming g far from 1, in every rule.
    // (In forward mode the first case's partial, -1e400, comes before g: not checked.)
    for (g, a, b, want, forward) in [
        (1e-300, 1.0, 1e-200, -1e100, false),
        (1e10, 1e300, 1e200, -1e-90, true),
    ] {
        let (a, b) = (
            Tensor::<Rank1<1>, f64>::from_array([a]),
            Tensor::<Rank1<1>, f64>::from_array([b]).track(),
        );
        let loss = || (&a / &b * g).sum();
        let plain = loss().backward().get(&b).map(|d| d.to_vec()[0]);
        let recorded = loss()
            .backward_create_graph()
            .expect("built-in")
            .get(&b)
            .map(|d| d.to_vec()[0]);
        let (_, tangent) = func::jvp(
            |b: &Tensor<Rank1<1>, f64, Tracked>| (&a / b * g).sum(),
            &b.no_grad(),
            &Tensor::ones(),
        );
        let tangent = forward.then_some(Some(tangent.item()));
        for got in [plain, recorded].into_iter().chain(tangent) {
            assert!(
                got.is_some_and(|got| close(got, want)),
                "{got:?} for {want}"
            );
        }
    }
}

/// A target without a tangent adds no term to a loss's tangent: `-lp · 0` was NaN
/// where a class's log-probability is -inf, where the backward pass's gradient along the
/// logits is finite.
#[test]
fn a_constant_target_adds_nothing_to_the_tangent() {
    let target = Tensor::<Rank1<3>, f64>::from_array([1.0, 0.0, 0.0]);
    let point = Tensor::from_array([1.0, f64::NEG_INFINITY, 0.5]);
    let loss = |z: &Tensor<Rank1<3>, f64, Tracked>| z.cross_entropy_probs(&target);
    let direction = Tensor::from_array([1.0, 0.0, 0.5]);
    let (_, tangent) = func::jvp(loss, &point, &direction);
    // The same number as the backward pass's gradient along that direction.
    let gradient = func::grad(loss, &point).to_vec();
    let along: f64 = gradient
        .iter()
        .zip(direction.to_vec())
        .map(|(g, v)| g * v)
        .sum();
    assert!(along.is_finite());
    assert!(
        (tangent.item() - along).abs() <= 1e-15,
        "{} vs {along}",
        tangent.item()
    );
    // An infinite target is NaN in the gradient, as `∞ · p - ∞` is.
    let z = Tensor::<Rank1<3>, f64>::from_array([1.0, -1.0, 0.5]).track();
    let infinite = Tensor::<Rank1<3>, f64>::from_array([f64::INFINITY, 0.0, 0.0]);
    let g = z
        .cross_entropy_probs(&infinite)
        .backward()
        .get(&z)
        .map(|g| g.to_vec());
    assert!(g.is_some_and(|g| g[0].is_nan()));
}

/// The value and the derivative of `x.powi(n)` at each of `x`, the derivative by the
/// backward pass, the recorded backward and forward mode, which must agree (element by
/// element, or both NaN; the sign of a zero gradient is not compared, since backward
/// adds into zeros and `0 + -0` is `0`).
fn powi_every_rule<const N: usize>(x: [f64; N], n: i32) -> (Vec<f64>, Vec<f64>) {
    let point = Tensor::from_array(x);
    let leaf = point.track();
    let value = leaf.powi(n).to_vec();
    let plain = leaf.powi(n).sum().backward().get(&leaf).map(|g| g.to_vec());
    let recorded = leaf
        .powi(n)
        .sum()
        .backward_create_graph()
        .expect("built-in")
        .get(&leaf)
        .map(|g| g.to_vec());
    let (_, tangent) = func::jvp(
        |x: &Tensor<Rank1<N>, f64, Tracked>| x.powi(n),
        &point,
        &Tensor::ones(),
    );
    let plain = plain.expect("a gradient");
    for (rule, other) in [
        ("recorded", recorded.expect("a gradient")),
        ("forward", tangent.to_vec()),
    ] {
        let agree = plain.len() == other.len()
            && plain
                .iter()
                .zip(&other)
                .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
        assert!(
            agree,
            "x^{n} at {x:?}: backward {plain:?}, {rule} {other:?}"
        );
    }
    (value, plain)
}

/// `x.powi(n)` and `n x^(n-1)` at 0, at ±∞, at huge and tiny magnitudes and for
/// exponents near `i32`'s limits: exact at 0 for `n >= 1` (no `0 · ∞`), signed infinities
/// for negative `n` at ±0 (the one-sided limits), infinite or 0 only where the true value
/// is beyond `f64` (a square of 2^600 overflows, its derivative 2^601 does not), and
/// `pow` with the exponent exact, not repeated squaring (which loses a rounding per bit
/// of `n`: 1.4e-8 relative at n = 2^31 - 1).
#[test]
fn integer_powers_at_zero_infinity_and_extreme_magnitudes() {
    let inf = f64::INFINITY;
    // At ±0 (the values bitwise: the signs of zeros and infinities are the limits').
    let at_zero = |n| {
        let (v, d) = powi_every_rule([0.0, -0.0], n);
        (bits(&v), d)
    };
    assert_eq!(at_zero(0), (bits(&[1.0, 1.0]), vec![0.0, 0.0]));
    assert_eq!(at_zero(1), (bits(&[0.0, -0.0]), vec![1.0, 1.0]));
    assert_eq!(at_zero(2), (bits(&[0.0, 0.0]), vec![0.0, 0.0]));
    assert_eq!(at_zero(3), (bits(&[0.0, -0.0]), vec![0.0, 0.0]));
    assert_eq!(at_zero(-1), (bits(&[inf, -inf]), vec![-inf, -inf]));
    assert_eq!(at_zero(-2), (bits(&[inf, inf]), vec![-inf, inf]));
    // At ±∞.
    let at_infinity = |n| powi_every_rule([inf, -inf], n);
    assert_eq!(at_infinity(0), (vec![1.0, 1.0], vec![0.0, 0.0]));
    assert_eq!(at_infinity(1), (vec![inf, -inf], vec![1.0, 1.0]));
    assert_eq!(at_infinity(2), (vec![inf, inf], vec![inf, -inf]));
    assert_eq!(at_infinity(3), (vec![inf, -inf], vec![inf, inf]));
    let (v, d) = at_infinity(-1);
    assert_eq!((bits(&v), d), (bits(&[0.0, -0.0]), vec![0.0, 0.0]));
    // Huge and tiny powers of two (exact): a value beyond f64 with a derivative inside
    // it, and both beyond, in each direction.
    let (big, small) = (2f64.powi(600), 2f64.powi(-600));
    assert_eq!(
        powi_every_rule([big, small], 2),
        (vec![inf, 0.0], vec![2f64.powi(601), 2f64.powi(-599)])
    );
    assert_eq!(
        powi_every_rule([big, small], -2),
        (vec![0.0, inf], vec![-0.0, -inf])
    );
    // A subnormal value, exact: (2^512)^-2 = 2^-1024.
    let (v, _) = powi_every_rule([2f64.powi(512)], -2);
    assert_eq!(v, vec![f64::from_bits(1 << 50)]);
    // Overflow exactly where the true value overflows: 2^1023 is finite, 2^1024 is not,
    // and 1023 · 2^1022 is beyond f64.
    assert_eq!(
        powi_every_rule([2.0], 1023),
        (vec![2f64.powi(1023)], vec![inf])
    );
    assert_eq!(powi_every_rule([2.0], 1024), (vec![inf], vec![inf]));
    // Exponents at i32's limits on -1: the parity decides the sign, and `n - 1` for
    // i32::MIN does not overflow.
    assert_eq!(
        powi_every_rule([-1.0], i32::MAX),
        (vec![-1.0], vec![2_147_483_647.0])
    );
    assert_eq!(
        powi_every_rule([-1.0], i32::MIN),
        (vec![1.0], vec![2_147_483_648.0])
    );
    // (1 + u)^(2^31 - 1) for u = 2^-30 is e^((2^31 - 1) ln(1 + u)) = e^(2 - 2u + δ) with
    // δ below 1e-18, so the reference `exp(2 - 2u)` is within an ulp: the power must be
    // within a few ulps of it (repeated squaring, `f64::powi`, is 1.4e-8 off).
    let n = i32::MAX;
    let u = 2f64.powi(-30);
    let exact = (2.0 - 2.0 * u).exp();
    let (v, d) = powi_every_rule([1.0 + u], n);
    assert!((v[0] - exact).abs() <= 4e-16 * exact, "{} vs {exact}", v[0]);
    let exact_derivative = f64::from(n) * exact / (1.0 + u);
    assert!(
        (d[0] - exact_derivative).abs() <= 8e-16 * exact_derivative,
        "{} vs {exact_derivative}",
        d[0]
    );
    // f32: computed in f64 and rounded once, so an odd power above 2^24 keeps its sign
    // (`n as f32` is even there) and 0.1^-40 is infinite because 1e40 is beyond f32.
    let x = Tensor::from_array([-1.0f32, 0.1, 1e20, 1e-30]).track();
    let odd = x.powi(16_777_217).to_vec();
    assert_eq!(odd[0], -1.0);
    assert_eq!(x.powi(-40).to_vec()[1], f32::INFINITY);
    assert!((x.powi(-38).to_vec()[1] / 1e38 - 1.0).abs() < 1e-6);
    let squares = x.powi(2);
    assert_eq!(&squares.to_vec()[2..], &[f32::INFINITY, 0.0]);
    let d = squares.sum().backward().get(&x).map(|g| g.to_vec());
    assert_eq!(d.map(|d| d[2..].to_vec()), Some(vec![2e20, 2e-30]));
    // Second derivatives at 0: n (n - 1) x^(n-2) is 2 for n = 2 and 0 for n = 1 and 3.
    for (n, want) in [(1, 0.0), (2, 2.0), (3, 0.0)] {
        let h: Tensor<Rank2<1, 1>, f64> = func::hessian(
            |x: &Tensor<Rank1<1>, f64, Tracked>| x.powi(n).sum(),
            &Tensor::from_array([0.0]),
        )
        .expect("built-in");
        assert_eq!(h.as_slice()[0], want, "n = {n}");
    }
}

/// The bits of each value (so that -0 and 0 differ).
fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}
