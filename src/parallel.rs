//! Data parallelism with a graph per thread: the work is cut into chunks, each chunk is
//! recorded and differentiated on one worker thread, and the results come back in chunk
//! order.
//!
//! A `Tracked` tensor belongs to the thread that recorded it (it is not `Send`), so
//! threads share parameters and values, never graphs. The chunks, not the threads, decide
//! the arithmetic: [`gradients`] adds the chunks' gradients in chunk order whatever the
//! number of threads, so a step gives the same bits on 1, 2 or 8 threads (one thread
//! processes the same chunks in sequence). Choose the chunk size for the work, not for
//! the machine.
//!
//! ```
//! use typegrad::optim::{Param, Sgd};
//! use typegrad::parallel;
//! use typegrad::prelude::*;
//! let mut w = Param::new(Tensor::from_array([0.5f64, -0.25]));
//! let data: Vec<(Tensor<Rank1<2>, f64>, f64)> = (0..8)
//!     .map(|i| (Tensor::from_array([i as f64, 1.0]), 2.0 * i as f64 - 1.0))
//!     .collect();
//! // Two samples per chunk; the loss of a chunk is the sum of its squared errors.
//! let chunks: Vec<_> = data.chunks(2).collect();
//! let loss = |chunk: &&[(Tensor<Rank1<2>, f64>, f64)]| {
//!     let wt = w.track();
//!     let errors = chunk.iter().map(|(x, y)| (x.dot(&wt) - *y).powf(2.0));
//!     errors.fold(Tensor::<Rank0, f64>::zeros().track(), |acc, e| acc + e)
//! };
//! let on_one = parallel::gradients(&chunks, 1, |c| loss(c).backward());
//! let on_two = parallel::gradients(&chunks, 2, |c| loss(c).backward());
//! assert_eq!(w.grad(&on_one).unwrap(), w.grad(&on_two).unwrap()); // the same bits
//! Sgd::new(0.01)?.step(&mut w, &on_two);
//! # Ok::<(), typegrad::Error>(())
//! ```

use crate::element::Element;
use crate::gradients::Gradients;
use alloc::vec::Vec;

/// `f` applied to every chunk, on `threads` worker threads (at least one), the results
/// in chunk order. Worker `w` takes chunks `w`, `w + threads`, `w + 2 threads`, ...; each
/// chunk's graph is recorded and dropped on the worker that took it.
///
/// A panic in `f` is raised again here once every worker has stopped.
pub fn map<C: Sync, R: Send>(chunks: &[C], threads: usize, f: impl Fn(&C) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, chunks.len().max(1));
    if threads == 1 {
        return chunks.iter().map(&f).collect();
    }
    let f = &f;
    let per_worker: Vec<Vec<R>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    chunks
                        .iter()
                        .skip(worker)
                        .step_by(threads)
                        .map(f)
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    });
    // Chunk k is result k / threads of worker k % threads: deal them back in order.
    let mut by_worker: Vec<_> = per_worker.into_iter().map(Vec::into_iter).collect();
    (0..chunks.len())
        .filter_map(|k| by_worker.get_mut(k % threads).and_then(Iterator::next))
        .collect()
}

/// The sum of `f`'s gradients over every chunk, computed on `threads` worker threads
/// and added in chunk order: the same bits for any number of threads.
///
/// `f` records one chunk's loss on the worker's own graph and returns its gradients
/// (`loss.backward()`); use [`crate::optim::Param`] for the parameters, whose every
/// tracked use on every thread adds into one gradient.
pub fn gradients<C: Sync, E: Element>(
    chunks: &[C],
    threads: usize,
    f: impl Fn(&C) -> Gradients<E> + Sync,
) -> Gradients<E> {
    let mut total = Gradients::new();
    for chunk_gradients in map(chunks, threads, f) {
        total.merge(chunk_gradients);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_chunk_order_for_any_number_of_threads() {
        let chunks: Vec<usize> = (0..11).collect();
        for threads in [0, 1, 2, 3, 8, 20] {
            assert_eq!(
                map(&chunks, threads, |k| k * 10),
                (0..11).map(|k| k * 10).collect::<Vec<_>>()
            );
        }
        assert!(map(&[] as &[usize], 4, |k| *k).is_empty());
    }
}
