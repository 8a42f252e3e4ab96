// Common pattern: a training loop. The parameters are plain (NoGrad) values; each step
// tracks them (new leaves sharing their storage), computes the loss, backpropagates and
// updates the plain values in place. Also: reassigning a Tracked value (`y = y * 2.0`).
use typegrad::prelude::*;

fn main() {
    // y = 2 x0 - 3 x1 + 1, for eight inputs.
    let inputs = Tensor::from_array([
        [0.0f32, 1.0],
        [1.0, 0.0],
        [1.0, 1.0],
        [2.0, 1.0],
        [0.5, -1.0],
        [-1.0, 2.0],
        [3.0, 0.0],
        [-2.0, -1.0],
    ]);
    let targets = inputs.matmul(&Tensor::from_array([2.0, -3.0])) + 1.0;

    let mut w = Tensor::<Rank1<2>, f32>::zeros();
    let mut b = Tensor::<Rank0, f32>::zeros();
    let lr = 0.05;
    let mut losses = Vec::new();
    for _ in 0..300 {
        // The tracked leaves share w's and b's storage; ending their scope before the
        // update lets it write in place instead of copying.
        let (w_grad, b_grad) = {
            let (wt, bt) = (w.track(), b.track());
            let loss = (inputs.matmul(&wt) + &bt).mse(&targets);
            losses.push(loss.item());
            let grads = loss.backward();
            (grads.get(&wt).unwrap(), grads.get(&bt).unwrap())
        };
        w.add_scaled(-lr, &w_grad);
        b -= &(b_grad * lr);
    }
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(
        last < first && last < 1e-4,
        "loss went from {first} to {last}"
    );
    assert!((w.as_slice()[0] - 2.0).abs() < 1e-2 && (w.as_slice()[1] + 3.0).abs() < 1e-2);
    assert!((b.item() - 1.0).abs() < 1e-2);

    // Reassigning a tracked value: a new value each time (never in place), same tape.
    let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    let mut y = &x * 2.0;
    for _ in 0..3 {
        y = y * 2.0;
    }
    let grads = y.sum().backward();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![16.0; 3]);
}
