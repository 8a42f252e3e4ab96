//! The operations on masks, indices and lane statistics: `where_` (with the comparisons
//! that make its masks), `gather`, `max_axis_with_indices`/`min_axis_with_indices` (with
//! `argmax`/`argmin`), `logsumexp`, and `var`/`std` (whole and along an axis).
//!
//! Property tests run all three derivative rules through the shared `check` of
//! `prop_ops` (gradcheck, jvpcheck, gradgradcheck with `Tolerance::default()`), on the
//! tracked leaf and on an interior value, with broadcast operands, and with either operand
//! of `where_` a constant. Then, deterministically: PyTorch's names, ties and edge rules;
//! NaN in, NaN out (SPEC §6) for each operation, forward and backward; and the variance of
//! a million `f32` values near 1e4, where a one-pass formula cancels every digit.

use proptest::collection::vec;
use proptest::prelude::*;
use typegrad::prelude::*;
use typegrad::GradFn;

use crate::prop_ops::{any_vals, check, distinct, for_shapes, property, range, t, Tr, CASES};

// ---------------------------------------------------------------------------------------
// where_
// ---------------------------------------------------------------------------------------

/// A mask of shape `S` from the first `S::NUM_ELEMENTS` of `bits`.
fn mask<S: Shape>(bits: &[bool]) -> Mask<S> {
    Mask::from_fn(|i| bits[i])
}

/// Checks `|a, b| body` for a mask of shape `S` and operands `A` and `B` that broadcast
/// to it: both tracked, either one a constant, and both interior values.
macro_rules! for_masked {
    ($bits:ident, $l:ident, $r:ident, |$m:ident, $a:ident, $b:ident| $body:expr;
        $(($S:ty, $A:ty, $B:ty)),+ $(,)?) => {$(
        let $m = &mask::<$S>(&$bits);
        let what = concat!(stringify!($A), " and ", stringify!($B), " under a ", stringify!($S), " mask");
        check(
            &format!("{what}, both tracked"),
            &|($a, $b): &(Tr<$A>, Tr<$B>)| $body,
            &(t::<$A>(&$l), t::<$B>(&$r)),
        )?;
        let constant = t::<$B>(&$r);
        check(
            &format!("{what}, right constant"),
            &|$a: &Tr<$A>| {
                let $b = &constant;
                $body
            },
            &t::<$A>(&$l),
        )?;
        let constant = t::<$A>(&$l);
        check(
            &format!("{what}, left constant"),
            &|$b: &Tr<$B>| {
                let $a = &constant;
                $body
            },
            &t::<$B>(&$r),
        )?;
        check(
            &format!("{what}, interior values"),
            &|(left, right): &(Tr<$A>, Tr<$B>)| {
                let ($a, $b) = (&(left * 1.0), &(right * 1.0));
                $body
            },
            &(t::<$A>(&$l), t::<$B>(&$r)),
        )?;
    )+};
}

