//! Checking gradients against central finite differences (PyTorch's
//! `torch.autograd.gradcheck`).
//!
//! For a function of one or more `f64` inputs, [`gradcheck`] compares the gradient that
//! backward computes with `(f(x + h) - f(x - h)) / 2h` for every element of every input.
//! A non-scalar output is checked through a vector-Jacobian product with a random seed,
//! so every output element takes part.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::element::sealed::Sealed;
use crate::error::Error;
use crate::gradients::Gradients;
use crate::shape::{Rank0, Shape};
use crate::tape::forward::jvp_sweep;
use crate::tape::{GraphRef, NoGrad, Tracked, TrackedGradients};
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

impl core::error::Error for GradcheckError {}

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
    /// `Σₖ ⟨gₖ, wₖ⟩` over the inputs' recorded gradients `gₖ` in `grads`: a scalar whose
    /// own gradient is a second derivative (for [`gradgradcheck`]).
    #[doc(hidden)]
    fn project_gradients(
        tracked: &Self::Tracked,
        grads: &TrackedGradients<f64>,
        weights: &[Vec<f64>],
    ) -> Tensor<Rank0, f64, Tracked>;
    /// Where each tracked input sits (for [`jvpcheck`], which seeds their tangents).
    #[doc(hidden)]
    fn places(tracked: &Self::Tracked) -> Vec<Option<GraphRef<f64>>>;
    /// The values of each input's recorded gradient in `grads` (zeros where absent).
    #[doc(hidden)]
    fn recorded_gradients(tracked: &Self::Tracked, grads: &TrackedGradients<f64>) -> Vec<Vec<f64>>;
}

/// Reads a leaf's recorded gradient as a vector, zeros if backward did not reach it.
fn recorded_or_zeros<S: Shape>(
    leaf: &Tensor<S, f64, Tracked>,
    grads: &TrackedGradients<f64>,
) -> Vec<f64> {
    grads
        .get(leaf)
        .map_or_else(|| vec![0.0; S::NUM_ELEMENTS], |g| g.to_vec())
}

/// `⟨g, w⟩` for a recorded gradient `g` of `leaf` (nothing if backward did not reach it).
fn project_one<S: Shape>(
    leaf: &Tensor<S, f64, Tracked>,
    grads: &TrackedGradients<f64>,
    weight: Option<&Vec<f64>>,
) -> Option<Tensor<Rank0, f64, Tracked>> {
    let weight = Tensor::<S, f64>::from_slice(weight?).ok()?;
    Some((grads.get(leaf)? * &weight).sum())
}

