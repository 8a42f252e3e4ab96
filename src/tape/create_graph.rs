//! The recorded backward pass (PyTorch's `create_graph=True`): the same reverse loop as
//! [`super::backward`], but each operation's vector-Jacobian product is computed by
//! recorded operations (`backward_recorded`, beside each op's other rules), appended to
//! the graph being differentiated. The gradients are then `Tracked` values of that graph,
//! which can be differentiated again: gradients of gradients, Hessians.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::marker::PhantomData;

use super::graph::{resolve, with_live, GraphRef, LeafId, Place, Saved, ThreadLocalGraph};
use crate::element::sealed::StoredVar;
use crate::element::Element;
use crate::error::Error;
use crate::ops::{Op, Var};
use crate::shape::{ScalarShape, Shape};
use crate::tape::{Backprop, Tape, Tracked};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// What an operation's recorded backward may know of the node it differentiates: which
/// inputs are tracked, and its inputs and output as values of the graph.
pub(crate) struct NodeContext<'a, E: Element> {
    cell: &'a Rc<ThreadLocalGraph>,
    index: u32,
    parents: [Option<u32>; 2],
    parent_lens: [usize; 2],
    /// The values the node's record saved (copied out of the graph, which is not
    /// borrowed while the recorded rule records).
    saved: &'a [Storage<E>],
}

impl<E: Element> NodeContext<'_, E> {
    /// Whether input `k` is tracked (needs a gradient).
    pub(crate) fn tracked(&self, k: usize) -> bool {
        self.parents.get(k).is_some_and(Option::is_some)
    }

    /// The number of elements of input `k`.
    pub(crate) fn input_len(&self, k: usize) -> usize {
        self.parent_lens.get(k).copied().unwrap_or(0)
    }

    /// Input `k`, whose value the record saved as `data`, as a value of the graph (a
    /// constant if it is not tracked).
    pub(crate) fn input(&self, k: usize, data: Saved) -> Var<E> {
        Var {
            data: data.storage(self.saved),
            place: self
                .parents
                .get(k)
                .copied()
                .flatten()
                .map(|index| self.node(index)),
        }
    }

    /// The node's own output, whose value the record saved as `data`, as a value of the
    /// graph.
    pub(crate) fn output(&self, data: Saved) -> Var<E> {
        Var {
            data: data.storage(self.saved),
            place: Some(self.node(self.index)),
        }
    }

    /// A value the node's record saved, as plain elements (for constants of a rule, such
    /// as a mask of positions, that are not themselves differentiated).
    pub(crate) fn saved(&self, data: Saved) -> &[E] {
        data.of(self.saved)
    }

    /// A value the record saved that is neither an input nor the output (a factor kept
    /// beside them), as a constant.
    pub(crate) fn saved_value(&self, data: Saved) -> Storage<E> {
        data.storage(self.saved)
    }

    fn node(&self, index: u32) -> GraphRef<E> {
        GraphRef::node(Rc::clone(self.cell), index)
    }
}

/// Gradients that are themselves recorded (`Tracked`): what
/// [`Tensor::backward_create_graph`] returns.
///
/// ```
/// use typegrad::prelude::*;
/// let x = Tensor::<Rank0, f64>::full(3.0).track();
/// let y = x.powf(3.0); // y = x³, dy/dx = 3x² = 27, d²y/dx² = 6x = 18
/// let dy = y.backward_create_graph()?.get(&x).unwrap();
/// assert_eq!(dy.item(), 27.0);
/// let d2y = dy.backward().get(&x).unwrap();
/// assert_eq!(d2y.item(), 18.0);
/// # Ok::<(), typegrad::Error>(())
/// ```
pub struct TrackedGradients<E: Element> {
    store: RecordedStore,
    element: PhantomData<E>,
}

/// Recorded gradients of leaves of either element type (a computation that casts has
/// both), by leaf.
#[derive(Default)]
pub(crate) struct RecordedStore {
    by_leaf: BTreeMap<LeafId, StoredVar>,
}

impl RecordedStore {
    fn accumulate<E: Element>(&mut self, id: LeafId, grad: Var<E>) {
        let sum = match self.by_leaf.remove(&id).as_ref().and_then(E::unwrap_var) {
            Some(previous) => previous.add(&grad),
            None => grad,
        };
        self.by_leaf.insert(id, E::wrap_var(sum));
    }
}

