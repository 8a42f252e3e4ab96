//! What Rust users expect of a value type, used as a user would: gradients computed on
//! several threads and merged, sums of tensors, arrays in and out.

use typegrad::optim::{Param, Sgd};
use typegrad::prelude::*;

/// Squared error of a linear model over a batch, summed so that shards add up.
fn shard_loss(
    w: &Tensor<Rank2<3, 2>, f64, Tracked>,
    b: &Tensor<Rank1<2>, f64, Tracked>,
    x: &Tensor<Rank2<4, 3>, f64>,
    y: &Tensor<Rank2<4, 2>, f64>,
) -> Tensor<Rank0, f64, Tracked> {
    (x.matmul(w) + b - y).powf(2.0).sum()
}

/// Whether both gradients exist and agree to rounding (the additions run in another
/// order).
fn close<S: Shape>(a: Option<Tensor<S, f64>>, c: Option<Tensor<S, f64>>) -> bool {
    match (a, c) {
        (Some(a), Some(c)) => a.allclose(&c, 1e-12, 1e-12),
        _ => false,
    }
}

#[test]
fn gradients_merged_across_threads_equal_one_pass() -> Result<(), Error> {
    let mut rng = seeded_rng(11);
    let w = Param::new(Tensor::<Rank2<3, 2>, f64>::randn(&mut rng));
    let b = Param::new(Tensor::<Rank1<2>, f64>::randn(&mut rng));
    let shards: Vec<_> = (0..4)
        .map(|_| {
            (
                Tensor::<Rank2<4, 3>, f64>::randn(&mut rng),
                Tensor::<Rank2<4, 2>, f64>::randn(&mut rng),
            )
        })
        .collect();

    // One thread per shard, each tracking the same parameters.
    let mut merged = Gradients::new();
    std::thread::scope(|s| {
        let (w, b) = (&w, &b);
        let runs: Vec<_> = shards
            .iter()
            .map(|(x, y)| s.spawn(move || shard_loss(&w.track(), &b.track(), x, y).backward()))
            .collect();
        for run in runs {
            merged.merge(run.join().expect("a shard's backward does not panic"));
        }
    });

    // One pass over every shard.
    let (wt, bt) = (w.track(), b.track());
    let total: Tensor<Rank0, f64, Tracked> =
        shards.iter().map(|(x, y)| shard_loss(&wt, &bt, x, y)).sum();
    let single = total.backward();

    assert!(close(w.grad(&merged), w.grad(&single)));
    assert!(close(b.grad(&merged), b.grad(&single)));

    // The optimizer takes the merged store as it takes any other.
    let mut w = w;
    let expected = w.grad(&single).map(|g| w.value() - &(g * 0.01));
    Sgd::new(0.01)?.step(&mut w, &merged);
    assert!(expected.is_some_and(|e| w.value().allclose(&e, 1e-12, 1e-12)));
    Ok(())
}

#[test]
fn merge_keeps_leaves_apart_and_adds_shared_ones() {
    let a = Tensor::<Rank0, f32>::full(2.0).track();
    let b = Tensor::<Rank0, f32>::full(3.0).track();
    let mut g = (&a * 5.0).backward();
    g.merge((&b * 7.0).backward());
    g.merge((&a * &b).backward());
    assert_eq!(g.len(), 2);
    assert_eq!(g.get(&a).map(|t| t.item()), Some(5.0 + 3.0));
    assert_eq!(g.get(&b).map(|t| t.item()), Some(7.0 + 2.0));
}

#[test]
fn an_ensemble_is_a_sum_of_models() {
    let x = Tensor::from_array([1.0f32, -1.0]);
    let ws: Vec<_> = (1..=3)
        .map(|k| Tensor::<Rank2<2, 2>, f32>::full(k as f32).track())
        .collect();
    let mean: Tensor<Rank1<2>, f32, Tracked> = ws
        .iter()
        .map(|w| x.matmul(w))
        .sum::<Tensor<_, _, Tracked>>()
        / 3.0;
    assert_eq!(mean.to_array(), [0.0, 0.0]);
    let grads = mean.sum().backward();
    for w in &ws {
        assert_eq!(
            grads.get(w).map(|g| g.to_array()),
            Some([[1.0 / 3.0; 2], [-1.0 / 3.0; 2]])
        );
    }
}
