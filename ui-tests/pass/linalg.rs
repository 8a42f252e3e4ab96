// Issue 21: the shapes linear algebra accepts, with every tape; generic code over the
// size and the tape.
use typegrad::linalg::{Cholesky, Diagonal, Lu, Matrix, SquareMatrix, Triangle};
use typegrad::prelude::*;

/// A Gaussian's negative log-likelihood, generic over the size and the tape.
fn nll<const N: usize, T: Tape>(
    k: &Tensor<Rank2<N, N>, f64, T>,
    y: &Tensor<Rank1<N>, f64>,
) -> Result<Tensor<Rank0, f64, T::Plain>, Error> {
    let chol = Cholesky::new(k)?;
    Ok((y.dot(&chol.solve(y)?) + chol.logdet()) * 0.5)
}

/// Generic over any square shape, batched or not.
fn log_volume<S: SquareMatrix, T: Tape>(
    a: &Tensor<S, f64, T>,
) -> Result<Tensor<S::PerMatrix, f64, T::Plain>, Error> {
    Ok(a.slogdet()?.1)
}

/// Generic over any tall shape: the diagonal of R, through QR.
fn r_diagonal<S: Matrix, T: Tape>(
    a: &Tensor<S, f64, T>,
) -> Result<Tensor<<S::Square as SquareMatrix>::PerRow, f64, T::Plain>, Error> {
    Ok(a.qr()?.1.diagonal())
}

fn main() -> Result<(), Error> {
    let a = Tensor::<Rank2<3, 3>, f64>::from_array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 2.0]]);
    let v = Tensor::<Rank1<3>, f64>::ones();
    let m = Tensor::<Rank2<3, 5>, f64>::ones();
    let _: Tensor<Rank1<3>, f64> = a.solve(&v)?;
    let _: Tensor<Rank2<3, 5>, f64, Tracked> = a.track().solve(&m)?;
    let _: Tensor<Rank2<3, 5>, f64, Tracked> = a.solve(&m.track())?;
    let _: Tensor<Rank2<3, 3>, f64> = a.inv()?;
    let _: Tensor<Rank0, f64, Tracked> = a.track().det()?;
    let _: Tensor<Rank1<3>, f64> = a.diagonal();
    let _: Tensor<Rank2<3, 3>, f64> = v.diag();
    let _: Tensor<Rank2<3, 5>, f64> = v.outer(&Tensor::<Rank1<5>, f64>::ones());
    let _ = a.solve_triangular(&v, Triangle::Upper, Diagonal::Unit)?;
    let _: Tensor<Rank0, f64, Tracked> = nll(&a.track(), &v)?;
    let _: Tensor<Rank0, f64> = nll(&a.detach(), &v)?;
    let batch = Tensor::<Rank3<4, 3, 3>, f64>::from_fn(|i| if i % 9 % 4 == 0 { 2.0 } else { 0.0 });
    let _: Tensor<Rank2<4, 3>, f64> = batch.solve(&Tensor::<Rank2<4, 3>, f64>::ones())?;
    let _: Tensor<Rank1<4>, f64> = batch.det()?;
    let _: Tensor<Rank1<4>, f64, Tracked> = log_volume(&batch.track())?;
    let lu = Lu::new(&batch)?;
    let _: Tensor<Rank3<4, 3, 2>, f64> = lu.solve(&Tensor::<Rank3<4, 3, 2>, f64>::ones())?;
    // Phase 2: eigh, eigvalsh, qr, lstsq, matrix_exp.
    let (_, _): (Tensor<Rank1<3>, f64, Tracked>, Tensor<Rank2<3, 3>, f64, Tracked>) = a.track().eigh()?;
    let _: Tensor<Rank2<4, 3>, f64> = batch.eigvalsh()?;
    let _: Tensor<Rank3<4, 3, 3>, f32> = batch.cast::<f32>().matrix_exp()?;
    let tall = Tensor::<Rank2<5, 3>, f64>::from_fn(|i| if i % 4 == 0 { 1.0 } else { 0.5 * i as f64 });
    let (_, _): (Tensor<Rank2<5, 3>, f64>, Tensor<Rank2<3, 3>, f64>) = tall.qr()?;
    let _: Tensor<Rank1<3>, f64, Tracked> = tall.lstsq(&Tensor::<Rank1<5>, f64>::ones().track())?;
    let _: Tensor<Rank2<3, 2>, f64, Tracked> = tall.track().lstsq(&Tensor::<Rank2<5, 2>, f64>::ones())?;
    let _: Tensor<Rank1<3>, f64, Tracked> = r_diagonal(&tall.track())?;
    let tall_batch = Tensor::<Rank3<2, 3, 2>, f64>::from_fn(|i| (i * i % 7) as f64);
    let _: Tensor<Rank2<2, 2>, f64> = r_diagonal(&tall_batch)?;
    let _: Tensor<Rank2<2, 2>, f64> = tall_batch.lstsq(&Tensor::<Rank2<2, 3>, f64>::ones())?;
    // Square is tall enough.
    let _ = a.qr()?;
    Ok(())
}
