//! Models: a struct of [`Param`]s that names each parameter once, so that one call
//! steps, saves, loads or resets all of them (PyTorch's `parameters()` and
//! `state_dict()`).
//!
//! A model implements [`Model`] with one method, [`Model::visit`], which hands each
//! parameter to a [`Visitor`] under its field name, and each sub-model under its own
//! name (its parameters are then named `layer1.weight`, as PyTorch names them). From
//! that one method come:
//!
//! | PyTorch | typegrad |
//! |---|---|
//! | `optimizer.step()` | `adam.step_model(&mut model, &grads)` ([`Optimizer::step_model`]) |
//! | `optimizer.zero_grad()` | nothing: each `backward()` returns new [`Gradients`] (with `backward_into`, `grads.zero()`) |
//! | `save_file(model.state_dict() ∪ optimizer.state_dict(), path)` | [`model.save(path)?`](Model::save) |
//! | `model.load_state_dict(load_file(path))` | [`model.load(path)?`](Model::load) |
//! | a new optimizer | [`model.reset_state()`](Model::reset_state) |
//! | `sum(p.numel() for p in model.parameters())` | [`model.parameter_count()`](Model::parameter_count) |
//!
//! The forward pass reads each parameter on a tape chosen by the caller:
//! [`Param::tensor::<T>()`](Param::tensor) is a tracked leaf naming the parameter when
//! `T` is [`Tracked`] (training) and its plain value when `T` is [`NoGrad`] (inference),
//! so one forward function written over `T: ParamTape` serves both, and "track every
//! parameter for this step" is `model.forward::<Tracked>(x)`.
//!
//! A saved model holds each parameter's value under its name, and its optimizer state
//! beside it: `name.adam.m`, `name.adam.v` (the moments, shaped as the parameter) and
//! `name.adam.step` (the step count, an `F64` scalar, exact to 2⁵³), or
//! `name.sgd.velocity`. Training resumed from a saved model continues bit for bit as if
//! it had not stopped. Loading checks every parameter's shape and element type and
//! accepts no missing and no extra tensor; an error names the tensor, and leaves the
//! model unchanged.
//!
//! ```
//! use typegrad::model::{Model, ParamTape, Visitor};
//! use typegrad::optim::{Adam, Param};
//! use typegrad::prelude::*;
//!
//! /// A layer `x W + b`, itself a model.
//! struct Linear<const I: usize, const O: usize> {
//!     weight: Param<Rank2<I, O>, f64>,
//!     bias: Param<Rank1<O>, f64>,
//! }
//!
//! impl<const I: usize, const O: usize> Model<f64> for Linear<I, O> {
//!     fn visit<V: Visitor<f64>>(&mut self, v: &mut V) {
//!         v.param("weight", &mut self.weight);
//!         v.param("bias", &mut self.bias);
//!     }
//! }
//!
//! impl<const I: usize, const O: usize> Linear<I, O> {
//!     fn new(rng: &mut SeededRng) -> Self {
//!         Linear { weight: Param::new(Tensor::randn(rng)), bias: Param::new(Tensor::zeros()) }
//!     }
//!     /// On data (`NoGrad`) or on an earlier layer's output (tape `T`).
//!     fn forward<T: ParamTape>(
//!         &self,
//!         x: &Tensor<Rank1<I>, f64, impl Tape + Merge<T, Output = T>>,
//!     ) -> Tensor<Rank1<O>, f64, T> {
//!         x.matmul(&self.weight.tensor::<T>()) + self.bias.tensor::<T>()
//!     }
//! }
//!
//! /// Two layers: their parameters are `layer1.weight`, `layer1.bias`, ...
//! struct Net {
//!     layer1: Linear<2, 8>,
//!     layer2: Linear<8, 1>,
//! }
//!
//! impl Model<f64> for Net {
//!     fn visit<V: Visitor<f64>>(&mut self, v: &mut V) {
//!         v.model("layer1", &mut self.layer1);
//!         v.model("layer2", &mut self.layer2);
//!     }
//! }
//!
//! impl Net {
//!     fn new(rng: &mut SeededRng) -> Self {
//!         Net { layer1: Linear::new(rng), layer2: Linear::new(rng) }
//!     }
//!     fn forward<T: ParamTape>(&self, x: &Tensor<Rank1<2>, f64>) -> Tensor<Rank1<1>, f64, T> {
//!         self.layer2.forward(&self.layer1.forward::<T>(x).tanh())
//!     }
//! }
//!
//! let mut net = Net::new(&mut seeded_rng(0));
//! let adam = Adam::new(0.05)?;
//! let x = Tensor::from_array([1.0, -1.0]);
//! for _ in 0..100 {
//!     // Every parameter tracked for this step, all stepped by one call.
//!     let loss = (net.forward::<Tracked>(&x) - 0.5).powf(2.0).sum();
//!     adam.step_model(&mut net, &loss.backward());
//! }
//! let [fitted] = net.forward::<NoGrad>(&x).to_array(); // inference: nothing recorded
//! assert!((fitted - 0.5).abs() < 1e-2);
//!
//! // Values and Adam's state, by name.
//! let weights = net.to_weights()?;
//! assert_eq!(weights.dims("layer1.weight"), Some(&[2, 8][..]));
//! assert!(weights.contains("layer2.bias.adam.m") && weights.contains("layer2.bias.adam.step"));
//! let mut restored = Net::new(&mut seeded_rng(1));
//! restored.load_weights(&weights)?;
//! assert_eq!(restored.forward::<NoGrad>(&x).to_array(), [fitted]);
//! # Ok::<(), typegrad::Error>(())
//! ```

