//! The reverse graph: one arena of nodes per graph, shared by the tensors computed in it.
//!
//! Creation order is a topological order, so the backward pass is a reverse loop over a
//! flat gradient buffer: no hashing, no sorting, no recursion, and dropping a graph of a
//! million nodes frees one `Vec`.
//!
//! Two rules keep graphs small and independent:
//! - A leaf (`.track()`) belongs to no graph: it is an id. The first operation using it
//!   records a leaf node in that operation's graph, so a long-lived parameter does not
//!   keep one graph growing across training steps.
//! - An operation combining tensors of two graphs appends the smaller graph to the larger
//!   one and leaves a forwarding entry behind, so older handles still resolve. A node
//!   moves at most log2(n) times.
//!
//! A graph holds values of both element types, in an arena per type: a cast starts no
//! graph of its own but records its result in the other arena of its source's graph, and
//! refers to its source by index. No graph ever holds a handle to another, so graphs form
//! no reference cycles: casting there and back and merging the result with the value it
//! came from frees everything once the user's handles are gone.
//!
//! A graph belongs to the thread that records it: handles reach it through a
//! non-atomic `Rc` and borrow it through a `RefCell`, so recording takes no lock and no
//! atomic reference count, and a `Tracked` tensor is neither `Send` nor `Sync`. Values
//! and gradients travel between threads; graphs do not (`crate::parallel`).
//!
//! The trade-off: one live handle keeps its whole graph alive, dead branches included.
//! `detach()` releases it.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::{RefCell, RefMut};
use core::marker::PhantomData;
use core::num::NonZeroU64;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::element::Element;
use crate::ops::cast::CastOp;
use crate::ops::{LeafNode, Op};
use crate::tensor::storage::Storage;
use crate::workspace::PooledGraph;

/// Identifies a leaf made by `.track()`; gradients are stored under it.
///
/// Never zero, so that [`Place`] can keep its variant in the id's unused value and a
/// [`GraphRef`] stays three words with a leaf's name in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct LeafId(NonZeroU64);

impl LeafId {
    /// A fresh id, never handed out before in this process.
    ///
    /// An id is a block number (high 32 bits) and a place in the block (low 32 bits).
    /// Each thread (without `std`: the program) takes a block of 2^32 ids from one
    /// process-wide counter of blocks, a 32-bit atomic (targets such as
    /// `thumbv7em-none-eabihf` have no 64-bit atomics), and hands its ids out from the
    /// workspace's block (`workspace::with_leaf_block`) without any further atomic, so
    /// tracking a value (every parameter, every training step) costs no locked
    /// instruction with `std` and one uncontended `try_lock` without.
    pub(crate) fn fresh() -> Self {
        const BLOCK: u64 = 1 << 32;
        static NEXT_BLOCK: AtomicU32 = AtomicU32::new(1);
        let new_block = || {
            let block = u64::from(NEXT_BLOCK.fetch_add(1, Ordering::Relaxed));
            (block * BLOCK, block * BLOCK + BLOCK)
        };
        let id = crate::workspace::with_leaf_block(|(next, end)| {
            if *next == *end {
                (*next, *end) = new_block();
            }
            *next += 1;
            *next - 1
        })
        // While the thread is being torn down (or, without `std`, from a context that
        // interrupted the one taking an id): the first id of a block of its own.
        .unwrap_or_else(|| new_block().0);
        // Block 0 is never handed out (the counter starts at 1) until 2^32 blocks have
        // been taken, so an id is never zero in practice; `MAX` keeps this total.
        LeafId(NonZeroU64::new(id).unwrap_or(NonZeroU64::MAX))
    }

    /// An id for a handle that is being dropped, never looked up.
    const PLACEHOLDER: Self = LeafId(NonZeroU64::MAX);
}

/// Where a `Tracked` tensor sits: a leaf id, or a node of a graph. Opaque.
#[derive(Clone)]
pub struct GraphRef<E: Element>(pub(crate) Place, pub(crate) PhantomData<E>);

/// The two kinds of [`GraphRef`].
#[derive(Clone)]
pub(crate) enum Place {
    /// A leaf made by `.track()`, in no graph yet; `name` labels it in pictures
    /// (`Tensor::named`), carried into the leaf node of each use.
    Leaf {
        id: LeafId,
        len: usize,
        name: Option<Arc<String>>,
    },
    /// The result of an operation: node `index` of the `E` arena of the graph in `cell`
    /// (or of the graph that graph was moved into).
    Node {
        cell: Rc<ThreadLocalGraph>,
        index: u32,
    },
}

impl<E: Element> GraphRef<E> {
    /// A new leaf of `len` elements.
    pub(crate) fn new_leaf(len: usize) -> Self {
        Self::leaf_with_id(LeafId::fresh(), len)
    }

