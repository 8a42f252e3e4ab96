//! The eigendecomposition of a symmetric matrix by the cyclic Jacobi method.
//!
//! Jacobi rather than tridiagonalisation and QR iteration (LAPACK's `dsyevd`): at the
//! sizes these users have (up to 16–64) it costs a few sweeps of `O(n³)` each, it is
//! short enough to read, and it is the most accurate of the dense methods (Demmel and
//! Veselić, "Jacobi's method is more accurate than QR", 1992): each rotation is exact to
//! rounding, and it stops only when every off-diagonal element is negligible beside its
//! two diagonal elements, so small eigenvalues of a well-scaled matrix keep relative
//! accuracy. A matrix is first scaled by a power of two (exact) so that its largest
//! element lies in `[1, 2)`: entries of 1e150 or 1e-150 neither overflow nor underflow in
//! the rotations.

use num_traits::Float;

/// Sweeps after which the iteration gives up. Jacobi converges quadratically once the
/// off-diagonal part is small: symmetric matrices up to 64 x 64 take 6 to 12 sweeps
/// (the unit tests count them); 50 is far past that, and reaching it means rounding
/// keeps an element from becoming negligible, which has not been observed.
pub(crate) const MAX_SWEEPS: usize = 50;

/// The scratch [`symmetric_eigen`] needs for an `n x n` matrix.
pub(crate) const fn eigen_work_len(n: usize) -> usize {
    n * n
}

/// The power of two `s` with `s <= max |x| < 2 s` (`1` for a zero matrix; the smallest
/// normal number for subnormal entries), so that `x / s` is exact and its largest
/// element lies in `[1, 2)`.
pub(crate) fn power_of_two_scale(largest: f64) -> f64 {
    if largest == 0.0 || !largest.is_finite() {
        return 1.0;
    }
    if largest < f64::MIN_POSITIVE {
        return f64::MIN_POSITIVE;
    }
    // The exponent bits alone: the mantissa of 1.
    f64::from_bits(largest.to_bits() & 0x7ff0_0000_0000_0000)
}

/// The eigenvalues (ascending, into `values`) and orthonormal eigenvectors (the columns
/// of the row-major `n x n` matrix `vectors`) of the symmetric matrix whose lower
/// triangle `a` holds (the upper triangle is not read). `work` holds
/// [`eigen_work_len`] values. Returns the number of sweeps, or `Err(MAX_SWEEPS)` if the
/// iteration did not converge within [`MAX_SWEEPS`] sweeps (`max_sweeps` in tests).
///
/// Each eigenvector's element of largest magnitude (the first, if several tie) is
/// positive, so that the result does not depend on the rotations' signs.
pub(crate) fn symmetric_eigen(
    a: &[f64],
    n: usize,
    values: &mut [f64],
    vectors: &mut [f64],
    work: &mut [f64],
) -> Result<usize, usize> {
    symmetric_eigen_within(a, n, values, vectors, work, MAX_SWEEPS)
}

/// [`symmetric_eigen`] with a bound on the sweeps of one's choosing.
pub(crate) fn symmetric_eigen_within(
    a: &[f64],
    n: usize,
    values: &mut [f64],
    vectors: &mut [f64],
    work: &mut [f64],
    max_sweeps: usize,
) -> Result<usize, usize> {
    let m = &mut work[..n * n];
    let mut largest: f64 = 0.0;
    for i in 0..n {
        for j in 0..=i {
            largest = largest.max(Float::abs(a[i * n + j]));
        }
    }
    let scale = power_of_two_scale(largest);
    let inverse = 1.0 / scale;
    for i in 0..n {
        for j in 0..=i {
            let v = a[i * n + j] * inverse;
            m[i * n + j] = v;
            m[j * n + i] = v;
        }
    }
    let v = &mut vectors[..n * n];
    v.fill(0.0);
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let mut sweeps = 0;
    loop {
        if !sweep(m, v, n) {
            break;
        }
        sweeps += 1;
        if sweeps >= max_sweeps {
            return Err(sweeps);
        }
    }
    for i in 0..n {
        values[i] = m[i * n + i] * scale;
    }
    sort_ascending(values, v, n);
    for j in 0..n {
        let mut at = 0;
        for i in 1..n {
            if Float::abs(v[i * n + j]) > Float::abs(v[at * n + j]) {
                at = i;
            }
        }
        if v[at * n + j] < 0.0 {
            for i in 0..n {
                v[i * n + j] = -v[i * n + j];
            }
        }
    }
    Ok(sweeps)
}

