//! The operations, one module per family. Each operation sits in its module with its
//! three rules side by side:
//!
//! - the forward computation, on shape-erased operands ([`Operand`] in, [`Var`] out),
//!   under a thin typed method on [`Tensor`];
//! - `backward`: the vector-Jacobian product on plain buffers (the fast first-order
//!   pass);
//! - `backward_recorded`: the same product built from differentiable operations on
//!   [`Var`]s, recorded on the graph, so that gradients can be differentiated again
//!   (PyTorch's `create_graph=True`);
//! - `jvp`: the Jacobian-vector product (forward mode), on a batch of tangents.
//!
//! [`Op`] is the record a graph keeps of one application, and dispatches to them.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

pub(crate) mod axis;
pub(crate) mod binary;
pub(crate) mod cast;
pub(crate) mod index;
pub(crate) mod layout;
pub(crate) mod loss;
pub(crate) mod matmul;
pub(crate) mod reduce;
pub(crate) mod select;
pub(crate) mod stats;
pub(crate) mod unary;

use alloc::sync::Arc;

use crate::element::Element;
use crate::error::Error;
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::{self, GraphRef, Input, LeafId, Saved, Saver};
use crate::tape::Tape;
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// A value whose shape is known only at run time, as the operations compute it: its
/// elements, and where it sits in a graph (`None`: a constant, recording nothing).
///
/// The typed [`Tensor`] methods are thin wrappers over functions on `Var`s; the recorded
/// backward pass calls those functions directly, with the dimensions it reads from the
/// op records.
#[derive(Clone)]
pub struct Var<E: Element> {
    pub(crate) data: Storage<E>,
    pub(crate) place: Option<GraphRef<E>>,
}

impl<E: Element> Var<E> {
    /// A value that records nothing.
    pub(crate) fn constant(data: Storage<E>) -> Self {
        Var { data, place: None }
    }

    /// This value as an operation's operand.
    pub(crate) fn operand(&self) -> Operand<'_, E> {
        Operand {
            data: &self.data,
            place: self.place.as_ref(),
            // Only a leaf's dimensions are ever read, and a `Var` made by an operation
            // is never a leaf.
            dims: &[],
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }
}

/// An operation's operand, borrowed: its elements, its place in a graph if it is
/// tracked, and its dimensions (recorded for a leaf, to name it in errors).
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a, E: Element> {
    pub(crate) data: &'a Storage<E>,
    pub(crate) place: Option<&'a GraphRef<E>>,
    pub(crate) dims: &'static [usize],
}

impl<'a, E: Element> Operand<'a, E> {
    /// The operand as a recorded input, `None` if it is not tracked.
    pub(crate) fn input(self) -> Option<Input<'a, E>> {
        Some(Input {
            place: self.place?,
            data: self.data,
            dims: self.dims,
        })
    }

    pub(crate) fn values(self) -> &'a [E] {
        self.data
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// This tensor as an operation's operand (no copy, no reference count taken).
    pub(crate) fn operand(&self) -> Operand<'_, E> {
        Operand {
            data: self.storage(),
            place: self.graph_ref(),
            dims: S::DIMS,
        }
    }
}

/// A use of a tracked leaf in a graph: its id (where its gradient goes), its data (which
/// the checked backward scans for NaN), its dimensions (to name it in errors) and the
/// name it was given for pictures (`Tensor::named`).
#[derive(Clone)]
pub(crate) struct LeafNode {
    pub(crate) id: LeafId,
    pub(crate) data: Saved,
    pub(crate) dims: &'static [usize],
    pub(crate) name: Option<Arc<String>>,
}

/// One recorded application of an operation, with what its rules need.
#[derive(Clone)]
pub(crate) enum Op<E: Element> {
    /// A tracked leaf used by an operation of this graph.
    Leaf(LeafNode),
    Unary(unary::UnaryOp<E>),
    Binary(binary::BinaryOp),
    Reduce(reduce::ReduceOp<E>),
    Axis(axis::AxisOp),
    MatMul(matmul::MatMulOp),
    Layout(layout::LayoutOp),
    Loss(loss::LossOp),
    CrossEntropy(loss::CrossEntropyOp),
    /// A user-defined operation (`typegrad::custom`).
    Custom(crate::custom::CustomRecord<E>),
    Cumsum(axis::CumsumOp),
    Triangle(layout::TriangleOp),
    /// A value converted from a graph of the other element type. Its rules cross into
    /// that graph, so each pass handles it itself (the dispatch below does nothing).
    Cast(cast::CastOp<E>),
    /// `where_(mask, a, b)`.
    Where(select::WhereOp),
    /// Log-sum-exp, variance or standard deviation of lanes.
    Stat(stats::StatOp),
    /// A linear-algebra operation (`typegrad::linalg`).
    Linalg(crate::linalg::LinalgOp),
}

/// Dispatches a method to the record of each kind of operation.
macro_rules! dispatch {
    ($self:ident, $op:ident => $body:expr, leaf => $leaf:expr) => {
        dispatch!($self, $op => $body, leaf => $leaf, cast => $leaf)
    };
    ($self:ident, $op:ident => $body:expr, leaf => $leaf:expr, cast => $cast:expr) => {
        match $self {
            Op::Leaf(_) => $leaf,
            Op::Unary($op) => $body,
            Op::Binary($op) => $body,
            Op::Reduce($op) => $body,
            Op::Axis($op) => $body,
            Op::MatMul($op) => $body,
            Op::Layout($op) => $body,
            Op::Loss($op) => $body,
            Op::CrossEntropy($op) => $body,
            Op::Custom($op) => $body,
            Op::Cumsum($op) => $body,
            Op::Triangle($op) => $body,
            Op::Cast(_) => $cast,
            Op::Where($op) => $body,
            Op::Stat($op) => $body,
            Op::Linalg($op) => $body,
        }
    };
}

