//! Optimizers: SGD with momentum, and Adam, updating [`Param`]s in place.
//!
//! A parameter is a plain (`NoGrad`) value with one leaf id for its whole life. Every
//! `p.track()` is a leaf under that id, so all uses of `p` in a graph add into one
//! gradient (PyTorch's rule: a parameter is one leaf and every use adds into its
//! `.grad`), and `step` reads that gradient from the [`Gradients`] it is handed. Nothing
//! of a step's graph is kept in the parameter, so once that graph is gone the update
//! writes the storage without a copy; if something still holds the old value (a graph,
//! a clone), copy-on-write keeps that old value intact.
//!
//! Optimizer arguments are checked when the optimizer is built (`Sgd::new(lr)?`): a NaN,
//! infinite or out-of-range value is an [`Error::InvalidArgument`] naming it, rather
//! than parameters wrecked by the first step.

use crate::element::Element;
use crate::error::Error;
use crate::gradients::Gradients;
use crate::model::{Model, ParamTape, Step};
use crate::shape::Shape;
use crate::tape::graph::LeafId;
use crate::tape::Tracked;
use crate::tensor::Tensor;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use num_traits::Float;

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
/// - The optimizer state (SGD's velocity, Adam's moments and step count) is this
///   parameter's, as PyTorch keeps it per parameter: an optimizer rebuilt with other
///   settings (a new learning rate each epoch) carries on with it, as a PyTorch
///   scheduler does. A step by the other kind of optimizer starts that kind's state
///   afresh (Adam after SGD does not read SGD's velocity as its first moment, nor count
///   SGD's steps), and [`Param::reset_state`] starts it over, as a new PyTorch
///   optimizer would.
///
/// ```
/// use typegrad::optim::{Param, Sgd};
/// use typegrad::prelude::*;
/// // Minimise (w - 3)² by gradient descent.
/// let mut w = Param::new(Tensor::<Rank0, f64>::zeros());
/// let sgd = Sgd::new(0.1)?.with_momentum(0.5)?;
/// for _ in 0..100 {
///     let wt = w.track();
///     let grads = (&wt - 3.0).powf(2.0).backward();
///     sgd.step(&mut w, &grads);
/// }
/// assert!((w.value().item() - 3.0).abs() < 1e-6);
/// # Ok::<(), typegrad::Error>(())
/// ```
pub struct Param<S: Shape, E: Element> {
    value: Tensor<S, E>,
    /// The id every tracked use of this parameter carries; gradients are stored under it.
    id: LeafId,
    /// What the last optimizer to step this parameter keeps for it.
    state: OptimizerState<E>,
}

/// A parameter's optimizer state, tagged by the kind of optimizer that wrote it.
pub(crate) enum OptimizerState<E> {
    /// No state yet, or reset.
    Fresh,
    /// SGD's velocity (kept while momentum is used).
    Sgd { velocity: Vec<E> },
    /// Adam's first and second moment estimates and its step count.
    Adam { m: Vec<E>, v: Vec<E>, steps: u64 },
}

impl<S: Shape, E: Element> Param<S, E> {
    /// A parameter starting at `value`, with zeroed optimizer state.
    pub fn new(value: Tensor<S, E>) -> Self {
        Param {
            value,
            id: LeafId::fresh(),
            state: OptimizerState::Fresh,
        }
    }

