//! Custom differentiable functions: every rule a user supplies is used where it should
//! be and checked; a missing second-order rule is an error, never a wrong number.

use typegrad::custom::{check, check2, Custom, CustomCheckError, CustomOp, CustomOp2};
use typegrad::func;
use typegrad::gradcheck::{gradgradcheck, GradgradcheckError, Tolerance};
use typegrad::prelude::*;

type V3 = Rank1<3>;

/// `softsign(x) = x / (1 + |x|)`, with all three rules.
struct Softsign;

impl CustomOp<f64> for Softsign {
    type Input = V3;
    type Output = V3;
    fn name(&self) -> &'static str {
        "SoftsignBackward"
    }
    fn forward(&self, x: &Tensor<V3, f64>) -> Tensor<V3, f64> {
        x / &(x.abs() + 1.0)
    }
    fn vjp(
        &self,
        x: &Tensor<V3, f64>,
        _: &Tensor<V3, f64>,
        g: &Tensor<V3, f64>,
    ) -> Tensor<V3, f64> {
        g / &(x.abs() + 1.0).powf(2.0)
    }
    fn vjp_recorded(
        &self,
        x: &Tensor<V3, f64, Tracked>,
        _: &Tensor<V3, f64, Tracked>,
        g: &Tensor<V3, f64, Tracked>,
    ) -> Option<Tensor<V3, f64, Tracked>> {
        Some(g / &(x.abs() + 1.0).powf(2.0))
    }
    fn jvp(
        &self,
        x: &Tensor<V3, f64>,
        _: &Tensor<V3, f64>,
        t: &Tensor<V3, f64>,
    ) -> Option<Tensor<V3, f64>> {
        Some(t / &(x.abs() + 1.0).powf(2.0))
    }
}

/// The same function with only the required backward rule.
struct SoftsignOnce;

impl CustomOp<f64> for SoftsignOnce {
    type Input = V3;
    type Output = V3;
    fn name(&self) -> &'static str {
        "SoftsignOnceBackward"
    }
    fn forward(&self, x: &Tensor<V3, f64>) -> Tensor<V3, f64> {
        Softsign.forward(x)
    }
    fn vjp(
        &self,
        x: &Tensor<V3, f64>,
        y: &Tensor<V3, f64>,
        g: &Tensor<V3, f64>,
    ) -> Tensor<V3, f64> {
        Softsign.vjp(x, y, g)
    }
}

/// A wrong derivative (missing the square), for the checker to catch.
struct WrongSoftsign;

impl CustomOp<f64> for WrongSoftsign {
    type Input = V3;
    type Output = V3;
    fn name(&self) -> &'static str {
        "WrongBackward"
    }
    fn forward(&self, x: &Tensor<V3, f64>) -> Tensor<V3, f64> {
        Softsign.forward(x)
    }
    fn vjp(
        &self,
        x: &Tensor<V3, f64>,
        _: &Tensor<V3, f64>,
        g: &Tensor<V3, f64>,
    ) -> Tensor<V3, f64> {
        g / &(x.abs() + 1.0)
    }
}

/// `a · b` of two vectors, a two-input operation with all rules.
struct Dot3;

impl CustomOp2<f64> for Dot3 {
    type Left = V3;
    type Right = V3;
    type Output = Rank0;
    fn name(&self) -> &'static str {
        "Dot3Backward"
    }
    fn forward(&self, a: &Tensor<V3, f64>, b: &Tensor<V3, f64>) -> Tensor<Rank0, f64> {
        a.dot(b)
    }
    fn vjp(
        &self,
        a: &Tensor<V3, f64>,
        b: &Tensor<V3, f64>,
        _: &Tensor<Rank0, f64>,
        g: &Tensor<Rank0, f64>,
    ) -> (Tensor<V3, f64>, Tensor<V3, f64>) {
        (b * g, a * g)
    }
    fn vjp_recorded(
        &self,
        a: &Tensor<V3, f64, Tracked>,
        b: &Tensor<V3, f64, Tracked>,
        _: &Tensor<Rank0, f64, Tracked>,
        g: &Tensor<Rank0, f64, Tracked>,
    ) -> Option<(Tensor<V3, f64, Tracked>, Tensor<V3, f64, Tracked>)> {
        Some((b * g, a * g))
    }
}

fn point() -> Tensor<V3, f64> {
    Tensor::from_array([0.7, -1.3, 2.1])
}

