//! Reductions of a whole tensor to a scalar: sum, mean, max, min and the L2 norm.

use alloc::sync::Arc;
use alloc::vec;
use num_traits::Float;

use crate::element::Element;
use crate::ops::unary::UnaryKind;
use crate::ops::{finish, zeros, Op, Operand, Var};
use crate::shape::{Rank0, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::{Saved, Saver};
use crate::tape::{Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// Sums in `f64` with pairwise blocks, then rounds once: an `f32` sum is then exact to
/// within half an `f32` ulp plus the `f64` pairwise error (relative 1e-7 at worst for a
/// million elements of one sign), and an `f64` sum's error grows with log(n), not n.
pub(crate) fn pairwise_sum<E: Element>(values: &[E]) -> E {
    E::from_f64(sum_f64(values.len(), |i| values[i].to_f64_exact()))
}

/// `Σ term(i)` for `i < n`, in `f64`, summed pairwise (blocks of 128 added in order).
/// Every reduction of the crate sums through here, so that `f32` data is accumulated in
/// `f64` and the rounding error grows with log(n).
#[inline]
pub(crate) fn sum_f64(n: usize, term: impl Fn(usize) -> f64) -> f64 {
    fn pairwise(range: core::ops::Range<usize>, term: &impl Fn(usize) -> f64) -> f64 {
        const BLOCK: usize = 128;
        if range.len() <= BLOCK {
            return range.fold(0.0, |acc, i| acc + term(i));
        }
        let mid = range.start + range.len() / 2;
        pairwise(range.start..mid, term) + pairwise(mid..range.end, term)
    }
    pairwise(0..n, &term)
}

/// `Σ term(i) / n`, rounded once to `E`. The mean of nothing is NaN, as in PyTorch.
pub(crate) fn mean_of<E: Element>(n: usize, term: impl Fn(usize) -> f64) -> E {
    sum_divided(n, n, term)
}

/// `(Σ term(i) for i < n) / divisor`, rounded once to `E`. Where the sum overflows
/// `f64` but the quotient does not (`f64::MAX` twice, halved), each term is divided
/// first. A zero divisor gives NaN for an empty sum (0 / 0).
pub(crate) fn sum_divided<E: Element>(n: usize, divisor: usize, term: impl Fn(usize) -> f64) -> E {
    let divisor = divisor as f64;
    let sum = sum_f64(n, &term);
    if sum.is_finite() {
        return E::from_f64(sum / divisor);
    }
    E::from_f64(sum_f64(n, |i| term(i) / divisor))
}

/// The larger of `best` and `v` where a NaN on either side wins: once a NaN is seen it is
/// kept (`f32::max` drops it).
#[inline(always)]
pub(crate) fn max_nan<E: Element>(best: E, v: E) -> E {
    if v > best || v.is_nan() {
        v
    } else {
        best
    }
}

/// The L2 norm `sqrt(Σ x²)`: NaN if any element is NaN, infinite if any is infinite,
/// and otherwise computed on `x / max|x|` in `f64`, so the squares neither overflow
/// nor underflow.
pub(crate) fn l2_norm<E: Element>(values: &[E]) -> E {
    let scale = values
        .iter()
        .fold(E::zero(), |m, v| max_nan(m, v.abs()))
        .to_f64_exact();
    if !(scale > 0.0 && scale.is_finite()) {
        // 0 for the zero vector, and NaN or infinity as found.
        return E::from_f64(scale);
    }
    let squares = sum_f64(values.len(), |i| {
        let v = values[i].to_f64_exact() / scale;
        v * v
    });
    E::from_f64(scale * Float::sqrt(squares))
}

/// A recorded reduction to a scalar.
#[derive(Clone)]
pub(crate) enum ReduceOp<E: Element> {
    Sum,
    Mean {
        len: usize,
    },
    /// Max or min (also as `amax`, `amin`): the gradient is shared evenly by the
    /// positions holding the extreme value (`ties`; PyTorch's rule); where the result is
    /// NaN, every element's gradient is NaN (the comparisons that chose the positions
    /// are undefined). `name` is the PyTorch backward name of the method that made it.
    Extremum {
        ties: Arc<[usize]>,
        name: &'static str,
        is_nan: bool,
    },
    /// The L2 norm, with the input and the norm for the derivative `x / ‖x‖`.
    Norm {
        input: Saved,
        output: Saved,
        norm: E,
    },
}

impl<E: Element> ReduceOp<E> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ReduceOp::Sum => "SumBackward0",
            ReduceOp::Mean { .. } => "MeanBackward0",
            ReduceOp::Extremum { name, .. } => name,
            ReduceOp::Norm { .. } => "LinalgVectorNormBackward0",
        }
    }

    pub(crate) fn backward(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let saved = parents.saved;
        let (Some(&g), Some(gx)) = (grad.first(), parents.get_mut(0)) else {
            return;
        };
        match self {
            ReduceOp::Sum => gx.iter_mut().for_each(|x| *x = *x + g),
            ReduceOp::Mean { len } => {
                let share = g / E::from_f64(*len as f64);
                gx.iter_mut().for_each(|x| *x = *x + share);
            }
            // A NaN extremum has no position to credit: every element's gradient is NaN,
            // whatever was accumulated before.
            ReduceOp::Extremum { is_nan: true, .. } => gx.fill(E::nan()),
            ReduceOp::Extremum { ties, .. } => {
                let share = g / E::from_f64(ties.len() as f64);
                for &index in ties.iter() {
                    if let Some(x) = gx.get_mut(index) {
                        *x = *x + share;
                    }
                }
            }
            ReduceOp::Norm { input, norm, .. } => {
                // At the origin the norm has no gradient; 0 is PyTorch's subgradient. A
                // NaN norm (a NaN element) gives NaN everywhere; an infinite one gives
                // 0 for finite elements and NaN for infinite ones, as `x / ‖x‖` does.
                if *norm == E::zero() {
                    return;
                }
                for (x, &v) in gx.iter_mut().zip(input.of(saved)) {
                    *x = *x + g * v / *norm;
                }
            }
        }
    }
}

