//! Typed functional transforms (PyTorch's `torch.func`, JAX's `grad`/`jvp`/`jacfwd`):
//! gradients, vector-Jacobian and Jacobian-vector products, Jacobians and exact Hessians
//! of a function, with every result's shape known at compile time.
//!
//! A transform takes a function `f` from a `Tracked` tensor to a `Tracked` tensor (a
//! closure or a plain `fn`) and a plain point `x`. It tracks `x`, runs `f` once, which
//! records `f`'s operations, and then differentiates the record:
//!
//! - reverse mode ([`grad`], [`vjp`], [`jacobian_reverse`]) runs the backward pass;
//! - forward mode ([`jvp`], [`jacobian_forward`]) pushes tangents through the recorded
//!   operations, each by its own Jacobian-vector rule (not by finite differences and not
//!   by two reverse passes), a whole batch of tangents in one sweep;
//! - [`hessian`] records the backward pass itself ([`Tensor::backward_create_graph`],
//!   PyTorch's `create_graph=True`), which makes the gradient a recorded function of
//!   `x`, and takes that gradient's Jacobian in forward mode (forward-over-reverse):
//!   exact second derivatives, for every operation.
//!
//! [`jacobian`] picks forward mode when the input has no more elements than the output
//! and reverse mode otherwise: a choice made from the sizes in the types, at compile time.
//!
//! # One function for values and derivatives
//!
//! Write a model once, generic over the tape (`fn motion<T: Tape>(x: &Tensor<_, _, T>)
//! -> Tensor<_, _, T::Plain>`), and pass it to a transform by name: the compiler infers
//! `T = Tracked` from the transform's bound, and the same function called on a plain
//! value computes the value alone, recording nothing. (A closure cannot be generic, so
//! this needs a named `fn`; a closure over one tape still works as before.)
//!
//! ```
//! use typegrad::func;
//! use typegrad::prelude::*;
//! /// A unicycle's motion over 0.1 s: position (x, y), heading, speed.
//! fn motion<T: Tape>(s: &Tensor<Rank1<4>, f64, T>) -> Tensor<Rank1<4>, f64, T::Plain> {
//!     let (heading, speed) = (s.at::<2>(), s.at::<3>());
//!     let dx = &speed * &heading.cos() * 0.1;
//!     let dy = &speed * &heading.sin() * 0.1;
//!     s + &Tensor::stack((dx, dy, Tensor::zeros(), Tensor::zeros()))
//! }
//! let x = Tensor::from_array([0.0, 0.0, 0.0, 2.0]);
//! let predicted: Tensor<Rank1<4>, f64> = motion(&x); // plain: nothing recorded
//! let f: Tensor<Rank2<4, 4>, f64> = func::jacobian(motion, &x); // motion::<Tracked>
//! assert_eq!(predicted.to_array(), [0.2, 0.0, 0.0, 2.0]);
//! assert_eq!(f.to_array()[0], [1.0, 0.0, 0.0, 0.1]); // ∂x/∂speed = 0.1 cos 0
//! ```
//!
//! A function that can fail (a Cholesky factorisation or a solve of its input, which
//! return `Result`) goes to the `try_` forms ([`try_grad`], [`try_value_and_grad`],
//! [`try_vjp`], [`try_jvp`], [`try_jacobian`], [`try_hessian`]), which return its `Err`.
//!
//! ```
//! use typegrad::func;
//! use typegrad::prelude::*;
//! // f(x) = x₀² x₁ + sin x₁
//! let f = |x: &Tensor<Rank1<2>, f64, Tracked>| {
//!     let (x0, x1) = (x.select::<0>(0).unwrap(), x.select::<0>(1).unwrap());
//!     &x0 * &x0 * &x1 + x1.sin()
//! };
//! let x = Tensor::from_array([3.0, 0.5]);
//! let g = func::grad(f, &x);
//! assert!(g.allclose(&Tensor::from_array([3.0, 9.0 + 0.5f64.cos()]), 1e-15, 0.0));
//! let h: Tensor<Rank2<2, 2>, f64> = func::hessian(f, &x)?;
//! let expected = [[1.0, 6.0], [6.0, -0.5f64.sin()]];
//! assert!(h.allclose(&Tensor::from_array(expected), 1e-15, 0.0));
//! # Ok::<(), typegrad::Error>(())
//! ```