use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt::Display;
#[cfg(all(feature = "std", feature = "safetensors"))]
use std::path::Path;

use crate::element::Element;
#[cfg(feature = "safetensors")]
use crate::error::Error;
use crate::gradients::Gradients;
use crate::optim::Param;
#[cfg(feature = "safetensors")]
use crate::serialization::Weights;
use crate::shape::Shape;
use crate::tape::{NoGrad, Tape, Tracked};
use crate::tensor::Tensor;

pub use crate::optim::Optimizer;

/// A set of parameters of element type `E`, each named once in [`Model::visit`].
///
/// Implementing `visit` is all there is to do; every other method is provided.
/// `visit` takes `&mut self` so that one method serves the operations that change the
/// parameters (a step, a load) and those that only read them (a save): Rust has no
/// way to write one method for both `&` and `&mut`, and a second, read-only `visit`
/// would name every parameter twice, the boilerplate this trait is here to remove.
/// The read-only operations change nothing.
///
/// A type may implement `Model<f32>` and `Model<f64>` both, each visiting the
/// parameters of its element type. Arrays and `Vec`s of models are models, their
/// elements named by index (`layers.0.weight`), as PyTorch's `ModuleList` names them.
///
/// The visit must be the same every time (the same names in the same order), as a
/// struct's fields are: [`Model::load`] reads in one visit and writes in another.
///
/// See the [module documentation](self) for a whole example.
pub trait Model<E: Element> {
    /// Hands every parameter to `v` with [`Visitor::param`] and every sub-model with
    /// [`Visitor::model`], each under its name.
    ///
    /// ```
    /// use typegrad::model::{Model, Visitor};
    /// use typegrad::optim::Param;
    /// use typegrad::prelude::*;
    /// struct Affine {
    ///     scale: Param<Rank1<3>, f32>,
    ///     shift: Param<Rank1<3>, f32>,
    /// }
    /// impl Model<f32> for Affine {
    ///     fn visit<V: Visitor<f32>>(&mut self, v: &mut V) {
    ///         v.param("scale", &mut self.scale);
    ///         v.param("shift", &mut self.shift);
    ///     }
    /// }
    /// let mut affine = Affine {
    ///     scale: Param::new(Tensor::ones()),
    ///     shift: Param::new(Tensor::zeros()),
    /// };
    /// assert_eq!(affine.parameter_count(), 6);
    /// ```
    fn visit<V: Visitor<E>>(&mut self, v: &mut V);

    /// The number of scalar parameters (the elements of every parameter).
    fn parameter_count(&mut self) -> usize
    where
        Self: Sized,
    {
        let mut count = Count(0);
        self.visit(&mut count);
        count.0
    }

    /// Forgets every parameter's optimizer state, as a newly built PyTorch optimizer
    /// starts without one ([`Param::reset_state`]); the values are unchanged.
    fn reset_state(&mut self)
    where
        Self: Sized,
    {
        self.visit(&mut ResetState);
    }

    /// Every parameter's value, and its optimizer state if it has one, as named
    /// tensors (see the [module documentation](self) for the names).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidWeightName`] if two parameters have the same name (or a name
    /// is one a parameter's optimizer state takes); [`Error::InvalidWeight`] for an
    /// Adam step count above 2⁵³, which an `F64` cannot hold exactly.
    #[cfg(feature = "safetensors")]
    fn to_weights(&mut self) -> Result<Weights, Error>
    where
        Self: Sized,
    {
        io::to_weights(self, true)
    }

    /// Every parameter's value alone, without optimizer state: what an inference
    /// program or PyTorch's `load_state_dict` reads.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidWeightName`] if two parameters have the same name.
    #[cfg(feature = "safetensors")]
    fn values_to_weights(&mut self) -> Result<Weights, Error>
    where
        Self: Sized,
    {
        io::to_weights(self, false)
    }

