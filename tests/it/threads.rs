//! A graph per thread: each thread records its own steps from shared parameters, the
//! `Gradients` travel back (and are dropped on yet another thread), and everything
//! equals a single-threaded run bit for bit.

use std::sync::mpsc;
use typegrad::optim::Param;
use typegrad::parallel;
use typegrad::prelude::*;

type V = Rank1<6>;

/// The bits of a step's loss and two gradients, and the step's gradients.
type StepResult = (Vec<u64>, Vec<u64>, Vec<u64>, Gradients<f64>);

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// One step on the calling thread's own graph: a loss mixing the parameter `p` (through
/// a node computed from it) and a local chain long enough that the graphs of `p`'s uses
/// and of the chain merge one way or the other, depending on `len`.
fn step(p: &Param<V, f64>, k: usize, len: usize) -> StepResult {
    let pt = p.track();
    let c = pt.exp() * &pt;
    let q = Tensor::<V, f64>::from_fn(|i| (i + k) as f64 * 0.1 - 0.2).track();
    let mut h = &q * 1.0;
    for j in 0..len {
        h = if j % 2 == 0 { h.sin() + &q } else { h * 0.9 };
    }
    let mixed = (&h * &c).tanh() + &pt * &q;
    let loss = mixed.sum() + c.sum() * 0.5;
    let value = loss.item().to_bits();
    let grads = loss.backward();
    let gp = bits(p.grad(&grads).unwrap().as_slice());
    let gq = bits(grads.get(&q).unwrap().as_slice());
    (vec![value], gp, gq, grads)
}

#[test]
fn graphs_recorded_on_threads_match_a_single_thread_bit_for_bit() {
    const THREADS: usize = 4;
    const STEPS: usize = 60;
    let p = Param::new(Tensor::<V, f64>::from_fn(|i| i as f64 * 0.3 - 0.5));
    let reference: Vec<Vec<_>> = (0..THREADS)
        .map(|t| {
            (0..STEPS)
                .map(|s| {
                    let (a, b, d, _) = step(&p, t * 1000 + s, s % 7 * 3);
                    (a, b, d)
                })
                .collect()
        })
        .collect();
    // Gradients dropped on a thread of their own.
    let (send, recv) = mpsc::channel::<Gradients<f64>>();
    let dropper = std::thread::spawn(move || recv.into_iter().map(drop).count());
    let got: Vec<Vec<_>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (p, send) = (&p, send.clone());
                s.spawn(move || {
                    (0..STEPS)
                        .map(|s| {
                            let (a, b, d, grads) = step(p, t * 1000 + s, s % 7 * 3);
                            send.send(grads).expect("dropper running");
                            (a, b, d)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("thread finished"))
            .collect()
    });
    drop(send);
    for (t, (r, g)) in reference.iter().zip(&got).enumerate() {
        for (s, (r, g)) in r.iter().zip(g).enumerate() {
            assert_eq!(r, g, "thread {t} step {s}");
        }
    }
    assert_eq!(dropper.join().expect("dropper finished"), THREADS * STEPS);
}

/// `parallel::gradients` sums the chunks' gradients in chunk order, so 1, 2 and 8
/// threads give the same bits.
#[test]
fn chunked_gradients_are_the_same_bits_on_any_number_of_threads() {
    let p = Param::new(Tensor::<V, f64>::from_fn(|i| i as f64 * 0.3 - 0.5));
    let chunks: Vec<usize> = (0..13).collect();
    let run = |threads: usize| {
        let grads = parallel::gradients(&chunks, threads, |&k| step(&p, k, k % 5 * 2).3);
        bits(p.grad(&grads).unwrap().as_slice())
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(8));
    // And the sum is the sum: the chunks one after the other on this thread.
    let mut sequential = Gradients::new();
    for &k in &chunks {
        sequential.merge(step(&p, k, k % 5 * 2).3);
    }
    assert_eq!(one, bits(p.grad(&sequential).unwrap().as_slice()));
}