    /// A leaf of `len` elements under an existing id: a parameter tracked again, whose
    /// uses must all add into the one gradient stored under `id`.
    pub(crate) fn leaf_with_id(id: LeafId, len: usize) -> Self {
        GraphRef(
            Place::Leaf {
                id,
                len,
                name: None,
            },
            PhantomData,
        )
    }

    /// The same leaf under `name` (for pictures); a node is returned unchanged, since
    /// only leaves carry names.
    pub(crate) fn with_name(&self, name: String) -> Self {
        match &self.0 {
            Place::Leaf { id, len, .. } => GraphRef(
                Place::Leaf {
                    id: *id,
                    len: *len,
                    name: Some(Arc::new(name)),
                },
                PhantomData,
            ),
            Place::Node { .. } => self.clone(),
        }
    }

    /// Node `index` of the `E` arena of the graph in `cell`.
    pub(crate) fn node(cell: Rc<ThreadLocalGraph>, index: u32) -> Self {
        GraphRef(Place::Node { cell, index }, PhantomData)
    }

    /// The leaf id, if this is a leaf.
    pub(crate) fn leaf_id(&self) -> Option<LeafId> {
        match &self.0 {
            Place::Leaf { id, .. } => Some(*id),
            Place::Node { .. } => None,
        }
    }

    /// The name PyTorch gives the operation that produced this value (`MulBackward0`),
    /// or `None` for a leaf.
    pub(crate) fn op_name(&self) -> Option<&'static str> {
        match &self.0 {
            Place::Leaf { .. } => None,
            Place::Node { cell, index } => {
                Some(with_live::<E, _>(cell, *index, |_, graph, index| {
                    graph.node(index).map_or("", |node| node.op.name())
                }))
            }
        }
    }
}

/// A tracked value as an operation receives it: where it sits, its data and its
/// dimensions (a leaf's node keeps the last two).
#[derive(Clone, Copy)]
pub(crate) struct Input<'a, E: Element> {
    pub(crate) place: &'a GraphRef<E>,
    pub(crate) data: &'a Storage<E>,
    pub(crate) dims: &'static [usize],
}

/// A graph, or a forwarding entry to the graph it was moved into.
pub struct ThreadLocalGraph {
    state: RefCell<CellState>,
}

/// What a [`ThreadLocalGraph`] holds.
enum CellState {
    Live(Graphs),
    /// This graph's nodes now sit in `into`, each arena's from its offset (indexed by
    /// `Arena::INDEX`); `spare` is the emptied arenas, kept with their capacity for when
    /// the cell is reused.
    Moved {
        into: Rc<ThreadLocalGraph>,
        offsets: [u32; 2],
        spare: Graphs,
    },
}

/// One graph: an arena per element type. A cast's result sits in the arena of its type
/// and names its source by index in the other arena (or in the same one, for a cast to
/// the same type).
#[derive(Default)]
pub struct Graphs {
    pub(crate) f32: Graph<f32>,
    pub(crate) f64: Graph<f64>,
}

impl Graphs {
    fn clear(&mut self) {
        self.f32.clear();
        self.f64.clear();
    }

    fn len(&self) -> usize {
        self.f32.nodes.len() + self.f64.nodes.len()
    }

    fn holds_nothing(&self) -> bool {
        self.f32.nodes.is_empty()
            && self.f32.saved.is_empty()
            && self.f64.nodes.is_empty()
            && self.f64.saved.is_empty()
    }

    /// Moves `other`'s nodes here, arena by arena, and leaves `other` empty with its
    /// capacity; returns the offsets of its nodes in each arena.
    fn append(&mut self, other: &mut Graphs) -> [u32; 2] {
        let offsets = [
            index_u32(self.f32.nodes.len()),
            index_u32(self.f64.nodes.len()),
        ];
        self.f32.append(&mut other.f32, offsets);
        self.f64.append(&mut other.f64, offsets);
        offsets
    }
}

impl ThreadLocalGraph {
    fn new(graphs: Graphs) -> Rc<Self> {
        Rc::new(ThreadLocalGraph {
            state: RefCell::new(CellState::Live(graphs)),
        })
    }

    /// Whether the graph holds nothing: live (not a forwarding entry, which holds the
    /// `Rc` of its destination) with no node and no saved value in either arena. Only
    /// capacity is left, which is what a `PooledGraph` may carry between contexts.
    pub(crate) fn holds_nothing(&mut self) -> bool {
        match self.state.get_mut() {
            CellState::Live(graphs) => graphs.holds_nothing(),
            CellState::Moved { .. } => false,
        }
    }

