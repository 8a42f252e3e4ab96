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

use super::kernels::dense::product;
use super::kernels::{
    cholesky, cholesky_inverse_norm_bound, cholesky_reciprocal_condition, cholesky_solve,
    cholesky_with_bounds, comparison_backward, dot, factor_norm_bound, reciprocal_condition,
    reciprocal_diagonal, symmetric_norm1, triangular_solve,
};
use super::recorded::{matmul, negate, scale, transpose, triangle_of};
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
use crate::tape::graph::{as_node, Saved};
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
    let l = factor_values(op, a.values(), dims, None)?;
    Ok(record_factor(a, l, dims))
}

/// `L` (the values `l`, the factor of `a`) recorded as the result of a Cholesky
/// factorisation of `a`.
fn record_factor<E: Element>(a: Operand<'_, E>, l: Storage<E>, dims: Dims) -> Var<E> {
    finish(l, [Some(a), None], |saver| {
        Op::Linalg(LinalgOp::Cholesky(CholeskyOp {
            l: saver.save_output(),
            packed: dims.pack(),
        }))
    })
}

/// The lower Cholesky factor of each matrix of `a` (lower triangles read), as values;
/// `op` names the operation in errors. With a `threshold`, a matrix singular to working
/// precision is refused too ([`check_condition_of_factor`], with `‖A‖₁` from `A`), on
/// the `f64` factor already in hand.
fn factor_values<E: Element>(
    op: &'static str,
    a: &[E],
    dims: Dims,
    threshold: Option<f64>,
) -> Result<Storage<E>, Error> {
    let (n, matrix) = (dims.n, dims.matrix());
    let mut work = Scratch::new(matrix + dims.batch * matrix + 4 * n);
    let (af, rest) = work.values().split_at_mut(matrix);
    let (l, rest) = rest.split_at_mut(dims.batch * matrix);
    let (inverse, scratch) = rest.split_at_mut(n);
    for i in 0..dims.batch {
        load(&a[i * matrix..(i + 1) * matrix], af);
        let li = &mut l[i * matrix..(i + 1) * matrix];
        let refuse = |order| Error::NotPositiveDefinite {
            op,
            batch: dims.which(i),
            order,
        };
        let Some(threshold) = threshold else {
            cholesky(af, n, li, inverse).map_err(refuse)?;
            continue;
        };
        let norm = cholesky_with_bounds(af, n, li, inverse, scratch).map_err(refuse)?;
        let factor = Factor { l: li, inverse };
        check_condition_of_factor(op, dims, i, factor, Some(norm), threshold, scratch, true)?;
    }
    Ok(store::<E>(l))
}

/// One factor `L` in `f64`, with `1 / Lᵢᵢ`.
#[derive(Clone, Copy)]
struct Factor<'a> {
    l: &'a [f64],
    inverse: &'a [f64],
}

/// Refuses matrix `i` of a batch, `A = L Lᵀ` with `L` given in `f64`, if it is singular
/// to working precision: a zero on `L`'s diagonal, or a reciprocal condition estimate
/// below `threshold`. `norm` is `‖A‖₁` where `A` is known. `scratch` holds `3n` values,
/// the first `n` of them `M(L)⁻¹ 1` already if `forward_done` ([`cholesky_with_bounds`]).
///
/// The estimate (LAPACK's `dpocon`: a dozen triangular solves) decides, but is computed
/// only where a bound in `O(n²)` does not already prove that it would accept. That bound
/// is `1 / (‖A‖₁ ‖A⁻¹‖₁)` from above bounds of both norms
/// ([`cholesky_inverse_norm_bound`]; `‖L‖₁ ‖L‖_∞` where `A` is not known): a lower bound
/// of the reciprocal condition number, and of the estimate, whose `‖A⁻¹‖₁` is the norm
/// of `A⁻¹ x` for some `x` of norm 1, so never above `‖A⁻¹‖₁`. In floating point the
/// estimate's solves are those of a factor perturbed by `n ε` in each entry, which can
/// raise `|L⁻¹|`, and so the estimate, by a factor of about `(1 + n ε)²ⁿ` at most: the bound is
/// taken with a margin of [`BOUND_MARGIN`], far above that for any `n` these dense
/// kernels can hold. Well-conditioned matrices, the rule, skip the estimate; a matrix
/// near the threshold gets the estimate's verdict.
#[allow(clippy::too_many_arguments)]
fn check_condition_of_factor(
    op: &'static str,
    dims: Dims,
    i: usize,
    factor: Factor<'_>,
    norm: Option<f64>,
    threshold: f64,
    scratch: &mut [f64],
    forward_done: bool,
) -> Result<(), Error> {
    let (n, l) = (dims.n, factor.l);
    let zero = (0..n).find(|&d| l[d * n + d] == 0.0);
    if zero.is_none() && n <= BOUND_LARGEST_N {
        let norm_bound = norm.unwrap_or_else(|| factor_norm_bound(l, n, scratch));
        let inverse_bound = if forward_done {
            let (z, w) = scratch.split_at_mut(n);
            comparison_backward(l, factor.inverse, n, z, w)
        } else {
            cholesky_inverse_norm_bound(l, factor.inverse, n, scratch)
        };
        let lower = reciprocal_condition(norm_bound, BOUND_MARGIN * inverse_bound, n);
        if lower > 0.0 && lower >= threshold {
            return Ok(());
        }
    }
    let rcond = cholesky_reciprocal_condition(l, n, norm, scratch);
    check_condition(op, dims, i, zero, rcond, threshold)
}

