//! Optimizers: SGD with momentum, and Adam, updating [`Param`]s in place.
//!
//! A parameter is a plain (`NoGrad`) value with one leaf id for its whole life. Every
//! `p.track()` is a leaf under that id, so all uses of `p` in a graph add into one
//! gradient (PyTorch's rule: a parameter is one leaf and every use adds into its
//! `.grad`), and `step` reads that gradient from the [`Gradients`] it is handed. Nothing
//! of a step's graph is kept in the parameter, so once that graph is gone the update
//! writes the storage without a copy; if something still holds the old value (a graph,
//! a clone), copy-on-write keeps that old value intact.

use crate::element::Element;
use crate::gradients::Gradients;
use crate::shape::Shape;
use crate::tape::graph::LeafId;
use crate::tape::Tracked;
use crate::tensor::Tensor;

/// A trainable value with the optimizer state that belongs to it.
///
/// A `Param` is one leaf for its whole life, as a PyTorch parameter is:
/// - [`Param::track`] may be called any number of times, in one graph or several;
///   every leaf it returns names this parameter, so every use contributes to the one
///   gradient (tracking `p` twice and computing `3a + 5b` gives the gradient 8).
/// - `step` applies the gradient of this parameter found in the `Gradients` it is
///   handed, whatever was tracked since (a validation pass between `backward` and
///   `step` changes nothing).
/// - Calling `step` twice with the same `Gradients` applies that gradient twice, as
///   PyTorch's optimizer does when `.grad` is not zeroed.
/// - A tracked leaf kept from before a step still names this parameter but holds the
///   value it was tracked from: track again after a step to use the new value.
/// - `p.value().track()` makes a leaf of its own, not this parameter: its gradient
///   is stored apart and `step` does not see it.
///
/// ```
/// use typegrad::optim::{Param, Sgd};
/// use typegrad::prelude::*;
/// // Minimise (w - 3)² by gradient descent.
/// let mut w = Param::new(Tensor::<Rank0, f64>::zeros());
/// let sgd = Sgd::new(0.1).with_momentum(0.5);
/// for _ in 0..100 {
///     let wt = w.track();
///     let grads = (&wt - 3.0).powf(2.0).backward();
///     sgd.step(&mut w, &grads);
/// }
/// assert!((w.value().item() - 3.0).abs() < 1e-6);
/// ```
pub struct Param<S: Shape, E: Element> {
    value: Tensor<S, E>,
    /// The id every tracked use of this parameter carries; gradients are stored under it.
    id: LeafId,
    /// First and second moment estimates (momentum uses the first).
    moments: [Vec<E>; 2],
    steps: u64,
}

impl<S: Shape, E: Element> Param<S, E> {
    /// A parameter starting at `value`, with zeroed optimizer state.
    pub fn new(value: Tensor<S, E>) -> Self {
        Param {
            value,
            id: LeafId::fresh(),
            moments: [Vec::new(), Vec::new()],
            steps: 0,
        }
    }

    /// The current value.
    pub fn value(&self) -> &Tensor<S, E> {
        &self.value
    }

    /// A tracked leaf naming this parameter, sharing its storage (no copy). Every leaf
    /// it returns names the same parameter, so all uses add into one gradient.
    pub fn track(&self) -> Tensor<S, E, Tracked> {
        self.value.track_as(self.id)
    }

    /// This parameter's gradient in `grads` (PyTorch's `p.grad`): the sum over every use
    /// of every leaf [`Param::track`] made that reached `grads`. `None` if no backward
    /// pass into `grads` reached this parameter.
    ///
    /// ```
    /// use typegrad::optim::Param;
    /// use typegrad::prelude::*;
    /// let p = Param::new(Tensor::<Rank0, f64>::full(1.0));
    /// let (a, b) = (p.track(), p.track());
    /// let grads = ((&a * 3.0) + (&b * 5.0)).backward();
    /// assert_eq!(p.grad(&grads).unwrap().item(), 8.0);
    /// ```
    pub fn grad(&self, grads: &Gradients<E>) -> Option<Tensor<S, E>> {
        grads.get_by_id(self.id)
    }

    fn moments(&mut self) -> &mut [Vec<E>; 2] {
        for m in &mut self.moments {
            if m.len() != S::NUM_ELEMENTS {
                *m = vec![E::zero(); S::NUM_ELEMENTS];
            }
        }
        &mut self.moments
    }
}

