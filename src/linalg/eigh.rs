//! Symmetric eigendecompositions: [`Tensor::eigh`] and [`Tensor::eigvalsh`].
//!
//! `A = V diag(λ) Vᵀ` with `λ` ascending and `V` orthonormal, by cyclic Jacobi in `f64`
//! (`kernels::eigen`). The forward reads the lower triangle only (PyTorch's default
//! `UPLO='L'`, LAPACK's `syevd`); the gradient is symmetric and the forward mode takes a
//! tangent's symmetric part, as for Cholesky (the module's notes on symmetric input).
//!
//! The two results are two records on the graph with one input, `A`, sharing one
//! decomposition: the gradient is linear in `(gλ, gV)`, so the eigenvalues' part and the
//! eigenvectors' part add up to PyTorch's `linalg_eig_backward` whichever results the
//! loss reads. Rules (Giles, "An extended collection of matrix derivative results",
//! 2008, §3.1; Magnus 1985; PyTorch's `linalg_eig_backward` and `linalg_eig_jvp`, JAX's
//! `_eigh_jvp_rule`), with `E_kl = λ_l - λ_k` and `F_kl = 1 / E_kl` off the diagonal:
//! - eigenvalues: VJP `gA = V diag(gλ) Vᵀ`; JVP `dλ_k = v_kᵀ dA v_k`; recorded: the same
//!   from a recorded `V` (the eigenvectors' record), whose own rules give the next
//!   derivative. Finite for every matrix, repeated eigenvalues included.
//! - eigenvectors: VJP `gA = V (F ∘ S) Vᵀ` with `S = ½ (Vᵀ gV - gVᵀ V)` (the part of
//!   `Vᵀ gV` that changes the loss: a rotation of the basis); JVP `dV = V (F ∘ P)` with
//!   `P = Vᵀ dA_s V`; recorded: the same from recorded `V` and `λ`, `F` a recorded
//!   quotient.
//!
//! Repeated eigenvalues: `λ_k` and `λ_l` count as repeated when
//! `|λ_k - λ_l| <= N ε ‖A‖₂` (`ε` of the element type, `‖A‖₂ = max |λ|`): closer than
//! that, the two are indistinguishable at working precision, and their eigenvectors are
//! any orthonormal basis of their plane, not a function of `A`. There `F_kl` is 0 if
//! the incoming gradient vanishes on that plane (`(Vᵀ gV)_kl` and `(Vᵀ gV)_lk` both at
//! most `N ε max |Vᵀ gV|`: the loss does not read those eigenvectors), and NaN
//! otherwise, so that the unchecked backward gives NaN in the gradient, never a finite
//! wrong number, and the checked backward reports `LinalgEighBackward0`. NaN even where
//! a finite limit exists: a loss of `V diag(f(λ)) Vᵀ` has `S_kl = 0` at the repeated
//! pair, but its limit `S_kl / E_kl` (the divided difference of `f`) is not 0 and
//! cannot be computed from values at the point. The JVP does the same with `P_kl`
//! (a tangent that does not split the plane has `P_kl = 0`).
//!
//! At repeated eigenvalues the eigenvalues themselves are continuous but not
//! differentiable (they split along most directions): their VJP and JVP there are those
//! of the eigenvalues along the returned basis, finite (PyTorch's and JAX's are the
//! same), and their second derivatives, which need how the eigenvectors turn, are NaN.

use alloc::sync::Arc;

use super::kernels::dense::{product, symmetrize};
use super::kernels::eigen::{eigen_work_len, symmetric_eigen};
use super::recorded::{matmul, scale, transpose};
use super::structure::diag_embed_var;
use super::{
    add_into, check_finite, load, store, Dims, LinalgOp, PackedDims, Reads, Scratch, SquareMatrix,
};
use crate::element::Element;
use crate::error::Error;
use crate::ops::layout::gather;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::{pool, Tensor};

/// The lower triangle, as the finiteness check reads it.
const LOWER: Reads = Reads::Triangle {
    lower: true,
    unit: false,
};

/// PyTorch's name for both records.
const NAME: &str = "LinalgEighBackward0";

/// Which result a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Values,
    Vectors,
}

