//! The shapes that linear algebra accepts, as trait bounds with messages in words.

use crate::shape::{Rank0, Rank1, Rank2, Rank3, Shape};

/// A square matrix, `Rank2<N, N>`, or a batch of them, `Rank3<B, N, N>`: what the
/// factorisations, determinants and inverses take.
#[diagnostic::on_unimplemented(
    message = "this linear-algebra operation needs a square matrix, but the tensor has shape `{Self}`",
    label = "not a square matrix (or a batch of square matrices)",
    note = "it takes a `Rank2<N, N>`, or a batch `Rank3<B, N, N>` (one operation per matrix)"
)]
pub trait SquareMatrix: Shape {
    /// Rows and columns of each matrix.
    const N: usize;
    /// How many matrices (1 for a `Rank2`).
    const BATCH: usize;
    /// Whether the shape has a batch axis.
    const BATCHED: bool;
    /// One value per matrix: `Rank0`, or `Rank1<B>` for a batch (a determinant).
    type PerMatrix: Shape;
    /// One vector of `N` per matrix: `Rank1<N>`, or `Rank2<B, N>` (a diagonal).
    type PerRow: Shape;
}

impl<const N: usize> SquareMatrix for Rank2<N, N> {
    const N: usize = N;
    const BATCH: usize = 1;
    const BATCHED: bool = false;
    type PerMatrix = Rank0;
    type PerRow = Rank1<N>;
}

impl<const B: usize, const N: usize> SquareMatrix for Rank3<B, N, N> {
    const N: usize = N;
    const BATCH: usize = B;
    const BATCHED: bool = true;
    type PerMatrix = Rank1<B>;
    type PerRow = Rank2<B, N>;
}

/// The right-hand side of a system `A X = B` whose matrix has shape `A`: a vector or a
/// matrix with as many rows as `A` (for a batch `A`, one per matrix).
///
/// | `A` | `B` |
/// |---|---|
/// | `Rank2<N, N>` | `Rank1<N>`, `Rank2<N, K>` |
/// | `Rank3<Bt, N, N>` | `Rank2<Bt, N>` (a vector per matrix), `Rank3<Bt, N, K>` |
#[diagnostic::on_unimplemented(
    message = "a right-hand side of shape `{Self}` does not fit a system whose matrix has shape `{A}`",
    label = "not a right-hand side for a `{A}` matrix",
    note = "the right-hand side needs as many rows as the matrix: with `A: Rank2<N, N>`, `B: Rank1<N>` or `Rank2<N, K>`; with a batch `A: Rank3<Bt, N, N>`, `B: Rank2<Bt, N>` or `Rank3<Bt, N, K>`"
)]
pub trait RightHandSide<A: SquareMatrix>: Shape {
    /// Columns of each right-hand side (1 for a vector).
    const COLUMNS: usize;
}

impl<const N: usize> RightHandSide<Rank2<N, N>> for Rank1<N> {
    const COLUMNS: usize = 1;
}

impl<const N: usize, const K: usize> RightHandSide<Rank2<N, N>> for Rank2<N, K> {
    const COLUMNS: usize = K;
}

impl<const B: usize, const N: usize> RightHandSide<Rank3<B, N, N>> for Rank2<B, N> {
    const COLUMNS: usize = 1;
}

impl<const B: usize, const N: usize, const K: usize> RightHandSide<Rank3<B, N, N>>
    for Rank3<B, N, K>
{
    const COLUMNS: usize = K;
}
