//! The three tapes, [`NoGrad`], [`Detached`] and [`Tracked`], and the rule that combines
//! them; the reverse graph (`graph.rs`) and the backward pass (`backward.rs`), both private.
//!
//! A tape is the third type parameter of [`crate::Tensor`]. It decides at compile time
//! whether an operation records anything: on `NoGrad` values nothing is allocated beyond
//! the result, and an input that is not `Tracked` never receives a gradient.

pub(crate) mod backward;
pub(crate) mod create_graph;
pub(crate) mod forward;
pub(crate) mod graph;

pub use create_graph::TrackedGradients;

pub use graph::GraphRef;

use crate::element::Element;

/// A plain value that records nothing (PyTorch: `requires_grad=False`). The default tape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoGrad;

/// A value taken out of a graph by `.detach()` (PyTorch: `.detach()`).
///
/// It shares storage with the tensor it came from, records nothing and can never be
/// backpropagated. Operations on it give `NoGrad` results; in-place operations on it
/// copy first if the storage is shared, so a value a graph saved is never altered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Detached;

/// A value that records the operations producing it (PyTorch: `requires_grad=True`).
///
/// Leaves are made by `.track()`; every operation with a `Tracked` input returns a
/// `Tracked` result that belongs to the input's graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tracked;

mod sealed {
    /// Keeps the tape set closed: the operations rely on there being exactly three.
    pub trait Sealed {}
    impl Sealed for super::NoGrad {}
    impl Sealed for super::Detached {}
    impl Sealed for super::Tracked {}
}

/// One of the three tapes. Sealed.
///
/// The supertraits let generic code combine any tape with any other without extra
/// bounds: `Merge<Tracked, Output = Tracked>` says that anything combined with a tracked
/// value is tracked, and `Merge<NoGrad, Output = Self::Plain>` that a plain operand
/// changes nothing, so chains of operations on a `T: Tape` keep the type `T::Plain`.
///
/// `Merge<Self::Plain, Output = Self::Plain>` is there for a parameter that meets a value
/// computed from parameters: `b + &(x.matmul(&w))` or `w2.matmul(&h)` with `b`, `w2` of
/// tape `T` and `h` of tape `T::Plain`. Without it each such step asked the caller for
/// `T: Merge<T::Plain, Output = T::Plain>`, a bound every tape satisfies. With it, a
/// function whose tensors are of one tape parameter `T`, its results and plain values
/// (an MLP layer, a loss) needs only `T: Tape`, and runs on `NoGrad` parameters as on
/// `Tracked` ones (`ui-tests/pass/generic_mlp.rs`).
///
/// ```
/// use typegrad::prelude::*;
/// fn layer<T: Tape>(
///     x: &Tensor<Rank1<2>, f32>,
///     w: &Tensor<Rank2<2, 2>, f32, T>,
///     b: &Tensor<Rank1<2>, f32, T>,
/// ) -> Tensor<Rank1<2>, f32, T::Plain> {
///     let h = (x.matmul(w) + b).relu();
///     b + &w.matmul(&h) // `T` meets `T::Plain` both ways round
/// }
/// let w = Tensor::<Rank2<2, 2>, f32>::eye();
/// let b = Tensor::<Rank1<2>, f32>::ones();
/// let x = Tensor::from_array([1.0f32, -3.0]);
/// let plain: Tensor<Rank1<2>, f32, NoGrad> = layer(&x, &w, &b);
/// let tracked: Tensor<Rank1<2>, f32, Tracked> = layer(&x, &w.track(), &b.track());
/// assert_eq!(plain, tracked);
/// ```
pub trait Tape:
    'static
    + Copy
    + Default
    + core::fmt::Debug
    + Send
    + Sync
    + sealed::Sealed
    + Merge<NoGrad, Output = Self::Plain>
    + Merge<Detached, Output = Self::Plain>
    + Merge<Tracked, Output = Tracked>
    + Merge<Self, Output = Self::Plain>
    + Merge<Self::Plain, Output = Self::Plain>
{
    /// The tape of a value computed from this one alone: `Tracked` stays `Tracked`,
    /// `NoGrad` and `Detached` give `NoGrad`.
    type Plain: Tape<Plain = Self::Plain> + Merge<Self, Output = Self::Plain>;

    /// Where a tensor of this tape sits in a graph: nothing for `NoGrad` and `Detached`.
    #[doc(hidden)]
    type Handle<E: Element>: Clone;

    /// The tape's name as `Debug` prints it.
    const NAME: &'static str;

    /// Whether operations on tensors of this tape are recorded (`Tracked` only): lets
    /// an operation on untracked values take its inline path, known at compile time.
    #[doc(hidden)]
    const RECORDS: bool;

    #[doc(hidden)]
    fn graph_ref<E: Element>(handle: &Self::Handle<E>) -> Option<&GraphRef<E>>;

    /// The handle of an operation's result from the place the operation recorded it
    /// at (`None`: nothing recorded). A tape records exactly when one of the
    /// operation's inputs did, so a `Tracked` result always has a place; were it ever
    /// missing, the value would become a fresh leaf (a gradient path it never had).
    #[doc(hidden)]
    fn handle_from<E: Element>(place: Option<GraphRef<E>>, len: usize) -> Self::Handle<E>;
}

