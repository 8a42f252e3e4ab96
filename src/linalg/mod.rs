//! Differentiable linear algebra (PyTorch's `torch.linalg`, JAX's `jnp.linalg`), with
//! shapes checked by the types and failures that are `Err`, never a silent NaN.
//!
//! | operation | typegrad | PyTorch |
//! |---|---|---|
//! | `A X = B` | [`Tensor::solve`], [`solve`] | `torch.linalg.solve(A, B)` |
//! | triangular `A X = B` | [`Tensor::solve_triangular`] | `torch.linalg.solve_triangular` |
//! | `A⁻¹` | [`Tensor::inv`] | `torch.linalg.inv` |
//! | `A = L Lᵀ` | [`Tensor::cholesky`] | `torch.linalg.cholesky` |
//! | `(L Lᵀ)⁻¹ B` | [`Tensor::cholesky_solve`] | `torch.cholesky_solve(B, L)` |
//! | one factorisation, many uses | [`Lu`], [`Cholesky`] | `torch.linalg.lu_factor` + `lu_solve` |
//! | `det A` | [`Tensor::det`] | `torch.linalg.det` |
//! | `(sign, ln\|det A\|)` | [`Tensor::slogdet`] | `torch.linalg.slogdet` |
//! | `ln det A`, `A` positive-definite | [`Tensor::logdet`] | `torch.logdet` |
//! | `tr A`, diagonal, `diag(v)`, `u vᵀ` | [`Tensor::trace`], [`Tensor::diagonal`], [`Tensor::diag`], [`Tensor::outer`] | `trace`, `diagonal`, `diag`, `outer` |
//! | eigenvalues and eigenvectors, `A` symmetric | [`Tensor::eigh`], [`eigh`] | `torch.linalg.eigh` |
//! | eigenvalues, `A` symmetric | [`Tensor::eigvalsh`], [`eigvalsh`] | `torch.linalg.eigvalsh` |
//! | `A = Q R`, `A` tall | [`Tensor::qr`], [`qr`] | `torch.linalg.qr` (reduced) |
//! | least squares `min ‖A X - B‖`, `A` tall | [`Tensor::lstsq`], [`lstsq`] | `torch.linalg.lstsq(A, B).solution` |
//! | `e^A` | [`Tensor::matrix_exp`], [`matrix_exp`] | `torch.linalg.matrix_exp` |
//!
//! Each operation but the last four of the first table is also a free function in
//! PyTorch's spelling ([`solve`], [`solve_triangular`], [`inv`], [`cholesky`],
//! [`cholesky_solve`] with PyTorch's `(B, L)` order, [`det`], [`slogdet`], [`logdet`], and
//! the five above).
//!
//! Every operation but `qr` and `lstsq` takes a square `Rank2<N, N>` matrix or a batch
//! of them, `Rank3<B, N, N>` ([`SquareMatrix`]); `qr` and `lstsq` take an `M x N` matrix
//! with `M ≥ N` ([`Matrix`]; a wide one is refused at build time, with its numbers); a
//! right-hand side has as many rows as the matrix ([`RightHandSide`],
//! [`LeastSquaresRhs`]). Anything else does not compile.
//!
//! # Failures
//!
//! The operations that factor a matrix return `Result`:
//! - a NaN or an infinity in an input is [`Error::NonFiniteInput`], naming the input and
//!   the position (LAPACK and PyTorch return NaN, or a number);
//! - the operations that solve ([`Tensor::solve`], [`Tensor::solve_triangular`],
//!   [`Tensor::inv`], [`Tensor::cholesky_solve`], [`Lu`], [`Cholesky`]) refuse a matrix
//!   that is singular to working precision with [`Error::SingularMatrix`]: one whose
//!   reciprocal condition estimate `1 / (‖A‖₁ ‖A⁻¹‖₁)` is below a [`Threshold`] (by
//!   default `N · ε` of the element type: PyTorch "solves" the singular
//!   `[[1, 2, 3], [4, 5, 6], [7, 8, 9]]` and inverts it to entries of 3e15);
//! - Cholesky of a matrix that is not positive-definite is
//!   [`Error::NotPositiveDefinite`], naming the leading minor of order `k` that is not
//!   positive (as PyTorch does; JAX returns NaN).
//! - `qr` and `lstsq` of a matrix whose columns are linearly dependent to working
//!   precision are [`Error::RankDeficient`] (PyTorch's `lstsq` returns a minimum-norm
//!   solution whose gradient is not that solution's, and fails with an internal error on
//!   NaN input);
//! - `matrix_exp` whose result overflows is [`Error::Overflow`];
//! - `eigh` and `eigvalsh` whose Jacobi iteration has not converged after 50 sweeps are
//!   [`Error::NoConvergence`] (not observed: matrices up to 64 x 64 take about 10).
//!
//! An eigenvector's gradient through (nearly) repeated eigenvalues, where the incoming
//! gradient does not vanish on their subspace, is NaN in the affected entries, and the
//! checked backward names `eigh` (PyTorch and JAX give inf, NaN or a huge finite number).
//!
//! `det` and `slogdet` do not refuse a singular matrix: its determinant is 0 (`ln|det|`
//! is `-inf`), and `det`'s gradient there is the cofactor matrix, exact and finite at
//! rank `n - 1` (the adjugate, as JAX's rule gives; PyTorch's perturbs the zero pivot).
//!
//! # Derivatives
//!
//! Every operation has the three rules of ARCHITECTURE.md: a vector-Jacobian product
//! (backward), the same product recorded from typegrad's differentiable operations
//! (gradients of gradients, [`crate::func::hessian`]), and a Jacobian-vector product
//! (forward mode). The rules are the anchors' (PyTorch's `derivatives.yaml` and
//! `FunctionsManual.cpp`, JAX's `lax/linalg.py`): triangular solves with the saved
//! factors, never an explicit inverse, inside the solve and Cholesky rules.
//!
//! Symmetric input (Cholesky, `logdet`): the forward reads the lower triangle only, and
//! the gradient is the symmetric matrix `G` with `dφ = ⟨G, dA⟩` for every symmetric `dA`
//! (PyTorch's convention); the forward mode reads a tangent's symmetric part
//! `(dA + dAᵀ)/2`. These are the derivatives of `A ↦ φ((A + Aᵀ)/2)`, which is `φ` on
//! symmetric matrices: check them through a function that builds a symmetric matrix
//! (`B Bᵀ + c I`, `(M + Mᵀ)/2`), as PyTorch's tests do.
//!
//! # Kernels
//!
//! The factorisations are this crate's own loops, in `f64` for both element types (an
//! `f32` matrix is factored in `f64` and each result rounded once); the module
//! `kernels` says why not nalgebra's, and tests them against it. The reciprocal
//! condition estimate is LAPACK's (`dgecon`: Hager and Higham's estimate of `‖A⁻¹‖₁` from
//! the factors, never above the true norm and rarely below a third of it).

