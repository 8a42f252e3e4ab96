//! General systems `A X = B` through LU with partial pivoting: [`Tensor::solve`],
//! [`Tensor::inv`] and the reusable factorisation [`Lu`].
//!
//! Rules (PyTorch's `linalg_solve_backward`, JAX's `_solve` through `lu_solve`), for
//! `X = op(A)⁻¹ B` with `op(A)` = `A` or `Aᵀ`:
//! - VJP: `gB = op(A)⁻ᵀ gX` (a solve with the saved factors), then `gA = -gB Xᵀ`
//!   (or `-X gBᵀ` for `Aᵀ`);
//! - recorded: the same, with the solve recorded as this operation (differentiable in
//!   `A` and in `gX`, reusing the factors) and the product recorded as a matmul;
//! - JVP: `dX = op(A)⁻¹ (dB - op(dA) X)`.

use alloc::sync::Arc;

use super::kernels::{lu_in_place, lu_len, lu_reciprocal_condition, norm1, LuRef, Part};
use super::recorded::{matmul, negate};
use super::{
    add_into, check_condition, check_finite, identity, load, release, store, Dims, LinalgOp,
    PackedDims, Reads, RightHandSide, Scratch, SolveName, SquareMatrix, Threshold,
};
use crate::element::sealed::Sealed;
use crate::element::Element;
use crate::error::Error;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{BinaryTape, Merge, Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::{pool, Tensor};

/// A recorded solve `X = op(A)⁻¹ B` with `A`'s saved factors.
#[derive(Clone)]
pub(crate) struct LuSolveOp {
    factors: Arc<[f64]>,
    a: Saved,
    x: Saved,
    packed: PackedDims,
    transpose: bool,
    name: SolveName,
}

/// The LU factors of each matrix of `a` (`dims.batch` of them), with complete pivoting
/// if `complete`, else partial.
pub(crate) fn factor<E: Element>(a: &[E], dims: Dims, complete: bool) -> Arc<[f64]> {
    let (n, len) = (dims.n, lu_len(dims.n));
    let mut factors = Scratch::new(dims.batch * len);
    let values = factors.values();
    for i in 0..dims.batch {
        let f = &mut values[i * len..(i + 1) * len];
        load(&a[i * n * n..(i + 1) * n * n], &mut f[..n * n]);
        lu_in_place(f, n, complete);
    }
    factors.keep()
}

/// Refuses the first matrix of `a` that its `factors` show singular to working precision
/// (below `threshold`); else returns the smallest reciprocal condition estimate.
pub(crate) fn check_factors<E: Element>(
    op: &'static str,
    a: &[E],
    factors: &[f64],
    dims: Dims,
    threshold: f64,
) -> Result<f64, Error> {
    let n = dims.n;
    let mut scratch = Scratch::new(n * n + 4 * n);
    let (matrix, work) = scratch.values().split_at_mut(n * n);
    let mut smallest: f64 = 1.0;
    for i in 0..dims.batch {
        let lu = LuRef::of(factors, n, i);
        load(&a[i * n * n..(i + 1) * n * n], matrix);
        let rcond = lu_reciprocal_condition(lu, norm1(matrix, n, Part::Full), work);
        check_condition(op, dims, i, lu.zero_pivot(), rcond, threshold)?;
        smallest = smallest.min(rcond);
    }
    Ok(smallest)
}

/// `X = op(A)⁻¹ B` for each matrix of the batch, with `A`'s `factors` (no checks),
/// recorded as `name`.
pub(crate) fn lu_solve<E: Element>(
    a: Operand<'_, E>,
    b: Operand<'_, E>,
    factors: &Arc<[f64]>,
    dims: Dims,
    transpose: bool,
    name: SolveName,
) -> Var<E> {
    let rhs = dims.rhs();
    let mut x = Scratch::new(dims.batch * rhs);
    let mut work = Scratch::new(rhs);
    let values = x.values();
    load(b.values(), values);
    for i in 0..dims.batch {
        let lu = LuRef::of(factors, dims.n, i);
        lu.solve(
            &mut values[i * rhs..(i + 1) * rhs],
            dims.k,
            transpose,
            work.values(),
        );
    }
    let out = store::<E>(values);
    finish(out, [Some(a), Some(b)], |saver| {
        Op::Linalg(LinalgOp::LuSolve(LuSolveOp {
            factors: Arc::clone(factors),
            a: saver.save(a.data),
            x: saver.save_output(),
            packed: dims.pack(),
            transpose,
            name,
        }))
    })
}

impl LuSolveOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name.as_str()
    }

    /// `gB = op(A)⁻ᵀ gX` into a scratch buffer.
    fn rhs_gradient<E: Element>(&self, grad: &[E]) -> Scratch {
        let rhs = self.dims().rhs();
        let mut gb = Scratch::new(self.dims().batch * rhs);
        let mut work = Scratch::new(rhs);
        let values = gb.values();
        load(grad, values);
        for i in 0..self.dims().batch {
            let lu = LuRef::of(&self.factors, self.dims().n, i);
            lu.solve(
                &mut values[i * rhs..(i + 1) * rhs],
                self.dims().k,
                !self.transpose,
                work.values(),
            );
        }
        gb
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let x_all = self.x.of(parents.saved);
        let mut gb = self.rhs_gradient(grad);
        let gb = gb.values();
        if let Some(g) = parents.get_mut(1) {
            add_into(g, gb);
        }
        if let Some(g) = parents.get_mut(0) {
            let Dims { n, k, .. } = self.dims();
            let (rhs, matrix) = (self.dims().rhs(), self.dims().matrix());
            for i in 0..self.dims().batch {
                let (gb, x) = (&gb[i * rhs..(i + 1) * rhs], &x_all[i * rhs..(i + 1) * rhs]);
                let g = &mut g[i * matrix..(i + 1) * matrix];
                // gA = -gB Xᵀ, or -X gBᵀ for a transposed system.
                for r in 0..n {
                    for c in 0..n {
                        let mut s = 0.0;
                        for q in 0..k {
                            s += if self.transpose {
                                x[r * k + q].to_f64_exact() * gb[c * k + q]
                            } else {
                                gb[r * k + q] * x[c * k + q].to_f64_exact()
                            };
                        }
                        g[r * n + c] = g[r * n + c] - E::from_f64(s);
                    }
                }
            }
        }
    }

    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        if !node.tracked(0) && !node.tracked(1) {
            return [None, None];
        }
        let a = node.input(0, self.a);
        let gb = lu_solve(
            a.operand(),
            g.operand(),
            &self.factors,
            self.dims(),
            !self.transpose,
            self.name,
        );
        let ga = node.tracked(0).then(|| {
            let x = node.output(self.x);
            let Dims { batch, n, k, .. } = self.dims();
            let product = if self.transpose {
                matmul(&x, &gb, batch, n, k, n, false, true)
            } else {
                matmul(&gb, &x, batch, n, k, n, false, true)
            };
            negate(&product)
        });
        [ga, node.tracked(1).then_some(gb)]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let x_all = self.x.of(saved);
        let Dims { n, k, .. } = self.dims();
        let (rhs, matrix) = (self.dims().rhs(), self.dims().matrix());
        let (out_len, a_len) = (self.dims().batch * rhs, self.dims().batch * matrix);
        let mut work = Scratch::new(2 * rhs);
        let (v, solve_work) = work.values().split_at_mut(rhs);
        for t in 0..batch {
            for i in 0..self.dims().batch {
                // v = dB - op(dA) X
                match tangents[1] {
                    Some(db) => load(&db[t * out_len + i * rhs..][..rhs], v),
                    None => v.fill(0.0),
                }
                if let Some(da) = tangents[0] {
                    let da = &da[t * a_len + i * matrix..][..matrix];
                    let x = &x_all[i * rhs..(i + 1) * rhs];
                    for r in 0..n {
                        for c in 0..k {
                            let mut s = 0.0;
                            for q in 0..n {
                                let op_da = if self.transpose {
                                    da[q * n + r]
                                } else {
                                    da[r * n + q]
                                };
                                s += op_da.to_f64_exact() * x[q * k + c].to_f64_exact();
                            }
                            v[r * k + c] -= s;
                        }
                    }
                }
                let lu = LuRef::of(&self.factors, n, i);
                lu.solve(v, k, self.transpose, solve_work);
                add_into(&mut out[t * out_len + i * rhs..][..rhs], v);
            }
        }
    }

    pub(crate) fn recycle(self) {
        pool::recycle(self.factors);
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The solution `X` of `A X = B` (PyTorch's `torch.linalg.solve`), by LU with
    /// partial pivoting; `B` is a vector or a matrix with `A`'s rows, and a batch of
    /// matrices solves a batch of systems. Differentiable in `A` and `B`.
    ///
    /// # Errors
    /// - [`Error::NonFiniteInput`] if `A` or `B` holds a NaN or an infinity;
    /// - [`Error::SingularMatrix`] if `A` is singular to working precision: its
    ///   reciprocal condition estimate is below `N · ε` (set another threshold with
    ///   [`Tensor::solve_with`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[3.0f64, 1.0], [1.0, 2.0]]).track();
    /// let b = Tensor::from_array([9.0, 8.0]);
    /// let x = a.solve(&b)?;
    /// assert!(x.allclose(&Tensor::from_array([2.0, 3.0]), 1e-12, 0.0));
    /// // d(sum x)/dA = -A⁻ᵀ 1 xᵀ
    /// let g = x.sum().backward().get(&a).unwrap();
    /// assert!(g.allclose(&Tensor::from_array([[-0.4, -0.6], [-0.8, -1.2]]), 1e-12, 1e-12));
    /// // PyTorch returns a finite vector for this singular matrix; typegrad refuses it.
    /// let singular = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]);
    /// assert!(matches!(
    ///     singular.solve(&Tensor::<Rank1<3>, f64>::ones()),
    ///     Err(Error::SingularMatrix { .. })
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn solve<SB: RightHandSide<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
    ) -> Result<Tensor<SB, E, BinaryTape<T, TB>>, Error>
    where
        S: SquareMatrix,
        T: Merge<TB>,
    {
        self.solve_with(b, Threshold::Default)
    }

    /// [`Tensor::solve`] with another threshold for refusing a nearly singular matrix.
    ///
    /// # Errors
    /// As [`Tensor::solve`].
    pub fn solve_with<SB: RightHandSide<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
        threshold: Threshold,
    ) -> Result<Tensor<SB, E, BinaryTape<T, TB>>, Error>
    where
        S: SquareMatrix,
        T: Merge<TB>,
    {
        Lu::factor("solve", self, threshold)?.solve_checked("solve", b)
    }

    /// The inverse `A⁻¹` (PyTorch's `torch.linalg.inv`), as the solution of `A X = I`.
    /// Prefer [`Tensor::solve`] to multiplying by an inverse: it is cheaper and more
    /// accurate.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] and [`Error::SingularMatrix`] as [`Tensor::solve`]:
    /// PyTorch inverts `[[1, 2, 3], [4, 5, 6], [7, 8, 9]]` to entries of 3e15.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[4.0f64, 7.0], [2.0, 6.0]]);
    /// let inverse = a.inv()?;
    /// assert!(inverse.allclose(&Tensor::from_array([[0.6, -0.7], [-0.2, 0.4]]), 1e-12, 1e-15));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn inv(&self) -> Result<Tensor<S, E, UnaryTape<T>>, Error>
    where
        S: SquareMatrix,
    {
        self.inv_with(Threshold::Default)
    }

    /// [`Tensor::inv`] with another threshold for refusing a nearly singular matrix.
    ///
    /// # Errors
    /// As [`Tensor::inv`].
    pub fn inv_with(&self, threshold: Threshold) -> Result<Tensor<S, E, UnaryTape<T>>, Error>
    where
        S: SquareMatrix,
    {
        Ok(Lu::factor("inv", self, threshold)?.inverse())
    }
}

