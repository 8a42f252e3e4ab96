//! Tall matrices of full column rank: the reduced QR factorisation [`Tensor::qr`] and
//! least squares [`Tensor::lstsq`] through it.
//!
//! `A = Q R` (`A` is `M x N`, `M >= N`; `Q` is `M x N` with orthonormal columns, `R` is
//! `N x N` upper triangular with a positive diagonal, which makes the factors unique and
//! differentiable) by Householder reflections in `f64` (`kernels::qr`). A wide matrix
//! does not compile (a `const` assertion naming both dimensions).
//!
//! Rules for `qr` (Walter and Lehmann 2018, "Algorithmic differentiation of linear
//! algebra functions with application in optimum experimental design"; PyTorch's
//! `linalg_qr_backward` and JAX's `qr_jvp_rule`), with
//! `copyltu(M) = tril(M) + tril(M, -1)ᵀ`:
//! - VJP: `gA = (gQ + Q copyltu(M)) R⁻ᵀ`, `M = R gRᵀ - gQᵀ Q`; the right division by
//!   `Rᵀ` is a triangular solve. `Q` and `R` are two records sharing the factors, each
//!   with its part of `M` (the gradient is linear in `(gQ, gR)`);
//! - JVP: `B = Qᵀ dA R⁻¹`, `Ω = tril(B, -1) - tril(B, -1)ᵀ`, `dQ = Q (Ω - B) + dA R⁻¹`,
//!   `dR = (B - Ω) R`;
//! - recorded: the VJP from recorded `Q`, `R` (this factorisation's records), products,
//!   triangles and triangular solves.
//!
//! Rules for `X = lstsq(A, B) = R⁻¹ Qᵀ B = (AᵀA)⁻¹ Aᵀ B` (from differentiating the
//! normal equations; Golub and Pereyra 1973), with the residual `r = B - A X`:
//! - VJP: `Y = R⁻¹ R⁻ᵀ gX`, `gB = Q R⁻ᵀ gX`, `gA = r Yᵀ - gB Xᵀ`;
//! - JVP: `dX = R⁻¹ (R⁻ᵀ dAᵀ r + Qᵀ (dB - dA X))`;
//! - recorded: the VJP from recorded `Q`, `R`, solves and products.
//!
//! Both need full column rank, where `R` is invertible. They refuse a matrix whose
//! columns are linearly dependent to working precision ([`Error::RankDeficient`]):
//! some column `j` with `|R_jj| / ‖a_j‖ < threshold` (the distance of column `j` from the
//! span of the columns before it, relative to its length), or, catching dependencies
//! that no single `R_jj` shows, a reciprocal condition estimate of `R D⁻¹` below the
//! threshold (`D` the column norms: `A` with unit columns, whose condition number is
//! `R D⁻¹`'s). The threshold is a [`Threshold`], by default `M ε` (NumPy's
//! `matrix_rank` tolerance, `max(M, N) ε` relative to the largest singular value).

use alloc::sync::Arc;

use super::kernels::dense::{product, transpose as transpose_f64};
use super::kernels::qr::{householder_qr, norm2, qr_work_len};
use super::kernels::{triangular_reciprocal_condition, triangular_solve};
use super::recorded::{matmul, negate, transpose, triangle_of};
use super::shapes::{check_tall, LeastSquaresRhs, Matrix};
use super::triangular::{triangular_solve_var, TriangularShape};
use super::{
    add_into, check_finite, load, store, Dims, LinalgOp, Reads, Scratch, SolveName, Threshold,
    Triangle,
};
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

/// What [`Tensor::lstsq`] gives for the matrix shape `S` and right-hand side `SB`: the
/// solution, recorded when either input is, or the error that refused the system.
pub type LeastSquares<S, SB, E, T, TB> =
    Result<Tensor<<SB as LeastSquaresRhs<S>>::Solution, E, BinaryTape<T, TB>>, Error>;

