//! Statistics of lanes: log-sum-exp along an axis, and variance and standard deviation
//! along an axis or of the whole tensor (the whole tensor is one lane), accumulated in
//! `f64`.
//!
//! The variance is computed in two passes (the mean, then the squared deviations from
//! it, with the rounding error of the mean corrected by the sum of the deviations), so
//! values far from zero lose nothing to cancellation: a million `f32` values near 1e4
//! give their variance to `f64` accuracy, where `E[x²] - E[x]²` would lose every digit.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use num_traits::Float;

use crate::element::Element;
use crate::ops::axis::{expand_lanes, lane_sums_var};
use crate::ops::reduce::{max_nan, sum_f64};
use crate::ops::select::pick;
use crate::ops::unary::UnaryKind;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::constraint::AxisLayout;
use crate::shape::{HasAxis, Rank0, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{Tape, UnaryTape};
use crate::tensor::construction::build;
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// What is computed for each lane, with what the derivatives need.
#[derive(Clone)]
pub(crate) enum StatKind {
    /// `y = ln Σ e^x`; `∂y/∂x = e^(x - y)` (the softmax of the lane).
    Logsumexp { input: Saved, output: Saved },
    /// `v = Σ (x - mean)² / (n - correction)`; `∂v/∂x = 2 (x - mean) / (n - correction)`.
    Var {
        input: Saved,
        means: Arc<[f64]>,
        correction: usize,
    },
    /// `s = √v`; `∂s/∂x = (x - mean) / ((n - correction) s)`, and 0 where `s = 0`
    /// (PyTorch's `std_backward` masks it there).
    Std {
        input: Saved,
        means: Arc<[f64]>,
        correction: usize,
        output: Saved,
    },
}

/// A recorded statistic of the lanes of its input.
#[derive(Clone)]
pub(crate) struct StatOp {
    kind: StatKind,
    layout: AxisLayout,
}

/// Visits every lane (the elements along the axis for one position of the others).
#[inline(always)]
fn each_lane(l: AxisLayout, mut visit: impl FnMut(usize, usize, usize)) {
    for o in 0..l.outer {
        for i in 0..l.inner {
            visit(o * l.inner + i, o, i);
        }
    }
}

/// The divisor `n - correction` (0 when the correction takes every element: 1 element,
/// unbiased, whose variance is then 0 / 0 = NaN, as in PyTorch).
fn dof(l: AxisLayout, correction: usize) -> f64 {
    l.len.saturating_sub(correction) as f64
}

impl StatOp {
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            StatKind::Logsumexp { .. } => "LogsumexpBackward0",
            StatKind::Var { .. } => "VarBackward0",
            StatKind::Std { .. } => "StdBackward0",
        }
    }

    /// `∂y[lane]/∂x[at]` in `f64`, for element `at` of lane `lane`.
    #[inline(always)]
    fn partial<E: Element>(&self, saved: &[Storage<E>], lane: usize, at: usize) -> f64 {
        let dof = |correction| dof(self.layout, correction);
        let value = |v: Saved, i: usize| v.of(saved).get(i).map_or(f64::NAN, |x| x.to_f64_exact());
        match &self.kind {
            StatKind::Logsumexp { input, output } => {
                Float::exp(value(*input, at) - value(*output, lane))
            }
            StatKind::Var {
                input,
                means,
                correction,
            } => 2.0 / dof(*correction) * (value(*input, at) - means[lane]),
            StatKind::Std {
                input,
                means,
                correction,
                output,
            } => {
                let s = value(*output, lane);
                if s == 0.0 {
                    0.0
                } else {
                    (value(*input, at) - means[lane]) / (dof(*correction) * s)
                }
            }
        }
    }

    /// `gx[at] += g[lane] · ∂y[lane]/∂x[at]` over every lane.
    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let saved = parents.saved;
        let Some(gx) = parents.get_mut(0) else {
            return;
        };
        let l = self.layout;
        each_lane(l, |lane, o, i| {
            let g = grad[lane];
            for k in 0..l.len {
                let at = l.at(o, k, i);
                gx[at] = gx[at] + g * E::from_f64(self.partial(saved, lane, at));
            }
        });
    }

    /// The gradient of the input as recorded operations, each factor a value of the
    /// graph: `g e^(x - y)`, `g · 2 (x - mean(x)) / (n - c)` and, for the standard
    /// deviation, the variance's with `g / 2s` for `g` (0 where `s = 0`).
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        if !node.tracked(0) {
            return [None, None];
        }
        let l = self.layout;
        let gx = match &self.kind {
            StatKind::Logsumexp { input, output } => {
                let (x, y) = (node.input(0, *input), node.output(*output));
                let share = x.sub(&expand_lanes(&y, l)).map(UnaryKind::Exp);
                expand_lanes(g, l).mul(&share)
            }
            StatKind::Var {
                input, correction, ..
            } => var_backward_recorded(g, &node.input(0, *input), l, *correction),
            StatKind::Std {
                input,
                correction,
                output,
                ..
            } => {
                let y = node.output(*output);
                let two = UnaryKind::MulScalar(E::from_f64(2.0));
                let zero_at: Arc<[bool]> = y.data.iter().map(|&s| s == E::zero()).collect();
                let g_var = if zero_at.iter().any(|&z| z) {
                    // g / 2s where s ≠ 0, and 0 where s = 0, with a divisor of 1 there so
                    // that no infinity enters the graph (whose derivative would be NaN).
                    let one = Var::constant(Storage::from_slice(&[E::one()]));
                    let zero = Var::constant(Storage::from_slice(&[E::zero()]));
                    let safe = pick(&zero_at, one.operand(), y.operand());
                    let scaled = g.div(&safe.map(two));
                    pick(&zero_at, zero.operand(), scaled.operand())
                } else {
                    g.div(&y.map(two))
                };
                var_backward_recorded(&g_var, &node.input(0, *input), l, *correction)
            }
        };
        [Some(gx), None]
    }

    /// `t_y[lane] = Σ ∂y[lane]/∂x[at] · t[at]` over the lane, in `f64`.
    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let l = self.layout;
        let (n, lanes) = (l.outer * l.len * l.inner, l.outer * l.inner);
        if n == 0 || lanes == 0 {
            return;
        }
        for (t, out) in t
            .chunks_exact(n)
            .zip(out.chunks_exact_mut(lanes))
            .take(batch)
        {
            each_lane(l, |lane, o, i| {
                out[lane] = E::from_f64(sum_f64(l.len, |k| {
                    let at = l.at(o, k, i);
                    self.partial(saved, lane, at) * t[at].to_f64_exact()
                }));
            });
        }
    }
}