/// The LU factorisation of a square matrix (or of each of a batch), kept to solve
/// several systems, or take the determinant and the inverse, from one factorisation
/// (nalgebra's `LU`, PyTorch's `lu_factor` with `lu_solve`). Every result is
/// differentiable in the matrix, as if computed by the operation itself.
///
/// ```
/// use typegrad::linalg::Lu;
/// use typegrad::prelude::*;
/// let a = Tensor::from_array([[2.0f64, 1.0], [1.0, 3.0]]).track();
/// let lu = Lu::new(&a)?;
/// let x = lu.solve(&Tensor::from_array([3.0, 5.0]))?;
/// let y = lu.solve(&Tensor::from_array([[1.0, 0.0], [0.0, 1.0]]))?;
/// assert!(x.allclose(&Tensor::from_array([0.8, 1.4]), 1e-12, 0.0));
/// assert!(y.allclose(&lu.inverse(), 1e-15, 0.0));
/// assert!((lu.det().item() - 5.0).abs() < 1e-12);
/// let grads = (x.sum() + lu.det()).backward();
/// assert!(grads.get(&a).is_some());
/// # Ok::<(), Error>(())
/// ```
pub struct Lu<S: SquareMatrix, E: Element, T: Tape> {
    a: Tensor<S, E, T>,
    factors: Arc<[f64]>,
    rcond: f64,
}

