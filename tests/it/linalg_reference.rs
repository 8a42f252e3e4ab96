//! Differential test against PyTorch: the values, vector-Jacobian products and second
//! derivatives of the linear-algebra operations in `tests/data/linalg_reference.txt`,
//! written by `tests/data/linalg_reference.py` (PyTorch 2.15, f64), reproduced by
//! typegrad to 1e-10.
//!
//! Gradients by both backward passes (plain and recorded). Second derivatives: the gradient of `⟨grad_a, w_a⟩ + ⟨grad_b, w_b⟩` with respect to
//! the inputs, where `grad` is the recorded gradient of `⟨seed, out⟩`
//! (`backward_with_create_graph`), as PyTorch's `create_graph=True` gives it.

use std::collections::HashMap;

use typegrad::linalg::{Diagonal, Triangle};
use typegrad::prelude::*;

/// One case of the fixture: its fields by name.
struct Case {
    name: String,
    fields: HashMap<String, Vec<f64>>,
}

impl Case {
    fn field(&self, name: &str) -> &[f64] {
        self.fields
            .get(name)
            .unwrap_or_else(|| panic!("{}: no field {name}", self.name))
    }

    fn tensor<S: Shape>(&self, name: &str) -> Tensor<S, f64> {
        Tensor::from_vec(self.field(name).to_vec())
            .unwrap_or_else(|err| panic!("{}: {name}: {err}", self.name))
    }
}

fn cases() -> Vec<Case> {
    let text = include_str!("../data/linalg_reference.txt");
    let mut cases = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("case") => cases.push(Case {
                name: words.next().unwrap_or("").to_string(),
                fields: HashMap::new(),
            }),
            Some("end") | None => {}
            Some(field) => {
                let values = words.map(|w| w.parse().unwrap()).collect();
                cases
                    .last_mut()
                    .unwrap()
                    .fields
                    .insert(field.to_string(), values);
            }
        }
    }
    cases
}

/// `|typegrad - torch| <= 1e-10 (1 + |torch|)` for every element.
fn assert_close(case: &Case, what: &str, got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{}: {what}: length", case.name);
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= 1e-10 * (1.0 + e.abs()),
            "{}: {what}, element {i}: typegrad {g}, PyTorch {e}",
            case.name
        );
    }
}

/// A tracked `f64` tensor, as the checked functions take and return.
type Tr<S> = Tensor<S, f64, Tracked>;

/// A checked function of two inputs.
type Binary<'a, SA, SB, SO> = dyn Fn(&Tr<SA>, &Tr<SB>) -> Tr<SO> + 'a;

/// Checks a function of one input against the case: value, gradient, second derivative.
fn check_unary<SA: Shape, SO: Shape>(case: &Case, f: &dyn Fn(&Tr<SA>) -> Tr<SO>) {
    let a = case.tensor::<SA>("a").track();
    let seed = case.tensor::<SO>("seed");
    let out = f(&a);
    assert_close(case, "value", out.as_slice(), case.field("out"));
    let plain = f(&a).backward_with(&seed).get(&a).unwrap();
    assert_close(case, "gradient", plain.as_slice(), case.field("grad_a"));
    let grads = out.backward_with_create_graph(&seed).unwrap();
    let grad = grads.get(&a).unwrap();
    assert_close(
        case,
        "recorded gradient",
        grad.as_slice(),
        case.field("grad_a"),
    );
    let projected = (grad * &case.tensor::<SA>("w_a")).sum();
    let hvp = projected
        .backward()
        .get(&a)
        .map_or_else(|| vec![0.0; SA::NUM_ELEMENTS], |g| g.to_vec());
    assert_close(case, "second derivative", &hvp, case.field("hvp_a"));
}

/// `values` (`n x n`) with the strictly upper triangle set to 0.
fn lower_triangle(values: &[f64], n: usize) -> Vec<f64> {
    let mut lower = values.to_vec();
    for (i, v) in lower.iter_mut().enumerate() {
        if i % n > i / n {
            *v = 0.0;
        }
    }
    lower
}

