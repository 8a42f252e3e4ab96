// Common patterns: functions generic over shapes, elements and tapes; a training loop
// that reassigns a tracked value.
use typegrad::prelude::*;

fn layer<const I: usize, const O: usize, T: Tape>(
    x: &Tensor<Rank1<I>, f32, T>,
    w: &Tensor<Rank2<I, O>, f32, Tracked>,
    b: &Tensor<Rank1<O>, f32, Tracked>,
) -> Tensor<Rank1<O>, f32, Tracked> {
    (x.matmul(w) + b).relu()
}

fn squared_norm<S: Shape, E: Element, T: Tape>(x: &Tensor<S, E, T>) -> E {
    (x * x).sum().item()
}

fn main() {
    let x = Tensor::<Rank1<4>, f32>::ones();
    let w = Tensor::<Rank2<4, 2>, f32>::full(0.5).track();
    let b = Tensor::<Rank1<2>, f32>::zeros().track();
    let h = layer(&x, &w, &b);
    let mut y = h.sum();
    for _ in 0..3 {
        y = y * 2.0;
    }
    let grads = y.backward();
    let _: Option<Tensor<Rank2<4, 2>, f32>> = grads.get(&w);
    assert_eq!(squared_norm(&Tensor::<Rank1<2>, f64>::full(2.0)), 8.0);
}
