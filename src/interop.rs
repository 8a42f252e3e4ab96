//! Conversions to and from [nalgebra](https://nalgebra.rs)'s statically sized matrices
//! (feature `nalgebra`).
//!
//! - `Tensor<Rank2<R, C>, E, T>` and `SMatrix<E, R, C>`,
//! - `Tensor<Rank1<N>, E, T>` and `SVector<E, N>`,
//!
//! both ways, with `From` (by value or by reference). A tensor of any tape converts to
//! nalgebra (its value); nalgebra converts to a plain `NoGrad` tensor, which `.track()`
//! makes a leaf. Element `(i, j)` is the same on both sides: nalgebra stores columns
//! first and typegrad rows first, and the conversions reorder the elements.
//!
//! An `SVector<E, N>` is nalgebra's `SMatrix<E, N, 1>`, so it converts to a `Rank1<N>`
//! tensor or to a `Rank2<N, 1>` one: name the type you want.
//!
//! ```
//! use nalgebra::{SMatrix, SVector};
//! use typegrad::prelude::*;
//!
//! let m = SMatrix::<f64, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0); // written row by row
//! let t: Tensor<Rank2<2, 3>, f64> = m.into();
//! assert_eq!(t.to_array(), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
//!
//! let v = SVector::<f64, 3>::new(1.0, 0.0, -1.0);
//! let x: Tensor<Rank1<3>, f64> = v.into();
//! let y = t.track().matmul(&x); // Tracked, Rank1<2>
//! assert_eq!(SVector::<f64, 2>::from(&y), m * v);
//! ```

use nalgebra::{SMatrix, SVector};

use crate::element::Element;
use crate::shape::{Rank1, Rank2};
use crate::tape::{NoGrad, Tape};
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// The element at flat position `k`. Every caller passes `k` below the storage's length
/// (the shape's element count); a NaN rather than a panic if that were ever wrong.
fn at<E: Element>(data: &[E], k: usize) -> E {
    data.get(k).copied().unwrap_or_else(E::nan)
}

impl<E: Element, const R: usize, const C: usize> From<&SMatrix<E, R, C>>
    for Tensor<Rank2<R, C>, E, NoGrad>
{
    fn from(m: &SMatrix<E, R, C>) -> Self {
        // The transpose's columns are `m`'s rows: its column-major order is row-major.
        Tensor::from_parts(Storage::collect(R * C, m.transpose().iter().copied()), ())
    }
}

impl<E: Element, const R: usize, const C: usize> From<SMatrix<E, R, C>>
    for Tensor<Rank2<R, C>, E, NoGrad>
{
    fn from(m: SMatrix<E, R, C>) -> Self {
        Self::from(&m)
    }
}

impl<E: Element, const R: usize, const C: usize, T: Tape> From<&Tensor<Rank2<R, C>, E, T>>
    for SMatrix<E, R, C>
{
    fn from(t: &Tensor<Rank2<R, C>, E, T>) -> Self {
        let d = t.as_slice();
        SMatrix::from_fn(|i, j| at(d, i * C + j))
    }
}

impl<E: Element, const R: usize, const C: usize, T: Tape> From<Tensor<Rank2<R, C>, E, T>>
    for SMatrix<E, R, C>
{
    fn from(t: Tensor<Rank2<R, C>, E, T>) -> Self {
        Self::from(&t)
    }
}

impl<E: Element, const N: usize> From<&SVector<E, N>> for Tensor<Rank1<N>, E, NoGrad> {
    fn from(v: &SVector<E, N>) -> Self {
        Tensor::from_parts(Storage::collect(N, v.iter().copied()), ())
    }
}

impl<E: Element, const N: usize> From<SVector<E, N>> for Tensor<Rank1<N>, E, NoGrad> {
    fn from(v: SVector<E, N>) -> Self {
        Self::from(&v)
    }
}

impl<E: Element, const N: usize, T: Tape> From<&Tensor<Rank1<N>, E, T>> for SVector<E, N> {
    fn from(t: &Tensor<Rank1<N>, E, T>) -> Self {
        let d = t.as_slice();
        SVector::from_fn(|i, _| at(d, i))
    }
}

impl<E: Element, const N: usize, T: Tape> From<Tensor<Rank1<N>, E, T>> for SVector<E, N> {
    fn from(t: Tensor<Rank1<N>, E, T>) -> Self {
        Self::from(&t)
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::{SMatrix, SVector};

    use crate::prelude::*;

    #[test]
    fn element_i_j_is_the_same_on_both_sides() {
        // Non-square, distinct values: a transposed or column-major read is caught.
        let t = Tensor::<Rank2<2, 3>, f32>::from_fn(|k| k as f32 + 1.0);
        let m = SMatrix::<f32, 2, 3>::from(&t);
        for i in 0..2 {
            for j in 0..3 {
                assert_eq!(Ok(m[(i, j)]), t.get([i, j]), "({i}, {j})");
            }
        }
        assert_eq!(m, SMatrix::<f32, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0));
        assert_eq!(Tensor::from(m), t);

        let tall = SMatrix::<f64, 4, 1>::new(1.0, 2.0, 3.0, 4.0);
        let tt: Tensor<Rank2<4, 1>, f64> = tall.into();
        assert_eq!(tt.to_array(), [[1.0], [2.0], [3.0], [4.0]]);
        assert_eq!(SMatrix::from(tt), tall);
    }

    #[test]
    fn products_agree() {
        let mut rng = seeded_rng(5);
        let a = Tensor::<Rank2<3, 4>, f64>::randn(&mut rng);
        let b = Tensor::<Rank2<4, 2>, f64>::randn(&mut rng);
        let v = Tensor::<Rank1<4>, f64>::randn(&mut rng);
        let (na, nb, nv) = (
            SMatrix::<f64, 3, 4>::from(&a),
            SMatrix::<f64, 4, 2>::from(&b),
            SVector::<f64, 4>::from(&v),
        );
        let ab = SMatrix::<f64, 3, 2>::from(a.matmul(&b));
        assert!((ab - na * nb).abs().max() < 1e-12);
        let av = SVector::<f64, 3>::from(a.matmul(&v));
        assert!((av - na * nv).abs().max() < 1e-12);
        let at: Tensor<Rank2<4, 3>, f64> = na.transpose().into();
        assert_eq!(at, a.t());
    }

    #[test]
    fn any_tape_converts_to_nalgebra_and_back_to_a_plain_value() {
        let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
        let y = &x * 2.0;
        let v: SVector<f32, 3> = (&y).into();
        assert_eq!(v, SVector::<f32, 3>::new(2.0, 4.0, 6.0));
        let d: SVector<f32, 3> = y.detach().into();
        assert_eq!(d, v);
        let back: Tensor<Rank1<3>, f32, NoGrad> = v.into();
        assert_eq!(back, y);
        assert!(!back.requires_grad());
        let w: SMatrix<f32, 0, 3> = Tensor::<Rank2<0, 3>, f32>::zeros().into();
        assert_eq!(w.len(), 0);
        let e: Tensor<Rank2<3, 0>, f32> = SMatrix::<f32, 3, 0>::zeros().into();
        assert_eq!(e.numel(), 0);
    }
}
