// A model written once, generic over the tape, is evaluated on a plain value (nothing
// recorded) and passed by name to every transform: the compiler infers `T = Tracked`
// from the transform's bound, so no `motion::<Tracked>` and no `.track()` / `.no_grad()`.
use typegrad::func;
use typegrad::prelude::*;

fn motion<T: Tape>(s: &Tensor<Rank1<3>, f64, T>) -> Tensor<Rank1<3>, f64, T::Plain> {
    let speed = s.at::<2>();
    let step = Tensor::stack((&speed * &s.at::<1>().cos(), &speed * 0.5, Tensor::zeros()));
    s + &step
}

fn energy<T: Tape>(s: &Tensor<Rank1<3>, f64, T>) -> Tensor<Rank0, f64, UnaryTape<T>> {
    (s * s).sum() * 0.5
}

fn main() -> Result<(), Error> {
    let x = Tensor::from_array([1.0, 0.0, 2.0]);
    let plain: Tensor<Rank1<3>, f64> = motion(&x);
    let (value, _jv) = func::jvp(motion, &x, &Tensor::ones());
    let (_, _uj) = func::vjp(motion, &x, &Tensor::ones());
    assert_eq!(plain, value);
    let _f: Tensor<Rank2<3, 3>, f64> = func::jacobian(motion, &x);
    let _f: Tensor<Rank2<3, 3>, f64> = func::jacobian_reverse(motion, &x);
    let g: Tensor<Rank1<3>, f64> = func::grad(energy, &x);
    assert_eq!(g, x);
    let (e, _) = func::value_and_grad(energy, &x);
    assert_eq!(e, energy(&x).item());
    let _h: Tensor<Rank2<3, 3>, f64> = func::hessian(energy, &x)?;
    Ok(())
}
