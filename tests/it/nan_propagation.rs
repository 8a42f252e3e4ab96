//! NaN in, NaN out (SPEC §6, "No silent wrong answers"): every operation with a NaN in
//! any operand position (a scalar parameter such as clamp's bounds included) gives NaN
//! where the result depends on it, forward and backward.
//! IEEE 754 and PyTorch propagate NaN; Rust's `f32::max`/`min` drop it, which is how
//! relu, maximum/minimum and norm once turned a NaN into a finite number.
//!
//! Backward: where a derivative depends on the operand's value (relu's mask, a
//! comparison, `x / ‖x‖`), a NaN operand gives a NaN gradient. Where it does not (the
//! derivative of `x * c` is `c` whatever `x` is), the gradient stays the exact derivative.

use typegrad::prelude::*;

/// A tracked `f64` vector of three with a NaN in the middle.
fn with_nan() -> Tensor<Rank1<3>, f64, Tracked> {
    Tensor::from_array([0.5, f64::NAN, 2.0]).track()
}

fn is_nan_at(values: &[f64], at: usize) -> bool {
    values[at].is_nan()
}

/// The gradient of `leaf` after `out.sum()` backward.
fn grad_of<S: Shape, SO: Shape>(
    out: Tensor<SO, f64, Tracked>,
    leaf: &Tensor<S, f64, Tracked>,
) -> Vec<f64> {
    out.sum()
        .backward()
        .get(leaf)
        .expect("on the path")
        .to_vec()
}

#[test]
fn relu_of_nan_is_nan_forward_and_backward() {
    let x = with_nan();
    let y = x.relu();
    assert_eq!(y.as_slice()[0], 0.5);
    assert!(is_nan_at(y.as_slice(), 1));
    let g = grad_of(y, &x);
    assert_eq!((g[0], g[2]), (1.0, 1.0));
    assert!(g[1].is_nan(), "relu'(NaN) must be NaN, got {}", g[1]);
    // f32 too: f32::max(NaN, 0) is 0, the bug this pins.
    let x32 = Tensor::from_array([f32::NAN, -1.0]).track();
    assert!(x32.relu().as_slice()[0].is_nan());
}

#[test]
fn maximum_and_minimum_with_nan_on_either_side_are_nan_forward_and_backward() {
    let finite = Tensor::from_array([1.0, 1.0, 1.0]).track();
    for nan_on_left in [true, false] {
        for is_max in [true, false] {
            let x = with_nan();
            let (l, r) = if nan_on_left {
                (&x, &finite)
            } else {
                (&finite, &x)
            };
            let m = if is_max { l.maximum(r) } else { l.minimum(r) };
            let what = format!("max {is_max}, NaN on the left {nan_on_left}");
            assert!(is_nan_at(m.as_slice(), 1), "{what}: {:?}", m.to_vec());
            assert!(
                !m.as_slice()[0].is_nan() && !m.as_slice()[2].is_nan(),
                "{what}"
            );
            let grads = m.sum().backward();
            for leaf in [&x, &finite] {
                let g = grads.get(leaf).expect("both operands are tracked").to_vec();
                assert!(g[1].is_nan(), "{what}: gradient {g:?}");
                assert!(g[0].is_finite() && g[2].is_finite(), "{what}: {g:?}");
            }
        }
    }
    let a = Tensor::from_array([f32::NAN, 2.0]);
    let b = Tensor::from_array([1.0f32, f32::NAN]);
    assert!(a.maximum(&b).as_slice().iter().all(|v| v.is_nan()));
    assert!(b.minimum(&a).as_slice().iter().all(|v| v.is_nan()));
}

#[test]
fn whole_tensor_max_and_min_of_nan_are_nan_with_nan_gradients() {
    for is_max in [true, false] {
        let x = with_nan();
        let m = if is_max { x.max() } else { x.min() };
        assert!(m.item().is_nan());
        let g = m.backward().get(&x).unwrap().to_vec();
        assert!(g.iter().all(|v| v.is_nan()), "{g:?}");
    }
}

