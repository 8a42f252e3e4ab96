//! Property tests of the linear-algebra operations (`typegrad::linalg`): all three
//! derivative rules of each (backward, forward mode and the recorded backward, through
//! the shared `check`: gradcheck, jvpcheck and gradgradcheck against central finite
//! differences) on random well-conditioned inputs, single and batched, with the
//! operands tracked together, one at a time, and as interior values.
//!
//! Well-conditioned inputs are built inside the checked function, so that the check
//! differentiates through the construction: a general matrix as `M + (N + 1) I`
//! (diagonally dominant), a symmetric positive-definite one as `B Bᵀ + I` or
//! `(M + Mᵀ)/2 + (N + 1) I`. Cholesky's gradient is symmetric (PyTorch's convention), the
//! derivative with respect to symmetric perturbations, so it is checked through these
//! symmetric constructions (as PyTorch's own tests do), never on a raw matrix.
//!
//! Then `f32`: values and gradients of `f32` inputs against the same computation in
//! `f64`, within `f32`'s precision.

use proptest::prelude::*;
use typegrad::linalg::{Cholesky, Diagonal, Lu, Matrix, SquareMatrix, Triangle};
use typegrad::prelude::*;

use crate::prop_ops::{check, for_pairs, for_shapes, property, range, t, Tr};

/// Cases per property: each checks a dozen shapes and forms, each with second
/// derivatives by finite differences.
const CASES: u32 = 12;

/// Entries of the raw matrices and right-hand sides.
fn entries(n: usize) -> impl Strategy<Value = Vec<f64>> {
    range(n, -1.0, 1.0)
}

/// `c I`, in every matrix of a batch.
fn scaled_identity<S: SquareMatrix>(c: f64) -> Tensor<S, f64> {
    Tensor::from_fn(|i| {
        let within = i % (S::N * S::N);
        if within / S::N == within % S::N {
            c
        } else {
            0.0
        }
    })
}

/// `M + (N + 1) I`: diagonally dominant, so well-conditioned.
fn dominant<S: SquareMatrix, T: Tape>(m: &Tensor<S, f64, T>) -> Tensor<S, f64, UnaryTape<T>> {
    m + &scaled_identity::<S>(S::N as f64 + 1.0)
}

/// `B Bᵀ + I`: symmetric positive-definite.
fn gram<const N: usize, T: Tape>(
    b: &Tensor<Rank2<N, N>, f64, T>,
) -> Tensor<Rank2<N, N>, f64, UnaryTape<T>> {
    b.matmul(&b.t()) + &scaled_identity::<Rank2<N, N>>(1.0)
}

/// `B Bᵀ + I` for each matrix of a batch.
fn gram_batch<const B: usize, const N: usize>(b: &Tr<Rank3<B, N, N>>) -> Tr<Rank3<B, N, N>> {
    b.matmul(&b.permute::<0, 2, 1>()) + &scaled_identity::<Rank3<B, N, N>>(1.0)
}

/// `(M + Mᵀ)/2 + (N + 1) I`: symmetric, positive-definite by dominance.
fn symmetric<const N: usize>(m: &Tr<Rank2<N, N>>) -> Tr<Rank2<N, N>> {
    (m + &m.t()) * 0.5 + &scaled_identity::<Rank2<N, N>>(N as f64 + 1.0)
}

/// A lower-triangular factor with a positive diagonal, from any matrix: its lower
/// triangle, with `1 + |mᵢᵢ|` on the diagonal (the upper triangle is zero, as
/// `cholesky` gives it).
fn lower_factor<const N: usize, T: Tape>(
    m: &Tensor<Rank2<N, N>, f64, T>,
) -> Tensor<Rank2<N, N>, f64, UnaryTape<T>> {
    let diagonal = m.abs() * &scaled_identity::<Rank2<N, N>>(1.0);
    m.tril(-1) + diagonal + &scaled_identity::<Rank2<N, N>>(1.0)
}

/// `solve` with vector and matrix right-hand sides, single and batched.
#[test]
fn solve_gradient() {
    property(CASES, (entries(18), entries(12)), &|(a, b)| {
        for_pairs!(a, b, |a, b| dominant(a).solve(b).unwrap();
            (Rank2<1, 1>, Rank1<1>),
            (Rank2<3, 3>, Rank1<3>),
            (Rank2<3, 3>, Rank2<3, 2>),
            (Rank2<4, 4>, Rank2<4, 3>),
            (Rank3<2, 3, 3>, Rank2<2, 3>),
            (Rank3<2, 3, 3>, Rank3<2, 3, 2>),
        );
        Ok(())
    });
}

