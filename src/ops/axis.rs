//! Operations along one typed axis: sum, mean, max and min (and `amax`, `amin`) that
//! drop the axis, and softmax and log-softmax that normalise along it.
//!
//! The axis is a const generic (`x.sum_axis::<1>()`); a shape without that axis does
//! not compile, and the result's type is the shape with exactly that axis removed.
//!
//! `cumsum` keeps the axis: each element becomes the sum of its lane up to it.

use alloc::sync::Arc;
use alloc::vec;
use num_traits::Float;

use crate::element::Element;
use crate::ops::layout;
use crate::ops::reduce::{max_nan, sum_f64};
use crate::ops::unary::UnaryKind;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::constraint::AxisLayout;
use crate::shape::{HasAxis, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::{Saved, Saver};
use crate::tape::{Tape, UnaryTape};
use crate::tensor::construction::build;
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// What is computed along the axis, with what backward needs.
#[derive(Clone)]
pub(crate) enum AxisKind {
    Sum,
    Mean,
    /// Max or min: for each lane, the position along the axis chosen (first among
    /// ties), or [`UNORDERED`] for a lane holding a NaN.
    Extremum {
        picks: Arc<[usize]>,
        is_max: bool,
    },
    /// `amax` or `amin`: each lane's gradient shared evenly by the positions holding its
    /// extremum (PyTorch's `scale_grad_by_count`), found from the saved input and output
    /// by the rules themselves, so that the forward pass computes nothing for them.
    EvenExtremum {
        input: Saved,
        output: Saved,
        is_max: bool,
    },
    Softmax {
        output: Saved,
    },
    LogSoftmax {
        output: Saved,
    },
}

impl AxisKind {
    /// The saved output of softmax and log-softmax (empty for the other kinds).
    fn output<'s, E: Element>(&self, saved: &'s [Storage<E>]) -> &'s [E] {
        match self {
            AxisKind::Softmax { output } | AxisKind::LogSoftmax { output } => output.of(saved),
            _ => &[],
        }
    }
}

/// A recorded operation along an axis.
#[derive(Clone)]
pub(crate) struct AxisOp {
    kind: AxisKind,
    layout: AxisLayout,
}

/// The pick of a lane whose extremum is NaN: every element of the lane gets a NaN
/// gradient, since the comparisons that would choose a position are undefined.
const UNORDERED: usize = usize::MAX;

/// Visits every lane (the elements along the axis for one position of the others).
#[inline(always)]
fn each_lane(layout: AxisLayout, mut visit: impl FnMut(usize, usize, usize)) {
    for o in 0..layout.outer {
        for i in 0..layout.inner {
            visit(o * layout.inner + i, o, i);
        }
    }
}

