//! Value buffers reused from one step to the next.
//!
//! Every operation's result is an `Arc<[E]>`. A training step makes the same buffers, of
//! the same lengths, every time, so when the last holder of a buffer lets it go (a
//! tensor, a graph's saved value, a gradient) it is kept here, by length, and the next
//! request for that length gets it back: no allocation and no page faults in the steady
//! state. Pools are per thread (no lock) and bounded, per length and in total.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::element::Element;

/// Buffers kept per length, at most: enough for a graph of thousands of small values
/// (a long chain of operations on a few elements) to be recorded again from the pool.
const PER_LENGTH: usize = 4096;

/// Elements kept in all, at most (per thread and element type): 32 MiB of `f64`.
const MAX_ELEMENTS: usize = 1 << 22;

/// Free buffers of one element type, by length.
pub struct Pool<E> {
    by_len: Vec<(usize, Vec<Arc<[E]>>)>,
    elements: usize,
}

impl<E> Pool<E> {
    /// An empty pool (`const`, for a thread-local).
    pub(crate) const fn new() -> Self {
        Pool {
            by_len: Vec::new(),
            elements: 0,
        }
    }

    fn take(&mut self, len: usize) -> Option<Arc<[E]>> {
        let (_, free) = self.by_len.iter_mut().find(|(n, _)| *n == len)?;
        let buffer = free.pop()?;
        self.elements -= len;
        Some(buffer)
    }

    fn give(&mut self, buffer: Arc<[E]>) {
        let len = buffer.len();
        if self.elements + len > MAX_ELEMENTS {
            return;
        }
        let free = match self.by_len.iter().position(|(n, _)| *n == len) {
            Some(at) => &mut self.by_len[at].1,
            None => {
                self.by_len.push((len, Vec::with_capacity(4)));
                match self.by_len.last_mut() {
                    Some((_, free)) => free,
                    None => return,
                }
            }
        };
        if free.len() < PER_LENGTH {
            free.push(buffer);
            self.elements += len;
        }
    }
}

/// Runs `f` on this thread's pool of `E` buffers; `None` while the thread is being torn
/// down or the pool is in use further up the stack.
fn with_pool<E: Element, R>(f: impl FnOnce(&mut Pool<E>) -> R) -> Option<R> {
    crate::workspace::with(|w| w.buffers.take().map(|mut pool| f(&mut pool))).flatten()
}

/// A buffer of `len` elements that nothing else holds, its contents left over from its
/// last use (every element initialised): for results the caller writes in full.
pub(crate) fn take<E: Element>(len: usize) -> Arc<[E]> {
    if len == 0 {
        return E::empty_storage();
    }
    with_pool(|pool| pool.take(len))
        .flatten()
        .unwrap_or_else(|| core::iter::repeat_n(E::zero(), len).collect())
}

/// A buffer of `len` elements from the pool, if it has one (contents left over).
pub(crate) fn reuse<E: Element>(len: usize) -> Option<Arc<[E]>> {
    with_pool(|pool| pool.take(len)).flatten()
}

/// A buffer of `len` zeros that nothing else holds.
pub(crate) fn take_zeroed<E: Element>(len: usize) -> Arc<[E]> {
    let mut buffer = take(len);
    if let Some(values) = Arc::get_mut(&mut buffer) {
        values.fill(E::zero());
        return buffer;
    }
    core::iter::repeat_n(E::zero(), len).collect()
}

/// A buffer holding `values`, written into a reused one.
pub(crate) fn collect<E: Element>(len: usize, values: impl IntoIterator<Item = E>) -> Arc<[E]> {
    let mut buffer = take(len);
    match Arc::get_mut(&mut buffer) {
        Some(slots) => {
            for (slot, value) in slots.iter_mut().zip(values) {
                *slot = value;
            }
            buffer
        }
        None => values.into_iter().collect(),
    }
}

/// Keeps `buffer` for reuse if nothing else holds it (else only lets go of it).
///
/// The test is a plain load of the strong count: the crate never makes a `Weak` of a
/// buffer, so a count of one means this is the only holder, and no other thread can
/// gain one. (`Arc::get_mut` would pay a locked compare-exchange on every buffer let go,
/// shared or not; the one that takes the buffer from the pool checks again anyway.)
pub(crate) fn recycle<E: Element>(buffer: Arc<[E]>) {
    if !buffer.is_empty() && Arc::strong_count(&buffer) == 1 {
        with_pool(|pool| pool.give(buffer));
    }
}

/// Takes the buffer out of `slot` for recycling, leaving the shared empty one, if
/// nothing else holds it. A shared buffer (a value a graph saved) is left in place: the
/// slot's own drop lets go of it, one reference-count update instead of three.
pub(crate) fn recycle_in_place<E: Element>(slot: &mut Arc<[E]>) {
    if !slot.is_empty() && Arc::strong_count(slot) == 1 {
        recycle(core::mem::replace(slot, E::empty_storage()));
    }
}