impl<E: Element> ReduceOp<E> {
    /// The recorded gradient of the input: `g` spread back over its `n` elements.
    pub(crate) fn backward_recorded(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        if !node.tracked(0) {
            return [None, None];
        }
        let n = node.input_len(0);
        let gx = match self {
            ReduceOp::Sum => expand(g, n),
            ReduceOp::Mean { len } => {
                expand(g, n).map(UnaryKind::DivScalar(E::from_f64(*len as f64)))
            }
            ReduceOp::Extremum { is_nan: true, .. } => {
                g.mul(&Var::constant(core::iter::repeat_n(E::nan(), n).collect()))
            }
            ReduceOp::Extremum { ties, .. } => {
                let share = E::one() / E::from_f64(ties.len() as f64);
                let mut weights = vec![E::zero(); n];
                ties.iter().for_each(|&i| weights[i] = share);
                g.mul(&Var::constant(weights.into()))
            }
            ReduceOp::Norm { norm, .. } if *norm == E::zero() => Var::constant(zeros(n).into()),
            ReduceOp::Norm { input, output, .. } => {
                let x = node.input(0, *input);
                g.mul(&x).div(&node.output(*output))
            }
        };
        [Some(gx), None]
    }

    /// The tangent of the scalar for each of `batch` tangents of the input.
    pub(crate) fn jvp(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let n = t.len() / batch.max(1);
        if n == 0 {
            return;
        }
        for (t, out) in t.chunks_exact(n).zip(out.iter_mut()) {
            *out = match self {
                ReduceOp::Sum => pairwise_sum(t),
                ReduceOp::Mean { len } => mean_of(*len, |i| t[i].to_f64_exact()),
                ReduceOp::Extremum { is_nan: true, .. } => E::nan(),
                ReduceOp::Extremum { ties, .. } => {
                    let sum = sum_f64(ties.len(), |k| t[ties[k]].to_f64_exact());
                    E::from_f64(sum / ties.len() as f64)
                }
                ReduceOp::Norm { norm, .. } if *norm == E::zero() => E::zero(),
                ReduceOp::Norm { input, norm, .. } => {
                    let input = input.of(saved);
                    let dot = sum_f64(n.min(input.len()), |i| {
                        input[i].to_f64_exact() * t[i].to_f64_exact()
                    });
                    E::from_f64(dot) / *norm
                }
            };
        }
    }
}

