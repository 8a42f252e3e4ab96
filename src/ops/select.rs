//! Boolean masks and elementwise selection: the comparisons `gt`, `lt`, `ge`, `le` and
//! `eq_elem`, which give a [`Mask`], and [`where_`], which takes each element from one
//! of two tensors as a mask says.
//!
//! A mask is a plain value, never part of a graph: a comparison records nothing and has
//! no gradient (as PyTorch's boolean tensors never require grad). `where_` is recorded
//! (`WhereBackward0`): each element's gradient goes to the operand it was taken from.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{BitAnd, BitOr, Not};

use crate::element::Element;
use crate::error::Error;
use crate::ops::axis::sum_to;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::{Broadcast, BroadcastsTo, Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::{BinaryTape, Merge, Tape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// A boolean tensor of shape `S`: what a comparison returns, and the condition of
/// [`where_`]. Immutable (the storage is shared: `clone` copies nothing) and not
/// differentiable. It prints as PyTorch prints a boolean tensor, each value padded to
/// the widest: `tensor([ True, False])`.
///
/// ```
/// use typegrad::prelude::*;
/// let x = Tensor::from_array([1.0f32, -2.0, 3.0]);
/// let positive: Mask<Rank1<3>> = x.gt(0.0);
/// assert_eq!(positive.to_vec(), vec![true, false, true]);
/// assert_eq!(positive.to_string(), "tensor([ True, False,  True])");
/// assert_eq!(positive, Mask::from_array([true, false, true]));
/// assert_eq!((!&positive).count(), 1);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mask<S: Shape> {
    data: Arc<[bool]>,
    shape: PhantomData<S>,
}

/// Nested arrays of `bool` or `usize` that describe a [`Mask`] or an
/// [`Indices`](crate::Indices) of the shape they nest: `[[bool; N]; M]` is a
/// `Rank2<M, N>` mask, a bare `bool` a `Rank0` one.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a nested array of `{V}` values",
    label = "expected `{V}`, or arrays of them nested up to four deep",
    note = "a `Mask` is built from `bool`s and an `Indices` from `usize`s"
)]
pub trait NestedValues<V> {
    /// The shape the nesting describes.
    type Shape: Shape;
    /// Appends the values in row-major order.
    fn extend_flat(&self, out: &mut Vec<V>);
}

/// Implements [`NestedValues`] for a value type, bare and nested up to rank 4.
macro_rules! nested_values {
    ($($v:ty),*) => {$(
        impl NestedValues<$v> for $v {
            type Shape = Rank0;
            fn extend_flat(&self, out: &mut Vec<$v>) {
                out.push(*self);
            }
        }
        impl<const N: usize> NestedValues<$v> for [$v; N] {
            type Shape = Rank1<N>;
            fn extend_flat(&self, out: &mut Vec<$v>) {
                out.extend_from_slice(self);
            }
        }
        impl<const M: usize, const N: usize> NestedValues<$v> for [[$v; N]; M] {
            type Shape = Rank2<M, N>;
            fn extend_flat(&self, out: &mut Vec<$v>) {
                self.iter().for_each(|row| out.extend_from_slice(row));
            }
        }
        impl<const A: usize, const B: usize, const C: usize> NestedValues<$v>
            for [[[$v; C]; B]; A]
        {
            type Shape = Rank3<A, B, C>;
            fn extend_flat(&self, out: &mut Vec<$v>) {
                self.iter().for_each(|m| m.extend_flat(out));
            }
        }
        impl<const A: usize, const B: usize, const C: usize, const D: usize> NestedValues<$v>
            for [[[[$v; D]; C]; B]; A]
        {
            type Shape = Rank4<A, B, C, D>;
            fn extend_flat(&self, out: &mut Vec<$v>) {
                self.iter().for_each(|t| t.extend_flat(out));
            }
        }
    )*};
}
nested_values!(bool, usize);

/// The values of a nested array, flattened row-major (shared by `Mask` and `Indices`).
pub(crate) fn flatten<V, A: NestedValues<V>>(array: &A) -> Arc<[V]> {
    let mut out = Vec::with_capacity(<A::Shape as Shape>::NUM_ELEMENTS);
    array.extend_flat(&mut out);
    out.into()
}

