//! The error function, which num-traits' `Float` does not have.
//!
//! Polynomials fitted for this crate (Chebyshev fits of degree 12 to 19, computed with
//! 60-digit arithmetic, mpmath's `chebyfit`), evaluated in `f64`; the error against the
//! exact function is below 1.2 ulp on every interval (measured at 120,000 random points
//! against mpmath). `f32` rounds the `f64` value to nearest.
//!
//! - `|x| ≤ 1`: `erf(x) = x + x · P(x²)`, with `P(t) ≈ erf(√t)/√t - 1` (|P| ≤ 0.16,
//!   so its rounding errors are small next to `x`).
//! - `1 < |x| < 6`: `erf(x) = 1 - e^(-x²) · F(|x|)`, with `F(x) ≈ e^(x²) erfc(x)` (the
//!   scaled complementary error function, smooth and slowly varying) on three intervals,
//!   each a polynomial in `x - c` for its centre `c` (an exact subtraction); `e^(-x²)` is
//!   `e^(-z²) · e^((z - x)(z + x))` with `z` the leading 21 bits of `x`, so that `z²` is
//!   exact and the large exponent carries no rounding error.
//! - `|x| ≥ 6`: `±1` (`erfc(6) ≈ 2.2e-17` is below half an ulp of 1).
//!
//! NaN gives NaN; `erf(±∞) = ±1`; `erf(-0) = -0`.

use crate::element::Element;
use num_traits::Float;

/// `erf(x)`, from [`erf_f64`] (for `f32`, its value rounded to nearest: correctly rounded
/// unless the exact value lies within about one `f64` ulp of a midpoint between two
/// `f32` values).
pub(crate) fn erf<E: Element>(x: E) -> E {
    E::from_f64(erf_f64(x.to_f64_exact()))
}

/// The error function in `f64`, within about 1 ulp.
pub(crate) fn erf_f64(x: f64) -> f64 {
    let ax = x.abs();
    if ax <= 1.0 {
        return x + x * horner(&SMALL, x * x);
    }
    if ax.is_nan() {
        return x;
    }
    if ax >= 6.0 {
        return 1.0f64.copysign(x);
    }
    let scaled_erfc = if ax < 2.0 {
        horner(&TAIL_1_2, ax - 1.5)
    } else if ax < 3.5 {
        horner(&TAIL_2_35, ax - 2.75)
    } else {
        horner(&TAIL_35_6, ax - 4.75)
    };
    // z: x with its low 32 bits cleared (21 significant bits), so z * z is exact.
    let z = f64::from_bits(ax.to_bits() & 0xffff_ffff_0000_0000);
    let gauss = Float::exp(-z * z) * Float::exp((z - ax) * (z + ax));
    Float::copysign(1.0 - gauss * scaled_erfc, x)
}

/// `c[0] s^(n-1) + … + c[n-1]`.
fn horner(coefficients: &[f64], s: f64) -> f64 {
    coefficients.iter().fold(0.0, |acc, &c| acc * s + c)
}

