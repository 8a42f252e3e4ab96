//! The transforms on adversarial functions (inputs used many times, outputs that do not
//! depend on them, captured tracked values, passes and transforms inside `f`, casts,
//! empty shapes), against finite differences and each other.

use typegrad::func;
use typegrad::prelude::*;

const N: usize = 4;
type X = Tensor<Rank1<N>, f64>;
type XT = Tensor<Rank1<N>, f64, Tracked>;

fn point() -> X {
    Tensor::from_array([0.3, -0.8, 1.2, 0.05])
}

/// Central differences of f (plain evaluation through a tracked leaf).
fn fd_jacobian<const M: usize>(
    f: &dyn Fn(&XT) -> Tensor<Rank1<M>, f64, Tracked>,
    x: &X,
) -> Vec<f64> {
    let h = 1e-6;
    let mut jac = vec![0.0; M * N];
    for j in 0..N {
        let mut xp = x.to_vec();
        let mut xm = x.to_vec();
        xp[j] += h;
        xm[j] -= h;
        let fp = f(&Tensor::<Rank1<N>, f64>::from_vec(xp).unwrap().track()).to_vec();
        let fm = f(&Tensor::<Rank1<N>, f64>::from_vec(xm).unwrap().track()).to_vec();
        for i in 0..M {
            jac[i * N + j] = (fp[i] - fm[i]) / (2.0 * h);
        }
    }
    jac
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
}

fn check_all<const M: usize>(name: &str, f: &dyn Fn(&XT) -> Tensor<Rank1<M>, f64, Tracked>)
where
    Rank1<M>: func::JacobianShape<Rank1<N>, Output = Rank2<M, N>>,
{
    let fd = fd_jacobian(f, &point());
    check_against(name, f, fd);
}

fn check_against<const M: usize>(
    name: &str,
    f: &dyn Fn(&XT) -> Tensor<Rank1<M>, f64, Tracked>,
    fd: Vec<f64>,
) where
    Rank1<M>: func::JacobianShape<Rank1<N>, Output = Rank2<M, N>>,
{
    let x = point();
    for round in 0..3 {
        let fwd = func::jacobian_forward(f, &x).to_vec();
        let rev = func::jacobian_reverse(f, &x).to_vec();
        assert!(
            close(&fwd, &fd, 1e-6),
            "{name} round {round}: forward {fwd:?} vs fd {fd:?}"
        );
        assert!(
            close(&rev, &fd, 1e-6),
            "{name} round {round}: reverse {rev:?} vs fd {fd:?}"
        );
        // jvp and vjp against the Jacobian
        let v = Tensor::<Rank1<N>, f64>::from_array([1.0, -2.0, 0.5, 3.0]);
        let (_, jv) = func::jvp(f, &x, &v);
        let expect: Vec<f64> = (0..M)
            .map(|i| (0..N).map(|j| fd[i * N + j] * v.to_vec()[j]).sum())
            .collect();
        assert!(
            close(&jv.to_vec(), &expect, 1e-6),
            "{name}: jvp {:?} vs {expect:?}",
            jv.to_vec()
        );
        let u = Tensor::<Rank1<M>, f64>::from_fn(|i| 1.0 + i as f64);
        let (_, uj) = func::vjp(f, &x, &u);
        let expect: Vec<f64> = (0..N)
            .map(|j| (0..M).map(|i| fd[i * N + j] * (1.0 + i as f64)).sum())
            .collect();
        assert!(
            close(&uj.to_vec(), &expect, 1e-6),
            "{name}: vjp {:?} vs {expect:?}",
            uj.to_vec()
        );
    }
}

#[test]
fn same_input_many_times() {
    check_all::<N>("many uses", &|x: &XT| {
        let a = x * x;
        let b = &a * x + x.sin() * x + (x + x) * x - x / &(x.exp() + 1.0);
        let c = b.matmul(&Tensor::<Rank2<N, N>, f64>::eye()).maximum(x) + x.cumsum::<0>();
        c * x + x.sum() * &x.max()
    });
}

#[test]
fn output_independent_of_x_through_captured_tracked_value() {
    let p = Tensor::<Rank1<N>, f64>::from_array([1.0, 2.0, 3.0, 4.0]).track();
    let c = p.exp();
    check_all::<N>("independent", &|_x: &XT| &c * 2.0);
    check_all::<N>("captured leaf", &|_x: &XT| p.clone());
    check_all::<N>("captured mixed", &|x: &XT| &c * x + &p * x * x);
}

#[test]
fn identity_and_leaf_outputs() {
    check_all::<N>("identity", &|x: &XT| x.clone());
    check_all::<N>("reshape", &|x: &XT| {
        x.reshape::<Rank2<2, 2>>().reshape::<Rank1<N>>()
    });
}

