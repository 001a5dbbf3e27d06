"""The rest of torch.distributions in gradwire.distributions, against torch with the same float64 parameters:
ContinuousBernoulli, Kumaraswamy, FisherSnedecor, GeneralizedPareto, LogisticNormal, VonMises, Wishart, LKJCholesky
and ExponentialFamily (log_prob, cdf, icdf, entropy and the moments with their gradients; KL; reprs, expand and
the validation errors); the Cat, Stack, Reshape, CorrCholesky, PositiveDefinite and CumulativeDistribution
transforms with their biject_to/transform_to registrations; torch's submodule names. Samples (the session's
generator, not torch's) by the statistics of large seeded draws, with bounds of several standard errors."""

from __future__ import annotations

import importlib
import math
import re
import warnings

import numpy as np
import pytest

import gradwire as gw
from tests.e2e.test_distributions_more import _compare, _compare_transform, _leaves, _method_outputs  # (values and every parameter's gradient, against torch)

torch = pytest.importorskip("torch")
scipy_stats = pytest.importorskip("scipy.stats")
scipy_special = pytest.importorskip("scipy.special")

RNG = np.random.default_rng(11)
UNIT = RNG.uniform(0.05, 0.95, (2, 3))
PROBS = np.array([0.2, 0.4995, 0.8])  # the middle one in ContinuousBernoulli's Taylor region
CONC1, CONC0 = np.array([0.5, 2.0, 3.0]), np.array([2.0, 0.7, 4.0])
DF1, DF2 = np.array([1.0, 3.0, 6.0]), np.array([2.0, 4.5, 10.0])  # moments undefined (NaN) for the small ones
GP_LOC, GP_SCALE, GP_CONC = np.array([0.0, 1.0, -1.0]), np.array([1.0, 2.0, 0.5]), np.array([0.0, 0.3, -0.8])
GP_VALUE = GP_LOC + GP_SCALE * UNIT  # inside the support (below loc - scale / concentration for -0.8)
LOC, SCALE = RNG.standard_normal((2, 3)), RNG.uniform(0.5, 2.0, (2, 3))
SIMPLEX = RNG.dirichlet(np.ones(4), (2,))
VM_LOC, VM_CONC = np.array([0.0, 1.0, -2.0]), np.array([0.5, 3.0, 8.0])  # both sides of the Bessel approximations' 3.75
_A = RNG.standard_normal((2, 3, 3))
SPD = _A @ _A.transpose(0, 2, 1) + 3 * np.eye(3)
TRIL = np.linalg.cholesky(SPD)
WISHART_DF = np.array([3.5, 6.0])  # dimension 3: the mode is NaN for the first
_B = RNG.standard_normal((4, 2, 3, 3))
WISHART_VALUE = _B @ _B.transpose(0, 1, 3, 2) + np.eye(3)
LKJ_CONC = np.array([0.5, 2.0])
LKJ_VALUE = torch.distributions.LKJCholesky(3, torch.tensor(LKJ_CONC)).sample((4,)).numpy()


def _dist(lib):
    return lib.distributions


@pytest.fixture(scope="module")
def session(server):
    """One session for this module's many small cases (a fresh one each costs more than most of them)."""
    s = gw.connect(server.address, seed=0, timeout=10)
    yield s
    s.close()


@pytest.fixture
def torch_validates():
    """torch's validation on (another test's torch.cond turns it off process-wide), restored afterwards."""
    before = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(True)
    yield
    torch.distributions.Distribution.set_default_validate_args(before)


def _wishart(kind):
    matrix = TRIL if kind == "scale_tril" else SPD
    return lambda lib, df, m: _dist(lib).Wishart(df, **{kind: m}), (WISHART_DF, matrix)


# name: (build(lib, *params), params, methods, value for log_prob/cdf)
FAMILIES = {
    "ContinuousBernoulli-probs": (lambda lib, p: _dist(lib).ContinuousBernoulli(p), (PROBS,),
                                  "log_prob cdf icdf entropy mean variance stddev", UNIT),
    "ContinuousBernoulli-logits": (lambda lib, x: _dist(lib).ContinuousBernoulli(logits=x), (np.array([-1.5, 0.0005, 2.0]),),
                                   "log_prob cdf icdf entropy mean variance", UNIT),
    "Kumaraswamy": (lambda lib, a, b: _dist(lib).Kumaraswamy(a, b), (CONC1, CONC0), "log_prob cdf icdf entropy mean variance", UNIT),
    "FisherSnedecor": (lambda lib, a, b: _dist(lib).FisherSnedecor(a, b), (DF1, DF2), "log_prob mean mode variance", 3 * UNIT),
    "GeneralizedPareto": (lambda lib, a, b, c: _dist(lib).GeneralizedPareto(a, b, c), (GP_LOC, GP_SCALE, GP_CONC),
                          "icdf entropy mean mode variance", GP_VALUE),
    "LogisticNormal": (lambda lib, a, b: _dist(lib).LogisticNormal(a, b), (LOC, SCALE), "log_prob", SIMPLEX),
    "VonMises": (lambda lib, a, b: _dist(lib).VonMises(a, b), (VM_LOC, VM_CONC), "log_prob mean mode variance stddev", 6 * UNIT - 3),
    "LKJCholesky": (lambda lib, c: _dist(lib).LKJCholesky(3, c), (LKJ_CONC,), "log_prob", LKJ_VALUE),
    **{f"Wishart-{kind}": (*_wishart(kind), "log_prob entropy mean mode variance covariance_matrix precision_matrix scale_tril",
                           WISHART_VALUE) for kind in ("covariance_matrix", "precision_matrix", "scale_tril")},
}