/// The dimensions of a batch of `m x n` matrices (`m >= n`) with right-hand sides of
/// `k` columns (least squares), as a record keeps them: `m`, `n`, `k` as `u32`s, so that
/// a least-squares record is no larger than a matrix product's and nodes do not grow
/// (`check_tall` refuses at build time a shape whose `m` or `k` does not fit; `n <= m`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TallDims {
    batch: usize,
    m: u32,
    n: u32,
    k: u32,
    batched: bool,
}

impl TallDims {
    fn of<S: Matrix>(k: usize) -> Self {
        // Lossless: the typed methods check at build time that these fit in a u32.
        let narrow = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        TallDims {
            batch: S::BATCH,
            m: narrow(S::ROWS),
            n: narrow(S::COLS),
            k: narrow(k),
            batched: S::BATCHED,
        }
    }

    fn m(self) -> usize {
        self.m as usize
    }

    fn k(self) -> usize {
        self.k as usize
    }

    fn n(self) -> usize {
        self.n as usize
    }

    /// `Q` and `R` of one matrix in a buffer of factors.
    fn factors_len(self) -> usize {
        self.m() * self.n() + self.n() * self.n()
    }

    /// The dimensions of the triangular solves with `R` for right-hand sides of `k`
    /// columns.
    fn square(self, k: usize) -> Dims {
        Dims {
            batch: self.batch,
            n: self.n(),
            k,
            batched: self.batched,
        }
    }

    fn which(self, i: usize) -> Option<usize> {
        self.batched.then_some(i)
    }
}

/// Matrix `i`'s `Q` (`m x n`) and `R` (`n x n`) in a buffer of factors.
fn factors_of(factors: &[f64], dims: TallDims, i: usize) -> (&[f64], &[f64]) {
    let len = dims.factors_len();
    factors[i * len..(i + 1) * len].split_at(dims.m() * dims.n())
}

/// The reduced QR factors of every matrix of `a`, refusing the first that is
/// rank-deficient to working precision (below `threshold`).
fn factor<E: Element>(
    op: &'static str,
    a: &[E],
    dims: TallDims,
    threshold: f64,
) -> Result<Arc<[f64]>, Error> {
    let (m, n) = (dims.m(), dims.n());
    let len = dims.factors_len();
    let mut factors = Scratch::new(dims.batch * len);
    let mut work = Scratch::new(m * n + qr_work_len(m, n) + n * n + 4 * n);
    let (af, rest) = work.values().split_at_mut(m * n);
    let (qr_work, rest) = rest.split_at_mut(qr_work_len(m, n));
    let (scaled, rest) = rest.split_at_mut(n * n);
    let (norms, estimator) = rest.split_at_mut(n);
    let values = factors.values();
    for i in 0..dims.batch {
        load(&a[i * m * n..(i + 1) * m * n], af);
        let (q, r) = values[i * len..(i + 1) * len].split_at_mut(m * n);
        householder_qr(af, m, n, q, r, qr_work);
        check_rank(op, dims, i, af, r, threshold, norms, scaled, estimator)?;
    }
    Ok(factors.keep())
}

/// Refuses matrix `i` (`a`, factored as `r`) if its columns are linearly dependent to
/// working precision: the module's two tests.
#[allow(clippy::too_many_arguments)]
fn check_rank(
    op: &'static str,
    dims: TallDims,
    i: usize,
    a: &[f64],
    r: &[f64],
    threshold: f64,
    norms: &mut [f64],
    scaled: &mut [f64],
    estimator: &mut [f64],
) -> Result<(), Error> {
    let (m, n) = (dims.m(), dims.n());
    let refuse = |column, ratio| Error::RankDeficient {
        op,
        batch: dims.which(i),
        column,
        ratio,
        threshold,
    };
    for j in 0..n {
        norms[j] = norm2(m, |row| a[row * n + j]);
        let ratio = if norms[j] > 0.0 {
            r[j * n + j] / norms[j]
        } else {
            0.0
        };
        // Written as what is accepted, so that a NaN is refused.
        if !(ratio > 0.0 && ratio >= threshold) {
            return Err(refuse(Some(j), ratio));
        }
    }
    for row in 0..n {
        for j in 0..n {
            scaled[row * n + j] = r[row * n + j] / norms[j];
        }
    }
    let rcond = triangular_reciprocal_condition(scaled, n, Triangle::Upper, false, estimator);
    if !(rcond > 0.0 && rcond >= threshold) {
        return Err(refuse(None, rcond));
    }
    Ok(())
}

