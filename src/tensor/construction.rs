//! Creating tensors: constants, nested arrays, vectors (checked), seeded random values.

use alloc::vec::Vec;
use rand::RngExt;
use rand_distr::StandardNormal;

use super::storage::Storage;
use super::Tensor;
use crate::element::Element;
use crate::error::Error;
use crate::shape::{Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
use crate::tape::{NoGrad, Tape};

/// The seeded random generator the examples use: ChaCha8, whose output for a given seed
/// is fixed across platforms and versions of its crate.
pub type SeededRng = rand_chacha::ChaCha8Rng;

/// A [`SeededRng`] started from `seed`: the same seed gives the same tensors.
///
/// ```
/// use typegrad::prelude::*;
/// let a = Tensor::<Rank1<4>, f32>::randn(&mut seeded_rng(7));
/// let b = Tensor::<Rank1<4>, f32>::randn(&mut seeded_rng(7));
/// assert_eq!(a.to_vec(), b.to_vec());
/// ```
pub fn seeded_rng(seed: u64) -> SeededRng {
    <SeededRng as rand::SeedableRng>::seed_from_u64(seed)
}

/// Nested arrays that describe a tensor: `[[E; N]; M]` is a `Rank2<M, N>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a nested array of `f32` or `f64` numbers",
    label = "`Tensor::from_array` takes numbers",
    note = "to build a tensor from tensors, use `Tensor::stack`",
    note = "for numbers, write float literals such as `2.0`, not `2`"
)]
pub trait NestedArray<E> {
    /// The shape the nesting describes.
    type Shape: Shape;
    /// Appends the elements in row-major order.
    fn extend_flat(&self, out: &mut Vec<E>);

    /// Writes the elements in row-major order at the start of `out` and returns the rest
    /// of it: `Tensor::from_array` fills its storage with no temporary `Vec`, so a
    /// constant built in every step allocates nothing. (`out` shorter than the elements:
    /// those that fit.) The default goes through [`NestedArray::extend_flat`].
    fn write_flat<'a>(&self, out: &'a mut [E]) -> &'a mut [E]
    where
        E: Copy,
    {
        let mut flat = Vec::new();
        self.extend_flat(&mut flat);
        write_slice(&flat, out)
    }
}

/// Copies `values` to the start of `out` (as many as fit); returns the rest of `out`.
fn write_slice<'a, E: Copy>(values: &[E], out: &'a mut [E]) -> &'a mut [E] {
    let n = values.len().min(out.len());
    let (head, rest) = out.split_at_mut(n);
    head.copy_from_slice(&values[..n]);
    rest
}

/// [`NestedArray`] for a bare element, which describes a [`Rank0`].
macro_rules! scalar_nested_array {
    ($($float:ty),*) => {$(
        impl NestedArray<$float> for $float {
            type Shape = Rank0;
            fn extend_flat(&self, out: &mut Vec<$float>) {
                out.push(*self);
            }
            fn write_flat<'a>(&self, out: &'a mut [$float]) -> &'a mut [$float] {
                write_slice(core::slice::from_ref(self), out)
            }
        }
    )*};
}
scalar_nested_array!(f32, f64);

impl<E: Element, const N: usize> NestedArray<E> for [E; N] {
    type Shape = Rank1<N>;
    fn extend_flat(&self, out: &mut Vec<E>) {
        out.extend_from_slice(self);
    }
    fn write_flat<'a>(&self, out: &'a mut [E]) -> &'a mut [E] {
        write_slice(self, out)
    }
}

impl<E: Element, const M: usize, const N: usize> NestedArray<E> for [[E; N]; M] {
    type Shape = Rank2<M, N>;
    fn extend_flat(&self, out: &mut Vec<E>) {
        self.iter().for_each(|row| out.extend_from_slice(row));
    }
    fn write_flat<'a>(&self, out: &'a mut [E]) -> &'a mut [E] {
        self.iter().fold(out, |out, row| write_slice(row, out))
    }
}

impl<E: Element, const A: usize, const B: usize, const C: usize> NestedArray<E>
    for [[[E; C]; B]; A]
{
    type Shape = Rank3<A, B, C>;
    fn extend_flat(&self, out: &mut Vec<E>) {
        self.iter().for_each(|m| m.extend_flat(out));
    }
    fn write_flat<'a>(&self, out: &'a mut [E]) -> &'a mut [E] {
        self.iter().fold(out, |out, m| m.write_flat(out))
    }
}

