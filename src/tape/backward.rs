//! The backward pass: one reverse loop over a graph's arena.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::graph::{with_live, Graph, GraphRef, Node, Place, Slot, ThreadLocalGraph};
use crate::element::Element;
use crate::error::Error;
use crate::gradients::{GradientStore, Gradients};
use crate::ops::cast::Source;
use crate::ops::Op;
use crate::tensor::storage::Storage;

/// The gradients of an operation's inputs, as an operation's backward sees them: each
/// input's slot, or nothing for an input that is not tracked.
pub(crate) struct ParentGrads<'a, E: Element> {
    /// The flat buffer below the current node: every non-leaf input's region is here.
    lower: &'a mut [E],
    leaf_grads: &'a mut [Option<Arc<[E]>>],
    targets: [Option<(Slot, usize)>; 2],
    /// The values the node's record saved (its part of the graph's side table): copy
    /// the reference out before taking an input's gradient.
    pub(crate) saved: &'a [Storage<E>],
}

impl<E: Element> ParentGrads<'_, E> {
    /// The gradient accumulator of input `k` (0: left or only input, 1: right input), or
    /// `None` if that input is not tracked, in which case nothing should be computed
    /// for it.
    pub(crate) fn get_mut(&mut self, k: usize) -> Option<&mut [E]> {
        let (slot, len) = (*self.targets.get(k)?)?;
        match slot {
            Slot::Buffer(at) => self.lower.get_mut(at..at + len),
            Slot::Leaf(n) => {
                let grad = self
                    .leaf_grads
                    .get_mut(n)?
                    .get_or_insert_with(|| zeros(len));
                // Unique: a leaf gradient is shared only after backward hands it out.
                Some(Arc::make_mut(grad))
            }
        }
    }
}

impl<E: Element> ParentGrads<'_, E> {
    /// For input `k`: adds into its gradient with `add` if it already has one, or, for a
    /// leaf reached for the first time, installs `fresh()` as its gradient, so that a
    /// large first gradient (a weight's) is written once instead of zero-filled and then
    /// added into. Nothing happens for an untracked input.
    pub(crate) fn accumulate_or_set(
        &mut self,
        k: usize,
        add: impl FnOnce(&mut [E]),
        fresh: impl FnOnce() -> Arc<[E]>,
    ) {
        let Some(Some((slot, _))) = self.targets.get(k).copied() else {
            return;
        };
        if let Slot::Leaf(n) = slot {
            if let Some(empty @ None) = self.leaf_grads.get_mut(n) {
                *empty = Some(fresh());
                return;
            }
        }
        if let Some(grad) = self.get_mut(k) {
            add(grad);
        }
    }
}

fn zeros<E: Element>(len: usize) -> Arc<[E]> {
    crate::tensor::pool::take_zeroed(len)
}

/// Whether a backward pass checks for NaN and infinity (anomaly mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    Off,
    NonFinite,
}

/// Backpropagates `seed` (the gradient of the root, same length as the root) from `root`,
/// whose value is `root_value`, and adds the gradients of every leaf it reaches into
/// `grads`. With [`Check::NonFinite`], fails at the first NaN or infinity on the path
/// from the leaves to the root and says where it appeared; `grads` is then left
/// unchanged.
///
/// A cast on the path queues a pass of its source's graph (of the other element type);
/// the queue is worked through here, after each graph's pass has released its graph.
pub(crate) fn backward<E: Element>(
    root: &GraphRef<E>,
    root_value: &[E],
    root_dims: &'static [usize],
    seed: &[E],
    grads: &mut Gradients<E>,
    check: Check,
) -> Result<(), Error> {
    if check == Check::NonFinite {
        if let Some(index) = first_non_finite(seed) {
            return Err(Error::NonFiniteSeed { index });
        }
    }
    let mut fresh = GradientStore::default();
    let store = if check == Check::NonFinite {
        &mut fresh
    } else {
        &mut grads.store
    };
    if check == Check::NonFinite {
        check_values(root, root_value, root_dims)?;
    }
    let mut pending = Vec::new();
    pass(root, seed, store, check, &mut pending)?;
    while let Some(job) = pending.pop() {
        job.0.run(store, check, &mut pending)?;
    }
    if check == Check::NonFinite {
        grads.store.merge(fresh);
    }
    Ok(())
}

