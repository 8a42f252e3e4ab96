//! Symmetric positive-definite matrices: [`Tensor::cholesky`],
//! [`Tensor::cholesky_solve`], [`Tensor::logdet`] and the reusable factor [`Cholesky`].
//!
//! Rules for `L = chol(A)`, `A = L Lᵀ` (Murray, "Differentiation of the Cholesky
//! decomposition", arXiv:1602.07527; PyTorch's `cholesky_backward` and `cholesky_jvp`,
//! JAX's `_cholesky_jvp_rule`):
//! - VJP: `gA = L⁻ᵀ Φ(Lᵀ gL) L⁻¹` with `Φ(X) = ½ (tril(X) + tril(X, -1)ᵀ)`, by two
//!   triangular solves (never an inverse), then symmetrised exactly,
//!   `½ (gA + gAᵀ)`, so that the gradient is symmetric to the last bit;
//! - recorded: the same from recorded products, triangles, transposes and triangular
//!   solves (whose own rules give the third derivative);
//! - JVP: `dL = L π(L⁻¹ dA_s L⁻ᵀ)` with `π(X) = tril(X) - ½ diag(X)` and
//!   `dA_s = ½ (dA + dAᵀ)`.
//!
//! The forward reads the lower triangle only (LAPACK's `potrf`), so a matrix whose
//! upper triangle is junk factors the same. The gradient is PyTorch's symmetric one:
//! `dφ = ⟨gA, dA⟩` for every symmetric `dA`; with the symmetric part of the tangent in
//! forward mode, the VJP and the JVP are exactly adjoint, both being the derivatives of
//! `A ↦ chol((A + Aᵀ)/2)` (which is `chol` on symmetric matrices).