#[test]
fn max_and_min_along_an_axis_keep_nan_in_its_lane_only() {
    let m = Tensor::from_array([[1.0, f64::NAN, 3.0], [4.0, 5.0, 6.0]]).track();
    for is_max in [true, false] {
        let r = if is_max {
            m.max_axis::<1>()
        } else {
            m.min_axis::<1>()
        };
        assert!(r.as_slice()[0].is_nan());
        assert_eq!(r.as_slice()[1], if is_max { 6.0 } else { 4.0 });
        let g = r.sum().backward().get(&m).unwrap().to_vec();
        assert!(g[..3].iter().all(|v| v.is_nan()), "{g:?}");
        assert_eq!(
            &g[3..],
            if is_max {
                &[0.0, 0.0, 1.0]
            } else {
                &[1.0, 0.0, 0.0]
            }
        );
    }
    // The NaN first in its lane, along axis 0.
    let c = Tensor::from_array([[f64::NAN, 1.0], [2.0, 0.5]]).track();
    let r = c.max_axis::<0>();
    assert!(r.as_slice()[0].is_nan());
    assert_eq!(r.as_slice()[1], 1.0);
}

/// `amax`/`amin` as `max`/`min`: a NaN extremum has no position to share its gradient
/// among, so every element of its lane (of the tensor, for the whole-tensor forms) gets
/// a NaN gradient, in every rule; the other lanes keep their even shares.
#[test]
fn amax_and_amin_of_nan_are_nan_with_nan_gradients_in_its_lane_only() {
    for is_max in [true, false] {
        let x = with_nan();
        let m = if is_max { x.amax() } else { x.amin() };
        assert!(m.item().is_nan());
        let g = m.backward().get(&x).unwrap().to_vec();
        assert!(g.iter().all(|v| v.is_nan()), "{g:?}");
    }
    let values = [[1.0, f64::NAN, 3.0], [4.0, 6.0, 6.0]];
    let m = Tensor::from_array(values).track();
    for is_max in [true, false] {
        let lanes = |m: &Tensor<Rank2<2, 3>, f64, Tracked>| {
            if is_max {
                m.amax_axis::<1>()
            } else {
                m.amin_axis::<1>()
            }
        };
        let r = lanes(&m);
        assert!(r.as_slice()[0].is_nan());
        assert_eq!(r.as_slice()[1], if is_max { 6.0 } else { 4.0 });
        let finite_lane: &[f64] = if is_max {
            &[0.0, 0.5, 0.5]
        } else {
            &[1.0, 0.0, 0.0]
        };
        let g = r.sum().backward().get(&m).unwrap().to_vec();
        assert!(g[..3].iter().all(|v| v.is_nan()), "{g:?}");
        assert_eq!(&g[3..], finite_lane);
        let recorded = lanes(&m)
            .sum()
            .backward_create_graph()
            .unwrap()
            .get(&m)
            .unwrap()
            .to_vec();
        assert!(recorded[..3].iter().all(|v| v.is_nan()), "{recorded:?}");
        assert_eq!(&recorded[3..], finite_lane);
        let (_, tangent) = typegrad::func::jvp(lanes, &m.no_grad(), &Tensor::ones());
        assert!(tangent.as_slice()[0].is_nan());
        assert_eq!(tangent.as_slice()[1], 1.0);
    }
    // The NaN first in its lane, along axis 0.
    let c = Tensor::from_array([[f64::NAN, 1.0], [2.0, 1.0]]).track();
    let r = c.amax_axis::<0>();
    assert!(r.as_slice()[0].is_nan());
    assert_eq!(r.as_slice()[1], 1.0);
    let g = r.sum().backward().get(&c).unwrap().to_vec();
    assert!(g[0].is_nan() && g[2].is_nan());
    assert_eq!((g[1], g[3]), (0.5, 0.5));
}

