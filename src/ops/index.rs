//! Integer indices: the typed index tensor [`Indices`]; `gather` along an axis (PyTorch's
//! `torch.gather`); `argmax` and `argmin` of the whole tensor and along an axis; and the
//! maximum and minimum along an axis together with the indices they chose (PyTorch's
//! `x.max(dim)`).
//!
//! Indices are plain values (no gradient). `gather` is recorded as a gather of positions
//! (`GatherBackward0`, its backward a scatter-add), and `max_axis_with_indices` exactly as
//! `max_axis` is (`MaxBackward0`), so neither needs rules of its own.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use crate::element::Element;
use crate::error::Error;
use crate::ops::axis::extremum_at;
use crate::ops::layout;
use crate::ops::select::{checked_storage, flatten, NestedValues};
use crate::shape::constraint::{check_gather, check_lanes_not_empty, check_not_empty, AxisLayout};
use crate::shape::{HasAxis, Shape};
use crate::tape::{Tape, UnaryTape};
use crate::tensor::Tensor;

/// A tensor of shape `S` holding `usize` indices: what `argmax` along an axis returns,
/// and the index of [`Tensor::gather`]. Immutable (the storage is shared: `clone`
/// copies nothing) and not differentiable. It prints as PyTorch prints an `int64`
/// tensor: `tensor([0, 2, 1])`.
///
/// An `Indices` holds any `usize`; whether each is in range is checked where it is used
/// (`gather` returns an [`Error`] naming the first that is not).
///
/// ```
/// use typegrad::prelude::*;
/// let x = Tensor::from_array([[1.0f32, 7.0, 3.0], [9.0, 0.0, 2.0]]);
/// let best: Indices<Rank1<2>> = x.argmax_axis::<1>();
/// assert_eq!(best, Indices::from_array([1, 0]));
/// assert_eq!(best.to_string(), "tensor([1, 0])");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Indices<S: Shape> {
    data: Arc<[usize]>,
    shape: PhantomData<S>,
}

impl<S: Shape> Indices<S> {
    /// Indices of this storage, whose length is `S::NUM_ELEMENTS` at every call site.
    pub(crate) fn from_storage(data: Arc<[usize]>) -> Self {
        debug_assert_eq!(data.len(), S::NUM_ELEMENTS);
        Indices {
            data,
            shape: PhantomData,
        }
    }

    /// Indices from nested arrays of `usize`, whose nesting gives the shape.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let i = Indices::from_array([[0, 2], [1, 1]]);
    /// assert_eq!(i.dims(), &[2, 2]);
    /// ```
    pub fn from_array<A: NestedValues<usize, Shape = S>>(array: A) -> Self {
        Indices::from_storage(flatten(&array))
    }

    /// Indices from their values in row-major order.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `values` does not hold `S::NUM_ELEMENTS` values.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let i = Indices::<Rank1<3>>::from_vec(vec![2, 0, 1])?;
    /// assert_eq!(i.as_slice(), &[2, 0, 1]);
    /// assert!(Indices::<Rank1<3>>::from_vec(vec![0]).is_err());
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    pub fn from_vec(values: Vec<usize>) -> Result<Self, Error> {
        checked_storage(values, "Indices::from_vec", S::DIMS, S::NUM_ELEMENTS)
            .map(Indices::from_storage)
    }

    /// Indices whose value at each flat (row-major) position `i` is `f(i)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let reversed = Indices::<Rank1<3>>::from_fn(|i| 2 - i);
    /// assert_eq!(reversed.to_vec(), vec![2, 1, 0]);
    /// ```
    pub fn from_fn(f: impl FnMut(usize) -> usize) -> Self {
        Indices::from_storage((0..S::NUM_ELEMENTS).map(f).collect())
    }

    /// Indices with every value `value`.
    pub fn full(value: usize) -> Self {
        Indices::from_storage(core::iter::repeat_n(value, S::NUM_ELEMENTS).collect())
    }

    /// The values in row-major order.
    pub fn as_slice(&self) -> &[usize] {
        &self.data
    }

    /// The values in row-major order, copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<usize> {
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
}

impl<S: Shape> fmt::Display for Indices<S> {
    /// Prints as PyTorch prints an `int64` tensor: `tensor([0, 2, 1])`; indices of no
    /// values say their type, `tensor([], dtype=torch.int64)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = if self.data.is_empty() {
            ", dtype=torch.int64"
        } else {
            ""
        };
        crate::display::write_tensor(f, &self.data, S::DIMS, suffix)
    }
}

impl<S: Shape> fmt::Debug for Indices<S> {
    /// The same text as `Display`: PyTorch's `repr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; dims.len()];
    for k in (0..dims.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * dims[k + 1];
    }
    strides
}

