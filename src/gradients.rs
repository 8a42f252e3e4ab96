//! The gradient store: what backward returns, looked up by the tracked leaf itself.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::marker::PhantomData;

use crate::element::sealed::Stored;
use crate::element::Element;
use crate::shape::Shape;
use crate::tape::graph::LeafId;
use crate::tape::{Backprop, Tape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// Gradients of a loss with respect to the tracked leaves it depends on.
///
/// Returned by `backward()`; `backward_into` adds into an existing store, so two passes
/// accumulate as PyTorch's `.grad` does, and [`Gradients::zero`] resets them
/// (PyTorch's `x.grad.zero_()`).
///
/// ```
/// use typegrad::prelude::*;
/// let x = Tensor::<Rank0, f32>::full(3.0).track();
/// let loss = (&x * &x) * 3.0; // 3x², d/dx = 6x = 18
/// let mut grads = loss.backward();
/// assert_eq!(grads.get(&x).unwrap().item(), 18.0);
/// ((&x * &x) * 3.0).backward_into(&mut grads);
/// assert_eq!(grads.get(&x).unwrap().item(), 36.0);
/// grads.zero();
/// assert_eq!(grads.get(&x).unwrap().item(), 0.0);
/// ```
///
/// `E` is the loss's element type. A computation that casts between `f32` and `f64`
/// (`cast`) has leaves of both, and one store holds the gradients of all of them: `get`
/// takes a leaf of either element type.
#[derive(Clone)]
pub struct Gradients<E: Element> {
    pub(crate) store: GradientStore,
    element: PhantomData<E>,
}

/// The gradients of leaves of either element type, sorted by leaf: a vector rather than
/// a map, so that a store cleared and filled again each step keeps its memory.
#[derive(Clone, Default)]
pub(crate) struct GradientStore {
    by_leaf: Vec<(LeafId, Stored)>,
}

impl GradientStore {
    /// Adds `grad` to the gradient stored for `id`.
    pub(crate) fn accumulate<E: Element>(&mut self, id: LeafId, grad: Arc<[E]>) {
        match self.by_leaf.binary_search_by_key(&id, |(leaf, _)| *leaf) {
            Ok(at) => match E::unwrap_mut(&mut self.by_leaf[at].1) {
                Some(existing) if existing.len() == grad.len() => {
                    for (sum, add) in Arc::make_mut(existing).iter_mut().zip(grad.iter()) {
                        *sum = *sum + *add;
                    }
                    crate::tensor::pool::recycle(grad);
                }
                _ => self.by_leaf[at].1 = E::wrap(grad),
            },
            Err(at) => self.by_leaf.insert(at, (id, E::wrap(grad))),
        }
    }

    /// Adds every gradient of `other`.
    pub(crate) fn merge(&mut self, mut other: GradientStore) {
        for (id, grad) in other.by_leaf.drain(..) {
            match grad {
                Stored::F32(grad) => self.accumulate(id, grad),
                Stored::F64(grad) => self.accumulate(id, grad),
            }
        }
    }

    fn get<E: Element>(&self, id: LeafId) -> Option<&Arc<[E]>> {
        let at = self
            .by_leaf
            .binary_search_by_key(&id, |(leaf, _)| *leaf)
            .ok()?;
        E::unwrap(&self.by_leaf[at].1)
    }

    fn contains(&self, id: LeafId) -> bool {
        self.by_leaf
            .binary_search_by_key(&id, |(leaf, _)| *leaf)
            .is_ok()
    }

    /// Removes every gradient, their buffers going to the pool; keeps the capacity.
    fn clear(&mut self) {
        for (_, grad) in self.by_leaf.drain(..) {
            match grad {
                Stored::F32(grad) => crate::tensor::pool::recycle(grad),
                Stored::F64(grad) => crate::tensor::pool::recycle(grad),
            }
        }
    }
}

impl Drop for GradientStore {
    fn drop(&mut self) {
        self.clear();
    }
}

impl<E: Element> core::fmt::Debug for Gradients<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gradients")
            .field("leaves", &self.store.by_leaf.len())
            .finish()
    }
}

