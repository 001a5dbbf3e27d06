"""More of gradwire.distributions against torch.distributions, with the same float64 parameters: log_prob, cdf,
icdf, entropy and the moments with their gradients; kl_divergence; constraints and transforms; reprs and the
validation errors; the shapes of samples and the statistics of large seeded draws (loose bounds: the session's
generator is not PyTorch's); reparameterized gradients against closed forms."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import gradwire as gw
from gradwire.distributions import Distribution

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
LOC = RNG.standard_normal((3, 4))
SCALE = RNG.uniform(0.5, 2.0, (3, 4))
RATE = RNG.uniform(0.5, 3.0, (3, 4))
PROBS = RNG.uniform(0.1, 0.9, (3, 4))
LOGITS = RNG.standard_normal((3, 5))
REAL = RNG.standard_normal((2, 3, 4)) * 2
POSITIVE = RNG.uniform(0.1, 4.0, (2, 3, 4))
UNIT = RNG.uniform(0.05, 0.95, (2, 3, 4))
COUNTS = RNG.integers(0, 7, (2, 3, 4)).astype(np.float64)
CONC = RNG.uniform(0.5, 3.0, (3, 4))
A = RNG.standard_normal((3, 3, 3))
SPD = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)
TRIL = np.linalg.cholesky(SPD)
MVN_LOC = RNG.standard_normal((3, 3))
MVN_VALUES = RNG.standard_normal((2, 3, 3))
TEMPERATURE = np.array(0.7)
SIMPLEX = RNG.dirichlet(np.ones(5), (2, 3))
MULTINOMIAL = np.stack([RNG.multinomial(6, np.ones(5) / 5) for _ in range(6)]).reshape(2, 3, 5).astype(np.float64)
ONE_HOT = np.eye(5)[RNG.integers(0, 5, (2, 3))]


def _dist(lib):
    return lib.distributions


# name: (build(lib, *params), params, methods, value for log_prob/cdf, value for icdf)
FAMILIES = {
    "Normal": (lambda lib, a, b: _dist(lib).Normal(a, b), (LOC, SCALE), "log_prob cdf icdf entropy mean mode variance stddev", REAL),
    "Uniform": (lambda lib, a, b: _dist(lib).Uniform(a, a + b), (LOC, SCALE), "log_prob cdf icdf entropy mean variance stddev",
                LOC + SCALE * UNIT),
    "Exponential": (lambda lib, r: _dist(lib).Exponential(r), (RATE,), "log_prob cdf icdf entropy mean mode variance stddev", POSITIVE),
    "Laplace": (lambda lib, a, b: _dist(lib).Laplace(a, b), (LOC, SCALE), "log_prob cdf icdf entropy mean mode variance stddev", REAL),
    "Cauchy": (lambda lib, a, b: _dist(lib).Cauchy(a, b), (LOC, SCALE), "log_prob cdf icdf entropy mean mode variance", REAL),
    "HalfNormal": (lambda lib, b: _dist(lib).HalfNormal(b), (SCALE,), "log_prob cdf icdf entropy mean mode variance", POSITIVE),
    "HalfCauchy": (lambda lib, b: _dist(lib).HalfCauchy(b), (SCALE,), "log_prob cdf icdf entropy mean mode variance", POSITIVE),
    "LogNormal": (lambda lib, a, b: _dist(lib).LogNormal(a, b), (LOC, SCALE), "log_prob cdf icdf entropy mean mode variance", POSITIVE),
    "Gumbel": (lambda lib, a, b: _dist(lib).Gumbel(a, b), (LOC, SCALE), "log_prob cdf icdf entropy mean mode variance stddev", REAL),
    "Geometric-probs": (lambda lib, p: _dist(lib).Geometric(probs=p), (PROBS,), "log_prob entropy mean mode variance", COUNTS),
    "Geometric-logits": (lambda lib, x: _dist(lib).Geometric(logits=x), (LOC,), "log_prob entropy mean variance", COUNTS),
    "Poisson": (lambda lib, r: _dist(lib).Poisson(r), (RATE * 2,), "log_prob mean mode variance", COUNTS),
    "Binomial-probs": (lambda lib, p: _dist(lib).Binomial(8, probs=p), (PROBS,), "log_prob entropy mean mode variance", COUNTS),
    "Binomial-logits": (lambda lib, x: _dist(lib).Binomial(8, logits=x), (LOC,), "log_prob entropy mean mode variance", COUNTS),
    "Multinomial": (lambda lib, x: _dist(lib).Multinomial(6, logits=x), (LOGITS,), "log_prob entropy mean variance", MULTINOMIAL),
    "OneHotCategorical": (lambda lib, x: _dist(lib).OneHotCategorical(logits=x), (LOGITS,), "log_prob entropy mean mode variance", ONE_HOT),
    "MVN-scale_tril": (lambda lib, m, t: _dist(lib).MultivariateNormal(m, scale_tril=t), (MVN_LOC, TRIL),
                       "log_prob entropy mean mode variance covariance_matrix precision_matrix", MVN_VALUES),
    "MVN-covariance": (lambda lib, m, s: _dist(lib).MultivariateNormal(m, covariance_matrix=s), (MVN_LOC, SPD),
                       "log_prob entropy mean variance scale_tril precision_matrix", MVN_VALUES),
    "MVN-precision": (lambda lib, m, s: _dist(lib).MultivariateNormal(m[0], precision_matrix=s), (MVN_LOC, SPD),
                      "log_prob entropy variance scale_tril covariance_matrix", MVN_VALUES),
    "LowRankMVN": (lambda lib, m, w, d: _dist(lib).LowRankMultivariateNormal(m, w[..., :2], d[:, :3]), (MVN_LOC, A, SCALE),
                   "log_prob entropy mean variance scale_tril covariance_matrix precision_matrix", MVN_VALUES),
    "Independent": (lambda lib, a, b: _dist(lib).Independent(_dist(lib).Normal(a, b), 1), (LOC, SCALE), "log_prob entropy mean variance", REAL),
    "Transformed-affine-tanh": (
        lambda lib, a, b: _dist(lib).TransformedDistribution(
            _dist(lib).Normal(a, b), [_dist(lib).AffineTransform(0.5, 2.0), _dist(lib).TanhTransform()]),
        (LOC, SCALE), "log_prob cdf icdf", UNIT * 1.8 - 0.9),
    "Transformed-sigmoid-affine": (
        lambda lib, a, b: _dist(lib).TransformedDistribution(
            _dist(lib).Normal(a, b), _dist(lib).ComposeTransform([_dist(lib).SigmoidTransform(), _dist(lib).AffineTransform(a * 0 + 1, -b)])),
        (LOC, SCALE), "log_prob cdf icdf", 1 - SCALE * UNIT),
    "RelaxedBernoulli": (lambda lib, t, p: _dist(lib).RelaxedBernoulli(t, probs=p), (TEMPERATURE, PROBS), "log_prob", UNIT),
    "RelaxedOneHotCategorical": (lambda lib, t, x: _dist(lib).RelaxedOneHotCategorical(t, logits=x), (TEMPERATURE, LOGITS), "log_prob",
                                 SIMPLEX),
    "MixtureSameFamily": (
        lambda lib, x, a, b: _dist(lib).MixtureSameFamily(_dist(lib).Categorical(logits=x[:, :4]), _dist(lib).Normal(a, b)),
        (LOGITS, LOC, SCALE), "log_prob cdf mean variance", REAL[..., :1]),
    "Gamma": (lambda lib, a, r: _dist(lib).Gamma(a, r), (CONC, RATE), "log_prob entropy mean mode variance", POSITIVE),
    "Chi2": (lambda lib, k: _dist(lib).Chi2(k), (CONC * 2,), "log_prob entropy mean mode variance", POSITIVE),
    "Beta": (lambda lib, a, b: _dist(lib).Beta(a, b), (CONC, RATE), "log_prob entropy mean mode variance", UNIT),
    "Dirichlet": (lambda lib, c: _dist(lib).Dirichlet(c), (np.concatenate([CONC, RATE[:, :1]], 1),), "log_prob entropy mean mode variance",
                  SIMPLEX),
    "StudentT": (lambda lib, k, a, b: _dist(lib).StudentT(k * 2, a, b), (CONC, LOC, SCALE), "log_prob entropy mean mode variance", REAL),
    "Pareto": (lambda lib, b, a: _dist(lib).Pareto(b, a), (SCALE, CONC + 1.5), "log_prob cdf icdf entropy mean mode variance",
               SCALE + POSITIVE),
    "Weibull": (lambda lib, b, k: _dist(lib).Weibull(b, k), (SCALE, CONC + 1), "log_prob cdf icdf entropy mean mode variance", POSITIVE),
    "InverseGamma": (lambda lib, a, r: _dist(lib).InverseGamma(a, r), (CONC + 2, RATE), "log_prob entropy mean mode variance",
                     POSITIVE),
    "NegativeBinomial-probs": (lambda lib, n, p: _dist(lib).NegativeBinomial(n, probs=p), (CONC, PROBS), "log_prob mean mode variance",
                               COUNTS),
    "NegativeBinomial-logits": (lambda lib, n, x: _dist(lib).NegativeBinomial(n, logits=x), (CONC, LOC), "log_prob mean variance",
                                COUNTS),
}


GAMMA_FAMILY = ("Gamma", "Chi2", "Beta", "Dirichlet", "StudentT", "InverseGamma", "NegativeBinomial")


def _leaves(session, arrays):
    return [session.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


def _compare(ours, theirs, leaves, t_leaves, what, rtol=1e-9, atol=1e-11):
    """Values (NaN and inf where torch has them) and, where torch's are finite and differentiable, the gradients of
    a weighted sum with respect to every parameter."""
    assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
    t_values = theirs.detach().numpy()
    np.testing.assert_allclose(ours.detach().numpy(), t_values, rtol=rtol, atol=atol, err_msg=what)
    if not theirs.requires_grad or not np.isfinite(t_values).all():
        return
    weights = np.linspace(0.5, 1.5, max(theirs.numel(), 1)).reshape(tuple(theirs.shape))
    grads = gw.grad((ours * ours._session.tensor(weights)).sum(), leaves, retain_graph=True, allow_unused=True)
    t_grads = torch.autograd.grad((theirs * torch.tensor(weights)).sum(), t_leaves, retain_graph=True, allow_unused=True)
    for k, (g, t) in enumerate(zip(grads, t_grads)):
        if t is None or not t.abs().sum():
            assert g is None or not np.abs(g.numpy()).sum(), f"{what}: a gradient for parameter {k} where torch has none"
        else:
            assert g is not None, f"{what}: no gradient for parameter {k}"
            np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=rtol, atol=atol, err_msg=f"{what}: d/d parameter {k}")


def _compare_transform(ours, theirs, constraint, leaves, t_leaves, what):
    """A registry's transform against torch's: its values inside the constraint, and (bijective) its log|J| and inverse."""
    y, t_y = ours(leaves[0]), theirs(t_leaves[0])
    _compare(y, t_y, leaves, t_leaves, what)
    assert bool(constraint.check(y).all().item())
    if theirs.bijective:
        _compare(ours.log_abs_det_jacobian(leaves[0], y), theirs.log_abs_det_jacobian(t_leaves[0], t_y), leaves, t_leaves, f"{what} log|J|")
        _compare(ours.inv(y), theirs.inv(t_y), leaves, t_leaves, f"{what} inverse")


def _method_outputs(session, ours, theirs, method, value, unit=UNIT):
    """A distribution's ``method`` on both sides: log_prob and cdf at ``value``, icdf at the probabilities ``unit``,
    entropy, else the attribute (mean, variance, ...)."""
    if method in ("log_prob", "cdf"):
        return getattr(ours, method)(session.tensor(value)), getattr(theirs, method)(torch.tensor(value))
    if method == "icdf":
        return ours.icdf(session.tensor(unit)), theirs.icdf(torch.tensor(unit))
    if method == "entropy":
        return ours.entropy(), theirs.entropy()
    return getattr(ours, method), getattr(theirs, method)


@pytest.mark.parametrize("name", FAMILIES)
def test_family_matches_torch(session, name):
    build, params, methods, value = FAMILIES[name]
    leaves, t_leaves = _leaves(session, params)
    ours, theirs = build(gw, *leaves), build(torch, *t_leaves)
    assert (tuple(ours.batch_shape), tuple(ours.event_shape)) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    assert ours.has_rsample == theirs.has_rsample
    assert repr(ours.support) == repr(theirs.support) or name in ("Uniform", "Transformed-sigmoid-affine")
    for method in methods.split():
        out, t_out = _method_outputs(session, ours, theirs, method, value)
        # (torch's Multinomial entropy takes lgamma(n + 1) of an int64 tensor: in float32)
        # (and digamma's derivative on the server agrees with torch's to about 1e-9)
        rtol = 1e-7 if name == "Multinomial" and method == "entropy" else 1e-8 if name in GAMMA_FAMILY else 1e-9
        _compare(out, t_out, leaves, t_leaves, f"{name}.{method}", rtol=rtol, atol=1e-9 if name in GAMMA_FAMILY else 1e-11)
    if "entropy" in methods:
        _compare(ours.perplexity(), theirs.perplexity(), leaves, t_leaves, f"{name}.perplexity", rtol=1e-7, atol=1e-9)


SAMPLED = {  # name: (build(lib), sample size, tolerance on the mean and on the variance, in standard errors)
    "Normal": lambda lib: _dist(lib).Normal(lib.tensor([0.0, 5.0]), lib.tensor([1.0, 0.1])),
    "Uniform": lambda lib: _dist(lib).Uniform(lib.tensor([-1.0, 2.0]), lib.tensor([1.0, 2.5])),
    "Exponential": lambda lib: _dist(lib).Exponential(lib.tensor([0.5, 4.0])),
    "Laplace": lambda lib: _dist(lib).Laplace(lib.tensor([1.0, -2.0]), lib.tensor([0.5, 2.0])),
    "HalfNormal": lambda lib: _dist(lib).HalfNormal(lib.tensor([0.5, 2.0])),
    "LogNormal": lambda lib: _dist(lib).LogNormal(lib.tensor([0.0, 1.0]), lib.tensor([0.25, 0.5])),
    "Gumbel": lambda lib: _dist(lib).Gumbel(lib.tensor([0.0, 3.0]), lib.tensor([1.0, 0.5])),
    "Geometric": lambda lib: _dist(lib).Geometric(lib.tensor([0.2, 0.7])),
    "Poisson": lambda lib: _dist(lib).Poisson(lib.tensor([0.0, 0.5, 7.0, 80.0])),
    "Binomial": lambda lib: _dist(lib).Binomial(lib.tensor([10.0, 3.0, 500.0]), lib.tensor([0.3, 0.9, 0.5])),
    "Multinomial": lambda lib: _dist(lib).Multinomial(7, lib.tensor([0.2, 0.5, 0.3])),
    "OneHotCategorical": lambda lib: _dist(lib).OneHotCategorical(lib.tensor([0.2, 0.5, 0.3])),
    "MultivariateNormal": lambda lib: _dist(lib).MultivariateNormal(lib.tensor([1.0, -1.0]), lib.tensor([[2.0, 0.6], [0.6, 0.5]])),
    "LowRankMVN": lambda lib: _dist(lib).LowRankMultivariateNormal(lib.tensor([1.0, -1.0, 0.0]), lib.tensor([[1.0], [0.5], [-1.0]]),
                                                                   lib.tensor([0.5, 1.0, 0.2])),
    "MixtureSameFamily": lambda lib: _dist(lib).MixtureSameFamily(_dist(lib).Categorical(lib.tensor([0.3, 0.7])),
                                                                  _dist(lib).Normal(lib.tensor([-2.0, 2.0]), lib.tensor([0.5, 1.0]))),
    "Gamma": lambda lib: _dist(lib).Gamma(lib.tensor([0.3, 1.0, 4.5]), lib.tensor([1.0, 2.0, 0.5])),
    "Chi2": lambda lib: _dist(lib).Chi2(lib.tensor([1.0, 6.0])),
    "Beta": lambda lib: _dist(lib).Beta(lib.tensor([0.5, 2.0]), lib.tensor([0.5, 5.0])),
    "Dirichlet": lambda lib: _dist(lib).Dirichlet(lib.tensor([0.5, 2.0, 4.0])),
    "StudentT": lambda lib: _dist(lib).StudentT(lib.tensor([5.0, 30.0]), lib.tensor([1.0, -1.0]), lib.tensor([2.0, 0.5])),
    "Pareto": lambda lib: _dist(lib).Pareto(lib.tensor([1.0, 0.5]), lib.tensor([6.0, 9.0])),
    "Weibull": lambda lib: _dist(lib).Weibull(lib.tensor([1.0, 3.0]), lib.tensor([0.8, 4.0])),
    "InverseGamma": lambda lib: _dist(lib).InverseGamma(lib.tensor([6.0, 9.0]), lib.tensor([1.0, 3.0])),
    "NegativeBinomial": lambda lib: _dist(lib).NegativeBinomial(lib.tensor([3.0, 0.5]), lib.tensor([0.4, 0.8])),
}


@pytest.mark.parametrize("name", SAMPLED)
def test_samples_have_torchs_shapes_and_the_distributions_moments(session, name):
    session.manual_seed(11)
    ours, theirs = SAMPLED[name](gw), SAMPLED[name](torch)
    small, t_small = ours.sample((2, 3)), theirs.sample((2, 3))
    assert tuple(small.shape) == tuple(t_small.shape) and str(small.dtype) == str(t_small.dtype)
    assert tuple(ours.sample().shape) == tuple(theirs.sample().shape)
    n = 20000
    drawn = ours.sample((n,)).numpy().astype(np.float64)
    assert not np.isnan(drawn).any()
    assert bool(theirs.support.check(torch.tensor(drawn)).all()), f"{name}: draws outside the support"
    mean, variance = theirs.mean.double().numpy(), theirs.variance.double().numpy()
    # within 5 standard errors (the variance's from the draw's 4th central moment)
    np.testing.assert_array_less(np.abs(drawn.mean(0) - mean), 5 * np.sqrt(variance / n) + 1e-9, err_msg=f"{name} mean")
    fourth = ((drawn - drawn.mean(0)) ** 4).mean(0)
    np.testing.assert_array_less(np.abs(drawn.var(0) - variance), 5 * np.sqrt(fourth / n) + 1e-9, err_msg=f"{name} variance")


def test_discrete_samples_follow_the_pmf(session):
    session.manual_seed(3)
    n = 20000
    for build, values in ((lambda lib: _dist(lib).Poisson(lib.tensor(2.5)), np.arange(12.0)),
                          (lambda lib: _dist(lib).Binomial(6, lib.tensor(0.35)), np.arange(7.0)),
                          (lambda lib: _dist(lib).Geometric(lib.tensor(0.4)), np.arange(12.0))):
        drawn = build(gw).sample((n,)).numpy()
        assert np.array_equal(drawn, np.floor(drawn))
        freq = (drawn[:, None] == values).mean(0)
        pmf = build(torch).log_prob(torch.tensor(values, dtype=torch.float32)).exp().double().numpy()
        np.testing.assert_array_less(np.abs(freq - pmf), 5 * np.sqrt(pmf * (1 - pmf) / n) + 1e-3)
    # unvalidated arguments outside the support: NaN draws (never a sampler that does not finish)
    nan = math.nan
    for dist in (gw.distributions.Poisson(session.tensor([nan, 2.0, -1.0, math.inf]), validate_args=False),
                 gw.distributions.Gamma(session.tensor([nan, 2.0, -1.0, math.inf]), 1.0, validate_args=False),
                 gw.distributions.Binomial(session.tensor([nan, 2.0, -1.0, 4.0]), session.tensor([0.5, 0.5, 0.5, 1.5]),
                                           validate_args=False)):
        drawn = dist.sample((3,)).numpy()
        assert np.isnan(drawn[:, [0, 2, 3]]).all() and np.isfinite(drawn[:, 1]).all()
    # a relaxed Bernoulli draw is above 1/2 exactly when its logistic noise is above -logits: with probability probs
    relaxed = gw.distributions.RelaxedBernoulli(session.tensor(0.3), session.tensor([0.2, 0.9])).sample((n,)).numpy()
    assert ((relaxed > 0) & (relaxed < 1)).all()
    np.testing.assert_allclose((relaxed > 0.5).mean(0), [0.2, 0.9], atol=0.015)


def test_rsample_gradients_are_the_expectations_derivatives(session):
    """d/dtheta E[f(x)] by rsample, against the closed form, over a large draw (float64)."""
    session.manual_seed(5)
    n = 40000
    loc, scale = session.tensor([0.5, -1.0], dtype="float64", requires_grad=True), session.tensor([1.5, 0.5], dtype="float64", requires_grad=True)
    x = gw.distributions.Normal(loc, scale).rsample((n,))
    g_loc, g_scale = gw.grad((x * x).mean(0).sum(), (loc, scale))  # E x^2 = loc^2 + scale^2
    np.testing.assert_allclose(g_loc.numpy(), 2 * loc.detach().numpy(), atol=0.05)
    np.testing.assert_allclose(g_scale.numpy(), 2 * scale.detach().numpy(), atol=0.05)
    rate = session.tensor([0.5, 2.0], dtype="float64", requires_grad=True)
    (g_rate,) = gw.grad(gw.distributions.Exponential(rate).rsample((n,)).mean(0).sum(), (rate,))  # E x = 1 / rate
    np.testing.assert_allclose(g_rate.numpy(), -1 / rate.detach().numpy() ** 2, rtol=0.05)
    tril = session.tensor(TRIL[0], requires_grad=True)
    mvn = gw.distributions.MultivariateNormal(session.tensor(MVN_LOC[0]), scale_tril=tril)
    y = mvn.rsample((n,))
    (g_tril,) = gw.grad((y * y).sum(-1).mean(), (tril,))  # E |y|^2 = |loc|^2 + |L|_F^2
    np.testing.assert_allclose(g_tril.numpy(), np.tril(2 * TRIL[0]), atol=0.15)
    for build, closed_form in ((lambda a, b: gw.distributions.Laplace(a, b), lambda a, b: (1.0, 0.0)),
                               (lambda a, b: gw.distributions.Gumbel(a, b), lambda a, b: (1.0, 0.5772156649)),
                               (lambda a, b: gw.distributions.LogNormal(a, b), lambda a, b: (math.exp(a + b * b / 2), b * math.exp(a + b * b / 2)))):
        a, b = session.tensor(0.3, dtype="float64", requires_grad=True), session.tensor(0.4, dtype="float64", requires_grad=True)
        g_a, g_b = gw.grad(build(a, b).rsample((n,)).mean(), (a, b))
        np.testing.assert_allclose([g_a.item(), g_b.item()], closed_form(0.3, 0.4), atol=0.03)
    temperature = session.tensor(0.5, dtype="float64")
    logits = session.tensor([0.0, 1.0, -1.0], dtype="float64", requires_grad=True)
    soft = gw.distributions.RelaxedOneHotCategorical(temperature, logits=logits).rsample((n,))
    np.testing.assert_allclose(soft.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    (g_logits,) = gw.grad(soft[:, 1].mean(), (logits,))
    assert g_logits.numpy()[1] > 0 > g_logits.numpy()[0] and g_logits.numpy()[2] < 0  # more weight on 1: more of 1



def test_gamma_family_rsample_differentiates_draws_implicitly(session):
    """A Gamma draw's derivative in its concentration at a fixed quantile (the implicit one, as PyTorch's), per draw
    against torch's own (an approximation good to about 1e-4) and in expectation against closed forms."""
    session.manual_seed(9)
    alpha = session.tensor([0.05, 0.4, 1.0, 3.0, 40.0, 900.0], dtype="float64", requires_grad=True)
    x = gw.distributions.Gamma(alpha, session.tensor(1.0, dtype="float64")).rsample((50,))
    (slopes,) = gw.grad(x.sum(), (alpha,), retain_graph=True)
    per_draw = torch._standard_gamma_grad(torch.tensor(alpha.detach().numpy()).expand(50, 6), torch.tensor(x.detach().numpy()))
    np.testing.assert_allclose(slopes.numpy(), per_draw.sum(0).numpy(), rtol=2e-4)
    n = 20000
    for build, objective, closed_form in (
        (lambda a, b: gw.distributions.Gamma(a, b), lambda x: x, lambda a, b: (1 / b, -a / b ** 2)),  # E x = a / b
        (lambda a, b: gw.distributions.Gamma(a, b), lambda x: x.log(), lambda a, b: (float(torch.polygamma(1, torch.tensor(a))), -1 / b)),
        (lambda a, b: gw.distributions.Beta(a, b), lambda x: x, lambda a, b: (b / (a + b) ** 2, -a / (a + b) ** 2)),
        (lambda a, b: gw.distributions.StudentT(a + 2, 0.0, b), lambda x: x * x,  # E x^2 = b^2 df / (df - 2)
         lambda a, b: (-2 * b * b / a ** 2, 2 * b * (a + 2) / a)),
    ):
        a, b = session.tensor(2.5, dtype="float64", requires_grad=True), session.tensor(1.5, dtype="float64", requires_grad=True)
        g_a, g_b = gw.grad(objective(build(a, b).rsample((n,))).mean(), (a, b))
        np.testing.assert_allclose([g_a.item(), g_b.item()], closed_form(2.5, 1.5), rtol=0.06, atol=0.01)
    concentration = session.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    (g,) = gw.grad(gw.distributions.Dirichlet(concentration).rsample((n,))[:, 0].mean(), (concentration,))
    np.testing.assert_allclose(g.numpy(), [5 / 36, -1 / 36, -1 / 36], atol=0.01)  # E x_0 = c_0 / sum c
    df = session.tensor([4.0], dtype="float64", requires_grad=True)
    (g_df,) = gw.grad(gw.distributions.Chi2(df).rsample((n,)).mean(), (df,))  # E x = df
    np.testing.assert_allclose(g_df.numpy(), [1.0], rtol=0.05)