    /// Writes [`Model::to_weights`] to a safetensors file at `path`.
    ///
    /// ```
    /// use typegrad::model::{Model, Visitor};
    /// use typegrad::optim::{Param, Sgd};
    /// use typegrad::prelude::*;
    /// struct Scale(Param<Rank1<2>, f32>);
    /// impl Model<f32> for Scale {
    ///     fn visit<V: Visitor<f32>>(&mut self, v: &mut V) {
    ///         v.param("scale", &mut self.0);
    ///     }
    /// }
    /// let mut model = Scale(Param::new(Tensor::from_array([1.0, 2.0])));
    /// let sgd = Sgd::new(0.1)?.with_momentum(0.9)?;
    /// let grads = model.0.track().sum().backward();
    /// sgd.step_model(&mut model, &grads);
    ///
    /// let path = std::env::temp_dir().join("typegrad-doc-model.safetensors");
    /// model.save(&path)?; // `scale` and `scale.sgd.velocity`
    /// let mut loaded = Scale(Param::new(Tensor::zeros()));
    /// loaded.load(&path)?;
    /// assert_eq!(loaded.0.value(), model.0.value());
    ///
    /// // Another model's file: the error names the tensor.
    /// struct Other(Param<Rank1<3>, f32>);
    /// impl Model<f32> for Other {
    ///     fn visit<V: Visitor<f32>>(&mut self, v: &mut V) {
    ///         v.param("scale", &mut self.0);
    ///     }
    /// }
    /// let err = Other(Param::new(Tensor::zeros())).load(&path).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "tensor `scale` is stored as F32 [2], but F32 [3] was asked for"
    /// );
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`Model::to_weights`] and [`Weights::save`].
    #[cfg(all(feature = "std", feature = "safetensors"))]
    fn save(&mut self, path: impl AsRef<Path>) -> Result<(), Error>
    where
        Self: Sized,
    {
        self.to_weights()?.save(path)
    }

    /// Sets every parameter's value, and its optimizer state, from named tensors
    /// (as [`Model::to_weights`] names them). A parameter without saved state starts
    /// with none.
    ///
    /// On error nothing is changed: every tensor is read and checked before any
    /// parameter is written.
    ///
    /// # Errors
    ///
    /// - [`Error::MissingWeight`] naming a parameter (or a part of its optimizer state)
    ///   that `weights` does not hold;
    /// - [`Error::WeightMismatch`] naming a tensor stored with another shape or element
    ///   type than its parameter's;
    /// - [`Error::UnexpectedWeight`] naming a tensor that no parameter reads (a field
    ///   renamed or removed, or the weights of another model);
    /// - [`Error::InvalidWeight`] naming a step count that is not a whole number from
    ///   1 to 2⁵³;
    /// - [`Error::InvalidWeightName`] if two parameters of the model have one name.
    #[cfg(feature = "safetensors")]
    fn load_weights(&mut self, weights: &Weights) -> Result<(), Error>
    where
        Self: Sized,
    {
        io::load_weights(self, weights)
    }

    /// Reads a safetensors file and [`Model::load_weights`] from it.
    ///
    /// # Errors
    ///
    /// Those of [`Weights::load`] and [`Model::load_weights`].
    #[cfg(all(feature = "std", feature = "safetensors"))]
    fn load(&mut self, path: impl AsRef<Path>) -> Result<(), Error>
    where
        Self: Sized,
    {
        self.load_weights(&Weights::load(path)?)
    }
}

/// What [`Model::visit`] hands its parameters to: an optimizer step, a save, a load.
///
/// Implement it to do something to every parameter of any model (a count, an
/// initialisation, a norm of the gradients); only [`Visitor::param`] is required.
///
/// ```
/// use typegrad::model::{Model, Visitor};
/// use typegrad::optim::Param;
/// use typegrad::prelude::*;
/// use std::fmt::Display;
///
/// /// Lists `name: dims` for every parameter.
/// struct Shapes(Vec<String>);
/// impl<E: Element> Visitor<E> for Shapes {
///     fn param<S: Shape>(&mut self, name: impl Display, _: &mut Param<S, E>) {
///         self.0.push(format!("{name}: {:?}", S::DIMS));
///     }
/// }
///
/// struct Layer { w: Param<Rank2<2, 3>, f32> }
/// impl Model<f32> for Layer {
///     fn visit<V: Visitor<f32>>(&mut self, v: &mut V) { v.param("w", &mut self.w) }
/// }
/// struct Net { layers: [Layer; 2] }
/// impl Model<f32> for Net {
///     fn visit<V: Visitor<f32>>(&mut self, v: &mut V) { v.model("layers", &mut self.layers) }
/// }
/// let layer = || Layer { w: Param::new(Tensor::zeros()) };
/// let mut net = Net { layers: [layer(), layer()] };
/// let mut shapes = Shapes(Vec::new());
/// net.visit(&mut shapes);
/// assert_eq!(shapes.0, ["layers.0.w: [2, 3]", "layers.1.w: [2, 3]"]);
/// ```
pub trait Visitor<E: Element> {
    /// Visits one parameter. Its `name` is the whole path (`layer1.weight`) when the
    /// visit goes through [`Visitor::model`]'s provided implementation.
    fn param<S: Shape>(&mut self, name: impl Display, param: &mut Param<S, E>);

    /// Visits a sub-model, whose parameters are named `name.` followed by their own
    /// names. The provided implementation does that by formatting each name; a
    /// visitor that does not look at names overrides it to call `model.visit(self)`.
    fn model<M: Model<E>>(&mut self, name: impl Display, model: &mut M)
    where
        Self: Sized,
    {
        model.visit(&mut Prefixed {
            inner: self,
            prefix: name.to_string(),
        });
    }
}

/// A visitor seen from inside a sub-model: every name gets the sub-model's path first.
struct Prefixed<'a, V> {
    inner: &'a mut V,
    prefix: String,
}

impl<E: Element, V: Visitor<E>> Visitor<E> for Prefixed<'_, V> {
    fn param<S: Shape>(&mut self, name: impl Display, param: &mut Param<S, E>) {
        self.inner
            .param(format_args!("{}.{name}", self.prefix), param);
    }

    fn model<M: Model<E>>(&mut self, name: impl Display, model: &mut M) {
        // One adapter type however deep the nesting, so that a recursive model type
        // does not make the compiler instantiate adapters without end.
        model.visit(&mut Prefixed {
            inner: &mut *self.inner,
            prefix: format!("{}.{name}", self.prefix),
        });
    }
}

impl<E: Element, M: Model<E>, const N: usize> Model<E> for [M; N] {
    fn visit<V: Visitor<E>>(&mut self, v: &mut V) {
        for (index, model) in self.iter_mut().enumerate() {
            v.model(index, model);
        }
    }
}

