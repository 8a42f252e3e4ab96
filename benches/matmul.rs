//! SPEC §7: a square f32 matrix product, forward + backward with both operands tracked,
//! beside its three raw `sgemm` calls (C = A·B, dA = dC·Bᵀ, dB = Aᵀ·dC), at n = 64, 256
//! and 512.
//!
//! Read `matmul_n{n}/typegrad_fwd_bwd` ÷ `matmul_n{n}/raw_sgemm_x3` (target: at most
//! 1.05), or the paired ratio printed after them (see `common::paired_ratio`). The backward is seeded with ones through `backward_with`, so no reduction is
//! added to the product. The baseline writes each product (beta = 0) into buffers
//! allocated once, outside the timed loop.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{sgemm, View};
use typegrad::prelude::*;

/// An n x n f32 matrix on tape `T`.
type Square<const N: usize, T = NoGrad> = Tensor<Rank2<N, N>, f32, T>;

/// `C = A·B` and its backward from a seed of ones; returns the gradients and the tracked
/// leaves, to look the gradients up.
fn fwd_bwd<const N: usize>(
    a: &Square<N>,
    b: &Square<N>,
    seed: &Square<N>,
) -> (Gradients<f32>, [Square<N, Tracked>; 2]) {
    let (a, b) = (a.track(), b.track());
    let grads = a.matmul(&b).backward_with(seed);
    (grads, [a, b])
}

fn bench_size<const N: usize>(crit: &mut criterion::Criterion, samples: usize, secs: u64) {
    let mut rng = seeded_rng(N as u64);
    let a = Tensor::<Rank2<N, N>, f32>::randn(&mut rng);
    let b = Tensor::<Rank2<N, N>, f32>::randn(&mut rng);
    let seed = Tensor::<Rank2<N, N>, f32>::ones();

    let (grads, [ta, tb]) = fwd_bwd(&a, &b, &seed);
    assert_eq!(grads.len(), 2);
    assert!(grads.get(&ta).is_some() && grads.get(&tb).is_some());

    // The baseline's buffers, allocated once.
    let (ra, rb) = (common::filled(N * N, 0.1), common::filled(N * N, 0.2));
    let dc = vec![1.0f32; N * N];
    let (mut c, mut da, mut db) = (vec![0.0; N * N], vec![0.0; N * N], vec![0.0; N * N]);

    let mut group = crit.benchmark_group(format!("matmul_n{N}"));
    group.sample_size(samples);
    group.measurement_time(Duration::from_secs(secs));
    group.bench_function("typegrad_fwd_bwd", |bench| {
        bench.iter(|| black_box(fwd_bwd(black_box(&a), black_box(&b), black_box(&seed))))
    });
    let mut raw = || {
        let rm = View::row_major;
        let (a, b, dc) = (black_box(&ra), black_box(&rb), black_box(&dc));
        sgemm(rm(a, N, N), rm(b, N, N), &mut c);
        sgemm(rm(dc, N, N), rm(b, N, N).t(), &mut da);
        sgemm(rm(a, N, N).t(), rm(dc, N, N), &mut db);
        black_box((&c, &da, &db));
    };
    group.bench_function("raw_sgemm_x3", |bench| bench.iter(&mut raw));
    group.finish();
    // About a second per size: enough rounds for stable quartiles.
    let per = (1 << 27) / (N * N * N);
    common::paired_ratio(
        &format!("matmul_n{N}: typegrad_fwd_bwd / raw_sgemm_x3"),
        40,
        per.max(1),
        || {
            black_box(fwd_bwd(black_box(&a), black_box(&b), black_box(&seed)));
        },
        raw,
    );
}

fn main() {
    let mut crit = common::criterion();
    bench_size::<64>(&mut crit, 50, 3);
    bench_size::<256>(&mut crit, 30, 4);
    bench_size::<512>(&mut crit, 20, 5);
    crit.final_summary();
}
