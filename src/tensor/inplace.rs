//! In-place operations, on `NoGrad` and `Detached` tensors only, copy-on-write.
//!
//! A graph may have saved this tensor's storage for its backward pass; writing first
//! copies the storage if anything else holds it, so a saved value is never altered.
//! (PyTorch's `zd.add_(1)` on a detached view silently changes the original; here the
//! original keeps its value.) `Tracked` tensors have no in-place operations: the
//! [`Mutable`] bound makes that a compile error.
//!
//! A tensor argument must not be `Tracked` either ([`InPlaceSource`]): the updated tensor
//! records nothing, so the argument's gradient path would end without a word. Writing
//! `.detach()` on the argument says that this is meant.

use alloc::vec;
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use super::Tensor;
use crate::element::Element;
use crate::error::Error;
use crate::shape::{Broadcast, Shape};
use crate::tape::{InPlaceSource, Mutable, Tape};

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The elements, writable; copies them first if the storage is shared.
    pub fn as_mut_slice(&mut self) -> &mut [E]
    where
        T: Mutable,
    {
        self.data.make_mut()
    }

    /// Sets every element to `value` (PyTorch's `fill_`).
    pub fn fill(&mut self, value: E)
    where
        T: Mutable,
    {
        self.as_mut_slice().fill(value);
    }

    /// Sets the element at flat row-major position `index` (element `(i, j)` of an
    /// `M` x `N` matrix is at `i * N + j`); [`Tensor::get`] reads one.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if `index` is not below the number of elements.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let mut m = Tensor::<Rank2<2, 3>, f32>::zeros();
    /// m.set(1 * 3 + 2, 5.0)?;
    /// assert_eq!(m.get([1, 2])?, 5.0);
    /// assert!(m.set(6, 1.0).is_err());
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    pub fn set(&mut self, index: usize, value: E) -> Result<(), Error>
    where
        T: Mutable,
    {
        match self.as_mut_slice().get_mut(index) {
            Some(slot) => {
                *slot = value;
                Ok(())
            }
            None => Err(Error::IndexOutOfBounds {
                context: "Tensor::set",
                index: vec![index],
                dims: S::DIMS,
            }),
        }
    }

    /// Replaces every element `x` by `f(x)`.
    pub fn map_inplace(&mut self, f: impl FnMut(E) -> E)
    where
        T: Mutable,
    {
        let mut f = f;
        self.as_mut_slice().iter_mut().for_each(|x| *x = f(*x));
    }

    /// Adds `alpha * other` (broadcast onto this shape), as an optimizer's update does
    /// (PyTorch's `add_(other, alpha=...)`).
    ///
    /// `other` must not be `Tracked`: call `.detach()` on it to drop its gradient
    /// explicitly.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let mut w = Tensor::from_array([1.0f32, 2.0]);
    /// w.add_scaled(-0.5, &Tensor::from_array([2.0f32, 2.0]));
    /// assert_eq!(w.to_vec(), vec![0.0, 1.0]);
    /// ```
    pub fn add_scaled<S2: Shape, T2>(&mut self, alpha: E, other: &Tensor<S2, E, T2>)
    where
        S: Broadcast<S2, Output = S>,
        T: Mutable,
        T2: InPlaceSource,
    {
        let other = other.as_slice();
        let n = other.len().max(1);
        for (k, x) in self.as_mut_slice().iter_mut().enumerate() {
            *x = *x + alpha * other[k % n];
        }
    }

    /// Overwrites every element with `src`'s, broadcast onto this shape as for `+=`
    /// (PyTorch's `copy_`).
    ///
    /// `src` must not be `Tracked`: call `.detach()` on it to drop its gradient
    /// explicitly.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let mut m = Tensor::<Rank2<2, 2>, f32>::zeros();
    /// m.copy_from(&Tensor::from_array([1.0f32, 2.0]));
    /// assert_eq!(m.to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// let w = Tensor::from_array([[5.0f32, 6.0], [7.0, 8.0]]).track();
    /// m.copy_from(&w.detach());
    /// assert_eq!(m.to_vec(), vec![5.0, 6.0, 7.0, 8.0]);
    /// ```
    pub fn copy_from<S2: Shape, T2>(&mut self, src: &Tensor<S2, E, T2>)
    where
        S: Broadcast<S2, Output = S>,
        T: Mutable,
        T2: InPlaceSource,
    {
        if S2::NUM_ELEMENTS == S::NUM_ELEMENTS {
            // Same shape: sharing the storage is a copy, since every later write to
            // either tensor copies first (`Arc::make_mut`).
            self.data = src.storage().clone();
        } else {
            let src = src.as_slice();
            let n = src.len().max(1);
            for (k, x) in self.as_mut_slice().iter_mut().enumerate() {
                *x = src[k % n];
            }
        }
    }
}