@pytest.mark.parametrize("name", FAMILIES)
def test_family_matches_torch(session, name):
    build, params, methods, value = FAMILIES[name]
    leaves, t_leaves = _leaves(session, params)
    ours, theirs = build(gw, *leaves), build(torch, *t_leaves)
    assert (tuple(ours.batch_shape), tuple(ours.event_shape)) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    assert ours.has_rsample == theirs.has_rsample and repr(ours) == repr(theirs)
    if name != "GeneralizedPareto":  # (its support depends on the parameters)
        assert repr(ours.support) == repr(theirs.support)
    for method in methods.split():
        out, t_out = _method_outputs(session, ours, theirs, method, value, UNIT)
        # (digamma's and mvlgamma's derivatives on the server agree with torch's to about 1e-9)
        loose = name.startswith(("Wishart", "LKJ", "FisherSnedecor", "Kumaraswamy"))
        _compare(out, t_out, leaves, t_leaves, f"{name}.{method}", rtol=1e-8 if loose else 1e-9, atol=1e-9 if loose else 1e-11)
    big, t_big = ours.expand((5, *ours.batch_shape)), theirs.expand((5, *theirs.batch_shape))
    assert (big.batch_shape, big.event_shape) == (t_big.batch_shape, t_big.event_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch's Wishart warns of a singular sample at every draw)
        assert tuple(big.sample((2,)).shape) == tuple(t_big.sample((2,)).shape)
    if "log_prob" in methods:
        np.testing.assert_allclose(big.log_prob(session.tensor(value[:1])).detach().numpy(),
                                   t_big.log_prob(torch.tensor(value[:1])).detach().numpy(), rtol=1e-8, err_msg=f"{name} expanded")


def test_generalized_pareto_scores_as_scipy_and_as_torch(session):
    """torch's GeneralizedPareto scores only float32 (its isclose against a float32 zero refuses float64): float64
    values here against scipy's genpareto, and the gradients against torch's in float32."""
    leaves, t_leaves = _leaves(session, (GP_LOC, GP_SCALE, GP_CONC))
    ours = gw.distributions.GeneralizedPareto(*leaves)
    value = session.tensor(GP_VALUE)
    reference = scipy_stats.genpareto(GP_CONC, GP_LOC, GP_SCALE)
    np.testing.assert_allclose(ours.log_prob(value).detach().numpy(), reference.logpdf(GP_VALUE), rtol=1e-12)
    np.testing.assert_allclose(ours.cdf(value).detach().numpy(), reference.cdf(GP_VALUE), rtol=1e-12)
    np.testing.assert_allclose(ours.log_cdf(value).detach().numpy(), reference.logcdf(GP_VALUE), rtol=1e-12)
    np.testing.assert_allclose(ours.log_survival_function(value).detach().numpy(), reference.logsf(GP_VALUE), rtol=1e-12)
    np.testing.assert_allclose(ours.icdf(session.tensor(UNIT)).detach().numpy(), reference.ppf(UNIT), rtol=1e-12)
    assert np.isinf(ours.support.upper_bound.detach().numpy()[:2]).all()
    np.testing.assert_allclose(ours.support.upper_bound.detach().numpy()[2], -1 + 0.5 / 0.8)
    t32 = [torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in (GP_LOC, GP_SCALE, GP_CONC)]
    theirs = torch.distributions.GeneralizedPareto(*t32)
    for method in ("log_prob", "cdf", "log_survival_function"):
        (ours_grads, theirs_grads) = (gw.grad(getattr(ours, method)(value).sum(), leaves),
                                      torch.autograd.grad(getattr(theirs, method)(torch.tensor(GP_VALUE, dtype=torch.float32)).sum(), t32))
        for g, t in zip(ours_grads, theirs_grads):
            np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=2e-4, atol=1e-5, err_msg=method)


def test_kumaraswamy_mode_is_its_density_maximum(session):
    # ((a - 1) / (a b - 1))^(1/a) where both concentrations are at least 1 (torch's formula gives NaN there); NaN else
    a, b = session.tensor([2.0, 3.0, 0.5, 2.0], dtype="float64"), session.tensor([3.0, 1.5, 2.0, 0.5], dtype="float64")
    mode = gw.distributions.Kumaraswamy(a, b).mode.numpy()
    np.testing.assert_allclose(mode[:2], [(1 / 5) ** 0.5, (2 / 3.5) ** (1 / 3)], rtol=1e-12)
    assert np.isnan(mode[2:]).all()
    grid = np.linspace(0.001, 0.999, 9999)
    density = torch.distributions.Kumaraswamy(torch.tensor([[2.0], [3.0]]), torch.tensor([[3.0], [1.5]])).log_prob(torch.tensor(grid))
    np.testing.assert_allclose(grid[density.argmax(-1).numpy()], mode[:2], atol=2e-4)


EXP_FAMILY = {
    "Normal": (lambda lib, a, b: _dist(lib).Normal(a, b), (LOC, SCALE)),
    "Exponential": (lambda lib, r: _dist(lib).Exponential(r), (SCALE,)),
    "Gamma": (lambda lib, a, b: _dist(lib).Gamma(a, b), (SCALE, SCALE[::-1].copy())),
    "Chi2": (lambda lib, k: _dist(lib).Chi2(k), (SCALE * 2,)),
    "Bernoulli": (lambda lib, p: _dist(lib).Bernoulli(p), (UNIT,)),
    "ContinuousBernoulli": (lambda lib, p: _dist(lib).ContinuousBernoulli(p), (UNIT,)),
    "Wishart": _wishart("covariance_matrix"),
}