use alloc::vec;

mod cholesky;
mod det;
mod eigh;
mod expm;
pub(crate) mod kernels;
mod qr;
mod shapes;
mod solve;
mod structure;
mod triangular;

use alloc::sync::Arc;

pub use cholesky::Cholesky;
pub use qr::LeastSquares;
pub use shapes::{LeastSquaresRhs, Matrix, RightHandSide, SquareMatrix};
pub use solve::Lu;
pub use triangular::{Diagonal, Triangle};

use crate::element::sealed::Sealed;
use crate::element::Element;
use crate::error::Error;
use crate::ops::Var;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::{BinaryTape, Merge, Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::{pool, Tensor};

/// The default threshold is `DEFAULT_RCOND_FACTOR · N · ε`: a matrix whose reciprocal
/// condition estimate is below it is refused by the solving operations.
///
/// A solution's relative error is bounded by about `ε / rcond`: at `rcond = N ε` the
/// bound is `1 / N`, and below it a solution may have no correct digit. A singular
/// matrix that rounding made invertible has an estimate of order `ε` or less
/// (`[[1, 2, 3], [4, 5, 6], [7, 8, 9]]`: 1.5e-18 in `f64`), below the threshold. NumPy's
/// rank tolerance (`matrix_rank`) is `N · ε` relative to the largest singular value, the
/// same scale.
pub const DEFAULT_RCOND_FACTOR: f64 = 1.0;

/// When a solving operation refuses a matrix as singular to working precision.
///
/// The threshold is per call (`solve_with`, `inv_with`, `Lu::new_with`, ...): there is
/// no global setting.
///
/// ```
/// use typegrad::linalg::Threshold;
/// use typegrad::prelude::*;
/// // Nearly singular: refused by default, solved with a lower threshold.
/// let a = Tensor::from_array([[1.0f64, 1.0], [1.0, 1.0 + 1e-15]]);
/// let b = Tensor::from_array([2.0, 2.0]);
/// assert!(matches!(a.solve(&b), Err(Error::SingularMatrix { .. })));
/// let x = a.solve_with(&b, Threshold::MinRcond(1e-20))?;
/// assert!(x.allclose(&Tensor::from_array([2.0, 0.0]), 1e-12, 1e-12));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Threshold {
    /// [`DEFAULT_RCOND_FACTOR`] `· N · ε`, with `ε` the element type's machine epsilon
    /// (2.2e-16 for `f64`, 1.2e-7 for `f32`).
    #[default]
    Default,
    /// Refuse a matrix whose reciprocal condition estimate is below this value. A
    /// matrix with an exactly zero pivot is refused whatever the value (0 included).
    MinRcond(f64),
}