/// `inv`, single and batched, alone and inside a product.
#[test]
fn inverse_gradient() {
    property(CASES, entries(18), &|m| {
        for_shapes!(m, |a| dominant(a).inv().unwrap();
            Rank2<1, 1>, Rank2<2, 2>, Rank2<4, 4>, Rank3<2, 3, 3>);
        for_shapes!(m, |a| dominant(a).inv().unwrap().matmul(a); Rank2<3, 3>);
        Ok(())
    });
}

/// `solve_triangular`: both triangles, stored and unit diagonals, the other triangle
/// holding values that must not matter (its gradient is zero, which gradcheck checks
/// against the finite differences of the elements that are not read).
#[test]
fn triangular_solve_gradient() {
    property(CASES, (entries(18), entries(12)), &|(a, b)| {
        for triangle in [Triangle::Lower, Triangle::Upper] {
            for diagonal in [Diagonal::Stored, Diagonal::Unit] {
                for_pairs!(a, b, |t, b| dominant(t).solve_triangular(b, triangle, diagonal).unwrap();
                    (Rank2<1, 1>, Rank1<1>),
                    (Rank2<3, 3>, Rank1<3>),
                    (Rank2<3, 3>, Rank2<3, 2>),
                    (Rank3<2, 3, 3>, Rank3<2, 3, 2>),
                );
            }
        }
        Ok(())
    });
}

/// `cholesky` of `B Bᵀ + I` and of `(M + Mᵀ)/2 + (N + 1) I`, single and batched; and
/// with the factor inside a further computation.
#[test]
fn cholesky_gradient() {
    property(CASES, entries(18), &|m| {
        for_shapes!(m, |b| gram(b).cholesky().unwrap(); Rank2<1, 1>, Rank2<3, 3>, Rank2<4, 4>);
        for_shapes!(m, |b| symmetric(b).cholesky().unwrap(); Rank2<2, 2>, Rank2<3, 3>);
        for_shapes!(m, |b| gram_batch(b).cholesky().unwrap(); Rank3<2, 3, 3>);
        for_shapes!(m, |b| gram(b).cholesky().unwrap().sin().sum(); Rank2<3, 3>);
        Ok(())
    });
}

/// `cholesky_solve` with a factor given directly (its lower triangle read) and with one
/// computed by `cholesky`.
#[test]
fn cholesky_solve_gradient() {
    property(CASES, (entries(16), entries(8)), &|(a, b)| {
        for_pairs!(a, b, |l, b| lower_factor(l).cholesky_solve(b).unwrap();
            (Rank2<1, 1>, Rank1<1>),
            (Rank2<3, 3>, Rank1<3>),
            (Rank2<4, 4>, Rank2<4, 2>),
        );
        for_pairs!(a, b, |m, b| gram(m).cholesky().unwrap().cholesky_solve(b).unwrap();
            (Rank2<3, 3>, Rank2<3, 2>),
        );
        Ok(())
    });
}

/// `det` anywhere (a polynomial), `slogdet` and `logdet` away from singular matrices.
#[test]
fn determinant_gradients() {
    property(CASES, entries(18), &|m| {
        for_shapes!(m, |a| a.det().unwrap();
            Rank2<1, 1>, Rank2<2, 2>, Rank2<3, 3>, Rank2<4, 4>, Rank3<2, 3, 3>);
        for_shapes!(m, |a| dominant(a).slogdet().unwrap().1;
            Rank2<1, 1>, Rank2<3, 3>, Rank3<2, 3, 3>);
        // A negative determinant: the logarithm of its magnitude.
        for_shapes!(m, |a| (dominant(a) * -1.0).slogdet().unwrap().1; Rank2<3, 3>);
        for_shapes!(m, |b| gram(b).logdet().unwrap(); Rank2<1, 1>, Rank2<3, 3>, Rank2<4, 4>);
        for_shapes!(m, |b| gram_batch(b).logdet().unwrap(); Rank3<2, 3, 3>);
        for_shapes!(m, |b| symmetric(b).logdet().unwrap(); Rank2<3, 3>);
        Ok(())
    });
}

