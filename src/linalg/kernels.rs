//! The dense kernels of the linear-algebra operations: LU with partial or complete
//! pivoting, Cholesky, triangular solves, a 1-norm estimator and the adjugate, on one
//! row-major `n x n` matrix at a time (the operations loop over a batch).
//!
//! They compute in `f64` whatever the element type: an `f32` matrix is factored in
//! `f64` and the results rounded once, so an `f32` user gets results as accurate as
//! their data allows (and a singular `f32` matrix, exact in `f64`, is seen as singular).
//! Being non-generic, they are compiled once, in this crate.
//!
//! Why not nalgebra's decompositions: the operations are shape-erased (dimensions at run
//! time, compiled once for both element types), buffers come from the pool (no
//! allocation after warm-up), and the operations need what nalgebra's do not give: the
//! order of the leading minor at which Cholesky fails, LU that goes on past a zero pivot
//! (for the adjugate of a singular matrix), pivots that a record can keep in a buffer of
//! numbers. Static sizes would also compile nalgebra's decompositions once per size in
//! each user's crate (about 50 to 65 ms of release build per size for Cholesky + solve,
//! measured by a crate solving at 8 sizes against one at 1), where these loops are
//! compiled once, here. At the sizes these users have, the loops below are faster than
//! nalgebra's static-size ones: Cholesky + solve, f64, paired against
//! `SMatrix::cholesky` + `solve` in one binary, 0.63 to 0.84 of its time at 3 x 3, 0.81
//! at 6 x 6, 0.89 at 12 x 12, 0.90 at 16 x 16, 0.61 at 64 x 64 (2-core machine, load 1;
//! nalgebra's own time at 64 x 64 moved between 15 and 31 µs from binary to binary with
//! inlining). nalgebra is the reference they are tested against.

use super::Triangle;
use num_traits::Float;

pub(crate) mod dense;
pub(crate) mod eigen;
pub(crate) mod expm;
pub(crate) mod qr;

/// The number of `f64`s that the LU factors of one `n x n` matrix take in a buffer:
/// `L` and `U` in one matrix (`L`'s unit diagonal implied), the row and column
/// permutations (as numbers, so that a record keeps them in the same buffer), and the
/// sign of the permutations.
pub(crate) const fn lu_len(n: usize) -> usize {
    n * n + 2 * n + 1
}

/// The LU factors of one matrix, `P A Q = L U`, as [`lu_in_place`] leaves them.
#[derive(Clone, Copy)]
pub(crate) struct LuRef<'a> {
    /// `L` strictly below the diagonal (its diagonal is 1), `U` on and above it.
    pub(crate) lu: &'a [f64],
    /// Row `i` of `P A` is row `rows[i]` of `A`.
    rows: &'a [f64],
    /// Column `j` of `A Q` is column `cols[j]` of `A`.
    cols: &'a [f64],
    /// `det P · det Q`.
    pub(crate) sign: f64,
    pub(crate) n: usize,
}

impl<'a> LuRef<'a> {
    /// The factors of matrix `i` of a buffer of factors of `n x n` matrices.
    pub(crate) fn of(factors: &'a [f64], n: usize, i: usize) -> Self {
        let len = lu_len(n);
        let f = &factors[i * len..(i + 1) * len];
        let (lu, rest) = f.split_at(n * n);
        let (rows, rest) = rest.split_at(n);
        let (cols, sign) = rest.split_at(n);
        LuRef {
            lu,
            rows,
            cols,
            sign: sign.first().copied().unwrap_or(1.0),
            n,
        }
    }

    fn row(&self, i: usize) -> usize {
        self.rows[i] as usize
    }

    fn col(&self, j: usize) -> usize {
        self.cols[j] as usize
    }

    /// `U`'s diagonal element `i`.
    pub(crate) fn pivot(&self, i: usize) -> f64 {
        self.lu[i * self.n + i]
    }

    /// The first zero pivot, if any: `A` is exactly singular.
    pub(crate) fn zero_pivot(&self) -> Option<usize> {
        (0..self.n).find(|&i| self.pivot(i) == 0.0)
    }

    /// `det A`, the signed product of the pivots.
    pub(crate) fn det(&self) -> f64 {
        (0..self.n).fold(self.sign, |d, i| d * self.pivot(i))
    }

    /// `(sign, ln |det A|)`, summed as logarithms so that no product overflows: a
    /// singular matrix gives `(0, -inf)`.
    pub(crate) fn slogdet(&self) -> (f64, f64) {
        let mut sign = self.sign;
        let mut log = 0.0;
        for i in 0..self.n {
            let p = self.pivot(i);
            sign *= p.signum();
            log += Float::ln(p.abs());
            if p == 0.0 {
                return (0.0, f64::NEG_INFINITY);
            }
        }
        (sign, log)
    }

    /// Solves `op(A) X = B` in place for `B` (`n x k`, row-major, in `rhs`), where
    /// `op(A)` is `A` or (`transpose`) `Aᵀ`; `scratch` holds `n x k` values.
    pub(crate) fn solve(&self, rhs: &mut [f64], k: usize, transpose: bool, scratch: &mut [f64]) {
        let n = self.n;
        let scratch = &mut scratch[..n * k];
        if !transpose {
            // A = Pᵀ L U Qᵀ: L U (Qᵀ x) = P b.
            for i in 0..n {
                let from = self.row(i) * k;
                scratch[i * k..(i + 1) * k].copy_from_slice(&rhs[from..from + k]);
            }
            triangular_solve(self.lu, n, Triangle::Lower, true, false, scratch, k);
            triangular_solve(self.lu, n, Triangle::Upper, false, false, scratch, k);
            for j in 0..n {
                let to = self.col(j) * k;
                rhs[to..to + k].copy_from_slice(&scratch[j * k..(j + 1) * k]);
            }
        } else {
            // Aᵀ = Q Uᵀ Lᵀ P: Uᵀ Lᵀ (P x) = Qᵀ b.
            for j in 0..n {
                let from = self.col(j) * k;
                scratch[j * k..(j + 1) * k].copy_from_slice(&rhs[from..from + k]);
            }
            triangular_solve(self.lu, n, Triangle::Upper, false, true, scratch, k);
            triangular_solve(self.lu, n, Triangle::Lower, true, true, scratch, k);
            for i in 0..n {
                let to = self.row(i) * k;
                rhs[to..to + k].copy_from_slice(&scratch[i * k..(i + 1) * k]);
            }
        }
    }
}

