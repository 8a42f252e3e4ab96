//! Losses of a prediction against a target, reduced by the mean: mean squared error,
//! binary cross-entropy with logits, and cross-entropy of logits against class indices
//! or class probabilities.

use alloc::sync::Arc;
use alloc::vec;
use num_traits::Float;

use crate::element::Element;
use crate::error::Error;
use crate::ops::axis::{expand_lanes, lane_sums_var, log_softmax_lanes, normalise};
use crate::ops::reduce::{mean_of, sum_divided, sum_f64};
use crate::ops::unary::{sigmoid_pair, softplus, UnaryKind};
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::constraint::AxisLayout;
use crate::shape::{Rank0, Rank1, Rank2, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::Saved;
use crate::tape::{BinaryTape, Merge, Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// `σ(z) - y`, the gradient of BCE with logits, as `(1 - y) σ(z) - y σ(-z)` (the same
/// number, since `σ(z) + σ(-z) = 1`): the plain difference cancels to 0 for a confident
/// correct logit (`z = 38`, `y = 1` gave 0 for -3.1e-17), this keeps every digit for
/// targets of 0 and 1.
fn sigmoid_minus_target<E: Element>(z: E, y: E) -> E {
    let (above, below) = sigmoid_pair(z);
    (E::one() - y) * above - y * below
}

/// `softmax - one_hot` at one position from its log-probability `lp`: `e^lp - 1` as
/// `expm1(lp)` where the position is the target (`1 - p` of a confident prediction,
/// 1.9e-13, came out of `e^lp - 1` with three digits lost), `e^lp` elsewhere.
fn probability_minus<E: Element>(lp: E, target: bool) -> E {
    if target {
        lp.exp_m1()
    } else {
        lp.exp()
    }
}

/// Which loss.
#[derive(Clone, Copy, Debug)]
enum LossKind {
    Mse,
    BceWithLogits,
}

/// A recorded cross-entropy over `rows` rows of `classes` logits, with the log-softmax
/// of the logits (the gradient is `softmax - target`).
#[derive(Clone)]
pub(crate) struct CrossEntropyOp {
    /// The logits, from which the recorded backward computes the log-softmax again.
    logits: Saved,
    log_probs: Saved,
    target: CrossEntropyTarget,
    /// The number of logits (rows times classes).
    len: usize,
    classes: usize,
}

/// What a cross-entropy compares against.
#[derive(Clone)]
enum CrossEntropyTarget {
    /// One class index per row.
    Indices(Arc<[usize]>),
    /// One probability distribution per row (a tensor that may itself be tracked).
    Probabilities(Saved),
}

impl CrossEntropyOp {
    pub(crate) fn name(&self) -> &'static str {
        match self.target {
            CrossEntropyTarget::Indices(_) => "NllLossBackward0",
            CrossEntropyTarget::Probabilities(_) => "DivBackward1",
        }
    }

    fn rows(&self) -> usize {
        self.len / self.classes.max(1)
    }

    /// The layout of the rows, for the log-softmax along them.
    fn row_layout(&self) -> AxisLayout {
        AxisLayout {
            outer: self.rows(),
            len: self.classes,
            inner: 1,
        }
    }

    /// Each row's probability mass of the target (1 for a distribution).
    fn target_mass<E: Element>(&self, t: &[E], row: usize) -> E {
        let c = self.classes;
        E::from_f64(sum_f64(c, |k| t[row * c + k].to_f64_exact()))
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let (Some(&g), c) = (grad.first(), self.classes.max(1)) else {
            return;
        };
        let rows = self.rows();
        let scale = g / E::from_f64(rows as f64);
        let saved = parents.saved;
        let lp = self.log_probs.of(saved);
        match &self.target {
            CrossEntropyTarget::Indices(indices) => {
                if let Some(gx) = parents.get_mut(0) {
                    for (row, &class) in indices.iter().enumerate() {
                        for k in 0..c {
                            let at = row * c + k;
                            gx[at] = gx[at] + scale * probability_minus(lp[at], k == class);
                        }
                    }
                }
            }
            CrossEntropyTarget::Probabilities(t) => {
                let t = t.of(saved);
                if let Some(gx) = parents.get_mut(0) {
                    for row in 0..rows {
                        let mass = self.target_mass(t, row);
                        for k in 0..c {
                            let at = row * c + k;
                            let one_hot = t[at] == mass && mass.is_finite();
                            let term = if one_hot {
                                mass * probability_minus(lp[at], true)
                            } else {
                                lp[at].exp() * mass - t[at]
                            };
                            gx[at] = gx[at] + scale * term;
                        }
                    }
                }
                if let Some(gt) = parents.get_mut(1) {
                    for (gt, &l) in gt.iter_mut().zip(lp.iter()) {
                        *gt = *gt - scale * l;
                    }
                }
            }
        }
    }

    /// The gradients as recorded operations. The log-softmax is recorded again from the
    /// logits, so that it can be differentiated.
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let l = self.row_layout();
        let scale = g.map(UnaryKind::DivScalar(E::from_f64(self.rows() as f64)));
        let log_probs = || normalise(node.input(0, self.logits).operand(), l, true);
        match &self.target {
            CrossEntropyTarget::Indices(indices) => {
                if !node.tracked(0) {
                    return [None, None];
                }
                let one_hot: Storage<E> = (0..self.len)
                    .map(|at| {
                        let (row, k) = (at / l.len.max(1), at % l.len.max(1));
                        if indices[row] == k {
                            E::one()
                        } else {
                            E::zero()
                        }
                    })
                    .collect();
                // softmax - one_hot as exp(lp) off the target and expm1(lp) on it (see
                // `probability_minus`), masks being constants.
                let others: Storage<E> = one_hot.iter().map(|&h| E::one() - h).collect();
                let lp = log_probs();
                let gx = lp
                    .map(UnaryKind::Exp)
                    .mul(&Var::constant(others))
                    .add(&lp.map(UnaryKind::Expm1).mul(&Var::constant(one_hot)));
                [Some(gx.mul(&scale)), None]
            }
            CrossEntropyTarget::Probabilities(t) => {
                let t = node.input(1, *t);
                let lp = (node.tracked(0) || node.tracked(1)).then(log_probs);
                let gx = node.tracked(0).then(|| {
                    let lp = lp.as_ref().unwrap_or(g);
                    let mass = expand_lanes(&lane_sums_var(&t, l), l);
                    // e^lp · mass - t, where t holds the row's whole mass as
                    // mass · expm1(lp) + (mass - t): the same value (the second term is
                    // exactly 0 there) and the same derivative in t, without the
                    // cancellation; masks are constants.
                    let whole: Storage<E> = t
                        .data
                        .iter()
                        .zip(mass.data.iter())
                        .map(|(&t, &m)| {
                            if t == m && m.is_finite() {
                                E::one()
                            } else {
                                E::zero()
                            }
                        })
                        .collect();
                    let rest: Storage<E> = whole.iter().map(|&w| E::one() - w).collect();
                    let confident = lp.map(UnaryKind::Expm1).mul(&mass).add(&mass.sub(&t));
                    let plain = lp.map(UnaryKind::Exp).mul(&mass).sub(&t);
                    confident
                        .mul(&Var::constant(whole))
                        .add(&plain.mul(&Var::constant(rest)))
                        .mul(&scale)
                });
                let gt = node
                    .tracked(1)
                    .then(|| lp.as_ref().unwrap_or(g).mul(&scale).map(UnaryKind::Neg));
                [gx, gt]
            }
        }
    }

    /// The tangent of the loss: `Σ (softmax · mass - target) · t_x - log_softmax · t_t`
    /// over the rows, divided by their number.
    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let lp = self.log_probs.of(saved);
        let (n, c, rows) = (lp.len(), self.classes.max(1), self.rows());
        let tangent = (0..batch).map(|b| {
            let tx = tangents[0].map(|t| &t[b * n..(b + 1) * n]);
            let tt = tangents[1].map(|t| &t[b * n..(b + 1) * n]);
            let total = sum_f64(n, |at| {
                let (row, k) = (at / c, at % c);
                let l = lp[at].to_f64_exact();
                let (coefficient, target_term) = match &self.target {
                    CrossEntropyTarget::Indices(indices) => {
                        (probability_minus(l, indices[row] == k), 0.0)
                    }
                    CrossEntropyTarget::Probabilities(t) => {
                        let t = t.of(saved);
                        let mass = self.target_mass(t, row).to_f64_exact();
                        // No tangent of the target: no term (`-lp · 0` is NaN at lp = -inf).
                        let target_term = tt.map_or(0.0, |tt| -l * tt[at].to_f64_exact());
                        let target = t[at].to_f64_exact();
                        let coefficient = if target == mass && mass.is_finite() {
                            mass * probability_minus(l, true)
                        } else {
                            Float::exp(l) * mass - target
                        };
                        (coefficient, target_term)
                    }
                };
                coefficient * tx.map_or(0.0, |tx| tx[at].to_f64_exact()) + target_term
            });
            E::from_f64(total / rows as f64)
        });
        for (out, value) in out.iter_mut().zip(tangent) {
            *out = value;
        }
    }
}