/// A recorded half of a symmetric eigendecomposition.
#[derive(Clone)]
pub(crate) struct EighOp {
    /// Per matrix, `n` eigenvalues then the `n x n` eigenvectors (columns), in `f64`.
    decomposition: Arc<[f64]>,
    a: Saved,
    packed: PackedDims,
    part: Part,
}

/// The `f64` values a decomposition of one `n x n` matrix takes.
const fn decomposition_len(n: usize) -> usize {
    n + n * n
}

/// Matrix `i`'s eigenvalues and eigenvectors in a buffer of decompositions.
fn parts(decomposition: &[f64], n: usize, i: usize) -> (&[f64], &[f64]) {
    let len = decomposition_len(n);
    decomposition[i * len..(i + 1) * len].split_at(n)
}

/// The decompositions of every matrix of `a` (lower triangles read), or the error that
/// names the matrix whose iteration did not converge.
fn decompose<E: Element>(op: &'static str, a: &[E], dims: Dims) -> Result<Arc<[f64]>, Error> {
    let (n, matrix, len) = (dims.n, dims.matrix(), decomposition_len(dims.n));
    let mut out = Scratch::new(dims.batch * len);
    let mut work = Scratch::new(matrix + eigen_work_len(n));
    let (af, work) = work.values().split_at_mut(matrix);
    let values = out.values();
    for i in 0..dims.batch {
        load(&a[i * matrix..(i + 1) * matrix], af);
        let (lambda, v) = values[i * len..(i + 1) * len].split_at_mut(n);
        symmetric_eigen(af, n, lambda, v, work).map_err(|iterations| Error::NoConvergence {
            op,
            batch: dims.which(i),
            iterations,
        })?;
    }
    Ok(out.keep())
}

/// One result of the decomposition, as `E`, recorded with `a` as its input.
fn record_part<E: Element>(
    a: Operand<'_, E>,
    decomposition: &Arc<[f64]>,
    dims: Dims,
    part: Part,
) -> Var<E> {
    let (n, len) = (dims.n, decomposition_len(dims.n));
    let data = match part {
        Part::Values => Storage::collect(
            dims.batch * n,
            (0..dims.batch).flat_map(|i| {
                decomposition[i * len..i * len + n]
                    .iter()
                    .map(|&x| E::from_f64(x))
            }),
        ),
        Part::Vectors => Storage::collect(
            dims.batch * n * n,
            (0..dims.batch).flat_map(|i| {
                decomposition[i * len + n..(i + 1) * len]
                    .iter()
                    .map(|&x| E::from_f64(x))
            }),
        ),
    };
    finish(data, [Some(a), None], |saver| {
        Op::Linalg(LinalgOp::Eigh(EighOp {
            decomposition: Arc::clone(decomposition),
            a: saver.save(a.data),
            packed: dims.pack(),
            part,
        }))
    })
}

/// The results of each matrix of `a` that `parts` lists, recorded; `op` names the
/// operation in errors.
fn eigh_var<E: Element, const K: usize>(
    op: &'static str,
    a: Operand<'_, E>,
    dims: Dims,
    parts: [Part; K],
) -> Result<[Var<E>; K], Error> {
    let decomposition = decompose(op, a.values(), dims)?;
    let results = parts.map(|part| record_part(a, &decomposition, dims, part));
    pool::recycle(decomposition);
    Ok(results)
}

/// Whether eigenvalues `λ_k` and `λ_l` are repeated to working precision, and the
/// scale below which an entry of `Vᵀ gV` (or `Vᵀ dA V`) vanishes: the module's
/// tolerances, `N ε` relative to `max |λ|` and to `max |entry|`.
struct Tolerance {
    gap: f64,
    relative: f64,
}

impl Tolerance {
    fn of<E: Element>(lambda: &[f64]) -> Self {
        let n = lambda.len() as f64;
        let relative = n * E::epsilon().to_f64_exact();
        let largest = lambda.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        Tolerance {
            gap: relative * largest,
            relative,
        }
    }

    fn repeated(&self, lambda: &[f64], k: usize, l: usize) -> bool {
        (lambda[l] - lambda[k]).abs() <= self.gap
    }
}