impl<E: Element, M: Model<E>> Model<E> for Vec<M> {
    fn visit<V: Visitor<E>>(&mut self, v: &mut V) {
        for (index, model) in self.iter_mut().enumerate() {
            v.model(index, model);
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::tape::NoGrad {}
    impl Sealed for crate::tape::Tracked {}
}

/// The tapes a parameter can be read on in a forward pass: [`Tracked`] (a leaf naming
/// the parameter, for training) and [`NoGrad`] (its value, for inference).
///
/// A forward function generic over `T: ParamTape` reads each parameter with
/// [`Param::tensor::<T>()`](Param::tensor) and returns a tensor of tape `T`, so the same
/// function is called as `forward::<Tracked>` in training and `forward::<NoGrad>` to
/// evaluate, which records nothing.
///
/// ```
/// use typegrad::model::ParamTape;
/// use typegrad::optim::Param;
/// use typegrad::prelude::*;
/// fn predict<T: ParamTape>(w: &Param<Rank1<2>, f32>, x: &Tensor<Rank1<2>, f32>) -> Tensor<Rank0, f32, T> {
///     x.dot(&w.tensor::<T>())
/// }
/// let w = Param::new(Tensor::from_array([2.0f32, 3.0]));
/// let x = Tensor::from_array([1.0, 1.0]);
/// assert_eq!(predict::<NoGrad>(&w, &x).item(), 5.0);
/// let grads = predict::<Tracked>(&w, &x).backward();
/// assert_eq!(w.grad(&grads).unwrap().to_array(), [1.0, 1.0]);
/// ```
pub trait ParamTape: Tape<Plain = Self> + sealed::Sealed {
    /// The parameter on this tape.
    #[doc(hidden)]
    fn read<S: Shape, E: Element>(param: &Param<S, E>) -> Tensor<S, E, Self>;

    /// A plain value on this tape ([`Tensor::to_tape`]).
    #[doc(hidden)]
    fn lift<S: Shape, E: Element>(value: Tensor<S, E>) -> Tensor<S, E, Self>;
}

impl ParamTape for NoGrad {
    fn read<S: Shape, E: Element>(param: &Param<S, E>) -> Tensor<S, E, NoGrad> {
        param.value().clone()
    }

    fn lift<S: Shape, E: Element>(value: Tensor<S, E>) -> Tensor<S, E, NoGrad> {
        value
    }
}

impl ParamTape for Tracked {
    fn read<S: Shape, E: Element>(param: &Param<S, E>) -> Tensor<S, E, Tracked> {
        param.track()
    }

    fn lift<S: Shape, E: Element>(value: Tensor<S, E>) -> Tensor<S, E, Tracked> {
        value.track()
    }
}

impl<S: Shape, E: Element> Tensor<S, E, NoGrad> {
    /// This plain value on tape `T`, for code generic over the tape: the value itself
    /// for [`NoGrad`], a new tracked leaf sharing its storage for [`Tracked`] (as
    /// [`Tensor::track`]; its gradient is there if asked for, and costs one leaf if
    /// not). A loop variable that starts from a constant (a filter's prior, a sum's
    /// zero) and then takes values computed from `T`-tensors thus keeps one type.
    ///
    /// ```
    /// use typegrad::model::ParamTape;
    /// use typegrad::prelude::*;
    /// // The sum of xᵢ² for i < n, from zero, on either tape.
    /// fn power_sum<T: ParamTape>(x: &Tensor<Rank1<3>, f64, T>, n: usize) -> Tensor<Rank0, f64, T> {
    ///     let mut total = Tensor::<Rank0, f64>::zeros().to_tape::<T>();
    ///     for _ in 0..n {
    ///         total = total + (x * x).sum();
    ///     }
    ///     total
    /// }
    /// let x = Tensor::from_array([1.0, 2.0, 3.0]);
    /// assert_eq!(power_sum(&x, 2).item(), 28.0);
    /// let tracked = x.track();
    /// let g = power_sum(&tracked, 2).backward().get(&tracked).unwrap();
    /// assert_eq!(g.to_array(), [4.0, 8.0, 12.0]);
    /// ```
    pub fn to_tape<T: ParamTape>(self) -> Tensor<S, E, T> {
        T::lift(self)
    }
}

/// Steps every parameter it visits ([`Optimizer::step_model`]); looks at no name, so a
/// step allocates nothing.
pub(crate) struct Step<'a, O, E: Element> {
    pub(crate) optimizer: &'a O,
    pub(crate) grads: &'a Gradients<E>,
}

impl<E: Element, O: Optimizer<E>> Visitor<E> for Step<'_, O, E> {
    fn param<S: Shape>(&mut self, _: impl Display, param: &mut Param<S, E>) {
        self.optimizer.step(param, self.grads);
    }

    fn model<M: Model<E>>(&mut self, _: impl Display, model: &mut M) {
        model.visit(self);
    }
}

/// Counts the elements of every parameter.
struct Count(usize);

impl<E: Element> Visitor<E> for Count {
    fn param<S: Shape>(&mut self, _: impl Display, _: &mut Param<S, E>) {
        self.0 += S::NUM_ELEMENTS;
    }

    fn model<M: Model<E>>(&mut self, _: impl Display, model: &mut M) {
        model.visit(self);
    }
}

/// Resets every parameter's optimizer state.
struct ResetState;

impl<E: Element> Visitor<E> for ResetState {
    fn param<S: Shape>(&mut self, _: impl Display, param: &mut Param<S, E>) {
        param.reset_state();
    }

    fn model<M: Model<E>>(&mut self, _: impl Display, model: &mut M) {
        model.visit(self);
    }
}

