//! Matrix products: vector·matrix, matrix·vector, matrix·matrix and batched, forward and
//! backward through matrixmultiply. Transposes in the backward are stride swaps.

use std::sync::Arc;

use crate::element::Element;
use crate::kernels::{gemm, gemm_new, MatRef};
use crate::ops::{finish, Op};
use crate::shape::{MatMulShapes, Rank0, Rank1, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::{BinaryTape, Merge, Tape};
use crate::tensor::Tensor;

/// A recorded product `C = A · B` of `batch` pairs of `m x k` and `k x n` matrices.
pub(crate) struct MatMulOp<E: Element> {
    lhs: Arc<[E]>,
    rhs: Arc<[E]>,
    dims: ProductDims,
    name: &'static str,
}

/// The dimensions of a (possibly batched) product, after folding a batch that shares one
/// right matrix into the rows of a single product.
#[derive(Clone, Copy, Debug)]
struct ProductDims {
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
}

impl ProductDims {
    fn of<SL: MatMulShapes<SR>, SR: Shape>() -> Self {
        if SL::RHS_BATCHED {
            ProductDims {
                batch: SL::BATCH,
                m: SL::M,
                k: SL::K,
                n: SL::N,
            }
        } else {
            // [B, M, K] row-major is a [B*M, K] matrix: one product instead of B.
            ProductDims {
                batch: 1,
                m: SL::BATCH * SL::M,
                k: SL::K,
                n: SL::N,
            }
        }
    }

    fn lhs_len(self) -> usize {
        self.m * self.k
    }

    fn rhs_len(self) -> usize {
        self.k * self.n
    }

    fn out_len(self) -> usize {
        self.m * self.n
    }

    /// The `i`-th matrices of a batch, as (lhs, rhs, out) element ranges.
    fn ranges(
        self,
        i: usize,
    ) -> (
        core::ops::Range<usize>,
        core::ops::Range<usize>,
        core::ops::Range<usize>,
    ) {
        let (a, b, c) = (self.lhs_len(), self.rhs_len(), self.out_len());
        (i * a..(i + 1) * a, i * b..(i + 1) * b, i * c..(i + 1) * c)
    }
}

impl<E: Element> MatMulOp<E> {
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// dA += dC · Bᵀ and dB += Aᵀ · dC, each computed only for a tracked operand. A
    /// leaf's first gradient is written by the GEMM directly (no zero fill, beta = 0).
    pub(crate) fn backward(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let d = self.dims;
        let dc = |i: usize| MatRef::row_major(&grad[d.ranges(i).2], d.m, d.n);
        let b_t = |i: usize| MatRef::row_major(&self.rhs[d.ranges(i).1], d.k, d.n).t();
        let a_t = |i: usize| MatRef::row_major(&self.lhs[d.ranges(i).0], d.m, d.k).t();
        if d.batch == 1 {
            parents.accumulate_or_set(
                0,
                |ga| gemm(E::one(), dc(0), b_t(0), E::one(), ga),
                || gemm_new(dc(0), b_t(0)),
            );
            parents.accumulate_or_set(
                1,
                |gb| gemm(E::one(), a_t(0), dc(0), E::one(), gb),
                || gemm_new(a_t(0), dc(0)),
            );
            return;
        }
        if let Some(ga) = parents.get_mut(0) {
            for i in 0..d.batch {
                gemm(E::one(), dc(i), b_t(i), E::one(), &mut ga[d.ranges(i).0]);
            }
        }
        if let Some(gb) = parents.get_mut(1) {
            for i in 0..d.batch {
                gemm(E::one(), a_t(i), dc(i), E::one(), &mut gb[d.ranges(i).1]);
            }
        }
    }
}

/// The name PyTorch gives the backward of a product of these shapes.
fn grad_fn_name<SL: MatMulShapes<SR>, SR: Shape>() -> &'static str {
    match (SL::RANK, SR::RANK) {
        (1, 1) => "DotBackward0",
        (2, 1) => "MvBackward0",
        (3, 3) => "BmmBackward0",
        (3, 2) => "UnsafeViewBackward0",
        _ => "MmBackward0",
    }
}