/// `F_kl` where it is a constant: 0 on the diagonal; for repeated eigenvalues 0 if
/// the incoming values `x_kl` and `x_lk` (of `Vᵀ gV`, or of `Vᵀ dA V`) both vanish
/// (`N ε` relative to `largest`, the largest of all) and NaN if one does not. `None`:
/// distinct eigenvalues, `F_kl = 1 / (λ_l - λ_k)`.
fn constant_factor(
    tolerance: &Tolerance,
    lambda: &[f64],
    (k, l): (usize, usize),
    (x_kl, x_lk): (f64, f64),
    largest: f64,
) -> Option<f64> {
    if k == l {
        return Some(0.0);
    }
    if !tolerance.repeated(lambda, k, l) {
        return None;
    }
    let vanishing = tolerance.relative * largest;
    // Written as what is accepted, so that a NaN is not.
    let vanishes = x_kl.abs() <= vanishing && x_lk.abs() <= vanishing;
    Some(if vanishes { 0.0 } else { f64::NAN })
}

/// `m ← F ∘ m` for the `n x n` matrix `m`, where the vanishing of pair `(k, l)` is
/// judged on `x` (`n x n`).
fn divide_by_gaps<E: Element>(m: &mut [f64], x: &[f64], lambda: &[f64]) {
    let n = lambda.len();
    let tolerance = Tolerance::of::<E>(lambda);
    let scale = largest(x);
    for k in 0..n {
        for l in 0..n {
            let pair = (x[k * n + l], x[l * n + k]);
            let at = &mut m[k * n + l];
            *at = match constant_factor(&tolerance, lambda, (k, l), pair, scale) {
                Some(f) => *at * f,
                None => *at / (lambda[l] - lambda[k]),
            };
        }
    }
}

/// The largest magnitude in `m` (NaN if any is NaN).
fn largest(m: &[f64]) -> f64 {
    m.iter().fold(
        0.0f64,
        |acc, &x| if x.is_nan() { x } else { acc.max(x.abs()) },
    )
}