impl<E: Element, const A: usize, const B: usize, const C: usize, const D: usize> NestedArray<E>
    for [[[[E; D]; C]; B]; A]
{
    type Shape = Rank4<A, B, C, D>;
    fn extend_flat(&self, out: &mut Vec<E>) {
        self.iter().for_each(|t| t.extend_flat(out));
    }
    fn write_flat<'a>(&self, out: &'a mut [E]) -> &'a mut [E] {
        self.iter().fold(out, |out, t| t.write_flat(out))
    }
}

/// Marks nothing: no type implements it. It keeps the impl of [`NestedArray`] for
/// arrays of tensors from ever applying.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`Tensor::from_array` takes arrays of numbers, not of tensors",
    note = "to build a tensor from tensors, use `Tensor::stack`"
)]
pub trait NotAnElement {}

// Never usable (its bound has no impl). It exists so that `Tensor::from_array([t0, t1])`
// has two candidate impls that both fail, and rustc reports `NestedArray`'s message (which
// names `Tensor::stack`) instead of inferring `E = Tensor<..>` from the `[E; N]` impl and
// reporting `Element`'s advice about float literals.
#[doc(hidden)]
#[diagnostic::do_not_recommend]
impl<S: Shape, E: Element, T: Tape, const N: usize> NestedArray<Tensor<S, E, T>>
    for [Tensor<S, E, T>; N]
where
    Tensor<S, E, T>: NotAnElement,
{
    type Shape = Rank1<N>;
    fn extend_flat(&self, _: &mut Vec<Tensor<S, E, T>>) {}
}

/// A storage holding `values` (`len` of them), in a buffer from the thread's pool: a
/// buffer made outside the pool would join it when its tensor drops, so a loop that
/// builds a tensor from its inputs each step would grow the pool to its bound.
fn pooled<E: Element>(len: usize, values: impl IntoIterator<Item = E>) -> Storage<E> {
    Storage::collect(len, values)
}

/// A fresh storage of `len` elements filled by `fill`.
pub(crate) fn build<E: Element>(len: usize, fill: impl FnOnce(&mut [E])) -> Storage<E> {
    let mut data = Storage::zeroed(len);
    fill(data.make_mut());
    data
}

impl<S: Shape, E: Element> Tensor<S, E, NoGrad> {
    /// A tensor filled with `value` (PyTorch's `torch.full`).
    pub fn full(value: E) -> Self {
        Tensor::from_parts(
            pooled(
                S::NUM_ELEMENTS,
                core::iter::repeat_n(value, S::NUM_ELEMENTS),
            ),
            (),
        )
    }

    /// A tensor of zeros.
    pub fn zeros() -> Self {
        Self::full(E::zero())
    }

    /// A tensor of ones.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<Rank1<2>, f32> = Tensor::ones();
    /// assert_eq!(x.to_string(), "tensor([1., 1.])");
    /// ```
    pub fn ones() -> Self {
        Self::full(E::one())
    }

    /// A tensor from nested arrays, its shape read from the nesting.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let _: &Tensor<Rank2<2, 3>, f32> = &m;
    /// assert_eq!(m.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// ```
    pub fn from_array<A: NestedArray<E, Shape = S>>(array: A) -> Self {
        let data = build(S::NUM_ELEMENTS, |out| {
            array.write_flat(out);
        });
        Tensor::from_parts(data, ())
    }

    /// A tensor from row-major elements; an error naming both counts if `values` does
    /// not hold exactly as many elements as the shape.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let ok = Tensor::<Rank2<2, 2>, f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0]);
    /// assert!(ok.is_ok());
    /// let err = Tensor::<Rank2<2, 2>, f64>::from_vec(vec![1.0, 2.0, 3.0]).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "Tensor::from_vec: a tensor of shape [2, 2] holds 4 elements, but 3 were given"
    /// );
    /// ```
    pub fn from_vec(values: Vec<E>) -> Result<Self, Error> {
        Self::check_len("Tensor::from_vec", values.len())?;
        Ok(Tensor::from_parts(pooled(values.len(), values), ()))
    }

