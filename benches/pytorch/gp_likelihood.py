"""PyTorch's side of benches/gp.rs: the gradient of a Gaussian process's negative log
marginal likelihood, timed on one CPU thread in f64, and compared with typegrad's.

    NLL(theta) = 1/2 y^T K^-1 y + 1/2 ln det K + n/2 ln 2 pi,
    K = sf2 exp(-d^2 / (2 l^2)) + sn2 I,   theta = (ln l, ln sf2, ln sn2),

through torch.linalg.cholesky and torch.cholesky_solve, differentiated by autograd, at
n = 20 and n = 64 on the deterministic data benches/gp.rs builds (the same formulas).

Run with `python3 benches/pytorch/gp_likelihood.py` (PyTorch 2.15, CPU). It prints the
NLL and gradient beside typegrad's (the values `cargo bench -p typegrad-benches --bench
gp` prints, copied into TYPEGRAD below), fails if they differ by more than 1e-10
relative, and prints the median time per gradient over several repeats.
"""

import math
import statistics
import sys
import time

import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

# The point at which both libraries take the gradient: l = 1.2, sf2 = 0.8, sn2 = 0.05.
THETA = (math.log(1.2), math.log(0.8), math.log(0.05))

# What benches/gp.rs prints for (NLL, dNLL/d theta), copied from its output.
TYPEGRAD = {
    20: (
        4.13373206429001527e0,
        -8.20912737939473836e0,
        2.80489252536633948e0,
        5.44192270995650595e0,
    ),
    64: (
        -1.26224045755843264e1,
        -9.95394522006050231e0,
        2.73799616601309692e0,
        2.42155717039223042e1,
    ),
}

TOLERANCE = 1e-10


def data(n):
    """The inputs, targets and squared distances of benches/gp.rs's `Data::new`."""
    x = [(i + 0.5 + 0.4 * math.sin(7.0 * i)) * 10.0 / n for i in range(n)]
    y = [
        math.sin(v) * math.exp(-0.1 * v) + 0.2 * v - 1.0 + 0.1 * math.sin(37.1 * i + 0.3)
        for i, v in enumerate(x)
    ]
    x = torch.tensor(x)
    y = torch.tensor(y)
    sq_dist = (x[:, None] - x[None, :]) ** 2
    return y, sq_dist


def nll(theta, y, sq_dist):
    n = y.shape[0]
    k = torch.exp(theta[1]) * torch.exp(sq_dist * (-0.5 * torch.exp(-2.0 * theta[0])))
    k = k + torch.exp(theta[2]) * torch.eye(n)
    chol = torch.linalg.cholesky(k)
    alpha = torch.cholesky_solve(y[:, None], chol)[:, 0]
    logdet = 2.0 * torch.log(torch.diagonal(chol)).sum()
    return 0.5 * (y @ alpha + logdet) + 0.5 * n * math.log(2.0 * math.pi)


def value_and_grad(theta0, y, sq_dist):
    theta = theta0.clone().requires_grad_(True)
    value = nll(theta, y, sq_dist)
    (grad,) = torch.autograd.grad(value, theta)
    return value.detach(), grad


def relative(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def main():
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, f64, CPU")
    theta0 = torch.tensor(THETA)
    failed = False
    for n in (20, 64):
        y, sq_dist = data(n)
        value, grad = value_and_grad(theta0, y, sq_dist)
        ours = [value.item()] + grad.tolist()
        print(f"n = {n}: PyTorch  NLL {ours[0]:.17e}, gradient {[f'{g:.17e}' for g in ours[1:]]}")
        theirs = TYPEGRAD[n]
        if theirs is None:
            print(f"n = {n}: typegrad's values not recorded (run benches/gp.rs)")
        else:
            print(f"n = {n}: typegrad NLL {theirs[0]:.17e}, gradient {[f'{g:.17e}' for g in theirs[1:]]}")
            worst = max(relative(a, b) for a, b in zip(ours, theirs))
            print(f"n = {n}: largest relative difference {worst:.1e}")
            failed |= worst > TOLERANCE

        # Warm up, then time loops of `per` gradients; the median of the repeats.
        per = 2000 if n == 20 else 500
        for _ in range(per // 10):
            value_and_grad(theta0, y, sq_dist)
        times = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(per):
                value_and_grad(theta0, y, sq_dist)
            times.append((time.perf_counter() - start) / per)
        print(
            f"n = {n}: PyTorch gradient {statistics.median(times) * 1e6:.1f} us "
            f"(median of {len(times)} loops of {per}; min {min(times) * 1e6:.1f}, "
            f"max {max(times) * 1e6:.1f})"
        )
    if failed:
        sys.exit("typegrad and PyTorch differ by more than 1e-10 relative")


if __name__ == "__main__":
    main()