/// Stochastic gradient descent with optional momentum (PyTorch's `optim.SGD`):
/// `v = μ v + g; w -= lr v`.
#[derive(Clone, Copy, Debug)]
pub struct Sgd<E> {
    lr: E,
    momentum: E,
}

impl<E: Element> Sgd<E> {
    /// Plain gradient descent with learning rate `lr`.
    pub fn new(lr: E) -> Self {
        Sgd {
            lr,
            momentum: E::zero(),
        }
    }

    /// The same, with momentum `momentum` (0.9 is common).
    pub fn with_momentum(self, momentum: E) -> Self {
        Sgd { momentum, ..self }
    }

    /// Applies one update to `param` from its gradient in `grads`; does nothing if the
    /// parameter has no gradient there.
    pub fn step<S: Shape>(&self, param: &mut Param<S, E>, grads: &Gradients<E>) {
        let Some(grad) = param.grad(grads) else {
            return;
        };
        let (lr, momentum) = (self.lr, self.momentum);
        let [velocity, _] = param.moments();
        for (v, &g) in velocity.iter_mut().zip(grad.as_slice()) {
            *v = momentum * *v + g;
        }
        let velocity = velocity.clone();
        for (w, v) in param.value.as_mut_slice().iter_mut().zip(velocity) {
            *w = *w - lr * v;
        }
        param.steps += 1;
    }
}

/// Adam (PyTorch's `optim.Adam`, without weight decay).
#[derive(Clone, Copy, Debug)]
pub struct Adam<E> {
    lr: E,
    beta1: E,
    beta2: E,
    eps: E,
}

impl<E: Element> Adam<E> {
    /// Adam with learning rate `lr` and PyTorch's defaults: betas (0.9, 0.999), eps 1e-8.
    pub fn new(lr: E) -> Self {
        Adam {
            lr,
            beta1: E::from_f64(0.9),
            beta2: E::from_f64(0.999),
            eps: E::from_f64(1e-8),
        }
    }

    /// The same with other moment decay rates.
    pub fn with_betas(self, beta1: E, beta2: E) -> Self {
        Adam {
            beta1,
            beta2,
            ..self
        }
    }

