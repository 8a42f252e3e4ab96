// Common pattern: code generic over the tape, the element type and the shape. One
// function serves plain values (NoGrad), detached views (Detached) and recorded values
// (Tracked): its result's tape follows its input's (`UnaryTape<T>`: Tracked stays
// Tracked, NoGrad and Detached give NoGrad), so a Tracked result can be backpropagated.
use typegrad::prelude::*;
use typegrad::tape::UnaryTape;

// One operation: the result's tape is `UnaryTape<T>`.
fn double<S: Shape, T: Tape>(x: &Tensor<S, f32, T>) -> Tensor<S, f32, UnaryTape<T>> {
    x * 2.0
}

// Several operations: still `UnaryTape<T>`, with no bound beyond `T: Tape`.
fn squared_error<S: Shape, T: Tape>(
    x: &Tensor<S, f32, T>,
    target: &Tensor<S, f32>,
) -> Tensor<Rank0, f32, UnaryTape<T>> {
    (x - target).powf(2.0).sum()
}

// Any element type: constants are written in the element type, `E::from_f64(0.5)`.
fn halve<S: Shape, E: Element, T: Tape>(x: &Tensor<S, E, T>) -> Tensor<S, E, UnaryTape<T>> {
    x * E::from_f64(0.5)
}

// Any shape, element and tape, returning a plain number.
fn mean_square<S: Shape, E: Element, T: Tape>(x: &Tensor<S, E, T>) -> E {
    (x * x).mean().item()
}

// Shapes as const generics: the dimensions are checked where the function is used.
fn layer<const I: usize, const O: usize>(
    x: &Tensor<Rank1<I>, f32, impl Tape>,
    w: &Tensor<Rank2<I, O>, f32, Tracked>,
    b: &Tensor<Rank1<O>, f32, Tracked>,
) -> Tensor<Rank1<O>, f32, Tracked> {
    (x.matmul(w) + b).tanh()
}

// A batch of B rows; the bias broadcasts onto every row.
fn batch_layer<const B: usize, const I: usize, const O: usize>(
    x: &Tensor<Rank2<B, I>, f32>,
    w: &Tensor<Rank2<I, O>, f32, Tracked>,
    b: &Tensor<Rank1<O>, f32, Tracked>,
) -> Tensor<Rank2<B, O>, f32, Tracked> {
    x.matmul(w) + b
}

// `Rank1<{ M * N }>` is not stable Rust: the length is a parameter, and a wrong one is
// rejected when the program is built.
fn flatten<const M: usize, const N: usize, const L: usize, T: Tape>(
    x: &Tensor<Rank2<M, N>, f32, T>,
) -> Tensor<Rank1<L>, f32, UnaryTape<T>> {
    x.reshape()
}

fn main() {
    let target = Tensor::from_array([1.0f32, 2.0, 3.0]);
    let plain = Tensor::from_array([2.0f32, 2.0, 2.0]);

    // The same functions on the three tapes.
    let e: Tensor<Rank0, f32, NoGrad> = squared_error(&plain, &target);
    assert_eq!(e.item(), 2.0);
    let e: Tensor<Rank0, f32, NoGrad> = squared_error(&plain.detach(), &target);
    assert_eq!(e.item(), 2.0);
    let x = plain.track();
    let e: Tensor<Rank0, f32, Tracked> = squared_error(&x, &target);
    assert_eq!(e.backward().get(&x).unwrap().to_vec(), vec![2.0, 0.0, -2.0]);

    let d: Tensor<Rank1<3>, f32, NoGrad> = double(&plain.detach());
    assert_eq!(d.to_vec(), vec![4.0; 3]);
    let grads = double(&x).sum().backward();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0; 3]);

    // The same functions on f32 and f64.
    assert_eq!(
        halve(&Tensor::from_array([1.0f32, 3.0])).to_vec(),
        vec![0.5, 1.5]
    );
    let y = Tensor::from_array([[2.0f64, 4.0], [6.0, 8.0]]).track();
    let grads = halve(&y).sum().backward();
    assert_eq!(grads.get(&y).unwrap().to_vec(), vec![0.5; 4]);
    assert_eq!(mean_square(&Tensor::from_array([3.0f32, 4.0])), 12.5);
    assert_eq!(mean_square(&y), 30.0);

    // A two-layer network from one const-generic function: the sizes are inferred.
    let mut rng = seeded_rng(0);
    let input = Tensor::<Rank1<4>, f32>::ones();
    let w1 = Tensor::<Rank2<4, 8>, f32>::randn(&mut rng).track();
    let b1 = Tensor::<Rank1<8>, f32>::zeros().track();
    let w2 = Tensor::<Rank2<8, 2>, f32>::randn(&mut rng).track();
    let b2 = Tensor::<Rank1<2>, f32>::zeros().track();
    let hidden = layer(&input, &w1, &b1);
    let out: Tensor<Rank1<2>, f32, Tracked> = layer(&hidden, &w2, &b2);
    let grads = out.sum().backward();
    assert!(grads.contains(&w1) && grads.contains(&b2));

    let batch = Tensor::<Rank2<3, 4>, f32>::ones();
    let rows = batch_layer(&batch, &w1, &b1);
    assert_eq!(rows.dims(), &[3, 8]);
    let flat: Tensor<Rank1<24>, f32, Tracked> = flatten(&rows);
    assert_eq!(flat.numel(), 24);
}