/// One cyclic sweep of rotations over the pairs `p < q` of the symmetric `m` (both
/// triangles kept), accumulated into `v`. Returns whether any rotation was made.
fn sweep(m: &mut [f64], v: &mut [f64], n: usize) -> bool {
    let mut rotated = false;
    for p in 0..n {
        for q in p + 1..n {
            let apq = m[p * n + q];
            let (app, aqq) = (m[p * n + p], m[q * n + q]);
            // Negligible beside both diagonal elements (Demmel and Veselić's test, which
            // keeps small eigenvalues accurate), or below the normal range (after the
            // scaling to [1, 2), nothing that small changes an eigenvalue).
            let negligible = Float::abs(apq)
                <= f64::EPSILON * Float::sqrt(Float::abs(app)) * Float::sqrt(Float::abs(aqq))
                || Float::abs(apq) < f64::MIN_POSITIVE;
            if negligible {
                continue;
            }
            rotated = true;
            // The rotation that zeroes m[p, q] (Rutishauser's form: the smaller angle,
            // with the updates written as corrections to limit rounding).
            let theta = (aqq - app) / (2.0 * apq);
            let t = if Float::abs(theta) > 1e150 {
                0.5 / theta
            } else {
                let sign = if theta < 0.0 { -1.0 } else { 1.0 };
                sign / (Float::abs(theta) + Float::sqrt(theta * theta + 1.0))
            };
            let c = 1.0 / Float::sqrt(t * t + 1.0);
            let s = t * c;
            let tau = s / (1.0 + c);
            m[p * n + p] = app - t * apq;
            m[q * n + q] = aqq + t * apq;
            m[p * n + q] = 0.0;
            m[q * n + p] = 0.0;
            for r in 0..n {
                if r == p || r == q {
                    continue;
                }
                let (g, h) = (m[r * n + p], m[r * n + q]);
                let new_p = g - s * (h + g * tau);
                let new_q = h + s * (g - h * tau);
                m[r * n + p] = new_p;
                m[p * n + r] = new_p;
                m[r * n + q] = new_q;
                m[q * n + r] = new_q;
            }
            for r in 0..n {
                let (g, h) = (v[r * n + p], v[r * n + q]);
                v[r * n + p] = g - s * (h + g * tau);
                v[r * n + q] = h + s * (g - h * tau);
            }
        }
    }
    rotated
}