impl AxisOp {
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            AxisKind::Sum => "SumBackward1",
            AxisKind::Mean => "MeanBackward1",
            AxisKind::Extremum { is_max: true, .. } => "MaxBackward0",
            AxisKind::Extremum { is_max: false, .. } => "MinBackward0",
            AxisKind::EvenExtremum { is_max: true, .. } => "AmaxBackward0",
            AxisKind::EvenExtremum { is_max: false, .. } => "AminBackward0",
            AxisKind::Softmax { .. } => "SoftmaxBackward0",
            AxisKind::LogSoftmax { .. } => "LogSoftmaxBackward0",
        }
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let saved = parents.saved;
        let y = self.kind.output(saved);
        let Some(gx) = parents.get_mut(0) else {
            return;
        };
        let l = self.layout;
        match &self.kind {
            AxisKind::Sum | AxisKind::Mean => {
                let scale = match self.kind {
                    AxisKind::Mean => E::one() / E::from_f64(l.len as f64),
                    _ => E::one(),
                };
                each_lane(l, |lane, o, i| {
                    let g = grad[lane] * scale;
                    for k in 0..l.len {
                        gx[l.at(o, k, i)] = gx[l.at(o, k, i)] + g;
                    }
                });
            }
            AxisKind::Extremum { picks, .. } => each_lane(l, |lane, o, i| {
                if picks[lane] == UNORDERED {
                    for k in 0..l.len {
                        gx[l.at(o, k, i)] = E::nan();
                    }
                // An axis of length 0 has no position to receive the gradient.
                } else if let Some(slot) = gx.get_mut(l.at(o, picks[lane], i)) {
                    *slot = *slot + grad[lane];
                }
            }),
            AxisKind::EvenExtremum { input, output, .. } => {
                let (x, y) = (input.of(saved), output.of(saved));
                each_lane(l, |lane, o, i| match tie_count(x, l, o, i, y[lane]) {
                    None => (0..l.len).for_each(|k| gx[l.at(o, k, i)] = E::nan()),
                    Some(count) => {
                        let share = grad[lane] / E::from_f64(count as f64);
                        for k in 0..l.len {
                            let at = l.at(o, k, i);
                            if x[at] == y[lane] {
                                gx[at] = gx[at] + share;
                            }
                        }
                    }
                });
            }
            AxisKind::Softmax { .. } => each_lane(l, |_, o, i| {
                let dot = E::from_f64(sum_f64(l.len, |k| {
                    grad[l.at(o, k, i)].to_f64_exact() * y[l.at(o, k, i)].to_f64_exact()
                }));
                for k in 0..l.len {
                    let at = l.at(o, k, i);
                    gx[at] = gx[at] + y[at] * (grad[at] - dot);
                }
            }),
            AxisKind::LogSoftmax { .. } => each_lane(l, |_, o, i| {
                let total = E::from_f64(sum_f64(l.len, |k| grad[l.at(o, k, i)].to_f64_exact()));
                for k in 0..l.len {
                    let at = l.at(o, k, i);
                    gx[at] = gx[at] + grad[at] - y[at].exp() * total;
                }
            }),
        }
    }

    /// The gradient of the input as recorded operations.
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
            AxisKind::Sum => expand_lanes(g, l),
            AxisKind::Mean => {
                expand_lanes(g, l).map(UnaryKind::DivScalar(E::from_f64(l.len as f64)))
            }
            AxisKind::Extremum { picks, .. } => {
                // Each lane's gradient goes to its pick; a NaN lane's to all of it, as NaN.
                let mut unordered = false;
                let map: Arc<[usize]> = (0..l.outer * l.inner)
                    .map(|lane| {
                        let (o, i) = (lane / l.inner.max(1), lane % l.inner.max(1));
                        let pick = picks[lane];
                        unordered |= pick == UNORDERED;
                        l.at(o, if pick == UNORDERED { 0 } else { pick }, i)
                    })
                    .collect();
                let spread = layout::scatter_add(g.operand(), map, node.input_len(0));
                if unordered {
                    let mut mask = vec![E::one(); node.input_len(0)];
                    each_lane(l, |lane, o, i| {
                        if picks[lane] == UNORDERED {
                            (0..l.len).for_each(|k| mask[l.at(o, k, i)] = E::nan());
                        }
                    });
                    spread.mul(&Var::constant(mask.into()))
                } else {
                    spread
                }
            }
            AxisKind::EvenExtremum { input, output, .. } => {
                // PyTorch's `scale_grad_by_count`: each lane's gradient divided by its
                // number of ties, spread along the axis, kept at the ties (a constant
                // mask, NaN across a NaN lane).
                let (x, y) = (node.saved(*input), node.saved(*output));
                let mut counts = vec![E::one(); l.outer * l.inner];
                let mut mask = vec![E::zero(); x.len()];
                each_lane(l, |lane, o, i| match tie_count(x, l, o, i, y[lane]) {
                    None => (0..l.len).for_each(|k| mask[l.at(o, k, i)] = E::nan()),
                    Some(count) => {
                        counts[lane] = E::from_f64(count.max(1) as f64);
                        for k in 0..l.len {
                            if x[l.at(o, k, i)] == y[lane] {
                                mask[l.at(o, k, i)] = E::one();
                            }
                        }
                    }
                });
                let shares = g.div(&Var::constant(counts.into()));
                expand_lanes(&shares, l).mul(&Var::constant(mask.into()))
            }
            AxisKind::Softmax { output } => {
                let y = node.output(*output);
                let dot = lane_sums_var(&g.mul(&y), l);
                y.mul(&g.sub(&expand_lanes(&dot, l)))
            }
            AxisKind::LogSoftmax { output } => {
                let y = node.output(*output);
                let total = lane_sums_var(g, l);
                g.sub(&y.map(UnaryKind::Exp).mul(&expand_lanes(&total, l)))
            }
        };
        [Some(gx), None]
    }

    /// The tangent of the output for each of `batch` tangents of the input.
    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let len = out.len() / batch.max(1);
        let Some(t) = tangents[0] else { return };
        let l = self.layout;
        let y = self.kind.output(saved);
        let n = l.outer * l.len * l.inner;
        for (t, out) in t
            .chunks_exact(n.max(1))
            .zip(out.chunks_exact_mut(len.max(1)))
        {
            let lane_sum = |o: usize, i: usize, w: &dyn Fn(usize) -> f64| {
                E::from_f64(sum_f64(l.len, |k| {
                    w(l.at(o, k, i)) * t[l.at(o, k, i)].to_f64_exact()
                }))
            };
            match &self.kind {
                AxisKind::Sum | AxisKind::Mean => each_lane(l, |lane, o, i| {
                    let total = lane_sum(o, i, &|_| 1.0);
                    out[lane] = match self.kind {
                        AxisKind::Mean => total / E::from_f64(l.len as f64),
                        _ => total,
                    };
                }),
                AxisKind::Extremum { picks, .. } => each_lane(l, |lane, o, i| {
                    out[lane] = match picks[lane] {
                        UNORDERED => E::nan(),
                        pick => t.get(l.at(o, pick, i)).copied().unwrap_or_else(E::zero),
                    };
                }),
                AxisKind::EvenExtremum { input, output, .. } => {
                    let (x, y) = (input.of(saved), output.of(saved));
                    // The mean of the tied positions' tangents (PyTorch's
                    // `amaxamin_jvp`); an empty lane's constant value has tangent 0.
                    each_lane(l, |lane, o, i| {
                        out[lane] = match tie_count(x, l, o, i, y[lane]) {
                            None => E::nan(),
                            Some(0) => E::zero(),
                            Some(count) => {
                                let sum = sum_f64(l.len, |k| {
                                    let at = l.at(o, k, i);
                                    if x[at] == y[lane] {
                                        t[at].to_f64_exact()
                                    } else {
                                        0.0
                                    }
                                });
                                E::from_f64(sum / count as f64)
                            }
                        };
                    });
                }
                AxisKind::Softmax { .. } => each_lane(l, |_, o, i| {
                    let dot = lane_sum(o, i, &|at| y[at].to_f64_exact());
                    for k in 0..l.len {
                        let at = l.at(o, k, i);
                        out[at] = y[at] * (t[at] - dot);
                    }
                }),
                AxisKind::LogSoftmax { .. } => each_lane(l, |_, o, i| {
                    let dot = lane_sum(o, i, &|at| y[at].exp().to_f64_exact());
                    for k in 0..l.len {
                        let at = l.at(o, k, i);
                        out[at] = t[at] - dot;
                    }
                }),
            }
        }
    }
}

