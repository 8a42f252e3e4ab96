//! Determinants: [`Tensor::det`] and [`Tensor::slogdet`], from LU with complete
//! pivoting. Neither refuses a singular matrix: its determinant is 0, `ln|det|` is
//! `-inf`.
//!
//! Rules:
//! - `det`: VJP `gA = g · C`, `C` the cofactor matrix (`C = det(A) A⁻ᵀ` where `A` is
//!   invertible), computed from the factors without a division (JAX's cofactor rule,
//!   `_cofactor_solve`): exact and finite at a matrix of rank `n - 1`, where PyTorch's
//!   rule, which perturbs a zero pivot by ε, was wrong (pytorch#80761, #104675). JVP
//!   `d det = ⟨C, dA⟩`. Recorded: `g · C` with `C` recorded as an operation of its own,
//!   whose rules are `det`'s second derivative (`kernels::cofactor_derivative`, exact at
//!   rank `n - 1` too; not finite below rank `n - 1`, where it divides by a zero pivot of the
//!   leading block) and, recorded, `dC[G] = (⟨C, G⟩ C - C Gᵀ C) / det` (from
//!   `C = det · A⁻ᵀ`; not finite at a singular matrix, so third derivatives of `det`
//!   exist only where `A` is invertible).
//! - `slogdet`: VJP `gA = g · A⁻ᵀ` (solves with the saved factors, never a division by
//!   the determinant, so a determinant beyond the range of floating point does not
//!   matter); JVP `d ln|det| = ⟨A⁻ᵀ, dA⟩`; recorded: `g · A⁻ᵀ` with `A⁻ᵀ` a recorded
//!   solve. At a singular matrix `A⁻ᵀ` does not exist and the gradient is not finite.

use alloc::sync::Arc;

use super::kernels::{cofactor, cofactor_derivative, LuRef};
use super::recorded::{matmul, per_matrix};
use super::solve::{factor, lu_solve};
use super::structure::sum_per_matrix;
use super::{
    add_into, check_finite, identity, load, Dims, LinalgOp, PackedDims, Reads, Scratch, SolveName,
    SquareMatrix,
};
use crate::element::Element;
use crate::error::Error;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::{pool, Tensor};

/// A recorded determinant, with the factors its rules read.
#[derive(Clone)]
pub(crate) struct DetOp {
    factors: Arc<[f64]>,
    a: Saved,
    packed: PackedDims,
}

/// A recorded cofactor matrix (the gradient of `det`, in its recorded backward).
#[derive(Clone)]
pub(crate) struct CofactorOp {
    factors: Arc<[f64]>,
    a: Saved,
    c: Saved,
    packed: PackedDims,
}

/// A recorded `ln |det A|`.
#[derive(Clone)]
pub(crate) struct SlogdetOp {
    factors: Arc<[f64]>,
    a: Saved,
    packed: PackedDims,
}

/// The cofactor matrices of every matrix of the batch into `out`, from the factors.
fn cofactors(factors: &[f64], dims: Dims, out: &mut [f64]) {
    let (n, matrix) = (dims.n, dims.matrix());
    let mut scratch = Scratch::new(matrix);
    for i in 0..dims.batch {
        let lu = LuRef::of(factors, n, i);
        cofactor(lu, &mut out[i * matrix..(i + 1) * matrix], scratch.values());
    }
}

/// `A⁻ᵀ` of every matrix of the batch into `out`, by solves with the factors.
fn inverse_transposes(factors: &[f64], dims: Dims, out: &mut [f64]) {
    let (n, matrix) = (dims.n, dims.matrix());
    let mut scratch = Scratch::new(matrix);
    for i in 0..dims.batch {
        let x = &mut out[i * matrix..(i + 1) * matrix];
        x.fill(0.0);
        for d in 0..n {
            x[d * n + d] = 1.0;
        }
        LuRef::of(factors, n, i).solve(x, n, true, scratch.values());
    }
}

