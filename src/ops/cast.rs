//! Element conversion that keeps the tape: `x.cast::<f64>()` (PyTorch's `x.to(dtype)`).
//!
//! A graph holds an arena per element type, so a cast of a tracked value records its
//! result (`ToCopyBackward0`) in the other arena of its source's graph and names the
//! source by its index there: no graph refers to another, so casting there and back
//! makes no reference cycle. Each pass crosses between the arenas as its own rule says:
//! the backward pass converts the gradient and queues a backward pass from the source (a
//! work list, not a nested call, so that no graph is locked twice and no chain of casts
//! deepens the stack); the recorded backward records the converted gradient as a cast in
//! turn; the forward sweep computes the source's tangent first and converts it.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::marker::PhantomData;

use crate::element::sealed::Seed;
use crate::element::Element;
use crate::error::Error;
use crate::graphviz::Drawing;
use crate::shape::Shape;
use crate::tape::backward::{check_values, BackwardJob};
use crate::tape::create_graph::RecordedJob;
use crate::tape::forward::jvp_sweep;
use crate::tape::graph::{self, GraphRef, Input, LeafId, Produced, ThreadLocalGraph};
use crate::tape::{Tape, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

use super::Var;

/// A recorded cast: where the converted value sits, as node `from` of the arena of
/// element type number `from_arena` in the same graph (shifted with it when graphs
/// merge), and how to cross into that arena.
#[derive(Clone)]
pub(crate) struct CastOp<E: Element> {
    pub(crate) from: u32,
    pub(crate) from_arena: usize,
    pub(crate) source: &'static dyn Source<E>,
}

/// How each pass crosses from a cast to its source, with the source's element type
/// erased. `cell` is the graph both live in and `from` the source's index there.
pub(crate) trait Source<E: Element>: Send + Sync {
    /// The backward pass from the source for the cast's gradient `grad`.
    fn backward_job(&self, cell: &Rc<ThreadLocalGraph>, from: u32, grad: &[E]) -> BackwardJob;
    /// The checked backward's scan of the values the source depends on.
    fn check_values(&self, cell: &Rc<ThreadLocalGraph>, from: u32) -> Result<(), Error>;
    /// The recorded backward pass from the source for the cast's gradient.
    fn recorded_job(&self, cell: &Rc<ThreadLocalGraph>, from: u32, grad: &Var<E>) -> RecordedJob;
    /// The source's tangents for `batch` tangents of the seeded leaves, converted;
    /// `None` where the source depends on no seeded leaf.
    fn tangent(
        &self,
        cell: &Rc<ThreadLocalGraph>,
        from: u32,
        seeds: &[(LeafId, Seed<'_>)],
        batch: usize,
    ) -> Option<Vec<E>>;
    /// Draws the source and what it depends on (once, however many casts read it);
    /// returns the box the cast's edge starts from.
    fn draw(&self, cell: &Rc<ThreadLocalGraph>, from: u32, drawing: &mut Drawing) -> Option<usize>;
}

/// A source of element type `F`.
struct From<F: Element>(PhantomData<F>);

/// `values` converted to another element type (rounding to nearest where it narrows).
fn convert<F: Element, E: Element>(values: &[F]) -> Vec<E> {
    values
        .iter()
        .map(|v| E::from_f64(v.to_f64_exact()))
        .collect()
}

/// Node `from` of the `F` arena of `cell`'s graph, as a handle held while a pass runs.
fn source_node<F: Element>(cell: &Rc<ThreadLocalGraph>, from: u32) -> GraphRef<F> {
    GraphRef::node(Rc::clone(cell), from)
}

impl<E: Element, F: Element> Source<E> for From<F> {
    fn backward_job(&self, cell: &Rc<ThreadLocalGraph>, from: u32, grad: &[E]) -> BackwardJob {
        BackwardJob::new(source_node::<F>(cell, from), convert(grad))
    }

    fn check_values(&self, cell: &Rc<ThreadLocalGraph>, from: u32) -> Result<(), Error> {
        // A node's own value is never read: only a leaf's, and a leaf handle is no node.
        check_values(&source_node::<F>(cell, from), &[], &[])
    }

    fn recorded_job(&self, cell: &Rc<ThreadLocalGraph>, from: u32, grad: &Var<E>) -> RecordedJob {
        RecordedJob::new(source_node::<F>(cell, from), cast_var::<E, F>(grad, &[]))
    }

    fn tangent(
        &self,
        cell: &Rc<ThreadLocalGraph>,
        from: u32,
        seeds: &[(LeafId, Seed<'_>)],
        batch: usize,
    ) -> Option<Vec<E>> {
        let source = source_node::<F>(cell, from);
        let len = graph::with_live::<F, _>(cell, from, |_, graph, index| {
            graph.node(index).map_or(0, |node| node.len)
        });
        let tangent = jvp_sweep(&source, len, seeds, batch)?;
        let converted = convert(&tangent);
        crate::tensor::pool::recycle(tangent);
        Some(converted)
    }

    fn draw(&self, cell: &Rc<ThreadLocalGraph>, from: u32, drawing: &mut Drawing) -> Option<usize> {
        drawing.draw_value(&source_node::<F>(cell, from), &[])
    }
}

/// `x` converted to element type `F`, recorded as a cast if `x` is tracked; `dims` names
/// `x` if it is a leaf (in checked errors).
pub(crate) fn cast_var<E: Element, F: Element>(x: &Var<E>, dims: &'static [usize]) -> Var<F> {
    // From the pool, as every result is: a buffer made outside it would join it when
    // dropped, and the pool would grow by one buffer per cast until its bound.
    let data: Storage<F> = Storage::collect(
        x.data.len(),
        x.data.iter().map(|v| F::from_f64(v.to_f64_exact())),
    );
    let place = x.place.as_ref().map(|place| {
        let op = CastOp {
            from: 0,
            from_arena: E::ARENA,
            source: &From::<E>(PhantomData),
        };
        let out = Produced {
            value: &data,
            len: data.len(),
            finite: F::all_finite(&data),
        };
        let input = Input {
            place,
            data: &x.data,
            dims,
        };
        graph::record_cast(input, op, out)
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
            data: self.storage().clone(),
            place: self.graph_ref().cloned(),
        };
        Tensor::from_var(cast_var::<E, F>(&var, S::DIMS))
    }
}