/// Factors the `n x n` matrix in `factors[..n²]` in place: `P A Q = L U`, with the
/// permutations and their sign after it ([`lu_len`] values in all). `complete`: the pivot
/// is the largest element of the remaining block (rows and columns exchanged), which
/// reveals a rank deficiency in the last pivots; else the largest of the column (rows
/// only, LAPACK's getrf).
///
/// A zero pivot does not stop the factorisation: its column below is zero as well (the
/// largest magnitude was 0), so there is nothing to eliminate, and the remaining columns
/// go on. A singular matrix has exact factors with a zero on `U`'s diagonal, from which
/// the determinant is 0 and the adjugate is exact.
pub(crate) fn lu_in_place(factors: &mut [f64], n: usize, complete: bool) {
    let (lu, rest) = factors.split_at_mut(n * n);
    let (rows, rest) = rest.split_at_mut(n);
    let (cols, sign) = rest.split_at_mut(n);
    for i in 0..n {
        rows[i] = i as f64;
        cols[i] = i as f64;
    }
    let mut parity = 1.0;
    for k in 0..n {
        let (mut pivot_row, mut pivot_col, mut largest) = (k, k, -1.0);
        let last_col = if complete { n } else { k + 1 };
        for i in k..n {
            for j in k..last_col {
                let v = lu[i * n + j].abs();
                if v > largest {
                    (pivot_row, pivot_col, largest) = (i, j, v);
                }
            }
        }
        if pivot_row != k {
            for j in 0..n {
                lu.swap(k * n + j, pivot_row * n + j);
            }
            rows.swap(k, pivot_row);
            parity = -parity;
        }
        if pivot_col != k {
            for i in 0..n {
                lu.swap(i * n + k, i * n + pivot_col);
            }
            cols.swap(k, pivot_col);
            parity = -parity;
        }
        let pivot = lu[k * n + k];
        if pivot == 0.0 {
            continue;
        }
        let (above, below) = lu.split_at_mut((k + 1) * n);
        let pivot_row = &above[k * n..];
        for row in below.chunks_exact_mut(n) {
            let l = row[k] / pivot;
            row[k] = l;
            // A zero multiplier changes nothing (and 0 · inf would be NaN).
            if l != 0.0 {
                for (x, &u) in row[k + 1..].iter_mut().zip(&pivot_row[k + 1..]) {
                    *x -= l * u;
                }
            }
        }
    }
    if let Some(s) = sign.first_mut() {
        *s = parity;
    }
}

/// Solves `op(T) X = B` in place for `B` (`n x k`, row-major), where `T` (`n x n`) is
/// read only in its `triangle` (strictly, with 1 on the diagonal, if `unit`) and
/// `op(T)` is `T` or (`transpose`) `Tᵀ`. A zero on the diagonal gives infinities (the
/// callers check first).
///
/// `T` is always read along its rows (contiguous): for `T`, row `i` of `X` is row `i` of
/// `B` less the rows already solved, weighted by row `i` of `T`; for `Tᵀ`, whose columns
/// are `T`'s rows, each row of `X` once final is subtracted from the rows still to be
/// solved (the column-oriented form). A right-hand side that is a vector (`k = 1`, what
/// the condition estimator solves) has loops of its own.
pub(crate) fn triangular_solve(
    t: &[f64],
    n: usize,
    triangle: Triangle,
    unit: bool,
    transpose: bool,
    b: &mut [f64],
    k: usize,
) {
    // op(T) is lower triangular when T is lower and not transposed, or upper and
    // transposed: then rows are solved first to last.
    let forward = (triangle == Triangle::Lower) != transpose;
    for step in 0..n {
        let i = if forward { step } else { n - 1 - step };
        let row_of_t = &t[i * n..(i + 1) * n];
        let (before, rest) = b.split_at_mut(i * k);
        let (row, after) = rest.split_at_mut(k);
        // The rows of B on op(T)'s side of row i: solved if op(T) is T, still to be
        // solved if it is Tᵀ.
        let (others, first) = if forward != transpose {
            (before, 0)
        } else {
            (after, i + 1)
        };
        let weights = &row_of_t[first..first + others.len() / k.max(1)];
        if !transpose {
            if k == 1 {
                row[0] -= dot(weights, others);
            } else {
                for (&w, other) in weights.iter().zip(others.chunks_exact(k)) {
                    for (x, &y) in row.iter_mut().zip(other) {
                        *x -= w * y;
                    }
                }
            }
        }
        if !unit {
            let d = row_of_t[i];
            row.iter_mut().for_each(|x| *x /= d);
        }
        if transpose {
            if k == 1 {
                let x = row[0];
                for (y, &w) in others.iter_mut().zip(weights) {
                    *y -= w * x;
                }
            } else {
                for (&w, other) in weights.iter().zip(others.chunks_exact_mut(k)) {
                    for (y, &x) in other.iter_mut().zip(row.iter()) {
                        *y -= w * x;
                    }
                }
            }
        }
    }
}

/// `Σ xᵢ yᵢ` over the shorter of the two, in four interleaved partial sums: the loop
/// vectorises (one running sum is a chain of dependent additions that does not), and the
/// order of the additions is fixed, so the result does not depend on the machine.
#[inline]
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let whole = n - n % 4;
    let mut partial = [0.0f64; 4];
    for (a, b) in x[..whole].chunks_exact(4).zip(y[..whole].chunks_exact(4)) {
        for k in 0..4 {
            partial[k] += a[k] * b[k];
        }
    }
    let mut sum = (partial[0] + partial[1]) + (partial[2] + partial[3]);
    for (a, b) in x[whole..].iter().zip(&y[whole..]) {
        sum += a * b;
    }
    sum
}

/// The lower Cholesky factor `L` (`A = L Lᵀ`) of the symmetric matrix whose lower
/// triangle `a` holds (its upper triangle is not read), into `l` (upper triangle set
/// to 0), and `1 / Lᵢᵢ` into `inverse_diagonal`. Fails with the order `k` of the first
/// leading minor that is not positive (1-based, as PyTorch and LAPACK report it): the
/// factorisation of the first `k - 1` rows succeeded, and row `k`'s diagonal came out
/// `<= 0` (or NaN).
///
/// Row by row (Cholesky–Banachiewicz): each element is a dot product of two rows of `L`
/// already computed, contiguous in memory, times a reciprocal of the diagonal (as
/// LAPACK's `dpotf2` scales by one). Each element of a row waits for the one before it,
/// and a product's latency is a fraction of a quotient's: with quotients the chain of
/// divisions was most of the time at small sizes.
pub(crate) fn cholesky(
    a: &[f64],
    n: usize,
    l: &mut [f64],
    inverse_diagonal: &mut [f64],
) -> Result<(), usize> {
    factor_rows::<false>(a, n, l, inverse_diagonal, &mut []).map(drop)
}

/// [`cholesky`], computing on the way what the condition check of `A = L Lᵀ` needs, in
/// the same pass over `A` and `L` rather than two more: returns `‖A‖₁` (of the
/// symmetric matrix that `a`'s lower triangle holds, [`symmetric_norm1`]) and leaves
/// `M(L)⁻¹ 1` in `bounds[..n]` (the first half of [`cholesky_inverse_norm_bound`], whose
/// second half is [`comparison_backward`]). `bounds` holds `2n` values.
pub(crate) fn cholesky_with_bounds(
    a: &[f64],
    n: usize,
    l: &mut [f64],
    inverse_diagonal: &mut [f64],
    bounds: &mut [f64],
) -> Result<f64, usize> {
    factor_rows::<true>(a, n, l, inverse_diagonal, bounds)
}

