//! The loop that callgrind counts for the linear-algebra benchmark (benches/linalg.rs):
//! `linalg_count <variant> <n> <iterations>` runs one variant that many times.
//! Instructions per call are the difference of two runs (`2k` and `k` iterations)
//! divided by `k`, which removes start-up; unlike times, they do not depend on the
//! machine's load:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/linalg_count forward 6 2000
//! ```
//!
//! Variants: `forward` (`Cholesky::new` + `solve` on a tracked matrix), `op`
//! (`cholesky` + `cholesky_solve`), `backward` (`forward`, then the gradient of
//! `sum(x)`), `raw` (nalgebra's `Cholesky::new` + `solve`).

use nalgebra::{SMatrix, SVector};
use std::hint::black_box;
use typegrad::linalg::Cholesky;
use typegrad::prelude::*;

fn spd<const N: usize>() -> [[f64; N]; N] {
    let b: Vec<f64> = (0..N * N)
        .map(|i| ((i as f64 + 1.0) * 0.618_034 + 0.3).sin() * 0.9 + 0.05)
        .collect();
    core::array::from_fn(|i| {
        core::array::from_fn(|j| {
            let dot: f64 = (0..N).map(|k| b[i * N + k] * b[j * N + k]).sum();
            dot + if i == j { N as f64 } else { 0.0 }
        })
    })
}

fn run<const N: usize>(variant: &str, iterations: usize) {
    let b = Tensor::<Rank1<N>, f64>::from_fn(|i| (i as f64 * 0.37).sin());
    let values = spd::<N>();
    let a = Tensor::<Rank2<N, N>, f64>::from_array(values);
    let raw: SMatrix<f64, N, N> = SMatrix::from_fn(|i, j| values[i][j]);
    let raw_b: SVector<f64, N> = SVector::from_fn(|i, _| (i as f64 * 0.37).sin());
    let mut grads = Gradients::new();
    for _ in 0..iterations {
        match variant {
            "forward" => {
                let a = black_box(&a).track();
                let x = Cholesky::new(&a).and_then(|c| c.solve(black_box(&b)));
                drop(black_box(x));
            }
            "op" => {
                let a = black_box(&a).track();
                let x = a.cholesky().and_then(|l| l.cholesky_solve(black_box(&b)));
                drop(black_box(x));
            }
            "backward" => {
                let a = black_box(&a).track();
                if let Ok(x) = Cholesky::new(&a).and_then(|c| c.solve(black_box(&b))) {
                    grads.clear();
                    x.sum().backward_into(&mut grads);
                }
            }
            "raw" => {
                let x = black_box(raw)
                    .cholesky()
                    .map(|c| c.solve(black_box(&raw_b)));
                black_box(x);
            }
            other => panic!("unknown variant {other}"),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (variant, n, iterations) = match args.as_slice() {
        [_, v, n, k] => (v.as_str(), n.as_str(), k.parse().unwrap_or(1000)),
        _ => panic!("usage: linalg_count <forward|op|backward|raw> <6|64> <iterations>"),
    };
    match n {
        "6" => run::<6>(variant, iterations),
        "64" => run::<64>(variant, iterations),
        other => panic!("n = {other}: 6 or 64"),
    }
}