    /// Forgets the optimizer state (SGD's velocity, Adam's moments and step count), as
    /// a newly built PyTorch optimizer starts without it; the value is unchanged.
    ///
    /// ```
    /// use typegrad::optim::{Adam, Param};
    /// use typegrad::prelude::*;
    /// let adam = Adam::new(0.1)?;
    /// let mut w = Param::new(Tensor::<Rank0, f64>::full(1.0));
    /// for _ in 0..3 {
    ///     let grads = (w.track() * 2.0).backward();
    ///     adam.step(&mut w, &grads);
    /// }
    /// w.reset_state();
    /// let before = w.value().item();
    /// let grads = (w.track() * 2.0).backward();
    /// adam.step(&mut w, &grads);
    /// // A first Adam step again: it moves by the learning rate.
    /// assert!((before - w.value().item() - 0.1).abs() < 1e-9);
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    pub fn reset_state(&mut self) {
        self.state = OptimizerState::Fresh;
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

    /// This parameter on tape `T`: a tracked leaf naming it ([`Param::track`]) when `T`
    /// is `Tracked`, its value when `T` is `NoGrad`. A forward function generic over
    /// `T: ParamTape` thus trains and evaluates with one body
    /// ([`ParamTape`] has an example).
    pub fn tensor<T: ParamTape>(&self) -> Tensor<S, E, T> {
        T::read(self)
    }

    /// The optimizer state, for saving it.
    #[cfg(feature = "safetensors")]
    pub(crate) fn state(&self) -> &OptimizerState<E> {
        &self.state
    }

    /// Sets the value and the optimizer state (a loaded model); the id stays, so
    /// leaves tracked before still name this parameter.
    #[cfg(feature = "safetensors")]
    pub(crate) fn restore(&mut self, value: Tensor<S, E>, state: OptimizerState<E>) {
        self.value = value;
        self.state = state;
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

    /// The value's elements (written in place when nothing else holds them) and SGD's
    /// velocity, zeroed if the state was not SGD's.
    fn sgd_parts(&mut self) -> (&mut [E], &mut [E]) {
        if !matches!(&self.state, OptimizerState::Sgd { velocity } if velocity.len() == S::NUM_ELEMENTS)
        {
            self.state = OptimizerState::Sgd {
                velocity: vec![E::zero(); S::NUM_ELEMENTS],
            };
        }
        let velocity = match &mut self.state {
            OptimizerState::Sgd { velocity } => velocity.as_mut_slice(),
            _ => &mut [],
        };
        (self.value.as_mut_slice(), velocity)
    }

    /// The value's elements, Adam's two moments and its step count after counting this
    /// step, all zeroed first if the state was not Adam's.
    fn adam_parts(&mut self) -> (&mut [E], &mut [E], &mut [E], u64) {
        let fits = |m: &Vec<E>, v: &Vec<E>| m.len() == S::NUM_ELEMENTS && v.len() == m.len();
        if !matches!(&self.state, OptimizerState::Adam { m, v, .. } if fits(m, v)) {
            self.state = OptimizerState::Adam {
                m: vec![E::zero(); S::NUM_ELEMENTS],
                v: vec![E::zero(); S::NUM_ELEMENTS],
                steps: 0,
            };
        }
        match &mut self.state {
            OptimizerState::Adam { m, v, steps } => {
                *steps += 1;
                (self.value.as_mut_slice(), m, v, *steps)
            }
            _ => (self.value.as_mut_slice(), &mut [], &mut [], 1),
        }
    }
}

/// An optimizer: the update of one parameter from its gradient, and so of every
/// parameter of a [`Model`].
///
/// Implemented by [`Sgd`] and [`Adam`]; a training function generic over
/// `O: Optimizer<E>` works with either.
///
/// ```
/// use typegrad::model::{Model, Optimizer, Visitor};
/// use typegrad::optim::{Adam, Param, Sgd};
/// use typegrad::prelude::*;
/// struct Line {
///     slope: Param<Rank0, f64>,
/// }
/// impl Model<f64> for Line {
///     fn visit<V: Visitor<f64>>(&mut self, v: &mut V) {
///         v.param("slope", &mut self.slope);
///     }
/// }
/// /// Fits y = 2x at x = 1, 2, 3 by least squares.
/// fn fit(optimizer: &impl Optimizer<f64>) -> f64 {
///     let mut line = Line { slope: Param::new(Tensor::zeros()) };
///     let (x, y) = (Tensor::from_array([1.0, 2.0, 3.0]), Tensor::from_array([2.0, 4.0, 6.0]));
///     for _ in 0..200 {
///         let loss = (&x * &line.slope.track()).mse(&y);
///         optimizer.step_model(&mut line, &loss.backward());
///     }
///     line.slope.value().item()
/// }
/// assert!((fit(&Sgd::new(0.05)?) - 2.0).abs() < 1e-6);
/// assert!((fit(&Adam::new(0.1)?) - 2.0).abs() < 1e-3);
/// # Ok::<(), typegrad::Error>(())
/// ```
pub trait Optimizer<E: Element> {
    /// Applies one update to `param` from its gradient in `grads`; does nothing if the
    /// parameter has no gradient there.
    fn step<S: Shape>(&self, param: &mut Param<S, E>, grads: &Gradients<E>);

    /// [`Optimizer::step`] for every parameter of `model` (PyTorch's
    /// `optimizer.step()`); a parameter the backward pass did not reach is left alone.
    /// Allocates nothing: the visit looks at no name.
    fn step_model<M: Model<E>>(&self, model: &mut M, grads: &Gradients<E>)
    where
        Self: Sized,
    {
        model.visit(&mut Step {
            optimizer: self,
            grads,
        });
    }
}

impl<E: Element> Optimizer<E> for Sgd<E> {
    fn step<S: Shape>(&self, param: &mut Param<S, E>, grads: &Gradients<E>) {
        Sgd::step(self, param, grads);
    }
}

impl<E: Element> Optimizer<E> for Adam<E> {
    fn step<S: Shape>(&self, param: &mut Param<S, E>, grads: &Gradients<E>) {
        Adam::step(self, param, grads);
    }
}

/// `value` if it is finite and >= 0, else the error naming it.
fn non_negative<E: Element>(
    context: &'static str,
    argument: &'static str,
    value: E,
) -> Result<E, Error> {
    let ok = value.is_finite() && value >= E::zero();
    check(ok, context, argument, value, "finite and >= 0")
}

/// `value` if it is finite and > 0, else the error naming it.
fn positive<E: Element>(
    context: &'static str,
    argument: &'static str,
    value: E,
) -> Result<E, Error> {
    let ok = value.is_finite() && value > E::zero();
    check(ok, context, argument, value, "finite and > 0")
}

/// `value` if it lies in [0, 1), else the error naming it.
fn below_one<E: Element>(
    context: &'static str,
    argument: &'static str,
    value: E,
) -> Result<E, Error> {
    let ok = value >= E::zero() && value < E::one();
    check(ok, context, argument, value, "in [0, 1)")
}

fn check<E: Element>(
    ok: bool,
    context: &'static str,
    argument: &'static str,
    value: E,
    rule: &'static str,
) -> Result<E, Error> {
    if ok {
        return Ok(value);
    }
    // An f32 widened exactly would print -0.1 as -0.10000000149011612; its shortest
    // decimal is the number the caller wrote, and it parses back (NaN and inf too).
    let written = value
        .to_string()
        .parse()
        .unwrap_or_else(|_| value.to_f64_exact());
    Err(Error::InvalidArgument {
        context,
        argument,
        value: written,
        rule,
    })
}

/// `g + λ w`: PyTorch's L2 weight decay, skipped when `λ` is 0 so that an infinite
/// weight does not turn the gradient into `0 * inf = NaN`.
fn decayed<E: Element>(grad: E, weight: E, weight_decay: E) -> E {
    if weight_decay == E::zero() {
        grad
    } else {
        grad + weight_decay * weight
    }
}

/// Stochastic gradient descent with optional momentum and weight decay (PyTorch's
/// `optim.SGD`): `g += λ w; v = μ v + g; w -= lr v` (without momentum, `w -= lr g`).
///
/// Every argument is checked as PyTorch checks it (and finite): a NaN, infinite or
/// negative learning rate, momentum or weight decay is an [`Error::InvalidArgument`].
///
/// ```
/// use typegrad::optim::{Param, Sgd};
/// use typegrad::prelude::*;
/// let sgd = Sgd::new(0.1)?.with_momentum(0.9)?.with_weight_decay(1e-4)?;
/// let mut w = Param::new(Tensor::<Rank1<2>, f64>::ones());
/// let grads = w.track().powf(2.0).sum().backward();
/// sgd.step(&mut w, &grads);
/// assert!(w.value().as_slice().iter().all(|&v| v < 1.0));
///
/// let err = Sgd::<f64>::new(f64::NAN).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "Sgd::new: invalid learning rate: NaN (must be finite and >= 0)"
/// );
/// # Ok::<(), typegrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Sgd<E> {
    lr: E,
    momentum: E,
    weight_decay: E,
}

impl<E: Element> Sgd<E> {
    /// Plain gradient descent with learning rate `lr`; an error unless `lr` is finite
    /// and >= 0.
    pub fn new(lr: E) -> Result<Self, Error> {
        Ok(Sgd {
            lr: non_negative("Sgd::new", "learning rate", lr)?,
            momentum: E::zero(),
            weight_decay: E::zero(),
        })
    }