impl Threshold {
    /// The smallest reciprocal condition estimate accepted for an `n x n` matrix of `E`.
    ///
    /// ```
    /// use typegrad::linalg::Threshold;
    /// assert_eq!(Threshold::Default.min_rcond::<f64>(3), 3.0 * f64::EPSILON);
    /// assert_eq!(Threshold::MinRcond(1e-9).min_rcond::<f32>(3), 1e-9);
    /// ```
    pub fn min_rcond<E: Element>(self, n: usize) -> f64 {
        match self {
            Threshold::Default => DEFAULT_RCOND_FACTOR * n as f64 * E::epsilon().to_f64_exact(),
            Threshold::MinRcond(value) => value,
        }
    }

    /// [`Threshold::min_rcond`], refusing a threshold that means nothing (NaN,
    /// negative or infinite) with [`Error::InvalidArgument`] naming the operation.
    pub(crate) fn checked<E: Element>(self, op: &'static str, n: usize) -> Result<f64, Error> {
        let value = self.min_rcond::<E>(n);
        if value.is_finite() && value >= 0.0 {
            return Ok(value);
        }
        Err(Error::InvalidArgument {
            context: op,
            argument: "threshold",
            value,
            rule: "finite and >= 0",
        })
    }
}

/// The dimensions of a (batched) system: `batch` matrices `n x n`, right-hand sides of
/// `k` columns, and whether the shape has a batch axis (for naming a matrix in errors).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub(crate) batch: usize,
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) batched: bool,
}

impl Dims {
    /// The dimensions of matrices of shape `S` with right-hand sides of `k` columns.
    pub(crate) fn of<S: SquareMatrix>(k: usize) -> Self {
        Dims {
            batch: S::BATCH,
            n: S::N,
            k,
            batched: S::BATCHED,
        }
    }

    pub(crate) fn matrix(self) -> usize {
        self.n * self.n
    }

    pub(crate) fn rhs(self) -> usize {
        self.n * self.k
    }

    /// The batch index to name in an error about matrix `i`.
    pub(crate) fn which(self, i: usize) -> Option<usize> {
        self.batched.then_some(i)
    }
}