/// Each lane's value (one per lane) repeated along the axis, recorded: the backward of
/// a sum along the axis.
pub(crate) fn expand_lanes<E: Element>(g: &Var<E>, l: AxisLayout) -> Var<E> {
    let map: Arc<[usize]> = (0..l.outer)
        .flat_map(|o| (0..l.len).flat_map(move |_| (0..l.inner).map(move |i| o * l.inner + i)))
        .collect();
    layout::gather(g.operand(), map, "ExpandBackward0")
}

/// The sum of each lane, recorded.
pub(crate) fn lane_sums_var<E: Element>(x: &Var<E>, l: AxisLayout) -> Var<E> {
    along(x.operand(), l, lane_sums(&x.data, l, false), |_| {
        AxisKind::Sum
    })
}

/// `v` summed down to its first `n` elements' length: the blocks of `n` that a
/// broadcast repeated are added together (the backward of an implicit broadcast).
pub(crate) fn sum_to<E: Element>(v: &Var<E>, n: usize) -> Var<E> {
    if v.len() == n || n == 0 {
        return v.clone();
    }
    let l = AxisLayout {
        outer: 1,
        len: v.len() / n,
        inner: n,
    };
    lane_sums_var(v, l)
}

/// Records `values`, computed along the lanes of `x` by `kind`.
fn along<E: Element>(
    x: Operand<'_, E>,
    layout: AxisLayout,
    values: Storage<E>,
    kind: impl FnOnce(&mut Saver<'_, E>) -> AxisKind,
) -> Var<E> {
    finish(values, [Some(x), None], |saver| {
        Op::Axis(AxisOp {
            kind: kind(saver),
            layout,
        })
    })
}

/// The sum (or, with `mean`, the mean) of every lane, accumulated in `f64` and summed
/// pairwise along the axis, so an `f32` sum of ten million elements is as accurate as
/// the whole-tensor `sum`. Rows of lanes are added together (`inner` accumulators at a
/// time), which keeps the reads contiguous for every axis.
fn lane_sums<E: Element>(x: &[E], l: AxisLayout, mean: bool) -> Storage<E> {
    /// Adds the elements `ks` of every lane of block `o` into `acc` (one per lane),
    /// pairwise: halves are summed into separate accumulators, the second in `scratch`.
    fn add_range<E: Element>(
        x: &[E],
        l: AxisLayout,
        o: usize,
        ks: core::ops::Range<usize>,
        acc: &mut [f64],
        scratch: &mut [f64],
    ) {
        const BLOCK: usize = 128;
        if ks.len() <= BLOCK {
            for k in ks {
                let row = &x[l.at(o, k, 0)..l.at(o, k, 0) + l.inner];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += v.to_f64_exact();
                }
            }
            return;
        }
        let mid = ks.start + ks.len() / 2;
        add_range(x, l, o, ks.start..mid, acc, scratch);
        let (right, deeper) = scratch.split_at_mut(l.inner.min(scratch.len()));
        right.fill(0.0);
        add_range(x, l, o, mid..ks.end, right, deeper);
        for (a, r) in acc.iter_mut().zip(right.iter()) {
            *a += r;
        }
    }
    // One scratch row per level of halving: log2(len / BLOCK) + 1 levels at most.
    let levels = (usize::BITS - l.len.leading_zeros()) as usize + 1;
    let mut scratch = vec![0.0; levels * l.inner];
    let mut acc = vec![0.0; l.inner];
    let count = l.len as f64;
    build(l.outer * l.inner, |out| {
        for o in 0..l.outer {
            acc.fill(0.0);
            add_range(x, l, o, 0..l.len, &mut acc, &mut scratch);
            for (i, (slot, &sum)) in out[o * l.inner..(o + 1) * l.inner]
                .iter_mut()
                .zip(&acc)
                .enumerate()
            {
                *slot = if !mean {
                    E::from_f64(sum)
                } else if sum.is_finite() {
                    E::from_f64(sum / count)
                } else {
                    // The sum overflowed f64; the mean may not: divide each term first.
                    E::from_f64(sum_f64(l.len, |k| x[l.at(o, k, i)].to_f64_exact() / count))
                };
            }
        }
    })
}

