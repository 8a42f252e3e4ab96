//! Losses of a prediction against a target, reduced by the mean: mean squared error and
//! binary cross-entropy with logits.

use std::sync::Arc;

use crate::element::Element;
use crate::ops::reduce::pairwise_sum;
use crate::ops::unary::{sigmoid, softplus};
use crate::ops::{finish, Op};
use crate::shape::{Rank0, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::{BinaryTape, Merge, Tape};
use crate::tensor::Tensor;

/// Which loss.
#[derive(Clone, Copy, Debug)]
enum LossKind {
    Mse,
    BceWithLogits,
}

/// A recorded loss, with its input and target.
pub(crate) struct LossOp<E: Element> {
    kind: LossKind,
    input: Arc<[E]>,
    target: Arc<[E]>,
}

impl<E: Element> LossOp<E> {
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            LossKind::Mse => "MseLossBackward0",
            LossKind::BceWithLogits => "BinaryCrossEntropyWithLogitsBackward0",
        }
    }

    pub(crate) fn backward(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let Some(&g) = grad.first() else {
            return;
        };
        let scale = g / E::from_f64(self.input.len().max(1) as f64);
        let pairs = self.input.iter().zip(self.target.iter());
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
                        *gz = *gz + scale * (sigmoid(z) - y);
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
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
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
        let diffs: Vec<E> = self
            .as_slice()
            .iter()
            .zip(target.as_slice())
            .map(|(&x, &y)| (x - y) * (x - y))
            .collect();
        let mean = pairwise_sum(&diffs) / E::from_f64(S::NUM_ELEMENTS as f64);
        self.loss(target, LossKind::Mse, mean)
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
        let terms: Vec<E> = self
            .as_slice()
            .iter()
            .zip(target.as_slice())
            .map(|(&z, &y)| softplus(z) - z * y)
            .collect();
        let mean = pairwise_sum(&terms) / E::from_f64(S::NUM_ELEMENTS as f64);
        self.loss(target, LossKind::BceWithLogits, mean)
    }

    fn loss<TT: Tape>(
        &self,
        target: &Tensor<S, E, TT>,
        kind: LossKind,
        value: E,
    ) -> Tensor<Rank0, E, BinaryTape<T, TT>>
    where
        T: Merge<TT>,
    {
        finish(
            Arc::new([value]),
            [self.graph_ref(), target.graph_ref()],
            || {
                Op::Loss(LossOp {
                    kind,
                    input: Arc::clone(self.storage()),
                    target: Arc::clone(target.storage()),
                })
            },
        )
    }
}
