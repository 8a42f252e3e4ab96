//! The functional transforms beside num-dual (dual numbers, the Rust reference for
//! derivatives with static sizes), on the same functions and points, f64:
//!
//! - the Jacobian of `y = tanh(A x) + x * x`, `A` a fixed 6 x 6 matrix;
//! - the Hessian of Rosenbrock's function in 10 variables.
//!
//! Both sides' results are checked against each other before timing.

// The shared settings and paired timing; not the sgemm baseline.
#[allow(dead_code)]
mod common;

use criterion::Criterion;
use nalgebra::{SMatrix, SVector};
use num_dual::{hessian, jacobian, Dual2SVec64, DualNum, DualSVec64};
use std::hint::black_box;
use typegrad::func;
use typegrad::prelude::*;

/// The fixed matrix `A`.
fn a_values() -> [[f64; 6]; 6] {
    let mut a = [[0.0; 6]; 6];
    for (i, row) in a.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (((i * 6 + j) * 7 % 11) as f64 - 5.0) / 4.0;
        }
    }
    a
}

const X6: [f64; 6] = [0.1, -0.4, 0.3, 0.8, -0.2, 0.5];

fn x10() -> [f64; 10] {
    core::array::from_fn(|i| 0.3 + 0.17 * i as f64 - 0.05 * (i * i) as f64 / 3.0)
}

/// Rosenbrock's function on typegrad tensors.
fn rosenbrock(x: &Tensor<Rank1<10>, f64, Tracked>) -> Tensor<Rank0, f64, Tracked> {
    let head: Tensor<Rank1<9>, f64, Tracked> = x.narrow::<0, 0, 9>();
    let tail: Tensor<Rank1<9>, f64, Tracked> = x.narrow::<0, 1, 9>();
    ((&tail - &head.powf(2.0)).powf(2.0) * 100.0 + (1.0 - &head).powf(2.0)).sum()
}

/// Rosenbrock's function on second-order dual numbers.
fn rosenbrock_dual(x: SVector<Dual2SVec64<10>, 10>) -> Dual2SVec64<10> {
    (0..9).fold(Dual2SVec64::<10>::from_re(0.0), |acc, i| {
        let valley = x[i + 1] - x[i] * x[i];
        let slope = Dual2SVec64::<10>::from_re(1.0) - x[i];
        acc + valley * valley * 100.0 + slope * slope
    })
}

fn bench(crit: &mut Criterion) {
    let a = Tensor::from_array(a_values());
    let a_dual: SMatrix<f64, 6, 6> = SMatrix::from_fn(|i, j| a_values()[i][j]);
    let x6 = Tensor::from_array(X6);
    let x6_dual = SVector::<f64, 6>::from(X6);
    let f = |x: &Tensor<Rank1<6>, f64, Tracked>| a.matmul(x).tanh() + x * x;
    let f_dual = |x: SVector<DualSVec64<6>, 6>| {
        { a_dual.map(DualSVec64::<6>::from_re) * x }.map(|v: DualSVec64<6>| v.tanh())
            + x.component_mul(&x)
    };

    let ours: Tensor<Rank2<6, 6>, f64> = func::jacobian(f, &x6);
    let (_, theirs) = jacobian(f_dual, &x6_dual);
    for i in 0..6 {
        for j in 0..6 {
            assert!((ours.as_slice()[i * 6 + j] - theirs[(i, j)]).abs() < 1e-14);
        }
    }
    let x10t = Tensor::from_array(x10());
    let x10_dual = SVector::<f64, 10>::from(x10());
    let ours = func::hessian(rosenbrock, &x10t).expect("built-in operations only");
    let (_, _, theirs) = hessian(rosenbrock_dual, &x10_dual);
    for i in 0..10 {
        for j in 0..10 {
            assert!((ours.as_slice()[i * 10 + j] - theirs[(i, j)]).abs() < 1e-10);
        }
    }

    let mut group = crit.benchmark_group("transforms");
    group.bench_function("jacobian_6x6_typegrad", |bench| {
        bench.iter(|| black_box(func::jacobian(f, black_box(&x6))))
    });
    group.bench_function("jacobian_6x6_num_dual", |bench| {
        bench.iter(|| black_box(jacobian(f_dual, black_box(&x6_dual))))
    });
    group.bench_function("hessian_rosenbrock10_typegrad", |bench| {
        bench.iter(|| black_box(func::hessian(rosenbrock, black_box(&x10t))))
    });
    group.bench_function("hessian_rosenbrock10_num_dual", |bench| {
        bench.iter(|| black_box(hessian(rosenbrock_dual, black_box(&x10_dual))))
    });
    group.finish();
    common::paired_ratio(
        "jacobian_6x6: typegrad / num_dual",
        200,
        2000,
        || {
            black_box(func::jacobian(f, black_box(&x6)));
        },
        || {
            black_box(jacobian(f_dual, black_box(&x6_dual)));
        },
    );
    common::paired_ratio(
        "hessian_rosenbrock10: typegrad / num_dual",
        100,
        200,
        || {
            let _ = black_box(func::hessian(rosenbrock, black_box(&x10t)));
        },
        || {
            black_box(hessian(rosenbrock_dual, black_box(&x10_dual)));
        },
    );
}

fn main() {
    let mut crit = common::criterion();
    bench(&mut crit);
    crit.final_summary();
}
