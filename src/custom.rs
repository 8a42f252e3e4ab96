//! Custom differentiable functions: an operation of your own, with your own derivative
//! rules (PyTorch's `torch.autograd.Function`, JAX's `custom_vjp`/`custom_jvp`).
//!
//! Implement [`CustomOp`] (one input) or [`CustomOp2`] (two inputs) on a type, wrap it in
//! [`Custom`], and `apply` it to tensors of any tape:
//!
//! - `forward` computes the value on plain tensors; its input and output shapes are
//!   associated types, so a rule returning a gradient of the wrong shape does not compile.
//! - `vjp` is the backward rule (required): the gradient of the input from the
//!   gradient of the output, given the saved input and output (shared, never copied).
//! - `vjp_recorded` (optional) is the same rule written with operations on `Tracked`
//!   tensors: supply it and gradients of gradients (and Hessians) flow through the
//!   operation. Without it, recording the backward pass through the operation is an
//!   [`Error::NotTwiceDifferentiable`] naming it (PyTorch's `once_differentiable`).
//! - `jvp` (optional) is the forward-mode rule. Without it, forward mode still works and
//!   is exact: the Jacobian is assembled from `vjp`, one output element at a time.
//!
//! Applied to `NoGrad` or `Detached` inputs the operation records nothing; applied to a
//! `Tracked` input it records a node like any built-in operation, shown in `Display` with
//! the name you give it (`grad_fn=<SincBackward>`). [`check`] tests all the rules you
//! supplied against finite differences in one call.
//!
//! ```
//! use typegrad::custom::{Custom, CustomOp};
//! use typegrad::prelude::*;
//!
//! /// x³, with its derivative written by hand.
//! struct Cube;
//!
//! impl CustomOp<f64> for Cube {
//!     type Input = Rank1<3>;
//!     type Output = Rank1<3>;
//!     fn name(&self) -> &'static str {
//!         "CubeBackward"
//!     }
//!     fn forward(&self, x: &Tensor<Rank1<3>, f64>) -> Tensor<Rank1<3>, f64> {
//!         x * x * x
//!     }
//!     fn vjp(
//!         &self,
//!         x: &Tensor<Rank1<3>, f64>,
//!         _y: &Tensor<Rank1<3>, f64>,
//!         grad: &Tensor<Rank1<3>, f64>,
//!     ) -> Tensor<Rank1<3>, f64> {
//!         grad * &(x * x * 3.0)
//!     }
//! }
//!
//! let cube = Custom::new(Cube);
//! let x = Tensor::from_array([1.0, 2.0, 3.0]).track();
//! let y = cube.apply(&x);
//! assert_eq!(y.to_string(), "tensor([ 1.,  8., 27.], dtype=torch.float64, grad_fn=<CubeBackward>)");
//! let grads = y.sum().backward();
//! assert_eq!(grads.get(&x).unwrap().to_vec(), vec![3.0, 12.0, 27.0]);
//! typegrad::custom::check(&cube, &Tensor::from_array([0.5, -1.0, 2.0])).unwrap();
//! ```

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::element::Element;
use crate::error::Error;
use crate::gradcheck::{
    gradcheck, gradgradcheck, jvpcheck, GradcheckError, GradgradcheckError, JvpcheckError,
    Tolerance,
};
use crate::ops::{finish, Op, Var};
use crate::shape::Shape;
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::GraphRef;
use crate::tape::graph::Saved;
use crate::tape::{BinaryTape, Merge, NoGrad, Tape, Tracked, UnaryTape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// A differentiable operation of one tensor, defined by its forward function and its
/// derivative rules. See the [module docs](self).
pub trait CustomOp<E: Element>: Send + Sync + 'static {
    /// The input's shape.
    type Input: Shape;
    /// The output's shape.
    type Output: Shape;

    /// The name `Display` and `grad_fn()` show for a recorded result, as PyTorch shows
    /// a custom `Function`'s (`"SincBackward"`).
    fn name(&self) -> &'static str;

    /// The value.
    fn forward(&self, x: &Tensor<Self::Input, E>) -> Tensor<Self::Output, E>;

    /// The vector-Jacobian product: the gradient of the input from `grad`, the gradient
    /// of the output, at the input `x` whose output was `y`.
    fn vjp(
        &self,
        x: &Tensor<Self::Input, E>,
        y: &Tensor<Self::Output, E>,
        grad: &Tensor<Self::Output, E>,
    ) -> Tensor<Self::Input, E>;

    /// The same product written with operations on `Tracked` tensors, so that it can be
    /// differentiated again; `None` (the default) if the rule is not differentiable.
    fn vjp_recorded(
        &self,
        x: &Tensor<Self::Input, E, Tracked>,
        y: &Tensor<Self::Output, E, Tracked>,
        grad: &Tensor<Self::Output, E, Tracked>,
    ) -> Option<Tensor<Self::Input, E, Tracked>> {
        let _ = (x, y, grad);
        None
    }

    /// The Jacobian-vector product: the tangent of the output for the input's
    /// `tangent`; `None` (the default) to let forward mode build it from [`CustomOp::vjp`].
    fn jvp(
        &self,
        x: &Tensor<Self::Input, E>,
        y: &Tensor<Self::Output, E>,
        tangent: &Tensor<Self::Input, E>,
    ) -> Option<Tensor<Self::Output, E>> {
        let _ = (x, y, tangent);
        None
    }
}