/// `g · 2 (x - mean(x)) / (n - correction)` per lane, as recorded operations (the mean
/// recorded too, so that second derivatives see it move with `x`).
fn var_backward_recorded<E: Element>(
    g: &Var<E>,
    x: &Var<E>,
    l: AxisLayout,
    correction: usize,
) -> Var<E> {
    let mean = lane_sums_var(x, l).map(UnaryKind::DivScalar(E::from_f64(l.len as f64)));
    let centred = x.sub(&expand_lanes(&mean, l));
    let scale = UnaryKind::MulScalar(E::from_f64(2.0 / dof(l, correction)));
    expand_lanes(g, l).mul(&centred).map(scale)
}

/// `ln Σ e^x` of every lane, shifted by the lane's maximum so nothing overflows: a lane
/// of `-inf` gives `-inf`, one holding `+inf` gives `+inf`, one holding a NaN gives NaN
/// (PyTorch's rules), a lane of no elements `-inf` (the log of an empty sum).
fn logsumexp_lanes<E: Element>(x: &[E], l: AxisLayout) -> Storage<E> {
    build(l.outer * l.inner, |out| {
        each_lane(l, |lane, o, i| {
            let max = (0..l.len).fold(E::neg_infinity(), |m, k| max_nan(m, x[l.at(o, k, i)]));
            // Infinite or NaN: no finite shift; the sum below gives the answer unshifted.
            let shift = if max.is_finite() {
                max.to_f64_exact()
            } else {
                0.0
            };
            let top = (0..l.len).find(|&k| max.is_finite() && x[l.at(o, k, i)] == max);
            let log_sum = crate::ops::axis::log_sum_exp_terms(l.len, top, |k| {
                Float::exp(x[l.at(o, k, i)].to_f64_exact() - shift)
            });
            out[lane] = E::from_f64(log_sum + shift);
        })
    })
}

/// The mean and the variance (divisor `n - correction`) of every lane, in `f64`.
fn moments<E: Element>(x: &[E], l: AxisLayout, correction: usize) -> (Vec<f64>, Vec<f64>) {
    let lanes = l.outer * l.inner;
    let (mut means, mut variances) = (vec![0.0; lanes], vec![0.0; lanes]);
    let n = l.len as f64;
    each_lane(l, |lane, o, i| {
        let value = |k: usize| x[l.at(o, k, i)].to_f64_exact();
        let sum = sum_f64(l.len, value);
        // A sum that overflows f64 is divided term by term instead.
        let mean = if sum.is_finite() {
            sum / n
        } else {
            sum_f64(l.len, |k| value(k) / n)
        };
        // Second pass: the deviations' squares, less the square of their sum (which is
        // the rounding error of the mean, and would be 0 in exact arithmetic).
        let drift = sum_f64(l.len, |k| value(k) - mean);
        let squares = sum_f64(l.len, |k| (value(k) - mean) * (value(k) - mean));
        let spread = squares - drift * drift / n;
        // Rounding can leave a tiny negative; NaN stays NaN.
        let spread = if spread < 0.0 { 0.0 } else { spread };
        means[lane] = mean;
        variances[lane] = spread / dof(l, correction);
    });
    (means, variances)
}