/// Saving and loading: visitors that name every parameter.
#[cfg(feature = "safetensors")]
mod io {
    use alloc::borrow::ToOwned;
    use alloc::collections::{BTreeMap, BTreeSet};
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::fmt::{Display, Write as _};
    use num_traits::Float;

    use super::{Model, Visitor};
    use crate::element::Element;
    use crate::error::Error;
    use crate::optim::{OptimizerState, Param};
    use crate::serialization::Weights;
    use crate::shape::{Rank0, Shape};
    use crate::tensor::Tensor;

    /// [`Model::to_weights`] (with `state`) or [`Model::values_to_weights`].
    pub(super) fn to_weights<E: Element, M: Model<E>>(
        model: &mut M,
        state: bool,
    ) -> Result<Weights, Error> {
        let mut save = Save {
            names: Names::default(),
            weights: Weights::new(),
            state,
            error: None,
        };
        model.visit(&mut save);
        save.error.map_or(Ok(save.weights), Err)
    }

    /// [`Model::load_weights`]: every tensor read and checked in one visit, written in
    /// a second, so that an error leaves the model as it was.
    pub(super) fn load_weights<E: Element, M: Model<E>>(
        model: &mut M,
        weights: &Weights,
    ) -> Result<(), Error> {
        let mut read = Read {
            names: Names::default(),
            weights,
            staged: BTreeMap::new(),
            used: BTreeSet::new(),
            error: None,
        };
        model.visit(&mut read);
        if let Some(error) = read.error {
            return Err(error);
        }
        if let Some(extra) = weights.names().find(|name| !read.used.contains(*name)) {
            return Err(Error::UnexpectedWeight {
                name: extra.to_owned(),
            });
        }
        let mut write = Write {
            names: Names::default(),
            staged: read.staged,
            error: None,
        };
        model.visit(&mut write);
        write.error.map_or(Ok(()), Err)
    }

    /// The path of the sub-model being visited (`layer1.`), kept in one buffer that
    /// each nested visit extends and truncates again.
    #[derive(Default)]
    struct Names {
        path: String,
    }

    impl Names {
        /// The full name of `name` at the current path.
        fn full(&self, name: impl Display) -> String {
            let mut full = self.path.clone();
            // Writing to a String cannot fail.
            let _ = write!(full, "{name}");
            full
        }

        /// Visits `model` with the path extended by `name.`.
        fn nested<E: Element, M: Model<E>, V: Visitor<E>>(
            visitor: &mut V,
            names: impl Fn(&mut V) -> &mut Names,
            name: impl Display,
            model: &mut M,
        ) {
            let depth = names(visitor).path.len();
            let _ = write!(names(visitor).path, "{name}.");
            model.visit(visitor);
            names(visitor).path.truncate(depth);
        }
    }

    /// The names of a parameter's optimizer state.
    struct StateNames {
        adam_m: String,
        adam_v: String,
        adam_step: String,
        sgd_velocity: String,
    }

    impl StateNames {
        fn of(name: &str) -> Self {
            StateNames {
                adam_m: format!("{name}.adam.m"),
                adam_v: format!("{name}.adam.v"),
                adam_step: format!("{name}.adam.step"),
                sgd_velocity: format!("{name}.sgd.velocity"),
            }
        }
    }

    /// Step counts are saved as `f64`, exact up to 2⁵³.
    const MAX_EXACT_STEPS: u64 = 1 << 53;

    /// Collects every parameter's value and (if `state`) optimizer state into `weights`.
    struct Save {
        names: Names,
        weights: Weights,
        state: bool,
        error: Option<Error>,
    }

    impl Save {
        fn insert<S: Shape, E: Element>(
            &mut self,
            name: &str,
            param: &Param<S, E>,
        ) -> Result<(), Error> {
            self.weights.insert(name, param.value())?;
            if !self.state {
                return Ok(());
            }
            let names = StateNames::of(name);
            match param.state() {
                OptimizerState::Fresh => {}
                OptimizerState::Sgd { velocity } => {
                    let velocity = Tensor::<S, E>::from_vec(velocity.clone())?;
                    self.weights.insert(names.sgd_velocity, &velocity)?;
                }
                OptimizerState::Adam { m, v, steps } => {
                    if *steps > MAX_EXACT_STEPS {
                        return Err(Error::InvalidWeight {
                            name: names.adam_step,
                            reason: format!(
                                "{steps} steps cannot be stored exactly as an F64 (2^53 can)"
                            ),
                        });
                    }
                    let m = Tensor::<S, E>::from_vec(m.clone())?;
                    let v = Tensor::<S, E>::from_vec(v.clone())?;
                    #[allow(clippy::cast_precision_loss)] // exact: checked above
                    let steps = Tensor::<Rank0, f64>::full(*steps as f64);
                    self.weights
                        .insert(names.adam_m, &m)?
                        .insert(names.adam_v, &v)?
                        .insert(names.adam_step, &steps)?;
                }
            }
            Ok(())
        }
    }

    impl<E: Element> Visitor<E> for Save {
        fn param<S: Shape>(&mut self, name: impl Display, param: &mut Param<S, E>) {
            if self.error.is_none() {
                let name = self.names.full(name);
                self.error = self.insert(&name, param).err();
            }
        }

        fn model<M: Model<E>>(&mut self, name: impl Display, model: &mut M) {
            Names::nested(self, |s| &mut s.names, name, model);
        }
    }

    /// One parameter's value and state, read and checked, waiting to be written.
    struct Staged<E> {
        value: Vec<E>,
        state: OptimizerState<E>,
    }

