//! Training end to end: the optimizers drive a small network to a stated accuracy.

use typegrad::optim::{Param, Sgd};
use typegrad::prelude::*;

/// XOR with a 2-8-1 tanh network, SGD with momentum, BCE with logits: all four points
/// classified correctly after 500 full-batch steps.
#[test]
fn sgd_with_momentum_learns_xor() -> Result<(), typegrad::Error> {
    let x = Tensor::from_array([[0.0f64, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    let y = Tensor::from_array([[0.0f64], [1.0], [1.0], [0.0]]);
    let mut rng = seeded_rng(11);
    let mut w1 = Param::new(Tensor::<Rank2<2, 8>, f64>::randn(&mut rng));
    let mut b1 = Param::new(Tensor::<Rank1<8>, f64>::zeros());
    let mut w2 = Param::new(Tensor::<Rank2<8, 1>, f64>::randn(&mut rng) * 0.5);
    let mut b2 = Param::new(Tensor::<Rank1<1>, f64>::zeros());
    let sgd = Sgd::new(0.1)?.with_momentum(0.9)?;
    let mut first_loss = None;
    let mut last_loss = f64::INFINITY;
    for _ in 0..500 {
        let (w1t, b1t, w2t, b2t) = (w1.track(), b1.track(), w2.track(), b2.track());
        let logits = (x.matmul(&w1t) + &b1t).tanh().matmul(&w2t) + &b2t;
        let loss = logits.bce_with_logits(&y);
        last_loss = loss.item();
        first_loss.get_or_insert(last_loss);
        let grads = loss.backward();
        sgd.step(&mut w1, &grads);
        sgd.step(&mut b1, &grads);
        sgd.step(&mut w2, &grads);
        sgd.step(&mut b2, &grads);
    }
    assert!(last_loss < 0.05, "loss {last_loss} from {first_loss:?}");
    let logits = (x.matmul(w1.value()) + b1.value())
        .tanh()
        .matmul(w2.value())
        + b2.value();
    let predictions: Vec<f64> = logits
        .as_slice()
        .iter()
        .map(|&z| f64::from(u8::from(z > 0.0)))
        .collect();
    assert_eq!(predictions, y.to_vec());
    Ok(())
}