impl<E: Element> Default for Gradients<E> {
    fn default() -> Self {
        Gradients {
            store: GradientStore::default(),
            element: PhantomData,
        }
    }
}

impl<E: Element> Gradients<E> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The gradient of `leaf`, shaped like it; `None` if no backward pass reached it
    /// (the loss does not depend on it) or if it is not a leaf.
    ///
    /// As in PyTorch, only leaves made with `.track()` keep a gradient; to see the
    /// gradient at an intermediate value, make it a leaf: `y.detach().track()`.
    /// Asking for the gradient of a `NoGrad` or `Detached` tensor does not compile. The
    /// leaf may hold either element type (its gradient has the leaf's).
    pub fn get<S: Shape, L: Element, T: Backprop>(
        &self,
        leaf: &Tensor<S, L, T>,
    ) -> Option<Tensor<S, L>> {
        self.get_by_id(T::graph_ref(leaf.handle())?.leaf_id()?)
    }

    /// The gradient stored under `id`, shaped as `S`; `None` if there is none, or its
    /// element type or length is not the one asked for.
    pub(crate) fn get_by_id<S: Shape, L: Element>(&self, id: LeafId) -> Option<Tensor<S, L>> {
        Tensor::from_storage(Storage::from_shared(Arc::clone(self.store.get::<L>(id)?)))
    }

    /// Sets every stored gradient to zero, keeping the entries.
    pub fn zero(&mut self) {
        fn zero<L: Element>(grad: &mut Arc<[L]>) {
            match Arc::get_mut(grad) {
                Some(values) => values.fill(L::zero()),
                None => *grad = core::iter::repeat_n(L::zero(), grad.len()).collect(),
            }
        }
        for (_, grad) in self.store.by_leaf.iter_mut() {
            match grad {
                Stored::F32(grad) => zero(grad),
                Stored::F64(grad) => zero(grad),
            }
        }
    }

    /// Removes every gradient. A store cleared (or zeroed) and filled again by
    /// `backward_into` each step reuses its memory.
    pub fn clear(&mut self) {
        self.store.clear();
    }

    /// Number of leaves holding a gradient.
    pub fn len(&self) -> usize {
        self.store.by_leaf.len()
    }

    /// Whether no leaf holds a gradient.
    pub fn is_empty(&self) -> bool {
        self.store.by_leaf.is_empty()
    }

    /// Whether `leaf` has a gradient here.
    pub fn contains<S: Shape, L: Element, T: Tape + Backprop>(
        &self,
        leaf: &Tensor<S, L, T>,
    ) -> bool {
        T::graph_ref(leaf.handle())
            .and_then(|r| r.leaf_id())
            .is_some_and(|id| self.store.contains(id))
    }

    /// Adds every gradient of `other` into this store: gradients computed on several
    /// threads (or batches) added together, as one backward pass over all of them would
    /// have given. [`crate::parallel::gradients`] does this for chunks of a batch, in
    /// chunk order.
    ///
    /// Leaves are matched by identity. A graph stays on the thread that recorded it, so
    /// a parameter used on several threads is a [`crate::optim::Param`], whose
    /// `track()` names the same leaf on every thread; calling `.track()` on a plain value
    /// in each thread would make a different leaf each time, whose gradients are kept
    /// apart.
    ///
    /// ```
    /// use typegrad::optim::Param;
    /// use typegrad::prelude::*;
    /// let w = Param::new(Tensor::from_array([1.0f32, 2.0]));
    /// let shards = [Tensor::from_array([1.0f32, 0.0]), Tensor::from_array([0.0f32, 3.0])];
    /// let mut grads = Gradients::new();
    /// std::thread::scope(|s| {
    ///     let w = &w;
    ///     let runs: Vec<_> = shards
    ///         .iter()
    ///         .map(|x| s.spawn(move || (w.track() * x).sum().backward()))
    ///         .collect();
    ///     for run in runs {
    ///         grads.merge(run.join().expect("no panic"));
    ///     }
    /// });
    /// assert_eq!(w.grad(&grads).unwrap().to_array(), [1.0, 3.0]);
    /// ```
    pub fn merge(&mut self, other: Gradients<E>) {
        self.store.merge(other.store);
    }
}