KL_PAIRS = {  # name: (build p, build q) from the leaves LOC, SCALE, RATE, PROBS, CONC, LOGITS, TRIL
    "Normal": ("Normal(l, s)", "Normal(l.flip(0), s.flip(1))"),
    "Bernoulli": ("Bernoulli(p)", "Bernoulli(p.flip(0))"),
    "Categorical": ("Categorical(logits=x)", "Categorical(logits=x.flip(0))"),
    "OneHotCategorical": ("OneHotCategorical(logits=x)", "OneHotCategorical(logits=x.flip(1))"),
    "Uniform": ("Uniform(l, l + s)", "Uniform(l - r, l + s + r)"),
    "Uniform-inf": ("Uniform(l, l + s)", "Uniform(l + 0.1, l + s + r)"),
    "Exponential": ("Exponential(r)", "Exponential(s)"),
    "Laplace": ("Laplace(l, s)", "Laplace(l.flip(0), r)"),
    "Cauchy": ("Cauchy(l, s)", "Cauchy(l.flip(0), r)"),
    "Gumbel": ("Gumbel(l, s)", "Gumbel(l.flip(0), r)"),
    "Geometric": ("Geometric(p)", "Geometric(p.flip(1))"),
    "Poisson": ("Poisson(r)", "Poisson(s)"),
    "Binomial": ("Binomial(5, p)", "Binomial(5, p.flip(0))"),
    "HalfNormal": ("HalfNormal(s)", "HalfNormal(r)"),
    "LogNormal": ("LogNormal(l, s)", "LogNormal(l.flip(0), r)"),
    "Independent": ("Independent(Normal(l, s), 1)", "Independent(Normal(l.flip(0), r), 1)"),
    "MultivariateNormal": ("MultivariateNormal(l[:, :3], scale_tril=t)", "MultivariateNormal(l[:, 1:], scale_tril=t.flip(0))"),
    "Gamma": ("Gamma(c, r)", "Gamma(s, c)"),
    "Beta": ("Beta(c, r)", "Beta(s, c)"),
    "Dirichlet": ("Dirichlet(c)", "Dirichlet(c.flip(0))"),
    "Uniform-Normal": ("Uniform(l, l + s)", "Normal(l.flip(0), r)"),
    "Uniform-Exponential": ("Uniform(s, s + r)", "Exponential(r)"),
    "Uniform-Gumbel": ("Uniform(l, l + s)", "Gumbel(l.flip(0), r)"),
    "Exponential-Normal": ("Exponential(r)", "Normal(l, s)"),
    "Exponential-Gamma": ("Exponential(r)", "Gamma(c, s)"),
    "Gamma-Exponential": ("Gamma(c, r)", "Exponential(s)"),
    "Laplace-Normal": ("Laplace(l, s)", "Normal(l.flip(0), r)"),
    "Normal-Laplace": ("Normal(l, s)", "Laplace(l.flip(0), r)"),
    "Normal-Gumbel": ("Normal(l, s)", "Gumbel(l.flip(0), r)"),
    "Beta-Uniform": ("Beta(c, r)", "Uniform(l * 0 - 0.5, l * 0 + 1.5)"),
    "Pareto": ("Pareto(s, c)", "Pareto(s.flip(0), r)"),
    "LowRankMVN": ("LowRankMultivariateNormal(l[:, :3], x[:, :3, None] * x[:, None, 3:], s[:, :3])",
                   "LowRankMultivariateNormal(l[:, 1:], t[..., :1], r[:, 1:])"),
    "LowRankMVN-MVN": ("LowRankMultivariateNormal(l[:, :3], x[:, :3, None] * x[:, None, 3:], s[:, :3])",
                       "MultivariateNormal(l[:, 1:], scale_tril=t)"),
    "MVN-LowRankMVN": ("MultivariateNormal(l[:, 1:], scale_tril=t)", "LowRankMultivariateNormal(l[:, :3], t[..., :2], r[:, :3])"),
}


