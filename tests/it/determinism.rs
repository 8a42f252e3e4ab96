//! The same computation on one thread gives the same bits whatever else the program did
//! before: which graph cells (at which addresses) the pool hands out must not decide how
//! two graphs merge, since the merge order is the order gradients are summed in.

use std::collections::BTreeSet;
use typegrad::prelude::*;

fn gradient_bits(x: &Tensor<Rank1<3>, f64>) -> Vec<u64> {
    let x = x.track();
    let w = Tensor::<Rank1<3>, f64>::from_array([1.0, -0.5, 0.25]);
    // Two graphs of 6 nodes each, merged by the final `+`: leaf, sin, cumsum, ×0.5, ×w, sum
    let left = (x.sin().cumsum::<0>() * 0.5 * &w).sum();
    // and leaf, tanh, leaf, ×, sum, ×0.3
    let right = (x.tanh() * &x).sum() * 0.3;
    let g = (left + right).backward().get(&x).unwrap();
    g.as_slice().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn equal_sized_graph_merge_is_deterministic() {
    let x = Tensor::<Rank1<3>, f64>::from_array([0.4, -0.3, 0.9]);
    let mut seen = BTreeSet::new();
    for round in 0..50 {
        // Other graphs alive or given back in between, as any program has: this changes
        // which pooled cells (at which addresses) the two graphs above are recorded in.
        let others: Vec<_> = (0..round % 5)
            .map(|k| Tensor::<Rank1<3>, f64>::full(k as f64).track().exp())
            .collect();
        if round % 2 == 0 {
            drop(others);
            seen.insert(gradient_bits(&x));
        } else {
            seen.insert(gradient_bits(&x));
            drop(others);
        }
    }
    assert_eq!(
        seen.len(),
        1,
        "{} different gradients for one computation: {seen:?}",
        seen.len()
    );
}