/// The sum of recorded scalars, or a fresh leaf holding 0 if there are none (a function
/// whose gradient depends on nothing has a zero second derivative).
fn sum_or_zero(
    terms: impl IntoIterator<Item = Option<Tensor<Rank0, f64, Tracked>>>,
) -> Tensor<Rank0, f64, Tracked> {
    terms
        .into_iter()
        .flatten()
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| Tensor::zeros().track())
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
    fn project_gradients(
        tracked: &Self::Tracked,
        grads: &TrackedGradients<f64>,
        weights: &[Vec<f64>],
    ) -> Tensor<Rank0, f64, Tracked> {
        sum_or_zero([project_one(tracked, grads, weights.first())])
    }
    fn places(tracked: &Self::Tracked) -> Vec<Option<GraphRef<f64>>> {
        vec![tracked.graph_ref().cloned()]
    }
    fn recorded_gradients(tracked: &Self::Tracked, grads: &TrackedGradients<f64>) -> Vec<Vec<f64>> {
        vec![recorded_or_zeros(tracked, grads)]
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
            fn project_gradients(
                tracked: &Self::Tracked,
                grads: &TrackedGradients<f64>,
                weights: &[Vec<f64>],
            ) -> Tensor<Rank0, f64, Tracked> {
                sum_or_zero([$(project_one(&tracked.$n, grads, weights.get($n))),*])
            }
            fn places(tracked: &Self::Tracked) -> Vec<Option<GraphRef<f64>>> {
                vec![$(tracked.$n.graph_ref().cloned()),*]
            }
            fn recorded_gradients(
                tracked: &Self::Tracked,
                grads: &TrackedGradients<f64>,
            ) -> Vec<Vec<f64>> {
                vec![$(recorded_or_zeros(&tracked.$n, grads)),*]
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
    compare_with_finite_differences(&f, inputs, &seed, &analytic, tol)
}

/// Compares `analytic`, a vector-Jacobian product `seedᵀ J` of `f` at `inputs` (one
/// vector per input), with central differences of `⟨f, seed⟩`, element by element.
fn compare_with_finite_differences<I, SO, F>(
    f: &F,
    inputs: &I,
    seed: &Tensor<SO, f64>,
    analytic: &[Vec<f64>],
    tol: Tolerance,
) -> Result<(), GradcheckError>
where
    I: GradcheckInputs,
    SO: Shape,
    F: Fn(&I::Tracked) -> Tensor<SO, f64, Tracked>,
{
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

/// Standard normal values drawn from a generator seeded with `seed`, one vector per
/// length.
fn random_vectors(lens: &[usize], seed: u64) -> Vec<Vec<f64>> {
    let mut rng = seeded_rng(seed);
    lens.iter()
        .map(|&len| {
            (0..len)
                .map(|_| Tensor::<Rank0, f64>::randn(&mut rng).item())
                .collect()
        })
        .collect()
}

/// Checks second derivatives against finite differences of first derivatives (PyTorch's
/// `torch.autograd.gradgradcheck`).
///
/// The first derivative is the vector-Jacobian product `uᵀ J(x)` with a random seed `u`,
/// computed by the recorded backward pass ([`Tensor::backward_create_graph`]'s seeded
/// form), so it is itself a differentiable function of the inputs. Two checks, both
/// against central differences:
///
/// 1. the recorded first derivative's values (as [`gradcheck`] checks the plain
///    backward's: the recorded backward is a rule of its own for every operation);
/// 2. the gradient of `Σₖ ⟨(uᵀ J)ₖ, wₖ⟩` (random `wₖ`, one per input): a second
///    derivative computed by backpropagating through the recorded backward, against a
///    central difference of first derivatives.
///
/// ```
/// use typegrad::gradcheck::{gradgradcheck, Tolerance};
/// use typegrad::prelude::*;
/// let x = Tensor::from_array([0.3f64, -1.2, 2.0]);
/// gradgradcheck(|x| (x.tanh() * x).exp(), &x, Tolerance::default()).unwrap();
/// ```
pub fn gradgradcheck<I, SO, F>(f: F, inputs: &I, tol: Tolerance) -> Result<(), GradgradcheckError>
where
    I: GradcheckInputs,
    SO: Shape,
    F: Fn(&I::Tracked) -> Tensor<SO, f64, Tracked>,
{
    let seed = Tensor::<SO, f64>::randn(&mut seeded_rng(0x5eed_0002));
    let tracked = inputs.track();
    let grads = f(&tracked)
        .backward_with_create_graph(&seed)
        .map_err(GradgradcheckError::NotTwiceDifferentiable)?;
    let recorded = I::recorded_gradients(&tracked, &grads);
    compare_with_finite_differences(&f, inputs, &seed, &recorded, tol)?;
    let weights = random_vectors(&inputs.lens(), 0x5eed_0003);
    let first_derivative = |tracked: &I::Tracked| match f(tracked).backward_with_create_graph(&seed)
    {
        Ok(grads) => I::project_gradients(tracked, &grads, &weights),
        // The graph has the same operations at every point checked, so this succeeded
        // at the first; were it ever to fail, NaN fails the comparison.
        Err(_) => Tensor::full(f64::NAN).track(),
    };
    Ok(gradcheck(first_derivative, inputs, tol)?)
}

/// Why [`gradgradcheck`] failed.
#[derive(Clone, Debug, PartialEq)]
pub enum GradgradcheckError {
    /// A first or second derivative disagrees with finite differences.
    Mismatch(GradcheckError),
    /// The function applies a custom operation with no differentiable backward rule.
    NotTwiceDifferentiable(Error),
}

impl From<GradcheckError> for GradgradcheckError {
    fn from(err: GradcheckError) -> Self {
        GradgradcheckError::Mismatch(err)
    }
}

impl fmt::Display for GradgradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradgradcheckError::Mismatch(err) => err.fmt(f),
            GradgradcheckError::NotTwiceDifferentiable(err) => err.fmt(f),
        }
    }
}