/// `values` as the storage of a shape of `dims` holding `count` elements, or the error
/// `context` reports for a wrong length.
pub(crate) fn checked_storage<V>(
    values: Vec<V>,
    context: &'static str,
    dims: &'static [usize],
    count: usize,
) -> Result<Arc<[V]>, Error> {
    if values.len() == count {
        Ok(values.into())
    } else {
        Err(Error::LengthMismatch {
            context,
            dims,
            expected: count,
            given: values.len(),
        })
    }
}

impl<S: Shape> Mask<S> {
    /// A mask of this storage, whose length is `S::NUM_ELEMENTS` at every call site.
    pub(crate) fn from_storage(data: Arc<[bool]>) -> Self {
        debug_assert_eq!(data.len(), S::NUM_ELEMENTS);
        Mask {
            data,
            shape: PhantomData,
        }
    }

    /// A mask from nested arrays of `bool`, whose nesting gives the shape.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Mask::from_array([[true, false], [false, false]]);
    /// assert_eq!(m.dims(), &[2, 2]);
    /// ```
    pub fn from_array<A: NestedValues<bool, Shape = S>>(array: A) -> Self {
        Mask::from_storage(flatten(&array))
    }

    /// A mask from its values in row-major order.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `values` does not hold `S::NUM_ELEMENTS` values.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Mask::<Rank2<1, 2>>::from_vec(vec![true, false])?;
    /// assert_eq!(m.to_vec(), vec![true, false]);
    /// assert!(Mask::<Rank1<3>>::from_vec(vec![true]).is_err());
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    pub fn from_vec(values: Vec<bool>) -> Result<Self, Error> {
        checked_storage(values, "Mask::from_vec", S::DIMS, S::NUM_ELEMENTS).map(Mask::from_storage)
    }

    /// A mask whose value at each flat (row-major) position `i` is `f(i)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let even = Mask::<Rank1<4>>::from_fn(|i| i % 2 == 0);
    /// assert_eq!(even.to_vec(), vec![true, false, true, false]);
    /// ```
    pub fn from_fn(f: impl FnMut(usize) -> bool) -> Self {
        Mask::from_storage((0..S::NUM_ELEMENTS).map(f).collect())
    }

    /// A mask with every value `value`.
    pub fn full(value: bool) -> Self {
        Mask::from_storage(core::iter::repeat_n(value, S::NUM_ELEMENTS).collect())
    }

    /// The values in row-major order.
    pub fn as_slice(&self) -> &[bool] {
        &self.data
    }

    /// The values in row-major order, copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<bool> {
        self.data.to_vec()
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &'static [usize] {
        S::DIMS
    }

    /// The number of values.
    pub fn numel(&self) -> usize {
        S::NUM_ELEMENTS
    }

    /// How many values are `true` (PyTorch's `mask.sum()`).
    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&m| m).count()
    }

    /// Whether any value is `true` (`false` for a mask of no values).
    pub fn any(&self) -> bool {
        self.data.iter().any(|&m| m)
    }

    /// Whether every value is `true` (`true` for a mask of no values).
    pub fn all(&self) -> bool {
        self.data.iter().all(|&m| m)
    }

    /// The mask as numbers, 1 for `true` and 0 for `false` (PyTorch's `mask.float()`),
    /// a plain tensor.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Mask::from_array([true, false]);
    /// assert_eq!(m.to_tensor::<f64>().to_vec(), vec![1.0, 0.0]);
    /// ```
    pub fn to_tensor<E: Element>(&self) -> Tensor<S, E> {
        let data = self
            .data
            .iter()
            .map(|&m| if m { E::one() } else { E::zero() })
            .collect();
        Tensor::from_parts(data, ())
    }

    /// `f` of each pair of values of `self` and `other`.
    fn zip_with(&self, other: &Mask<S>, f: impl Fn(bool, bool) -> bool) -> Mask<S> {
        let data = self
            .data
            .iter()
            .zip(other.data.iter())
            .map(|(&a, &b)| f(a, b))
            .collect();
        Mask::from_storage(data)
    }
}

