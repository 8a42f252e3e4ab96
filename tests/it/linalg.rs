//! Linear algebra at its edges: singular, rank-deficient and nearly singular matrices,
//! NaN and infinite entries, 1 x 1 and empty matrices, huge and tiny scales; the
//! symmetric-gradient convention of Cholesky; fallible operations inside the transforms.
//! (Random well-conditioned inputs are `prop_linalg`'s; PyTorch's numbers are
//! `linalg_reference`'s.)

use typegrad::func;
use typegrad::linalg::{Cholesky, Diagonal, Lu, Threshold, Triangle};
use typegrad::prelude::*;

/// `[[1, 2, 3], [4, 5, 6], [7, 8, 9]]`: rank 2, PyTorch's silent case.
fn singular() -> Tensor<Rank2<3, 3>, f64> {
    Tensor::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
}

/// Its cofactor matrix, exactly.
const SINGULAR_COFACTORS: [[f64; 3]; 3] = [[-3.0, 6.0, -3.0], [6.0, -12.0, 6.0], [-3.0, 6.0, -3.0]];

/// A well-conditioned symmetric positive-definite matrix.
fn spd() -> Tensor<Rank2<3, 3>, f64> {
    Tensor::from_array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.5], [0.5, -0.5, 2.0]])
}

fn is_singular<T>(result: Result<T, Error>) -> bool {
    matches!(result, Err(Error::SingularMatrix { .. }))
}

#[test]
fn singular_matrices_are_refused_by_every_solving_operation() {
    let a = singular();
    let b = Tensor::<Rank1<3>, f64>::ones();
    assert!(is_singular(a.solve(&b)));
    assert!(is_singular(a.inv()));
    assert!(is_singular(Lu::new(&a)));
    assert!(is_singular(a.cast::<f32>().solve(&b.cast::<f32>())));
    // Exactly singular triangles: a zero on the diagonal names the pivot.
    let t = Tensor::from_array([[1.0f64, 0.0, 0.0], [2.0, 0.0, 0.0], [3.0, 4.0, 5.0]]);
    let err = t
        .solve_triangular(&b, Triangle::Lower, Diagonal::Stored)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SingularMatrix {
                zero_pivot: Some(1),
                ..
            }
        ),
        "{err}"
    );
    assert!(is_singular(t.cholesky_solve(&b)));
    // The message says what and how to change it.
    let message = a.solve(&b).unwrap_err().to_string();
    assert!(
        message.starts_with("solve: the matrix is singular"),
        "{message}"
    );
    assert!(message.contains("Threshold"), "{message}");
}

#[test]
fn det_and_slogdet_do_not_refuse() {
    let a = singular().track();
    let det = a.det().unwrap();
    assert_eq!(det.item(), 0.0);
    // The cofactors to rounding: complete pivoting leaves the last pivot at 1e-16, not
    // 0, and no division by it enters.
    let g = det.backward().get(&a).unwrap();
    let exact = Tensor::from_array(SINGULAR_COFACTORS);
    assert!(g.allclose(&exact, 1e-14, 1e-14), "{g:?}");
    let (sign, logabs) = singular().slogdet().unwrap();
    assert_eq!((sign.item(), logabs.item()), (0.0, f64::NEG_INFINITY));
    // In f32 too: factored in f64, the matrix is exactly singular.
    let a32 = singular().cast::<f32>().track();
    let g32 = a32.det().unwrap().backward().get(&a32).unwrap();
    assert!(g32.allclose(&exact.cast::<f32>(), 1e-6, 1e-6), "{g32:?}");
}

/// The cofactor matrix by its definition, in f64 (signed 3 x 3 minors of a 4 x 4).
fn cofactors4(a: &[[f64; 4]; 4]) -> [[f64; 4]; 4] {
    let det3 = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let mut c = [[0.0; 4]; 4];
    for (i, row_of_c) in c.iter_mut().enumerate() {
        for (j, cofactor) in row_of_c.iter_mut().enumerate() {
            let mut minor = [[0.0; 3]; 3];
            for (r, row) in (0..4).filter(|&r| r != i).enumerate() {
                for (k, col) in (0..4).filter(|&k| k != j).enumerate() {
                    minor[r][k] = a[row][col];
                }
            }
            let sign = if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
            *cofactor = sign * det3(minor);
        }
    }
    c
}

#[test]
fn det_gradient_and_hessian_are_exact_at_rank_n_minus_1() {
    // Rank 3 of 4: the last row is the sum of the first two. Integer entries, so the
    // cofactors are integers.
    let a = [
        [2.0, -1.0, 0.0, 3.0],
        [1.0, 4.0, -2.0, 0.0],
        [0.0, 1.0, 5.0, -1.0],
        [3.0, 3.0, -2.0, 3.0],
    ];
    let x = Tensor::from_array(a);
    let expected = cofactors4(&a);
    assert!(expected.concat().iter().any(|&v| v != 0.0));
    let g = func::try_grad(|x| x.det(), &x).unwrap();
    for (got, want) in g.to_vec().iter().zip(expected.concat()) {
        assert!((got - want).abs() < 1e-12, "{got} against {want}");
    }
    // The Hessian (det's second derivative, a polynomial of degree 2 in each direction)
    // against central differences of the exact cofactors, which are exact for it.
    let h = func::try_hessian(|x| x.det(), &x).unwrap();
    let h = h.to_vec();
    let step = 0.5;
    for k in 0..16 {
        let shifted = |s: f64| {
            let mut b = a;
            b[k / 4][k % 4] += s;
            cofactors4(&b)
        };
        let (plus, minus) = (shifted(step), shifted(-step));
        for i in 0..16 {
            let numeric = (plus[i / 4][i % 4] - minus[i / 4][i % 4]) / (2.0 * step);
            let analytic = h[i * 16 + k];
            assert!(
                (analytic - numeric).abs() < 1e-10,
                "H[{i}, {k}] = {analytic}, differences give {numeric}"
            );
        }
    }
    // The recorded backward's value is the same exact gradient.
    let leaf = x.track();
    let recorded = leaf.det().unwrap().backward_create_graph().unwrap();
    assert_eq!(recorded.get(&leaf).unwrap().to_vec(), g.to_vec());
}

