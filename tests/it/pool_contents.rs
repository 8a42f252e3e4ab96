//! Every result is the same, bit for bit, whatever the buffer pool holds: pools filled
//! with NaN, infinities, -0.0 and huge values before a broad workload must not show
//! through (a reused buffer that an operation did not overwrite in full would).

use super::poisoned_pool::*;
use typegrad::custom::{Custom, CustomOp};
use typegrad::func;
use typegrad::optim::{Adam, Param, Sgd};
use typegrad::prelude::*;

type V3 = Rank1<3>;

struct Cube;
impl CustomOp<f64> for Cube {
    type Input = V3;
    type Output = V3;
    fn name(&self) -> &'static str {
        "CubeBackward"
    }
    fn forward(&self, x: &Tensor<V3, f64>) -> Tensor<V3, f64> {
        x * x * x
    }
    fn vjp(
        &self,
        x: &Tensor<V3, f64>,
        _: &Tensor<V3, f64>,
        g: &Tensor<V3, f64>,
    ) -> Tensor<V3, f64> {
        g * &(x * x * 3.0)
    }
    fn vjp_recorded(
        &self,
        x: &Tensor<V3, f64, Tracked>,
        _: &Tensor<V3, f64, Tracked>,
        g: &Tensor<V3, f64, Tracked>,
    ) -> Option<Tensor<V3, f64, Tracked>> {
        Some(g * &(x * x * 3.0))
    }
}

