//! SPEC §7: the PyTorch autograd tutorial case, forward + backward:
//! `x = ones(5)`, `w = randn(5, 3)` and `b = randn(3)` tracked, `z = x·w + b`,
//! `loss = bce_with_logits(z, zeros(3))`, `loss.backward()` (target: under 1 µs).

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use typegrad::prelude::*;

/// The tracked `w` and `b` leaves of one step, to look their gradients up.
type Leaves = (
    Tensor<Rank2<5, 3>, f32, Tracked>,
    Tensor<Rank1<3>, f32, Tracked>,
);

/// One step; returns the gradients and the leaves.
fn step(
    x: &Tensor<Rank1<5>, f32>,
    w: &Tensor<Rank2<5, 3>, f32>,
    b: &Tensor<Rank1<3>, f32>,
    y: &Tensor<Rank1<3>, f32>,
) -> (Gradients<f32>, Leaves) {
    let (w, b) = (w.track(), b.track());
    let z = x.matmul(&w) + &b;
    let loss = z.bce_with_logits(y);
    (loss.backward(), (w, b))
}

fn bench(crit: &mut Criterion) {
    let mut rng = seeded_rng(0);
    let x = Tensor::<Rank1<5>, f32>::ones();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng);
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng);
    let y = Tensor::<Rank1<3>, f32>::zeros();

    let (grads, (tw, tb)) = step(&x, &w, &b, &y);
    assert_eq!(grads.len(), 2);
    assert!(grads.get(&tw).is_some() && grads.get(&tb).is_some());

    let mut group = crit.benchmark_group("tutorial");
    group.bench_function("typegrad_fwd_bwd", |bench| {
        bench.iter(|| {
            black_box(step(
                black_box(&x),
                black_box(&w),
                black_box(&b),
                black_box(&y),
            ))
        })
    });
    group.finish();
}

fn main() {
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut crit);
    crit.final_summary();
}