impl<S: Shape> Not for &Mask<S> {
    type Output = Mask<S>;
    /// The elementwise negation (PyTorch's `~mask`).
    fn not(self) -> Mask<S> {
        Mask::from_storage(self.data.iter().map(|&m| !m).collect())
    }
}

impl<S: Shape> Not for Mask<S> {
    type Output = Mask<S>;
    /// The elementwise negation (PyTorch's `~mask`).
    fn not(self) -> Mask<S> {
        !&self
    }
}

/// Implements an elementwise logical operator between masks of the same shape, by value
/// and by reference.
macro_rules! mask_operator {
    ($trait:ident $method:ident $op:tt $doc:literal) => {
        impl<S: Shape> $trait<&Mask<S>> for &Mask<S> {
            type Output = Mask<S>;
            #[doc = $doc]
            fn $method(self, other: &Mask<S>) -> Mask<S> {
                self.zip_with(other, |a, b| a $op b)
            }
        }
        impl<S: Shape> $trait<Mask<S>> for Mask<S> {
            type Output = Mask<S>;
            #[doc = $doc]
            fn $method(self, other: Mask<S>) -> Mask<S> {
                self.zip_with(&other, |a, b| a $op b)
            }
        }
    };
}
mask_operator!(BitAnd bitand & "The elementwise and (PyTorch's `a & b`).");
mask_operator!(BitOr bitor | "The elementwise or (PyTorch's `a | b`).");

impl<S: Shape> fmt::Display for Mask<S> {
    /// Prints as PyTorch does: `tensor([ True, False])`; a mask of no values says its
    /// type, `tensor([], dtype=torch.bool)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = if self.data.is_empty() {
            ", dtype=torch.bool"
        } else {
            ""
        };
        crate::display::write_tensor(f, &self.data, S::DIMS, suffix)
    }
}

impl<S: Shape> fmt::Debug for Mask<S> {
    /// The same text as `Display`: PyTorch's `repr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

mod sealed {
    /// Keeps [`super::Comparand`] closed to scalars and tensors.
    pub trait Sealed {}
}

impl<E: Element> sealed::Sealed for E {}
impl<S: Shape, E: Element, T: Tape> sealed::Sealed for Tensor<S, E, T> {}
impl<S: Shape, E: Element, T: Tape> sealed::Sealed for &Tensor<S, E, T> {}

/// What a tensor of shape `S` and element `E` can be compared with: a scalar `E`, or a
/// tensor of element `E` (by value or by reference) whose shape broadcasts with `S` as
/// for `+`. `Output` is the shape of the resulting [`Mask`].
#[diagnostic::on_unimplemented(
    message = "a tensor of shape `{S}` and element `{E}` cannot be compared with `{Self}`",
    label = "not a scalar `{E}`, nor a tensor of `{E}` whose shape broadcasts with `{S}`",
    note = "compare with a scalar of the same element type, or with a tensor of the same element type whose shape broadcasts as for `+`"
)]
pub trait Comparand<S: Shape, E: Element>: sealed::Sealed {
    /// The shape of the mask: the broadcast shape.
    type Output: Shape;
    /// The operand's values (one for a scalar), which repeat along the result as a
    /// broadcast operand's do.
    #[doc(hidden)]
    fn compared_values(&self) -> &[E];
}

impl<S: Shape, E: Element> Comparand<S, E> for E {
    type Output = S;
    fn compared_values(&self) -> &[E] {
        core::slice::from_ref(self)
    }
}

impl<S: Shape + Broadcast<SR>, SR: Shape, E: Element, T: Tape> Comparand<S, E>
    for &Tensor<SR, E, T>
{
    type Output = <S as Broadcast<SR>>::Output;
    fn compared_values(&self) -> &[E] {
        self.as_slice()
    }
}

impl<S: Shape + Broadcast<SR>, SR: Shape, E: Element, T: Tape> Comparand<S, E>
    for Tensor<SR, E, T>
{
    type Output = <S as Broadcast<SR>>::Output;
    fn compared_values(&self) -> &[E] {
        self.as_slice()
    }
}

