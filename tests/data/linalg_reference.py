"""Writes tests/data/linalg_reference.txt: PyTorch's values, gradients and second
derivatives of the linear-algebra operations, which tests/it/linalg_reference.rs
compares with typegrad's.

Run from the repository root with PyTorch installed (the CPU wheel is enough):

    python3 tests/data/linalg_reference.py

Each case is a block of lines:

    case <name>
    <field> <value> <value> ...
    end

Values are f64, written with 17 significant digits (they read back exactly). The fields
of a case: the inputs (`a`, `b`), the seed of the vector-Jacobian product (`seed`), the
output (`out`), the gradients of `<seed, out>` (`grad_a`, `grad_b`), and second
derivatives: the gradient of `<grad_a, w_a> + <grad_b, w_b>` with respect to the inputs
(`hvp_a`, `hvp_b`), from `torch.autograd.grad(..., create_graph=True)`. Inputs are
random and well-conditioned (a general matrix as M + (n + 1) I, a symmetric
positive-definite one as B Bᵀ + I); the shapes of each case are fixed by its name, in the
Rust test.
"""

import torch

torch.set_default_dtype(torch.float64)
generator = torch.Generator().manual_seed(20261207)


def rand(*shape):
    return torch.rand(shape, generator=generator) * 2 - 1


def eye_like(a):
    return torch.eye(a.shape[-1]).expand_as(a)


def dominant(*shape):
    m = rand(*shape)
    return m + (shape[-1] + 1) * eye_like(m)


def spd(*shape):
    b = rand(*shape)
    return b @ b.transpose(-1, -2) + eye_like(b)


def separated(*shape):
    """A symmetric matrix with eigenvalues at least 1 apart: (M + Mᵀ)/2 (eigenvalues
    within ±n of 0) plus diag(0, 2n + 1, 2(2n + 1), ...)."""
    m = rand(*shape)
    n = shape[-1]
    spread = torch.diag(torch.arange(n, dtype=torch.float64) * (2 * n + 1))
    return (m + m.transpose(-1, -2)) / 2 + spread.expand_as(m)


def tall(*shape):
    """An m x n matrix (m >= n) of full column rank: M plus (n + 1) on its diagonal."""
    m = rand(*shape)
    return m + (shape[-1] + 1) * torch.eye(shape[-2], shape[-1]).expand_as(m)


def eigenvectors(a):
    """torch.linalg.eigh's eigenvectors with typegrad's signs: each column's element of
    largest magnitude positive (a constant factor per column)."""
    _, v = torch.linalg.eigh(a)
    largest = v.detach().abs().argmax(dim=-2, keepdim=True)
    return v * torch.sign(torch.gather(v.detach(), -2, largest))


def qr_signs(a):
    """The signs that make R's diagonal positive, as typegrad's QR has it."""
    _, r = torch.linalg.qr(a)
    return torch.sign(torch.diagonal(r.detach(), dim1=-2, dim2=-1))


def qr_q(a):
    q, _ = torch.linalg.qr(a)
    return q * qr_signs(a).unsqueeze(-2)


def qr_r(a):
    _, r = torch.linalg.qr(a)
    return r * qr_signs(a).unsqueeze(-1)


def lower_factor(n):
    m = rand(n, n)
    return m.tril(-1) + torch.diag(1 + m.diagonal().abs())


cases = []


def case(name, function, inputs, lower_weight=False, symmetric_weight=False):
    """Records `function(*inputs)`, its VJP with a random seed and a second derivative.

    `lower_weight`: the weight of the first input's gradient is lower triangular, for an
    input of which only the lower triangle is read (its gradient elsewhere is compared
    in the Rust test as the one the forward implies: 0). `symmetric_weight`: the weight
    is symmetric, for a function of a symmetric matrix that typegrad differentiates with
    respect to symmetric perturbations (`logdet` through Cholesky), where PyTorch's
    `logdet` (through LU) differentiates with respect to every element: their second
    derivatives agree along symmetric weights."""
    inputs = [x.clone().requires_grad_(True) for x in inputs]
    out = function(*inputs)
    seed = rand(*out.shape)
    grads = torch.autograd.grad((out * seed).sum(), inputs, create_graph=True)
    weights = [rand(*x.shape) for x in inputs]
    if lower_weight:
        weights[0] = weights[0].tril()
    if symmetric_weight:
        weights[0] = (weights[0] + weights[0].transpose(-1, -2)) / 2
    projected = sum((g * w).sum() for g, w in zip(grads, weights))
    if projected.requires_grad:
        hvps = torch.autograd.grad(projected, inputs, allow_unused=True)
    else:
        # A linear operation: its gradient does not depend on the inputs.
        hvps = [None] * len(inputs)
    names = "ab"
    fields = [("seed", seed), ("out", out)]
    for k, x in enumerate(inputs):
        fields.insert(k, (names[k], x))
        fields.append(("grad_" + names[k], grads[k]))
        fields.append(("w_" + names[k], weights[k]))
        hvp = hvps[k] if hvps[k] is not None else torch.zeros_like(x)
        fields.append(("hvp_" + names[k], hvp))
    cases.append((name, fields))