/// A recorded loss, with its input and target.
#[derive(Clone)]
pub(crate) struct LossOp {
    kind: LossKind,
    input: Saved,
    target: Saved,
}

impl LossOp {
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            LossKind::Mse => "MseLossBackward0",
            LossKind::BceWithLogits => "BinaryCrossEntropyWithLogitsBackward0",
        }
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let Some(&g) = grad.first() else {
            return;
        };
        let saved = parents.saved;
        let (input, target) = (self.input.of(saved), self.target.of(saved));
        let scale = g / E::from_f64(input.len().max(1) as f64);
        let pairs = input.iter().zip(target.iter());
        match self.kind {
            LossKind::Mse => {
                let two = scale + scale;
                if let Some(gx) = parents.get_mut(0) {
                    for (gx, (&x, &y)) in gx.iter_mut().zip(pairs.clone()) {
                        *gx = *gx + two * (x - y);
                    }
                }
                if let Some(gy) = parents.get_mut(1) {
                    for (gy, (&x, &y)) in gy.iter_mut().zip(pairs) {
                        *gy = *gy - two * (x - y);
                    }
                }
            }
            LossKind::BceWithLogits => {
                if let Some(gz) = parents.get_mut(0) {
                    for (gz, (&z, &y)) in gz.iter_mut().zip(pairs.clone()) {
                        *gz = *gz + scale * sigmoid_minus_target(z, y);
                    }
                }
                if let Some(gy) = parents.get_mut(1) {
                    for (gy, (&z, _)) in gy.iter_mut().zip(pairs) {
                        *gy = *gy - scale * z;
                    }
                }
            }
        }
    }

    /// The gradients as recorded operations: MSE `2 (x - y) g / n` and its negative;
    /// BCE `(σ(z) - y) g / n` (as `sigmoid_minus_target`) and `-z g / n`.
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let (x, y) = (node.input(0, self.input), node.input(1, self.target));
        let n = E::from_f64(x.len() as f64);
        match self.kind {
            LossKind::Mse => {
                let scale = g.map(UnaryKind::MulScalar(E::from_f64(2.0) / n));
                let gx = x.sub(&y).mul(&scale);
                let gy = node.tracked(1).then(|| gx.map(UnaryKind::Neg));
                [node.tracked(0).then_some(gx), gy]
            }
            LossKind::BceWithLogits => {
                let scale = g.map(UnaryKind::DivScalar(n));
                // (1 - y) σ(z) - y σ(-z), as `sigmoid_minus_target`.
                let gz = node.tracked(0).then(|| {
                    let above = x
                        .map(UnaryKind::Sigmoid)
                        .mul(&y.map(UnaryKind::RsubScalar(E::one())));
                    let below = x.map(UnaryKind::Neg).map(UnaryKind::Sigmoid).mul(&y);
                    above.sub(&below).mul(&scale)
                });
                let gy = node.tracked(1).then(|| x.mul(&scale).map(UnaryKind::Neg));
                [gz, gy]
            }
        }
    }

    /// The tangent of the loss: the gradient's dot product with the inputs' tangents.
    pub(crate) fn jvp<E: Element>(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let (x, y) = (self.input.of(saved), self.target.of(saved));
        let n = x.len().min(y.len());
        let tangent = (0..batch).map(|b| {
            let t = |k: usize, i: usize| tangents[k].map_or(0.0, |t| t[b * n + i].to_f64_exact());
            let total = sum_f64(n, |i| {
                let (xi, yi) = (x[i].to_f64_exact(), y[i].to_f64_exact());
                match self.kind {
                    LossKind::Mse => 2.0 * (xi - yi) * (t(0, i) - t(1, i)),
                    // No tangent of the target: no term (`-z · 0` is NaN at z = ±inf).
                    LossKind::BceWithLogits => {
                        let target_term = if tangents[1].is_some() {
                            xi * t(1, i)
                        } else {
                            0.0
                        };
                        sigmoid_minus_target(xi, yi) * t(0, i) - target_term
                    }
                }
            });
            E::from_f64(total / n as f64)
        });
        for (out, value) in out.iter_mut().zip(tangent) {
            *out = value;
        }
    }
}