    /// Reads and checks every parameter's tensors (the first pass of a load).
    struct Read<'w, E> {
        names: Names,
        weights: &'w Weights,
        staged: BTreeMap<String, Staged<E>>,
        /// The names of the tensors some parameter read.
        used: BTreeSet<String>,
        error: Option<Error>,
    }

    impl<E: Element> Read<'_, E> {
        /// The tensor `name` of shape `S`, marked as read.
        fn get<S: Shape>(&mut self, name: String) -> Result<Vec<E>, Error> {
            let values = self.weights.get::<S, E>(&name)?.to_vec();
            self.used.insert(name);
            Ok(values)
        }

        fn stage<S: Shape>(&mut self, name: String) -> Result<(), Error> {
            if self.staged.contains_key(&name) {
                return Err(Error::InvalidWeightName {
                    name,
                    reason: "two parameters of the model have this name",
                });
            }
            let names = StateNames::of(&name);
            let value = self.get::<S>(name.clone())?;
            let state = if self.weights.contains(&names.adam_step) {
                let steps = self.steps(names.adam_step)?;
                let m = self.get::<S>(names.adam_m)?;
                let v = self.get::<S>(names.adam_v)?;
                OptimizerState::Adam { m, v, steps }
            } else if self.weights.contains(&names.adam_m) || self.weights.contains(&names.adam_v) {
                // The moments without their step count cannot resume Adam exactly.
                return Err(Error::MissingWeight {
                    name: names.adam_step,
                    stored: self.weights.len(),
                });
            } else if self.weights.contains(&names.sgd_velocity) {
                OptimizerState::Sgd {
                    velocity: self.get::<S>(names.sgd_velocity)?,
                }
            } else {
                OptimizerState::Fresh
            };
            self.staged.insert(name, Staged { value, state });
            Ok(())
        }

        /// Adam's step count saved under `name`: a whole number from 1 to 2⁵³.
        fn steps(&mut self, name: String) -> Result<u64, Error> {
            let stored = self.weights.get::<Rank0, f64>(&name)?.item();
            #[allow(clippy::cast_precision_loss)] // 2^53 is exact
            let whole =
                Float::fract(stored) == 0.0 && (1.0..=MAX_EXACT_STEPS as f64).contains(&stored);
            if !whole {
                return Err(Error::InvalidWeight {
                    name,
                    reason: format!("{stored} is not a step count (a whole number from 1 to 2^53)"),
                });
            }
            self.used.insert(name);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above
            Ok(stored as u64)
        }
    }

    impl<E: Element> Visitor<E> for Read<'_, E> {
        fn param<S: Shape>(&mut self, name: impl Display, _: &mut Param<S, E>) {
            if self.error.is_none() {
                let name = self.names.full(name);
                self.error = self.stage::<S>(name).err();
            }
        }

        fn model<M: Model<E>>(&mut self, name: impl Display, model: &mut M) {
            Names::nested(self, |s| &mut s.names, name, model);
        }
    }

    /// Writes what [`Read`] staged into the parameters (the second pass of a load).
    struct Write<E> {
        names: Names,
        staged: BTreeMap<String, Staged<E>>,
        error: Option<Error>,
    }

    impl<E: Element> Visitor<E> for Write<E> {
        fn param<S: Shape>(&mut self, name: impl Display, param: &mut Param<S, E>) {
            let name = self.names.full(name);
            // Present and of the right length: the first pass read it for this parameter.
            // Were the visit to differ from the first pass's, this is where it would show.
            let Some(Staged { value, state }) = self.staged.remove(&name) else {
                self.error.get_or_insert(Error::InvalidWeight {
                    name,
                    reason: "the model's visit named this parameter only when writing: a visit must name the same parameters every time".into(),
                });
                return;
            };
            match Tensor::from_vec(value) {
                Ok(value) => param.restore(value, state),
                Err(error) => {
                    self.error.get_or_insert(error);
                }
            }
        }

        fn model<M: Model<E>>(&mut self, name: impl Display, model: &mut M) {
            Names::nested(self, |s| &mut s.names, name, model);
        }
    }
}

#[cfg(all(test, feature = "safetensors"))]
mod tests {
    use super::*;
    use crate::optim::{Adam, Sgd};
    use crate::shape::{Rank0, Rank1, Rank2};
    use alloc::vec;

    /// A layer of two parameters, with names PyTorch's `nn.Linear` gives them.
    struct Linear<E: Element> {
        weight: Param<Rank2<2, 3>, E>,
        bias: Param<Rank1<3>, E>,
    }

    impl<E: Element> Model<E> for Linear<E> {
        fn visit<V: Visitor<E>>(&mut self, v: &mut V) {
            v.param("weight", &mut self.weight);
            v.param("bias", &mut self.bias);
        }
    }

    impl<E: Element> Linear<E> {
        fn new(seed: u64) -> Self {
            let mut rng = crate::tensor::seeded_rng(seed);
            Linear {
                weight: Param::new(Tensor::randn(&mut rng)),
                bias: Param::new(Tensor::randn(&mut rng)),
            }
        }
    }

    /// Nested models, an array of models and a parameter of its own.
    struct Net<E: Element> {
        first: Linear<E>,
        rest: [Linear<E>; 2],
        scale: Param<Rank0, E>,
    }

    impl<E: Element> Model<E> for Net<E> {
        fn visit<V: Visitor<E>>(&mut self, v: &mut V) {
            v.model("first", &mut self.first);
            v.model("rest", &mut self.rest);
            v.param("scale", &mut self.scale);
        }
    }