use alloc::sync::Arc;
use alloc::vec;

use crate::element::Element;
use crate::error::Error;
use crate::gradients::Gradients;
use crate::shape::{Rank0, Rank1, Rank2, Rank3, Rank4, ScalarShape, Shape};
use crate::tape::backward::{backward, Check};
use crate::tape::forward::jvp_sweep;
use crate::tape::graph::LeafId;
use crate::tape::{NoGrad, Tracked};
use crate::tensor::storage::Storage;
use crate::tensor::{pool, Tensor};

/// Output shapes that `grad` and `hessian` accept: a scalar.
#[diagnostic::on_unimplemented(
    message = "`grad`, `value_and_grad` and `hessian` need a function returning a scalar (`Rank0`), but this one returns `{Self}`",
    label = "the function's output is not a scalar",
    note = "reduce the output to a scalar (`.sum()`, a loss), or use `jacobian` for a function with a vector or matrix output"
)]
pub trait ScalarOutput: ScalarShape {}

impl ScalarOutput for Rank0 {}

/// The shape of the Jacobian of a function from `In` to `Self`: `Self`'s dimensions
/// followed by `In`'s (as `torch.func.jacrev` gives), at most four in all.
///
/// | output | input | Jacobian |
/// |---|---|---|
/// | `Rank1<M>` | `Rank1<N>` | `Rank2<M, N>` |
/// | `Rank0` | `Rank1<N>` | `Rank1<N>` (the gradient) |
/// | `Rank1<M>` | `Rank0` | `Rank1<M>` (the derivative) |
/// | `Rank2<A, B>` | `Rank1<N>` | `Rank3<A, B, N>` |
#[diagnostic::on_unimplemented(
    message = "the Jacobian of a function from `{In}` to `{Self}` would have more than four axes",
    note = "typegrad's tensors have at most four axes: flatten the input or the output with `reshape` first"
)]
pub trait JacobianShape<In: Shape>: Shape {
    /// The Jacobian's shape.
    type Output: Shape;
}

/// Implements [`JacobianShape`] for output and input shapes whose axes together are at
/// most four.
macro_rules! jacobian_shapes {
    ($( [$($o:ident)*] [$($i:ident)*] $out:ty, $in:ty => $jac:ty; )*) => {$(
        impl<$(const $o: usize,)* $(const $i: usize,)*> JacobianShape<$in> for $out {
            type Output = $jac;
        }
    )*};
}

jacobian_shapes! {
    [] [] Rank0, Rank0 => Rank0;
    [] [N] Rank0, Rank1<N> => Rank1<N>;
    [] [A B] Rank0, Rank2<A, B> => Rank2<A, B>;
    [] [A B C] Rank0, Rank3<A, B, C> => Rank3<A, B, C>;
    [] [A B C D] Rank0, Rank4<A, B, C, D> => Rank4<A, B, C, D>;
    [M] [] Rank1<M>, Rank0 => Rank1<M>;
    [M] [N] Rank1<M>, Rank1<N> => Rank2<M, N>;
    [M] [A B] Rank1<M>, Rank2<A, B> => Rank3<M, A, B>;
    [M] [A B C] Rank1<M>, Rank3<A, B, C> => Rank4<M, A, B, C>;
    [M N] [] Rank2<M, N>, Rank0 => Rank2<M, N>;
    [M N] [K] Rank2<M, N>, Rank1<K> => Rank3<M, N, K>;
    [M N] [A B] Rank2<M, N>, Rank2<A, B> => Rank4<M, N, A, B>;
    [M N P] [] Rank3<M, N, P>, Rank0 => Rank3<M, N, P>;
    [M N P] [K] Rank3<M, N, P>, Rank1<K> => Rank4<M, N, P, K>;
    [M N P Q] [] Rank4<M, N, P, Q>, Rank0 => Rank4<M, N, P, Q>;
}

