//! Checking gradients against central finite differences (PyTorch's
//! `torch.autograd.gradcheck`).
//!
//! For a function of one or more `f64` inputs, [`gradcheck`] compares the gradient that
//! backward computes with `(f(x + h) - f(x - h)) / 2h` for every element of every input.
//! A non-scalar output is checked through a vector-Jacobian product with a random seed,
//! so every output element takes part.

use core::fmt;

use crate::error::Error;
use crate::gradients::Gradients;
use crate::shape::Shape;
use crate::tape::{NoGrad, Tracked};
use crate::tensor::{seeded_rng, Tensor};

/// Step and tolerances of a check: an element passes when
/// `|analytic - numeric| <= atol + rtol * |numeric|`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// The finite-difference step `h`.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Default for Tolerance {
    /// PyTorch's defaults: `eps = 1e-6`, `atol = 1e-5`, `rtol = 1e-3`.
    fn default() -> Self {
        Tolerance {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// The first element whose analytic gradient disagrees with the numeric one.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckError {
    /// Which input (0 for the first) the element belongs to.
    pub input: usize,
    /// The element's flat (row-major) index in that input.
    pub index: usize,
    /// The gradient backward computed.
    pub analytic: f64,
    /// The central finite difference.
    pub numeric: f64,
    /// The largest difference allowed at this element.
    pub tolerance: f64,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradcheck failed for input {} at element {}: analytic gradient {:e}, numeric {:e} (allowed difference {:e}, actual {:e})",
            self.input,
            self.index,
            self.analytic,
            self.numeric,
            self.tolerance,
            (self.analytic - self.numeric).abs()
        )
    }
}

impl std::error::Error for GradcheckError {}

/// The inputs of a checked function: one `f64` tensor, or a tuple of two or three.
pub trait GradcheckInputs: Clone {
    /// The same inputs as `Tracked` leaves, as the function receives them.
    type Tracked;

    /// Makes tracked leaves of the current values.
    fn track(&self) -> Self::Tracked;
    /// The element counts of the inputs, in order.
    fn lens(&self) -> Vec<usize>;
    /// Reads element `index` of input `input`.
    fn get(&self, input: usize, index: usize) -> f64;
    /// Writes element `index` of input `input`.
    fn set(&mut self, input: usize, index: usize, value: f64) -> Result<(), Error>;
    /// The gradient of each tracked input found in `grads` (zeros where absent).
    fn gradients(tracked: &Self::Tracked, grads: &Gradients<f64>) -> Vec<Vec<f64>>;
}

/// Reads a leaf's gradient as a vector, zeros if backward did not reach it.
fn grad_or_zeros<S: Shape>(leaf: &Tensor<S, f64, Tracked>, grads: &Gradients<f64>) -> Vec<f64> {
    grads
        .get(leaf)
        .map_or_else(|| vec![0.0; S::NUM_ELEMENTS], |g| g.to_vec())
}

impl<S: Shape> GradcheckInputs for Tensor<S, f64, NoGrad> {
    type Tracked = Tensor<S, f64, Tracked>;

    fn track(&self) -> Self::Tracked {
        Tensor::<S, f64, NoGrad>::track(self)
    }
    fn lens(&self) -> Vec<usize> {
        vec![S::NUM_ELEMENTS]
    }
    fn get(&self, _: usize, index: usize) -> f64 {
        self.as_slice().get(index).copied().unwrap_or(f64::NAN)
    }
    fn set(&mut self, _: usize, index: usize, value: f64) -> Result<(), Error> {
        Tensor::set(self, index, value)
    }
    fn gradients(tracked: &Self::Tracked, grads: &Gradients<f64>) -> Vec<Vec<f64>> {
        vec![grad_or_zeros(tracked, grads)]
    }
}

