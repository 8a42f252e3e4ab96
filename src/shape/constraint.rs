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
