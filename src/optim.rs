//! Optimizers: SGD with momentum, and Adam, updating [`Param`]s in place.
//!
//! A parameter is a plain (`NoGrad`) value tracked afresh each step: `p.track()` makes
//! the step's leaf, backward returns its gradient, and the optimizer updates the value
//! in place. The update happens after the step's leaf is released, so when the step's
//! graph is gone the storage is written without a copy; if something still holds the
//! old value (a graph, a clone), copy-on-write keeps that old value intact.

use crate::element::Element;
use crate::gradients::Gradients;
use crate::shape::Shape;
use crate::tape::Tracked;
use crate::tensor::Tensor;

/// A trainable value with the optimizer state that belongs to it.
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
    leaf: Option<Tensor<S, E, Tracked>>,
    /// First and second moment estimates (momentum uses the first).
    moments: [Vec<E>; 2],
    steps: u64,
}

impl<S: Shape, E: Element> Param<S, E> {
    /// A parameter starting at `value`, with zeroed optimizer state.
    pub fn new(value: Tensor<S, E>) -> Self {
        Param {
            value,
            leaf: None,
            moments: [Vec::new(), Vec::new()],
            steps: 0,
        }
    }

    /// The current value.
    pub fn value(&self) -> &Tensor<S, E> {
        &self.value
    }

    /// This step's tracked leaf (a new one on each call; the last one made is the one
    /// whose gradient the next `step` applies).
    pub fn track(&mut self) -> Tensor<S, E, Tracked> {
        let leaf = self.value.track();
        self.leaf = Some(leaf.clone());
        leaf
    }

    /// The gradient of this step's leaf, releasing the leaf. `None` if the parameter was
    /// not tracked since the last step or the loss does not depend on it.
    fn take_grad(&mut self, grads: &Gradients<E>) -> Option<Vec<E>> {
        let leaf = self.leaf.take()?;
        grads.get(&leaf).map(|g| g.to_vec())
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
        let Some(grad) = param.take_grad(grads) else {
            return;
        };
        let (lr, momentum) = (self.lr, self.momentum);
        let [velocity, _] = param.moments();
        for (v, &g) in velocity.iter_mut().zip(&grad) {
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
        let Some(grad) = param.take_grad(grads) else {
            return;
        };
        param.steps += 1;
        let t = i32::try_from(param.steps).unwrap_or(i32::MAX);
        let (b1, b2) = (self.beta1, self.beta2);
        let correction1 = E::one() - b1.powi(t);
        let correction2 = E::one() - b2.powi(t);
        let [m, v] = param.moments();
        let mut updates = Vec::with_capacity(grad.len());
        for ((m, v), &g) in m.iter_mut().zip(v.iter_mut()).zip(&grad) {
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

    #[test]
    fn untracked_parameter_is_left_alone() {
        let mut w = Param::new(Tensor::from_array([1.0f32]));
        Sgd::new(0.1).step(&mut w, &Gradients::new());
        assert_eq!(w.value().to_vec(), vec![1.0]);
    }
}