/// The factor by which [`check_condition_of_factor`]'s bound of `‖A⁻¹‖₁` is raised
/// before it may stand for the estimate: rounding can lift the estimate above the exact
/// norm by a relative `2 n² ε` or so (below `1e-8` for `n <= BOUND_LARGEST_N`), and the
/// bound's own rounding is of the same order.
const BOUND_MARGIN: f64 = 2.0;

/// The largest `n` for which [`BOUND_MARGIN`] covers the rounding of the estimate with
/// room to spare (`2 n² ε < 1e-8`); larger matrices always get the estimate.
const BOUND_LARGEST_N: usize = 1 << 12;

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

/// What a recorded `X = (L Lᵀ)⁻¹ B` is differentiated in besides `B`: the factor `L`
/// itself ([`Tensor::cholesky_solve`]), or the matrix `A = L Lᵀ` it was computed from
/// ([`Cholesky::solve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Through {
    /// The first input is `L`, read in its lower triangle.
    Factor,
    /// The first input is `A` (symmetric, its lower triangle read); `L` is saved beside
    /// it. The gradient in `A` is then `O(n² k)` from `X` and `gB`: going through `L`
    /// would add Cholesky's own `O(n³)` rule to every backward pass.
    Matrix,
}

/// `X = (L Lᵀ)⁻¹ B` for each factor `L` (the lower triangle of `factor`), recorded as
/// one operation (PyTorch's `cholesky_solve`) whose first input is `first` (`L`, or `A`
/// as `through` says): `L` is converted once and both triangular solves run on it.
/// `check` sees each factor in `f64` first (with `3n` values of scratch) and may refuse
/// it.
fn solve_checked<E: Element, X>(
    first: Operand<'_, E>,
    factor: &Storage<E>,
    b: Operand<'_, E>,
    dims: Dims,
    through: Through,
    mut check: impl FnMut(usize, Factor<'_>, &mut [f64]) -> Result<(), X>,
) -> Result<Var<E>, X> {
    let Dims { batch, n, k, .. } = dims;
    let (matrix, rhs) = (dims.matrix(), dims.rhs());
    let mut work = Scratch::new(matrix + batch * rhs + 4 * n);
    let (lf, rest) = work.values().split_at_mut(matrix);
    let (x, rest) = rest.split_at_mut(batch * rhs);
    let (inverse, scratch) = rest.split_at_mut(n);
    load(b.values(), x);
    for i in 0..batch {
        load(&factor[i * matrix..(i + 1) * matrix], lf);
        reciprocal_diagonal(lf, n, inverse);
        check(i, Factor { l: lf, inverse }, scratch)?;
        cholesky_solve(lf, inverse, n, &mut x[i * rhs..(i + 1) * rhs], k);
    }
    let out = store::<E>(x);
    Ok(finish(out, [Some(first), Some(b)], |saver| {
        let (first, l) = match through {
            Through::Factor => {
                let l = saver.save(factor);
                (l, l)
            }
            Through::Matrix => (saver.save(first.data), saver.save(factor)),
        };
        Op::Linalg(LinalgOp::CholeskySolve(CholeskySolveOp {
            first,
            l,
            x: saver.save_output(),
            through,
            packed: dims.pack(),
        }))
    }))
}

/// [`solve_checked`] with no check (a factor that passed one already).
fn solve_with_factor<E: Element>(
    first: Operand<'_, E>,
    factor: &Storage<E>,
    b: Operand<'_, E>,
    dims: Dims,
    through: Through,
) -> Var<E> {
    let unchecked =
        |_: usize, _: Factor<'_>, _: &mut [f64]| Ok::<(), core::convert::Infallible>(());
    match solve_checked(first, factor, b, dims, through, unchecked) {
        Ok(x) => x,
        Err(never) => match never {},
    }
}

/// `l` with its strict upper triangle set to 0: the factor as the solves read it, for
/// the products of the rules (a factor given to `cholesky_solve` may hold anything
/// there).
fn lower_part(l: &mut [f64], n: usize) {
    for r in 0..n {
        l[r * n + r + 1..(r + 1) * n].fill(0.0);
    }
}

/// A recorded `X = (L Lᵀ)⁻¹ B`. Rules (PyTorch's `cholesky_solve_backward` and
/// `cholesky_solve_jvp`), with `gB = (L Lᵀ)⁻¹ gX` by two triangular solves, and in the
/// first input, as [`Through`] says:
/// - `L` (read in its lower triangle only, so that `gL` lies in it, as the forward
///   reads): VJP `gL = -tril((gB Xᵀ + X gBᵀ) L)`, as `-tril(gB (Lᵀ X)ᵀ + X (Lᵀ gB)ᵀ)`
///   in `O(n² k)`; JVP `dX = (L Lᵀ)⁻¹ (dB - (D Lᵀ + L Dᵀ) X)` with `D = tril(dL)`;
/// - `A` (symmetric, the convention of [`Tensor::cholesky`]): VJP
///   `gA = -½ (gB Xᵀ + X gBᵀ)`, the symmetric part of a general solve's `-gB Xᵀ`, which
///   is what the chain through `L` gives; JVP `dX = A⁻¹ (dB - dA_s X)` with
///   `dA_s = ½ (dA + dAᵀ)`;
/// - recorded: `gB` as this operation of `(first input, gX)` (differentiable in both),
///   the other gradient from recorded products (and a triangle).
#[derive(Clone)]
pub(crate) struct CholeskySolveOp {
    first: Saved,
    l: Saved,
    x: Saved,
    through: Through,
    packed: PackedDims,
}

impl CholeskySolveOp {
    fn dims(&self) -> Dims {
        self.packed.unpack()
    }

    pub(crate) fn name(&self) -> &'static str {
        SolveName::CholeskySolve.as_str()
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let (l_all, x_all) = (self.l.of(parents.saved), self.x.of(parents.saved));
        let Dims { batch, n, k, .. } = self.dims();
        let (matrix, rhs) = (self.dims().matrix(), self.dims().rhs());
        let mut work = Scratch::new(matrix + 4 * rhs + n);
        let (lf, rest) = work.values().split_at_mut(matrix);
        let (gb, rest) = rest.split_at_mut(rhs);
        let (x, rest) = rest.split_at_mut(rhs);
        let (u, rest) = rest.split_at_mut(rhs);
        let (v, inverse) = rest.split_at_mut(rhs);
        for i in 0..batch {
            load(&l_all[i * matrix..(i + 1) * matrix], lf);
            load(&grad[i * rhs..(i + 1) * rhs], gb);
            reciprocal_diagonal(lf, n, inverse);
            cholesky_solve(lf, inverse, n, gb, k);
            if let Some(g) = parents.get_mut(1) {
                add_into(&mut g[i * rhs..(i + 1) * rhs], gb);
            }
            let Some(g) = parents.get_mut(0) else {
                continue;
            };
            load(&x_all[i * rhs..(i + 1) * rhs], x);
            let g = &mut g[i * matrix..(i + 1) * matrix];
            match self.through {
                Through::Factor => {
                    // gL_rc = -(gB_r · (Lᵀ X)_c + X_r · (Lᵀ gB)_c) for c <= r.
                    lower_part(lf, n);
                    product(lf, true, x, false, u, n, n, k);
                    product(lf, true, gb, false, v, n, n, k);
                    for r in 0..n {
                        for c in 0..=r {
                            let s =
                                dot(row(gb, r, k), row(u, c, k)) + dot(row(x, r, k), row(v, c, k));
                            g[r * n + c] = g[r * n + c] - E::from_f64(s);
                        }
                    }
                }
                Through::Matrix => {
                    // Row by row over the whole matrix (contiguous): entries (r, c) and
                    // (c, r) add the same two products in swapped order, so the
                    // gradient is symmetric to the last bit all the same.
                    for (r, g_row) in g.chunks_exact_mut(n.max(1)).enumerate() {
                        if k == 1 {
                            let (gr, xr) = (gb[r], x[r]);
                            for ((o, &xc), &gc) in g_row.iter_mut().zip(x.iter()).zip(gb.iter()) {
                                *o = *o + E::from_f64(-0.5 * (gr * xc + xr * gc));
                            }
                            continue;
                        }
                        for (c, o) in g_row.iter_mut().enumerate() {
                            let s =
                                dot(row(gb, r, k), row(x, c, k)) + dot(row(x, r, k), row(gb, c, k));
                            *o = *o + E::from_f64(-0.5 * s);
                        }
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
        let Dims { batch, n, k, .. } = self.dims();
        let first = node.input(0, self.first);
        let l = node.saved_value(self.l);
        let gb = solve_with_factor(first.operand(), &l, g.operand(), self.dims(), self.through);
        let g_first = node.tracked(0).then(|| {
            let x = node.output(self.x);
            let sym = matmul(&gb, &x, batch, n, k, n, false, true)
                .add(&matmul(&x, &gb, batch, n, k, n, false, true));
            match self.through {
                Through::Factor => {
                    let lower = triangle_of(&first, n, true, 0);
                    let product = matmul(&sym, &lower, batch, n, n, n, false, false);
                    triangle_of(&negate(&product), n, true, 0)
                }
                Through::Matrix => scale(&sym, -0.5),
            }
        });
        [g_first, node.tracked(1).then_some(gb)]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let (l_all, x_all) = (self.l.of(saved), self.x.of(saved));
        let Dims { n, k, .. } = self.dims();
        let (matrix, rhs) = (self.dims().matrix(), self.dims().rhs());
        let (out_len, l_len) = (self.dims().batch * rhs, self.dims().batch * matrix);
        let mut work = Scratch::new(2 * matrix + 4 * rhs + n);
        let (lf, rest) = work.values().split_at_mut(matrix);
        let (d, rest) = rest.split_at_mut(matrix);
        let (x, rest) = rest.split_at_mut(rhs);
        let (v, rest) = rest.split_at_mut(rhs);
        let (y, rest) = rest.split_at_mut(rhs);
        let (z, inverse) = rest.split_at_mut(rhs);
        for i in 0..self.dims().batch {
            load(&l_all[i * matrix..(i + 1) * matrix], lf);
            lower_part(lf, n);
            reciprocal_diagonal(lf, n, inverse);
            load(&x_all[i * rhs..(i + 1) * rhs], x);
            for t in 0..batch {
                match tangents[1] {
                    Some(db) => load(&db[t * out_len + i * rhs..][..rhs], v),
                    None => v.fill(0.0),
                }
                if let Some(dt) = tangents[0] {
                    load(&dt[t * l_len + i * matrix..][..matrix], d);
                    match self.through {
                        Through::Factor => {
                            // v -= D (Lᵀ X) + L (Dᵀ X), D = tril(dL).
                            lower_part(d, n);
                            product(lf, true, x, false, y, n, n, k);
                            product(d, false, y, false, z, n, n, k);
                            subtract(v, z);
                            product(d, true, x, false, y, n, n, k);
                            product(lf, false, y, false, z, n, n, k);
                            subtract(v, z);
                        }
                        Through::Matrix => {
                            // v -= ½ (dA + dAᵀ) X.
                            product(d, false, x, false, y, n, n, k);
                            product(d, true, x, false, z, n, n, k);
                            for ((vi, yi), zi) in v.iter_mut().zip(y.iter()).zip(z.iter()) {
                                *vi -= 0.5 * (yi + zi);
                            }
                        }
                    }
                }
                cholesky_solve(lf, inverse, n, v, k);
                add_into(&mut out[t * out_len + i * rhs..][..rhs], v);
            }
        }
    }

    pub(crate) fn recycle(self) {}
}

/// Row `r` of a row-major matrix of `k` columns.
fn row(m: &[f64], r: usize, k: usize) -> &[f64] {
    &m[r * k..(r + 1) * k]
}

/// `v -= z`.
fn subtract(v: &mut [f64], z: &[f64]) {
    for (vi, zi) in v.iter_mut().zip(z) {
        *vi -= zi;
    }
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
    /// matrix. `‖L Lᵀ‖₁` is bounded or estimated from `L` (as `‖(L Lᵀ)⁻¹‖₁` is).
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
        let check = |i: usize, factor: Factor<'_>, scratch: &mut [f64]| {
            check_condition_of_factor(OP, dims, i, factor, None, min, scratch, false)
        };
        let x = solve_checked(
            self.operand(),
            self.storage(),
            b.operand(),
            dims,
            Through::Factor,
            check,
        )?;
        Ok(Tensor::from_var(x))
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
    /// `L`'s values. They become a value of the graph (a recorded factorisation of `A`)
    /// only where one is asked for: [`Cholesky::factor`], [`Cholesky::logdet`].
    /// Declared before `a`, so dropped first: if `a`'s graph is the last to hold them,
    /// its clean-up gives the buffer back to the pool.
    l: Storage<E>,
    /// The matrix, on the factor's tape: the solves are recorded as operations of `A`
    /// (with the factor saved), whose rules cost `O(n² k)`, not Cholesky's `O(n³)`.
    a: Tensor<S, E, T>,
}

impl<S: SquareMatrix, E: Element, T: Tape> Drop for Cholesky<S, E, T> {
    /// Gives `L`'s buffer back to the pool if nothing else holds it (as a tensor's drop
    /// does with its value).
    fn drop(&mut self) {
        if self.l.is_shared() {
            (E::compiled().recycle)(&mut self.l);
        }
    }
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
        let min = threshold.checked::<E>(OP, S::N)?;
        check_finite(OP, "A", S::DIMS, a.as_slice(), S::N, LOWER)?;
        let l = factor_values(OP, a.as_slice(), Dims::of::<S>(S::N), Some(min))?;
        // A tracked leaf as a node of a graph of its own: the solves, `factor` and
        // `logdet` record there, one graph rather than one per use.
        let place = a.operand().input().map(as_node);
        let handle = T::handle_from(place, S::NUM_ELEMENTS);
        Ok(Cholesky {
            l,
            a: Tensor::from_parts(a.storage().clone(), handle),
        })
    }

    /// The lower factor `L`, differentiable in `A` (recorded as a factorisation of `A`
    /// at each call, from the values already computed).
    pub fn factor(&self) -> Tensor<S, E, UnaryTape<T>> {
        let dims = Dims::of::<S>(S::N);
        Tensor::from_var(record_factor(self.a.operand(), self.l.clone(), dims))
    }

    /// The smallest reciprocal condition estimate `1 / (‖A‖₁ ‖A⁻¹‖₁)` of the matrices
    /// (LAPACK's `dpocon`, with `‖A‖₁` from `A`'s lower triangle). Computed when asked:
    /// [`Cholesky::new`] decides with a cheaper bound where that is conclusive, and its
    /// decisions are this estimate's.
    pub fn rcond(&self) -> f64 {
        let dims = Dims::of::<S>(S::N);
        let (n, matrix) = (dims.n, dims.matrix());
        let mut work = Scratch::new(2 * matrix + 3 * n);
        let (l, rest) = work.values().split_at_mut(matrix);
        let (a, scratch) = rest.split_at_mut(matrix);
        let mut smallest: f64 = 1.0;
        for i in 0..dims.batch {
            load(&self.l[i * matrix..(i + 1) * matrix], l);
            load(&self.a.as_slice()[i * matrix..(i + 1) * matrix], a);
            let norm = symmetric_norm1(a, n, scratch);
            smallest = smallest.min(cholesky_reciprocal_condition(l, n, Some(norm), scratch));
        }
        smallest
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
            self.a.operand(),
            &self.l,
            b.operand(),
            dims,
            Through::Matrix,
        )))
    }

    /// `A⁻¹`, differentiable in `A`.
    pub fn inverse(&self) -> Tensor<S, E, UnaryTape<T>> {
        let dims = Dims::of::<S>(S::N);
        let eye = identity::<E>(dims.batch, dims.n);
        let inverse = solve_with_factor(
            self.a.operand(),
            &self.l,
            eye.operand(),
            dims,
            Through::Matrix,
        );
        release(eye);
        Tensor::from_var(inverse)
    }

    /// `ln det A = 2 Σ ln Lᵢᵢ`, differentiable in `A`.
    pub fn logdet(&self) -> Tensor<S::PerMatrix, E, UnaryTape<T>> {
        let l = self.factor();
        Tensor::from_var(logdet_from_factor(l.operand(), Dims::of::<S>(S::N)))
    }
}