/// One graph's backward pass: `seed` from `root`, into `store`; casts on the path add
/// to `pending`. (The checked pass scanned every value before the first pass.)
fn pass<E: Element>(
    root: &GraphRef<E>,
    seed: &[E],
    store: &mut GradientStore,
    check: Check,
    pending: &mut Vec<BackwardJob>,
) -> Result<(), Error> {
    match &root.0 {
        Place::Leaf { id, .. } => {
            store.accumulate(*id, seed.iter().copied().collect());
            Ok(())
        }
        Place::Node { cell, index } => with_live(cell, *index, |cell, graph, root| {
            run(cell, graph, root as usize, seed, store, check, pending)
        }),
    }
}

/// A backward pass still to run, of a graph of either element type: queued by a cast.
pub(crate) struct BackwardJob(Box<dyn Pending>);

impl BackwardJob {
    /// A pass of the graph of `root` with `seed`.
    pub(crate) fn new<E: Element>(root: GraphRef<E>, seed: Vec<E>) -> Self {
        BackwardJob(Box::new(PendingPass { root, seed }))
    }
}

/// A queued pass, with its element type erased.
trait Pending {
    fn run(
        self: Box<Self>,
        store: &mut GradientStore,
        check: Check,
        pending: &mut Vec<BackwardJob>,
    ) -> Result<(), Error>;
    /// Whether the converted gradient is finite (a narrowing cast can overflow).
    fn seed_is_finite(&self) -> bool;
}

/// The arguments of a queued [`pass`].
struct PendingPass<E: Element> {
    root: GraphRef<E>,
    seed: Vec<E>,
}

impl<E: Element> Pending for PendingPass<E> {
    fn run(
        self: Box<Self>,
        store: &mut GradientStore,
        check: Check,
        pending: &mut Vec<BackwardJob>,
    ) -> Result<(), Error> {
        let job = *self;
        pass(&job.root, &job.seed, store, check, pending)
    }

    fn seed_is_finite(&self) -> bool {
        E::all_finite(&self.seed)
    }
}

/// The flat position of the first NaN or infinity in `values`.
fn first_non_finite<E: Element>(values: &[E]) -> Option<usize> {
    if E::all_finite(values) {
        return None;
    }
    values.iter().position(|v| !v.is_finite())
}

/// Which nodes the root depends on: the root, and every parent of a node it depends on.
pub(crate) fn reachable<E: Element>(graph: &Graph<E>, root: usize) -> Vec<bool> {
    let mut reached = Vec::new();
    mark_reachable(graph, root, &mut reached);
    reached
}

/// [`reachable`] into `reached` (cleared first), to reuse its capacity.
pub(crate) fn mark_reachable<E: Element>(graph: &Graph<E>, root: usize, reached: &mut Vec<bool>) {
    reached.clear();
    reached.resize(root + 1, false);
    if let Some(slot) = reached.get_mut(root) {
        *slot = true;
    }
    for (index, node) in graph.nodes.iter().enumerate().take(root + 1).rev() {
        if reached[index] {
            for parent in node.parents.iter().flatten() {
                if let Some(slot) = reached.get_mut(*parent as usize) {
                    *slot = true;
                }
            }
        }
    }
}

/// The casts `root` depends on: their distance below the root (which merging graphs
/// does not change), their sources' indices (in the graph as it is now) and how to
/// cross into them.
pub(crate) fn casts_on_path<E: Element>(
    graph: &Graph<E>,
    root: usize,
) -> Vec<(usize, u32, &'static dyn Source<E>)> {
    if graph.casts == 0 {
        return Vec::new();
    }
    let marked = reachable(graph, root);
    graph
        .nodes
        .iter()
        .enumerate()
        .take(root + 1)
        .filter(|(index, _)| marked[*index])
        .filter_map(|(index, node)| match &node.op {
            Op::Cast(cast) => Some((root - index, cast.from, cast.source)),
            _ => None,
        })
        .collect()
}