#[test]
fn nearly_singular_is_refused_below_the_threshold_only() {
    // δ a power of two, so that 1 + δ and 2 + δ are exact and x = [1, 1] exactly.
    for delta in [2f64.powi(-43), 2f64.powi(-50)] {
        let a = Tensor::from_array([[1.0f64, 1.0], [1.0, 1.0 + delta]]);
        let b = Tensor::from_array([2.0, 2.0 + delta]);
        // rcond ~ delta / 4.
        let refused = a.solve(&b);
        let expected_refusal = delta / 4.0 < 2.0 * f64::EPSILON;
        assert_eq!(is_singular(refused), expected_refusal, "delta {delta}");
        let x = a.solve_with(&b, Threshold::MinRcond(1e-20)).unwrap();
        assert!(
            x.allclose(&Tensor::from_array([1.0, 1.0]), 1e-12, 0.0),
            "{x:?}"
        );
        let lu = Lu::new_with(&a, Threshold::MinRcond(1e-20)).unwrap();
        assert!(lu.rcond() < 1e-12);
        assert!(is_singular(Lu::new_with(&a, Threshold::MinRcond(1e-3))));
    }
    // Triangular and Cholesky solves judge their matrices the same way.
    let t = Tensor::from_array([[1.0f64, 0.0], [0.5, 1e-17]]);
    let b = Tensor::from_array([1.0, 1.0]);
    assert!(is_singular(t.solve_triangular(
        &b,
        Triangle::Lower,
        Diagonal::Stored
    )));
    assert!(t
        .solve_triangular_with(
            &b,
            Triangle::Lower,
            Diagonal::Stored,
            Threshold::MinRcond(1e-30)
        )
        .is_ok());
    assert!(t
        .solve_triangular(&b, Triangle::Lower, Diagonal::Unit)
        .is_ok());
    let l = Tensor::from_array([[1.0f64, 0.0], [0.5, 1e-9]]);
    assert!(is_singular(l.cholesky_solve(&b)));
    assert!(l
        .cholesky_solve_with(&b, Threshold::MinRcond(1e-30))
        .is_ok());
    // f32: the threshold is f32's, so a matrix that f64 solves to 8 digits is refused.
    let a = Tensor::from_array([[1.0f32, 1.0], [1.0, 1.0 + 2f32.powi(-22)]]);
    assert!(is_singular(a.inv()));
    assert!(a.inv_with(Threshold::MinRcond(1e-9)).is_ok());
}

#[test]
fn non_finite_entries_are_errors_naming_them() {
    let b = Tensor::<Rank1<3>, f64>::ones();
    for (bad, name) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let mut values = spd().to_vec();
        values[5] = bad; // (1, 2): in the upper triangle
        values[7] = bad; // (2, 1): in the lower triangle
        let a = Tensor::<Rank2<3, 3>, f64>::from_vec(values).unwrap();
        let expect = |result: Result<(), Error>, op: &str, argument: &str, index: Vec<usize>| {
            let err = result.unwrap_err();
            assert_eq!(
                err,
                Error::NonFiniteInput {
                    op: op.to_string().leak(),
                    argument: argument.to_string().leak(),
                    dims: &[3, 3],
                    index,
                    value: name.to_string().leak(),
                },
                "{err}"
            );
            assert!(err.to_string().contains(name));
        };
        expect(a.solve(&b).map(drop), "solve", "A", vec![1, 2]);
        expect(a.inv().map(drop), "inv", "A", vec![1, 2]);
        expect(a.det().map(drop), "det", "A", vec![1, 2]);
        expect(a.slogdet().map(drop), "slogdet", "A", vec![1, 2]);
        expect(Lu::new(&a).map(drop), "Lu::new", "A", vec![1, 2]);
        // The lower-triangle readers see only (2, 1).
        expect(a.cholesky().map(drop), "cholesky", "A", vec![2, 1]);
        expect(a.logdet().map(drop), "cholesky", "A", vec![2, 1]);
        expect(
            a.cholesky_solve(&b).map(drop),
            "cholesky_solve",
            "L",
            vec![2, 1],
        );
        expect(
            Cholesky::<_, _, NoGrad>::new(&a).map(drop),
            "Cholesky::new",
            "A",
            vec![2, 1],
        );
        expect(
            a.solve_triangular(&b, Triangle::Upper, Diagonal::Stored)
                .map(drop),
            "solve_triangular",
            "A",
            vec![1, 2],
        );
        // A right-hand side.
        let mut rhs = vec![1.0; 3];
        rhs[2] = bad;
        let rhs = Tensor::<Rank1<3>, f64>::from_vec(rhs).unwrap();
        let err = spd().solve(&rhs).unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteInput { argument: "B", ref index, .. } if index == &vec![2])
        );
        let lu = Lu::new(&spd()).unwrap();
        assert!(matches!(
            lu.solve(&rhs),
            Err(Error::NonFiniteInput { argument: "B", .. })
        ));
        let chol = Cholesky::<_, _, NoGrad>::new(&spd()).unwrap();
        assert!(matches!(
            chol.solve(&rhs),
            Err(Error::NonFiniteInput { argument: "B", .. })
        ));
    }
    // A batch: the index names the matrix.
    let mut values = vec![0.0; 8];
    values[0] = 1.0;
    values[3] = 1.0;
    values[6] = f64::NAN;
    let batch = Tensor::<Rank3<2, 2, 2>, f64>::from_vec(values).unwrap();
    assert!(
        matches!(batch.det(), Err(Error::NonFiniteInput { ref index, .. }) if index == &vec![1, 1, 0])
    );
}

