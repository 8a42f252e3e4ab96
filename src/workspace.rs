//! Memory reused from one training step to the next: value buffers, graph arenas, the
//! scratch of the backward pass and the forward-mode sweep, and the block of leaf ids
//! being handed out. A step like the last then allocates nothing.
//!
//! Everything here is bounded and only an optimisation: when a slot cannot be had (a
//! thread being torn down, a use further up the stack, an interrupted context holding
//! it), the caller allocates as usual, so nothing here ever waits.
//!
//! This module is the one place where the two builds differ in how that memory is held:
//!
//! - With `std`, a workspace per thread (a `thread_local!`) and per element type, its
//!   slots `RefCell`s: no lock, no atomic, and threads do not share pools.
//! - Without `std` there are no thread-locals, so a workspace per element type is a
//!   `static`, its slots spin mutexes taken only with `try_lock`: an interrupt handler
//!   (or another core) that finds a slot taken allocates instead of spinning, and a
//!   single-threaded device never contends at all. Graph cells are `Rc`s, which a
//!   `static` cannot hold, so the pool keeps them as [`PooledGraph`]s: a cell that no
//!   other handle shares and that holds nothing, the only state in which moving it
//!   between contexts is sound (`kernels::pooled`).

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::element::Element;
pub(crate) use crate::kernels::pooled::PooledGraph;
use crate::tensor::pool::Pool;

/// The reusable memory for element type `E` (one thread's with `std`, the program's
/// without).
pub struct Workspace<E: Element> {
    pub(crate) buffers: Slot<Pool<E>>,
    pub(crate) graphs: Slot<Vec<PooledGraph>>,
    pub(crate) scratch: Slot<Scratch<E>>,
}

impl<E: Element> Workspace<E> {
    /// Nothing kept yet (`const`, for a thread-local or a `static`).
    pub(crate) const fn new() -> Self {
        Workspace {
            buffers: Slot::new(Pool::new()),
            graphs: Slot::new(Vec::new()),
            scratch: Slot::new(Scratch::new()),
        }
    }
}

pub(crate) use held::{with, with_leaf_block, LocalWorkspace, Slot, F32, F64};

/// With `std`: per thread, no lock.
#[cfg(feature = "std")]
mod held {
    use core::cell::{Cell, RefCell};
    use core::ops::DerefMut;

    use super::Workspace;
    use crate::element::Element;

    /// One part of a workspace, taken for the length of one use.
    pub(crate) struct Slot<T>(RefCell<T>);

    impl<T> Slot<T> {
        pub(super) const fn new(value: T) -> Self {
            Slot(RefCell::new(value))
        }

        /// The value, unless it is in use further up this thread's stack.
        pub(crate) fn take(&self) -> Option<impl DerefMut<Target = T> + '_> {
            self.0.try_borrow_mut().ok()
        }
    }

    std::thread_local! {
        /// This thread's workspace for `f32`.
        pub(crate) static F32: Workspace<f32> = const { Workspace::new() };
        /// This thread's workspace for `f64`.
        pub(crate) static F64: Workspace<f64> = const { Workspace::new() };
        /// The next leaf id of this thread's block and the end of the block.
        static LEAF_BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }

    /// How [`crate::element::sealed::Sealed::workspace`] reaches a workspace.
    pub type LocalWorkspace<E> = std::thread::LocalKey<Workspace<E>>;

    /// Runs `f` on this thread's workspace for `E`; `None` while the thread is being
    /// torn down.
    pub(crate) fn with<E: Element, R>(f: impl FnOnce(&Workspace<E>) -> R) -> Option<R> {
        E::workspace().try_with(f).ok()
    }

    /// Runs `f` on this thread's leaf-id block; `None` while the thread is being torn
    /// down.
    pub(crate) fn with_leaf_block<R>(f: impl FnOnce(&mut (u64, u64)) -> R) -> Option<R> {
        LEAF_BLOCK
            .try_with(|cell| {
                let mut block = cell.get();
                let result = f(&mut block);
                cell.set(block);
                result
            })
            .ok()
    }
}

/// Without `std`: one workspace per element type for the program, behind spin mutexes
/// that are only ever tried.
#[cfg(not(feature = "std"))]
mod held {
    use core::ops::DerefMut;

    use spin::mutex::SpinMutex;

    use super::Workspace;
    use crate::element::Element;

    /// One part of a workspace, taken for the length of one use.
    pub(crate) struct Slot<T>(SpinMutex<T>);

    impl<T> Slot<T> {
        pub(super) const fn new(value: T) -> Self {
            Slot(SpinMutex::new(value))
        }

        /// The value, unless it is in use: further up the stack, by an interrupted
        /// context or by another core. Never waits.
        pub(crate) fn take(&self) -> Option<impl DerefMut<Target = T> + '_> {
            self.0.try_lock()
        }
    }

    /// The program's workspace for `f32`.
    pub(crate) static F32: Workspace<f32> = Workspace::new();
    /// The program's workspace for `f64`.
    pub(crate) static F64: Workspace<f64> = Workspace::new();
    /// The next leaf id of the program's block and the end of the block.
    static LEAF_BLOCK: Slot<(u64, u64)> = Slot::new((0, 0));

    /// How [`crate::element::sealed::Sealed::workspace`] reaches a workspace.
    pub type LocalWorkspace<E> = Workspace<E>;

    /// Runs `f` on the workspace for `E`: always there (`None` is the `std` build's
    /// thread teardown).
    pub(crate) fn with<E: Element, R>(f: impl FnOnce(&Workspace<E>) -> R) -> Option<R> {
        Some(f(E::workspace()))
    }

    /// Runs `f` on the leaf-id block; `None` if an interrupted context holds it.
    pub(crate) fn with_leaf_block<R>(f: impl FnOnce(&mut (u64, u64)) -> R) -> Option<R> {
        LEAF_BLOCK.take().map(|mut block| f(&mut block))
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

/// Takes the backward scratch (empty vectors if it is in use or gone).
pub(crate) fn take_scratch<E: Element>() -> Scratch<E> {
    with(|w: &Workspace<E>| {
        w.scratch
            .take()
            .map(|mut s| core::mem::replace(&mut *s, Scratch::new()))
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
        if let Some(mut slot) = w.scratch.take() {
            *slot = scratch;
        }
    });
}
