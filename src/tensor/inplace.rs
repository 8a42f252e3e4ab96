//! In-place operations, on `NoGrad` and `Detached` tensors only, copy-on-write.
//!
//! A graph may have saved this tensor's storage for its backward pass; writing first
//! copies the storage if anything else holds it, so a saved value is never altered.
//! (PyTorch's `zd.add_(1)` on a detached view silently changes the original; here the
//! original keeps its value.) `Tracked` tensors have no in-place operations: the
//! [`Mutable`] bound makes that a compile error.

use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};
use std::sync::Arc;

use super::Tensor;
use crate::element::Element;
use crate::error::Error;
use crate::shape::{Broadcast, Shape};
use crate::tape::{Mutable, Tape};

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The elements, writable; copies them first if the storage is shared.
    pub fn as_mut_slice(&mut self) -> &mut [E]
    where
        T: Mutable,
    {
        Arc::make_mut(&mut self.data)
    }

    /// Sets every element to `value` (PyTorch's `fill_`).
    pub fn fill(&mut self, value: E)
    where
        T: Mutable,
    {
        self.as_mut_slice().fill(value);
    }

    /// Sets the element at flat row-major position `index`; an error if it is outside
    /// the tensor.
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
    pub fn add_scaled<S2: Shape, T2: Tape>(&mut self, alpha: E, other: &Tensor<S2, E, T2>)
    where
        S: Broadcast<S2, Output = S>,
        T: Mutable,
    {
        let other = other.as_slice();
        let n = other.len().max(1);
        for (k, x) in self.as_mut_slice().iter_mut().enumerate() {
            *x = *x + alpha * other[k % n];
        }
    }
}

/// Implements a compound assignment with a scalar and with a (broadcast) tensor.
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
            T2: Tape,
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
}