/// `powi` at a NaN is NaN for every `n`, `x^0` included (IEEE's `pow(NaN, 0)` is 1),
/// and so is its derivative in every rule, `n = 0` and `n = 1` included (as `powf`).
#[test]
fn powi_of_nan_is_nan_for_every_exponent_in_every_rule() {
    for n in [0, 1, 2, 3, -1, -2, i32::MAX, i32::MIN] {
        let x = with_nan();
        let y = x.powi(n);
        assert!(is_nan_at(y.as_slice(), 1), "{n}: {:?}", y.to_vec());
        assert!(
            !y.as_slice()[0].is_nan() && !y.as_slice()[2].is_nan(),
            "{n}"
        );
        assert!(grad_of(y, &x)[1].is_nan(), "{n}: backward");
        let recorded = x
            .powi(n)
            .sum()
            .backward_create_graph()
            .unwrap()
            .get(&x)
            .unwrap();
        assert!(is_nan_at(recorded.as_slice(), 1), "{n}: recorded");
        let (_, tangent) = typegrad::func::jvp(
            |x: &Tensor<Rank1<3>, f64, Tracked>| x.powi(n),
            &x.no_grad(),
            &Tensor::ones(),
        );
        assert!(is_nan_at(tangent.as_slice(), 1), "{n}: forward mode");
    }
    assert!(Tensor::from_array([f32::NAN]).powi(0).as_slice()[0].is_nan());
}

#[test]
fn norm_of_zero_and_nan_is_nan_and_checked_backward_says_so() {
    let x = Tensor::from_array([0.0, f64::NAN]).track();
    let n = x.norm();
    assert!(n.item().is_nan(), "norm([0, NaN]) = {}", n.item());
    let g = n.backward().get(&x).unwrap().to_vec();
    assert!(g.iter().all(|v| v.is_nan()), "{g:?}");
    let err = x.norm().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteLeaf {
            node: 0,
            dims: &[2],
            index: 1
        }
    );
    // NaN behind an infinity, and an infinity alone.
    let y = Tensor::from_array([f32::INFINITY, f32::NAN]);
    assert!(y.norm().item().is_nan());
    let z = Tensor::from_array([f32::INFINITY, 1.0]).track();
    let n = z.norm();
    assert_eq!(n.item(), f32::INFINITY);
    let g = n.backward().get(&z).unwrap().to_vec();
    assert!(g[0].is_nan() && g[1] == 0.0, "inf / inf and 1 / inf: {g:?}");
}

#[test]
fn powf_with_a_nan_base_or_power_is_nan_even_where_ieee_pow_is_one() {
    let x = Tensor::from_array([f64::NAN, 1.0]).track();
    let y = x.powf(0.0);
    assert!(y.as_slice()[0].is_nan(), "NaN^0 must not be 1");
    assert_eq!(y.as_slice()[1], 1.0);
    assert!(grad_of(y, &x)[0].is_nan());
    let y = x.powf(1.0);
    assert!(grad_of(y, &x)[0].is_nan(), "d/dx x^1 at NaN");
    let ones = Tensor::from_array([1.0, 2.0]).track();
    let y = ones.powf(f64::NAN);
    assert!(
        y.as_slice().iter().all(|v| v.is_nan()),
        "1^NaN must not be 1"
    );
    assert!(grad_of(y, &ones).iter().all(|v| v.is_nan()));
}

#[test]
fn abs_gradient_at_nan_is_nan() {
    let x = with_nan();
    let g = grad_of(x.abs(), &x);
    assert_eq!((g[0], g[2]), (1.0, 1.0));
    assert!(g[1].is_nan());
}

