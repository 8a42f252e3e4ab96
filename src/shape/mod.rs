//! Shapes as types: [`Rank0`] to [`Rank4`], written with plain numbers.
//!
//! A shape is a zero-sized marker type. `Rank2<5, 3>` is a 5 x 3 matrix; its dimensions
//! are const generics, so error messages print them as the user wrote them and any size
//! compiles. The traits in [`constraint`] say which shapes an operation accepts.

pub mod constraint;

pub use constraint::{
    BatchSizesAgree, Broadcast, BroadcastsTo, ConcatAxis, HasAxis, InnerDimensionsAgree, MatMul,
    MatMulRanks, MatMulShapes, MatrixBatch, Permute2, Permute3, Permute4, Resize, ScalarShape,
    Stack, Unsqueeze,
};

use core::fmt::Debug;

use const_panic::concat_panic;

/// A tensor shape known at compile time.
///
/// Implemented by [`Rank0`], [`Rank1`], [`Rank2`], [`Rank3`] and [`Rank4`]; sealed, since
/// the operations rely on the layout these shapes describe (row-major, contiguous).
pub trait Shape: 'static + Copy + Default + Debug + Send + Sync + sealed::Sealed {
    /// Number of dimensions.
    const RANK: usize;
    /// The dimensions, outermost first (empty for [`Rank0`]).
    const DIMS: &'static [usize];
    /// Number of elements: the product of [`Shape::DIMS`] (1 for [`Rank0`]).
    const NUM_ELEMENTS: usize;

    /// The dimensions, outermost first.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// assert_eq!(Rank2::<5, 3>::dims(), &[5, 3]);
    /// ```
    fn dims() -> &'static [usize] {
        Self::DIMS
    }
}

pub(crate) mod sealed {
    /// Keeps [`super::Shape`] closed to the five ranks.
    pub trait Sealed {}
}

/// The product of `dims`. A shape whose product does not fit in a `usize` is a build
/// error naming the shape (wherever its element count is used), rather than rustc's
/// report of an overflowing multiplication.
const fn element_count(dims: &[usize]) -> usize {
    // A zero anywhere makes the product 0 even when the other dimensions would overflow.
    let mut k = 0;
    while k < dims.len() {
        if dims[k] == 0 {
            return 0;
        }
        k += 1;
    }
    let mut count: usize = 1;
    k = 0;
    while k < dims.len() {
        count = match count.checked_mul(dims[k]) {
            Some(count) => count,
            None => concat_panic! {
                "shape ", dims, " has more elements than a usize can count (at most ",
                usize::MAX, "), so no tensor can have this shape"
            },
        };
        k += 1;
    }
    count
}

/// A scalar: no dimensions, one element.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank0;

/// A vector of `N` elements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank1<const N: usize>;

/// An `M` x `N` matrix, stored row-major.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank2<const M: usize, const N: usize>;

/// A rank-3 tensor `A` x `B` x `C`, stored row-major (a batch of `A` matrices `B` x `C`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank3<const A: usize, const B: usize, const C: usize>;

/// A rank-4 tensor `A` x `B` x `C` x `D`, stored row-major.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rank4<const A: usize, const B: usize, const C: usize, const D: usize>;

impl sealed::Sealed for Rank0 {}
impl Shape for Rank0 {
    const RANK: usize = 0;
    const DIMS: &'static [usize] = &[];
    const NUM_ELEMENTS: usize = 1;
}

impl<const N: usize> sealed::Sealed for Rank1<N> {}
impl<const N: usize> Shape for Rank1<N> {
    const RANK: usize = 1;
    const DIMS: &'static [usize] = &[N];
    const NUM_ELEMENTS: usize = N;
}

impl<const M: usize, const N: usize> sealed::Sealed for Rank2<M, N> {}
impl<const M: usize, const N: usize> Shape for Rank2<M, N> {
    const RANK: usize = 2;
    const DIMS: &'static [usize] = &[M, N];
    const NUM_ELEMENTS: usize = element_count(Self::DIMS);
}

impl<const A: usize, const B: usize, const C: usize> sealed::Sealed for Rank3<A, B, C> {}
impl<const A: usize, const B: usize, const C: usize> Shape for Rank3<A, B, C> {
    const RANK: usize = 3;
    const DIMS: &'static [usize] = &[A, B, C];
    const NUM_ELEMENTS: usize = element_count(Self::DIMS);
}

impl<const A: usize, const B: usize, const C: usize, const D: usize> sealed::Sealed
    for Rank4<A, B, C, D>
{
}
impl<const A: usize, const B: usize, const C: usize, const D: usize> Shape for Rank4<A, B, C, D> {
    const RANK: usize = 4;
    const DIMS: &'static [usize] = &[A, B, C, D];
    const NUM_ELEMENTS: usize = element_count(Self::DIMS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_and_counts_follow_the_type() {
        assert_eq!(Rank0::DIMS, &[] as &[usize]);
        assert_eq!(Rank0::NUM_ELEMENTS, 1);
        assert_eq!(Rank1::<7>::NUM_ELEMENTS, 7);
        assert_eq!(Rank2::<2000, 3000>::NUM_ELEMENTS, 6_000_000);
        assert_eq!(Rank3::<2, 3, 4>::dims(), &[2, 3, 4]);
        assert_eq!(Rank4::<2, 3, 4, 5>::RANK, 4);
    }

    #[test]
    fn counts_near_the_usize_limit() {
        assert_eq!(Rank2::<{ usize::MAX }, 1>::NUM_ELEMENTS, usize::MAX);
        assert_eq!(Rank3::<{ usize::MAX }, 2, 0>::NUM_ELEMENTS, 0);
        assert_eq!(
            Rank4::<{ 1 << 32 }, { 1 << 31 }, 1, 1>::NUM_ELEMENTS,
            1 << 63
        );
    }
}
