//! Custom rules that run other passes (backward, jacobian, hessian) on the same thread
//! in the middle of a pass: the same answers as the built-in operations.

use typegrad::custom::{Custom, CustomOp};
use typegrad::func;
use typegrad::prelude::*;

type V3 = Rank1<3>;

/// sin, whose every rule runs a full transform of another function first.
struct NoisySin;

fn side_work() -> f64 {
    let y = Tensor::<Rank1<5>, f64>::from_fn(|i| 0.1 * i as f64 + 0.2);
    let j: Tensor<Rank2<5, 5>, f64> = func::jacobian(|z| z.exp() * z, &y);
    let h: Tensor<Rank2<5, 5>, f64> = func::hessian(|z| (z * z * z).sum(), &y).unwrap();
    let yt = y.track();
    let g = (yt.sin() * &yt).sum().backward().get(&yt).unwrap();
    j.sum().item() + h.sum().item() + g.sum().item()
}

impl CustomOp<f64> for NoisySin {
    type Input = V3;
    type Output = V3;
    fn name(&self) -> &'static str {
        "NoisySinBackward"
    }
    fn forward(&self, x: &Tensor<V3, f64>) -> Tensor<V3, f64> {
        let _ = side_work();
        x.sin()
    }
    fn vjp(
        &self,
        x: &Tensor<V3, f64>,
        _: &Tensor<V3, f64>,
        g: &Tensor<V3, f64>,
    ) -> Tensor<V3, f64> {
        let _ = side_work();
        g * &x.cos()
    }
    fn vjp_recorded(
        &self,
        x: &Tensor<V3, f64, Tracked>,
        _: &Tensor<V3, f64, Tracked>,
        g: &Tensor<V3, f64, Tracked>,
    ) -> Option<Tensor<V3, f64, Tracked>> {
        let _ = side_work();
        Some(g * &x.cos())
    }
    fn jvp(
        &self,
        x: &Tensor<V3, f64>,
        _: &Tensor<V3, f64>,
        t: &Tensor<V3, f64>,
    ) -> Option<Tensor<V3, f64>> {
        let _ = side_work();
        Some(t * &x.cos())
    }
}

#[test]
fn rules_that_run_passes_inside_give_the_plain_answers() {
    let x = Tensor::<V3, f64>::from_array([0.3, -1.2, 2.0]);
    let op = Custom::new(NoisySin);
    let f_custom =
        |x: &Tensor<V3, f64, Tracked>| (op.apply(x) * x * x).sum() + op.apply(&(x * 2.0)).sum();
    let f_plain = |x: &Tensor<V3, f64, Tracked>| (x.sin() * x * x).sum() + (x * 2.0).sin().sum();
    for _ in 0..3 {
        assert_eq!(
            func::grad(f_custom, &x).to_vec(),
            func::grad(f_plain, &x).to_vec()
        );
        let hc = func::hessian(f_custom, &x).unwrap().to_vec();
        let hp = func::hessian(f_plain, &x).unwrap().to_vec();
        assert!(
            hc.iter().zip(&hp).all(|(a, b)| (a - b).abs() < 1e-12),
            "{hc:?} vs {hp:?}"
        );
        let vf = |x: &Tensor<V3, f64, Tracked>| op.apply(x) * x;
        let vp = |x: &Tensor<V3, f64, Tracked>| x.sin() * x;
        let (jf, jp): (Tensor<Rank2<3, 3>, f64>, Tensor<Rank2<3, 3>, f64>) = (
            func::jacobian_forward(vf, &x),
            func::jacobian_forward(vp, &x),
        );
        assert_eq!(jf.to_vec(), jp.to_vec());
        let (jr, jq): (Tensor<Rank2<3, 3>, f64>, Tensor<Rank2<3, 3>, f64>) = (
            func::jacobian_reverse(vf, &x),
            func::jacobian_reverse(vp, &x),
        );
        assert_eq!(jr.to_vec(), jq.to_vec());
    }
}

#[test]
fn a_same_type_cast_merged_back_into_its_source_graph() {
    let x = Tensor::<V3, f64>::from_array([0.3, -1.2, 2.0]);
    let f = |x: &Tensor<V3, f64, Tracked>| {
        let h = x.sin() * x; // graph G
        (h.cast::<f64>().exp() + &h * &h).sum() // the cast's graph merged back into G
    };
    let g = func::grad(f, &x).to_vec();
    let expect: Vec<f64> = x
        .to_vec()
        .iter()
        .map(|&v| {
            let h = v.sin() * v;
            let dh = v.cos() * v + v.sin();
            (h.exp() + 2.0 * h) * dh
        })
        .collect();
    assert!(
        g.iter().zip(&expect).all(|(a, b)| (a - b).abs() < 1e-12),
        "{g:?} vs {expect:?}"
    );
    let jf: Tensor<Rank1<3>, f64> = func::jacobian_forward(|x| f(x), &x);
    assert!(jf
        .to_vec()
        .iter()
        .zip(&expect)
        .all(|(a, b)| (a - b).abs() < 1e-12));
    let h = func::hessian(f, &x).unwrap();
    let _ = h;
}