impl<E: Element> Op<E> {
    /// PyTorch's name for the backward of this operation (`MulBackward0`).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Cast(op) => op.name(),
            _ => dispatch!(self, op => op.name(), leaf => "AccumulateGrad"),
        }
    }

    /// Adds this operation's vector-Jacobian product with `grad` (the gradient of its
    /// output) into its tracked inputs' gradients.
    pub(crate) fn backward(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        dispatch!(self, op => op.backward(grad, parents), leaf => {})
    }

    /// The same product as [`Op::backward`], built from recorded operations: the
    /// gradient of each input that `node` says is tracked (`None` for the others).
    ///
    /// # Errors
    /// [`Error::NotTwiceDifferentiable`] for a custom operation that gives no recorded
    /// rule; every built-in operation has one.
    pub(crate) fn backward_recorded(
        &self,
        grad: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> Result<[Option<Var<E>>; 2], Error> {
        match self {
            Op::Custom(op) => op.backward_recorded(grad, node),
            op => Ok(op.builtin_backward_recorded(grad, node)),
        }
    }

    fn builtin_backward_recorded(
        &self,
        grad: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        match self {
            Op::Leaf(_) | Op::Custom(_) | Op::Cast(_) => [None, None],
            Op::Unary(op) => op.backward_recorded(grad, node),
            Op::Binary(op) => op.backward_recorded(grad, node),
            Op::Reduce(op) => op.backward_recorded(grad, node),
            Op::Axis(op) => op.backward_recorded(grad, node),
            Op::MatMul(op) => op.backward_recorded(grad, node),
            Op::Layout(op) => op.backward_recorded(grad, node),
            Op::Loss(op) => op.backward_recorded(grad, node),
            Op::CrossEntropy(op) => op.backward_recorded(grad, node),
            Op::Cumsum(op) => op.backward_recorded(grad, node),
            Op::Triangle(op) => op.backward_recorded(grad, node),
            Op::Where(op) => op.backward_recorded(grad, node),
            Op::Stat(op) => op.backward_recorded(grad, node),
            Op::Linalg(op) => op.backward_recorded(grad, node),
        }
    }

    /// The Jacobian-vector product: writes into `out` (zeros, `batch` runs of the
    /// output's length) the tangent of the output for `batch` tangents of each input,
    /// stored the same way (`tangents[k]` holds `batch` runs of input `k`'s length;
    /// `None` is a zero tangent).
    /// `saved` are the values the record saved (the node's part of the side table).
    pub(crate) fn jvp(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        dispatch!(self, op => op.jvp(saved, tangents, batch, out), leaf => {})
    }
}

impl<E: Element> Op<E> {
    /// Lets what the record itself keeps (beyond the graph's saved values: a linear-algebra
    /// operation's factorisation) go to the buffer pool, when the graph is dropped.
    #[inline]
    pub(crate) fn recycle(self) {
        if let Op::Linalg(op) = self {
            op.recycle();
        }
    }
}

/// The result of an operation computed as `data` from `inputs`: records `op` (built only
/// if some input is tracked) and returns the value with its place.
///
/// Inlined, so that an operation on untracked values (the floor of every computation)
/// pays one test, as when the tape was known at compile time.
#[inline(always)]
pub(crate) fn finish<E: Element>(
    data: Storage<E>,
    inputs: [Option<Operand<'_, E>>; 2],
    op: impl FnOnce(&mut Saver<'_, E>) -> Op<E>,
) -> Var<E> {
    let tracked = |input: &Option<Operand<'_, E>>| input.is_some_and(|i| i.place.is_some());
    if !tracked(&inputs[0]) && !tracked(&inputs[1]) {
        return Var { data, place: None };
    }
    record(data, inputs, op)
}

/// The recording half of [`finish`], out of line.
#[inline(never)]
fn record<E: Element>(
    data: Storage<E>,
    inputs: [Option<Operand<'_, E>>; 2],
    op: impl FnOnce(&mut Saver<'_, E>) -> Op<E>,
) -> Var<E> {
    let out = graph::Produced {
        value: &data,
        len: data.len(),
        finite: E::all_finite(&data),
    };
    let [first, second] = inputs;
    let inputs = [
        first.and_then(Operand::input),
        second.and_then(Operand::input),
    ];
    let place = Some(graph::record(op, out, inputs));
    Var { data, place }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// A typed tensor of a value an operation computed. Its tape `T` records exactly
    /// when an input of the operation did, so the value has a place exactly when `T` is
    /// `Tracked`.
    pub(crate) fn from_var(var: Var<E>) -> Self {
        Tensor::from_parts(var.data, T::handle_from(var.place, S::NUM_ELEMENTS))
    }

    /// A typed tensor of a value computed without recording (no input was tracked), made
    /// in place: a small value is moved once fewer than through a [`Var`].
    #[inline(always)]
    pub(crate) fn from_untracked(data: Storage<E>) -> Self {
        Tensor::from_parts(data, T::handle_from(None, S::NUM_ELEMENTS))
    }
}

/// A zero tangent or gradient buffer of `len` elements.
pub(crate) fn zeros<E: Element>(len: usize) -> Vec<E> {
    vec![E::zero(); len]
}
