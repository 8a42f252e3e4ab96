//! The only module with `unsafe`: one safe wrapper over matrixmultiply's `sgemm`/`dgemm`,
//! and (in `pooled`) the `Send` of a graph cell kept for reuse.
//!
//! Every matrix product of the library, forward and backward, goes through [`gemm`].
//! A transposed operand is a [`MatRef`] with its strides swapped, so no transpose is ever
//! copied. The wrapper checks, before the one `unsafe` call, that every element the
//! kernel may touch lies inside the slices it was given.
#![allow(unsafe_code)]

use crate::element::Element;
use crate::tensor::storage::Storage;
use alloc::vec;

pub(crate) mod pooled;

/// A read-only strided view of a matrix inside a slice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatRef<'a, E> {
    data: &'a [E],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, E> MatRef<'a, E> {
    /// A `rows` x `cols` matrix stored row-major at the start of `data`.
    pub(crate) fn row_major(data: &'a [E], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, as a view: only the strides change.
    pub(crate) fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether every element addressed by the view lies inside `data`.
    fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .and_then(|r| (self.cols - 1).checked_mul(self.col_stride)?.checked_add(r));
        matches!(last, Some(last) if last < self.data.len())
    }
}

/// Element types matrixmultiply has a kernel for. Sealed by living in a private module.
pub trait Gemm: Copy + 'static {
    /// Calls the matching matrixmultiply kernel.
    ///
    /// # Safety
    /// The caller guarantees matrixmultiply's contract: for the given dimensions and
    /// strides every addressed element of `a`, `b` and `c` is inside its allocation,
    /// and `c` does not alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