/// Cross-entropy of rows of `classes` logits against class indices, mean over rows.
fn cross_entropy_indices<E: Element>(
    x: Operand<'_, E>,
    indices: &[usize],
    classes: usize,
) -> Var<E> {
    let log_probs = row_log_softmax(x.values(), classes);
    // The mean over no rows is NaN, as in PyTorch.
    let loss = mean_of(indices.len(), |row| {
        -log_probs[row * classes + indices[row]].to_f64_exact()
    });
    let indices: Arc<[usize]> = indices.into();
    let len = log_probs.len();
    finish(Storage::collect(1, [loss]), [Some(x), None], |saver| {
        Op::CrossEntropy(CrossEntropyOp {
            logits: saver.save(x.data),
            log_probs: saver.keep(log_probs),
            target: CrossEntropyTarget::Indices(indices),
            len,
            classes,
        })
    })
}

/// Cross-entropy of rows of `classes` logits against rows of probabilities.
fn cross_entropy_probabilities<E: Element>(
    x: Operand<'_, E>,
    target: Operand<'_, E>,
    classes: usize,
) -> Var<E> {
    let log_probs = row_log_softmax(x.values(), classes);
    let t = target.values();
    let rows = t.len() / classes.max(1);
    // Σ over every element, divided by the number of rows (NaN for no rows).
    let loss = sum_divided(rows * classes, rows, |i| {
        -t[i].to_f64_exact() * log_probs[i].to_f64_exact()
    });
    let len = log_probs.len();
    finish(
        Storage::collect(1, [loss]),
        [Some(x), Some(target)],
        |saver| {
            Op::CrossEntropy(CrossEntropyOp {
                logits: saver.save(x.data),
                log_probs: saver.keep(log_probs),
                target: CrossEntropyTarget::Probabilities(saver.save(target.data)),
                len,
                classes,
            })
        },
    )
}