use super::kernels::{cholesky, cholesky_reciprocal_condition, norm1, triangular_solve, Part};
use super::recorded::{matmul, scale, transpose, triangle_of};
use super::structure::diagonal_var;
use super::triangular::{triangular_solve_var, TriangularShape};
use super::{
    add_into, check_condition, check_finite, identity, load, release, store, Dims, LinalgOp,
    PackedDims, Reads, RightHandSide, Scratch, SolveName, SquareMatrix, Threshold, Triangle,
};
use crate::element::Element;
use crate::error::Error;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{BinaryTape, Merge, Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;
use num_traits::Float;

/// The name of the triangular solves that the Cholesky rules and `cholesky_solve` record.
const SOLVE: SolveName = SolveName::Triangular;

/// The lower triangle, as the Cholesky input's finiteness check reads it.
const LOWER: Reads = Reads::Triangle {
    lower: true,
    unit: false,
};

/// A solve with the lower factor (`transpose`: with its transpose).
fn lower_solve(transpose: bool) -> TriangularShape {
    TriangularShape {
        triangle: Triangle::Lower,
        unit: false,
        transpose,
    }
}

/// A recorded Cholesky factorisation.
#[derive(Clone)]
pub(crate) struct CholeskyOp {
    l: Saved,
    packed: PackedDims,
}

/// The lower Cholesky factor of each matrix of `a` (lower triangles read), recorded;
/// `op` names the operation in errors.
pub(crate) fn cholesky_var<E: Element>(
    op: &'static str,
    a: Operand<'_, E>,
    dims: Dims,
) -> Result<Var<E>, Error> {
    let (n, matrix) = (dims.n, dims.matrix());
    let mut work = Scratch::new(matrix + dims.batch * matrix);
    let (af, l) = work.values().split_at_mut(matrix);
    for i in 0..dims.batch {
        load(&a.values()[i * matrix..(i + 1) * matrix], af);
        cholesky(af, n, &mut l[i * matrix..(i + 1) * matrix]).map_err(|order| {
            Error::NotPositiveDefinite {
                op,
                batch: dims.which(i),
                order,
            }
        })?;
    }
    let out = store::<E>(l);
    Ok(finish(out, [Some(a), None], |saver| {
        Op::Linalg(LinalgOp::Cholesky(CholeskyOp {
            l: saver.save_output(),
            packed: dims.pack(),
        }))
    }))
}

impl CholeskyOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        "LinalgCholeskyExBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let l_all = self.l.of(parents.saved);
        let Some(ga) = parents.get_mut(0) else { return };
        let (n, matrix) = (self.dims().n, self.dims().matrix());
        let mut work = Scratch::new(4 * matrix);
        let (l, rest) = work.values().split_at_mut(matrix);
        let (gl, rest) = rest.split_at_mut(matrix);
        let (phi, t) = rest.split_at_mut(matrix);
        for i in 0..self.dims().batch {
            load(&l_all[i * matrix..(i + 1) * matrix], l);
            load(&grad[i * matrix..(i + 1) * matrix], gl);
            // Φ(tril(Lᵀ gL)): P_rc = Σ_p L_pr gL_pc for r >= c (L_pr = 0 for p < r).
            for r in 0..n {
                for c in 0..=r {
                    let p_rc: f64 = (r..n).map(|p| l[p * n + r] * gl[p * n + c]).sum();
                    let half = 0.5 * p_rc;
                    phi[r * n + c] = half;
                    phi[c * n + r] = half;
                }
            }
            // S = L⁻ᵀ Φ, then G = L⁻ᵀ Sᵀ = L⁻ᵀ Φ L⁻¹ (Φ is symmetric).
            triangular_solve(l, n, Triangle::Lower, false, true, phi, n);
            transpose_into(phi, t, n);
            triangular_solve(l, n, Triangle::Lower, false, true, t, n);
            // Symmetric to the last bit: ½ (G + Gᵀ).
            transpose_into(t, phi, n);
            for (g, p) in t.iter_mut().zip(phi.iter()) {
                *g = 0.5 * (*g + *p);
            }
            add_into(&mut ga[i * matrix..(i + 1) * matrix], t);
        }
    }

    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        if !node.tracked(0) {
            return [None, None];
        }
        let Dims { batch, n, .. } = self.dims();
        let dims = Dims {
            k: n,
            ..self.dims()
        };
        let l = node.output(self.l);
        let p = triangle_of(&matmul(&l, g, batch, n, n, n, true, false), n, true, 0);
        let below = transpose(&triangle_of(&p, n, true, -1), batch, n, n);
        let phi = scale(&p.add(&below), 0.5);
        let s = triangular_solve_var(l.operand(), phi.operand(), dims, lower_solve(true), SOLVE);
        let st = transpose(&s, batch, n, n);
        let ga = triangular_solve_var(l.operand(), st.operand(), dims, lower_solve(true), SOLVE);
        let symmetric = scale(&ga.add(&transpose(&ga, batch, n, n)), 0.5);
        [Some(symmetric), None]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let l_all = self.l.of(saved);
        let Some(t) = tangents[0] else { return };
        let (n, matrix) = (self.dims().n, self.dims().matrix());
        let len = self.dims().batch * matrix;
        let mut work = Scratch::new(3 * matrix);
        let (l, rest) = work.values().split_at_mut(matrix);
        let (m, y) = rest.split_at_mut(matrix);
        for i in 0..self.dims().batch {
            load(&l_all[i * matrix..(i + 1) * matrix], l);
            for b in 0..batch {
                let da = &t[b * len + i * matrix..][..matrix];
                for r in 0..n {
                    for c in 0..n {
                        let (x, y) = (da[r * n + c].to_f64_exact(), da[c * n + r].to_f64_exact());
                        m[r * n + c] = 0.5 * (x + y);
                    }
                }
                // Z = L⁻¹ M L⁻ᵀ = L⁻¹ (L⁻¹ M)ᵀ, M symmetric.
                triangular_solve(l, n, Triangle::Lower, false, false, m, n);
                transpose_into(m, y, n);
                triangular_solve(l, n, Triangle::Lower, false, false, y, n);
                // dL = L π(Z): π keeps the lower triangle, the diagonal halved.
                let o = &mut out[b * len + i * matrix..][..matrix];
                for r in 0..n {
                    for c in 0..=r {
                        let s: f64 = (c..=r)
                            .map(|p| {
                                let pi = if p == c {
                                    0.5 * y[p * n + c]
                                } else {
                                    y[p * n + c]
                                };
                                l[r * n + p] * pi
                            })
                            .sum();
                        o[r * n + c] = o[r * n + c] + E::from_f64(s);
                    }
                }
            }
        }
    }

    pub(crate) fn recycle(self) {}
}

