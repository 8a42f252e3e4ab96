//! Shape agreement as named trait bounds, so that a mismatch is an ordinary trait error
//! that `cargo check` and the editor report, with a message in plain words.

use super::{Rank0, Rank1, Rank2, Rank3, Rank4, Shape};

/// Shapes with exactly one element and no dimensions: only [`Rank0`].
///
/// `backward()` requires it, as PyTorch's `backward()` requires a scalar output.
#[diagnostic::on_unimplemented(
    message = "`backward()` needs a scalar (rank-0) tensor, but this tensor has shape `{Self}`",
    label = "this tensor is not a scalar",
    note = "reduce it to a scalar first with `.sum()` or `.mean()`, or call `.backward_with(seed)` with a seed of shape `{Self}` (a vector-Jacobian product)"
)]
pub trait ScalarShape: Shape {}

impl ScalarShape for Rank0 {}

/// Two shapes that an elementwise operation can combine, and the shape of the result.
///
/// Typegrad broadcasts implicitly along leading dimensions only: the smaller shape must
/// be a suffix of the larger one (`[3]` onto `[2, 3]`, `[]` onto anything), exactly the
/// NumPy rule restricted to missing leading dimensions. Broadcasting a dimension of size
/// 1 onto a larger one is explicit (`broadcast`), so that an accidental `[3, 1] + [1, 3]`
/// cannot silently build a 3 x 3 matrix.
#[diagnostic::on_unimplemented(
    message = "shapes `{Self}` and `{Rhs}` cannot be combined elementwise",
    label = "`{Rhs}` does not broadcast with `{Self}`",
    note = "elementwise operations need equal shapes, or one shape equal to the trailing dimensions of the other (for example `Rank1<3>` with `Rank2<2, 3>`)"
)]
pub trait Broadcast<Rhs: Shape>: Shape {
    /// The larger of the two shapes: the shape of the result.
    type Output: Shape;
}

impl<S: Shape> Broadcast<S> for S {
    type Output = S;
}

/// Implements [`Broadcast`] in both directions for a shape and a shape it is a suffix of.
macro_rules! suffix_broadcast {
    ($( [$($small:ident)*] [$($lead:ident)*] $smaller:ty => $larger:ty; )*) => {$(
        impl<$(const $lead: usize,)* $(const $small: usize,)*> Broadcast<$smaller> for $larger {
            type Output = $larger;
        }
        impl<$(const $lead: usize,)* $(const $small: usize,)*> Broadcast<$larger> for $smaller {
            type Output = $larger;
        }
    )*};
}

suffix_broadcast! {
    [] [N] Rank0 => Rank1<N>;
    [] [M N] Rank0 => Rank2<M, N>;
    [] [A B C] Rank0 => Rank3<A, B, C>;
    [] [A B C D] Rank0 => Rank4<A, B, C, D>;
    [N] [M] Rank1<N> => Rank2<M, N>;
    [N] [A B] Rank1<N> => Rank3<A, B, N>;
    [N] [A B C] Rank1<N> => Rank4<A, B, C, N>;
    [M N] [A] Rank2<M, N> => Rank3<A, M, N>;
    [M N] [A B] Rank2<M, N> => Rank4<A, B, M, N>;
    [B C D] [A] Rank3<B, C, D> => Rank4<A, B, C, D>;
}

/// Two shapes that `matmul` accepts, and the shape of the product.
///
/// | left | right | result |
/// |---|---|---|
/// | `Rank1<K>` | `Rank1<K>` | `Rank0` (dot product) |
/// | `Rank1<K>` | `Rank2<K, N>` | `Rank1<N>` (vector · matrix) |
/// | `Rank2<M, K>` | `Rank1<K>` | `Rank1<M>` (matrix · vector) |
/// | `Rank2<M, K>` | `Rank2<K, N>` | `Rank2<M, N>` |
/// | `Rank3<B, M, K>` | `Rank3<B, K, N>` | `Rank3<B, M, N>` (batched) |
/// | `Rank3<B, M, K>` | `Rank2<K, N>` | `Rank3<B, M, N>` (one matrix for the whole batch) |
#[diagnostic::on_unimplemented(
    message = "cannot multiply a `{Self}` by a `{Rhs}`: the inner dimensions differ or the ranks do not fit",
    label = "`{Rhs}` cannot be the right-hand side of a product with `{Self}`",
    note = "matmul needs the last dimension of the left operand to equal the first (or, for batches, the second-to-last) dimension of the right operand: `Rank2<M, K>` x `Rank2<K, N>` gives `Rank2<M, N>`"
)]
pub trait MatMulShapes<Rhs: Shape>: Shape {
    /// Shape of the product.
    type Output: Shape;
    /// Number of independent products (1 unless batched).
    const BATCH: usize;
    /// Rows of each left matrix.
    const M: usize;
    /// The contracted dimension.
    const K: usize;
    /// Columns of each right matrix.
    const N: usize;
    /// Whether the right operand advances with the batch (false: one shared matrix).
    const RHS_BATCHED: bool;
}