/// Sorts `values` ascending, moving the columns of `v` with them (selection sort: at
/// most `n` swaps of columns, no allocation).
fn sort_ascending(values: &mut [f64], v: &mut [f64], n: usize) {
    for i in 0..n {
        let mut smallest = i;
        for j in i + 1..n {
            if values[j] < values[smallest] {
                smallest = j;
            }
        }
        if smallest != i {
            values.swap(i, smallest);
            for r in 0..n {
                v.swap(r * n + i, r * n + smallest);
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

    fn symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(1);
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x = next();
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        a
    }

    fn decompose(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>, usize) {
        let (mut values, mut vectors, mut work) =
            (vec![0.0; n], vec![0.0; n * n], vec![0.0; n * n]);
        let sweeps = symmetric_eigen(a, n, &mut values, &mut vectors, &mut work).unwrap();
        (values, vectors, sweeps)
    }

    #[test]
    fn matches_nalgebra_and_reconstructs_the_matrix() {
        for n in [1, 2, 3, 5, 8, 16, 32, 64] {
            let a = symmetric(n, n as u64);
            let (values, vectors, sweeps) = decompose(&a, n);
            assert!(sweeps <= 12, "n {n}: {sweeps} sweeps");
            let mut reference: Vec<f64> = DMatrix::from_row_slice(n, n, &a)
                .symmetric_eigen()
                .eigenvalues
                .iter()
                .copied()
                .collect();
            reference.sort_by(f64::total_cmp);
            for (x, y) in values.iter().zip(&reference) {
                assert!((x - y).abs() < 1e-13 * n as f64, "n {n}: {x} against {y}");
            }
            let v = DMatrix::from_row_slice(n, n, &vectors);
            let identity = v.transpose() * &v;
            let back = &v * DMatrix::from_diagonal(&values.clone().into()) * v.transpose();
            for i in 0..n {
                for j in 0..n {
                    let delta = if i == j { 1.0 } else { 0.0 };
                    assert!((identity[(i, j)] - delta).abs() < 1e-14 * n as f64);
                    assert!((back[(i, j)] - a[i * n + j]).abs() < 1e-14 * n as f64);
                }
            }
            assert!(values.windows(2).all(|w| w[0] <= w[1]), "ascending");
        }
    }

    #[test]
    fn reads_the_lower_triangle_and_fixes_signs() {
        let a = [2.0, 99.0, 1.0, 3.0];
        let (values, vectors, _) = decompose(&a, 2);
        let root = 5f64.sqrt();
        assert!((values[0] - (5.0 - root) / 2.0).abs() < 1e-15);
        assert!((values[1] - (5.0 + root) / 2.0).abs() < 1e-15);
        // Each column's element of largest magnitude is positive.
        for j in 0..2 {
            let (x, y) = (vectors[j], vectors[2 + j]);
            let largest = if x.abs() >= y.abs() { x } else { y };
            assert!(largest > 0.0, "{vectors:?}");
        }
    }

    #[test]
    fn repeated_eigenvalues_and_diagonal_matrices() {
        // diag(3, 1, 3): no rotation at all.
        let a = [3.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 3.0];
        let (values, vectors, sweeps) = decompose(&a, 3);
        assert_eq!(sweeps, 0);
        assert_eq!(values, vec![1.0, 3.0, 3.0]);
        assert_eq!(vectors, vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        // The all-ones matrix: eigenvalues 0, 0, 3.
        let (values, _, _) = decompose(&[1.0; 9], 3);
        assert!(values[0].abs() < 1e-15 && values[1].abs() < 1e-15);
        assert!((values[2] - 3.0).abs() < 1e-15);
    }

    #[test]
    fn extreme_scales_neither_overflow_nor_underflow() {
        let a = symmetric(6, 4);
        let (base, base_vectors, _) = decompose(&a, 6);
        for scale in [1e150, 1e-150, 1e300, 1e-300] {
            let scaled: Vec<f64> = a.iter().map(|x| x * scale).collect();
            let (values, vectors, _) = decompose(&scaled, 6);
            for (x, y) in values.iter().zip(&base) {
                assert!((x / scale - y).abs() < 1e-14, "{scale}: {x} {y}");
            }
            for (x, y) in vectors.iter().zip(&base_vectors) {
                assert!((x - y).abs() < 1e-13, "{scale}");
            }
        }
        // Subnormal entries (a few bits each) still give an orthonormal basis.
        let tiny: Vec<f64> = a.iter().map(|x| x * 2f64.powi(-1070)).collect();
        let (values, vectors, _) = decompose(&tiny, 6);
        assert!(values.iter().chain(&vectors).all(|v| v.is_finite()));
        let (values, vectors, _) = decompose(&[0.0; 4], 2);
        assert_eq!(
            (values, vectors),
            (vec![0.0, 0.0], vec![1.0, 0.0, 0.0, 1.0])
        );
    }

    #[test]
    fn gives_up_after_the_bound() {
        let a = symmetric(5, 1);
        let (mut values, mut vectors, mut work) = (vec![0.0; 5], vec![0.0; 25], vec![0.0; 25]);
        let result = symmetric_eigen_within(&a, 5, &mut values, &mut vectors, &mut work, 2);
        assert_eq!(result, Err(2));
    }
}