/// For each position of an index tensor of shape `index_dims` holding `index`, the flat
/// position in a tensor of shape `dims` that `gather` along `axis` reads: the same
/// coordinates, with the one along `axis` replaced by the index.
///
/// # Errors
/// [`Error::IndexOutOfBounds`] at the first index not below the axis' length, with the
/// coordinates it would read.
fn gather_positions(
    dims: &'static [usize],
    index_dims: &[usize],
    index: &[usize],
    axis: usize,
) -> Result<Arc<[usize]>, Error> {
    let len = dims.get(axis).copied().unwrap_or(0);
    let (from, by) = (strides(dims), strides(index_dims));
    let coordinates = |p: usize, at: usize| -> Vec<usize> {
        (0..index_dims.len())
            .map(|d| {
                if d == axis {
                    at
                } else {
                    (p / by[d]) % index_dims[d].max(1)
                }
            })
            .collect()
    };
    index
        .iter()
        .enumerate()
        .map(|(p, &at)| {
            if at >= len {
                return Err(Error::IndexOutOfBounds {
                    context: "Tensor::gather",
                    index: coordinates(p, at),
                    dims,
                });
            }
            Ok(coordinates(p, at)
                .iter()
                .zip(&from)
                .map(|(c, s)| c * s)
                .sum())
        })
        .collect()
}