@pytest.mark.parametrize("name", EXP_FAMILY)
def test_exponential_family_entropy_and_kl_are_bregman_divergences_as_torchs(session, name):
    build, params = EXP_FAMILY[name]
    leaves, t_leaves = _leaves(session, params)
    ours, theirs = build(gw, *leaves), build(torch, *t_leaves)
    assert isinstance(ours, gw.distributions.ExponentialFamily)
    entropy = gw.distributions.ExponentialFamily.entropy(ours)
    _compare(entropy, torch.distributions.ExponentialFamily.entropy(theirs), leaves, t_leaves, f"{name} Bregman entropy", rtol=1e-8,
             atol=1e-10)
    np.testing.assert_allclose(entropy.detach().numpy(), ours.entropy().detach().numpy(), rtol=1e-8)  # the closed form's
    p, t_p = build(gw, *[x.flip(0) for x in leaves]), build(torch, *[x.flip(0) for x in t_leaves])
    kl = gw.distributions.kl._kl_expfamily_expfamily(p, ours)
    _compare(kl, torch.distributions.kl._kl_expfamily_expfamily(t_p, theirs), leaves, t_leaves, f"{name} Bregman KL", rtol=1e-8,
             atol=1e-10)
    if name not in ("Wishart",):  # (those with a closed form registered: the same value)
        np.testing.assert_allclose(kl.detach().numpy(), gw.distributions.kl_divergence(p, ours).detach().numpy(), rtol=1e-8)


def test_exponential_family_membership_and_dispatch_as_torchs(session):
    for name in torch.distributions.__all__:
        theirs = getattr(torch.distributions, name)
        if isinstance(theirs, type) and issubclass(theirs, torch.distributions.Distribution):
            ours = getattr(gw.distributions, name)
            assert issubclass(ours, gw.distributions.ExponentialFamily) == issubclass(theirs, torch.distributions.ExponentialFamily), name
    # Wishart has no closed form registered: the Bregman divergence
    for lib, t in ((gw, session.tensor), (torch, torch.tensor)):
        p, q = _dist(lib).Wishart(t(np.array(4.0)), t(SPD[0])), _dist(lib).Wishart(t(np.array(5.0)), t(SPD[1]))
        if lib is gw:
            ours = _dist(lib).kl_divergence(p, q).item()
        else:
            np.testing.assert_allclose(ours, _dist(lib).kl_divergence(p, q).item(), rtol=1e-9)
    # no entropy without a carrier measure (Poisson), and no Bregman KL across families, as torch
    with pytest.raises(NotImplementedError):
        gw.distributions.Poisson(session.tensor(2.0)).entropy()
    with pytest.raises(NotImplementedError) as theirs:
        torch.distributions.kl_divergence(torch.distributions.Bernoulli(0.3), torch.distributions.Normal(0.0, 1.0))
    with pytest.raises(NotImplementedError) as ours:
        gw.distributions.kl_divergence(gw.distributions.Bernoulli(0.3), gw.distributions.Normal(0.0, 1.0))
    assert str(ours.value) == str(theirs.value)


KL_PAIRS = {  # name: (build p, build q) from the leaves p (probabilities), l (locations), s (scales), c (concentrations)
    "CB": ("ContinuousBernoulli(p)", "ContinuousBernoulli(p.flip(0))"),
    "Beta-CB": ("Beta(c, s)", "ContinuousBernoulli(p)"),
    "CB-Exponential": ("ContinuousBernoulli(p)", "Exponential(s)"),
    "CB-Normal": ("ContinuousBernoulli(p)", "Normal(l, s)"),
    "CB-Uniform": ("ContinuousBernoulli(p)", "Uniform(l * 0 - 0.5, l * 0 + 1.5)"),
    "CB-Uniform-inf": ("ContinuousBernoulli(p)", "Uniform(l * 0 + 0.1, l * 0 + 1.5)"),
    "Uniform-CB": ("Uniform(p * 0.5, p * 0.5 + 0.3)", "ContinuousBernoulli(p)"),
    "Uniform-CB-inf": ("Uniform(p - 1, p)", "ContinuousBernoulli(p)"),
    "CB-Pareto": ("ContinuousBernoulli(p)", "Pareto(s, c)"),
    "Exponential-CB": ("Exponential(s)", "ContinuousBernoulli(p)"),
    "Gamma-CB": ("Gamma(c, s)", "ContinuousBernoulli(p)"),
    "Gumbel-CB": ("Gumbel(l, s)", "ContinuousBernoulli(p)"),
    "Laplace-CB": ("Laplace(l, s)", "ContinuousBernoulli(p)"),
    "Normal-CB": ("Normal(l, s)", "ContinuousBernoulli(p)"),
    "Pareto-CB": ("Pareto(s, c)", "ContinuousBernoulli(p)"),
}


INFINITE_KL = {"CB-Uniform-inf", "Uniform-CB-inf", "CB-Pareto", "Exponential-CB", "Gamma-CB", "Gumbel-CB", "Laplace-CB", "Normal-CB",
               "Pareto-CB"}  # (p reaches where q has no density)