impl EighOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        NAME
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let Some(ga) = parents.get_mut(0) else { return };
        let Dims { batch, n, .. } = self.dims();
        let matrix = n * n;
        let mut work = Scratch::new(3 * matrix);
        let (k, rest) = work.values().split_at_mut(matrix);
        let (t, g) = rest.split_at_mut(matrix);
        for i in 0..batch {
            let (lambda, v) = parts(&self.decomposition, n, i);
            match self.part {
                Part::Values => {
                    // K = diag(gλ).
                    k.fill(0.0);
                    for d in 0..n {
                        k[d * n + d] = grad[i * n + d].to_f64_exact();
                    }
                }
                Part::Vectors => {
                    // K = F ∘ ½ (Vᵀ gV - gVᵀ V).
                    load(&grad[i * matrix..(i + 1) * matrix], g);
                    product(v, true, g, false, t, n, n, n);
                    for r in 0..n {
                        for c in 0..r {
                            let s = 0.5 * (t[r * n + c] - t[c * n + r]);
                            k[r * n + c] = s;
                            k[c * n + r] = -s;
                        }
                        k[r * n + r] = 0.0;
                    }
                    divide_by_gaps::<E>(k, t, lambda);
                }
            }
            // gA = V K Vᵀ, symmetric to the last bit.
            product(v, false, k, false, t, n, n, n);
            product(t, false, v, true, g, n, n, n);
            symmetrize(g, n);
            add_into(&mut ga[i * matrix..(i + 1) * matrix], g);
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
        let a = node.input(0, self.a);
        let ga = match self.part {
            Part::Values => {
                let v = record_part(a.operand(), &self.decomposition, self.dims(), Part::Vectors);
                sandwich(&v, &diag_embed_var(g.operand(), batch, n), batch, n)
            }
            Part::Vectors => self.vectors_gradient(g, &a),
        };
        [Some(ga), None]
    }

    /// The eigenvectors' recorded VJP `V (F ∘ S) Vᵀ`, with `V` and `λ` recorded as this
    /// decomposition's records of `a`.
    fn vectors_gradient<E: Element>(&self, g: &Var<E>, a: &Var<E>) -> Var<E> {
        let Dims { batch, n, .. } = self.dims();
        let matrix = n * n;
        let v = record_part(a.operand(), &self.decomposition, self.dims(), Part::Vectors);
        let lambda = record_part(a.operand(), &self.decomposition, self.dims(), Part::Values);
        let x = matmul(&v, g, batch, n, n, n, true, false);
        let s = scale(&x.sub(&transpose(&x, batch, n, n)), 0.5);
        // F = M / (λ_l - λ_k + C): M is 1 for distinct eigenvalues, else the constant
        // factor (0, or NaN); C is 1 where M is constant, so that no quotient is 0 / 0.
        let mut mask = Scratch::new(2 * batch * matrix + matrix);
        let (m, rest) = mask.values().split_at_mut(batch * matrix);
        let (c, xi) = rest.split_at_mut(batch * matrix);
        for i in 0..batch {
            let (lambda_i, _) = parts(&self.decomposition, n, i);
            load(&x.data[i * matrix..(i + 1) * matrix], xi);
            let tolerance = Tolerance::of::<E>(lambda_i);
            let scale = largest(xi);
            for k in 0..n {
                for l in 0..n {
                    let at = i * matrix + k * n + l;
                    let pair = (xi[k * n + l], xi[l * n + k]);
                    (m[at], c[at]) =
                        match constant_factor(&tolerance, lambda_i, (k, l), pair, scale) {
                            Some(f) => (f, 1.0),
                            None => (1.0, 0.0),
                        };
                }
            }
        }
        let rows = gather(
            lambda.operand(),
            (0..batch * matrix)
                .map(|at| (at / matrix) * n + at % n)
                .collect(),
            "ExpandBackward0",
        );
        let cols = gather(
            lambda.operand(),
            (0..batch * matrix)
                .map(|at| (at / matrix) * n + (at % matrix) / n)
                .collect(),
            "ExpandBackward0",
        );
        let gaps = rows.sub(&cols).add(&Var::constant(store::<E>(c)));
        let f = Var::constant(store::<E>(m)).div(&gaps);
        sandwich(&v, &s.mul(&f), batch, n)
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let Dims {
            batch: matrices, n, ..
        } = self.dims();
        let matrix = n * n;
        let (in_len, out_len) = match self.part {
            Part::Values => (matrices * matrix, matrices * n),
            Part::Vectors => (matrices * matrix, matrices * matrix),
        };
        let mut work = Scratch::new(3 * matrix);
        let (da, rest) = work.values().split_at_mut(matrix);
        let (tmp, p) = rest.split_at_mut(matrix);
        for b in 0..batch {
            for i in 0..matrices {
                let (lambda, v) = parts(&self.decomposition, n, i);
                load(&t[b * in_len + i * matrix..][..matrix], da);
                symmetrize(da, n);
                // P = Vᵀ dA_s V.
                product(v, true, da, false, tmp, n, n, n);
                product(tmp, false, v, false, p, n, n, n);
                match self.part {
                    Part::Values => {
                        let o = &mut out[b * out_len + i * n..][..n];
                        for (d, o) in o.iter_mut().enumerate() {
                            *o = *o + E::from_f64(p[d * n + d]);
                        }
                    }
                    Part::Vectors => {
                        da.copy_from_slice(p);
                        divide_by_gaps::<E>(p, da, lambda);
                        // dV = V (F ∘ P).
                        product(v, false, p, false, tmp, n, n, n);
                        add_into(&mut out[b * out_len + i * matrix..][..matrix], tmp);
                    }
                }
            }
        }
    }

    pub(crate) fn recycle(self) {
        pool::recycle(self.decomposition);
    }
}

