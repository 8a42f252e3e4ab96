//! Shape agreement as named trait bounds, so that a mismatch is an ordinary trait error
//! that `cargo check` and the editor report, with a message in plain words.

use const_panic::concat_panic;

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

/// Shapes that broadcast to `Target` as an operand of `+` would: equal to it, or equal
/// to its trailing dimensions (a scalar broadcasts to anything). Used where the result's
/// shape is fixed by something else, as [`crate::where_`]'s is by its mask.
#[diagnostic::on_unimplemented(
    message = "a tensor of shape `{Self}` cannot be broadcast to shape `{Target}`",
    label = "`{Self}` does not broadcast to `{Target}`",
    note = "the shape must equal `{Target}` or its trailing dimensions (for example `Rank1<3>` or `Rank0` for `Rank2<2, 3>`); in `where_(mask, a, b)`, the mask's shape is the result's"
)]
pub trait BroadcastsTo<Target: Shape>: Shape {}

impl<S: Shape> BroadcastsTo<S> for S {}

/// Implements [`BroadcastsTo`] for a shape and each shape it is a suffix of.
macro_rules! suffix_broadcasts_to {
    ($( [$($small:ident)*] [$($lead:ident)*] $smaller:ty => $larger:ty; )*) => {$(
        impl<$(const $lead: usize,)* $(const $small: usize,)*> BroadcastsTo<$larger> for $smaller {}
    )*};
}

suffix_broadcasts_to! {
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
///
/// Implemented once, for every pair of shapes whose ranks fit ([`MatMulRanks`]) and
/// whose inner dimensions and batch sizes agree ([`InnerDimensionsAgree`],
/// [`BatchSizesAgree`]). The layering is for the
/// error messages: a product of shapes that do not fit fails at one of those two
/// bounds, whose message says which (naming both inner dimensions when they differ),
/// and rustc lists no candidate impls of this trait (it lists none whose implementing
/// type is a type parameter), which took 9 of the 29 lines of a mismatch's message.
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

impl<L: MatMulRanks<R>, R: Shape> MatMulShapes<R> for L {
    type Output = L::Output;
    const BATCH: usize = L::BATCH;
    const M: usize = L::M;
    const K: usize = L::K;
    const N: usize = L::N;
    const RHS_BATCHED: bool = L::RHS_BATCHED;
}

/// Pairs of ranks that `matmul` accepts (the table of [`MatMulShapes`]); each impl
/// requires [`InnerDimensionsAgree`] (and [`BatchSizesAgree`] for two batches).
#[diagnostic::on_unimplemented(
    message = "cannot multiply a `{Self}` by a `{Rhs}`: the ranks do not fit",
    label = "`{Rhs}` cannot be the right-hand side of a product with `{Self}`",
    note = "matmul multiplies a vector or matrix by a vector or matrix, and a batch of matrices `Rank3<B, M, K>` by a batch `Rank3<B, K, N>` or by one matrix `Rank2<K, N>`"
)]
pub trait MatMulRanks<Rhs: Shape>: Shape {
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

/// The inner dimensions of a product agree: `K == K2`. Implemented only for equal
/// numbers, as a where-clause of [`MatMulRanks`]' impls, whose heads take the two inner
/// dimensions as independent parameters: a product of shapes whose ranks fit then
/// selects its impl and fails here, where the message can name both numbers (a failed
/// match of an impl head can only name the shapes).
///
/// The bound is asked of the marker [`MatMul`], never of a shape: rustc shows the
/// message of the outermost bound instead of this one when the two have the same
/// implementing type, which would be the case in `a.matmul(&a)` were it asked of the
/// left shape.
#[diagnostic::on_unimplemented(
    message = "cannot multiply a `{Lhs}` by a `{Rhs}`: the inner dimensions {K} and {K2} differ",
    label = "the inner dimensions are {K} (left) and {K2} (right)",
    note = "matmul contracts the last dimension of the left operand with the first (for a batch, the second-to-last) of the right: `Rank2<M, K>` x `Rank2<K, N>` gives `Rank2<M, N>`"
)]
pub trait InnerDimensionsAgree<const K: usize, const K2: usize, Lhs, Rhs> {}

