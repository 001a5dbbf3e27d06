"""kl_divergence across families against torch.distributions: the 40 pairs that complete PyTorch's registry (closed
forms, pairs that are inf only where p's support leaves q's, and pairs that are always inf), with float64
parameters that broadcast and include the edges (alpha at 1 and 2, intervals touching and leaving q's support, a
Bernoulli at 0 and 1); values (inf and NaN where torch has them) and gradients where torch's are finite."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
POS = RNG.uniform(0.6, 2.5, (3, 4))  # p's positive parameters: the batch (3, 4)
POS2 = RNG.uniform(0.6, 2.5, (3, 4))
REAL = RNG.standard_normal((3, 4))
Q_POS = RNG.uniform(0.6, 2.5, (4,))  # q's parameters, broadcast against p's
Q_POS_COL = RNG.uniform(0.6, 2.5, (3, 1))
Q_REAL = RNG.standard_normal((4,))
PROBS = RNG.uniform(0.1, 0.9, (3, 4))
ALPHA = np.array([[0.5, 1.0, 1.5, 2.0], [2.5, 3.0, 4.0, 6.0]])  # Pareto's alpha: no mean to 1, no variance to 2
SCALE = np.array([[0.5, 1.0, 1.5, 2.0], [0.8, 1.2, 0.6, 2.2]])


def _d(lib):
    return lib.distributions


# name: (build(distributions, *params) -> (p, q), params); p's parameters have the whole batch shape where torch
# masks its result by p's alone (it indexes the result with p's mask in place)
CASES = {
    "Bernoulli-Poisson": (lambda d, pr, r: (d.Bernoulli(pr), d.Poisson(r)), (PROBS, Q_POS)),
    "Bernoulli-Poisson-edges": (lambda d, pr, r: (d.Bernoulli(pr), d.Poisson(r)),
                                (np.array([0.0, 1.0, 0.3, 0.0, 1.0]), np.array([2.0, 0.0, 0.0, 0.0, 1.5]))),
    "Beta-Exponential": (lambda d, a, b, r: (d.Beta(a, b), d.Exponential(r)), (POS, POS2, Q_POS)),
    "Beta-Gamma": (lambda d, a, b, c, r: (d.Beta(a, b), d.Gamma(c, r)), (POS, POS2, Q_POS, Q_POS_COL)),
    "Beta-Normal": (lambda d, a, b, m, s: (d.Beta(a, b), d.Normal(m, s)), (POS, POS2, Q_REAL, Q_POS_COL)),
    "Exponential-Gumbel": (lambda d, r, m, s: (d.Exponential(r), d.Gumbel(m, s)), (POS, Q_REAL, Q_POS_COL)),
    "Gamma-Gumbel": (lambda d, c, r, m, s: (d.Gamma(c, r), d.Gumbel(m, s)), (POS, POS2, Q_REAL, Q_POS_COL)),
    "Gamma-Normal": (lambda d, c, r, m, s: (d.Gamma(c, r), d.Normal(m, s)), (POS, POS2, Q_REAL, Q_POS_COL)),
    "Gumbel-Normal": (lambda d, m, s, m2, s2: (d.Gumbel(m, s), d.Normal(m2, s2)), (REAL, POS, Q_REAL, Q_POS_COL)),
    "Pareto-Exponential": (lambda d, s, a, r: (d.Pareto(s, a), d.Exponential(r)), (SCALE, ALPHA, Q_POS)),
    "Pareto-Gamma": (lambda d, s, a, c, r: (d.Pareto(s, a), d.Gamma(c, r)), (SCALE, ALPHA, Q_POS, Q_POS_COL[:2])),
    "Pareto-Normal": (lambda d, s, a, m, sd: (d.Pareto(s, a), d.Normal(m, sd)), (SCALE, ALPHA, Q_REAL, Q_POS_COL[:2])),
    "Uniform-Beta": (lambda d, lo, hi, a, b: (d.Uniform(lo, hi), d.Beta(a, b)),  # leaving [0, 1] below, above; touching it
                     (np.array([[-0.1, 0.0, 0.2, 0.5], [0.0, 0.3, 0.6, 0.05]]), np.array([[0.4, 0.3, 1.0, 1.2], [1.0, 0.7, 0.9, 0.95]]),
                      Q_POS, Q_POS_COL[:2])),
    "Uniform-Gamma": (lambda d, lo, w, c, r: (d.Uniform(lo, lo + w), d.Gamma(c, r)),  # below 0, at 0
                      (np.array([[-0.5, 0.0, 0.3, 1.0], [0.2, 2.0, 0.0, 0.7]]), POS[:2], Q_POS, Q_POS_COL[:2])),
    "Uniform-Pareto": (lambda d, lo, w, s, a: (d.Uniform(lo, lo + w), d.Pareto(s, a)),  # below q's scale, at it
                       (np.array([[0.5, 1.0, 1.5, 2.0], [1.1, 2.6, 3.0, 2.5]]), POS[:2], np.array([1.0, 1.0, 1.0, 2.5]),
                        Q_POS_COL[:2])),
    "Uniform-Pareto-q-batch": (lambda d, lo, w, s, a: (d.Uniform(lo, lo + w), d.Pareto(s, a)),  # the mask is p's and q's
                               (np.array([0.5, 1.0, 1.5, 2.0]), Q_POS, np.array([[1.0], [1.6]]), POS[:2])),
}

# p's family: (build(distributions, *params), params); every q (built as below) puts no density on part of p's support
INFINITE_P = {
    "Beta": (lambda d, a, b: d.Beta(a, b), (POS, POS2)),
    "Exponential": (lambda d, r: d.Exponential(r), (POS,)),
    "Gamma": (lambda d, c, r: d.Gamma(c, r), (POS, POS2)),
    "Gumbel": (lambda d, m, s: d.Gumbel(m, s), (REAL, POS)),
    "Laplace": (lambda d, m, s: d.Laplace(m, s), (REAL, POS)),
    "Normal": (lambda d, m, s: d.Normal(m, s), (REAL, POS)),
    "Pareto": (lambda d, s, a: d.Pareto(s, a), (POS, POS2)),
    "Poisson": (lambda d, r: d.Poisson(r), (POS,)),
}
INFINITE_Q = {  # q's of a batch (2, 1, 4): torch's answer keeps p's batch shape (3, 4)
    "Bernoulli": lambda d, t: d.Bernoulli(t(np.full((2, 1, 4), 0.3))),
    "Beta": lambda d, t: d.Beta(t(np.full((2, 1, 4), 2.0)), t(np.array(3.0))),
    "Binomial": lambda d, t: d.Binomial(5, t(np.full((2, 1, 4), 0.3))),
    "Exponential": lambda d, t: d.Exponential(t(np.full((2, 1, 4), 2.0))),
    "Gamma": lambda d, t: d.Gamma(t(np.full((2, 1, 4), 2.0)), t(np.array(3.0))),
    "Pareto": lambda d, t: d.Pareto(t(np.full((2, 1, 4), 0.5)), t(np.array(3.0))),
    "Uniform": lambda d, t: d.Uniform(t(np.full((2, 1, 4), -100.0)), t(np.array(100.0))),
}
INFINITE_PAIRS = [
    ("Beta", "Pareto"), ("Exponential", "Beta"), ("Exponential", "Pareto"), ("Exponential", "Uniform"), ("Gamma", "Beta"),
    ("Gamma", "Pareto"), ("Gamma", "Uniform"), ("Gumbel", "Beta"), ("Gumbel", "Exponential"), ("Gumbel", "Gamma"),
    ("Gumbel", "Pareto"), ("Gumbel", "Uniform"), ("Laplace", "Beta"), ("Laplace", "Exponential"), ("Laplace", "Gamma"),
    ("Laplace", "Pareto"), ("Laplace", "Uniform"), ("Normal", "Beta"), ("Normal", "Exponential"), ("Normal", "Gamma"),
    ("Normal", "Pareto"), ("Normal", "Uniform"), ("Pareto", "Beta"), ("Pareto", "Uniform"), ("Poisson", "Bernoulli"),
    ("Poisson", "Binomial"),
]


def _leaves(session, arrays):
    return [session.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


def _compare(ours, theirs, leaves, t_leaves, what, rtol=1e-8, atol=1e-9):
    """Shapes, values (inf and NaN where torch's are) and the gradients of a weighted sum with respect to every
    parameter, elementwise where torch's gradient is finite (its masked entries pass 0 times their rule's local
    derivatives, which may be inf: NaN, on both sides)."""
    assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
    t_values = theirs.detach().numpy()
    np.testing.assert_allclose(ours.detach().numpy(), t_values, rtol=rtol, atol=atol, err_msg=what)
    assert ours.requires_grad == theirs.requires_grad, what
    if not theirs.requires_grad:
        return 0
    weights = np.linspace(0.5, 1.5, max(theirs.numel(), 1)).reshape(tuple(theirs.shape))
    grads = gw.grad((ours * ours._session.tensor(weights)).sum(), leaves, allow_unused=True)
    t_grads = torch.autograd.grad((theirs * torch.tensor(weights)).sum(), t_leaves, allow_unused=True)
    compared = 0
    for k, (g, t) in enumerate(zip(grads, t_grads)):
        if t is None or not t.abs().nan_to_num().sum():
            assert g is None or not np.abs(g.numpy()).sum(), f"{what}: a gradient for parameter {k} where torch has none"
            continue
        assert g is not None, f"{what}: no gradient for parameter {k}"
        finite = np.isfinite(t.numpy())
        np.testing.assert_allclose(g.numpy()[finite], t.numpy()[finite], rtol=rtol, atol=atol, err_msg=f"{what}: d/d parameter {k}")
        compared += int(finite.sum())
    return compared


@pytest.mark.parametrize("name", CASES)
def test_closed_form_kl_matches_torch(session, name):
    build, params = CASES[name]
    leaves, t_leaves = _leaves(session, params)
    p, q = build(_d(gw), *leaves)
    t_p, t_q = build(_d(torch), *t_leaves)
    ours, theirs = gw.distributions.kl_divergence(p, q), torch.distributions.kl_divergence(t_p, t_q)
    assert _compare(ours, theirs, leaves, t_leaves, f"KL {name}") > 0, f"{name}: no finite gradient compared"
    values = theirs.detach().numpy()
    assert np.isfinite(values).any()
    if name.startswith(("Pareto-", "Uniform-", "Bernoulli-Poisson-edges")):
        assert np.isinf(values).any(), f"{name}: the edges should reach torch's inf"


@pytest.mark.parametrize("pair", INFINITE_PAIRS, ids="-".join)
def test_infinite_kl_matches_torch(session, pair):
    p_name, q_name = pair
    build, params = INFINITE_P[p_name]
    leaves, t_leaves = _leaves(session, params)
    ours = gw.distributions.kl_divergence(build(_d(gw), *leaves), INFINITE_Q[q_name](_d(gw), session.tensor))
    theirs = torch.distributions.kl_divergence(build(_d(torch), *t_leaves), INFINITE_Q[q_name](_d(torch), torch.tensor))
    _compare(ours, theirs, leaves, t_leaves, f"KL {p_name}-{q_name}")
    assert np.isposinf(ours.detach().numpy()).all() and tuple(ours.shape) == (3, 4)


def test_masked_rules_broadcast_where_torch_cannot_index(session):
    """torch masks the Pareto rules by p's alpha in place, which fails where q's batch is the larger; here the rules
    broadcast, to torch's own answer for p expanded to the joint batch shape."""
    alpha, scale, rate = np.array([0.8, 1.5, 2.5, 4.0]), np.array([1.0, 0.5, 2.0, 1.5]), Q_POS_COL * np.ones((3, 4))
    T = torch.distributions
    for q_family, q_params in (("Exponential", (rate,)), ("Gamma", (rate, rate.T[:1].T)), ("Normal", (rate - 1, rate))):
        with pytest.raises(IndexError):
            T.kl_divergence(T.Pareto(torch.tensor(scale), torch.tensor(alpha)), getattr(T, q_family)(*map(torch.tensor, q_params)))
        expanded = T.Pareto(torch.tensor(scale).expand(3, 4), torch.tensor(alpha).expand(3, 4))
        expected = T.kl_divergence(expanded, getattr(T, q_family)(*map(torch.tensor, q_params)))
        d = gw.distributions
        ours = d.kl_divergence(d.Pareto(session.tensor(scale), session.tensor(alpha)), getattr(d, q_family)(*map(session.tensor, q_params)))
        np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-10, err_msg=q_family)


def test_registry_covers_torchs_pairs():
    theirs = {(p.__name__, q.__name__) for p, q in torch.distributions.kl._KL_REGISTRY}
    ours = {(p.__name__, q.__name__) for p, q in gw.distributions.kl._KL_REGISTRY}
    assert theirs <= ours, sorted(theirs - ours)
    # every pair tested here is one of torch's
    tested = {tuple(name.split("-")[:2]) for name in CASES} | set(INFINITE_PAIRS)
    assert tested <= theirs and len(tested) == 40