/// MSE or BCE with logits of `x` against `y`, whose value is `value`.
fn loss<E: Element>(x: Operand<'_, E>, y: Operand<'_, E>, kind: LossKind, value: E) -> Var<E> {
    finish(Storage::collect(1, [value]), [Some(x), Some(y)], |saver| {
        Op::Loss(LossOp {
            kind,
            input: saver.save(x.data),
            target: saver.save(y.data),
        })
    })
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// Cross-entropy of rows of `classes` logits against class indices, mean over rows.
    fn cross_entropy_rows(
        &self,
        indices: &[usize],
        classes: usize,
    ) -> Result<Tensor<Rank0, E, UnaryTape<T>>, Error> {
        if let Some(bad) = indices.iter().position(|&k| k >= classes) {
            return Err(Error::IndexOutOfBounds {
                context: "cross_entropy: class index",
                index: vec![bad, indices[bad]],
                dims: S::DIMS,
            });
        }
        Ok(Tensor::from_var(cross_entropy_indices(
            self.operand(),
            indices,
            classes,
        )))
    }

    /// Cross-entropy of rows of `classes` logits against rows of probabilities.
    fn cross_entropy_prob_rows<TT: Tape>(
        &self,
        target: &Tensor<S, E, TT>,
        classes: usize,
    ) -> Tensor<Rank0, E, BinaryTape<T, TT>>
    where
        T: Merge<TT>,
    {
        Tensor::from_var(cross_entropy_probabilities(
            self.operand(),
            target.operand(),
            classes,
        ))
    }

    /// Mean squared error against `target` (PyTorch's `F.mse_loss`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let p = Tensor::from_array([1.0f64, 3.0]).track();
    /// let loss = p.mse(&Tensor::from_array([0.0, 1.0]));
    /// assert_eq!(loss.item(), 2.5);
    /// assert_eq!(loss.backward().get(&p).unwrap().to_vec(), vec![1.0, 2.0]);
    /// ```
    pub fn mse<TT: Tape>(&self, target: &Tensor<S, E, TT>) -> Tensor<Rank0, E, BinaryTape<T, TT>>
    where
        T: Merge<TT>,
    {
        let (x, y) = (self.as_slice(), target.as_slice());
        let mean = mean_of(S::NUM_ELEMENTS, |i| {
            let d = x[i].to_f64_exact() - y[i].to_f64_exact();
            d * d
        });
        Tensor::from_var(loss(self.operand(), target.operand(), LossKind::Mse, mean))
    }

    /// Binary cross-entropy between `sigmoid(self)` and `target`, mean over elements,
    /// computed from the logits without overflow (PyTorch's
    /// `F.binary_cross_entropy_with_logits`): `max(z, 0) - z·y + ln(1 + e^-|z|)`.
    /// Finite for logits up to ±1e4 and beyond; its gradient is `(σ(z) - y) / n`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let z = Tensor::from_array([0.0f64, 1e4, -1e4]).track();
    /// let loss = z.bce_with_logits(&Tensor::from_array([0.0, 1.0, 0.0]));
    /// assert!((loss.item() - 2f64.ln() / 3.0).abs() < 1e-15);
    /// ```
    pub fn bce_with_logits<TT: Tape>(
        &self,
        target: &Tensor<S, E, TT>,
    ) -> Tensor<Rank0, E, BinaryTape<T, TT>>
    where
        T: Merge<TT>,
    {
        let (z, y) = (self.as_slice(), target.as_slice());
        let mean = mean_of(S::NUM_ELEMENTS, |i| {
            let (z, y) = (z[i].to_f64_exact(), y[i].to_f64_exact());
            softplus(z) - z * y
        });
        Tensor::from_var(loss(
            self.operand(),
            target.operand(),
            LossKind::BceWithLogits,
            mean,
        ))
    }
}