// For every type, so that rustc lists no impl when the bound fails (it lists none whose
// implementing type is a type parameter); the bound is only ever asked of `MatMul`.
impl<T, Lhs, Rhs, const K: usize> InnerDimensionsAgree<K, K, Lhs, Rhs> for T {}

/// The batch sizes of a batched product agree: `B == B2`. As [`InnerDimensionsAgree`],
/// for the message naming both sizes.
#[diagnostic::on_unimplemented(
    message = "cannot multiply a `{Lhs}` by a `{Rhs}`: the batch sizes {B} and {B2} differ",
    label = "the batch sizes are {B} (left) and {B2} (right)",
    note = "a batched matmul multiplies each of the `B` matrices of `Rank3<B, M, K>` by the matrix at the same place in `Rank3<B, K, N>`, or every one of them by one `Rank2<K, N>`"
)]
pub trait BatchSizesAgree<const B: usize, const B2: usize, Lhs, Rhs> {}

impl<T, Lhs, Rhs, const B: usize> BatchSizesAgree<B, B, Lhs, Rhs> for T {}

/// The type of which a product asks [`InnerDimensionsAgree`] and [`BatchSizesAgree`]
/// (a marker, never a value).
#[derive(Clone, Copy, Debug)]
pub struct MatMul;

// The impls of the table: each takes the inner dimensions (and a batch's sizes) as
// independent parameters and requires them equal in its where-clause, so that shapes of
// fitting ranks select their impl and a disagreement is reported by the bound that says
// which numbers differ.
impl<const K: usize, const K2: usize> MatMulRanks<Rank1<K2>> for Rank1<K>
where
    MatMul: InnerDimensionsAgree<K, K2, Self, Rank1<K2>>,
{
    type Output = Rank0;
    const BATCH: usize = 1;
    const M: usize = 1;
    const K: usize = K;
    const N: usize = 1;
    const RHS_BATCHED: bool = false;
}

impl<const N: usize, const K: usize, const K2: usize> MatMulRanks<Rank2<K2, N>> for Rank1<K>
where
    MatMul: InnerDimensionsAgree<K, K2, Self, Rank2<K2, N>>,
{
    type Output = Rank1<N>;
    const BATCH: usize = 1;
    const M: usize = 1;
    const K: usize = K;
    const N: usize = N;
    const RHS_BATCHED: bool = false;
}

impl<const M: usize, const K: usize, const K2: usize> MatMulRanks<Rank1<K2>> for Rank2<M, K>
where
    MatMul: InnerDimensionsAgree<K, K2, Self, Rank1<K2>>,
{
    type Output = Rank1<M>;
    const BATCH: usize = 1;
    const M: usize = M;
    const K: usize = K;
    const N: usize = 1;
    const RHS_BATCHED: bool = false;
}

impl<const M: usize, const N: usize, const K: usize, const K2: usize> MatMulRanks<Rank2<K2, N>>
    for Rank2<M, K>
where
    MatMul: InnerDimensionsAgree<K, K2, Self, Rank2<K2, N>>,
{
    type Output = Rank2<M, N>;
    const BATCH: usize = 1;
    const M: usize = M;
    const K: usize = K;
    const N: usize = N;
    const RHS_BATCHED: bool = false;
}

impl<
        const B: usize,
        const B2: usize,
        const M: usize,
        const N: usize,
        const K: usize,
        const K2: usize,
    > MatMulRanks<Rank3<B2, K2, N>> for Rank3<B, M, K>
where
    MatMul: BatchSizesAgree<B, B2, Self, Rank3<B2, K2, N>>,
    MatMul: InnerDimensionsAgree<K, K2, Self, Rank3<B2, K2, N>>,
{
    type Output = Rank3<B, M, N>;
    const BATCH: usize = B;
    const M: usize = M;
    const K: usize = K;
    const N: usize = N;
    const RHS_BATCHED: bool = true;
}

impl<const B: usize, const M: usize, const N: usize, const K: usize, const K2: usize>
    MatMulRanks<Rank2<K2, N>> for Rank3<B, M, K>