/// `where_(m, a, b)`: each element's gradient goes to the operand it came from, summed
/// over the repeats of a broadcast one. The product with a second `where_` (operands
/// swapped) makes the second derivative go through the recorded rule.
#[test]
fn where_gradient() {
    property(
        CASES,
        (any_vals(24), any_vals(24), vec(any::<bool>(), 24)),
        &|(lhs, rhs, bits)| {
            for_masked!(bits, lhs, rhs, |m, a, b| where_(m, a, b);
                (Rank0, Rank0, Rank0),
                (Rank1<4>, Rank1<4>, Rank1<4>),
                (Rank2<2, 3>, Rank1<3>, Rank0),
                (Rank2<2, 3>, Rank0, Rank2<2, 3>),
                (Rank3<2, 2, 3>, Rank2<2, 3>, Rank1<3>),
                (Rank3<2, 1, 3>, Rank3<2, 1, 3>, Rank2<1, 3>),
            );
            for_masked!(bits, lhs, rhs, |m, a, b| (where_(m, a, b) * where_(m, b, a)).sin();
                (Rank2<2, 3>, Rank2<2, 3>, Rank2<2, 3>),
                (Rank3<2, 2, 3>, Rank1<3>, Rank2<2, 3>),
            );
            // One tensor on both sides, once through a function.
            let m = &mask::<Rank2<2, 3>>(&bits);
            for_shapes!(lhs, |x| where_(m, x, &x.exp()) * x; Rank2<2, 3>);
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// gather
// ---------------------------------------------------------------------------------------

/// Indices of shape `S` below `len`, from the random `picks`.
fn indices<S: Shape>(picks: &[usize], len: usize) -> Indices<S> {
    Indices::from_fn(|i| picks[i] % len)
}

/// `x.gather::<AXIS>(index)` along each axis of ranks 1 to 3, index tensors shorter and
/// longer than the gathered axis, positions read more than once (their gradients add).
#[test]
fn gather_gradient() {
    property(CASES, (any_vals(24), vec(0..1000usize, 24)), &|(
        pool,
        picks,
    )| {
        let i = indices::<Rank1<7>>(&picks, 5);
        for_shapes!(pool, |x| x.gather::<0, _>(&i).unwrap(); Rank1<5>);
        let i = indices::<Rank2<3, 6>>(&picks, 4);
        for_shapes!(pool, |x| x.gather::<1, _>(&i).unwrap(); Rank2<3, 4>);
        let i = indices::<Rank2<5, 2>>(&picks, 3);
        for_shapes!(pool, |x| x.gather::<0, _>(&i).unwrap(); Rank2<3, 4>);
        let i = indices::<Rank3<2, 2, 3>>(&picks, 4);
        for_shapes!(pool, |x| x.gather::<2, _>(&i).unwrap(); Rank3<2, 3, 4>);
        let i = indices::<Rank3<1, 4, 4>>(&picks, 3);
        for_shapes!(pool, |x| x.gather::<1, _>(&i).unwrap(); Rank3<2, 3, 4>);
        let i = indices::<Rank3<3, 3, 2>>(&picks, 2);
        for_shapes!(pool, |x| x.gather::<0, _>(&i).unwrap(); Rank3<2, 3, 4>);
        // Through a nonlinear function of the gathered values and the input together.
        let i = indices::<Rank2<3, 4>>(&picks, 4);
        for_shapes!(pool, |x| (x.gather::<1, _>(&i).unwrap() * x).sin(); Rank2<3, 4>);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// max/min along an axis with indices, logsumexp, var, std
// ---------------------------------------------------------------------------------------

/// Checks `|x| body` for `x.$op::<AXIS>(..)` along every axis of ranks 1 to 4 (at most 24
/// elements), size-1 dimensions included, but never along the axis reduced (so that an
/// unbiased variance has at least two elements per lane).
macro_rules! every_axis {
    ($pool:ident, |$x:ident| $op:ident $(.$field:tt)? ($($arg:expr)?)) => {
        for_shapes!($pool, |$x| $x.$op::<0>($($arg)?)$(.$field)?;
            Rank1<5>, Rank2<2, 3>, Rank3<2, 3, 4>, Rank4<2, 3, 1, 4>);
        for_shapes!($pool, |$x| $x.$op::<1>($($arg)?)$(.$field)?;
            Rank2<1, 4>, Rank2<2, 3>, Rank3<2, 3, 4>, Rank4<2, 3, 1, 4>);
        for_shapes!($pool, |$x| $x.$op::<2>($($arg)?)$(.$field)?;
            Rank3<2, 3, 4>, Rank4<2, 3, 2, 2>);
        for_shapes!($pool, |$x| $x.$op::<3>($($arg)?)$(.$field)?; Rank4<2, 3, 1, 4>);
    };
}

/// The gradient of each lane's maximum goes to its (unique) index.
#[test]
fn max_axis_with_indices_gradient() {
    property(CASES, distinct(24), &|pool| {
        every_axis!(pool, |x| max_axis_with_indices.0());
        Ok(())
    });
}

/// The gradient of each lane's minimum goes to its (unique) index.
#[test]
fn min_axis_with_indices_gradient() {
    property(CASES, distinct(24), &|pool| {
        every_axis!(pool, |x| min_axis_with_indices.0());
        Ok(())
    });
}

/// d/dxᵢ ln Σ e^x = softmax(x)ᵢ within a lane, for moderate and large logits.
#[test]
fn logsumexp_gradient() {
    let logits = prop_oneof![range(24, -3.0, 3.0), range(24, -30.0, 30.0)];
    property(CASES, logits, &|pool| {
        every_axis!(pool, |x| logsumexp());
        Ok(())
    });
}

/// d var / dxᵢ = 2 (xᵢ - mean) / (n - correction) within a lane, both corrections (every
/// lane has at least two elements, so the unbiased variance is finite).
#[test]
fn var_axis_gradient() {
    property(CASES, any_vals(24), &|pool| {
        every_axis!(pool, |x| var_axis(true));
        every_axis!(pool, |x| var_axis(false));
        for_shapes!(pool, |x| x.var(true); Rank1<2>, Rank2<2, 3>, Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.var(false); Rank0, Rank1<1>, Rank2<2, 3>);
        Ok(())
    });
}

/// d std / dxᵢ = (xᵢ - mean) / ((n - correction) std) within a lane. Random values
/// differ, so no lane of two or more has a standard deviation of 0; lanes of one element
/// (biased: std = 0, gradient 0 by PyTorch's rule, which is the derivative of the
/// constant 0) are included.
#[test]
fn std_axis_gradient() {
    property(CASES, any_vals(24), &|pool| {
        every_axis!(pool, |x| std_axis(true));
        every_axis!(pool, |x| std_axis(false));
        for_shapes!(pool, |x| x.std_axis::<1>(false); Rank2<3, 1>);
        for_shapes!(pool, |x| x.std(true); Rank1<2>, Rank2<2, 3>);
        for_shapes!(pool, |x| x.std(false); Rank1<1>, Rank3<2, 3, 4>);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// PyTorch's names, ties and edge rules
// ---------------------------------------------------------------------------------------

/// The gradient of `f` at `values`, through a vector-Jacobian product with `seed`.
fn grad1<S: Shape, SO: Shape>(
    values: &[f64],
    seed: &[f64],
    f: impl Fn(&Tr<S>) -> Tr<SO>,
) -> Vec<f64> {
    let x = t::<S>(values).track();
    f(&x)
        .backward_with(&t::<SO>(seed))
        .get(&x)
        .unwrap()
        .to_vec()
}

#[test]
fn grad_fn_names_are_pytorchs() {
    let x = Tensor::from_array([[1.0f64, 2.0], [3.0, 4.0]]).track();
    let name = |y: &dyn Fn() -> Option<GradFn>| y().map(|g| g.name());
    let m = x.gt(2.0);
    assert_eq!(
        name(&|| where_(&m, &x, &x).grad_fn()),
        Some("WhereBackward0")
    );
    let i = Indices::from_array([[1, 0], [0, 0]]);
    assert_eq!(
        name(&|| x.gather::<1, _>(&i).unwrap().grad_fn()),
        Some("GatherBackward0")
    );
    assert_eq!(
        name(&|| x.max_axis_with_indices::<0>().0.grad_fn()),
        Some("MaxBackward0")
    );
    assert_eq!(
        name(&|| x.min_axis_with_indices::<1>().0.grad_fn()),
        Some("MinBackward0")
    );
    assert_eq!(
        name(&|| x.logsumexp::<1>().grad_fn()),
        Some("LogsumexpBackward0")
    );
    assert_eq!(name(&|| x.var(true).grad_fn()), Some("VarBackward0"));
    assert_eq!(
        name(&|| x.var_axis::<0>(false).grad_fn()),
        Some("VarBackward0")
    );
    assert_eq!(name(&|| x.std(true).grad_fn()), Some("StdBackward0"));
    assert_eq!(
        name(&|| x.std_axis::<1>(true).grad_fn()),
        Some("StdBackward0")
    );
    // Gradients of gradients record the same operations.
    let dx = (where_(&m, &x, &x.exp()) * &x)
        .sum()
        .backward_create_graph()
        .unwrap()
        .get(&x)
        .unwrap();
    assert!(dx.requires_grad());
}

#[test]
fn indices_of_ties_are_the_first_and_receive_the_gradient() {
    // Rows [3, 1, 3] and [2, 2, 2].
    let m = [3.0, 1.0, 3.0, 2.0, 2.0, 2.0];
    let x = t::<Rank2<2, 3>>(&m);
    assert_eq!(x.argmax_axis::<1>().to_vec(), vec![0, 0]);
    assert_eq!(x.argmin_axis::<1>().to_vec(), vec![1, 0]);
    assert_eq!(x.argmax(), 0);
    assert_eq!(x.argmin(), 1);
    assert_eq!(
        grad1::<Rank2<2, 3>, Rank1<2>>(&m, &[2.0, 3.0], |x| x.max_axis_with_indices::<1>().0),
        vec![2.0, 0.0, 0.0, 3.0, 0.0, 0.0]
    );
    assert_eq!(
        grad1::<Rank2<2, 3>, Rank1<2>>(&m, &[2.0, 3.0], |x| x.min_axis_with_indices::<1>().0),
        vec![0.0, 2.0, 0.0, 3.0, 0.0, 0.0]
    );
    // The values and gradients are max_axis's and min_axis's, and the indices say where
    // the gradient went, along a strided axis too.
    let y = [5.0, 0.0, 5.0, 7.0, 1.0, 7.0, 4.0, 9.0, 4.0, 8.0, 4.0, 9.0];
    let x = t::<Rank3<2, 3, 2>>(&y);
    let (values, at) = x.max_axis_with_indices::<1>();
    assert_eq!(values.to_vec(), x.max_axis::<1>().to_vec());
    assert_eq!(at.to_vec(), vec![0, 1, 0, 0]);
    let seed = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(
        grad1::<Rank3<2, 3, 2>, Rank2<2, 2>>(&y, &seed, |x| x.max_axis_with_indices::<1>().0),
        grad1::<Rank3<2, 3, 2>, Rank2<2, 2>>(&y, &seed, |x| x.max_axis::<1>()),
    );
}

#[test]
fn where_takes_the_mask_shape_and_gives_nothing_to_the_operand_not_taken() {
    let mask = Mask::from_array([[true, false], [false, true]]);
    let a = Tensor::from_array([1.0f64, 2.0]).track();
    let b = Tensor::<Rank0, f64>::full(0.0).track();
    // A seed with NaN where `a` was not taken: PyTorch's `where(mask, grad, 0)` does not
    // pass it on (a product with the mask would).
    let seed = Tensor::from_array([[1.0, f64::NAN], [f64::NAN, 4.0]]);
    let grads = where_(&mask, &a, &b).backward_with(&seed);
    assert_eq!(grads.get(&a).unwrap().to_vec(), vec![1.0, 4.0]);
    assert!(grads.get(&b).unwrap().item().is_nan());
}

#[test]
fn std_gradient_at_zero_is_zero_as_pytorch_and_var_of_one_is_nan() {
    // A constant lane: std = 0, and PyTorch's std_backward masks g / (2 std) to 0 there.
    let x = Tensor::from_array([[2.0f64, 2.0, 2.0], [1.0, 2.0, 3.0]]).track();
    let s = x.std_axis::<1>(true);
    assert_eq!(s.to_vec(), vec![0.0, 1.0]);
    assert_eq!(
        s.sum().backward().get(&x).unwrap().to_vec(),
        vec![0.0, 0.0, 0.0, -0.5, 0.0, 0.5]
    );
    // Second derivatives through the masked lane stay finite.
    let dx = x
        .std_axis::<1>(true)
        .sum()
        .backward_create_graph()
        .unwrap()
        .get(&x)
        .unwrap();
    let second = dx.powf(2.0).sum().backward().get(&x).unwrap().to_vec();
    assert!(second.iter().all(|v| v.is_finite()), "{second:?}");
    // One element, unbiased: 0 / 0, in the value and the gradient (PyTorch gives NaN).
    let one = Tensor::from_array([[4.0f64], [5.0]]).track();
    let v = one.var_axis::<1>(true);
    assert!(v.as_slice().iter().all(|v| v.is_nan()));
    let g = v.sum().backward().get(&one).unwrap().to_vec();
    assert!(g.iter().all(|g| g.is_nan()), "{g:?}");
}

#[test]
fn logsumexp_of_huge_and_infinite_logits() {
    let x = Tensor::from_array([[1e4f32, -1e4, 0.0], [f32::NEG_INFINITY; 3]]).track();
    let y = x.logsumexp::<1>();
    assert_eq!(y.to_vec(), vec![1e4, f32::NEG_INFINITY]);
    let g = y.sum().backward().get(&x).unwrap().to_vec();
    // The softmax of the first lane; PyTorch's e^(x - y) is NaN for a lane of -inf.
    assert_eq!(&g[..3], &[1.0, 0.0, 0.0]);
    assert!(g[3..].iter().all(|v| v.is_nan()));
}

// ---------------------------------------------------------------------------------------
// NaN in, NaN out
// ---------------------------------------------------------------------------------------

#[test]
fn comparisons_with_nan_are_false_on_either_side() {
    let x = Tensor::from_array([f32::NAN, 1.0]);
    let y = Tensor::from_array([1.0f32, f32::NAN]);
    for m in [x.gt(&y), x.lt(&y), x.ge(&y), x.le(&y), x.eq_elem(&y)] {
        assert_eq!(m.to_vec(), vec![false, false]);
    }
    for m in [x.gt(f32::NAN), x.le(f32::NAN), x.eq_elem(f32::NAN)] {
        assert_eq!(m.to_vec(), vec![false, false]);
    }
}

#[test]
fn where_of_nan_is_nan_where_taken_only() {
    let a = Tensor::from_array([f64::NAN, 1.0, f64::NAN]).track();
    let b = Tensor::from_array([0.0, f64::NAN, 2.0]).track();
    let mask = Mask::from_array([true, true, false]);
    let y = where_(&mask, &a, &b);
    assert!(y.as_slice()[0].is_nan());
    assert_eq!(&y.as_slice()[1..], &[1.0, 2.0]);
    // The gradient does not depend on the values: exactly the selection.
    let grads = y.sum().backward();
    assert_eq!(grads.get(&a).unwrap().to_vec(), vec![1.0, 1.0, 0.0]);
    assert_eq!(grads.get(&b).unwrap().to_vec(), vec![0.0, 0.0, 1.0]);
}

#[test]
fn gather_of_nan_is_nan_where_read() {
    let x = Tensor::from_array([[1.0f64, f64::NAN], [3.0, 4.0]]).track();
    let y = x
        .gather::<1, _>(&Indices::from_array([[1, 0], [0, 0]]))
        .unwrap();
    assert!(y.as_slice()[0].is_nan());
    assert_eq!(&y.as_slice()[1..], &[1.0, 3.0, 3.0]);
    // A product after it carries the NaN into the gradient of what it multiplies.
    let g = (&y * &y).sum().backward().get(&x).unwrap().to_vec();
    assert!(g[1].is_nan());
    assert_eq!((g[0], g[2], g[3]), (2.0, 12.0, 0.0));
}

#[test]
fn argmax_and_extrema_with_indices_point_at_the_nan() {
    let x = Tensor::from_array([[1.0f64, f64::NAN, 5.0, f64::NAN], [2.0, 0.0, 9.0, 1.0]]).track();
    assert_eq!(x.argmax(), 1);
    assert_eq!(x.argmin(), 1);
    assert_eq!(x.argmax_axis::<1>().to_vec(), vec![1, 2]);
    assert_eq!(x.argmin_axis::<1>().to_vec(), vec![1, 1]);
    assert_eq!(x.argmax_axis::<0>().to_vec(), vec![1, 0, 1, 0]);
    let (values, at) = x.max_axis_with_indices::<1>();
    assert!(values.as_slice()[0].is_nan());
    assert_eq!(values.as_slice()[1], 9.0);
    assert_eq!(at.to_vec(), vec![1, 2]);
    // As max_axis: every element of the NaN lane gets a NaN gradient, the others' lanes
    // are untouched.
    let g = values.sum().backward().get(&x).unwrap().to_vec();
    assert!(g[..4].iter().all(|v| v.is_nan()), "{g:?}");
    assert_eq!(&g[4..], &[0.0, 0.0, 1.0, 0.0]);
    let (values, at) = x.min_axis_with_indices::<0>();
    assert!(values.as_slice()[1].is_nan() && values.as_slice()[3].is_nan());
    assert_eq!(at.to_vec(), vec![0, 0, 0, 0]);
    assert_eq!(values.as_slice()[0], 1.0);
}

#[test]
fn logsumexp_var_and_std_of_a_nan_lane_are_nan_with_nan_gradients() {
    let x = Tensor::from_array([[0.5f64, f64::NAN, 2.0], [1.0, 2.0, 4.0]]).track();
    type Stat = fn(&Tensor<Rank2<2, 3>, f64, Tracked>) -> Tensor<Rank1<2>, f64, Tracked>;
    let stats: [(&str, Stat); 5] = [
        ("logsumexp", |x| x.logsumexp::<1>()),
        ("var", |x| x.var_axis::<1>(true)),
        ("var biased", |x| x.var_axis::<1>(false)),
        ("std", |x| x.std_axis::<1>(true)),
        ("std biased", |x| x.std_axis::<1>(false)),
    ];
    for (what, f) in stats {
        let y = f(&x);
        assert!(y.as_slice()[0].is_nan(), "{what}: {:?}", y.to_vec());
        assert!(y.as_slice()[1].is_finite(), "{what}");
        let g = y.sum().backward().get(&x).unwrap().to_vec();
        assert!(g[..3].iter().all(|v| v.is_nan()), "{what}: {g:?}");
        assert!(g[3..].iter().all(|v| v.is_finite()), "{what}: {g:?}");
    }
    let whole = Tensor::from_array([1.0f32, f32::NAN]);
    assert!(whole.var(false).item().is_nan() && whole.std(true).item().is_nan());
}

// ---------------------------------------------------------------------------------------
// Accuracy
// ---------------------------------------------------------------------------------------

/// The variance of a million `f32` values near 1e4 is computed in two passes in `f64`:
/// `E[x²] - E[x]²` would subtract two numbers near 1e8 whose difference is near 1, and
/// even in `f64` keep only a few digits; in `f32` none. The reference shifts the values by
/// exactly 1e4 first (an exact subtraction for these `f32` values), which removes the
/// cancellation, and sums in `f64`.
#[test]
fn var_of_a_million_f32_values_near_1e4_is_accurate() {
    const N: usize = 1_000_000;
    let values: Vec<f32> = (0..N)
        .map(|i| 1e4 + ((i * 7919) % 1000) as f32 * 0.002 - 1.0)
        .collect();
    let shifted: Vec<f64> = values.iter().map(|&v| f64::from(v) - 1e4).collect();
    let mean = shifted.iter().sum::<f64>() / N as f64;
    let squares: f64 = shifted.iter().map(|d| (d - mean) * (d - mean)).sum();
    let x = Tensor::<Rank1<N>, f32>::from_vec(values).unwrap();
    for (unbiased, divisor) in [(false, N as f64), (true, (N - 1) as f64)] {
        let reference = squares / divisor;
        let var = f64::from(x.var(unbiased).item());
        assert!(
            ((var - reference) / reference).abs() < 1e-5,
            "unbiased {unbiased}: {var} vs {reference}"
        );
        let std = f64::from(x.std(unbiased).item());
        assert!(((std - reference.sqrt()) / reference.sqrt()).abs() < 1e-5);
    }
    // Along an axis too: a thousand lanes of a thousand.
    let m = x.reshape::<Rank2<1000, 1000>>();
    let lanes = m.var_axis::<1>(false);
    assert!(lanes.as_slice().iter().all(|&v| (0.2..0.5).contains(&v)));
}