/// Checks a function of two inputs against the case.
fn check_binary<SA: Shape, SB: Shape, SO: Shape>(case: &Case, f: &Binary<'_, SA, SB, SO>) {
    check_binary_reading(case, f, None);
}

/// [`check_binary`] where the first input is an `n x n` matrix read only in its lower
/// triangle (`lower_n`): there typegrad's gradient is the derivative of the function
/// computed, 0 above the diagonal, where PyTorch's (of `cholesky_solve`) is that of
/// `(L Lᵀ)⁻¹ B` with `L` read whole, which its own forward does not do. The lower
/// triangles agree (the fixture's weight of `a` is lower triangular).
fn check_binary_reading<SA: Shape, SB: Shape, SO: Shape>(
    case: &Case,
    f: &Binary<'_, SA, SB, SO>,
    lower_n: Option<usize>,
) {
    let expected_a = |field: &str| match lower_n {
        Some(n) => lower_triangle(case.field(field), n),
        None => case.field(field).to_vec(),
    };
    let a = case.tensor::<SA>("a").track();
    let b = case.tensor::<SB>("b").track();
    let seed = case.tensor::<SO>("seed");
    let out = f(&a, &b);
    assert_close(case, "value", out.as_slice(), case.field("out"));
    let plain = f(&a, &b).backward_with(&seed);
    let (ga, gb) = (plain.get(&a).unwrap(), plain.get(&b).unwrap());
    assert_close(case, "gradient of a", ga.as_slice(), &expected_a("grad_a"));
    assert_close(case, "gradient of b", gb.as_slice(), case.field("grad_b"));
    let grads = out.backward_with_create_graph(&seed).unwrap();
    let (ga, gb) = (grads.get(&a).unwrap(), grads.get(&b).unwrap());
    assert_close(
        case,
        "recorded gradient of a",
        ga.as_slice(),
        &expected_a("grad_a"),
    );
    assert_close(
        case,
        "recorded gradient of b",
        gb.as_slice(),
        case.field("grad_b"),
    );
    let projected = (ga * &case.tensor::<SA>("w_a")).sum() + (gb * &case.tensor::<SB>("w_b")).sum();
    let second = projected.backward();
    let or_zeros = |g: Option<Vec<f64>>, n: usize| g.unwrap_or_else(|| vec![0.0; n]);
    let hvp_a = or_zeros(second.get(&a).map(|g| g.to_vec()), SA::NUM_ELEMENTS);
    let hvp_b = or_zeros(second.get(&b).map(|g| g.to_vec()), SB::NUM_ELEMENTS);
    assert_close(case, "second derivative in a", &hvp_a, &expected_a("hvp_a"));
    assert_close(case, "second derivative in b", &hvp_b, case.field("hvp_b"));
}

type M<const R: usize, const C: usize> = Rank2<R, C>;

