//! Elementwise arithmetic between two tensors (`+ - * /`, maximum, minimum, atan2, pow),
//! with implicit broadcasting of leading dimensions, and with a scalar on either side.
//!
//! Every operator is implemented for tensors by value and by reference, so both
//! `a + b` and `&a + &b` work; a tensor operand is never consumed for its storage (that
//! is shared), only for convenience.

use core::ops::{Add, Div, Mul, Neg, Sub};

use crate::element::{Element, SameElement};
use crate::ops::unary::UnaryKind;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::{Broadcast, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{BinaryTape, Merge, Tape, UnaryTape};
use crate::tensor::construction::build;
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// An elementwise operation between two tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    /// `atan2(l, r)`: the angle of the point `(x, y) = (r, l)`
    Atan2,
    /// `l^r`
    Pow,
}

impl BinaryKind {
    /// The function and its two partial derivatives, side by side.
    #[inline(always)]
    fn f<E: Element>(self, l: E, r: E) -> E {
        match self {
            BinaryKind::Add => l + r,
            BinaryKind::Sub => l - r,
            BinaryKind::Mul => l * r,
            BinaryKind::Div => l / r,
            // A NaN on either side wins, as IEEE 754's `maximum` and PyTorch say
            // (`f32::max` would return the other operand).
            BinaryKind::Maximum => select(r.is_nan(), r, select(l >= r || l.is_nan(), l, r)),
            BinaryKind::Minimum => select(r.is_nan(), r, select(l <= r || l.is_nan(), l, r)),
            BinaryKind::Atan2 => l.atan2(r),
            // NaN either side gives NaN (IEEE's `pow(NaN, 0) = pow(1, NaN) = 1` would hide it).
            BinaryKind::Pow => select(l.is_nan() || r.is_nan(), E::nan(), l.powf(r)),
        }
    }

    /// d f / d l
    #[inline(always)]
    fn dl<E: Element>(self, l: E, r: E) -> E {
        match self {
            BinaryKind::Add | BinaryKind::Sub => E::one(),
            BinaryKind::Mul => r,
            BinaryKind::Div => E::one() / r,
            BinaryKind::Maximum => unordered_or(l, r, share(l > r, l == r)),
            BinaryKind::Minimum => unordered_or(l, r, share(l < r, l == r)),
            // Divided by the hypotenuse twice: `l² + r²` would overflow or underflow
            // for operands the result is well defined for.
            BinaryKind::Atan2 => r / l.hypot(r) / l.hypot(r),
            BinaryKind::Pow => unordered_or(l, r, pow_base_partial(l, r)),
        }
    }

    /// d f / d r
    #[inline(always)]
    fn dr<E: Element>(self, l: E, r: E) -> E {
        match self {
            BinaryKind::Add => E::one(),
            BinaryKind::Sub => -E::one(),
            BinaryKind::Mul => l,
            // `-(l / r) / r`, as PyTorch: `r * r` would overflow or underflow where the
            // partial itself is an ordinary number (l = 1e300, r = 1e200: -1e-100).
            BinaryKind::Div => -(l / r / r),
            BinaryKind::Maximum => unordered_or(l, r, share(r > l, l == r)),
            BinaryKind::Minimum => unordered_or(l, r, share(r < l, l == r)),
            BinaryKind::Atan2 => -(l / l.hypot(r) / l.hypot(r)),
            BinaryKind::Pow => unordered_or(l, r, pow_exponent_partial(l, r)),
        }
    }

    /// `g · ∂f/∂l`, what the backward and forward rules add: the product with the
    /// partial, but for a quotient `g / r` (PyTorch's form), since `1 / r` overflows for
    /// a subnormal `r` where `g / r` is an ordinary number (or 0, for `g = 0`).
    #[inline(always)]
    fn times_dl<E: Element>(self, g: E, l: E, r: E) -> E {
        match self {
            BinaryKind::Div => g / r,
            _ => g * self.dl(l, r),
        }
    }

    /// `g · ∂f/∂r`; for a quotient `-(g · (l / r)) / r`: `l / r` is the output, an
    /// ordinary number, and `g` meets it before the second division, so neither
    /// `(l / r) / r` alone (g = 1e-300, l = 1, r = 1e-200) nor `g · l`
    /// (g = 1e10, l = 1e300) overflows on the way to a representable partial.
    #[inline(always)]
    fn times_dr<E: Element>(self, g: E, l: E, r: E) -> E {
        match self {
            BinaryKind::Div => -(g * (l / r)) / r,
            _ => g * self.dr(l, r),
        }
    }

    fn name(self) -> &'static str {
        match self {
            BinaryKind::Add => "AddBackward0",
            BinaryKind::Sub => "SubBackward0",
            BinaryKind::Mul => "MulBackward0",
            BinaryKind::Div => "DivBackward0",
            BinaryKind::Maximum => "MaximumBackward0",
            BinaryKind::Minimum => "MinimumBackward0",
            BinaryKind::Atan2 => "Atan2Backward0",
            BinaryKind::Pow => "PowBackward1",
        }
    }

    /// Whether the partial derivatives are constants (no saved values needed).
    /// Whether the kind is a single arithmetic instruction per element (computing it on
    /// padding too costs less than a loop of the value's own length).
    fn is_cheap(self) -> bool {
        matches!(
            self,
            BinaryKind::Add | BinaryKind::Sub | BinaryKind::Mul | BinaryKind::Div
        )
    }

    fn is_linear(self) -> bool {
        matches!(self, BinaryKind::Add | BinaryKind::Sub)
    }
}