/// PyTorch's correction for `unbiased`: Bessel's (1) or none.
fn correction(unbiased: bool) -> usize {
    usize::from(unbiased)
}

/// The variance (or, with `std`, the standard deviation) of the lanes of `x`, recorded.
fn spread<E: Element>(x: Operand<'_, E>, l: AxisLayout, unbiased: bool, std: bool) -> Var<E> {
    let correction = correction(unbiased);
    let (means, variances) = moments(x.values(), l, correction);
    let values: Storage<E> = variances
        .iter()
        .map(|&v| E::from_f64(if std { Float::sqrt(v) } else { v }))
        .collect();
    finish(values, [Some(x), None], |saver| {
        let (input, means) = (saver.save(x.data), means.into());
        Op::Stat(StatOp {
            kind: if std {
                StatKind::Std {
                    input,
                    means,
                    correction,
                    output: saver.save_output(),
                }
            } else {
                StatKind::Var {
                    input,
                    means,
                    correction,
                }
            },
            layout: l,
        })
    })
}

/// Log-sum-exp of the lanes of `x`, recorded.
fn logsumexp<E: Element>(x: Operand<'_, E>, l: AxisLayout) -> Var<E> {
    let values = logsumexp_lanes(x.values(), l);
    finish(values, [Some(x), None], |saver| {
        Op::Stat(StatOp {
            kind: StatKind::Logsumexp {
                input: saver.save(x.data),
                output: saver.save_output(),
            },
            layout: l,
        })
    })
}