/// Log-softmax of each row of `classes` elements.
fn row_log_softmax<E: Element>(x: &[E], classes: usize) -> Storage<E> {
    let layout = AxisLayout {
        outer: x.len() / classes.max(1),
        len: classes,
        inner: 1,
    };
    log_softmax_lanes(x, layout)
}

impl<const B: usize, const C: usize, E: Element, T: Tape> Tensor<Rank2<B, C>, E, T> {
    /// Cross-entropy of a batch of `B` rows of `C` logits against one class index per
    /// row, mean over the batch (PyTorch's `F.cross_entropy(logits, classes)`).
    /// Computed through a stable log-softmax: finite for logits up to ±1e4 and beyond.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if a class index is not below `C` (the index holds
    /// the row and the class given).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let logits = Tensor::from_array([[2.0f64, 0.0], [0.0, 0.0]]).track();
    /// let loss = logits.cross_entropy(&[0, 1])?;
    /// let expected = ((1.0 + (-2.0f64).exp()).ln() + 2f64.ln()) / 2.0;
    /// assert!((loss.item() - expected).abs() < 1e-12);
    /// assert!(logits.cross_entropy(&[0, 2]).is_err());
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    pub fn cross_entropy(
        &self,
        classes: &[usize; B],
    ) -> Result<Tensor<Rank0, E, UnaryTape<T>>, Error> {
        self.cross_entropy_rows(classes, C)
    }