where
    MatMul: InnerDimensionsAgree<K, K2, Self, Rank2<K2, N>>,
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

/// Shapes whose axis `AXIS` can be given the length `LEN`; `Output` is that shape.
/// Used by `narrow` (typed slicing).
#[diagnostic::on_unimplemented(
    message = "a tensor of shape `{Self}` has no axis {AXIS}",
    label = "axis {AXIS} does not exist here",
    note = "axes are numbered from 0, outermost first: `Rank2<M, N>` has axes 0 (M) and 1 (N)"
)]
pub trait Resize<const AXIS: usize, const LEN: usize>: HasAxis<AXIS> {
    /// The shape with axis `AXIS` of length `LEN`.
    type Output: Shape;
}

/// Implements [`Resize`] for one shape and axis.
macro_rules! resize {
    ($([$($d:ident),*] $shape:ty, $axis:literal => $out:ty;)*) => {$(
        impl<$(const $d: usize,)* const L: usize> Resize<$axis, L> for $shape {
            type Output = $out;
        }
    )*};
}

resize! {
    [N] Rank1<N>, 0 => Rank1<L>;
    [M, N] Rank2<M, N>, 0 => Rank2<L, N>;
    [M, N] Rank2<M, N>, 1 => Rank2<M, L>;
    [A, B, C] Rank3<A, B, C>, 0 => Rank3<L, B, C>;
    [A, B, C] Rank3<A, B, C>, 1 => Rank3<A, L, C>;
    [A, B, C] Rank3<A, B, C>, 2 => Rank3<A, B, L>;
    [A, B, C, D] Rank4<A, B, C, D>, 0 => Rank4<L, B, C, D>;
    [A, B, C, D] Rank4<A, B, C, D>, 1 => Rank4<A, L, C, D>;
    [A, B, C, D] Rank4<A, B, C, D>, 2 => Rank4<A, B, L, D>;
    [A, B, C, D] Rank4<A, B, C, D>, 3 => Rank4<A, B, C, L>;
}

/// Rank-3 shapes reordered by the permutation `(P0, P1, P2)`: result axis `k` is input
/// axis `Pk`.
#[diagnostic::on_unimplemented(
    message = "`({P0}, {P1}, {P2})` is not a permutation of the axes of `{Self}`",
    note = "a permutation of a rank-3 tensor lists each of the axes 0, 1 and 2 once"
)]
pub trait Permute3<const P0: usize, const P1: usize, const P2: usize>: Shape {
    /// The permuted shape.
    type Output: Shape;
}

/// Rank-4 shapes reordered by the permutation `(P0, P1, P2, P3)`.
#[diagnostic::on_unimplemented(
    message = "`({P0}, {P1}, {P2}, {P3})` is not a permutation of the axes of `{Self}`",
    note = "a permutation of a rank-4 tensor lists each of the axes 0, 1, 2 and 3 once"
)]
pub trait Permute4<const P0: usize, const P1: usize, const P2: usize, const P3: usize>:
    Shape
{
    /// The permuted shape.
    type Output: Shape;
}

/// Implements [`Permute3`] for each listed permutation.
macro_rules! permute3 {
    ($(($p0:literal, $p1:literal, $p2:literal) => $out:ty;)*) => {$(
        impl<const A: usize, const B: usize, const C: usize> Permute3<$p0, $p1, $p2>
            for Rank3<A, B, C>
        {
            type Output = $out;
        }
    )*};
}

permute3! {
    (0, 1, 2) => Rank3<A, B, C>;
    (0, 2, 1) => Rank3<A, C, B>;
    (1, 0, 2) => Rank3<B, A, C>;
    (1, 2, 0) => Rank3<B, C, A>;
    (2, 0, 1) => Rank3<C, A, B>;
    (2, 1, 0) => Rank3<C, B, A>;
}