/// A differentiable operation of two tensors. See [`CustomOp`].
pub trait CustomOp2<E: Element>: Send + Sync + 'static {
    /// The left input's shape.
    type Left: Shape;
    /// The right input's shape.
    type Right: Shape;
    /// The output's shape.
    type Output: Shape;

    /// The name `Display` and `grad_fn()` show for a recorded result.
    fn name(&self) -> &'static str;

    /// The value.
    fn forward(
        &self,
        a: &Tensor<Self::Left, E>,
        b: &Tensor<Self::Right, E>,
    ) -> Tensor<Self::Output, E>;

    /// The gradients of both inputs from `grad`, the gradient of the output.
    fn vjp(
        &self,
        a: &Tensor<Self::Left, E>,
        b: &Tensor<Self::Right, E>,
        y: &Tensor<Self::Output, E>,
        grad: &Tensor<Self::Output, E>,
    ) -> (Tensor<Self::Left, E>, Tensor<Self::Right, E>);

    /// The same gradients written with operations on `Tracked` tensors; `None` (the
    /// default) if the rule is not differentiable.
    #[allow(clippy::type_complexity)]
    fn vjp_recorded(
        &self,
        a: &Tensor<Self::Left, E, Tracked>,
        b: &Tensor<Self::Right, E, Tracked>,
        y: &Tensor<Self::Output, E, Tracked>,
        grad: &Tensor<Self::Output, E, Tracked>,
    ) -> Option<(
        Tensor<Self::Left, E, Tracked>,
        Tensor<Self::Right, E, Tracked>,
    )> {
        let _ = (a, b, y, grad);
        None
    }

    /// The tangent of the output for the inputs' tangents; `None` (the default) to let
    /// forward mode build it from [`CustomOp2::vjp`].
    #[allow(clippy::type_complexity)]
    fn jvp(
        &self,
        a: &Tensor<Self::Left, E>,
        b: &Tensor<Self::Right, E>,
        y: &Tensor<Self::Output, E>,
        tangents: (&Tensor<Self::Left, E>, &Tensor<Self::Right, E>),
    ) -> Option<Tensor<Self::Output, E>> {
        let _ = (a, b, y, tangents);
        None
    }
}

/// A custom operation ready to apply: shared, so that each recorded use keeps the
/// operation without copying it.
pub struct Custom<F>(Arc<F>);

impl<F> Clone for Custom<F> {
    fn clone(&self) -> Self {
        Custom(Arc::clone(&self.0))
    }
}

impl<F> Custom<F> {
    /// Wraps `op` for applying.
    pub fn new(op: F) -> Self {
        Custom(Arc::new(op))
    }

    /// The operation.
    pub fn op(&self) -> &F {
        &self.0
    }
}

impl<F> Custom<F> {
    /// Applies the operation to `x`: records it if `x` is `Tracked`.
    pub fn apply<E, T>(&self, x: &Tensor<F::Input, E, T>) -> Tensor<F::Output, E, UnaryTape<T>>
    where
        E: Element,
        T: Tape,
        F: CustomOp<E>,
    {
        let y = self.0.forward(&x.no_grad());
        let output = y.storage().clone();
        let op = Arc::clone(&self.0) as Arc<dyn CustomOp<E, Input = F::Input, Output = F::Output>>;
        Tensor::from_var(finish(output, [Some(x.operand()), None], |saver| {
            Op::Custom(CustomRecord {
                rules: Arc::new(One(op)),
                inputs: [Some(saver.save(x.storage())), None],
                output: saver.save_output(),
            })
        }))
    }