impl Tape for NoGrad {
    type Plain = NoGrad;
    type Handle<E: Element> = ();
    const NAME: &'static str = "NoGrad";
    const RECORDS: bool = false;

    fn graph_ref<E: Element>(_: &()) -> Option<&GraphRef<E>> {
        None
    }

    fn handle_from<E: Element>(_: Option<GraphRef<E>>, _: usize) {}
}

impl Tape for Detached {
    type Plain = NoGrad;
    type Handle<E: Element> = ();
    const NAME: &'static str = "Detached";
    const RECORDS: bool = false;

    fn graph_ref<E: Element>(_: &()) -> Option<&GraphRef<E>> {
        None
    }

    fn handle_from<E: Element>(_: Option<GraphRef<E>>, _: usize) {}
}

impl Tape for Tracked {
    type Plain = Tracked;
    type Handle<E: Element> = GraphRef<E>;
    const NAME: &'static str = "Tracked";
    const RECORDS: bool = true;

    fn graph_ref<E: Element>(handle: &GraphRef<E>) -> Option<&GraphRef<E>> {
        Some(handle)
    }

    fn handle_from<E: Element>(place: Option<GraphRef<E>>, len: usize) -> GraphRef<E> {
        debug_assert!(place.is_some(), "a tracked result was not recorded");
        place.unwrap_or_else(|| GraphRef::new_leaf(len))
    }
}

/// The tape of a result computed from a `Self` and an `Rhs` operand: `Tracked` if either
/// is `Tracked`, else `NoGrad` (SPEC §2). Unary operations use `Merge<NoGrad>`, so a
/// function of a `Detached` value is a plain `NoGrad` value.
///
/// Every pair of tapes merges, but generic code with two independent tape parameters
/// `X` and `T` has to say so: `X: Merge<T>` (a supertrait cannot quantify over every
/// `T`). The bounds on [`Merge::Output`] then carry the rest: the result is its own
/// plain tape and absorbs both operands, so `(x.matmul(w) + b).relu() + b` needs only
/// that one bound (`ui-tests/pass/generic_two_tapes.rs`).
#[diagnostic::on_unimplemented(
    message = "generic code cannot tell the tape of a result combining tensors of tapes `{Self}` and `{Rhs}`",
    label = "combines tapes `{Self}` and `{Rhs}`",
    note = "every pair of tapes merges, but for two independent tape parameters the compiler needs the bound `{Self}: Merge<{Rhs}>` (the result's tape is then `BinaryTape<{Self}, {Rhs}>`); with one tape parameter `T` for all tensors that are not plain values, `T: Tape` is enough"
)]
pub trait Merge<Rhs>: Sized {
    /// The result's tape. It is its own [`Tape::Plain`], and a result combined again with
    /// either operand (`result + operand`) has this tape once more (true of all nine
    /// cases), so chains of operations on the operands and the result keep this one type
    /// in generic code.
    type Output: Tape<Plain = Self::Output>
        + Merge<Rhs, Output = Self::Output>
        + Merge<Self, Output = Self::Output>;
}

// Three blanket impls give the nine cases: an untracked left operand contributes
// nothing (the result is the right operand's plain tape), a tracked one makes the result
// tracked. Generic code can therefore combine a plain value with a `T: Tape` freely.
impl<R: Tape> Merge<R> for NoGrad {
    type Output = R::Plain;
}

