//! A value's elements: inline when they fit in 64 bytes (16 `f32`, 8 `f64`), otherwise
//! a shared, reference-counted buffer from the thread's pool.
//!
//! The users typegrad is for compute with state vectors of 3 to 12 elements thousands
//! of times a second. For them a shared buffer costs more than the arithmetic: a pool
//! round trip per result, an atomic count for every value an operation saves, a locked
//! uniqueness check before each buffer is written. An inline value is copied instead:
//! making one touches no allocator, no pool and no atomic, and a graph that saves one
//! copies it rather than counting it. Large values keep the shared buffer, so that
//! cloning a tensor, detaching it or saving it for backward never copies its elements.
//!
//! The threshold is in bytes, not elements, so that a tensor of either element type is
//! the same size (80 bytes of storage); `tests` measure nothing here, `benches/` do.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Deref;

use crate::element::Element;

use super::pool;

/// The elements of a value (see the module's documentation).
pub struct Storage<E: Element>(Repr<E>);

enum Repr<E: Element> {
    /// `len` elements at the start of `values`; the rest are zeros.
    Inline { len: usize, values: E::Inline },
    /// A buffer that clones share.
    Shared(Arc<[E]>),
}

impl<E: Element> Clone for Storage<E> {
    #[inline]
    fn clone(&self) -> Self {
        Storage(match &self.0 {
            Repr::Inline { len, values } => Repr::Inline {
                len: *len,
                values: *values,
            },
            Repr::Shared(buffer) => Repr::Shared(Arc::clone(buffer)),
        })
    }
}

impl<E: Element> Deref for Storage<E> {
    type Target = [E];

    #[inline]
    fn deref(&self) -> &[E] {
        match &self.0 {
            Repr::Inline { len, values } => values.as_ref().get(..*len).unwrap_or_default(),
            Repr::Shared(buffer) => buffer,
        }
    }
}

impl<E: Element> From<Vec<E>> for Storage<E> {
    /// The elements of `values`, copied inline or into a pooled buffer (a buffer made
    /// outside the pool would join it when dropped, and grow it).
    fn from(values: Vec<E>) -> Self {
        Self::from_slice(&values)
    }
}

impl<E: Element> FromIterator<E> for Storage<E> {
    fn from_iter<I: IntoIterator<Item = E>>(values: I) -> Self {
        let values: Vec<E> = values.into_iter().collect();
        Self::from_slice(&values)
    }
}