/// The factor values: every result differentiable in the matrix.
#[test]
fn factor_value_gradients() {
    property(CASES, (entries(9), entries(6)), &|(a, b)| {
        for_pairs!(a, b, |a, b| Lu::new(&dominant(a)).unwrap().solve(b).unwrap();
            (Rank2<3, 3>, Rank2<3, 2>));
        for_shapes!(a, |a| Lu::new(&dominant(a)).unwrap().inverse(); Rank2<3, 3>);
        for_shapes!(a, |a| Lu::new(&dominant(a)).unwrap().det(); Rank2<3, 3>);
        for_shapes!(a, |a| Lu::new(&dominant(a)).unwrap().slogdet().1; Rank2<3, 3>);
        for_pairs!(a, b, |m, b| Cholesky::new(&gram(m)).unwrap().solve(b).unwrap();
            (Rank2<3, 3>, Rank2<3, 2>));
        for_shapes!(a, |m| Cholesky::new(&gram(m)).unwrap().inverse(); Rank2<3, 3>);
        for_shapes!(a, |m| Cholesky::new(&gram(m)).unwrap().logdet(); Rank2<3, 3>);
        Ok(())
    });
}

/// `trace`, `diagonal`, `diag` and `outer`.
#[test]
fn structure_gradients() {
    property(CASES, (entries(18), entries(4)), &|(a, b)| {
        for_shapes!(a, |m| m.trace(); Rank2<1, 1>, Rank2<3, 3>, Rank3<2, 3, 3>);
        for_shapes!(a, |m| m.diagonal(); Rank2<3, 3>, Rank3<2, 3, 3>);
        for_shapes!(a, |m| (m * m).trace(); Rank2<3, 3>);
        for_shapes!(a, |v| v.diag(); Rank1<1>, Rank1<4>);
        for_shapes!(a, |v| v.diag().matmul(&v.diag()); Rank1<3>);
        for_pairs!(a, b, |u, v| u.outer(v); (Rank1<3>, Rank1<4>), (Rank1<1>, Rank1<2>));
        Ok(())
    });
}