/// A broad deterministic workload: forward values, gradients, transforms.
pub fn workload() -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    let mut rng = seeded_rng(7);
    let a = Tensor::<Rank2<4, 5>, f64>::randn(&mut rng);
    let b = Tensor::<Rank2<5, 3>, f64>::randn(&mut rng);
    let v = Tensor::<Rank1<5>, f64>::randn(&mut rng);
    let big_a = Tensor::<Rank2<24, 20>, f64>::randn(&mut rng);
    let big_b = Tensor::<Rank2<20, 24>, f64>::randn(&mut rng);
    let r3 = Tensor::<Rank3<2, 3, 4>, f64>::randn(&mut rng);

    // forward + backward through many ops, tracked
    let at = a.track();
    let bt = b.track();
    let vt = v.track();
    let h = at.matmul(&bt).tanh(); // 4x3
    let s = h.softmax::<1>();
    let ls = h.log_softmax::<0>();
    let cs = h.cumsum::<1>();
    let mx = h.max_axis::<1>();
    let sa = at.sum_axis::<0>(); // 5
    let bc = &at + &vt; // broadcast 4x5 + 5
    let mm = at.matmul(&vt); // 4
    let tr = at.t(); // 5x4
    let nr = at.narrow::<1, 1, 3>(); // 4x3
    let cc = nr.concat::<1, _, Rank2<4, 6>, _>(&h);
    let trl = h.tril(0);
    let sel = at.select::<0>(2).unwrap();
    let maxi = at.maximum(&(&at * 0.5 + 0.1));
    let lse = at.logsumexp::<1>();
    let va = at.var_axis::<0>(true);
    let ce = h.cross_entropy(&[0, 1, 2, 0]).unwrap();
    let mse = h.mse(&Tensor::<Rank2<4, 3>, f64>::full(0.3));
    let bce = h.bce_with_logits(&Tensor::<Rank2<4, 3>, f64>::full(0.7));
    let mask = at.gt(0.0);
    let w = where_(&mask, &at, &(&at * -2.0));
    let g = at
        .gather::<1, _>(&Indices::<Rank2<4, 2>>::from_fn(|i| (i * 3) % 5))
        .unwrap();
    let cast = at.cast::<f32>().exp().cast::<f64>();
    let custom = Custom::new(Cube).apply(&vt.narrow::<0, 0, 3>());
    let loss = s.sum()
        + ls.mean()
        + cs.sum() * 0.1
        + mx.sum()
        + sa.norm()
        + bc.sin().sum()
        + mm.exp().sum()
        + tr.sigmoid().sum()
        + cc.relu().sum()
        + trl.sum()
        + sel.abs().sum()
        + maxi.sum()
        + lse.sum()
        + va.sum()
        + ce
        + mse
        + bce
        + w.sum()
        + g.softplus().sum()
        + cast.sum() * 0.01
        + custom.sum();
    out.push(bits64(loss.as_slice()));
    out.push(bits64(s.as_slice()));
    out.push(bits64(ls.as_slice()));
    out.push(bits64(cc.as_slice()));
    out.push(bits64(g.as_slice()));
    let grads = loss.backward();
    out.push(bits64(&grads.get(&at).unwrap().to_vec()));
    out.push(bits64(&grads.get(&bt).unwrap().to_vec()));
    out.push(bits64(&grads.get(&vt).unwrap().to_vec()));

    // large products (matrixmultiply path, reuse of pooled buffers with beta = 0)
    let bat = big_a.track();
    let bbt = big_b.track();
    let p = bat.matmul(&bbt); // 24x24, 11520 madds
    let q = p.matmul(&bat); // 24x20
    out.push(bits64(p.as_slice()));
    let l2 = q.sin().sum();
    let g2 = l2.backward();
    out.push(bits64(&g2.get(&bat).unwrap().to_vec()));
    out.push(bits64(&g2.get(&bbt).unwrap().to_vec()));

    // rank 3 ops
    let r3t = r3.track();
    let pm = r3t.permute::<2, 0, 1>();
    let sm = pm.softmax::<2>();
    let l3 = (sm * &pm).sum() + r3t.std(true);
    out.push(bits64(l3.as_slice()));
    out.push(bits64(&l3.backward().get(&r3t).unwrap().to_vec()));

    // transforms
    let f = |x: &Tensor<Rank1<5>, f64, Tracked>| {
        let y = x * x;
        (&y * x).sin() + x.exp() * &y.sum() + a.matmul(x).sum()
    };
    out.push(bits64(func::jacobian_forward(f, &v).as_slice()));
    out.push(bits64(func::jacobian_reverse(f, &v).as_slice()));
    let fs = |x: &Tensor<Rank1<5>, f64, Tracked>| {
        (x * x * x).sum() + x.exp().dot(x) + a.matmul(x).tanh().sum()
    };
    out.push(bits64(func::hessian(fs, &v).unwrap().as_slice()));
    out.push(bits64(func::grad(fs, &v).as_slice()));
    let (y, jv) = func::jvp(f, &v, &Tensor::from_fn(|i| i as f64 - 1.5));
    out.push(bits64(y.as_slice()));
    out.push(bits64(jv.as_slice()));
    let (_, uj) = func::vjp(f, &v, &Tensor::from_fn(|i| 0.5 + i as f64));
    out.push(bits64(uj.as_slice()));
    // transforms on f32 with casts to f64 inside
    let v32 = Tensor::<Rank1<5>, f32>::from_fn(|i| 0.3 * i as f32 - 0.4);
    let f32f = |x: &Tensor<Rank1<5>, f32, Tracked>| (x.cast::<f64>().exp() * 2.0).cast::<f32>() * x;
    out.push(bits32(func::jacobian_forward(f32f, &v32).as_slice()));
    out.push(bits32(func::jacobian_reverse(f32f, &v32).as_slice()));
    let h32 = |x: &Tensor<Rank1<5>, f32, Tracked>| {
        (x.cast::<f64>().sin() * x.cast::<f64>())
            .sum()
            .cast::<f32>()
    };
    out.push(bits32(func::hessian(h32, &v32).unwrap().as_slice()));

    // create_graph twice
    let x0 = Tensor::<Rank1<3>, f64>::from_array([0.3, -0.7, 1.1]).track();
    let y0 = (x0.exp() * &x0).sum();
    let d1 = y0.backward_create_graph().unwrap().get(&x0).unwrap();
    let d2 = d1.sum().backward_create_graph().unwrap().get(&x0).unwrap();
    out.push(bits64(d1.as_slice()));
    out.push(bits64(d2.as_slice()));
    out.push(bits64(&d2.sum().backward().get(&x0).unwrap().to_vec()));

    // optimisers over several steps
    let mut p1 = Param::new(Tensor::<Rank2<4, 5>, f64>::randn(&mut rng));
    let mut p2 = Param::new(Tensor::<Rank2<4, 5>, f64>::randn(&mut rng));
    let sgd = Sgd::new(0.1).unwrap().with_momentum(0.9).unwrap();
    let adam = Adam::new(0.01).unwrap();
    let mut gs = Gradients::new();
    for _ in 0..5 {
        gs.clear();
        let l = (p1.track().matmul(&b).tanh().sum() + (p2.track() * &p1.track()).sum()).powf(2.0);
        l.backward_into(&mut gs);
        sgd.step(&mut p1, &gs);
        adam.step(&mut p2, &gs);
    }
    out.push(bits64(p1.value().as_slice()));
    out.push(bits64(p2.value().as_slice()));
    out
}

fn on_fresh_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::spawn(f).join().expect("no panic")
}

#[test]
fn results_do_not_depend_on_what_the_pool_holds() {
    let reference = on_fresh_thread(workload);
    for value in [f64::NAN, 1e300, -0.0, f64::INFINITY] {
        let poisoned = on_fresh_thread(move || {
            poison(value, 8);
            workload()
        });
        for (k, (r, p)) in reference.iter().zip(&poisoned).enumerate() {
            assert_eq!(r, p, "result {k} differs with the pool poisoned by {value}");
        }
    }
    // steady state: the same workload again and again on one thread
    let repeated = on_fresh_thread(|| {
        let mut runs = Vec::new();
        for _ in 0..4 {
            runs.push(workload());
        }
        runs
    });
    for run in repeated {
        assert_eq!(run, reference);
    }
}
