//! Memory each thread reuses from one training step to the next: value buffers, graph
//! arenas and the scratch of the backward pass and the forward-mode sweep. A step like the last then allocates nothing.
//!
//! Everything here is per thread and per element type (no lock), bounded, and only an
//! optimisation: when it cannot be used (a thread being torn down, a re-entrant use),
//! memory is allocated as usual.

use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::element::Element;
use crate::tape::graph::ThreadLocalGraph;
use crate::tensor::pool::Pool;

/// One thread's reusable memory for element type `E`.
pub struct Workspace<E: Element> {
    pub(crate) buffers: RefCell<Pool<E>>,
    pub(crate) graphs: RefCell<Vec<Rc<ThreadLocalGraph>>>,
    pub(crate) scratch: RefCell<Scratch<E>>,
}

impl<E: Element> Workspace<E> {
    /// Nothing kept yet (`const`, for a thread-local).
    pub(crate) const fn new() -> Self {
        Workspace {
            buffers: RefCell::new(Pool::new()),
            graphs: RefCell::new(Vec::new()),
            scratch: RefCell::new(Scratch::new()),
        }
    }
}

/// The backward pass's working vectors, kept with their capacity.
pub struct Scratch<E> {
    pub(crate) buffer: Vec<E>,
    pub(crate) leaf_grads: Vec<Option<Arc<[E]>>>,
    pub(crate) reached: Vec<bool>,
    /// Where each node's tangent is, in a forward sweep.
    pub(crate) tangent_slots: Vec<crate::tape::forward::TangentSlot>,
}

impl<E> Scratch<E> {
    const fn new() -> Self {
        Scratch {
            buffer: Vec::new(),
            leaf_grads: Vec::new(),
            reached: Vec::new(),
            tangent_slots: Vec::new(),
        }
    }
}

/// Runs `f` on this thread's workspace for `E`; `None` while the thread is being torn
/// down.
pub(crate) fn with<E: Element, R>(f: impl FnOnce(&Workspace<E>) -> R) -> Option<R> {
    E::workspace().try_with(f).ok()
}

/// Takes this thread's backward scratch (empty vectors if it is in use or gone).
pub(crate) fn take_scratch<E: Element>() -> Scratch<E> {
    with(|w: &Workspace<E>| {
        w.scratch
            .try_borrow_mut()
            .map(|mut s| core::mem::replace(&mut *s, Scratch::new()))
            .ok()
    })
    .flatten()
    .unwrap_or(Scratch::new())
}

/// Gives the backward scratch back, cleared, for the next pass.
pub(crate) fn give_scratch<E: Element>(mut scratch: Scratch<E>) {
    scratch.buffer.clear();
    scratch.leaf_grads.clear();
    scratch.reached.clear();
    scratch.tangent_slots.clear();
    let _ = with(|w: &Workspace<E>| {
        if let Ok(mut slot) = w.scratch.try_borrow_mut() {
            *slot = scratch;
        }
    });
}

/// A thread-local workspace, for [`crate::element::sealed::Sealed::workspace`].
pub type LocalWorkspace<E> = std::thread::LocalKey<Workspace<E>>;