/// `a` if `condition`, else `b`.
#[inline(always)]
fn select<E>(condition: bool, a: E, b: E) -> E {
    if condition {
        a
    } else {
        b
    }
}

/// An operand's share of the gradient of a maximum or minimum: all of it where it won,
/// half where the two tie (PyTorch's rule), none where it lost.
#[inline(always)]
fn share<E: Element>(won: bool, tie: bool) -> E {
    select(won, E::one(), select(tie, E::from_f64(0.5), E::zero()))
}

/// NaN if `l` and `r` cannot be compared (either is NaN), else `value`: a partial
/// derivative that depends on a comparison is undefined where the comparison is.
#[inline(always)]
fn unordered_or<E: Element>(l: E, r: E, value: E) -> E {
    select(l.is_nan() || r.is_nan(), E::nan(), value)
}

/// `∂(x^p)/∂x = p x^(p-1)`, and 0 where `p = 0` (PyTorch's `pow_backward_self`: `x^0` is
/// constant, and `0 · 0^-1` would be NaN).
#[inline(always)]
fn pow_base_partial<E: Element>(x: E, p: E) -> E {
    select(p == E::zero(), E::zero(), p * x.powf(p - E::one()))
}

/// `∂(x^p)/∂p = x^p ln x`, and 0 where `x = 0` and `p >= 0` (PyTorch's
/// `pow_backward_exponent`: the limit as `x → 0+`; `0 · -∞` would be NaN). At `x = 0`,
/// `p < 0` it is `-∞`, as PyTorch defines it; below 0 it is NaN (`ln x`).
#[inline(always)]
fn pow_exponent_partial<E: Element>(x: E, p: E) -> E {
    select(
        x == E::zero() && p >= E::zero(),
        E::zero(),
        x.powf(p) * x.ln(),
    )
}

/// Runs `$body` with `$k` bound to a constant kind, once per kind: the kind's function
/// and partials inline into the loops of `$body` (one loop per kind, vectorisable)
/// instead of being dispatched per element.
macro_rules! with_kind {
    ($kind:expr, $k:ident => $body:expr) => {
        with_kind!(@each $kind, $k, $body, Add Sub Mul Div Maximum Minimum Atan2 Pow)
    };
    (@each $kind:expr, $k:ident, $body:expr, $($variant:ident)*) => {
        match $kind {
            $(BinaryKind::$variant => {
                const $k: BinaryKind = BinaryKind::$variant;
                $body
            })*
        }
    };
}

/// `f(l, r)` elementwise into `len` elements, the shorter operand repeating (its length
/// divides the other's; an empty operand makes an empty result).
#[inline(always)]
fn forward_broadcast<E: Element>(
    l: &[E],
    r: &[E],
    len: usize,
    f: impl Fn(E, E) -> E,
) -> Storage<E> {
    let (nl, nr) = (l.len(), r.len());
    if nl == nr {
        return Storage::collect(nl, l.iter().zip(r).map(|(&a, &b)| f(a, b)));
    }
    build(len, |out| {
        if nl > nr && nr > 0 {
            for (out, l) in out.chunks_exact_mut(nr).zip(l.chunks_exact(nr)) {
                for ((o, &a), &b) in out.iter_mut().zip(l).zip(r) {
                    *o = f(a, b);
                }
            }
        } else if nl > 0 {
            for (out, r) in out.chunks_exact_mut(nl).zip(r.chunks_exact(nl)) {
                for ((o, &a), &b) in out.iter_mut().zip(l).zip(r) {
                    *o = f(a, b);
                }
            }
        }
    })
}

/// The saved operand `value` among `saved`, or, for an operand the partials being taken
/// do not read (not saved), `n` elements of `stand_in` in its place: the loops walk the
/// operand beside the other, but never read its elements.
#[inline(always)]
fn value_or_unread<'a, E: Element>(
    value: Option<Saved>,
    saved: &'a [Storage<E>],
    stand_in: &'a [E],
    n: usize,
) -> &'a [E] {
    match value {
        Some(value) => value.of(saved),
        None => stand_in.get(..n).unwrap_or(stand_in),
    }
}

/// Which operand a gradient belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// `gs += term(grad, l, r)` for the operand on `side`, summing over the repetitions of a
/// broadcast operand.
#[inline(always)]
fn backward_broadcast<E: Element>(
    gs: &mut [E],
    grad: &[E],
    (l, r): (&[E], &[E]),
    side: Side,
    term: impl Fn(E, E, E) -> E,
) {
    let (nl, nr) = (l.len(), r.len());
    let add = |gs: &mut [E], grad: &[E], l: &[E], r: &[E]| {
        for (((s, &g), &a), &b) in gs.iter_mut().zip(grad).zip(l).zip(r) {
            *s = *s + term(g, a, b);
        }
    };
    if nl == nr {
        add(gs, grad, l, r);
    } else if nl > nr && nr > 0 {
        // The right operand repeats along blocks of the left.
        for (block, (grad, l)) in grad.chunks_exact(nr).zip(l.chunks_exact(nr)).enumerate() {
            match side {
                Side::Left => add(&mut gs[block * nr..(block + 1) * nr], grad, l, r),
                Side::Right => add(gs, grad, l, r),
            }
        }
    } else if nl > 0 {
        for (block, (grad, r)) in grad.chunks_exact(nl).zip(r.chunks_exact(nl)).enumerate() {
            match side {
                Side::Left => add(gs, grad, l, r),
                Side::Right => add(&mut gs[block * nl..(block + 1) * nl], grad, l, r),
            }
        }
    }
}