/// The dimensions as a record keeps them: `n` as a `u32` (a square matrix's `n²` elements
/// fit in a `usize`, so `n` fits in 32 bits), so that a linear-algebra record is no
/// larger than a matrix product's and the graph's nodes do not grow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PackedDims {
    batch: usize,
    k: usize,
    n: u32,
    batched: bool,
}

impl Dims {
    pub(crate) fn pack(self) -> PackedDims {
        PackedDims {
            batch: self.batch,
            k: self.k,
            // Lossless: `Shape::NUM_ELEMENTS` of an `n x n` matrix is a checked product,
            // so `n <= sqrt(usize::MAX) < 2^32`.
            n: u32::try_from(self.n).unwrap_or(u32::MAX),
            batched: self.batched,
        }
    }
}

impl PackedDims {
    pub(crate) fn unpack(self) -> Dims {
        Dims {
            batch: self.batch,
            n: self.n as usize,
            k: self.k,
            batched: self.batched,
        }
    }
}

/// The PyTorch name a solve record shows (one byte in the record, not a `&str`'s 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SolveName {
    Solve,
    Inverse,
    Triangular,
    CholeskySolve,
}

impl SolveName {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SolveName::Solve => "LinalgSolveExBackward0",
            SolveName::Inverse => "LinalgInvExBackward0",
            SolveName::Triangular => "LinalgSolveTriangularBackward0",
            SolveName::CholeskySolve => "CholeskySolveBackward0",
        }
    }
}

/// A scratch buffer of `f64`s from the thread's pool, given back when dropped, so that
/// the kernels' working space costs no allocation after warm-up.
pub(crate) struct Scratch(Arc<[f64]>);

impl Scratch {
    pub(crate) fn new(len: usize) -> Self {
        Scratch(pool::take::<f64>(len))
    }

    /// The values, contents left over from the last use.
    pub(crate) fn values(&mut self) -> &mut [f64] {
        Arc::make_mut(&mut self.0)
    }

    /// The buffer itself, no longer scratch (a factorisation a record keeps).
    pub(crate) fn keep(mut self) -> Arc<[f64]> {
        core::mem::replace(&mut self.0, f64::empty_storage())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        pool::recycle(core::mem::replace(&mut self.0, f64::empty_storage()));
    }
}

/// `values` as `f64`s, into `out`.
pub(crate) fn load<E: Element>(values: &[E], out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = v.to_f64_exact();
    }
}

/// `values` rounded to `E`, as a value's storage (inline if small, else pooled).
pub(crate) fn store<E: Element>(values: &[f64]) -> Storage<E> {
    Storage::collect(values.len(), values.iter().map(|&v| E::from_f64(v)))
}

/// `out[i] += values[i]`, rounding each term to `E`.
pub(crate) fn add_into<E: Element>(out: &mut [E], values: &[f64]) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = *o + E::from_f64(v);
    }
}

/// Which elements of each matrix an operation reads, for the check of non-finite input.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reads {
    /// Every element.
    All,
    /// The lower (`true`) or upper triangle, its diagonal included unless the flag
    /// `unit` says it is taken as 1.
    Triangle { lower: bool, unit: bool },
}

/// Fails with [`Error::NonFiniteInput`] at the first NaN or infinity among the elements
/// of `values` (matrices of `cols` columns, `rows x cols` each) that `reads` selects.
pub(crate) fn check_finite<E: Element>(
    op: &'static str,
    argument: &'static str,
    dims: &'static [usize],
    values: &[E],
    cols: usize,
    reads: Reads,
) -> Result<(), Error> {
    if E::all_finite(values) {
        return Ok(());
    }
    let cols = cols.max(1);
    let read = |flat: usize| match reads {
        Reads::All => true,
        Reads::Triangle { lower, unit } => {
            let (i, j) = ((flat / cols) % cols, flat % cols);
            let inside = if lower { i >= j } else { i <= j };
            inside && !(unit && i == j)
        }
    };
    let Some((flat, value)) = values
        .iter()
        .enumerate()
        .find(|&(flat, v)| !v.is_finite() && read(flat))
    else {
        return Ok(());
    };
    let mut index = vec![0; dims.len()];
    let mut rest = flat;
    for (slot, &d) in index.iter_mut().zip(dims).rev() {
        *slot = rest % d.max(1);
        rest /= d.max(1);
    }
    let value = if value.is_nan() {
        "NaN"
    } else if *value > E::zero() {
        "inf"
    } else {
        "-inf"
    };
    Err(Error::NonFiniteInput {
        op,
        argument,
        dims,
        index,
        value,
    })
}