@pytest.mark.parametrize("name", KL_PAIRS)
def test_kl_divergence_matches_torch(session, name):
    leaves, t_leaves = _leaves(session, (UNIT, LOC, SCALE, SCALE[::-1].copy() + 0.5))

    def build(lib, text, values):
        return eval(text, dict(zip("plsc", values), **{k: getattr(_dist(lib), k) for k in _dist(torch).__all__}))  # noqa: S307

    p_text, q_text = KL_PAIRS[name]
    ours = gw.distributions.kl_divergence(build(gw, p_text, leaves), build(gw, q_text, leaves))
    theirs = torch.distributions.kl_divergence(build(torch, p_text, t_leaves), build(torch, q_text, t_leaves))
    _compare(ours, theirs, leaves, t_leaves, f"KL {name}", rtol=1e-8, atol=1e-10)
    assert np.isinf(ours.detach().numpy()).all() == (name in INFINITE_KL)


def _moments_agree(drawn, mean, variance, what, sigmas=5):
    """The draws' mean and variance within ``sigmas`` standard errors of the distribution's (the variance's from the
    draws' fourth central moment)."""
    n = drawn.shape[0]
    np.testing.assert_array_less(np.abs(drawn.mean(0) - mean), sigmas * np.sqrt(variance / n) + 1e-9, err_msg=f"{what} mean")
    fourth = ((drawn - drawn.mean(0)) ** 4).mean(0)
    np.testing.assert_array_less(np.abs(drawn.var(0) - variance), sigmas * np.sqrt(fourth / n) + 1e-9, err_msg=f"{what} variance")


SAMPLED = {  # name: build(lib); the draws' moments against torch's moments
    "ContinuousBernoulli": lambda lib: _dist(lib).ContinuousBernoulli(lib.tensor([0.05, 0.4999, 0.9])),
    "Kumaraswamy": lambda lib: _dist(lib).Kumaraswamy(lib.tensor([0.5, 2.0, 5.0]), lib.tensor([2.0, 3.0, 0.6])),
    "FisherSnedecor": lambda lib: _dist(lib).FisherSnedecor(lib.tensor([3.0, 0.8]), lib.tensor([20.0, 30.0])),
    "GeneralizedPareto": lambda lib: _dist(lib).GeneralizedPareto(lib.tensor([0.0, 1.0, -2.0]), lib.tensor([1.0, 0.5, 2.0]),
                                                                  lib.tensor([-0.5, 0.0, 0.2])),
    "Wishart": lambda lib: _dist(lib).Wishart(lib.tensor([4.0, 2.5]), lib.tensor(SPD[:, :2, :2] / 3)),
}