impl<E: Element> core::fmt::Debug for TrackedGradients<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrackedGradients")
            .field("leaves", &self.store.by_leaf.len())
            .finish()
    }
}

impl<E: Element> TrackedGradients<E> {
    /// The gradient of `leaf` as a `Tracked` value that records how it depends on the
    /// leaves; `None` if the root does not depend on `leaf`.
    ///
    /// A gradient that depends on no leaf (the gradient of a linear function) is a
    /// fresh leaf holding its value: differentiating it again gives nothing, which
    /// [`crate::Gradients::get`] reports as `None` (a zero derivative). The leaf may
    /// hold either element type (through `cast`).
    pub fn get<S: Shape, L: Element, T: Backprop>(
        &self,
        leaf: &Tensor<S, L, T>,
    ) -> Option<Tensor<S, L, Tracked>> {
        let id = T::graph_ref(leaf.handle())?.leaf_id()?;
        let grad = L::unwrap_var(self.store.by_leaf.get(&id)?)?;
        if grad.len() != S::NUM_ELEMENTS {
            return None;
        }
        let place = grad
            .place
            .clone()
            .unwrap_or_else(|| GraphRef::new_leaf(S::NUM_ELEMENTS));
        Some(Tensor::from_parts(grad.data.clone(), place))
    }

    /// Number of leaves holding a gradient.
    pub fn len(&self) -> usize {
        self.store.by_leaf.len()
    }

    /// Whether no leaf holds a gradient.
    pub fn is_empty(&self) -> bool {
        self.store.by_leaf.is_empty()
    }

    fn empty() -> Self {
        TrackedGradients {
            store: RecordedStore::default(),
            element: PhantomData,
        }
    }
}

/// A recorded backward pass still to run, of a graph of either element type: queued by
/// a cast.
pub(crate) struct RecordedJob(Box<dyn PendingRecorded>);

impl RecordedJob {
    /// A recorded pass of the graph of `root` with `seed`.
    pub(crate) fn new<E: Element>(root: GraphRef<E>, seed: Var<E>) -> Self {
        RecordedJob(Box::new((root, seed)))
    }
}

/// A queued recorded pass, with its element type erased.
trait PendingRecorded {
    fn run(
        self: Box<Self>,
        store: &mut RecordedStore,
        pending: &mut Vec<RecordedJob>,
    ) -> Result<(), Error>;
}

impl<E: Element> PendingRecorded for (GraphRef<E>, Var<E>) {
    fn run(
        self: Box<Self>,
        store: &mut RecordedStore,
        pending: &mut Vec<RecordedJob>,
    ) -> Result<(), Error> {
        let (root, seed) = *self;
        recorded_pass(&root, seed, store, pending)
    }
}

/// Backpropagates `seed` from `root`, recording every step; the gradients of the leaves
/// it reaches are values of the root's graph.
///
/// # Errors
/// [`Error::NotTwiceDifferentiable`] at a custom operation without a recorded rule.
pub(crate) fn backward_recorded<E: Element>(
    root: &GraphRef<E>,
    seed: Var<E>,
) -> Result<TrackedGradients<E>, Error> {
    let mut grads = TrackedGradients::empty();
    let mut pending = Vec::new();
    recorded_pass(root, seed, &mut grads.store, &mut pending)?;
    while let Some(job) = pending.pop() {
        job.0.run(&mut grads.store, &mut pending)?;
    }
    Ok(grads)
}