/// The `f32` forms: values and gradients against the same computation in `f64`.
#[test]
fn f32_matches_f64() {
    property(CASES, (entries(16), entries(4)), &|(m, b)| {
        let m64: Tensor<Rank2<4, 4>, f64> = t(&m);
        let b64: Tensor<Rank1<4>, f64> = t(&b);
        let m32 = m64.cast::<f32>();
        let b32 = b64.cast::<f32>();
        let close = |x: &[f32], y: &[f64], what: &str| -> Result<(), TestCaseError> {
            for (i, (&x, &y)) in x.iter().zip(y).enumerate() {
                let tolerance = 1e-5 * (1.0 + y.abs());
                prop_assert!(
                    (f64::from(x) - y).abs() <= tolerance,
                    "{what}, element {i}: f32 {x} against f64 {y}"
                );
            }
            Ok(())
        };
        macro_rules! compare {
            ($what:literal, |$m:ident, $b:ident| $body:expr) => {{
                let value64 = {
                    let ($m, $b) = (m64.track(), &b64);
                    let out = $body;
                    let g = out.sum().backward().get(&$m).unwrap();
                    (out.to_vec(), g.to_vec())
                };
                let value32 = {
                    let ($m, $b) = (m32.track(), &b32);
                    let out = $body;
                    let g = out.sum().backward().get(&$m).unwrap();
                    (out.to_vec(), g.to_vec())
                };
                close(&value32.0, &value64.0, concat!($what, ", value"))?;
                close(&value32.1, &value64.1, concat!($what, ", gradient"))?;
            }};
        }
        compare!("solve", |m, b| (&m
            + &Tensor::<Rank2<4, 4>, _>::from_fn(|i| if i % 5 == 0 {
                5.0
            } else {
                0.0
            }))
            .solve(b)
            .unwrap());
        compare!("cholesky", |m, b| {
            let _ = b;
            (m.matmul(&m.t())
                + &Tensor::<Rank2<4, 4>, _>::from_fn(|i| if i % 5 == 0 { 1.0 } else { 0.0 }))
                .cholesky()
                .unwrap()
        });
        compare!("det", |m, b| {
            let _ = b;
            m.det().unwrap()
        });
        compare!("inv", |m, b| {
            let _ = b;
            (&m + &Tensor::<Rank2<4, 4>, _>::from_fn(|i| if i % 5 == 0 { 5.0 } else { 0.0 }))
                .inv()
                .unwrap()
        });
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Phase 2: eigh, eigvalsh, qr, lstsq, matrix_exp
// ---------------------------------------------------------------------------------------

/// `diag(0, 2N + 1, 2(2N + 1), ...)` in every matrix of a batch.
fn spread<S: SquareMatrix>() -> Tensor<S, f64> {
    Tensor::from_fn(|i| {
        let within = i % (S::N * S::N);
        let (r, c) = (within / S::N, within % S::N);
        if r == c {
            (r * (2 * S::N + 1)) as f64
        } else {
            0.0
        }
    })
}

/// A symmetric matrix whose eigenvalues are at least 1 apart: `(M + Mᵀ)/2` (eigenvalues
/// within `±N` of 0, `M`'s entries in [-1, 1]) plus [`spread`], so that the
/// eigenvectors are well-conditioned and each has one dominant element (its sign
/// convention cannot flip within a finite-difference step).
fn separated<const N: usize>(m: &Tr<Rank2<N, N>>) -> Tr<Rank2<N, N>> {
    (m + &m.t()) * 0.5 + &spread::<Rank2<N, N>>()
}

/// [`separated`] for each matrix of a batch.
fn separated_batch<const B: usize, const N: usize>(m: &Tr<Rank3<B, N, N>>) -> Tr<Rank3<B, N, N>> {
    (m + &m.permute::<0, 2, 1>()) * 0.5 + &spread::<Rank3<B, N, N>>()
}

/// `c` on the diagonal (`i == j`) of every `M x N` matrix of a batch.
fn tall_identity<S: Matrix>(c: f64) -> Tensor<S, f64> {
    Tensor::from_fn(|i| {
        let within = i % (S::ROWS * S::COLS);
        if within / S::COLS == within % S::COLS {
            c
        } else {
            0.0
        }
    })
}

/// `M + (N + 1) I` for a tall `M x N` matrix: full column rank, well-conditioned.
fn tall<S: Matrix, T: Tape>(m: &Tensor<S, f64, T>) -> Tensor<S, f64, UnaryTape<T>> {
    m + &tall_identity::<S>(S::COLS as f64 + 1.0)
}

/// `eigvalsh` and both results of `eigh`, single and batched, through the symmetric
/// construction (the gradient is symmetric: PyTorch's convention), alone and inside a
/// further computation of both results.
#[test]
fn eigh_gradient() {
    property(CASES, entries(18), &|m| {
        for_shapes!(m, |a| separated(a).eigvalsh().unwrap();
            Rank2<1, 1>, Rank2<2, 2>, Rank2<3, 3>, Rank2<4, 4>);
        for_shapes!(m, |a| separated_batch(a).eigvalsh().unwrap(); Rank3<2, 3, 3>);
        for_shapes!(m, |a| separated(a).eigh().unwrap().1;
            Rank2<1, 1>, Rank2<2, 2>, Rank2<3, 3>, Rank2<4, 4>);
        for_shapes!(m, |a| separated_batch(a).eigh().unwrap().1; Rank3<2, 3, 3>);
        for_shapes!(m, |a| {
            let (values, vectors) = separated(a).eigh().unwrap();
            (vectors.sin() * values.broadcast::<Rank2<3, 3>>()).sum()
        }; Rank2<3, 3>);
        Ok(())
    });
}

/// Both factors of `qr`, square and tall, single and batched, and a function of both.
#[test]
fn qr_gradient() {
    property(CASES, entries(24), &|m| {
        for_shapes!(m, |a| tall(a).qr().unwrap().0;
            Rank2<1, 1>, Rank2<3, 2>, Rank2<3, 3>, Rank2<5, 3>, Rank3<2, 3, 2>);
        for_shapes!(m, |a| tall(a).qr().unwrap().1;
            Rank2<1, 1>, Rank2<3, 2>, Rank2<3, 3>, Rank2<5, 3>, Rank3<2, 3, 2>);
        for_shapes!(m, |a| {
            let (q, r) = tall(a).qr().unwrap();
            q.matmul(&r.sin()).sum()
        }; Rank2<4, 2>);
        Ok(())
    });
}

/// `lstsq` with vector and matrix right-hand sides, square and tall, single and
/// batched.
#[test]
fn lstsq_gradient() {
    property(CASES, (entries(12), entries(12)), &|(a, b)| {
        for_pairs!(a, b, |a, b| tall(a).lstsq(b).unwrap();
            (Rank2<1, 1>, Rank1<1>),
            (Rank2<3, 2>, Rank1<3>),
            (Rank2<3, 3>, Rank2<3, 2>),
            (Rank2<4, 3>, Rank2<4, 2>),
            (Rank3<2, 3, 2>, Rank2<2, 3>),
            (Rank3<2, 3, 2>, Rank3<2, 3, 2>),
        );
        Ok(())
    });
}

/// `matrix_exp` at norms that take each Padé degree and some squarings, single and
/// batched, and inside a product.
#[test]
fn matrix_exp_gradient() {
    property(CASES, entries(18), &|m| {
        for_shapes!(m, |a| a.matrix_exp().unwrap();
            Rank2<1, 1>, Rank2<2, 2>, Rank2<3, 3>, Rank2<4, 4>, Rank3<2, 3, 3>);
        for_shapes!(m, |a| (a * 0.01).matrix_exp().unwrap(); Rank2<3, 3>);
        for_shapes!(m, |a| (a * 3.0).matrix_exp().unwrap(); Rank2<3, 3>);
        for_shapes!(m, |a| a.matrix_exp().unwrap().matmul(a).sum(); Rank2<3, 3>);
        Ok(())
    });
}

/// The `f32` forms of the phase-2 operations against the same computation in `f64`:
/// values and gradients within `f32`'s precision.
#[test]
fn phase_two_f32_agrees_with_f64() {
    property(CASES, entries(12), &|m| {
        let a = t::<Rank2<3, 3>>(&m);
        let tall_a = tall(&t::<Rank2<4, 3>>(&m));
        let b = t::<Rank1<4>>(&m[8..]);
        let close = |x: &Tensor<Rank2<3, 3>, f32>,
                     y: &Tensor<Rank2<3, 3>, f64>,
                     what: &str|
         -> Result<(), TestCaseError> {
            prop_assert!(
                x.cast::<f64>().allclose(y, 1e-4, 1e-4),
                "{what}: {x:?} against {y:?}"
            );
            Ok(())
        };
        let sym = separated(&a.track()).no_grad();
        let (s64, s32) = (sym.track(), sym.cast::<f32>().track());
        let (l64, v64) = s64.eigh().unwrap();
        let (l32, v32) = s32.eigh().unwrap();
        prop_assert!(l32.cast::<f64>().allclose(&l64.no_grad(), 1e-5, 1e-5));
        let g64 = (v64.sin().sum() + l64.sum()).backward().get(&s64).unwrap();
        let g32 = (v32.sin().sum() + l32.sum()).backward().get(&s32).unwrap();
        close(&g32, &g64, "eigh")?;
        let (a64, a32) = (a.track(), a.cast::<f32>().track());
        let e64 = a64.matrix_exp().unwrap();
        let e32 = a32.matrix_exp().unwrap();
        close(&e32.no_grad(), &e64.no_grad(), "matrix_exp")?;
        let g64 = e64.sin().sum().backward().get(&a64).unwrap();
        let g32 = e32.sin().sum().backward().get(&a32).unwrap();
        close(&g32, &g64, "matrix_exp gradient")?;
        let (t64, t32) = (tall_a.track(), tall_a.cast::<f32>().track());
        let (x64, x32) = (t64.lstsq(&b).unwrap(), t32.lstsq(&b.cast::<f32>()).unwrap());
        prop_assert!(x32.cast::<f64>().allclose(&x64.no_grad(), 1e-4, 1e-4));
        let g64 = x64.sum().backward().get(&t64).unwrap();
        let g32 = x32.sum().backward().get(&t32).unwrap();
        prop_assert!(g32.cast::<f64>().allclose(&g64, 1e-4, 1e-4), "lstsq");
        let (q64, r64) = t64.qr().unwrap();
        let (q32, r32) = t32.qr().unwrap();
        let g64 = (q64.sin().sum() + r64.sum()).backward().get(&t64).unwrap();
        let g32 = (q32.sin().sum() + r32.sum()).backward().get(&t32).unwrap();
        prop_assert!(g32.cast::<f64>().allclose(&g64, 1e-4, 1e-4), "qr");
        Ok(())
    });
}