    /// Applies a two-input operation to `a` and `b`: records it if either is `Tracked`.
    pub fn apply2<E, TA, TB>(
        &self,
        a: &Tensor<F::Left, E, TA>,
        b: &Tensor<F::Right, E, TB>,
    ) -> Tensor<F::Output, E, BinaryTape<TA, TB>>
    where
        E: Element,
        TA: Tape + Merge<TB>,
        TB: Tape,
        F: CustomOp2<E>,
    {
        let y = self.0.forward(&a.no_grad(), &b.no_grad());
        let output = y.storage().clone();
        let op = Arc::clone(&self.0)
            as Arc<dyn CustomOp2<E, Left = F::Left, Right = F::Right, Output = F::Output>>;
        Tensor::from_var(finish(
            output,
            [Some(a.operand()), Some(b.operand())],
            |saver| {
                Op::Custom(CustomRecord {
                    rules: Arc::new(Two(op)),
                    inputs: [Some(saver.save(a.storage())), Some(saver.save(b.storage()))],
                    output: saver.save_output(),
                })
            },
        ))
    }
}

/// A recorded application of a custom operation: its rules, and the saved inputs and
/// output (shared with the tensors, not copied).
#[derive(Clone)]
pub(crate) struct CustomRecord<E: Element> {
    rules: Arc<dyn Rules<E>>,
    inputs: [Option<Saved>; 2],
    output: Saved,
}

/// The rules of a custom operation with its shapes erased, as the graph calls them.
trait Rules<E: Element>: Send + Sync {
    fn name(&self) -> &'static str;
    /// The gradient of each input for the output's gradient `grad`.
    fn vjp(&self, inputs: &[Option<Storage<E>>; 2], output: &Storage<E>, grad: &[E])
        -> [Vec<E>; 2];
    /// The same, recorded; `None` if the operation gives no differentiable rule.
    fn vjp_recorded(
        &self,
        inputs: [Var<E>; 2],
        output: Var<E>,
        grad: &Var<E>,
    ) -> Option<[Var<E>; 2]>;
    /// The tangent of the output for one tangent of each input (zeros where absent);
    /// `None` if the operation gives no forward rule.
    fn jvp(
        &self,
        inputs: &[Option<Storage<E>>; 2],
        output: &Storage<E>,
        tangents: [&[E]; 2],
    ) -> Option<Vec<E>>;
    /// The inputs' lengths.
    fn input_lens(&self) -> [usize; 2];
}

/// A plain tensor sharing `data` (the caller knows its length is the shape's).
fn plain<S: Shape, E: Element>(data: &Storage<E>) -> Tensor<S, E> {
    Tensor::<S, E, NoGrad>::from_storage(data.clone()).unwrap_or_else(|| Tensor::full(E::nan()))
}

/// A plain tensor holding a copy of `values`.
fn copied<S: Shape, E: Element>(values: &[E]) -> Tensor<S, E> {
    Tensor::<S, E, NoGrad>::from_slice(values).unwrap_or_else(|_| Tensor::full(E::nan()))
}

/// A tracked tensor for a value of the recorded backward: its node, or a fresh leaf for a
/// constant (which nothing will ask the gradient of).
fn tracked<S: Shape, E: Element>(var: &Var<E>) -> Tensor<S, E, Tracked> {
    let place = var
        .place
        .clone()
        .unwrap_or_else(|| GraphRef::new_leaf(S::NUM_ELEMENTS));
    Tensor::from_parts(var.data.clone(), place)
}

/// A tracked tensor back as a value of the recorded backward.
fn var<S: Shape, E: Element>(tensor: Tensor<S, E, Tracked>) -> Var<E> {
    Var {
        data: tensor.storage().clone(),
        place: tensor.graph_ref().cloned(),
    }
}

/// The rules of a one-input operation.
struct One<E: Element, I: Shape, O: Shape>(Arc<dyn CustomOp<E, Input = I, Output = O>>);

impl<E: Element, I: Shape, O: Shape> Rules<E> for One<E, I, O> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn vjp(
        &self,
        inputs: &[Option<Storage<E>>; 2],
        output: &Storage<E>,
        grad: &[E],
    ) -> [Vec<E>; 2] {
        let Some(x) = &inputs[0] else {
            return [Vec::new(), Vec::new()];
        };
        let gx = self.0.vjp(&plain(x), &plain(output), &copied(grad));
        [gx.to_vec(), Vec::new()]
    }

    fn vjp_recorded(
        &self,
        inputs: [Var<E>; 2],
        output: Var<E>,
        grad: &Var<E>,
    ) -> Option<[Var<E>; 2]> {
        let [x, unused] = inputs;
        let gx = self
            .0
            .vjp_recorded(&tracked(&x), &tracked(&output), &tracked(grad))?;
        Some([var(gx), unused])
    }

    fn jvp(
        &self,
        inputs: &[Option<Storage<E>>; 2],
        output: &Storage<E>,
        tangents: [&[E]; 2],
    ) -> Option<Vec<E>> {
        let x = inputs[0].as_ref()?;
        let t = self
            .0
            .jvp(&plain(x), &plain(output), &copied(tangents[0]))?;
        Some(t.to_vec())
    }

    fn input_lens(&self) -> [usize; 2] {
        [I::NUM_ELEMENTS, 0]
    }
}

