//! `typegrad::func` against derivatives worked out by hand (f64, 1e-12 relative), and
//! the transforms against each other: forward against reverse mode, Hessians by
//! forward-over-reverse against reverse-over-reverse, third derivatives by recording
//! the backward twice.

use typegrad::func;
use typegrad::prelude::*;

type V<const N: usize> = Tensor<Rank1<N>, f64, Tracked>;

/// Whether `ours` agrees with `expected` to `rel` relative to the largest magnitude.
fn assert_close(what: &str, ours: &[f64], expected: &[f64], rel: f64) {
    assert_eq!(ours.len(), expected.len(), "{what}: lengths");
    let scale = expected.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
    for (k, (a, b)) in ours.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= rel * scale,
            "{what}: element {k}: {a} vs {b} (scale {scale})"
        );
    }
}

/// Rosenbrock's function in ten variables: Σ 100 (xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)².
fn rosenbrock(x: &V<10>) -> Tensor<Rank0, f64, Tracked> {
    let head: V<9> = x.narrow::<0, 0, 9>();
    let tail: V<9> = x.narrow::<0, 1, 9>();
    let valley = &tail - &head.powf(2.0);
    let slope = 1.0 - &head;
    (valley.powf(2.0) * 100.0 + slope.powf(2.0)).sum()
}

/// Rosenbrock's Hessian, by hand.
fn rosenbrock_hessian(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        if i + 1 < n {
            h[i * n + i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
            h[i * n + i + 1] = -400.0 * x[i];
            h[(i + 1) * n + i] = -400.0 * x[i];
        }
        if i > 0 {
            h[i * n + i] += 200.0;
        }
    }
    h
}

fn rosenbrock_point() -> Tensor<Rank1<10>, f64> {
    Tensor::from_fn(|i| 0.3 + 0.17 * i as f64 - 0.05 * (i * i) as f64 / 3.0)
}

#[test]
fn rosenbrock_10_hessian_is_exact() {
    let x = rosenbrock_point();
    let h: Tensor<Rank2<10, 10>, f64> = func::hessian(rosenbrock, &x).unwrap();
    assert_close(
        "Rosenbrock-10 Hessian",
        h.as_slice(),
        &rosenbrock_hessian(x.as_slice()),
        1e-12,
    );
    // The gradient, by hand: ∂f/∂xᵢ = -400 xᵢ (xᵢ₊₁ - xᵢ²) - 2 (1 - xᵢ) + 200 (xᵢ - xᵢ₋₁²).
    let v = x.as_slice();
    let expected: Vec<f64> = (0..10)
        .map(|i| {
            let mut g = 0.0;
            if i < 9 {
                g += -400.0 * v[i] * (v[i + 1] - v[i] * v[i]) - 2.0 * (1.0 - v[i]);
            }
            if i > 0 {
                g += 200.0 * (v[i] - v[i - 1] * v[i - 1]);
            }
            g
        })
        .collect();
    assert_close(
        "Rosenbrock-10 gradient",
        func::grad(rosenbrock, &x).as_slice(),
        &expected,
        1e-13,
    );
}

#[test]
fn log_sum_exp_hessian_is_diag_p_minus_p_p_transposed() {
    // log Σ eˣ, written as x₀ - log_softmax(x)₀; its Hessian is diag(p) - p pᵀ, p = softmax(x).
    let lse = |x: &V<4>| &x.select::<0>(0).unwrap() - &x.log_softmax::<0>().select::<0>(0).unwrap();
    let x = Tensor::from_array([0.1, -2.0, 0.7, 1.5]);
    let p = x.softmax::<0>().to_vec();
    let expected: Vec<f64> = (0..16)
        .map(|at| {
            let (i, j) = (at / 4, at % 4);
            if i == j {
                p[i] - p[i] * p[j]
            } else {
                -p[i] * p[j]
            }
        })
        .collect();
    assert_close(
        "log-sum-exp Hessian",
        func::hessian(lse, &x).unwrap().as_slice(),
        &expected,
        1e-12,
    );
    // The same through the whole-lane form: log_softmax's constant shift.
    let lse_mean = |x: &V<4>| (x - &x.log_softmax::<0>()).mean();
    assert_close(
        "log-sum-exp, mean form",
        func::hessian(lse_mean, &x).unwrap().as_slice(),
        &expected,
        1e-12,
    );
}

#[test]
fn quadratic_form_hessian_is_m_plus_m_transposed() {
    let m = Tensor::from_array([[1.0, 2.0, -3.0], [0.5, 4.0, 0.0], [7.0, -1.0, 2.0]]);
    let f = |x: &V<3>| x.dot(&m.matmul(x));
    let h = func::hessian(f, &Tensor::from_array([0.3, -0.7, 2.0])).unwrap();
    let expected: Vec<f64> = (0..9)
        .map(|at| m.as_slice()[at] + m.as_slice()[(at % 3) * 3 + at / 3])
        .collect();
    assert_close("xᵀMx Hessian", h.as_slice(), &expected, 1e-12);
}