/// The loop of [`cholesky`] and [`cholesky_with_bounds`] (`BOUNDS`: the latter's extra
/// sums, which lie off the chain of dependent operations that sets the pace).
///
/// Rows go in pairs: each element waits for the one before it in its row, so one row
/// at a time is a single chain of dependent dot products; rows `i` and `i + 1` are two
/// independent chains up to column `i`, which the processor overlaps. Every element is
/// computed by the same operations in the same order as one row at a time would, so the
/// results are the same to the bit. Below [`ROWS_PAIRED_FROM`] the chains are too short
/// for the overlap to pay for the extra bookkeeping, and rows go one at a time.
fn factor_rows<const BOUNDS: bool>(
    a: &[f64],
    n: usize,
    l: &mut [f64],
    inverse_diagonal: &mut [f64],
    bounds: &mut [f64],
) -> Result<f64, usize> {
    let (z, columns) = if BOUNDS {
        bounds[..2 * n].split_at_mut(n)
    } else {
        (&mut [][..], &mut [][..])
    };
    columns.fill(0.0);
    if n < ROWS_PAIRED_FROM {
        for i in 0..n {
            let (done, rest) = l.split_at_mut(i * n);
            let row = &mut rest[..n];
            let a_row = &a[i * n..i * n + i + 1];
            let mut sums = [0.0; 2];
            for j in 0..i {
                let other = &done[j * n..j * n + j];
                let v = (a_row[j] - dot(&row[..j], other)) * inverse_diagonal[j];
                row[j] = v;
                if BOUNDS {
                    track(columns, z, j, a_row[j], v, &mut sums);
                }
            }
            finish_row::<BOUNDS>(row, i, a_row[i], inverse_diagonal, columns, z, sums)?;
        }
        return Ok(largest(columns));
    }
    let mut i = 0;
    while i < n {
        let pair = i + 1 < n;
        let (done, rest) = l.split_at_mut(i * n);
        let (row, rest) = rest.split_at_mut(n);
        let next = if pair { &mut rest[..n] } else { &mut [][..] };
        let a_row = &a[i * n..i * n + i + 1];
        let a_next = if pair {
            &a[(i + 1) * n..(i + 1) * n + i + 2]
        } else {
            &[][..]
        };
        // Per row: the magnitudes of A left of the diagonal, and Σ |Lᵢⱼ| zⱼ.
        let (mut sums, mut next_sums) = ([0.0; 2], [0.0; 2]);
        for j in 0..i {
            let other = &done[j * n..j * n + j];
            let reciprocal = inverse_diagonal[j];
            let v = (a_row[j] - dot(&row[..j], other)) * reciprocal;
            row[j] = v;
            if BOUNDS {
                track(columns, z, j, a_row[j], v, &mut sums);
            }
            if pair {
                let w = (a_next[j] - dot(&next[..j], other)) * reciprocal;
                next[j] = w;
                if BOUNDS {
                    track(columns, z, j, a_next[j], w, &mut next_sums);
                }
            }
        }
        finish_row::<BOUNDS>(row, i, a_row[i], inverse_diagonal, columns, z, sums)?;
        if pair {
            let v = (a_next[i] - dot(&next[..i], &row[..i])) * inverse_diagonal[i];
            next[i] = v;
            if BOUNDS {
                track(columns, z, i, a_next[i], v, &mut next_sums);
            }
            let a_diagonal = a_next[i + 1];
            finish_row::<BOUNDS>(
                next,
                i + 1,
                a_diagonal,
                inverse_diagonal,
                columns,
                z,
                next_sums,
            )?;
        }
        i += if pair { 2 } else { 1 };
    }
    Ok(largest(columns))
}

/// The largest of `values` (0 if there are none); NaN wins, as everywhere.
fn largest(values: &[f64]) -> f64 {
    values
        .iter()
        .fold(0.0f64, |m, &c| if c > m || c.is_nan() { c } else { m })
}

/// The size from which [`factor_rows`] takes rows in pairs (Cholesky + solve, f64, one
/// row against two at a time: 1.13x at n = 3, 1.10x at 6, 1.05x at 8, 0.87x at 12,
/// 0.78x at 16, 0.73x at 24, 0.82x at 64).
const ROWS_PAIRED_FROM: usize = 10;

/// The bounds' sums for element `(i, j)` of `L`, `v`, computed from `a = Aᵢⱼ` (`j < i`):
/// `|Aᵢⱼ|` into column `j`'s sum and row `i`'s, `|Lᵢⱼ| zⱼ` into row `i`'s.
#[inline(always)]
fn track(columns: &mut [f64], z: &[f64], j: usize, a: f64, v: f64, sums: &mut [f64; 2]) {
    let magnitude = num_traits::Float::abs(a);
    columns[j] += magnitude;
    sums[0] += magnitude;
    sums[1] += num_traits::Float::abs(v) * z[j];
}

/// Completes row `i` of `L`, whose elements left of the diagonal are in place: its
/// diagonal from `a_ii`, its reciprocal, zeros above, and the bounds' sums of the row.
#[inline(always)]
fn finish_row<const BOUNDS: bool>(
    row: &mut [f64],
    i: usize,
    a_ii: f64,
    inverse_diagonal: &mut [f64],
    columns: &mut [f64],
    z: &mut [f64],
    sums: [f64; 2],
) -> Result<(), usize> {
    let d = a_ii - dot(&row[..i], &row[..i]);
    // NaN fails too.
    if d.is_nan() || d <= 0.0 {
        return Err(i + 1);
    }
    let root = num_traits::Float::sqrt(d);
    row[i] = root;
    let reciprocal = 1.0 / root;
    inverse_diagonal[i] = reciprocal;
    row[i + 1..].fill(0.0);
    if BOUNDS {
        columns[i] += sums[0] + num_traits::Float::abs(a_ii);
        z[i] = (1.0 + sums[1]) * reciprocal;
    }
    Ok(())
}

/// `1 / Tᵢᵢ` for the diagonal of the `n x n` matrix `t`, into `out`: independent
/// divisions, which pipeline, for the solves that then multiply.
pub(crate) fn reciprocal_diagonal(t: &[f64], n: usize, out: &mut [f64]) {
    for (i, o) in out[..n].iter_mut().enumerate() {
        *o = 1.0 / t[i * n + i];
    }
}

/// `X = (L Lᵀ)⁻¹ B` in place (`B` is `n x k`, row-major) for the lower triangle of `l`,
/// given `1 / Lᵢᵢ` in `inverse_diagonal`: `L Y = B` forward along `L`'s rows, then
/// `Lᵀ X = Y` backward, column-oriented (`Lᵀ`'s columns are `L`'s rows), so that `L` is
/// read contiguously in both, and every division is a product by a reciprocal.
pub(crate) fn cholesky_solve(
    l: &[f64],
    inverse_diagonal: &[f64],
    n: usize,
    b: &mut [f64],
    k: usize,
) {
    if k == 0 {
        return;
    }
    if k == 1 {
        for i in 0..n {
            b[i] = (b[i] - dot(&l[i * n..i * n + i], &b[..i])) * inverse_diagonal[i];
        }
        for i in (0..n).rev() {
            let (before, rest) = b.split_at_mut(i);
            let x = rest[0] * inverse_diagonal[i];
            rest[0] = x;
            for (y, &w) in before.iter_mut().zip(&l[i * n..i * n + i]) {
                *y -= w * x;
            }
        }
        return;
    }
    for i in 0..n {
        let (before, rest) = b.split_at_mut(i * k);
        let row = &mut rest[..k];
        for (&w, other) in l[i * n..i * n + i].iter().zip(before.chunks_exact(k)) {
            for (x, &y) in row.iter_mut().zip(other) {
                *x -= w * y;
            }
        }
        let r = inverse_diagonal[i];
        row.iter_mut().for_each(|x| *x *= r);
    }
    for i in (0..n).rev() {
        let (before, rest) = b.split_at_mut(i * k);
        let row = &mut rest[..k];
        let r = inverse_diagonal[i];
        row.iter_mut().for_each(|x| *x *= r);
        for (&w, other) in l[i * n..i * n + i].iter().zip(before.chunks_exact_mut(k)) {
            for (y, &x) in other.iter_mut().zip(row.iter()) {
                *y -= w * x;
            }
        }
    }
}