/// `ln Σ_k term(k)` for the shifted exponentials of a lane whose maximum sits at `top`
/// (its term exactly 1), as `ln_1p` of the other terms: rounding `1 + rest` would lose
/// the digits of a confident lane's tiny log-sum (logits [30, 0, 0]: ln(1 + 1.9e-13)
/// came out three digits short). Without a finite maximum, `ln` of the whole sum.
pub(crate) fn log_sum_exp_terms(
    len: usize,
    top: Option<usize>,
    term: impl Fn(usize) -> f64,
) -> f64 {
    match top {
        Some(top) => Float::ln_1p(sum_f64(len, |k| if k == top { 0.0 } else { term(k) })),
        None => Float::ln(sum_f64(len, term)),
    }
}

/// Log-softmax along the lanes of `x`: `(x - max) - ln Σ e^(x - max)` per lane. The
/// maximum is subtracted before the logarithm is, so a value near a large maximum keeps
/// its precision (`x - (max + ln Σ)` would round `max + ln Σ` at the scale of `max`).
pub(crate) fn log_softmax_lanes<E: Element>(x: &[E], l: AxisLayout) -> Storage<E> {
    build(x.len(), |out| {
        each_lane(l, |_, o, i| {
            let max = (0..l.len).fold(E::neg_infinity(), |m, k| max_nan(m, x[l.at(o, k, i)]));
            // An all -inf (or +inf) lane has no finite shift; PyTorch gives NaN there too.
            // A NaN lane stays NaN: its maximum is NaN, and so is the sum below.
            let shift = if max.is_finite() { max } else { E::zero() };
            let top = (0..l.len).find(|&k| max.is_finite() && x[l.at(o, k, i)] == max);
            let log_sum = E::from_f64(log_sum_exp_terms(l.len, top, |k| {
                (x[l.at(o, k, i)] - shift).exp().to_f64_exact()
            }));
            for k in 0..l.len {
                let at = l.at(o, k, i);
                out[at] = (x[at] - shift) - log_sum;
            }
        })
    })
}

/// The position along the axis of lane (`o`, `i`)'s first maximum (or minimum), or of
/// its first NaN: a NaN wins, so a reduction never hides it. 0 for an empty lane.
fn lane_best<E: Element>(values: &[E], l: AxisLayout, o: usize, i: usize, is_max: bool) -> usize {
    let mut best = 0;
    for k in 1..l.len {
        let (v, b) = (values[l.at(o, k, i)], values[l.at(o, best, i)]);
        let better = if is_max { v > b } else { v < b };
        if !b.is_nan() && (better || v.is_nan()) {
            best = k;
        }
    }
    best
}

/// How many elements of lane (`o`, `i`) hold its extremum `y` (the positions that share
/// `amax`'s gradient), or `None` where `y` is NaN on a lane with elements: no position
/// can then be credited, and every element's gradient is NaN.
fn tie_count<E: Element>(x: &[E], l: AxisLayout, o: usize, i: usize, y: E) -> Option<usize> {
    if y.is_nan() && l.len > 0 {
        return None;
    }
    Some((0..l.len).filter(|&k| x[l.at(o, k, i)] == y).count())
}