/// Every elementwise function of one tensor: NaN at position 1 in, NaN at position 1
/// out, the other positions untouched; where the derivative reads the value, a NaN
/// gradient there too.
#[test]
fn every_elementwise_function_propagates_nan() {
    type F = fn(&Tensor<Rank1<3>, f64, Tracked>) -> Tensor<Rank1<3>, f64, Tracked>;
    let functions: [(&str, F, bool); 31] = [
        ("neg", |x| -x, false),
        ("x + c", |x| x + 2.0, false),
        ("c + x", |x| 2.0 + x, false),
        ("x - c", |x| x - 2.0, false),
        ("c - x", |x| 2.0 - x, false),
        ("x * c", |x| x * 2.0, false),
        ("x / c", |x| x / 2.0, false),
        ("c / x", |x| 2.0 / x, true),
        ("powf", |x| x.powf(3.0), true),
        ("powi", |x| x.powi(3), true),
        ("powi 0", |x| x.powi(0), true),
        ("exp", |x| x.exp(), true),
        ("ln", |x| x.ln(), true),
        ("sqrt", |x| x.sqrt(), true),
        ("abs", |x| x.abs(), true),
        ("sin", |x| x.sin(), true),
        ("cos", |x| x.cos(), true),
        ("tanh", |x| x.tanh(), true),
        ("sigmoid", |x| x.sigmoid(), true),
        ("relu", |x| x.relu(), true),
        ("softplus", |x| x.softplus(), true),
        ("softmax", |x| x.softmax::<0>(), true),
        ("log1p", |x| x.log1p(), true),
        ("expm1", |x| x.expm1(), true),
        ("erf", |x| x.erf(), true),
        ("atan", |x| x.atan(), true),
        // Scaled into asin's and acos's domain [-1, 1] (the finite elements are 0.5, 2).
        ("asin", |x| (x * 0.25).asin(), true),
        ("acos", |x| (x * 0.25).acos(), true),
        // PyTorch's clamp backward gives a NaN element gradient 0; here it is NaN.
        ("clamp", |x| x.clamp(0.0, 1.0), true),
        ("clamp_min", |x| x.clamp_min(1.0), true),
        ("clamp_max", |x| x.clamp_max(1.0), true),
    ];
    for (name, f, derivative_reads_value) in functions {
        let x = with_nan();
        let y = f(&x);
        assert!(is_nan_at(y.as_slice(), 1), "{name}: {:?}", y.to_vec());
        if name != "softmax" {
            assert!(
                !y.as_slice()[0].is_nan() && !y.as_slice()[2].is_nan(),
                "{name}"
            );
        }
        let g = grad_of(y, &x);
        if derivative_reads_value {
            assert!(g[1].is_nan(), "{name}: gradient {g:?}");
        }
    }
    let x = with_nan();
    assert!(x.log_softmax::<0>().as_slice().iter().all(|v| v.is_nan()));
    assert!(grad_of(x.log_softmax::<0>(), &x).iter().all(|v| v.is_nan()));
}

/// A NaN scalar operand is a NaN too.
#[test]
fn scalar_operands_that_are_nan_give_nan() {
    let x = Tensor::from_array([1.0f32, 2.0]).track();
    for y in [
        &x + f32::NAN,
        &x * f32::NAN,
        f32::NAN - &x,
        &x / f32::NAN,
        f32::NAN / &x,
    ] {
        assert!(y.as_slice().iter().all(|v| v.is_nan()));
    }
}

/// A NaN bound of clamp makes every element and every gradient NaN (PyTorch fills the
/// result with NaN; a comparison alone would return `x` for a NaN bound).
#[test]
fn clamp_with_a_nan_bound_is_nan_with_nan_gradients() {
    type F = fn(&Tensor<Rank1<2>, f32, Tracked>) -> Tensor<Rank1<2>, f32, Tracked>;
    let clamps: [(&str, F); 5] = [
        ("NaN min", |x| x.clamp(f32::NAN, 1.0)),
        ("NaN max", |x| x.clamp(0.0, f32::NAN)),
        ("both NaN", |x| x.clamp(f32::NAN, f32::NAN)),
        ("clamp_min", |x| x.clamp_min(f32::NAN)),
        ("clamp_max", |x| x.clamp_max(f32::NAN)),
    ];
    for (name, f) in clamps {
        let x = Tensor::from_array([0.5f32, 2.0]).track();
        let y = f(&x);
        assert!(
            y.as_slice().iter().all(|v| v.is_nan()),
            "{name}: {:?}",
            y.to_vec()
        );
        let g = y.sum().backward().get(&x).unwrap().to_vec();
        assert!(g.iter().all(|v| v.is_nan()), "{name}: gradient {g:?}");
    }
}