/// A recorded elementwise binary operation.
#[derive(Clone)]
pub(crate) struct BinaryOp {
    kind: BinaryKind,
    /// Operand values for the partials of kinds that read them (not Add and Sub), each
    /// kept only if a tracked operand's partial reads it: `x * c` saves `c` alone.
    values: Option<(Option<Saved>, Option<Saved>)>,
    lhs_len: usize,
    rhs_len: usize,
}

impl BinaryOp {
    pub(crate) fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let (nl, nr, kind) = (self.lhs_len, self.rhs_len, self.kind);
        let saved = parents.saved;
        let operand = |v: Option<Saved>, n: usize| value_or_unread(v, saved, grad, n);
        match self.values.map(|(l, r)| (operand(l, nl), operand(r, nr))) {
            None => {
                // Add or Sub: the partials are ±1, so only the broadcast sum remains.
                for (k, sign) in [(0, E::one()), (1, kind.dr(E::zero(), E::one()))] {
                    if let Some(gs) = parents.get_mut(k) {
                        let n = gs.len().max(1);
                        for chunk in grad.chunks(n) {
                            for (g, &d) in gs.iter_mut().zip(chunk) {
                                *g = *g + sign * d;
                            }
                        }
                    }
                }
            }
            Some((l, r)) => {
                let operands = (&l[..nl.min(l.len())], &r[..nr.min(r.len())]);
                if let Some(gl) = parents.get_mut(0) {
                    with_kind!(kind, K => backward_broadcast(gl, grad, operands, Side::Left, |g, a, b| K.times_dl(g, a, b)));
                }
                if let Some(gr) = parents.get_mut(1) {
                    with_kind!(kind, K => backward_broadcast(gr, grad, operands, Side::Right, |g, a, b| K.times_dr(g, a, b)));
                }
            }
        }
    }

    /// The gradients as recorded operations: `g · ∂f/∂l` and `g · ∂f/∂r`, each summed
    /// over the repetitions of a broadcast operand.
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let (nl, nr) = (self.lhs_len, self.rhs_len);
        let values = self
            .values
            .map(|(l, r)| (l.map(|l| node.input(0, l)), r.map(|r| node.input(1, r))));
        let partial = |k: usize| -> Option<Var<E>> {
            if !node.tracked(k) {
                return None;
            }
            let (l, r) = match &values {
                Some((l, r)) => (l.as_ref(), r.as_ref()),
                None => (None, None),
            };
            let full = match (self.kind, l, r) {
                (BinaryKind::Add, _, _) => g.clone(),
                (BinaryKind::Sub, _, _) if k == 0 => g.clone(),
                (BinaryKind::Sub, _, _) => g.map(UnaryKind::Neg),
                (BinaryKind::Mul, _, Some(r)) if k == 0 => g.mul(r),
                (BinaryKind::Mul, Some(l), _) if k == 1 => g.mul(l),
                (BinaryKind::Div, _, Some(r)) if k == 0 => g.div(r),
                // -(g · (l / r)) / r, as `times_dr` orders it.
                (BinaryKind::Div, Some(l), Some(r)) => g.mul(&l.div(r)).div(r).map(UnaryKind::Neg),
                // ∂/∂y = x / h / h, ∂/∂x = -y / h / h, with y on the left and h the
                // hypotenuse, recorded as s·√((y/s)² + (x/s)²) for a constant scale s
                // (the larger magnitude): the same function for any s > 0, so its
                // derivatives are exact, and the squares neither overflow nor underflow.
                (BinaryKind::Atan2, Some(l), Some(r)) => {
                    let scale = Var::constant(broadcast_values(&l.data, &r.data, |a, b| {
                        // A NaN operand makes the result NaN through `l` and `r` anyway.
                        let (a, b) = (a.abs(), b.abs());
                        let larger = select(a >= b, a, b);
                        select(larger.is_finite() && larger > E::zero(), larger, E::one())
                    }));
                    let (ls, rs) = (l.div(&scale), r.div(&scale));
                    let hypotenuse = ls
                        .mul(&ls)
                        .add(&rs.mul(&rs))
                        .map(UnaryKind::Sqrt)
                        .mul(&scale);
                    let over_squared = |v: &Var<E>| v.div(&hypotenuse).div(&hypotenuse);
                    if k == 0 {
                        g.mul(&over_squared(r))
                    } else {
                        g.mul(&over_squared(l)).map(UnaryKind::Neg)
                    }
                }
                (BinaryKind::Pow, Some(l), Some(r)) if k == 0 => {
                    g.mul(&pow_base_partial_recorded(l, r))
                }
                (BinaryKind::Pow, Some(l), Some(r)) => g.mul(&pow_exponent_partial_recorded(l, r)),
                // Maximum and minimum: which operand the value came from is piecewise
                // constant, so its partial is a constant mask.
                (kind @ (BinaryKind::Maximum | BinaryKind::Minimum), Some(l), Some(r)) => {
                    let mask = broadcast_values(&l.data, &r.data, |a, b| {
                        if k == 0 {
                            kind.dl(a, b)
                        } else {
                            kind.dr(a, b)
                        }
                    });
                    g.mul(&Var::constant(mask))
                }
                _ => return None,
            };
            Some(crate::ops::axis::sum_to(
                &full,
                if k == 0 { nl } else { nr },
            ))
        };
        [partial(0), partial(1)]
    }

    /// `t_out = ∂f/∂l · t_l + ∂f/∂r · t_r`, the shorter operand's tangent repeating.
    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let len = out.len() / batch.max(1);
        let (nl, nr, kind) = (self.lhs_len, self.rhs_len, self.kind);
        // A value the partials of the tracked operands do not read stands in as that
        // operand's own tangent (only its length matters).
        let values = self.values.map(|(l, r)| {
            (
                value_or_unread(l, saved, tangents[0].unwrap_or_default(), nl),
                value_or_unread(r, saved, tangents[1].unwrap_or_default(), nr),
            )
        });
        // The output in blocks of the shorter operand's length: within a block, each
        // operand (and its tangent) is a slice, the shorter one repeating from block to
        // block as broadcasting does.
        if nl == len && nr == len {
            // No broadcast: each tangent of the batch meets the operands element by element.
            for (k, t) in tangents.into_iter().enumerate() {
                let Some(t) = t else { continue };
                let Some((l, r)) = values else {
                    // A constant partial (+ and -): the whole batch at once.
                    let sign = if k == 0 {
                        E::one()
                    } else {
                        kind.dr(E::zero(), E::one())
                    };
                    add_terms(out, t, t, t, |t, _, _| sign * t);
                    continue;
                };
                with_kind!(kind, K => if k == 0 {
                    add_terms_per_tangent(out, t, l, r, |t, a, b| K.times_dl(t, a, b))
                } else {
                    add_terms_per_tangent(out, t, l, r, |t, a, b| K.times_dr(t, a, b))
                });
            }
            return;
        }
        let short = nl.min(nr).max(1);
        let block = |values: &[E], n: usize, c: usize| -> core::ops::Range<usize> {
            if n == len {
                c * short..(c + 1) * short
            } else {
                0..values.len().min(short)
            }
        };
        for (k, n) in [(0, nl), (1, nr)] {
            let Some(t) = tangents[k] else { continue };
            for (out, t) in out
                .chunks_exact_mut(len.max(1))
                .zip(t.chunks_exact(n.max(1)))
            {
                for (c, out) in out.chunks_exact_mut(short).enumerate() {
                    let t = &t[block(t, n, c)];
                    match values {
                        // Add and Sub: the partial is the constant ±1.
                        None => {
                            let sign = if k == 0 {
                                E::one()
                            } else {
                                kind.dr(E::zero(), E::one())
                            };
                            for (o, &t) in out.iter_mut().zip(t) {
                                *o = *o + sign * t;
                            }
                        }
                        Some((l, r)) => {
                            let (l, r) = (&l[block(l, nl, c)], &r[block(r, nr, c)]);
                            with_kind!(kind, K => if k == 0 {
                                add_terms(out, t, l, r, |t, a, b| K.times_dl(t, a, b))
                            } else {
                                add_terms(out, t, l, r, |t, a, b| K.times_dr(t, a, b))
                            })
                        }
                    }
                }
            }
        }
    }
}

