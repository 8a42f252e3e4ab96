// A two-layer network generic over the tape of its parameters with only `T: Tape`: the
// input is a plain value, the hidden value has tape `T::Plain`, and parameters of tape
// `T` meet it on either side (`w2.matmul(&h)` style and `b2 + &...`). The same function
// serves inference on plain parameters and training on tracked ones.
use typegrad::prelude::*;

struct Mlp<T: Tape> {
    w1: Tensor<Rank2<4, 8>, f32, T>,
    b1: Tensor<Rank1<8>, f32, T>,
    w2: Tensor<Rank2<3, 8>, f32, T>,
    b2: Tensor<Rank1<3>, f32, T>,
}

impl<T: Tape> Mlp<T> {
    fn forward(&self, x: &Tensor<Rank1<4>, f32>) -> Tensor<Rank1<3>, f32, T::Plain> {
        let h = (x.matmul(&self.w1) + &self.b1).relu();
        &self.b2 + &self.w2.matmul(&h).tanh()
    }

    fn loss(
        &self,
        x: &Tensor<Rank1<4>, f32>,
        class: usize,
    ) -> Result<Tensor<Rank0, f32, T::Plain>, Error> {
        let logits = self.forward(x);
        Ok(logits.cross_entropy(class)? + self.w1.powf(2.0).sum() * 1e-4)
    }
}

fn main() -> Result<(), Error> {
    let mut rng = seeded_rng(1);
    let plain = Mlp::<NoGrad> {
        w1: Tensor::randn(&mut rng),
        b1: Tensor::zeros(),
        w2: Tensor::randn(&mut rng),
        b2: Tensor::zeros(),
    };
    let tracked = Mlp::<Tracked> {
        w1: plain.w1.track(),
        b1: plain.b1.track(),
        w2: plain.w2.track(),
        b2: plain.b2.track(),
    };
    let x = Tensor::from_array([1.0f32, 0.5, -0.5, 2.0]);
    let inference = plain.loss(&x, 2)?;
    let training = tracked.loss(&x, 2)?;
    assert_eq!(inference.item(), training.item());
    let grads = training.backward();
    assert!(grads.contains(&tracked.w1) && grads.contains(&tracked.b2));
    Ok(())
}