/// `out = copyltu(m) = tril(m) + tril(m, -1)ᵀ` for an `n x n` matrix: the lower
/// triangle mirrored.
fn copyltu(m: &[f64], n: usize, out: &mut [f64]) {
    for r in 0..n {
        for c in 0..n {
            out[r * n + c] = m[r.max(c) * n + r.min(c)];
        }
    }
}

/// `x ← x R⁻ᵀ` for the rows of an `rows x n` matrix `x` and upper triangular `R`: each
/// row `y` solves `R yᵀ = xᵀ`. `scratch` holds `rows x n` values.
fn divide_by_r_transposed(x: &mut [f64], r: &[f64], rows: usize, n: usize, scratch: &mut [f64]) {
    transpose_f64(x, rows, n, scratch);
    triangular_solve(r, n, Triangle::Upper, false, false, scratch, rows);
    transpose_f64(scratch, n, rows, x);
}

/// Which factor a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Factor {
    Q,
    R,
}

/// A recorded factor of a QR factorisation.
#[derive(Clone)]
pub(crate) struct QrOp {
    /// Per matrix, `Q` (`m x n`) then `R` (`n x n`), in `f64`.
    factors: Arc<[f64]>,
    a: Saved,
    dims: TallDims,
    factor: Factor,
}

/// One factor of each matrix, as `E`, recorded with `a` as its input.
fn record_factor<E: Element>(
    a: Operand<'_, E>,
    factors: &Arc<[f64]>,
    dims: TallDims,
    factor: Factor,
) -> Var<E> {
    let (m, n) = (dims.m(), dims.n());
    let (offset, len) = match factor {
        Factor::Q => (0, m * n),
        Factor::R => (m * n, n * n),
    };
    let per = dims.factors_len();
    let data = Storage::collect(
        dims.batch * len,
        (0..dims.batch).flat_map(|i| {
            factors[i * per + offset..i * per + offset + len]
                .iter()
                .map(|&x| E::from_f64(x))
        }),
    );
    finish(data, [Some(a), None], |saver| {
        Op::Linalg(LinalgOp::Qr(QrOp {
            factors: Arc::clone(factors),
            a: saver.save(a.data),
            dims,
            factor,
        }))
    })
}

/// The triangular solves with `R` the recorded rules use.
fn upper(transpose: bool) -> TriangularShape {
    TriangularShape {
        triangle: Triangle::Upper,
        unit: false,
        transpose,
    }
}

/// `Y R⁻ᵀ` for each of a batch of `m x n` matrices `Y`, recorded: `(R⁻¹ Yᵀ)ᵀ`.
fn divide_by_r_transposed_var<E: Element>(y: &Var<E>, r: &Var<E>, dims: TallDims) -> Var<E> {
    let (batch, m, n) = (dims.batch, dims.m(), dims.n());
    let yt = transpose(y, batch, m, n);
    let solved = triangular_solve_var(
        r.operand(),
        yt.operand(),
        dims.square(m),
        upper(false),
        SolveName::Triangular,
    );
    transpose(&solved, batch, n, m)
}

/// `copyltu(M)` of each `n x n` matrix, recorded.
fn copyltu_var<E: Element>(m: &Var<E>, batch: usize, n: usize) -> Var<E> {
    let lower = triangle_of(m, n, true, 0);
    let strict = triangle_of(m, n, true, -1);
    lower.add(&transpose(&strict, batch, n, n))
}

