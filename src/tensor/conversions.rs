//! What Rust users expect of a value type: typed arrays in and out (`to_array`, `From`
//! both ways), checked element access (`get`), `Default` (zeros) and `Sum` over an
//! iterator of tensors.

use core::iter::Sum;

use super::Tensor;
use crate::element::Element;
use crate::error::Error;
use crate::shape::{Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
use crate::tape::graph::GraphRef;
use crate::tape::{NoGrad, Tape};

/// The element at flat position `k`. Every caller passes `k < S::NUM_ELEMENTS`, the
/// storage's length; a NaN rather than a panic if that were ever wrong.
fn at<E: Element>(data: &[E], k: usize) -> E {
    data.get(k).copied().unwrap_or_else(E::nan)
}

impl<E: Element, const N: usize, T: Tape> Tensor<Rank1<N>, E, T> {
    /// The elements as an array, whatever the tape.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let v = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    /// let a: [f32; 3] = (&v * 2.0).to_array();
    /// assert_eq!(a, [2.0, 4.0, 6.0]);
    /// ```
    pub fn to_array(&self) -> [E; N] {
        let d = self.as_slice();
        core::array::from_fn(|i| at(d, i))
    }
}

impl<E: Element, const M: usize, const N: usize, T: Tape> Tensor<Rank2<M, N>, E, T> {
    /// The elements as nested arrays, rows first: `a[i][j]` is element `(i, j)`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::<Rank2<2, 3>, f64>::from_fn(|k| k as f64);
    /// assert_eq!(m.to_array(), [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]);
    /// assert_eq!(m.t().to_array()[2], [2.0, 5.0]);
    /// ```
    pub fn to_array(&self) -> [[E; N]; M] {
        let d = self.as_slice();
        core::array::from_fn(|i| core::array::from_fn(|j| at(d, i * N + j)))
    }
}

impl<E: Element, const A: usize, const B: usize, const C: usize, T: Tape>
    Tensor<Rank3<A, B, C>, E, T>
{
    /// The elements as nested arrays, outermost dimension first: `a[i][j][k]`.
    pub fn to_array(&self) -> [[[E; C]; B]; A] {
        let d = self.as_slice();
        core::array::from_fn(|i| {
            core::array::from_fn(|j| core::array::from_fn(|k| at(d, (i * B + j) * C + k)))
        })
    }
}

impl<E: Element, const A: usize, const B: usize, const C: usize, const D: usize, T: Tape>
    Tensor<Rank4<A, B, C, D>, E, T>
{
    /// The elements as nested arrays, outermost dimension first: `a[i][j][k][l]`.
    pub fn to_array(&self) -> [[[[E; D]; C]; B]; A] {
        let d = self.as_slice();
        core::array::from_fn(|i| {
            core::array::from_fn(|j| {
                core::array::from_fn(|k| {
                    core::array::from_fn(|l| at(d, ((i * B + j) * C + k) * D + l))
                })
            })
        })
    }
}

/// `From` both ways between a shape and its nested array: array to `NoGrad` tensor
/// (`Tensor::from_array`), tensor of any tape (by value or by reference) to array
/// (`to_array`, the value only).
macro_rules! array_conversions {
    ($shape:ty, $array:ty, [$(const $dim:ident),*]) => {
        impl<E: Element, $(const $dim: usize),*> From<$array> for Tensor<$shape, E, NoGrad> {
            fn from(array: $array) -> Self {
                Tensor::from_array(array)
            }
        }

        impl<E: Element, $(const $dim: usize,)* T: Tape> From<Tensor<$shape, E, T>> for $array {
            fn from(tensor: Tensor<$shape, E, T>) -> Self {
                tensor.to_array()
            }
        }

        impl<E: Element, $(const $dim: usize,)* T: Tape> From<&Tensor<$shape, E, T>> for $array {
            fn from(tensor: &Tensor<$shape, E, T>) -> Self {
                tensor.to_array()
            }
        }
    };
}
array_conversions!(Rank1<N>, [E; N], [const N]);
array_conversions!(Rank2<M, N>, [[E; N]; M], [const M, const N]);
array_conversions!(Rank3<A, B, C>, [[[E; C]; B]; A], [const A, const B, const C]);
array_conversions!(Rank4<A, B, C, D>, [[[[E; D]; C]; B]; A], [const A, const B, const C, const D]);

/// An index into a tensor of shape `S`: `i` or `[i]` for a [`Rank1`], `[i, j]` for a
/// [`Rank2`], `[i, j, k]` and `[i, j, k, l]` for ranks 3 and 4, `[]` for a [`Rank0`].
/// Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an index into a tensor of shape `{S}`",
    label = "one index per dimension",
    note = "index a `Rank1<N>` with `i`, a `Rank2<M, N>` with `[i, j]`, a `Rank3` with `[i, j, k]`, a `Rank4` with `[i, j, k, l]`"
)]
pub trait TensorIndex<S: Shape>: sealed::Sealed {
    /// The index per dimension.
    fn indices(&self) -> &[usize];
}