    /// The same, with momentum `momentum` (0.9 is common); an error unless it is
    /// finite and >= 0.
    pub fn with_momentum(self, momentum: E) -> Result<Self, Error> {
        let momentum = non_negative("Sgd::with_momentum", "momentum", momentum)?;
        Ok(Sgd { momentum, ..self })
    }

    /// The same, with L2 weight decay `weight_decay` (`λ w` added to the gradient, as
    /// PyTorch's `weight_decay`); an error unless it is finite and >= 0.
    pub fn with_weight_decay(self, weight_decay: E) -> Result<Self, Error> {
        let weight_decay = non_negative("Sgd::with_weight_decay", "weight decay", weight_decay)?;
        Ok(Sgd {
            weight_decay,
            ..self
        })
    }

    /// Steps every parameter of `model` ([`Optimizer::step_model`]: PyTorch's
    /// `optimizer.step()`); the [`model`](crate::model) module has an example.
    pub fn step_model<M: Model<E>>(&self, model: &mut M, grads: &Gradients<E>) {
        Optimizer::step_model(self, model, grads);
    }

    /// Applies one update to `param` from its gradient in `grads`; does nothing if the
    /// parameter has no gradient there. A NaN gradient makes the parameter NaN.
    pub fn step<S: Shape>(&self, param: &mut Param<S, E>, grads: &Gradients<E>) {
        let Some(grad) = param.grad(grads) else {
            return;
        };
        let Sgd {
            lr,
            momentum,
            weight_decay,
        } = *self;
        // As PyTorch: without momentum there is no velocity, so a NaN that once went
        // through it does not stay in the state.
        if momentum == E::zero() {
            // Another kind's state is not carried past a step of this one.
            if !matches!(param.state, OptimizerState::Sgd { .. }) {
                param.state = OptimizerState::Fresh;
            }
            for (w, &g) in param.value.as_mut_slice().iter_mut().zip(grad.as_slice()) {
                *w = *w - lr * decayed(g, *w, weight_decay);
            }
        } else {
            let (weights, velocity) = param.sgd_parts();
            for ((w, v), &g) in weights.iter_mut().zip(velocity).zip(grad.as_slice()) {
                *v = momentum * *v + decayed(g, *w, weight_decay);
                *w = *w - lr * *v;
            }
        }
    }
}

/// Adam (PyTorch's `optim.Adam`, with its L2 `weight_decay`; not AdamW, not AMSGrad).
///
/// Every argument is checked as PyTorch checks it, and finite: the learning rate and
/// weight decay finite and >= 0, each beta in [0, 1), eps finite and > 0 (PyTorch
/// allows 0, which gives 0 / 0 on a gradient that is 0 from the start); anything else
/// is an [`Error::InvalidArgument`].
///
/// ```
/// use typegrad::optim::{Adam, Param};
/// use typegrad::prelude::*;
/// let adam = Adam::new(0.01)?.with_betas(0.9, 0.99)?.with_eps(1e-6)?;
/// let mut w = Param::new(Tensor::<Rank0, f64>::full(1.0));
/// let grads = (w.track() * 3.0).backward();
/// adam.step(&mut w, &grads);
/// // The first step moves by lr in the gradient's direction.
/// assert!((w.value().item() - 0.99).abs() < 1e-6);
///
/// let err = Adam::<f64>::new(1e-3)?.with_betas(1.0, 0.999).unwrap_err();
/// assert!(err.to_string().contains("invalid beta1: 1 (must be in [0, 1))"));
/// # Ok::<(), typegrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Adam<E> {
    lr: E,
    beta1: E,
    beta2: E,
    eps: E,
    weight_decay: E,
}

