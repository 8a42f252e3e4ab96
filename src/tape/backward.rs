//! The backward pass: one reverse loop over a graph's arena.

use std::sync::Arc;

use super::graph::{with_live, Graph, GraphRef, Place, Slot};
use crate::element::Element;
use crate::gradients::Gradients;
use crate::ops::Op;

/// The gradients of an operation's inputs, as an operation's backward sees them: each
/// input's slot, or nothing for an input that is not tracked.
pub(crate) struct ParentGrads<'a, E: Element> {
    /// The flat buffer below the current node: every non-leaf input's region is here.
    lower: &'a mut [E],
    leaf_grads: &'a mut [Option<Arc<[E]>>],
    targets: [Option<(Slot, usize)>; 2],
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

fn zeros<E: Element>(len: usize) -> Arc<[E]> {
    core::iter::repeat_n(E::zero(), len).collect()
}

/// Backpropagates `seed` (the gradient of the root, same length as the root) from `root`
/// and adds the gradients of every leaf it reaches into `grads`.
pub(crate) fn backward<E: Element>(root: &GraphRef<E>, seed: &[E], grads: &mut Gradients<E>) {
    match &root.0 {
        Place::Leaf { id, .. } => grads.accumulate(*id, seed.iter().copied().collect()),
        Place::Node { cell, index } => with_live(cell, *index, |_, graph, root| {
            run(graph, root as usize, seed, grads)
        }),
    }
}

fn run<E: Element>(graph: &Graph<E>, root: usize, seed: &[E], grads: &mut Gradients<E>) {
    let Some(root_node) = graph.nodes.get(root) else {
        return;
    };
    let buffer_len = match root_node.slot {
        Slot::Buffer(at) => at + root_node.len,
        Slot::Leaf(_) => 0,
    };
    let mut buffer = vec![E::zero(); buffer_len];
    let mut leaf_grads: Vec<Option<Arc<[E]>>> = vec![None; graph.leaf_count];
    match root_node.slot {
        Slot::Buffer(at) => copy_seed(&mut buffer[at..], seed),
        Slot::Leaf(n) => leaf_grads[n] = Some(seed.iter().copied().collect()),
    }
    let mut reached = vec![false; root + 1];
    reached[root] = true;
    for index in (0..=root).rev() {
        if !reached[index] {
            continue;
        }
        let node = &graph.nodes[index];
        let at = match (node.slot, &node.op) {
            (Slot::Leaf(n), Op::Leaf(id)) => {
                // Every consumer of this leaf has a higher index, so its sum is complete.
                if let Some(grad) = leaf_grads[n].take() {
                    grads.accumulate(*id, grad);
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
        let (lower, upper) = buffer.split_at_mut(at);
        let mut parents = ParentGrads {
            lower,
            leaf_grads: &mut leaf_grads,
            targets,
        };
        node.op.backward(&upper[..node.len], &mut parents);
    }
}

fn copy_seed<E: Element>(region: &mut [E], seed: &[E]) {
    for (slot, value) in region.iter_mut().zip(seed) {
        *slot = *value;
    }
}

use crate::shape::{ScalarShape, Shape};
use crate::tape::{Backprop, Tape};
use crate::tensor::Tensor;

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
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
        if let Some(root) = self.graph_ref() {
            backward(root, &[E::one()], grads);
        }
    }

    /// The vector-Jacobian product: backpropagates `seed`, the gradient of some scalar
    /// with respect to this tensor, and returns the gradients of the leaves (PyTorch's
    /// `y.backward(v)`). The seed must have this tensor's shape.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    /// let y = &x * 4.0;
    /// let grads = y.backward_with(&Tensor::from_array([0.1, 1.0, 0.0001]));
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![0.4, 4.0, 0.0004]);
    /// ```
    pub fn backward_with<TS: Tape>(self, seed: &Tensor<S, E, TS>) -> Gradients<E>
    where
        T: Backprop,
    {
        let mut grads = Gradients::new();
        if let Some(root) = self.graph_ref() {
            backward(root, seed.as_slice(), &mut grads);
        }
        grads
    }
}