impl core::error::Error for GradgradcheckError {}

/// The first output element whose forward-mode derivative disagrees with the numeric one.
#[derive(Clone, Debug, PartialEq)]
pub struct JvpcheckError {
    /// The output element's flat (row-major) index.
    pub index: usize,
    /// The Jacobian-vector product forward mode computed.
    pub analytic: f64,
    /// The central finite difference along the same direction.
    pub numeric: f64,
    /// The largest difference allowed at this element.
    pub tolerance: f64,
}

impl fmt::Display for JvpcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "jvpcheck failed at output element {}: forward-mode derivative {:e}, numeric {:e} (allowed difference {:e}, actual {:e})",
            self.index,
            self.analytic,
            self.numeric,
            self.tolerance,
            (self.analytic - self.numeric).abs()
        )
    }
}

impl core::error::Error for JvpcheckError {}

/// Checks the forward mode (every operation's Jacobian-vector rule) against central
/// finite differences: the tangent `J v` that [`crate::func::jvp`] pushes through the
/// recorded operations, for a random direction `v` over all inputs, against
/// `(f(x + h v) - f(x - h v)) / 2h`, element by element of the output.
///
/// ```
/// use typegrad::gradcheck::{jvpcheck, Tolerance};
/// use typegrad::prelude::*;
/// let a = Tensor::from_array([[1.0f64, 2.0], [0.5, -1.0]]);
/// let x = Tensor::from_array([0.3f64, -1.2]);
/// jvpcheck(|(a, x)| a.matmul(x).sigmoid(), &(a, x), Tolerance::default()).unwrap();
/// ```
pub fn jvpcheck<I, SO, F>(f: F, inputs: &I, tol: Tolerance) -> Result<(), JvpcheckError>
where
    I: GradcheckInputs,
    SO: Shape,
    F: Fn(&I::Tracked) -> Tensor<SO, f64, Tracked>,
{
    let lens = inputs.lens();
    let direction = random_vectors(&lens, 0x5eed_0004);
    let tracked = inputs.track();
    let out = f(&tracked);
    let seeds: Vec<_> = I::places(&tracked)
        .into_iter()
        .zip(&direction)
        .filter_map(|(place, v)| Some((place?.leaf_id()?, f64::seed(v))))
        .collect();
    let analytic = out
        .graph_ref()
        .and_then(|target| jvp_sweep(target, SO::NUM_ELEMENTS, &seeds, 1))
        .map(|tangent| tangent.to_vec())
        .unwrap_or_else(|| vec![0.0; SO::NUM_ELEMENTS]);
    let shifted = |sign: f64| -> Result<Vec<f64>, Error> {
        let mut probe = inputs.clone();
        for (input, v) in direction.iter().enumerate() {
            for (index, &v) in v.iter().enumerate() {
                let x = inputs.get(input, index);
                probe.set(input, index, x + sign * tol.eps * v)?;
            }
        }
        Ok(f(&probe.track()).to_vec())
    };
    let (plus, minus) = match (shifted(1.0), shifted(-1.0)) {
        (Ok(plus), Ok(minus)) => (plus, minus),
        _ => (
            vec![f64::NAN; SO::NUM_ELEMENTS],
            vec![f64::NAN; SO::NUM_ELEMENTS],
        ),
    };
    for (index, ((&analytic, &p), &m)) in analytic.iter().zip(&plus).zip(&minus).enumerate() {
        let numeric = (p - m) / (2.0 * tol.eps);
        let tolerance = tol.atol + tol.rtol * numeric.abs();
        let agrees = (analytic - numeric)
            .abs()
            .partial_cmp(&tolerance)
            .is_some_and(|order| order.is_le());
        if !agrees {
            return Err(JvpcheckError {
                index,
                analytic,
                numeric,
                tolerance,
            });
        }
    }
    Ok(())
}