/// `out = mᵀ` for `n x n` matrices.
fn transpose_into(m: &[f64], out: &mut [f64], n: usize) {
    for r in 0..n {
        for c in 0..n {
            out[c * n + r] = m[r * n + c];
        }
    }
}

/// Refuses the first factor `L` whose `L Lᵀ` is singular to working precision; `norms`
/// gives `‖A‖₁` of matrix `i` where `A` is known, else it is estimated from `L`.
fn check_factor<E: Element>(
    op: &'static str,
    l: &[E],
    dims: Dims,
    threshold: f64,
    norms: impl Fn(usize, &mut [f64]) -> Option<f64>,
) -> Result<f64, Error> {
    let (n, matrix) = (dims.n, dims.matrix());
    let mut work = Scratch::new(2 * matrix + 3 * n);
    let (lf, rest) = work.values().split_at_mut(matrix);
    let (af, scratch) = rest.split_at_mut(matrix);
    let mut smallest: f64 = 1.0;
    for i in 0..dims.batch {
        load(&l[i * matrix..(i + 1) * matrix], lf);
        let zero = (0..n).find(|&d| lf[d * n + d] == 0.0);
        let norm = norms(i, af);
        let rcond = cholesky_reciprocal_condition(lf, n, norm, scratch);
        check_condition(op, dims, i, zero, rcond, threshold)?;
        smallest = smallest.min(rcond);
    }
    Ok(smallest)
}

/// `(L Lᵀ)⁻¹ B` by two recorded triangular solves (the second named as PyTorch's).
fn solve_with_factor<E: Element>(l: Operand<'_, E>, b: Operand<'_, E>, dims: Dims) -> Var<E> {
    let y = triangular_solve_var(l, b, dims, lower_solve(false), SOLVE);
    let x = triangular_solve_var(
        l,
        y.operand(),
        dims,
        lower_solve(true),
        SolveName::CholeskySolve,
    );
    release(y);
    x
}

/// `ln det A = 2 Σ ln Lᵢᵢ` for each factor, recorded.
///
/// One operation rather than a diagonal, a logarithm, a sum and a doubling: one node, and
/// no intermediate buffers.
fn logdet_from_factor<E: Element>(l: Operand<'_, E>, dims: Dims) -> Var<E> {
    let (n, values) = (dims.n, l.values());
    let data = Storage::collect(
        dims.batch,
        (0..dims.batch).map(|b| {
            let diagonal = |i: usize| values[b * n * n + i * n + i].to_f64_exact();
            E::from_f64(2.0 * crate::ops::reduce::sum_f64(n, |i| Float::ln(diagonal(i))))
        }),
    );
    finish(data, [Some(l), None], |saver| {
        Op::Linalg(LinalgOp::LogdetFromFactor(LogdetOp {
            l: saver.save(l.data),
            packed: dims.pack(),
        }))
    })
}

/// A recorded `2 Σ ln Lᵢᵢ` of a Cholesky factor: its VJP is `2 g / Lᵢᵢ` on the diagonal,
/// its JVP `2 Σ dLᵢᵢ / Lᵢᵢ`, its recorded VJP the same from a recorded diagonal (whose
/// own rules give the next derivative).
#[derive(Clone)]
pub(crate) struct LogdetOp {
    l: Saved,
    packed: PackedDims,
}

