//! Forward mode: tangents pushed through the recorded operations, in creation order,
//! each by its operation's `jvp` rule (beside its other rules in `ops`).
//!
//! Tangents travel in batches: `batch` tangents of a value of `n` elements are `batch`
//! runs of `n`. One sweep with the `n` columns of the identity gives a whole Jacobian;
//! one sweep through a recorded gradient gives a whole Hessian.

use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::backward::{casts_on_path, mark_reachable};
use super::graph::{with_live, Graph, GraphRef, LeafId, Node, Place};
use crate::element::sealed::Seed;
use crate::element::Element;
use crate::ops::Op;
use crate::tensor::pool;
use crate::workspace::{self, Scratch};

/// The tangents of `target` (of `target_len` elements) for `batch` tangents of the
/// leaves in `seeds` (each `batch` runs of the leaf's length, of the leaf's element
/// type); leaves not listed have a zero tangent. `None` if the target depends on no
/// seeded leaf (its tangent is zero).
///
/// A cast on the path takes its tangent from a sweep of its source's graph, made first,
/// with no graph locked. The result is a pooled buffer (give it back with
/// `pool::recycle` when it is read and dropped rather than kept in a tensor); the
/// sweep's own working vectors are the thread's backward scratch, so a sweep like the
/// last allocates nothing.
pub(crate) fn jvp_sweep<E: Element>(
    target: &GraphRef<E>,
    target_len: usize,
    seeds: &[(LeafId, Seed<'_>)],
    batch: usize,
) -> Option<Arc<[E]>> {
    let seed_of = |id: LeafId| {
        seeds
            .iter()
            .find(|(leaf, _)| *leaf == id)
            .and_then(|(_, seed)| E::unseed(*seed))
    };
    let (cell, index) = match &target.0 {
        Place::Leaf { id, .. } => {
            return seed_of(*id).map(|seed| pool::collect(seed.len(), seed.iter().copied()))
        }
        Place::Node { cell, index } => (cell, *index),
    };
    let mut scratch = workspace::take_scratch::<E>();
    // Without casts, the sweep runs under the one lock; otherwise the casts the target
    // depends on (by their distance below it, which merging graphs does not change)
    // first have their sources swept, with no graph locked.
    let first = with_live(cell, index, |live, graph, root| {
        if graph.casts == 0 {
            Ok(sweep(
                graph,
                root as usize,
                &seed_of,
                &[],
                batch,
                &mut scratch,
            ))
        } else {
            Err((Rc::clone(live), casts_on_path(graph, root as usize)))
        }
    });
    let tangent = match first {
        Ok(tangent) => tangent,
        Err((live, sources)) => {
            let cast_tangents: Vec<(usize, Option<Vec<E>>)> = sources
                .into_iter()
                .map(|(below, from, source)| (below, source.tangent(&live, from, seeds, batch)))
                .collect();
            with_live(cell, index, |_, graph, root| {
                sweep(
                    graph,
                    root as usize,
                    &seed_of,
                    &cast_tangents,
                    batch,
                    &mut scratch,
                )
            })
        }
    };
    workspace::give_scratch(scratch);
    tangent.filter(|tangent| tangent.len() == batch * target_len)
}

/// The sweep itself, with the casts' tangents already known, in the thread's scratch.
fn sweep<'s, E: Element>(
    graph: &Graph<E>,
    root: usize,
    seed_of: &dyn Fn(LeafId) -> Option<&'s [E]>,
    cast_tangents: &[(usize, Option<Vec<E>>)],
    batch: usize,
    scratch: &mut Scratch<E>,
) -> Option<Arc<[E]>> {
    let nodes = graph.nodes.get(..=root).unwrap_or_default();
    mark_reachable(graph, root, &mut scratch.reached);
    let (marked, slots, buffer) = (
        &scratch.reached,
        &mut scratch.tangent_slots,
        &mut scratch.buffer,
    );
    // Where each node's tangent lives: a seed (never copied), a cast's tangent, or a
    // region of one buffer holding every computed tangent, each after its inputs'.
    slots.clear();
    slots.resize(nodes.len(), TangentSlot::Zero);
    let mut total = 0;
    for (index, node) in nodes.iter().enumerate() {
        if !marked[index] {
            continue;
        }
        slots[index] = match &node.op {
            Op::Leaf(leaf) => seed_of(leaf.id).map_or(TangentSlot::Zero, |_| TangentSlot::Seed),
            Op::Cast(_) => cast_tangents
                .iter()
                .position(|(below, tangent)| *below == root - index && tangent.is_some())
                .map_or(TangentSlot::Zero, TangentSlot::Cast),
            // A value that depends on no seeded leaf has a zero tangent.
            _ if node
                .parents
                .iter()
                .flatten()
                .all(|p| slots[*p as usize] == TangentSlot::Zero) =>
            {
                TangentSlot::Zero
            }
            _ => {
                total += node.len * batch;
                TangentSlot::At(total - node.len * batch)
            }
        };
    }
    buffer.clear();
    buffer.resize(total, E::zero());
    let slots = &*slots;
    for (index, node) in nodes.iter().enumerate() {
        let TangentSlot::At(at) = slots[index] else {
            continue;
        };
        let (computed, rest) = buffer.split_at_mut(at);
        let input = |p: Option<u32>| {
            tangent_of(
                nodes,
                slots,
                seed_of,
                cast_tangents,
                computed,
                p? as usize,
                batch,
            )
        };
        let inputs = [input(node.parents[0]), input(node.parents[1])];
        node.op.jvp(
            graph.saved_of(node),
            inputs,
            batch,
            &mut rest[..node.len * batch],
        );
    }
    let root_len = nodes.get(root)?.len * batch;
    let tangent = tangent_of(nodes, slots, seed_of, cast_tangents, buffer, root, batch)?;
    Some(pool::collect(root_len, tangent.iter().copied()))
}

/// The tangent of node `index`, wherever its slot says it is (`None`: zero).
fn tangent_of<'a, 's: 'a, E: Element>(
    nodes: &'a [Node<E>],
    slots: &[TangentSlot],
    seed_of: &dyn Fn(LeafId) -> Option<&'s [E]>,
    cast_tangents: &'a [(usize, Option<Vec<E>>)],
    computed: &'a [E],
    index: usize,
    batch: usize,
) -> Option<&'a [E]> {
    let node = nodes.get(index)?;
    match slots.get(index)? {
        TangentSlot::Seed => match &node.op {
            Op::Leaf(leaf) => seed_of(leaf.id),
            _ => None,
        },
        TangentSlot::Cast(k) => cast_tangents.get(*k)?.1.as_deref(),
        TangentSlot::At(from) => computed.get(*from..from + node.len * batch),
        TangentSlot::Zero => None,
    }
}

/// Where a node's tangent is, in a forward sweep.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TangentSlot {
    /// Zero: the value depends on no seeded leaf (or the target does not depend on it).
    Zero,
    /// The seed of its leaf.
    Seed,
    /// The tangent of cast number `k`, computed before the sweep.
    Cast(usize),
    /// In the buffer of computed tangents, from here.
    At(usize),
}