/// Refuses matrix `i` if a pivot is exactly zero or its reciprocal condition estimate
/// `rcond` is below `threshold`.
pub(crate) fn check_condition(
    op: &'static str,
    dims: Dims,
    i: usize,
    zero_pivot: Option<usize>,
    rcond: f64,
    threshold: f64,
) -> Result<(), Error> {
    // Written as what is accepted, so that a NaN estimate is refused.
    let accepted = zero_pivot.is_none() && rcond > 0.0 && rcond >= threshold;
    if !accepted {
        return Err(Error::SingularMatrix {
            op,
            batch: dims.which(i),
            zero_pivot,
            rcond: if zero_pivot.is_some() { 0.0 } else { rcond },
            threshold,
        });
    }
    Ok(())
}

/// Lets an intermediate value go back to the buffer pool (a `Var` has no `Drop` that
/// does it, as a tensor's does): kept by the graph if a record saved it, else reused.
pub(crate) fn release<E: Element>(v: Var<E>) {
    v.data.recycle();
}

/// `batch` identity matrices `n x n`, as a constant.
pub(crate) fn identity<E: Element>(batch: usize, n: usize) -> Var<E> {
    let mut data = Storage::<E>::zeroed(batch * n * n);
    let values = data.make_mut();
    for i in 0..batch * n {
        values[i * n + i % n] = E::one();
    }
    Var::constant(data)
}

/// Recorded helpers for the recorded rules: transposes, products and broadcasts of one
/// value per matrix, on `Var`s.
pub(crate) mod recorded {
    use alloc::sync::Arc;

    use crate::element::Element;
    use crate::ops::axis::expand_lanes;
    use crate::ops::layout::{gather, triangle, TriangleOp};
    use crate::ops::matmul::{product, ProductDims};
    use crate::ops::unary::UnaryKind;
    use crate::ops::Var;
    use crate::shape::constraint::AxisLayout;

    /// Each of `batch` matrices `rows x cols` transposed.
    pub(crate) fn transpose<E: Element>(
        v: &Var<E>,
        batch: usize,
        rows: usize,
        cols: usize,
    ) -> Var<E> {
        let map: Arc<[usize]> = (0..batch)
            .flat_map(|b| {
                (0..cols).flat_map(move |c| (0..rows).map(move |r| b * rows * cols + r * cols + c))
            })
            .collect();
        gather(v.operand(), map, "TransposeBackward0")
    }

    /// `op(A) op(B)` for each of `batch` pairs, `op(A)` being `m x k` and `op(B)` `k x n`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn matmul<E: Element>(
        a: &Var<E>,
        b: &Var<E>,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        a_transposed: bool,
        b_transposed: bool,
    ) -> Var<E> {
        let dims = ProductDims::new(batch, m, k, n, a_transposed, b_transposed);
        let name = if batch == 1 {
            "MmBackward0"
        } else {
            "BmmBackward0"
        };
        product(a.operand(), b.operand(), dims, name)
    }

    /// The lower (or upper) triangle of each `n x n` matrix, from `diagonal` (0 the main
    /// diagonal, -1 below it, 1 above it).
    pub(crate) fn triangle_of<E: Element>(
        v: &Var<E>,
        n: usize,
        lower: bool,
        diagonal: isize,
    ) -> Var<E> {
        triangle(v.operand(), TriangleOp::new(n, n, diagonal, lower))
    }

    /// `-v`.
    pub(crate) fn negate<E: Element>(v: &Var<E>) -> Var<E> {
        v.map(UnaryKind::Neg)
    }

    /// `c · v`.
    pub(crate) fn scale<E: Element>(v: &Var<E>, c: f64) -> Var<E> {
        v.map(UnaryKind::MulScalar(E::from_f64(c)))
    }

    /// One value per matrix (`batch` of them) repeated over each matrix's `len`
    /// elements.
    pub(crate) fn per_matrix<E: Element>(v: &Var<E>, batch: usize, len: usize) -> Var<E> {
        if batch == 1 {
            // A single value broadcasts as it is.
            return v.clone();
        }
        expand_lanes(
            v,
            AxisLayout {
                outer: batch,
                len,
                inner: 1,
            },
        )
    }
}