/// `V K Vᵀ` for each of `batch` matrices, recorded, symmetrised (`½ (X + Xᵀ)`) as the
/// plain backward's is.
fn sandwich<E: Element>(v: &Var<E>, k: &Var<E>, batch: usize, n: usize) -> Var<E> {
    let vk = matmul(v, k, batch, n, n, n, false, false);
    let x = matmul(&vk, v, batch, n, n, n, false, true);
    scale(&x.add(&transpose(&x, batch, n, n)), 0.5)
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The eigenvalues, ascending, and orthonormal eigenvectors (the columns of `V`) of
    /// a symmetric matrix, `A = V diag(λ) Vᵀ` (PyTorch's `torch.linalg.eigh`), of each
    /// matrix of a batch. Reads the lower triangle only; the gradient is symmetric (the
    /// module's notes on symmetric input). Each eigenvector's element of largest
    /// magnitude is positive (PyTorch leaves the sign to LAPACK). (`D`, inferred, is
    /// `Rank1<N>`, or `Rank2<B, N>` for a batch.)
    ///
    /// The eigenvectors of (nearly) repeated eigenvalues are not unique: a loss that
    /// reads them has no gradient there, and the backward gives NaN (the checked
    /// backward an error naming `LinalgEighBackward0`) rather than a finite wrong
    /// number. Eigenvalues `λ_k`, `λ_l` count as repeated when
    /// `|λ_k - λ_l| <= N ε max|λ|` (`ε` of the element type); a loss that reads only
    /// the eigenvalues and the eigenvectors of distinct ones has a finite gradient.
    /// [`Tensor::eigvalsh`]'s gradient is finite for every matrix. The module
    /// `linalg` has the details.
    ///
    /// # Errors
    /// - [`Error::NonFiniteInput`] if the lower triangle holds a NaN or an infinity;
    /// - [`Error::NoConvergence`] if the Jacobi iteration has not converged after 50
    ///   sweeps (not observed: matrices up to 64 x 64 take about 10).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[2.0f64, 1.0], [1.0, 2.0]]).track();
    /// let (values, vectors) = a.eigh()?;
    /// assert!(values.allclose(&Tensor::from_array([1.0, 3.0]), 1e-15, 1e-15));
    /// let h = std::f64::consts::FRAC_1_SQRT_2;
    /// assert!(vectors.abs().allclose(&Tensor::from_array([[h, h], [h, h]]), 1e-15, 1e-15));
    /// // dλ_max/dA = v vᵀ for the eigenvector v of λ_max.
    /// let g = values.at::<1>().backward().get(&a).unwrap();
    /// assert!(g.allclose(&Tensor::from_array([[0.5, 0.5], [0.5, 0.5]]), 1e-15, 1e-15));
    /// # Ok::<(), Error>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn eigh<D: Shape>(
        &self,
    ) -> Result<(Tensor<D, E, UnaryTape<T>>, Tensor<S, E, UnaryTape<T>>), Error>
    where
        S: SquareMatrix<PerRow = D>,
    {
        const OP: &str = "eigh";
        check_finite(OP, "A", S::DIMS, self.as_slice(), S::N, LOWER)?;
        let [values, vectors] = eigh_var(
            OP,
            self.operand(),
            Dims::of::<S>(S::N),
            [Part::Values, Part::Vectors],
        )?;
        Ok((Tensor::from_var(values), Tensor::from_var(vectors)))
    }

    /// The eigenvalues, ascending, of a symmetric matrix (PyTorch's
    /// `torch.linalg.eigvalsh`), of each matrix of a batch. Reads the lower triangle
    /// only. The gradient, `V diag(gλ) Vᵀ`, is finite for every matrix, repeated
    /// eigenvalues included: there, where the eigenvalues are continuous but not
    /// differentiable, it is their gradient along the returned eigenvectors (as
    /// PyTorch's and JAX's), and second derivatives are NaN. (`D`, inferred, is
    /// `Rank1<N>`, or `Rank2<B, N>` for a batch.)
    ///
    /// # Errors
    /// As [`Tensor::eigh`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// // The identity: one eigenvalue, three times.
    /// let a = Tensor::<Rank1<3>, f64>::ones().diag().track();
    /// let values = a.eigvalsh()?;
    /// assert_eq!(values.to_vec(), vec![1.0, 1.0, 1.0]);
    /// // The sum of the eigenvalues is the trace: its gradient is the identity.
    /// let g = values.sum().backward().get(&a).unwrap();
    /// assert!(g.allclose(&Tensor::<Rank1<3>, f64>::ones().diag(), 1e-15, 1e-15));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn eigvalsh<D: Shape>(&self) -> Result<Tensor<D, E, UnaryTape<T>>, Error>
    where
        S: SquareMatrix<PerRow = D>,
    {
        const OP: &str = "eigvalsh";
        check_finite(OP, "A", S::DIMS, self.as_slice(), S::N, LOWER)?;
        let [values] = eigh_var(OP, self.operand(), Dims::of::<S>(S::N), [Part::Values])?;
        Ok(Tensor::from_var(values))
    }
}
