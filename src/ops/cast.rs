//! Element conversion that keeps the tape: `x.cast::<f64>()` (PyTorch's `x.to(dtype)`).
//!
//! A graph holds values of one element type, so a cast of a tracked value starts a graph
//! of the new type whose first node (`ToCopyBackward0`) refers to its source in the old
//! one. Each pass crosses that boundary as its own rule says: the backward pass converts
//! the gradient and queues a backward pass of the source's graph (a work list, not a
//! nested call, so that no graph is locked twice and no chain of casts deepens the
//! stack); the recorded backward records the converted gradient as a cast in turn; the
//! forward sweep computes the source's tangent first and converts it.

use std::sync::Arc;

use crate::element::sealed::Seed;
use crate::element::Element;
use crate::error::Error;
use crate::graphviz::Drawing;
use crate::shape::Shape;
use crate::tape::backward::{check_values, BackwardJob};
use crate::tape::create_graph::RecordedJob;
use crate::tape::forward::jvp_sweep;
use crate::tape::graph::{self, GraphRef, LeafId, Produced};
use crate::tape::{Tape, UnaryTape};
use crate::tensor::Tensor;

use super::{Op, Var};

/// A recorded cast: where the converted value came from.
#[derive(Clone)]
pub(crate) struct CastOp<E: Element> {
    pub(crate) source: Arc<dyn Source<E>>,
}

/// The value a cast converted, in a graph of another element type: what each pass needs
/// to cross into that graph, with the element types erased.
pub(crate) trait Source<E: Element>: Send + Sync {
    /// The backward pass of the source's graph for the cast's gradient `grad`.
    fn backward_job(&self, grad: &[E]) -> BackwardJob;
    /// The checked backward's scan of the values the source depends on.
    fn check_values(&self) -> Result<(), Error>;
    /// The recorded backward pass of the source's graph for the cast's gradient.
    fn recorded_job(&self, grad: &Var<E>) -> RecordedJob;
    /// The source's tangents for `batch` tangents of the seeded leaves, converted;
    /// `None` where the source depends on no seeded leaf.
    fn tangent(&self, seeds: &[(LeafId, Seed<'_>)], batch: usize) -> Option<Vec<E>>;
    /// Draws the source and what it depends on (once, however many casts read it);
    /// returns the box the cast's edge starts from.
    fn draw(&self, drawing: &mut Drawing) -> Option<usize>;
}

/// A source value of element type `F`.
struct From<F: Element> {
    place: GraphRef<F>,
    data: Arc<[F]>,
    dims: &'static [usize],
}

/// `values` converted to another element type (rounding to nearest where it narrows).
fn convert<F: Element, E: Element>(values: &[F]) -> Vec<E> {
    values
        .iter()
        .map(|v| E::from_f64(v.to_f64_exact()))
        .collect()
}

impl<E: Element, F: Element> Source<E> for From<F> {
    fn backward_job(&self, grad: &[E]) -> BackwardJob {
        BackwardJob::new(self.place.clone(), convert(grad))
    }

    fn check_values(&self) -> Result<(), Error> {
        check_values(&self.place, &self.data, self.dims)
    }

    fn recorded_job(&self, grad: &Var<E>) -> RecordedJob {
        RecordedJob::new(self.place.clone(), cast_var::<E, F>(grad, &[]))
    }

    fn tangent(&self, seeds: &[(LeafId, Seed<'_>)], batch: usize) -> Option<Vec<E>> {
        let tangent = jvp_sweep(&self.place, self.data.len(), seeds, batch)?;
        let converted = convert(&tangent);
        crate::tensor::pool::recycle(tangent);
        Some(converted)
    }

    fn draw(&self, drawing: &mut Drawing) -> Option<usize> {
        drawing.draw_value(&self.place, self.dims)
    }
}

/// `x` converted to element type `F`, recorded as a cast if `x` is tracked; `dims` names
/// `x` if it is a leaf (in checked errors).
pub(crate) fn cast_var<E: Element, F: Element>(x: &Var<E>, dims: &'static [usize]) -> Var<F> {
    let data: Arc<[F]> = convert(&x.data).into();
    let place = x.place.as_ref().map(|place| {
        let source: Arc<dyn Source<F>> = Arc::new(From {
            place: place.clone(),
            data: Arc::clone(&x.data),
            dims,
        });
        let out = Produced {
            len: data.len(),
            finite: F::all_finite(&data),
        };
        graph::record(Op::Cast(CastOp { source }), out, [None, None])
    });
    Var { data, place }
}

impl<E: Element> CastOp<E> {
    pub(crate) fn name(&self) -> &'static str {
        "ToCopyBackward0"
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The same values in element type `F`, keeping the tape (PyTorch's `x.to(dtype)`):
    /// a cast of a `Tracked` value is recorded (`ToCopyBackward0`), and gradients flow
    /// back through it, converted, to leaves of the original type. `f64` to `f32`
    /// rounds to nearest (values beyond `f32`'s range become infinite, as in PyTorch).
    ///
    /// A computation that casts has leaves of both element types; the [`crate::Gradients`]
    /// that backward returns holds them all (`get` takes a leaf of either type).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let w = Tensor::from_array([0.5f32, -2.0]).track();
    /// let loss = w.cast::<f64>().powf(2.0).sum(); // accumulated in f64
    /// assert_eq!(loss.grad_fn().unwrap().name(), "SumBackward0");
    /// let grads = loss.backward();
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![1.0f32, -4.0]);
    /// // A cast to the same type is the identity, derivative included.
    /// let x = Tensor::from_array([0.3f64, 1.7]);
    /// gradcheck(|x| x.cast::<f64>() * x, &x, Tolerance::default()).unwrap();
    /// ```
    pub fn cast<F: Element>(&self) -> Tensor<S, F, UnaryTape<T>> {
        let var = Var {
            data: Arc::clone(self.storage()),
            place: self.graph_ref().cloned(),
        };
        Tensor::from_var(cast_var::<E, F>(&var, S::DIMS))
    }
}