    /// The graph, borrowed for one step of recording or one pass. Every pass releases it
    /// before it crosses into other code that may record (a cast's source, a custom
    /// operation's recorded rule), so no borrow is ever taken twice.
    fn lock(&self) -> RefMut<'_, CellState> {
        self.state.borrow_mut()
    }

    /// An empty graph: one the thread used before and gave back (its arenas keep their
    /// capacity, so recording a step like the last allocates nothing), or a new one.
    /// Cells are kept in the workspace of the element type that released them.
    fn empty<E: Element>() -> Rc<Self> {
        let reused = crate::workspace::with(|w: &crate::workspace::Workspace<E>| {
            w.graphs.take().and_then(|mut cells| cells.pop())
        })
        .flatten();
        reused.map_or_else(
            || ThreadLocalGraph::new(Graphs::default()),
            PooledGraph::into_cell,
        )
    }

    /// Keeps `cell`, the last handle to a graph, for the next graph this thread records:
    /// its nodes' saved values go to the buffer pool, its arenas keep their capacity. A
    /// forwarding entry becomes an empty graph again, with the arenas it had before its
    /// nodes moved (so that merging graphs, as `f(x) + x * x` does, costs no allocation
    /// in the next step).
    fn give_back<E: Element>(cell: Rc<Self>) {
        let mut next = Some(cell);
        while let Some(mut cell) = next.take() {
            // The caller held the last handle, so the state is reached without a borrow.
            let Some(cell_state) = Rc::get_mut(&mut cell) else {
                return;
            };
            let state = cell_state.state.get_mut();
            match state {
                CellState::Live(graphs) => graphs.clear(),
                CellState::Moved { spare, .. } => {
                    let spare = core::mem::take(spare);
                    let moved = core::mem::replace(state, CellState::Live(spare));
                    // A forwarding entry holds the graph its nodes moved into; when it
                    // is that graph's last holder (the graph's own handles went first),
                    // that graph is given back too, rather than freed and allocated
                    // again in the next step.
                    if let CellState::Moved { into, .. } = moved {
                        if Rc::strong_count(&into) == 1 {
                            next = Some(into);
                        }
                    }
                }
            }
            let Some(pooled) = PooledGraph::new(cell) else {
                continue;
            };
            let _ = crate::workspace::with(|w: &crate::workspace::Workspace<E>| {
                if let Some(mut cells) = w.graphs.take() {
                    if cells.len() < MAX_POOLED_GRAPHS {
                        cells.push(pooled);
                    }
                }
            });
        }
    }
}

/// Graphs kept per thread for reuse, at most.
const MAX_POOLED_GRAPHS: usize = 16;

impl<E: Element> Drop for GraphRef<E> {
    /// The last handle to a graph gives it back for reuse (see `ThreadLocalGraph::give_back`).
    #[inline]
    fn drop(&mut self) {
        // Only the last handle has work to do (give the graph back); the others are one
        // non-atomic count, dropped in place.
        if let Place::Node { cell, .. } = &self.0 {
            if Rc::strong_count(cell) == 1 {
                (E::compiled().release)(self);
            }
        }
    }
}

impl<E: Element> GraphRef<E> {
    /// What dropping a node's handle does: lets go of its graph, giving the graph back
    /// for reuse if this was the last handle. Reached through `compiled`, so that a
    /// user program does not compile the graph's clean-up at every drop.
    pub(crate) fn release(&mut self) {
        let placeholder = Place::Leaf {
            id: LeafId::PLACEHOLDER,
            len: 0,
            name: None,
        };
        let Place::Node { cell, .. } = core::mem::replace(&mut self.0, placeholder) else {
            return;
        };
        // Only this handle holds the cell (and only this thread has handles to it).
        if Rc::strong_count(&cell) == 1 {
            ThreadLocalGraph::give_back::<E>(cell);
        }
    }
}

/// Where a node's gradient accumulates during backward.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slot {
    /// A region of the flat buffer, starting here.
    Buffer(usize),
    /// A leaf's own gradient vector, with this number.
    Leaf(usize),
}

/// One recorded value: the operation that produced it and its inputs.
pub(crate) struct Node<E: Element> {
    pub(crate) op: Op<E>,
    /// The inputs that are tracked, as node indices in this graph; untracked inputs are
    /// `None` and receive no gradient.
    pub(crate) parents: [Option<u32>; 2],
    pub(crate) slot: Slot,
    pub(crate) len: usize,
    /// Where the values the operation saved for its rules start in the graph's side
    /// table, and how many there are (the op record names them by [`Saved`] index).
    saved_at: u32,
    saved_count: u32,
    /// Whether every element of the output was finite when it was computed (read by
    /// the checked backward to find where a NaN or infinity first appeared).
    pub(crate) finite: bool,
}

/// A value an operation saved for its rules: its place among the node's saved values,
/// which sit in the graph's side table rather than in the op record, so that a node
/// stays small whatever it saved (the backward loop walks nodes, not values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Saved(u32);

impl Saved {
    /// The saved value's elements, among `saved` (the node's saved values); empty if
    /// `saved` does not hold it, which a record built by [`Saver`] never allows.
    #[inline]
    pub(crate) fn of<E: Element>(self, saved: &[Storage<E>]) -> &[E] {
        saved.get(self.0 as usize).map_or(&[], |value| &**value)
    }