    impl<E: Element> Net<E> {
        fn new(seed: u64) -> Self {
            Net {
                first: Linear::new(seed),
                rest: [Linear::new(seed + 1), Linear::new(seed + 2)],
                scale: Param::new(Tensor::full(E::one())),
            }
        }

        /// A scalar that depends on every parameter.
        fn loss<T: ParamTape>(&self) -> Tensor<Rank0, E, T> {
            let x = Tensor::<Rank1<2>, E>::ones();
            let mut total = self.scale.tensor::<T>() * E::from_f64(0.5);
            for layer in core::iter::once(&self.first).chain(&self.rest) {
                let y = x.matmul(&layer.weight.tensor::<T>()) + layer.bias.tensor::<T>();
                total = total + y.powf(E::from_f64(2.0)).sum();
            }
            total
        }

        fn values(&mut self) -> Vec<Vec<E>> {
            struct Values<E>(Vec<Vec<E>>);
            impl<E: Element> Visitor<E> for Values<E> {
                fn param<S: Shape>(&mut self, _: impl Display, param: &mut Param<S, E>) {
                    self.0.push(param.value().to_vec());
                }
            }
            let mut values = Values(Vec::new());
            self.visit(&mut values);
            values.0
        }
    }

    #[test]
    fn names_are_paths_as_pytorch_writes_them() -> Result<(), Error> {
        let weights = Net::<f32>::new(0).to_weights()?;
        let names: Vec<&str> = weights.names().collect();
        assert_eq!(
            names,
            [
                "first.bias",
                "first.weight",
                "rest.0.bias",
                "rest.0.weight",
                "rest.1.bias",
                "rest.1.weight",
                "scale"
            ]
        );
        assert_eq!(weights.dims("rest.1.weight"), Some(&[2, 3][..]));
        Ok(())
    }

    #[test]
    fn the_provided_model_visit_prefixes_names_at_every_depth() {
        struct Names(Vec<String>);
        impl<E: Element> Visitor<E> for Names {
            fn param<S: Shape>(&mut self, name: impl Display, _: &mut Param<S, E>) {
                self.0.push(name.to_string());
            }
        }
        let mut deep = vec![[Net::<f64>::new(0)]];
        let mut names = Names(Vec::new());
        deep.visit(&mut names);
        assert_eq!(names.0.len(), 7);
        assert_eq!(names.0[0], "0.0.first.weight");
        assert_eq!(names.0[4], "0.0.rest.1.weight");
        assert_eq!(names.0[6], "0.0.scale");
    }

    #[test]
    fn parameter_count_counts_elements() {
        assert_eq!(Net::<f32>::new(0).parameter_count(), 3 * (6 + 3) + 1);
    }

    #[test]
    fn step_model_is_a_step_of_every_parameter() -> Result<(), Error> {
        let adam = Adam::new(0.1)?;
        let (mut by_model, mut by_hand) = (Net::<f64>::new(3), Net::<f64>::new(3));
        for _ in 0..3 {
            let grads = by_model.loss::<Tracked>().backward();
            adam.step_model(&mut by_model, &grads);
            let grads = by_hand.loss::<Tracked>().backward();
            let net = &mut by_hand;
            adam.step(&mut net.first.weight, &grads);
            adam.step(&mut net.first.bias, &grads);
            for layer in &mut net.rest {
                adam.step(&mut layer.weight, &grads);
                adam.step(&mut layer.bias, &grads);
            }
            adam.step(&mut net.scale, &grads);
        }
        assert_eq!(by_model.values(), by_hand.values());
        assert_ne!(by_model.values(), Net::<f64>::new(3).values());
        Ok(())
    }

    #[test]
    fn plain_and_tracked_forward_agree() {
        let net = Net::<f32>::new(1);
        assert_eq!(net.loss::<NoGrad>(), net.loss::<Tracked>());
    }

    /// `net` after `steps` steps of `optimizer` from its current state.
    fn train<O: Optimizer<f64>>(net: &mut Net<f64>, optimizer: &O, steps: usize) {
        for _ in 0..steps {
            let grads = net.loss::<Tracked>().backward();
            optimizer.step_model(net, &grads);
        }
    }

    #[test]
    fn sgd_momentum_resumes_exactly_from_saved_weights() -> Result<(), Error> {
        let sgd = Sgd::new(0.01)?.with_momentum(0.9)?;
        let mut uninterrupted = Net::new(5);
        train(&mut uninterrupted, &sgd, 6);

        let mut first = Net::new(5);
        train(&mut first, &sgd, 3);
        let weights = first.to_weights()?;
        assert!(weights.contains("rest.0.weight.sgd.velocity"));
        let mut resumed = Net::new(9);
        resumed.load_weights(&weights)?;
        train(&mut resumed, &sgd, 3);
        assert_eq!(resumed.values(), uninterrupted.values());
        Ok(())
    }

    #[test]
    fn values_alone_leave_the_state_fresh() -> Result<(), Error> {
        let adam = Adam::new(0.1)?;
        let mut net = Net::new(2);
        train(&mut net, &adam, 2);
        let values = net.values_to_weights()?;
        assert_eq!(values.len(), 7);
        let mut fresh = Net::new(4);
        fresh.load_weights(&values)?;
        assert_eq!(fresh.values(), net.values());
        // A first Adam step again: every element moves by the learning rate.
        let before = fresh.values();
        train(&mut fresh, &adam, 1);
        let moved = fresh.values()[0]
            .iter()
            .zip(&before[0])
            .all(|(a, b)| ((a - b).abs() - 0.1).abs() < 1e-6);
        assert!(moved);
        Ok(())
    }