@pytest.mark.parametrize("name", KL_PAIRS)
def test_kl_divergence_matches_torch(session, name):
    arrays = (LOC, SCALE, RATE, PROBS, CONC, LOGITS, TRIL)
    leaves, t_leaves = _leaves(session, arrays)

    def build(lib, text, values):
        scope = dict(zip("lsrpcxt", values), **{k: getattr(_dist(lib), k) for k in _dist(torch).__all__ if hasattr(_dist(lib), k)})
        return eval(text, scope)  # noqa: S307 - the table's own expressions

    p_text, q_text = KL_PAIRS[name]
    ours = gw.distributions.kl_divergence(build(gw, p_text, leaves), build(gw, q_text, leaves))
    theirs = torch.distributions.kl_divergence(build(torch, p_text, t_leaves), build(torch, q_text, t_leaves))
    loose = any(family in name for family in GAMMA_FAMILY)  # digamma's derivative: agreeing to about 1e-9
    _compare(ours, theirs, leaves, t_leaves, f"KL {name}", rtol=1e-8 if loose else 1e-9, atol=1e-9 if loose else 1e-11)
    if name == "Uniform-inf":
        assert np.isinf(ours.detach().numpy()).all()


def test_kl_dispatch_and_registration(session):
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Cauchy and q type Normal"):
        gw.distributions.kl_divergence(gw.distributions.Cauchy(0.0, 1.0), gw.distributions.Normal(0.0, 1.0))

    class Wide(gw.distributions.Normal):
        pass

    # a subclass uses its parents' rule until one of its own is registered, which then wins
    p, q = Wide(session.tensor(0.0), session.tensor(2.0)), gw.distributions.Normal(session.tensor(1.0), session.tensor(1.0))
    np.testing.assert_allclose(gw.distributions.kl_divergence(p, q).item(), 0.5 * (4 + 1 - 1 - math.log(4)), rtol=1e-6)
    gw.distributions.register_kl(Wide, gw.distributions.Normal)(lambda p, q: p.loc * 0 + 42.0)
    assert gw.distributions.kl_divergence(p, q).item() == 42.0
    assert gw.distributions.kl_divergence(q, q).item() == 0.0
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass"):
        gw.distributions.register_kl(int, gw.distributions.Normal)
    gw.distributions.register_kl(gw.distributions.Normal, Wide)(lambda p, q: p.loc * 0 + 7.0)
    with pytest.warns(RuntimeWarning, match=re.escape("Ambiguous kl_divergence(Wide, Wide). Please register_kl(Wide, Wide)")):
        assert gw.distributions.kl_divergence(p, p).item() == 42.0  # (p's nearest match first, as PyTorch)