/// `gA += g_b · M_b` for each matrix `b`, `M` per matrix in `m`.
fn add_scaled<E: Element>(ga: &mut [E], grad: &[E], m: &[f64], matrix: usize) {
    for (b, &g) in grad.iter().enumerate() {
        let g = g.to_f64_exact();
        for (o, &v) in ga[b * matrix..(b + 1) * matrix]
            .iter_mut()
            .zip(&m[b * matrix..(b + 1) * matrix])
        {
            *o = *o + E::from_f64(g * v);
        }
    }
}

/// `out[t · batch + b] += ⟨M_b, dA_b⟩` for each of `batch` tangents `t`.
fn add_inner<E: Element>(t: &[E], batch: usize, m: &[f64], dims: Dims, out: &mut [E]) {
    let matrix = dims.matrix();
    let len = dims.batch * matrix;
    for k in 0..batch {
        for b in 0..dims.batch {
            let da = &t[k * len + b * matrix..][..matrix];
            let s =
                crate::ops::reduce::sum_f64(matrix, |i| m[b * matrix + i] * da[i].to_f64_exact());
            let o = &mut out[k * dims.batch + b];
            *o = *o + E::from_f64(s);
        }
    }
}

/// `det A` of each matrix from its `factors`, recorded.
pub(crate) fn det_from_factors<E: Element>(
    a: Operand<'_, E>,
    factors: &Arc<[f64]>,
    dims: Dims,
) -> Var<E> {
    let data = Storage::collect(
        dims.batch,
        (0..dims.batch).map(|i| E::from_f64(LuRef::of(factors, dims.n, i).det())),
    );
    finish(data, [Some(a), None], |saver| {
        Op::Linalg(LinalgOp::Det(DetOp {
            factors: Arc::clone(factors),
            a: saver.save(a.data),
            packed: dims.pack(),
        }))
    })
}

/// The cofactor matrix of each matrix from its `factors`, recorded.
fn cofactor_var<E: Element>(a: Operand<'_, E>, factors: &Arc<[f64]>, dims: Dims) -> Var<E> {
    let mut c = Scratch::new(dims.batch * dims.matrix());
    cofactors(factors, dims, c.values());
    let out = super::store::<E>(c.values());
    finish(out, [Some(a), None], |saver| {
        Op::Linalg(LinalgOp::Cofactor(CofactorOp {
            factors: Arc::clone(factors),
            a: saver.save(a.data),
            c: saver.save_output(),
            packed: dims.pack(),
        }))
    })
}

/// `(sign, ln |det A|)` of each matrix from its `factors`: the sign a constant, the
/// logarithm recorded.
pub(crate) fn slogdet_from_factors<E: Element>(
    a: Operand<'_, E>,
    factors: &Arc<[f64]>,
    dims: Dims,
) -> (Var<E>, Var<E>) {
    let each = |i| LuRef::of(factors, dims.n, i).slogdet();
    let sign = Storage::collect(dims.batch, (0..dims.batch).map(|i| E::from_f64(each(i).0)));
    let log = Storage::collect(dims.batch, (0..dims.batch).map(|i| E::from_f64(each(i).1)));
    let log = finish(log, [Some(a), None], |saver| {
        Op::Linalg(LinalgOp::Slogdet(SlogdetOp {
            factors: Arc::clone(factors),
            a: saver.save(a.data),
            packed: dims.pack(),
        }))
    });
    (Var::constant(sign), log)
}

impl DetOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        "LinalgDetBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let Some(ga) = parents.get_mut(0) else { return };
        let mut c = Scratch::new(self.dims().batch * self.dims().matrix());
        cofactors(&self.factors, self.dims(), c.values());
        add_scaled(ga, grad, c.values(), self.dims().matrix());
    }

    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let ga = node.tracked(0).then(|| {
            let a = node.input(0, self.a);
            let c = cofactor_var(a.operand(), &self.factors, self.dims());
            c.mul(&per_matrix(g, self.dims().batch, self.dims().matrix()))
        });
        [ga, None]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let mut c = Scratch::new(self.dims().batch * self.dims().matrix());
        cofactors(&self.factors, self.dims(), c.values());
        add_inner(t, batch, c.values(), self.dims(), out);
    }

    pub(crate) fn recycle(self) {
        pool::recycle(self.factors);
    }
}

