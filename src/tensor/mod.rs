//! [`Tensor<S, E, T>`]: a value of shape `S` and element `E` on tape `T`.

pub(crate) mod construction;
mod conversions;
mod inplace;
pub(crate) mod pool;
pub(crate) mod storage;

pub use crate::ops::index::Indices;
pub use crate::ops::layout::StackParts;
pub use crate::ops::select::{Comparand, Mask, NestedValues};
pub use construction::{seeded_rng, NestedArray, SeededRng};
pub use conversions::TensorIndex;

use core::marker::PhantomData;

use crate::element::Element;
use crate::shape::{Rank0, ScalarShape, Shape};
use crate::tape::graph::{GraphRef, LeafId};
use crate::tape::{Detached, NoGrad, Tape, Tracked, Untracked};
use storage::Storage;

/// A tensor whose shape `S`, element type `E` and tape `T` are part of its type.
///
/// - `S` is one of [`Rank0`], [`crate::Rank1`], [`crate::Rank2`], [`crate::Rank3`],
///   [`crate::Rank4`] with plain numbers: `Rank2<5, 3>`.
/// - `E` is `f32` or `f64`.
/// - `T` is [`NoGrad`] (the default: a plain value), [`Tracked`] (records the operations
///   that produce it, so `backward` can run) or [`Detached`] (taken out of a graph).
///
/// A value of up to 64 bytes (16 `f32`, 8 `f64`) is stored inline and copied with the
/// tensor; a larger one is shared and immutable once a graph may hold it: `clone`,
/// `detach` and `track` never copy its elements.
///
/// A `Tracked` tensor belongs to the thread that records its graph: it is neither
/// `Send` nor `Sync`. `NoGrad` and `Detached` tensors are both.
///
/// ```
/// use typegrad::prelude::*;
/// let x = Tensor::<Rank2<2, 2>, f32>::ones().track();
/// let y = &x + 2.0;
/// let z = &y * &y * 3.0;
/// let out = z.mean();
/// assert_eq!(out.to_string(), "tensor(27., grad_fn=<MeanBackward0>)");
/// let grads = out.backward();
/// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![4.5; 4]);
/// ```
pub struct Tensor<S, E: Element, T: Tape = NoGrad> {
    data: Storage<E>,
    handle: T::Handle<E>,
    shape: PhantomData<S>,
}

impl<S, E: Element, T: Tape> Drop for Tensor<S, E, T> {
    /// Lets the value's buffer go to this thread's pool if nothing else holds it, for
    /// the next result of its length (see `tensor::pool`).
    #[inline]
    fn drop(&mut self) {
        // An inline value has nothing to give back: no call.
        if self.data.is_shared() {
            (E::compiled().recycle)(&mut self.data);
        }
    }
}

impl<S, E: Element, T: Tape> Clone for Tensor<S, E, T> {
    fn clone(&self) -> Self {
        Tensor {
            data: self.data.clone(),
            handle: self.handle.clone(),
            shape: PhantomData,
        }
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// Assembles a tensor; `data.len()` is `S::NUM_ELEMENTS` by construction at every
    /// call site inside the crate.
    #[inline(always)]
    pub(crate) fn from_parts(data: Storage<E>, handle: T::Handle<E>) -> Self {
        debug_assert_eq!(data.len(), S::NUM_ELEMENTS);
        Tensor {
            data,
            handle,
            shape: PhantomData,
        }
    }

    pub(crate) fn handle(&self) -> &T::Handle<E> {
        &self.handle
    }

    pub(crate) fn graph_ref(&self) -> Option<&GraphRef<E>> {
        T::graph_ref(&self.handle)
    }

    pub(crate) fn storage(&self) -> &Storage<E> {
        &self.data
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[E] {
        &self.data
    }

    /// The elements in row-major order, copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<E> {
        self.data.to_vec()
    }

    /// The dimensions, outermost first (PyTorch's `.shape`).
    pub fn dims(&self) -> &'static [usize] {
        S::DIMS
    }

    /// The number of elements (PyTorch's `.numel()`).
    pub fn numel(&self) -> usize {
        S::NUM_ELEMENTS
    }

    /// Whether this tensor records gradients (PyTorch's `.requires_grad`): true exactly
    /// for `Tracked` tensors.
    pub fn requires_grad(&self) -> bool {
        self.graph_ref().is_some()
    }

    /// Whether this tensor is a leaf (PyTorch's `.is_leaf`): every `NoGrad` and
    /// `Detached` tensor, and every `Tracked` tensor made by `.track()`; not the result
    /// of an operation on tracked values.
    pub fn is_leaf(&self) -> bool {
        self.graph_ref().is_none_or(|r| r.leaf_id().is_some())
    }

    /// The operation that produced this tensor (PyTorch's `.grad_fn`), for a tracked
    /// value computed by an operation; `None` for leaves and untracked values.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<Rank1<3>, f32>::ones().track();
    /// assert!(x.grad_fn().is_none());
    /// let y = &x * 2.0;
    /// assert_eq!(y.grad_fn().unwrap().to_string(), "<MulBackward0>");
    /// ```
    pub fn grad_fn(&self) -> Option<GradFn> {
        self.graph_ref()?.op_name().map(GradFn)
    }