impl QrOp {
    pub(crate) fn name(&self) -> &'static str {
        "LinalgQrBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let Some(ga) = parents.get_mut(0) else { return };
        let (m, n) = (self.dims.m(), self.dims.n());
        let glen = match self.factor {
            Factor::Q => m * n,
            Factor::R => n * n,
        };
        let mut work = Scratch::new(glen + 2 * n * n + 2 * m * n);
        let (g, rest) = work.values().split_at_mut(glen);
        let (mm, rest) = rest.split_at_mut(n * n);
        let (c, rest) = rest.split_at_mut(n * n);
        let (y, scratch) = rest.split_at_mut(m * n);
        for i in 0..self.dims.batch {
            let (q, r) = factors_of(&self.factors, self.dims, i);
            load(&grad[i * glen..(i + 1) * glen], g);
            match self.factor {
                Factor::Q => {
                    // M = -gQᵀ Q; Y = gQ + Q copyltu(M).
                    product(g, true, q, false, mm, n, m, n);
                    mm.iter_mut().for_each(|x| *x = -*x);
                    copyltu(mm, n, c);
                    product(q, false, c, false, y, m, n, n);
                    for (y, &g) in y.iter_mut().zip(g.iter()) {
                        *y += g;
                    }
                }
                Factor::R => {
                    // M = R gRᵀ; Y = Q copyltu(M).
                    product(r, false, g, true, mm, n, n, n);
                    copyltu(mm, n, c);
                    product(q, false, c, false, y, m, n, n);
                }
            }
            divide_by_r_transposed(y, r, m, n, scratch);
            add_into(&mut ga[i * m * n..(i + 1) * m * n], y);
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
        let (batch, m, n) = (self.dims.batch, self.dims.m(), self.dims.n());
        let a = node.input(0, self.a);
        let q = record_factor(a.operand(), &self.factors, self.dims, Factor::Q);
        let r = record_factor(a.operand(), &self.factors, self.dims, Factor::R);
        let y = match self.factor {
            Factor::Q => {
                let mm = negate(&matmul(g, &q, batch, n, m, n, true, false));
                g.add(&matmul(
                    &q,
                    &copyltu_var(&mm, batch, n),
                    batch,
                    m,
                    n,
                    n,
                    false,
                    false,
                ))
            }
            Factor::R => {
                let mm = matmul(&r, g, batch, n, n, n, false, true);
                matmul(
                    &q,
                    &copyltu_var(&mm, batch, n),
                    batch,
                    m,
                    n,
                    n,
                    false,
                    false,
                )
            }
        };
        [Some(divide_by_r_transposed_var(&y, &r, self.dims)), None]
    }

    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let (m, n) = (self.dims.m(), self.dims.n());
        let (in_len, part) = (self.dims.batch * m * n, self.factor);
        let out_per = match part {
            Factor::Q => m * n,
            Factor::R => n * n,
        };
        let out_len = self.dims.batch * out_per;
        let mut work = Scratch::new(3 * m * n + 2 * n * n);
        let (z, rest) = work.values().split_at_mut(m * n);
        let (scratch, rest) = rest.split_at_mut(m * n);
        let (result, rest) = rest.split_at_mut(m * n);
        let (bm, omega) = rest.split_at_mut(n * n);
        for k in 0..batch {
            for i in 0..self.dims.batch {
                let (q, r) = factors_of(&self.factors, self.dims, i);
                // Z = dA R⁻¹: rows z solve Rᵀ zᵀ = (row of dA)ᵀ.
                load(&t[k * in_len + i * m * n..][..m * n], z);
                transpose_f64(z, m, n, scratch);
                triangular_solve(r, n, Triangle::Upper, false, true, scratch, m);
                transpose_f64(scratch, n, m, z);
                // B = Qᵀ Z; Ω = tril(B, -1) - tril(B, -1)ᵀ, kept as B - Ω (upper).
                product(q, true, z, false, bm, n, m, n);
                for row in 0..n {
                    for col in 0..n {
                        omega[row * n + col] = if row > col {
                            bm[row * n + col]
                        } else if row < col {
                            -bm[col * n + row]
                        } else {
                            0.0
                        };
                    }
                }
                match part {
                    Factor::Q => {
                        // dQ = Q (Ω - B) + Z
                        for (o, &b) in omega.iter_mut().zip(bm.iter()) {
                            *o -= b;
                        }
                        product(q, false, omega, false, result, m, n, n);
                        for (x, &zv) in result.iter_mut().zip(z.iter()) {
                            *x += zv;
                        }
                        add_into(&mut out[k * out_len + i * out_per..][..out_per], result);
                    }
                    Factor::R => {
                        // dR = (B - Ω) R
                        for (o, &b) in omega.iter_mut().zip(bm.iter()) {
                            *o = b - *o;
                        }
                        product(omega, false, r, false, &mut result[..n * n], n, n, n);
                        add_into(
                            &mut out[k * out_len + i * out_per..][..out_per],
                            &result[..n * n],
                        );
                    }
                }
            }
        }
    }

    pub(crate) fn recycle(self) {
        pool::recycle(self.factors);
    }
}

