//! `cast`: element conversion that keeps the tape (PyTorch's `x.to(dtype)`), through
//! every pass: backward (checked too), recorded backward, forward mode; graphs of both
//! element types referring to each other.

use typegrad::func;
use typegrad::prelude::*;

#[test]
fn gradients_flow_through_casts_both_ways_to_leaves_of_each_type() {
    let w32 = Tensor::from_array([0.5f32, -1.5, 2.0]).track();
    let v64 = Tensor::from_array([2.0f64, 3.0, -1.0]).track();
    let y = w32.cast::<f64>();
    assert_eq!(y.grad_fn().unwrap().name(), "ToCopyBackward0");
    let loss = (&y * &v64).sum() + (&y * &y).sum();
    let grads = loss.backward();
    // d/dw = v + 2w, converted to f32; d/dv = w.
    assert_eq!(grads.get(&w32).unwrap().to_vec(), vec![3.0f32, 0.0, 3.0]);
    assert_eq!(grads.get(&v64).unwrap().to_vec(), vec![0.5f64, -1.5, 2.0]);
    assert_eq!(grads.len(), 2);
    // f64 -> f32 -> f64: the identity's gradient, twice converted.
    let x = Tensor::from_array([0.1f64, 1e-3]).track();
    let round_trip = x.cast::<f32>().cast::<f64>() * 4.0;
    assert_eq!(
        round_trip.to_vec(),
        vec![f64::from(0.1f32) * 4.0, f64::from(1e-3f32) * 4.0]
    );
    assert_eq!(
        round_trip.sum().backward().get(&x).unwrap().to_vec(),
        vec![4.0, 4.0]
    );
    // Untracked values cast to untracked values.
    let plain: Tensor<Rank1<2>, f32> = Tensor::from_array([1.0f64, 2.0]).cast();
    assert!(!plain.requires_grad());
}

#[test]
fn graphs_of_both_types_that_refer_to_each_other_backpropagate_without_deadlock() {
    // a (f32 graph A) -> b (f64 graph B) -> c (a new f32 graph), and c + a merges that
    // graph into A: A holds a cast from B, whose cast is from A.
    let x = Tensor::from_array([1.0f32, 2.0]).track();
    let a = &x * 3.0;
    let b = a.cast::<f64>() * 2.0;
    let c = b.cast::<f32>();
    let d = (&c + &a).sum();
    let grads = d.backward();
    // d = 2·3x + 3x = 9x.
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![9.0, 9.0]);
    let checked = (&c * &a).sum().backward_checked().unwrap();
    // d/dx (6x · 3x) = 36x.
    assert_eq!(checked.get(&x).unwrap().to_vec(), vec![36.0, 72.0]);
}

#[test]
fn checked_backward_follows_a_cast_into_the_source_graph() {
    let w = Tensor::from_array([1.0f32, f32::NAN]).track();
    let err = w.cast::<f64>().sum().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteLeaf {
            node: 0,
            dims: &[2],
            index: 1
        }
    );
    // A finite f64 gradient that overflows f32 on the way back is named at the cast.
    let small = Tensor::from_array([1.0f32]).track();
    let big = small.cast::<f64>() * 1e300;
    let err = big.sum().backward_checked().unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteGradient {
                op: "ToCopyBackward0",
                ..
            }
        ),
        "{err}"
    );
    // Unchecked, the overflow is IEEE's: infinity.
    let small = Tensor::from_array([1.0f32]).track();
    let g = (small.cast::<f64>() * 1e300).sum().backward();
    assert_eq!(g.get(&small).unwrap().to_vec(), vec![f32::INFINITY]);
}

#[test]
fn second_derivatives_and_forward_mode_cross_casts() {
    // f(x) = Σ cast64(cast32(x))³: the casts are identities for the derivatives, so
    // f'' = 6 x32 (x rounded to f32) on the diagonal, itself rounded to f32 on its way
    // back through the inner cast.
    let f = |x: &Tensor<Rank1<2>, f64, Tracked>| x.cast::<f32>().cast::<f64>().powf(3.0).sum();
    let x = Tensor::from_array([0.3, -1.7]);
    let h = func::hessian(f, &x).unwrap();
    let expected = |v: f64| f64::from((6.0 * f64::from(v as f32)) as f32);
    assert_eq!(h.to_vec(), vec![expected(0.3), 0.0, 0.0, expected(-1.7)]);
    let g = |x: &Tensor<Rank1<2>, f64, Tracked>| x.cast::<f32>().exp().cast::<f64>();
    let (_, tangent) = func::jvp(g, &x, &Tensor::from_array([1.0, 2.0]));
    let expected = [f64::from((0.3f32).exp()), 2.0 * f64::from((-1.7f32).exp())];
    assert_eq!(tangent.to_vec(), expected.to_vec());
    let j_forward = func::jacobian_forward(g, &x);
    let j_reverse = func::jacobian_reverse(g, &x);
    assert_eq!(j_forward.to_vec(), j_reverse.to_vec());
    // Gradients of gradients through a cast, by hand: d/dx (d/dx x³) in f32 then f64.
    let t = Tensor::<Rank0, f32>::full(2.0).track();
    let dy = t
        .cast::<f64>()
        .powf(3.0)
        .backward_create_graph()
        .unwrap()
        .get(&t)
        .unwrap();
    assert_eq!(dy.item(), 12.0f32);
    assert_eq!(dy.backward().get(&t).unwrap().item(), 12.0f32);
}

#[test]
fn casts_carry_nan_and_round_out_of_range_values_to_infinity() {
    let x = Tensor::from_array([f64::NAN, 1e300, -1e300, 1.0]).track();
    let y = x.cast::<f32>();
    assert!(y.as_slice()[0].is_nan());
    assert_eq!(&y.as_slice()[1..], &[f32::INFINITY, f32::NEG_INFINITY, 1.0]);
    let g = y.cast::<f64>().sum().backward().get(&x).unwrap().to_vec();
    assert_eq!(g, vec![1.0; 4]);
}