impl<E: Element> core::fmt::Debug for Storage<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<E: Element> Storage<E> {
    /// Whether the elements are in a shared buffer (not inline).
    #[inline]
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self.0, Repr::Shared(_))
    }

    /// Whether `len` elements are stored inline.
    #[inline]
    pub(crate) fn fits_inline(len: usize) -> bool {
        len <= E::INLINE
    }

    /// `len` zeros, inline if they fit.
    #[inline]
    fn inline_zeros(len: usize) -> Self {
        Storage(Repr::Inline {
            len,
            values: E::Inline::default(),
        })
    }

    /// No elements.
    #[inline]
    pub(crate) fn empty() -> Self {
        Self::inline_zeros(0)
    }

    /// A value of `len` elements that nothing else holds, to be written in full: inline
    /// (zeros) if it fits, otherwise a pooled buffer with its contents left over.
    #[inline]
    pub(crate) fn for_overwrite(len: usize) -> Self {
        if Self::fits_inline(len) {
            Self::inline_zeros(len)
        } else {
            Storage(Repr::Shared(pool::take(len)))
        }
    }

    /// `len` zeros that nothing else holds.
    #[inline]
    pub(crate) fn zeroed(len: usize) -> Self {
        if Self::fits_inline(len) {
            Self::inline_zeros(len)
        } else {
            Storage(Repr::Shared(pool::take_zeroed(len)))
        }
    }

    /// `len` elements from `values` (the rest zeros if it runs short).
    #[inline]
    pub(crate) fn collect(len: usize, values: impl IntoIterator<Item = E>) -> Self {
        if Self::fits_inline(len) {
            let mut storage = Self::inline_zeros(len);
            for (slot, value) in storage.slots_mut().iter_mut().zip(values) {
                *slot = value;
            }
            storage
        } else {
            Storage(Repr::Shared(pool::collect(len, values)))
        }
    }

    /// A copy of `values`.
    #[inline]
    pub(crate) fn from_slice(values: &[E]) -> Self {
        Self::collect(values.len(), values.iter().copied())
    }

    /// `len` elements written by `fill` into a value nothing else holds (its previous
    /// contents unspecified: `fill` writes every element).
    #[inline]
    pub(crate) fn build(len: usize, fill: impl FnOnce(&mut [E])) -> Self {
        let mut storage = Self::for_overwrite(len);
        fill(storage.make_mut());
        storage
    }

    /// A shared buffer as storage: copied inline if it fits (so that the value costs no
    /// count from here on; the buffer goes back to the pool if nothing else holds it),
    /// else shared.
    pub(crate) fn from_shared(buffer: Arc<[E]>) -> Self {
        if Self::fits_inline(buffer.len()) {
            let storage = Self::from_slice(&buffer);
            pool::recycle(buffer);
            storage
        } else {
            Storage(Repr::Shared(buffer))
        }
    }

    /// `f` of the elements of two inline values of one length, position by position,
    /// over the whole inline arrays (padding included, its results never read); `None`
    /// unless both are inline and of one length.
    #[inline(always)]
    pub(crate) fn zip_inline(l: &Self, r: &Self, f: impl Fn(E, E) -> E) -> Option<Self> {
        match (&l.0, &r.0) {
            (
                Repr::Inline { len, values: a },
                Repr::Inline {
                    len: r_len,
                    values: b,
                },
            ) if len == r_len => {
                let mut values = E::Inline::default();
                for ((out, &a), &b) in values.as_mut().iter_mut().zip(a.as_ref()).zip(b.as_ref()) {
                    *out = f(a, b);
                }
                Some(Storage(Repr::Inline { len: *len, values }))
            }
            _ => None,
        }
    }

    /// A shared buffer as storage, kept shared whatever its length (a kernel's result
    /// that is already in its buffer).
    pub(crate) fn wrap_shared(buffer: Arc<[E]>) -> Self {
        Storage(Repr::Shared(buffer))
    }

    /// The inline elements, writable (empty for a shared buffer).
    #[inline]
    fn slots_mut(&mut self) -> &mut [E] {
        match &mut self.0 {
            Repr::Inline { len, values } => values.as_mut().get_mut(..*len).unwrap_or_default(),
            Repr::Shared(_) => &mut [],
        }
    }

    /// The elements, writable: copied first if a shared buffer has other holders
    /// (copy-on-write), so a value a graph saved is never altered.
    #[inline]
    pub(crate) fn make_mut(&mut self) -> &mut [E] {
        match &mut self.0 {
            Repr::Inline { len, values } => values.as_mut().get_mut(..*len).unwrap_or_default(),
            Repr::Shared(buffer) => {
                if Arc::get_mut(buffer).is_none() {
                    *buffer = pool::collect(buffer.len(), buffer.iter().copied());
                }
                Arc::make_mut(buffer)
            }
        }
    }

    /// Whether both are the same shared buffer, or equal inline values (bit for bit):
    /// what tells a tracked leaf used as both operands of one operation from two
    /// different values under one parameter id.
    pub(crate) fn same_values(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Shared(a), Repr::Shared(b)) => Arc::ptr_eq(a, b),
            (Repr::Inline { .. }, Repr::Inline { .. }) => {
                self.len() == other.len()
                    && self
                        .iter()
                        .zip(other.iter())
                        .all(|(a, b)| a.to_f64_exact().to_bits() == b.to_f64_exact().to_bits())
            }
            _ => false,
        }
    }

    /// Whether both hold one shared buffer (never true of inline values).
    #[cfg(test)]
    pub(crate) fn shares_buffer_with(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Shared(a), Repr::Shared(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Gives a shared buffer that nothing else holds to the pool; inline values have
    /// nothing to give.
    #[inline]
    pub(crate) fn recycle(self) {
        if let Repr::Shared(buffer) = self.0 {
            pool::recycle(buffer);
        }
    }

    /// [`Storage::recycle`] of a value being dropped in place (a tensor's drop), leaving
    /// it empty. A shared buffer that others hold is let go of by the drop alone.
    #[inline]
    pub(crate) fn recycle_in_place(&mut self) {
        if let Repr::Shared(buffer) = &mut self.0 {
            pool::recycle_in_place(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_inline_and_large_ones_shared() {
        let small = Storage::<f64>::collect(8, (0..8).map(f64::from));
        assert!(matches!(small.0, Repr::Inline { len: 8, .. }));
        assert_eq!(&*small, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let large = Storage::<f64>::collect(9, (0..9).map(f64::from));
        assert!(matches!(large.0, Repr::Shared(_)));
        assert_eq!(large.len(), 9);
        let small32 = Storage::<f32>::zeroed(16);
        assert!(matches!(small32.0, Repr::Inline { len: 16, .. }));
        assert_eq!(
            core::mem::size_of::<Storage<f32>>(),
            core::mem::size_of::<Storage<f64>>()
        );
    }

    #[test]
    fn writing_a_clone_never_changes_the_original() {
        for len in [3, 40] {
            let original = Storage::<f32>::collect(len, (0..len).map(|i| i as f32));
            let mut copy = original.clone();
            copy.make_mut()[0] = 100.0;
            assert_eq!(original[0], 0.0);
            assert_eq!(copy[0], 100.0);
        }
    }

    #[test]
    fn same_values_tells_one_value_from_another() {
        let a = Storage::<f32>::from_slice(&[1.0, 2.0]);
        assert!(a.same_values(&a.clone()));
        assert!(!a.same_values(&Storage::from_slice(&[1.0, 2.5])));
        let big = Storage::<f32>::zeroed(100);
        assert!(big.same_values(&big.clone()));
        assert!(!big.same_values(&Storage::zeroed(100)));
    }
}
