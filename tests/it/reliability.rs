//! Reliability (SPEC §6): deep graphs, threads, determinism.

use std::sync::Arc;
use typegrad::optim::Param;
use typegrad::prelude::*;

/// A chain of a million operations: backward and drop are iterative, so neither
/// overflows the stack.
#[test]
fn million_op_chain_backward_and_drop() {
    let x = Tensor::<Rank1<4>, f32>::full(1.0).track();
    let c = Tensor::<Rank1<4>, f32>::full(1.0);
    let mut y = &x * &c;
    for i in 1..1_000_000 {
        y = if i % 2 == 0 { y * &c } else { y + 0.0 };
    }
    let grads = y.sum().backward();
    assert_eq!(grads.get(&x).map(|g| g.to_vec()), Some(vec![1.0; 4]));
    drop(y);
}

/// Graphs of a million nodes built by merging many small graphs also drop iteratively.
#[test]
fn deep_merged_graph_drops() {
    let x = Tensor::<Rank0, f64>::full(1.0).track();
    let mut acc = &x * 1.0;
    for _ in 0..200_000 {
        // Each `&x * 1.0` starts a graph of its own; adding merges it into `acc`'s.
        acc = acc + &x * 1.0;
    }
    let grads = acc.backward();
    assert_eq!(grads.get(&x).map(|g| g.item()), Some(200_001.0));
}

/// Independent graphs built on several threads from shared parameters.
#[test]
fn graphs_on_several_threads_share_parameters() {
    let w = Arc::new(Tensor::<Rank2<3, 2>, f64>::randn(&mut seeded_rng(8)));
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let w = Arc::clone(&w);
            std::thread::spawn(move || {
                let wt = w.track();
                let x = Tensor::<Rank1<3>, f64>::full(k as f64);
                let loss = x.matmul(&wt).sum();
                loss.backward().get(&wt).map(|g| g.to_vec())
            })
        })
        .collect();
    for (k, handle) in handles.into_iter().enumerate() {
        let grad = handle.join().expect("thread finished");
        assert_eq!(grad, Some(vec![k as f64; 6]));
    }
}

/// Values and gradients cross threads; graphs stay on the thread that recorded them: a
/// parameter's uses on two threads add into one gradient when their `Gradients` merge.
#[test]
fn values_and_gradients_cross_threads() {
    let x = Param::new(Tensor::<Rank1<2>, f32>::from_array([1.0, 2.0]));
    let on_other_thread = std::thread::scope(|s| {
        s.spawn(|| (x.track() * 3.0).sum().backward())
            .join()
            .expect("thread finished")
    });
    let here = {
        let t = x.track();
        (&t * &t).sum().backward()
    };
    let mut grads = on_other_thread;
    grads.merge(here);
    assert_eq!(x.grad(&grads).map(|g| g.to_vec()), Some(vec![5.0, 7.0]));
}

/// Same inputs and seed give bitwise identical values and gradients.
#[test]
fn forward_and_backward_are_deterministic() {
    let run = || {
        let mut rng = seeded_rng(9);
        let x = Tensor::<Rank2<8, 16>, f32>::randn(&mut rng);
        let w1 = Tensor::<Rank2<16, 32>, f32>::randn(&mut rng).track();
        let w2 = Tensor::<Rank2<32, 4>, f32>::randn(&mut rng).track();
        let h = x.matmul(&w1).tanh();
        let out = h.matmul(&w2).sigmoid();
        let loss = out.mse(&Tensor::<Rank2<8, 4>, f32>::full(0.5)) + h.norm();
        let value = loss.item();
        let grads = loss.backward();
        (
            value.to_bits(),
            grads
                .get(&w1)
                .map(|g| g.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>()),
            grads
                .get(&w2)
                .map(|g| g.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>()),
        )
    };
    assert_eq!(run(), run());
}