@pytest.mark.parametrize("name", SAMPLED)
def test_samples_have_torchs_shapes_and_the_distributions_moments(session, name):
    session.manual_seed(3)
    ours, theirs = SAMPLED[name](gw), SAMPLED[name](torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch's Wishart warns of a singular sample at every draw)
        assert tuple(ours.sample((2, 3)).shape) == tuple(theirs.sample((2, 3)).shape)
    drawn = ours.sample((20000,))
    assert str(drawn.dtype) == str(theirs.mean.dtype)
    drawn = drawn.numpy().astype(np.float64)
    assert not np.isnan(drawn).any()
    assert bool(theirs.support.check(torch.tensor(drawn)).all()), f"{name}: draws outside the support"
    _moments_agree(drawn, theirs.mean.double().numpy(), theirs.variance.double().numpy(), name)


def test_logistic_normal_samples_are_stick_broken_normals(session):
    session.manual_seed(4)
    loc, scale = session.tensor([0.0, 1.0, -1.0]), session.tensor([1.0, 0.5, 2.0])
    drawn = gw.distributions.LogisticNormal(loc, scale).sample((20000,))
    assert tuple(drawn.shape) == (20000, 4)
    np.testing.assert_allclose(drawn.numpy().sum(-1), 1.0, rtol=1e-5)
    normals = torch.distributions.StickBreakingTransform().inv(torch.tensor(drawn.numpy(), dtype=torch.float64)).numpy()
    _moments_agree(normals, loc.numpy(), scale.numpy() ** 2, "LogisticNormal's base")


def test_von_mises_samples_are_circular_as_the_distribution(session):
    """Angles in [-pi, pi) (float32 from float32 parameters, drawn in float64) with the circular moments: E cos(x - loc)
    is 1 - the circular variance, E sin(x - loc) = 0, and E cos(2 (x - loc)) = I2 / I0."""
    session.manual_seed(6)
    concentration = np.array([0.01, 0.7, 4.0, 60.0])
    loc = np.array([3.0, -1.0, 0.5, -3.1])
    ours = gw.distributions.VonMises(session.tensor(loc, dtype="float32"), session.tensor(concentration, dtype="float32"))
    drawn = ours.sample((20000,))
    assert drawn.dtype == gw.float32 and tuple(drawn.shape) == (20000, 4) and not drawn.requires_grad
    x = drawn.numpy().astype(np.float64)
    assert ((x >= -math.pi) & (x <= math.pi)).all()
    n, angle = x.shape[0], x - loc
    i0, i1, i2 = (scipy_special.iv(k, concentration) for k in (0, 1, 2))
    for moment, expected in ((np.cos(angle), i1 / i0), (np.sin(angle), 0 * i0), (np.cos(2 * angle), i2 / i0)):
        spread = np.sqrt(np.maximum(1 - expected ** 2, 1e-4) / n)
        np.testing.assert_array_less(np.abs(moment.mean(0) - expected), 5 * spread + 1e-3)
    exact = gw.distributions.VonMises(session.tensor(loc), session.tensor(concentration)).variance.numpy()  # (float64)
    np.testing.assert_allclose(1 - i1 / i0, exact, rtol=2e-4)  # (the accuracy of torch's polynomial approximations)
    # unvalidated concentrations outside the support draw NaN (torch's sampler never finishes there)
    bad = gw.distributions.VonMises(session.tensor([0.0, 0.0, 0.0]), session.tensor([1.0, -1.0, math.nan]), validate_args=False)
    drawn = bad.sample((3,)).numpy()
    assert np.isfinite(drawn[:, 0]).all() and np.isnan(drawn[:, 1:]).all()


def test_lkj_cholesky_samples_are_correlation_factors_with_the_lkj_marginals(session):
    """Lower Cholesky factors of correlation matrices whose off-diagonal correlations have the LKJ marginal:
    (r + 1) / 2 ~ Beta(b, b) for b = eta - 1 + d / 2, so mean 0 and variance 1 / (2 eta + d - 1)."""
    session.manual_seed(7)
    eta, d = np.array([0.5, 1.0, 4.0]), 4
    ours = gw.distributions.LKJCholesky(d, session.tensor(eta))
    drawn = ours.sample((20000,))
    assert tuple(drawn.shape) == (20000, 3, d, d) and not ours.has_rsample
    factors = torch.tensor(drawn.numpy(), dtype=torch.float64)
    assert bool(torch.distributions.constraints.corr_cholesky.check(factors).all())
    correlations = (factors @ factors.mT).numpy()[..., np.tril_indices(d, -1)[0], np.tril_indices(d, -1)[1]]  # (n, 3, 6)
    variance = np.repeat((1 / (2 * eta + d - 1))[:, None], 6, 1)
    _moments_agree(correlations, 0 * variance, variance, "LKJ correlations")


def test_wishart_rsample_is_bartletts_and_differentiable(session):
    """Draws are symmetric positive definite, checked and redrawn as torch's (warning where a singular one is found,
    never at a regular one); rsample's gradient is that of E X = df Sigma, through Sigma and through the chi-squared
    draws in df."""
    session.manual_seed(8)
    df = session.tensor(5.0, dtype="float64", requires_grad=True)
    tril = session.tensor(TRIL[0] / 2, requires_grad=True)
    wishart = gw.distributions.Wishart(df, scale_tril=tril)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Singular sample detected." for regular draws (torch warns at every call)
        drawn = wishart.rsample((4000,))
    assert torch.distributions.constraints.positive_definite.check(torch.tensor(drawn.detach().numpy())).all()
    weights = np.arange(9.0).reshape(3, 3) / 9
    g_df, g_tril = gw.grad((drawn * session.tensor(weights)).sum((-2, -1)).mean(), (df, tril))
    sigma = TRIL[0] @ TRIL[0].T / 4
    np.testing.assert_allclose(g_df.item(), (weights * sigma).sum(), rtol=0.05)
    # d/dL of df <W, L L^T> = df (W + W^T) L (the whole of L, as torch's: its upper triangle is multiplied too)
    np.testing.assert_allclose(g_tril.numpy(), 5.0 * (weights + weights.T) @ TRIL[0] / 2, atol=0.5)  # (entries up to 8.5)
    # a draw made singular is redrawn, with torch's warning
    singular = gw.distributions.Wishart(session.tensor(5.0), session.tensor(np.eye(2)))
    original = singular._bartlett_sampling
    calls = []
    singular._bartlett_sampling = lambda shape=(): calls.append(1) or (original(shape) * (0.0 if len(calls) == 1 else 1.0))
    with pytest.warns(UserWarning, match="Singular sample detected."):
        redrawn = singular.rsample((4,))
    assert len(calls) == 2 and (np.linalg.eigvalsh(redrawn.numpy()) > 0).all()


def test_reparameterized_draws_are_the_icdf_of_the_sessions_uniforms(session):
    """ContinuousBernoulli, GeneralizedPareto and Kumaraswamy draw by inverting the cdf (Kumaraswamy's transforms
    decrease): the same uniforms through icdf give the same draws and gradients, and icdf's match torch's above."""
    leaves = [session.tensor(a, requires_grad=True) for a in (PROBS, GP_LOC, GP_SCALE, GP_CONC, CONC1, CONC0)]
    D = gw.distributions
    for dist, flip in ((D.ContinuousBernoulli(leaves[0]), False), (D.GeneralizedPareto(*leaves[1:4]), False),
                       (D.Kumaraswamy(*leaves[4:]), True)):
        session.manual_seed(12)
        drawn = dist.rsample((5,))
        session.manual_seed(12)
        u = session.rand(5, 3, dtype="float64")
        inverted = dist.icdf(1 - u if flip else u)
        np.testing.assert_allclose(drawn.detach().numpy(), inverted.detach().numpy(), rtol=1e-12)
        grads = gw.grad(drawn.sum(), leaves, allow_unused=True, retain_graph=True)
        for g, h in zip(grads, gw.grad(inverted.sum(), leaves, allow_unused=True)):
            assert (g is None) == (h is None) and (g is None or np.allclose(g.numpy(), h.numpy(), rtol=1e-10))


def test_fisher_snedecor_rsample_differentiates_through_its_gammas(session):
    session.manual_seed(13)
    df1, df2 = session.tensor(4.0, dtype="float64", requires_grad=True), session.tensor(12.0, dtype="float64", requires_grad=True)
    g1, g2 = gw.grad(gw.distributions.FisherSnedecor(df1, df2).rsample((10000,)).mean(), (df1, df2))
    np.testing.assert_allclose([g1.item(), g2.item()], [0.0, -2 / 10 ** 2], atol=0.006)  # E x = df2 / (df2 - 2)


TRANSFORMS = {  # name: (build(lib, parameter), input)
    "Cat": (lambda lib, s: _dist(lib).CatTransform([_dist(lib).ExpTransform(), _dist(lib).AffineTransform(0.5, s[:, :2]),
                                                      _dist(lib).identity_transform], dim=1, lengths=[1, 2, 1]),
            RNG.standard_normal((2, 4))),
    # event dims: the log-|Jacobians| summed where dim is among them, else concatenated
    "Cat-event-dim": (lambda lib, s: _dist(lib).CatTransform([_dist(lib).SoftplusTransform(), _dist(lib).IndependentTransform(
        _dist(lib).AffineTransform(0.0, s[:, :3]), 1)], dim=-1, lengths=[2, 3]), RNG.standard_normal((2, 5))),
    "Cat-batch-dim": (lambda lib, s: _dist(lib).CatTransform([_dist(lib).IndependentTransform(_dist(lib).ExpTransform(), 1),
                                                             _dist(lib).IndependentTransform(_dist(lib).SigmoidTransform(), 1)],
                                                            dim=0, lengths=[2, 3]), RNG.standard_normal((5, 3))),
    "Stack": (lambda lib, s: _dist(lib).StackTransform([_dist(lib).SigmoidTransform(), _dist(lib).AffineTransform(s[0, 0], -2.0),
                                                        _dist(lib).TanhTransform()], dim=-1), RNG.standard_normal((4, 3))),
    "Reshape": (lambda lib, s: _dist(lib).ReshapeTransform((3, 2), (6,)), RNG.standard_normal((4, 3, 2))),
    "CorrCholesky": (lambda lib, s: _dist(lib).CorrCholeskyTransform(), RNG.standard_normal((2, 6))),
    "CorrCholesky-2": (lambda lib, s: _dist(lib).CorrCholeskyTransform(), RNG.standard_normal((3, 1))),
    "PositiveDefinite": (lambda lib, s: _dist(lib).PositiveDefiniteTransform(), RNG.standard_normal((2, 3, 3))),
    "CumulativeDistribution": (lambda lib, s: _dist(lib).CumulativeDistributionTransform(_dist(lib).Normal(s[0], s[1])),
                               RNG.standard_normal((2, 3))),
}


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transforms_match_torch(session, name):
    build, x = TRANSFORMS[name]
    leaves, t_leaves = _leaves(session, (SCALE, x))
    ours, theirs = build(gw, leaves[0]), build(torch, t_leaves[0])
    assert repr(ours) == repr(theirs) and ours.bijective == theirs.bijective
    assert repr(ours.domain) == repr(theirs.domain) and repr(ours.codomain) == repr(theirs.codomain)
    assert (ours.domain.event_dim, ours.codomain.event_dim) == (theirs.domain.event_dim, theirs.codomain.event_dim)
    y, t_y = ours(leaves[1]), theirs(t_leaves[1])
    _compare(y, t_y, leaves, t_leaves, f"{name} forward")
    if name != "Cat-event-dim":  # (torch's cat constraint cannot join checks of different event dims either)
        assert bool(ours.codomain.check(y).all().item())
    _compare(ours.inv(y), theirs.inv(t_y), leaves, t_leaves, f"{name} inverse")
    if theirs.bijective:
        _compare(ours.log_abs_det_jacobian(leaves[1], y), theirs.log_abs_det_jacobian(t_leaves[1], t_y), leaves, t_leaves,
                 f"{name} log|J|")
        shape = tuple(x.shape)
        assert tuple(ours.forward_shape(shape)) == tuple(theirs.forward_shape(torch.Size(shape)))
        assert tuple(ours.inverse_shape(tuple(t_y.shape))) == tuple(theirs.inverse_shape(t_y.shape)) == shape


def test_transformed_distributions_through_the_new_transforms(session):
    """A Gaussian copula (CumulativeDistributionTransform of a multivariate normal) and an LKJ-like density over
    unconstrained vectors (CorrCholeskyTransform of a Normal) score as torch's."""
    value = UNIT[0]
    for lib, t in ((gw, session.tensor), (torch, torch.tensor)):
        D = _dist(lib)
        copula = D.TransformedDistribution(D.MultivariateNormal(t(np.zeros(3)), scale_tril=t(TRIL[0] / 3)),
                                           [D.CumulativeDistributionTransform(D.Normal(0.0, 1.0))])
        corr = D.TransformedDistribution(D.Independent(D.Normal(t(LOC[0]), t(SCALE[0])), 1), D.CorrCholeskyTransform())
        scores = [copula.log_prob(t(value)), corr.log_prob(t(LKJ_VALUE[0, 0]))]
        if lib is gw:
            ours = [s.numpy() for s in scores]
            assert tuple(corr.event_shape) == (3, 3) and tuple(corr.sample((2,)).shape) == (2, 3, 3)
        else:
            np.testing.assert_allclose(ours, [s.numpy() for s in scores], rtol=1e-9)


REGISTRY_CASES = ["corr_cholesky", "positive_definite", "positive_semidefinite", "cat([positive, real, unit_interval], 1, [1, 2, 1])",
                  "stack([positive, interval(-1.0, 1.0), real], -1)", "cat([positive, unit_interval], 0, [2, 3])"]


@pytest.mark.parametrize("text", REGISTRY_CASES)
def test_biject_to_and_transform_to_match_torch(session, text):
    for registry in ("biject_to", "transform_to"):
        ours_c = eval(text, vars(gw.distributions.constraints))  # noqa: S307
        theirs_c = eval(text, vars(torch.distributions.constraints))  # noqa: S307
        assert repr(ours_c) == repr(theirs_c) and ours_c.event_dim == theirs_c.event_dim
        try:
            theirs = getattr(torch.distributions, registry)(theirs_c)
        except NotImplementedError as e:
            with pytest.raises(NotImplementedError, match=re.escape(str(e))):
                getattr(gw.distributions, registry)(ours_c)
            continue
        ours = getattr(gw.distributions, registry)(ours_c)
        assert repr(ours) == repr(theirs) and type(ours).__name__ == type(theirs).__name__
        shape = {"corr": (4, 3), "posi": (2, 3, 3), "stac": (5, 3)}.get(text[:4], (5, 2) if "0, [2, 3]" in text else (5, 4))
        x = RNG.standard_normal(shape) * 0.5
        leaves, t_leaves = _leaves(session, (x,))
        _compare_transform(ours, theirs, ours_c, leaves, t_leaves, f"{registry}({text})")


def test_cat_and_stack_constraints_and_the_triangle_helpers_as_torchs(session):
    value = np.array([[-1.0, 0.5, 2.0, 0.3], [1.0, -0.5, np.nan, 1.2]])
    for text in ("cat([positive, real, unit_interval], 1, [1, 2, 1])", "stack([positive, real, unit_interval, real], -1)",
                 "stack([nonnegative, positive], 0)"):
        ours, theirs = eval(text, vars(gw.distributions.constraints)), eval(text, vars(torch.distributions.constraints))  # noqa: S307
        assert repr(ours) == repr(theirs) and (ours.event_dim, ours.is_discrete) == (theirs.event_dim, theirs.is_discrete)
        assert np.array_equal(ours.check(session.tensor(value)).numpy(), theirs.check(torch.tensor(value)).numpy()), text
    from torch.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix
    from gradwire.distributions.utils import tril_matrix_to_vec as ours_to_vec, vec_to_tril_matrix as ours_to_matrix
    matrices = RNG.standard_normal((2, 4, 4))
    for diag in (-2, -1, 0, 1):
        vec = tril_matrix_to_vec(torch.tensor(matrices), diag)
        assert np.array_equal(ours_to_vec(session.tensor(matrices), diag).numpy(), vec.numpy())
        assert np.array_equal(ours_to_matrix(session.tensor(vec.numpy()), diag).numpy(), vec_to_tril_matrix(vec, diag).numpy())
    five = RNG.standard_normal((2, 5))  # no triangle has 5 entries
    for call, t_call in ((lambda: ours_to_vec(session.tensor(matrices), 4), lambda: tril_matrix_to_vec(torch.tensor(matrices), 4)),
                         (lambda: ours_to_matrix(session.tensor(five)), lambda: vec_to_tril_matrix(torch.tensor(five)))):
        with pytest.raises(ValueError) as ours:
            call()
        with pytest.raises(ValueError) as theirs:
            t_call()
        assert str(ours.value) == str(theirs.value)


def _error(f):
    """The type and message of what f raises (runs of spaces as one)."""
    try:
        f()
    except (ValueError, NotImplementedError, TypeError, AssertionError) as e:
        return type(e).__name__, re.sub(" +", " ", str(e))
    return None


def test_argument_errors_are_torchs(session, torch_validates):
    s = session
    cases = [
        lambda lib, t: _dist(lib).ContinuousBernoulli(1.5, validate_args=True),
        lambda lib, t: _dist(lib).ContinuousBernoulli(t([0.5, 1.5]), validate_args=False),
        lambda lib, t: _dist(lib).ContinuousBernoulli(logits=math.nan),
        lambda lib, t: _dist(lib).ContinuousBernoulli(),
        lambda lib, t: _dist(lib).ContinuousBernoulli(0.3, 0.1),
        lambda lib, t: _dist(lib).ContinuousBernoulli(t([0.3]), validate_args=True).log_prob(t([1.5])),
        lambda lib, t: _dist(lib).Kumaraswamy(1.0, -2.0),
        lambda lib, t: _dist(lib).FisherSnedecor(-1.0, 2.0),
        lambda lib, t: _dist(lib).FisherSnedecor(-1.0, 2.0, validate_args=False),
        lambda lib, t: _dist(lib).FisherSnedecor(t([-1.0]), 2.0, validate_args=True),
        lambda lib, t: _dist(lib).FisherSnedecor(t([1.0]), 2.0, validate_args=True).log_prob(t([-1.0])),
        lambda lib, t: _dist(lib).GeneralizedPareto(0.0, -1.0, 0.5),
        lambda lib, t: _dist(lib).LogisticNormal(0.0, -1.0),
        lambda lib, t: _dist(lib).VonMises(0.0, -1.0),
        lambda lib, t: _dist(lib).VonMises(t([0.0]), t([-1.0]), validate_args=True),
        lambda lib, t: _dist(lib).Wishart(3.0),
        lambda lib, t: _dist(lib).Wishart(3.0, covariance_matrix=t([[1.0]]), scale_tril=t([[1.0]])),
        lambda lib, t: _dist(lib).Wishart(3.0, covariance_matrix=t([1.0, 2.0])),
        lambda lib, t: _dist(lib).Wishart(1.0, covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]])),
        lambda lib, t: _dist(lib).Wishart(t([1.0, 3.0]), covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]]), validate_args=True),
        lambda lib, t: _dist(lib).Wishart(3.0, scale_tril=t([[1.0, 1.0], [0.0, 1.0]]), validate_args=True),
        lambda lib, t: _dist(lib).LKJCholesky(1, 1.0),
        lambda lib, t: _dist(lib).ReshapeTransform((2, 3), (4,)),
        lambda lib, t: _dist(lib).ReshapeTransform((2, 3), (6,)).forward_shape((4, 3, 2)),
        lambda lib, t: _dist(lib).ReshapeTransform((2, 3), (6,)).inverse_shape(()),
        lambda lib, t: _dist(lib).CorrCholeskyTransform().forward_shape((4,)),
        lambda lib, t: _dist(lib).CorrCholeskyTransform().inverse_shape((2, 3)),
        lambda lib, t: _dist(lib).CatTransform([_dist(lib).ExpTransform()], lengths=[1, 2]),
        lambda lib, t: _dist(lib).CatTransform(["exp"]),
        lambda lib, t: _dist(lib).CatTransform([_dist(lib).ExpTransform()], dim=0, lengths=[2])(t([1.0, 2.0, 3.0])),
        lambda lib, t: _dist(lib).CatTransform([_dist(lib).ExpTransform()], dim=3)(t([1.0])),
        lambda lib, t: _dist(lib).StackTransform([_dist(lib).ExpTransform()], dim=0)(t([1.0, 2.0])),
        lambda lib, t: _dist(lib).StackTransform([_dist(lib).ExpTransform()]).inv(t([1.0, 2.0])),
        lambda lib, t: _dist(lib).constraints.cat([_dist(lib).constraints.real], lengths=[1, 1]),
        lambda lib, t: _dist(lib).constraints.stack(["real"]),
    ]
    for k, case in enumerate(cases):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, theirs = _error(lambda: case(gw, s.tensor)), _error(lambda: case(torch, torch.tensor))
        assert theirs is not None and ours == theirs, f"case {k}: {ours} != {theirs}"
    # an invalid LKJ concentration: torch reports its (mistaken, see LKJCholesky) Beta's parameters, here LKJCholesky's
    with pytest.raises(ValueError, match=re.escape("Expected parameter concentration (Tensor of shape ()) of distribution "
                                                   "LKJCholesky(concentration: -1.0) to satisfy the constraint GreaterThan")):
        gw.distributions.LKJCholesky(3, -1.0)
    # torch's clamp makes an out-of-range probs pass unless validate_args is given; a tensor is not read by default
    for lib, t in ((gw, s.tensor), (torch, torch.tensor)):
        assert float(_dist(lib).ContinuousBernoulli(1.5).probs) == pytest.approx(1 - np.finfo(np.float32).eps)
    assert gw.distributions.Wishart(s.tensor([1.0]), s.tensor(np.eye(2))).batch_shape == (1,)
    for lib, t in ((gw, s.tensor), (torch, torch.tensor)):
        with pytest.warns(UserWarning, match="Low df values detected"):
            _dist(lib).Wishart(2.5, t(np.eye(3)))


