//! Graphs shared between threads, handles dropped on another thread than the one that
//! recorded: losses and gradients equal a single-threaded run bit for bit.

use std::sync::mpsc;
use std::sync::Arc;
use typegrad::prelude::*;

type V = Rank1<6>;

/// The bits of a step's loss and two gradients, and the step's tracked output.
type StepResult = (Vec<u64>, Vec<u64>, Vec<u64>, Tensor<V, f64, Tracked>);

/// One step: a loss mixing a shared node `c` (of the main graph) and a thread-local
/// chain long enough that the shared graph is merged into the local one, or the other
/// way round, depending on `len`.
fn step(
    p: &Tensor<V, f64, Tracked>,
    c: &Tensor<V, f64, Tracked>,
    k: usize,
    len: usize,
) -> StepResult {
    let q = Tensor::<V, f64>::from_fn(|i| (i + k) as f64 * 0.1 - 0.2).track();
    let mut h = &q * 1.0;
    for j in 0..len {
        h = if j % 2 == 0 { h.sin() + &q } else { h * 0.9 };
    }
    let mixed = (&h * c).tanh() + p * &q;
    let loss = mixed.sum() + c.sum() * 0.5;
    let value = loss.item().to_bits();
    let grads = loss.backward();
    let gp = grads
        .get(p)
        .unwrap()
        .to_vec()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    let gq = grads
        .get(&q)
        .unwrap()
        .to_vec()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    (vec![value], gp, gq, mixed)
}

fn setup() -> (Tensor<V, f64, Tracked>, Tensor<V, f64, Tracked>) {
    let p = Tensor::<V, f64>::from_fn(|i| i as f64 * 0.3 - 0.5).track();
    let c = p.exp() * &p;
    (p, c)
}

#[test]
fn shared_graph_on_threads_matches_single_thread_bit_for_bit() {
    const THREADS: usize = 4;
    const STEPS: usize = 60;
    // single-threaded reference
    let reference: Vec<Vec<_>> = {
        let (p, c) = setup();
        (0..THREADS)
            .map(|t| {
                (0..STEPS)
                    .map(|s| {
                        let (a, b, d, _) = step(&p, &c, t * 1000 + s, s % 7 * 3);
                        (a, b, d)
                    })
                    .collect()
            })
            .collect()
    };
    let (p, c) = setup();
    let (p, c) = (Arc::new(p), Arc::new(c));
    // handles dropped on a separate thread
    let (send, recv) = mpsc::channel::<Tensor<V, f64, Tracked>>();
    let dropper = std::thread::spawn(move || {
        let mut n = 0;
        for t in recv {
            drop(t);
            n += 1;
        }
        n
    });
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (p, c, send) = (Arc::clone(&p), Arc::clone(&c), send.clone());
            std::thread::spawn(move || {
                (0..STEPS)
                    .map(|s| {
                        let (a, b, d, keep) = step(&p, &c, t * 1000 + s, s % 7 * 3);
                        send.send(keep).unwrap();
                        (a, b, d)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    drop(send);
    for (t, w) in workers.into_iter().enumerate() {
        let got = w.join().unwrap();
        for (s, (r, g)) in reference[t].iter().zip(&got).enumerate() {
            assert_eq!(r, g, "thread {t} step {s}");
        }
    }
    assert_eq!(dropper.join().unwrap(), THREADS * STEPS);
    // the shared node still backpropagates correctly after all that
    let c = Arc::try_unwrap(c).ok().unwrap();
    let p = Arc::try_unwrap(p).ok().unwrap();
    let g = c.sum().backward().get(&p).unwrap().to_vec();
    let expect: Vec<f64> = p.to_vec().iter().map(|v| v.exp() * (1.0 + v)).collect();
    assert!(
        g.iter().zip(&expect).all(|(a, b)| (a - b).abs() < 1e-12),
        "{g:?} vs {expect:?}"
    );
}
