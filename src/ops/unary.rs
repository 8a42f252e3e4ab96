//! Elementwise functions of one tensor, including arithmetic with a scalar.
//!
//! Each line of the table below is one operation: its PyTorch backward name, which of
//! input `x` and output `y` its derivative needs, the function `f`, its derivative `df`
//! on numbers, and the same derivative built from recorded operations on values
//! (`record`, which gives `g · f'(x)` for an incoming gradient `g`, differentiably).
//! Where `f' = 1 / q`, an optional `times(g) = g / q` says how to form `g · f'(x)`
//! (`1 / q` overflows for a subnormal `q` where `g / q` does not). From it the macro
//! writes the forward loop, the backward loop (`gx += g · f'(x)`), the forward-mode loop
//! (`t_y = t_x · f'(x)`, the same derivative) and the record.

mod erf;

use crate::element::Element;
use crate::ops::binary::{self, BinaryKind};
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// `g · f'(x)` in the backward loop: the product, or the table's `times` form (a
/// quotient where `f' = 1 / q` and `1 / q` overflows for a subnormal `q`, as
/// PyTorch's `grad / self` does not).
macro_rules! unary_times {
    ($g:ident, $df:expr) => {
        $g * $df
    };
    ($g:ident, $df:expr, $tg:ident, $times:expr) => {{
        let $tg = $g;
        $times
    }};
}

/// Whether a table entry has a `times` form.
macro_rules! unary_divides {
    () => {
        false
    };
    ($times:expr) => {
        true
    };
}