CONSTRAINTS = [
    "real", "positive", "nonnegative", "unit_interval", "interval(-1.0, 0.5)", "greater_than(0.3)", "greater_than_eq(0.3)",
    "less_than(0.3)", "half_open_interval(0.0, 1.0)", "boolean", "nonnegative_integer", "positive_integer", "integer_interval(0, 3)",
    "simplex", "real_vector", "independent(positive, 1)", "one_hot", "lower_cholesky", "lower_triangular", "positive_definite",
    "symmetric", "multinomial(4)",
]


@pytest.mark.parametrize("text", CONSTRAINTS)
def test_constraints_check_as_torchs(session, text):
    ours, theirs = eval(text, vars(gw.distributions.constraints)), eval(text, vars(torch.distributions.constraints))  # noqa: S307
    assert repr(ours) == repr(theirs)
    assert (ours.is_discrete, ours.event_dim) == (theirs.is_discrete, theirs.event_dim)
    if ours.event_dim == 2:
        values = [SPD, TRIL, A, np.abs(TRIL), -TRIL, np.tril(A)]
    else:
        values = [np.array([[-1.0, 0.0, 0.3, 1.0], [2.0, 0.5, np.nan, 1.0]]), np.array([[0.2, 0.3, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0]]),
                  np.array([[0.0, 1.0, 3.0, 0.0], [1.0, 1.0, 0.0, 2.0]]), SIMPLEX, ONE_HOT, MULTINOMIAL]
    for value in values:
        expected = theirs.check(torch.tensor(value)).numpy()
        assert np.array_equal(ours.check(session.tensor(value)).numpy(), expected), f"{text} on {value}"