/// `f` evaluated at a fresh tracked leaf holding `x`.
fn record<S: Shape, SO: Shape, E: Element>(
    f: impl Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
    x: &Tensor<S, E>,
) -> (Tensor<S, E, Tracked>, Tensor<SO, E, Tracked>) {
    let leaf = x.track();
    let out = f(&leaf);
    (leaf, out)
}

/// The id of a leaf made by `record`.
fn leaf_id<S: Shape, E: Element>(leaf: &Tensor<S, E, Tracked>) -> Option<LeafId> {
    leaf.graph_ref().and_then(|place| place.leaf_id())
}

/// The gradient of `leaf` in `grads`, zeros where the function does not depend on it
/// (as JAX and torch.func give).
fn gradient_or_zeros<S: Shape, E: Element>(
    grads: &Gradients<E>,
    leaf: &Tensor<S, E, Tracked>,
) -> Tensor<S, E> {
    grads.get(leaf).unwrap_or_else(Tensor::zeros)
}

/// The gradient of a scalar function at `x` (JAX's `grad`, `torch.func.grad`), by one
/// backward pass.
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// let g = func::grad(|x| x.powf(3.0).sum(), &Tensor::from_array([1.0f64, 2.0]));
/// assert_eq!(g.to_vec(), vec![3.0, 12.0]);
/// ```
pub fn grad<S, SO, E, F>(f: F, x: &Tensor<S, E>) -> Tensor<S, E>
where
    S: Shape,
    SO: ScalarOutput,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
{
    value_and_grad(f, x).1
}

/// The value and the gradient of a scalar function at `x`, from one forward and one
/// backward pass (JAX's `value_and_grad`).
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// let (value, g) = func::value_and_grad(|x| (x * x).sum(), &Tensor::from_array([3.0f32, 4.0]));
/// assert_eq!(value, 25.0);
/// assert_eq!(g.to_vec(), vec![6.0, 8.0]);
/// ```
pub fn value_and_grad<S, SO, E, F>(f: F, x: &Tensor<S, E>) -> (E, Tensor<S, E>)
where
    S: Shape,
    SO: ScalarOutput,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
{
    let (leaf, out) = record(f, x);
    let value = out.as_slice().first().copied().unwrap_or_else(E::nan);
    let grads = out.backward_with(&Tensor::<SO, E>::ones());
    (value, gradient_or_zeros(&grads, &leaf))
}

/// The value of `f` at `x` and the vector-Jacobian product `uᵀ J` (JAX's `vjp`,
/// `torch.func.vjp`), by one backward pass seeded with `u`.
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// let x = Tensor::from_array([1.0f64, 2.0]);
/// let (y, u_j) = func::vjp(|x| x * x, &x, &Tensor::from_array([1.0, 10.0]));
/// assert_eq!(y.to_vec(), vec![1.0, 4.0]);
/// assert_eq!(u_j.to_vec(), vec![2.0, 40.0]);
/// ```
pub fn vjp<S, SO, E, F>(f: F, x: &Tensor<S, E>, u: &Tensor<SO, E>) -> (Tensor<SO, E>, Tensor<S, E>)
where
    S: Shape,
    SO: Shape,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
{
    let (leaf, out) = record(f, x);
    let value = out.no_grad();
    let grads = out.backward_with(u);
    (value, gradient_or_zeros(&grads, &leaf))
}