/// Writes [`UnaryKind`] and its forward and backward from the table of operations.
macro_rules! unary_ops {
    ($(
        $(#[$doc:meta])*
        $variant:ident $(($($param:ident: $pty:ty),+))? => $name:literal,
        saves(x: $save_x:literal, y: $save_y:literal),
        f($x:ident) = $f:expr,
        df($dx:ident, $dy:ident) = $df:expr,
        $(times($tg:ident) = $times:expr,)?
        record($rg:ident, $rx:ident, $ry:ident) = $record:expr;
    )*) => {
        /// An elementwise function, with its scalar parameters if it has any.
        #[derive(Clone, Copy, Debug)]
        pub(crate) enum UnaryKind<E> {
            $( $(#[$doc])* $variant $(($($pty),+))?, )*
        }

        impl<E: Element> UnaryKind<E> {
            /// PyTorch's backward name.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $( UnaryKind::$variant $(($($param),+))? => { $($(let _ = $param;)+)? $name } )*
                }
            }

            /// Whether the derivative needs the input and the output.
            fn saves(self) -> (bool, bool) {
                match self {
                    $( UnaryKind::$variant { .. } => ($save_x, $save_y), )*
                }
            }

            /// The function, applied to every element.
            fn forward(self, input: &[E]) -> Storage<E> {
                match self {
                    $( UnaryKind::$variant $(($($param),+))? => {
                        $($(let _ = $param;)+)?
                        Storage::collect(input.len(), input.iter().map(|&$x| $f))
                    } )*
                }
            }

            /// `gx += g * f'(x)`, with `x` and `y` the saved input and output (any slice
            /// of the right length where the derivative does not read them). Also the
            /// forward-mode rule: with a tangent `t` as `g` and zeros as `gx`, it gives
            /// `t * f'(x)`.
            #[allow(unused_variables)]
            fn backward(self, g: &[E], xs: &[E], ys: &[E], gx: &mut [E]) {
                match self {
                    $( UnaryKind::$variant $(($($param),+))? => {
                        $($(let _ = $param;)+)?
                        for (((gx, &g), &$dx), &$dy) in gx.iter_mut().zip(g).zip(xs).zip(ys) {
                            *gx = *gx + unary_times!(g, $df $(, $tg, $times)?);
                        }
                    } )*
                }
            }

            /// Whether `g · f'(x)` is computed as a quotient (`times` in the table), so
            /// that a tangent must not be multiplied by a precomputed `f'(x)`.
            fn divides(self) -> bool {
                match self {
                    $( UnaryKind::$variant { .. } => unary_divides!($($times)?), )*
                }
            }

            /// `out = f'(x)`, elementwise (`x` and `y` as for [`UnaryKind::backward`]).
            #[allow(unused_variables)]
            fn derivative(self, xs: &[E], ys: &[E], out: &mut [E]) {
                match self {
                    $( UnaryKind::$variant $(($($param),+))? => {
                        $($(let _ = $param;)+)?
                        for ((o, &$dx), &$dy) in out.iter_mut().zip(xs).zip(ys) {
                            *o = $df;
                        }
                    } )*
                }
            }

            /// `g * f'(x)` as recorded operations, with `x` and `y` the input and output
            /// as values of the graph (each is `g` where the derivative does not read it).
            #[allow(unused_variables)]
            fn backward_recorded(self, g: &Var<E>, x: &Var<E>, y: &Var<E>) -> Var<E> {
                match self {
                    $( UnaryKind::$variant $(($($param),+))? => {
                        $($(let _ = $param;)+)?
                        let ($rg, $rx, $ry) = (g, x, y);
                        $record
                    } )*
                }
            }
        }
    };
}

/// Shorthand for a literal in the element type.
fn c<E: Element>(value: f64) -> E {
    E::from_f64(value)
}

/// The logistic function, computed without overflow for any input.
pub(crate) fn sigmoid<E: Element>(x: E) -> E {
    if x >= E::zero() {
        E::one() / (E::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (E::one() + e)
    }
}

/// `(σ(x), σ(-x))` from one exponential, each without overflow or cancellation (where
/// `1 - σ(x)` would lose every digit for large x).
pub(crate) fn sigmoid_pair<E: Element>(x: E) -> (E, E) {
    let e = (-x.abs()).exp();
    let (larger, smaller) = (E::one() / (E::one() + e), e / (E::one() + e));
    if x >= E::zero() {
        (larger, smaller)
    } else if x < E::zero() {
        (smaller, larger)
    } else {
        (x, x)
    }
}

/// `ln(1 + e^x)`, computed without overflow or cancellation for any input (NaN stays
/// NaN through the second term).
pub(crate) fn softplus<E: Element>(x: E) -> E {
    let positive_part = if x > E::zero() { x } else { E::zero() };
    positive_part + (-x.abs()).exp().ln_1p()
}

/// The sign as a derivative of `|x|`: 1, -1, 0 at 0 (PyTorch's subgradient), NaN at NaN.
pub(crate) fn sign<E: Element>(x: E) -> E {
    if x > E::zero() {
        E::one()
    } else if x < E::zero() {
        -E::one()
    } else if x == E::zero() {
        E::zero()
    } else {
        E::nan()
    }
}

unary_ops! {
    /// `-x`
    Neg => "NegBackward0", saves(x: false, y: false),
        f(x) = -x, df(x, y) = -E::one(),
        record(g, x, y) = g.map(UnaryKind::Neg);
    /// `x + c`
    AddScalar(s: E) => "AddBackward0", saves(x: false, y: false),
        f(x) = x + s, df(x, y) = E::one(),
        record(g, x, y) = g.clone();
    /// `x - c`
    SubScalar(s: E) => "SubBackward0", saves(x: false, y: false),
        f(x) = x - s, df(x, y) = E::one(),
        record(g, x, y) = g.clone();
    /// `c - x`
    RsubScalar(s: E) => "RsubBackward1", saves(x: false, y: false),
        f(x) = s - x, df(x, y) = -E::one(),
        record(g, x, y) = g.map(UnaryKind::Neg);
    /// `x * c`
    MulScalar(s: E) => "MulBackward0", saves(x: false, y: false),
        f(x) = x * s, df(x, y) = s,
        record(g, x, y) = g.map(UnaryKind::MulScalar(s));
    /// `x / c`
    DivScalar(s: E) => "DivBackward0", saves(x: false, y: false),
        f(x) = x / s, df(x, y) = E::one() / s,
        times(g) = g / s,
        record(g, x, y) = g.map(UnaryKind::DivScalar(s));
    /// `c / x`: `f' = -c / x² = -y / x`; PyTorch computes it as `reciprocal(x) * c`, so
    /// its name is the product's
    RdivScalar(s: E) => "MulBackward0", saves(x: true, y: true),
        f(x) = s / x, df(x, y) = -y / x,
        record(g, x, y) = g.mul(y).div(x).map(UnaryKind::Neg);
    /// `x^p`; a NaN base or power gives NaN (IEEE's `pow(NaN, 0) = 1` and
    /// `pow(1, NaN) = 1` would hide it)
    Powf(p: E) => "PowBackward0", saves(x: true, y: false),
        // Squares (the common case) and first powers skip the general `pow`: `x * x` is
        // the correctly rounded x², as `pow(x, 2)` is, and `pow(x, 1)` is `x`, so the
        // values are the same.
        f(x) = if x.is_nan() || p.is_nan() {
            E::nan()
        } else if p == c(2.0) {
            x * x
        } else if p == E::one() {
            x
        } else {
            x.powf(p)
        },
        df(x, y) = if x.is_nan() || p.is_nan() {
            E::nan()
        } else if p == E::zero() {
            E::zero()
        } else if p == c(2.0) {
            p * x
        } else if p == E::one() {
            E::one()
        } else {
            p * x.powf(p - E::one())
        },
        // For p = 0, `x^0 · 0` is 0, or NaN at a NaN x, as `df` says (`0 · x^-1` would
        // be NaN at x = 0).
        record(g, x, y) = if p == E::zero() {
            g.mul(&x.map(UnaryKind::Powf(p)).map(UnaryKind::MulScalar(E::zero())))
        } else {
            g.mul(&x.map(UnaryKind::Powf(p - E::one())).map(UnaryKind::MulScalar(p)))
        };
    /// `c · x^n` for an integer `n` (`powi` is `c = 1`; `n` is widened from `i32`, so
    /// that the derivatives' `n - 1` cannot overflow). Its derivative is the same
    /// function with the next parameters, `c n · x^(n-1)` ([`powi_derivative`]), so every
    /// order is one rounding from `f64` and the recorded derivative is bit for bit the
    /// plain one: at `x = 0` it is `0^0 = 1` or `0^k = 0`, never `0 · ∞`; for `n = 0` it
    /// is 0 (NaN at a NaN x, as the value).
    Powi(c: f64, n: i64) => "PowBackward0", saves(x: true, y: false),
        f(x) = scaled_powi(x, c, n),
        df(x, y) = { let (c, n) = powi_derivative(c, n); scaled_powi(x, c, n) },
        record(g, x, y) = {
            let (c, n) = powi_derivative(c, n);
            g.mul(&x.map(UnaryKind::Powi(c, n)))
        };
    /// `e^x`
    Exp => "ExpBackward0", saves(x: false, y: true),
        f(x) = x.exp(), df(x, y) = y,
        record(g, x, y) = g.mul(y);
    /// natural logarithm
    Ln => "LogBackward0", saves(x: true, y: false),
        f(x) = x.ln(), df(x, y) = E::one() / x,
        times(g) = g / x,
        record(g, x, y) = g.div(x);
    /// square root
    Sqrt => "SqrtBackward0", saves(x: false, y: true),
        f(x) = x.sqrt(), df(x, y) = c::<E>(0.5) / y,
        record(g, x, y) = g.div(y).map(UnaryKind::MulScalar(c::<E>(0.5)));
    /// absolute value; derivative 0 at 0, as PyTorch, and NaN at NaN (a constant: the
    /// sign's own derivative is 0 wherever it exists)
    Abs => "AbsBackward0", saves(x: true, y: false),
        f(x) = x.abs(), df(x, y) = sign(x),
        record(g, x, y) = g.mul(&x.constant_map(sign));
    /// sine
    Sin => "SinBackward0", saves(x: true, y: false),
        f(x) = x.sin(), df(x, y) = x.cos(),
        record(g, x, y) = g.mul(&x.map(UnaryKind::Cos));
    /// cosine
    Cos => "CosBackward0", saves(x: true, y: false),
        f(x) = x.cos(), df(x, y) = -x.sin(),
        record(g, x, y) = g.mul(&x.map(UnaryKind::Sin)).map(UnaryKind::Neg);
    /// hyperbolic tangent
    Tanh => "TanhBackward0", saves(x: false, y: true),
        f(x) = x.tanh(), df(x, y) = E::one() - y * y,
        record(g, x, y) = g.mul(&y.mul(y).map(UnaryKind::RsubScalar(E::one())));
    /// logistic function; `f' = σ(x) σ(-x)`, which is `y (1 - y)` without the
    /// cancellation of `1 - y` for large x (at x = 38, `y (1 - y)` is 0 for 3.1e-17;
    /// PyTorch's sigmoid backward has it too)
    Sigmoid => "SigmoidBackward0", saves(x: true, y: true),
        f(x) = sigmoid(x), df(x, y) = { let (above, below) = sigmoid_pair(x); above * below },
        record(g, x, y) = g.mul(&y.mul(&x.map(UnaryKind::Neg).map(UnaryKind::Sigmoid)));
    /// `max(x, 0)`; derivative 0 at 0, as PyTorch; NaN stays NaN both ways (`f32::max`
    /// would turn it into 0, and PyTorch's backward gives it a zero gradient)
    Relu => "ReluBackward0", saves(x: false, y: true),
        f(x) = if x <= E::zero() { E::zero() } else { x },
        df(x, y) = relu_slope(y),
        record(g, x, y) = g.mul(&y.constant_map(relu_slope));
    /// `ln(1 + e^x)`
    Softplus => "SoftplusBackward0", saves(x: true, y: false),
        f(x) = softplus(x), df(x, y) = sigmoid(x),
        record(g, x, y) = g.mul(&x.map(UnaryKind::Sigmoid));
    /// `ln(1 + x)`, accurate near 0
    Log1p => "Log1PBackward0", saves(x: true, y: false),
        f(x) = x.ln_1p(), df(x, y) = E::one() / (x + E::one()),
        times(g) = g / (x + E::one()),
        record(g, x, y) = g.div(&x.map(UnaryKind::AddScalar(E::one())));
    /// `e^x - 1`, accurate near 0; `f' = e^x` (PyTorch computes `y + 1`, the same
    /// value, but only to an absolute `ε` where `e^x` is tiny)
    Expm1 => "Expm1Backward0", saves(x: true, y: false),
        f(x) = x.exp_m1(), df(x, y) = x.exp(),
        record(g, x, y) = g.mul(&x.map(UnaryKind::Exp));
    /// the error function; `f' = 2/√π e^(-x²)`
    Erf => "ErfBackward0", saves(x: true, y: false),
        f(x) = erf::erf(x), df(x, y) = E::FRAC_2_SQRT_PI() * (-(x * x)).exp(),
        record(g, x, y) = g.mul(
            &x.mul(x)
                .map(UnaryKind::Neg)
                .map(UnaryKind::Exp)
                .map(UnaryKind::MulScalar(E::FRAC_2_SQRT_PI())),
        );
    /// arctangent; `f' = 1 / (1 + x²)`
    Atan => "AtanBackward0", saves(x: true, y: false),
        f(x) = x.atan(), df(x, y) = E::one() / (E::one() + x * x),
        record(g, x, y) = g.div(&x.mul(x).map(UnaryKind::AddScalar(E::one())));
    /// arcsine; `f' = 1 / √((1 - x)(1 + x))` (the product loses no digits near ±1, as
    /// `1 - x²` would): `+∞` at ±1, NaN beyond, as the value
    Asin => "AsinBackward0", saves(x: true, y: false),
        f(x) = x.asin(), df(x, y) = E::one() / ((E::one() - x) * (E::one() + x)).sqrt(),
        record(g, x, y) = g.div(&one_minus_x_squared_sqrt(x));
    /// arccosine; `f' = -1 / √((1 - x)(1 + x))`
    Acos => "AcosBackward0", saves(x: true, y: false),
        f(x) = x.acos(), df(x, y) = -E::one() / ((E::one() - x) * (E::one() + x)).sqrt(),
        record(g, x, y) = g.div(&one_minus_x_squared_sqrt(x)).map(UnaryKind::Neg);
    /// `1 - x²`, computed as `(1 - x)(1 + x)` (no digits lost near ±1), with `f' = -2x`
    /// as one rule: recorded as a product of `1 - x` and `1 + x`, its derivative would
    /// be `-(1 + x) + (1 - x)`, which cancels near 0 (the second derivative of asin at
    /// 1e-8 was off by 5e-10), and `0 · ∞` at ±1. Internal: the recorded derivative of
    /// asin and acos; PyTorch's `1 - x * x` is its reverse-subtraction node.
    OneMinusSquare => "RsubBackward1", saves(x: true, y: false),
        f(x) = (E::one() - x) * (E::one() + x), df(x, y) = c::<E>(-2.0) * x,
        record(g, x, y) = g.mul(&x.map(UnaryKind::MulScalar(c::<E>(-2.0))));
    /// `x` limited to `[min, max]`; `f'` is 1 inside and on the bounds, 0 outside (a
    /// constant, as relu's mask)
    Clamp(lo: E, hi: E) => "ClampBackward1", saves(x: true, y: false),
        f(x) = clamp(x, lo, hi), df(x, y) = clamp_slope(x, lo, hi),
        record(g, x, y) = g.mul(&x.constant_map(|v| clamp_slope(v, lo, hi)));
    /// `max(x, min)`, NaN-propagating
    ClampMin(lo: E) => "ClampMinBackward0", saves(x: true, y: false),
        f(x) = clamp(x, lo, E::infinity()), df(x, y) = clamp_slope(x, lo, E::infinity()),
        record(g, x, y) = g.mul(&x.constant_map(|v| clamp_slope(v, lo, E::infinity())));
    /// `min(x, max)`, NaN-propagating
    ClampMax(hi: E) => "ClampMaxBackward0", saves(x: true, y: false),
        f(x) = clamp(x, E::neg_infinity(), hi), df(x, y) = clamp_slope(x, E::neg_infinity(), hi),
        record(g, x, y) = g.mul(&x.constant_map(|v| clamp_slope(v, E::neg_infinity(), hi)));
}

/// `c · x^n` for an integer `n`, computed in `f64` (the exponent exact) and rounded
/// once to `E`: NaN at a NaN `x` for every `n` (IEEE's `pow(NaN, 0) = 1` would hide it),
/// else `c` for `n = 0` (at `±∞` and 0 too), `c · x` for `n = 1`, and `c · pow(x, n)`
/// otherwise. So an `f32` power keeps its sign for an odd `n` above 2^24 (which `n as
/// f32` would round to an even number), and an intermediate neither overflows nor
/// underflows where the result does not: `0.1f32^-40` is `inf` because 1e40 is beyond
/// `f32`, not because a product of `f32`s was. `pow` is within an ulp (repeated
/// squaring, as `f64::powi` does, loses about one rounding per bit of `n`).
fn scaled_powi<E: Element>(x: E, c: f64, n: i64) -> E {
    if x.is_nan() {
        return x;
    }
    let x = x.to_f64_exact();
    E::from_f64(match n {
        0 => c,
        1 => c * x,
        // A square is correctly rounded either way, and the product is cheaper.
        2 => c * (x * x),
        _ => c * num_traits::Float::powf(x, n as f64),
    })
}

/// The parameters `(c n, n - 1)` of the derivative of `c · x^n` (`(0, 0)` for `n = 0`:
/// the constant 0, NaN at a NaN x). At `x = 0` that derivative is `c` for `n = 1`, 0 for
/// `n >= 2` and infinite for `n < 0` (the one-sided limits). Only a derivative below
/// `f64`'s normal range (2.2e-308) can lose digits, as any power rounds there.
fn powi_derivative(c: f64, n: i64) -> (f64, i64) {
    if n == 0 {
        (0.0, 0)
    } else {
        (c * n as f64, n - 1)
    }
}

/// `√((1 - x)(1 + x))` as recorded operations (the derivative of asin is its reciprocal).
fn one_minus_x_squared_sqrt<E: Element>(x: &Var<E>) -> Var<E> {
    x.map(UnaryKind::OneMinusSquare).map(UnaryKind::Sqrt)
}

/// `x` limited to `[lo, hi]` as PyTorch's `clamp`: `min(max(x, lo), hi)`, so `hi` where
/// `lo > hi`; NaN if `x` or a bound is NaN (IEEE comparisons alone would return `x` for
/// a NaN bound).
fn clamp<E: Element>(x: E, lo: E, hi: E) -> E {
    if lo.is_nan() || hi.is_nan() {
        return E::nan();
    }
    let raised = if x < lo { lo } else { x };
    if raised > hi {
        hi
    } else {
        raised
    }
}

/// clamp's derivative: 1 where `lo <= x <= hi` (the bounds included, as PyTorch), 0
/// elsewhere (everywhere when `lo > hi`), NaN if `x` or a bound is NaN.
fn clamp_slope<E: Element>(x: E, lo: E, hi: E) -> E {
    if x.is_nan() || lo.is_nan() || hi.is_nan() {
        E::nan()
    } else if lo <= x && x <= hi {
        E::one()
    } else {
        E::zero()
    }
}

/// relu's derivative from its output: 1 above 0, 0 at and below, NaN at NaN.
fn relu_slope<E: Element>(y: E) -> E {
    if y > E::zero() {
        E::one()
    } else if y.is_nan() {
        E::nan()
    } else {
        E::zero()
    }
}

/// A recorded elementwise function, with the values its derivative reads.
#[derive(Clone)]
pub(crate) struct UnaryOp<E: Element> {
    kind: UnaryKind<E>,
    input: Option<Saved>,
    output: Option<Saved>,
}

impl<E: Element> UnaryOp<E> {
    pub(crate) fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub(crate) fn backward(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let saved = parents.saved;
        if let Some(gx) = parents.get_mut(0) {
            let xs = self.input.map_or(grad, |x| x.of(saved));
            let ys = self.output.map_or(grad, |y| y.of(saved));
            self.kind.backward(grad, xs, ys, gx);
        }
    }

    pub(crate) fn backward_recorded(
        &self,
        grad: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        if !node.tracked(0) {
            return [None, None];
        }
        let x = self.input.map(|x| node.input(0, x));
        let y = self.output.map(|y| node.output(y));
        let gx = self.kind.backward_recorded(
            grad,
            x.as_ref().unwrap_or(grad),
            y.as_ref().unwrap_or(grad),
        );
        [Some(gx), None]
    }

    pub(crate) fn jvp(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let len = out.len() / batch.max(1);
        let Some(t) = tangents[0] else { return };
        if len == 0 || t.len() < batch * len {
            return;
        }
        let xs = self.input.map_or(t, |x| x.of(saved));
        let ys = self.output.map_or(t, |y| y.of(saved));
        if batch == 1 || self.kind.divides() {
            for (out, t) in out.chunks_exact_mut(len).zip(t.chunks_exact(len)) {
                self.kind.backward(t, xs, ys, out);
            }
            return;
        }
        // f'(x) once, into the first tangent's place, then applied to every tangent
        // (the first last, since it holds f'(x) until then).
        let (first, rest) = out.split_at_mut(len);
        self.kind.derivative(xs, ys, first);
        for (out, t) in rest.chunks_exact_mut(len).zip(t[len..].chunks_exact(len)) {
            for ((o, &t), &d) in out.iter_mut().zip(t).zip(first.iter()) {
                *o = t * d;
            }
        }
        for (o, &t) in first.iter_mut().zip(&t[..len]) {
            *o = t * *o;
        }
    }
}

impl<E: Element> UnaryKind<E> {
    /// `kind` applied to every element of `input` (an entry of `compiled`'s table, for
    /// untracked values).
    pub(crate) fn values(input: &[E], kind: Self) -> Storage<E> {
        kind.forward(input)
    }
}

/// Applies `kind` to `x`, recording it if `x` is tracked. Out of line and generic over
/// the element type only, for compile time, as `binary::apply` (untracked values skip
/// it).
#[inline(never)]
pub(crate) fn apply<E: Element>(x: Operand<'_, E>, kind: UnaryKind<E>) -> Var<E> {
    let output = kind.forward(x.values());
    let (save_x, save_y) = kind.saves();
    finish(output, [Some(x), None], |saver| {
        Op::Unary(UnaryOp {
            kind,
            input: save_x.then(|| saver.save(x.data)),
            output: save_y.then(|| saver.save_output()),
        })
    })
}

impl<E: Element> Var<E> {
    /// `kind` applied to every element, recorded if this value is tracked.
    pub(crate) fn map(&self, kind: UnaryKind<E>) -> Var<E> {
        apply(self.operand(), kind)
    }

    /// `f` of every element, as a constant: for derivatives that are piecewise
    /// constant (a sign, a mask), whose own derivative is 0 wherever it exists.
    pub(crate) fn constant_map(&self, f: impl Fn(E) -> E) -> Var<E> {
        Var::constant(self.data.iter().map(|&v| f(v)).collect())
    }

    /// `self * other` elementwise (one may repeat along the other, as in broadcasting).
    pub(crate) fn mul(&self, other: &Var<E>) -> Var<E> {
        binary::apply_vars(self, other, BinaryKind::Mul)
    }

    /// `self / other` elementwise (one may repeat along the other).
    pub(crate) fn div(&self, other: &Var<E>) -> Var<E> {
        binary::apply_vars(self, other, BinaryKind::Div)
    }

    /// `self + other` elementwise (one may repeat along the other).
    pub(crate) fn add(&self, other: &Var<E>) -> Var<E> {
        binary::apply_vars(self, other, BinaryKind::Add)
    }

    /// `self - other` elementwise (one may repeat along the other).
    pub(crate) fn sub(&self, other: &Var<E>) -> Var<E> {
        binary::apply_vars(self, other, BinaryKind::Sub)
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// `kind` applied to every element.
    pub(crate) fn unary(&self, kind: UnaryKind<E>) -> Tensor<S, E, UnaryTape<T>> {
        if T::RECORDS {
            Tensor::from_var((E::compiled().unary)(self.operand(), kind))
        } else {
            // Nothing to record: the function's loop, one call away.
            let values = (E::compiled().unary_values)(self.as_slice(), kind);
            Tensor::from_untracked(values)
        }
    }
}

/// Writes a tensor method per elementwise function.
macro_rules! unary_methods {
    ($($(#[$doc:meta])* $method:ident => $kind:ident;)*) => {
        impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
            $(
                $(#[$doc])*
                ///
                /// ```
                /// use typegrad::gradcheck::{gradcheck, Tolerance};
                /// use typegrad::prelude::*;
                /// let x = Tensor::from_array([[0.3f64, 0.9], [1.7, 2.4]]);
                #[doc = concat!("let y = x.", stringify!($method), "();")]
                /// assert_eq!(y.dims(), &[2, 2]);
                /// // Its gradient agrees with central finite differences:
                #[doc = concat!("gradcheck(|x| x.", stringify!($method), "().sum(), &x, Tolerance::default()).unwrap();")]
                /// ```
                pub fn $method(&self) -> Tensor<S, E, UnaryTape<T>> {
                    self.unary(UnaryKind::$kind)
                }
            )*
        }
    };
}

unary_methods! {
    /// `e^x`, elementwise.
    exp => Exp;
    /// Natural logarithm, elementwise (`NaN` below 0, `-inf` at 0, as PyTorch).
    ln => Ln;
    /// Square root, elementwise.
    sqrt => Sqrt;
    /// Absolute value, elementwise; its derivative at 0 is 0 (PyTorch's choice).
    abs => Abs;
    /// Sine, elementwise.
    sin => Sin;
    /// Cosine, elementwise.
    cos => Cos;
    /// Hyperbolic tangent, elementwise.
    tanh => Tanh;
    /// The logistic function `1 / (1 + e^-x)`, elementwise, stable for any input.
    sigmoid => Sigmoid;
    /// `max(x, 0)`, elementwise; its derivative at 0 is 0 (PyTorch's choice).
    relu => Relu;
    /// `ln(1 + e^x)`, elementwise, stable for any input.
    softplus => Softplus;
    /// `ln(1 + x)`, elementwise, accurate where `x` is near 0 (PyTorch's `log1p`; `NaN`
    /// below -1, `-inf` at -1).
    log1p => Log1p;
    /// `e^x - 1`, elementwise, accurate where `x` is near 0 (PyTorch's `expm1`).
    expm1 => Expm1;
    /// The error function `2/√π ∫₀ˣ e^(-t²) dt`, elementwise (PyTorch's `erf`), within
    /// about 1 ulp in `f64`; its derivative is `2/√π e^(-x²)`.
    erf => Erf;
    /// Arctangent, elementwise, in `(-π/2, π/2)`.
    atan => Atan;
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// `x^p` for a scalar power `p`, elementwise (PyTorch's `x ** p`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f64, 2.0, 3.0]).track();
    /// let grads = x.powf(2.0).sum().backward();
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
    /// ```
    pub fn powf(&self, p: E) -> Tensor<S, E, UnaryTape<T>> {
        self.unary(UnaryKind::Powf(p))
    }

    /// `x^n` for an integer power `n`, elementwise (PyTorch's `x ** n` and `pow` with an
    /// integer exponent, `PowBackward0`). Negative bases are fine for any `n`; `n = 0`
    /// gives 1 (also at `±inf` and 0) with derivative 0, negative `n` gives `1 / x^|n|`
    /// (`inf` at 0, with the sign of an odd power). The derivative `n x^(n-1)` is exact
    /// at `x = 0` (0 for `n >= 2`, 1 for `n = 1`) rather than NaN. The power is computed
    /// in `f64` with the exponent exact and rounded once, so an `f32` result is correctly
    /// rounded but for rare halfway cases, and a result is infinite or 0 only where the
    /// true value is beyond the element type. A `NaN` element gives `NaN` and a NaN
    /// derivative, for every `n` (IEEE's `pow(NaN, 0) = 1` would hide it).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([-2.0f64, 0.0, 3.0]).track();
    /// let y = x.powi(3);
    /// assert_eq!(y.to_vec(), vec![-8.0, 0.0, 27.0]);
    /// assert_eq!(y.grad_fn().unwrap().name(), "PowBackward0");
    /// assert_eq!(y.sum().backward().get(&x).unwrap().to_vec(), vec![12.0, 0.0, 27.0]);
    /// assert_eq!(Tensor::from_array([2.0f32, -0.5]).powi(-2).to_vec(), vec![0.25, 4.0]);
    /// let x = Tensor::from_array([[-1.3f64, 0.4], [2.1, -0.8]]);
    /// gradcheck(|x| x.powi(5).sum(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn powi(&self, n: i32) -> Tensor<S, E, UnaryTape<T>> {
        self.unary(UnaryKind::Powi(1.0, i64::from(n)))
    }

    /// Arcsine, elementwise, in `[-π/2, π/2]` (PyTorch's `asin`): `NaN` outside
    /// `[-1, 1]`; the derivative `1/√(1 - x²)` is `+inf` at ±1.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[-0.9f64, -0.2], [0.4, 0.8]]);
    /// let y = x.asin();
    /// assert_eq!(y.dims(), &[2, 2]);
    /// // Its gradient agrees with central finite differences:
    /// gradcheck(|x| x.asin().sum(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn asin(&self) -> Tensor<S, E, UnaryTape<T>> {
        self.unary(UnaryKind::Asin)
    }

    /// Arccosine, elementwise, in `[0, π]` (PyTorch's `acos`): `NaN` outside `[-1, 1]`;
    /// the derivative `-1/√(1 - x²)` is `-inf` at ±1.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[-0.9f64, -0.2], [0.4, 0.8]]);
    /// let y = x.acos();
    /// assert_eq!(y.dims(), &[2, 2]);
    /// // Its gradient agrees with central finite differences:
    /// gradcheck(|x| x.acos().sum(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn acos(&self) -> Tensor<S, E, UnaryTape<T>> {
        self.unary(UnaryKind::Acos)
    }

    /// Each element limited to `[min, max]` (PyTorch's `clamp(min, max)`, whose backward
    /// is `ClampBackward1`).
    ///
    /// The gradient is 1 where `min <= x <= max`, the bounds included (PyTorch's
    /// subgradient there), and 0 outside. As in PyTorch, `min > max` is not an error:
    /// every element becomes `max`, with gradient 0. A `NaN` element gives `NaN` and a
    /// `NaN` gradient (PyTorch gives it gradient 0); a `NaN` bound makes every element and
    /// gradient `NaN` (PyTorch's values too).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([-2.0f64, -1.0, 0.5, 1.0, 3.0]).track();
    /// let y = x.clamp(-1.0, 1.0);
    /// assert_eq!(y.to_vec(), vec![-1.0, -1.0, 0.5, 1.0, 1.0]);
    /// let grads = y.sum().backward();
    /// // 1 inside and on the bounds, 0 outside:
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![0.0, 1.0, 1.0, 1.0, 0.0]);
    /// // Its gradient agrees with central finite differences away from the bounds:
    /// let x = Tensor::from_array([[-1.7f64, -0.3], [0.4, 2.4]]);
    /// gradcheck(|x| x.clamp(-1.0, 1.0).sum(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn clamp(&self, min: E, max: E) -> Tensor<S, E, UnaryTape<T>> {
        self.unary(UnaryKind::Clamp(min, max))
    }

    /// Each element raised to at least `min` (PyTorch's `clamp_min`, whose backward is
    /// `ClampMinBackward0`): gradient 1 where `x >= min`, 0 below; `NaN` as for
    /// [`clamp`](Self::clamp).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[-1.7f64, -0.3], [0.4, 2.4]]);
    /// assert_eq!(x.clamp_min(0.0).to_vec(), vec![0.0, 0.0, 0.4, 2.4]);
    /// gradcheck(|x| x.clamp_min(0.0).sum(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn clamp_min(&self, min: E) -> Tensor<S, E, UnaryTape<T>> {
        self.unary(UnaryKind::ClampMin(min))
    }

    /// Each element lowered to at most `max` (PyTorch's `clamp_max`, whose backward is
    /// `ClampMaxBackward0`): gradient 1 where `x <= max`, 0 above; `NaN` as for
    /// [`clamp`](Self::clamp).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[-1.7f64, -0.3], [0.4, 2.4]]);
    /// assert_eq!(x.clamp_max(0.0).to_vec(), vec![-1.7, -0.3, 0.0, 0.0]);
    /// gradcheck(|x| x.clamp_max(0.0).sum(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn clamp_max(&self, max: E) -> Tensor<S, E, UnaryTape<T>> {
        self.unary(UnaryKind::ClampMax(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_and_softplus_are_finite_at_extremes() {
        for x in [-1e4f64, -50.0, 0.0, 50.0, 1e4] {
            assert!(sigmoid(x).is_finite());
            assert!(softplus(x).is_finite());
        }
        assert_eq!(softplus(1e4f64), 1e4);
        assert!((softplus(0.0f64) - 2f64.ln()).abs() < 1e-15);
    }
}