/// The position along the axis of each lane's first maximum (or minimum), or of its first
/// NaN if it holds one (a NaN is never passed over, as PyTorch's `argmax` returns it).
/// A lane of no elements gets 0 (the typed methods rule those out at build time).
fn lane_picks<E: Element>(x: &[E], l: AxisLayout, is_max: bool) -> Vec<usize> {
    let inner = l.inner.max(1);
    (0..l.outer * l.inner)
        .map(|lane| {
            let (o, i) = (lane / inner, lane % inner);
            let mut best = 0;
            for k in 1..l.len {
                let (v, b) = (x[l.at(o, k, i)], x[l.at(o, best, i)]);
                if b.is_nan() {
                    break;
                }
                let better = if is_max { v > b } else { v < b };
                if better || v.is_nan() {
                    best = k;
                }
            }
            best
        })
        .collect()
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The elements picked along axis `AXIS` by `index` (PyTorch's
    /// `torch.gather(x, AXIS, index)`): for a rank-2 `x` along axis 1,
    /// `out[i][j] = x[i][index[i][j]]`. The result has the index's shape `SI`, which has
    /// the same number of axes as `x` and, but for axis `AXIS`, none longer than `x`'s
    /// (checked when the program is built). The gradient adds each element's gradient
    /// into the position it was read from (`GatherBackward0`: a scatter-add; positions
    /// read twice get both).
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if an index is not below the length of axis `AXIS`;
    /// the error gives the coordinates it would have read.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let index = Indices::from_array([[2, 0], [1, 1]]);
    /// let picked: Tensor<Rank2<2, 2>, f64> = x.gather::<1, _>(&index)?;
    /// assert_eq!(picked.to_vec(), vec![3.0, 1.0, 5.0, 5.0]);
    ///
    /// let xt = x.track();
    /// let grads = xt.gather::<1, _>(&index)?.sum().backward();
    /// assert_eq!(grads.get(&xt).unwrap().to_vec(), vec![1.0, 0.0, 1.0, 0.0, 2.0, 0.0]);
    /// gradcheck(|x| x.gather::<1, _>(&index).unwrap().powf(2.0).sum(), &x, Tolerance::default())
    ///     .unwrap();
    ///
    /// let err = x.gather::<1, _>(&Indices::from_array([[0], [3]])).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "Tensor::gather: index [1, 3] is out of bounds for a tensor of shape [2, 3]"
    /// );
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    pub fn gather<const AXIS: usize, SI: Shape>(
        &self,
        index: &Indices<SI>,
    ) -> Result<Tensor<SI, E, UnaryTape<T>>, Error>
    where
        S: HasAxis<AXIS>,
    {
        const { check_gather(S::DIMS, SI::DIMS, AXIS) };
        let map = gather_positions(S::DIMS, SI::DIMS, &index.data, AXIS)?;
        Ok(Tensor::from_var(layout::gather(
            self.operand(),
            map,
            "GatherBackward0",
        )))
    }

    /// The flat (row-major) position of the largest element, the first among ties
    /// (PyTorch's `argmax()`). A `NaN` counts as the largest: the first `NaN`'s position
    /// is returned, as PyTorch does. A tensor with no elements does not build.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[1.0f32, 7.0], [7.0, 0.0]]);
    /// assert_eq!(x.argmax(), 1);
    /// assert_eq!(Tensor::from_array([1.0f64, f64::NAN, 9.0, f64::NAN]).argmax(), 1);
    /// ```
    pub fn argmax(&self) -> usize {
        const { check_not_empty("argmax", S::DIMS, S::NUM_ELEMENTS) };
        self.flat_pick(true)
    }

    /// The flat (row-major) position of the smallest element, the first among ties
    /// (PyTorch's `argmin()`); the first `NaN`'s position if there is one, as PyTorch
    /// does. A tensor with no elements does not build.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// assert_eq!(Tensor::from_array([3.0f32, -1.0, -1.0]).argmin(), 1);
    /// assert_eq!(Tensor::from_array([3.0f32, f32::NAN, -1.0]).argmin(), 1);
    /// ```
    pub fn argmin(&self) -> usize {
        const { check_not_empty("argmin", S::DIMS, S::NUM_ELEMENTS) };
        self.flat_pick(false)
    }

    /// The position of the whole tensor's extremum (one lane of every element).
    fn flat_pick(&self, is_max: bool) -> usize {
        let l = AxisLayout {
            outer: 1,
            len: S::NUM_ELEMENTS,
            inner: 1,
        };
        lane_picks(self.as_slice(), l, is_max)
            .first()
            .copied()
            .unwrap_or(0)
    }

    /// The position along axis `AXIS` of each lane's largest element, the first among
    /// ties, or of its first `NaN` (PyTorch's `argmax(dim)`). An axis of length 0 (with
    /// lanes to reduce) does not build.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[1.0f64, 5.0, 5.0], [f64::NAN, 2.0, f64::NAN]]);
    /// assert_eq!(x.argmax_axis::<1>().to_vec(), vec![1, 0]);
    /// assert_eq!(x.argmax_axis::<0>().to_vec(), vec![1, 0, 1]);
    /// ```
    pub fn argmax_axis<const AXIS: usize>(&self) -> Indices<<S as HasAxis<AXIS>>::Removed>
    where
        S: HasAxis<AXIS>,
    {
        const { check_lanes_not_empty("argmax_axis", S::DIMS, AXIS) };
        let picks = lane_picks(self.as_slice(), AxisLayout::of::<S>(AXIS), true);
        Indices::from_storage(picks.into())
    }

    /// The position along axis `AXIS` of each lane's smallest element, the first among
    /// ties, or of its first `NaN` (PyTorch's `argmin(dim)`). An axis of length 0 (with
    /// lanes to reduce) does not build.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[4.0f32, 1.0], [1.0, 3.0]]);
    /// assert_eq!(x.argmin_axis::<1>().to_vec(), vec![1, 0]);
    /// ```
    pub fn argmin_axis<const AXIS: usize>(&self) -> Indices<<S as HasAxis<AXIS>>::Removed>
    where
        S: HasAxis<AXIS>,
    {
        const { check_lanes_not_empty("argmin_axis", S::DIMS, AXIS) };
        let picks = lane_picks(self.as_slice(), AxisLayout::of::<S>(AXIS), false);
        Indices::from_storage(picks.into())
    }

    /// The maximum along axis `AXIS` and where each lane's was found (PyTorch's
    /// `x.max(dim)`, which returns values and indices). The index is the first among
    /// ties, or the first `NaN`'s; the values are exactly [`Tensor::max_axis`]'s, recorded
    /// the same way (`MaxBackward0`): each lane's gradient goes to the returned index. A
    /// lane holding a `NaN` gives `NaN` gradients to all its elements, as `max_axis` does
    /// (PyTorch sends the gradient to the `NaN`'s index alone). An axis of length 0 (with
    /// lanes to reduce) does not build.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[1.0f64, 5.0, 5.0], [7.0, 2.0, 3.0]]);
    /// let (values, indices) = x.track().max_axis_with_indices::<1>();
    /// assert_eq!(values.to_vec(), vec![5.0, 7.0]);
    /// assert_eq!(indices.to_vec(), vec![1, 0]);
    /// assert_eq!(values.grad_fn().unwrap().name(), "MaxBackward0");
    /// // Its gradient agrees with central finite differences (no ties within a step):
    /// let distinct = Tensor::from_array([[1.0f64, 5.0, 4.0], [7.0, 2.0, 3.0]]);
    /// gradcheck(|x| x.max_axis_with_indices::<1>().0.powf(2.0).sum(), &distinct, Tolerance::default())
    ///     .unwrap();
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn max_axis_with_indices<const AXIS: usize>(
        &self,
    ) -> (
        Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>,
        Indices<<S as HasAxis<AXIS>>::Removed>,
    )
    where
        S: HasAxis<AXIS>,
    {
        const { check_lanes_not_empty("max_axis_with_indices", S::DIMS, AXIS) };
        self.extremum_with_indices::<AXIS>(true)
    }

    /// The minimum along axis `AXIS` and where each lane's was found (PyTorch's
    /// `x.min(dim)`); as [`Tensor::max_axis_with_indices`] (`MinBackward0`).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([[4.0f64, 1.0], [2.0, 3.0]]);
    /// let (values, indices) = x.min_axis_with_indices::<0>();
    /// assert_eq!(values.to_vec(), vec![2.0, 1.0]);
    /// assert_eq!(indices.to_vec(), vec![1, 0]);
    /// gradcheck(|x| x.min_axis_with_indices::<0>().0.exp().sum(), &x, Tolerance::default())
    ///     .unwrap();
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn min_axis_with_indices<const AXIS: usize>(
        &self,
    ) -> (
        Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>,
        Indices<<S as HasAxis<AXIS>>::Removed>,
    )
    where
        S: HasAxis<AXIS>,
    {
        const { check_lanes_not_empty("min_axis_with_indices", S::DIMS, AXIS) };
        self.extremum_with_indices::<AXIS>(false)
    }

    /// The extremum of each lane along `AXIS`, recorded, and the positions chosen.
    #[allow(clippy::type_complexity)]
    fn extremum_with_indices<const AXIS: usize>(
        &self,
        is_max: bool,
    ) -> (
        Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>,
        Indices<<S as HasAxis<AXIS>>::Removed>,
    )
    where
        S: HasAxis<AXIS>,
    {
        let l = AxisLayout::of::<S>(AXIS);
        let picks = lane_picks(self.as_slice(), l, is_max);
        let values = extremum_at(self.operand(), l, &picks, is_max);
        (
            Tensor::from_var(values),
            Indices::from_storage(picks.into()),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn gather_along_each_axis_of_a_rank3() {
        let x = Tensor::<Rank3<2, 3, 4>, f64>::from_fn(|i| i as f64);
        // Axis 0: out[a][b][c] = x[index[a][b][c]][b][c].
        let i0 = Indices::<Rank3<1, 2, 2>>::from_array([[[1, 0], [0, 1]]]);
        let g0 = x.gather::<0, _>(&i0).unwrap();
        assert_eq!(g0.to_vec(), vec![12.0, 1.0, 4.0, 17.0]);
        // Axis 2, index shorter on every axis.
        let i2 = Indices::<Rank3<1, 1, 3>>::from_array([[[3, 3, 0]]]);
        assert_eq!(x.gather::<2, _>(&i2).unwrap().to_vec(), vec![3.0, 3.0, 0.0]);
        let bad = Indices::<Rank3<1, 1, 1>>::from_array([[[4]]]);
        assert_eq!(
            x.gather::<2, _>(&bad).unwrap_err(),
            Error::IndexOutOfBounds {
                context: "Tensor::gather",
                index: vec![0, 0, 4],
                dims: &[2, 3, 4],
            }
        );
    }

    #[test]
    fn gather_with_an_empty_index_and_from_an_empty_axis() {
        let x = Tensor::<Rank2<2, 3>, f32>::ones();
        let none = Indices::<Rank2<2, 0>>::full(0);
        assert_eq!(x.gather::<1, _>(&none).unwrap().numel(), 0);
        let empty = Tensor::<Rank2<2, 0>, f32>::zeros();
        let one = Indices::<Rank2<2, 1>>::full(0);
        assert!(empty.gather::<1, _>(&one).is_err());
    }

    #[test]
    fn extremum_indices_match_the_values_and_pytorch_on_nan() {
        let x = Tensor::from_array([[3.0f32, f32::NAN, 1.0], [2.0, 2.0, -1.0]]);
        let (max, at) = x.max_axis_with_indices::<1>();
        assert!(max.as_slice()[0].is_nan());
        assert_eq!(max.as_slice()[1], 2.0);
        assert_eq!(at.to_vec(), vec![1, 0]);
        let (min, at) = x.min_axis_with_indices::<1>();
        assert!(min.as_slice()[0].is_nan());
        assert_eq!(min.as_slice()[1], -1.0);
        assert_eq!(at.to_vec(), vec![1, 2]);
        assert_eq!(x.argmin(), 1);
        assert_eq!(Tensor::from_array([2.0f32]).argmax(), 0);
        let none = Tensor::<Rank2<0, 3>, f32>::zeros();
        assert_eq!(none.argmax_axis::<1>().numel(), 0);
    }

    #[test]
    fn indices_print_as_pytorch() {
        let i = Indices::from_array([[0, 12], [3, 4]]);
        assert_eq!(format!("{i:?}"), "tensor([[ 0, 12],\n        [ 3,  4]])");
        assert_eq!(Indices::from_array(5).to_string(), "tensor(5)");
        assert_eq!(
            Indices::<Rank1<0>>::full(0).to_string(),
            "tensor([], dtype=torch.int64)"
        );
    }
}