TRANSFORMS = {
    "Exp": lambda lib, s: _dist(lib).ExpTransform(),
    "Affine": lambda lib, s: _dist(lib).AffineTransform(0.5, s),
    "Affine-negative": lambda lib, s: _dist(lib).AffineTransform(s, -2.0),
    "Sigmoid": lambda lib, s: _dist(lib).SigmoidTransform(),
    "Tanh": lambda lib, s: _dist(lib).TanhTransform(),
    "Compose": lambda lib, s: _dist(lib).ComposeTransform([_dist(lib).AffineTransform(0.0, s), _dist(lib).ExpTransform()]),
    "Inverse": lambda lib, s: _dist(lib).ExpTransform().inv,
    "Softmax": lambda lib, s: _dist(lib).SoftmaxTransform(),
    "Power": lambda lib, s: _dist(lib).PowerTransform(s),
    "Softplus": lambda lib, s: _dist(lib).SoftplusTransform(),
    "StickBreaking": lambda lib, s: _dist(lib).StickBreakingTransform(),
}


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transforms_match_torch(session, name):
    leaves, t_leaves = _leaves(session, (SCALE, REAL[0] * 0.4))
    ours, theirs = TRANSFORMS[name](gw, leaves[0]), TRANSFORMS[name](torch, t_leaves[0])
    assert repr(ours.domain) == repr(theirs.domain) and repr(ours.codomain) == repr(theirs.codomain)
    assert ours.bijective == theirs.bijective
    x, t_x = (leaves[1].exp(), t_leaves[1].exp()) if name in ("Inverse", "Power") else (leaves[1], t_leaves[1])
    y, t_y = ours(x), theirs(t_x)
    _compare(y, t_y, leaves, t_leaves, f"{name} forward")
    _compare(ours.inv(y), theirs.inv(t_y), leaves, t_leaves, f"{name} inverse")
    if name == "StickBreaking":
        assert tuple(ours.forward_shape((3, 4))) == tuple(theirs.forward_shape((3, 4))) == (3, 5)
    if name != "Softmax":
        _compare(ours.log_abs_det_jacobian(x, y), theirs.log_abs_det_jacobian(t_x, t_y), leaves, t_leaves, f"{name} log|J|")
    if name in ("Exp", "Tanh", "Sigmoid", "Affine-negative"):
        sign = ours.sign
        t_sign = theirs.sign
        assert np.array_equal(np.asarray(sign.numpy() if hasattr(sign, "numpy") else sign), np.asarray(t_sign.numpy() if hasattr(t_sign, "numpy") else t_sign))