#[test]
fn binary_operations_with_nan_in_either_operand_position() {
    type F = fn(
        &Tensor<Rank1<3>, f64, Tracked>,
        &Tensor<Rank1<3>, f64, Tracked>,
    ) -> Tensor<Rank1<3>, f64, Tracked>;
    let ops: [(&str, F); 8] = [
        ("add", |a, b| a + b),
        ("sub", |a, b| a - b),
        ("mul", |a, b| a * b),
        ("div", |a, b| a / b),
        ("maximum", |a, b| a.maximum(b)),
        ("minimum", |a, b| a.minimum(b)),
        ("atan2", |a, b| a.atan2(b)),
        ("pow", |a, b| a.pow(b)),
    ];
    for (name, f) in ops {
        let other = Tensor::from_array([1.0, 3.0, 4.0]).track();
        for nan_left in [true, false] {
            let x = with_nan();
            let y = if nan_left {
                f(&x, &other)
            } else {
                f(&other, &x)
            };
            assert!(is_nan_at(y.as_slice(), 1), "{name}, NaN left {nan_left}");
            assert!(!y.as_slice()[0].is_nan(), "{name}");
        }
    }
    // Broadcast: a NaN in the repeated operand reaches every row.
    let m = Tensor::<Rank2<2, 3>, f64>::ones();
    let y = &m * &with_nan();
    assert!(y.as_slice()[1].is_nan() && y.as_slice()[4].is_nan());
}

/// atan2 and pow: a NaN in either operand gives NaN there and NaN gradients to both
/// operands there (both partials read both operands), leaving the other positions
/// finite; pow is NaN even where IEEE 754's `pow(NaN, 0)` and `pow(1, NaN)` are 1.
#[test]
fn atan2_and_pow_with_nan_in_either_operand_have_nan_gradients() {
    type F = fn(
        &Tensor<Rank1<3>, f64, Tracked>,
        &Tensor<Rank1<3>, f64, Tracked>,
    ) -> Tensor<Rank1<3>, f64, Tracked>;
    let ops: [(&str, F); 2] = [("atan2", |a, b| a.atan2(b)), ("pow", |a, b| a.pow(b))];
    for (name, f) in ops {
        for nan_left in [true, false] {
            let x = with_nan();
            // 0 and 1 at the NaN's position: pow(NaN, 0) and pow(1, NaN).
            let other = Tensor::from_array([1.5, if nan_left { 0.0 } else { 1.0 }, 0.5]).track();
            let (l, r) = if nan_left { (&x, &other) } else { (&other, &x) };
            let y = f(l, r);
            let what = format!("{name}, NaN on the left {nan_left}");
            assert!(is_nan_at(y.as_slice(), 1), "{what}: {:?}", y.to_vec());
            assert!(
                y.as_slice()[0].is_finite() && y.as_slice()[2].is_finite(),
                "{what}"
            );
            let grads = y.sum().backward();
            for leaf in [&x, &other] {
                let g = grads.get(leaf).unwrap().to_vec();
                assert!(g[1].is_nan(), "{what}: gradient {g:?}");
                assert!(g[0].is_finite() && g[2].is_finite(), "{what}: {g:?}");
            }
            // The same in forward mode and in the recorded backward.
            let recorded = f(l, r).sum().backward_create_graph().unwrap();
            for leaf in [&x, &other] {
                let g = recorded.get(leaf).unwrap().to_vec();
                assert!(g[1].is_nan() && g[0].is_finite(), "{what}: recorded {g:?}");
            }
        }
    }
    // Broadcast: a NaN exponent reaches every row; f32 too.
    let m = Tensor::<Rank2<2, 3>, f32>::ones();
    let p = Tensor::from_array([2.0f32, f32::NAN, 0.0]);
    let y = m.pow(&p);
    assert_eq!(y.as_slice()[0], 1.0);
    assert!(y.as_slice()[1].is_nan() && y.as_slice()[4].is_nan());
    let theta = Tensor::from_array([f32::NAN, 1.0]).atan2(&Tensor::from_array([1.0f32, f32::NAN]));
    assert!(theta.as_slice().iter().all(|v| v.is_nan()));
}

