//! Random programs mixing graph merges, same-type casts and captured nodes: gradients,
//! Jacobians and Hessians against finite differences, and bit for bit across runs,
//! threads and pool states.

use super::poisoned_pool::*;
use rand::{RngExt, SeedableRng};
use typegrad::func;
use typegrad::prelude::*;

type V = Rank1<3>;
type XT = Tensor<V, f64, Tracked>;

#[derive(Clone, Copy, Debug)]
enum Step {
    Add(usize, usize),
    Mul(usize, usize),
    Sin(usize),
    TanhMul(usize, usize),
    SameCast(usize),
    MatVec(usize),
    DotPlus(usize, usize, usize),
    Softmax(usize),
    Cumsum(usize),
    Captured(usize),
    Scale(usize),
    Sub(usize, usize),
    CastMix(usize, usize),
}

fn random_program(seed: u64, len: usize) -> Vec<Step> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut n = 3; // x, x.sin(), x * 2 (three graphs)
    (0..len)
        .map(|_| {
            let (a, b, c) = (
                rng.random_range(0..n),
                rng.random_range(0..n),
                rng.random_range(0..n),
            );
            let step = match rng.random_range(0..13) {
                0 => Step::Add(a, b),
                1 => Step::Mul(a, b),
                2 => Step::Sin(a),
                3 => Step::TanhMul(a, b),
                4 => Step::SameCast(a),
                5 => Step::MatVec(a),
                6 => Step::DotPlus(a, b, c),
                7 => Step::Softmax(a),
                8 => Step::Cumsum(a),
                9 => Step::Captured(a),
                10 => Step::Scale(a),
                11 => Step::Sub(a, b),
                _ => Step::CastMix(a, b),
            };
            n += 1;
            step
        })
        .collect()
}

fn run(program: &[Step], x: &XT, captured: &XT) -> Vec<XT> {
    let m = Tensor::<Rank2<3, 3>, f64>::from_array([
        [0.5, -0.2, 0.1],
        [0.3, 0.8, -0.4],
        [-0.6, 0.2, 0.7],
    ]);
    let mut vals = vec![x.clone(), x.sin(), x * 2.0];
    for step in program {
        let v = |i: usize| vals[i].clone();
        let next = match *step {
            Step::Add(a, b) => v(a) + v(b),
            Step::Mul(a, b) => (v(a) * v(b)).tanh(),
            Step::Sin(a) => v(a).sin(),
            Step::TanhMul(a, b) => v(a).tanh() * v(b),
            Step::SameCast(a) => v(a).cast::<f64>() * 0.7,
            Step::MatVec(a) => m.matmul(&v(a)).tanh(),
            Step::DotPlus(a, b, c) => v(a).dot(&v(b)).tanh() + v(c),
            Step::Softmax(a) => v(a).softmax::<0>(),
            Step::Cumsum(a) => v(a).cumsum::<0>() * 0.5,
            Step::Captured(a) => (captured * v(a)).sin(),
            Step::Scale(a) => v(a) * 1.5 - 0.2,
            Step::Sub(a, b) => v(a) - v(b) * 0.5,
            Step::CastMix(a, b) => (v(a).cast::<f32>().exp().cast::<f64>() * 0.0) + v(b).cos(),
        };
        vals.push(next);
    }
    vals
}

fn scalar(program: &[Step], x: &XT, captured: &XT) -> Tensor<Rank0, f64, Tracked> {
    let vals = run(program, x, captured);
    let last = vals.last().unwrap();
    let w = Tensor::<V, f64>::from_array([1.0, -0.5, 0.25]);
    (last * &w).sum() + vals[vals.len() / 2].sum() * 0.3
}

fn vector(program: &[Step], x: &XT, captured: &XT) -> XT {
    run(program, x, captured).pop().unwrap()
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
}