/// The maximum (or minimum) of every lane, with the position chosen in each.
fn extremum_lanes<E: Element>(x: Operand<'_, E>, l: AxisLayout, is_max: bool) -> Var<E> {
    let values = x.values();
    let mut picks = vec![0; l.outer * l.inner];
    let out = build(l.outer * l.inner, |out| {
        each_lane(l, |lane, o, i| {
            let best = lane_best(values, l, o, i, is_max);
            let value = values.get(l.at(o, best, i)).copied().unwrap_or_else(E::nan);
            picks[lane] = if value.is_nan() && l.len > 0 {
                UNORDERED
            } else {
                best
            };
            out[lane] = value;
        })
    });
    along(x, l, out, |_| AxisKind::Extremum {
        picks: picks.into(),
        is_max,
    })
}

/// The maximum (or minimum) of every lane, its gradient shared evenly by the tied
/// positions (`amax`, `amin`): saves the input and output, from which the rules find
/// them (a saved value is shared, not copied).
fn even_extremum_lanes<E: Element>(x: Operand<'_, E>, l: AxisLayout, is_max: bool) -> Var<E> {
    let values = x.values();
    let out = build(l.outer * l.inner, |out| {
        each_lane(l, |lane, o, i| {
            let best = lane_best(values, l, o, i, is_max);
            out[lane] = values.get(l.at(o, best, i)).copied().unwrap_or_else(E::nan);
        })
    });
    along(x, l, out, |saver| AxisKind::EvenExtremum {
        input: saver.save(x.data),
        output: saver.save_output(),
        is_max,
    })
}

/// The maximum (or minimum) of every lane at the positions already chosen, one per
/// lane (`picks`, as `max_axis_with_indices` returns them: the first extremum, or the
/// first NaN), recorded as [`extremum_lanes`] records it.
pub(crate) fn extremum_at<E: Element>(
    x: Operand<'_, E>,
    l: AxisLayout,
    picks: &[usize],
    is_max: bool,
) -> Var<E> {
    let values = x.values();
    let mut recorded = vec![0; l.outer * l.inner];
    let out = build(l.outer * l.inner, |out| {
        each_lane(l, |lane, o, i| {
            let pick = picks.get(lane).copied().unwrap_or(0);
            let value = values.get(l.at(o, pick, i)).copied().unwrap_or_else(E::nan);
            recorded[lane] = if value.is_nan() && l.len > 0 {
                UNORDERED
            } else {
                pick
            };
            out[lane] = value;
        })
    });
    along(x, l, out, |_| AxisKind::Extremum {
        picks: recorded.into(),
        is_max,
    })
}

