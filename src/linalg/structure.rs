//! The structural operations: [`Tensor::trace`], [`Tensor::diagonal`], [`Tensor::diag`]
//! and [`Tensor::outer`]. No factorisation, no failure: NaN propagates as in any
//! elementwise operation.
//!
//! Rules: the trace's VJP puts `g` on the diagonal (recorded: a `diag` of `g`), its JVP
//! is the tangent's trace; `diag` and `diagonal` are each other's transposes (a
//! scatter onto the diagonal and a gather from it); `outer` is the product of a column
//! by a row, recorded as a matmul.

use alloc::sync::Arc;

use super::SquareMatrix;
use crate::element::Element;
use crate::ops::axis::lane_sums_var;
use crate::ops::layout::gather;
use crate::ops::matmul::{product, ProductDims};
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::constraint::AxisLayout;
use crate::shape::{Rank1, Rank2, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::{BinaryTape, Merge, Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

use super::LinalgOp;

/// The diagonal of each of `batch` matrices `n x n`, recorded as a gather.
pub(crate) fn diagonal_var<E: Element>(x: Operand<'_, E>, batch: usize, n: usize) -> Var<E> {
    let map: Arc<[usize]> = (0..batch * n).map(|i| i * n + i % n).collect();
    gather(x, map, "DiagonalBackward0")
}

/// The sum of each run of `len` elements (one per matrix), recorded.
pub(crate) fn sum_per_matrix<E: Element>(x: &Var<E>, batch: usize, len: usize) -> Var<E> {
    lane_sums_var(
        x,
        AxisLayout {
            outer: batch,
            len,
            inner: 1,
        },
    )
}

/// A recorded trace of each of `batch` matrices `n x n`.
#[derive(Clone, Copy)]
pub(crate) struct TraceOp {
    batch: usize,
    n: usize,
}

/// The trace of each matrix, recorded.
pub(crate) fn trace_var<E: Element>(x: Operand<'_, E>, batch: usize, n: usize) -> Var<E> {
    let values = x.values();
    let data = Storage::collect(
        batch,
        (0..batch).map(|b| {
            let sum =
                crate::ops::reduce::sum_f64(n, |i| values[b * n * n + i * n + i].to_f64_exact());
            E::from_f64(sum)
        }),
    );
    finish(data, [Some(x), None], |_| {
        Op::Linalg(LinalgOp::Trace(TraceOp { batch, n }))
    })
}

impl TraceOp {
    pub(crate) fn name(&self) -> &'static str {
        "TraceBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        if let Some(gx) = parents.get_mut(0) {
            let n = self.n;
            for (b, &g) in grad.iter().enumerate().take(self.batch) {
                for i in 0..n {
                    let at = b * n * n + i * n + i;
                    gx[at] = gx[at] + g;
                }
            }
        }
    }

    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let gx = node.tracked(0).then(|| {
            // Each matrix's g repeated down its diagonal.
            let n = self.n;
            let rows = gather(
                g.operand(),
                (0..self.batch * n).map(|i| i / n).collect(),
                "ExpandBackward0",
            );
            diag_embed_var(rows.operand(), self.batch, n)
        });
        [gx, None]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let (n, len) = (self.n, self.batch * self.n * self.n);
        for k in 0..batch {
            for b in 0..self.batch {
                let m = &t[k * len + b * n * n..][..n * n];
                let sum = crate::ops::reduce::sum_f64(n, |i| m[i * n + i].to_f64_exact());
                let o = &mut out[k * self.batch + b];
                *o = *o + E::from_f64(sum);
            }
        }
    }

    pub(crate) fn recycle(self) {}
}

/// A recorded embedding of `batch` vectors of `n` as the diagonals of `n x n` matrices.
#[derive(Clone, Copy)]
pub(crate) struct DiagEmbedOp {
    batch: usize,
    n: usize,
}

/// Each vector of `n` (of `batch`) as the diagonal of an `n x n` matrix, recorded.
pub(crate) fn diag_embed_var<E: Element>(v: Operand<'_, E>, batch: usize, n: usize) -> Var<E> {
    let mut data = Storage::<E>::zeroed(batch * n * n);
    let out = data.make_mut();
    for (i, &x) in v.values().iter().enumerate().take(batch * n) {
        out[i * n + i % n] = x;
    }
    finish(data, [Some(v), None], |_| {
        Op::Linalg(LinalgOp::DiagEmbed(DiagEmbedOp { batch, n }))
    })
}