/// `g` (one element) repeated `n` times, recorded (the backward of a sum).
pub(crate) fn expand<E: Element>(g: &Var<E>, n: usize) -> Var<E> {
    crate::ops::layout::gather(
        g.operand(),
        core::iter::repeat_n(0, n).collect(),
        "ExpandBackward0",
    )
}

/// The sum of every element, recorded.
pub(crate) fn sum<E: Element>(x: Operand<'_, E>) -> Var<E> {
    reduce(x, pairwise_sum(x.values()), |_| ReduceOp::Sum)
}

/// Records a reduction of `x` whose value is `value`.
fn reduce<E: Element>(
    x: Operand<'_, E>,
    value: E,
    op: impl FnOnce(&mut Saver<'_, E>) -> ReduceOp<E>,
) -> Var<E> {
    finish(Storage::collect(1, [value]), [Some(x), None], |saver| {
        Op::Reduce(op(saver))
    })
}

/// Where `values` holds `value` (the positions that share an extremum's gradient).
fn positions_of<E: Element>(values: &[E], value: E) -> Arc<[usize]> {
    (0..values.len()).filter(|&i| values[i] == value).collect()
}

/// The position of the first maximum (or minimum) and its value; NaN wins, as in
/// PyTorch, so that a NaN is never hidden by a reduction.
fn extremum<E: Element>(values: &[E], is_max: bool) -> (usize, E) {
    let mut best = (
        0,
        if is_max {
            E::neg_infinity()
        } else {
            E::infinity()
        },
    );
    for (i, &v) in values.iter().enumerate() {
        if v.is_nan() {
            return (i, v);
        }
        let better = if is_max { v > best.1 } else { v < best.1 };
        if better || i == 0 {
            best = (i, v);
        }
    }
    best
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The sum of all elements (pairwise summation).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    /// let y = x.powf(2.0).sum();
    /// assert_eq!(y.item(), 14.0);
    /// assert_eq!(y.backward().get(&x).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
    /// ```
    pub fn sum(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        Tensor::from_var(sum(self.operand()))
    }

    /// The mean of all elements (`NaN` for a tensor with no elements, as PyTorch).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0, 6.0]).track();
    /// let m = x.mean();
    /// assert_eq!(m.item(), 3.0);
    /// let g = m.backward().get(&x).unwrap().to_vec();
    /// assert!(g.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-7));
    /// ```
    pub fn mean(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        let (x, len) = (self.as_slice(), S::NUM_ELEMENTS);
        let mean = mean_of(len, |i| x[i].to_f64_exact());
        Tensor::from_var(reduce(self.operand(), mean, |_| ReduceOp::Mean { len }))
    }

    /// The largest element. Its gradient is shared evenly by the positions holding the
    /// maximum, as PyTorch's `max()` does (the same as [`amax`](Self::amax), which PyTorch
    /// records under another name). A tensor with no elements gives `-inf`; a `NaN`
    /// element gives `NaN` (and NaN gradients).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0, 4.0, 3.0, 0.5]).track();
    /// let grads = x.max().backward();
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![0.0, 0.0, 1.0, 0.0, 0.0]);
    /// let tied = Tensor::from_array([4.0f32, 1.0, 4.0]).track();
    /// let grads = tied.max().backward();
    /// assert_eq!(grads.get(&tied).unwrap().to_vec(), vec![0.5, 0.0, 0.5]);
    /// ```
    pub fn max(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        self.extremum(true, "MaxBackward1")
    }

    /// The smallest element; its gradient is shared evenly by the positions holding it.
    /// A tensor with no elements gives `inf`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([2.0f64, -1.0, -1.0]).track();
    /// let m = x.min();
    /// assert_eq!(m.item(), -1.0);
    /// assert_eq!(m.backward().get(&x).unwrap().to_vec(), vec![0.0, 0.5, 0.5]);
    /// ```
    pub fn min(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        self.extremum(false, "MinBackward1")
    }

    /// The largest element (PyTorch's `amax()` over every axis, `AmaxBackward0`): the
    /// gradient is shared evenly by the positions holding the maximum, and the tangent
    /// is the mean of theirs. The value and every derivative are those of
    /// [`max`](Self::max), whose whole-tensor rule PyTorch also splits evenly; a `NaN`
    /// element gives `NaN` and NaN gradients, a tensor with no elements `-inf`.
    /// [`amax_axis`](Self::amax_axis) reduces one axis.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[3.0f64, 1.0], [3.0, 3.0]]).track();
    /// let m = x.amax();
    /// assert_eq!(m.item(), 3.0);
    /// assert_eq!(m.grad_fn().unwrap().name(), "AmaxBackward0");
    /// let third = 1.0 / 3.0;
    /// assert_eq!(m.backward().get(&x).unwrap().to_vec(), vec![third, 0.0, third, third]);
    /// ```
    pub fn amax(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        self.extremum(true, "AmaxBackward0")
    }

    /// The smallest element (PyTorch's `amin()`, `AminBackward0`), its gradient shared
    /// evenly by the positions holding it: [`min`](Self::min) under PyTorch's other name.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([-2.0f32, 5.0, -2.0]).track();
    /// let m = x.amin();
    /// assert_eq!(m.item(), -2.0);
    /// assert_eq!(m.backward().get(&x).unwrap().to_vec(), vec![0.5, 0.0, 0.5]);
    /// ```
    pub fn amin(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        self.extremum(false, "AminBackward0")
    }

    /// The maximum (or minimum) of every element, recorded as the operation `name`.
    fn extremum(&self, is_max: bool, name: &'static str) -> Tensor<Rank0, E, UnaryTape<T>> {
        let (_, value) = extremum(self.as_slice(), is_max);
        Tensor::from_var(reduce(self.operand(), value, |_| ReduceOp::Extremum {
            ties: positions_of(self.as_slice(), value),
            name,
            is_nan: value.is_nan(),
        }))
    }

    /// The L2 norm `sqrt(Σ x²)` (PyTorch's `.norm()`); its gradient at the origin is 0.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([3.0f64, 4.0]).track();
    /// let n = x.norm();
    /// assert_eq!(n.item(), 5.0);
    /// assert_eq!(n.backward().get(&x).unwrap().to_vec(), vec![0.6, 0.8]);
    /// ```
    pub fn norm(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        let norm = l2_norm(self.as_slice());
        Tensor::from_var(reduce(self.operand(), norm, |saver| ReduceOp::Norm {
            input: saver.save(self.storage()),
            output: saver.save_output(),
            norm,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use alloc::vec::Vec;

    #[test]
    fn ties_share_the_gradient_evenly() {
        let x = Tensor::from_array([3.0f64, 1.0, 3.0]).track();
        let grads = x.max().backward();
        assert_eq!(grads.get(&x).unwrap().to_vec(), vec![0.5, 0.0, 0.5]);
        let y = Tensor::from_array([0.0f64, -1.0, -1.0, -1.0]).track();
        let grads = y.min().backward();
        let third = 1.0 / 3.0;
        assert_eq!(
            grads.get(&y).unwrap().to_vec(),
            vec![0.0, third, third, third]
        );
    }

    #[test]
    fn f32_sum_of_a_million_stays_close_to_f64() {
        let values: Vec<f32> = (0..1_000_000)
            .map(|i| ((i % 1000) as f32) * 0.001 + 0.1)
            .collect();
        let exact: f64 = values.iter().map(|&v| f64::from(v)).sum();
        let ours = f64::from(pairwise_sum(&values));
        assert!(((ours - exact) / exact).abs() < 1e-6, "{ours} vs {exact}");
    }

    #[test]
    fn norm_and_its_gradient() {
        let x = Tensor::from_array([3.0f64, 4.0]).track();
        let n = x.norm();
        assert_eq!(n.item(), 5.0);
        let g = n.backward().get(&x).unwrap().to_vec();
        assert_eq!(g, vec![0.6, 0.8]);
        let zero = Tensor::<Rank1<2>, f64>::zeros().track();
        assert_eq!(
            zero.norm().backward().get(&zero).unwrap().to_vec(),
            vec![0.0, 0.0]
        );
    }
}
