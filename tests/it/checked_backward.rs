//! The checked backward (anomaly mode): which error, naming which operation, node, leaf
//! and element. Only what the root depends on is reported.

use typegrad::prelude::*;

#[test]
fn checked_backward_gives_the_same_gradients_as_backward_when_all_is_finite() {
    let x = Tensor::from_array([1.0f64, 2.0, 3.0]).track();
    let w = Tensor::from_array([0.5f64, -1.0, 2.0]).track();
    let loss = || (&x * &w).exp().sum() + x.norm();
    let plain = loss().backward();
    let checked = loss().backward_checked().expect("every value is finite");
    for leaf in [&x, &w] {
        assert_eq!(
            checked.get(leaf).unwrap().to_vec(),
            plain.get(leaf).unwrap().to_vec()
        );
    }
    assert_eq!(checked.len(), 2);
    let seed = Tensor::from_array([1.0, -2.0, 0.5]);
    let plain = (&x * &w).backward_with(&seed);
    let checked = (&x * &w).backward_with_checked(&seed).expect("finite seed");
    assert_eq!(
        checked.get(&x).unwrap().to_vec(),
        plain.get(&x).unwrap().to_vec()
    );
    assert_eq!(checked.get(&x).unwrap().to_vec(), vec![0.5, 2.0, 1.0]);
}

#[test]
fn a_non_finite_forward_value_names_its_operation_and_node() {
    // Nodes: 0 the leaf x, 1 MulBackward0, 2 LogBackward0 (NaN at -2), 3 SumBackward0.
    let x = Tensor::from_array([1.0f64, -1.0]).track();
    let err = (&x * 2.0).ln().sum().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteValue {
            op: "LogBackward0",
            node: 2
        }
    );
    // The backward of ln at a finite x is finite: the error comes from the forward scan.
    let y = Tensor::from_array([-1.0f64]).track();
    let err = y.ln().sum().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteValue {
            op: "LogBackward0",
            node: 1
        }
    );
    assert!(err.to_string().contains("LogBackward0 (node 1)"), "{err}");
}

#[test]
fn a_nan_that_entered_from_an_untracked_input_names_the_operation_that_took_it() {
    let x = Tensor::from_array([1.0f32, 2.0]).track();
    let constant = Tensor::from_array([f32::NAN, 1.0]);
    let err = (&x * &constant).sum().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteValue {
            op: "MulBackward0",
            node: 1
        }
    );
}

#[test]
fn a_nan_in_a_leaf_is_reported_at_the_leaf_with_its_shape_and_element() {
    let w = Tensor::from_array([[1.0f64, 2.0], [3.0, f64::INFINITY], [5.0, 6.0]]).track();
    let x = Tensor::from_array([1.0f64, 1.0, 1.0]).track();
    // Nodes: 0 leaf x, 1 leaf w, 2 MmBackward0 / MvBackward0 ..., the leaf w is node 1.
    let err = x.matmul(&w).sum().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteLeaf {
            node: 1,
            dims: &[3, 2],
            index: 3
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("leaf of shape [3, 2] (node 1), element 3"),
        "{text}"
    );
    // The root itself a leaf.
    let s = Tensor::<Rank0, f32>::full(f32::NAN).track();
    assert_eq!(
        s.backward_checked().unwrap_err(),
        Error::NonFiniteLeaf {
            node: 0,
            dims: &[],
            index: 0
        }
    );
}

#[test]
fn a_nan_the_loss_does_not_depend_on_is_not_reported() {
    // A dropped intermediate in the same graph.
    let x = Tensor::from_array([-1.0f64, 2.0]).track();
    let dropped = (&x * 1.0).ln();
    assert!(dropped.as_slice()[0].is_nan());
    let loss = (&x * 3.0).sum();
    let grads = loss.backward_checked().expect("the NaN is off the path");
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![3.0, 3.0]);
    // A graph holding a NaN, merged into the loss's graph by an operation the loss does
    // not depend on.
    let a = Tensor::from_array([-1.0f64]).track();
    let b = Tensor::from_array([4.0f64]).track();
    let bad = a.ln();
    let good = &b * 2.0;
    let _merged = &bad + &good;
    let grads = good
        .sum()
        .backward_checked()
        .expect("the merged NaN is off the path");
    assert_eq!(grads.get(&b).unwrap().to_vec(), vec![2.0]);
    // A NaN leaf used elsewhere in the graph.
    let nan_leaf = Tensor::from_array([f64::NAN]).track();
    let _other = &nan_leaf + &b;
    assert!((&b * 5.0).sum().backward_checked().is_ok());
}

#[test]
fn a_non_finite_gradient_names_the_operation_input_and_node() {
    // sqrt at 0: finite forward, infinite derivative. Nodes: 0 leaf, 1 SqrtBackward0.
    let z = Tensor::from_array([0.0f64, 4.0]).track();
    let err = z.sqrt().sum().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteGradient {
            op: "SqrtBackward0",
            input: 0,
            node: 1
        }
    );
    // n / d = 1e200 at n = 1, d = 1e-200, but d/dd (n / d) = -n / d² = -1e400 is beyond
    // f64: the divisor, input 1. Nodes: 0 leaf n, 1 leaf d, 2 DivBackward0. (At
    // n = d = 1e-300 the partial is -1e300, an ordinary number, computed as -(n / d) / d.)
    let n = Tensor::from_array([1.0f64]).track();
    let d = Tensor::from_array([1e-200f64]).track();
    let err = (&n / &d).sum().backward_checked().unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteGradient {
            op: "DivBackward0",
            input: 1,
            node: 2
        }
    );
    assert!(err.to_string().contains("DivBackward0 (node 2)"));
}

#[test]
fn a_non_finite_seed_is_an_error_naming_its_element() {
    let x = Tensor::from_array([1.0f32, 2.0, 3.0]).track();
    let seed = Tensor::from_array([1.0, 2.0, f32::INFINITY]);
    let err = (&x * 2.0).backward_with_checked(&seed).unwrap_err();
    assert_eq!(err, Error::NonFiniteSeed { index: 2 });
    assert!(err.to_string().contains("element 2"));
    // Unchecked, the same seed silently gives an infinite gradient: that is what the
    // checked form is for.
    let grads = (&x * 2.0).backward_with(&seed);
    assert_eq!(grads.get(&x).unwrap().as_slice()[2], f32::INFINITY);
}

#[test]
fn a_failed_checked_backward_leaves_no_gradient_behind() {
    let x = Tensor::from_array([0.0f64]).track();
    let mut grads = Gradients::new();
    (&x * 1.0).sum().backward_into(&mut grads);
    let err = x.sqrt().sum().backward_checked();
    assert!(err.is_err());
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![1.0]);
}