    /// A tensor copied from row-major elements; an error if the length is wrong.
    pub fn from_slice(values: &[E]) -> Result<Self, Error> {
        Self::check_len("Tensor::from_slice", values.len())?;
        Ok(Tensor::from_parts(
            pooled(values.len(), values.iter().copied()),
            (),
        ))
    }

    /// A tensor whose element at flat (row-major) position `i` is `f(i)`.
    pub fn from_fn(f: impl FnMut(usize) -> E) -> Self {
        Tensor::from_parts(pooled(S::NUM_ELEMENTS, (0..S::NUM_ELEMENTS).map(f)), ())
    }

    /// Standard normal samples drawn from `rng` (PyTorch's `torch.randn`).
    ///
    /// Samples are drawn in `f64` and rounded, so an `f32` and an `f64` tensor drawn
    /// from the same seed hold the same values up to rounding.
    pub fn randn<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Tensor::from_parts(normal_samples(S::NUM_ELEMENTS, rng), ())
    }

    /// Uniform samples in `[0, 1)` drawn from `rng` (PyTorch's `torch.rand`).
    pub fn rand<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Tensor::from_parts(uniform_samples(S::NUM_ELEMENTS, rng), ())
    }

    pub(crate) fn from_storage(data: Storage<E>) -> Option<Self> {
        (data.len() == S::NUM_ELEMENTS).then(|| Tensor::from_parts(data, ()))
    }

    fn check_len(context: &'static str, given: usize) -> Result<(), Error> {
        if given == S::NUM_ELEMENTS {
            Ok(())
        } else {
            Err(Error::LengthMismatch {
                context,
                dims: S::DIMS,
                expected: S::NUM_ELEMENTS,
                given,
            })
        }
    }
}

impl<E: Element, const N: usize> Tensor<Rank2<N, N>, E, NoGrad> {
    /// The identity matrix (PyTorch's `torch.eye`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let i = Tensor::<Rank2<2, 2>, f32>::eye();
    /// assert_eq!(i.to_string(), "tensor([[1., 0.],\n        [0., 1.]])");
    /// ```
    pub fn eye() -> Self {
        Self::from_fn(|i| if i / N == i % N { E::one() } else { E::zero() })
    }
}

impl<E: Element, const N: usize> Tensor<Rank1<N>, E, NoGrad> {
    /// `0, 1, ..., N - 1` (PyTorch's `torch.arange(N)`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// assert_eq!(Tensor::<Rank1<4>, f64>::arange().to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
    /// ```
    pub fn arange() -> Self {
        Self::from_fn(|i| E::from_f64(i as f64))
    }
}

/// `len` standard normal samples (drawn in `f64`): the body of `randn`, generic over the
/// element and the generator only, and out of line, so that it is compiled once, not
/// once per shape or per call.
#[inline(never)]
fn normal_samples<E: Element, R: rand::Rng + ?Sized>(len: usize, rng: &mut R) -> Storage<E> {
    pooled(
        len,
        (0..len).map(|_| E::from_f64(rng.sample::<f64, _>(StandardNormal))),
    )
}

/// `len` uniform samples in `[0, 1)`, as [`normal_samples`] for `rand`.
#[inline(never)]
fn uniform_samples<E: Element, R: rand::Rng + ?Sized>(len: usize, rng: &mut R) -> Storage<E> {
    pooled(len, (0..len).map(|_| E::from_f64(rng.random::<f64>())))
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn wrong_length_is_an_error_not_a_panic() {
        let err = Tensor::<Rank1<3>, f32>::from_slice(&[1.0]).unwrap_err();
        assert!(matches!(
            err,
            Error::LengthMismatch {
                expected: 3,
                given: 1,
                ..
            }
        ));
    }

    #[test]
    fn eye_and_arange() {
        assert_eq!(
            Tensor::<Rank2<2, 2>, f64>::eye().to_vec(),
            vec![1.0, 0.0, 0.0, 1.0]
        );
        assert_eq!(
            Tensor::<Rank1<3>, f32>::arange().to_vec(),
            vec![0.0, 1.0, 2.0]
        );
    }

    #[test]
    fn large_shapes_are_fine() {
        let t = Tensor::<Rank2<2000, 3000>, f32>::zeros();
        assert_eq!(t.numel(), 6_000_000);
    }
}