/// The checked backward's scan of values: the first NaN or infinity on a path from the
/// leaves to `root` (whose value is `root_value`), in its arena and, through casts, in
/// the arena of the other element type. The sources of casts are scanned first (they
/// were computed before the casts), each with the graph unlocked.
pub(crate) fn check_values<E: Element>(
    root: &GraphRef<E>,
    root_value: &[E],
    root_dims: &'static [usize],
) -> Result<(), Error> {
    match &root.0 {
        Place::Leaf { .. } => match first_non_finite(root_value) {
            Some(index) => Err(Error::NonFiniteLeaf {
                node: 0,
                dims: root_dims,
                index,
            }),
            None => Ok(()),
        },
        Place::Node { cell, index } => {
            let (live, casts) = with_live::<E, _>(cell, *index, |cell, graph, root| {
                (Rc::clone(cell), casts_on_path(graph, root as usize))
            });
            for (_, from, source) in casts {
                source.check_values(&live, from)?;
            }
            with_live::<E, _>(cell, *index, |_, graph, root| {
                first_non_finite_value(graph, root as usize)
            })
        }
    }
}

/// The first node (in creation order) on a path from the leaves to the root whose value
/// is not finite: a leaf whose data holds a NaN or infinity (the value entered there), or
/// an operation whose forward value does. Nodes the root does not depend on (a dropped
/// branch, a graph merged in later) are not looked at.
fn first_non_finite_value<E: Element>(graph: &Graph<E>, root: usize) -> Result<(), Error> {
    let reached = reachable(graph, root);
    for (node, (record, &on_path)) in graph.nodes.iter().zip(&reached).enumerate() {
        if !on_path {
            continue;
        }
        match &record.op {
            Op::Leaf(leaf) => {
                if let Some(index) = first_non_finite(leaf.data.of(graph.saved_of(record))) {
                    return Err(Error::NonFiniteLeaf {
                        node,
                        dims: leaf.dims,
                        index,
                    });
                }
            }
            op if !record.finite => {
                return Err(Error::NonFiniteValue {
                    op: op.name(),
                    node,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

fn run<E: Element>(
    cell: &Rc<ThreadLocalGraph>,
    graph: &Graph<E>,
    root: usize,
    seed: &[E],
    grads: &mut GradientStore,
    check: Check,
    pending: &mut Vec<BackwardJob>,
) -> Result<(), Error> {
    let Some(root_node) = graph.nodes.get(root) else {
        return Ok(());
    };
    // The root's gradient is the seed itself: the buffer holds the nodes below it.
    let buffer_len = match root_node.slot {
        Slot::Buffer(at) => at,
        Slot::Leaf(_) => 0,
    };
    // Working vectors kept from the thread's last pass (their capacity), given back below.
    let mut scratch = crate::workspace::take_scratch::<E>();
    let result = run_with(
        cell,
        graph,
        root,
        root_node,
        buffer_len,
        seed,
        grads,
        check,
        pending,
        &mut scratch,
    );
    crate::workspace::give_scratch(scratch);
    result
}

/// [`run`] with its working vectors.
#[allow(clippy::too_many_arguments)]
fn run_with<E: Element>(
    cell: &Rc<ThreadLocalGraph>,
    graph: &Graph<E>,
    root: usize,
    root_node: &Node<E>,
    buffer_len: usize,
    seed: &[E],
    grads: &mut GradientStore,
    check: Check,
    pending: &mut Vec<BackwardJob>,
    scratch: &mut crate::workspace::Scratch<E>,
) -> Result<(), Error> {
    scratch.buffer.resize(buffer_len, E::zero());
    scratch.leaf_grads.resize(graph.leaf_count, None);
    scratch.reached.resize(root + 1, false);
    let (buffer, leaf_grads, reached) = (
        &mut scratch.buffer,
        &mut scratch.leaf_grads,
        &mut scratch.reached,
    );
    if let Slot::Leaf(n) = root_node.slot {
        leaf_grads[n] = Some(crate::tensor::pool::collect(
            seed.len(),
            seed.iter().copied(),
        ));
    }
    reached[root] = true;
    for index in (0..=root).rev() {
        if !reached[index] {
            continue;
        }
        let node = &graph.nodes[index];
        let at = match (node.slot, &node.op) {
            (Slot::Leaf(n), Op::Leaf(leaf)) => {
                // Every consumer of this leaf has a higher index, so its sum is complete.
                if let Some(grad) = leaf_grads[n].take() {
                    grads.accumulate(leaf.id, grad);
                }
                continue;
            }
            (Slot::Buffer(at), _) => at,
            (Slot::Leaf(_), _) => continue,
        };
        for parent in node.parents.iter().flatten() {
            reached[*parent as usize] = true;
        }
        let targets = node.parents.map(|p| {
            let parent = &graph.nodes[p? as usize];
            Some((parent.slot, parent.len))
        });
        let (lower, upper) = buffer.split_at_mut(at.min(buffer_len));
        let grad = if index == root {
            seed
        } else {
            upper.get(..node.len).unwrap_or_default()
        };
        if let Op::Cast(cast) = &node.op {
            // The gradient crosses into the source's graph, after this pass.
            let job = cast.source.backward_job(cell, cast.from, grad);
            if check == Check::NonFinite && !job.0.seed_is_finite() {
                return Err(Error::NonFiniteGradient {
                    op: node.op.name(),
                    input: 0,
                    node: index,
                });
            }
            pending.push(job);
            continue;
        }
        let mut parents = ParentGrads {
            lower,
            leaf_grads: &mut *leaf_grads,
            targets,
            saved: graph.saved_of(node),
        };
        node.op.backward(grad, &mut parents);
        if check == Check::NonFinite {
            for input in 0..2 {
                if parents.get_mut(input).is_some_and(|g| !E::all_finite(g)) {
                    return Err(Error::NonFiniteGradient {
                        op: node.op.name(),
                        input,
                        node: index,
                    });
                }
            }
        }
    }
    Ok(())
}

use crate::shape::{ScalarShape, Shape};
use crate::tape::{Backprop, ConstantSeed, Tape};
use crate::tensor::Tensor;

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// Runs the backward pass from this tensor with `seed`, adding into `grads`.
    fn backward_from(
        &self,
        seed: &[E],
        grads: &mut Gradients<E>,
        check: Check,
    ) -> Result<(), Error> {
        match self.graph_ref() {
            Some(root) => {
                (E::compiled().backward)(root, self.as_slice(), S::DIMS, seed, grads, check)
            }
            None => Ok(()),
        }
    }

    /// Backpropagates from this scalar and returns the gradients of the tracked leaves it
    /// depends on (PyTorch's `loss.backward()`).
    ///
    /// Consumes the root: a second call on the same value does not compile (PyTorch's
    /// "Trying to backward through the graph a second time" cannot happen). Other values
    /// of the same graph stay usable: the graph lives while anything holds it.
    ///
    /// Only a scalar (`Rank0`) `Tracked` tensor has this method in effect: on any other
    /// shape or tape the call is a compile error saying why.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let w = Tensor::<Rank0, f32>::full(3.0).track();
    /// let z = w.powf(2.0) * 5.0; // 5w², dz/dw = 10w = 30
    /// assert_eq!(z.backward().get(&w).unwrap().item(), 30.0);
    /// ```
    pub fn backward(self) -> Gradients<E>
    where
        S: ScalarShape,
        T: Backprop,
    {
        let mut grads = Gradients::new();
        self.backward_into(&mut grads);
        grads
    }

    /// Backpropagates from this scalar, adding into `grads` (gradients accumulate as
    /// PyTorch's `.grad` does; [`Gradients::zero`] resets them).
    pub fn backward_into(self, grads: &mut Gradients<E>)
    where
        S: ScalarShape,
        T: Backprop,
    {
        // Unchecked backward has no failure path.
        let _ = self.backward_from(&[E::one()], grads, Check::Off);
    }

    /// Backpropagates like [`Tensor::backward`], checking for NaN and infinity (PyTorch's
    /// `detect_anomaly`), on the path from the leaves to this root only: a value the
    /// root does not depend on (a dropped branch, a graph merged in later) is not
    /// reported.
    ///
    /// The error says where a NaN or infinity first appeared, in the order the graph was
    /// built: at a tracked leaf whose data held it ([`Error::NonFiniteLeaf`], naming the
    /// leaf's shape, node and element), at an operation whose forward value held it
    /// ([`Error::NonFiniteValue`]), or, if every value is finite, at the operation whose
    /// backward first produced one ([`Error::NonFiniteGradient`]). No gradient is
    /// returned when it fails.
    ///
    /// # Errors
    /// [`Error::NonFiniteLeaf`], [`Error::NonFiniteValue`], [`Error::NonFiniteGradient`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f64, -1.0]).track();
    /// let err = (x.ln() * 2.0).sum().backward_checked().unwrap_err();
    /// assert!(matches!(err, Error::NonFiniteValue { op: "LogBackward0", .. }));
    ///
    /// let z = Tensor::from_array([0.0f64, 4.0]).track();
    /// let err = z.sqrt().sum().backward_checked().unwrap_err();
    /// assert!(matches!(err, Error::NonFiniteGradient { op: "SqrtBackward0", input: 0, .. }));
    ///
    /// let w = Tensor::from_array([[1.0f64, f64::NAN]]).track();
    /// let err = (&w * 2.0).sum().backward_checked().unwrap_err();
    /// assert_eq!(err, Error::NonFiniteLeaf { node: 0, dims: &[1, 2], index: 1 });
    /// ```
    pub fn backward_checked(self) -> Result<Gradients<E>, Error>
    where
        S: ScalarShape,
        T: Backprop,
    {
        let mut grads = Gradients::new();
        self.backward_from(&[E::one()], &mut grads, Check::NonFinite)?;
        Ok(grads)
    }

    /// The vector-Jacobian product: backpropagates `seed`, the gradient of some scalar
    /// with respect to this tensor, and returns the gradients of the leaves (PyTorch's
    /// `y.backward(v)`). The seed must have this tensor's shape, and is a constant: a
    /// `Tracked` seed does not compile (`.detach()` it, or differentiate through it with
    /// [`Tensor::backward_with_create_graph`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    /// let y = &x * 4.0;
    /// let grads = y.backward_with(&Tensor::from_array([0.1, 1.0, 0.0001]));
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![0.4, 4.0, 0.0004]);
    /// ```
    pub fn backward_with<TS: ConstantSeed>(self, seed: &Tensor<S, E, TS>) -> Gradients<E>
    where
        T: Backprop,
    {
        let mut grads = Gradients::new();
        // Unchecked backward has no failure path.
        let _ = self.backward_from(seed.as_slice(), &mut grads, Check::Off);
        grads
    }

    /// [`Tensor::backward_with`], checked as [`Tensor::backward_checked`] is; a seed
    /// holding a NaN or infinity is an error too ([`Error::NonFiniteSeed`]).
    ///
    /// # Errors
    /// [`Error::NonFiniteSeed`], [`Error::NonFiniteLeaf`], [`Error::NonFiniteValue`],
    /// [`Error::NonFiniteGradient`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0]).track();
    /// let seed = Tensor::from_array([1.0, f32::NAN]);
    /// let err = (&x * 3.0).backward_with_checked(&seed).unwrap_err();
    /// assert_eq!(err, Error::NonFiniteSeed { index: 1 });
    /// ```
    pub fn backward_with_checked<TS: ConstantSeed>(
        self,
        seed: &Tensor<S, E, TS>,
    ) -> Result<Gradients<E>, Error>
    where
        T: Backprop,
    {
        let mut grads = Gradients::new();
        self.backward_from(seed.as_slice(), &mut grads, Check::NonFinite)?;
        Ok(grads)
    }
}