    /// The saved value itself (for the recorded rules, which make it a value of the
    /// graph again).
    #[inline]
    pub(crate) fn storage<E: Element>(self, saved: &[Storage<E>]) -> Storage<E> {
        saved
            .get(self.0 as usize)
            .cloned()
            .unwrap_or_else(Storage::empty)
    }
}

/// What an operation's record is built with: it saves values into the graph's side
/// table (a small value is copied, a large one's buffer counted) and gets [`Saved`]
/// handles for them.
pub(crate) struct Saver<'g, E: Element> {
    saved: &'g mut Vec<Storage<E>>,
    start: usize,
    /// The operation's result.
    output: &'g Storage<E>,
}

impl<E: Element> Saver<'_, E> {
    /// Saves `value` for the operation's rules.
    #[inline]
    pub(crate) fn save(&mut self, value: &Storage<E>) -> Saved {
        self.saved.push(value.clone());
        Saved(index_u32(self.saved.len() - 1 - self.start))
    }

    /// Saves `value`, which the operation computed for its rules alone (moved, not
    /// copied).
    #[inline]
    pub(crate) fn keep(&mut self, value: Storage<E>) -> Saved {
        self.saved.push(value);
        Saved(index_u32(self.saved.len() - 1 - self.start))
    }

    /// Saves the operation's result for its rules.
    #[inline]
    pub(crate) fn save_output(&mut self) -> Saved {
        let output = self.output;
        self.save(output)
    }
}

impl<E: Element> Node<E> {
    /// Where this node's saved values sit in the graph's side table.
    #[inline]
    pub(crate) fn saved_range(&self) -> core::ops::Range<usize> {
        let at = self.saved_at as usize;
        at..at + self.saved_count as usize
    }
}

/// What an operation produced, as its node records it.
#[derive(Clone, Copy)]
pub(crate) struct Produced<'v, E: Element> {
    pub(crate) value: &'v Storage<E>,
    pub(crate) len: usize,
    pub(crate) finite: bool,
}

/// The arena: nodes in creation (topological) order, and the values their operations
/// saved, in a side table in the same order.
#[derive(Default)]
pub struct Graph<E: Element> {
    pub(crate) nodes: Vec<Node<E>>,
    pub(crate) saved: Vec<Storage<E>>,
    buffer_len: usize,
    pub(crate) leaf_count: usize,
    /// How many nodes are casts from a graph of the other element type: when none,
    /// the passes skip looking for them.
    pub(crate) casts: usize,
}

impl<E: Element> Drop for Graph<E> {
    fn drop(&mut self) {
        self.clear();
    }
}

impl<E: Element> Graph<E> {
    /// Empties the arena, keeping its capacity; every saved value goes to the buffer
    /// pool. One loop, however many nodes: no recursion.
    fn clear(&mut self) {
        for node in self.nodes.drain(..) {
            node.op.recycle();
        }
        for value in self.saved.drain(..) {
            value.recycle();
        }
        self.buffer_len = 0;
        self.leaf_count = 0;
        self.casts = 0;
    }

    /// Node `index`'s saved values.
    #[inline]
    pub(crate) fn saved_of(&self, node: &Node<E>) -> &[Storage<E>] {
        self.saved.get(node.saved_range()).unwrap_or_default()
    }

    pub(crate) fn node(&self, index: u32) -> Option<&Node<E>> {
        self.nodes.get(index as usize)
    }