/// Tensors with no elements go through every operation and backward without a panic.
#[test]
fn empty_tensors_never_panic() {
    let x = Tensor::<Rank2<0, 3>, f32>::zeros().track();
    let v = Tensor::<Rank1<3>, f32>::ones().track();
    let w = Tensor::<Rank2<3, 0>, f32>::zeros().track();
    let y = (&x + &v) * 2.0 - 1.0;
    let y = y
        .exp()
        .ln()
        .sqrt()
        .abs()
        .sin()
        .cos()
        .tanh()
        .sigmoid()
        .relu()
        .softplus();
    let y = y.powf(2.0).maximum(&v).minimum(&v);
    let p: Tensor<Rank2<0, 0>, f32, Tracked> = y.matmul(&w);
    let s = y.softmax::<1>().log_softmax::<0>().sum_axis::<0>();
    let total = y.sum()
        + y.mean()
        + y.max()
        + y.min()
        + y.norm()
        + p.sum()
        + s.sum()
        + y.mse(&Tensor::zeros())
        + y.bce_with_logits(&Tensor::zeros());
    let _ = total.item();
    let grads = total.backward();
    assert_eq!(grads.get(&x).map(|g| g.numel()), Some(0));
    assert!(grads.get(&v).is_some());
    let empty = Tensor::<Rank2<0, 4>, f32>::zeros().track();
    assert!(empty.cross_entropy(&[]).is_ok());
    let none_class = Tensor::<Rank2<1, 0>, f32>::zeros();
    assert!(none_class.cross_entropy(&[0]).is_err());
    let z: Tensor<Rank1<0>, f32, Tracked> = x.reshape();
    let _ = z.backward_with(&Tensor::zeros());
}

/// Threads combining values of the same graphs in opposite orders, so that merges of one
/// pair of graphs race from both sides (locks taken in address order, forwarding entries
/// resolved while another thread moves them): every product still reaches the gradient.
/// Many small graphs merged into larger ones from the left and from the right, and
/// values of graphs already merged used again: every path keeps its gradient.
#[test]
fn interleaved_merges_keep_every_path() {
    for round in 0..20 {
        let leaves: Vec<Tensor<Rank1<2>, f64, Tracked>> = (0..4)
            .map(|i| Tensor::from_array([i as f64 + 1.0, -(i as f64) - round as f64]).track())
            .collect();
        // Each leaf starts a graph of its own.
        let starts: Vec<_> = leaves.iter().map(|x| x * 2.0).collect();
        let pairs = |t: usize| -> Vec<(usize, usize)> {
            (0..48)
                .map(|r| {
                    let (a, b) = ((r + t) % 4, (r * 3 + 1) % 4);
                    if t.is_multiple_of(2) {
                        (a, b)
                    } else {
                        (b, a)
                    }
                })
                .collect()
        };
        // Four accumulators advanced in turn, so that their graphs merge with the
        // shared ones (and each other's, through them) in an interleaved order.
        let mut accs: Vec<Tensor<Rank1<2>, f64, Tracked>> =
            (0..4).map(|t| &starts[t] * 0.0).collect();
        for r in 0..48 {
            for (t, acc) in accs.iter_mut().enumerate() {
                let (a, b) = pairs(t)[r];
                // A new small graph, merged into the larger one from the left or the
                // right.
                let fresh = &leaves[a] * &leaves[b];
                let sum = if t.is_multiple_of(2) {
                    &*acc + fresh
                } else {
                    fresh + &*acc
                };
                *acc = sum + &starts[a] * &starts[b];
            }
        }
        let total = accs
            .into_iter()
            .fold(None::<Tensor<Rank1<2>, f64, Tracked>>, |sum, t| {
                Some(match sum {
                    Some(sum) => sum + t,
                    None => t,
                })
            })
            .expect("four totals");
        let grads = total.sum().backward();
        // d/dx_a of x_a x_b + (2 x_a)(2 x_b) = 5 x_b, and of the starting 0 * 2 x_t: 0.
        let values: Vec<Vec<f64>> = leaves.iter().map(|x| x.to_vec()).collect();
        let mut expected = vec![vec![0.0; 2]; 4];
        for t in 0..4 {
            for (a, b) in pairs(t) {
                for k in 0..2 {
                    expected[a][k] += 5.0 * values[b][k];
                    expected[b][k] += 5.0 * values[a][k];
                }
            }
        }
        for (i, leaf) in leaves.iter().enumerate() {
            assert_eq!(
                grads.get(leaf).map(|g| g.to_vec()),
                Some(expected[i].clone()),
                "leaf {i}, round {round}"
            );
        }
    }
}
