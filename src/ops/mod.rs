//! The operations, one module per family. Each operation's forward computation and its
//! backward (the vector-Jacobian product) sit side by side in its module; [`Op`] is the
//! record a graph keeps of one application, and dispatches backward to that module.

pub(crate) mod axis;
pub(crate) mod binary;
pub(crate) mod layout;
pub(crate) mod loss;
pub(crate) mod matmul;
pub(crate) mod reduce;
pub(crate) mod unary;

use std::sync::Arc;

use crate::element::Element;
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::graph::{self, Input, LeafId};
use crate::tape::Tape;
use crate::tensor::Tensor;

/// A use of a tracked leaf in a graph: its id (where its gradient goes), its data (which
/// the checked backward scans for NaN) and its dimensions (to name it in errors).
pub(crate) struct LeafNode<E: Element> {
    pub(crate) id: LeafId,
    pub(crate) data: Arc<[E]>,
    pub(crate) dims: &'static [usize],
}

/// One recorded application of an operation, with what its backward needs.
pub(crate) enum Op<E: Element> {
    /// A tracked leaf used by an operation of this graph.
    Leaf(LeafNode<E>),
    Unary(unary::UnaryOp<E>),
    Binary(binary::BinaryOp<E>),
    Reduce(reduce::ReduceOp<E>),
    Axis(axis::AxisOp<E>),
    MatMul(matmul::MatMulOp<E>),
    Layout(layout::LayoutOp),
    Loss(loss::LossOp<E>),
    CrossEntropy(loss::CrossEntropyOp<E>),
}

impl<E: Element> Op<E> {
    /// PyTorch's name for the backward of this operation (`MulBackward0`).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Leaf(_) => "AccumulateGrad",
            Op::Unary(op) => op.name(),
            Op::Binary(op) => op.name(),
            Op::Reduce(op) => op.name(),
            Op::Axis(op) => op.name(),
            Op::MatMul(op) => op.name(),
            Op::Layout(op) => op.name(),
            Op::Loss(op) => op.name(),
            Op::CrossEntropy(op) => op.name(),
        }
    }

    /// Adds this operation's vector-Jacobian product with `grad` (the gradient of its
    /// output) into its tracked inputs' gradients.
    pub(crate) fn backward(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        match self {
            Op::Leaf(_) => {}
            Op::Unary(op) => op.backward(grad, parents),
            Op::Binary(op) => op.backward(grad, parents),
            Op::Reduce(op) => op.backward(grad, parents),
            Op::Axis(op) => op.backward(grad, parents),
            Op::MatMul(op) => op.backward(grad, parents),
            Op::Layout(op) => op.backward(grad, parents),
            Op::Loss(op) => op.backward(grad, parents),
            Op::CrossEntropy(op) => op.backward(grad, parents),
        }
    }
}

/// Wraps a computed value as the result of an operation with result tape `T`: records
/// `op` (built only if `T` records) with the given inputs (`None`: not tracked).
pub(crate) fn finish<S: Shape, E: Element, T: Tape>(
    data: Arc<[E]>,
    inputs: [Option<Input<'_, E>>; 2],
    op: impl FnOnce() -> Op<E>,
) -> Tensor<S, E, T> {
    let handle = T::record(|| {
        let out = graph::Produced {
            len: data.len(),
            finite: E::all_finite(&data),
        };
        graph::record(op(), out, inputs)
    });
    Tensor::from_parts(data, handle)
}
