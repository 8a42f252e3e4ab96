//! Forward mode: tangents pushed through the recorded operations, in creation order,
//! each by its operation's `jvp` rule (beside its other rules in `ops`).
//!
//! Tangents travel in batches: `batch` tangents of a value of `n` elements are `batch`
//! runs of `n`. One sweep with the `n` columns of the identity gives a whole Jacobian;
//! one sweep through a recorded gradient gives a whole Hessian.

use super::backward::reachable;
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
            let on_path = reachable(graph, root);
            let mut tangents: Vec<Option<Vec<E>>> = vec![None; root + 1];
            for (index, node) in graph.nodes.iter().enumerate().take(root + 1) {
                if !on_path[index] {
                    continue;
                }
                tangents[index] = match &node.op {
                    Op::Leaf(leaf) => seed_of(leaf.id).map(<[E]>::to_vec),
                    op => {
                        let inputs = node
                            .parents
                            .map(|p| p.and_then(|p| tangents[p as usize].as_deref()));
                        // A value that depends on no seeded leaf has a zero tangent.
                        (inputs[0].is_some() || inputs[1].is_some())
                            .then(|| op.jvp(inputs, batch, node.len))
                    }
                };
            }
            tangents[root].take().unwrap_or_else(zero)
        }),
    }
}