solve = torch.linalg.solve
case("solve_vector", solve, [dominant(4, 4), rand(4)])
case("solve_matrix", solve, [dominant(3, 3), rand(3, 2)])
case("solve_batch", solve, [dominant(2, 3, 3), rand(2, 3, 2)])
case("solve_batch_vectors", lambda a, b: solve(a, b), [dominant(2, 3, 3), rand(2, 3)])
# The other triangle holds values that must not be read.
case(
    "solve_triangular_lower",
    lambda t, b: torch.linalg.solve_triangular(t, b, upper=False),
    [dominant(4, 4), rand(4, 2)],
)
case(
    "solve_triangular_upper_unit",
    lambda t, b: torch.linalg.solve_triangular(t, b, upper=True, unitriangular=True),
    [dominant(4, 4), rand(4, 2)],
)
case("inv", torch.linalg.inv, [dominant(4, 4)])
case("inv_batch", torch.linalg.inv, [dominant(2, 3, 3)])
case("cholesky", torch.linalg.cholesky, [spd(4, 4)])
case("cholesky_batch", torch.linalg.cholesky, [spd(2, 3, 3)])
case(
    "cholesky_solve",
    lambda l, b: torch.cholesky_solve(b, l, upper=False),
    [lower_factor(3), rand(3, 2)],
    lower_weight=True,
)
case("det", torch.linalg.det, [rand(4, 4)])
case("det_batch", torch.linalg.det, [rand(2, 3, 3)])
case("slogdet", lambda a: torch.linalg.slogdet(a)[1], [-dominant(4, 4)])
case("logdet", torch.logdet, [spd(4, 4)], symmetric_weight=True)
case("trace", torch.trace, [rand(4, 4)])
case("diagonal", torch.diagonal, [rand(4, 4)])
case("diag", torch.diag, [rand(4)])
case("outer", torch.outer, [rand(3), rand(4)])
# Phase 2. eigh: the input symmetric (both read the lower triangle; both gradients are
# symmetric), second derivatives along symmetric weights.
case("eigvalsh", torch.linalg.eigvalsh, [separated(4, 4)], symmetric_weight=True)
case("eigvalsh_batch", torch.linalg.eigvalsh, [separated(2, 3, 3)], symmetric_weight=True)
case("eigh_vectors", eigenvectors, [separated(4, 4)], symmetric_weight=True)
case("eigh_vectors_batch", eigenvectors, [separated(2, 3, 3)], symmetric_weight=True)
case("qr_q", qr_q, [tall(5, 3)])
case("qr_r", qr_r, [tall(5, 3)])
case("qr_square", qr_q, [tall(3, 3)])
case("qr_batch_r", qr_r, [tall(2, 4, 2)])
lstsq = lambda a, b: torch.linalg.lstsq(a, b).solution
case("lstsq_vector", lambda a, b: lstsq(a, b.unsqueeze(-1)).squeeze(-1), [tall(5, 3), rand(5)])
case("lstsq_matrix", lstsq, [tall(4, 3), rand(4, 2)])
case("lstsq_batch", lstsq, [tall(2, 4, 2), rand(2, 4, 3)])
case("matrix_exp", torch.linalg.matrix_exp, [rand(4, 4) * 2])
case("matrix_exp_small", torch.linalg.matrix_exp, [rand(3, 3) * 0.01])
case("matrix_exp_batch", torch.linalg.matrix_exp, [rand(2, 3, 3)])

with open("tests/data/linalg_reference.txt", "w") as f:
    f.write(
        "# PyTorch {} (tests/data/linalg_reference.py): values, gradients and "
        "second derivatives of the linear-algebra operations\n".format(torch.__version__)
    )
    for name, fields in cases:
        f.write("case {}\n".format(name))
        for field, value in fields:
            values = value.detach().reshape(-1).tolist()
            f.write(field + "".join(" {:.17g}".format(v) for v in values) + "\n")
        f.write("end\n")
