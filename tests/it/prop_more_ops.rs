//! Property tests of the operations that `prop_ops` does not cover, against central finite
//! differences in `f64` through the public [`typegrad::gradcheck::gradcheck`], with the
//! same harness (`property`, `check` and the shape macros of `prop_ops`): the elementwise
//! `maximum` and `minimum` with broadcasting, `dot`, the reductions along an axis
//! (`sum_axis`, `mean_axis`, `max_axis`, `min_axis`, `amax_axis`, `amin_axis`) on every
//! axis of ranks 1 to 4, `softmax` and `log_softmax` along several axes, the
//! cross-entropies (class indices and class probabilities), and the layout operations
//! (reshape, unsqueeze, broadcast, select, narrow, concat, transpose, permute); then the
//! deterministic subgradients at ties (`amax`/`amin` in every rule), and the
//! numerics of the losses at logits of ±1e4 and of sums over a million `f32` values; then
//! `stack` (arrays and tuples of mixed tapes), `at`, `permute` of a matrix, `cumsum` along
//! every axis, and `tril`/`triu`.
//!
//! As in `prop_ops`, every check is made on the tracked leaf and on an interior value,
//! binary operations with both operands tracked and with either one a constant, and
//! non-scalar outputs through a vector-Jacobian product with a random seed. Inputs stay
//! away from kinks: the operands of `maximum`/`minimum` are at least 1e-3 apart (a
//! thousand finite-difference steps), and the values along each lane of `max_axis`,
//! `min_axis`, `amax_axis` and `amin_axis` are distinct. All gradient checks use `Tolerance::default()`.

use proptest::collection::vec;
use proptest::prelude::*;
use typegrad::func;
use typegrad::prelude::*;

use crate::prop_ops::{
    any_vals, binary_property, check, distinct, for_pairs, for_shapes, property, range, t, Tr,
    CASES,
};

// ---------------------------------------------------------------------------------------
// Value strategies
// ---------------------------------------------------------------------------------------

/// Values for one operand of `maximum`/`minimum`: each lies in a random bucket
/// `[0.2k, 0.2k + 0.1)` (`side` 0) or `[0.2k + 0.1, 0.2k + 0.2)` (`side` 1), at least 1e-3
/// from the bucket's end. A value of one side and a value of the other are therefore at
/// least 1e-3 apart, and either may be the larger (the buckets are drawn independently);
/// the bucket edges make gaps of exactly 1e-3, the closest to a tie allowed, frequent in
/// both directions (`0.2k + 0.099` below `0.2k + 0.1`, `0.2k + 0.199` below `0.2k + 0.2`).
fn apart(n: usize, side: u8) -> impl Strategy<Value = Vec<f64>> {
    let jitter = prop_oneof![4 => 0.0..0.099f64, 1 => Just(0.0), 1 => Just(0.099)];
    vec((-10..10i32, jitter), n).prop_map(move |values| {
        values
            .into_iter()
            .map(|(k, j)| 0.2 * f64::from(k) + 0.1 * f64::from(side) + j)
            .collect()
    })
}

/// Logits, moderate or as large as ±30.
fn logits(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![range(n, -3.0, 3.0), range(n, -30.0, 30.0)]
}

// ---------------------------------------------------------------------------------------
// Elementwise maximum and minimum, dot product
// ---------------------------------------------------------------------------------------

binary_property! {
    /// `a.maximum(b)`: the gradient goes to the larger operand, summed over the repeats
    /// of a broadcast one.
    fn maximum_gradient(lhs in apart(24, 0), rhs in apart(24, 1)) |a, b| a.maximum(b)
}

binary_property! {
    /// `a.minimum(b)`: the gradient goes to the smaller operand.
    fn minimum_gradient(lhs in apart(24, 0), rhs in apart(24, 1)) |a, b| a.minimum(b)
}

