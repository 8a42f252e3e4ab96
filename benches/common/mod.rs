//! What the benchmarks share: the raw `sgemm` baseline, behind one bounds-checked call.
//!
//! The library's own products go through the same matrixmultiply kernel, with a
//! transposed operand expressed by swapping its strides; the baselines here do the same,
//! so a ratio between the two measures only what the library adds around the GEMMs.
#![allow(unsafe_code)]

use std::time::Duration;

use criterion::Criterion;

/// A read-only strided view of an `f32` matrix inside a slice.
#[derive(Clone, Copy)]
pub struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    /// A `rows` x `cols` matrix stored row-major at the start of `data`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        View {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, as a view: only the strides change (no copy).
    pub fn t(self) -> Self {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether the last element the view addresses lies inside its slice.
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// `c = a · b` with `c` a row-major `a.rows` x `b.cols` matrix: one raw `sgemm` call
/// (alpha 1, beta 0, so the previous contents of `c` are not read).
pub fn sgemm(a: View<'_>, b: View<'_>, c: &mut [f32]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && a.in_bounds() && b.in_bounds() && c.len() >= m * n,
        "baseline sgemm: operands {m}x{k} and {}x{n} into {} elements",
        b.rows,
        c.len()
    );
    // SAFETY: the assertion above checked that every element `a` and `b` address lies
    // inside their slices and that `c` holds the m x n row-major result (row stride n,
    // column stride 1); `c` is a unique borrow, so it aliases neither input. The strides
    // index into existing slices, so they fit in isize.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `len` deterministic values in about [-1, 1], none of them zero or subnormal.
pub fn filled(len: usize, seed: f32) -> Vec<f32> {
    (0..len)
        .map(|i| ((i as f32 + 1.0) * 0.618_034 + seed).sin() * 0.9 + 0.05)
        .collect()
}

/// The criterion settings of every bench here: short runs, so that `cargo bench` for all
/// four files finishes in a few minutes on a small machine.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// Times `ours` and `baseline` in alternating rounds of `per` calls each, `rounds`
/// times, and prints the median of the per-round ratios with its quartiles.
///
/// Criterion measures one function after the other, so on a shared machine whose speed
/// drifts by 10% between minutes, a ratio of two medians moves by as much; the paired
/// ratio compares calls made within the same fraction of a second.
pub fn paired_ratio(
    name: &str,
    rounds: usize,
    per: usize,
    mut ours: impl FnMut(),
    mut baseline: impl FnMut(),
) {
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..per {
            f();
        }
        start.elapsed().as_secs_f64() / per as f64
    };
    for _ in 0..rounds.div_ceil(10) {
        time(&mut ours);
        time(&mut baseline);
    }
    let (mut ratios, mut ours_times, mut baseline_times) = (vec![], vec![], vec![]);
    for _ in 0..rounds {
        let (a, b) = (time(&mut ours), time(&mut baseline));
        ratios.push(a / b);
        ours_times.push(a);
        baseline_times.push(b);
    }
    for values in [&mut ratios, &mut ours_times, &mut baseline_times] {
        values.sort_by(f64::total_cmp);
    }
    let at = |values: &[f64], q: usize| values.get(q * values.len().saturating_sub(1) / 4).copied();
    if let (Some(q1), Some(median), Some(q3), Some(a), Some(b)) = (
        at(&ratios, 1),
        at(&ratios, 2),
        at(&ratios, 3),
        at(&ours_times, 2),
        at(&baseline_times, 2),
    ) {
        println!(
            "{name}: paired ratio {median:.3} (quartiles {q1:.3} .. {q3:.3}, {rounds} rounds; medians {:.3} us / {:.3} us)",
            a * 1e6,
            b * 1e6
        );
    }
}