impl<R: Tape> Merge<R> for Detached {
    type Output = R::Plain;
}

impl<R: Tape> Merge<R> for Tracked {
    type Output = Tracked;
}

/// The tape of a unary operation's result: the input's tape, with `Detached` becoming
/// `NoGrad`.
pub type UnaryTape<T> = <T as Tape>::Plain;

/// The tape of a binary operation's result.
pub type BinaryTape<L, R> = <L as Merge<R>>::Output;

/// Tapes whose tensors can start a backward pass or be asked for a gradient: only
/// [`Tracked`].
#[diagnostic::on_unimplemented(
    message = "this tensor has tape `{Self}`: it records no gradient graph, so there is nothing to backpropagate or look up",
    label = "not a `Tracked` tensor",
    note = "only `Tracked` tensors have gradients: make a leaf with `.track()` before computing with it (a `Detached` value can become a new leaf with `.track()` too)"
)]
pub trait Backprop: Tape {}

impl Backprop for Tracked {}

/// Tapes whose tensors may be modified in place: [`NoGrad`] and [`Detached`].
///
/// A `Tracked` tensor may be saved by a graph for its backward pass, so changing it in
/// place would silently corrupt gradients (PyTorch reports this at run time, or not at
/// all for `.detach()`ed views). Here that is a compile error.
#[diagnostic::on_unimplemented(
    message = "in-place operations are not available on a `{Self}` tensor",
    label = "this tensor may be saved by a graph for its backward pass",
    note = "compute a new value instead (`x = x * 4.0`), or modify the plain value before tracking it (`.detach()` gives a copy-on-write view)"
)]
pub trait Mutable: Tape {}

impl Mutable for NoGrad {}
impl Mutable for Detached {}

/// Tapes whose tensors can become a new leaf with `.track()`: [`NoGrad`] and
/// [`Detached`].
#[diagnostic::on_unimplemented(
    message = "this tensor is already `Tracked`; `.track()` makes a leaf from an untracked value",
    label = "already records its operations",
    note = "use the tensor as it is, or start a new leaf from its value with `.detach().track()` (backpropagation then stops there)"
)]
pub trait Untracked: Tape {}

impl Untracked for NoGrad {}
impl Untracked for Detached {}

/// Tapes whose tensors may be the argument of an in-place operation (`+=`, `add_scaled`,
/// `copy_from`, ...): [`NoGrad`] and [`Detached`].
///
/// An in-place update changes a `NoGrad` or `Detached` tensor, which records nothing, so a
/// `Tracked` argument's gradient path would end there without a word: `acc += &(&w * &x)`
/// followed by `(&acc * &w).sum().backward()` would give `w * x` for `w`'s gradient
/// instead of `2 * w * x`. Requiring the caller to write `.detach()` makes the cut
/// visible. A separate trait from [`Untracked`] because its message is about the
/// argument, not about `.track()`.
#[diagnostic::on_unimplemented(
    message = "an in-place update would silently drop the gradient of this `{Self}` argument: call `.detach()` on it if that is what you mean",
    label = "the argument's gradient path would end here",
    note = "the updated tensor records nothing, so nothing would flow back to the argument's inputs; to keep the gradient, compute a new tracked value instead (`let acc = &acc + &x;`)"
)]
pub trait InPlaceSource: Tape {}

impl InPlaceSource for NoGrad {}
impl InPlaceSource for Detached {}

/// Tapes of a seed that `backward_with` may take: [`NoGrad`] and [`Detached`].
///
/// `backward_with(&seed)` treats the seed as a constant. A `Tracked` seed has a gradient
/// path of its own, which would end there without a word; requiring `.detach()` makes
/// the cut visible, and `backward_with_create_graph` differentiates through the seed.
#[diagnostic::on_unimplemented(
    message = "`backward_with` would silently drop the gradient of this `{Self}` seed: call `.detach()` on it if that is what you mean",
    label = "the seed's gradient path would end here",
    note = "`backward_with` treats its seed as a constant; `backward_with_create_graph(&seed)` records the backward pass and differentiates through a tracked seed"
)]
pub trait ConstantSeed: Tape {}

impl ConstantSeed for NoGrad {}
impl ConstantSeed for Detached {}