def test_reprs_and_submodules_are_torchs(session):
    s = session
    for build in (lambda lib, t: _dist(lib).ContinuousBernoulli(0.3),
                  lambda lib, t: _dist(lib).ContinuousBernoulli(logits=t([0.0, 1.0])),
                  lambda lib, t: _dist(lib).Kumaraswamy(1.0, 2.0),
                  lambda lib, t: _dist(lib).FisherSnedecor(1.0, t([2.0, 3.0])),
                  lambda lib, t: _dist(lib).GeneralizedPareto(0.0, 1.0, 0.5),
                  lambda lib, t: _dist(lib).LogisticNormal(t([0.0, 1.0]), 1.0),
                  lambda lib, t: _dist(lib).VonMises(0.0, 1.0),
                  lambda lib, t: _dist(lib).Wishart(3.0, t([[1.0, 0.0], [0.0, 1.0]])),
                  lambda lib, t: _dist(lib).LKJCholesky(3, 0.5)):
        assert repr(build(gw, s.tensor)) == repr(build(torch, torch.tensor))
    names = ["beta", "chi2", "continuous_bernoulli", "dirichlet", "exp_family", "fishersnedecor", "generalized_pareto", "half_cauchy",
             "inverse_gamma", "kumaraswamy", "lkj_cholesky", "logistic_normal", "relaxed_bernoulli", "relaxed_categorical", "studentT",
             "von_mises", "weibull", "wishart"]
    for name in names:
        ours, theirs = importlib.import_module(f"gradwire.distributions.{name}"), importlib.import_module(f"torch.distributions.{name}")
        assert ours.__all__ == theirs.__all__, name
        assert all(getattr(ours, c) is getattr(gw.distributions, c) for c in ours.__all__), name
    from gradwire.distributions.studentT import StudentT
    assert StudentT is gw.distributions.StudentT and gw.distributions.identity_transform is gw.distributions.transforms.identity_transform
    assert sorted(set(torch.distributions.__all__) - set(gw.distributions.__all__)) == []