/// `erf(√t)/√t - 1` for `t` in `[0, 1]`, highest degree first.
const SMALL: [f64; 13] = [
    5.957176147748911e-11,
    -1.1372848856791674e-09,
    1.4659775274047436e-08,
    -1.6350312701054695e-07,
    1.6461000484121368e-06,
    -1.4925595266831182e-05,
    0.0001205533111164271,
    -0.000854832698083379,
    0.0052239776248180145,
    -0.026866170645076792,
    0.11283791670954879,
    -0.3761263890318375,
    0.1283791670955126,
];
/// `e^(x²) erfc(x)` for `x` in `[1, 2)`, in powers of `x - 1.5`, highest first.
const TAIL_1_2: [f64; 18] = [
    -3.4778531023839574e-09,
    1.329844554951821e-08,
    -4.585146974854072e-08,
    1.6708703859197203e-07,
    -5.961119446974675e-07,
    2.067088490322641e-06,
    -6.974987241686018e-06,
    2.2864294807967016e-05,
    -7.265892257522832e-05,
    0.00022330994586274217,
    -0.0006619300663930904,
    0.0018861348769562312,
    -0.005145957547985475,
    0.013377340953068511,
    -0.032930905299562635,
    0.07615103985547739,
    -0.16362291773256007,
    0.3215854164543175,
];
/// `e^(x²) erfc(x)` for `x` in `[2, 3.5)`, in powers of `x - 2.75`, highest first.
const TAIL_2_35: [f64; 18] = [
    -1.9033341776852134e-11,
    8.88871719258283e-11,
    -3.601905695321358e-10,
    1.6194561547466204e-09,
    -7.2012225046835695e-09,
    3.121531648858328e-08,
    -1.3262502467727597e-07,
    5.519738191507474e-07,
    -2.2473735137402935e-06,
    8.940156439196906e-06,
    -3.469860956890751e-05,
    0.0001311818004875362,
    -0.0004821950849815436,
    0.0017195818852915683,
    -0.005934337896997966,
    0.019758592987322816,
    -0.06323763756063484,
    0.1936620962790687,
];
/// `e^(x²) erfc(x)` for `x` in `[3.5, 6)`, in powers of `x - 4.75`, highest first.
const TAIL_35_6: [f64; 20] = [
    -6.967058483586665e-16,
    4.418116067216368e-15,
    -2.2296939163216056e-14,
    1.3788567789968384e-13,
    -8.616561594719681e-13,
    5.21891018757171e-12,
    -3.12214957291069e-11,
    1.8479759770409932e-10,
    -1.0807615553487736e-09,
    6.242438035376163e-09,
    -3.559574699373066e-08,
    2.002919683441791e-07,
    -1.1115677201483395e-06,
    6.08111455078227e-06,
    -3.277578113462419e-05,
    0.0001739283040406064,
    -0.0009080988970296908,
    0.004661326368972343,
    -0.02350344859816315,
    0.11630270721024731,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// erf at points spanning every interval and their ends, against values computed to
    /// 40 digits (mpmath) and rounded to the nearest `f64`.
    const KNOWN: [(f64, f64); 23] = [
        (1e-300, 1.1283791670955126e-300),
        (1e-8, 1.1283791670955126e-08),
        (0.1, 0.1124629160182849),
        (-0.3, -0.32862675945912745),
        (0.5, 0.5204998778130465),
        (0.84375, 0.7672256612323416),
        (0.999, 0.8422852702064969),
        (1.0, 0.8427007929497149),
        (1.001, 0.8431154854780764),
        (1.25, 0.9229001282564583),
        (1.5, 0.9661051464753108),
        (1.999, 0.9953015566513705),
        (2.0, 0.9953222650189527),
        (-2.2, -0.998137153702018),
        (2.5, 0.999593047982555),
        (3.0, 0.9999779095030014),
        (3.4999, 0.999999256361496),
        (3.5, 0.9999992569016276),
        (4.0, 0.9999999845827421),
        (4.75, 0.9999999999815149),
        (5.0, 0.9999999999984626),
        (5.5, 0.9999999999999927),
        (5.9, 0.9999999999999999),
    ];

    #[test]
    fn matches_known_values_to_1e_15_relative() {
        for (x, exact) in KNOWN {
            let got = erf_f64(x);
            let relative = ((got - exact) / exact).abs();
            assert!(
                relative <= 1e-15,
                "erf({x}) = {got:e}, exact {exact:e}: {relative:e}"
            );
            // Odd.
            assert_eq!(erf_f64(-x), -got);
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(erf_f64(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(erf_f64(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(erf_f64(6.0), 1.0);
        assert_eq!(erf_f64(-30.0), -1.0);
        assert_eq!(erf_f64(f64::INFINITY), 1.0);
        assert_eq!(erf_f64(f64::NEG_INFINITY), -1.0);
        assert!(erf_f64(f64::NAN).is_nan());
        assert!(erf(f32::NAN).is_nan());
        // Below 1e-8, erf(x) = 2x/√π to within an ulp.
        let tiny = 1e-200;
        assert!((erf_f64(tiny) / (tiny * core::f64::consts::FRAC_2_SQRT_PI) - 1.0).abs() < 3e-16);
    }

    /// Continuous where the intervals meet (the values on either side of each boundary
    /// differ by at most a few ulp of the value, as the function does there).
    #[test]
    fn continuous_at_the_interval_boundaries() {
        for b in [1.0f64, 2.0, 3.5, 6.0] {
            let below = erf_f64(b - b * f64::EPSILON);
            let above = erf_f64(b + b * f64::EPSILON);
            assert!(below <= above, "erf is increasing at {b}");
            assert!(above - below <= 4.0 * f64::EPSILON, "{b}: {below} {above}");
        }
    }

    /// `f32` is the `f64` value rounded, so within half an `f32` ulp (plus the `f64` error)
    /// of the exact value; monotone on a fine grid.
    #[test]
    fn f32_is_the_f64_value_rounded() {
        for (x, exact) in KNOWN {
            let x32 = x as f32;
            if f64::from(x32) == x {
                let got = erf(x32);
                assert_eq!(got, exact as f32, "erf({x}) in f32");
            }
        }
        let mut previous = -1.0f32;
        for i in -700..=700 {
            let x = i as f32 / 100.0;
            let got = erf(x);
            assert_eq!(got, erf_f64(f64::from(x)) as f32);
            assert!(got >= previous, "monotone at {x}");
            previous = got;
        }
    }
}