/// Softmax (or, with `log`, log-softmax) along the lanes of `x`.
pub(crate) fn normalise<E: Element>(x: Operand<'_, E>, l: AxisLayout, log: bool) -> Var<E> {
    let mut output = log_softmax_lanes(x.values(), l);
    if !log {
        output.make_mut().iter_mut().for_each(|v| *v = v.exp());
    }
    along(x, l, output, |saver| {
        let output = saver.save_output();
        if log {
            AxisKind::LogSoftmax { output }
        } else {
            AxisKind::Softmax { output }
        }
    })
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The typed result of an operation along axis `AXIS` that removes it.
    fn removing<const AXIS: usize>(
        &self,
        op: impl FnOnce(Operand<'_, E>, AxisLayout) -> Var<E>,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        Tensor::from_var(op(self.operand(), AxisLayout::of::<S>(AXIS)))
    }

    /// The sum along axis `AXIS`, which the result no longer has (PyTorch's
    /// `x.sum(dim=AXIS)`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let rows: Tensor<Rank1<2>, f32> = m.sum_axis::<1>();
    /// assert_eq!(rows.to_vec(), vec![6.0, 15.0]);
    /// let cols: Tensor<Rank1<3>, f32> = m.sum_axis::<0>();
    /// assert_eq!(cols.to_vec(), vec![5.0, 7.0, 9.0]);
    /// ```
    pub fn sum_axis<const AXIS: usize>(
        &self,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        self.removing::<AXIS>(|x, l| {
            along(x, l, lane_sums(x.values(), l, false), |_| AxisKind::Sum)
        })
    }

    /// The mean along axis `AXIS`, which the result no longer has.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 3.0], [5.0, 7.0]]).track();
    /// let rows: Tensor<Rank1<2>, f64, Tracked> = m.mean_axis::<1>();
    /// assert_eq!(rows.to_vec(), vec![2.0, 6.0]);
    /// assert_eq!(rows.sum().backward().get(&m).unwrap().to_vec(), vec![0.5; 4]);
    /// ```
    pub fn mean_axis<const AXIS: usize>(
        &self,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        self.removing::<AXIS>(|x, l| {
            along(x, l, lane_sums(x.values(), l, true), |_| AxisKind::Mean)
        })
    }

    /// The maximum along axis `AXIS`; each lane's gradient goes to its first maximum.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 5.0], [7.0, 7.0]]).track();
    /// let best = m.max_axis::<1>();
    /// assert_eq!(best.to_vec(), vec![5.0, 7.0]);
    /// let g = best.sum().backward().get(&m).unwrap().to_vec();
    /// assert_eq!(g, vec![0.0, 1.0, 1.0, 0.0]);
    /// ```
    pub fn max_axis<const AXIS: usize>(
        &self,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        self.removing::<AXIS>(|x, l| extremum_lanes(x, l, true))
    }

    /// The minimum along axis `AXIS`; each lane's gradient goes to its first minimum.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[4.0f32, 1.0], [2.0, 3.0]]);
    /// assert_eq!(m.min_axis::<0>().to_vec(), vec![2.0, 1.0]);
    /// ```
    pub fn min_axis<const AXIS: usize>(
        &self,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        self.removing::<AXIS>(|x, l| extremum_lanes(x, l, false))
    }

    /// The maximum along axis `AXIS`, which the result no longer has (PyTorch's
    /// `amax(dim=AXIS)`, `AmaxBackward0`): each lane's gradient is shared evenly by the
    /// positions holding its maximum, and its tangent is the mean of theirs, where
    /// [`max_axis`](Self::max_axis) gives it all to the first. A lane holding a `NaN`
    /// gives `NaN`, and every element of that lane a NaN gradient; the other lanes are
    /// unaffected. A lane with no elements gives `NaN`, with no gradient.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 5.0, 5.0], [7.0, 2.0, 3.0]]).track();
    /// let best: Tensor<Rank1<2>, f64, Tracked> = m.amax_axis::<1>();
    /// assert_eq!(best.to_vec(), vec![5.0, 7.0]);
    /// assert_eq!(best.grad_fn().unwrap().name(), "AmaxBackward0");
    /// let g = best.sum().backward().get(&m).unwrap();
    /// assert_eq!(g.to_array(), [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]);
    /// // Away from ties its gradient agrees with central finite differences:
    /// let x = Tensor::from_array([[0.3f64, 1.9], [2.4, -0.7]]);
    /// gradcheck(|x| x.amax_axis::<0>().exp(), &x, Tolerance::default()).unwrap();
    /// ```
    pub fn amax_axis<const AXIS: usize>(
        &self,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        self.removing::<AXIS>(|x, l| even_extremum_lanes(x, l, true))
    }

    /// The minimum along axis `AXIS` (PyTorch's `amin(dim=AXIS)`, `AminBackward0`), each
    /// lane's gradient shared evenly by the positions holding its minimum; `NaN` as for
    /// [`amax_axis`](Self::amax_axis).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[4.0f32, 1.0], [1.0, 3.0]]).track();
    /// let low = m.amin_axis::<0>();
    /// assert_eq!(low.to_vec(), vec![1.0, 1.0]);
    /// let g = (low * Tensor::from_array([2.0, 6.0])).sum().backward().get(&m).unwrap();
    /// assert_eq!(g.to_array(), [[0.0, 6.0], [2.0, 0.0]]);
    /// ```
    pub fn amin_axis<const AXIS: usize>(
        &self,
    ) -> Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        self.removing::<AXIS>(|x, l| even_extremum_lanes(x, l, false))
    }

    /// Softmax along axis `AXIS`: `e^x / Σ e^x` per lane, computed without overflow.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let p = Tensor::from_array([[1.0f64, 3.0], [0.0, 1e4]]).softmax::<1>();
    /// let expected = [1.0 / (1.0 + 2f64.exp()), 1.0 / (1.0 + (-2f64).exp()), 0.0, 1.0];
    /// for (p, e) in p.as_slice().iter().zip(expected) {
    ///     assert!((p - e).abs() < 1e-15);
    /// }
    /// ```
    pub fn softmax<const AXIS: usize>(&self) -> Tensor<S, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        Tensor::from_var(normalise(self.operand(), AxisLayout::of::<S>(AXIS), false))
    }

    /// Log-softmax along axis `AXIS`: `x - ln Σ e^x` per lane, accurate for logits of
    /// any size (no overflow, no `ln(0)`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let y = Tensor::from_array([[0.0f64, 0.0], [1e4, -1e4]]).log_softmax::<1>();
    /// assert_eq!(y.to_vec(), vec![-(2f64.ln()), -(2f64.ln()), 0.0, -2e4]);
    /// ```
    pub fn log_softmax<const AXIS: usize>(&self) -> Tensor<S, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        Tensor::from_var(normalise(self.operand(), AxisLayout::of::<S>(AXIS), true))
    }
}