impl Gemm for f32 {
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: f32,
        a: *const f32,
        rsa: isize,
        csa: isize,
        b: *const f32,
        rsb: isize,
        csb: isize,
        beta: f32,
        c: *mut f32,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from this function's own contract, which `gemm` establishes.
        unsafe {
            matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

impl Gemm for f64 {
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: f64,
        a: *const f64,
        rsa: isize,
        csa: isize,
        b: *const f64,
        rsb: isize,
        csb: isize,
        beta: f64,
        c: *mut f64,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from this function's own contract, which `gemm` establishes.
        unsafe {
            matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

/// Products with at most this many multiply-adds are computed by a plain loop:
/// matrixmultiply packs its operands into buffers it allocates on every call, which
/// costs more than the whole product at these sizes (the tutorial's 1 x 5 x 3).
const TINY_PRODUCT: usize = 4096;

/// The plain-loop product for tiny sizes, with [`gemm`]'s contract (`beta == 0` ignores
/// the previous contents of `c`). The loop order follows the strides, so that the inner
/// loop reads contiguous memory and vectorises: rows of `b` when `b` is row-major (each
/// row of `c` accumulates `a[i, p] · b[p, ..]`), otherwise dot products of a row of `a`
/// with a column of `b`.
fn tiny_gemm<E: num_traits::Float>(
    alpha: E,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    beta: E,
    c: &mut [E],
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let scaled = |old: E, value: E| {
        if beta == E::zero() {
            alpha * value
        } else {
            alpha * value + beta * old
        }
    };
    if a.col_stride == 1 && b.row_stride == 1 {
        // Rows of `a` and columns of `b` are both contiguous: dot products of slices.
        for (i, row) in c.chunks_exact_mut(n.max(1)).take(m).enumerate() {
            let a_row = &a.data[i * a.row_stride..i * a.row_stride + k];
            for (j, v) in row.iter_mut().enumerate() {
                let b_column = &b.data[j * b.col_stride..j * b.col_stride + k];
                *v = scaled(*v, dot(a_row, b_column));
            }
        }
        return;
    }
    if b.col_stride == 1 {
        let mut sums = [E::zero(); 64];
        for (i, row) in c.chunks_exact_mut(n.max(1)).take(m).enumerate() {
            for (chunk, row) in row.chunks_mut(sums.len()).enumerate() {
                let sums = &mut sums[..row.len()];
                sums.fill(E::zero());
                for p in 0..k {
                    let x = a.data[i * a.row_stride + p * a.col_stride];
                    let start = p * b.row_stride + chunk * 64;
                    for (s, &y) in sums.iter_mut().zip(&b.data[start..start + row.len()]) {
                        *s = *s + x * y;
                    }
                }
                for (v, &s) in row.iter_mut().zip(sums.iter()) {
                    *v = scaled(*v, s);
                }
            }
        }
        return;
    }
    for (i, row) in c.chunks_exact_mut(n.max(1)).take(m).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let column = b.data[j * b.col_stride..]
                .iter()
                .step_by(b.row_stride.max(1));
            let sum = if a.col_stride == 1 {
                let start = i * a.row_stride;
                a.data[start..start + k]
                    .iter()
                    .zip(column)
                    .fold(E::zero(), |s, (&x, &y)| s + x * y)
            } else {
                let rows = a.data[i * a.row_stride..]
                    .iter()
                    .step_by(a.col_stride.max(1));
                rows.zip(column)
                    .take(k)
                    .fold(E::zero(), |s, (&x, &y)| s + x * y)
            };
            *v = scaled(*v, sum);
        }
    }
}

/// `Σ x[p] y[p]` over equal-length slices: in order for fewer than 8 elements, else in
/// four interleaved partial sums (so the multiply-adds pipeline) added in a fixed order.
/// Either way the result is deterministic.
#[inline(always)]
fn dot<E: num_traits::Float>(x: &[E], y: &[E]) -> E {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    if n < 8 {
        // Too short for the lanes to pay for their set-up and final sum.
        let mut sum = E::zero();
        for p in 0..n {
            sum = sum + x[p] * y[p];
        }
        return sum;
    }
    let mut sums = [E::zero(); 4];
    let (x4, x_rest) = x.split_at(n - n % 4);
    let (y4, y_rest) = y.split_at(n - n % 4);
    for (xs, ys) in x4.chunks_exact(4).zip(y4.chunks_exact(4)) {
        for lane in 0..4 {
            sums[lane] = sums[lane] + xs[lane] * ys[lane];
        }
    }
    let tail = x_rest
        .iter()
        .zip(y_rest)
        .fold(E::zero(), |s, (&a, &b)| s + a * b);
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

/// `a · b` into a new row-major buffer through [`gemm`] with `beta = 0`, which writes
/// every element and reads none: a pooled buffer's old contents never show through.
fn gemm_into_pooled<E: Element>(a: MatRef<'_, E>, b: MatRef<'_, E>) -> alloc::sync::Arc<[E]> {
    let len = a.rows * b.cols;
    let mut out = crate::tensor::pool::take(len);
    if let Some(target) = alloc::sync::Arc::get_mut(&mut out) {
        gemm(E::one(), a, b, E::zero(), target);
        return out;
    }
    // `take` hands out buffers nothing else holds; this keeps the code panic-free.
    let mut values = vec![E::zero(); len];
    gemm(E::one(), a, b, E::zero(), &mut values);
    values.into()
}

/// `a · b` into a new row-major buffer, never initialised beforehand: matrixmultiply
/// with `beta = 0` writes every element of its output without reading it, so neither a
/// zero fill nor its page faults are paid (forward products, first gradients of leaves).
pub(crate) fn gemm_new<E: Element>(a: MatRef<'_, E>, b: MatRef<'_, E>) -> Storage<E> {
    let (m, n) = (a.rows, b.cols);
    if Storage::<E>::fits_inline(m * n) {
        return Storage::build(m * n, |target| gemm(E::one(), a, b, E::zero(), target));
    }
    Storage::wrap_shared(gemm_new_shared(a, b))
}

/// [`gemm_new`] into a shared buffer (a leaf's first gradient).
pub(crate) fn gemm_new_shared<E: Element>(
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
) -> alloc::sync::Arc<[E]> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m * k * n <= TINY_PRODUCT {
        return gemm_into_pooled(a, b);
    }
    // A buffer left from an earlier step is written over (beta = 0 reads none of it).
    if let Some(mut out) = crate::tensor::pool::reuse::<E>(m * n) {
        if let Some(target) = alloc::sync::Arc::get_mut(&mut out) {
            gemm(E::one(), a, b, E::zero(), target);
            return out;
        }
    }
    assert!(
        b.rows == k && a.in_bounds() && b.in_bounds(),
        "typegrad internal error: gemm_new operands {m}x{k} and {}x{n}",
        b.rows
    );
    let mut out = alloc::sync::Arc::<[E]>::new_uninit_slice(m * n);
    let Some(target) = alloc::sync::Arc::get_mut(&mut out) else {
        // A freshly allocated Arc is unique; this path only keeps the code panic-free.
        return gemm_into_pooled(a, b);
    };
    let stride = |s: usize| s as isize;
    // SAFETY: `a` and `b` address only elements inside their slices (asserted above);
    // `target` is a unique, m x n row-major allocation (row stride n, column stride 1)
    // that aliases neither input. With beta = 0, matrixmultiply writes every element of
    // C and reads none, so uninitialised memory is fine; k > 0 here, since an empty
    // product (k = 0) has m * k * n = 0 and took the tiny path.
    unsafe {
        E::gemm_raw(
            m,
            k,
            n,
            E::one(),
            a.data.as_ptr(),
            stride(a.row_stride),
            stride(a.col_stride),
            b.data.as_ptr(),
            stride(b.row_stride),
            stride(b.col_stride),
            E::zero(),
            target.as_mut_ptr().cast::<E>(),
            stride(n),
            1,
        );
    }
    // SAFETY: every one of the m * n elements was written by the call above.
    unsafe { out.assume_init() }
}

/// `c = alpha * a · b + beta * c`, with `c` a row-major `a.rows` x `b.cols` matrix at the
/// start of the slice.
///
/// With `beta == 0` the previous contents of `c` are ignored (matrixmultiply does not
/// read them), so `c` may hold anything.
///
/// # Panics
/// Only on a broken internal invariant (operand dimensions that disagree, or a view that
/// reaches outside its slice): the shapes come from the types, so the library's own calls
/// cannot trigger it, and checking is what makes the `unsafe` call below sound.
pub(crate) fn gemm<E: Gemm + num_traits::Float>(
    alpha: E,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    beta: E,
    c: &mut [E],
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && a.in_bounds() && b.in_bounds() && c.len() >= m * n,
        "typegrad internal error: gemm operands {m}x{k} and {}x{n} into {} elements",
        b.rows,
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: the product is zero; matrixmultiply is not asked to handle it.
        for value in &mut c[..m * n] {
            *value = if beta == E::zero() {
                E::zero()
            } else {
                *value * beta
            };
        }
        return;
    }
    if m * k * n <= TINY_PRODUCT {
        tiny_gemm(alpha, a, b, beta, c);
        return;
    }
    let stride = |s: usize| s as isize;
    // SAFETY: the assertion above checked that `a` and `b` address only elements inside
    // their slices and that `c` holds the m x n row-major result (row stride n, column
    // stride 1); `c` is a unique borrow, so it aliases neither input. Strides fit in
    // isize because they index into existing slices (at most isize::MAX elements).
    unsafe {
        E::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            stride(a.row_stride),
            stride(a.col_stride),
            b.data.as_ptr(),
            stride(b.row_stride),
            stride(b.col_stride),
            beta,
            c.as_mut_ptr(),
            stride(n),
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn naive(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Vec<f64> {
        let mut out = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    out[i * b.cols + j] += a.data[i * a.row_stride + p * a.col_stride]
                        * b.data[p * b.row_stride + j * b.col_stride];
                }
            }
        }
        out
    }