def test_reprs_match_torch(session):
    s = session
    for build in (lambda lib, t: _dist(lib).Normal(t([0.0, 1.0]), t([1.0, 2.0])),
                  lambda lib, t: _dist(lib).Normal(0.0, 1.0),
                  lambda lib, t: _dist(lib).Bernoulli(0.3),
                  lambda lib, t: _dist(lib).Categorical(logits=t([0.0, 1.0, 2.0])),
                  lambda lib, t: _dist(lib).Uniform(0.0, 2.0),
                  lambda lib, t: _dist(lib).Gamma(1.0, 2.0),
                  lambda lib, t: _dist(lib).LogNormal(0.0, 1.0),
                  lambda lib, t: _dist(lib).MultivariateNormal(t([0.0, 0.0]), t([[1.0, 0.0], [0.0, 1.0]])),
                  lambda lib, t: _dist(lib).Independent(_dist(lib).Normal(t([[0.0, 1.0]]), 1.0), 1),
                  lambda lib, t: _dist(lib).Binomial(3, t([0.5, 0.5])),
                  lambda lib, t: _dist(lib).Normal(t([0.0, 1.0]), 1.0).expand((3, 2))):
        assert repr(build(gw, s.tensor)) == repr(build(torch, torch.tensor))
    mixture = [_dist(lib).MixtureSameFamily(_dist(lib).Categorical(t([1.0, 1.0])), _dist(lib).Normal(t([0.0, 1.0]), 1.0))
               for lib, t in ((gw, s.tensor), (torch, torch.tensor))]
    assert [m.sample().shape for m in mixture] and repr(mixture[0]) == repr(mixture[1])
    assert repr(gw.distributions.ComposeTransform([gw.distributions.ExpTransform()])) == \
        repr(torch.distributions.ComposeTransform([torch.distributions.ExpTransform()]))


def _error(f):
    """The type and message of what f raises (runs of spaces as one: one of torch's messages has a run of them)."""
    try:
        f()
    except (ValueError, NotImplementedError, TypeError) as e:
        return type(e).__name__, re.sub(" +", " ", str(e))
    return None