impl<E: Element> Adam<E> {
    /// Adam with learning rate `lr` and PyTorch's defaults: betas (0.9, 0.999), eps
    /// 1e-8, no weight decay; an error unless `lr` is finite and >= 0.
    pub fn new(lr: E) -> Result<Self, Error> {
        Ok(Adam {
            lr: non_negative("Adam::new", "learning rate", lr)?,
            beta1: E::from_f64(0.9),
            beta2: E::from_f64(0.999),
            eps: E::from_f64(1e-8),
            weight_decay: E::zero(),
        })
    }

    /// The same with other moment decay rates; an error unless each is in [0, 1) (a
    /// beta of 1 divides by zero in the bias correction).
    pub fn with_betas(self, beta1: E, beta2: E) -> Result<Self, Error> {
        Ok(Adam {
            beta1: below_one("Adam::with_betas", "beta1", beta1)?,
            beta2: below_one("Adam::with_betas", "beta2", beta2)?,
            ..self
        })
    }

    /// The same with `eps` (added to the denominator) instead of 1e-8; an error unless
    /// it is finite and > 0.
    pub fn with_eps(self, eps: E) -> Result<Self, Error> {
        let eps = positive("Adam::with_eps", "eps", eps)?;
        Ok(Adam { eps, ..self })
    }

    /// The same, with L2 weight decay `weight_decay` (`λ w` added to the gradient
    /// before the moments, as PyTorch's Adam `weight_decay`); an error unless it is
    /// finite and >= 0.
    pub fn with_weight_decay(self, weight_decay: E) -> Result<Self, Error> {
        let weight_decay = non_negative("Adam::with_weight_decay", "weight decay", weight_decay)?;
        Ok(Adam {
            weight_decay,
            ..self
        })
    }

