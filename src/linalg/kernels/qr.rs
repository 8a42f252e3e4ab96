//! The reduced QR factorisation of a tall matrix by Householder reflections (LAPACK's
//! `dgeqr2` and `dorg2r`), with `R`'s diagonal made non-negative so that the factors are
//! unique for a matrix of full column rank (and differentiable there).

use num_traits::Float;

use super::eigen::power_of_two_scale;

/// The scratch [`householder_qr`] needs for an `m x n` matrix.
pub(crate) const fn qr_work_len(m: usize, n: usize) -> usize {
    m * n + n
}

/// The Euclidean norm of the values `x(i)` for `i < len`, scaled so that neither
/// squares of 1e200 overflow nor squares of 1e-200 underflow.
pub(crate) fn norm2(len: usize, x: impl Fn(usize) -> f64) -> f64 {
    let largest = (0..len).fold(0.0, |m: f64, i| m.max(Float::abs(x(i))));
    if largest == 0.0 || !largest.is_finite() {
        return largest;
    }
    let scale = power_of_two_scale(largest);
    let sum: f64 = (0..len).map(|i| (x(i) / scale) * (x(i) / scale)).sum();
    Float::sqrt(sum) * scale
}

/// `A = Q R` for the row-major `m x n` matrix `a` (`m >= n`): `Q` (`m x n`, orthonormal
/// columns) into `q`, `R` (`n x n`, upper triangular, diagonal `>= 0`) into `r`. `work`
/// holds [`qr_work_len`] values.
///
/// A column that is zero below the diagonal (rank deficiency, or an already triangular
/// matrix) gets no reflection; its diagonal element may be 0, which the callers refuse
/// by their rank test.
pub(crate) fn householder_qr(
    a: &[f64],
    m: usize,
    n: usize,
    q: &mut [f64],
    r: &mut [f64],
    work: &mut [f64],
) {
    let (h, tau) = work.split_at_mut(m * n);
    let tau = &mut tau[..n];
    h.copy_from_slice(&a[..m * n]);
    for k in 0..n {
        // The reflection I - tau v vᵀ (v_k = 1) mapping column k's part from row k to
        // beta e_k, with beta of the sign opposite to the diagonal (no cancellation).
        let alpha = h[k * n + k];
        let below = norm2(m - k - 1, |i| h[(k + 1 + i) * n + k]);
        if below == 0.0 {
            tau[k] = 0.0;
            continue;
        }
        let length = norm2(2, |i| if i == 0 { alpha } else { below });
        let beta = if alpha >= 0.0 { -length } else { length };
        tau[k] = (beta - alpha) / beta;
        let divisor = alpha - beta;
        for i in k + 1..m {
            h[i * n + k] /= divisor;
        }
        h[k * n + k] = beta;
        for j in k + 1..n {
            let mut w = h[k * n + j];
            for i in k + 1..m {
                w += h[i * n + k] * h[i * n + j];
            }
            let w = tau[k] * w;
            h[k * n + j] -= w;
            for i in k + 1..m {
                h[i * n + j] -= w * h[i * n + k];
            }
        }
    }
    // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity, the last
    // reflection first: columns before k are still unit vectors that H_k leaves alone.
    let q = &mut q[..m * n];
    q.fill(0.0);
    for k in 0..n {
        q[k * n + k] = 1.0;
    }
    for k in (0..n).rev() {
        if tau[k] == 0.0 {
            continue;
        }
        for j in k..n {
            let mut w = q[k * n + j];
            for i in k + 1..m {
                w += h[i * n + k] * q[i * n + j];
            }
            let w = tau[k] * w;
            q[k * n + j] -= w;
            for i in k + 1..m {
                q[i * n + j] -= w * h[i * n + k];
            }
        }
    }
    let r = &mut r[..n * n];
    for i in 0..n {
        for j in 0..n {
            r[i * n + j] = if j >= i { h[i * n + j] } else { 0.0 };
        }
    }
    // R's diagonal made non-negative: R ← D R, Q ← Q D with D = diag(±1).
    for k in 0..n {
        if r[k * n + k] < 0.0 {
            for j in k..n {
                r[k * n + j] = -r[k * n + j];
            }
            for i in 0..m {
                q[i * n + k] = -q[i * n + k];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use nalgebra::DMatrix;

    fn matrix(m: usize, n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(7);
        (0..m * n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    fn factor(a: &[f64], m: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut q, mut r) = (vec![f64::NAN; m * n], vec![f64::NAN; n * n]);
        let mut work = vec![0.0; qr_work_len(m, n)];
        householder_qr(a, m, n, &mut q, &mut r, &mut work);
        (q, r)
    }

    #[test]
    fn reconstructs_and_matches_nalgebra_up_to_signs() {
        for (m, n) in [(1, 1), (2, 1), (3, 3), (5, 3), (8, 8), (16, 5), (40, 32)] {
            let a = matrix(m, n, (m * 100 + n) as u64);
            let (q, r) = factor(&a, m, n);
            let (qm, rm) = (
                DMatrix::from_row_slice(m, n, &q),
                DMatrix::from_row_slice(n, n, &r),
            );
            let back = &qm * &rm;
            let gram = qm.transpose() * &qm;
            for i in 0..m {
                for j in 0..n {
                    assert!((back[(i, j)] - a[i * n + j]).abs() < 1e-14 * m as f64);
                }
            }
            for i in 0..n {
                assert!(rm[(i, i)] >= 0.0);
                for j in 0..n {
                    let delta = if i == j { 1.0 } else { 0.0 };
                    assert!((gram[(i, j)] - delta).abs() < 1e-14 * m as f64);
                    if j < i {
                        assert_eq!(rm[(i, j)], 0.0);
                    }
                }
            }
            let reference = DMatrix::from_row_slice(m, n, &a).qr().r();
            for i in 0..n {
                let sign = reference[(i, i)].signum();
                for j in i..n {
                    assert!((sign * reference[(i, j)] - rm[(i, j)]).abs() < 1e-13);
                }
            }
        }
    }

    #[test]
    fn rank_deficiency_shows_on_the_diagonal() {
        // The second column is twice the first.
        let a = [1.0, 2.0, 3.0, 6.0, -1.0, -2.0];
        let (_, r) = factor(&a, 3, 2);
        assert!(r[3].abs() < 1e-15, "{r:?}");
        // A zero column: no reflection, a zero diagonal element.
        let (q, r) = factor(&[0.0, 1.0, 0.0, 1.0], 2, 2);
        assert_eq!(r[0], 0.0);
        assert!(q.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn norms_of_extreme_values() {
        assert!((norm2(2, |i| [3e200, 4e200][i]) / 5e200 - 1.0).abs() < 1e-15);
        assert!((norm2(2, |i| [3e-200, 4e-200][i]) / 5e-200 - 1.0).abs() < 1e-15);
        assert_eq!(norm2(0, |_| 1.0), 0.0);
    }
}