#[cfg(test)]
mod tests {
    use crate::linalg::{Cholesky, Threshold};
    use crate::prelude::*;
    use alloc::vec;

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

    /// `v vᵀ + δ I` for `v = (1, -2, 3, ...)`: positive-definite, with a reciprocal
    /// condition number of about `δ / |v|²`.
    fn nearly_rank_one<const N: usize>(delta: f64) -> Tensor<Rank2<N, N>, f64> {
        let v = |i: usize| {
            if i.is_multiple_of(2) {
                i as f64 + 1.0
            } else {
                -(i as f64) - 1.0
            }
        };
        Tensor::from_fn(|flat| {
            let (i, j) = (flat / N, flat % N);
            v(i) * v(j) + if i == j { delta } else { 0.0 }
        })
    }

    /// The cheap bound may only spare the estimate where the estimate would accept: at
    /// thresholds a hair above and below each matrix's estimate, the decisions are the
    /// estimate's, for matrices from well conditioned to singular to working precision.
    #[test]
    fn the_bound_never_accepts_what_the_estimate_refuses() {
        use super::{check_condition_of_factor, Dims};
        use crate::linalg::kernels::{
            cholesky, cholesky_reciprocal_condition, cholesky_with_bounds, symmetric_norm1,
        };
        const N: usize = 6;
        let dims = Dims {
            batch: 1,
            n: N,
            k: 1,
            batched: false,
        };
        let matrices = [1e3, 10.0, 1.0, 1e-3, 1e-6, 1e-9, 1e-12, 1e-13, 1e-14]
            .map(nearly_rank_one::<N>)
            .into_iter()
            .chain([0, 5, 10, 15, 20, 22, 24, 26].map(exactly_factored));
        for (case, a) in matrices.enumerate() {
            let a = a.to_vec();
            let (mut l, mut inverse) = (vec![0.0; N * N], vec![0.0; N]);
            if cholesky(&a, N, &mut l, &mut inverse).is_err() {
                continue;
            }
            let factor = super::Factor {
                l: &l,
                inverse: &inverse,
            };
            let mut scratch = vec![0.0; 3 * N];
            let norm = symmetric_norm1(&a, N, &mut scratch);
            // The fused pass's forward half (`forward_done`), or the whole bound.
            for (known, fused) in [(Some(norm), true), (Some(norm), false), (None, false)] {
                let estimate = cholesky_reciprocal_condition(&l, N, known, &mut scratch);
                for (threshold, accepted) in [
                    (estimate * (1.0 + 1e-9), false),
                    (estimate * (1.0 - 1e-9), true),
                ] {
                    if fused {
                        let mut again = (vec![0.0; N * N], vec![0.0; N]);
                        cholesky_with_bounds(&a, N, &mut again.0, &mut again.1, &mut scratch)
                            .unwrap();
                    }
                    let decision = check_condition_of_factor(
                        "t",
                        dims,
                        0,
                        factor,
                        known,
                        threshold,
                        &mut scratch,
                        fused,
                    );
                    assert_eq!(
                        decision.is_ok(),
                        accepted,
                        "case {case}, ‖A‖₁ known: {}, estimate {estimate:e}, threshold {threshold:e}",
                        known.is_some()
                    );
                }
            }
        }
    }