/// [`pow_base_partial`] as recorded operations: `p · x^(p-1)`, which is already 0 where
/// `p = 0`, except at `x = 0` (`0 · ∞`); there the power is raised by a constant 1 to
/// `x^p = 1`. Unlike PyTorch's `where(p == 0, 0, …)`, the mixed derivative
/// `∂/∂p (p x^(p-1)) = 1/x` stays exact at `p = 0` for `x ≠ 0`.
fn pow_base_partial_recorded<E: Element>(x: &Var<E>, p: &Var<E>) -> Var<E> {
    let p_minus_one = p.map(UnaryKind::SubScalar(E::one()));
    let shift = broadcast_values(&x.data, &p.data, |a, b| {
        select(a == E::zero() && b == E::zero(), E::one(), E::zero())
    });
    let power = if shift.iter().any(|&v| v == E::one()) {
        p_minus_one.add(&Var::constant(shift))
    } else {
        p_minus_one
    };
    p.mul(&apply_vars(x, &power, BinaryKind::Pow))
}

/// [`pow_exponent_partial`] as recorded operations: `x^p · ln x`, with the logarithm
/// taken of `x + 1` (a constant shift) where `x = 0` and `p >= 0`, so that the product is
/// `0^p · 0 = 0` there, as PyTorch defines it, instead of `0 · -∞`.
fn pow_exponent_partial_recorded<E: Element>(x: &Var<E>, p: &Var<E>) -> Var<E> {
    let power = apply_vars(x, p, BinaryKind::Pow);
    let shift = broadcast_values(&x.data, &p.data, |a, b| {
        select(a == E::zero() && b >= E::zero(), E::one(), E::zero())
    });
    let log = if shift.iter().any(|&v| v == E::one()) {
        // x repeats along the shift where it is the shorter operand.
        x.add(&Var::constant(shift)).map(UnaryKind::Ln)
    } else {
        x.map(UnaryKind::Ln)
    };
    power.mul(&log)
}

/// `out += term(t, l, r)` elementwise: a tangent times a partial derivative.
#[inline(always)]
fn add_terms<E: Element>(out: &mut [E], t: &[E], l: &[E], r: &[E], term: impl Fn(E, E, E) -> E) {
    // Equal lengths up front, so that the loop below has no bounds checks and vectorises.
    let n = out.len().min(t.len()).min(l.len()).min(r.len());
    let (out, t, l, r) = (&mut out[..n], &t[..n], &l[..n], &r[..n]);
    for j in 0..n {
        out[j] = out[j] + term(t[j], l[j], r[j]);
    }
}

/// [`add_terms`] for each tangent of a batch: `out` and `t` hold runs of the operands'
/// common length.
#[inline(always)]
fn add_terms_per_tangent<E: Element>(
    out: &mut [E],
    t: &[E],
    l: &[E],
    r: &[E],
    term: impl Fn(E, E, E) -> E + Copy,
) {
    let len = l.len().max(1);
    for (out, t) in out.chunks_exact_mut(len).zip(t.chunks_exact(len)) {
        add_terms(out, t, l, r, term);
    }
}

