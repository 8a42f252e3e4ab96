//! Models saved mid-training and loaded into a fresh model resume bit for bit: values and
//! optimizer state round-trip exactly through a safetensors file, for f32 and f64, Adam
//! and SGD with momentum.

use typegrad::model::{Model, Optimizer, ParamTape, Visitor};
use typegrad::optim::{Adam, Param, Sgd};
use typegrad::prelude::*;

const BATCH: usize = 16;

/// `x W + b`.
struct Linear<const I: usize, const O: usize, E: Element> {
    weight: Param<Rank2<I, O>, E>,
    bias: Param<Rank1<O>, E>,
}

impl<const I: usize, const O: usize, E: Element> Model<E> for Linear<I, O, E> {
    fn visit<V: Visitor<E>>(&mut self, v: &mut V) {
        v.param("weight", &mut self.weight);
        v.param("bias", &mut self.bias);
    }
}

impl<const I: usize, const O: usize, E: Element> Linear<I, O, E> {
    fn new(rng: &mut SeededRng) -> Self {
        Linear {
            weight: Param::new(Tensor::randn(rng) * E::from_f64(0.5)),
            bias: Param::new(Tensor::randn(rng) * E::from_f64(0.1)),
        }
    }

    fn forward<T: ParamTape>(
        &self,
        x: &Tensor<Rank2<BATCH, I>, E, impl Tape + Merge<T, Output = T>>,
    ) -> Tensor<Rank2<BATCH, O>, E, T> {
        x.matmul(&self.weight.tensor::<T>()) + self.bias.tensor::<T>()
    }
}

/// 3-8-8-2 with tanh: layers nested, the hidden ones in an array.
struct Net<E: Element> {
    input: Linear<3, 8, E>,
    hidden: [Linear<8, 8, E>; 1],
    output: Linear<8, 2, E>,
}

impl<E: Element> Model<E> for Net<E> {
    fn visit<V: Visitor<E>>(&mut self, v: &mut V) {
        v.model("input", &mut self.input);
        v.model("hidden", &mut self.hidden);
        v.model("output", &mut self.output);
    }
}

impl<E: Element> Net<E> {
    fn new(seed: u64) -> Self {
        let mut rng = seeded_rng(seed);
        Net {
            input: Linear::new(&mut rng),
            hidden: [Linear::new(&mut rng)],
            output: Linear::new(&mut rng),
        }
    }

    fn loss<T: ParamTape>(
        &self,
        x: &Tensor<Rank2<BATCH, 3>, E>,
        y: &Tensor<Rank2<BATCH, 2>, E>,
    ) -> Tensor<Rank0, E, T> {
        let h = self.input.forward::<T>(x).tanh();
        let h = self.hidden[0].forward::<T>(&h).tanh();
        self.output.forward::<T>(&h).mse(y)
    }
}

/// A batch of a smooth target: y = (sin(x₀ + x₁), x₂ x₀).
fn data<E: Element>() -> (Tensor<Rank2<BATCH, 3>, E>, Tensor<Rank2<BATCH, 2>, E>) {
    let x = Tensor::<Rank2<BATCH, 3>, E>::randn(&mut seeded_rng(99));
    let v = x.as_slice();
    let y = Tensor::from_fn(|k| {
        let row = &v[(k / 2) * 3..(k / 2) * 3 + 3];
        if k % 2 == 0 {
            (row[0] + row[1]).sin()
        } else {
            row[2] * row[0]
        }
    });
    (x, y)
}

fn train<E: Element, O: Optimizer<E>>(net: &mut Net<E>, optimizer: &O, steps: usize) {
    let (x, y) = data::<E>();
    for _ in 0..steps {
        let grads = net.loss::<Tracked>(&x, &y).backward();
        optimizer.step_model(net, &grads);
    }
}

/// Everything a model holds (values and optimizer state) as the bytes of its file.
fn contents<E: Element>(net: &mut Net<E>) -> Result<Vec<u8>, Error> {
    net.to_weights()?.to_bytes()
}