#[test]
fn linear_algebra_matches_pytorch() {
    let cases = cases();
    assert_eq!(cases.len(), 33, "every case of the fixture");
    for case in &cases {
        match case.name.as_str() {
            "solve_vector" => {
                check_binary::<M<4, 4>, Rank1<4>, _>(case, &|a, b| a.solve(b).unwrap())
            }
            "solve_matrix" => {
                check_binary::<M<3, 3>, M<3, 2>, _>(case, &|a, b| a.solve(b).unwrap())
            }
            "solve_batch" => {
                check_binary::<Rank3<2, 3, 3>, Rank3<2, 3, 2>, _>(case, &|a, b| a.solve(b).unwrap())
            }
            "solve_batch_vectors" => {
                check_binary::<Rank3<2, 3, 3>, M<2, 3>, _>(case, &|a, b| a.solve(b).unwrap())
            }
            "solve_triangular_lower" => check_binary::<M<4, 4>, M<4, 2>, _>(case, &|t, b| {
                t.solve_triangular(b, Triangle::Lower, Diagonal::Stored)
                    .unwrap()
            }),
            "solve_triangular_upper_unit" => check_binary::<M<4, 4>, M<4, 2>, _>(case, &|t, b| {
                t.solve_triangular(b, Triangle::Upper, Diagonal::Unit)
                    .unwrap()
            }),
            "inv" => check_unary::<M<4, 4>, _>(case, &|a| a.inv().unwrap()),
            "inv_batch" => check_unary::<Rank3<2, 3, 3>, _>(case, &|a| a.inv().unwrap()),
            "cholesky" => check_unary::<M<4, 4>, _>(case, &|a| a.cholesky().unwrap()),
            "cholesky_batch" => check_unary::<Rank3<2, 3, 3>, _>(case, &|a| a.cholesky().unwrap()),
            "cholesky_solve" => check_binary_reading::<M<3, 3>, M<3, 2>, _>(
                case,
                &|l, b| l.cholesky_solve(b).unwrap(),
                Some(3),
            ),
            "det" => check_unary::<M<4, 4>, Rank0>(case, &|a| a.det().unwrap()),
            "det_batch" => check_unary::<Rank3<2, 3, 3>, Rank1<2>>(case, &|a| a.det().unwrap()),
            "slogdet" => check_unary::<M<4, 4>, Rank0>(case, &|a| a.slogdet().unwrap().1),
            "logdet" => check_unary::<M<4, 4>, Rank0>(case, &|a| a.logdet().unwrap()),
            "trace" => check_unary::<M<4, 4>, Rank0>(case, &|a| a.trace()),
            "diagonal" => check_unary::<M<4, 4>, Rank1<4>>(case, &|a| a.diagonal()),
            "diag" => check_unary::<Rank1<4>, M<4, 4>>(case, &|v| v.diag()),
            "outer" => check_binary::<Rank1<3>, Rank1<4>, _>(case, &|u, v| u.outer(v)),
            "eigvalsh" => check_unary::<M<4, 4>, Rank1<4>>(case, &|a| a.eigvalsh().unwrap()),
            "eigvalsh_batch" => {
                check_unary::<Rank3<2, 3, 3>, M<2, 3>>(case, &|a| a.eigvalsh().unwrap())
            }
            "eigh_vectors" => check_unary::<M<4, 4>, _>(case, &|a| a.eigh().unwrap().1),
            "eigh_vectors_batch" => {
                check_unary::<Rank3<2, 3, 3>, _>(case, &|a| a.eigh().unwrap().1)
            }
            "qr_q" => check_unary::<M<5, 3>, _>(case, &|a| a.qr().unwrap().0),
            "qr_r" => check_unary::<M<5, 3>, M<3, 3>>(case, &|a| a.qr().unwrap().1),
            "qr_square" => check_unary::<M<3, 3>, _>(case, &|a| a.qr().unwrap().0),
            "qr_batch_r" => {
                check_unary::<Rank3<2, 4, 2>, Rank3<2, 2, 2>>(case, &|a| a.qr().unwrap().1)
            }
            "lstsq_vector" => {
                check_binary::<M<5, 3>, Rank1<5>, _>(case, &|a, b| a.lstsq(b).unwrap())
            }
            "lstsq_matrix" => {
                check_binary::<M<4, 3>, M<4, 2>, _>(case, &|a, b| a.lstsq(b).unwrap())
            }
            "lstsq_batch" => {
                check_binary::<Rank3<2, 4, 2>, Rank3<2, 4, 3>, _>(case, &|a, b| a.lstsq(b).unwrap())
            }
            "matrix_exp" => check_unary::<M<4, 4>, _>(case, &|a| a.matrix_exp().unwrap()),
            "matrix_exp_small" => check_unary::<M<3, 3>, _>(case, &|a| a.matrix_exp().unwrap()),
            "matrix_exp_batch" => {
                check_unary::<Rank3<2, 3, 3>, _>(case, &|a| a.matrix_exp().unwrap())
            }
            other => panic!("a case the test does not know: {other}"),
        }
    }
}