/// The value of `f` at `x` and the Jacobian-vector product `J v` (JAX's `jvp`,
/// `torch.func.jvp`), by forward mode: the tangent `v` pushed through the recorded
/// operations, each by its own JVP rule.
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// let x = Tensor::from_array([0.0f64, 1.0]);
/// let (y, j_v) = func::jvp(|x| x.exp(), &x, &Tensor::from_array([2.0, 1.0]));
/// assert_eq!(y.to_vec(), vec![1.0, 1f64.exp()]);
/// assert_eq!(j_v.to_vec(), vec![2.0, 1f64.exp()]);
/// ```
pub fn jvp<S, SO, E, F>(f: F, x: &Tensor<S, E>, v: &Tensor<S, E>) -> (Tensor<SO, E>, Tensor<SO, E>)
where
    S: Shape,
    SO: Shape,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
{
    let (leaf, out) = record(f, x);
    let tangent = tangents(&leaf, &out, v.as_slice(), 1);
    (out.no_grad(), tensor_from(tangent))
}

/// The tangents of `out` for `batch` tangents `seed` of `leaf` (one forward sweep), in
/// a pooled buffer.
fn tangents<S: Shape, SO: Shape, E: Element>(
    leaf: &Tensor<S, E, Tracked>,
    out: &Tensor<SO, E, Tracked>,
    seed: &[E],
    batch: usize,
) -> Arc<[E]> {
    match (out.graph_ref(), leaf_id(leaf)) {
        (Some(target), Some(id)) => {
            jvp_sweep(target, SO::NUM_ELEMENTS, &[(id, E::seed(seed))], batch)
        }
        _ => None,
    }
    .unwrap_or_else(|| pool::take_zeroed(batch * SO::NUM_ELEMENTS))
}

/// A `NoGrad` tensor of `values`, which the caller made `S::NUM_ELEMENTS` long.
fn tensor_from<S: Shape, E: Element>(values: Arc<[E]>) -> Tensor<S, E> {
    Tensor::<S, E, NoGrad>::from_storage(Storage::from_shared(values))
        .unwrap_or_else(|| Tensor::full(E::nan()))
}

/// The identity as `n` tangents of `n` elements: tangent `b` is the `b`-th unit vector.
fn identity_tangents<E: Element>(n: usize) -> Arc<[E]> {
    let mut identity = pool::take_zeroed(n * n);
    if let Some(values) = Arc::get_mut(&mut identity) {
        values.iter_mut().step_by(n + 1).for_each(|v| *v = E::one());
    }
    identity
}

/// The Jacobian's columns: the tangents of `out` along each unit vector of `leaf`
/// (`n` of them), transposed to the Jacobian's row-major layout (`m` rows).
fn jacobian_by_columns<S: Shape, SO: Shape, R: Shape, E: Element>(
    leaf: &Tensor<S, E, Tracked>,
    out: &Tensor<SO, E, Tracked>,
    n: usize,
    m: usize,
) -> Tensor<R, E> {
    let identity = identity_tangents(n);
    // Tangent b holds column b of the Jacobian; the result is row-major by output.
    let columns = tangents(leaf, out, &identity, n);
    pool::recycle(identity);
    let jacobian = transposed(&columns, n, m);
    pool::recycle(columns);
    jacobian
}

/// The Jacobian of `f` at `x`, shaped as `f`'s output dimensions followed by `x`'s
/// (`Rank2<M, N>` for a function from `Rank1<N>` to `Rank1<M>`).
///
/// Forward mode (one sweep of all `N` unit tangents) when the input has no more
/// elements than the output, reverse mode (`M` backward passes) otherwise: the choice is
/// made from the sizes in the types, at compile time. [`jacobian_forward`] and
/// [`jacobian_reverse`] force one mode.
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// let a = Tensor::from_array([[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]]);
/// let x = Tensor::from_array([0.5, -1.0]);
/// let j: Tensor<Rank2<3, 2>, f64> = func::jacobian(|x| a.matmul(x), &x);
/// assert_eq!(j.to_vec(), a.to_vec());
/// ```
pub fn jacobian<S, SO, E, F>(f: F, x: &Tensor<S, E>) -> Tensor<<SO as JacobianShape<S>>::Output, E>
where
    S: Shape,
    SO: JacobianShape<S>,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
{
    if S::NUM_ELEMENTS <= SO::NUM_ELEMENTS {
        jacobian_forward(f, x)
    } else {
        jacobian_reverse(f, x)
    }
}