/// Trains 2k steps in one run, and k steps, a save to a file, a load into a model
/// initialised otherwise and k more: the two must agree in every bit of every value and
/// every optimizer state.
fn resumes_exactly<E: Element, O: Optimizer<E>>(
    optimizer: &O,
    k: usize,
    tag: &str,
) -> Result<(), Error> {
    let mut uninterrupted = Net::<E>::new(1);
    train(&mut uninterrupted, optimizer, 2 * k);

    let mut first = Net::<E>::new(1);
    train(&mut first, optimizer, k);
    let path = std::env::temp_dir().join(format!(
        "typegrad-it-models-{tag}-{}.safetensors",
        std::process::id()
    ));
    first.save(&path)?;
    let mut resumed = Net::<E>::new(2);
    let loaded = resumed.load(&path);
    std::fs::remove_file(&path).ok();
    loaded?;
    train(&mut resumed, optimizer, k);

    assert_eq!(
        contents(&mut resumed)?,
        contents(&mut uninterrupted)?,
        "{tag}"
    );

    // Without the optimizer state the run differs: the test above has teeth.
    let mut values_only = Net::<E>::new(2);
    values_only.load_weights(&first.values_to_weights()?)?;
    train(&mut values_only, optimizer, k);
    assert_ne!(
        values_only.values_to_weights()?.to_bytes()?,
        uninterrupted.values_to_weights()?.to_bytes()?,
        "{tag}"
    );
    Ok(())
}

#[test]
fn adam_resumes_bit_for_bit_f32_and_f64() -> Result<(), Error> {
    resumes_exactly::<f32, _>(&Adam::new(0.01)?, 7, "adam-f32")?;
    resumes_exactly::<f64, _>(&Adam::new(0.01)?.with_weight_decay(1e-3)?, 7, "adam-f64")
}

#[test]
fn sgd_with_momentum_resumes_bit_for_bit() -> Result<(), Error> {
    resumes_exactly::<f32, _>(&Sgd::new(0.05)?.with_momentum(0.9)?, 5, "sgd-f32")?;
    resumes_exactly::<f64, _>(
        &Sgd::new(0.05)?
            .with_momentum(0.5)?
            .with_weight_decay(1e-2)?,
        5,
        "sgd-f64",
    )
}

#[test]
fn the_saved_names_are_the_field_paths() -> Result<(), Error> {
    let mut net = Net::<f32>::new(0);
    train(&mut net, &Adam::new(0.01)?, 1);
    let weights = net.to_weights()?;
    let values: Vec<&str> = weights.names().filter(|n| !n.contains(".adam.")).collect();
    assert_eq!(
        values,
        [
            "hidden.0.bias",
            "hidden.0.weight",
            "input.bias",
            "input.weight",
            "output.bias",
            "output.weight"
        ]
    );
    assert_eq!(weights.len(), 6 * 4);
    assert_eq!(weights.dims("hidden.0.weight.adam.v"), Some(&[8, 8][..]));
    let steps: Tensor<Rank0, f64> = weights.get("output.bias.adam.step")?;
    assert_eq!(steps.item(), 1.0);
    Ok(())
}

#[test]
fn loading_another_models_file_names_the_first_difference() -> Result<(), Error> {
    /// The same layers, the output two wide in a model of its own.
    struct Smaller {
        input: Linear<3, 8, f32>,
    }
    impl Model<f32> for Smaller {
        fn visit<V: Visitor<f32>>(&mut self, v: &mut V) {
            v.model("input", &mut self.input);
        }
    }
    let mut small = Smaller {
        input: Linear::new(&mut seeded_rng(3)),
    };
    let mut net = Net::<f32>::new(0);
    // The larger file into the smaller model: tensors nobody reads.
    let error = small.load_weights(&net.to_weights()?).unwrap_err();
    assert!(
        matches!(&error, Error::UnexpectedWeight { name } if name == "hidden.0.bias"),
        "{error}"
    );
    // The smaller file into the larger model: a missing parameter.
    let error = net.load_weights(&small.to_weights()?).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no tensor named `hidden.0.weight` among the 2 stored"
    );
    Ok(())
}