    /// A `Detached` view of the same storage: it records nothing and can never be
    /// backpropagated (PyTorch's `.detach()`).
    ///
    /// Unlike PyTorch, modifying the detached value in place copies it first if a graph
    /// still holds the storage, so the original is never altered.
    pub fn detach(&self) -> Tensor<S, E, Detached> {
        Tensor::from_parts(self.data.clone(), ())
    }

    /// A plain `NoGrad` view of the same storage: the value without its history.
    pub fn no_grad(&self) -> Tensor<S, E, NoGrad> {
        Tensor::from_parts(self.data.clone(), ())
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// A new `Tracked` leaf sharing this value's storage (PyTorch's
    /// `requires_grad_(True)`): operations on it are recorded, and `backward` gives its
    /// gradient. A large value's storage is shared, not copied.
    ///
    /// Each call makes a distinct leaf: gradients are stored per leaf (a
    /// [`crate::optim::Param`] is the exception: all its leaves are one). On a value that
    /// was computed without tracking (or detached), backpropagation stops here, as with
    /// PyTorch's `zz.requires_grad_(True)` on a value computed under `no_grad`.
    pub fn track(&self) -> Tensor<S, E, Tracked>
    where
        T: Untracked,
    {
        Tensor::from_parts(self.data.clone(), GraphRef::new_leaf(S::NUM_ELEMENTS))
    }

    /// A `Tracked` leaf sharing this value's storage under an existing leaf id, so its
    /// gradient adds into what is stored for `id` (a `Param` uses one id for life).
    pub(crate) fn track_as(&self, id: LeafId) -> Tensor<S, E, Tracked>
    where
        T: Untracked,
    {
        Tensor::from_parts(
            self.data.clone(),
            GraphRef::leaf_with_id(id, S::NUM_ELEMENTS),
        )
    }
}

impl<S: ScalarShape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The single value of a scalar tensor (PyTorch's `.item()`).
    pub fn item(&self) -> E {
        self.data.first().copied().unwrap_or_else(E::nan)
    }
}

impl<E: Element, T: Tape> Tensor<Rank0, E, T> {
    /// The single value of a scalar tensor, as `f64`.
    pub fn to_f64(&self) -> f64 {
        self.item().to_f64_exact()
    }
}

impl<S: Shape, E: Element, T: Tape, T2: Tape> PartialEq<Tensor<S, E, T2>> for Tensor<S, E, T> {
    /// Elementwise equality of the values, whatever the tapes (PyTorch's `torch.equal`);
    /// a `NaN` is unequal to everything.
    fn eq(&self, other: &Tensor<S, E, T2>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// Whether every element is within `atol + rtol * |other|` of `other`'s (PyTorch's
    /// `allclose`). A `NaN` on either side is never close.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([1.0f32, 2.0]);
    /// assert!(a.allclose(&Tensor::from_array([1.0, 2.000001]), 1e-5, 1e-8));
    /// assert!(!a.allclose(&Tensor::from_array([1.0, 2.1]), 1e-5, 1e-8));
    /// ```
    pub fn allclose<T2: Tape>(&self, other: &Tensor<S, E, T2>, rtol: E, atol: E) -> bool {
        self.as_slice()
            .iter()
            .zip(other.as_slice())
            .all(|(&a, &b)| (a - b).abs() <= atol + rtol * b.abs())
    }
}

/// The name of the operation that produced a tracked tensor, as PyTorch prints it:
/// `<MulBackward0>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GradFn(pub(crate) &'static str);

impl GradFn {
    /// The bare name, `MulBackward0`.
    pub fn name(&self) -> &'static str {
        self.0
    }
}

impl core::fmt::Display for GradFn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn assert_send_sync<X: Send + Sync>() {}

    /// Values travel between threads; graphs do not (a `Tracked` tensor staying on its
    /// thread is `ui-tests/fail/tracked_not_send.rs`).
    #[test]
    fn untracked_tensors_and_gradients_are_send_and_sync() {
        assert_send_sync::<Tensor<Rank2<2, 3>, f32, NoGrad>>();
        assert_send_sync::<Tensor<Rank2<2, 3>, f32, Detached>>();
        assert_send_sync::<crate::Gradients<f64>>();
        assert_send_sync::<crate::optim::Param<Rank2<2, 3>, f64>>();
        assert_send_sync::<crate::optim::Adam<f32>>();
        assert_send_sync::<crate::optim::Sgd<f32>>();
    }

    #[test]
    fn leaf_and_requires_grad_answer_as_pytorch() {
        let x = Tensor::<Rank1<2>, f32>::ones();
        assert!(x.is_leaf() && !x.requires_grad());
        let t = x.track();
        assert!(t.is_leaf() && t.requires_grad());
        let y = &t + 1.0;
        assert!(!y.is_leaf() && y.requires_grad());
        let d = y.detach();
        assert!(d.is_leaf() && !d.requires_grad() && d.grad_fn().is_none());
    }

    #[test]
    fn detach_shares_storage() {
        let y = Tensor::<Rank1<3>, f64>::ones().track() * 2.0;
        let d = y.detach();
        assert!(y.storage().same_values(d.storage()));
        let big = Tensor::<Rank1<100>, f64>::ones().track() * 2.0;
        assert!(big.storage().shares_buffer_with(big.detach().storage()));
    }
}