#[test]
fn one_by_one_and_empty_matrices() {
    let a = Tensor::from_array([[4.0f64]]).track();
    let x = a.solve(&Tensor::from_array([2.0])).unwrap();
    assert_eq!(x.to_vec(), vec![0.5]);
    assert_eq!(x.sum().backward().get(&a).unwrap().to_vec(), vec![-0.125]);
    assert_eq!(a.inv().unwrap().to_vec(), vec![0.25]);
    assert_eq!(a.det().unwrap().item(), 4.0);
    assert_eq!(a.cholesky().unwrap().to_vec(), vec![2.0]);
    assert_eq!(a.logdet().unwrap().item(), 4f64.ln());
    assert!(is_singular(Tensor::from_array([[0.0f64]]).inv()));
    assert_eq!(
        Tensor::from_array([[-1.0f64]]).cholesky().unwrap_err(),
        Error::NotPositiveDefinite {
            op: "cholesky",
            batch: None,
            order: 1
        }
    );

    // 0 x 0: the empty product is 1 (PyTorch: det 1, slogdet (1, 0), logdet 0).
    let e = Tensor::<Rank2<0, 0>, f64>::zeros().track();
    assert_eq!(e.det().unwrap().item(), 1.0);
    let (sign, logabs) = e.slogdet().unwrap();
    assert_eq!((sign.item(), logabs.item()), (1.0, 0.0));
    assert_eq!(e.logdet().unwrap().item(), 0.0);
    assert_eq!(e.trace().item(), 0.0);
    assert_eq!(e.inv().unwrap().numel(), 0);
    assert_eq!(e.cholesky().unwrap().numel(), 0);
    let x = e.solve(&Tensor::<Rank1<0>, f64>::zeros()).unwrap();
    assert_eq!(x.numel(), 0);
    let grads = e.det().unwrap().backward();
    assert_eq!(grads.get(&e).map(|g| g.numel()).unwrap_or(0), 0);
    let _ = func::try_hessian(|x| x.det(), &Tensor::<Rank2<0, 0>, f64>::zeros()).unwrap();
}

#[test]
fn huge_and_tiny_scales() {
    let base = spd();
    let b = Tensor::from_array([1.0f64, -2.0, 0.5]);
    let x = base.solve(&b).unwrap();
    let (base_sign, base_log) = base.slogdet().unwrap();
    for scale in [1e150, 1e-150] {
        let a = &base * scale;
        // Not refused: the condition number does not depend on the scale.
        let xs = a.solve(&b).unwrap();
        assert!((&xs * scale).allclose(&x, 1e-13, 0.0), "scale {scale}");
        let inverse = a.inv().unwrap();
        assert!((&inverse * scale).allclose(&base.inv().unwrap(), 1e-13, 0.0));
        // ln |det| stays finite where det does not: 3 ln(scale) + ln det.
        let (sign, log) = a.slogdet().unwrap();
        assert_eq!(sign.item(), base_sign.item());
        let expected = base_log.item() + 3.0 * scale.ln();
        assert!((log.item() - expected).abs() < 1e-12 * expected.abs());
        let logdet = a.logdet().unwrap().item();
        assert!((logdet - expected).abs() < 1e-12 * expected.abs());
        // The gradient of ln |det| is A⁻ᵀ: representable at both scales.
        let leaf = a.track();
        let g = leaf.slogdet().unwrap().1.backward().get(&leaf).unwrap();
        assert!((&g * scale).allclose(&base.inv().unwrap().t(), 1e-13, 0.0));
        // Cholesky: the factor scales by the square root.
        let l = a.cholesky().unwrap();
        assert!((&l * (1.0 / scale.sqrt())).allclose(&base.cholesky().unwrap(), 1e-13, 0.0));
        // det's gradient (cofactors, products of two entries) is representable at 1e150
        // (1e300) although det itself (1e450) is not.
        let leaf = a.track();
        let det = leaf.det().unwrap();
        let g = det.backward().get(&leaf).unwrap();
        if scale > 1.0 {
            assert!(g.to_vec().iter().all(|v| v.is_finite() && v.abs() > 1e299));
        }
    }
}

#[test]
fn cholesky_gradient_is_symmetric_and_adjoint_to_its_jvp() {
    let a = spd();
    let leaf = a.track();
    let l = leaf.cholesky().unwrap();
    let seed = Tensor::from_array([[0.3f64, -0.2, 0.9], [1.1, 0.4, -0.7], [0.2, 0.5, -1.3]]);
    let g = l.backward_with(&seed).get(&leaf).unwrap().to_array();
    for (i, row) in g.iter().enumerate() {
        for (j, &value) in row.iter().enumerate() {
            assert_eq!(value, g[j][i], "symmetric to the last bit");
        }
    }
    // The forward mode takes a tangent's symmetric part, so it is exactly adjoint to the
    // symmetric gradient for every tangent, symmetric or not: <u, J v> = <Jᵀ u, v>.
    let v = Tensor::from_array([[0.5f64, 1.0, -0.25], [0.0, -1.5, 0.75], [2.0, 0.25, 1.0]]);
    let (_, jv) = func::try_jvp(|a| a.cholesky(), &a, &v).unwrap();
    let (_, jtu) = func::try_vjp(|a| a.cholesky(), &a, &seed).unwrap();
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    let (left, right) = (
        dot(&seed.to_vec(), &jv.to_vec()),
        dot(&jtu.to_vec(), &v.to_vec()),
    );
    assert!((left - right).abs() < 1e-14, "{left} against {right}");
    // The upper triangle of the input is not read by the forward.
    let mut junk = a.to_vec();
    junk[1] = 1e6;
    let junk = Tensor::<Rank2<3, 3>, f64>::from_vec(junk).unwrap();
    assert_eq!(junk.cholesky().unwrap(), a.cholesky().unwrap());
}