/// A recorded cumulative sum along an axis.
#[derive(Clone, Copy)]
pub(crate) struct CumsumOp {
    layout: AxisLayout,
}

/// The running sums along every lane of `x`, accumulated in `f64` (from the end of each
/// lane if `reverse`), written to `out` (added to it if `add`). Rows of lanes advance
/// together, so the reads are contiguous for every axis. A NaN makes the running sum
/// NaN from where it appears to the end of its lane.
fn running_sums<E: Element>(x: &[E], l: AxisLayout, reverse: bool, add: bool, out: &mut [E]) {
    let mut acc = vec![0.0f64; l.inner];
    for o in 0..l.outer {
        acc.fill(0.0);
        for step in 0..l.len {
            let k = if reverse { l.len - 1 - step } else { step };
            let row = l.at(o, k, 0);
            let (Some(x), Some(out)) = (x.get(row..row + l.inner), out.get_mut(row..row + l.inner))
            else {
                return;
            };
            for ((a, &v), slot) in acc.iter_mut().zip(x).zip(out) {
                *a += v.to_f64_exact();
                let sum = E::from_f64(*a);
                *slot = if add { *slot + sum } else { sum };
            }
        }
    }
}

/// For every position, the position mirrored along the axis (`k` to `len - 1 - k`).
fn flip_map(l: AxisLayout) -> Arc<[usize]> {
    (0..l.outer)
        .flat_map(|o| {
            (0..l.len).flat_map(move |k| (0..l.inner).map(move |i| l.at(o, l.len - 1 - k, i)))
        })
        .collect()
}

impl CumsumOp {
    pub(crate) fn name(&self) -> &'static str {
        "CumsumBackward0"
    }

    /// The gradient is the reversed cumulative sum of the output's: `gx[k] = Σ_{j ≥ k}
    /// g[j]` along each lane.
    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        if let Some(gx) = parents.get_mut(0) {
            running_sums(grad, self.layout, true, true, gx);
        }
    }

    /// The reversed cumulative sum as recorded operations, as PyTorch builds it:
    /// flip, cumulative sum, flip.
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        if !node.tracked(0) {
            return [None, None];
        }
        let flip = flip_map(self.layout);
        let flipped = layout::gather(g.operand(), flip.clone(), "FlipBackward0");
        let summed = cumsum(flipped.operand(), self.layout);
        [
            Some(layout::gather(summed.operand(), flip, "FlipBackward0")),
            None,
        ]
    }

    /// The cumulative sum of each tangent (the operation is linear).
    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let len = (out.len() / batch.max(1)).max(1);
        for (t, out) in t.chunks_exact(len).zip(out.chunks_exact_mut(len)) {
            running_sums(t, self.layout, false, false, out);
        }
    }
}