/// Implements [`Permute4`] for each listed permutation.
macro_rules! permute4 {
    ($(($p0:literal, $p1:literal, $p2:literal, $p3:literal) => [$o0:ident $o1:ident $o2:ident $o3:ident];)*) => {$(
        impl<const A: usize, const B: usize, const C: usize, const D: usize>
            Permute4<$p0, $p1, $p2, $p3> for Rank4<A, B, C, D>
        {
            type Output = Rank4<$o0, $o1, $o2, $o3>;
        }
    )*};
}

permute4! {
    (0, 1, 2, 3) => [A B C D]; (0, 1, 3, 2) => [A B D C]; (0, 2, 1, 3) => [A C B D];
    (0, 2, 3, 1) => [A C D B]; (0, 3, 1, 2) => [A D B C]; (0, 3, 2, 1) => [A D C B];
    (1, 0, 2, 3) => [B A C D]; (1, 0, 3, 2) => [B A D C]; (1, 2, 0, 3) => [B C A D];
    (1, 2, 3, 0) => [B C D A]; (1, 3, 0, 2) => [B D A C]; (1, 3, 2, 0) => [B D C A];
    (2, 0, 1, 3) => [C A B D]; (2, 0, 3, 1) => [C A D B]; (2, 1, 0, 3) => [C B A D];
    (2, 1, 3, 0) => [C B D A]; (2, 3, 0, 1) => [C D A B]; (2, 3, 1, 0) => [C D B A];
    (3, 0, 1, 2) => [D A B C]; (3, 0, 2, 1) => [D A C B]; (3, 1, 0, 2) => [D B A C];
    (3, 1, 2, 0) => [D B C A]; (3, 2, 0, 1) => [D C A B]; (3, 2, 1, 0) => [D C B A];
}

// The checks below need arithmetic on dimensions, which stable Rust cannot put in a
// trait bound for every size, so the layout operations call them from inline `const`
// blocks: a failure is a build error whose text is the panic message. `concat_panic!`
// formats the user's numbers into it (`core::panic!` in a const context cannot), and
// sums use `checked_add` so that an overflow is our message, not rustc's arithmetic.
// (Brace-delimited calls keep rustfmt from putting each argument on its own line.)

/// Fails the build unless shapes `from` and `to` hold the same number of elements (their
/// counts are passed in, already computed by `Shape::NUM_ELEMENTS`, so that an overflow
/// is reported once, by the shape whose count it is).
pub(crate) const fn check_reshape(
    from: &[usize],
    from_count: usize,
    to: &[usize],
    to_count: usize,
) {
    if from_count != to_count {
        concat_panic! {
            "reshape: a tensor of shape ", from, " (", from_count, " elements) cannot be ",
            "viewed as shape ", to, " (", to_count, " elements); both shapes must hold the ",
            "same number of elements"
        }
    }
}

/// Fails the build unless `from` broadcasts to `to` by NumPy's rule: aligned from the
/// last dimension, each dimension of `from` equals that of `to` or is 1; missing leading
/// ones repeat.
pub(crate) const fn check_broadcast(from: &[usize], to: &[usize]) {
    if from.len() > to.len() {
        concat_panic! {
            "broadcast: shape ", from, " cannot be broadcast to shape ", to,
            ": it has more axes, and broadcasting can add leading axes but never remove one"
        }
    }
    let offset = to.len() - from.len();
    let mut k = 0;
    while k < from.len() {
        if from[k] != to[offset + k] && from[k] != 1 {
            concat_panic! {
                "broadcast: shape ", from, " cannot be broadcast to shape ", to,
                ": its axis ", k, " has length ", from[k], " where the target has ",
                to[offset + k], ", and only an axis of length 1 can be repeated ",
                "(shapes are lined up from the last axis)"
            }
        }
        k += 1;
    }
}

/// Fails the build unless `len` elements starting at `start` fit along axis `axis` of
/// shape `dims`.
pub(crate) const fn check_narrow(dims: &[usize], axis: usize, start: usize, len: usize) {
    if axis >= dims.len() {
        concat_panic! { "narrow: shape ", dims, " has no axis ", axis }
    }
    match start.checked_add(len) {
        Some(end) if end <= dims[axis] => {}
        Some(end) => concat_panic! {
            "narrow: elements ", start, "..", end, " along axis ", axis,
            " do not fit in shape ", dims, " (axis length ", dims[axis], ")"
        },
        None => concat_panic! {
            "narrow: a slice of length ", len, " starting at ", start, " along axis ", axis,
            " does not fit in shape ", dims, " (axis length ", dims[axis],
            "); start + length would be more than a usize can count"
        },
    }
}

