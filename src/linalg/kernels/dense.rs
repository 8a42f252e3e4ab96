//! Small dense products in `f64` for the rules of the factorisations (`V K Vᵀ`,
//! `Qᵀ dA`, ...): plain loops over row-major matrices, each operand possibly read
//! transposed.

/// `c = op(a) op(b)` where `op(a)` is `m x k` (`a` stored `m x k`, or `k x m` if
/// `a_t`), `op(b)` is `k x n` (`b` stored `k x n`, or `n x k` if `b_t`), `c` is `m x n`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product(
    a: &[f64],
    a_t: bool,
    b: &[f64],
    b_t: bool,
    c: &mut [f64],
    m: usize,
    k: usize,
    n: usize,
) {
    let at = |i: usize, p: usize| if a_t { a[p * m + i] } else { a[i * k + p] };
    if b_t {
        // Row i of c: dot products of op(a)'s row i with b's rows.
        for i in 0..m {
            for j in 0..n {
                let row = &b[j * k..(j + 1) * k];
                c[i * n + j] = (0..k).map(|p| at(i, p) * row[p]).sum();
            }
        }
    } else {
        // Row i of c: b's rows weighted by op(a)'s row i (contiguous inner loop).
        for i in 0..m {
            let c_row = &mut c[i * n..(i + 1) * n];
            c_row.fill(0.0);
            for p in 0..k {
                let x = at(i, p);
                if x != 0.0 {
                    for (y, &z) in c_row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                        *y += x * z;
                    }
                }
            }
        }
    }
}

/// `m ← ½ (m + mᵀ)` for an `n x n` matrix: symmetric to the last bit.
pub(crate) fn symmetrize(m: &mut [f64], n: usize) {
    for i in 0..n {
        for j in 0..i {
            let s = 0.5 * (m[i * n + j] + m[j * n + i]);
            m[i * n + j] = s;
            m[j * n + i] = s;
        }
    }
}

/// `out = mᵀ` for an `rows x cols` matrix `m` (`out` is `cols x rows`).
pub(crate) fn transpose(m: &[f64], rows: usize, cols: usize, out: &mut [f64]) {
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = m[r * cols + c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_with_each_operand_transposed() {
        // a: 2 x 3, b: 3 x 2.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, -1.0, 0.5, 2.0, -2.0, 1.0];
        let expected = [-4.0, 6.0, -5.5, 12.0];
        let (mut at, mut bt) = ([0.0; 6], [0.0; 6]);
        transpose(&a, 2, 3, &mut at);
        transpose(&b, 3, 2, &mut bt);
        for (x, xt, y, yt) in [
            (&a, false, &b, false),
            (&at, true, &b, false),
            (&a, false, &bt, true),
            (&at, true, &bt, true),
        ] {
            let mut c = [0.0; 4];
            product(x, xt, y, yt, &mut c, 2, 3, 2);
            assert_eq!(c, expected);
        }
        let mut m = [1.0, 2.0, 4.0, 3.0];
        symmetrize(&mut m, 2);
        assert_eq!(m, [1.0, 3.0, 3.0, 3.0]);
    }
}
