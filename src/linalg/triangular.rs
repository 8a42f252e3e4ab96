//! Triangular systems `T X = B`: [`Tensor::solve_triangular`], and the solves inside the
//! Cholesky rules and [`Tensor::cholesky_solve`].
//!
//! Rules (PyTorch's `linalg_solve_triangular_backward`, JAX's `_triangular_solve_jvp_rule`
//! and its transpose), for `X = op(T)⁻¹ B` with `op(T)` = `T` or `Tᵀ`, `T` read only in
//! its triangle:
//! - VJP: `gB = op(T)⁻ᵀ gX` (a triangular solve with the transposed triangle), then
//!   `gT = -gB Xᵀ` (or `-X gBᵀ` for `Tᵀ`) projected onto the triangle that is read
//!   (without the diagonal for a unit diagonal): the other elements do not enter;
//! - recorded: the same, the solve recorded as this operation, the product as a matmul,
//!   the projection as `tril`/`triu`;
//! - JVP: `dX = op(T)⁻¹ (dB - op(dT) X)`, with `dT` projected the same way.

use super::kernels::{triangular_reciprocal_condition, triangular_solve};
use super::recorded::{matmul, negate, triangle_of};
use super::{
    add_into, check_condition, check_finite, load, store, Dims, LinalgOp, PackedDims, Reads,
    RightHandSide, Scratch, SolveName, SquareMatrix, Threshold,
};
use crate::element::Element;
use crate::error::Error;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{BinaryTape, Merge, Tape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// Which triangle of a matrix a triangular solve reads; the other is ignored, whatever
/// it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Triangle {
    /// On and below the diagonal.
    Lower,
    /// On and above the diagonal.
    Upper,
}

/// Whether a triangular matrix's diagonal is read, or taken as ones (a unit triangular
/// matrix, as `L` of an LU factorisation; PyTorch's `unitriangular=True`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diagonal {
    /// The diagonal is read.
    Stored,
    /// The diagonal is taken as ones, and not read.
    Unit,
}

/// A recorded triangular solve `X = op(T)⁻¹ B`.
#[derive(Clone)]
pub(crate) struct TriangularSolveOp {
    t: Saved,
    x: Saved,
    packed: PackedDims,
    shape: TriangularShape,
    name: SolveName,
}

/// How a triangular solve reads its matrix.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TriangularShape {
    pub(crate) triangle: Triangle,
    pub(crate) unit: bool,
    /// Solve with `Tᵀ` rather than `T`.
    pub(crate) transpose: bool,
}

impl TriangularShape {
    /// The same matrix, solved with its transpose instead (or back).
    fn transposed(self) -> Self {
        TriangularShape {
            transpose: !self.transpose,
            ..self
        }
    }

    fn lower(self) -> bool {
        self.triangle == Triangle::Lower
    }

    /// The elements a check of the input reads.
    pub(crate) fn reads(self) -> Reads {
        Reads::Triangle {
            lower: self.lower(),
            unit: self.unit,
        }
    }

    /// Whether element `(r, c)` of `T` is read (its derivative can be nonzero).
    fn reads_at(self, r: usize, c: usize) -> bool {
        let inside = if self.lower() { r >= c } else { r <= c };
        inside && !(self.unit && r == c)
    }
}

/// `X = op(T)⁻¹ B` for each matrix of the batch (no checks), recorded as `name`.
pub(crate) fn triangular_solve_var<E: Element>(
    t: Operand<'_, E>,
    b: Operand<'_, E>,
    dims: Dims,
    shape: TriangularShape,
    name: SolveName,
) -> Var<E> {
    let (matrix, rhs) = (dims.matrix(), dims.rhs());
    let mut work = Scratch::new(matrix + dims.batch * rhs);
    let (tf, x) = work.values().split_at_mut(matrix);
    load(b.values(), x);
    for i in 0..dims.batch {
        load(&t.values()[i * matrix..(i + 1) * matrix], tf);
        let xi = &mut x[i * rhs..(i + 1) * rhs];
        triangular_solve(
            tf,
            dims.n,
            shape.triangle,
            shape.unit,
            shape.transpose,
            xi,
            dims.k,
        );
    }
    let out = store::<E>(x);
    finish(out, [Some(t), Some(b)], |saver| {
        Op::Linalg(LinalgOp::TriangularSolve(TriangularSolveOp {
            t: saver.save(t.data),
            x: saver.save_output(),
            packed: dims.pack(),
            shape,
            name,
        }))
    })
}

/// Refuses the first matrix of `t` that is singular to working precision (as a
/// triangular matrix read as `shape` says).
pub(crate) fn check_triangular<E: Element>(
    op: &'static str,
    t: &[E],
    dims: Dims,
    shape: TriangularShape,
    threshold: f64,
) -> Result<(), Error> {
    let (n, matrix) = (dims.n, dims.matrix());
    let mut work = Scratch::new(matrix + 3 * n);
    let (tf, scratch) = work.values().split_at_mut(matrix);
    for i in 0..dims.batch {
        load(&t[i * matrix..(i + 1) * matrix], tf);
        let zero = (!shape.unit)
            .then(|| (0..n).find(|&d| tf[d * n + d] == 0.0))
            .flatten();
        let rcond = triangular_reciprocal_condition(tf, n, shape.triangle, shape.unit, scratch);
        check_condition(op, dims, i, zero, rcond, threshold)?;
    }
    Ok(())
}