/// The cumulative sum of `x` along the lanes of `l`, recorded.
pub(crate) fn cumsum<E: Element>(x: Operand<'_, E>, l: AxisLayout) -> Var<E> {
    let data = build(x.values().len(), |out| {
        running_sums(x.values(), l, false, false, out)
    });
    finish(data, [Some(x), None], |_| {
        Op::Cumsum(CumsumOp { layout: l })
    })
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The cumulative sum along axis `AXIS` (PyTorch's `cumsum(dim=AXIS)`): element `k`
    /// of each lane is the sum of the lane's elements `0..=k`, accumulated in `f64`. A NaN
    /// makes the sums NaN from where it appears to the end of its lane. The gradient is
    /// the cumulative sum of the output's gradient taken from the end of each lane.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(m.cumsum::<1>().to_array(), [[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]]);
    /// assert_eq!(m.cumsum::<0>().to_array(), [[1.0, 2.0, 3.0], [5.0, 7.0, 9.0]]);
    /// let x = m.track();
    /// let grad = x.cumsum::<1>().sum().backward().get(&x).unwrap();
    /// assert_eq!(grad.to_array(), [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]]);
    /// assert_eq!(x.cumsum::<1>().grad_fn().unwrap().name(), "CumsumBackward0");
    /// gradcheck(|m| m.cumsum::<0>().sin(), &m, Tolerance::default()).unwrap();
    /// ```
    pub fn cumsum<const AXIS: usize>(&self) -> Tensor<S, E, UnaryTape<T>>
    where
        S: HasAxis<AXIS>,
    {
        Tensor::from_var(cumsum(self.operand(), AxisLayout::of::<S>(AXIS)))
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn reductions_along_each_axis_of_a_rank3() {
        let x = Tensor::<Rank3<2, 3, 4>, f64>::arange_like();
        let s0 = x.sum_axis::<0>();
        let _: &Tensor<Rank2<3, 4>, f64> = &s0;
        assert_eq!(s0.as_slice()[0], 0.0 + 12.0);
        let s1 = x.sum_axis::<1>();
        let _: &Tensor<Rank2<2, 4>, f64> = &s1;
        assert_eq!(s1.as_slice()[0], 0.0 + 4.0 + 8.0);
        let s2 = x.mean_axis::<2>();
        let _: &Tensor<Rank2<2, 3>, f64> = &s2;
        assert_eq!(s2.as_slice()[0], 1.5);
        assert_eq!(
            x.min_axis::<2>().to_vec(),
            vec![0.0, 4.0, 8.0, 12.0, 16.0, 20.0]
        );
    }

    impl<S: Shape> Tensor<S, f64> {
        fn arange_like() -> Self {
            Tensor::from_fn(|i| i as f64)
        }
    }

    #[test]
    fn reductions_over_an_empty_axis_do_not_panic() {
        let x = Tensor::<Rank2<2, 0>, f64>::zeros().track();
        let m = x.max_axis::<1>();
        assert!(m.as_slice().iter().all(|v| v.is_nan()));
        let grads = m.sum().backward();
        assert_eq!(grads.get(&x).map(|g| g.numel()), Some(0));
        assert_eq!(x.sum_axis::<1>().to_vec(), vec![0.0, 0.0]);
        assert_eq!(x.softmax::<1>().numel(), 0);
    }

    #[test]
    fn log_softmax_is_finite_for_huge_logits() {
        let x = Tensor::from_array([[1e4f32, -1e4, 0.0]]).track();
        let y = x.log_softmax::<1>();
        assert!(y.as_slice().iter().all(|v| v.is_finite()));
        assert_eq!(y.as_slice()[0], 0.0);
        let g = y.sum().backward().get(&x).unwrap().to_vec();
        assert!(g.iter().all(|v| v.is_finite()));
        assert!((g[0] - (1.0 - 3.0)).abs() < 1e-6);
    }

    #[test]
    fn cumsum_along_each_axis_of_a_rank3() {
        let x = Tensor::<Rank3<2, 3, 4>, f64>::arange_like();
        let value = |k: usize| k as f64;
        for (axis, c) in [
            (0, x.cumsum::<0>()),
            (1, x.cumsum::<1>()),
            (2, x.cumsum::<2>()),
        ] {
            let dims = [2, 3, 4];
            let strides = [12, 4, 1];
            for (flat, &got) in c.as_slice().iter().enumerate() {
                let position = (flat / strides[axis]) % dims[axis];
                let first = flat - position * strides[axis];
                let expected: f64 = (0..=position)
                    .map(|k| value(first + k * strides[axis]))
                    .sum();
                assert_eq!(got, expected, "axis {axis}, element {flat}");
            }
        }
    }

    #[test]
    fn cumsum_accumulates_f32_in_f64() {
        // In f32, 1e8 + 1 rounds back to 1e8, and the last sum would be 0.
        let x = Tensor::from_array([1e8f32, 1.0, -1e8]);
        assert_eq!(x.cumsum::<0>().to_vec(), vec![1e8, 1e8, 1.0]);
        let empty = Tensor::<Rank2<2, 0>, f32>::zeros().track();
        assert_eq!(empty.cumsum::<1>().numel(), 0);
        assert_eq!(
            empty
                .cumsum::<0>()
                .sum()
                .backward()
                .get(&empty)
                .unwrap()
                .numel(),
            0
        );
    }

    #[test]
    fn cumsum_gradient_of_gradient_is_built_from_flips() {
        let x = Tensor::from_array([1.0f64, 2.0, 3.0]).track();
        let y = x.cumsum::<0>().powf(2.0).sum();
        let g = y.backward_create_graph().unwrap().get(&x).unwrap();
        // d/dx_k Σ_j (Σ_{i≤j} x_i)² = 2 Σ_{j≥k} c_j with c = [1, 3, 6].
        assert_eq!(g.to_vec(), vec![20.0, 18.0, 12.0]);
        assert_eq!(g.grad_fn().unwrap().name(), "FlipBackward0");
    }
}