/// The Jacobian by forward mode: the `N` unit tangents of the input pushed through the
/// recorded operations in one sweep (`torch.func.jacfwd`).
pub fn jacobian_forward<S, SO, E, F>(
    f: F,
    x: &Tensor<S, E>,
) -> Tensor<<SO as JacobianShape<S>>::Output, E>
where
    S: Shape,
    SO: JacobianShape<S>,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
{
    let (leaf, out) = record(f, x);
    jacobian_by_columns(&leaf, &out, S::NUM_ELEMENTS, SO::NUM_ELEMENTS)
}

/// The `rows x cols` row-major `values` transposed, as a tensor (of the caller's shape,
/// `cols x rows` elements).
fn transposed<S: Shape, E: Element>(values: &[E], rows: usize, cols: usize) -> Tensor<S, E> {
    let mut data = pool::take_zeroed(rows * cols);
    if let (Some(out), true) = (Arc::get_mut(&mut data), values.len() == rows * cols) {
        for (r, row) in values.chunks_exact(cols.max(1)).enumerate() {
            for (c, &value) in row.iter().enumerate() {
                out[c * rows + r] = value;
            }
        }
    }
    tensor_from(data)
}

/// The Jacobian by reverse mode: one backward pass per output element, each giving a
/// row (`torch.func.jacrev`).
pub fn jacobian_reverse<S, SO, E, F>(
    f: F,
    x: &Tensor<S, E>,
) -> Tensor<<SO as JacobianShape<S>>::Output, E>
where
    S: Shape,
    SO: JacobianShape<S>,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
{
    let (n, m) = (S::NUM_ELEMENTS, SO::NUM_ELEMENTS);
    let (leaf, out) = record(f, x);
    let mut jac = vec![E::zero(); m * n];
    let (Some(root), Some(id)) = (out.graph_ref(), leaf_id(&leaf)) else {
        return tensor_from(jac.into());
    };
    let mut seed = vec![E::zero(); m];
    for (o, row) in jac.chunks_exact_mut(n.max(1)).enumerate().take(m) {
        seed[o] = E::one();
        let mut grads = Gradients::new();
        // Unchecked backward has no failure path.
        let _ = backward(
            root,
            out.as_slice(),
            SO::DIMS,
            &seed,
            &mut grads,
            Check::Off,
        );
        if let Some(g) = grads.get_by_id::<S, E>(id) {
            row.copy_from_slice(g.as_slice());
        }
        seed[o] = E::zero();
    }
    tensor_from(jac.into())
}