/// An upper bound on `‖(L Lᵀ)⁻¹‖₁` for a lower triangular `L` with a nonzero diagonal, in
/// `O(n²)`: `|L⁻¹| <= M(L)⁻¹` elementwise for the comparison matrix `M(L)` (`|Lᵢᵢ|` on the
/// diagonal, `-|Lᵢⱼ|` elsewhere; Higham, "Accuracy and Stability of Numerical
/// Algorithms", §8.3), so `‖A⁻¹‖₁ <= ‖M(L)⁻ᵀ M(L)⁻¹ 1‖_∞`, two substitutions in which
/// every term is non-negative (no cancellation, so the computed bound is accurate). It
/// can exceed the norm by a factor exponential in `n` for factors with entries of mixed
/// signs; the callers fall back to the estimate then. `inverse_diagonal` holds
/// `1 / Lᵢᵢ`; `scratch` holds `2n` values.
pub(crate) fn cholesky_inverse_norm_bound(
    l: &[f64],
    inverse_diagonal: &[f64],
    n: usize,
    scratch: &mut [f64],
) -> f64 {
    let (z, w) = scratch[..2 * n].split_at_mut(n);
    // z = M(L)⁻¹ 1, forward.
    for i in 0..n {
        let s: f64 = l[i * n..i * n + i]
            .iter()
            .zip(z.iter())
            .map(|(a, b)| num_traits::Float::abs(*a) * b)
            .sum();
        z[i] = (1.0 + s) * num_traits::Float::abs(inverse_diagonal[i]);
    }
    comparison_backward(l, inverse_diagonal, n, z, w)
}

/// The second half of [`cholesky_inverse_norm_bound`]: `‖M(L)⁻ᵀ z‖_∞` for `z =
/// M(L)⁻¹ 1`, backward and column-oriented (`Lᵀ`'s columns are `L`'s rows); `w` holds
/// `n` values.
pub(crate) fn comparison_backward(
    l: &[f64],
    inverse_diagonal: &[f64],
    n: usize,
    z: &[f64],
    w: &mut [f64],
) -> f64 {
    let w = &mut w[..n];
    w.copy_from_slice(&z[..n]);
    let mut largest: f64 = 0.0;
    for i in (0..n).rev() {
        let wi = w[i] * num_traits::Float::abs(inverse_diagonal[i]);
        w[i] = wi;
        largest = largest.max(wi);
        for (wp, &lip) in w[..i].iter_mut().zip(&l[i * n..i * n + i]) {
            *wp += num_traits::Float::abs(lip) * wi;
        }
    }
    largest
}

/// `‖L‖₁ ‖L‖_∞ >= ‖L Lᵀ‖₁` for the lower triangle of `l`: a bound on `‖A‖₁` in `O(n²)`
/// where only the factor is known. `scratch` holds `n` values.
pub(crate) fn factor_norm_bound(l: &[f64], n: usize, scratch: &mut [f64]) -> f64 {
    let columns = &mut scratch[..n];
    columns.fill(0.0);
    let mut largest_row: f64 = 0.0;
    for i in 0..n {
        let mut row = 0.0;
        for (c, &x) in columns.iter_mut().zip(&l[i * n..i * n + i + 1]) {
            let x = num_traits::Float::abs(x);
            row += x;
            *c += x;
        }
        largest_row = largest_row.max(row);
    }
    let largest_column = columns.iter().fold(0.0f64, |m, &c| m.max(c));
    largest_column * largest_row
}

/// `‖A‖₁` of the symmetric matrix whose lower triangle `a` holds (the upper triangle is
/// not read), in one pass over the triangle. `scratch` holds `n` values.
pub(crate) fn symmetric_norm1(a: &[f64], n: usize, scratch: &mut [f64]) -> f64 {
    let columns = &mut scratch[..n];
    columns.fill(0.0);
    for i in 0..n {
        let row = &a[i * n..i * n + i];
        let mut below = 0.0;
        for (c, &x) in columns.iter_mut().zip(row) {
            let x = num_traits::Float::abs(x);
            *c += x;
            below += x;
        }
        columns[i] += below + num_traits::Float::abs(a[i * n + i]);
    }
    // NaN wins, as everywhere.
    columns
        .iter()
        .fold(0.0f64, |m, &c| if c > m || c.is_nan() { c } else { m })
}

/// The 1-norm (largest column sum of magnitudes) of the `n x n` matrix that `a` holds
/// in the `part` an operation reads (all of it, or a triangle; a symmetric matrix's is
/// [`symmetric_norm1`]).
pub(crate) fn norm1(a: &[f64], n: usize, part: Part) -> f64 {
    let mut largest: f64 = 0.0;
    for j in 0..n {
        let mut sum = 0.0;
        for i in 0..n {
            let v = match part {
                Part::Full => a[i * n + j],
                Part::Triangle(triangle, unit) => {
                    let inside = match triangle {
                        Triangle::Lower => i >= j,
                        Triangle::Upper => i <= j,
                    };
                    if i == j && unit {
                        1.0
                    } else if inside {
                        a[i * n + j]
                    } else {
                        0.0
                    }
                }
            };
            sum += v.abs();
        }
        // NaN wins, as everywhere.
        if sum > largest || sum.is_nan() {
            largest = sum;
        }
    }
    largest
}

/// Which elements of a matrix an operation reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part {
    /// All of them.
    Full,
    /// One triangle; the diagonal taken as 1 if the flag is set.
    Triangle(Triangle, bool),
}

/// An estimate of `‖B‖₁` for an `n x n` matrix `B` known only through products:
/// `apply(x, false)` replaces `x` by `B x`, `apply(x, true)` by `Bᵀ x`.
///
/// Hager's method with Higham's refinements, as LAPACK's `dlacn2` (used by `dgecon`):
/// at most five steps of a gradient ascent of `‖B x‖₁` over `‖x‖₁ = 1`, then an
/// alternating-sign vector that catches the matrices where the ascent stops early. The
/// estimate is `‖B x‖₁` for some `x` of norm 1, so it never exceeds `‖B‖₁`, and is rarely
/// below a third of it. `scratch` holds `3n` values.
pub(crate) fn norm1_estimate(
    n: usize,
    scratch: &mut [f64],
    mut apply: impl FnMut(&mut [f64], bool),
) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (x, rest) = scratch.split_at_mut(n);
    let (y, rest) = rest.split_at_mut(n);
    let z = &mut rest[..n];
    x.fill(1.0 / n as f64);
    let mut estimate: f64 = 0.0;
    let mut last = usize::MAX;
    for step in 0..5 {
        y.copy_from_slice(x);
        apply(y, false);
        let norm: f64 = y.iter().map(|v| v.abs()).sum();
        if !norm.is_finite() {
            return norm;
        }
        if step > 0 && norm <= estimate {
            break;
        }
        estimate = norm;
        for (zi, &yi) in z.iter_mut().zip(y.iter()) {
            *zi = if yi < 0.0 { -1.0 } else { 1.0 };
        }
        apply(z, true);
        let (mut j, mut largest) = (0, -1.0);
        for (i, v) in z.iter().enumerate() {
            if v.abs() > largest {
                (j, largest) = (i, v.abs());
            }
        }
        let along_x: f64 = z.iter().zip(x.iter()).map(|(a, b)| a * b).sum();
        if step > 0 && (largest <= along_x || j == last) {
            break;
        }
        last = j;
        x.fill(0.0);
        x[j] = 1.0;
    }
    if n > 1 {
        for (i, xi) in x.iter_mut().enumerate() {
            let magnitude = 1.0 + i as f64 / (n - 1) as f64;
            *xi = if i % 2 == 0 { magnitude } else { -magnitude };
        }
        apply(x, false);
        let alternating = 2.0 * x.iter().map(|v| v.abs()).sum::<f64>() / (3 * n) as f64;
        estimate = estimate.max(alternating);
    }
    estimate
}

