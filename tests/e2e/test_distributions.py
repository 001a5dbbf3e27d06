"""gradwire.distributions against torch.distributions: log_prob, entropy, KL and their gradients with the same
parameters; samples by their shapes and their statistics (bounded draws, the session's generator)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(21)
LOC, SCALE = RNG.standard_normal((3, 4)), RNG.uniform(0.5, 2.0, (3, 4))
LOGITS = RNG.standard_normal((3, 5))
VALUES = RNG.standard_normal((2, 3, 4))


def _both(session, arrays):
    return [session.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


def _close_with_grads(ours, theirs, leaves, t_leaves, what):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=what)
    weights = np.linspace(0.5, 1.5, theirs.numel()).reshape(tuple(theirs.shape))
    # (retain_graph: log_prob, entropy and the moments of one distribution may share its parameters' graph)
    grads = gw.grad((ours * ours._session.tensor(weights)).sum(), leaves, retain_graph=True, allow_unused=True)
    t_grads = torch.autograd.grad((theirs * torch.tensor(weights)).sum(), t_leaves, retain_graph=True, allow_unused=True)
    for g, t in zip(grads, t_grads):
        assert (g is None) == (t is None), f"{what}: the parameters that get a gradient"
        if t is not None:
            np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"{what}: gradient")


CASES = {
    "normal": lambda lib, loc, scale, logits: lib.distributions.Normal(loc, scale),
    "categorical-logits": lambda lib, loc, scale, logits: lib.distributions.Categorical(logits=logits),
    "categorical-probs": lambda lib, loc, scale, logits: lib.distributions.Categorical(probs=logits.exp()),
    "bernoulli-logits": lambda lib, loc, scale, logits: lib.distributions.Bernoulli(logits=loc),
    "bernoulli-probs": lambda lib, loc, scale, logits: lib.distributions.Bernoulli(probs=loc.sigmoid()),
}


def _values(name):
    if name.startswith("normal"):
        return VALUES
    if name.startswith("categorical"):
        return RNG.integers(0, 5, (2, 3))
    return RNG.integers(0, 2, (2, 3, 4)).astype(np.float64)


@pytest.mark.parametrize("name", CASES)
def test_log_prob_entropy_and_moments_match_torch(session, name):
    leaves, t_leaves = _both(session, (LOC, SCALE, LOGITS))
    ours, theirs = CASES[name](gw, *leaves), CASES[name](torch, *t_leaves)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    values = _values(name)
    _close_with_grads(ours.log_prob(session.tensor(values)), theirs.log_prob(torch.tensor(values)), leaves, t_leaves, f"{name} log_prob")
    _close_with_grads(ours.entropy(), theirs.entropy(), leaves, t_leaves, f"{name} entropy")
    if not name.startswith("categorical"):
        _close_with_grads(ours.mean * 1.0, theirs.mean * 1.0, leaves, t_leaves, f"{name} mean")
        _close_with_grads(ours.variance, theirs.variance, leaves, t_leaves, f"{name} variance")


@pytest.mark.parametrize("name", CASES)
def test_kl_divergence_matches_torch(session, name):
    leaves, t_leaves = _both(session, (LOC, SCALE, LOGITS))
    others, t_others = _both(session, (LOC[::-1].copy(), SCALE[:, ::-1].copy(), LOGITS[::-1].copy()))
    ours = gw.distributions.kl_divergence(CASES[name](gw, *leaves), CASES[name](gw, *others))
    theirs = torch.distributions.kl_divergence(CASES[name](torch, *t_leaves), CASES[name](torch, *t_others))
    _close_with_grads(ours, theirs, leaves + others, t_leaves + t_others, f"{name} KL")


def test_samples_have_torchs_shapes_and_the_distributions_statistics(session):
    session.manual_seed(2)
    loc, scale = session.tensor([0.0, 5.0], requires_grad=True), session.tensor([1.0, 0.1], requires_grad=True)
    normal = gw.distributions.Normal(loc, scale)
    drawn = normal.rsample((4000,))
    assert tuple(drawn.shape) == (4000, 2) and drawn.requires_grad and not normal.sample((3,)).requires_grad
    values = drawn.detach().numpy()
    np.testing.assert_allclose(values.mean(0), [0.0, 5.0], atol=0.06)
    np.testing.assert_allclose(values.std(0), [1.0, 0.1], rtol=0.05)
    (g_loc, g_scale) = gw.grad(drawn.mean(0).sum(), (loc, scale))  # reparameterized: d/dloc 1, d/dscale the mean noise
    np.testing.assert_allclose(g_loc.numpy(), [1.0, 1.0], rtol=1e-4)  # (a float32 mean of 4000 ones)
    categorical = gw.distributions.Categorical(probs=session.tensor([[0.2, 0.0, 0.8], [0.5, 0.5, 0.0]]))
    picks = categorical.sample((3000,)).numpy()
    assert picks.shape == (3000, 2) and picks.dtype == np.int64
    np.testing.assert_allclose(np.bincount(picks[:, 0], minlength=3) / 3000, [0.2, 0.0, 0.8], atol=0.03)
    np.testing.assert_allclose(np.bincount(picks[:, 1], minlength=3) / 3000, [0.5, 0.5, 0.0], atol=0.03)
    coins = gw.distributions.Bernoulli(probs=session.tensor([0.1, 0.9])).sample((3000,)).numpy()
    np.testing.assert_allclose(coins.mean(0), [0.1, 0.9], atol=0.03)


def test_reinforce_step_matches_torch(session):
    """A policy-gradient loss, -log_prob(action) * advantage, for fixed actions: the same gradient as torch's."""
    weights = RNG.standard_normal((4, 3))
    states, actions, advantages = RNG.standard_normal((6, 4)), RNG.integers(0, 3, 6), RNG.standard_normal(6)
    grads = []
    for lib in (torch, gw):
        tensor = torch.tensor if lib is torch else session.tensor
        w = tensor(weights, requires_grad=True)
        policy = lib.distributions.Categorical(logits=tensor(states) @ w)
        loss = -(policy.log_prob(tensor(actions)) * tensor(advantages)).mean() - 0.01 * policy.entropy().mean()
        loss.backward()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10)