impl<const K: usize> MatMulShapes<Rank1<K>> for Rank1<K> {
    type Output = Rank0;
    const BATCH: usize = 1;
    const M: usize = 1;
    const K: usize = K;
    const N: usize = 1;
    const RHS_BATCHED: bool = false;
}

impl<const K: usize, const N: usize> MatMulShapes<Rank2<K, N>> for Rank1<K> {
    type Output = Rank1<N>;
    const BATCH: usize = 1;
    const M: usize = 1;
    const K: usize = K;
    const N: usize = N;
    const RHS_BATCHED: bool = false;
}

impl<const M: usize, const K: usize> MatMulShapes<Rank1<K>> for Rank2<M, K> {
    type Output = Rank1<M>;
    const BATCH: usize = 1;
    const M: usize = M;
    const K: usize = K;
    const N: usize = 1;
    const RHS_BATCHED: bool = false;
}

impl<const M: usize, const K: usize, const N: usize> MatMulShapes<Rank2<K, N>> for Rank2<M, K> {
    type Output = Rank2<M, N>;
    const BATCH: usize = 1;
    const M: usize = M;
    const K: usize = K;
    const N: usize = N;
    const RHS_BATCHED: bool = false;
}

impl<const B: usize, const M: usize, const K: usize, const N: usize> MatMulShapes<Rank3<B, K, N>>
    for Rank3<B, M, K>
{
    type Output = Rank3<B, M, N>;
    const BATCH: usize = B;
    const M: usize = M;
    const K: usize = K;
    const N: usize = N;
    const RHS_BATCHED: bool = true;
}

impl<const B: usize, const M: usize, const K: usize, const N: usize> MatMulShapes<Rank2<K, N>>
    for Rank3<B, M, K>
{
    type Output = Rank3<B, M, N>;
    const BATCH: usize = B;
    const M: usize = M;
    const K: usize = K;
    const N: usize = N;
    const RHS_BATCHED: bool = false;
}

/// Shapes that have axis `AXIS`; `Output` is the shape without it.
///
/// Reductions along an axis (`sum_axis::<1>()`) drop exactly that axis; softmax along an
/// axis keeps the shape but requires the axis to exist.
#[diagnostic::on_unimplemented(
    message = "a tensor of shape `{Self}` has no axis {AXIS}",
    label = "axis {AXIS} does not exist here",
    note = "axes are numbered from 0, outermost first: `Rank2<M, N>` has axes 0 (M) and 1 (N)"
)]
pub trait HasAxis<const AXIS: usize>: Shape {
    /// The shape with axis `AXIS` removed.
    type Removed: Shape;
}

/// Implements [`HasAxis`] for one shape and axis.
macro_rules! has_axis {
    ($([$($d:ident),*] $shape:ty, $axis:literal => $removed:ty;)*) => {$(
        impl<$(const $d: usize),*> HasAxis<$axis> for $shape {
            type Removed = $removed;
        }
    )*};
}

has_axis! {
    [N] Rank1<N>, 0 => Rank0;
    [M, N] Rank2<M, N>, 0 => Rank1<N>;
    [M, N] Rank2<M, N>, 1 => Rank1<M>;
    [A, B, C] Rank3<A, B, C>, 0 => Rank2<B, C>;
    [A, B, C] Rank3<A, B, C>, 1 => Rank2<A, C>;
    [A, B, C] Rank3<A, B, C>, 2 => Rank2<A, B>;
    [A, B, C, D] Rank4<A, B, C, D>, 0 => Rank3<B, C, D>;
    [A, B, C, D] Rank4<A, B, C, D>, 1 => Rank3<A, C, D>;
    [A, B, C, D] Rank4<A, B, C, D>, 2 => Rank3<A, B, D>;
    [A, B, C, D] Rank4<A, B, C, D>, 3 => Rank3<A, B, C>;
}

/// The layout of a shape around one axis: `outer` blocks of `len` x `inner` elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AxisLayout {
    pub(crate) outer: usize,
    pub(crate) len: usize,
    pub(crate) inner: usize,
}

impl AxisLayout {
    pub(crate) fn of<S: Shape>(axis: usize) -> Self {
        let dims = S::DIMS;
        let len = dims.get(axis).copied().unwrap_or(1);
        AxisLayout {
            outer: dims.iter().take(axis).product(),
            len,
            inner: dims.iter().skip(axis + 1).product(),
        }
    }

    /// The flat position of element `k` along the axis in lane (`o`, `i`).
    #[inline(always)]
    pub(crate) fn at(self, o: usize, k: usize, i: usize) -> usize {
        (o * self.len + k) * self.inner + i
    }
}