/// The rules of a two-input operation.
#[allow(clippy::type_complexity)]
struct Two<E: Element, L: Shape, R: Shape, O: Shape>(
    Arc<dyn CustomOp2<E, Left = L, Right = R, Output = O>>,
);

impl<E: Element, L: Shape, R: Shape, O: Shape> Rules<E> for Two<E, L, R, O> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn vjp(
        &self,
        inputs: &[Option<Storage<E>>; 2],
        output: &Storage<E>,
        grad: &[E],
    ) -> [Vec<E>; 2] {
        let (Some(a), Some(b)) = (&inputs[0], &inputs[1]) else {
            return [Vec::new(), Vec::new()];
        };
        let (ga, gb) = self
            .0
            .vjp(&plain(a), &plain(b), &plain(output), &copied(grad));
        [ga.to_vec(), gb.to_vec()]
    }

    fn vjp_recorded(
        &self,
        inputs: [Var<E>; 2],
        output: Var<E>,
        grad: &Var<E>,
    ) -> Option<[Var<E>; 2]> {
        let [a, b] = inputs;
        let (ga, gb) = self.0.vjp_recorded(
            &tracked(&a),
            &tracked(&b),
            &tracked(&output),
            &tracked(grad),
        )?;
        Some([var(ga), var(gb)])
    }

    fn jvp(
        &self,
        inputs: &[Option<Storage<E>>; 2],
        output: &Storage<E>,
        tangents: [&[E]; 2],
    ) -> Option<Vec<E>> {
        let (a, b) = (inputs[0].as_ref()?, inputs[1].as_ref()?);
        let t = self.0.jvp(
            &plain(a),
            &plain(b),
            &plain(output),
            (&copied(tangents[0]), &copied(tangents[1])),
        )?;
        Some(t.to_vec())
    }

    fn input_lens(&self) -> [usize; 2] {
        [L::NUM_ELEMENTS, R::NUM_ELEMENTS]
    }
}

impl<E: Element> CustomRecord<E> {
    pub(crate) fn name(&self) -> &'static str {
        self.rules.name()
    }

    /// The saved inputs and output, as the typed rules take them (a small value copied,
    /// a large one's buffer shared).
    fn values(&self, saved: &[Storage<E>]) -> ([Option<Storage<E>>; 2], Storage<E>) {
        (
            self.inputs.map(|input| input.map(|v| v.storage(saved))),
            self.output.storage(saved),
        )
    }

    pub(crate) fn backward(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        let (inputs, output) = self.values(parents.saved);
        let gradients = self.rules.vjp(&inputs, &output, grad);
        for (k, g) in gradients.iter().enumerate() {
            if let Some(slot) = parents.get_mut(k) {
                for (s, &v) in slot.iter_mut().zip(g) {
                    *s = *s + v;
                }
            }
        }
    }

    pub(crate) fn backward_recorded(
        &self,
        grad: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> Result<[Option<Var<E>>; 2], Error> {
        let inputs = [0, 1].map(|k| match self.inputs[k] {
            Some(data) => node.input(k, data),
            None => Var::constant(Storage::empty()),
        });
        let grads = self
            .rules
            .vjp_recorded(inputs, node.output(self.output), grad)
            .ok_or(Error::NotTwiceDifferentiable {
                op: self.rules.name(),
            })?;
        let [g0, g1] = grads;
        Ok([node.tracked(0).then_some(g0), node.tracked(1).then_some(g1)])
    }

    pub(crate) fn jvp(
        &self,
        saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let len = out.len() / batch.max(1);
        let (inputs, output) = self.values(saved);
        let lens = self.rules.input_lens();
        let zeros = [vec![E::zero(); lens[0]], vec![E::zero(); lens[1]]];
        for (b, out) in out.chunks_exact_mut(len.max(1)).enumerate().take(batch) {
            let t = [0, 1].map(|k| {
                tangents[k].map_or(zeros[k].as_slice(), |t| &t[b * lens[k]..(b + 1) * lens[k]])
            });
            let tangent = self
                .rules
                .jvp(&inputs, &output, t)
                .unwrap_or_else(|| self.jvp_from_vjp((&inputs, &output), t, len));
            for (o, v) in out.iter_mut().zip(tangent) {
                *o = v;
            }
        }
    }

    /// `J t` with `J` built from the backward rule, one output element at a time: the
    /// forward rule of an operation that gives none (exact, `len` backward calls).
    fn jvp_from_vjp(
        &self,
        (inputs, output): (&[Option<Storage<E>>; 2], &Storage<E>),
        tangents: [&[E]; 2],
        len: usize,
    ) -> Vec<E> {
        let mut seed = vec![E::zero(); len];
        (0..len)
            .map(|o| {
                seed[o] = E::one();
                let rows = self.rules.vjp(inputs, output, &seed);
                seed[o] = E::zero();
                rows.iter()
                    .zip(tangents)
                    .flat_map(|(row, t)| row.iter().zip(t).map(|(&j, &t)| j * t))
                    .fold(E::zero(), |acc, v| acc + v)
            })
            .collect()
    }
}