    #[test]
    fn matches_naive_product_for_odd_sizes_and_every_transpose() {
        for &m in &[0usize, 1, 5, 17] {
            for &k in &[0usize, 1, 5, 17] {
                for &n in &[0usize, 1, 5, 17] {
                    let lhs: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
                    let rhs: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
                    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                        let a = if ta {
                            MatRef::row_major(&lhs, k, m).t()
                        } else {
                            MatRef::row_major(&lhs, m, k)
                        };
                        let b = if tb {
                            MatRef::row_major(&rhs, n, k).t()
                        } else {
                            MatRef::row_major(&rhs, k, n)
                        };
                        let mut c = vec![7.0; m * n];
                        gemm(1.0, a, b, 0.0, &mut c);
                        let expected = naive(a, b);
                        for (x, y) in c.iter().zip(&expected) {
                            assert!((x - y).abs() < 1e-12, "{m}x{k}x{n} {ta} {tb}");
                        }
                        let mut acc = expected.clone();
                        gemm(2.0, a, b, 1.0, &mut acc);
                        for (x, y) in acc.iter().zip(&expected) {
                            assert!((x - 3.0 * y).abs() < 1e-12);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn gemm_new_matches_gemm_on_both_paths() {
        for &(m, k, n) in &[(1, 5, 3), (0, 4, 2), (3, 0, 2), (40, 30, 20), (17, 64, 33)] {
            let lhs: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.3).sin()).collect();
            let rhs: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.7).cos()).collect();
            let a = MatRef::row_major(&lhs, k, m).t();
            let b = MatRef::row_major(&rhs, k, n);
            let fresh = gemm_new(MatRef::row_major(&lhs, m, k), b);
            assert_eq!(fresh.len(), m * n);
            let expected = naive(MatRef::row_major(&lhs, m, k), b);
            for (x, y) in fresh.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-12);
            }
            let _ = a;
        }
    }

    #[test]
    fn f32_kernel_is_wired() {
        let a = [1.0f32, 2.0, 3.0, 4.0];
        let mut c = [0.0f32; 4];
        gemm(
            1.0,
            MatRef::row_major(&a, 2, 2),
            MatRef::row_major(&a, 2, 2).t(),
            0.0,
            &mut c,
        );
        assert_eq!(c, [5.0, 11.0, 11.0, 25.0]);
    }

    #[test]
    fn out_of_bounds_views_are_detected() {
        let data = [0.0f64; 5];
        assert!(!MatRef::row_major(&data, 2, 3).in_bounds());
        assert!(MatRef::row_major(&data, 1, 5).in_bounds());
    }
}