impl DiagEmbedOp {
    pub(crate) fn name(&self) -> &'static str {
        "DiagEmbedBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        if let Some(gv) = parents.get_mut(0) {
            for (i, g) in gv.iter_mut().enumerate().take(self.batch * self.n) {
                *g = *g + grad[i * self.n + i % self.n];
            }
        }
    }

    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        [
            node.tracked(0)
                .then(|| diagonal_var(g.operand(), self.batch, self.n)),
            None,
        ]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let (n, len) = (self.n, self.batch * self.n);
        for k in 0..batch {
            for i in 0..len {
                let o = &mut out[k * len * n + i * n + i % n];
                *o = *o + t[k * len + i];
            }
        }
    }

    pub(crate) fn recycle(self) {}
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The trace `Σ Aᵢᵢ` of the matrix, or of each matrix of a batch (PyTorch's
    /// `torch.trace`, summed in `f64`). Its gradient is the identity. (`D`, inferred, is
    /// `Rank0`, or `Rank1<B>` for a batch.)
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[1.0f64, 2.0], [3.0, 4.0]]).track();
    /// let t = a.trace();
    /// assert_eq!(t.item(), 5.0);
    /// assert_eq!(t.backward().get(&a).unwrap().to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn trace<D: Shape>(&self) -> Tensor<D, E, UnaryTape<T>>
    where
        S: SquareMatrix<PerMatrix = D>,
    {
        Tensor::from_var(trace_var(self.operand(), S::BATCH, S::N))
    }

    /// The diagonal of the matrix, or of each matrix of a batch (PyTorch's
    /// `torch.diagonal`). (`D`, inferred, is `Rank1<N>`, or `Rank2<B, N>` for a batch.)
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[1.0f64, 2.0], [3.0, 4.0]]);
    /// assert_eq!(a.diagonal().to_vec(), vec![1.0, 4.0]);
    /// ```
    pub fn diagonal<D: Shape>(&self) -> Tensor<D, E, UnaryTape<T>>
    where
        S: SquareMatrix<PerRow = D>,
    {
        Tensor::from_var(diagonal_var(self.operand(), S::BATCH, S::N))
    }
}

impl<const N: usize, E: Element, T: Tape> Tensor<Rank1<N>, E, T> {
    /// The square matrix with this vector on its diagonal and zeros elsewhere (PyTorch's
    /// `torch.diag` of a vector).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let d = Tensor::from_array([1.0f64, 2.0]).diag();
    /// assert_eq!(d.to_array(), [[1.0, 0.0], [0.0, 2.0]]);
    /// ```
    pub fn diag(&self) -> Tensor<Rank2<N, N>, E, UnaryTape<T>> {
        Tensor::from_var(diag_embed_var(self.operand(), 1, N))
    }

    /// The outer product `u vᵀ` (PyTorch's `torch.outer`): element `(i, j)` is
    /// `uᵢ vⱼ`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let u = Tensor::from_array([1.0f64, 2.0]);
    /// let v = Tensor::from_array([3.0, 4.0, 5.0]);
    /// assert_eq!(u.outer(&v).to_array(), [[3.0, 4.0, 5.0], [6.0, 8.0, 10.0]]);
    /// ```
    pub fn outer<const M: usize, TB: Tape>(
        &self,
        other: &Tensor<Rank1<M>, E, TB>,
    ) -> Tensor<Rank2<N, M>, E, BinaryTape<T, TB>>
    where
        T: Merge<TB>,
    {
        // A column (N x 1) times a row (1 x M): the vectors as they are stored.
        let dims = ProductDims::new(1, N, 1, M, false, false);
        Tensor::from_var(product(
            self.operand(),
            other.operand(),
            dims,
            "MulBackward0",
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn batched_trace_and_diagonal() {
        let a = Tensor::from_array([[[1.0f64, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]).track();
        let t = a.trace();
        assert_eq!(t.to_vec(), vec![5.0, 13.0]);
        assert_eq!(t.grad_fn().unwrap().name(), "TraceBackward0");
        let d = a.diagonal();
        assert_eq!(d.to_vec(), vec![1.0, 4.0, 5.0, 8.0]);
        let g = (t.sum() + d.sum()).backward().get(&a).unwrap();
        assert_eq!(g.to_vec(), vec![2.0, 0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 2.0]);
        let v = Tensor::from_array([1.0f64, 2.0]).track();
        let m = v.diag();
        assert_eq!(m.grad_fn().unwrap().name(), "DiagEmbedBackward0");
        let w = Tensor::from_array([3.0f64, 4.0, 5.0]);
        assert_eq!(v.outer(&w).grad_fn().unwrap().name(), "MulBackward0");
    }
}