#[test]
fn reductions_of_nan_are_nan() {
    let x = with_nan();
    assert!(x.sum().item().is_nan());
    assert!(x.mean().item().is_nan());
    let m = Tensor::from_array([[1.0, f64::NAN], [2.0, 3.0]]).track();
    assert!(m.sum_axis::<1>().as_slice()[0].is_nan());
    assert_eq!(m.sum_axis::<1>().as_slice()[1], 5.0);
    assert!(m.mean_axis::<0>().as_slice()[1].is_nan());
    assert_eq!(m.mean_axis::<0>().as_slice()[0], 1.5);
    let p = m.softmax::<1>();
    assert!(p.as_slice()[..2].iter().all(|v| v.is_nan()));
    assert!(p.as_slice()[2..].iter().all(|v| v.is_finite()));
    let g = p.sum().backward().get(&m).unwrap().to_vec();
    assert!(g[..2].iter().all(|v| v.is_nan()) && g[2..].iter().all(|v| v.is_finite()));
}

#[test]
fn matmul_and_dot_carry_nan_from_either_operand() {
    let a = Tensor::from_array([[1.0, f64::NAN], [2.0, 3.0]]).track();
    let b = Tensor::from_array([[1.0, 0.0], [0.0, 1.0]]).track();
    let ab = a.matmul(&b);
    // NaN · 0 is NaN: row 0 is NaN in both columns.
    assert!(
        ab.as_slice()[..2].iter().all(|v| v.is_nan()),
        "{:?}",
        ab.to_vec()
    );
    assert_eq!(&ab.as_slice()[2..], &[2.0, 3.0]);
    let ba = b.matmul(&a);
    assert!(ba.as_slice()[1].is_nan() && ba.as_slice()[3].is_nan());
    let gb = ab.sum().backward().get(&b).unwrap().to_vec();
    assert!(
        gb[2].is_nan() && gb[3].is_nan(),
        "dB = Aᵀ dC reads the NaN: {gb:?}"
    );
    let d = with_nan().dot(&Tensor::from_array([1.0, 0.0, 1.0]));
    assert!(d.item().is_nan());
    // A large product takes matrixmultiply's path, not the small loop.
    let big = Tensor::<Rank2<32, 32>, f32>::from_fn(|i| if i == 5 { f32::NAN } else { 1.0 });
    let p = big.matmul(&Tensor::<Rank2<32, 32>, f32>::zeros());
    assert!(p.as_slice()[..32].iter().all(|v| v.is_nan()));
    assert!(p.as_slice()[32..].iter().all(|&v| v == 0.0));
}

#[test]
fn losses_with_nan_in_either_operand_are_nan() {
    let x = with_nan();
    let y = Tensor::from_array([0.0, 1.0, 0.0]).track();
    for (pred, target) in [(&x, &y), (&y, &x)] {
        let mse = pred.mse(target);
        assert!(mse.item().is_nan());
        let g = mse.backward();
        assert!(g.get(pred).unwrap().as_slice()[1].is_nan());
        let bce = pred.bce_with_logits(target);
        assert!(bce.item().is_nan());
    }
    let logits = Tensor::from_array([[1.0, f64::NAN], [0.0, 1.0]]).track();
    let ce = logits.cross_entropy(&[0, 1]).unwrap();
    assert!(ce.item().is_nan());
    let g = ce.backward().get(&logits).unwrap().to_vec();
    assert!(g[..2].iter().all(|v| v.is_nan()), "{g:?}");
    let probs = Tensor::from_array([[f64::NAN, 1.0], [0.5, 0.5]]);
    assert!(Tensor::<Rank2<2, 2>, f64>::zeros()
        .cross_entropy_probs(&probs)
        .item()
        .is_nan());
}