impl<S: SquareMatrix, E: Element, T: Tape> Lu<S, E, T> {
    /// Factors `a` (partial pivoting), refusing a matrix singular to working precision.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] and [`Error::SingularMatrix`] as [`Tensor::solve`].
    pub fn new(a: &Tensor<S, E, T>) -> Result<Self, Error> {
        Self::new_with(a, Threshold::Default)
    }

    /// [`Lu::new`] with another threshold for refusing a nearly singular matrix.
    ///
    /// # Errors
    /// As [`Lu::new`].
    pub fn new_with(a: &Tensor<S, E, T>, threshold: Threshold) -> Result<Self, Error> {
        Self::factor("Lu::new", a, threshold)
    }

    fn factor(op: &'static str, a: &Tensor<S, E, T>, threshold: Threshold) -> Result<Self, Error> {
        let dims = Dims::of::<S>(S::N);
        let min = threshold.checked::<E>(op, S::N)?;
        check_finite(op, "A", S::DIMS, a.as_slice(), S::N, Reads::All)?;
        let factors = factor(a.as_slice(), dims, false);
        match check_factors(op, a.as_slice(), &factors, dims, min) {
            Ok(rcond) => Ok(Lu {
                a: a.clone(),
                factors,
                rcond,
            }),
            Err(err) => {
                pool::recycle(factors);
                Err(err)
            }
        }
    }