/// The exact Hessian of a scalar function at `x`: `Rank2<N, N>` for an input of
/// `Rank1<N>` (in general, `x`'s dimensions twice).
///
/// # Errors
/// [`Error::NotTwiceDifferentiable`] if `f` applies a custom operation that gives no
/// differentiable backward rule; with built-in operations only, it does not fail.
///
/// The backward pass is recorded ([`Tensor::backward_create_graph`]), which gives the
/// gradient as a function of `x` built from differentiable operations; its Jacobian is
/// then taken in forward mode, all `N` unit tangents in one sweep through the recorded
/// function and its recorded gradient (forward-over-reverse). No finite differences.
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// // xᵀ M x has Hessian M + Mᵀ.
/// let m = Tensor::from_array([[1.0f64, 2.0], [0.0, 3.0]]);
/// let h = func::hessian(|x| x.dot(&m.matmul(x)), &Tensor::from_array([0.3, -0.7]))?;
/// assert_eq!(h.to_vec(), vec![2.0, 2.0, 2.0, 6.0]);
/// # Ok::<(), typegrad::Error>(())
/// ```
pub fn hessian<S, SO, E, F>(
    f: F,
    x: &Tensor<S, E>,
) -> Result<Tensor<<S as JacobianShape<S>>::Output, E>, Error>
where
    S: JacobianShape<S>,
    SO: ScalarOutput,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked>,
{
    let n = S::NUM_ELEMENTS;
    let (leaf, out) = record(f, x);
    let Some(gradient) = out.backward_create_graph()?.get(&leaf) else {
        return Ok(tensor_from(pool::take_zeroed(n * n)));
    };
    // Column b of the Hessian is the tangent of the gradient along unit vector b; the
    // Hessian of a twice-differentiable function is symmetric, but the layout is kept
    // exact (row = gradient element, column = direction) for any function.
    Ok(jacobian_by_columns(&leaf, &gradient, n, n))
}

/// `f`, whose closure may fail, as an infallible function for the transforms above: an
/// `Err` from `f` is kept in `failure`, and the transform goes on with a constant (a
/// fresh leaf of zeros, which nothing depends on), so that each transform keeps one
/// implementation. Every transform calls `f` exactly once.
fn keeping_failure<'a, S, SO, E, F>(
    f: &'a F,
    failure: &'a core::cell::Cell<Option<Error>>,
) -> impl Fn(&Tensor<S, E, Tracked>) -> Tensor<SO, E, Tracked> + 'a
where
    S: Shape,
    SO: Shape,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Result<Tensor<SO, E, Tracked>, Error>,
{
    move |x| match f(x) {
        Ok(y) => y,
        Err(err) => {
            failure.set(Some(err));
            Tensor::<SO, E>::zeros().track()
        }
    }
}

/// The result of a transform, or the `Err` its function returned.
fn unless_failed<R>(result: R, failure: core::cell::Cell<Option<Error>>) -> Result<R, Error> {
    match failure.into_inner() {
        Some(err) => Err(err),
        None => Ok(result),
    }
}

/// [`grad`] of a function that may fail (a linear-algebra operation on its input, say):
/// its `Err` is returned, so that code using `?` on numeric input needs no `expect`.
///
/// # Errors
/// The first `Err` the function returned.
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// // The log-determinant of a positive-definite matrix: its gradient is the inverse.
/// let a = Tensor::from_array([[2.0f64, 0.0], [0.0, 4.0]]);
/// let g = func::try_grad(|a| a.logdet(), &a)?;
/// assert!(g.allclose(&Tensor::from_array([[0.5, 0.0], [0.0, 0.25]]), 1e-15, 0.0));
/// let indefinite = Tensor::from_array([[1.0f64, 2.0], [2.0, 1.0]]);
/// assert!(matches!(
///     func::try_grad(|a| a.logdet(), &indefinite),
///     Err(Error::NotPositiveDefinite { order: 2, .. })
/// ));
/// # Ok::<(), Error>(())
/// ```
pub fn try_grad<S, SO, E, F>(f: F, x: &Tensor<S, E>) -> Result<Tensor<S, E>, Error>
where
    S: Shape,
    SO: ScalarOutput,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Result<Tensor<SO, E, Tracked>, Error>,
{
    Ok(try_value_and_grad(f, x)?.1)
}

/// [`value_and_grad`] of a function that may fail.
///
/// # Errors
/// The first `Err` the function returned.
pub fn try_value_and_grad<S, SO, E, F>(f: F, x: &Tensor<S, E>) -> Result<(E, Tensor<S, E>), Error>
where
    S: Shape,
    SO: ScalarOutput,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Result<Tensor<SO, E, Tracked>, Error>,
{
    let failure = core::cell::Cell::new(None);
    let result = value_and_grad(keeping_failure(&f, &failure), x);
    unless_failed(result, failure)
}