    /// Steps every parameter of `model` ([`Optimizer::step_model`]: PyTorch's
    /// `optimizer.step()`); the [`model`](crate::model) module has an example.
    pub fn step_model<M: Model<E>>(&self, model: &mut M, grads: &Gradients<E>) {
        Optimizer::step_model(self, model, grads);
    }

    /// Applies one update to `param` from its gradient in `grads`; does nothing if the
    /// parameter has no gradient there. A NaN gradient makes the parameter NaN.
    pub fn step<S: Shape>(&self, param: &mut Param<S, E>, grads: &Gradients<E>) {
        let Some(grad) = param.grad(grads) else {
            return;
        };
        let (weights, m, v, steps) = param.adam_parts();
        let t = i32::try_from(steps).unwrap_or(i32::MAX);
        let Adam {
            lr,
            beta1: b1,
            beta2: b2,
            eps,
            weight_decay,
        } = *self;
        // PyTorch's sequence of operations, with its scalars computed in f64 as Python
        // computes them (in f32, `1 - b1.powi(t)` alone drifted by 1e-4 relative from
        // PyTorch's parameters over 20 steps).
        let (b1, b2) = (b1.to_f64_exact(), b2.to_f64_exact());
        let t = f64::from(t);
        let weight1 = E::from_f64(1.0 - b1);
        let weight2 = E::from_f64(1.0 - b2);
        let step_size = E::from_f64(lr.to_f64_exact() / (1.0 - Float::powf(b1, t)));
        let correction2_sqrt = E::from_f64(Float::sqrt(1.0 - Float::powf(b2, t)));
        let beta2 = E::from_f64(b2);
        let moments = m.iter_mut().zip(v.iter_mut());
        for ((w, (m, v)), &g) in weights.iter_mut().zip(moments).zip(grad.as_slice()) {
            let g = decayed(g, *w, weight_decay);
            *m = lerp(*m, g, weight1);
            *v = *v * beta2 + weight2 * g * g;
            let denominator = v.sqrt() / correction2_sqrt + eps;
            *w = *w - step_size * (*m / denominator);
        }
    }
}