/// A fixed 6 x 6 matrix.
fn a6() -> Tensor<Rank2<6, 6>, f64> {
    Tensor::from_fn(|i| ((i * 7 % 11) as f64 - 5.0) / 4.0)
}

#[test]
fn jacobian_of_tanh_of_a_matmul_plus_a_square() {
    let a = a6();
    let f = |x: &V<6>| a.matmul(x).tanh() + x * x;
    let x = Tensor::from_array([0.1, -0.4, 0.3, 0.8, -0.2, 0.5]);
    // J = diag(1 - tanh(Ax)²) A + 2 diag(x).
    let y = a.matmul(&x).tanh().to_vec();
    let expected: Vec<f64> = (0..36)
        .map(|at| {
            let (i, j) = (at / 6, at % 6);
            (1.0 - y[i] * y[i]) * a.as_slice()[at]
                + if i == j { 2.0 * x.as_slice()[i] } else { 0.0 }
        })
        .collect();
    let forward: Tensor<Rank2<6, 6>, f64> = func::jacobian_forward(f, &x);
    let reverse: Tensor<Rank2<6, 6>, f64> = func::jacobian_reverse(f, &x);
    let chosen: Tensor<Rank2<6, 6>, f64> = func::jacobian(f, &x);
    assert_close(
        "forward-mode Jacobian",
        forward.as_slice(),
        &expected,
        1e-12,
    );
    assert_close(
        "reverse-mode Jacobian",
        reverse.as_slice(),
        &expected,
        1e-12,
    );
    assert_eq!(
        chosen.to_vec(),
        forward.to_vec(),
        "6 inputs, 6 outputs: forward mode"
    );
}

#[test]
fn jacobian_picks_the_mode_from_the_sizes_and_both_agree_on_wide_and_tall_maps() {
    let w = Tensor::<Rank2<2, 5>, f64>::from_fn(|i| (i as f64 * 0.7).sin());
    let wide = |x: &V<5>| w.matmul(&x.sin());
    let x5 = Tensor::<Rank1<5>, f64>::from_fn(|i| i as f64 * 0.3 - 0.5);
    let j: Tensor<Rank2<2, 5>, f64> = func::jacobian(wide, &x5);
    let f = func::jacobian_forward(wide, &x5);
    assert_close("wide map", j.as_slice(), f.as_slice(), 1e-14);
    assert_eq!(
        j.to_vec(),
        func::jacobian_reverse(wide, &x5).to_vec(),
        "more inputs than outputs: reverse mode"
    );
    let tall = |x: &Tensor<Rank1<2>, f64, Tracked>| w.t().matmul(x).exp();
    let x2 = Tensor::from_array([0.2, -0.1]);
    let j: Tensor<Rank2<5, 2>, f64> = func::jacobian(tall, &x2);
    assert_eq!(j.to_vec(), func::jacobian_forward(tall, &x2).to_vec());
    assert_close(
        "tall map",
        j.as_slice(),
        func::jacobian_reverse(tall, &x2).as_slice(),
        1e-14,
    );
}

