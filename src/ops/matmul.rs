//! Matrix products: vector·matrix, matrix·vector, matrix·matrix and batched, forward and
//! backward through matrixmultiply. Transposes in the backward are stride swaps.

use crate::element::Element;
use crate::kernels::{gemm, gemm_new, gemm_new_shared, MatRef};
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::{MatMulShapes, Rank0, Rank1, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{BinaryTape, Merge, Tape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// A recorded product `C = op(A) · op(B)` of `batch` pairs of `m x k` and `k x n`
/// matrices, where `op` transposes an operand stored transposed (`lhs_t`: `A` is stored
/// `k x m`; `rhs_t`: `B` is stored `n x k`). The typed `matmul` never transposes; the
/// recorded backward's products do, by strides, without copies.
#[derive(Clone)]
pub(crate) struct MatMulOp {
    lhs: Saved,
    rhs: Saved,
    dims: ProductDims,
    name: &'static str,
}

/// The dimensions of a (possibly batched) product, after folding a batch that shares one
/// right matrix into the rows of a single product, and which operands are stored
/// transposed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProductDims {
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    lhs_t: bool,
    rhs_t: bool,
}

impl ProductDims {
    /// `batch` products of an `m x k` by a `k x n` matrix, either operand stored
    /// transposed (for the linear-algebra rules, which multiply by transposes).
    pub(crate) fn new(
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        lhs_t: bool,
        rhs_t: bool,
    ) -> Self {
        ProductDims {
            batch,
            m,
            k,
            n,
            lhs_t,
            rhs_t,
        }
    }

    fn of<SL: MatMulShapes<SR>, SR: Shape>() -> Self {
        let (batch, m) = if SL::RHS_BATCHED {
            (SL::BATCH, SL::M)
        } else {
            // [B, M, K] row-major is a [B*M, K] matrix: one product instead of B.
            (1, SL::BATCH * SL::M)
        };
        ProductDims {
            batch,
            m,
            k: SL::K,
            n: SL::N,
            lhs_t: false,
            rhs_t: false,
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

    /// `op(A)` of batch `i` as an `m x k` view of `lhs`.
    fn op_a<E>(self, lhs: &[E], i: usize) -> MatRef<'_, E> {
        let a = &lhs[self.ranges(i).0];
        if self.lhs_t {
            MatRef::row_major(a, self.k, self.m).t()
        } else {
            MatRef::row_major(a, self.m, self.k)
        }
    }

    /// `op(B)` of batch `i` as a `k x n` view of `rhs`.
    fn op_b<E>(self, rhs: &[E], i: usize) -> MatRef<'_, E> {
        let b = &rhs[self.ranges(i).1];
        if self.rhs_t {
            MatRef::row_major(b, self.n, self.k).t()
        } else {
            MatRef::row_major(b, self.k, self.n)
        }
    }

    /// The products that give the gradient of `A` (`k = 0`) or `B` (`k = 1`) from
    /// `dC`, as the dimensions of a product of (first, second) operands, each
    /// `Grad` (the incoming gradient) or `Other` (the other operand) and whether it
    /// is read transposed. From `C = op(A) op(B)`: `d op(A) = dC op(B)ᵀ` and
    /// `d op(B) = op(A)ᵀ dC`; a transposed operand's gradient is transposed back.
    fn gradient_product(self, k: usize) -> (Factor, Factor, ProductDims) {
        let ProductDims {
            batch,
            m,
            k: kk,
            n,
            lhs_t,
            rhs_t,
        } = self;
        let dims = |m, k, n, lhs_t, rhs_t| ProductDims {
            batch,
            m,
            k,
            n,
            lhs_t,
            rhs_t,
        };
        match (k, lhs_t, rhs_t) {
            // dA (m x k) = dC (m x n) · op(B)ᵀ
            (0, false, _) => (Factor::Grad, Factor::Other, dims(m, n, kk, false, !rhs_t)),
            // dA stored k x m = op(B) (k x n) · dCᵀ
            (0, true, _) => (Factor::Other, Factor::Grad, dims(kk, n, m, rhs_t, true)),
            // dB (k x n) = op(A)ᵀ (k x m) · dC
            (_, _, false) => (Factor::Other, Factor::Grad, dims(kk, m, n, !lhs_t, false)),
            // dB stored n x k = dCᵀ (n x m) · op(A)
            (_, _, true) => (Factor::Grad, Factor::Other, dims(n, m, kk, true, lhs_t)),
        }
    }
}

/// One factor of a gradient product.
#[derive(Clone, Copy)]
enum Factor {
    Grad,
    Other,
}

impl MatMulOp {
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The other operand of input `k`: `B` for `A`'s gradient, `A` for `B`'s.
    fn other(&self, k: usize) -> Saved {
        if k == 0 {
            self.rhs
        } else {
            self.lhs
        }
    }

    /// dA += dC · op(B)ᵀ and dB += op(A)ᵀ · dC (transposed back for an operand stored
    /// transposed), each computed only for a tracked operand. A leaf's first gradient is
    /// written by the GEMM directly (no zero fill, beta = 0).
    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let saved = parents.saved;
        for k in 0..2 {
            let (first, second, d) = self.dims.gradient_product(k);
            let pick = |factor: Factor| match factor {
                Factor::Grad => grad,
                Factor::Other => self.other(k).of(saved),
            };
            let (a, b) = (pick(first), pick(second));
            if d.batch == 1 {
                parents.accumulate_or_set(
                    k,
                    |g| gemm(E::one(), d.op_a(a, 0), d.op_b(b, 0), E::one(), g),
                    || gemm_new_shared(d.op_a(a, 0), d.op_b(b, 0)),
                );
            } else if let Some(g) = parents.get_mut(k) {
                for i in 0..d.batch {
                    let out = &mut g[d.ranges(i).2];
                    gemm(E::one(), d.op_a(a, i), d.op_b(b, i), E::one(), out);
                }
            }
        }
    }

    /// The same products, recorded.
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let gradient = |k: usize| {
            node.tracked(k).then(|| {
                let (first, second, d) = self.dims.gradient_product(k);
                let other = node.input(1 - k, self.other(k));
                let pick = |factor: Factor| match factor {
                    Factor::Grad => g,
                    Factor::Other => &other,
                };
                let name = if d.batch == 1 {
                    "MmBackward0"
                } else {
                    "BmmBackward0"
                };
                product(pick(first).operand(), pick(second).operand(), d, name)
            })
        };
        [gradient(0), gradient(1)]
    }

    /// `dC = dA · op(B) + op(A) · dB` for each tangent, with `dA`, `dB` stored as the
    /// operands are.
    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let len = out.len() / batch.max(1);
        let d = self.dims;
        let (lhs, rhs) = (self.lhs.of(saved), self.rhs.of(saved));
        if d.batch == 1 {
            // One product per term for the whole batch of tangents, where the layout
            // allows: tangents of a row-major `A` stack into a (batch·m x k) matrix, and
            // tangents of a vector `B` (n = 1) into a (batch x k) one whose product with
            // op(A)ᵀ is the batch of results.
            if let (Some(ta), false) = (tangents[0], d.lhs_t) {
                let stacked = MatRef::row_major(ta, batch * d.m, d.k);
                gemm(E::one(), stacked, d.op_b(rhs, 0), E::one(), out);
            } else if let Some(ta) = tangents[0] {
                self.jvp_each((lhs, rhs), ta, batch, len, out, true);
            }
            if let (Some(tb), 1) = (tangents[1], d.n) {
                let stacked = MatRef::row_major(tb, batch, d.k);
                gemm(E::one(), stacked, d.op_a(lhs, 0).t(), E::one(), out);
            } else if let Some(tb) = tangents[1] {
                self.jvp_each((lhs, rhs), tb, batch, len, out, false);
            }
            return;
        }
        for (k, t) in tangents.into_iter().enumerate() {
            if let Some(t) = t {
                self.jvp_each((lhs, rhs), t, batch, len, out, k == 0);
            }
        }
    }

    /// Adds `dA · op(B)` (`of_lhs`) or `op(A) · dB` for each tangent of the batch.
    fn jvp_each<E: Element>(
        &self,
        (lhs, rhs): (&[E], &[E]),
        t: &[E],
        batch: usize,
        len: usize,
        out: &mut [E],
        of_lhs: bool,
    ) {
        let d = self.dims;
        let per = d.batch * if of_lhs { d.lhs_len() } else { d.rhs_len() };
        for (t, out) in t
            .chunks_exact(per.max(1))
            .zip(out.chunks_exact_mut(len.max(1)))
            .take(batch)
        {
            for i in 0..d.batch {
                let c = &mut out[d.ranges(i).2];
                if of_lhs {
                    gemm(E::one(), d.op_a(t, i), d.op_b(rhs, i), E::one(), c);
                } else {
                    gemm(E::one(), d.op_a(lhs, i), d.op_b(t, i), E::one(), c);
                }
            }
        }
    }
}