/// `out = B - A X` for one system, `A` (`m x n`) and `B` (`m x k`) as stored.
fn residual<E: Element>(
    a: &[E],
    b: &[E],
    x: &[f64],
    out: &mut [f64],
    (m, n, k): (usize, usize, usize),
) {
    for row in 0..m {
        for c in 0..k {
            let s: f64 = (0..n)
                .map(|p| a[row * n + p].to_f64_exact() * x[p * k + c])
                .sum();
            out[row * k + c] = b[row * k + c].to_f64_exact() - s;
        }
    }
}

/// A recorded least-squares solution `X = R⁻¹ Qᵀ B`.
#[derive(Clone)]
pub(crate) struct LstsqOp {
    factors: Arc<[f64]>,
    a: Saved,
    b: Saved,
    x: Saved,
    dims: TallDims,
}

/// `X = R⁻¹ Qᵀ B` for each system, with `A`'s factors (no checks), recorded.
fn lstsq_var<E: Element>(
    a: Operand<'_, E>,
    b: Operand<'_, E>,
    factors: &Arc<[f64]>,
    dims: TallDims,
) -> Var<E> {
    let (m, n, k) = (dims.m(), dims.n(), dims.k());
    let mut work = Scratch::new(m * k + dims.batch * n * k);
    let (bf, x) = work.values().split_at_mut(m * k);
    for i in 0..dims.batch {
        let (q, r) = factors_of(factors, dims, i);
        load(&b.values()[i * m * k..(i + 1) * m * k], bf);
        let xi = &mut x[i * n * k..(i + 1) * n * k];
        product(q, true, bf, false, xi, n, m, k);
        triangular_solve(r, n, Triangle::Upper, false, false, xi, k);
    }
    let out = store::<E>(x);
    finish(out, [Some(a), Some(b)], |saver| {
        Op::Linalg(LinalgOp::Lstsq(LstsqOp {
            factors: Arc::clone(factors),
            a: saver.save(a.data),
            b: saver.save(b.data),
            x: saver.save_output(),
            dims,
        }))
    })
}