/// [`vjp`] of a function that may fail.
///
/// # Errors
/// The first `Err` the function returned.
#[allow(clippy::type_complexity)]
pub fn try_vjp<S, SO, E, F>(
    f: F,
    x: &Tensor<S, E>,
    u: &Tensor<SO, E>,
) -> Result<(Tensor<SO, E>, Tensor<S, E>), Error>
where
    S: Shape,
    SO: Shape,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Result<Tensor<SO, E, Tracked>, Error>,
{
    let failure = core::cell::Cell::new(None);
    let result = vjp(keeping_failure(&f, &failure), x, u);
    unless_failed(result, failure)
}

/// [`jvp`] of a function that may fail.
///
/// # Errors
/// The first `Err` the function returned.
#[allow(clippy::type_complexity)]
pub fn try_jvp<S, SO, E, F>(
    f: F,
    x: &Tensor<S, E>,
    v: &Tensor<S, E>,
) -> Result<(Tensor<SO, E>, Tensor<SO, E>), Error>
where
    S: Shape,
    SO: Shape,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Result<Tensor<SO, E, Tracked>, Error>,
{
    let failure = core::cell::Cell::new(None);
    let result = jvp(keeping_failure(&f, &failure), x, v);
    unless_failed(result, failure)
}

/// [`jacobian`] of a function that may fail (forward or reverse mode chosen from the
/// sizes, as `jacobian` does).
///
/// # Errors
/// The first `Err` the function returned.
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// // x ↦ A⁻¹ x has Jacobian A⁻¹.
/// let a = Tensor::from_array([[2.0f64, 0.0], [0.0, 4.0]]);
/// let j: Tensor<Rank2<2, 2>, f64> = func::try_jacobian(|x| a.solve(x), &Tensor::from_array([1.0, 1.0]))?;
/// assert_eq!(j.to_vec(), vec![0.5, 0.0, 0.0, 0.25]);
/// # Ok::<(), Error>(())
/// ```
pub fn try_jacobian<S, SO, E, F>(
    f: F,
    x: &Tensor<S, E>,
) -> Result<Tensor<<SO as JacobianShape<S>>::Output, E>, Error>
where
    S: Shape,
    SO: JacobianShape<S>,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Result<Tensor<SO, E, Tracked>, Error>,
{
    let failure = core::cell::Cell::new(None);
    let result = jacobian(keeping_failure(&f, &failure), x);
    unless_failed(result, failure)
}

/// [`hessian`] of a function that may fail.
///
/// # Errors
/// The first `Err` the function returned, or [`hessian`]'s own.
///
/// ```
/// use typegrad::func;
/// use typegrad::prelude::*;
/// // The Hessian of ln det A along a diagonal A = diag(x): d² ln x / dx² = -1/x².
/// let h = func::try_hessian(|x: &Tensor<Rank1<2>, f64, Tracked>| x.diag().logdet(), &Tensor::from_array([1.0, 2.0]))?;
/// assert!(h.allclose(&Tensor::from_array([[-1.0, 0.0], [0.0, -0.25]]), 1e-12, 1e-14));
/// # Ok::<(), Error>(())
/// ```
pub fn try_hessian<S, SO, E, F>(
    f: F,
    x: &Tensor<S, E>,
) -> Result<Tensor<<S as JacobianShape<S>>::Output, E>, Error>
where
    S: JacobianShape<S>,
    SO: ScalarOutput,
    E: Element,
    F: Fn(&Tensor<S, E, Tracked>) -> Result<Tensor<SO, E, Tracked>, Error>,
{
    let failure = core::cell::Cell::new(None);
    let result = hessian(keeping_failure(&f, &failure), x);
    // The function's own failure first: the transform ran on a stand-in after it.
    match (failure.into_inner(), result) {
        (Some(err), _) | (None, Err(err)) => Err(err),
        (None, Ok(h)) => Ok(h),
    }
}