mod sealed {
    /// Keeps [`super::TensorIndex`] to `usize` and arrays of `usize`.
    pub trait Sealed {}
    impl Sealed for usize {}
    impl<const R: usize> Sealed for [usize; R] {}
}

impl<const N: usize> TensorIndex<Rank1<N>> for usize {
    fn indices(&self) -> &[usize] {
        core::slice::from_ref(self)
    }
}

/// [`TensorIndex`] for the arrays of one index per dimension.
macro_rules! array_index {
    ($($shape:ty, $rank:literal, [$(const $dim:ident),*];)*) => {$(
        impl<$(const $dim: usize),*> TensorIndex<$shape> for [usize; $rank] {
            fn indices(&self) -> &[usize] {
                self
            }
        }
    )*};
}
array_index! {
    Rank0, 0, [];
    Rank1<N>, 1, [const N];
    Rank2<M, N>, 2, [const M, const N];
    Rank3<A, B, C>, 3, [const A, const B, const C];
    Rank4<A, B, C, D>, 4, [const A, const B, const C, const D];
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The element at `index` (PyTorch's `x[i, j].item()`): `t.get(i)` on a vector,
    /// `t.get([i, j])` on a matrix.
    ///
    /// There is no `t[[i, j]]`: `Index` has to panic on an index out of range, and
    /// nothing in typegrad's API panics on well-typed input. The arrays of
    /// [`Tensor::to_array`] index as usual.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(m.get([1, 2])?, 6.0);
    /// let err = m.get([2, 0]).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "Tensor::get: index [2, 0] is out of bounds for a tensor of shape [2, 3]"
    /// );
    /// assert_eq!(Tensor::from_array([7.0f64, 8.0]).get(1)?, 8.0);
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfBounds`] naming the index and the shape if any index is not
    /// below its dimension.
    pub fn get<I: TensorIndex<S>>(&self, index: I) -> Result<E, Error> {
        let indices = index.indices();
        let out_of_bounds = || Error::IndexOutOfBounds {
            context: "Tensor::get",
            index: indices.to_vec(),
            dims: S::DIMS,
        };
        let mut flat = 0;
        for (&i, &dim) in indices.iter().zip(S::DIMS) {
            if i >= dim {
                return Err(out_of_bounds());
            }
            flat = flat * dim + i;
        }
        self.as_slice().get(flat).copied().ok_or_else(out_of_bounds)
    }
}

impl<S: Shape, E: Element> Default for Tensor<S, E, NoGrad> {
    /// Zeros, as [`Tensor::zeros`].
    fn default() -> Self {
        Self::zeros()
    }
}

/// The same value on the tape of a result computed from it alone (`Detached` becomes
/// `NoGrad`); a tracked tensor stays the same node of the same graph.
fn into_plain<S: Shape, E: Element, T: Tape>(x: &Tensor<S, E, T>) -> Tensor<S, E, T::Plain> {
    // `T::Plain` records exactly when `T` is `Tracked`, and then `x` has a graph
    // reference.
    let handle = <T::Plain as Tape>::handle_from(x.graph_ref().cloned(), S::NUM_ELEMENTS);
    Tensor::from_parts(x.storage().clone(), handle)
}

impl<S: Shape, E: Element, T: Tape> Sum<Tensor<S, E, T>> for Tensor<S, E, T::Plain> {
    /// The elementwise sum of the tensors, recorded as a chain of additions when they
    /// are tracked (gradients flow to every term). An empty iterator gives zeros: a plain
    /// value, or for `Tracked` tensors a new leaf of zeros.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::from_array([1.0f32, 2.0]).track();
    /// let total: Tensor<Rank1<2>, f32, Tracked> = (1..=3).map(|k| &x * k as f32).sum();
    /// assert_eq!(total.to_array(), [6.0, 12.0]);
    /// let grads = total.sum().backward();
    /// assert_eq!(grads.get(&x).unwrap().to_array(), [6.0, 6.0]);
    ///
    /// let none: Tensor<Rank1<2>, f32> = Vec::<Tensor<Rank1<2>, f32>>::new().into_iter().sum();
    /// assert_eq!(none, Tensor::zeros());
    /// ```
    fn sum<I: Iterator<Item = Tensor<S, E, T>>>(mut iter: I) -> Self {
        match iter.next() {
            Some(first) => iter.fold(into_plain(&first), |acc, x| acc + x),
            None => Tensor::from_parts(
                core::iter::repeat_n(E::zero(), S::NUM_ELEMENTS).collect(),
                // A new leaf where the tape records (ignored where it does not).
                <T::Plain as Tape>::handle_from(
                    Some(GraphRef::new_leaf(S::NUM_ELEMENTS)),
                    S::NUM_ELEMENTS,
                ),
            ),
        }
    }
}

impl<'a, S: Shape, E: Element, T: Tape> Sum<&'a Tensor<S, E, T>> for Tensor<S, E, T::Plain> {
    /// The elementwise sum of the tensors, as for an iterator of tensors by value.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let terms = [Tensor::from_array([1.0f64, 2.0]), Tensor::from_array([3.0, 4.0])];
    /// let total: Tensor<Rank1<2>, f64> = terms.iter().sum();
    /// assert_eq!(total.to_array(), [4.0, 6.0]);
    /// ```
    fn sum<I: Iterator<Item = &'a Tensor<S, E, T>>>(iter: I) -> Self {
        iter.cloned().sum()
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    #[test]
    fn arrays_round_trip_at_every_rank() {
        let a1 = [1.0f32, -2.0, 3.5];
        assert_eq!(Tensor::from(a1).to_array(), a1);
        let a2 = [[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let t2 = Tensor::from(a2);
        assert_eq!(<[[f64; 3]; 2]>::from(&t2), a2);
        assert_eq!(t2.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let t3 = Tensor::<Rank3<2, 3, 4>, f32>::from_fn(|k| k as f32);
        let a3 = t3.to_array();
        assert_eq!(a3[1][2][3], 23.0);
        assert_eq!(a3[0][1][0], 4.0);
        assert_eq!(Tensor::from(a3), t3);
        let t4 = Tensor::<Rank4<2, 1, 3, 2>, f64>::from_fn(|k| k as f64).track();
        let a4: [[[[f64; 2]; 3]; 1]; 2] = t4.clone().into();
        assert_eq!(a4[1][0][2][1], 11.0);
        assert_eq!(Tensor::from(a4), t4);
    }

    #[test]
    fn get_checks_every_dimension() {
        let t = Tensor::<Rank3<2, 3, 4>, f32>::from_fn(|k| k as f32);
        assert_eq!(t.get([1, 2, 3]), Ok(23.0));
        assert!(t.get([0, 3, 0]).is_err());
        assert!(t.get([0, 0, 4]).is_err());
        assert!(t.get([usize::MAX, 0, 0]).is_err());
        assert_eq!(Tensor::<Rank0, f64>::full(2.5).get([]), Ok(2.5));
        let v = Tensor::<Rank1<3>, f64>::arange();
        assert_eq!(v.get(2), v.get([2]));
        assert_eq!(
            v.get(3),
            Err(Error::IndexOutOfBounds {
                context: "Tensor::get",
                index: vec![3],
                dims: &[3]
            })
        );
        let empty = Tensor::<Rank2<0, 4>, f32>::zeros();
        assert!(empty.get([0, 0]).is_err());
    }

    #[test]
    fn default_is_zeros() {
        let t: Tensor<Rank2<2, 2>, f32> = Default::default();
        assert_eq!(t, Tensor::zeros());
    }

    #[test]
    fn sum_of_tensors_on_every_tape() {
        let a = Tensor::from_array([1.0f32, 2.0]);
        let b = Tensor::from_array([10.0f32, 20.0]);
        let plain: Tensor<Rank1<2>, f32> = [a.clone(), b.clone()].into_iter().sum();
        assert_eq!(plain.to_array(), [11.0, 22.0]);
        let detached: Tensor<Rank1<2>, f32, NoGrad> = [a.detach(), b.detach()].into_iter().sum();
        assert_eq!(detached, plain);

        let (at, bt) = (a.track(), b.track());
        let one: Tensor<Rank1<2>, f32, Tracked> = core::iter::once(at.clone()).sum();
        assert!(one.is_leaf(), "a single term is that term");
        let tracked: Tensor<Rank1<2>, f32, Tracked> = [&at, &bt, &at].into_iter().sum();
        assert_eq!(tracked.to_array(), [12.0, 24.0]);
        let grads = tracked.sum().backward();
        assert_eq!(grads.get(&at).unwrap().to_array(), [2.0, 2.0]);
        assert_eq!(grads.get(&bt).unwrap().to_array(), [1.0, 1.0]);

        let empty: Tensor<Rank1<2>, f32, Tracked> =
            core::iter::empty::<Tensor<_, f32, Tracked>>().sum();
        assert_eq!(empty.to_array(), [0.0, 0.0]);
        assert!(empty.requires_grad());
    }
}
