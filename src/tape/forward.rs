//! Forward mode: tangents pushed through the recorded operations, in creation order,
//! each by its operation's `jvp` rule (beside its other rules in `ops`).
//!
//! Tangents travel in batches: `batch` tangents of a value of `n` elements are `batch`
//! runs of `n`. One sweep with the `n` columns of the identity gives a whole Jacobian;
//! one sweep through a recorded gradient gives a whole Hessian.

use super::backward::{casts_on_path, reachable};
use super::graph::{with_live, Graph, GraphRef, LeafId, Place};
use crate::element::sealed::Seed;
use crate::element::Element;
use crate::ops::Op;

/// The tangents of `target` (of `target_len` elements) for `batch` tangents of the
/// leaves in `seeds` (each `batch` runs of the leaf's length, of the leaf's element
/// type); leaves not listed have a zero tangent. `None` if the target depends on no
/// seeded leaf (its tangent is zero).
///
/// A cast on the path takes its tangent from a sweep of its source's graph, made first,
/// with no graph locked.
pub(crate) fn jvp_sweep<E: Element>(
    target: &GraphRef<E>,
    target_len: usize,
    seeds: &[(LeafId, Seed<'_>)],
    batch: usize,
) -> Option<Vec<E>> {
    let seed_of = |id: LeafId| {
        seeds
            .iter()
            .find(|(leaf, _)| *leaf == id)
            .and_then(|(_, seed)| E::unseed(*seed))
    };
    let (cell, index) = match &target.0 {
        Place::Leaf { id, .. } => return seed_of(*id).map(<[E]>::to_vec),
        Place::Node { cell, index } => (cell, *index),
    };
    // The casts the target depends on, by their distance below it (which merging
    // graphs does not change), with their sources' tangents.
    let sources = with_live(cell, index, |_, graph, root| {
        casts_on_path(graph, root as usize)
    });
    let cast_tangents: Vec<(usize, Option<Vec<E>>)> = sources
        .into_iter()
        .map(|(below, source)| (below, source.tangent(seeds, batch)))
        .collect();
    with_live(cell, index, |_, graph, root| {
        sweep(
            graph,
            root as usize,
            &seed_of,
            &cast_tangents,
            batch,
            target_len,
        )
    })
}

/// The sweep itself, with the casts' tangents already known.
fn sweep<'s, E: Element>(
    graph: &Graph<E>,
    root: usize,
    seed_of: &dyn Fn(LeafId) -> Option<&'s [E]>,
    cast_tangents: &[(usize, Option<Vec<E>>)],
    batch: usize,
    target_len: usize,
) -> Option<Vec<E>> {
    let nodes = graph.nodes.get(..=root).unwrap_or_default();
    let marked = reachable(graph, root);
    // Where each node's tangent lives: a seed (never copied), a cast's tangent, or a
    // region of one buffer holding every computed tangent, each after its inputs'.
    let mut slots = vec![Slot::Zero; nodes.len()];
    let mut total = 0;
    for (index, node) in nodes.iter().enumerate() {
        if !marked[index] {
            continue;
        }
        slots[index] = match &node.op {
            Op::Leaf(leaf) => seed_of(leaf.id).map_or(Slot::Zero, |_| Slot::Seed),
            Op::Cast(_) => cast_tangents
                .iter()
                .position(|(below, tangent)| *below == root - index && tangent.is_some())
                .map_or(Slot::Zero, Slot::Cast),
            // A value that depends on no seeded leaf has a zero tangent.
            _ if node
                .parents
                .iter()
                .flatten()
                .all(|p| slots[*p as usize] == Slot::Zero) =>
            {
                Slot::Zero
            }
            _ => {
                total += node.len * batch;
                Slot::At(total - node.len * batch)
            }
        };
    }
    let mut buffer = vec![E::zero(); total];
    for (index, node) in nodes.iter().enumerate() {
        let Slot::At(at) = slots[index] else { continue };
        let (computed, rest) = buffer.split_at_mut(at);
        let inputs = node.parents.map(|p| {
            let parent = &nodes[p? as usize];
            match slots[p? as usize] {
                Slot::Seed => match &parent.op {
                    Op::Leaf(leaf) => seed_of(leaf.id),
                    _ => None,
                },
                Slot::Cast(k) => cast_tangents[k].1.as_deref(),
                Slot::At(from) => computed.get(from..from + parent.len * batch),
                Slot::Zero => None,
            }
        });
        node.op.jvp(inputs, batch, &mut rest[..node.len * batch]);
    }
    let root_node = nodes.get(root)?;
    let tangent = match slots.get(root)? {
        Slot::At(at) => {
            buffer.drain(..*at);
            buffer
        }
        Slot::Seed => match &root_node.op {
            Op::Leaf(leaf) => seed_of(leaf.id)?.to_vec(),
            _ => return None,
        },
        Slot::Cast(k) => cast_tangents[*k].1.clone()?,
        Slot::Zero => return None,
    };
    (tangent.len() == batch * target_len).then_some(tangent)
}

/// Where a node's tangent is, in a forward sweep.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Zero: the value depends on no seeded leaf (or the target does not depend on it).
    Zero,
    /// The seed of its leaf.
    Seed,
    /// The tangent of cast number `k`, computed before the sweep.
    Cast(usize),
    /// In the buffer of computed tangents, from here.
    At(usize),
}