#[test]
fn jacobian_shapes_follow_output_then_input_dimensions() {
    let scalar_in =
        |t: &Tensor<Rank0, f64, Tracked>| Tensor::<Rank1<3>, f64>::from_array([1.0, 2.0, 3.0]) * t;
    let d: Tensor<Rank1<3>, f64> = func::jacobian(scalar_in, &Tensor::full(2.0));
    assert_eq!(d.to_vec(), vec![1.0, 2.0, 3.0]);
    let scalar_out = |x: &V<3>| x.powf(2.0).sum();
    let g: Tensor<Rank1<3>, f64> = func::jacobian(scalar_out, &Tensor::from_array([1.0, 2.0, 3.0]));
    assert_eq!(g.to_vec(), vec![2.0, 4.0, 6.0]);
    let matrix_in = |m: &Tensor<Rank2<2, 2>, f64, Tracked>| m.sum_axis::<1>();
    let j: Tensor<Rank3<2, 2, 2>, f64> = func::jacobian(matrix_in, &Tensor::zeros());
    assert_eq!(j.to_vec(), vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
    let h: Tensor<Rank0, f64> = func::hessian(
        |t: &Tensor<Rank0, f64, Tracked>| t.sin(),
        &Tensor::full(0.5),
    )
    .unwrap();
    assert!((h.item() + 0.5f64.sin()).abs() < 1e-15);
}

#[test]
fn jvp_and_vjp_are_the_jacobian_applied_to_a_vector() {
    let a = a6();
    let f = |x: &V<6>| a.matmul(&x.sigmoid()).softmax::<0>() * x;
    let x = Tensor::from_array([0.1, -0.4, 0.3, 0.8, -0.2, 0.5]);
    let v = Tensor::from_array([1.0, 0.5, -2.0, 0.0, 3.0, -1.0]);
    let j: Tensor<Rank2<6, 6>, f64> = func::jacobian_reverse(f, &x);
    let jv: Vec<f64> = (0..6)
        .map(|i| {
            (0..6)
                .map(|k| j.as_slice()[i * 6 + k] * v.as_slice()[k])
                .sum()
        })
        .collect();
    let vj: Vec<f64> = (0..6)
        .map(|k| {
            (0..6)
                .map(|i| v.as_slice()[i] * j.as_slice()[i * 6 + k])
                .sum()
        })
        .collect();
    let (value, tangent) = func::jvp(f, &x, &v);
    assert_eq!(value.to_vec(), f(&x.track()).to_vec());
    assert_close("jvp", tangent.as_slice(), &jv, 1e-13);
    let (value, cotangent) = func::vjp(f, &x, &v);
    assert_eq!(value.to_vec(), f(&x.track()).to_vec());
    assert_close("vjp", cotangent.as_slice(), &vj, 1e-13);
}

#[test]
fn grad_and_value_and_grad_agree_with_backward() {
    let x = Tensor::from_array([[0.5, -1.0], [2.0, 0.25]]);
    let f = |m: &Tensor<Rank2<2, 2>, f64, Tracked>| m.matmul(m).tanh().mean();
    let (value, g) = func::value_and_grad(f, &x);
    let leaf = x.track();
    let out = f(&leaf);
    assert_eq!(value, out.item());
    assert_eq!(g.to_vec(), out.backward().get(&leaf).unwrap().to_vec());
}

#[test]
fn a_function_that_ignores_its_input_has_zero_derivatives() {
    let c = Tensor::from_array([1.0, 2.0]).track();
    let f = |_: &V<2>| (&c * 3.0).sum();
    let x = Tensor::from_array([5.0, 6.0]);
    assert_eq!(func::grad(f, &x).to_vec(), vec![0.0, 0.0]);
    assert_eq!(func::hessian(f, &x).unwrap().to_vec(), vec![0.0; 4]);
    let g = |x: &V<2>| x * 2.0;
    assert_eq!(
        func::hessian(|x: &V<2>| g(x).sum(), &x).unwrap().to_vec(),
        vec![0.0; 4],
        "linear: no curvature"
    );
}

#[test]
fn third_derivatives_by_recording_the_backward_twice() {
    // y = x⁴ at 2: 4x³ = 32, 12x² = 48, 24x = 48.
    let x = Tensor::<Rank0, f64>::full(2.0).track();
    let y = x.powf(4.0);
    let d1 = y.backward_create_graph().unwrap().get(&x).unwrap();
    assert_eq!(d1.item(), 32.0);
    let d2 = d1.backward_create_graph().unwrap().get(&x).unwrap();
    assert_eq!(d2.item(), 48.0);
    let d3 = d2.backward().get(&x).unwrap();
    assert_eq!(d3.item(), 48.0);
    // exp(sin x): the third derivative through exp, sin, cos and mul.
    let x = Tensor::<Rank0, f64>::full(0.3).track();
    let y = x.sin().exp();
    let d1 = y.backward_create_graph().unwrap().get(&x).unwrap();
    let d2 = d1.backward_create_graph().unwrap().get(&x).unwrap();
    let d3 = d2.backward().get(&x).unwrap().item();
    let (s, c, e) = (0.3f64.sin(), 0.3f64.cos(), 0.3f64.sin().exp());
    let expected = e * (c * c * c - 3.0 * s * c - c);
    assert!((d3 - expected).abs() < 1e-13, "{d3} vs {expected}");
}

/// A fixed 4 x 4 matrix.
fn m4() -> Tensor<Rank2<4, 4>, f64> {
    Tensor::from_fn(|i| ((i * 5 % 7) as f64 - 3.0) / 3.0)
}

/// Every op family's second derivative two ways: forward-over-reverse (`hessian`) and
/// reverse-over-reverse (a backward pass per gradient element through the recorded
/// backward). Both are exact, so they agree to rounding.
#[test]
fn hessians_by_forward_over_reverse_and_reverse_over_reverse_agree_for_every_op_family() {
    type F = fn(&V<4>) -> Tensor<Rank0, f64, Tracked>;
    let families: [(&str, F); 12] = [
        ("elementwise", |x| {
            (x.sin() * x.exp() + x.tanh().powf(3.0) + x.sigmoid().ln() + x.softplus()).sum()
        }),
        ("division and sqrt", |x| {
            (1.0 / (x * x + 1.0) + (x * x + 0.5).sqrt() / (x.cos() + 2.0)).sum()
        }),
        ("matmul both sides", |x| {
            x.matmul(&m4().matmul(&x.exp())).sigmoid()
        }),
        ("matrix from the input", |x| {
            let sq: Tensor<Rank2<2, 2>, f64, Tracked> = x.reshape();
            sq.matmul(&sq.t()).matmul(&sq).tanh().sum()
        }),
        ("batched matmul", |x| {
            let b: Tensor<Rank3<2, 1, 2>, f64, Tracked> = x.reshape();
            let c: Tensor<Rank3<2, 2, 1>, f64, Tracked> = x.exp().reshape();
            b.matmul(&c).powf(2.0).sum()
        }),
        ("softmax", |x| (x.softmax::<0>() * x).sum()),
        ("axis reductions", |x| {
            let sq: Tensor<Rank2<2, 2>, f64, Tracked> = x.reshape();
            (sq.exp().sum_axis::<0>() * sq.mean_axis::<1>()).sum()
                + sq.powf(2.0).log_softmax::<1>().sum()
        }),
        ("norm and max", |x| x.norm() * x.max() + x.min() * x.mean()),
        ("layout", |x| {
            let c: Tensor<Rank1<6>, f64, Tracked> =
                x.concat::<0, _, _, _>(&x.narrow::<0, 1, 2>().exp());
            let b: Tensor<Rank2<3, 6>, f64, Tracked> = c.broadcast();
            b.t().select::<1>(1).unwrap().powf(3.0).sum()
        }),
        ("losses", |x| {
            x.mse(&x.exp()) + x.bce_with_logits(&x.sigmoid()) + x.cross_entropy(2).unwrap()
        }),
        ("cross-entropy against probabilities", |x| {
            let sq: Tensor<Rank2<2, 2>, f64, Tracked> = x.reshape();
            sq.cross_entropy_probs(&sq.softmax::<1>())
        }),
        ("maximum and axis max", |x| {
            let sq: Tensor<Rank2<2, 2>, f64, Tracked> = x.reshape();
            (x.maximum(&x.cos()) * x).sum() + sq.max_axis::<1>().powf(2.0).sum()
        }),
    ];
    let x = Tensor::from_array([0.3, -0.8, 1.1, 0.45]);
    for (name, f) in families {
        let by_forward = func::hessian(f, &x).unwrap();
        let leaf = x.track();
        let gradient = f(&leaf)
            .backward_create_graph()
            .unwrap()
            .get(&leaf)
            .expect("depends on x");
        let mut by_reverse = Vec::new();
        for i in 0..4 {
            let row = gradient.select::<0>(i).unwrap().backward();
            by_reverse.extend(row.get(&leaf).map_or(vec![0.0; 4], |r| r.to_vec()));
        }
        assert_close(name, by_forward.as_slice(), &by_reverse, 1e-12);
        // And against central differences of the gradient.
        let h = 1e-6;
        for i in 0..4 {
            let step = |sign: f64| {
                let mut p = x.clone();
                p.set(i, x.as_slice()[i] + sign * h).unwrap();
                func::grad(f, &p).to_vec()
            };
            let (plus, minus) = (step(1.0), step(-1.0));
            for j in 0..4 {
                let numeric = (plus[j] - minus[j]) / (2.0 * h);
                let ours = by_forward.as_slice()[j * 4 + i];
                assert!(
                    (ours - numeric).abs() <= 1e-5 + 1e-4 * numeric.abs(),
                    "{name}: H[{j}][{i}] {ours} vs {numeric}"
                );
            }
        }
    }
}

#[test]
fn transforms_propagate_nan() {
    let x = Tensor::from_array([1.0, f64::NAN]);
    let f = |x: &V<2>| x.powf(2.0).sum();
    assert!(func::grad(f, &x).as_slice()[1].is_nan());
    let h = func::hessian(f, &x).unwrap();
    assert!(
        h.as_slice()[3].is_nan(),
        "NaN in, NaN out, second derivatives too: {:?}",
        h.to_vec()
    );
    assert_eq!(h.as_slice()[0], 2.0);
    let relu = |x: &V<2>| x.relu() * 1.0;
    let j = func::jacobian_forward(relu, &x);
    assert!(
        j.as_slice()[3].is_nan(),
        "relu'(NaN) through forward mode: {:?}",
        j.to_vec()
    );
    let (_, t) = func::jvp(|x: &V<2>| x.abs(), &x, &Tensor::ones());
    assert!(t.as_slice()[1].is_nan());
}