/// One recorded linear-algebra operation, with what its rules need.
#[derive(Clone)]
pub(crate) enum LinalgOp {
    LuSolve(solve::LuSolveOp),
    TriangularSolve(triangular::TriangularSolveOp),
    Cholesky(cholesky::CholeskyOp),
    CholeskySolve(cholesky::CholeskySolveOp),
    LogdetFromFactor(cholesky::LogdetOp),
    Det(det::DetOp),
    Cofactor(det::CofactorOp),
    Slogdet(det::SlogdetOp),
    Trace(structure::TraceOp),
    DiagEmbed(structure::DiagEmbedOp),
    Eigh(eigh::EighOp),
    Qr(qr::QrOp),
    Lstsq(qr::LstsqOp),
    MatrixExp(expm::MatrixExpOp),
}

/// Dispatches a method to each kind of linear-algebra record.
macro_rules! each_op {
    ($self:ident, $op:ident => $body:expr) => {
        match $self {
            LinalgOp::LuSolve($op) => $body,
            LinalgOp::TriangularSolve($op) => $body,
            LinalgOp::Cholesky($op) => $body,
            LinalgOp::CholeskySolve($op) => $body,
            LinalgOp::LogdetFromFactor($op) => $body,
            LinalgOp::Det($op) => $body,
            LinalgOp::Cofactor($op) => $body,
            LinalgOp::Slogdet($op) => $body,
            LinalgOp::Trace($op) => $body,
            LinalgOp::DiagEmbed($op) => $body,
            LinalgOp::Eigh($op) => $body,
            LinalgOp::Qr($op) => $body,
            LinalgOp::Lstsq($op) => $body,
            LinalgOp::MatrixExp($op) => $body,
        }
    };
}

impl LinalgOp {
    /// PyTorch's name for the backward of this operation.
    pub(crate) fn name(&self) -> &'static str {
        each_op!(self, op => op.name())
    }

    /// The vector-Jacobian product, added into the inputs' gradients.
    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        each_op!(self, op => op.backward(grad, parents))
    }

    /// The vector-Jacobian product, recorded.
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        grad: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        each_op!(self, op => op.backward_recorded(grad, node))
    }

    /// The Jacobian-vector product for `batch` tangents; `saved` are the values the
    /// record saved.
    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        each_op!(self, op => op.jvp(saved, tangents, batch, out))
    }

    /// Lets the factorisations the record keeps (in `f64`, beside the saved values) go
    /// to the pool.
    pub(crate) fn recycle(self) {
        each_op!(self, op => op.recycle())
    }
}

/// `A X = B` for `X` (PyTorch's `torch.linalg.solve`); the same as [`Tensor::solve`].
///
/// # Errors
/// As [`Tensor::solve`].
pub fn solve<SA, SB, E, TA, TB>(
    a: &Tensor<SA, E, TA>,
    b: &Tensor<SB, E, TB>,
) -> Result<Tensor<SB, E, BinaryTape<TA, TB>>, Error>
where
    SA: SquareMatrix,
    SB: RightHandSide<SA>,
    E: Element,
    TA: Tape + Merge<TB>,
    TB: Tape,
{
    a.solve(b)
}