    /// The smallest reciprocal condition estimate `1 / (‖A‖₁ ‖A⁻¹‖₁)` of the matrices
    /// (1 for the identity, 0 for a singular matrix).
    pub fn rcond(&self) -> f64 {
        self.rcond
    }

    /// The solution of `A X = B`, differentiable in `A` and `B`.
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
        self.solve_checked("Lu::solve", b)
    }

    fn solve_checked<SB: RightHandSide<S>, TB: Tape>(
        &self,
        op: &'static str,
        b: &Tensor<SB, E, TB>,
    ) -> Result<Tensor<SB, E, BinaryTape<T, TB>>, Error>
    where
        T: Merge<TB>,
    {
        check_finite(op, "B", SB::DIMS, b.as_slice(), SB::COLUMNS, Reads::All)?;
        let dims = Dims::of::<S>(SB::COLUMNS);
        Ok(Tensor::from_var(lu_solve(
            self.a.operand(),
            b.operand(),
            &self.factors,
            dims,
            false,
            SolveName::Solve,
        )))
    }

    /// The inverse `A⁻¹`, differentiable in `A`.
    pub fn inverse(&self) -> Tensor<S, E, UnaryTape<T>> {
        let dims = Dims::of::<S>(S::N);
        let eye = identity::<E>(dims.batch, dims.n);
        let x = lu_solve(
            self.a.operand(),
            eye.operand(),
            &self.factors,
            dims,
            false,
            SolveName::Inverse,
        );
        release(eye);
        Tensor::from_var(x)
    }

    /// The determinant of each matrix, differentiable in `A` (to any order).
    pub fn det(&self) -> Tensor<S::PerMatrix, E, UnaryTape<T>> {
        let dims = Dims::of::<S>(S::N);
        Tensor::from_var(super::det::det_from_factors(
            self.a.operand(),
            &self.factors,
            dims,
        ))
    }

    /// `(sign, ln |det A|)` of each matrix; the logarithm is differentiable in `A`, the
    /// sign is a constant.
    #[allow(clippy::type_complexity)]
    pub fn slogdet(
        &self,
    ) -> (
        Tensor<S::PerMatrix, E>,
        Tensor<S::PerMatrix, E, UnaryTape<T>>,
    ) {
        let dims = Dims::of::<S>(S::N);
        let (sign, log) = super::det::slogdet_from_factors(self.a.operand(), &self.factors, dims);
        (Tensor::from_var(sign), Tensor::from_var(log))
    }
}

