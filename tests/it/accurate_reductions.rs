//! Every reduction accumulates `f32` in `f64`, pairwise (SPEC §6): sums, means (whole
//! and along an axis), norms, softmax denominators and losses. A naive `f32` running sum
//! of ten million copies of 0.1 stalls near 2^21 and ends 8.8% off. Means divide before
//! rounding where the sum overflows but the mean does not; empty reductions follow
//! PyTorch (the mean of nothing is NaN).

use typegrad::prelude::*;

const TEN_MILLION: usize = 10_000_000;

/// The relative error of `ours` against the exact `f64` value.
fn relative_error(ours: f32, exact: f64) -> f64 {
    ((f64::from(ours) - exact) / exact).abs()
}

/// The exact sum of `TEN_MILLION` copies of `0.1f32` (each converted exactly).
fn exact_sum() -> f64 {
    f64::from(0.1f32) * TEN_MILLION as f64
}

#[test]
fn f32_sum_axis_of_ten_million_is_accurate_along_both_axes() {
    let row = Tensor::<Rank2<1, TEN_MILLION>, f32>::full(0.1);
    let along_1 = row.sum_axis::<1>().item_at(0);
    assert!(
        relative_error(along_1, exact_sum()) <= 1e-6,
        "axis 1: {along_1}"
    );
    let column = Tensor::<Rank2<TEN_MILLION, 1>, f32>::full(0.1);
    let along_0 = column.sum_axis::<0>().item_at(0);
    assert!(
        relative_error(along_0, exact_sum()) <= 1e-6,
        "axis 0: {along_0}"
    );
    let mean_1 = row.mean_axis::<1>().item_at(0);
    assert!(
        relative_error(mean_1, f64::from(0.1f32)) <= 1e-6,
        "mean axis 1: {mean_1}"
    );
    let mean_0 = column.mean_axis::<0>().item_at(0);
    assert!(
        relative_error(mean_0, f64::from(0.1f32)) <= 1e-6,
        "mean axis 0: {mean_0}"
    );
    let whole = row.sum().item();
    assert!(relative_error(whole, exact_sum()) <= 1e-6, "sum: {whole}");
    let mean = column.mean().item();
    assert!(
        relative_error(mean, f64::from(0.1f32)) <= 1e-6,
        "mean: {mean}"
    );
}

#[test]
fn f32_norm_softmax_and_losses_of_ten_million_are_accurate() {
    let x = Tensor::<Rank1<TEN_MILLION>, f32>::full(0.1);
    let norm = x.norm().item();
    let exact_norm = (f64::from(0.1f32).powi(2) * TEN_MILLION as f64).sqrt();
    assert!(relative_error(norm, exact_norm) <= 1e-6, "norm: {norm}");
    // Softmax of equal logits: each is 1/n, its log -ln(n); the denominator is a sum of
    // ten million ones.
    let zeros = Tensor::<Rank1<TEN_MILLION>, f32>::zeros();
    let log_p = zeros.log_softmax::<0>().as_slice()[0];
    assert!(
        relative_error(log_p, -(TEN_MILLION as f64).ln()) <= 1e-6,
        "log_softmax: {log_p}"
    );
    let p = zeros.softmax::<0>().as_slice()[0];
    assert!(
        relative_error(p, 1.0 / TEN_MILLION as f64) <= 1e-6,
        "softmax: {p}"
    );
    let mse = x.mse(&zeros).item();
    assert!(
        relative_error(mse, f64::from(0.1f32).powi(2)) <= 1e-6,
        "mse: {mse}"
    );
    let bce = zeros.bce_with_logits(&zeros).item();
    assert!(relative_error(bce, 2f64.ln()) <= 1e-6, "bce: {bce}");
}

#[test]
fn mean_where_the_sum_overflows_but_the_mean_does_not() {
    let x = Tensor::from_array([f32::MAX, f32::MAX]);
    assert_eq!(x.mean().item(), f32::MAX);
    let m = Tensor::from_array([[f32::MAX, f32::MAX]]);
    assert_eq!(m.mean_axis::<1>().to_vec(), vec![f32::MAX]);
    let y = Tensor::from_array([f64::MAX, f64::MAX, 0.0]);
    assert!((y.mean().item() / (f64::MAX / 3.0 * 2.0) - 1.0).abs() < 1e-15);
    let c = Tensor::from_array([[f64::MAX], [f64::MAX]]);
    assert_eq!(c.mean_axis::<0>().to_vec(), vec![f64::MAX]);
    let e = Tensor::from_array([f64::MAX, -f64::MAX]);
    assert_eq!(e.mean().item(), 0.0);
    assert_eq!(
        Tensor::from_array([f64::MAX, f64::MAX])
            .mse(&Tensor::zeros())
            .item(),
        f64::INFINITY
    );
}

#[test]
fn norms_neither_overflow_nor_underflow() {
    let big = Tensor::from_array([3e30f32, 4e30]);
    assert_eq!(big.norm().item(), 5e30);
    let huge = Tensor::from_array([3e300f64, 4e300]);
    assert!((huge.norm().item() / 5e300 - 1.0).abs() < 1e-15);
    let tiny = Tensor::from_array([3e-300f64, 4e-300]);
    assert!((tiny.norm().item() / 5e-300 - 1.0).abs() < 1e-15);
    let subnormal = Tensor::from_array([3e-45f32, 4e-45]);
    assert!(subnormal.norm().item() > 0.0);
    let zero = Tensor::<Rank1<3>, f64>::zeros().track();
    let n = zero.norm();
    assert_eq!(n.item(), 0.0);
    assert_eq!(
        n.backward().get(&zero).unwrap().to_vec(),
        vec![0.0; 3],
        "the subgradient at 0"
    );
    let inf = Tensor::from_array([1.0f64, f64::NEG_INFINITY]);
    assert_eq!(inf.norm().item(), f64::INFINITY);
}

#[test]
fn empty_reductions_follow_pytorch() {
    let empty = Tensor::<Rank1<0>, f64>::zeros();
    assert!(empty.mean().item().is_nan());
    assert_eq!(empty.sum().item(), 0.0);
    let no_columns = Tensor::<Rank2<2, 0>, f32>::zeros();
    assert!(no_columns
        .mean_axis::<1>()
        .as_slice()
        .iter()
        .all(|v| v.is_nan()));
    assert_eq!(no_columns.sum_axis::<1>().to_vec(), vec![0.0, 0.0]);
    let no_rows = Tensor::<Rank2<0, 3>, f64>::zeros().track();
    let ce = no_rows.cross_entropy(&[]).unwrap();
    assert!(
        ce.item().is_nan(),
        "cross_entropy of zero rows: {}",
        ce.item()
    );
    let ce = no_rows.cross_entropy_probs(&Tensor::zeros());
    assert!(ce.item().is_nan());
    assert!(empty.mse(&empty).item().is_nan());
    assert!(empty.bce_with_logits(&empty).item().is_nan());
}

/// The single element of a one-element tensor of any rank.
trait ItemAt {
    fn item_at(&self, at: usize) -> f32;
}

impl<S: Shape, T: Tape> ItemAt for Tensor<S, f32, T> {
    fn item_at(&self, at: usize) -> f32 {
        self.as_slice()[at]
    }
}