    /// `L Lᵀ` for a 6 x 6 `L` with entries ±1 and ±½ below a unit diagonal whose last
    /// entry is `2⁻ᵏ`: every entry of `A` and of its computed factor is exact, so `A` is
    /// as nearly singular as `k` says (reciprocal condition numbers 2e-14 at `k = 20`,
    /// 7.5e-17 at `k = 24`) with no rounding in the way.
    fn exactly_factored(k: i32) -> Tensor<Rank2<6, 6>, f64> {
        let entries = [1.0, -1.0, 0.5, -0.5];
        let l = |i: usize, j: usize| match i.cmp(&j) {
            core::cmp::Ordering::Greater => entries[(i * 7 + j * 3) % 4],
            core::cmp::Ordering::Equal if i == 5 => 2f64.powi(-k),
            core::cmp::Ordering::Equal => 1.0,
            core::cmp::Ordering::Less => 0.0,
        };
        Tensor::from_fn(|flat| {
            let (i, j) = (flat / 6, flat % 6);
            (0..6).map(|p| l(i, p) * l(j, p)).sum()
        })
    }

    /// A nearly singular positive-definite matrix is refused by every solving path at
    /// the default threshold (`6 ε`, 1.3e-15), and accepted by all of them with a lower
    /// one; a matrix 15 times above the threshold is accepted.
    #[test]
    fn nearly_singular_positive_definite_matrices_are_refused() {
        let b = Tensor::<Rank1<6>, f64>::ones();
        let singular = |r: Result<Tensor<Rank1<6>, f64>, Error>| {
            matches!(r, Err(Error::SingularMatrix { .. }))
        };
        let nearly = exactly_factored(24);
        assert!(matches!(
            Cholesky::new(&nearly),
            Err(Error::SingularMatrix { .. })
        ));
        let l = nearly.cholesky().unwrap();
        assert_eq!(l.to_vec()[35], 2f64.powi(-24));
        assert!(singular(l.cholesky_solve(&b)));
        let low = Threshold::MinRcond(1e-25);
        let chol = Cholesky::new_with(&nearly, low).unwrap();
        assert!(chol.rcond() < 1e-15, "{}", chol.rcond());
        assert!(chol.solve(&b).is_ok());
        assert!(l.cholesky_solve_with(&b, low).is_ok());
        let fine = exactly_factored(20);
        let chol = Cholesky::new(&fine).unwrap();
        assert!(chol.rcond() > 1e-14, "{}", chol.rcond());
        assert!(fine.cholesky().unwrap().cholesky_solve(&b).is_ok());
    }

