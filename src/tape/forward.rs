//! Forward mode: tangents pushed through the recorded operations, in creation order,
//! each by its operation's `jvp` rule (beside its other rules in `ops`).
//!
//! Tangents travel in batches: `batch` tangents of a value of `n` elements are `batch`
//! runs of `n`. One sweep with the `n` columns of the identity gives a whole Jacobian;
//! one sweep through a recorded gradient gives a whole Hessian.

use super::graph::{with_live, GraphRef, LeafId, Place};
use crate::element::Element;
use crate::ops::Op;

/// The tangents of `target` (of `target_len` elements) for `batch` tangents of the
/// leaves in `seeds` (each `batch` runs of the leaf's length); leaves not listed have a
/// zero tangent.
pub(crate) fn jvp_sweep<E: Element>(
    target: &GraphRef<E>,
    target_len: usize,
    seeds: &[(LeafId, &[E])],
    batch: usize,
) -> Vec<E> {
    let seed_of = |id: LeafId| seeds.iter().find(|(leaf, _)| *leaf == id).map(|(_, t)| *t);
    let zero = || vec![E::zero(); batch * target_len];
    match &target.0 {
        Place::Leaf { id, .. } => seed_of(*id).map_or_else(zero, <[E]>::to_vec),
        Place::Node { cell, index } => with_live(cell, *index, |_, graph, root| {
            let root = root as usize;
            let nodes = graph.nodes.get(..=root).unwrap_or_default();
            // Which nodes the target depends on, then where each one's tangent lives:
            // one of the seeds (never copied), or a region of a single buffer holding
            // every computed tangent, each after its inputs'.
            let mut slots = vec![Slot::Unused; nodes.len()];
            if let Some(slot) = slots.get_mut(root) {
                *slot = Slot::OnPath;
            }
            for (index, node) in nodes.iter().enumerate().rev() {
                if slots[index] == Slot::OnPath {
                    for parent in node.parents.iter().flatten() {
                        slots[*parent as usize] = Slot::OnPath;
                    }
                }
            }
            let mut total = 0;
            for (index, node) in nodes.iter().enumerate() {
                if slots[index] != Slot::OnPath {
                    continue;
                }
                slots[index] = match &node.op {
                    Op::Leaf(leaf) => seeds
                        .iter()
                        .position(|(id, _)| *id == leaf.id)
                        .map_or(Slot::Zero, Slot::Seed),
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
                let inputs = node.parents.map(|p| match slots[p? as usize] {
                    Slot::Seed(k) => Some(seeds[k].1),
                    Slot::At(from) => {
                        computed.get(from..from + graph.nodes[p? as usize].len * batch)
                    }
                    _ => None,
                });
                node.op.jvp(inputs, batch, &mut rest[..node.len * batch]);
            }
            match slots.get(root) {
                Some(Slot::At(at)) => {
                    buffer.drain(..*at);
                    buffer
                }
                Some(Slot::Seed(k)) => seeds[*k].1.to_vec(),
                _ => zero(),
            }
        }),
    }
}

/// Where a node's tangent is, in a forward sweep.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Not on a path to the target.
    Unused,
    /// On a path to the target, not placed yet.
    OnPath,
    /// Zero: the value depends on no seeded leaf.
    Zero,
    /// Seed `k`.
    Seed(usize),
    /// In the buffer of computed tangents, from here.
    At(usize),
}