    /// Records the operation `make` builds (saving values through the [`Saver`] it is
    /// given), with its tracked inputs; returns its index.
    fn push(
        &mut self,
        make: impl FnOnce(&mut Saver<'_, E>) -> Op<E>,
        parents: [Option<u32>; 2],
        out: Produced<'_, E>,
    ) -> u32 {
        let saved_at = self.saved.len();
        let op = make(&mut Saver {
            saved: &mut self.saved,
            start: saved_at,
            output: out.value,
        });
        let saved_count = self.saved.len() - saved_at;
        let len = out.len;
        if let Op::Cast(_) = op {
            self.casts += 1;
        }
        let slot = if let Op::Leaf(_) = op {
            self.leaf_count += 1;
            Slot::Leaf(self.leaf_count - 1)
        } else {
            self.buffer_len += len;
            Slot::Buffer(self.buffer_len - len)
        };
        self.nodes.push(Node {
            op,
            parents,
            slot,
            len,
            saved_at: index_u32(saved_at),
            saved_count: index_u32(saved_count),
            finite: out.finite,
        });
        index_u32(self.nodes.len() - 1)
    }

    /// Moves `other`'s nodes here, shifting their indices and slots, and leaves `other`
    /// empty with its capacity. `offsets` are where `other`'s graph starts in each arena
    /// of this one: a node's parents shift by its own arena's, a cast's source by its
    /// source's arena's.
    fn append(&mut self, other: &mut Graph<E>, offsets: [u32; 2]) {
        let node_offset = index_u32(self.nodes.len());
        let saved_offset = index_u32(self.saved.len());
        let (buffer_offset, leaf_offset) = (self.buffer_len, self.leaf_count);
        self.saved.append(&mut other.saved);
        self.nodes.extend(other.nodes.drain(..).map(|mut node| {
            node.saved_at += saved_offset;
            node.parents = node.parents.map(|p| p.map(|p| p + node_offset));
            node.slot = match node.slot {
                Slot::Buffer(at) => Slot::Buffer(at + buffer_offset),
                Slot::Leaf(n) => Slot::Leaf(n + leaf_offset),
            };
            if let Op::Cast(cast) = &mut node.op {
                cast.from += offsets[cast.from_arena];
            }
            node
        }));
        self.buffer_len += other.buffer_len;
        self.leaf_count += other.leaf_count;
        self.casts += other.casts;
        other.clear();
    }
}

/// Node indices are u32 to keep nodes small; 4 billion operations in one graph would
/// exhaust memory long before this saturates, so saturating keeps it panic-free.
fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// Runs `f` on the live graph that node `index` of the `E` arena of `start` now belongs
/// to, following forwarding entries, with the graph locked: `f` gets the live cell, the
/// `E` arena and the node's index there.
pub(crate) fn with_live<E: Element, R>(
    start: &Rc<ThreadLocalGraph>,
    index: u32,
    f: impl FnOnce(&Rc<ThreadLocalGraph>, &mut Graph<E>, u32) -> R,
) -> R {
    with_live_graphs(start, |cell, graphs, offsets| {
        f(cell, E::arena_mut(graphs), index + offsets[E::ARENA])
    })
}

/// Runs `f` on the live graph that `start` now forwards to, locked, with both arenas
/// and how far `start`'s nodes moved in each.
pub(crate) fn with_live_graphs<R>(
    start: &Rc<ThreadLocalGraph>,
    f: impl FnOnce(&Rc<ThreadLocalGraph>, &mut Graphs, [u32; 2]) -> R,
) -> R {
    let mut forwarded: Option<Rc<ThreadLocalGraph>> = None;
    let mut moved = [0u32; 2];
    loop {
        let cell = forwarded.as_ref().unwrap_or(start);
        let mut guard = cell.lock();
        match &mut *guard {
            CellState::Live(graphs) => return f(cell, graphs, moved),
            CellState::Moved { into, offsets, .. } => {
                let next = Rc::clone(into);
                moved = [moved[0] + offsets[0], moved[1] + offsets[1]];
                drop(guard);
                forwarded = Some(next);
            }
        }
    }
}

/// The live cell and index that a node handle resolves to now.
pub(crate) fn resolve<E: Element>(
    cell: &Rc<ThreadLocalGraph>,
    index: u32,
) -> (Rc<ThreadLocalGraph>, u32) {
    with_live::<E, _>(cell, index, |cell, _, index| (Rc::clone(cell), index))
}

/// Records `op`, producing `out` from `inputs` (`None`: not tracked), and
/// returns the handle of its result.
pub(crate) fn record<E: Element>(
    op: impl FnOnce(&mut Saver<'_, E>) -> Op<E>,
    out: Produced<'_, E>,
    inputs: [Option<Input<'_, E>>; 2],
) -> GraphRef<E> {
    // The most common case first: one tracked input, a node of a live graph (a chain of
    // operations on one value, with constants).
    if let [Some(single), None] | [None, Some(single)] = &inputs {
        if let Place::Node { cell, index } = &single.place.0 {
            let mut state = cell.lock();
            if let CellState::Live(graphs) = &mut *state {
                let parents = if inputs[0].is_some() {
                    [Some(*index), None]
                } else {
                    [None, Some(*index)]
                };
                let at = E::arena_mut(graphs).push(op, parents, out);
                drop(state);
                return GraphRef::node(Rc::clone(cell), at);
            }
        }
    }
    let places = inputs;
    let mut nodes = places.iter().flatten().filter_map(|p| match &p.place.0 {
        Place::Node { cell, index } => Some((cell, *index)),
        Place::Leaf { .. } => None,
    });
    match (nodes.next(), nodes.next()) {
        (None, _) => {
            let mut cell = ThreadLocalGraph::empty::<E>();
            let index = match Rc::get_mut(&mut cell) {
                // A new or given-back cell has no other handle: no borrow flag to set.
                Some(fresh) => {
                    let state = fresh.state.get_mut();
                    push_with_inputs(E::arena_mut(first_graphs(state)), op, out, places, [0, 0])
                }
                None => push_with_inputs(
                    E::arena_mut(first_graphs(&mut cell.lock())),
                    op,
                    out,
                    places,
                    [0, 0],
                ),
            };
            GraphRef::node(cell, index)
        }
        (Some((cell, index)), None) => with_live(cell, index, |cell, graph, index| {
            let index = push_with_inputs(graph, op, out, places, [index, index]);
            GraphRef::node(Rc::clone(cell), index)
        }),
        (Some((a_cell, a_index)), Some((b_cell, b_index))) if Rc::ptr_eq(a_cell, b_cell) => {
            with_live(a_cell, a_index, |cell, graph, a| {
                // Both handles name the same cell, so forwarding shifted both equally.
                let b = b_index + (a - a_index);
                let index = push_with_inputs(graph, op, out, places, [a, b]);
                GraphRef::node(Rc::clone(cell), index)
            })
        }
        (Some(a), Some(b)) => record_across(op, out, places, a, b),
    }
}

/// Records a cast of `input` (a value of element type `F`): `op` goes into the `E`
/// arena of `input`'s graph (a new graph if `input` is a leaf, whose leaf node is
/// recorded in the `F` arena first), naming its source by index there.
pub(crate) fn record_cast<F: Element, E: Element>(
    input: Input<'_, F>,
    mut op: CastOp<E>,
    out: Produced<'_, E>,
) -> GraphRef<E> {
    let push = |cell: &Rc<ThreadLocalGraph>, graphs: &mut Graphs, from: u32| {
        op.from = from;
        op.from_arena = F::ARENA;
        let index = E::arena_mut(graphs).push(|_| Op::Cast(op), [None, None], out);
        GraphRef::node(Rc::clone(cell), index)
    };
    match &input.place.0 {
        Place::Node { cell, index } => with_live_graphs(cell, |cell, graphs, moved| {
            push(cell, graphs, index + moved[F::ARENA])
        }),
        Place::Leaf { .. } => {
            let cell = ThreadLocalGraph::empty::<E>();
            let mut state = cell.lock();
            let graphs = first_graphs(&mut state);
            let from = push_leaf(F::arena_mut(graphs), input);
            let result = push(&cell, graphs, from);
            drop(state);
            result
        }
    }
}

/// The graphs of a cell about to receive its first node (a forwarding entry, which a
/// given-back cell never is, is made a live graph first).
fn first_graphs(state: &mut CellState) -> &mut Graphs {
    if let CellState::Moved { spare, .. } = state {
        let spare = core::mem::take(spare);
        *state = CellState::Live(spare);
    }
    match state {
        CellState::Live(graphs) => graphs,
        // Made live just above.
        CellState::Moved { spare, .. } => spare,
    }
}

/// Borrows two distinct cells at once (one thread owns both, so the order is free).
fn lock_pair<'c>(
    a: &'c Rc<ThreadLocalGraph>,
    b: &'c Rc<ThreadLocalGraph>,
) -> (RefMut<'c, CellState>, RefMut<'c, CellState>) {
    (a.lock(), b.lock())
}

/// Appends the smaller of two live graphs to the larger and leaves a forwarding entry in
/// the smaller's cell. Each side is a cell's state, the cell and a node index in its `E`
/// arena; returns the `E` arena of the graph that holds both, the two indices there, and
/// whether `a` moved. `None` (nothing changed) unless both are live.
fn merge_locked<'g, E: Element>(
    a: (&'g mut CellState, &Rc<ThreadLocalGraph>, u32),
    b: (&'g mut CellState, &Rc<ThreadLocalGraph>, u32),
) -> Option<(&'g mut Graph<E>, [u32; 2], bool)> {
    let (a_len, b_len) = (live_len(a.0)?, live_len(b.0)?);
    // `a` stays in place on a tie: which graph moves must not depend on where the cells
    // sit in memory, since node order is the order gradients are summed in.
    let a_moves = a_len < b_len;
    let (a_index, b_index) = (a.2, b.2);
    let ((larger, larger_cell, _), (smaller, _, _)) = if a_moves { (b, a) } else { (a, b) };
    let (CellState::Live(larger_graphs), CellState::Live(smaller_graphs)) = (larger, &mut *smaller)
    else {
        return None;
    };
    let offsets = larger_graphs.append(smaller_graphs);
    *smaller = CellState::Moved {
        into: Rc::clone(larger_cell),
        offsets,
        spare: core::mem::take(smaller_graphs),
    };
    let offset = offsets[E::ARENA];
    let indices = if a_moves {
        [a_index + offset, b_index]
    } else {
        [a_index, b_index + offset]
    };
    Some((E::arena_mut(larger_graphs), indices, a_moves))
}

/// The path of [`record`] for two tracked inputs recorded in different cells: both
/// cells are usually live (two graphs started from leaves, as in `f(x) + x * x`), and
/// are merged, both borrowed at once; otherwise they are resolved first, and may turn
/// out to be one graph by now.
fn record_across<E: Element>(
    op: impl FnOnce(&mut Saver<'_, E>) -> Op<E>,
    out: Produced<'_, E>,
    places: [Option<Input<'_, E>>; 2],
    a: (&Rc<ThreadLocalGraph>, u32),
    b: (&Rc<ThreadLocalGraph>, u32),
) -> GraphRef<E> {
    {
        let (mut a_guard, mut b_guard) = lock_pair(a.0, b.0);
        if let Some((graph, indices, a_moved)) =
            merge_locked::<E>((&mut *a_guard, a.0, a.1), (&mut *b_guard, b.0, b.1))
        {
            let index = push_with_inputs(graph, op, out, places, indices);
            let larger = if a_moved { b.0 } else { a.0 };
            return GraphRef::node(Rc::clone(larger), index);
        }
    }
    record_resolved(op, out, places, a, b)
}

/// [`record_across`] when a cell was a forwarding entry: resolves both inputs to live
/// graphs and records there, merging if they are still two.
fn record_resolved<E: Element>(
    op: impl FnOnce(&mut Saver<'_, E>) -> Op<E>,
    out: Produced<'_, E>,
    places: [Option<Input<'_, E>>; 2],
    a: (&Rc<ThreadLocalGraph>, u32),
    b: (&Rc<ThreadLocalGraph>, u32),
) -> GraphRef<E> {
    loop {
        let (a_cell, a_index) = resolve::<E>(a.0, a.1);
        let (b_cell, b_index) = resolve::<E>(b.0, b.1);
        if Rc::ptr_eq(&a_cell, &b_cell) {
            let mut guard = a_cell.lock();
            if let CellState::Live(graphs) = &mut *guard {
                let graph = E::arena_mut(graphs);
                let index = push_with_inputs(graph, op, out, places, [a_index, b_index]);
                drop(guard);
                return GraphRef::node(a_cell, index);
            }
            continue;
        }
        let (mut a_guard, mut b_guard) = lock_pair(&a_cell, &b_cell);
        let Some((graph, indices, a_moved)) = merge_locked::<E>(
            (&mut *a_guard, &a_cell, a_index),
            (&mut *b_guard, &b_cell, b_index),
        ) else {
            // Not reached: both were resolved to live graphs just above, and nothing
            // else runs on this thread in between.
            continue;
        };
        let index = push_with_inputs(graph, op, out, places, indices);
        drop((a_guard, b_guard));
        return GraphRef::node(if a_moved { b_cell } else { a_cell }, index);
    }
}

/// The node count of a live graph (both arenas), `None` for a forwarding entry.
fn live_len(state: &CellState) -> Option<usize> {
    match state {
        CellState::Live(graphs) => Some(graphs.len()),
        CellState::Moved { .. } => None,
    }
}

/// Records a use of the leaf `input` as a node of `graph`; returns its index.
fn push_leaf<E: Element>(graph: &mut Graph<E>, input: Input<'_, E>) -> u32 {
    let (id, len, name) = match &input.place.0 {
        Place::Leaf { id, len, name } => (*id, *len, name.clone()),
        Place::Node { .. } => (LeafId::PLACEHOLDER, input.data.len(), None),
    };
    graph.push(
        |saver| {
            Op::Leaf(LeafNode {
                id,
                data: saver.save(input.data),
                dims: input.dims,
                name,
            })
        },
        [None, None],
        // A leaf's data is scanned only by the checked backward, when needed.
        Produced {
            value: input.data,
            len,
            finite: true,
        },
    )
}

/// `input` as a node of a graph: a leaf is given a graph of its own holding only its
/// node, a node stays as it is. An operation that goes on using a value (a
/// factorisation kept for later solves) records those uses in that one graph, where a
/// leaf would start a graph at each use.
pub(crate) fn as_node<E: Element>(input: Input<'_, E>) -> GraphRef<E> {
    if let Place::Node { .. } = &input.place.0 {
        return input.place.clone();
    }
    let cell = ThreadLocalGraph::empty::<E>();
    let mut state = cell.lock();
    let index = push_leaf(E::arena_mut(first_graphs(&mut state)), input);
    drop(state);
    GraphRef::node(cell, index)
}

/// Pushes `op` with its inputs; `node_indices` holds, in order of appearance, the
/// resolved indices of the inputs that are nodes (leaves are recorded here).
fn push_with_inputs<E: Element>(
    graph: &mut Graph<E>,
    op: impl FnOnce(&mut Saver<'_, E>) -> Op<E>,
    out: Produced<'_, E>,
    places: [Option<Input<'_, E>>; 2],
    node_indices: [u32; 2],
) -> u32 {
    let mut parents = [None, None];
    let mut nodes_seen = 0;
    let mut first_leaf = None;
    for (parent, input) in parents.iter_mut().zip(places) {
        let Some(input) = input else { continue };
        *parent = Some(match &input.place.0 {
            // One leaf as both operands (`x * x`): one node, used twice.
            Place::Leaf { id, .. }
                if first_leaf.is_some_and(|(first, _, data): (LeafId, u32, &Storage<E>)| {
                    first == *id && data.same_values(input.data)
                }) =>
            {
                first_leaf.map_or(0, |(_, node, _)| node)
            }
            Place::Leaf { id, .. } => {
                let node = push_leaf(graph, input);
                first_leaf = Some((*id, node, input.data));
                node
            }
            Place::Node { .. } => {
                nodes_seen += 1;
                node_indices[(nodes_seen - 1).min(1)]
            }
        });
    }
    graph.push(op, parents, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use alloc::vec;

    fn node_count<S: Shape>(t: &Tensor<S, f64, Tracked>) -> usize {
        match t.graph_ref().map(|r| &r.0) {
            Some(Place::Node { cell, index }) => {
                with_live::<f64, _>(cell, *index, |_, g, _| g.nodes.len())
            }
            _ => 0,
        }
    }

    /// The cell a node's handle names (before any forwarding).
    fn cell_of<S: Shape>(t: &Tensor<S, f64, Tracked>) -> *const ThreadLocalGraph {
        match t.graph_ref().map(|r| &r.0) {
            Some(Place::Node { cell, .. }) => Rc::as_ptr(cell),
            _ => core::ptr::null(),
        }
    }

    #[test]
    fn leaf_ids_are_unique_across_threads() {
        // Ids taken on several threads at once, each from its own block.
        let per_thread: Vec<Vec<LeafId>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..70_000).map(|_| LeafId::fresh()).collect()))
                .collect();
            workers.into_iter().filter_map(|w| w.join().ok()).collect()
        });
        assert_eq!(per_thread.len(), 4);
        for ids in &per_thread {
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "increasing on a thread"
            );
        }
        let mut all: Vec<LeafId> = per_thread.into_iter().flatten().collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 4 * 70_000);
    }

    #[test]
    fn a_leaf_used_as_both_operands_is_one_node_and_gets_both_gradients() {
        let x = Tensor::from_array([3.0f64, -2.0]).track();
        let y = &x * &x;
        assert_eq!(node_count(&y), 2, "one leaf node and the product");
        let grads = y.sum().backward();
        assert_eq!(grads.get(&x).map(|g| g.to_vec()), Some(vec![6.0, -4.0]));
    }

    #[test]
    fn two_tracks_of_one_value_stay_two_leaves() {
        let value = Tensor::from_array([3.0f64, -2.0]);
        let (a, b) = (value.track(), value.track());
        let y = &a * &b;
        assert_eq!(node_count(&y), 3);
        let grads = y.sum().backward();
        assert_eq!(grads.get(&a).map(|g| g.to_vec()), Some(vec![3.0, -2.0]));
        assert_eq!(grads.get(&b).map(|g| g.to_vec()), Some(vec![3.0, -2.0]));
    }

    #[test]
    fn a_forwarded_handle_merges_with_a_third_graph_from_either_side() {
        for moved_on_the_left in [true, false] {
            let x = Tensor::from_array([0.5f64, 1.5]).track();
            let y = Tensor::from_array([2.0f64, -1.0]).track();
            let (a, b) = (&x * 2.0, &x * 3.0);
            // One of `a` and `b` now sits behind a forwarding entry.
            let merged = &a + &b;
            let (moved, kept) = if cell_of(&a) == cell_of(&merged) {
                (&b, &a)
            } else {
                (&a, &b)
            };
            assert_ne!(cell_of(moved), cell_of(&merged));
            assert_eq!(
                node_count(moved),
                5,
                "resolved through the forwarding entry"
            );
            let third = &y * &y;
            let product = if moved_on_the_left {
                moved * &third
            } else {
                &third * moved
            };
            let total = (product + merged + kept).sum();
            let grads = total.backward();
            // moved = c x with c = 2 or 3; d/dx of c x y² + 5 x + c' x, d/dy of c x y².
            let c = if core::ptr::eq(moved, &a) { 2.0 } else { 3.0 };
            let other = 5.0 - c;
            let (xs, ys) = ([0.5f64, 1.5], [2.0f64, -1.0]);
            let dx: Vec<f64> = (0..2).map(|i| c * ys[i] * ys[i] + 5.0 + other).collect();
            let dy: Vec<f64> = (0..2).map(|i| 2.0 * c * xs[i] * ys[i]).collect();
            assert_eq!(grads.get(&x).map(|g| g.to_vec()), Some(dx));
            assert_eq!(grads.get(&y).map(|g| g.to_vec()), Some(dy));
        }
    }

    #[test]
    fn a_merged_graph_gives_its_emptied_arena_back_for_reuse() {
        let x = Tensor::from_array([0.5f64, 1.5]).track();
        let (left, right) = (x.exp(), &x * &x);
        let merged = &left + &right;
        assert_eq!(
            node_count(&merged),
            5,
            "two leaf nodes, exp, the product, the sum"
        );
        // The older handles still resolve through the forwarding entry.
        assert_eq!(node_count(&right), 5);
        let grads = merged.sum().backward();
        let expected: Vec<f64> = [0.5f64, 1.5].iter().map(|v| v.exp() + 2.0 * v).collect();
        assert_eq!(grads.get(&x).map(|g| g.to_vec()), Some(expected));
    }
}