impl CofactorOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        "CofactorBackward0"
    }

    /// `dC[D]` of every matrix, for `D` read from `d` (one batch of matrices), added
    /// into `out`.
    fn add_derivative<E: Element>(&self, d: &[E], out: &mut [E]) {
        let (n, matrix) = (self.dims().n, self.dims().matrix());
        let mut work = Scratch::new(2 * matrix + 4 * matrix + 2 * n);
        let (df, rest) = work.values().split_at_mut(matrix);
        let (dc, scratch) = rest.split_at_mut(matrix);
        for i in 0..self.dims().batch {
            load(&d[i * matrix..(i + 1) * matrix], df);
            cofactor_derivative(LuRef::of(&self.factors, n, i), df, dc, scratch);
            add_into(&mut out[i * matrix..(i + 1) * matrix], dc);
        }
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        // det's second derivative is a symmetric form: the VJP is the JVP.
        if let Some(ga) = parents.get_mut(0) {
            self.add_derivative(grad, ga);
        }
    }

    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let ga = node.tracked(0).then(|| {
            let Dims { batch, n, .. } = self.dims();
            let matrix = self.dims().matrix();
            let a = node.input(0, self.a);
            let c = node.output(self.c);
            let along = per_matrix(&sum_per_matrix(&c.mul(g), batch, matrix), batch, matrix);
            let cgt = matmul(&c, g, batch, n, n, n, false, true);
            let cgtc = matmul(&cgt, &c, batch, n, n, n, false, false);
            let det = det_from_factors(a.operand(), &self.factors, self.dims());
            along
                .mul(&c)
                .sub(&cgtc)
                .div(&per_matrix(&det, batch, matrix))
        });
        [ga, None]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let len = self.dims().batch * self.dims().matrix();
        for k in 0..batch {
            self.add_derivative(&t[k * len..(k + 1) * len], &mut out[k * len..(k + 1) * len]);
        }
    }

    pub(crate) fn recycle(self) {
        pool::recycle(self.factors);
    }
}