/// Everything for one program, as bits.
fn evaluate(program: &[Step], check_fd: bool) -> Vec<Vec<u64>> {
    let x = Tensor::<V, f64>::from_array([0.4, -0.3, 0.9]);
    let p = Tensor::<V, f64>::from_array([0.7, 1.1, -0.5]).track();
    let captured = p.exp() * 0.5; // a node of a graph built outside f
    let f = |x: &XT| scalar(program, x, &captured);
    let fv = |x: &XT| vector(program, x, &captured);
    let g = func::grad(f, &x);
    let xt = x.track();
    let loss = f(&xt);
    let grads = loss.backward();
    let gb = grads.get(&xt).unwrap_or_else(Tensor::zeros);
    let gp = grads.get(&p).unwrap_or_else(Tensor::zeros);
    let jf: Tensor<Rank2<3, 3>, f64> = func::jacobian_forward(fv, &x);
    let jr: Tensor<Rank2<3, 3>, f64> = func::jacobian_reverse(fv, &x);
    let h: Tensor<Rank2<3, 3>, f64> = func::hessian(f, &x).unwrap();
    if check_fd {
        let eps = 1e-6;
        let (mut fdg, mut fdj, mut fdh) = (vec![0.0; 3], vec![0.0; 9], vec![0.0; 9]);
        for j in 0..3 {
            let (mut xp, mut xm) = (x.to_vec(), x.to_vec());
            xp[j] += eps;
            xm[j] -= eps;
            let (xp, xm) = (
                Tensor::<V, f64>::from_vec(xp).unwrap(),
                Tensor::<V, f64>::from_vec(xm).unwrap(),
            );
            fdg[j] = (f(&xp.track()).item() - f(&xm.track()).item()) / (2.0 * eps);
            let (vp, vm) = (fv(&xp.track()).to_vec(), fv(&xm.track()).to_vec());
            let (gp_, gm_) = (func::grad(f, &xp).to_vec(), func::grad(f, &xm).to_vec());
            for i in 0..3 {
                fdj[i * 3 + j] = (vp[i] - vm[i]) / (2.0 * eps);
                fdh[i * 3 + j] = (gp_[i] - gm_[i]) / (2.0 * eps);
            }
        }
        assert!(
            close(&g.to_vec(), &fdg, 1e-5),
            "grad {:?} vs fd {fdg:?} for {program:?}",
            g.to_vec()
        );
        assert!(
            close(&gb.to_vec(), &fdg, 1e-5),
            "backward {:?} vs fd {fdg:?}",
            gb.to_vec()
        );
        assert!(
            close(&jf.to_vec(), &fdj, 1e-5),
            "jacfwd {:?} vs fd {fdj:?} for {program:?}",
            jf.to_vec()
        );
        assert!(
            close(&jr.to_vec(), &fdj, 1e-5),
            "jacrev {:?} vs fd {fdj:?} for {program:?}",
            jr.to_vec()
        );
        assert!(
            close(&h.to_vec(), &fdh, 1e-4),
            "hessian {:?} vs fd {fdh:?} for {program:?}",
            h.to_vec()
        );
    }
    vec![
        bits64(g.as_slice()),
        bits64(gb.as_slice()),
        bits64(gp.as_slice()),
        bits64(jf.as_slice()),
        bits64(jr.as_slice()),
        bits64(h.as_slice()),
    ]
}

#[test]
fn random_programs_agree_with_finite_differences_and_themselves() {
    for seed in 0..60u64 {
        let program = random_program(seed, 4 + (seed as usize % 9));
        let reference = evaluate(&program, true);
        let again = evaluate(&program, false);
        assert_eq!(reference, again, "second run differs for {program:?}");
        let p2 = program.clone();
        let poisoned = std::thread::spawn(move || {
            poison(f64::NAN, 4);
            evaluate(&p2, false)
        })
        .join()
        .unwrap();
        assert_eq!(reference, poisoned, "poisoned pool differs for {program:?}");
    }
}

#[test]
fn one_program_repeated_gives_one_answer() {
    let program = [
        Step::TanhMul(0, 0),
        Step::Sin(0),
        Step::SameCast(0),
        Step::Cumsum(4),
    ];
    let x = Tensor::<V, f64>::from_array([0.4, -0.3, 0.9]);
    let p = Tensor::<V, f64>::from_array([0.7, 1.1, -0.5]).track();
    let captured = p.exp() * 0.5;
    let mut seen = std::collections::BTreeSet::new();
    let mut keep = Vec::new();
    for round in 0..100 {
        let xt = x.track();
        let g = scalar(&program, &xt, &captured)
            .backward()
            .get(&xt)
            .unwrap();
        seen.insert(bits64(g.as_slice()));
        if round % 10 == 5 {
            // other work in between, as the first evaluate's finite differences do
            let _ = evaluate(&program, false);
        }
        keep.push(x.track().sin());
        if keep.len() > 5 {
            keep.remove(round % 3);
        }
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
}