/// `f(l, r)` at every position of the broadcast result (the shorter operand repeating).
fn broadcast_values<E: Element>(l: &[E], r: &[E], f: impl Fn(E, E) -> E) -> Storage<E> {
    let len = l.len().max(r.len());
    forward_broadcast(l, r, len, f)
}

/// `l (kind) r` into `len` elements with broadcasting (the shorter operand repeats).
#[inline(always)]
fn binary_values<E: Element>(
    l: &Storage<E>,
    r: &Storage<E>,
    kind: BinaryKind,
    len: usize,
) -> Storage<E> {
    // Arithmetic on two inline values of one length runs over the whole inline arrays,
    // padding included: a few vector instructions, and whole-register stores, which the
    // result's next copy can read back without a store-forwarding stall (a copy of a value
    // written element by element cost more than the arithmetic).
    if kind.is_cheap() {
        if let Some(values) = with_kind!(kind, K => Storage::zip_inline(l, r, |a, b| K.f(a, b))) {
            return values;
        }
    }
    with_kind!(kind, K => forward_broadcast(l, r, len, |a, b| K.f(a, b)))
}

/// [`binary_values`] of one kind, known when compiled (an entry of `compiled`'s table).
pub(crate) type KindValues<E> = fn(&Storage<E>, &Storage<E>, usize) -> Storage<E>;

/// Writes [`values_by_kind`]: one function per kind, in the order of
/// [`BinaryKind::index`].
macro_rules! values_by_kind {
    ($($variant:ident)*) => {
        /// The values of each kind of operation, by [`BinaryKind::index`], for operations
        /// on untracked values: a call and the kind's own loop.
        pub(crate) const fn values_by_kind<E: Element>() -> [KindValues<E>; BinaryKind::COUNT] {
            [$(
                |l, r, len| binary_values(l, r, BinaryKind::$variant, len)
            ),*]
        }

        impl BinaryKind {
            /// How many kinds there are.
            pub(crate) const COUNT: usize = [$(BinaryKind::$variant),*].len();

            /// This kind's place in [`values_by_kind`].
            pub(crate) const fn index(self) -> usize {
                let mut at = 0;
                $(
                    if matches!(self, BinaryKind::$variant) {
                        return at;
                    }
                    at += 1;
                )*
                at
            }
        }
    };
}
values_by_kind!(Add Sub Mul Div Maximum Minimum Atan2 Pow);

/// Computes `lhs (kind) rhs` into `len` elements with broadcasting (the shorter operand
/// repeats), recording it if either side is tracked.
///
/// Out of line and generic over the element type only, reached through
/// `crate::compiled`: a user program does not compile it (nor the recording) once per
/// shape; operations on untracked values skip it for their inline loop.
#[inline(never)]
pub(crate) fn apply<E: Element>(
    lhs: Operand<'_, E>,
    rhs: Operand<'_, E>,
    kind: BinaryKind,
    len: usize,
) -> Var<E> {
    let (l, r) = (lhs.values(), rhs.values());
    let data = binary_values(lhs.data, rhs.data, kind, len);
    finish(data, [Some(lhs), Some(rhs)], |saver| {
        Op::Binary(BinaryOp {
            kind,
            values: (!kind.is_linear()).then(|| {
                let (l_tracked, r_tracked) = (lhs.place.is_some(), rhs.place.is_some());
                let (needs_l, needs_r) = match kind {
                    // ∂(l·r)/∂l = r and ∂/∂r = l; ∂(l/r)/∂l = 1/r, ∂/∂r reads both.
                    BinaryKind::Mul => (r_tracked, l_tracked),
                    BinaryKind::Div => (r_tracked, true),
                    _ => (true, true),
                };
                (
                    needs_l.then(|| saver.save(lhs.data)),
                    needs_r.then(|| saver.save(rhs.data)),
                )
            }),
            lhs_len: l.len(),
            rhs_len: r.len(),
        })
    })
}

/// [`apply`] on two values, one of whose lengths divides the other's.
pub(crate) fn apply_vars<E: Element>(lhs: &Var<E>, rhs: &Var<E>, kind: BinaryKind) -> Var<E> {
    apply(lhs.operand(), rhs.operand(), kind, lhs.len().max(rhs.len()))
}

/// The typed form of [`apply`].
fn apply_typed<SL, SR, E, TL, TR>(
    lhs: &Tensor<SL, E, TL>,
    rhs: &Tensor<SR, E, TR>,
    kind: BinaryKind,
) -> Tensor<<SL as Broadcast<SR>>::Output, E, BinaryTape<TL, TR>>
where
    SL: Broadcast<SR>,
    SR: Shape,
    E: Element,
    TL: Tape + Merge<TR>,
    TR: Tape,
{
    let len = <SL as Broadcast<SR>>::Output::NUM_ELEMENTS;
    if TL::RECORDS || TR::RECORDS {
        Tensor::from_var((E::compiled().binary)(
            lhs.operand(),
            rhs.operand(),
            kind,
            len,
        ))
    } else {
        // Nothing to record: the kind's own loop, one call away.
        let values = E::compiled().binary_values[kind.index()];
        Tensor::from_untracked(values(lhs.storage(), rhs.storage(), len))
    }
}