/// The whole tensor as one lane.
fn whole<S: Shape>() -> AxisLayout {
    AxisLayout {
        outer: 1,
        len: S::NUM_ELEMENTS,
        inner: 1,
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// `ln Σ e^x` along axis `AXIS`, which the result no longer has (PyTorch's
    /// `logsumexp(dim)`), computed with each lane shifted by its maximum: finite for
    /// logits of any size. Its gradient is the softmax of the lane
    /// (`LogsumexpBackward0`: `e^(x - y)`). A lane of `-inf` gives `-inf`, and NaN
    /// gradients (`-inf - -inf`), as in PyTorch; a `NaN` gives `NaN`.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[0.0f64, 0.0], [1e4, 1e4]]);
    /// let y = x.logsumexp::<1>();
    /// assert_eq!(y.to_vec(), vec![2f64.ln(), 1e4 + 2f64.ln()]);
    ///
    /// // The gradient is the softmax of each lane: 1/2 for two equal logits.
    /// let xt = x.track();
    /// let grads = xt.logsumexp::<1>().sum().backward();
    /// assert!(grads.get(&xt).unwrap().as_slice().iter().all(|g| (g - 0.5).abs() < 1e-12));
    /// let logits = Tensor::from_array([[0.3f64, -1.2, 2.0], [0.7, 0.1, -0.4]]);
    /// gradcheck(|x| x.logsumexp::<0>().powf(2.0).sum(), &logits, Tolerance::default())
    ///     .unwrap();
    /// ```
    pub fn logsumexp<const AXIS: usize>(
        &self,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        Tensor::from_var(logsumexp(self.operand(), AxisLayout::of::<S>(AXIS)))
    }

    /// The variance of all elements (PyTorch's `var(unbiased=...)`): the mean squared
    /// deviation from the mean, divided by `n - 1` if `unbiased` (Bessel's correction,
    /// PyTorch's default) or by `n`. Accumulated in `f64` in two passes, so values far
    /// from 0 lose nothing to cancellation. One element, unbiased, gives `NaN` (0 / 0),
    /// with `NaN` gradients, as PyTorch does; no elements give `NaN`. The gradient is
    /// `2 (x - mean) / (n - correction)` (`VarBackward0`).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f64, 2.0, 3.0, 6.0]);
    /// assert_eq!(x.var(false).item(), 3.5);
    /// assert_eq!(x.var(true).item(), 14.0 / 3.0);
    /// assert!(Tensor::from_array([5.0f32]).var(true).item().is_nan());
    /// gradcheck(|x| x.var(true), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn var(&self, unbiased: bool) -> Tensor<Rank0, E, UnaryTape<T>> {
        Tensor::from_var(spread(self.operand(), whole::<S>(), unbiased, false))
    }

    /// The standard deviation of all elements, `√var` (PyTorch's `std(unbiased=...)`;
    /// `StdBackward0`). Its gradient `(x - mean) / ((n - correction) · std)` is taken to
    /// be 0 where the standard deviation is 0 (all elements equal), as PyTorch's
    /// `std_backward` does; a `NaN` element still gives `NaN`, and one element, unbiased,
    /// gives a `NaN` value and `NaN` gradients.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f64, 3.0]);
    /// assert_eq!(x.std(false).item(), 1.0);
    /// gradcheck(|x| x.std(true), &x, Tolerance::default()).unwrap();
    /// let flat = Tensor::from_array([2.0f64, 2.0]).track();
    /// assert_eq!(flat.std(true).backward().get(&flat).unwrap().to_vec(), vec![0.0, 0.0]);
    /// ```
    pub fn std(&self, unbiased: bool) -> Tensor<Rank0, E, UnaryTape<T>> {
        Tensor::from_var(spread(self.operand(), whole::<S>(), unbiased, true))
    }

    /// The variance along axis `AXIS`, which the result no longer has (PyTorch's
    /// `var(dim, unbiased=...)`); each lane as [`Tensor::var`] (`VarBackward0`).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[1.0f64, 3.0], [2.0, 2.0], [0.0, 7.0]]);
    /// assert_eq!(x.var_axis::<1>(false).to_vec(), vec![1.0, 0.0, 12.25]);
    /// assert_eq!(x.var_axis::<0>(true).to_vec(), vec![1.0, 7.0]);
    /// gradcheck(|x| x.var_axis::<0>(true).sum(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn var_axis<const AXIS: usize>(
        &self,
        unbiased: bool,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        let l = AxisLayout::of::<S>(AXIS);
        Tensor::from_var(spread(self.operand(), l, unbiased, false))
    }

    /// The standard deviation along axis `AXIS`, which the result no longer has
    /// (PyTorch's `std(dim, unbiased=...)`); each lane as [`Tensor::std`]
    /// (`StdBackward0`, 0 gradient for a lane whose standard deviation is 0).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[1.0f64, 3.0], [0.5, 2.5]]);
    /// assert_eq!(x.std_axis::<1>(false).to_vec(), vec![1.0, 1.0]);
    /// gradcheck(|x| x.std_axis::<1>(true).sum(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn std_axis<const AXIS: usize>(
        &self,
        unbiased: bool,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        let l = AxisLayout::of::<S>(AXIS);
        Tensor::from_var(spread(self.operand(), l, unbiased, true))
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn logsumexp_at_infinities_and_nan() {
        let inf = f64::INFINITY;
        let x = Tensor::from_array([[-inf, -inf], [inf, 0.0], [f64::NAN, 0.0], [1e308, 1e308]]);
        let y = x.logsumexp::<1>().to_vec();
        assert_eq!(y[0], -inf);
        assert_eq!(y[1], inf);
        assert!(y[2].is_nan());
        assert_eq!(y[3], 1e308 + 2f64.ln());
        let empty = Tensor::<Rank2<2, 0>, f64>::zeros();
        assert_eq!(empty.logsumexp::<1>().to_vec(), vec![-inf, -inf]);
    }

    #[test]
    fn variance_of_large_values_does_not_cancel() {
        // Values 1e8 ± 1: E[x²] - E[x]² in f64 would have about 1e-16 · 1e16 = 1 of error.
        let x = Tensor::from_array([1e8 - 1.0, 1e8 + 1.0, 1e8 - 1.0, 1e8 + 1.0]);
        assert_eq!(x.var(false).item(), 1.0);
        assert_eq!(x.std(true).item(), (4.0f64 / 3.0).sqrt());
    }

    #[test]
    fn variance_edge_cases_follow_pytorch() {
        let one = Tensor::from_array([3.0f64]).track();
        let v = one.var(true);
        assert!(v.item().is_nan());
        assert!(v.backward().get(&one).unwrap().as_slice()[0].is_nan());
        let biased = one.var(false);
        assert_eq!(biased.item(), 0.0);
        assert_eq!(biased.backward().get(&one).unwrap().to_vec(), vec![0.0]);
        let std1 = one.std(true);
        assert!(std1.backward().get(&one).unwrap().as_slice()[0].is_nan());
        assert!(Tensor::<Rank1<0>, f64>::zeros().var(false).item().is_nan());
        let with_inf = Tensor::from_array([1.0f64, f64::INFINITY]);
        assert!(with_inf.var(true).item().is_nan());
    }
}