impl LogdetOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        "LogdetBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let l_all = self.l.of(parents.saved);
        let Some(gl) = parents.get_mut(0) else { return };
        let n = self.dims().n;
        for (b, &g) in grad.iter().enumerate() {
            for i in 0..n {
                let at = b * n * n + i * n + i;
                // (2 g) / L_ii: a quotient, not g · (2 / L_ii), as the crate's other
                // reciprocal partials.
                gl[at] = gl[at] + (g + g) / l_all[at];
            }
        }
    }

    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let gl = node.tracked(0).then(|| {
            let Dims { batch, n, .. } = self.dims();
            let l = node.input(0, self.l);
            let diagonal = diagonal_var(l.operand(), batch, n);
            let rows = super::recorded::per_matrix(g, batch, n);
            let on_diagonal = scale(&rows, 2.0).div(&diagonal);
            super::structure::diag_embed_var(on_diagonal.operand(), batch, n)
        });
        [gl, None]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let l_all = self.l.of(saved);
        let Some(t) = tangents[0] else { return };
        let Dims {
            batch: matrices, n, ..
        } = self.dims();
        let len = matrices * n * n;
        for k in 0..batch {
            for b in 0..matrices {
                let at = |i: usize| b * n * n + i * n + i;
                let s = crate::ops::reduce::sum_f64(n, |i| {
                    t[k * len + at(i)].to_f64_exact() / l_all[at(i)].to_f64_exact()
                });
                let o = &mut out[k * matrices + b];
                *o = *o + E::from_f64(2.0 * s);
            }
        }
    }

    pub(crate) fn recycle(self) {}
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The lower Cholesky factor `L` of a symmetric positive-definite matrix, `A = L Lᵀ`
    /// (PyTorch's `torch.linalg.cholesky`), of each matrix of a batch. Reads the lower
    /// triangle only; the gradient is symmetric (see the module's notes on symmetric
    /// input).
    ///
    /// # Errors
    /// - [`Error::NonFiniteInput`] if the lower triangle holds a NaN or an infinity;
    /// - [`Error::NotPositiveDefinite`] naming the leading minor of order `k` that is
    ///   not positive (JAX returns a matrix of NaN).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[4.0f64, 2.0], [2.0, 10.0]]);
    /// let l = a.cholesky()?;
    /// assert_eq!(l.to_array(), [[2.0, 0.0], [1.0, 3.0]]);
    /// let indefinite = Tensor::from_array([[1.0f64, 2.0], [2.0, 1.0]]);
    /// assert_eq!(
    ///     indefinite.cholesky().unwrap_err().to_string(),
    ///     "cholesky: the matrix is not positive-definite: the leading minor of order 2 is not positive"
    /// );
    /// # Ok::<(), Error>(())
    /// ```
    pub fn cholesky(&self) -> Result<Tensor<S, E, UnaryTape<T>>, Error>
    where
        S: SquareMatrix,
    {
        const OP: &str = "cholesky";
        check_finite(OP, "A", S::DIMS, self.as_slice(), S::N, LOWER)?;
        Ok(Tensor::from_var(cholesky_var(
            OP,
            self.operand(),
            Dims::of::<S>(S::N),
        )?))
    }

    /// `(L Lᵀ)⁻¹ B` for a lower Cholesky factor `L` (this tensor, read in its lower
    /// triangle): the solution of `A X = B` where `A = L Lᵀ` (PyTorch's
    /// `torch.cholesky_solve(B, L)`), by two triangular solves. Differentiable in `L`
    /// and `B`.
    ///
    /// # Errors
    /// - [`Error::NonFiniteInput`] if `L`'s lower triangle or `B` holds a NaN or infinity;
    /// - [`Error::SingularMatrix`] if `L Lᵀ` is singular to working precision (a zero
    ///   on `L`'s diagonal, or a reciprocal condition estimate below `N · ε`; see
    ///   [`Tensor::cholesky_solve_with`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[4.0f64, 2.0], [2.0, 10.0]]);
    /// let b = Tensor::from_array([8.0, 22.0]);
    /// let x = a.cholesky()?.cholesky_solve(&b)?;
    /// assert!(x.allclose(&a.solve(&b)?, 1e-14, 1e-14));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn cholesky_solve<SB: RightHandSide<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
    ) -> Result<Tensor<SB, E, BinaryTape<T, TB>>, Error>
    where
        S: SquareMatrix,
        T: Merge<TB>,
    {
        self.cholesky_solve_with(b, Threshold::Default)
    }

    /// [`Tensor::cholesky_solve`] with another threshold for refusing a nearly singular
    /// matrix. `‖L Lᵀ‖₁` is estimated from `L` (as `‖(L Lᵀ)⁻¹‖₁` is).
    ///
    /// # Errors
    /// As [`Tensor::cholesky_solve`].
    pub fn cholesky_solve_with<SB: RightHandSide<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
        threshold: Threshold,
    ) -> Result<Tensor<SB, E, BinaryTape<T, TB>>, Error>
    where
        S: SquareMatrix,
        T: Merge<TB>,
    {
        const OP: &str = "cholesky_solve";
        check_finite(OP, "L", S::DIMS, self.as_slice(), S::N, LOWER)?;
        check_finite(OP, "B", SB::DIMS, b.as_slice(), SB::COLUMNS, Reads::All)?;
        let dims = Dims::of::<S>(SB::COLUMNS);
        let min = threshold.checked::<E>(OP, S::N)?;
        check_factor(OP, self.as_slice(), dims, min, |_, _| None)?;
        Ok(Tensor::from_var(solve_with_factor(
            self.operand(),
            b.operand(),
            dims,
        )))
    }

    /// `ln det A` of a symmetric positive-definite matrix (of each of a batch), as
    /// `2 Σ ln Lᵢᵢ` through its Cholesky factor: no overflow however large the
    /// determinant. Its gradient is `A⁻¹` (symmetric, as for [`Tensor::cholesky`]).
    /// (`D`, inferred, is `Rank0`, or `Rank1<B>` for a batch.)
    ///
    /// # Errors
    /// As [`Tensor::cholesky`]: a matrix that is not positive-definite has no real
    /// `ln det` this way (use [`Tensor::slogdet`] for any matrix).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[4.0f64, 2.0], [2.0, 10.0]]).track();
    /// let logdet = a.logdet()?;
    /// assert!((logdet.item() - 36f64.ln()).abs() < 1e-14);
    /// let g = logdet.backward().get(&a).unwrap();
    /// let inverse = [[10.0 / 36.0, -2.0 / 36.0], [-2.0 / 36.0, 4.0 / 36.0]];
    /// assert!(g.allclose(&Tensor::from_array(inverse), 1e-14, 1e-15));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn logdet<D: Shape>(&self) -> Result<Tensor<D, E, UnaryTape<T>>, Error>
    where
        S: SquareMatrix<PerMatrix = D>,
    {
        let l = self.cholesky()?;
        Ok(Tensor::from_var(logdet_from_factor(
            l.operand(),
            Dims::of::<S>(S::N),
        )))
    }
}