/// The reciprocal condition number `1 / (‖A‖₁ ‖A⁻¹‖₁)` from `‖A‖₁` and an estimate of
/// `‖A⁻¹‖₁`: 0 for a singular or zero matrix, 1 for an empty one. Scale-free, so a
/// matrix of huge or tiny entries is judged by its shape alone; computed as a product of
/// reciprocals so that neither norm's size overflows it.
pub(crate) fn reciprocal_condition(norm: f64, inverse_norm: f64, n: usize) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let usable = norm > 0.0 && inverse_norm > 0.0 && inverse_norm.is_finite();
    if !usable {
        return 0.0;
    }
    (1.0 / norm) * (1.0 / inverse_norm)
}

/// The reciprocal condition estimate of `A` from its LU factors and `‖A‖₁`; `scratch`
/// holds `4n` values.
pub(crate) fn lu_reciprocal_condition(f: LuRef<'_>, norm: f64, scratch: &mut [f64]) -> f64 {
    if f.zero_pivot().is_some() {
        return 0.0;
    }
    let n = f.n;
    let (estimator, solve_scratch) = scratch.split_at_mut(3 * n);
    let inverse = norm1_estimate(n, estimator, |x, transpose| {
        f.solve(x, 1, transpose, solve_scratch)
    });
    reciprocal_condition(norm, inverse, n)
}

/// The reciprocal condition estimate of a triangular `T` (read as
/// [`triangular_solve`] reads it); `scratch` holds `3n` values.
pub(crate) fn triangular_reciprocal_condition(
    t: &[f64],
    n: usize,
    triangle: Triangle,
    unit: bool,
    scratch: &mut [f64],
) -> f64 {
    if !unit && (0..n).any(|i| t[i * n + i] == 0.0) {
        return 0.0;
    }
    let norm = norm1(t, n, Part::Triangle(triangle, unit));
    let inverse = norm1_estimate(n, scratch, |x, transpose| {
        triangular_solve(t, n, triangle, unit, transpose, x, 1)
    });
    reciprocal_condition(norm, inverse, n)
}

/// The reciprocal condition estimate of `A = L Lᵀ` from its Cholesky factor; `norm` is
/// `‖A‖₁` if known, else it is estimated from `L` by the same method. `scratch` holds
/// `3n` values.
pub(crate) fn cholesky_reciprocal_condition(
    l: &[f64],
    n: usize,
    norm: Option<f64>,
    scratch: &mut [f64],
) -> f64 {
    if (0..n).any(|i| l[i * n + i] == 0.0) {
        return 0.0;
    }
    let norm = norm.unwrap_or_else(|| {
        // A x = L (Lᵀ x); A is symmetric, so Aᵀ x is the same product.
        norm1_estimate(n, scratch, |x, _| {
            lower_times(l, n, true, x);
            lower_times(l, n, false, x);
        })
    });
    // A⁻¹ x = L⁻ᵀ (L⁻¹ x), symmetric too.
    let inverse = norm1_estimate(n, scratch, |x, _| {
        triangular_solve(l, n, Triangle::Lower, false, false, x, 1);
        triangular_solve(l, n, Triangle::Lower, false, true, x, 1);
    });
    reciprocal_condition(norm, inverse, n)
}

/// `x ← L x` or (`transpose`) `x ← Lᵀ x` for the lower triangle of `l`, in place.
fn lower_times(l: &[f64], n: usize, transpose: bool, x: &mut [f64]) {
    if transpose {
        // (Lᵀ x)_i = Σ_{p >= i} L_pi x_p: rows in increasing order read only later ones.
        for i in 0..n {
            x[i] = (i..n).map(|p| l[p * n + i] * x[p]).sum();
        }
    } else {
        // (L x)_i = Σ_{p <= i} L_ip x_p: rows in decreasing order read only earlier ones.
        for i in (0..n).rev() {
            x[i] = (0..=i).map(|p| l[i * n + p] * x[p]).sum();
        }
    }
}

/// The adjugate of `U` (upper triangular, `n x n`, read from the factors' `U`) into
/// `out`, without a division: `adj(U) = det(U) U⁻¹` built one leading block at a time,
/// `adj(U_k) = [[u_kk adj(U_{k-1}), -adj(U_{k-1}) v_k], [0, det(U_{k-1})]]` where `v_k`
/// is the part of column `k` above the diagonal. Exact (a polynomial in the entries) for
/// any `U`, singular included.
fn upper_adjugate(f: LuRef<'_>, out: &mut [f64]) {
    let n = f.n;
    out[..n * n].fill(0.0);
    let mut det_before = 1.0;
    for k in 0..n {
        let u_kk = f.pivot(k);
        // Column k above the diagonal: -adj(U_{k-1}) v_k, from the block before it was
        // scaled (adj(U_{k-1}) is upper triangular: row i reads columns i..k).
        for i in 0..k {
            let mut s = 0.0;
            for p in i..k {
                s += out[i * n + p] * f.lu[p * n + k];
            }
            out[i * n + k] = -s;
        }
        for i in 0..k {
            for p in i..k {
                out[i * n + p] *= u_kk;
            }
        }
        out[k * n + k] = det_before;
        det_before *= u_kk;
    }
}

/// The cofactor matrix `C` of `A` (`C_ij = ∂ det A / ∂A_ij`, the transpose of the
/// adjugate) from its LU factors, into `out` (`n²` values); `scratch` holds `n²`.
///
/// `adj(A) = det P det Q · Q adj(U) L⁻¹ P` (from `A = Pᵀ L U Qᵀ`, `adj(XY) = adj(Y)
/// adj(X)`, `adj(L) = L⁻¹` for a unit `L`), with `adj(U)` built without division: exact
/// for a singular `A` too, which is how `det`'s gradient is right at a matrix of rank
/// `n - 1` (JAX's cofactor rule; PyTorch perturbs the zero pivot instead).
pub(crate) fn cofactor(f: LuRef<'_>, out: &mut [f64], scratch: &mut [f64]) {
    let n = f.n;
    let adj_u = &mut scratch[..n * n];
    upper_adjugate(f, adj_u);
    // M = adj(U) L⁻¹: solve M L = adj(U), i.e. Lᵀ Mᵀ = adj(U)ᵀ, row by row of M from the
    // last column to the first: M[:, j] = adj(U)[:, j] - Σ_{p > j} M[:, p] L[p, j].
    for j in (0..n).rev() {
        for i in 0..n {
            let mut s = adj_u[i * n + j];
            for p in j + 1..n {
                s -= adj_u[i * n + p] * f.lu[p * n + j];
            }
            adj_u[i * n + j] = s;
        }
    }
    // adj(A) = sign · Q M P: adj(A)[cols[i], rows[j]] = sign · M[i, j]; C = adj(A)ᵀ.
    for i in 0..n {
        for j in 0..n {
            out[f.row(j) * n + f.col(i)] = f.sign * adj_u[i * n + j];
        }
    }
}