/// Position `i` of an operand of `n` values broadcast (repeated) along `len` positions.
#[inline(always)]
fn repeated(i: usize, n: usize, len: usize) -> usize {
    if n == len {
        i
    } else {
        i % n.max(1)
    }
}

/// `test(l, r)` at each of `len` positions, the shorter operand repeating. A NaN on
/// either side compares false in every test but `!=` (IEEE 754), which the tests here
/// inherit from `PartialOrd`.
fn compare<E: Element>(l: &[E], r: &[E], len: usize, test: impl Fn(E, E) -> bool) -> Arc<[bool]> {
    if l.len() == len && r.len() == len {
        return l.iter().zip(r).map(|(&a, &b)| test(a, b)).collect();
    }
    (0..len)
        .map(|i| {
            match (
                l.get(repeated(i, l.len(), len)),
                r.get(repeated(i, r.len(), len)),
            ) {
                (Some(&a), Some(&b)) => test(a, b),
                _ => false,
            }
        })
        .collect()
}

/// Writes the comparison methods of tensors.
macro_rules! comparisons {
    ($($(#[$doc:meta])* $method:ident => |$a:ident, $b:ident| $test:expr;)*) => {
        impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
            $(
                $(#[$doc])*
                pub fn $method<R: Comparand<S, E>>(&self, other: R) -> Mask<R::Output> {
                    let len = <R::Output as Shape>::NUM_ELEMENTS;
                    let r = other.compared_values();
                    Mask::from_storage(compare(self.as_slice(), r, len, |$a, $b| $test))
                }
            )*
        }
    };
}

comparisons! {
    /// Whether each element is greater than `other`'s (PyTorch's `torch.gt`).
    ///
    /// `other` is a scalar, or a tensor (by value or by reference) whose shape broadcasts
    /// with this one's as for `+`; the mask has the broadcast shape. A `NaN` on either
    /// side compares `false` (IEEE 754, as PyTorch). Nothing is recorded: a mask has no
    /// gradient.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[1.0f64, 5.0], [f64::NAN, 3.0]]);
    /// let limits = Tensor::from_array([2.0, 2.0]);
    /// assert_eq!(x.gt(&limits).to_vec(), vec![false, true, false, true]);
    /// assert_eq!(x.gt(2.0), x.gt(&limits));
    /// ```
    gt => |a, b| a > b;
    /// Whether each element is less than `other`'s (PyTorch's `torch.lt`); broadcasting
    /// and `NaN` as for [`Tensor::gt`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, f32::NAN, 3.0]);
    /// assert_eq!(x.lt(2.0).to_vec(), vec![true, false, false]);
    /// ```
    lt => |a, b| a < b;
    /// Whether each element is greater than or equal to `other`'s (PyTorch's
    /// `torch.ge`); broadcasting and `NaN` as for [`Tensor::gt`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0, 3.0]);
    /// assert_eq!(x.ge(2.0).to_vec(), vec![false, true, true]);
    /// ```
    ge => |a, b| a >= b;
    /// Whether each element is less than or equal to `other`'s (PyTorch's `torch.le`);
    /// broadcasting and `NaN` as for [`Tensor::gt`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0, 3.0]);
    /// let y = Tensor::from_array([0.0, 2.0, 4.0]);
    /// assert_eq!(x.le(&y).to_vec(), vec![false, true, true]);
    /// ```
    le => |a, b| a <= b;
    /// Whether each element equals `other`'s (PyTorch's `torch.eq`; named `eq_elem`
    /// because `eq` is `PartialEq`'s whole-tensor equality). Broadcasting as for
    /// [`Tensor::gt`]; `NaN` equals nothing, itself included, and `-0.0` equals `0.0`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f64, f64::NAN, 0.0]);
    /// assert_eq!(x.eq_elem(&x).to_vec(), vec![true, false, true]);
    /// assert_eq!(x.eq_elem(-0.0).to_vec(), vec![false, false, true]);
    /// ```
    eq_elem => |a, b| a == b;
}

/// The elements of `a` where `mask` is `true` and of `b` where it is `false` (PyTorch's
/// `torch.where(mask, a, b)`).
///
/// The mask fixes the result's shape; `a` and `b` each have that shape or broadcast to it
/// as an operand of `+` would (a `Rank0` tensor stands for a scalar). A mask of another
/// shape does not compile. The gradient of each element goes to the operand it was taken
/// from, summed over the repeats of a broadcast one; the other operand gets 0 there,
/// whatever the incoming gradient (PyTorch's `WhereBackward0`: `where(mask, grad, 0)`, so
/// a NaN gradient is not spread to the operand that was not taken). A `NaN` in the
/// operand taken is the result; one in the operand not taken does not matter.
///
/// ```
/// use typegrad::gradcheck::{gradcheck, Tolerance};
/// use typegrad::prelude::*;
/// let x = Tensor::from_array([[-1.0f64, 2.0], [3.0, -4.0]]);
/// let cap = Tensor::from_array([0.5, 0.5]);
/// let positive = x.gt(0.0);
/// let y = where_(&positive, &x, &cap);
/// assert_eq!(y.to_vec(), vec![0.5, 2.0, 3.0, 0.5]);
///
/// let (xt, ct) = (x.track(), cap.track());
/// let grads = where_(&positive, &xt, &ct).sum().backward();
/// assert_eq!(grads.get(&xt).unwrap().to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
/// assert_eq!(grads.get(&ct).unwrap().to_vec(), vec![1.0, 1.0]);
/// assert_eq!(where_(&positive, &xt, &ct).grad_fn().unwrap().name(), "WhereBackward0");
/// // Both gradients agree with central finite differences:
/// let f = |(x, c): &(Tensor<Rank2<2, 2>, f64, Tracked>, Tensor<Rank1<2>, f64, Tracked>)| {
///     (where_(&positive, x, c) * x).sum()
/// };
/// gradcheck(f, &(x, cap), Tolerance::default()).unwrap();
/// ```
pub fn where_<S, SA, SB, E, TA, TB>(
    mask: &Mask<S>,
    a: &Tensor<SA, E, TA>,
    b: &Tensor<SB, E, TB>,
) -> Tensor<S, E, BinaryTape<TA, TB>>
where
    S: Shape,
    SA: BroadcastsTo<S>,
    SB: BroadcastsTo<S>,
    E: Element,
    TA: Tape + Merge<TB>,
    TB: Tape,
{
    Tensor::from_var(pick(&mask.data, a.operand(), b.operand()))
}

/// The elements of `a` where `mask` holds and of `b` elsewhere, each operand repeating
/// along the mask if it is shorter (broadcast), recorded if either is tracked.
pub(crate) fn pick<E: Element>(mask: &Arc<[bool]>, a: Operand<'_, E>, b: Operand<'_, E>) -> Var<E> {
    let (av, bv) = (a.values(), b.values());
    let len = mask.len();
    let data: Storage<E> = mask
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let from = if m { av } else { bv };
            from.get(repeated(i, from.len(), len))
                .copied()
                .unwrap_or_else(E::nan)
        })
        .collect();
    finish(data, [Some(a), Some(b)], |_| {
        Op::Where(WhereOp {
            mask: mask.clone(),
            lens: [av.len(), bv.len()],
        })
    })
}