def test_validation_of_numbers_is_always_on_and_of_tensors_on_request(session, monkeypatch):
    s = session
    cases = [
        lambda lib, t: _dist(lib).Normal(0.0, -1.0),
        lambda lib, t: _dist(lib).Uniform(1.0, 0.0),
        lambda lib, t: _dist(lib).Exponential(0.0),
        lambda lib, t: _dist(lib).Bernoulli(1.5),
        lambda lib, t: _dist(lib).Gamma(2.0, -1.0),
        lambda lib, t: _dist(lib).HalfNormal(-2.0),
        lambda lib, t: _dist(lib).LogNormal(0.0, -2.0),
        lambda lib, t: _dist(lib).Chi2(-2.0),
        lambda lib, t: _dist(lib).Beta(1.0, -2.0),
        lambda lib, t: _dist(lib).Gumbel(0.0, -2.0),
        lambda lib, t: _dist(lib).Poisson(-0.5),
        lambda lib, t: _dist(lib).Normal(0.0, 1.0).log_prob(0.5),
        lambda lib, t: _dist(lib).Normal(t([0.0, 1.0]), 1.0).log_prob(t([0.0, 1.0, 2.0])),
        lambda lib, t: _dist(lib).MultivariateNormal(t([0.0, 1.0]), t([[1.0, 0.0], [0.0, 1.0]])).log_prob(t([0.0, 1.0, 2.0])),
        lambda lib, t: _dist(lib).Categorical(),
        lambda lib, t: _dist(lib).MultivariateNormal(t([0.0, 1.0])),
        lambda lib, t: _dist(lib).MultivariateNormal(t(0.0), t([[1.0]])),
        lambda lib, t: _dist(lib).Independent(_dist(lib).Normal(t([0.0]), 1.0), 2),
        lambda lib, t: _dist(lib).Normal(t([0.0, 1.0]), t([-1.0, 1.0]), validate_args=True),
        lambda lib, t: _dist(lib).Categorical(t([[-1.0, 2.0]]), validate_args=True),
        lambda lib, t: _dist(lib).Exponential(t([1.0, 2.0]), validate_args=True).log_prob(t([-1.0, 1.0])),
        lambda lib, t: _dist(lib).Binomial(3, t([0.5]), validate_args=True).log_prob(t([4.0])),
        lambda lib, t: _dist(lib).MultivariateNormal(t([0.0, 0.0]), scale_tril=t([[1.0, 1.0], [0.0, 1.0]]), validate_args=True),
        lambda lib, t: _dist(lib).Distribution.set_default_validate_args("yes"),
        lambda lib, t: _dist(lib).MixtureSameFamily(_dist(lib).Normal(0.0, 1.0), _dist(lib).Normal(t([0.0]), 1.0)),
        lambda lib, t: _dist(lib).MixtureSameFamily(_dist(lib).Categorical(t([0.5, 0.5])), "normal"),
        lambda lib, t: _dist(lib).MixtureSameFamily(_dist(lib).Categorical(t([0.2, 0.3, 0.5])), _dist(lib).Normal(t([0.0, 1.0]), 1.0)),
        lambda lib, t: _dist(lib).MixtureSameFamily(_dist(lib).Categorical(t([[0.5, 0.5]] * 3)), _dist(lib).Normal(t([[0.0, 1.0]] * 2), 1.0)),
        lambda lib, t: _dist(lib).Multinomial(2.5, t([0.5, 0.5])),
        lambda lib, t: _dist(lib).Bernoulli(),
        lambda lib, t: _dist(lib).TransformedDistribution(_dist(lib).Normal(0.0, 1.0), "exp"),
        lambda lib, t: _dist(lib).kl_divergence(_dist(lib).MultivariateNormal(t([0.0]), t([[1.0]])),
                                                _dist(lib).MultivariateNormal(t([0.0, 0.0]), t([[1.0, 0.0], [0.0, 1.0]]))),
        lambda lib, t: _dist(lib).Binomial(t([3.0, 4.0]), t([0.5, 0.5])).entropy(),
        lambda lib, t: _dist(lib).LowRankMultivariateNormal(t([0.0, 1.0]), t([[1.0, 2.0, 3.0]]), t([1.0, 1.0])),
        lambda lib, t: _dist(lib).LowRankMultivariateNormal(t([0.0, 1.0]), t([[1.0], [2.0]]), t([1.0, 1.0, 1.0])),
    ]
    for k, case in enumerate(cases):
        ours, theirs = _error(lambda: case(gw, s.tensor)), _error(lambda: case(torch, torch.tensor))
        assert theirs is not None and ours == theirs, f"case {k}: {ours} != {theirs}"
    # a tensor argument is not read back by default (the documented difference), nor with validate_args=False
    assert gw.distributions.Normal(s.tensor([0.0]), s.tensor([-1.0])).batch_shape == (1,)
    assert gw.distributions.Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
    monkeypatch.setattr(Distribution, "_validate_args", None)
    Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="to satisfy the constraint GreaterThan"):
        gw.distributions.Normal(s.tensor([0.0]), s.tensor([-1.0]))
    Distribution.set_default_validate_args(False)
    gw.distributions.Normal(0.0, -1.0)  # nothing checked


def test_enumerate_support_expand_and_sample_n(session):
    s = session
    for build in (lambda lib, t: _dist(lib).Bernoulli(t([0.2, 0.7])),
                  lambda lib, t: _dist(lib).Categorical(t([[0.2, 0.7, 0.1], [0.3, 0.3, 0.4]])),
                  lambda lib, t: _dist(lib).Binomial(4, t([0.2, 0.7])),
                  lambda lib, t: _dist(lib).OneHotCategorical(t([0.2, 0.7, 0.1]))):
        ours, theirs = build(gw, s.tensor), build(torch, torch.tensor)
        assert ours.has_enumerate_support and theirs.has_enumerate_support
        for expand in (True, False):
            support, t_support = ours.enumerate_support(expand), theirs.enumerate_support(expand)
            assert np.array_equal(support.numpy(), t_support.numpy()) and tuple(support.shape) == tuple(t_support.shape)
        np.testing.assert_allclose(ours.log_prob(ours.enumerate_support()).numpy(),
                                   theirs.log_prob(theirs.enumerate_support()).numpy(), rtol=1e-6)
    for build in (lambda lib, t: _dist(lib).Normal(t([0.0, 1.0]), t([1.0, 2.0])),
                  lambda lib, t: _dist(lib).Categorical(logits=t([0.0, 1.0, 2.0])),
                  lambda lib, t: _dist(lib).MultivariateNormal(t([0.0, 1.0]), scale_tril=t([[1.0, 0.0], [0.5, 2.0]])),
                  lambda lib, t: _dist(lib).LogNormal(t([0.0, 1.0]), 0.5),
                  lambda lib, t: _dist(lib).Gumbel(t([0.0, 1.0]), 0.5),
                  lambda lib, t: _dist(lib).Independent(_dist(lib).Normal(t([0.0, 1.0]), 1.0), 1),
                  lambda lib, t: _dist(lib).LowRankMultivariateNormal(t([0.0, 1.0]), t([[1.0], [2.0]]), t([1.0, 0.5])),
                  lambda lib, t: _dist(lib).Bernoulli(logits=t([0.0, 1.0]))):
        ours, theirs = build(gw, s.tensor), build(torch, torch.tensor)
        shape = (4,) + tuple(theirs.batch_shape) if theirs.batch_shape else (4,)
        big, t_big = ours.expand(shape), theirs.expand(shape)
        assert big.batch_shape == t_big.batch_shape and big.event_shape == t_big.event_shape
        value = t_big.sample()
        np.testing.assert_allclose(big.log_prob(s.tensor(value.numpy())).numpy(), t_big.log_prob(value).numpy(), rtol=1e-5)
        assert tuple(big.sample((2,)).shape) == tuple(t_big.sample((2,)).shape)
    with pytest.warns(UserWarning, match="sample_n will be deprecated"):
        assert tuple(gw.distributions.Normal(s.tensor([0.0, 1.0]), 1.0).sample_n(3).shape) == (3, 2)
    with pytest.raises(NotImplementedError, match="does not implement mode"):
        gw.distributions.Uniform(0.0, 1.0).expand((2,)) and Distribution().mode  # noqa: B018