    #[test]
    fn reset_state_forgets_every_parameters_state() -> Result<(), Error> {
        let mut net = Net::new(2);
        train(&mut net, &Adam::new(0.1)?, 2);
        assert_eq!(net.to_weights()?.len(), 7 * 4);
        net.reset_state();
        assert_eq!(net.to_weights()?.len(), 7);
        Ok(())
    }

    /// The error of loading `weights` into a fresh `Net<f64>`, checking that the failed
    /// load changed nothing.
    fn load_error(weights: &Weights) -> Error {
        let mut net = Net::<f64>::new(7);
        let before = net.values();
        let error = net.load_weights(weights).map(|()| "loaded").unwrap_err();
        assert_eq!(net.values(), before, "a failed load changed the model");
        error
    }

    /// Saved weights of a trained `Net<f64>` (with Adam's state), less `skip`, plus
    /// `extra`.
    fn edited(skip: &str, extra: impl FnOnce(&mut Weights)) -> Result<Weights, Error> {
        let mut net = Net::<f64>::new(8);
        train(&mut net, &Adam::new(0.1)?, 1);
        let saved = net.to_weights()?;
        let mut weights = Weights::new();
        for name in saved.names().filter(|name| *name != skip) {
            if name.ends_with(".step") {
                weights.insert(name, &saved.get::<Rank0, f64>(name)?)?;
            } else if saved.dims(name) == Some(&[2, 3]) {
                weights.insert(name, &saved.get::<Rank2<2, 3>, f64>(name)?)?;
            } else if saved.dims(name) == Some(&[3]) {
                weights.insert(name, &saved.get::<Rank1<3>, f64>(name)?)?;
            } else {
                weights.insert(name, &saved.get::<Rank0, f64>(name)?)?;
            }
        }
        extra(&mut weights);
        Ok(weights)
    }

    #[test]
    fn a_missing_parameter_is_named() -> Result<(), Error> {
        let error = load_error(&edited("rest.1.bias", |_| ())?);
        assert_eq!(
            error.to_string(),
            "no tensor named `rest.1.bias` among the 27 stored"
        );
        Ok(())
    }

    #[test]
    fn missing_optimizer_state_is_named() -> Result<(), Error> {
        let error = load_error(&edited("first.weight.adam.v", |_| ())?);
        assert!(
            matches!(&error, Error::MissingWeight { name, .. } if name == "first.weight.adam.v")
        );
        // Moments without their step count cannot resume Adam exactly.
        let error = load_error(&edited("scale.adam.step", |_| ())?);
        assert!(matches!(&error, Error::MissingWeight { name, .. } if name == "scale.adam.step"));
        Ok(())
    }

    #[test]
    fn an_extra_tensor_is_named() -> Result<(), Error> {
        let error = load_error(&edited("", |w| {
            w.insert("rest.2.bias", &Tensor::<Rank1<3>, f64>::zeros())
                .expect("a name not yet stored");
        })?);
        assert_eq!(
            error.to_string(),
            "the weights hold a tensor `rest.2.bias` that no parameter of the model reads (a field renamed or removed, or the weights of another model?)"
        );
        Ok(())
    }

    #[test]
    fn another_shape_or_element_type_is_named() -> Result<(), Error> {
        let error = load_error(&edited("first.bias", |w| {
            w.insert("first.bias", &Tensor::<Rank1<4>, f64>::zeros())
                .expect("a name not yet stored");
        })?);
        assert_eq!(
            error.to_string(),
            "tensor `first.bias` is stored as F64 [4], but F64 [3] was asked for"
        );
        // An f32 model's weights are not an f64 model's.
        let weights = Net::<f32>::new(0).to_weights()?;
        let error = load_error(&weights);
        assert!(
            matches!(&error, Error::WeightMismatch { name, found_dtype, .. } if name == "first.weight" && found_dtype == "F32"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn a_step_count_that_is_not_one_is_named() -> Result<(), Error> {
        for bad in [2.5, 0.0, -1.0, f64::NAN, 1e300] {
            let error = load_error(&edited("scale.adam.step", |w| {
                w.insert("scale.adam.step", &Tensor::<Rank0, f64>::full(bad))
                    .expect("a name not yet stored");
            })?);
            assert!(
                matches!(&error, Error::InvalidWeight { name, .. } if name == "scale.adam.step"),
                "{bad}: {error}"
            );
        }
        Ok(())
    }

    #[test]
    fn two_parameters_of_one_name_are_an_error() {
        struct Twice(Param<Rank0, f32>, Param<Rank0, f32>);
        impl Model<f32> for Twice {
            fn visit<V: Visitor<f32>>(&mut self, v: &mut V) {
                v.param("p", &mut self.0);
                v.param("p", &mut self.1);
            }
        }
        let mut twice = Twice(Param::new(Tensor::zeros()), Param::new(Tensor::ones()));
        let save = twice.to_weights().map(|_| ()).unwrap_err();
        assert!(matches!(&save, Error::InvalidWeightName { name, .. } if name == "p"));
        let mut weights = Weights::new();
        weights
            .insert("p", &Tensor::<Rank0, f32>::full(3.0))
            .expect("a name not yet stored");
        let load = twice.load_weights(&weights).unwrap_err();
        assert!(matches!(&load, Error::InvalidWeightName { name, .. } if name == "p"));
        assert_eq!((twice.0.value().item(), twice.1.value().item()), (0.0, 1.0));
    }
}
