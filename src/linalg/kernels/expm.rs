//! The matrix exponential by scaling and squaring with Padé approximants (Higham, "The
//! scaling and squaring method for the matrix exponential revisited", SIAM J. Matrix
//! Anal. Appl. 26(4), 2005: Algorithm 2.3, as `scipy.linalg.expm` before 2009 and
//! MATLAB's `expm`), and its Fréchet derivative by the block-triangular identity
//!
//! ```text
//! exp([[A, E], [0, A]]) = [[e^A, L(A, E)], [0, e^A]]
//! ```
//!
//! (Najfeld and Havel 1995; Higham, "Functions of Matrices", 2008, Theorem 3.6), exact
//! in exact arithmetic and computed by the same algorithm at twice the size.

use num_traits::Float;

use super::{lu_in_place, lu_len, LuRef};

/// Higham's `θ_m`: the largest `‖A‖₁` for which the `[m/m]` Padé approximant is
/// accurate to `f64`'s unit roundoff, for `m` = 3, 5, 7, 9, 13.
const THETA: [f64; 5] = [
    1.495_585_217_958_292e-2,
    2.539_398_330_063_23e-1,
    9.504_178_996_162_932e-1,
    2.097_847_961_257_068e0,
    5.371_920_351_148_152e0,
];

/// The coefficients `b_0..b_m` of the `[m/m]` Padé approximants of `e^x`.
const B3: [f64; 4] = [120.0, 60.0, 12.0, 1.0];
const B5: [f64; 6] = [30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0];
const B7: [f64; 8] = [
    17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0,
];
const B9: [f64; 10] = [
    17643225600.0,
    8821612800.0,
    2075673600.0,
    302702400.0,
    30270240.0,
    2162160.0,
    110880.0,
    3960.0,
    90.0,
    1.0,
];
const B13: [f64; 14] = [
    64764752532480000.0,
    32382376266240000.0,
    7771770303897600.0,
    1187353796428800.0,
    129060195264000.0,
    10559470521600.0,
    670442572800.0,
    33522128640.0,
    1323241920.0,
    40840800.0,
    960960.0,
    16380.0,
    182.0,
    1.0,
];

/// The scratch [`expm`] needs for an `n x n` matrix.
pub(crate) const fn expm_work_len(n: usize) -> usize {
    7 * n * n + lu_len(n)
}

/// The scratch [`expm_frechet`] needs for an `n x n` matrix.
pub(crate) const fn frechet_work_len(n: usize) -> usize {
    2 * (2 * n) * (2 * n) + expm_work_len(2 * n)
}

/// `c = a b` for `n x n` row-major matrices (rows of `b` added into rows of `c`: the
/// inner loop runs along contiguous rows, so it vectorises).
fn product(a: &[f64], b: &[f64], c: &mut [f64], n: usize) {
    for (c_row, a_row) in c.chunks_exact_mut(n).zip(a.chunks_exact(n)) {
        c_row.fill(0.0);
        for (&x, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            if x != 0.0 {
                for (y, &z) in c_row.iter_mut().zip(b_row) {
                    *y += x * z;
                }
            }
        }
    }
}

/// `out = Σ_k c_k P_k + c_I I` for matrices `P_k` (`n x n`).
fn combination(out: &mut [f64], terms: &[(f64, &[f64])], identity: f64, n: usize) {
    out.fill(0.0);
    for &(c, p) in terms {
        for (o, &x) in out.iter_mut().zip(p) {
            *o += c * x;
        }
    }
    for i in 0..n {
        out[i * n + i] += identity;
    }
}

/// The 1-norm (largest column sum of magnitudes) of an `n x n` matrix.
pub(crate) fn norm1(a: &[f64], n: usize) -> f64 {
    let mut largest: f64 = 0.0;
    for j in 0..n {
        let sum: f64 = (0..n).map(|i| Float::abs(a[i * n + j])).sum();
        largest = largest.max(sum);
    }
    largest
}