impl<SL: Shape, E: Element, TL: Tape> Tensor<SL, E, TL> {
    /// The elementwise maximum with `other` (broadcast as for `+`; PyTorch's
    /// `torch.maximum`). Where the two are equal each gets half the gradient, as in
    /// PyTorch; a `NaN` on either side gives `NaN`, and NaN gradients to both.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([1.0f32, 5.0, 2.0]).track();
    /// let b = Tensor::from_array([3.0f32, 4.0, 2.0]).track();
    /// let m = a.maximum(&b);
    /// assert_eq!(m.to_vec(), vec![3.0, 5.0, 2.0]);
    /// let grads = m.sum().backward();
    /// assert_eq!(grads.get(&a).unwrap().to_vec(), vec![0.0, 1.0, 0.5]);
    /// assert_eq!(grads.get(&b).unwrap().to_vec(), vec![1.0, 0.0, 0.5]);
    /// ```
    pub fn maximum<SR: Shape, TR: Tape>(
        &self,
        other: &Tensor<SR, E, TR>,
    ) -> Tensor<<SL as Broadcast<SR>>::Output, E, BinaryTape<TL, TR>>
    where
        SL: Broadcast<SR>,
        TL: Merge<TR>,
    {
        apply_typed(self, other, BinaryKind::Maximum)
    }

    /// The elementwise minimum with `other` (broadcast as for `+`; PyTorch's
    /// `torch.minimum`). Where the two are equal each gets half the gradient, as in
    /// PyTorch; a `NaN` on either side gives `NaN`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[1.0f32, 5.0], [3.0, 0.0]]);
    /// let cap = Tensor::from_array([2.0f32, 2.0]);
    /// assert_eq!(a.minimum(&cap).to_vec(), vec![1.0, 2.0, 2.0, 0.0]);
    /// ```
    pub fn minimum<SR: Shape, TR: Tape>(
        &self,
        other: &Tensor<SR, E, TR>,
    ) -> Tensor<<SL as Broadcast<SR>>::Output, E, BinaryTape<TL, TR>>
    where
        SL: Broadcast<SR>,
        TL: Merge<TR>,
    {
        apply_typed(self, other, BinaryKind::Minimum)
    }

    /// The four-quadrant arctangent of `self / other`, elementwise: the angle in
    /// `[-π, π]` of the point `(x, y) = (other, self)` (PyTorch's `torch.atan2(y, x)`,
    /// whose backward is `Atan2Backward0`), broadcast as for `+`.
    ///
    /// Its partial derivatives are `x / (x² + y²)` in `y` and `-y / (x² + y²)` in `x`, as
    /// PyTorch computes them: both are NaN at the origin (`0 / 0`), where the angle has no
    /// derivative. On the negative x axis the value jumps between `π` and `-π` (signed
    /// zeros, IEEE 754) and the partials are those of either side. NaN in either operand
    /// gives NaN, and NaN gradients to both.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// // The bearing of each target seen from one sensor at (1, 1).
    /// let targets = Tensor::from_array([[4.0f64, 5.0], [-2.0, 2.0], [1.0, -3.0]]); // (x, y)
    /// let sensor = Tensor::from_array([1.0f64, 1.0]);
    /// let offset = &targets - &sensor;
    /// let (dx, dy) = (offset.select::<1>(0).unwrap(), offset.select::<1>(1).unwrap());
    /// let bearing = dy.atan2(&dx);
    /// assert!((bearing.as_slice()[0] - (4.0f64).atan2(3.0)).abs() < 1e-15);
    /// // Its gradient in both operands agrees with central finite differences:
    /// gradcheck(|(y, x)| y.atan2(x).sum(), &(dy, dx), Tolerance::default()).unwrap();
    /// ```
    pub fn atan2<SR: Shape, TR: Tape>(
        &self,
        other: &Tensor<SR, E, TR>,
    ) -> Tensor<<SL as Broadcast<SR>>::Output, E, BinaryTape<TL, TR>>
    where
        SL: Broadcast<SR>,
        TL: Merge<TR>,
    {
        apply_typed(self, other, BinaryKind::Atan2)
    }

    /// `self` raised to the power `exponent`, elementwise, with a tensor exponent
    /// broadcast as for `+` (PyTorch's `torch.pow(x, p)` with a tensor `p`, whose
    /// backward is `PowBackward1`; [`powf`](Self::powf) takes a scalar power).
    ///
    /// Partial derivatives, as PyTorch defines them:
    /// - in the base, `p x^(p-1)`, and 0 wherever `p = 0` (so `0^0` has slope 0, not
    ///   `0 · ∞`);
    /// - in the exponent, `x^p ln x`: 0 where `x = 0` and `p >= 0` (the limit from
    ///   `x > 0`), `-∞` where `x = 0` and `p < 0`, NaN where `x < 0` (the logarithm; the
    ///   value itself is NaN there unless `p` is an integer).
    ///
    /// A NaN base or exponent gives NaN, and NaN partials, even where IEEE 754 says
    /// `pow(NaN, 0) = pow(1, NaN) = 1`.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[0.5f64, 2.0], [1.5, 3.0]]);
    /// let p = Tensor::from_array([2.0f64, -0.5]);
    /// let y = x.pow(&p);
    /// assert_eq!(y.to_vec(), vec![0.25, 2f64.powf(-0.5), 2.25, 3f64.powf(-0.5)]);
    /// // Its gradient in the base and in the (broadcast) exponent agrees with central
    /// // finite differences:
    /// gradcheck(|(x, p)| x.pow(p).sum(), &(x, p), Tolerance::default()).unwrap();
    /// ```
    pub fn pow<SR: Shape, TR: Tape>(
        &self,
        exponent: &Tensor<SR, E, TR>,
    ) -> Tensor<<SL as Broadcast<SR>>::Output, E, BinaryTape<TL, TR>>
    where
        SL: Broadcast<SR>,
        TL: Merge<TR>,
    {
        apply_typed(self, exponent, BinaryKind::Pow)
    }
}