impl LstsqOp {
    pub(crate) fn name(&self) -> &'static str {
        "LinalgLstsqBackward0"
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let saved = parents.saved;
        let (a_all, b_all, x_all) = (self.a.of(saved), self.b.of(saved), self.x.of(saved));
        let (m, n, k) = (self.dims.m(), self.dims.n(), self.dims.k());
        let mut work = Scratch::new(3 * n * k + 2 * m * k);
        let (z, rest) = work.values().split_at_mut(n * k);
        let (y, rest) = rest.split_at_mut(n * k);
        let (x, rest) = rest.split_at_mut(n * k);
        let (gb, res) = rest.split_at_mut(m * k);
        for i in 0..self.dims.batch {
            let (q, r) = factors_of(&self.factors, self.dims, i);
            // Z = R⁻ᵀ gX, Y = R⁻¹ Z, gB = Q Z.
            load(&grad[i * n * k..(i + 1) * n * k], z);
            triangular_solve(r, n, Triangle::Upper, false, true, z, k);
            y.copy_from_slice(z);
            triangular_solve(r, n, Triangle::Upper, false, false, y, k);
            product(q, false, z, false, gb, m, n, k);
            if let Some(g) = parents.get_mut(1) {
                add_into(&mut g[i * m * k..(i + 1) * m * k], gb);
            }
            if let Some(g) = parents.get_mut(0) {
                // gA = r Yᵀ - gB Xᵀ with r = B - A X.
                load(&x_all[i * n * k..(i + 1) * n * k], x);
                let (a, b) = (&a_all[i * m * n..][..m * n], &b_all[i * m * k..][..m * k]);
                residual(a, b, x, res, (m, n, k));
                let g = &mut g[i * m * n..(i + 1) * m * n];
                for row in 0..m {
                    for col in 0..n {
                        let s: f64 = (0..k)
                            .map(|c| {
                                res[row * k + c] * y[col * k + c] - gb[row * k + c] * x[col * k + c]
                            })
                            .sum();
                        g[row * n + col] = g[row * n + col] + E::from_f64(s);
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
        let (batch, m, n, k) = (self.dims.batch, self.dims.m(), self.dims.n(), self.dims.k());
        let a = node.input(0, self.a);
        let q = record_factor(a.operand(), &self.factors, self.dims, Factor::Q);
        let r = record_factor(a.operand(), &self.factors, self.dims, Factor::R);
        let dims = self.dims.square(k);
        let z = triangular_solve_var(
            r.operand(),
            g.operand(),
            dims,
            upper(true),
            SolveName::Triangular,
        );
        let gb = matmul(&q, &z, batch, m, n, k, false, false);
        let ga = node.tracked(0).then(|| {
            let y = triangular_solve_var(
                r.operand(),
                z.operand(),
                dims,
                upper(false),
                SolveName::Triangular,
            );
            let (b, x) = (node.input(1, self.b), node.output(self.x));
            let residual = b.sub(&matmul(&a, &x, batch, m, n, k, false, false));
            matmul(&residual, &y, batch, m, k, n, false, true)
                .sub(&matmul(&gb, &x, batch, m, k, n, false, true))
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
        let (a_all, b_all, x_all) = (self.a.of(saved), self.b.of(saved), self.x.of(saved));
        let (m, n, k) = (self.dims.m(), self.dims.n(), self.dims.k());
        let (a_len, b_len, x_len) = (
            self.dims.batch * m * n,
            self.dims.batch * m * k,
            self.dims.batch * n * k,
        );
        let mut work = Scratch::new(m * n + 3 * m * k + 3 * n * k);
        let (da, rest) = work.values().split_at_mut(m * n);
        let (res, rest) = rest.split_at_mut(m * k);
        let (w, rest) = rest.split_at_mut(m * k);
        let (tmp, rest) = rest.split_at_mut(m * k);
        let (x, rest) = rest.split_at_mut(n * k);
        let (u, v) = rest.split_at_mut(n * k);
        for t in 0..batch {
            for i in 0..self.dims.batch {
                let (q, r) = factors_of(&self.factors, self.dims, i);
                load(&x_all[i * n * k..(i + 1) * n * k], x);
                // w = dB - dA X; u = R⁻ᵀ dAᵀ r.
                match tangents[1] {
                    Some(db) => load(&db[t * b_len + i * m * k..][..m * k], w),
                    None => w.fill(0.0),
                }
                u.fill(0.0);
                if let Some(dat) = tangents[0] {
                    load(&dat[t * a_len + i * m * n..][..m * n], da);
                    product(da, false, x, false, tmp, m, n, k);
                    for (wv, &p) in w.iter_mut().zip(tmp.iter()) {
                        *wv -= p;
                    }
                    let (a, b) = (&a_all[i * m * n..][..m * n], &b_all[i * m * k..][..m * k]);
                    residual(a, b, x, res, (m, n, k));
                    product(da, true, res, false, u, n, m, k);
                    triangular_solve(r, n, Triangle::Upper, false, true, u, k);
                }
                product(q, true, w, false, v, n, m, k);
                for (vv, &uv) in v.iter_mut().zip(u.iter()) {
                    *vv += uv;
                }
                triangular_solve(r, n, Triangle::Upper, false, false, v, k);
                add_into(&mut out[t * x_len + i * n * k..][..n * k], v);
            }
        }
    }

    pub(crate) fn recycle(self) {
        pool::recycle(self.factors);
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The reduced QR factorisation `A = Q R` of a tall matrix (`M >= N`; PyTorch's
    /// `torch.linalg.qr(A, mode='reduced')`), of each matrix of a batch: `Q` (`M x N`)
    /// has orthonormal columns, `R` (`N x N`) is upper triangular with a positive
    /// diagonal (PyTorch leaves its signs to LAPACK), which makes both unique.
    /// Differentiable in `A` through both. A wide matrix (`M < N`) does not compile.
    ///
    /// # Errors
    /// - [`Error::NonFiniteInput`] if `A` holds a NaN or an infinity;
    /// - [`Error::RankDeficient`] if the columns of `A` are linearly dependent to working
    ///   precision (the module `linalg` says how that is judged; the derivative needs
    ///   `R⁻¹`). [`Tensor::qr_with`] sets another threshold.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[3.0f64, 1.0], [4.0, 2.0], [0.0, 2.0]]).track();
    /// let (q, r) = a.qr()?;
    /// assert!(q.matmul(&r).allclose(&a, 1e-15, 1e-15));
    /// assert!((r.at::<0, 0>().item() - 5.0).abs() < 1e-15);
    /// // Orthonormal columns: Qᵀ Q = I.
    /// let eye = Tensor::<Rank1<2>, f64>::ones().diag();
    /// assert!(q.t().matmul(&q).allclose(&eye, 1e-15, 1e-15));
    /// // ln |det R| = ½ ln det(AᵀA): its gradient is A (AᵀA)⁻¹.
    /// let g = r.diagonal().ln().sum().backward().get(&a).unwrap();
    /// let ata = a.t().matmul(&a).no_grad();
    /// let expected = a.no_grad().matmul(&ata.inv()?);
    /// assert!(g.allclose(&expected, 1e-14, 1e-14));
    /// // The second column a multiple of the first: refused.
    /// let dependent = Tensor::from_array([[1.0f64, 2.0], [3.0, 6.0], [-1.0, -2.0]]);
    /// assert!(matches!(dependent.qr(), Err(Error::RankDeficient { column: Some(1), .. })));
    /// # Ok::<(), Error>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn qr<SR: Shape>(
        &self,
    ) -> Result<(Tensor<S, E, UnaryTape<T>>, Tensor<SR, E, UnaryTape<T>>), Error>
    where
        S: Matrix<Square = SR>,
    {
        const { check_tall("qr", S::ROWS, S::COLS, 0) };
        self.qr_checked(Threshold::Default)
    }

    /// [`Tensor::qr`] with another threshold for refusing a rank-deficient matrix
    /// (`Threshold::MinRcond(t)`: refused when some `|R_jj| / ‖a_j‖`, or the reciprocal
    /// condition estimate of `A` with unit columns, is below `t`).
    ///
    /// # Errors
    /// As [`Tensor::qr`].
    #[allow(clippy::type_complexity)]
    pub fn qr_with<SR: Shape>(
        &self,
        threshold: Threshold,
    ) -> Result<(Tensor<S, E, UnaryTape<T>>, Tensor<SR, E, UnaryTape<T>>), Error>
    where
        S: Matrix<Square = SR>,
    {
        const { check_tall("qr", S::ROWS, S::COLS, 0) };
        self.qr_checked(threshold)
    }

    /// [`Tensor::qr_with`] once the shape is known to be tall (each public method checks
    /// it, so that a build error points at the caller's line).
    #[allow(clippy::type_complexity)]
    fn qr_checked<SR: Shape>(
        &self,
        threshold: Threshold,
    ) -> Result<(Tensor<S, E, UnaryTape<T>>, Tensor<SR, E, UnaryTape<T>>), Error>
    where
        S: Matrix<Square = SR>,
    {
        const OP: &str = "qr";
        let dims = TallDims::of::<S>(0);
        let min = threshold.checked::<E>(OP, S::ROWS)?;
        check_finite(OP, "A", S::DIMS, self.as_slice(), S::COLS, Reads::All)?;
        let factors = factor(OP, self.as_slice(), dims, min)?;
        let q = record_factor(self.operand(), &factors, dims, Factor::Q);
        let r = record_factor(self.operand(), &factors, dims, Factor::R);
        pool::recycle(factors);
        Ok((Tensor::from_var(q), Tensor::from_var(r)))
    }

    /// The least-squares solution `X` minimising `‖A X - B‖` (PyTorch's
    /// `torch.linalg.lstsq(A, B).solution`) for a tall matrix of full column rank
    /// (`M >= N`), through its QR factorisation: `X = R⁻¹ Qᵀ B`. `B` is a vector or a
    /// matrix with `A`'s rows; a batch of matrices solves a batch of problems.
    /// Differentiable in `A` and `B`. A wide matrix does not compile.
    ///
    /// # Errors
    /// - [`Error::NonFiniteInput`] if `A` or `B` holds a NaN or an infinity;
    /// - [`Error::RankDeficient`] as [`Tensor::qr`] (PyTorch's default CPU driver,
    ///   `gelsy`, returns a minimum-norm solution instead; its gradient is not that
    ///   solution's). [`Tensor::lstsq_with`] sets another threshold.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// // A line y = c0 + c1 t through four points.
    /// let a = Tensor::from_array([[1.0f64, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]]);
    /// let y = Tensor::from_array([1.0, 3.0, 5.0, 7.5]).track();
    /// let c = a.lstsq(&y)?;
    /// assert!(c.allclose(&Tensor::from_array([0.9, 2.15]), 1e-14, 1e-14));
    /// // The fit is linear in the data: dc/dy = (AᵀA)⁻¹ Aᵀ.
    /// let g = c.at::<1>().backward().get(&y).unwrap();
    /// assert!(g.allclose(&Tensor::from_array([-0.3, -0.1, 0.1, 0.3]), 1e-14, 1e-14));
    /// # Ok::<(), Error>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn lstsq<SB: LeastSquaresRhs<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
    ) -> LeastSquares<S, SB, E, T, TB>
    where
        S: Matrix,
        T: Merge<TB>,
    {
        const { check_tall("lstsq", S::ROWS, S::COLS, SB::COLUMNS) };
        self.lstsq_checked(b, Threshold::Default)
    }

    /// [`Tensor::lstsq`] with another threshold for refusing a rank-deficient matrix
    /// (as [`Tensor::qr_with`]).
    ///
    /// # Errors
    /// As [`Tensor::lstsq`].
    #[allow(clippy::type_complexity)]
    pub fn lstsq_with<SB: LeastSquaresRhs<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
        threshold: Threshold,
    ) -> LeastSquares<S, SB, E, T, TB>
    where
        S: Matrix,
        T: Merge<TB>,
    {
        const { check_tall("lstsq", S::ROWS, S::COLS, SB::COLUMNS) };
        self.lstsq_checked(b, threshold)
    }

    /// [`Tensor::lstsq_with`] once the shape is known to be tall.
    #[allow(clippy::type_complexity)]
    fn lstsq_checked<SB: LeastSquaresRhs<S>, TB: Tape>(
        &self,
        b: &Tensor<SB, E, TB>,
        threshold: Threshold,
    ) -> LeastSquares<S, SB, E, T, TB>
    where
        S: Matrix,
        T: Merge<TB>,
    {
        const OP: &str = "lstsq";
        let dims = TallDims::of::<S>(SB::COLUMNS);
        let min = threshold.checked::<E>(OP, S::ROWS)?;
        check_finite(OP, "A", S::DIMS, self.as_slice(), S::COLS, Reads::All)?;
        check_finite(OP, "B", SB::DIMS, b.as_slice(), SB::COLUMNS, Reads::All)?;
        let factors = factor(OP, self.as_slice(), dims, min)?;
        let x = lstsq_var(self.operand(), b.operand(), &factors, dims);
        pool::recycle(factors);
        Ok(Tensor::from_var(x))
    }
}