impl SlogdetOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        "LinalgSlogdetBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let Some(ga) = parents.get_mut(0) else { return };
        let mut m = Scratch::new(self.dims().batch * self.dims().matrix());
        inverse_transposes(&self.factors, self.dims(), m.values());
        add_scaled(ga, grad, m.values(), self.dims().matrix());
    }

    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let ga = node.tracked(0).then(|| {
            let Dims { batch, n, .. } = self.dims();
            let a = node.input(0, self.a);
            let eye = identity::<E>(batch, n);
            let dims = Dims {
                k: n,
                ..self.dims()
            };
            let inverse_t = lu_solve(
                a.operand(),
                eye.operand(),
                &self.factors,
                dims,
                true,
                SolveName::Solve,
            );
            inverse_t.mul(&per_matrix(g, batch, self.dims().matrix()))
        });
        [ga, None]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let mut m = Scratch::new(self.dims().batch * self.dims().matrix());
        inverse_transposes(&self.factors, self.dims(), m.values());
        add_inner(t, batch, m.values(), self.dims(), out);
    }

    pub(crate) fn recycle(self) {
        pool::recycle(self.factors);
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The determinant of the matrix, or of each matrix of a batch (PyTorch's
    /// `torch.linalg.det`), from LU with complete pivoting. A singular matrix has
    /// determinant 0 and is not refused; the gradient there is the cofactor matrix,
    /// exact and finite at rank `n - 1`. A determinant beyond the range of floating point
    /// is infinite or 0: [`Tensor::slogdet`] gives its logarithm. (`D`, inferred, is
    /// `Rank0`, or `Rank1<B>` for a batch.)
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] if the matrix holds a NaN or an infinity.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]).track();
    /// let det = a.det()?;
    /// assert_eq!(det.item(), 0.0);
    /// // Rank 2: the gradient is the cofactor matrix (to rounding; no division by the
    /// // vanishing pivot enters it).
    /// let g = det.backward().get(&a).unwrap();
    /// let cofactors = [[-3.0, 6.0, -3.0], [6.0, -12.0, 6.0], [-3.0, 6.0, -3.0]];
    /// assert!(g.allclose(&Tensor::from_array(cofactors), 1e-14, 1e-14));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn det<D: Shape>(&self) -> Result<Tensor<D, E, UnaryTape<T>>, Error>
    where
        S: SquareMatrix<PerMatrix = D>,
    {
        check_finite("det", "A", S::DIMS, self.as_slice(), S::N, Reads::All)?;
        let dims = Dims::of::<S>(S::N);
        let factors = factor(self.as_slice(), dims, true);
        let det = det_from_factors(self.operand(), &factors, dims);
        pool::recycle(factors);
        Ok(Tensor::from_var(det))
    }

    /// The sign and the logarithm of the absolute value of the determinant,
    /// `(sign, ln |det A|)` (PyTorch's `torch.linalg.slogdet`), of each matrix of a
    /// batch: `ln |det|` stays finite where `det` over- or underflows. A singular matrix
    /// gives `(0, -inf)` and is not refused. The logarithm is differentiable (its
    /// gradient is `A⁻ᵀ`, not finite at a singular matrix); the sign is a constant.
    /// (`D`, inferred, is `Rank0`, or `Rank1<B>` for a batch.)
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] if the matrix holds a NaN or an infinity.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[0.0f64, 2.0], [3.0, 0.0]]);
    /// let (sign, logabs) = a.slogdet()?;
    /// assert_eq!(sign.item(), -1.0);
    /// assert!((logabs.item() - 6f64.ln()).abs() < 1e-15);
    /// # Ok::<(), Error>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn slogdet<D: Shape>(&self) -> Result<(Tensor<D, E>, Tensor<D, E, UnaryTape<T>>), Error>
    where
        S: SquareMatrix<PerMatrix = D>,
    {
        check_finite("slogdet", "A", S::DIMS, self.as_slice(), S::N, Reads::All)?;
        let dims = Dims::of::<S>(S::N);
        let factors = factor(self.as_slice(), dims, true);
        let (sign, log) = slogdet_from_factors(self.operand(), &factors, dims);
        pool::recycle(factors);
        Ok((Tensor::from_var(sign), Tensor::from_var(log)))
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn det_of_batches_and_singular_matrices() {
        let a = Tensor::from_array([[[2.0f64, 0.0], [0.0, 3.0]], [[1.0, 2.0], [2.0, 4.0]]]);
        assert_eq!(a.det().unwrap().to_vec(), vec![6.0, 0.0]);
        let (sign, log) = a.slogdet().unwrap();
        assert_eq!(sign.to_vec(), vec![1.0, 0.0]);
        assert_eq!(log.to_vec(), vec![6f64.ln(), f64::NEG_INFINITY]);
        let nan = Tensor::from_array([[1.0f64, f64::INFINITY], [0.0, 1.0]]);
        assert!(matches!(
            nan.det(),
            Err(Error::NonFiniteInput { value: "inf", .. })
        ));
    }

    #[test]
    fn rank_deficient_gradients() {
        // Rank 1 of 3: every 2 x 2 minor vanishes, so the gradient is 0.
        let a = Tensor::from_array([[1.0f64, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]]).track();
        let g = a.det().unwrap().backward().get(&a).unwrap();
        assert!(g.to_vec().iter().all(|v| v.abs() < 1e-12), "{g:?}");
        // A zero matrix of size 1: det(0) = 0, gradient 1.
        let z = Tensor::<Rank2<1, 1>, f64>::zeros().track();
        let g = z.det().unwrap().backward().get(&z).unwrap();
        assert_eq!(g.to_vec(), vec![1.0]);
    }
}