#[test]
fn layout_operations_move_nan_unchanged() {
    let m = Tensor::from_array([[1.0, f64::NAN], [2.0, 3.0]]).track();
    assert!(m.t().as_slice()[2].is_nan());
    assert!(m.reshape::<Rank1<4>>().as_slice()[1].is_nan());
    assert!(m.unsqueeze::<1>().as_slice()[1].is_nan());
    let g = grad_of(m.unsqueeze::<0>() * 2.0, &m);
    assert_eq!(g, vec![2.0; 4], "moving a NaN reads none of the values");
    assert!(m.select::<1>(1).unwrap().as_slice()[0].is_nan());
    assert!(m.narrow::<1, 1, 1>().as_slice()[0].is_nan());
    let wide: Tensor<Rank3<2, 2, 2>, f64, Tracked> = m.broadcast();
    assert!(wide.as_slice()[1].is_nan() && wide.as_slice()[5].is_nan());
    let both: Tensor<Rank2<4, 2>, f64, Tracked> = m.concat::<0, _, _, _>(&m);
    assert!(both.as_slice()[1].is_nan() && both.as_slice()[5].is_nan());
}

#[test]
fn stack_at_and_matrix_permute_move_nan_unchanged() {
    let x = with_nan();
    let v: Tensor<Rank1<3>, f64, Tracked> = Tensor::stack([x.at::<2>(), x.at::<1>(), x.at::<0>()]);
    assert_eq!(v.as_slice()[0], 2.0);
    assert!(is_nan_at(v.as_slice(), 1));
    // Moving values reads none of them: the gradient is the exact one, finite.
    assert_eq!(grad_of(v, &x), vec![1.0, 1.0, 1.0]);
    let rows: Tensor<Rank2<2, 3>, f64, Tracked> = Tensor::stack((&x, &Tensor::ones()));
    assert!(is_nan_at(rows.as_slice(), 1) && rows.as_slice()[3..].iter().all(|&v| v == 1.0));
    let m = Tensor::from_array([[1.0, f64::NAN], [2.0, 3.0]]).track();
    assert!(m.at::<0, 1>().item().is_nan());
    assert!(m.permute::<1, 0>().as_slice()[2].is_nan());
}

#[test]
fn cumsum_is_nan_from_the_nan_to_the_end_of_its_lane_only() {
    let x = Tensor::from_array([[1.0, f64::NAN, 2.0], [3.0, 4.0, 5.0]]).track();
    let along_rows = x.cumsum::<1>();
    assert_eq!(along_rows.as_slice()[0], 1.0);
    assert!(along_rows.as_slice()[1..3].iter().all(|v| v.is_nan()));
    assert_eq!(&along_rows.as_slice()[3..], &[3.0, 7.0, 12.0]);
    let along_columns = x.cumsum::<0>();
    assert!(is_nan_at(along_columns.as_slice(), 1) && is_nan_at(along_columns.as_slice(), 4));
    assert_eq!(along_columns.to_vec()[3], 4.0);
    assert_eq!(along_columns.to_vec()[5], 7.0);
    // The derivative does not read the values: the gradient stays exact.
    let g = grad_of(along_rows, &x);
    assert_eq!(g, vec![3.0, 2.0, 1.0, 3.0, 2.0, 1.0]);
    // Infinities of both signs in one lane make NaN from the second on, as in IEEE 754.
    let inf = Tensor::from_array([f32::INFINITY, 1.0, f32::NEG_INFINITY, 2.0]).cumsum::<0>();
    assert_eq!(&inf.as_slice()[..2], &[f32::INFINITY, f32::INFINITY]);
    assert!(inf.as_slice()[2..].iter().all(|v| v.is_nan()));
}

#[test]
fn tril_and_triu_keep_nan_in_the_triangle_and_zero_it_outside_as_pytorch() {
    let m = Tensor::from_array([[1.0, f64::NAN], [f64::NAN, 4.0]]).track();
    let lower = m.tril(0);
    assert!(is_nan_at(lower.as_slice(), 2));
    assert_eq!(
        lower.as_slice()[1],
        0.0,
        "the result does not depend on a zeroed element"
    );
    let upper = m.triu(0);
    assert!(is_nan_at(upper.as_slice(), 1));
    assert_eq!(upper.as_slice()[2], 0.0);
    assert_eq!(grad_of(lower, &m), vec![1.0, 0.0, 1.0, 1.0]);
    assert_eq!(grad_of(upper, &m), vec![1.0, 1.0, 0.0, 1.0]);
}