/// The Cholesky factorisation `A = L Lᵀ` of a symmetric positive-definite matrix (or
/// of each of a batch), kept to solve several systems, take the log-determinant or the
/// inverse from one factorisation (nalgebra's `Cholesky`). Every result is
/// differentiable in `A` through the factor.
///
/// `T` is the factor's tape: `Tracked` when `A` is.
///
/// ```
/// use typegrad::linalg::Cholesky;
/// use typegrad::prelude::*;
/// // A Gaussian's negative log-likelihood, up to a constant: ½ (yᵀ K⁻¹ y + ln det K).
/// let k = Tensor::from_array([[2.0f64, 0.5], [0.5, 1.0]]).track();
/// let y = Tensor::from_array([1.0, -1.0]);
/// let chol = Cholesky::new(&k)?;
/// let nll = (y.dot(&chol.solve(&y)?) + chol.logdet()) * 0.5;
/// let g = nll.backward().get(&k).unwrap();
/// // ½ (K⁻¹ - K⁻¹ y yᵀ K⁻¹), symmetric.
/// assert!((g.to_vec()[1] - g.to_vec()[2]).abs() < 1e-15);
/// # Ok::<(), Error>(())
/// ```
pub struct Cholesky<S: SquareMatrix, E: Element, T: Tape> {
    l: Tensor<S, E, T>,
    rcond: f64,
}

impl<S: SquareMatrix, E: Element, T: Tape> Cholesky<S, E, T> {
    /// Factors `a` (its lower triangle), refusing a matrix that is not positive-definite
    /// or is singular to working precision.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] and [`Error::NotPositiveDefinite`] as
    /// [`Tensor::cholesky`]; [`Error::SingularMatrix`] below the default threshold
    /// ([`Threshold`]), with `‖A‖₁` computed from `A`.
    pub fn new<TA: Tape<Plain = T>>(a: &Tensor<S, E, TA>) -> Result<Self, Error> {
        Self::new_with(a, Threshold::Default)
    }