/// Which rule of a custom operation disagreed with finite differences.
#[derive(Clone, Debug, PartialEq)]
pub enum CustomCheckError {
    /// The backward rule (`vjp`).
    Vjp(GradcheckError),
    /// The forward rule (`jvp`, or the one built from `vjp`).
    Jvp(JvpcheckError),
    /// The recorded backward rule (`vjp_recorded`): its value or its own derivative.
    VjpRecorded(GradgradcheckError),
}

impl fmt::Display for CustomCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomCheckError::Vjp(err) => write!(f, "vjp: {err}"),
            CustomCheckError::Jvp(err) => write!(f, "jvp: {err}"),
            CustomCheckError::VjpRecorded(err) => write!(f, "vjp_recorded: {err}"),
        }
    }
}

impl core::error::Error for CustomCheckError {}

/// Checks every rule a one-input `f64` custom operation supplies against central finite
/// differences at `x`, with PyTorch's default tolerances: `vjp` (gradcheck), the forward
/// mode (jvpcheck), and, if `vjp_recorded` is given, second derivatives
/// (gradgradcheck).
///
/// # Errors
/// The first rule that disagrees, with the element where it does.
pub fn check<F>(op: &Custom<F>, x: &Tensor<F::Input, f64>) -> Result<(), CustomCheckError>
where
    F: CustomOp<f64>,
{
    let tol = Tolerance::default();
    let apply = |x: &Tensor<F::Input, f64, Tracked>| op.apply(x);
    gradcheck(apply, x, tol).map_err(CustomCheckError::Vjp)?;
    jvpcheck(apply, x, tol).map_err(CustomCheckError::Jvp)?;
    if has_recorded_rule(op, x) {
        gradgradcheck(apply, x, tol).map_err(CustomCheckError::VjpRecorded)?;
    }
    Ok(())
}

/// Checks every rule a two-input `f64` custom operation supplies, as [`check`] does.
///
/// # Errors
/// The first rule that disagrees, with the input and element where it does.
pub fn check2<F>(
    op: &Custom<F>,
    a: &Tensor<F::Left, f64>,
    b: &Tensor<F::Right, f64>,
) -> Result<(), CustomCheckError>
where
    F: CustomOp2<f64>,
{
    let tol = Tolerance::default();
    type Pair<L, R> = (Tensor<L, f64, Tracked>, Tensor<R, f64, Tracked>);
    let apply = |(a, b): &Pair<F::Left, F::Right>| op.apply2(a, b);
    let inputs = (a.clone(), b.clone());
    gradcheck(apply, &inputs, tol).map_err(CustomCheckError::Vjp)?;
    jvpcheck(apply, &inputs, tol).map_err(CustomCheckError::Jvp)?;
    let (at, bt) = (a.track(), b.track());
    let y = op.apply2(&at, &bt);
    if y.backward_with_create_graph(&Tensor::<F::Output, f64>::ones())
        .is_ok()
    {
        gradgradcheck(apply, &inputs, tol).map_err(CustomCheckError::VjpRecorded)?;
    }
    Ok(())
}

/// Whether the operation supplies a recorded backward rule (tried on a recorded use).
fn has_recorded_rule<F: CustomOp<f64>>(op: &Custom<F>, x: &Tensor<F::Input, f64>) -> bool {
    let y = op.apply(&x.track());
    y.backward_with_create_graph(&Tensor::<F::Output, f64>::ones())
        .is_ok()
}