    /// Applies one update to `param` from its gradient in `grads`; does nothing if the
    /// parameter has no gradient there.
    pub fn step<S: Shape>(&self, param: &mut Param<S, E>, grads: &Gradients<E>) {
        let Some(grad) = param.grad(grads) else {
            return;
        };
        param.steps += 1;
        let t = i32::try_from(param.steps).unwrap_or(i32::MAX);
        let (b1, b2) = (self.beta1, self.beta2);
        let correction1 = E::one() - b1.powi(t);
        let correction2 = E::one() - b2.powi(t);
        let [m, v] = param.moments();
        let mut updates = Vec::with_capacity(S::NUM_ELEMENTS);
        for ((m, v), &g) in m.iter_mut().zip(v.iter_mut()).zip(grad.as_slice()) {
            *m = b1 * *m + (E::one() - b1) * g;
            *v = b2 * *v + (E::one() - b2) * g * g;
            let m_hat = *m / correction1;
            let v_hat = *v / correction2;
            updates.push(self.lr * m_hat / (v_hat.sqrt() + self.eps));
        }
        for (w, u) in param.value.as_mut_slice().iter_mut().zip(updates) {
            *w = *w - u;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Rank0;

    #[test]
    fn adam_minimises_a_quadratic() {
        let mut w = Param::new(Tensor::from_array([5.0f64, -3.0]));
        let adam = Adam::new(0.1);
        for _ in 0..500 {
            let wt = w.track();
            let grads = wt.powf(2.0).sum().backward();
            adam.step(&mut w, &grads);
        }
        assert!(w.value().as_slice().iter().all(|v| v.abs() < 1e-3));
    }

    #[test]
    fn update_writes_in_place_once_the_graph_is_gone() {
        let mut w = Param::new(Tensor::from_array([1.0f32, 2.0]));
        let before = w.value().as_slice().as_ptr();
        let wt = w.track();
        let grads = (&wt * &wt).sum().backward();
        drop(wt);
        Sgd::new(0.1).step(&mut w, &grads);
        assert_eq!(w.value().as_slice().as_ptr(), before);
        assert!(w
            .value()
            .allclose(&Tensor::from_array([0.8, 1.6]), 1e-6, 0.0));
    }

    /// `3a + 5b` with `a` and `b` both tracked from `p`: d/dp = 3 + 5.
    fn two_uses_loss(p: &Param<Rank0, f64>) -> Gradients<f64> {
        let a = p.track();
        let b = p.track();
        ((&a * 3.0) + (&b * 5.0)).backward()
    }

    #[test]
    fn param_tracked_twice_in_one_step_sums_both_uses_sgd() {
        let mut p = Param::new(Tensor::<Rank0, f64>::full(1.0));
        let grads = two_uses_loss(&p);
        Sgd::new(1.0).step(&mut p, &grads);
        assert_eq!(p.value().item(), -7.0);
    }

    #[test]
    fn param_tracked_twice_in_one_step_sums_both_uses_adam() {
        // With one gradient g, Adam's first step moves by lr * g / (|g| + eps), so
        // the sign and size of the summed gradient are seen through `eps`: g = 8 gives
        // 1 - 0.1 * 8 / (8 + 4) and g = 5 (the last use only) would give 1 - 0.1 * 5 / 9.
        let mut p = Param::new(Tensor::<Rank0, f64>::full(1.0));
        let grads = two_uses_loss(&p);
        Adam {
            eps: 4.0,
            ..Adam::new(0.1)
        }
        .step(&mut p, &grads);
        let expected = 1.0 - 0.1 * 8.0 / (8.0 + 4.0);
        assert!(
            (p.value().item() - expected).abs() < 1e-12,
            "{}",
            p.value().item()
        );
    }

    /// A training step with a validation pass (the parameter tracked again, that graph
    /// dropped unused) between backward and the update.
    fn loss_then_validation(p: &Param<Rank0, f64>) -> Gradients<f64> {
        let pt = p.track();
        let grads = (&pt * 3.0).backward();
        let validation = p.track() * 2.0;
        drop(validation);
        grads
    }

    #[test]
    fn param_tracked_again_before_step_still_steps_sgd() {
        let mut p = Param::new(Tensor::<Rank0, f64>::full(1.0));
        let grads = loss_then_validation(&p);
        Sgd::new(0.5).step(&mut p, &grads);
        assert_eq!(p.value().item(), 1.0 - 0.5 * 3.0);
    }

    #[test]
    fn param_tracked_again_before_step_still_steps_adam() {
        let mut p = Param::new(Tensor::<Rank0, f64>::full(1.0));
        let grads = loss_then_validation(&p);
        Adam::new(0.1).step(&mut p, &grads);
        // Adam's first step is lr * sign(g) while |g| >> eps.
        assert!(
            (p.value().item() - 0.9).abs() < 1e-9,
            "{}",
            p.value().item()
        );
    }

    #[test]
    fn step_twice_with_the_same_gradients_applies_them_twice() {
        let mut p = Param::new(Tensor::<Rank0, f64>::full(1.0));
        let grads = (p.track() * 3.0).backward();
        let sgd = Sgd::new(1.0);
        sgd.step(&mut p, &grads);
        sgd.step(&mut p, &grads);
        assert_eq!(p.value().item(), 1.0 - 2.0 * 3.0);
    }

    #[test]
    fn a_leaf_kept_across_a_step_still_names_the_parameter() {
        let mut p = Param::new(Tensor::<Rank0, f64>::full(1.0));
        let old = p.track();
        let grads = (&old * 3.0).backward();
        Sgd::new(1.0).step(&mut p, &grads);
        // The kept leaf holds the value it was tracked from (copy-on-write), and its
        // gradient is this parameter's.
        assert_eq!((old.item(), p.value().item()), (1.0, -2.0));
        let grads = (&old * 2.0).backward();
        assert_eq!(p.grad(&grads).map(|g| g.item()), Some(2.0));
    }

    #[test]
    fn untracked_parameter_is_left_alone() {
        let mut w = Param::new(Tensor::from_array([1.0f32]));
        Sgd::new(0.1).step(&mut w, &Gradients::new());
        assert_eq!(w.value().to_vec(), vec![1.0]);
    }
}