    /// [`Cholesky::new`] with another threshold for refusing a nearly singular matrix.
    ///
    /// # Errors
    /// As [`Cholesky::new`].
    pub fn new_with<TA: Tape<Plain = T>>(
        a: &Tensor<S, E, TA>,
        threshold: Threshold,
    ) -> Result<Self, Error> {
        const OP: &str = "Cholesky::new";
        check_finite(OP, "A", S::DIMS, a.as_slice(), S::N, LOWER)?;
        let dims = Dims::of::<S>(S::N);
        let l: Tensor<S, E, T> = Tensor::from_var(cholesky_var(OP, a.operand(), dims)?);
        let (n, matrix) = (dims.n, dims.matrix());
        let values = a.as_slice();
        let rcond = check_factor(
            OP,
            l.as_slice(),
            dims,
            threshold.checked::<E>(OP, n)?,
            |i, af| {
                load(&values[i * matrix..(i + 1) * matrix], af);
                Some(norm1(af, n, Part::SymmetricLower))
            },
        )?;
        Ok(Cholesky { l, rcond })
    }

    /// The lower factor `L`.
    pub fn factor(&self) -> &Tensor<S, E, T> {
        &self.l
    }

    /// The smallest reciprocal condition estimate `1 / (‖A‖₁ ‖A⁻¹‖₁)` of the matrices.
    pub fn rcond(&self) -> f64 {
        self.rcond
    }

    /// The solution of `A X = B`, differentiable in `A` (through `L`) and `B`.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] if `B` holds a NaN or an infinity.
    pub fn solve<SB: RightHandSide<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
    ) -> Result<Tensor<SB, E, BinaryTape<T, TB>>, Error>
    where
        T: Merge<TB>,
    {
        check_finite(
            "Cholesky::solve",
            "B",
            SB::DIMS,
            b.as_slice(),
            SB::COLUMNS,
            Reads::All,
        )?;
        let dims = Dims::of::<S>(SB::COLUMNS);
        Ok(Tensor::from_var(solve_with_factor(
            self.l.operand(),
            b.operand(),
            dims,
        )))
    }

    /// `A⁻¹`, differentiable in `A`.
    pub fn inverse(&self) -> Tensor<S, E, UnaryTape<T>> {
        let dims = Dims::of::<S>(S::N);
        let eye = identity::<E>(dims.batch, dims.n);
        let inverse = solve_with_factor(self.l.operand(), eye.operand(), dims);
        release(eye);
        Tensor::from_var(inverse)
    }

    /// `ln det A = 2 Σ ln Lᵢᵢ`, differentiable in `A`.
    pub fn logdet(&self) -> Tensor<S::PerMatrix, E, UnaryTape<T>> {
        Tensor::from_var(logdet_from_factor(self.l.operand(), Dims::of::<S>(S::N)))
    }
}

#[cfg(test)]
mod tests {
    use crate::linalg::Cholesky;
    use crate::prelude::*;

    #[test]
    fn batches_name_the_failing_matrix_and_minor() {
        let a = Tensor::from_array([
            [[4.0f64, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            [[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 2.0, 1.0]],
        ]);
        assert_eq!(
            a.cholesky().unwrap_err(),
            Error::NotPositiveDefinite {
                op: "cholesky",
                batch: Some(1),
                order: 3
            }
        );
        let nan = Tensor::from_array([[1.0f64, f64::NAN], [0.5, 1.0]]);
        // The upper triangle is not read.
        assert!(nan.cholesky().is_ok());
        let nan = Tensor::from_array([[1.0f64, 0.5], [f64::NAN, 1.0]]);
        assert!(matches!(
            nan.cholesky(),
            Err(Error::NonFiniteInput { argument: "A", .. })
        ));
    }

    #[test]
    fn factor_value_serves_every_use() {
        let a = Tensor::from_array([[4.0f64, 2.0], [2.0, 10.0]]).track();
        let c = Cholesky::new(&a).unwrap();
        assert!((c.rcond() - 0.25).abs() < 1e-12);
        assert!(c.logdet().allclose(&Tensor::full(36f64.ln()), 1e-14, 0.0));
        let inverse = c.inverse();
        assert!(inverse.allclose(&a.inv().unwrap(), 1e-14, 1e-15));
        assert_eq!(
            c.factor().grad_fn().unwrap().name(),
            "LinalgCholeskyExBackward0"
        );
        let x = c.solve(&Tensor::from_array([8.0, 22.0])).unwrap();
        assert_eq!(x.grad_fn().unwrap().name(), "CholeskySolveBackward0");
        let nearly = Tensor::from_array([[1.0f64, 1.0], [1.0, 1.0 + 1e-15]]);
        assert!(matches!(
            Cholesky::new(&nearly),
            Err(Error::SingularMatrix { .. })
        ));
    }
}
