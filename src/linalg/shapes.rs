//! The shapes that linear algebra accepts, as trait bounds with messages in words, and
//! the one check that needs arithmetic on dimensions (a tall matrix for `qr` and
//! `lstsq`), as a `const` assertion that names both numbers.

use const_panic::concat_panic;

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

/// A matrix of any shape, `Rank2<M, N>`, or a batch of them, `Rank3<B, M, N>`: what
/// [`crate::Tensor::qr`] and [`crate::Tensor::lstsq`] take. (They also need `M >= N`,
/// checked when the program is built: a `const` assertion names both numbers.)
#[diagnostic::on_unimplemented(
    message = "this linear-algebra operation needs a matrix, but the tensor has shape `{Self}`",
    label = "not a matrix (or a batch of matrices)",
    note = "it takes a `Rank2<M, N>`, or a batch `Rank3<B, M, N>` (one operation per matrix)"
)]
pub trait Matrix: Shape {
    /// Rows of each matrix.
    const ROWS: usize;
    /// Columns of each matrix.
    const COLS: usize;
    /// How many matrices (1 for a `Rank2`).
    const BATCH: usize;
    /// Whether the shape has a batch axis.
    const BATCHED: bool;
    /// A square matrix of `COLS` (per matrix of a batch): `QR`'s `R`.
    type Square: SquareMatrix;
}

impl<const M: usize, const N: usize> Matrix for Rank2<M, N> {
    const ROWS: usize = M;
    const COLS: usize = N;
    const BATCH: usize = 1;
    const BATCHED: bool = false;
    type Square = Rank2<N, N>;
}

impl<const B: usize, const M: usize, const N: usize> Matrix for Rank3<B, M, N> {
    const ROWS: usize = M;
    const COLS: usize = N;
    const BATCH: usize = B;
    const BATCHED: bool = true;
    type Square = Rank3<B, N, N>;
}

/// The right-hand side of a least-squares problem `min ‖A X - B‖` whose matrix has shape
/// `A`: a vector or a matrix with as many rows as `A`; the solution has `A`'s columns
/// as rows.
///
/// | `A` | `B` | `X` |
/// |---|---|---|
/// | `Rank2<M, N>` | `Rank1<M>` | `Rank1<N>` |
/// | `Rank2<M, N>` | `Rank2<M, K>` | `Rank2<N, K>` |
/// | `Rank3<Bt, M, N>` | `Rank2<Bt, M>` | `Rank2<Bt, N>` |
/// | `Rank3<Bt, M, N>` | `Rank3<Bt, M, K>` | `Rank3<Bt, N, K>` |
#[diagnostic::on_unimplemented(
    message = "a right-hand side of shape `{Self}` does not fit a least-squares problem whose matrix has shape `{A}`",
    label = "not a right-hand side for a `{A}` matrix",
    note = "the right-hand side needs as many rows as the matrix: with `A: Rank2<M, N>`, `B: Rank1<M>` or `Rank2<M, K>`; with a batch `A: Rank3<Bt, M, N>`, `B: Rank2<Bt, M>` or `Rank3<Bt, M, K>`"
)]
pub trait LeastSquaresRhs<A: Matrix>: Shape {
    /// Columns of each right-hand side (1 for a vector).
    const COLUMNS: usize;
    /// The solution's shape: `N` rows per right-hand side.
    type Solution: Shape;
}

impl<const M: usize, const N: usize> LeastSquaresRhs<Rank2<M, N>> for Rank1<M> {
    const COLUMNS: usize = 1;
    type Solution = Rank1<N>;
}

impl<const M: usize, const N: usize, const K: usize> LeastSquaresRhs<Rank2<M, N>> for Rank2<M, K> {
    const COLUMNS: usize = K;
    type Solution = Rank2<N, K>;
}

impl<const B: usize, const M: usize, const N: usize> LeastSquaresRhs<Rank3<B, M, N>>
    for Rank2<B, M>
{
    const COLUMNS: usize = 1;
    type Solution = Rank2<B, N>;
}

impl<const B: usize, const M: usize, const N: usize, const K: usize> LeastSquaresRhs<Rank3<B, M, N>>
    for Rank3<B, M, K>
{
    const COLUMNS: usize = K;
    type Solution = Rank3<B, N, K>;
}

// Stable Rust cannot bound `M >= N` for every size, so `qr` and `lstsq` assert it in an
// inline `const` block (as `reshape` checks its element count): reported by `cargo
// build`, with both numbers in the message (`concat_panic!` formats them).

/// Fails the build unless a `rows x cols` matrix has at least as many rows as columns,
/// as the reduced QR factorisation and a least-squares solution with full column rank
/// need; and unless `rows` and the right-hand side's `rhs_columns` fit in a `u32`, as
/// the records keep them (a matrix of 2³² rows is beyond these dense kernels anyway).
pub(crate) const fn check_tall(op: &str, rows: usize, cols: usize, rhs_columns: usize) {
    if rows < cols {
        concat_panic! {
            display: op, ": a ", rows, " x ", cols, " matrix is wide (", rows, " rows < ",
            cols, " columns), and ", display: op, " needs at least as many rows as columns ",
            "(full column rank)"
        }
    }
    if rows > u32::MAX as usize || rhs_columns > u32::MAX as usize {
        concat_panic! {
            display: op, ": ", rows, " rows and ", rhs_columns, " right-hand sides: ",
            "more than the 2^32 - 1 that linear-algebra records keep"
        }
    }
}