/// The right operand of `+`, `-`, `*` or `/` on a tensor of shape `SL`, element type
/// `E` and tape `TL`: a tensor (by value or by reference) whose shape broadcasts with
/// `SL`, or a scalar of type `E`.
///
/// Each operator has one impl for all right operands, and this trait one impl per kind
/// of operand, with heads that cannot match the same type. So a wrong operand always
/// finds exactly one candidate, or none, and the bound that fails says what is wrong: a
/// shape that does not broadcast ([`Broadcast`]), another element type
/// ([`SameElement`]), two tape parameters without `Merge` ([`Merge`]), or a scalar of
/// another type than the tensor's (this trait's message, naming the fix). Separate
/// impls for scalars and tensors would give a tensor operand two candidates, and rustc
/// reports neither one's message then, only "cannot add" and a list of impls.
#[diagnostic::on_unimplemented(
    message = "a tensor of `{E}` cannot be combined with a value of type `{Self}`",
    label = "expected a tensor of `{E}`, or a scalar of type `{E}`",
    note = "typegrad never converts element types implicitly: write a literal as `2.0_{E}` (or `2.0`, which takes the tensor's type), convert a variable with `as {E}`, or, in code generic over the element type `E`, with `E::from_f64(..)`"
)]
pub trait RhsOperand<SL: Shape, E: Element, TL: Tape> {
    /// The result of the operation.
    type Output;

    /// `lhs (op) self`.
    #[doc(hidden)]
    fn apply(self, lhs: &Tensor<SL, E, TL>, op: Arith) -> Self::Output;
}

/// The four operators that take a [`RhsOperand`].
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl Arith {
    fn binary(self) -> BinaryKind {
        match self {
            Arith::Add => BinaryKind::Add,
            Arith::Sub => BinaryKind::Sub,
            Arith::Mul => BinaryKind::Mul,
            Arith::Div => BinaryKind::Div,
        }
    }

    fn scalar<E: Element>(self, scalar: E) -> UnaryKind<E> {
        match self {
            Arith::Add => UnaryKind::AddScalar(scalar),
            Arith::Sub => UnaryKind::SubScalar(scalar),
            Arith::Mul => UnaryKind::MulScalar(scalar),
            Arith::Div => UnaryKind::DivScalar(scalar),
        }
    }
}

// A scalar of the tensor's own type (the head matches only when the operand's type is
// `E`, which also makes an unsuffixed literal take the tensor's type).
impl<SL: Shape, E: Element, TL: Tape> RhsOperand<SL, E, TL> for E {
    type Output = Tensor<SL, E, UnaryTape<TL>>;

    fn apply(self, lhs: &Tensor<SL, E, TL>, op: Arith) -> Self::Output {
        lhs.unary(op.scalar(self))
    }
}

// A tensor, by value and by reference. Its element type is a parameter of its own, so
// that `f32 + f64` reports `SameElement`'s message. Each head is written out on one line
// (not by a macro, not by rustfmt): rustc quotes these heads when a scalar of another
// type is given, and would quote a macro's invocation or eight lines of bounds.
#[rustfmt::skip]
impl<SL: Broadcast<SR>, SR: Shape, E: Element + SameElement<E2>, E2: Element, TL: Tape + Merge<TR>, TR: Tape> RhsOperand<SL, E, TL> for Tensor<SR, E2, TR> {
    type Output = Tensor<<SL as Broadcast<SR>>::Output, E, BinaryTape<TL, TR>>;

    fn apply(self, lhs: &Tensor<SL, E, TL>, op: Arith) -> Self::Output {
        apply_typed(lhs, E::same(&self), op.binary())
    }
}

#[rustfmt::skip]
impl<SL: Broadcast<SR>, SR: Shape, E: Element + SameElement<E2>, E2: Element, TL: Tape + Merge<TR>, TR: Tape> RhsOperand<SL, E, TL> for &Tensor<SR, E2, TR> {
    type Output = Tensor<<SL as Broadcast<SR>>::Output, E, BinaryTape<TL, TR>>;

    fn apply(self, lhs: &Tensor<SL, E, TL>, op: Arith) -> Self::Output {
        apply_typed(lhs, E::same(self), op.binary())
    }
}

/// Implements one operator for a tensor by value and by reference, for every right
/// operand (a tensor or a scalar: [`RhsOperand`]).
macro_rules! tensor_operator {
    ($trait:ident $method:ident $op:ident) => {
        impl<SL: Shape, E: Element, TL: Tape, R: RhsOperand<SL, E, TL>> $trait<R>
            for Tensor<SL, E, TL>
        {
            type Output = R::Output;

            fn $method(self, rhs: R) -> R::Output {
                rhs.apply(&self, Arith::$op)
            }
        }

        impl<SL: Shape, E: Element, TL: Tape, R: RhsOperand<SL, E, TL>> $trait<R>
            for &Tensor<SL, E, TL>
        {
            type Output = R::Output;

            fn $method(self, rhs: R) -> R::Output {
                rhs.apply(self, Arith::$op)
            }
        }
    };
}

tensor_operator!(Add add Add);
tensor_operator!(Sub sub Sub);
tensor_operator!(Mul mul Mul);
tensor_operator!(Div div Div);

/// Implements `scalar (op) tensor` for `f32` and `f64` (a generic element on the left
/// is not allowed by the orphan rules), by value and by reference.
macro_rules! scalar_left {
    ($float:ty: $($trait:ident $method:ident $kind:ident;)*) => {$(
        impl<S: Shape, T: Tape> $trait<Tensor<S, $float, T>> for $float {
            type Output = Tensor<S, $float, UnaryTape<T>>;
            fn $method(self, tensor: Tensor<S, $float, T>) -> Self::Output {
                tensor.unary(UnaryKind::$kind(self))
            }
        }

        impl<S: Shape, T: Tape> $trait<&Tensor<S, $float, T>> for $float {
            type Output = Tensor<S, $float, UnaryTape<T>>;
            fn $method(self, tensor: &Tensor<S, $float, T>) -> Self::Output {
                tensor.unary(UnaryKind::$kind(self))
            }
        }
    )*};
}