/// `a + w (b - a)`, rounded as PyTorch's `lerp` rounds it (from the nearer end).
fn lerp<E: Element>(a: E, b: E, w: E) -> E {
    if w < E::from_f64(0.5) {
        a + w * (b - a)
    } else {
        b - (b - a) * (E::one() - w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Rank0;
    use alloc::format;

    fn scalar(value: f64) -> Param<Rank0, f64> {
        Param::new(Tensor::full(value))
    }

    #[test]
    fn adam_minimises_a_quadratic() -> Result<(), Error> {
        let mut w = Param::new(Tensor::from_array([5.0f64, -3.0]));
        let adam = Adam::new(0.1)?;
        for _ in 0..500 {
            let wt = w.track();
            let grads = wt.powf(2.0).sum().backward();
            adam.step(&mut w, &grads);
        }
        assert!(w.value().as_slice().iter().all(|v| v.abs() < 1e-3));
        Ok(())
    }

    /// One step of `(w - 3)²` by `step`.
    fn quadratic_step(
        w: &mut Param<Rank0, f64>,
        step: impl Fn(&mut Param<Rank0, f64>, &Gradients<f64>),
    ) {
        let grads = (&w.track() - 3.0).powf(2.0).backward();
        step(w, &grads);
    }

    #[test]
    fn adam_after_sgd_starts_its_own_state() -> Result<(), Error> {
        for momentum in [0.0, 0.9] {
            let sgd = Sgd::new(0.1)?.with_momentum(momentum)?;
            let adam = Adam::new(0.1)?;
            let mut w = scalar(0.0);
            for _ in 0..3 {
                quadratic_step(&mut w, |w, g| sgd.step(w, g));
            }
            let before = w.value().item();
            quadratic_step(&mut w, |w, g| adam.step(w, g));
            // A first Adam step (fresh moments, t = 1) moves by lr against the gradient;
            // with SGD's velocity read as a first moment it went to 19.66.
            // (eps = 1e-8 makes it lr · |g| / (|g| + eps).)
            let after = w.value().item();
            assert!((after - (before + 0.1)).abs() < 1e-8, "{momentum}: {after}");
        }
        Ok(())
    }

    #[test]
    fn sgd_after_adam_starts_from_zero_velocity() -> Result<(), Error> {
        let (sgd, adam) = (Sgd::new(0.1)?.with_momentum(0.9)?, Adam::new(0.1)?);
        let mut w = scalar(0.0);
        for _ in 0..3 {
            quadratic_step(&mut w, |w, g| adam.step(w, g));
        }
        let before = w.value().item();
        quadratic_step(&mut w, |w, g| sgd.step(w, g));
        // v = 0.9 · 0 + g, w -= lr v, with g = 2 (w - 3).
        let expected = before - 0.1 * 2.0 * (before - 3.0);
        assert!((w.value().item() - expected).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn an_optimizer_rebuilt_with_the_same_settings_carries_on() -> Result<(), Error> {
        // The state is the parameter's: rebuilding Adam (as a new learning rate each
        // epoch would) continues the moments, as a PyTorch scheduler does.
        let (mut kept, mut rebuilt) = (scalar(0.0), scalar(0.0));
        let adam = Adam::new(0.1)?;
        for _ in 0..4 {
            quadratic_step(&mut kept, |w, g| adam.step(w, g));
            let fresh = Adam::new(0.1)?;
            quadratic_step(&mut rebuilt, |w, g| fresh.step(w, g));
        }
        assert_eq!(kept.value().item(), rebuilt.value().item());
        // Reset, the next step is a first step again.
        let mut reset = scalar(0.0);
        for _ in 0..3 {
            quadratic_step(&mut reset, |w, g| adam.step(w, g));
        }
        reset.reset_state();
        let before = reset.value().item();
        quadratic_step(&mut reset, |w, g| adam.step(w, g));
        assert!((reset.value().item() - (before + 0.1)).abs() < 1e-8);
        Ok(())
    }

    #[test]
    fn update_writes_in_place_once_the_graph_is_gone() -> Result<(), Error> {
        let mut w = Param::new(Tensor::from_array([1.0f32, 2.0]));
        let before = w.value().as_slice().as_ptr();
        let wt = w.track();
        let grads = (&wt * &wt).sum().backward();
        drop(wt);
        Sgd::new(0.1)?.step(&mut w, &grads);
        assert_eq!(w.value().as_slice().as_ptr(), before);
        assert!(w
            .value()
            .allclose(&Tensor::from_array([0.8, 1.6]), 1e-6, 0.0));
        Ok(())
    }

    /// `3a + 5b` with `a` and `b` both tracked from `p`: d/dp = 3 + 5.
    fn two_uses_loss(p: &Param<Rank0, f64>) -> Gradients<f64> {
        let a = p.track();
        let b = p.track();
        ((&a * 3.0) + (&b * 5.0)).backward()
    }

    #[test]
    fn param_tracked_twice_in_one_step_sums_both_uses_sgd() -> Result<(), Error> {
        let mut p = scalar(1.0);
        let grads = two_uses_loss(&p);
        Sgd::new(1.0)?.step(&mut p, &grads);
        assert_eq!(p.value().item(), -7.0);
        Ok(())
    }

    #[test]
    fn param_tracked_twice_in_one_step_sums_both_uses_adam() -> Result<(), Error> {
        // With one gradient g, Adam's first step moves by lr * g / (|g| + eps), so
        // the size of the summed gradient is seen through `eps`: g = 8 gives
        // 1 - 0.1 * 8 / (8 + 4) and g = 5 (the last use only) would give 1 - 0.1 * 5 / 9.
        let mut p = scalar(1.0);
        let grads = two_uses_loss(&p);
        Adam::new(0.1)?.with_eps(4.0)?.step(&mut p, &grads);
        let expected = 1.0 - 0.1 * 8.0 / (8.0 + 4.0);
        assert!((p.value().item() - expected).abs() < 1e-12);
        Ok(())
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
    fn param_tracked_again_before_step_still_steps_sgd() -> Result<(), Error> {
        let mut p = scalar(1.0);
        let grads = loss_then_validation(&p);
        Sgd::new(0.5)?.step(&mut p, &grads);
        assert_eq!(p.value().item(), 1.0 - 0.5 * 3.0);
        Ok(())
    }

    #[test]
    fn param_tracked_again_before_step_still_steps_adam() -> Result<(), Error> {
        let mut p = scalar(1.0);
        let grads = loss_then_validation(&p);
        Adam::new(0.1)?.step(&mut p, &grads);
        // Adam's first step is lr * sign(g) while |g| >> eps.
        assert!((p.value().item() - 0.9).abs() < 1e-9);
        Ok(())
    }

    #[test]
    fn step_twice_with_the_same_gradients_applies_them_twice() -> Result<(), Error> {
        let mut p = scalar(1.0);
        let grads = (p.track() * 3.0).backward();
        let sgd = Sgd::new(1.0)?;
        sgd.step(&mut p, &grads);
        sgd.step(&mut p, &grads);
        assert_eq!(p.value().item(), 1.0 - 2.0 * 3.0);
        Ok(())
    }

    #[test]
    fn a_leaf_kept_across_a_step_still_names_the_parameter() -> Result<(), Error> {
        let mut p = scalar(1.0);
        let old = p.track();
        let grads = (&old * 3.0).backward();
        Sgd::new(1.0)?.step(&mut p, &grads);
        // The kept leaf holds the value it was tracked from (copy-on-write), and its
        // gradient is this parameter's.
        assert_eq!((old.item(), p.value().item()), (1.0, -2.0));
        let grads = (&old * 2.0).backward();
        assert_eq!(p.grad(&grads).map(|g| g.item()), Some(2.0));
        Ok(())
    }

    #[test]
    fn untracked_parameter_is_left_alone() -> Result<(), Error> {
        let mut w = Param::new(Tensor::from_array([1.0f32]));
        Sgd::new(0.1)?.step(&mut w, &Gradients::new());
        assert_eq!(w.value().to_vec(), vec![1.0]);
        Ok(())
    }

    #[test]
    fn sgd_weight_decay_adds_lambda_w_to_the_gradient() -> Result<(), Error> {
        // Loss 3p from p = 2, lr 0.5, λ 0.1, μ 0.9.
        // Step 1: g = 3 + 0.1 * 2 = 3.2, v = 3.2, p = 2 - 0.5 * 3.2 = 0.4.
        // Step 2: g = 3 + 0.1 * 0.4 = 3.04, v = 0.9 * 3.2 + 3.04 = 5.92,
        //         p = 0.4 - 0.5 * 5.92 = -2.56.
        let sgd = Sgd::new(0.5)?.with_momentum(0.9)?.with_weight_decay(0.1)?;
        let mut p = scalar(2.0);
        for expected in [0.4, -2.56] {
            let grads = (p.track() * 3.0).backward();
            sgd.step(&mut p, &grads);
            assert!((p.value().item() - expected).abs() < 1e-12);
        }
        // Without momentum: p = 2 - 0.5 * (3 + 0.1 * 2) = 0.4.
        let mut p = scalar(2.0);
        let grads = (p.track() * 3.0).backward();
        Sgd::new(0.5)?.with_weight_decay(0.1)?.step(&mut p, &grads);
        assert!((p.value().item() - 0.4).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn adam_weight_decay_adds_lambda_w_to_the_gradient() -> Result<(), Error> {
        // Loss 3p from p = 2, lr 0.1, betas (0.9, 0.999), eps 1, λ 0.5.
        // Step 1: g = 3 + 0.5 * 2 = 4, m = 0.4, v = 0.016, m̂ = 4, v̂ = 16,
        //         p = 2 - 0.1 * 4 / (4 + 1) = 1.92.
        // Step 2: g = 3 + 0.5 * 1.92 = 3.96, m = 0.36 + 0.396 = 0.756,
        //         v = 0.015984 + 0.0156816 = 0.0316656, m̂ = 0.756 / 0.19 = 3.97894737,
        //         v̂ = 0.0316656 / 0.001999 = 15.8407204 (√ = 3.98004),
        //         p = 1.92 - 0.1 * 3.97894737 / 4.98004 = 1.8401021.
        let adam = Adam::new(0.1)?.with_eps(1.0)?.with_weight_decay(0.5)?;
        let mut p = scalar(2.0);
        for expected in [1.92, 1.840_102_1] {
            let grads = (p.track() * 3.0).backward();
            adam.step(&mut p, &grads);
            assert!((p.value().item() - expected).abs() < 1e-7);
        }
        Ok(())
    }

    #[test]
    fn a_nan_gradient_makes_the_parameter_nan() -> Result<(), Error> {
        let sgds = [
            Sgd::new(0.1)?,
            Sgd::new(0.1)?.with_momentum(0.9)?,
            Sgd::new(0.1)?.with_weight_decay(0.01)?,
        ];
        for sgd in sgds {
            let mut p = scalar(1.0);
            let grads = (p.track() * f64::NAN).backward();
            sgd.step(&mut p, &grads);
            assert!(p.value().item().is_nan(), "{sgd:?}");
        }
        let adams = [Adam::new(0.1)?, Adam::new(0.1)?.with_weight_decay(0.01)?];
        for adam in adams {
            let mut p = scalar(1.0);
            let grads = (p.track() * f64::NAN).backward();
            adam.step(&mut p, &grads);
            assert!(p.value().item().is_nan(), "{adam:?}");
        }
        Ok(())
    }

    /// The message of an argument error, checking it names `argument` and `value`.
    fn rejects<T: core::fmt::Debug>(result: Result<T, Error>, argument: &str, value: &str) {
        let message = result.map_or_else(|e| e.to_string(), |ok| format!("accepted: {ok:?}"));
        let named = format!("invalid {argument}: {value} (must be ");
        assert!(message.contains(&named), "{message:?} lacks {named:?}");
    }

    #[test]
    fn sgd_rejects_a_nan_negative_or_infinite_learning_rate() {
        rejects(Sgd::new(f64::NAN), "learning rate", "NaN");
        rejects(Sgd::new(-0.1), "learning rate", "-0.1");
        rejects(Sgd::new(f64::INFINITY), "learning rate", "inf");
        rejects(Sgd::new(-0.1f32), "learning rate", "-0.1");
        assert_eq!(
            Sgd::new(f64::NAN).map(|_| ()).unwrap_err().to_string(),
            "Sgd::new: invalid learning rate: NaN (must be finite and >= 0)"
        );
        assert!(Sgd::new(0.0).is_ok());
    }

    #[test]
    fn sgd_rejects_a_nan_negative_or_infinite_momentum() -> Result<(), Error> {
        let sgd = Sgd::new(0.1)?;
        rejects(sgd.with_momentum(f64::NAN), "momentum", "NaN");
        rejects(sgd.with_momentum(-0.5), "momentum", "-0.5");
        rejects(sgd.with_momentum(f64::INFINITY), "momentum", "inf");
        Ok(())
    }

    #[test]
    fn sgd_rejects_a_nan_negative_or_infinite_weight_decay() -> Result<(), Error> {
        let sgd = Sgd::new(0.1)?;
        rejects(sgd.with_weight_decay(f64::NAN), "weight decay", "NaN");
        rejects(sgd.with_weight_decay(-1e-4), "weight decay", "-0.0001");
        rejects(sgd.with_weight_decay(f64::INFINITY), "weight decay", "inf");
        Ok(())
    }

    #[test]
    fn adam_rejects_a_nan_negative_or_infinite_learning_rate() {
        rejects(Adam::new(f64::NAN), "learning rate", "NaN");
        rejects(Adam::new(-0.1), "learning rate", "-0.1");
        rejects(Adam::new(f64::NEG_INFINITY), "learning rate", "-inf");
        let err = Adam::new(f32::NAN).map(|_| ()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidArgument {
                    context: "Adam::new",
                    argument: "learning rate",
                    value,
                    rule: "finite and >= 0",
                } if value.is_nan()
            ),
            "{err:?}"
        );
    }

    #[test]
    fn adam_rejects_betas_outside_zero_to_one() -> Result<(), Error> {
        let adam = Adam::new(1e-3)?;
        rejects(adam.with_betas(1.0, 0.999), "beta1", "1");
        rejects(adam.with_betas(0.9, 1.0), "beta2", "1");
        rejects(adam.with_betas(1.0, 1.0), "beta1", "1");
        rejects(adam.with_betas(-0.1, 0.999), "beta1", "-0.1");
        rejects(adam.with_betas(0.9, -0.1), "beta2", "-0.1");
        rejects(adam.with_betas(f64::NAN, 0.999), "beta1", "NaN");
        assert!(adam.with_betas(0.0, 0.0).is_ok());
        Ok(())
    }

    #[test]
    fn adam_rejects_an_eps_that_is_not_finite_and_positive() -> Result<(), Error> {
        let adam = Adam::new(1e-3)?;
        rejects(adam.with_eps(0.0), "eps", "0");
        rejects(adam.with_eps(-1e-8), "eps", "-0.00000001");
        rejects(adam.with_eps(f64::NAN), "eps", "NaN");
        rejects(adam.with_eps(f64::INFINITY), "eps", "inf");
        Ok(())
    }

    #[test]
    fn adam_rejects_a_nan_negative_or_infinite_weight_decay() -> Result<(), Error> {
        let adam = Adam::new(1e-3)?;
        rejects(adam.with_weight_decay(f64::NAN), "weight decay", "NaN");
        rejects(adam.with_weight_decay(-0.01), "weight decay", "-0.01");
        rejects(adam.with_weight_decay(f64::INFINITY), "weight decay", "inf");
        Ok(())
    }
}