    /// `cholesky_solve` reads `L`'s lower triangle only, in all three rules: junk above
    /// the diagonal changes no value and no derivative, and receives none.
    #[test]
    fn cholesky_solve_differentiates_the_lower_triangle_only() {
        let clean = [[2.0f64, 0.0, 0.0], [0.5, 1.5, 0.0], [-0.3, 0.2, 1.2]];
        let mut junk = clean;
        (junk[0][1], junk[0][2], junk[1][2]) = (7.0, -3.0, 5.0);
        let b = Tensor::from_array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]]);
        let loss =
            |l: &Tensor<Rank2<3, 3>, f64, Tracked>| l.cholesky_solve(&b).map(|x| x.sin().sum());
        let gradient = |l: [[f64; 3]; 3]| {
            let l = Tensor::from_array(l).track();
            loss(&l).unwrap().backward().get(&l).unwrap().to_vec()
        };
        let (g_clean, g_junk) = (gradient(clean), gradient(junk));
        assert_eq!(g_clean, g_junk);
        assert!([1, 2, 5].iter().all(|&upper| g_junk[upper] == 0.0));
        let l = Tensor::from_array(junk).track();
        let recorded = loss(&l).unwrap().backward_create_graph().unwrap();
        let recorded = recorded.get(&l).unwrap().no_grad().to_vec();
        for (r, g) in recorded.iter().zip(&g_clean) {
            assert!((r - g).abs() <= 1e-15 * g.abs().max(1.0), "{r} against {g}");
        }
        let above = Tensor::from_array([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]);
        let (_, moved) = crate::func::try_jvp(loss, &Tensor::from_array(junk), &above).unwrap();
        assert_eq!(moved.item(), 0.0);
    }

    /// `Cholesky::solve` records the solve as an operation of `A` (its rule is
    /// `O(n² k)`); its derivatives are those of the chain through `cholesky` and
    /// `cholesky_solve`, the symmetric convention included, junk above the diagonal too.
    #[test]
    fn solving_through_the_matrix_or_the_factor_agrees() {
        let mut a = [[4.0f64, 0.0, 0.0], [1.0, 3.0, 0.0], [-0.5, 0.25, 2.0]];
        (a[0][1], a[0][2], a[1][2]) = (9.0, -2.0, 0.5);
        let b = Tensor::from_array([1.0, -2.0, 0.5]);
        type Loss = fn(
            &Tensor<Rank2<3, 3>, f64, Tracked>,
            &Tensor<Rank1<3>, f64>,
        ) -> Result<Tensor<Rank0, f64, Tracked>, Error>;
        let through_matrix: Loss = |a, b| {
            let chol = Cholesky::new(a)?;
            Ok(chol.solve(b)?.sin().sum() + chol.inverse().cos().sum())
        };
        let through_factor: Loss = |a, b| {
            let l = a.cholesky()?;
            let eye = Tensor::<Rank1<3>, f64>::ones().diag();
            Ok(l.cholesky_solve(b)?.sin().sum() + l.cholesky_solve(&eye)?.cos().sum())
        };
        let close = |x: &[f64], y: &[f64]| {
            x.iter()
                .zip(y)
                .all(|(u, v)| (u - v).abs() <= 1e-13 * v.abs().max(1.0))
        };
        let [m, f] = [through_matrix, through_factor].map(|loss| {
            let leaf = Tensor::from_array(a).track();
            let g = loss(&leaf, &b)
                .unwrap()
                .backward()
                .get(&leaf)
                .unwrap()
                .to_vec();
            let h = crate::func::try_hessian(|a| loss(a, &b), &Tensor::from_array(a)).unwrap();
            let t = Tensor::from_array([[1.0, 0.5, 0.0], [-0.5, 2.0, 1.0], [0.25, 0.0, -1.0]]);
            let (_, jv) =
                crate::func::try_jvp(|a| loss(a, &b), &Tensor::from_array(a), &t).unwrap();
            (g, h.to_vec(), jv.item())
        });
        assert!(close(&m.0, &f.0), "{:?} against {:?}", m.0, f.0);
        assert!(close(&m.1, &f.1), "{:?} against {:?}", m.1, f.1);
        assert!(
            (m.2 - f.2).abs() <= 1e-13 * f.2.abs().max(1.0),
            "{} against {}",
            m.2,
            f.2
        );
        // Symmetric, as Cholesky's convention has it.
        assert!((m.0[1] - m.0[3]).abs() <= 1e-15 * m.0[1].abs().max(1.0));
    }

    /// Right-hand sides of no columns and empty matrices: empty solutions and
    /// gradients, no panic.
    #[test]
    fn empty_right_hand_sides_and_matrices() {
        let a = Tensor::from_array([[4.0f64, 2.0], [2.0, 10.0]]).track();
        let none = Tensor::<Rank2<2, 0>, f64>::zeros().track();
        let chol = Cholesky::new(&a).unwrap();
        let x = chol.solve(&none).unwrap();
        let y = a.cholesky().unwrap().cholesky_solve(&none).unwrap();
        let grads = (x.sum() + y.sum()).backward();
        assert_eq!(grads.get(&a).unwrap().to_vec(), vec![0.0; 4]);
        let empty = Tensor::<Rank2<0, 0>, f64>::zeros().track();
        let chol = Cholesky::new(&empty).unwrap();
        let x = chol.solve(&Tensor::<Rank1<0>, f64>::zeros()).unwrap();
        assert_eq!(x.sum().backward().get(&empty).unwrap().numel(), 0);
    }
}
