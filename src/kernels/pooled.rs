//! A graph cell kept for reuse where `Send` is required: without `std` the workspace is
//! a `static` (`crate::workspace`), and a `static` holds only what may be reached from
//! any context.

use alloc::rc::Rc;

use crate::tape::graph::ThreadLocalGraph;

/// An empty graph cell that nothing else refers to, kept for the next graph recorded.
///
/// Only [`PooledGraph::new`] makes one, and only from the one handle to its cell: no
/// other `Rc` or `Weak` to it exists anywhere, and its graph holds nothing (so no `Rc`
/// either). The cell is then owned outright, like a `Box`, and the handle is never
/// cloned while pooled.
pub(crate) struct PooledGraph(Rc<ThreadLocalGraph>);

impl PooledGraph {
    /// Keeps `cell` if it is the only handle to its graph (strong count 1, no weak) and
    /// the graph holds nothing; `None` (and the cell is dropped) otherwise.
    pub(crate) fn new(mut cell: Rc<ThreadLocalGraph>) -> Option<Self> {
        let graph = Rc::get_mut(&mut cell)?;
        graph.holds_nothing().then_some(PooledGraph(cell))
    }

    /// The cell, to record a graph in.
    pub(crate) fn into_cell(self) -> Rc<ThreadLocalGraph> {
        self.0
    }
}

// SAFETY: `Rc` is `!Send` because two handles to one allocation on two threads would
// update its count without atomics, and its contents could be reached from both. A
// `PooledGraph` is made only from a cell whose `Rc::get_mut` succeeded (strong count 1,
// weak count 0: no other handle exists) and whose graph is empty (no node, no saved
// value, not a forwarding entry: it holds no `Rc` or other value of any type, only
// spare capacity). The handle is private and never cloned while pooled, so whichever
// context takes it out owns the cell alone: nothing is shared, as when a `Box` moves.
unsafe impl Send for PooledGraph {}