#[test]
fn functions_that_run_backward_inside() {
    // g is a plain value (a constant to AD): J = diag(3x² + cos x)
    let x0 = point().to_vec();
    let expect: Vec<f64> = (0..N * N)
        .map(|k| {
            if k % (N + 1) == 0 {
                let v = x0[k / N];
                3.0 * v * v + v.cos()
            } else {
                0.0
            }
        })
        .collect();
    check_against::<N>(
        "backward inside",
        &|x: &XT| {
            let g = (x * x * x).sum().backward().get(x).unwrap(); // 3x², a constant here
            let side = (x.exp() * 2.0).sum();
            let _ = side.backward();
            x * &g + x.sin()
        },
        expect,
    );
    check_all::<N>("create graph inside", &|x: &XT| {
        let g = (x * x * x)
            .sum()
            .backward_create_graph()
            .unwrap()
            .get(x)
            .unwrap(); // 3x², tracked
        x * &g // 3x³: J = diag(9x²)
    });
}

#[test]
fn nested_transforms_inside_the_function() {
    let y = Tensor::<Rank1<3>, f64>::from_array([0.2, 0.4, -0.1]);
    check_all::<N>("nested jacobian", &|x: &XT| {
        let inner: Tensor<Rank2<3, 3>, f64> = func::jacobian(|z| z.exp() * z, &y);
        let h: Tensor<Rank2<3, 3>, f64> = func::hessian(|z| (z * z * z).sum(), &y).unwrap();
        let s = inner.sum().item() + h.sum().item();
        x.sin() * s + x * x
    });
}

#[test]
fn casts_inside() {
    check_all::<N>("casts", &|x: &XT| {
        let y = x.cast::<f32>().cast::<f64>(); // rounding: FD tolerance below handles it? no
        let z = x.cast::<f64>().exp();
        &z * x + y * 0.0
    });
}

#[test]
fn empty_shapes() {
    let x = Tensor::<Rank1<0>, f64>::zeros();
    let j: Tensor<Rank2<3, 0>, f64> =
        func::jacobian_forward(|x| x.sum() * Tensor::<Rank1<3>, f64>::ones(), &x);
    assert_eq!(j.to_vec(), Vec::<f64>::new());
    let j: Tensor<Rank2<0, 3>, f64> = func::jacobian_reverse(
        |x: &Tensor<Rank1<3>, f64, Tracked>| x.narrow::<0, 0, 0>(),
        &Tensor::ones(),
    );
    assert_eq!(j.to_vec(), Vec::<f64>::new());
    let h: Tensor<Rank2<0, 0>, f64> = func::hessian(|x| x.sum(), &x).unwrap();
    assert_eq!(h.to_vec(), Vec::<f64>::new());
}

/// Hessian vs finite differences of the gradient.
fn check_hessian(name: &str, f: &dyn Fn(&XT) -> Tensor<Rank0, f64, Tracked>) {
    let x = point();
    let h = 1e-5;
    let mut fd = vec![0.0; N * N];
    for j in 0..N {
        let mut xp = x.to_vec();
        let mut xm = x.to_vec();
        xp[j] += h;
        xm[j] -= h;
        let gp = func::grad(f, &Tensor::from_vec(xp).unwrap()).to_vec();
        let gm = func::grad(f, &Tensor::from_vec(xm).unwrap()).to_vec();
        for i in 0..N {
            fd[i * N + j] = (gp[i] - gm[i]) / (2.0 * h);
        }
    }
    for round in 0..3 {
        let hess = func::hessian(f, &x).unwrap().to_vec();
        assert!(
            close(&hess, &fd, 1e-5),
            "{name} round {round}: {hess:?} vs {fd:?}"
        );
    }
}

#[test]
fn hessians_of_adversarial_functions() {
    let p = Tensor::<Rank1<N>, f64>::from_array([1.0, -2.0, 3.0, 0.5]).track();
    let c = p.sin(); // captured node of another graph
    check_hessian("many uses", &|x: &XT| {
        (x * x * x).sum() + (x.sin() * x).dot(x) + x.sum() * x.sum()
    });
    check_hessian("captured", &|x: &XT| {
        (&c * x * x).sum() + (&p * x).sum().exp()
    });
    check_hessian("captured leaf only", &|_x: &XT| (&c * &c).sum());
    check_hessian("linear", &|x: &XT| (&c * x).sum());
    check_hessian("quadratic via dot", &|x: &XT| x.dot(x) * 0.5);
    check_hessian("casts", &|x: &XT| {
        (x.cast::<f32>().cast::<f64>() * 0.0).sum() + x.cast::<f64>().exp().sum() * x.sum()
    });
    check_hessian("backward inside", &|x: &XT| {
        let g = (x * x)
            .sum()
            .backward_create_graph()
            .unwrap()
            .get(x)
            .unwrap(); // 2x, tracked
        (&g * &g * x).sum() // 4 x³
    });
}