/// `a.dot(b)` = Σ aᵢbᵢ: each operand's gradient is the other scaled by the upstream one.
#[test]
fn dot_gradient() {
    property(CASES, (any_vals(7), any_vals(7)), &|(lhs, rhs)| {
        for_pairs!(lhs, rhs, |a, b| a.dot(b);
            (Rank1<1>, Rank1<1>),
            (Rank1<3>, Rank1<3>),
            (Rank1<7>, Rank1<7>),
        );
        // Inside a larger expression (a Rank0 output broadcast back), and squared.
        for_pairs!(lhs, rhs, |a, b| a * a.dot(b) - b; (Rank1<4>, Rank1<4>));
        for_shapes!(lhs, |x| x.dot(x); Rank1<1>, Rank1<5>);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Reductions along an axis
// ---------------------------------------------------------------------------------------

/// Checks `x.$op::<AXIS>()` for every axis of shapes of ranks 1 to 4 (at most 24
/// elements), size-1 dimensions included (on the reduced axis and elsewhere).
/// Each shape and axis is an instantiation of gradcheck: the list is kept short.
macro_rules! every_axis {
    ($pool:ident, $op:ident) => {
        for_shapes!($pool, |x| x.$op::<0>();
            Rank1<1>, Rank1<5>, Rank2<1, 4>, Rank2<3, 1>, Rank2<2, 3>, Rank3<2, 1, 3>,
            Rank3<2, 3, 4>, Rank4<2, 3, 1, 4>);
        for_shapes!($pool, |x| x.$op::<1>();
            Rank2<1, 4>, Rank2<3, 1>, Rank2<2, 3>, Rank3<2, 1, 3>, Rank3<2, 3, 4>,
            Rank4<2, 3, 1, 4>);
        for_shapes!($pool, |x| x.$op::<2>(); Rank3<2, 1, 3>, Rank3<2, 3, 4>, Rank4<2, 3, 1, 4>);
        for_shapes!($pool, |x| x.$op::<3>(); Rank4<2, 3, 1, 4>);
    };
}

/// d/dxᵢ Σ_lane x = 1 within the lane.
#[test]
fn sum_axis_gradient() {
    property(CASES, any_vals(24), &|pool| {
        every_axis!(pool, sum_axis);
        Ok(())
    });
}

/// d/dxᵢ mean_lane x = 1/len.
#[test]
fn mean_axis_gradient() {
    property(CASES, any_vals(24), &|pool| {
        every_axis!(pool, mean_axis);
        Ok(())
    });
}

/// The gradient of each lane's maximum goes to its (unique) position.
#[test]
fn max_axis_gradient() {
    property(CASES, distinct(24), &|pool| {
        every_axis!(pool, max_axis);
        Ok(())
    });
}

/// The gradient of each lane's minimum goes to its (unique) position.
#[test]
fn min_axis_gradient() {
    property(CASES, distinct(24), &|pool| {
        every_axis!(pool, min_axis);
        Ok(())
    });
}

/// `amax_axis` away from ties: each lane's gradient goes to its (unique) maximum, as
/// `max_axis`'s does.
#[test]
fn amax_axis_gradient() {
    property(CASES, distinct(24), &|pool| {
        every_axis!(pool, amax_axis);
        Ok(())
    });
}

/// `amin_axis` away from ties.
#[test]
fn amin_axis_gradient() {
    property(CASES, distinct(24), &|pool| {
        every_axis!(pool, amin_axis);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Softmax and log-softmax
// ---------------------------------------------------------------------------------------

/// Checks `x.$op::<AXIS>()` on vectors, matrices, rank-3 and rank-4 tensors along
/// several axes, lanes of length 1 included.
macro_rules! normalised_axes {
    ($pool:ident, $op:ident) => {
        for_shapes!($pool, |x| x.$op::<0>(); Rank1<1>, Rank1<5>, Rank2<2, 3>, Rank3<2, 3, 4>);
        for_shapes!($pool, |x| x.$op::<1>();
            Rank2<2, 3>, Rank2<3, 1>, Rank3<2, 3, 4>, Rank4<1, 2, 3, 2>);
        for_shapes!($pool, |x| x.$op::<2>(); Rank3<2, 3, 4>, Rank3<2, 1, 3>);
        for_shapes!($pool, |x| x.$op::<3>(); Rank4<1, 2, 3, 2>);
    };
}

/// d softmax(x)ᵢ/dxⱼ = pᵢ(δᵢⱼ - pⱼ) within a lane.
#[test]
fn softmax_gradient() {
    property(CASES, logits(24), &|pool| {
        normalised_axes!(pool, softmax);
        Ok(())
    });
}

/// d log_softmax(x)ᵢ/dxⱼ = δᵢⱼ - pⱼ within a lane.
#[test]
fn log_softmax_gradient() {
    property(CASES, logits(24), &|pool| {
        normalised_axes!(pool, log_softmax);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Cross-entropy
// ---------------------------------------------------------------------------------------

/// One class index below `classes` per row, from the random `picks`.
fn class_indices<const B: usize>(picks: &[usize], classes: usize) -> [usize; B] {
    core::array::from_fn(|row| picks[row] % classes)
}

/// Checks `cross_entropy` on `Rank2<B, C>` logits for each `(B, C)`, the class of row `r`
/// being `picks[r] % C`.
macro_rules! cross_entropy_batches {
    ($pool:ident, $picks:ident; $(($B:literal, $C:literal)),+ $(,)?) => {$(
        let classes: [usize; $B] = class_indices(&$picks, $C);
        for_shapes!($pool, |x| x.cross_entropy(&classes).unwrap(); Rank2<$B, $C>);
    )+};
}

/// Checks the unbatched `cross_entropy` on `Rank1<C>` logits for each `C`.
macro_rules! cross_entropy_rows {
    ($pool:ident, $picks:ident; $($C:literal),+ $(,)?) => {$(
        let [class] = class_indices(&$picks, $C);
        for_shapes!($pool, |x| x.cross_entropy(class).unwrap(); Rank1<$C>);
    )+};
}

/// Cross-entropy against class indices: the gradient is (softmax - one-hot) / rows.
#[test]
fn cross_entropy_gradient() {
    let strategy = (logits(24), vec(0..60usize, 5));
    property(CASES, strategy, &|(pool, picks)| {
        cross_entropy_batches!(pool, picks; (1, 1), (1, 4), (3, 1), (2, 3), (4, 5));
        cross_entropy_rows!(pool, picks; 1, 4, 6);
        // A batch composed with other operations, so the upstream gradient is not 1.
        let classes: [usize; 2] = class_indices(&picks, 3);
        for_shapes!(pool, |x| x.tanh().cross_entropy(&classes).unwrap() * 3.0; Rank2<2, 3>);
        Ok(())
    });
}

/// Cross-entropy against class probabilities, in the logits and in the target. The
/// targets are arbitrary non-negative values (rows need not sum to 1, which exercises the
/// row-mass term of the logits' gradient), and then true distributions made by a softmax
/// of a tracked input.
#[test]
fn cross_entropy_probs_gradient() {
    let strategy = (logits(20), range(20, 0.0, 1.0), any_vals(20));
    property(CASES, strategy, &|(pool, target, raw)| {
        for_pairs!(pool, target, |z, y| z.cross_entropy_probs(y);
            (Rank1<1>, Rank1<1>),
            (Rank1<4>, Rank1<4>),
            (Rank2<3, 1>, Rank2<3, 1>),
            (Rank2<2, 3>, Rank2<2, 3>),
            (Rank2<4, 5>, Rank2<4, 5>),
        );
        for_pairs!(pool, raw, |z, w| z.cross_entropy_probs(&w.softmax::<0>());
            (Rank1<5>, Rank1<5>));
        for_pairs!(pool, raw, |z, w| z.cross_entropy_probs(&w.softmax::<1>());
            (Rank2<4, 5>, Rank2<4, 5>));
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Layout operations
// ---------------------------------------------------------------------------------------

/// `reshape`: the gradient is reshaped back, element for element.
#[test]
fn reshape_gradient() {
    property(CASES, any_vals(24), &|pool| {
        for_shapes!(pool, |x| x.reshape::<Rank1<6>>(); Rank2<2, 3>);
        for_shapes!(pool, |x| x.reshape::<Rank2<3, 2>>(); Rank1<6>, Rank2<2, 3>);
        for_shapes!(pool, |x| x.reshape::<Rank0>(); Rank1<1>);
        for_shapes!(pool, |x| x.reshape::<Rank4<2, 1, 3, 4>>(); Rank3<2, 3, 4>);
        // Through a reshape and back, with a product in between (not the identity).
        for_shapes!(pool, |x| (x.reshape::<Rank1<6>>() * x.reshape::<Rank1<6>>().sin())
            .reshape::<Rank2<2, 3>>(); Rank2<2, 3>);
        Ok(())
    });
}

/// `unsqueeze::<A>` at every position of ranks 0 to 3: the gradient is reshaped back.
#[test]
fn unsqueeze_gradient() {
    property(CASES, any_vals(24), &|pool| {
        for_shapes!(pool, |x| x.unsqueeze::<0>();
            Rank0, Rank1<5>, Rank2<2, 3>, Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.unsqueeze::<1>(); Rank1<5>, Rank2<2, 3>, Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.unsqueeze::<2>(); Rank2<2, 3>, Rank3<2, 1, 4>);
        for_shapes!(pool, |x| x.unsqueeze::<3>(); Rank3<2, 3, 4>);
        // A column broadcast along rows, times the vector as a row: an outer product,
        // with both uses of `x` adding into its gradient.
        for_shapes!(pool, |x| x.unsqueeze::<1>().broadcast::<Rank2<4, 4>>() * x; Rank1<4>);
        Ok(())
    });
}

/// `broadcast`: the gradient sums over the copies, whether made by a size-1 dimension
/// or by an added leading one.
#[test]
fn broadcast_gradient() {
    property(CASES, any_vals(24), &|pool| {
        for_shapes!(pool, |x| x.broadcast::<Rank2<2, 3>>();
            Rank0, Rank1<3>, Rank2<1, 1>, Rank2<2, 1>, Rank2<1, 3>, Rank2<2, 3>);
        for_shapes!(pool, |x| x.broadcast::<Rank3<2, 3, 4>>();
            Rank1<4>, Rank2<3, 1>, Rank3<1, 3, 1>, Rank3<2, 1, 4>);
        for_shapes!(pool, |x| x.broadcast::<Rank1<5>>(); Rank1<1>);
        for_shapes!(pool, |x| x.broadcast::<Rank4<2, 2, 3, 2>>(); Rank3<2, 1, 2>);
        Ok(())
    });
}

/// `select::<AXIS>(i)` for each axis: the gradient lands in the selected slice only.
#[test]
fn select_gradient() {
    property(CASES, (any_vals(24), vec(0..60usize, 4)), &|(pool, at)| {
        for_shapes!(pool, |x| x.select::<0>(at[0] % 5).unwrap(); Rank1<5>);
        for_shapes!(pool, |x| x.select::<0>(0).unwrap(); Rank2<1, 3>);
        for_shapes!(pool, |x| x.select::<0>(at[0] % 3).unwrap(); Rank2<3, 4>, Rank3<3, 2, 4>);
        for_shapes!(pool, |x| x.select::<1>(at[1] % 4).unwrap(); Rank2<3, 4>);
        for_shapes!(pool, |x| x.select::<1>(at[1] % 2).unwrap(); Rank3<3, 2, 4>);
        for_shapes!(pool, |x| x.select::<2>(at[2] % 4).unwrap(); Rank3<3, 2, 4>);
        for_shapes!(pool, |x| x.select::<1>(at[1] % 3).unwrap(); Rank4<2, 3, 1, 4>);
        for_shapes!(pool, |x| x.select::<3>(at[3] % 4).unwrap(); Rank4<2, 3, 1, 4>);
        // Two slices of one tensor combined: both gradients land in the one tensor.
        for_shapes!(pool, |x| x.select::<0>(0).unwrap() * x.select::<0>(at[0] % 3).unwrap();
            Rank2<3, 4>);
        Ok(())
    });
}

/// `narrow::<AXIS, START, LEN>` along each axis of ranks 1 to 3 and the last of a rank-4
/// tensor, at the start, the middle and the end of the axis.
#[test]
fn narrow_gradient() {
    property(CASES, any_vals(24), &|pool| {
        for_shapes!(pool, |x| x.narrow::<0, 1, 3>(); Rank1<5>);
        for_shapes!(pool, |x| x.narrow::<0, 4, 1>(); Rank1<5>);
        for_shapes!(pool, |x| x.narrow::<0, 1, 2>(); Rank2<3, 4>);
        for_shapes!(pool, |x| x.narrow::<1, 2, 2>(); Rank2<3, 4>);
        for_shapes!(pool, |x| x.narrow::<0, 1, 1>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.narrow::<1, 1, 2>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.narrow::<2, 1, 3>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.narrow::<3, 2, 2>(); Rank4<2, 3, 1, 4>);
        // Overlapping windows of one tensor: the gradients add up where they overlap.
        for_shapes!(pool, |x| x.narrow::<1, 0, 3>() * x.narrow::<1, 1, 3>(); Rank2<3, 4>);
        Ok(())
    });
}

/// `concat::<AXIS, ..>` along each axis of a matrix and of a rank-3 tensor, with both
/// inputs tracked, either one a constant, and both interior values.
#[test]
fn concat_gradient() {
    property(CASES, (any_vals(24), any_vals(24)), &|(lhs, rhs)| {
        for_pairs!(lhs, rhs, |a, b| a.concat::<0, _, Rank2<5, 3>, _>(b);
            (Rank2<2, 3>, Rank2<3, 3>));
        for_pairs!(lhs, rhs, |a, b| a.concat::<1, _, Rank2<3, 4>, _>(b);
            (Rank2<3, 1>, Rank2<3, 3>));
        for_pairs!(lhs, rhs, |a, b| a.concat::<0, _, Rank3<3, 2, 4>, _>(b);
            (Rank3<1, 2, 4>, Rank3<2, 2, 4>));
        for_pairs!(lhs, rhs, |a, b| a.concat::<1, _, Rank3<2, 5, 2>, _>(b);
            (Rank3<2, 3, 2>, Rank3<2, 2, 2>));
        for_pairs!(lhs, rhs, |a, b| a.concat::<2, _, Rank3<2, 3, 4>, _>(b);
            (Rank3<2, 3, 1>, Rank3<2, 3, 3>));
        // A tensor concatenated with itself: both halves of the gradient add into it.
        for_shapes!(lhs, |x| x.concat::<1, _, Rank2<2, 6>, _>(x); Rank2<2, 3>);
        Ok(())
    });
}

/// `t()`: the gradient is transposed back.
#[test]
fn transpose_gradient() {
    property(CASES, any_vals(12), &|pool| {
        for_shapes!(pool, |x| x.t();
            Rank2<1, 1>, Rank2<1, 4>, Rank2<3, 1>, Rank2<2, 3>, Rank2<3, 3>);
        // A matrix times its own transpose.
        for_shapes!(pool, |x| x.matmul(&x.t()); Rank2<2, 3>);
        Ok(())
    });
}

/// `permute` of a rank-3 tensor (every permutation) and of a rank-4 tensor (the
/// reversal, a cycle, a swap and a permutation of neither kind), on shapes whose
/// dimensions all differ (but for the size-1 axis of one).
#[test]
fn permute_gradient() {
    property(CASES, any_vals(24), &|pool| {
        for_shapes!(pool, |x| x.permute::<0, 1, 2>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.permute::<0, 2, 1>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.permute::<1, 0, 2>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.permute::<1, 2, 0>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.permute::<2, 0, 1>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.permute::<2, 1, 0>(); Rank3<2, 3, 4>);
        for_shapes!(pool, |x| x.permute::<3, 2, 1, 0>(); Rank4<2, 3, 1, 4>);
        for_shapes!(pool, |x| x.permute::<1, 2, 3, 0>(); Rank4<1, 2, 3, 4>);
        for_shapes!(pool, |x| x.permute::<0, 2, 1, 3>(); Rank4<1, 2, 3, 4>);
        for_shapes!(pool, |x| x.permute::<1, 3, 0, 2>(); Rank4<1, 2, 3, 4>);
        // A permutation and its inverse, with a product in between.
        for_shapes!(pool, |x| (x.permute::<1, 2, 0>() * x.permute::<1, 2, 0>().cos())
            .permute::<2, 0, 1>(); Rank3<2, 3, 4>);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Subgradients at ties
// ---------------------------------------------------------------------------------------

/// The gradients of both inputs of `f`, through a vector-Jacobian product with `seed`.
fn grads2<SL: Shape, SR: Shape, SO: Shape>(
    lhs: &[f64],
    rhs: &[f64],
    seed: &[f64],
    f: impl Fn(&Tr<SL>, &Tr<SR>) -> Tr<SO>,
) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = (t::<SL>(lhs).track(), t::<SR>(rhs).track());
    let grads = f(&a, &b).backward_with(&t::<SO>(seed));
    (
        grads.get(&a).map_or_else(Vec::new, |g| g.to_vec()),
        grads.get(&b).map_or_else(Vec::new, |g| g.to_vec()),
    )
}

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
fn maximum_and_minimum_ties_split_the_gradient_in_half_as_pytorch() {
    let seed = [1.0, 2.0, 3.0, 4.0];
    // Equal shapes: ties at 0 and 3.
    let (ga, gb) = grads2::<Rank1<4>, Rank1<4>, Rank1<4>>(
        &[1.0, 2.0, 3.0, -1.0],
        &[1.0, 5.0, 0.0, -1.0],
        &seed,
        |a, b| a.maximum(b),
    );
    assert_eq!(
        (ga, gb),
        (vec![0.5, 0.0, 3.0, 2.0], vec![0.5, 2.0, 0.0, 2.0])
    );
    let (ga, gb) = grads2::<Rank1<4>, Rank1<4>, Rank1<4>>(
        &[1.0, 2.0, 3.0, -1.0],
        &[1.0, 5.0, 0.0, -1.0],
        &seed,
        |a, b| a.minimum(b),
    );
    assert_eq!(
        (ga, gb),
        (vec![0.5, 2.0, 0.0, 2.0], vec![0.5, 0.0, 3.0, 2.0])
    );
    // A broadcast right operand tied with some of the positions it repeats onto: its
    // halves add up over the repetitions.
    let (ga, gb) = grads2::<Rank2<2, 2>, Rank1<2>, Rank2<2, 2>>(
        &[1.0, 2.0, 3.0, 3.0],
        &[1.0, 3.0],
        &seed,
        |a, b| a.maximum(b),
    );
    assert_eq!((ga, gb), (vec![0.5, 0.0, 3.0, 2.0], vec![0.5, 2.0 + 2.0]));
    // A broadcast left operand.
    let (ga, gb) =
        grads2::<Rank0, Rank1<4>, Rank1<4>>(&[2.0], &[2.0, 1.0, 3.0, 2.0], &seed, |a, b| {
            a.minimum(b)
        });
    assert_eq!((ga, gb), (vec![0.5 + 3.0 + 2.0], vec![0.5, 2.0, 0.0, 2.0]));
    // Interior values that tie.
    let (ga, gb) =
        grads2::<Rank1<2>, Rank1<2>, Rank1<2>>(&[1.0, 4.0], &[0.5, 2.0], &[1.0, 1.0], |a, b| {
            (a * 1.0).maximum(&(b * 2.0))
        });
    assert_eq!((ga, gb), (vec![0.5, 0.5], vec![1.0, 1.0]));
    // Only the right operand tracked: at the tie it gets its half.
    let left = Tensor::from_array([1.0, 0.0]);
    assert_eq!(
        grad1::<Rank1<2>, Rank1<2>>(&[1.0, 2.0], &[1.0, 1.0], |b| left.maximum(b)),
        vec![0.5, 1.0]
    );
    // A tensor compared with itself ties everywhere: the halves add up to the whole.
    assert_eq!(
        grad1::<Rank1<2>, Rank1<2>>(&[1.0, -1.0], &[3.0, 5.0], |x| x.maximum(x) + x.minimum(x)),
        vec![6.0, 10.0]
    );
}

#[test]
fn whole_tensor_max_and_min_share_the_gradient_evenly_among_ties() {
    assert_eq!(
        grad1::<Rank1<5>, Rank0>(&[3.0, 1.0, 3.0, 3.0, -2.0], &[6.0], |x| x.max()),
        vec![2.0, 0.0, 2.0, 2.0, 0.0]
    );
    assert_eq!(
        grad1::<Rank2<2, 2>, Rank0>(&[-2.0, 1.0, -2.0, 0.0], &[1.0], |x| x.min()),
        vec![0.5, 0.0, 0.5, 0.0]
    );
    // All equal: everyone shares.
    assert_eq!(
        grad1::<Rank1<4>, Rank0>(&[7.0; 4], &[1.0], |x| x.max()),
        vec![0.25; 4]
    );
}

#[test]
fn axis_extremum_ties_send_the_gradient_to_the_first_index_of_each_lane() {
    // Rows [3, 1, 3] and [2, 2, 2]: along axis 1 the first of each row.
    let m = [3.0, 1.0, 3.0, 2.0, 2.0, 2.0];
    assert_eq!(
        grad1::<Rank2<2, 3>, Rank1<2>>(&m, &[2.0, 3.0], |x| x.max_axis::<1>()),
        vec![2.0, 0.0, 0.0, 3.0, 0.0, 0.0]
    );
    assert_eq!(
        grad1::<Rank2<2, 3>, Rank1<2>>(&m, &[2.0, 3.0], |x| x.min_axis::<1>()),
        vec![0.0, 2.0, 0.0, 3.0, 0.0, 0.0]
    );
    // Along axis 0 (strided lanes: columns [3, 2], [1, 1], [3, 3]).
    let m = [3.0, 1.0, 3.0, 2.0, 1.0, 3.0];
    assert_eq!(
        grad1::<Rank2<2, 3>, Rank1<3>>(&m, &[1.0, 2.0, 3.0], |x| x.max_axis::<0>()),
        vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        grad1::<Rank2<2, 3>, Rank1<3>>(&m, &[1.0, 2.0, 3.0], |x| x.min_axis::<0>()),
        vec![0.0, 2.0, 3.0, 1.0, 0.0, 0.0]
    );
    // The middle axis of a rank-3 tensor: lanes (0, ·, 0) = [5, 5, 1], (0, ·, 1) = [0, 7, 7],
    // (1, ·, 0) = [4, 4, 4], (1, ·, 1) = [9, 8, 9].
    let x = [5.0, 0.0, 5.0, 7.0, 1.0, 7.0, 4.0, 9.0, 4.0, 8.0, 4.0, 9.0];
    assert_eq!(
        grad1::<Rank3<2, 3, 2>, Rank2<2, 2>>(&x, &[1.0, 2.0, 3.0, 4.0], |x| x.max_axis::<1>()),
        vec![1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        grad1::<Rank3<2, 3, 2>, Rank2<2, 2>>(&x, &[1.0, 2.0, 3.0, 4.0], |x| x.min_axis::<1>()),
        vec![0.0, 2.0, 0.0, 0.0, 1.0, 0.0, 3.0, 0.0, 0.0, 4.0, 0.0, 0.0]
    );
    // Through an interior value, scaled by the upstream gradient.
    assert_eq!(
        grad1::<Rank1<3>, Rank0>(&[1.0, 4.0, 4.0], &[3.0], |x| (x * 2.0).max_axis::<0>()),
        vec![0.0, 6.0, 0.0]
    );
}

/// The gradient of `f` at `values` through a vector-Jacobian product with `seed`, by the
/// backward pass and by the recorded one (which must give the same numbers), and the
/// tangent of `f` along `direction` in forward mode.
fn gradient_and_tangent<S: Shape, SO: Shape>(
    values: &[f64],
    seed: &[f64],
    direction: &[f64],
    f: impl Fn(&Tr<S>) -> Tr<SO>,
) -> (Vec<f64>, Vec<f64>) {
    let x = t::<S>(values);
    let leaf = x.clone().track();
    let plain = f(&leaf).backward_with(&t::<SO>(seed));
    let plain = plain.get(&leaf).unwrap().to_vec();
    let recorded = (f(&leaf) * &t::<SO>(seed))
        .sum()
        .backward_create_graph()
        .unwrap()
        .get(&leaf)
        .unwrap()
        .to_vec();
    assert_eq!(plain, recorded, "backward and recorded backward");
    let (_, tangent) = func::jvp(&f, &x, &t::<S>(direction));
    (plain, tangent.to_vec())
}

/// `amax`/`amin` share the gradient evenly among tied positions, as PyTorch's
/// `scale_grad_by_count` does (along an axis, per lane: where `max_axis` gives it all to
/// the first); the tangent is the mean of the tied positions' tangents (PyTorch's
/// `amaxamin_jvp`); the recorded gradient is the same numbers; and the second
/// derivatives go through both (forward over reverse).
#[test]
fn amax_and_amin_share_ties_evenly_in_every_rule() {
    let v6 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    // Rows [3, 1, 3] and [2, 2, 2], along axis 1.
    let m = [3.0, 1.0, 3.0, 2.0, 2.0, 2.0];
    assert_eq!(
        gradient_and_tangent::<Rank2<2, 3>, Rank1<2>>(&m, &[2.0, 3.0], &v6, |x| {
            x.amax_axis::<1>()
        }),
        (vec![1.0, 0.0, 1.0, 1.0, 1.0, 1.0], vec![2.0, 5.0])
    );
    assert_eq!(
        gradient_and_tangent::<Rank2<2, 3>, Rank1<2>>(&m, &[2.0, 3.0], &v6, |x| {
            x.amin_axis::<1>()
        }),
        (vec![0.0, 2.0, 0.0, 1.0, 1.0, 1.0], vec![2.0, 5.0])
    );
    // Along axis 0 (strided lanes: columns [3, 3], [1, 1], [3, 2]).
    let m = [3.0, 1.0, 3.0, 3.0, 1.0, 2.0];
    assert_eq!(
        gradient_and_tangent::<Rank2<2, 3>, Rank1<3>>(&m, &[1.0, 2.0, 3.0], &v6, |x| {
            x.amax_axis::<0>()
        }),
        (vec![0.5, 1.0, 3.0, 0.5, 1.0, 0.0], vec![2.5, 3.5, 3.0])
    );
    assert_eq!(
        gradient_and_tangent::<Rank2<2, 3>, Rank1<3>>(&m, &[1.0, 2.0, 3.0], &v6, |x| {
            x.amin_axis::<0>()
        }),
        (vec![0.5, 1.0, 0.0, 0.5, 1.0, 3.0], vec![2.5, 3.5, 6.0])
    );
    // The middle axis of a rank-3 tensor: lanes (0, ·, 0) = [5, 5, 1], (0, ·, 1) =
    // [0, 7, 7], (1, ·, 0) = [4, 4, 4], (1, ·, 1) = [9, 8, 9].
    let x = [5.0, 0.0, 5.0, 7.0, 1.0, 7.0, 4.0, 9.0, 4.0, 8.0, 4.0, 9.0];
    let v12: Vec<f64> = (1..=12).map(f64::from).collect();
    assert_eq!(
        gradient_and_tangent::<Rank3<2, 3, 2>, Rank2<2, 2>>(&x, &[1.0, 2.0, 3.0, 4.0], &v12, |x| x
            .amax_axis::<1>()),
        (
            vec![0.5, 0.0, 0.5, 1.0, 0.0, 1.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0],
            vec![2.0, 5.0, 9.0, 10.0]
        )
    );
    // Three ties: thirds, of an interior value's gradient scaled by the upstream one.
    let (g, tangent) =
        gradient_and_tangent::<Rank1<3>, Rank0>(&[7.0, 7.0, 7.0], &[3.0], &[1.0, 2.0, 4.0], |x| {
            (x * 2.0).amax_axis::<0>()
        });
    assert_eq!((g, tangent), (vec![2.0; 3], vec![2.0 * 7.0 / 3.0]));
    // The whole tensor: amax and amin as max and min.
    let values = [3.0, 1.0, 3.0, 3.0, -2.0];
    let v5 = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(
        gradient_and_tangent::<Rank1<5>, Rank0>(&values, &[6.0], &v5, |x| x.amax()),
        (vec![2.0, 0.0, 2.0, 2.0, 0.0], vec![8.0 / 3.0])
    );
    assert_eq!(
        gradient_and_tangent::<Rank1<5>, Rank0>(&[1.0, -1.0, 0.0, -1.0, 4.0], &[1.0], &v5, |x| {
            x.amin()
        }),
        (vec![0.0, 0.5, 0.0, 0.5, 0.0], vec![3.0])
    );
    // Σ_lanes amax²: the Hessian is 2 w wᵀ within each lane, w its even shares (rows
    // [3, 3], w = [1/2, 1/2], and [1, 2], w = [0, 1]).
    let h: Tensor<Rank2<4, 4>, f64> = func::hessian(
        |x: &Tr<Rank1<4>>| {
            let m = x.reshape::<Rank2<2, 2>>().amax_axis::<1>();
            (&m * &m).sum()
        },
        &t::<Rank1<4>>(&[3.0, 3.0, 1.0, 2.0]),
    )
    .unwrap();
    assert_eq!(
        h.to_array(),
        [
            [0.5, 0.5, 0.0, 0.0],
            [0.5, 0.5, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 2.0]
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Numerics at extreme logits, and long sums in f32
// ---------------------------------------------------------------------------------------
//
// Each value and gradient is compared with a reference computed in f64 from the same
// (rounded) inputs, by formulas without overflow or cancellation. The tolerance is 8
// units of rounding of the element type on the largest magnitude involved:
//
//     |ours - reference| <= 8 · ε · (1 + M) · w
//
// where ε is the type's machine epsilon (1.19e-7 for f32, 2.22e-16 for f64), M the
// largest |logit| the value depends on (its lane for log-softmax and cross-entropy, the
// element for softplus, every logit for a mean over elements), and w the l1 norm of the
// seed over the lane (1 for the gradient of a scalar loss). This is a bound on the
// backward error: the result is exact for logits moved by a few units of rounding, which
// for a logit of 1e4 is a move of about ε · 1e4 (at |logit| = 1e4 the bound is about 1e-2
// in f32 and 2e-11 in f64). The stricter bound 8 · ε · (1 + |value|), which a careful
// log-softmax meets, is tested further down for log_softmax and cross_entropy.

/// Logits of ±1e4 next to moderate ones, as four lanes of three: a huge winner, a
/// near-tie of two huge ones, all huge and negative, and a tie of two huge ones next to a
/// moderate one.
const EXTREME: [f64; 12] = [
    1e4, -1e4, 0.0, 9999.0, 1e4, -1e4, -1e4, -1e4, -9999.0, 1e4, 1e4, 17.5,
];

/// Rounds `values` to the element type.
fn to_e<E: Element>(values: &[f64]) -> Vec<E> {
    values.iter().map(|&v| E::from_f64(v)).collect()
}

/// The values of `E` back in f64 (exactly).
fn to_f64<E: Element>(values: &[E]) -> Vec<f64> {
    values.iter().map(|&v| v.to_f64_exact()).collect()
}

/// Asserts that `ours` is finite and within the tolerance above of `reference`.
fn assert_close<E: Element>(what: &str, ours: E, reference: f64, magnitude: f64, weight: f64) {
    let ours = ours.to_f64_exact();
    let tolerance = 8.0 * E::epsilon().to_f64_exact() * (1.0 + magnitude) * weight;
    assert!(
        ours.is_finite(),
        "{what} ({}): {ours} is not finite",
        E::DTYPE
    );
    assert!(
        (ours - reference).abs() <= tolerance,
        "{what} ({}): {ours} vs reference {reference} (difference {:e}, tolerance {tolerance:e})",
        E::DTYPE,
        (ours - reference).abs()
    );
}

/// ln(1 + e^z) without overflow or cancellation.
fn softplus_ref(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// The logistic function without overflow.
fn sigmoid_ref(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        z.exp() / (1.0 + z.exp())
    }
}

/// Log-softmax of one lane: `(x - max) - ln Σ e^(x - max)` (the sum is at least 1).
fn log_softmax_ref(lane: &[f64]) -> Vec<f64> {
    let max = lane.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = lane.iter().map(|&v| (v - max).exp()).sum();
    lane.iter().map(|&v| (v - max) - sum.ln()).collect()
}

/// The largest magnitude in `values`.
fn magnitude(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// softplus and its derivative, elementwise.
fn softplus_numerics<E: Element>() {
    let z = to_e::<E>(&EXTREME);
    let x = Tensor::<Rank1<12>, E>::from_vec(z.clone()).unwrap().track();
    let y = x.softplus();
    let g = y.sum().backward().get(&x).unwrap().to_vec();
    for (i, &zi) in to_f64(&z).iter().enumerate() {
        assert_close("softplus", y.as_slice()[i], softplus_ref(zi), zi.abs(), 1.0);
        assert_close("softplus'", g[i], sigmoid_ref(zi), zi.abs(), 1.0);
    }
}

/// bce_with_logits, in the logits and in the target.
fn bce_numerics<E: Element>() {
    let targets = [0.0, 1.0, 0.3, 1.0, 0.0, 0.5, 0.0, 1.0, 0.7, 1.0, 0.0, 0.25];
    let (z, y) = (to_e::<E>(&EXTREME), to_e::<E>(&targets));
    let logits = Tensor::<Rank1<12>, E>::from_vec(z.clone()).unwrap().track();
    let target = Tensor::<Rank1<12>, E>::from_vec(y.clone()).unwrap().track();
    let loss = logits.bce_with_logits(&target);
    let (z, y) = (to_f64(&z), to_f64(&y));
    let n = z.len() as f64;
    let reference: f64 = z
        .iter()
        .zip(&y)
        .map(|(&z, &y)| softplus_ref(z) - z * y)
        .sum::<f64>()
        / n;
    assert_close(
        "bce_with_logits",
        loss.item(),
        reference,
        magnitude(&z),
        1.0,
    );
    let grads = loss.backward();
    let (gz, gy) = (grads.get(&logits).unwrap(), grads.get(&target).unwrap());
    for i in 0..z.len() {
        let expected = (sigmoid_ref(z[i]) - y[i]) / n;
        assert_close(
            "bce_with_logits d/dz",
            gz.as_slice()[i],
            expected,
            z[i].abs(),
            1.0,
        );
        assert_close(
            "bce_with_logits d/dy",
            gy.as_slice()[i],
            -z[i] / n,
            z[i].abs(),
            1.0,
        );
    }
}

/// log_softmax along both axes of a 4 x 3 matrix, with the gradient of a seeded VJP
/// (`w - p Σw` per lane).
fn log_softmax_numerics<E: Element>() {
    let seed = [
        1.0, -0.5, 0.25, -1.0, 0.75, 0.5, 0.5, 1.0, -0.25, -0.75, 0.5, 1.0,
    ];
    let z = to_e::<E>(&EXTREME);
    let x = Tensor::<Rank2<4, 3>, E>::from_vec(z.clone())
        .unwrap()
        .track();
    let seed_e = Tensor::<Rank2<4, 3>, E>::from_vec(to_e(&seed)).unwrap();
    let z = to_f64(&z);
    // The flat positions of each lane: rows (axis 1), then columns (axis 0).
    let rows: Vec<Vec<usize>> = (0..4)
        .map(|r| (0..3).map(|c| r * 3 + c).collect())
        .collect();
    let cols: Vec<Vec<usize>> = (0..3)
        .map(|c| (0..4).map(|r| r * 3 + c).collect())
        .collect();
    for (axis, lanes) in [(1, rows), (0, cols)] {
        let y = if axis == 1 {
            x.log_softmax::<1>()
        } else {
            x.log_softmax::<0>()
        };
        let values = y.as_slice().to_vec();
        let g = y.backward_with(&seed_e).get(&x).unwrap().to_vec();
        for lane in lanes {
            let xs: Vec<f64> = lane.iter().map(|&at| z[at]).collect();
            let ws: Vec<f64> = lane.iter().map(|&at| seed[at]).collect();
            let (m, w) = (magnitude(&xs), ws.iter().map(|w| w.abs()).sum::<f64>());
            let reference = log_softmax_ref(&xs);
            let total: f64 = ws.iter().sum();
            for (k, &at) in lane.iter().enumerate() {
                let what = format!("log_softmax::<{axis}> at {at}");
                assert_close(&what, values[at], reference[k], m, 1.0);
                let expected = ws[k] - reference[k].exp() * total;
                assert_close(&format!("{what}, gradient"), g[at], expected, m, w);
            }
        }
    }
}

/// cross_entropy of a batch against class indices, and of one row.
fn cross_entropy_numerics<E: Element>() {
    let classes = [1, 0, 2, 2];
    let z = to_e::<E>(&EXTREME);
    let x = Tensor::<Rank2<4, 3>, E>::from_vec(z.clone())
        .unwrap()
        .track();
    let loss = x.cross_entropy(&classes).unwrap();
    let z = to_f64(&z);
    let log_probs: Vec<Vec<f64>> = z.chunks(3).map(log_softmax_ref).collect();
    let reference = -(0..4).map(|r| log_probs[r][classes[r]]).sum::<f64>() / 4.0;
    assert_close("cross_entropy", loss.item(), reference, magnitude(&z), 1.0);
    let g = loss.backward().get(&x).unwrap().to_vec();
    for (at, &g) in g.iter().enumerate() {
        let (r, k) = (at / 3, at % 3);
        let hit = if k == classes[r] { 1.0 } else { 0.0 };
        let expected = (log_probs[r][k].exp() - hit) / 4.0;
        let m = magnitude(&z[r * 3..r * 3 + 3]);
        assert_close(
            &format!("cross_entropy gradient at {at}"),
            g,
            expected,
            m,
            1.0,
        );
    }
    // One row of logits (Rank1): the near-tie of two huge logits, the loser's class.
    let row = to_e::<E>(&EXTREME[3..6]);
    let x = Tensor::<Rank1<3>, E>::from_vec(row.clone())
        .unwrap()
        .track();
    let loss = x.cross_entropy(0).unwrap();
    let row = to_f64(&row);
    let log_probs = log_softmax_ref(&row);
    assert_close(
        "cross_entropy (Rank1)",
        loss.item(),
        -log_probs[0],
        1e4,
        1.0,
    );
    let g = loss.backward().get(&x).unwrap().to_vec();
    for (k, &g) in g.iter().enumerate() {
        let hit = if k == 0 { 1.0 } else { 0.0 };
        let expected = log_probs[k].exp() - hit;
        assert_close("cross_entropy (Rank1) gradient", g, expected, 1e4, 1.0);
    }
}

#[test]
fn softplus_is_finite_and_accurate_at_huge_logits() {
    softplus_numerics::<f32>();
    softplus_numerics::<f64>();
}

#[test]
fn bce_with_logits_is_finite_and_accurate_at_huge_logits() {
    bce_numerics::<f32>();
    bce_numerics::<f64>();
}

#[test]
fn log_softmax_is_finite_and_accurate_at_huge_logits() {
    log_softmax_numerics::<f32>();
    log_softmax_numerics::<f64>();
}

#[test]
fn cross_entropy_is_finite_and_accurate_at_huge_logits() {
    cross_entropy_numerics::<f32>();
    cross_entropy_numerics::<f64>();
}

/// log_softmax along the rows and cross_entropy, to within 8 ε (1 + |value|): the
/// forward error of `(x - max) - ln Σ e^(x - max)`, stricter than the backward-error
/// bound above for values much smaller than the logits.
fn log_softmax_accuracy<E: Element>() {
    let z = to_e::<E>(&EXTREME);
    let x = Tensor::<Rank2<4, 3>, E>::from_vec(z.clone()).unwrap();
    let z = to_f64(&z);
    let reference: Vec<f64> = z.chunks(3).flat_map(log_softmax_ref).collect();
    let y = x.log_softmax::<1>();
    for (at, (&ours, &exact)) in y.as_slice().iter().zip(&reference).enumerate() {
        let what = format!("log_softmax at {at}");
        assert_close(&what, ours, exact, exact.abs(), 1.0);
    }
    let loss = x.cross_entropy(&[1, 0, 2, 2]).unwrap().item();
    let exact = -(reference[1] + reference[3] + reference[8] + reference[11]) / 4.0;
    assert_close("cross_entropy", loss, exact, exact.abs(), 1.0);
}

#[test]
fn log_softmax_and_cross_entropy_are_accurate_relative_to_their_values() {
    log_softmax_accuracy::<f32>();
    log_softmax_accuracy::<f64>();
}

/// `sum` and `mean` of a million f32 values stay within 1e-6 (relative) of the f64 sum
/// of the same values: uniform in [0, 1), uniform in [-0.5, 1.5) (mixed signs), all 0.1
/// (where a running f32 sum is off by 1%), and one value of 1e3 in every thousand among
/// values of 1e-3 (where each 1e-3 added to a running sum near 1e3 rounds the same way,
/// so that even blocks of 128 summed in f32 lose 1.4e-6).
#[test]
fn sum_and_mean_of_a_million_f32_values_match_f64() {
    type Million = Rank1<1_000_000>;
    let uniform = Tensor::<Million, f32>::rand(&mut seeded_rng(1));
    let mixed = Tensor::<Million, f32>::rand(&mut seeded_rng(2)) * 2.0 - 0.5;
    let tenths = Tensor::<Million, f32>::full(0.1);
    let spiky = Tensor::<Million, f32>::from_fn(|i| if i % 1000 == 7 { 1e3 } else { 1e-3 });
    let cases = [
        ("uniform", uniform),
        ("mixed", mixed),
        ("0.1", tenths),
        ("spiky", spiky),
    ];
    for (what, x) in cases {
        let exact: f64 = x.as_slice().iter().map(|&v| f64::from(v)).sum();
        let exact_mean = exact / 1e6;
        let sum = f64::from(x.sum().item());
        let mean = f64::from(x.mean().item());
        let (sum_error, mean_error) = (
            ((sum - exact) / exact).abs(),
            ((mean - exact_mean) / exact_mean).abs(),
        );
        assert!(
            sum_error <= 1e-6,
            "{what}: sum {sum} vs {exact} ({sum_error:e})"
        );
        assert!(
            mean_error <= 1e-6,
            "{what}: mean {mean} vs {exact_mean} ({mean_error:e})"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Stacking, element access, permuting a matrix, cumulative sums, triangles
// ---------------------------------------------------------------------------------------

/// Three tracked scalars, as gradcheck hands a tuple of inputs to the checked function.
type Scalars3 = (Tr<Rank0>, Tr<Rank0>, Tr<Rank0>);

/// `Tensor::stack`: each part's gradient is its slice of the result's. Scalars into a
/// vector (arrays of tensors and of references, a tuple mixing a constant in), vectors
/// into a matrix, matrices into a rank-3 tensor, one part alone, and odd counts (the
/// joins form an unbalanced tree), on leaves and on interior values.
#[test]
fn stack_gradient() {
    property(CASES, (any_vals(24), any_vals(24)), &|(pool, other)| {
        let scalars = (
            t::<Rank0>(&pool),
            t::<Rank0>(&pool[1..]),
            t::<Rank0>(&pool[2..]),
        );
        check(
            "three scalars, interior values",
            &|(a, b, c): &Scalars3| Tensor::stack([a * b, b.sin(), c * 1.0]),
            &scalars,
        )?;
        check(
            "three scalar leaves, by reference",
            &|(a, b, c): &Scalars3| Tensor::stack([a, b, c, a]),
            &scalars,
        )?;
        let constant = t::<Rank0>(&other);
        check(
            "a tuple with a constant between tracked scalars",
            &|(a, b, _): &Scalars3| Tensor::stack((a, &constant, b)),
            &scalars,
        )?;
        check(
            "owned parts of mixed tapes",
            &|(a, _, c): &Scalars3| Tensor::stack((constant.clone(), a.exp(), c.clone())),
            &scalars,
        )?;
        // Five parts and seven parts taken from one vector, in a scrambled order.
        for_shapes!(pool, |x| Tensor::stack(
            [x.at::<4>(), x.at::<0>(), x.at::<2>() * x.at::<1>(), x.at::<3>(), x.at::<0>()]);
            Rank1<5>);
        for_shapes!(pool, |x| Tensor::stack([x.at::<6>(), x.at::<5>(), x.at::<4>(),
            x.at::<3>(), x.at::<2>(), x.at::<1>(), x.at::<0>()]); Rank1<7>);
        for_shapes!(pool, |x| Tensor::stack([x.clone()]); Rank0, Rank1<3>);
        for_shapes!(pool, |x| Tensor::stack([x, &x.sin(), x]); Rank1<4>);
        for_shapes!(pool, |x| Tensor::stack([x.cos(), x.clone()]); Rank2<2, 3>);
        for_shapes!(pool, |x| Tensor::stack((x, &t::<Rank3<1, 2, 3>>(&other))); Rank3<1, 2, 3>);
        for_pairs!(pool, other, |a, b| Tensor::stack((a, b, &(a * b)));
            (Rank1<3>, Rank1<3>));
        Ok(())
    });
}

/// `at::<I>()` and `at::<I, J>()`: the gradient lands on the one element read.
#[test]
fn at_gradient() {
    property(CASES, any_vals(24), &|pool| {
        for_shapes!(pool, |x| x.at::<0>(); Rank1<1>);
        for_shapes!(pool, |x| x.at::<4>(); Rank1<5>);
        for_shapes!(pool, |x| x.at::<3>() * x.at::<1>() + x.at::<3>(); Rank1<5>);
        for_shapes!(pool, |x| x.at::<0, 0>(); Rank2<1, 1>);
        for_shapes!(pool, |x| x.at::<1, 2>().sin() * x.at::<0, 2>(); Rank2<2, 3>);
        Ok(())
    });
}

/// `permute` of a matrix: the identity and the transpose.
#[test]
fn permute_matrix_gradient() {
    property(CASES, any_vals(12), &|pool| {
        for_shapes!(pool, |x| x.permute::<1, 0>(); Rank2<1, 4>, Rank2<2, 3>, Rank2<3, 3>);
        for_shapes!(pool, |x| x.permute::<0, 1>(); Rank2<2, 3>);
        for_shapes!(pool, |x| x.permute::<1, 0>().matmul(x); Rank2<2, 3>);
        Ok(())
    });
}

/// `cumsum::<AXIS>()` along every axis of ranks 1 to 4, and inside a product (so that the
/// second derivative is not zero).
#[test]
fn cumsum_gradient() {
    property(CASES, any_vals(24), &|pool| {
        every_axis!(pool, cumsum);
        for_shapes!(pool, |x| (x.cumsum::<0>() * x).sin(); Rank1<6>, Rank2<3, 2>);
        for_shapes!(pool, |x| x.cumsum::<1>().cumsum::<1>().powf(2.0); Rank2<2, 4>);
        Ok(())
    });
}

/// `tril` and `triu` with diagonals below, on and above the main one (and past the
/// matrix), of square, wide and tall matrices and of batches.
#[test]
fn tril_triu_gradient() {
    property(CASES, any_vals(24), &|pool| {
        for_shapes!(pool, |x| x.tril(0); Rank2<3, 3>, Rank2<2, 4>, Rank2<4, 2>);
        for_shapes!(pool, |x| x.tril(-1); Rank2<3, 3>, Rank2<4, 2>);
        for_shapes!(pool, |x| x.tril(2); Rank2<2, 4>);
        for_shapes!(pool, |x| x.triu(0); Rank2<3, 3>, Rank2<2, 4>, Rank2<4, 2>);
        for_shapes!(pool, |x| x.triu(1); Rank2<3, 3>);
        for_shapes!(pool, |x| x.triu(-2); Rank2<4, 2>);
        for_shapes!(pool, |x| x.triu(5) + x; Rank2<2, 3>);
        for_shapes!(pool, |x| x.tril(0); Rank3<2, 3, 2>);
        for_shapes!(pool, |x| x.triu(-1); Rank4<2, 1, 3, 4>);
        // Products of the two triangles of one matrix.
        for_shapes!(pool, |x| x.tril(0).matmul(&x.triu(1)); Rank2<3, 3>);
        Ok(())
    });
}