impl<S: SquareMatrix, E: Element, T: Tape> Drop for Lu<S, E, T> {
    fn drop(&mut self) {
        pool::recycle(core::mem::replace(&mut self.factors, f64::empty_storage()));
    }
}

#[cfg(test)]
mod tests {
    use crate::linalg::Threshold;
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn solve_with_matrix_right_hand_side_and_batches() {
        let a = Tensor::from_array([[2.0f64, 1.0], [1.0, 3.0]]);
        let b = Tensor::from_array([[3.0, 1.0], [5.0, 0.0]]);
        let x = a.solve(&b).unwrap();
        assert!(a.matmul(&x).allclose(&b, 1e-14, 1e-14));
        let batch = Tensor::from_array([[[2.0f64, 0.0], [0.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]]);
        let rhs = Tensor::from_array([[2.0, 4.0], [5.0, 7.0]]);
        let x = batch.solve(&rhs).unwrap();
        assert_eq!(x.to_vec(), vec![1.0, 1.0, 7.0, 5.0]);
        let singular = Tensor::from_array([[[1.0f64, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]]);
        assert_eq!(
            singular.solve(&rhs).unwrap_err(),
            Error::SingularMatrix {
                op: "solve",
                batch: Some(1),
                zero_pivot: Some(1),
                rcond: 0.0,
                threshold: 2.0 * f64::EPSILON,
            }
        );
    }

    #[test]
    fn the_pytorch_silent_cases_are_errors() {
        let a = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]);
        let err = a.solve(&Tensor::<Rank1<3>, f64>::ones()).unwrap_err();
        let Error::SingularMatrix { rcond, .. } = err else {
            panic!("{err}")
        };
        assert!(rcond < 3.0 * f64::EPSILON, "{rcond}");
        assert!(matches!(a.inv(), Err(Error::SingularMatrix { .. })));
        let a32 = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]);
        assert!(matches!(a32.inv(), Err(Error::SingularMatrix { .. })));
        // Accepted when the caller says so (the zero-pivot case never is).
        let x = a.solve_with(&Tensor::<Rank1<3>, f64>::ones(), Threshold::MinRcond(0.0));
        assert!(x.is_ok());
    }

    #[test]
    fn names_and_tapes() {
        let a = Tensor::from_array([[2.0f64, 1.0], [1.0, 3.0]]).track();
        let b = Tensor::from_array([1.0, 1.0]);
        assert_eq!(
            a.solve(&b).unwrap().grad_fn().unwrap().name(),
            "LinalgSolveExBackward0"
        );
        assert_eq!(
            a.inv().unwrap().grad_fn().unwrap().name(),
            "LinalgInvExBackward0"
        );
        let x: Tensor<Rank1<2>, f64, NoGrad> = a.no_grad().solve(&b).unwrap();
        assert!(!x.requires_grad());
    }
}