/// Fails the build unless `a` and `b` concatenated along `axis` give `out`.
pub(crate) const fn check_concat(a: &[usize], b: &[usize], out: &[usize], axis: usize) {
    if a.len() != b.len() || a.len() != out.len() {
        concat_panic! {
            "concat: shapes ", a, " and ", b, " cannot be joined into shape ", out,
            ": all three must have the same number of axes"
        }
    }
    if axis >= a.len() {
        concat_panic! {
            "concat: shapes ", a, " and ", b, " have no axis ", axis,
            " to join along (axes are numbered from 0)"
        }
    }
    let mut k = 0;
    while k < a.len() {
        if k != axis && (a[k] != out[k] || b[k] != out[k]) {
            concat_panic! {
                "concat: shapes ", a, " and ", b, " cannot be joined along axis ", axis,
                " into shape ", out, ": the other axes must have the same length in all ",
                "three, but axis ", k, " has lengths ", a[k], ", ", b[k], " and ", out[k]
            }
        }
        k += 1;
    }
    match a[axis].checked_add(b[axis]) {
        Some(sum) if sum == out[axis] => {}
        Some(sum) => concat_panic! {
            "concat: shapes ", a, " and ", b, " joined along axis ", axis, " give length ",
            a[axis], " + ", b[axis], " = ", sum, " on that axis, but the result shape ", out,
            " has ", out[axis]
        },
        None => concat_panic! {
            "concat: shapes ", a, " and ", b, " joined along axis ", axis,
            " would have length ", a[axis], " + ", b[axis], " on that axis, more than a ",
            "usize can count"
        },
    }
}

/// Shapes that `concat` can join along axis `AXIS`: those that have that axis.
///
/// A [`Rank0`] tensor (a scalar) has no axis, so scalars are not concatenated but stacked:
/// `Tensor::stack([a, b, c])` makes a `Rank1<3>`.
#[diagnostic::on_unimplemented(
    message = "`concat` joins tensors along one of their axes, and a tensor of shape `{Self}` has no axis {AXIS}",
    label = "no axis {AXIS} to concatenate along",
    note = "a `Rank0` tensor (a scalar) has no axes: `Tensor::stack([a, b, c])` makes a vector of scalars (and a matrix of vectors)",
    note = "axes are numbered from 0, outermost first: `Rank2<M, N>` has axes 0 (M) and 1 (N)"
)]
pub trait ConcatAxis<const AXIS: usize>: HasAxis<AXIS> {}

/// Implements [`ConcatAxis`] for each listed shape and axis.
macro_rules! concat_axis {
    ($([$($d:ident),*] $shape:ty, $axis:literal;)*) => {$(
        impl<$(const $d: usize),*> ConcatAxis<$axis> for $shape {}
    )*};
}

concat_axis! {
    [N] Rank1<N>, 0;
    [M, N] Rank2<M, N>, 0;
    [M, N] Rank2<M, N>, 1;
    [A, B, C] Rank3<A, B, C>, 0;
    [A, B, C] Rank3<A, B, C>, 1;
    [A, B, C] Rank3<A, B, C>, 2;
    [A, B, C, D] Rank4<A, B, C, D>, 0;
    [A, B, C, D] Rank4<A, B, C, D>, 1;
    [A, B, C, D] Rank4<A, B, C, D>, 2;
    [A, B, C, D] Rank4<A, B, C, D>, 3;
}

/// Matrix shapes reordered by the permutation `(P0, P1)`: `(1, 0)` transposes, `(0, 1)`
/// keeps the order.
#[diagnostic::on_unimplemented(
    message = "`({P0}, {P1})` is not a permutation of the axes of `{Self}`",
    note = "a permutation of a matrix lists each of the axes 0 and 1 once: `permute::<1, 0>()` transposes (as `t()` does)"
)]
pub trait Permute2<const P0: usize, const P1: usize>: Shape {
    /// The permuted shape.
    type Output: Shape;
}

