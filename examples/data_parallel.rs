//! Data parallelism with a graph per thread: the 2-32-32-2 ring classifier of
//! `examples/mlp.rs`, its batch cut into 8 chunks of 32 points, each chunk recorded and
//! differentiated on a worker thread (`typegrad::parallel::gradients`), the chunks'
//! gradients added in chunk order. Trained once on one thread and once on two, the
//! weights come out identical bit for bit (asserted), because the chunks, not the
//! threads, decide the arithmetic.
//!
//! `cargo run --release --example data_parallel`

use typegrad::model::{Model, Visitor};
use typegrad::optim::{Adam, Param};
use typegrad::parallel;
use typegrad::prelude::*;

const CHUNK: usize = 32;
const CHUNKS: usize = 8;
const STEPS: usize = 150;

/// One chunk of points on two noisy rings (class 0 at radius 1, class 1 at radius 2)
/// and their classes.
struct Chunk {
    points: Tensor<Rank2<CHUNK, 2>, f32>,
    classes: [usize; CHUNK],
}

fn ring_chunk(rng: &mut SeededRng) -> Chunk {
    let noise = Tensor::<Rank2<CHUNK, 2>, f32>::randn(rng);
    let angles = Tensor::<Rank1<CHUNK>, f32>::rand(rng);
    let classes = core::array::from_fn(|row| row % 2);
    let points = Tensor::from_fn(|i| {
        let (row, coordinate) = (i / 2, i % 2);
        let radius = 1.0 + (row % 2) as f32;
        let angle = angles.as_slice()[row] * std::f32::consts::TAU;
        let on_ring = if coordinate == 0 {
            angle.cos()
        } else {
            angle.sin()
        };
        radius * on_ring + 0.1 * noise.as_slice()[i]
    });
    Chunk { points, classes }
}

/// The model's parameters: `Send + Sync`, shared by reference with the workers, each of
/// which tracks them on its own graph.
struct Mlp {
    w1: Param<Rank2<2, 32>, f32>,
    b1: Param<Rank1<32>, f32>,
    w2: Param<Rank2<32, 32>, f32>,
    b2: Param<Rank1<32>, f32>,
    w3: Param<Rank2<32, 2>, f32>,
    b3: Param<Rank1<2>, f32>,
}

impl Mlp {
    fn new(rng: &mut SeededRng) -> Self {
        Mlp {
            w1: Param::new(Tensor::randn(rng) * 1.0),
            b1: Param::new(Tensor::zeros()),
            w2: Param::new(Tensor::randn(rng) * 0.25),
            b2: Param::new(Tensor::zeros()),
            w3: Param::new(Tensor::randn(rng) * 0.25),
            b3: Param::new(Tensor::zeros()),
        }
    }

    /// One chunk's share of the batch's mean cross-entropy, recorded on the calling
    /// thread's graph.
    fn chunk_loss(&self, chunk: &Chunk) -> Result<Tensor<Rank0, f32, Tracked>, typegrad::Error> {
        let h1 = (chunk.points.matmul(&self.w1.track()) + &self.b1.track()).relu();
        let h2 = (h1.matmul(&self.w2.track()) + &self.b2.track()).relu();
        let logits = h2.matmul(&self.w3.track()) + &self.b3.track();
        Ok(logits.cross_entropy(&chunk.classes)? * (1.0 / CHUNKS as f32))
    }

    /// Every weight's bits, to compare two trainings exactly.
    fn bits(&self) -> Vec<u32> {
        [
            self.w1.value().as_slice(),
            self.b1.value().as_slice(),
            self.w2.value().as_slice(),
            self.b2.value().as_slice(),
            self.w3.value().as_slice(),
            self.b3.value().as_slice(),
        ]
        .concat()
        .iter()
        .map(|v| v.to_bits())
        .collect()
    }

    fn accuracy(&self, chunks: &[Chunk]) -> f32 {
        let mut correct = 0;
        for chunk in chunks {
            let h1 = (chunk.points.matmul(self.w1.value()) + self.b1.value()).relu();
            let h2 = (h1.matmul(self.w2.value()) + self.b2.value()).relu();
            let logits = h2.matmul(self.w3.value()) + self.b3.value();
            correct += logits
                .as_slice()
                .chunks(2)
                .zip(&chunk.classes)
                .filter(|(row, &class)| usize::from(row[1] > row[0]) == class)
                .count();
        }
        correct as f32 / (chunks.len() * CHUNK) as f32
    }
}

impl Model<f32> for Mlp {
    fn visit<V: Visitor<f32>>(&mut self, v: &mut V) {
        v.param("w1", &mut self.w1);
        v.param("b1", &mut self.b1);
        v.param("w2", &mut self.w2);
        v.param("b2", &mut self.b2);
        v.param("w3", &mut self.w3);
        v.param("b3", &mut self.b3);
    }
}

/// Trains a fresh model on `threads` threads; returns it and its last loss.
fn train(data: &[Chunk], threads: usize) -> Result<(Mlp, f32), typegrad::Error> {
    let mut model = Mlp::new(&mut seeded_rng(7));
    let adam = Adam::new(0.01)?;
    let mut last_loss = f32::NAN;
    for _ in 0..STEPS {
        let losses = parallel::map(data, threads, |chunk| {
            model
                .chunk_loss(chunk)
                .map(|loss| (loss.item(), loss.backward()))
        });
        let mut grads = Gradients::new();
        last_loss = 0.0;
        // In chunk order, as `parallel::gradients` adds them.
        for result in losses {
            let (loss, chunk_grads) = result?;
            last_loss += loss;
            grads.merge(chunk_grads);
        }
        adam.step_model(&mut model, &grads);
    }
    Ok((model, last_loss))
}

fn main() -> Result<(), typegrad::Error> {
    let mut rng = seeded_rng(42);
    let data: Vec<Chunk> = (0..CHUNKS).map(|_| ring_chunk(&mut rng)).collect();
    let held_out: Vec<Chunk> = (0..CHUNKS).map(|_| ring_chunk(&mut rng)).collect();

    let (one, loss_one) = train(&data, 1)?;
    let (two, loss_two) = train(&data, 2)?;
    println!("after {STEPS} steps: loss {loss_one:.4} on one thread, {loss_two:.4} on two");
    assert_eq!(
        loss_one.to_bits(),
        loss_two.to_bits(),
        "the same loss, bit for bit"
    );
    assert!(
        one.bits() == two.bits(),
        "the weights trained on one and on two threads differ"
    );
    let accuracy = two.accuracy(&held_out);
    println!(
        "weights identical bit for bit; held-out accuracy {:.1}%",
        accuracy * 100.0
    );
    assert!(accuracy > 0.95, "held-out accuracy {accuracy}");
    Ok(())
}
