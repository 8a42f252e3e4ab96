//! The matrix exponential [`Tensor::matrix_exp`].
//!
//! `e^A` by Higham's scaling and squaring with Padé approximants (2005), in `f64`
//! (`kernels::expm`). Rules, with `L(A, E)` the Fréchet derivative of the exponential
//! at `A` in the direction `E` (Najfeld and Havel 1995; Al-Mohy and Higham 2009;
//! PyTorch's `linalg_matrix_exp_differential`, which computes the same block matrix):
//! - JVP: `dX = L(A, dA)`, the upper-right block of `exp([[A, dA], [0, A]])`;
//! - VJP: `gA = L(Aᵀ, G)` (the adjoint of `L(A, ·)` is `L(Aᵀ, ·)`), the same block
//!   identity with `Aᵀ`;
//! - recorded: `L(Aᵀ, G)` as the upper-right block of the recorded exponential of the
//!   recorded block matrix `[[Aᵀ, G], [0, Aᵀ]]`: this operation again, at twice the
//!   size, so every further derivative comes from the same rules (`4n` for a third).
//!
//! The direction is scaled by `‖A‖₁ / ‖E‖₁` inside the block and the result scaled back
//! (`L` is linear in `E`), so that a large or small gradient does not change the number
//! of squarings. Scratch space comes from the pool.

use super::kernels::expm::{expm, expm_frechet, expm_work_len, frechet_work_len, norm1};
use super::recorded::{scale, transpose};
use super::{
    add_into, check_finite, load, store, Dims, LinalgOp, PackedDims, Reads, Scratch, SquareMatrix,
};
use crate::element::Element;
use crate::error::Error;
use crate::ops::layout::{gather, scatter_add};
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// A recorded matrix exponential.
#[derive(Clone)]
pub(crate) struct MatrixExpOp {
    a: Saved,
    packed: PackedDims,
}

/// `e^A` of each matrix of `a`, recorded. Entries beyond the range come out infinite.
fn matrix_exp_var<E: Element>(a: Operand<'_, E>, dims: Dims) -> Var<E> {
    let (n, matrix) = (dims.n, dims.matrix());
    let mut work = Scratch::new(matrix + dims.batch * matrix + expm_work_len(n));
    let (af, rest) = work.values().split_at_mut(matrix);
    let (out, scratch) = rest.split_at_mut(dims.batch * matrix);
    for i in 0..dims.batch {
        load(&a.values()[i * matrix..(i + 1) * matrix], af);
        expm(af, n, &mut out[i * matrix..(i + 1) * matrix], scratch);
    }
    let data = store::<E>(out);
    finish(data, [Some(a), None], |saver| {
        Op::Linalg(LinalgOp::MatrixExp(MatrixExpOp {
            a: saver.save(a.data),
            packed: dims.pack(),
        }))
    })
}

/// `[[x, y], [0, x]]` for each of `batch` pairs of `n x n` matrices, recorded.
fn block_upper<E: Element>(x: &Var<E>, y: &Var<E>, batch: usize, n: usize) -> Var<E> {
    let (matrix, m) = (n * n, 2 * n);
    let len = batch * m * m;
    let place = |row: usize, col: usize| -> std::sync::Arc<[usize]> {
        (0..batch * matrix)
            .map(|at| {
                let (b, r, c) = (at / matrix, (at % matrix) / n, at % n);
                b * m * m + (row * n + r) * m + col * n + c
            })
            .collect()
    };
    let top = scatter_add(x.operand(), place(0, 0), len);
    let bottom = scatter_add(x.operand(), place(1, 1), len);
    let corner = scatter_add(y.operand(), place(0, 1), len);
    top.add(&bottom).add(&corner)
}