/// `C = op(A) · op(B)` for every matrix of the batch `dims` describes, recorded as `name`.
pub(crate) fn product<E: Element>(
    a: Operand<'_, E>,
    b: Operand<'_, E>,
    d: ProductDims,
    name: &'static str,
) -> Var<E> {
    let (lhs, rhs) = (a.values(), b.values());
    let out = if d.batch == 1 {
        gemm_new(d.op_a(lhs, 0), d.op_b(rhs, 0))
    } else {
        crate::tensor::construction::build(d.batch * d.out_len(), |out| {
            for i in 0..d.batch {
                let c = &mut out[d.ranges(i).2];
                gemm(E::one(), d.op_a(lhs, i), d.op_b(rhs, i), E::zero(), c);
            }
        })
    };
    finish(out, [Some(a), Some(b)], |saver| {
        Op::MatMul(MatMulOp {
            lhs: saver.save(a.data),
            rhs: saver.save(b.data),
            dims: d,
            name,
        })
    })
}

/// The name PyTorch gives the backward of a product of these shapes.
///
/// `torch.matmul` reshapes around the kernel it calls, and the name is that of the last
/// step: a vector times a matrix is an `mm` of a 1-row matrix, then squeezed; a batched
/// product is a `bmm` (or an `mm` of the folded batch), then viewed back.
fn grad_fn_name<SL: MatMulShapes<SR>, SR: Shape>() -> &'static str {
    match (SL::RANK, SR::RANK) {
        (1, 1) => "DotBackward0",
        (1, 2) => "SqueezeBackward4",
        (2, 1) => "MvBackward0",
        (3, _) => "UnsafeViewBackward0",
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
        Tensor::from_var((E::compiled().product)(
            self.operand(),
            rhs.operand(),
            d,
            grad_fn_name::<SL, SR>(),
        ))
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
    use alloc::vec;

    #[test]
    fn matrix_vector_and_batched_products() {
        let m = Tensor::from_array([[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]]).track();
        let v = Tensor::from_array([1.0f64, -1.0]).track();
        let mv = m.matmul(&v);
        assert_eq!(mv.to_vec(), vec![-1.0, -1.0, -1.0]);
        assert_eq!(mv.grad_fn().unwrap().name(), "MvBackward0");
        let vm = v.matmul(&m.t());
        assert_eq!(vm.grad_fn().unwrap().name(), "SqueezeBackward4");
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
        assert_eq!(ab.grad_fn().unwrap().name(), "UnsafeViewBackward0");
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