impl<const M: usize, const N: usize> Permute2<0, 1> for Rank2<M, N> {
    type Output = Rank2<M, N>;
}

impl<const M: usize, const N: usize> Permute2<1, 0> for Rank2<M, N> {
    type Output = Rank2<N, M>;
}

/// Shapes of which `N` tensors can be stacked (`Tensor::stack`), and the result: the
/// shape with a new leading axis of length `N`. Every shape but [`Rank4`], whose stack
/// would have rank 5.
#[diagnostic::on_unimplemented(
    message = "`Tensor::stack` cannot stack tensors of shape `{Self}`: the result would have five axes, and shapes stop at `Rank4`",
    label = "a stack of these would be rank 5",
    note = "`stack` adds a leading axis: N `Rank0` make a `Rank1<N>`, N `Rank1<M>` a `Rank2<N, M>`, and so on up to N `Rank3<A, B, C>`, which make a `Rank4<N, A, B, C>`"
)]
pub trait Stack<const N: usize>: Shape {
    /// The stacked shape.
    type Output: Shape;
}

impl<const N: usize> Stack<N> for Rank0 {
    type Output = Rank1<N>;
}

impl<const N: usize, const M: usize> Stack<N> for Rank1<M> {
    type Output = Rank2<N, M>;
}

impl<const N: usize, const A: usize, const B: usize> Stack<N> for Rank2<A, B> {
    type Output = Rank3<N, A, B>;
}

impl<const N: usize, const A: usize, const B: usize, const C: usize> Stack<N> for Rank3<A, B, C> {
    type Output = Rank4<N, A, B, C>;
}

/// Shapes that can gain an axis of length 1 at position `AXIS` (`unsqueeze`), and the
/// shape with it: the new axis goes before axis `AXIS`, or after the last one when
/// `AXIS` is the rank. Every shape but [`Rank4`], whose result would have rank 5.
#[diagnostic::on_unimplemented(
    message = "a tensor of shape `{Self}` cannot gain an axis at position {AXIS}",
    label = "no position {AXIS} for a new axis here",
    note = "`unsqueeze::<AXIS>()` takes a position from 0 to the rank: a `Rank1<N>` becomes `Rank2<1, N>` at 0 or `Rank2<N, 1>` at 1; a `Rank4` cannot gain a fifth axis"
)]
pub trait Unsqueeze<const AXIS: usize>: Shape {
    /// The shape with an axis of length 1 at position `AXIS`.
    type Output: Shape;
}

/// Implements [`Unsqueeze`] for one shape and position.
macro_rules! unsqueeze {
    ($([$($d:ident),*] $shape:ty, $axis:literal => $out:ty;)*) => {$(
        impl<$(const $d: usize),*> Unsqueeze<$axis> for $shape {
            type Output = $out;
        }
    )*};
}

unsqueeze! {
    [] Rank0, 0 => Rank1<1>;
    [N] Rank1<N>, 0 => Rank2<1, N>;
    [N] Rank1<N>, 1 => Rank2<N, 1>;
    [M, N] Rank2<M, N>, 0 => Rank3<1, M, N>;
    [M, N] Rank2<M, N>, 1 => Rank3<M, 1, N>;
    [M, N] Rank2<M, N>, 2 => Rank3<M, N, 1>;
    [A, B, C] Rank3<A, B, C>, 0 => Rank4<1, A, B, C>;
    [A, B, C] Rank3<A, B, C>, 1 => Rank4<A, 1, B, C>;
    [A, B, C] Rank3<A, B, C>, 2 => Rank4<A, B, 1, C>;
    [A, B, C] Rank3<A, B, C>, 3 => Rank4<A, B, C, 1>;
}