impl MatrixExpOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        "LinalgMatrixExpBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let a_all = self.a.of(parents.saved);
        let Some(ga) = parents.get_mut(0) else { return };
        let Dims { batch, n, .. } = self.dims();
        let matrix = n * n;
        let mut work = Scratch::new(4 * matrix + frechet_work_len(n));
        let (a, rest) = work.values().split_at_mut(matrix);
        let (at, rest) = rest.split_at_mut(matrix);
        let (g, rest) = rest.split_at_mut(matrix);
        let (l, scratch) = rest.split_at_mut(matrix);
        for i in 0..batch {
            load(&a_all[i * matrix..(i + 1) * matrix], a);
            for r in 0..n {
                for c in 0..n {
                    at[c * n + r] = a[r * n + c];
                }
            }
            load(&grad[i * matrix..(i + 1) * matrix], g);
            expm_frechet(at, g, n, l, scratch);
            add_into(&mut ga[i * matrix..(i + 1) * matrix], l);
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
        let matrix = n * n;
        let a = node.input(0, self.a);
        // One factor for the batch: the largest ratio of norms that is a normal number.
        let mut work = Scratch::new(2 * matrix);
        let (af, gf) = work.values().split_at_mut(matrix);
        let mut c: f64 = 1.0;
        for i in 0..batch {
            load(&a.data[i * matrix..(i + 1) * matrix], af);
            load(&g.data[i * matrix..(i + 1) * matrix], gf);
            let ratio = norm1(af, n) / norm1(gf, n);
            if ratio.is_normal() {
                c = if i == 0 { ratio } else { c.min(ratio) };
            }
        }
        let at = transpose(&a, batch, n, n);
        let block = block_upper(&at, &scale(g, c), batch, n);
        let double = Dims {
            batch,
            n: 2 * n,
            k: 2 * n,
            batched: self.dims().batched,
        };
        let exp = matrix_exp_var(block.operand(), double);
        let corner: std::sync::Arc<[usize]> = (0..batch * matrix)
            .map(|at| {
                let (b, r, col) = (at / matrix, (at % matrix) / n, at % n);
                b * 4 * matrix + r * 2 * n + n + col
            })
            .collect();
        let l = gather(exp.operand(), corner, "SliceBackward0");
        [Some(scale(&l, 1.0 / c)), None]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let a_all = self.a.of(saved);
        let Some(t) = tangents[0] else { return };
        let Dims {
            batch: matrices, n, ..
        } = self.dims();
        let matrix = n * n;
        let len = matrices * matrix;
        let mut work = Scratch::new(3 * matrix + frechet_work_len(n));
        let (a, rest) = work.values().split_at_mut(matrix);
        let (da, rest) = rest.split_at_mut(matrix);
        let (l, scratch) = rest.split_at_mut(matrix);
        for i in 0..matrices {
            load(&a_all[i * matrix..(i + 1) * matrix], a);
            for b in 0..batch {
                load(&t[b * len + i * matrix..][..matrix], da);
                expm_frechet(a, da, n, l, scratch);
                add_into(&mut out[b * len + i * matrix..][..matrix], l);
            }
        }
    }

    pub(crate) fn recycle(self) {}
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The matrix exponential `e^A = Σ Aᵏ / k!` (PyTorch's `torch.linalg.matrix_exp`),
    /// of each matrix of a batch, by scaling and squaring with Padé approximants
    /// (Higham 2005), in `f64`. Differentiable to any order through the Fréchet
    /// derivative (the module's notes).
    ///
    /// # Errors
    /// - [`Error::NonFiniteInput`] if `A` holds a NaN or an infinity;
    /// - [`Error::Overflow`] if `e^A` is beyond the element type's range (an
    ///   eigenvalue's real part above about 709 in `f64`, 88 in `f32`; PyTorch returns
    ///   infinities).
    ///
    /// Its daily use: the exact discretisation of `ẋ = A x + B u` with `u` held over a
    /// step `h` (zero-order hold) is `x⁺ = A_d x + B_d u`, read from one exponential of
    /// Van Loan's block matrix, `exp([[A, B], [0, 0]] h) = [[A_d, B_d], [0, I]]`; its
    /// gradient reaches the physical parameters inside `A`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// // A damped oscillator: position and velocity, force as input.
    /// let damping = Tensor::<Rank0, f64>::full(0.4).track();
    /// let (h, stiffness) = (0.1, 2.0);
    /// let a: Tensor<Rank2<2, 2>, f64, Tracked> =
    ///     Tensor::from_array([[0.0, 1.0], [-stiffness, 0.0]]) - damping.broadcast::<Rank2<2, 2>>()
    ///         * Tensor::from_array([[0.0, 0.0], [0.0, 1.0]]);
    /// let b = Tensor::from_array([[0.0], [1.0]]);
    /// // Van Loan: [[A, B], [0, 0]] · h, a 3 x 3 block matrix.
    /// let top: Tensor<Rank2<2, 3>, f64, Tracked> = a.concat::<1, _, _, _>(&b);
    /// let block: Tensor<Rank2<3, 3>, f64, Tracked> =
    ///     top.concat::<0, _, _, _>(&Tensor::<Rank2<1, 3>, f64>::zeros()) * h;
    /// let e = block.matrix_exp()?;
    /// let a_d: Tensor<Rank2<2, 2>, f64, Tracked> = e.narrow::<0, 0, 2>().narrow::<1, 0, 2>();
    /// let b_d: Tensor<Rank2<2, 1>, f64, Tracked> = e.narrow::<0, 0, 2>().narrow::<1, 2, 1>();
    /// // The bottom row stays [0, 0, 1]; A_d = e^(A h).
    /// assert!(e.narrow::<0, 2, 1>().allclose(&Tensor::from_array([[0.0, 0.0, 1.0]]), 0.0, 1e-15));
    /// assert!(a_d.allclose(&(&a * h).matrix_exp()?, 1e-15, 1e-15));
    /// // For small h, B_d ≈ B h.
    /// assert!((b_d.at::<1, 0>().item() - 0.1).abs() < 0.01);
    /// // How one step's velocity responds to the damping, by reverse mode: released
    /// // from x = 1, the mass starts back towards 0 (v < 0), and damping slows it.
    /// let x = Tensor::from_array([[1.0], [0.0]]);
    /// let u = Tensor::from_array([[0.5]]);
    /// let next = a_d.matmul(&x) + b_d.matmul(&u);
    /// let velocity = next.at::<1, 0>();
    /// assert!(velocity.item() < 0.0);
    /// let g = velocity.backward().get(&damping).unwrap();
    /// assert!(g.item() > 0.0, "more damping, a slower return");
    /// # Ok::<(), Error>(())
    /// ```
    pub fn matrix_exp(&self) -> Result<Tensor<S, E, UnaryTape<T>>, Error>
    where
        S: SquareMatrix,
    {
        const OP: &str = "matrix_exp";
        check_finite(OP, "A", S::DIMS, self.as_slice(), S::N, Reads::All)?;
        let dims = Dims::of::<S>(S::N);
        let e = matrix_exp_var(self.operand(), dims);
        let matrix = dims.matrix();
        if let Some(i) =
            (0..dims.batch).find(|&i| !E::all_finite(&e.data[i * matrix..(i + 1) * matrix]))
        {
            super::release(e);
            return Err(Error::Overflow {
                op: OP,
                batch: dims.which(i),
            });
        }
        Ok(Tensor::from_var(e))
    }
}