/// `e^A` of the row-major `n x n` matrix `a`, into `out`. `work` holds
/// [`expm_work_len`] values. Entries that overflow come out infinite (or NaN), for the
/// caller to refuse.
pub(crate) fn expm(a: &[f64], n: usize, out: &mut [f64], work: &mut [f64]) {
    let nn = n * n;
    if n == 0 {
        return;
    }
    let (scaled, rest) = work.split_at_mut(nn);
    let (a2, rest) = rest.split_at_mut(nn);
    let (a4, rest) = rest.split_at_mut(nn);
    let (a6, rest) = rest.split_at_mut(nn);
    let (u, rest) = rest.split_at_mut(nn);
    let (v, rest) = rest.split_at_mut(nn);
    let (t, factors) = rest.split_at_mut(nn);
    let norm = norm1(a, n);
    let degree = THETA.iter().position(|&theta| norm <= theta);
    // Squarings: enough that ‖A / 2^s‖₁ <= θ_13 (none for the lower degrees).
    let squarings = match degree {
        Some(_) => 0,
        None => Float::ceil(Float::log2(norm / THETA[4])).max(0.0) as i32,
    };
    // 2^-s in two factors, each representable even for s past 1022.
    let (half, rest_half) = (squarings / 2, squarings - squarings / 2);
    let factor = Float::powi(0.5, half) * Float::powi(0.5, rest_half);
    for (s, &x) in scaled.iter_mut().zip(&a[..nn]) {
        *s = x * factor;
    }
    let a = &*scaled;
    product(a, a, a2, n);
    match degree {
        Some(0) => {
            combination(t, &[(B3[3], a2)], B3[1], n);
            product(a, t, u, n);
            combination(v, &[(B3[2], a2)], B3[0], n);
        }
        Some(1) => {
            product(a2, a2, a4, n);
            combination(t, &[(B5[5], a4), (B5[3], a2)], B5[1], n);
            product(a, t, u, n);
            combination(v, &[(B5[4], a4), (B5[2], a2)], B5[0], n);
        }
        Some(2) => {
            product(a2, a2, a4, n);
            product(a4, a2, a6, n);
            combination(t, &[(B7[7], a6), (B7[5], a4), (B7[3], a2)], B7[1], n);
            product(a, t, u, n);
            combination(v, &[(B7[6], a6), (B7[4], a4), (B7[2], a2)], B7[0], n);
        }
        Some(3) => {
            product(a2, a2, a4, n);
            product(a4, a2, a6, n);
            // A⁸ into `out`, free until the end.
            product(a4, a4, out, n);
            let a8 = &*out;
            combination(
                t,
                &[(B9[9], a8), (B9[7], a6), (B9[5], a4), (B9[3], a2)],
                B9[1],
                n,
            );
            product(a, t, u, n);
            combination(
                v,
                &[(B9[8], a8), (B9[6], a6), (B9[4], a4), (B9[2], a2)],
                B9[0],
                n,
            );
        }
        _ => {
            product(a2, a2, a4, n);
            product(a4, a2, a6, n);
            // U = A [A6 (b13 A6 + b11 A4 + b9 A2) + b7 A6 + b5 A4 + b3 A2 + b1 I]
            combination(t, &[(B13[13], a6), (B13[11], a4), (B13[9], a2)], 0.0, n);
            product(a6, t, u, n);
            combination(
                t,
                &[(1.0, u), (B13[7], a6), (B13[5], a4), (B13[3], a2)],
                B13[1],
                n,
            );
            product(a, t, u, n);
            // V = A6 (b12 A6 + b10 A4 + b8 A2) + b6 A6 + b4 A4 + b2 A2 + b0 I
            combination(t, &[(B13[12], a6), (B13[10], a4), (B13[8], a2)], 0.0, n);
            product(a6, t, v, n);
            combination(
                t,
                &[(1.0, v), (B13[6], a6), (B13[4], a4), (B13[2], a2)],
                B13[0],
                n,
            );
            v.copy_from_slice(t);
        }
    }
    // r = (V - U)⁻¹ (V + U), by LU with partial pivoting (well conditioned for these
    // norms: Higham's Lemma 2.2 bounds κ(V - U)).
    let lu = &mut factors[..lu_len(n)];
    for i in 0..nn {
        lu[i] = v[i] - u[i];
        out[i] = v[i] + u[i];
    }
    lu_in_place(lu, n, false);
    // A² is no longer needed: it is the solve's scratch.
    LuRef::of(lu, n, 0).solve(&mut out[..nn], n, false, a2);
    for _ in 0..squarings {
        product(out, out, t, n);
        out[..nn].copy_from_slice(t);
        if !out[..nn].iter().all(|x| x.is_finite()) {
            // Past the range: further squarings only turn infinities into NaN.
            break;
        }
    }
}