impl<SL: Shape, E: Element, TL: Tape> Tensor<SL, E, TL> {
    /// The matrix product (PyTorch's `torch.matmul`): vector·vector (dot), vector·matrix, matrix·vector,
    /// matrix·matrix, and batched (`Rank3` by `Rank3`, or by one shared `Rank2`).
    /// Mismatched inner dimensions do not compile.
    ///
    /// Backward computes `dA = dC·Bᵀ` and `dB = Aᵀ·dC` as strided GEMMs (no transposed
    /// copies), and only for the operands that are `Tracked`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<Rank1<2>, f32> = Tensor::from_array([1.0, 2.0]);
    /// let w = Tensor::from_array([[1.0f32, 0.0, 2.0], [0.0, 1.0, 3.0]]).track();
    /// let z = x.matmul(&w);
    /// assert_eq!(z.to_vec(), vec![1.0, 2.0, 8.0]);
    /// let grads = z.sum().backward();
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// ```
    pub fn matmul<SR: Shape, TR: Tape>(
        &self,
        rhs: &Tensor<SR, E, TR>,
    ) -> Tensor<<SL as MatMulShapes<SR>>::Output, E, BinaryTape<TL, TR>>
    where
        SL: MatMulShapes<SR>,
        TL: Merge<TR>,
    {
        let d = ProductDims::of::<SL, SR>();
        let (lhs, rhs_values) = (self.as_slice(), rhs.as_slice());
        let out = if d.batch == 1 {
            gemm_new(
                MatRef::row_major(lhs, d.m, d.k),
                MatRef::row_major(rhs_values, d.k, d.n),
            )
        } else {
            crate::tensor::construction::build(d.batch * d.out_len(), |out| {
                for i in 0..d.batch {
                    let (a, b, c) = d.ranges(i);
                    gemm(
                        E::one(),
                        MatRef::row_major(&lhs[a], d.m, d.k),
                        MatRef::row_major(&rhs_values[b], d.k, d.n),
                        E::zero(),
                        &mut out[c],
                    );
                }
            })
        };
        finish(out, [self.input(), rhs.input()], || {
            Op::MatMul(MatMulOp {
                lhs: Arc::clone(self.storage()),
                rhs: Arc::clone(rhs.storage()),
                dims: d,
                name: grad_fn_name::<SL, SR>(),
            })
        })
    }
}

impl<const K: usize, E: Element, TL: Tape> Tensor<Rank1<K>, E, TL> {
    /// The dot product `Σ aᵢ bᵢ` (PyTorch's `torch.dot`): `matmul` of two vectors.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([1.0f64, 2.0, 3.0]).track();
    /// let d = a.dot(&Tensor::from_array([4.0, 5.0, 6.0]));
    /// assert_eq!(d.item(), 32.0);
    /// assert_eq!(d.backward().get(&a).unwrap().to_vec(), vec![4.0, 5.0, 6.0]);
    /// ```
    pub fn dot<TR: Tape>(
        &self,
        other: &Tensor<Rank1<K>, E, TR>,
    ) -> Tensor<Rank0, E, BinaryTape<TL, TR>>
    where
        TL: Merge<TR>,
    {
        self.matmul(other)
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    #[test]
    fn matrix_vector_and_batched_products() {
        let m = Tensor::from_array([[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]]).track();
        let v = Tensor::from_array([1.0f64, -1.0]).track();
        let mv = m.matmul(&v);
        assert_eq!(mv.to_vec(), vec![-1.0, -1.0, -1.0]);
        assert_eq!(mv.grad_fn().unwrap().name(), "MvBackward0");
        let grads = mv.sum().backward();
        assert_eq!(grads.get(&v).unwrap().to_vec(), vec![9.0, 12.0]);
        assert_eq!(
            grads.get(&m).unwrap().to_vec(),
            vec![1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
        );

        let a = Tensor::from_array([[[1.0f64, 2.0]], [[3.0, 4.0]]]).track();
        let b = Tensor::from_array([[[1.0f64], [1.0]], [[2.0], [0.5]]]).track();
        let ab = a.matmul(&b);
        let _: &Tensor<Rank3<2, 1, 1>, f64, Tracked> = &ab;
        assert_eq!(ab.to_vec(), vec![3.0, 8.0]);
        let grads = ab.sum().backward();
        assert_eq!(grads.get(&a).unwrap().to_vec(), vec![1.0, 1.0, 2.0, 0.5]);
        assert_eq!(grads.get(&b).unwrap().to_vec(), vec![1.0, 2.0, 3.0, 4.0]);

        let shared = Tensor::from_array([[2.0f64], [1.0]]).track();
        let out = a.matmul(&shared);
        assert_eq!(out.to_vec(), vec![4.0, 10.0]);
        let grads = out.sum().backward();
        assert_eq!(grads.get(&shared).unwrap().to_vec(), vec![4.0, 6.0]);
    }

    #[test]
    fn untracked_operand_gets_no_gradient() {
        let x: Tensor<Rank2<1, 2>, f32> = Tensor::ones();
        let w = Tensor::<Rank2<2, 2>, f32>::ones().track();
        let grads = x.matmul(&w).sum().backward();
        assert_eq!(grads.len(), 1);
        assert!(grads.get(&w).is_some());
    }
}