/// `det A` (PyTorch's `torch.linalg.det`); the same as [`Tensor::det`].
///
/// # Errors
/// As [`Tensor::det`].
pub fn det<S: SquareMatrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<Tensor<S::PerMatrix, E, UnaryTape<T>>, Error> {
    a.det()
}

/// The lower Cholesky factor (PyTorch's `torch.linalg.cholesky`); the same as
/// [`Tensor::cholesky`].
///
/// # Errors
/// As [`Tensor::cholesky`].
pub fn cholesky<S: SquareMatrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<Tensor<S, E, UnaryTape<T>>, Error> {
    a.cholesky()
}

/// `A⁻¹` (PyTorch's `torch.linalg.inv`); the same as [`Tensor::inv`].
///
/// # Errors
/// As [`Tensor::inv`].
pub fn inv<S: SquareMatrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<Tensor<S, E, UnaryTape<T>>, Error> {
    a.inv()
}

/// `X` with `A X = B` for a triangular `A`, reading only `triangle` of `A` (PyTorch's
/// `torch.linalg.solve_triangular`); the same as [`Tensor::solve_triangular`].
///
/// # Errors
/// As [`Tensor::solve_triangular`].
pub fn solve_triangular<SA, SB, E, TA, TB>(
    a: &Tensor<SA, E, TA>,
    b: &Tensor<SB, E, TB>,
    triangle: Triangle,
    diagonal: Diagonal,
) -> Result<Tensor<SB, E, BinaryTape<TA, TB>>, Error>
where
    SA: SquareMatrix,
    SB: RightHandSide<SA>,
    E: Element,
    TA: Tape + Merge<TB>,
    TB: Tape,
{
    a.solve_triangular(b, triangle, diagonal)
}

/// `X` with `L Lᵀ X = B` for a lower Cholesky factor `L`, in PyTorch's argument order
/// (`torch.cholesky_solve(B, L)`); the same as [`Tensor::cholesky_solve`] on `L`.
///
/// # Errors
/// As [`Tensor::cholesky_solve`].
pub fn cholesky_solve<SA, SB, E, TA, TB>(
    b: &Tensor<SB, E, TB>,
    l: &Tensor<SA, E, TA>,
) -> Result<Tensor<SB, E, BinaryTape<TA, TB>>, Error>
where
    SA: SquareMatrix,
    SB: RightHandSide<SA>,
    E: Element,
    TA: Tape + Merge<TB>,
    TB: Tape,
{
    l.cholesky_solve(b)
}

/// The sign and `ln |det A|` (PyTorch's `torch.linalg.slogdet`); the same as
/// [`Tensor::slogdet`].
///
/// # Errors
/// As [`Tensor::slogdet`].
#[allow(clippy::type_complexity)]
pub fn slogdet<S: SquareMatrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<
    (
        Tensor<S::PerMatrix, E>,
        Tensor<S::PerMatrix, E, UnaryTape<T>>,
    ),
    Error,
> {
    a.slogdet()
}

/// `ln det A` of a positive-definite `A`, through its Cholesky factor; the same as
/// [`Tensor::logdet`].
///
/// # Errors
/// As [`Tensor::logdet`].
pub fn logdet<S: SquareMatrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<Tensor<S::PerMatrix, E, UnaryTape<T>>, Error> {
    a.logdet()
}

/// The eigenvalues (ascending) and orthonormal eigenvectors of a symmetric `A`, reading
/// its lower triangle (PyTorch's `torch.linalg.eigh`); the same as [`Tensor::eigh`].
///
/// # Errors
/// As [`Tensor::eigh`].
#[allow(clippy::type_complexity)]
pub fn eigh<S: SquareMatrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<
    (
        Tensor<S::PerRow, E, UnaryTape<T>>,
        Tensor<S, E, UnaryTape<T>>,
    ),
    Error,
> {
    a.eigh()
}