#[test]
fn fallible_operations_inside_transforms() {
    // A Gaussian's negative log-likelihood as a function of a noise variance.
    let k = spd();
    let y = Tensor::from_array([1.0f64, 0.5, -1.0]);
    let nll = |s: &Tensor<Rank1<1>, f64, Tracked>| -> Result<Tensor<Rank0, f64, Tracked>, Error> {
        let noise = s.sum().exp();
        let eye = Tensor::<Rank1<3>, f64>::ones().diag();
        let kn = &k + &eye * &noise;
        let chol = Cholesky::new(&kn)?;
        Ok((y.dot(&chol.solve(&y)?) + chol.logdet()) * 0.5)
    };
    let s = Tensor::from_array([-1.0f64]);
    let g = func::try_grad(nll, &s).unwrap();
    let h = func::try_hessian(nll, &s).unwrap();
    // Against central differences of the value.
    let value = |v: f64| nll(&Tensor::from_array([v]).track()).unwrap().item();
    let e = 1e-5;
    let numeric = (value(-1.0 + e) - value(-1.0 - e)) / (2.0 * e);
    assert!(
        (g.to_vec()[0] - numeric).abs() < 1e-8,
        "{g:?} against {numeric}"
    );
    let numeric2 = (value(-1.0 + e) - 2.0 * value(-1.0) + value(-1.0 - e)) / (e * e);
    assert!(
        (h.to_vec()[0] - numeric2).abs() < 1e-4,
        "{h:?} against {numeric2}"
    );
    // The closure's error comes out of every transform.
    let bad = Tensor::from_array([[1.0f64, 2.0], [2.0, 1.0]]);
    let not_pd =
        |r: Result<(), Error>| matches!(r, Err(Error::NotPositiveDefinite { order: 2, .. }));
    assert!(not_pd(func::try_grad(|a| a.logdet(), &bad).map(drop)));
    assert!(not_pd(
        func::try_value_and_grad(|a| a.logdet(), &bad).map(drop)
    ));
    assert!(not_pd(func::try_hessian(|a| a.logdet(), &bad).map(drop)));
    assert!(not_pd(func::try_jacobian(|a| a.cholesky(), &bad).map(drop)));
    assert!(not_pd(
        func::try_jvp(|a| a.cholesky(), &bad, &bad).map(drop)
    ));
    assert!(not_pd(
        func::try_vjp(|a| a.cholesky(), &bad, &bad).map(drop)
    ));
    let jac: Tensor<Rank4<2, 2, 2, 2>, f64> =
        func::try_jacobian(|a| a.inv(), &Tensor::from_array([[2.0, 0.0], [0.0, 4.0]])).unwrap();
    // d(A⁻¹)/dA_00 at a diagonal A: -1/4 at (0, 0).
    assert_eq!(jac.to_vec()[0], -0.25);
}