impl TriangularSolveOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name.as_str()
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let (t_all, x_all) = (self.t.of(parents.saved), self.x.of(parents.saved));
        let Dims { batch, n, k, .. } = self.dims();
        let (matrix, rhs) = (self.dims().matrix(), self.dims().rhs());
        let mut work = Scratch::new(matrix + batch * rhs);
        let (tf, gb) = work.values().split_at_mut(matrix);
        // gB = op(T)⁻ᵀ gX
        load(grad, gb);
        let back = self.shape.transposed();
        for i in 0..batch {
            load(&t_all[i * matrix..(i + 1) * matrix], tf);
            let gbi = &mut gb[i * rhs..(i + 1) * rhs];
            triangular_solve(tf, n, back.triangle, back.unit, back.transpose, gbi, k);
        }
        if let Some(g) = parents.get_mut(1) {
            add_into(g, gb);
        }
        if let Some(g) = parents.get_mut(0) {
            for i in 0..batch {
                let (gb, x) = (&gb[i * rhs..(i + 1) * rhs], &x_all[i * rhs..(i + 1) * rhs]);
                let g = &mut g[i * matrix..(i + 1) * matrix];
                for r in 0..n {
                    for c in 0..n {
                        if !self.shape.reads_at(r, c) {
                            continue;
                        }
                        // -gB Xᵀ, or -X gBᵀ for a transposed system.
                        let s: f64 = (0..k)
                            .map(|q| {
                                if self.shape.transpose {
                                    x[r * k + q].to_f64_exact() * gb[c * k + q]
                                } else {
                                    gb[r * k + q] * x[c * k + q].to_f64_exact()
                                }
                            })
                            .sum();
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
        let t = node.input(0, self.t);
        let gb = triangular_solve_var(
            t.operand(),
            g.operand(),
            self.dims(),
            self.shape.transposed(),
            self.name,
        );
        let gt = node.tracked(0).then(|| {
            let x = node.output(self.x);
            let Dims { batch, n, k, .. } = self.dims();
            let product = if self.shape.transpose {
                matmul(&x, &gb, batch, n, k, n, false, true)
            } else {
                matmul(&gb, &x, batch, n, k, n, false, true)
            };
            let diagonal = match (self.shape.unit, self.shape.lower()) {
                (false, _) => 0,
                (true, true) => -1,
                (true, false) => 1,
            };
            triangle_of(&negate(&product), n, self.shape.lower(), diagonal)
        });
        [gt, node.tracked(1).then_some(gb)]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let (t_all, x_all) = (self.t.of(saved), self.x.of(saved));
        let Dims { n, k, .. } = self.dims();
        let (matrix, rhs) = (self.dims().matrix(), self.dims().rhs());
        let (out_len, t_len) = (self.dims().batch * rhs, self.dims().batch * matrix);
        let mut work = Scratch::new(matrix + rhs);
        let (tf, v) = work.values().split_at_mut(matrix);
        let shape = self.shape;
        for i in 0..self.dims().batch {
            load(&t_all[i * matrix..(i + 1) * matrix], tf);
            for b in 0..batch {
                match tangents[1] {
                    Some(db) => load(&db[b * out_len + i * rhs..][..rhs], v),
                    None => v.fill(0.0),
                }
                if let Some(dt) = tangents[0] {
                    let dt = &dt[b * t_len + i * matrix..][..matrix];
                    let x = &x_all[i * rhs..(i + 1) * rhs];
                    // v -= op(dT) X, dT read where T is.
                    for r in 0..n {
                        for q in 0..n {
                            let (tr, tc) = if shape.transpose { (q, r) } else { (r, q) };
                            if !shape.reads_at(tr, tc) {
                                continue;
                            }
                            let d = dt[tr * n + tc].to_f64_exact();
                            for c in 0..k {
                                v[r * k + c] -= d * x[q * k + c].to_f64_exact();
                            }
                        }
                    }
                }
                triangular_solve(tf, n, shape.triangle, shape.unit, shape.transpose, v, k);
                add_into(&mut out[b * out_len + i * rhs..][..rhs], v);
            }
        }
    }

    pub(crate) fn recycle(self) {}
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The solution `X` of `T X = B` for a triangular `T` (this tensor), read only in its
    /// `triangle` (the other triangle may hold anything, NaN included), with its diagonal
    /// taken as ones if `diagonal` is [`Diagonal::Unit`] (PyTorch's
    /// `torch.linalg.solve_triangular(T, B, upper=..., unitriangular=...)`).
    /// Differentiable in `T` (its gradient lies in the triangle read) and `B`.
    ///
    /// # Errors
    /// - [`Error::NonFiniteInput`] if the triangle read or `B` holds a NaN or infinity;
    /// - [`Error::SingularMatrix`] if `T` is singular to working precision (a zero on
    ///   the diagonal, or a reciprocal condition estimate below `N · ε`; see
    ///   [`Tensor::solve_triangular_with`]).
    ///
    /// ```
    /// use typegrad::linalg::{Diagonal, Triangle};
    /// use typegrad::prelude::*;
    /// // The upper triangle holds junk; only the lower is read.
    /// let l = Tensor::from_array([[2.0f64, f64::NAN], [1.0, 4.0]]);
    /// let x = l.solve_triangular(&Tensor::from_array([2.0, 9.0]), Triangle::Lower, Diagonal::Stored)?;
    /// assert_eq!(x.to_vec(), vec![1.0, 2.0]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn solve_triangular<SB: RightHandSide<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
        triangle: Triangle,
        diagonal: Diagonal,
    ) -> Result<Tensor<SB, E, BinaryTape<T, TB>>, Error>
    where
        S: SquareMatrix,
        T: Merge<TB>,
    {
        self.solve_triangular_with(b, triangle, diagonal, Threshold::Default)
    }

    /// [`Tensor::solve_triangular`] with another threshold for refusing a nearly
    /// singular matrix.
    ///
    /// # Errors
    /// As [`Tensor::solve_triangular`].
    pub fn solve_triangular_with<SB: RightHandSide<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
        triangle: Triangle,
        diagonal: Diagonal,
        threshold: Threshold,
    ) -> Result<Tensor<SB, E, BinaryTape<T, TB>>, Error>
    where
        S: SquareMatrix,
        T: Merge<TB>,
    {
        const OP: &str = "solve_triangular";
        let shape = TriangularShape {
            triangle,
            unit: diagonal == Diagonal::Unit,
            transpose: false,
        };
        let dims = Dims::of::<S>(SB::COLUMNS);
        check_finite(OP, "A", S::DIMS, self.as_slice(), S::N, shape.reads())?;
        check_finite(OP, "B", SB::DIMS, b.as_slice(), SB::COLUMNS, Reads::All)?;
        check_triangular(
            OP,
            self.as_slice(),
            dims,
            shape,
            threshold.checked::<E>(OP, S::N)?,
        )?;
        Ok(Tensor::from_var(triangular_solve_var(
            self.operand(),
            b.operand(),
            dims,
            shape,
            SolveName::Triangular,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn upper_unit_and_errors() {
        let u = Tensor::from_array([[2.0f64, 1.0], [f64::NAN, 4.0]]);
        let x = u
            .solve_triangular(
                &Tensor::from_array([4.0, 8.0]),
                Triangle::Upper,
                Diagonal::Stored,
            )
            .unwrap();
        assert_eq!(x.to_vec(), vec![1.0, 2.0]);
        let x = u
            .solve_triangular(
                &Tensor::from_array([4.0, 8.0]),
                Triangle::Upper,
                Diagonal::Unit,
            )
            .unwrap();
        assert_eq!(x.to_vec(), vec![-4.0, 8.0]);
        let err = u
            .solve_triangular(
                &Tensor::from_array([4.0, 8.0]),
                Triangle::Lower,
                Diagonal::Stored,
            )
            .unwrap_err();
        assert!(matches!(err, Error::NonFiniteInput { ref index, .. } if index == &vec![1, 0]));
        let zero = Tensor::from_array([[2.0f64, 0.0], [1.0, 0.0]]);
        let err = zero
            .solve_triangular(
                &Tensor::from_array([1.0, 1.0]),
                Triangle::Lower,
                Diagonal::Stored,
            )
            .unwrap_err();
        assert!(matches!(
            err,
            Error::SingularMatrix {
                zero_pivot: Some(1),
                ..
            }
        ));
        // With a unit diagonal the zero is not read.
        assert!(zero
            .solve_triangular(
                &Tensor::from_array([1.0, 1.0]),
                Triangle::Lower,
                Diagonal::Unit
            )
            .is_ok());
    }

    #[test]
    fn gradient_lies_in_the_triangle() {
        let l = Tensor::from_array([[2.0f64, 5.0], [1.0, 4.0]]).track();
        let x = l
            .solve_triangular(
                &Tensor::from_array([2.0, 9.0]),
                Triangle::Lower,
                Diagonal::Unit,
            )
            .unwrap();
        assert_eq!(
            x.grad_fn().unwrap().name(),
            "LinalgSolveTriangularBackward0"
        );
        let g = x.sum().backward().get(&l).unwrap().to_vec();
        // Only the strictly lower element is read.
        assert_eq!(g[0], 0.0);
        assert_eq!(g[1], 0.0);
        assert_eq!(g[3], 0.0);
        assert_ne!(g[2], 0.0);
    }
}