/// The eigenvalues (ascending) of a symmetric `A` (PyTorch's `torch.linalg.eigvalsh`);
/// the same as [`Tensor::eigvalsh`].
///
/// # Errors
/// As [`Tensor::eigvalsh`].
pub fn eigvalsh<S: SquareMatrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<Tensor<S::PerRow, E, UnaryTape<T>>, Error> {
    a.eigvalsh()
}

/// The reduced QR factorisation of a tall `A` (PyTorch's `torch.linalg.qr`); the same as
/// [`Tensor::qr`].
///
/// # Errors
/// As [`Tensor::qr`].
#[allow(clippy::type_complexity)]
pub fn qr<S: Matrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<
    (
        Tensor<S, E, UnaryTape<T>>,
        Tensor<S::Square, E, UnaryTape<T>>,
    ),
    Error,
> {
    a.qr()
}

/// The least-squares solution of `A X ≈ B` for a tall `A` of full column rank
/// (PyTorch's `torch.linalg.lstsq(A, B).solution`); the same as [`Tensor::lstsq`].
///
/// # Errors
/// As [`Tensor::lstsq`].
#[allow(clippy::type_complexity)]
pub fn lstsq<SA, SB, E, TA, TB>(
    a: &Tensor<SA, E, TA>,
    b: &Tensor<SB, E, TB>,
) -> Result<Tensor<SB::Solution, E, BinaryTape<TA, TB>>, Error>
where
    SA: Matrix,
    SB: LeastSquaresRhs<SA>,
    E: Element,
    TA: Tape + Merge<TB>,
    TB: Tape,
{
    a.lstsq(b)
}

/// `e^A` (PyTorch's `torch.linalg.matrix_exp`); the same as [`Tensor::matrix_exp`].
///
/// # Errors
/// As [`Tensor::matrix_exp`].
pub fn matrix_exp<S: SquareMatrix, E: Element, T: Tape>(
    a: &Tensor<S, E, T>,
) -> Result<Tensor<S, E, UnaryTape<T>>, Error> {
    a.matrix_exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn non_finite_input_is_named_by_position() {
        let values = [1.0f64, 2.0, f64::NAN, 4.0];
        let err = check_finite("solve", "A", &[2, 2], &values, 2, Reads::All).unwrap_err();
        assert_eq!(
            err,
            Error::NonFiniteInput {
                op: "solve",
                argument: "A",
                dims: &[2, 2],
                index: vec![1, 0],
                value: "NaN"
            }
        );
        // The upper triangle of a lower-triangular solve is not read.
        let values = [1.0f64, f64::INFINITY, 3.0, 4.0];
        let lower = Reads::Triangle {
            lower: true,
            unit: false,
        };
        assert!(check_finite("t", "A", &[2, 2], &values, 2, lower).is_ok());
        let upper = Reads::Triangle {
            lower: false,
            unit: false,
        };
        let err = check_finite("t", "A", &[2, 2], &values, 2, upper).unwrap_err();
        assert!(err.to_string().contains("holds inf at [0, 1]"), "{err}");
    }
}
#[cfg(test)]
mod record_size {
    /// A node of the graph holds an `Op`, whose largest kind sets every node's size: the
    /// linear-algebra records (lstsq's is the largest: its QR factors, three saved
    /// values and a tall matrix's dimensions) must keep a node within the two cache lines
    /// every other operation's node takes.
    #[test]
    fn records_keep_a_node_within_two_cache_lines() {
        let f32_node = core::mem::size_of::<crate::tape::graph::Node<f32>>();
        let f64_node = core::mem::size_of::<crate::tape::graph::Node<f64>>();
        assert!(
            f32_node <= 128 && f64_node <= 128,
            "{f32_node} and {f64_node} bytes"
        );
        // And no linear-algebra record is larger than a matrix product's, so the op enum
        // is no larger for having them.
        let product = core::mem::size_of::<crate::ops::matmul::MatMulOp>();
        let linalg = core::mem::size_of::<super::LinalgOp>();
        assert!(linalg <= product, "{linalg} bytes against {product}");
    }
}