    /// Cross-entropy against class probabilities (each row of `target` a distribution),
    /// mean over the batch (PyTorch's `F.cross_entropy(logits, probabilities)`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let logits = Tensor::from_array([[0.0f64, 0.0]]).track();
    /// let loss = logits.cross_entropy_probs(&Tensor::from_array([[0.25, 0.75]]));
    /// assert!((loss.item() - 2f64.ln()).abs() < 1e-15);
    /// // The gradient is softmax - target: [0.5 - 0.25, 0.5 - 0.75].
    /// assert_eq!(loss.backward().get(&logits).unwrap().to_vec(), vec![0.25, -0.25]);
    /// ```
    pub fn cross_entropy_probs<TT: Tape>(
        &self,
        target: &Tensor<Rank2<B, C>, E, TT>,
    ) -> Tensor<Rank0, E, BinaryTape<T, TT>>
    where
        T: Merge<TT>,
    {
        self.cross_entropy_prob_rows(target, C)
    }
}

impl<const C: usize, E: Element, T: Tape> Tensor<Rank1<C>, E, T> {
    /// Cross-entropy of one row of `C` logits against a class index (PyTorch's
    /// unbatched `F.cross_entropy`).
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if `class` is not below `C`.
    pub fn cross_entropy(&self, class: usize) -> Result<Tensor<Rank0, E, UnaryTape<T>>, Error> {
        self.cross_entropy_rows(&[class], C)
    }

    /// Cross-entropy of one row of logits against a probability distribution.
    pub fn cross_entropy_probs<TT: Tape>(
        &self,
        target: &Tensor<Rank1<C>, E, TT>,
    ) -> Tensor<Rank0, E, BinaryTape<T, TT>>
    where
        T: Merge<TT>,
    {
        self.cross_entropy_prob_rows(target, C)
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn cross_entropy_gradients_are_softmax_minus_target() {
        let logits = Tensor::from_array([[1.0f64, 2.0, 3.0]]).track();
        let loss = logits.cross_entropy(&[2]).unwrap();
        let p = logits.no_grad().softmax::<1>().to_vec();
        let g = loss.backward().get(&logits).unwrap().to_vec();
        assert!((g[0] - p[0]).abs() < 1e-15 && (g[2] - (p[2] - 1.0)).abs() < 1e-15);
        let onehot = Tensor::from_array([[0.0f64, 0.0, 1.0]]);
        let by_probs = logits.cross_entropy_probs(&onehot);
        let by_index = logits.cross_entropy(&[2]).unwrap();
        assert!((by_probs.item() - by_index.item()).abs() < 1e-15);
    }

    #[test]
    fn losses_are_finite_for_huge_logits() {
        let z = Tensor::from_array([1e4f32, -1e4, 1e4, -1e4]).track();
        let y = Tensor::from_array([0.0f32, 1.0, 1.0, 0.0]);
        let loss = z.bce_with_logits(&y);
        assert_eq!(loss.item(), 5000.0);
        let g = loss.backward().get(&z).unwrap().to_vec();
        assert_eq!(g, vec![0.25, -0.25, 0.0, 0.0]);
        let logits = Tensor::from_array([[1e4f32, -1e4], [-1e4, 1e4]]).track();
        let ce = logits.cross_entropy(&[1, 1]).unwrap();
        assert_eq!(ce.item(), 1e4);
        let g = ce.backward().get(&logits).unwrap().to_vec();
        assert_eq!(g, vec![0.5, -0.5, 0.0, 0.0]);
    }
}
