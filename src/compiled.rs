//! The shape-erased machinery, compiled once, in this crate, for `f32` and `f64`.
//!
//! Rust compiles a generic function in the crate that uses it, and in a release build it
//! does not reuse the copy an upstream crate made. Left generic over the element type,
//! typegrad's backward pass, every operation's rules and the graph code would be
//! compiled again by every user program (about 2.5 s before its first line of its own;
//! `../shared/tools/gen_compile_cost.py` measures it). The typed wrappers reach them
//! through [`Compiled`] instead: a table of function pointers whose entries this crate
//! instantiates for each element type. A user program compiles its thin typed wrappers,
//! an indirect call each, and nothing else of ours.

use crate::element::Element;
use crate::error::Error;
use crate::gradients::Gradients;
use crate::ops::binary::{BinaryKind, KindValues};
use crate::ops::matmul::ProductDims;
use crate::ops::unary::UnaryKind;
use crate::ops::{Operand, Var};
use crate::tape::backward::Check;
use crate::tape::graph::GraphRef;
use crate::tensor::storage::Storage;

/// The backward pass from a root: its handle, value and dimensions, the seed, where the
/// gradients go, and whether to check for NaN and infinity.
pub(crate) type BackwardPass<E> =
    fn(&GraphRef<E>, &[E], &'static [usize], &[E], &mut Gradients<E>, Check) -> Result<(), Error>;

/// The entry points of the shape-erased machinery for element type `E`
/// ([`crate::element::sealed::Sealed::compiled`]).
pub struct Compiled<E: Element> {
    /// `tape::backward::backward`: the backward pass from a root.
    pub(crate) backward: BackwardPass<E>,
    /// `GraphRef::release`: what dropping a node's handle does.
    pub(crate) release: fn(&mut GraphRef<E>),
    /// `Storage::recycle_in_place`: what dropping a tensor does with its buffer.
    pub(crate) recycle: fn(&mut Storage<E>),
    /// `ops::binary::apply`: an elementwise binary operation with broadcasting.
    pub(crate) binary: for<'a> fn(Operand<'a, E>, Operand<'a, E>, BinaryKind, usize) -> Var<E>,
    /// The values of each kind of binary operation on untracked operands, by
    /// `BinaryKind::index`.
    pub(crate) binary_values: [KindValues<E>; BinaryKind::COUNT],
    /// `UnaryKind::forward`: an elementwise function of untracked values.
    pub(crate) unary_values: fn(&[E], UnaryKind<E>) -> Storage<E>,
    /// `ops::unary::apply`: an elementwise function.
    pub(crate) unary: for<'a> fn(Operand<'a, E>, UnaryKind<E>) -> Var<E>,
    /// `ops::matmul::product`: a (batched) matrix product.
    pub(crate) product:
        for<'a> fn(Operand<'a, E>, Operand<'a, E>, ProductDims, &'static str) -> Var<E>,
}

impl<E: Element> Compiled<E> {
    /// The table for `E`, instantiated here.
    pub(crate) const fn new() -> Self {
        Compiled {
            backward: crate::tape::backward::backward::<E>,
            release: GraphRef::<E>::release,
            recycle: Storage::<E>::recycle_in_place,
            binary: crate::ops::binary::apply::<E>,
            binary_values: crate::ops::binary::values_by_kind::<E>(),
            unary_values: UnaryKind::<E>::values,
            unary: crate::ops::unary::apply::<E>,
            product: crate::ops::matmul::product::<E>,
        }
    }
}

/// The table for `f32`.
pub(crate) static F32: Compiled<f32> = Compiled::new();
/// The table for `f64`.
pub(crate) static F64: Compiled<f64> = Compiled::new();