/// Implements a compound assignment with a scalar and with a (broadcast) tensor.
///
/// The argument's tape is a parameter bounded by [`InPlaceSource`] rather than one impl
/// per untracked tape, so that a `Tracked` argument still matches the impl and rustc
/// reports the unmet bound with its message (which says to `.detach()`), not a list of
/// the impls that exist.
macro_rules! assign_ops {
    ($($trait:ident $method:ident $op:tt;)*) => {$(
        impl<S: Shape, E: Element, T: Mutable> $trait<E> for Tensor<S, E, T> {
            fn $method(&mut self, rhs: E) {
                self.as_mut_slice().iter_mut().for_each(|x| *x = *x $op rhs);
            }
        }

        impl<S, S2, E, T, T2> $trait<&Tensor<S2, E, T2>> for Tensor<S, E, T>
        where
            S: Shape + Broadcast<S2, Output = S>,
            S2: Shape,
            E: Element,
            T: Mutable,
            T2: InPlaceSource,
        {
            fn $method(&mut self, rhs: &Tensor<S2, E, T2>) {
                let rhs = rhs.as_slice();
                let n = rhs.len().max(1);
                for (k, x) in self.as_mut_slice().iter_mut().enumerate() {
                    *x = *x $op rhs[k % n];
                }
            }
        }
    )*};
}

assign_ops! {
    AddAssign add_assign +;
    SubAssign sub_assign -;
    MulAssign mul_assign *;
    DivAssign div_assign /;
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn detached_add_is_copy_on_write() {
        let z = Tensor::<Rank1<3>, f32>::from_array([1.0, 2.0, 3.0]).track() * 1.0;
        let mut zd = z.detach();
        zd += 1.0;
        assert_eq!(zd.to_vec(), vec![2.0, 3.0, 4.0]);
        assert_eq!(z.to_vec(), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn broadcast_assign_and_set() {
        let mut m = Tensor::<Rank2<2, 2>, f64>::zeros();
        m += &Tensor::<Rank1<2>, f64>::from_array([1.0, 2.0]);
        assert_eq!(m.to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
        assert!(m.set(4, 1.0).is_err());
        m.add_scaled(-0.5, &Tensor::<Rank2<2, 2>, f64>::ones());
        assert_eq!(m.to_vec(), vec![0.5, 1.5, 0.5, 1.5]);
    }

    #[test]
    fn untracked_arguments_update_in_place() {
        let w = Tensor::from_array([2.0f64]).track();
        let x = Tensor::from_array([1.0f64]);
        let mut acc = Tensor::<Rank1<1>, f64>::zeros();
        acc += &(&w * &x).detach();
        acc += &x;
        acc -= &Tensor::from_array([0.5f64]);
        acc *= &w.detach();
        acc /= &Tensor::from_array([5.0f64]);
        assert_eq!(acc.to_vec(), vec![1.0]);
        acc.add_scaled(2.0, &w.detach());
        assert_eq!(acc.to_vec(), vec![5.0]);
        // The detach is explicit, so is the lost path: d/dw (acc * w) = acc.
        let g = (&acc * &w).sum().backward().get(&w).unwrap().to_vec();
        assert_eq!(g, vec![5.0]);
    }

    #[test]
    fn keeping_the_gradient_means_a_new_tracked_value() {
        let w = Tensor::from_array([2.0f64]).track();
        let x = Tensor::from_array([1.0f64]);
        let acc = Tensor::<Rank1<1>, f64>::zeros();
        let acc = &acc + &(&w * &x);
        let g = (&acc * &w).sum().backward().get(&w).unwrap().to_vec();
        assert_eq!(g, vec![4.0]);
    }

    #[test]
    fn copy_from_broadcasts_and_is_copy_on_write() {
        let mut m = Tensor::<Rank2<2, 3>, f32>::zeros();
        m.copy_from(&Tensor::from_array([1.0f32, 2.0, 3.0]));
        assert_eq!(m.to_vec(), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        m.copy_from(&Tensor::<Rank0, f32>::full(7.0));
        assert_eq!(m.to_vec(), vec![7.0; 6]);

        let w = Tensor::<Rank2<2, 3>, f32>::ones().track();
        m.copy_from(&w.detach());
        m += 1.0;
        assert_eq!(m.to_vec(), vec![2.0; 6]);
        assert_eq!(w.to_vec(), vec![1.0; 6]);
    }
}