/// One graph's recorded backward pass; casts on the path add to `pending`.
fn recorded_pass<E: Element>(
    root: &GraphRef<E>,
    seed: Var<E>,
    grads: &mut RecordedStore,
    jobs: &mut Vec<RecordedJob>,
) -> Result<(), Error> {
    let (cell, root) = match &root.0 {
        Place::Leaf { id, .. } => {
            grads.accumulate(*id, seed);
            return Ok(());
        }
        Place::Node { cell, index } => resolve::<E>(cell, *index),
    };
    // Indices are those of `cell` as it is now; recording appends after the root, and
    // if the graph is merged into another meanwhile, `with_live` follows it.
    let mut pending: Vec<Option<Var<E>>> = vec![None; root as usize + 1];
    let mut saved: Vec<Storage<E>> = Vec::new();
    pending[root as usize] = Some(seed);
    for index in (0..=root).rev() {
        let Some(grad) = pending[index as usize].take() else {
            continue;
        };
        let Some((op, parents, parent_lens, live_cell)) =
            with_live::<E, _>(&cell, index, |live_cell, graph, live| {
                let shift = live - index;
                let node = graph.node(live)?;
                let parent_len =
                    |p: Option<u32>| p.and_then(|p| graph.node(p)).map_or(0, |n| n.len);
                // The saved values leave the graph with the record (a small value is
                // copied, a large one's buffer counted): recording borrows the graph.
                saved.clear();
                saved.extend_from_slice(graph.saved_of(node));
                Some((
                    node.op.clone(),
                    node.parents.map(|p| p.map(|p| p - shift)),
                    node.parents.map(parent_len),
                    Rc::clone(live_cell),
                ))
            })
        else {
            continue;
        };
        match &op {
            Op::Leaf(leaf) => {
                grads.accumulate(leaf.id, grad);
                continue;
            }
            Op::Cast(cast) => {
                // The source's index as it was in the live graph the record came from.
                jobs.push(cast.source.recorded_job(&live_cell, cast.from, &grad));
                continue;
            }
            _ => {}
        }
        let context = NodeContext {
            cell: &cell,
            index,
            parents,
            parent_lens,
            saved: &saved,
        };
        let inputs = op.backward_recorded(&grad, &context)?;
        for (parent, input_grad) in parents.into_iter().zip(inputs) {
            let (Some(parent), Some(input_grad)) = (parent, input_grad) else {
                continue;
            };
            let slot = &mut pending[parent as usize];
            *slot = Some(match slot.take() {
                Some(previous) => previous.add(&input_grad),
                None => input_grad,
            });
        }
    }
    Ok(())
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// Backpropagates from this scalar, recording the backward pass itself (PyTorch's
    /// `loss.backward(create_graph=True)` or `torch.autograd.grad(..., create_graph=True)`):
    /// the gradients are `Tracked` values that can be differentiated again.
    ///
    /// Each operation's gradient is computed by differentiable operations (its
    /// `backward_recorded` rule) appended to this value's graph, so every operation has
    /// a second derivative. [`crate::func::hessian`] is the Jacobian of such a gradient.
    /// Unlike [`Tensor::backward`], the root is not consumed: the recorded gradients
    /// belong to its graph.
    ///
    /// # Errors
    /// [`Error::NotTwiceDifferentiable`] if the root depends on a custom operation that
    /// gives no differentiable backward rule; every built-in operation has one.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// // f(x, y) = x² y: ∂f/∂x = 2xy, and ∂/∂y (∂f/∂x) = 2x.
    /// let x = Tensor::<Rank0, f64>::full(3.0).track();
    /// let y = Tensor::<Rank0, f64>::full(5.0).track();
    /// let f = &x * &x * &y;
    /// let dfdx = f.backward_create_graph()?.get(&x).unwrap();
    /// assert_eq!(dfdx.item(), 30.0);
    /// let grads = dfdx.backward();
    /// assert_eq!(grads.get(&y).unwrap().item(), 6.0);
    /// assert_eq!(grads.get(&x).unwrap().item(), 10.0);
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    pub fn backward_create_graph(&self) -> Result<TrackedGradients<E>, Error>
    where
        S: ScalarShape,
        T: Backprop,
    {
        let seed = Var::constant(Storage::from_slice(&[E::one()]));
        match self.graph_ref() {
            Some(root) => backward_recorded(root, seed),
            None => Ok(TrackedGradients::empty()),
        }
    }

    /// [`Tensor::backward_create_graph`] with a seed of this tensor's shape: the
    /// vector-Jacobian product `seedᵀ J`, recorded. A `Tracked` seed is differentiated
    /// through too.
    ///
    /// # Errors
    /// As [`Tensor::backward_create_graph`].
    pub fn backward_with_create_graph<TS: Tape>(
        &self,
        seed: &Tensor<S, E, TS>,
    ) -> Result<TrackedGradients<E>, Error>
    where
        T: Backprop,
    {
        let seed = Var {
            data: seed.storage().clone(),
            place: seed.graph_ref().cloned(),
        };
        match self.graph_ref() {
            Some(root) => backward_recorded(root, seed),
            None => Ok(TrackedGradients::empty()),
        }
    }
}