/// Implements [`GradcheckInputs`] for a tuple of tensors.
macro_rules! tuple_inputs {
    ($($S:ident $n:tt),*) => {
        impl<$($S: Shape),*> GradcheckInputs for ($(Tensor<$S, f64, NoGrad>,)*) {
            type Tracked = ($(Tensor<$S, f64, Tracked>,)*);

            fn track(&self) -> Self::Tracked {
                ($(self.$n.track(),)*)
            }
            fn lens(&self) -> Vec<usize> {
                vec![$($S::NUM_ELEMENTS),*]
            }
            fn get(&self, input: usize, index: usize) -> f64 {
                match input {
                    $($n => self.$n.as_slice().get(index).copied().unwrap_or(f64::NAN),)*
                    _ => f64::NAN,
                }
            }
            fn set(&mut self, input: usize, index: usize, value: f64) -> Result<(), Error> {
                match input {
                    $($n => self.$n.set(index, value),)*
                    _ => Err(Error::IndexOutOfBounds {
                        context: "gradcheck input",
                        index: vec![input, index],
                        dims: &[],
                    }),
                }
            }
            fn gradients(tracked: &Self::Tracked, grads: &Gradients<f64>) -> Vec<Vec<f64>> {
                vec![$(grad_or_zeros(&tracked.$n, grads)),*]
            }
        }
    };
}

tuple_inputs!(A 0, B 1);
tuple_inputs!(A 0, B 1, C 2);

/// Checks the gradient of `f` at `inputs` against central finite differences.
///
/// `f` receives the inputs as `Tracked` leaves and returns a tracked tensor of any shape;
/// for a non-scalar output the check is of the vector-Jacobian product with a seed drawn
/// from a fixed random generator. Returns the first disagreeing element as an error.
///
/// ```
/// use typegrad::gradcheck::{gradcheck, Tolerance};
/// use typegrad::prelude::*;
/// let x = Tensor::from_array([0.3f64, -1.2, 2.0]);
/// let w = Tensor::from_array([[1.0f64, 2.0], [0.5, -1.0], [3.0, 0.1]]);
/// gradcheck(|(x, w)| x.matmul(w).tanh(), &(x, w), Tolerance::default()).unwrap();
///
/// // A wrong derivative is caught and located:
/// let err = gradcheck(
///     |x: &Tensor<Rank1<2>, f64, Tracked>| x.no_grad().track() * x,
///     &Tensor::from_array([1.0, 2.0]),
///     Tolerance::default(),
/// )
/// .unwrap_err();
/// assert_eq!((err.input, err.index), (0, 0));
/// ```
pub fn gradcheck<I, SO, F>(f: F, inputs: &I, tol: Tolerance) -> Result<(), GradcheckError>
where
    I: GradcheckInputs,
    SO: Shape,
    F: Fn(&I::Tracked) -> Tensor<SO, f64, Tracked>,
{
    let seed = Tensor::<SO, f64>::randn(&mut seeded_rng(0x5eed));
    let tracked = inputs.track();
    let analytic = I::gradients(&tracked, &f(&tracked).backward_with(&seed));
    let project = |values: &I| -> f64 {
        let out = f(&values.track());
        out.as_slice()
            .iter()
            .zip(seed.as_slice())
            .map(|(o, s)| o * s)
            .sum()
    };
    let mut probe = inputs.clone();
    for (input, len) in inputs.lens().into_iter().enumerate() {
        for index in 0..len {
            let x = inputs.get(input, index);
            let step = |probe: &mut I, value: f64| probe.set(input, index, value).map(|_| ());
            let plus = step(&mut probe, x + tol.eps).map(|_| project(&probe));
            let minus = step(&mut probe, x - tol.eps).map(|_| project(&probe));
            let _ = step(&mut probe, x);
            let numeric = match (plus, minus) {
                (Ok(p), Ok(m)) => (p - m) / (2.0 * tol.eps),
                _ => f64::NAN,
            };
            let analytic = analytic
                .get(input)
                .and_then(|g| g.get(index))
                .copied()
                .unwrap_or(f64::NAN);
            let tolerance = tol.atol + tol.rtol * numeric.abs();
            // A NaN on either side fails the check: `is_le` of an unordered pair is false.
            let agrees = (analytic - numeric)
                .abs()
                .partial_cmp(&tolerance)
                .is_some_and(|order| order.is_le());
            if !agrees {
                return Err(GradcheckError {
                    input,
                    index,
                    analytic,
                    numeric,
                    tolerance,
                });
            }
        }
    }
    Ok(())
}