/// The derivative of the cofactor matrix along `D`: `dC = d cof(A)[D]`, into `out`, from
/// the factors of complete pivoting (`P A Q = L U`). `scratch` holds `4n² + 2n` values.
///
/// This is `det`'s second derivative: `dC_ij = Σ_kl ∂²det/∂A_ij∂A_kl D_kl`, a symmetric
/// form, so the same function is the cofactor's JVP and its VJP.
///
/// Exact where `A` has rank `n - 1` or more. In the factors' frame, `A + tD` is
/// `Pᵀ L (U + tE) Qᵀ` with `E = L⁻¹ P D Q`, and `adj(U + tE)` is differentiated by
/// blocks, `U = [[U₁, v], [0, ε]]` with `U₁` the leading `n - 1` pivots (nonsingular when
/// the rank is `n - 1`, complete pivoting putting the smallest pivot `ε` last) and
/// `K = U₁⁻¹`, `δ = det U₁`, `E = [[E₁₁, e₁₂], [e₂₁ᵀ, e₂₂]]`:
///
/// ```text
/// d adj(U) = δ [[ s' K + ε (tr(K E₁₁) K - K E₁₁ K) + K v e₂₁ᵀ K ,  -(tr(K E₁₁) K v - K E₁₁ K v) - K e₁₂ ],
///               [ -e₂₁ᵀ K                                        ,  tr(K E₁₁)                           ]]
/// s' = e₂₂ - e₂₁ᵀ K v
/// ```
///
/// (from `adj [[X, y], [zᵀ, w]] = [[s adj X + det X · X⁻¹ y zᵀ X⁻¹, -adj(X) y],
/// [-zᵀ adj X, det X]]`, `s = w - zᵀ X⁻¹ y`, at `z = 0`). No division by `ε`, so the
/// result is finite and exact at a singular `A`; where the rank is below `n - 1`, `U₁`
/// is singular and the result is not finite.
pub(crate) fn cofactor_derivative(f: LuRef<'_>, d: &[f64], out: &mut [f64], scratch: &mut [f64]) {
    let n = f.n;
    if n == 0 {
        return;
    }
    if n == 1 {
        // det is linear: its cofactor (1) is constant.
        out[0] = 0.0;
        return;
    }
    let m = n - 1;
    let (e, rest) = scratch.split_at_mut(n * n);
    let (k_inv, rest) = rest.split_at_mut(n * n);
    let (adj_d, rest) = rest.split_at_mut(n * n);
    let (tmp, rest) = rest.split_at_mut(n * n);
    let (kv, rest) = rest.split_at_mut(n);
    let e21_k = &mut rest[..n];
    // E = L⁻¹ (P D Q): (P D Q)[i, j] = D[rows[i], cols[j]].
    for i in 0..n {
        for j in 0..n {
            e[i * n + j] = d[f.row(i) * n + f.col(j)];
        }
    }
    triangular_solve(f.lu, n, Triangle::Lower, true, false, e, n);
    // K = U₁⁻¹ (m x m, stored with row length n), by solving U₁ K = I.
    k_inv.fill(0.0);
    for i in 0..m {
        k_inv[i * n + i] = 1.0;
    }
    for j in 0..m {
        // Column j of K: back substitution on U₁.
        for i in (0..m).rev() {
            let mut s = k_inv[i * n + j];
            for p in i + 1..m {
                s -= f.lu[i * n + p] * k_inv[p * n + j];
            }
            k_inv[i * n + j] = s / f.lu[i * n + i];
        }
    }
    let delta: f64 = (0..m).map(|i| f.pivot(i)).product();
    let epsilon = f.pivot(m);
    // kv = K v, v = U[0..m, m].
    for i in 0..m {
        kv[i] = (0..m).map(|p| k_inv[i * n + p] * f.lu[p * n + m]).sum();
    }
    // tmp = K E₁₁ (for its trace), then adj_d = K E₁₁ K.
    for i in 0..m {
        for j in 0..m {
            tmp[i * n + j] = (0..m).map(|p| k_inv[i * n + p] * e[p * n + j]).sum();
        }
    }
    let trace_ke: f64 = (0..m).map(|i| tmp[i * n + i]).sum();
    for i in 0..m {
        for j in 0..m {
            adj_d[i * n + j] = (0..m).map(|p| tmp[i * n + p] * k_inv[p * n + j]).sum();
        }
    }
    // e₂₁ᵀ K (row vector) into e21_k.
    for j in 0..m {
        e21_k[j] = (0..m).map(|p| e[m * n + p] * k_inv[p * n + j]).sum();
    }
    let e21_kv: f64 = (0..m).map(|p| e[m * n + p] * kv[p]).sum();
    let s_prime = e[m * n + m] - e21_kv;
    // Top-right: -(tr(K E₁₁) K v - K E₁₁ K v) - K e₁₂, using adj_d's block (K E₁₁ K).
    for i in 0..m {
        let ke11kv: f64 = (0..m).map(|p| adj_d[i * n + p] * f.lu[p * n + m]).sum();
        let ke12: f64 = (0..m).map(|p| k_inv[i * n + p] * e[p * n + m]).sum();
        tmp[i * n + m] = -(trace_ke * kv[i] - ke11kv) - ke12;
    }
    // Top-left: s' K + ε (tr(K E₁₁) K - K E₁₁ K) + (K v)(e₂₁ᵀ K).
    for i in 0..m {
        for j in 0..m {
            let k = k_inv[i * n + j];
            tmp[i * n + j] =
                s_prime * k + epsilon * (trace_ke * k - adj_d[i * n + j]) + kv[i] * e21_k[j];
        }
    }
    for j in 0..m {
        tmp[m * n + j] = -e21_k[j];
    }
    tmp[m * n + m] = trace_ke;
    tmp.iter_mut().for_each(|x| *x *= delta);
    // d adj(A) = sign · Q (d adj(U)) L⁻¹ P, as for the cofactor itself: first
    // (d adj U) L⁻¹ by columns from the last, then permute and transpose.
    for j in (0..n).rev() {
        for i in 0..n {
            let mut s = tmp[i * n + j];
            for p in j + 1..n {
                s -= tmp[i * n + p] * f.lu[p * n + j];
            }
            tmp[i * n + j] = s;
        }
    }
    for i in 0..n {
        for j in 0..n {
            out[f.row(j) * n + f.col(i)] = f.sign * tmp[i * n + j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use nalgebra::DMatrix;

    fn factors(a: &[f64], n: usize, complete: bool) -> Vec<f64> {
        let mut f = vec![0.0; lu_len(n)];
        f[..n * n].copy_from_slice(a);
        lu_in_place(&mut f, n, complete);
        f
    }

    fn matrix(n: usize, seed: u64) -> Vec<f64> {
        // A small deterministic generator: entries in (-1, 1).
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n * n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    fn to_nalgebra(a: &[f64], n: usize) -> DMatrix<f64> {
        DMatrix::from_row_slice(n, n, a)
    }

    #[test]
    fn lu_solves_both_ways_and_gives_the_determinant() {
        for n in [1, 2, 3, 5, 8, 16] {
            let a = matrix(n, n as u64);
            let reference = to_nalgebra(&a, n);
            for complete in [false, true] {
                let f = factors(&a, n, complete);
                let lu = LuRef::of(&f, n, 0);
                let det = reference.determinant();
                assert!(
                    (lu.det() - det).abs() <= 1e-12 * det.abs().max(1.0),
                    "n {n}"
                );
                let (sign, log) = lu.slogdet();
                assert!((sign * log.exp() - det).abs() <= 1e-12 * det.abs().max(1.0));
                for transpose in [false, true] {
                    let b: Vec<f64> = (0..n * 2).map(|i| i as f64 - 1.5).collect();
                    let mut x = b.clone();
                    let mut scratch = vec![0.0; n * 2];
                    lu.solve(&mut x, 2, transpose, &mut scratch);
                    let op = if transpose {
                        reference.transpose()
                    } else {
                        reference.clone()
                    };
                    let back = &op * DMatrix::from_row_slice(n, 2, &x);
                    for (i, &bi) in b.iter().enumerate() {
                        assert!((back[(i / 2, i % 2)] - bi).abs() < 1e-9, "n {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn triangular_solves_read_only_their_triangle() {
        let n = 4;
        let mut t = matrix(n, 9);
        for i in 0..n {
            t[i * n + i] += 3.0;
        }
        for (triangle, lower) in [(Triangle::Lower, true), (Triangle::Upper, false)] {
            for unit in [false, true] {
                for transpose in [false, true] {
                    let mut dense = DMatrix::zeros(n, n);
                    for i in 0..n {
                        for j in 0..n {
                            let inside = if lower { i >= j } else { i <= j };
                            dense[(i, j)] = if i == j && unit {
                                1.0
                            } else if inside {
                                t[i * n + j]
                            } else {
                                0.0
                            };
                        }
                    }
                    let op = if transpose { dense.transpose() } else { dense };
                    let b: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
                    let mut x = b.clone();
                    triangular_solve(&t, n, triangle, unit, transpose, &mut x, 1);
                    let back = &op * DMatrix::from_column_slice(n, 1, &x);
                    for i in 0..n {
                        assert!((back[i] - b[i]).abs() < 1e-12);
                    }
                }
            }
        }
    }

    #[test]
    fn cholesky_matches_nalgebra_and_names_the_minor() {
        // 13: rows in pairs (ROWS_PAIRED_FROM), and one left over.
        for n in [6, 13] {
            check_cholesky_against_nalgebra(n);
        }
        let (mut l, mut inverse) = (vec![0.0; 4], vec![0.0; 2]);
        // [[1, 2], [2, 1]]: the minor of order 2 is -3.
        assert_eq!(
            cholesky(&[1.0, 2.0, 2.0, 1.0], 2, &mut l, &mut inverse),
            Err(2)
        );
        assert_eq!(cholesky(&[-1.0], 1, &mut l, &mut inverse), Err(1));
        assert_eq!(cholesky(&[f64::NAN], 1, &mut l, &mut inverse), Err(1));
    }

    /// `cholesky` and `cholesky_solve` of an `n x n` matrix against nalgebra's.
    fn check_cholesky_against_nalgebra(n: usize) {
        let b = to_nalgebra(&matrix(n, 3), n);
        let a = &b * b.transpose() + DMatrix::identity(n, n) * 0.5;
        let rows: Vec<f64> = a.transpose().iter().copied().collect();
        let (mut l, mut inverse) = (vec![f64::NAN; n * n], vec![0.0; n]);
        cholesky(&rows, n, &mut l, &mut inverse).unwrap();
        let reference = a.clone().cholesky().unwrap().l();
        for i in 0..n {
            for j in 0..n {
                assert!((l[i * n + j] - reference[(i, j)]).abs() < 1e-12);
            }
        }
        for i in 0..n {
            assert_eq!(inverse[i], 1.0 / l[i * n + i]);
        }
        // The solve against nalgebra's, for a vector and for 3 columns.
        for k in [1, 3] {
            let rhs = matrix(n, 4)[..n * k].to_vec();
            let mut x = rhs.clone();
            cholesky_solve(&l, &inverse, n, &mut x, k);
            let expected = a
                .clone()
                .cholesky()
                .unwrap()
                .solve(&DMatrix::from_row_slice(n, k, &rhs));
            for i in 0..n {
                for j in 0..k {
                    assert!((x[i * k + j] - expected[(i, j)]).abs() < 1e-12);
                }
            }
        }
        // A failing minor is named with rows in pairs too, whichever of the two fails.
        for order in [n - 1, n] {
            let mut bad = rows.clone();
            bad[(order - 1) * n + order - 1] = -1.0;
            assert_eq!(cholesky(&bad, n, &mut l, &mut inverse), Err(order));
        }
    }

    #[test]
    fn norm_estimates_are_close_to_the_exact_norm() {
        for n in [2, 3, 6, 12] {
            for seed in 0..5 {
                let a = matrix(n, 100 + seed);
                let f = factors(&a, n, false);
                let lu = LuRef::of(&f, n, 0);
                let inverse = to_nalgebra(&a, n).try_inverse().unwrap();
                let exact = (0..n)
                    .map(|j| (0..n).map(|i| inverse[(i, j)].abs()).sum::<f64>())
                    .fold(0.0, f64::max);
                let mut scratch = vec![0.0; 4 * n];
                let (estimator, solve_scratch) = scratch.split_at_mut(3 * n);
                let estimate =
                    norm1_estimate(n, estimator, |x, t| lu.solve(x, 1, t, solve_scratch));
                assert!(estimate <= exact * (1.0 + 1e-12), "never above the norm");
                assert!(
                    estimate >= exact / 3.0,
                    "n {n} seed {seed}: {estimate} for {exact}"
                );
            }
        }
    }

    #[test]
    fn cofactor_is_the_transposed_adjugate_at_any_rank() {
        // Nonsingular: C = det(A) A⁻ᵀ.
        for n in [1, 2, 3, 6] {
            let a = matrix(n, 40 + n as u64);
            let f = factors(&a, n, true);
            let mut c = vec![0.0; n * n];
            let mut scratch = vec![0.0; n * n];
            cofactor(LuRef::of(&f, n, 0), &mut c, &mut scratch);
            let m = to_nalgebra(&a, n);
            let expected = m.clone().try_inverse().unwrap().transpose() * m.determinant();
            for i in 0..n {
                for j in 0..n {
                    assert!((c[i * n + j] - expected[(i, j)]).abs() < 1e-12);
                }
            }
        }
        // Rank 2 of 3: the cofactors of [[1, 2, 3], [4, 5, 6], [7, 8, 9]].
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let expected = [-3.0, 6.0, -3.0, 6.0, -12.0, 6.0, -3.0, 6.0, -3.0];
        for complete in [false, true] {
            let f = factors(&a, 3, complete);
            let mut c = vec![0.0; 9];
            let mut scratch = vec![0.0; 9];
            cofactor(LuRef::of(&f, 3, 0), &mut c, &mut scratch);
            for (got, want) in c.iter().zip(expected) {
                assert!((got - want).abs() < 1e-12, "{c:?}");
            }
        }
        // A zero first column, whose pivot is exactly 0 and comes first.
        let a = [0.0, 1.0, 0.0, 1.0];
        let f = factors(&a, 2, false);
        let mut c = vec![0.0; 4];
        cofactor(LuRef::of(&f, 2, 0), &mut c, &mut [0.0; 4]);
        assert_eq!(c, vec![1.0, 0.0, -1.0, 0.0]);
    }

    /// The cofactor matrix by its definition: signed minors, each by nalgebra.
    fn cofactor_by_minors(a: &[f64], n: usize) -> Vec<f64> {
        let m = to_nalgebra(a, n);
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let minor = m.clone().remove_row(i).remove_column(j);
                let sign = if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
                c[i * n + j] = sign * minor.determinant();
            }
        }
        c
    }

    #[test]
    fn cofactor_derivative_matches_differences_of_the_cofactor() {
        // The cofactors of an n x n matrix are polynomials of degree n - 1 in each
        // direction; central differences are exact for n <= 3 and close for 4.
        let cases: Vec<(usize, Vec<f64>)> = vec![
            (2, matrix(2, 7)),
            (3, matrix(3, 8)),
            (4, matrix(4, 9)),
            (3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]),
            // rank 3 of 4
            (
                4,
                vec![
                    1.0, 2.0, 0.5, 3.5, -1.0, 0.0, 2.0, -1.0, 2.0, 1.0, 1.0, 4.0, 0.0, 3.0, -2.0,
                    3.0,
                ],
            ),
        ];
        for (n, a) in cases {
            let direction = matrix(n, 77);
            let f = factors(&a, n, true);
            let mut dc = vec![0.0; n * n];
            let mut scratch = vec![0.0; 4 * n * n + 2 * n];
            cofactor_derivative(LuRef::of(&f, n, 0), &direction, &mut dc, &mut scratch);
            let h = 1e-4;
            let shifted = |s: f64| {
                let m: Vec<f64> = a.iter().zip(&direction).map(|(x, d)| x + s * d).collect();
                cofactor_by_minors(&m, n)
            };
            let (plus, minus) = (shifted(h), shifted(-h));
            for i in 0..n * n {
                let numeric = (plus[i] - minus[i]) / (2.0 * h);
                assert!(
                    (dc[i] - numeric).abs() < 1e-6,
                    "n {n}, element {i}: {} against {numeric}",
                    dc[i]
                );
            }
        }
    }

    #[test]
    fn condition_estimates() {
        // The identity is perfectly conditioned; scaling changes nothing.
        for scale in [1e-150, 1.0, 1e150] {
            let a = [scale, 0.0, 0.0, scale];
            let f = factors(&a, 2, false);
            let mut scratch = vec![0.0; 8];
            let rcond = lu_reciprocal_condition(
                LuRef::of(&f, 2, 0),
                norm1(&a, 2, Part::Full),
                &mut scratch,
            );
            assert!((rcond - 1.0).abs() < 1e-12, "{scale}: {rcond}");
        }
        let singular = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let f = factors(&singular, 3, false);
        let mut scratch = vec![0.0; 12];
        let rcond = lu_reciprocal_condition(
            LuRef::of(&f, 3, 0),
            norm1(&singular, 3, Part::Full),
            &mut scratch,
        );
        assert!(rcond < 1e-16, "{rcond}");
        let l = [2.0, 0.0, 1.0, 3.0];
        let mut scratch = vec![0.0; 6];
        let a_norm = norm1(&[4.0, 2.0, 2.0, 10.0], 2, Part::Full);
        let known = cholesky_reciprocal_condition(&l, 2, Some(a_norm), &mut scratch);
        let estimated = cholesky_reciprocal_condition(&l, 2, None, &mut scratch);
        // A = [[4, 2], [2, 10]], A⁻¹ = [[10, -2], [-2, 4]] / 36: ‖A‖₁ ‖A⁻¹‖₁ = 12 · 12/36.
        assert!((known - 0.25).abs() < 1e-12, "{known}");
        assert!((estimated - 0.25).abs() < 1e-12, "{estimated}");
    }

    /// `B Bᵀ + δ I` for `B` of `n` rows and `rank` columns of entries in (-1, 1): of
    /// rank `rank` but for `δ`, so conditioned as `δ` says when `rank < n`.
    fn spd(n: usize, rank: usize, delta: f64, seed: u64) -> Vec<f64> {
        let b = matrix(n.max(rank), seed);
        let b = |i: usize, p: usize| b[i * n.max(rank) + p];
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..rank).map(|p| b(i, p) * b(j, p)).sum::<f64>()
                    + if i == j { delta } else { 0.0 };
            }
        }
        a
    }

    #[test]
    fn norm_bounds_are_above_the_exact_norms() {
        // Well- and ill-conditioned, with factors of mixed signs, and the worst case of
        // the comparison matrix: a factor with all off-diagonal entries negative.
        let mut cases: Vec<(usize, Vec<f64>)> = Vec::new();
        for (n, seed) in [(1, 1), (2, 2), (3, 3), (6, 4), (6, 5), (12, 6), (24, 7)] {
            for delta in [1.0, 1e-3, 1e-8] {
                cases.push((n, spd(n, n - 1, delta, seed)));
                cases.push((n, spd(n, n, delta, seed + 100)));
            }
        }
        let n = 5;
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..i {
                l[i * n + j] = -0.9;
            }
            l[i * n + i] = 1.0;
        }
        let mut a = vec![0.0; n * n];
        dense::product(&l, false, &l, true, &mut a, n, n, n);
        cases.push((n, a));
        for (n, a) in cases {
            let (mut l, mut inverse) = (vec![0.0; n * n], vec![0.0; n]);
            cholesky(&a, n, &mut l, &mut inverse).unwrap();
            let exact_inverse = to_nalgebra(&a, n).try_inverse().unwrap();
            let inverse_norm = (0..n)
                .map(|j| exact_inverse.column(j).iter().map(|v| v.abs()).sum::<f64>())
                .fold(0.0, f64::max);
            let mut scratch = vec![0.0; 2 * n];
            let bound = cholesky_inverse_norm_bound(&l, &inverse, n, &mut scratch);
            // The fused pass gives the same factor, norm and bound.
            let (mut fused, mut fused_inverse) = (vec![0.0; n * n], vec![0.0; n]);
            let mut bounds = vec![0.0; 2 * n];
            let fused_norm =
                cholesky_with_bounds(&a, n, &mut fused, &mut fused_inverse, &mut bounds).unwrap();
            assert_eq!((&fused, &fused_inverse), (&l, &inverse));
            assert_eq!(fused_norm, symmetric_norm1(&a, n, &mut vec![0.0; n]));
            let (z, w) = bounds.split_at_mut(n);
            assert_eq!(comparison_backward(&l, &inverse, n, z, w), bound);
            // The exact inverse of an ill-conditioned matrix is itself accurate to
            // κ ε only.
            assert!(
                bound >= inverse_norm * (1.0 - 1e-6),
                "n {n}: bound {bound:e} below ‖A⁻¹‖₁ = {inverse_norm:e}"
            );
            let norm = norm1(&a, n, Part::Full);
            let factor_bound = factor_norm_bound(&l, n, &mut scratch);
            assert!(
                factor_bound >= norm * (1.0 - 1e-12),
                "n {n}: {factor_bound:e} below ‖A‖₁ = {norm:e}"
            );
            // Only the lower triangle is read.
            let mut lower = a.clone();
            for i in 0..n {
                lower[i * n + i + 1..(i + 1) * n].fill(f64::NAN);
            }
            assert_eq!(symmetric_norm1(&lower, n, &mut scratch), norm);
            // The estimates are never above what the bounds allow.
            let estimate = cholesky_reciprocal_condition(&l, n, Some(norm), &mut vec![0.0; 3 * n]);
            assert!(estimate >= reciprocal_condition(norm, bound, n) * (1.0 - 1e-6));
        }
    }
}