/// A recorded `where_`: the mask, and the operands' lengths (a shorter one repeats).
#[derive(Clone)]
pub(crate) struct WhereOp {
    mask: Arc<[bool]>,
    lens: [usize; 2],
}

impl WhereOp {
    pub(crate) fn name(&self) -> &'static str {
        "WhereBackward0"
    }

    /// Each element's gradient to the operand it was taken from (operand 0 where the
    /// mask holds), at the position it repeats from.
    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let len = self.mask.len();
        for (k, taken) in [(0, true), (1, false)] {
            let Some(gx) = parents.get_mut(k) else {
                continue;
            };
            let n = gx.len();
            for (i, (&m, &g)) in self.mask.iter().zip(grad).enumerate() {
                if m == taken {
                    if let Some(slot) = gx.get_mut(repeated(i, n, len)) {
                        *slot = *slot + g;
                    }
                }
            }
        }
    }

    /// The gradients as recorded operations: `where(mask, g, 0)` and `where(mask, 0, g)`,
    /// each summed down to its operand's length. Their own backward is this rule again.
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let zero = Var::constant(Storage::from_slice(&[E::zero()]));
        let part = |k: usize| {
            node.tracked(k).then(|| {
                let taken = if k == 0 {
                    pick(&self.mask, g.operand(), zero.operand())
                } else {
                    pick(&self.mask, zero.operand(), g.operand())
                };
                sum_to(&taken, self.lens[k])
            })
        };
        [part(0), part(1)]
    }

    /// The tangent of each element is the tangent of the element it was taken from.
    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let len = self.mask.len();
        if len == 0 {
            return;
        }
        for (run, out) in out.chunks_exact_mut(len).take(batch).enumerate() {
            for (i, (o, &m)) in out.iter_mut().zip(self.mask.iter()).enumerate() {
                let k = if m { 0 } else { 1 };
                let n = self.lens[k];
                if let Some(t) = tangents[k] {
                    *o = t
                        .get(run * n + repeated(i, n, len))
                        .copied()
                        .unwrap_or_else(E::zero);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn comparisons_broadcast_both_ways_and_against_scalars() {
        let m = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        let v = Tensor::from_array([2.0f32, 5.0, 3.0]);
        let mv: Mask<Rank2<2, 3>> = m.ge(&v);
        assert_eq!(mv.to_vec(), vec![false, false, true, true, true, true]);
        let vm: Mask<Rank2<2, 3>> = v.lt(m.clone());
        assert_eq!(vm.to_vec(), vec![false, false, false, true, false, true]);
        let s = Tensor::<Rank0, f32>::full(4.0);
        assert_eq!(m.le(&s).to_vec(), m.le(4.0).to_vec());
        assert_eq!(m.eq_elem(4.0).count(), 1);
    }

    #[test]
    fn nan_compares_false_everywhere() {
        let x = Tensor::from_array([f64::NAN]);
        for mask in [x.gt(0.0), x.lt(0.0), x.ge(0.0), x.le(0.0), x.eq_elem(&x)] {
            assert_eq!(mask.to_vec(), vec![false]);
        }
        let inf = Tensor::from_array([f64::INFINITY]);
        assert!(inf.eq_elem(f64::INFINITY).all());
    }

    #[test]
    fn logical_operators() {
        let a = Mask::from_array([true, true, false, false]);
        let b = Mask::from_array([true, false, true, false]);
        assert_eq!((&a & &b).to_vec(), vec![true, false, false, false]);
        assert_eq!(
            (a.clone() | b.clone()).to_vec(),
            vec![true, true, true, false]
        );
        assert_eq!((!a).to_vec(), vec![false, false, true, true]);
        assert!(Mask::<Rank1<0>>::full(false).all());
        assert!(!Mask::<Rank1<0>>::full(true).any());
    }

    #[test]
    fn where_broadcasts_each_operand_and_sums_its_gradient() {
        let mask = Mask::from_array([[true, false, true], [false, false, true]]);
        let a = Tensor::from_array([1.0f64, 2.0, 3.0]).track();
        let b = Tensor::<Rank0, f64>::full(-1.0).track();
        let y = where_(&mask, &a, &b);
        assert_eq!(y.to_vec(), vec![1.0, -1.0, 3.0, -1.0, -1.0, 3.0]);
        let grads = y.sum().backward();
        assert_eq!(grads.get(&a).unwrap().to_vec(), vec![1.0, 0.0, 2.0]);
        assert_eq!(grads.get(&b).unwrap().item(), 3.0);
        let untracked = where_(&mask, &a.no_grad(), &b.no_grad());
        assert!(!untracked.requires_grad());
    }

    #[test]
    fn masks_print_as_pytorch() {
        let m = Mask::from_array([[true, false], [false, false]]);
        assert_eq!(
            format!("{m:?}"),
            "tensor([[ True, False],\n        [False, False]])"
        );
        assert_eq!(Mask::from_array(true).to_string(), "tensor(True)");
        assert_eq!(
            Mask::<Rank1<0>>::full(true).to_string(),
            "tensor([], dtype=torch.bool)"
        );
    }
}