/// The Fréchet derivative `L(A, E) = d/dt e^(A + tE)` at `t = 0` into `out`, as the
/// upper-right block of `exp([[A, c E], [0, A]]) / c`, with `c = ‖A‖₁ / ‖E‖₁` (linearity
/// in `E`) so that `E`'s size does not add squarings. `work` holds [`frechet_work_len`]
/// values.
pub(crate) fn expm_frechet(a: &[f64], e: &[f64], n: usize, out: &mut [f64], work: &mut [f64]) {
    let m = 2 * n;
    let (block, rest) = work.split_at_mut(m * m);
    let (result, expm_work) = rest.split_at_mut(m * m);
    let (norm_a, norm_e) = (norm1(a, n), norm1(e, n));
    let c = if norm_a > 0.0 && norm_e > 0.0 && (norm_a / norm_e).is_normal() {
        norm_a / norm_e
    } else {
        1.0
    };
    block.fill(0.0);
    for i in 0..n {
        for j in 0..n {
            block[i * m + j] = a[i * n + j];
            block[(n + i) * m + n + j] = a[i * n + j];
            block[i * m + n + j] = c * e[i * n + j];
        }
    }
    expm(block, m, result, expm_work);
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = result[i * m + n + j] / c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    fn matrix(n: usize, seed: u64, scale: f64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(3);
        (0..n * n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn exp(a: &[f64], n: usize) -> Vec<f64> {
        let mut out = vec![f64::NAN; n * n];
        let mut work = vec![f64::NAN; expm_work_len(n)];
        expm(a, n, &mut out, &mut work);
        out
    }

    #[test]
    fn every_degree_matches_nalgebra() {
        // Norms below each θ (degrees 3 to 9) and above θ₁₃ (squarings).
        for scale in [1e-3, 0.03, 0.1, 0.3, 0.6, 2.0, 10.0] {
            for n in [1, 2, 3, 6, 12] {
                let a = matrix(n, (n * 10) as u64, scale);
                let ours = exp(&a, n);
                let reference = DMatrix::from_row_slice(n, n, &a).exp();
                let norm = reference.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                for i in 0..n {
                    for j in 0..n {
                        let (x, y) = (ours[i * n + j], reference[(i, j)]);
                        assert!((x - y).abs() <= 1e-13 * norm, "{scale} {n}: {x} {y}");
                    }
                }
            }
        }
    }

    #[test]
    fn known_exponentials() {
        // A rotation generator: e^[[0, t], [-t, 0]] = [[cos t, sin t], [-sin t, cos t]].
        let t = 2.5f64;
        let r = exp(&[0.0, t, -t, 0.0], 2);
        let expected = [t.cos(), t.sin(), -t.sin(), t.cos()];
        for (x, y) in r.iter().zip(expected) {
            assert!((x - y).abs() < 1e-15, "{r:?}");
        }
        // A nilpotent matrix: e^N = I + N.
        assert_eq!(exp(&[0.0, 5.0, 0.0, 0.0], 2), vec![1.0, 5.0, 0.0, 1.0]);
        // Zero and diagonal matrices.
        assert_eq!(exp(&[0.0; 4], 2), vec![1.0, 0.0, 0.0, 1.0]);
        let d = exp(&[-1e150, 0.0, 0.0, 1e-150], 2);
        assert_eq!(d, vec![0.0, 0.0, 0.0, 1.0]);
        // Overflow comes out non-finite.
        assert!(!exp(&[800.0], 1)[0].is_finite());
    }

    #[test]
    fn frechet_derivative_matches_differences() {
        for n in [1, 2, 4] {
            let a = matrix(n, 5 + n as u64, 1.5);
            let e = matrix(n, 50 + n as u64, 1.0);
            let mut l = vec![0.0; n * n];
            let mut work = vec![0.0; frechet_work_len(n)];
            expm_frechet(&a, &e, n, &mut l, &mut work);
            let h = 1e-6;
            let shifted = |s: f64| {
                let m: Vec<f64> = a.iter().zip(&e).map(|(x, d)| x + s * d).collect();
                exp(&m, n)
            };
            let (plus, minus) = (shifted(h), shifted(-h));
            for i in 0..n * n {
                let numeric = (plus[i] - minus[i]) / (2.0 * h);
                assert!((l[i] - numeric).abs() < 1e-7, "{n} {i}: {} {numeric}", l[i]);
            }
            // Linear in E: a scaled direction scales the derivative.
            let big: Vec<f64> = e.iter().map(|x| x * 1e9).collect();
            let mut l_big = vec![0.0; n * n];
            expm_frechet(&a, &big, n, &mut l_big, &mut work);
            for (x, y) in l_big.iter().zip(&l) {
                assert!((x / 1e9 - y).abs() < 1e-12 * (1.0 + y.abs()));
            }
        }
    }
}