#[test]
fn a_custom_op_records_like_a_built_in_one_and_shows_its_name() {
    let op = Custom::new(Softsign);
    let x = point().track();
    let y = op.apply(&x);
    assert_eq!(y.grad_fn().unwrap().name(), "SoftsignBackward");
    assert!(
        y.to_string().ends_with("grad_fn=<SoftsignBackward>)"),
        "{y}"
    );
    let g = y.sum().backward().get(&x).unwrap().to_vec();
    let expected: Vec<f64> = point()
        .as_slice()
        .iter()
        .map(|v| 1.0 / (1.0 + v.abs()).powi(2))
        .collect();
    for (a, b) in g.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-15);
    }
    // Untracked inputs record nothing: the result is a plain value.
    let plain: Tensor<V3, f64, NoGrad> = op.apply(&point());
    assert!(plain.grad_fn().is_none() && !plain.requires_grad());
    let detached: Tensor<V3, f64, NoGrad> = op.apply(&x.detach());
    assert_eq!(detached.to_vec(), plain.to_vec());
}

#[test]
fn every_supplied_rule_passes_the_checker_and_a_wrong_one_is_caught() {
    check(&Custom::new(Softsign), &point()).unwrap();
    check(&Custom::new(SoftsignOnce), &point()).unwrap();
    check2(
        &Custom::new(Dot3),
        &point(),
        &Tensor::from_array([1.0, 0.5, -2.0]),
    )
    .unwrap();
    match check(&Custom::new(WrongSoftsign), &point()) {
        Err(CustomCheckError::Vjp(err)) => assert_eq!(err.input, 0),
        other => panic!("the wrong vjp must be caught: {other:?}"),
    }
}

#[test]
fn second_derivatives_flow_through_a_custom_op_with_a_recorded_rule() {
    let op = Custom::new(Softsign);
    let f = |x: &Tensor<V3, f64, Tracked>| op.apply(x).sum();
    let h = func::hessian(f, &point()).unwrap();
    // softsign'' = -2 sign(x) / (1 + |x|)³ on the diagonal.
    for (i, &x) in point().as_slice().iter().enumerate() {
        let expected = -2.0 * x.signum() / (1.0 + x.abs()).powi(3);
        assert!((h.as_slice()[i * 3 + i] - expected).abs() < 1e-13, "{h}");
    }
    gradgradcheck(|x| op.apply(x), &point(), Tolerance::default()).unwrap();
    let dot = Custom::new(Dot3);
    let b = Tensor::from_array([1.0, 0.5, -2.0]);
    let h = func::hessian(
        |a: &Tensor<V3, f64, Tracked>| dot.apply2(a, &(a * &b)),
        &point(),
    )
    .unwrap();
    // a · (a ⊙ b) = Σ bᵢ aᵢ²: Hessian diag(2b).
    assert_eq!(
        h.to_vec(),
        vec![2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -4.0]
    );
}

#[test]
fn without_a_recorded_rule_second_derivatives_are_an_error_naming_the_op() {
    let op = Custom::new(SoftsignOnce);
    let x = point().track();
    let err = op.apply(&x).sum().backward_create_graph().unwrap_err();
    assert_eq!(
        err,
        Error::NotTwiceDifferentiable {
            op: "SoftsignOnceBackward"
        }
    );
    assert!(err
        .to_string()
        .contains("SoftsignOnceBackward gives no differentiable backward rule"));
    let f = |x: &Tensor<V3, f64, Tracked>| op.apply(x).sum();
    assert_eq!(func::hessian(f, &point()).unwrap_err(), err);
    assert!(matches!(
        gradgradcheck(|x| op.apply(x), &point(), Tolerance::default()),
        Err(GradgradcheckError::NotTwiceDifferentiable(_))
    ));
    // First derivatives do not need it.
    assert_eq!(
        func::grad(f, &point()).to_vec(),
        func::grad(|x| Custom::new(Softsign).apply(x).sum(), &point()).to_vec()
    );
}

#[test]
fn forward_mode_uses_the_jvp_rule_or_builds_it_exactly_from_the_vjp() {
    let with_rule = Custom::new(Softsign);
    let without = Custom::new(SoftsignOnce);
    let v = Tensor::from_array([1.0, -2.0, 0.5]);
    let (_, a) = func::jvp(|x| with_rule.apply(x), &point(), &v);
    let (_, b) = func::jvp(|x| without.apply(x), &point(), &v);
    for (a, b) in a.as_slice().iter().zip(b.as_slice()) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
    let j: Tensor<Rank2<3, 3>, f64> = func::jacobian_forward(|x| without.apply(x), &point());
    let r: Tensor<Rank2<3, 3>, f64> = func::jacobian_reverse(|x| without.apply(x), &point());
    assert_eq!(j.to_vec(), r.to_vec());
}

#[test]
fn custom_ops_propagate_nan_like_built_in_ones() {
    let op = Custom::new(Softsign);
    let x = Tensor::from_array([1.0, f64::NAN, -1.0]).track();
    let y = op.apply(&x);
    assert!(y.as_slice()[1].is_nan());
    assert!(y.sum().backward().get(&x).unwrap().as_slice()[1].is_nan());
    let err = op.apply(&x).sum().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteLeaf {
            node: 0,
            dims: &[3],
            index: 1
        }
    );
}