scalar_left!(f32: Add add AddScalar; Sub sub RsubScalar; Mul mul MulScalar; Div div RdivScalar;);
scalar_left!(f64: Add add AddScalar; Sub sub RsubScalar; Mul mul MulScalar; Div div RdivScalar;);

impl<S: Shape, E: Element, T: Tape> Neg for Tensor<S, E, T> {
    type Output = Tensor<S, E, UnaryTape<T>>;
    fn neg(self) -> Self::Output {
        self.unary(UnaryKind::Neg)
    }
}

impl<S: Shape, E: Element, T: Tape> Neg for &Tensor<S, E, T> {
    type Output = Tensor<S, E, UnaryTape<T>>;
    fn neg(self) -> Self::Output {
        self.unary(UnaryKind::Neg)
    }
}

#[cfg(test)]
mod tests {
    use super::{values_by_kind, BinaryKind};
    use crate::prelude::*;
    use crate::tensor::storage::Storage;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn each_kinds_untracked_loop_sits_at_its_index() {
        use BinaryKind::*;
        let kinds = [Add, Sub, Mul, Div, Maximum, Minimum, Atan2, Pow];
        assert_eq!(kinds.len(), BinaryKind::COUNT);
        let table = values_by_kind::<f64>();
        let (l, r) = ([0.5, -2.0, 3.0], [1.5, 0.25, -1.0]);
        for kind in kinds {
            let (ls, rs) = (Storage::from_slice(&l), Storage::from_slice(&r));
            let got = table[kind.index()](&ls, &rs, 3);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let want: Vec<f64> = l.iter().zip(&r).map(|(&a, &b)| kind.f(a, b)).collect();
            assert_eq!(bits(&got), bits(&want), "{kind:?}");
        }
    }

    /// `x * c` saves `c` alone and `c / x` saves both, `x / c` `c` alone: every rule
    /// of each operand, tracked alone, on either side, against finite differences.
    #[test]
    fn products_and_quotients_with_one_operand_tracked_keep_every_rule() {
        use crate::gradcheck::{gradcheck, gradgradcheck, jvpcheck, Tolerance};
        let c = Tensor::from_array([0.7f64, -1.3, 2.1]);
        let x = Tensor::from_array([1.5f64, 0.4, -0.9]);
        let tol = Tolerance::default();
        type F = fn(
            &Tensor<Rank1<3>, f64, Tracked>,
            &Tensor<Rank1<3>, f64>,
        ) -> Tensor<Rank1<3>, f64, Tracked>;
        let cases: [(&str, F); 4] = [
            ("x * c", |x, c| x * c),
            ("c * x", |x, c| c * x),
            ("x / c", |x, c| x / c),
            ("c / x", |x, c| c / x),
        ];
        for (name, f) in cases {
            let scalar = |x: &Tensor<Rank1<3>, f64, Tracked>| (f(x, &c) * x).sum();
            assert!(gradcheck(scalar, &x, tol).is_ok(), "{name}: gradcheck");
            assert!(jvpcheck(|x| f(x, &c), &x, tol).is_ok(), "{name}: jvpcheck");
            assert!(
                gradgradcheck(scalar, &x, tol).is_ok(),
                "{name}: gradgradcheck"
            );
        }
    }

    #[test]
    fn broadcast_forward_and_backward_both_ways() {
        let m = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]).track();
        let v = Tensor::from_array([10.0f64, 20.0, 30.0]).track();
        let s = &m * &v;
        assert_eq!(s.to_vec(), vec![10.0, 40.0, 90.0, 40.0, 100.0, 180.0]);
        let t = &v * &m;
        assert_eq!(t.to_vec(), s.to_vec());
        let grads = (s + t).sum().backward();
        assert_eq!(
            grads.get(&v).unwrap().to_vec(),
            vec![2.0 * 5.0, 2.0 * 7.0, 2.0 * 9.0]
        );
        assert_eq!(
            grads.get(&m).unwrap().to_vec(),
            vec![20.0, 40.0, 60.0, 20.0, 40.0, 60.0]
        );
    }

    #[test]
    fn sub_and_div_partials() {
        let a = Tensor::from_array([6.0f64]).track();
        let b = Tensor::from_array([3.0f64]).track();
        let grads = ((&a - &b) + (&a / &b)).sum().backward();
        assert_eq!(grads.get(&a).unwrap().to_vec(), vec![1.0 + 1.0 / 3.0]);
        assert_eq!(grads.get(&b).unwrap().to_vec(), vec![-1.0 - 6.0 / 9.0]);
    }

    #[test]
    fn scalars_on_either_side() {
        let d = Tensor::from_array([1.0f32, 2.0]).track();
        let l = 10.0 - &d;
        assert_eq!(l.grad_fn().unwrap().name(), "RsubBackward1");
        assert_eq!(l.to_vec(), vec![9.0, 8.0]);
        let q = 2.0 / &d;
        assert_eq!(q.grad_fn().unwrap().name(), "MulBackward0");
        let grads = (l + q + (3.0 * &d) + (&d / 2.0)).sum().backward();
        assert_eq!(
            grads.get(&d).unwrap().to_vec(),
            vec![-1.0 - 2.0 + 3.0 + 0.5, -1.0 - 0.5 + 3.0 + 0.5]
        );
    }
}