#[test]
fn singular_slogdet_gradient_is_reported_by_checked_backward() {
    let a = Tensor::from_array([[1.0f64, 2.0], [2.0, 4.0]]).track();
    let (_, logabs) = a.slogdet().unwrap();
    assert_eq!(logabs.item(), f64::NEG_INFINITY);
    // The logarithm is -inf: its value is the first non-finite one on the path.
    let err = logabs.backward_checked().unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteValue {
                op: "LinalgSlogdetBackward0",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn thresholds_that_mean_nothing_are_refused() {
    let a = spd();
    let b = Tensor::<Rank1<3>, f64>::ones();
    for value in [f64::NAN, -1e-3, f64::INFINITY] {
        let t = Threshold::MinRcond(value);
        let invalid = |r: Result<(), Error>| {
            matches!(
                r,
                Err(Error::InvalidArgument {
                    argument: "threshold",
                    ..
                })
            )
        };
        assert!(invalid(a.solve_with(&b, t).map(drop)), "{value}");
        assert!(invalid(a.inv_with(t).map(drop)));
        assert!(invalid(Lu::new_with(&a, t).map(drop)));
        assert!(invalid(Cholesky::<_, _, NoGrad>::new_with(&a, t).map(drop)));
        assert!(invalid(
            a.cholesky().unwrap().cholesky_solve_with(&b, t).map(drop)
        ));
        assert!(invalid(
            a.solve_triangular_with(&b, Triangle::Lower, Diagonal::Stored, t)
                .map(drop)
        ));
    }
    // 0 accepts every matrix without an exactly zero pivot.
    assert!(singular().solve_with(&b, Threshold::MinRcond(0.0)).is_ok());
}

#[test]
fn condition_estimates_of_known_matrices() {
    // The singular matrix's estimate is rounding noise, far below N ε.
    let lu = Lu::new_with(&singular(), Threshold::MinRcond(0.0)).unwrap();
    println!(
        "rcond of [[1, 2, 3], [4, 5, 6], [7, 8, 9]]: {:e}",
        lu.rcond()
    );
    assert!(lu.rcond() < 1e-17);
    // diag(1, 1e-6): exactly 1e-6, at any scale.
    for scale in [1e-150, 1.0, 1e150] {
        let a = Tensor::from_array([[1.0f64, 0.0], [0.0, 1e-6]]) * scale;
        let lu = Lu::new(&a).unwrap();
        assert!((lu.rcond() - 1e-6).abs() < 1e-18, "{scale}: {}", lu.rcond());
    }
}

// ---------------------------------------------------------------------------------------
// Phase 2: eigh, eigvalsh, qr, lstsq, matrix_exp
// ---------------------------------------------------------------------------------------

/// diag(1, 1, 2): a repeated eigenvalue, eigenvectors the identity's columns.
fn repeated() -> Tensor<Rank2<3, 3>, f64> {
    Tensor::from_array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
}

#[test]
fn eigenvector_gradients_through_repeated_eigenvalues_are_nan_or_errors() {
    let a = repeated().track();
    // v₀'s second element turns with any rotation of the repeated pair's plane.
    let (_, v) = a.eigh().unwrap();
    let g = v.at::<1, 0>().backward().get(&a).unwrap().to_vec();
    assert!(g[..8].iter().all(|x| x.is_nan()), "{g:?}");
    // The entry that no rotation of that plane reaches stays finite.
    assert_eq!(g[8], 0.0);
    let (_, v) = a.eigh().unwrap();
    let err = v.at::<1, 0>().backward_checked().unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteGradient {
                op: "LinalgEighBackward0",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("repeated eigenvalues"), "{err}");
    // Nearly repeated: 4e-16 apart, below N ε max|λ| = 1.3e-15.
    let b = Tensor::from_array([[1.0f64, 0.0, 0.0], [0.0, 1.0 + 4e-16, 0.0], [0.0, 0.0, 2.0]]);
    let b = b.track();
    let (_, v) = b.eigh().unwrap();
    assert!(v.at::<1, 0>().backward_checked().is_err());
    // 1e-13 apart: distinct, a large but finite (and correct) derivative.
    let c = Tensor::from_array([[1.0f64, 0.0, 0.0], [0.0, 1.0 + 1e-13, 0.0], [0.0, 0.0, 2.0]]);
    let c = c.track();
    let (_, v) = c.eigh().unwrap();
    let g = v.at::<1, 0>().backward_checked().unwrap().get(&c).unwrap();
    // dV₁₀ = (v₁ᵀ dA v₀) / (λ₀ - λ₁), shared by the two symmetric entries.
    let expected = -0.5 / ((1.0 + 1e-13) - 1.0);
    assert!((g.to_vec()[1] / expected - 1.0).abs() < 1e-3, "{g:?}");
    // A loss of V diag(λ) Vᵀ (= A) has S = 0 at the repeated pair but a limit that is
    // not 0: NaN, not the finite wrong number 0.
    let (l, v) = a.eigh().unwrap();
    let g = v
        .matmul(&l.diag())
        .matmul(&v.t())
        .sum()
        .backward()
        .get(&a)
        .unwrap();
    assert!(g.to_vec()[1].is_nan(), "{g:?}");
}

#[test]
fn losses_that_do_not_read_repeated_eigenvectors_have_finite_gradients() {
    let a = repeated().track();
    // The eigenvector of the distinct eigenvalue 2: dv₂ = Σ_k v_k v_kᵀ dA v₂ / (2 - λ_k).
    let (_, v) = a.eigh().unwrap();
    let w = Tensor::from_array([0.3f64, -0.2, 0.9]);
    let v2: Tensor<Rank2<3, 1>, f64, Tracked> = v.narrow::<1, 2, 1>();
    let grads = v2.reshape::<Rank1<3>>().dot(&w).backward_checked().unwrap();
    let g = grads.get(&a).unwrap().to_array();
    let expected = [[0.0, 0.0, 0.15], [0.0, 0.0, -0.1], [0.15, -0.1, 0.0]];
    for (row, want) in g.iter().zip(expected) {
        for (x, y) in row.iter().zip(want) {
            assert!((x - y).abs() < 1e-15, "{g:?}");
        }
    }
    // Eigenvalues alone: finite at the identity (the sum is the trace).
    let eye = Tensor::<Rank1<3>, f64>::ones().diag().track();
    let g = eye.eigvalsh().unwrap().sum().backward_checked().unwrap();
    assert!(g.get(&eye).unwrap().allclose(&eye.no_grad(), 0.0, 1e-15));
    // λ_max at the repeated top of diag(1, 2, 2): a subgradient along the returned basis.
    let top = Tensor::from_array([[1.0f64, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]).track();
    let g = top
        .eigvalsh()
        .unwrap()
        .at::<2>()
        .backward_checked()
        .unwrap();
    assert!(g.get(&top).unwrap().to_vec().iter().all(|x| x.is_finite()));
    // Their second derivatives need how the eigenvectors turn: NaN at the repeated pair.
    let h = func::try_hessian(|a| a.eigvalsh().map(|l| l.powf(2.0).sum()), &repeated()).unwrap();
    assert!(h.to_vec().iter().any(|x| x.is_nan()));
    // Forward mode: a tangent that does not split the plane has a finite JVP.
    let keep = Tensor::from_array([[1.0f64, 0.0, 0.5], [0.0, 1.0, 0.0], [0.5, 0.0, 0.0]]);
    let (_, jv) = func::try_jvp(|a| a.eigh().map(|p| p.1), &repeated(), &keep).unwrap();
    assert!(jv.to_vec().iter().all(|x| x.is_finite()), "{jv:?}");
    let split = Tensor::from_array([[1.0f64, 0.3, 0.5], [0.3, 1.0, 0.0], [0.5, 0.0, 0.0]]);
    let (_, jv) = func::try_jvp(|a| a.eigh().map(|p| p.1), &repeated(), &split).unwrap();
    assert!(jv.to_vec()[1].is_nan(), "{jv:?}");
}

#[test]
fn eigh_reads_the_lower_triangle_and_its_gradient_is_symmetric() {
    let a = Tensor::from_array([[4.0f64, 1.0, 0.5], [1.0, 3.0, -0.5], [0.5, -0.5, 2.0]]);
    let mut junk = a.to_vec();
    junk[1] = 1e6;
    junk[5] = f64::NAN;
    let junk = Tensor::<Rank2<3, 3>, f64>::from_vec(junk).unwrap();
    assert_eq!(junk.eigh().unwrap(), a.eigh().unwrap());
    let leaf = a.track();
    let (l, v) = leaf.eigh().unwrap();
    let seed = Tensor::from_array([[0.3f64, -0.2, 0.9], [1.1, 0.4, -0.7], [0.2, 0.5, -1.3]]);
    let loss = (v * &seed).sum() + l.sum();
    let g = loss.backward().get(&leaf).unwrap().to_array();
    for (i, row) in g.iter().enumerate() {
        for (j, &value) in row.iter().enumerate() {
            assert_eq!(value, g[j][i], "symmetric to the last bit");
        }
    }
    // VJP and JVP are exactly adjoint for any tangent (its symmetric part is read).
    let t = Tensor::from_array([[0.5f64, 1.0, -0.25], [0.0, -1.5, 0.75], [2.0, 0.25, 1.0]]);
    let (_, jv) = func::try_jvp(|a| a.eigh().map(|p| p.1), &a, &t).unwrap();
    let (_, jtu) = func::try_vjp(|a| a.eigh().map(|p| p.1), &a, &seed).unwrap();
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    let (left, right) = (
        dot(&seed.to_vec(), &jv.to_vec()),
        dot(&jtu.to_vec(), &t.to_vec()),
    );
    assert!((left - right).abs() < 1e-13, "{left} against {right}");
}

#[test]
fn rank_deficient_matrices_are_refused_by_qr_and_lstsq() {
    let rank_deficient = |r: Result<(), Error>, column: Option<usize>| matches!(r, Err(Error::RankDeficient { column: c, .. }) if c == column);
    // The third column is the sum of the first two.
    let a = Tensor::from_array([
        [1.0f64, 2.0, 3.0],
        [4.0, 5.0, 9.0],
        [7.0, 8.0, 15.0],
        [1.0, 0.0, 1.0],
    ]);
    let b = Tensor::from_array([1.0f64, 2.0, 3.0, 4.0]);
    assert!(rank_deficient(a.qr().map(drop), Some(2)));
    assert!(rank_deficient(a.lstsq(&b).map(drop), Some(2)));
    // A zero column.
    let z = Tensor::from_array([[1.0f64, 0.0], [2.0, 0.0], [3.0, 0.0]]);
    assert!(rank_deficient(z.qr().map(drop), Some(1)));
    // Nearly dependent (2e-16 relative): refused by default, accepted below.
    let near = Tensor::from_array([[1.0f64, 1.0], [1.0, 1.0 + 4e-16], [1.0, 1.0]]);
    assert!(rank_deficient(near.qr().map(drop), Some(1)));
    let err = near.qr().unwrap_err().to_string();
    assert!(err.starts_with("qr: the matrix is rank-deficient"), "{err}");
    assert!(near.qr_with(Threshold::MinRcond(1e-18)).is_ok());
    // Every |R_jj| / ‖a_j‖ is at least 1/√n, but the columns are nearly dependent: the
    // upper triangular T with 1 on the diagonal and -1 above (Kahan's example, κ ~ 2ⁿ⁻¹
    // times n): the condition estimate refuses it.
    const N: usize = 60;
    let kahan = Tensor::<Rank2<N, N>, f64>::from_fn(|i| match (i / N, i % N) {
        (r, c) if r == c => 1.0,
        (r, c) if r < c => -1.0,
        _ => 0.0,
    });
    assert!(
        rank_deficient(kahan.qr().map(drop), None),
        "{:?}",
        kahan.qr().err()
    );
    assert!(kahan.qr_with(Threshold::MinRcond(0.0)).is_ok());
    // Thresholds that mean nothing.
    for value in [f64::NAN, -1.0, f64::INFINITY] {
        let invalid = |r: Result<(), Error>| matches!(r, Err(Error::InvalidArgument { .. }));
        assert!(invalid(a.qr_with(Threshold::MinRcond(value)).map(drop)));
        assert!(invalid(
            a.lstsq_with(&b, Threshold::MinRcond(value)).map(drop)
        ));
    }
    // A batch names the matrix.
    let batch = Tensor::<Rank3<2, 2, 1>, f64>::from_array([[[1.0], [2.0]], [[0.0], [0.0]]]);
    assert!(matches!(
        batch.qr(),
        Err(Error::RankDeficient {
            batch: Some(1),
            column: Some(0),
            ..
        })
    ));
}

#[test]
fn phase_two_non_finite_input_is_named() {
    let named = |r: Result<(), Error>, argument: &str, expected: Vec<usize>| matches!(r, Err(Error::NonFiniteInput { argument: a, ref index, .. }) if a == argument && *index == expected);
    let mut sym = [[2.0f64, 0.5], [0.5, 1.0]];
    sym[1][0] = f64::NAN;
    let s = Tensor::from_array(sym);
    assert!(named(s.eigh().map(drop), "A", vec![1, 0]));
    assert!(named(s.eigvalsh().map(drop), "A", vec![1, 0]));
    for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        let a = Tensor::from_array([[1.0f64, 0.0], [bad, 1.0], [0.0, 1.0]]);
        assert!(named(a.qr().map(drop), "A", vec![1, 0]));
        let good = Tensor::from_array([[1.0f64, 0.0], [0.0, 1.0], [1.0, 1.0]]);
        let b = Tensor::from_array([1.0f64, bad, 0.0]);
        assert!(named(good.lstsq(&b).map(drop), "B", vec![1]));
        let m = Tensor::from_array([[0.0f64, bad], [0.0, 0.0]]);
        assert!(named(m.matrix_exp().map(drop), "A", vec![0, 1]));
    }
}

#[test]
fn phase_two_one_by_one_and_empty_matrices() {
    let a = Tensor::from_array([[-3.0f64]]).track();
    let (l, v) = a.eigh().unwrap();
    assert_eq!((l.to_vec(), v.to_vec()), (vec![-3.0], vec![1.0]));
    assert_eq!(l.sum().backward().get(&a).unwrap().to_vec(), vec![1.0]);
    let (q, r) = a.qr().unwrap();
    assert_eq!((q.to_vec(), r.to_vec()), (vec![-1.0], vec![3.0]));
    let x = a.lstsq(&Tensor::from_array([6.0])).unwrap();
    assert_eq!(x.to_vec(), vec![-2.0]);
    let e = a.matrix_exp().unwrap();
    assert!((e.to_vec()[0] / (-3f64).exp() - 1.0).abs() < 1e-14, "{e:?}");
    let g = e.sum().backward().get(&a).unwrap();
    assert!((g.to_vec()[0] / (-3f64).exp() - 1.0).abs() < 1e-14, "{g:?}");
    assert!(matches!(
        Tensor::from_array([[0.0f64]]).qr(),
        Err(Error::RankDeficient { .. })
    ));

    let empty = Tensor::<Rank2<0, 0>, f64>::zeros().track();
    let (l, v) = empty.eigh().unwrap();
    assert_eq!((l.numel(), v.numel()), (0, 0));
    assert_eq!(empty.matrix_exp().unwrap().numel(), 0);
    let (q, r) = empty.qr().unwrap();
    assert_eq!((q.numel(), r.numel()), (0, 0));
    // Three rows and no column: an empty Q and R, and an empty solution.
    let no_columns = Tensor::<Rank2<3, 0>, f64>::zeros();
    let (q, r) = no_columns.qr().unwrap();
    assert_eq!((q.numel(), r.numel()), (0, 0));
    let x = no_columns
        .lstsq(&Tensor::from_array([1.0, 2.0, 3.0]))
        .unwrap();
    assert_eq!(x.numel(), 0);
    let _ = func::try_hessian(
        |x| x.matrix_exp().map(|e| e.sum()),
        &Tensor::<Rank2<0, 0>, f64>::zeros(),
    )
    .unwrap();
}

#[test]
fn phase_two_huge_and_tiny_scales() {
    let s = spd();
    let (l, v) = s.eigh().unwrap();
    let tall = Tensor::from_array([[4.0f64, 1.0], [1.0, 3.0], [0.5, -0.5]]);
    let (q, r) = tall.qr().unwrap();
    let b = Tensor::from_array([1.0f64, -2.0, 0.5]);
    let x = tall.lstsq(&b).unwrap();
    for scale in [1e150, 1e-150] {
        let (ls, vs) = (&s * scale).eigh().unwrap();
        assert!((&ls * (1.0 / scale)).allclose(&l, 1e-14, 0.0), "{scale}");
        assert!(vs.allclose(&v, 1e-14, 1e-14), "{scale}");
        let (qs, rs) = (&tall * scale).qr().unwrap();
        assert!(qs.allclose(&q, 1e-14, 1e-15) && (&rs * (1.0 / scale)).allclose(&r, 1e-14, 0.0));
        let xs = (&tall * scale).lstsq(&b).unwrap();
        assert!((&xs * scale).allclose(&x, 1e-13, 0.0), "{scale}");
        // Gradients: eigenvalues' is scale-free; the solution's scales inversely.
        let leaf = (&s * scale).track();
        let g = leaf
            .eigvalsh()
            .unwrap()
            .at::<0>()
            .backward()
            .get(&leaf)
            .unwrap();
        let v0: Tensor<Rank2<3, 1>, f64> = v.narrow::<1, 0, 1>();
        assert!(g.allclose(&v0.matmul(&v0.t()), 1e-14, 1e-15));
    }
    // e^(1e-150 A) = I + 1e-150 A to rounding: the identity, and A off the diagonal.
    let tiny = &s * 1e-150;
    let e = tiny.matrix_exp().unwrap();
    let eye = Tensor::<Rank1<3>, f64>::ones().diag();
    assert!(e.allclose(&eye, 0.0, 1e-16));
    assert!(
        (e.to_vec()[1] / tiny.to_vec()[1] - 1.0).abs() < 1e-14,
        "{e:?}"
    );
    // Huge: beyond the range when an eigenvalue is large and positive, 0 (exactly) when
    // all are large and negative.
    assert!(matches!(
        (&s * 1e150).matrix_exp(),
        Err(Error::Overflow {
            op: "matrix_exp",
            batch: None
        })
    ));
    assert_eq!((&s * -1e150).matrix_exp().unwrap().to_vec(), vec![0.0; 9]);
    // f32's range ends sooner: e^100 is finite in f64 only.
    assert!(Tensor::from_array([[100.0f64]]).matrix_exp().is_ok());
    assert!(matches!(
        Tensor::from_array([[100.0f32]]).matrix_exp(),
        Err(Error::Overflow { .. })
    ));
}

#[test]
fn matrix_exp_of_known_matrices() {
    // A rotation generator, a nilpotent matrix, a diagonal one.
    let t = 2.5f64;
    let rotation = Tensor::from_array([[0.0, t], [-t, 0.0]])
        .matrix_exp()
        .unwrap();
    let expected = Tensor::from_array([[t.cos(), t.sin()], [-t.sin(), t.cos()]]);
    assert!(rotation.allclose(&expected, 0.0, 1e-15));
    let nilpotent = Tensor::from_array([[0.0f64, 5.0], [0.0, 0.0]])
        .matrix_exp()
        .unwrap();
    assert_eq!(nilpotent.to_vec(), vec![1.0, 5.0, 0.0, 1.0]);
    // d/dt e^(A + tE) at a diagonal A = diag(a, b), E = e₀₁: (e^b - e^a) / (b - a).
    let a = Tensor::from_array([[1.0f64, 0.0], [0.0, 2.0]]);
    let e = Tensor::from_array([[0.0f64, 1.0], [0.0, 0.0]]);
    let (_, l) = func::try_jvp(|a| a.matrix_exp(), &a, &e).unwrap();
    let divided = 2f64.exp() - 1f64.exp();
    assert!((l.to_vec()[1] - divided).abs() < 1e-14, "{l:?}");
    // Batches: each matrix its own exponential; an overflow names its matrix.
    let batch = Tensor::from_array([[[0.0f64]], [[800.0]]]);
    assert!(matches!(
        batch.matrix_exp(),
        Err(Error::Overflow { batch: Some(1), .. })
    ));
}

#[test]
fn matrix_exp_of_a_scalar_is_its_exponential() {
    // Scaling and squaring amplifies the Padé approximant's error by at most the number
    // of squarings (5 at 20): a few ulps.
    for x in [
        -10.0f64, -3.0, -1.0, 0.5, 1.0, 2.0, 3.0, 5.0, 6.0, 10.0, 20.0,
    ] {
        let e = Tensor::from_array([[x]]).matrix_exp().unwrap().to_vec()[0];
        let error = (e / x.exp() - 1.0).abs();
        assert!(error < 1e-13, "exp({x}): relative error {error:e}");
    }
}

#[test]
fn phase_two_errors_read_well() {
    let e = Error::NoConvergence {
        op: "eigh",
        batch: Some(2),
        iterations: 50,
    };
    assert_eq!(
        e.to_string(),
        "eigh: matrix 2 of the batch: no convergence after 50 iterations (the eigenvalue iteration's bound)"
    );
    let e = Tensor::from_array([[800.0f64]]).matrix_exp().unwrap_err();
    assert_eq!(
        e.to_string(),
        "matrix_exp: the result overflows the element type's range"
    );
}

/// The free functions of `typegrad::linalg`, PyTorch's spelling, give the methods' values
/// and gradients (`cholesky_solve` in PyTorch's order: right-hand side, then factor).
#[test]
fn free_functions_match_the_methods() -> Result<(), Error> {
    use typegrad::linalg;
    let a = spd().track();
    let b = Tensor::<Rank1<3>, f64>::from_array([1.0, -2.0, 0.5]);
    let tall =
        Tensor::<Rank2<4, 2>, f64>::from_array([[1.0, 0.5], [0.2, 2.0], [-1.0, 0.3], [0.4, 0.4]]);
    let rhs = Tensor::<Rank1<4>, f64>::from_array([1.0, 2.0, 3.0, 4.0]);
    let l = a.cholesky()?;
    let same = |x: &Tensor<Rank1<3>, f64, Tracked>, y: &Tensor<Rank1<3>, f64, Tracked>| {
        x.allclose(y, 0.0, 0.0)
    };
    assert!(same(
        &linalg::solve_triangular(&l, &b, Triangle::Lower, Diagonal::Stored)?,
        &l.solve_triangular(&b, Triangle::Lower, Diagonal::Stored)?
    ));
    assert!(same(
        &linalg::cholesky_solve(&b, &l)?,
        &l.cholesky_solve(&b)?
    ));
    assert_eq!(linalg::logdet(&a)?.item(), a.logdet()?.item());
    let ((sign, log), (sign2, log2)) = (linalg::slogdet(&a)?, a.slogdet()?);
    assert_eq!((sign.item(), log.item()), (sign2.item(), log2.item()));
    let ((values, vectors), (values2, vectors2)) = (linalg::eigh(&a)?, a.eigh()?);
    assert!(same(&values, &values2) && vectors.allclose(&vectors2, 0.0, 0.0));
    assert!(same(&linalg::eigvalsh(&a)?, &a.eigvalsh()?));
    let ((q, r), (q2, r2)) = (linalg::qr(&tall)?, tall.qr()?);
    assert!(q.allclose(&q2, 0.0, 0.0) && r.allclose(&r2, 0.0, 0.0));
    assert!(linalg::lstsq(&tall, &rhs)?.allclose(&tall.lstsq(&rhs)?, 0.0, 0.0));
    assert!(linalg::matrix_exp(&a)?.allclose(&a.matrix_exp()?, 0.0, 0.0));
    // A gradient through a free function is the method's.
    let g = linalg::logdet(&a)?.backward().get(&a).unwrap();
    let g2 = a.logdet()?.backward().get(&a).unwrap();
    assert!(g.allclose(&g2, 0.0, 0.0));
    Ok(())
}