/// Shapes whose last two axes hold matrices: a [`Rank2`], or a batch of matrices
/// ([`Rank3`], [`Rank4`]). `tril` and `triu` take the triangle of each matrix.
#[diagnostic::on_unimplemented(
    message = "`tril` and `triu` need a matrix or a batch of matrices, but this tensor has shape `{Self}`",
    label = "not a matrix",
    note = "the triangle is taken in the last two axes: of a `Rank2<M, N>`, or of each matrix of a `Rank3<B, M, N>` or a `Rank4<A, B, M, N>`"
)]
pub trait MatrixBatch: Shape {
    /// Rows of each matrix (the second-to-last axis).
    const ROWS: usize;
    /// Columns of each matrix (the last axis).
    const COLS: usize;
}

impl<const M: usize, const N: usize> MatrixBatch for Rank2<M, N> {
    const ROWS: usize = M;
    const COLS: usize = N;
}

impl<const A: usize, const M: usize, const N: usize> MatrixBatch for Rank3<A, M, N> {
    const ROWS: usize = M;
    const COLS: usize = N;
}

impl<const A: usize, const B: usize, const M: usize, const N: usize> MatrixBatch
    for Rank4<A, B, M, N>
{
    const ROWS: usize = M;
    const COLS: usize = N;
}

/// Fails the build unless `index` (one position per axis) lies inside shape `dims`.
pub(crate) const fn check_index(dims: &[usize], index: &[usize]) {
    let mut k = 0;
    while k < dims.len() && k < index.len() {
        if index[k] >= dims[k] {
            concat_panic! {
                "at: index ", index, " is out of range for a tensor of shape ", dims,
                ": along axis ", k, " it is ", index[k], ", and the axis has length ",
                dims[k], " (indices start at 0); `select` takes an index known only at ",
                "run time and returns an error instead"
            }
        }
        k += 1;
    }
}

/// Fails the build unless there is at least one tensor (of shape `part`) to stack.
pub(crate) const fn check_stack(count: usize, part: &[usize]) {
    if count == 0 {
        concat_panic! {
            "stack: no tensors to stack (an empty array of tensors of shape ", part,
            "); a stack needs at least one tensor, as in PyTorch"
        }
    }
}

/// Fails the build unless an index tensor of shape `index` can gather along `axis` from a
/// tensor of shape `dims` (PyTorch's rule for `torch.gather`): the same number of axes,
/// and every axis but `axis` no longer than the tensor's.
pub(crate) const fn check_gather(dims: &[usize], index: &[usize], axis: usize) {
    if dims.len() != index.len() {
        concat_panic! {
            "gather: an index tensor of shape ", index, " cannot gather from a tensor of ",
            "shape ", dims, ": its rank is ", index.len(), " and the tensor's ", dims.len(),
            ", and the two must be equal"
        }
    }
    let mut k = 0;
    while k < dims.len() {
        if k != axis && index[k] > dims[k] {
            concat_panic! {
                "gather along axis ", axis, ": an index tensor of shape ", index,
                " cannot gather from a tensor of shape ", dims, ": its axis ", k,
                " has length ", index[k], ", longer than the tensor's ", dims[k],
                " (every axis but the gathered one can be at most as long as the tensor's)"
            }
        }
        k += 1;
    }
}

/// Fails the build if a reduction along `axis` of a tensor of shape `dims` would have a
/// lane with no elements, which has no index to return (`what` names the operation).
/// A shape with no lanes at all (another axis of length 0) is fine: the result is empty.
pub(crate) const fn check_lanes_not_empty(what: &str, dims: &[usize], axis: usize) {
    if axis >= dims.len() || dims[axis] != 0 {
        return;
    }
    let mut k = 0;
    while k < dims.len() {
        if k != axis && dims[k] == 0 {
            return;
        }
        k += 1;
    }
    concat_panic! {
        display: what, ": axis ", axis, " of shape ", dims, " has length 0, so there is ",
        "no element along it whose index could be returned"
    }
}

/// Fails the build if a tensor of shape `dims` has no elements (`count`), so that a
/// whole-tensor `argmax` (`what`) has no index to return.
pub(crate) const fn check_not_empty(what: &str, dims: &[usize], count: usize) {
    if count == 0 {
        concat_panic! {
            display: what, ": a tensor of shape ", dims, " has no elements, so there is no ",
            "index to return"
        }
    }
}