def test_a_gaussian_mixture_fit_matches_torch(session):
    """A step of fitting a two-component mixture by maximum likelihood: the gradients match torch's."""
    data = np.concatenate([RNG.normal(-2, 0.5, 30), RNG.normal(1.5, 1.0, 50)])
    grads = []
    for lib, tensor in ((torch, torch.tensor), (gw, session.tensor)):
        logits, loc, log_scale = (tensor(v, requires_grad=True) for v in ([0.0, 0.1], [-1.0, 1.0], [0.0, 0.0]))
        mixture = _dist(lib).MixtureSameFamily(_dist(lib).Categorical(logits=logits), _dist(lib).Normal(loc, log_scale.exp()))
        (-mixture.log_prob(tensor(data)).mean()).backward()
        grads.append([v.grad.numpy() for v in (logits, loc, log_scale)])
    for ours, theirs in zip(grads[1], grads[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_sample_is_out_of_the_graph_and_rsample_in_it(session):
    for lib, tensor in ((torch, torch.tensor), (gw, session.tensor)):
        a, b = tensor([0.5, 1.5], requires_grad=True), tensor([1.0, 2.0], requires_grad=True)
        D = _dist(lib)
        for dist in (D.Normal(a, b), D.LogNormal(a, b), D.Gumbel(a, b), D.Uniform(a, a + b), D.Weibull(b, b + 1), D.Pareto(b, b + 2),
                     D.TransformedDistribution(D.Normal(a * 0, 1.0), D.AffineTransform(a, b)), D.Gamma(b, a + 1), D.Beta(a, b),
                     D.Dirichlet(b), D.StudentT(b + 2, a, b), D.RelaxedBernoulli(b, logits=a), D.Laplace(a, b),
                     D.MixtureSameFamily(D.Categorical(logits=a), D.Normal(a, b)), D.Bernoulli(logits=a), D.Poisson(b)):
            name = type(dist).__name__
            assert not dist.sample((3,)).requires_grad, f"{lib.__name__} {name}"
            if dist.has_rsample:
                assert dist.rsample((3,)).requires_grad, f"{lib.__name__} {name}"


REGISTRY_CASES = ["real", "positive", "nonnegative", "greater_than(-1.5)", "less_than(2.0)", "unit_interval", "interval(-1.0, 3.0)",
                  "half_open_interval(0.0, 2.0)", "simplex", "independent(positive, 1)", "lower_cholesky"]


@pytest.mark.parametrize("text", REGISTRY_CASES)
def test_biject_to_and_transform_to_match_torch(session, text):
    x = RNG.standard_normal((4, 4)) * 0.5
    leaves, t_leaves = _leaves(session, (x,))
    for registry in ("biject_to", "transform_to"):
        ours_c = eval(text, vars(gw.distributions.constraints))  # noqa: S307
        theirs_c = eval(text, vars(torch.distributions.constraints))  # noqa: S307
        try:
            theirs = getattr(torch.distributions, registry)(theirs_c)
        except NotImplementedError as e:
            with pytest.raises(NotImplementedError, match=re.escape(str(e))):
                getattr(gw.distributions, registry)(ours_c)
            continue
        ours = getattr(gw.distributions, registry)(ours_c)
        assert repr(ours) == repr(theirs)
        _compare_transform(ours, theirs, ours_c, leaves, t_leaves, f"{registry}({text})")


def test_poisson_and_binomial_sample_as_torchs(session):
    gw.manual_seed(0)
    rates = [0.0, 1.0, 4.0, 100.0]
    counts = gw.poisson(session.tensor(rates).expand(4000, 4))
    assert counts.shape == (4000, 4) and counts.dtype == gw.float32
    drawn = counts.numpy()
    assert np.array_equal(drawn, np.round(drawn)) and (drawn[:, 0] == 0).all()
    for column, rate in zip(drawn.T[1:], rates[1:]):  # mean and variance are the rate
        assert abs(column.mean() - rate) < 5 * math.sqrt(rate / 4000)
        assert abs(column.var() / rate - 1) < 0.15
    generator = gw.Generator()
    generator.manual_seed(3)
    first = gw.poisson(session.full((6,), 3.0), generator)
    generator.manual_seed(3)
    assert first.tolist() == gw.poisson(session.full((6,), 3.0), generator=generator).tolist()

    successes = gw.binomial(session.full((10000,), 10.0), session.tensor([0.3]).expand(10000)).numpy()
    assert abs(successes.mean() - 3.0) < 0.05 and abs(successes.var() - 2.1) < 0.15 and successes.max() <= 10
    # certain outcomes, probabilities past [0, 1] (clamped, as torch's sampler), and broadcasting
    assert gw.binomial(session.tensor([5.0, 5.0, 5.0]), session.tensor([0.0, 1.0, -0.5])).tolist() == \
        torch.binomial(torch.tensor([5.0, 5.0, 5.0]), torch.tensor([0.0, 1.0, -0.5])).tolist()
    assert gw.binomial(session.tensor([[5.0], [7.0]]), session.ones(3)).tolist() == [[5.0] * 3, [7.0] * 3]


def test_poisson_reads_the_server_once(session, monkeypatch):
    # the largest rate (which sizes the sampler's window) and torch.poisson's check of the rates come in one read
    rates = session.tensor([0.5, 4.0, 9.0])
    waits, wait = [], type(session)._wait
    monkeypatch.setattr(type(session), "_wait", lambda self, *args, **kwargs: waits.append(1) or wait(self, *args, **kwargs))
    counts = gw.poisson(rates)
    assert len(waits) == 1
    monkeypatch.undo()
    assert counts.shape == (3,) and all(c >= 0 and c == int(c) for c in counts.tolist())


def test_poisson_and_binomial_refuse_what_torch_refuses(session):
    for rates in ([-1.0], [float("nan")]):
        with pytest.raises(RuntimeError) as theirs:
            torch.poisson(torch.tensor(rates))
        with pytest.raises(RuntimeError) as ours:
            gw.poisson(session.tensor(rates))
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(NotImplementedError, match=r"\"poisson_cpu\" not implemented for 'Long'"):
        gw.poisson(session.tensor([1, 2]))
    with pytest.raises(ValueError, match="binomial only supports floating-point dtypes for count, got: Long"):
        gw.binomial(session.tensor([5]), session.tensor([0.5]))
    with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
        gw.binomial(session.tensor([5.0]), session.tensor([0.5], dtype=gw.float64))
    assert gw.poisson(session.tensor([])).shape == (0,)
