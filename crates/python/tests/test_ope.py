"""Off-policy estimators against Open Bandit Pipeline's definitions.

Open Bandit Pipeline 0.5.7 needs Python < 3.11 and PyTorch, so it is not installed here; `obp_round_rewards`
below transcribes its `_estimate_round_rewards` methods (obp/ope/estimators.py) and
`estimate_confidence_interval_by_bootstrap` (obp/utils.py) line by line in NumPy, and the package must
reproduce them on the same arrays."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import discount
from discount import ope


def obp_round_rewards(name, reward, action, pscore, position, action_dist, q=None, lambda_=np.inf):
    n = action.shape[0]
    idx = np.arange(n)
    iw = action_dist[idx, action, position] / pscore
    if q is not None:
        q_hat_at_position = q[idx, :, position]
        q_hat_factual = q[idx, action, position]
        pi_e_at_position = action_dist[idx, :, position]
        dm = np.average(q_hat_at_position, weights=pi_e_at_position, axis=1)
    if name == "ipw":
        return reward * np.minimum(iw, lambda_)
    if name == "snipw":
        return reward * iw / iw.mean()
    if name == "dm":
        return dm
    if name == "dr":
        return dm + np.minimum(iw, lambda_) * (reward - q_hat_factual)
    if name == "sndr":
        return dm + iw * (reward - q_hat_factual) / iw.mean()
    if name == "switch-dr":
        return dm + np.array(iw <= lambda_, dtype=int) * iw * (reward - q_hat_factual)
    if name == "dr-os":
        shrunk = (lambda_ * iw) / (iw**2 + lambda_) if lambda_ < np.inf else iw
        return dm + shrunk * (reward - q_hat_factual)
    if name == "rm":
        match = action_dist[idx, action, position] == 1
        return match * reward / match.mean()
    raise ValueError(name)


def obp_bootstrap(samples, alpha, n_bootstrap_samples, random_state):
    rng = np.random.RandomState(random_state)
    boot = [np.mean(rng.choice(samples, size=samples.shape[0])) for _ in range(n_bootstrap_samples)]
    return np.percentile(boot, 100 * (alpha / 2)), np.percentile(boot, 100 * (1.0 - alpha / 2))


@pytest.fixture(scope="module")
def synthetic():
    """2,000 rounds, 5 actions, 3 positions; contextual logging and evaluation policies, a noisy reward model."""
    rng = np.random.default_rng(7)
    n, n_actions, len_list = 2000, 5, 3
    behaviour = rng.dirichlet(np.ones(n_actions), size=(n, len_list)).transpose(0, 2, 1)
    position = rng.integers(0, len_list, n)
    action = np.array([rng.choice(n_actions, p=behaviour[i, :, position[i]]) for i in range(n)])
    pscore = behaviour[np.arange(n), action, position]
    true_q = rng.uniform(0.05, 0.3, size=(n, n_actions, len_list))
    reward = rng.binomial(1, true_q[np.arange(n), action, position]).astype(float)
    action_dist = rng.dirichlet(np.ones(n_actions) * 0.5, size=(n, len_list)).transpose(0, 2, 1).copy()
    q = np.clip(true_q + rng.normal(0, 0.05, true_q.shape), 0, 1)
    return dict(reward=reward, action=action, pscore=pscore, position=position, action_dist=action_dist, q=q)


CASES = [
    (ope.InverseProbabilityWeighting(), "ipw", np.inf),
    (ope.InverseProbabilityWeighting(lambda_=5.0), "ipw", 5.0),
    (ope.SelfNormalizedInverseProbabilityWeighting(), "snipw", np.inf),
    (ope.DirectMethod(), "dm", np.inf),
    (ope.DoublyRobust(), "dr", np.inf),
    (ope.DoublyRobust(lambda_=3.0), "dr", 3.0),
    (ope.SelfNormalizedDoublyRobust(), "sndr", np.inf),
    (ope.SwitchDoublyRobust(lambda_=4.0), "switch-dr", 4.0),
    (ope.SwitchDoublyRobust(), "switch-dr", np.inf),
    (ope.DoublyRobustWithShrinkage(lambda_=10.0), "dr-os", 10.0),
]


def _call(estimator, data, method="estimate_policy_value", **extra):
    if isinstance(estimator, ope.DirectMethod):
        return getattr(estimator, method)(
            action_dist=data["action_dist"], estimated_rewards_by_reg_model=data["q"], position=data["position"],
            **extra,
        )
    kwargs = dict(reward=data["reward"], action=data["action"], action_dist=data["action_dist"],
                  pscore=data["pscore"], position=data["position"], **extra)
    if isinstance(estimator, ope.DoublyRobust):
        kwargs["estimated_rewards_by_reg_model"] = data["q"]
    return getattr(estimator, method)(**kwargs)


@pytest.mark.parametrize("estimator,name,lambda_", CASES, ids=lambda c: str(c))
def test_point_estimates_equal_obp(synthetic, estimator, name, lambda_):
    d = synthetic
    expected = obp_round_rewards(name, d["reward"], d["action"], d["pscore"], d["position"], d["action_dist"],
                                 d["q"], lambda_).mean()
    assert _call(estimator, d) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_replay_on_a_deterministic_policy(synthetic):
    d = synthetic
    greedy = np.zeros_like(d["action_dist"])
    best = d["q"].argmax(axis=1)
    n, _, len_list = greedy.shape
    for p in range(len_list):
        greedy[np.arange(n), best[:, p], p] = 1.0
    expected = obp_round_rewards("rm", d["reward"], d["action"], d["pscore"], d["position"], greedy).mean()
    value = ope.ReplayMethod().estimate_policy_value(
        reward=d["reward"], action=d["action"], action_dist=greedy, position=d["position"])
    assert value == pytest.approx(expected, rel=1e-12)


def test_intervals_have_obps_keys_and_agree_in_distribution(synthetic):
    d = synthetic
    estimator = ope.SelfNormalizedInverseProbabilityWeighting()
    interval = _call(estimator, d, "estimate_interval", n_bootstrap_samples=2000, random_state=3)
    assert set(interval) == {"mean", "95.0% CI (lower)", "95.0% CI (upper)"}
    point = _call(estimator, d)
    lower, upper = interval["95.0% CI (lower)"], interval["95.0% CI (upper)"]
    assert lower < point < upper
    samples = obp_round_rewards("snipw", d["reward"], d["action"], d["pscore"], d["position"], d["action_dist"])
    ref_lower, ref_upper = obp_bootstrap(samples, 0.05, 2000, 3)
    width = ref_upper - ref_lower
    # Different random streams: bounds agree to a small share of the interval's width.
    assert abs(lower - ref_lower) < 0.1 * width and abs(upper - ref_upper) < 0.1 * width
    # Seeded: the same call gives the same interval; alpha changes the label as in obp.
    assert _call(estimator, d, "estimate_interval", n_bootstrap_samples=2000, random_state=3) == interval
    assert "90.0% CI (lower)" in _call(estimator, d, "estimate_interval", alpha=0.1, n_bootstrap_samples=200)


def test_bad_arguments_are_named(synthetic):
    d = dict(synthetic)
    bad = d["pscore"].copy()
    bad[17] = 0.0
    with pytest.raises(ValueError, match=r"pscore.*index 17"):
        ope.InverseProbabilityWeighting().estimate_policy_value(
            reward=d["reward"], action=d["action"], action_dist=d["action_dist"], pscore=bad, position=d["position"])
    with pytest.raises(ValueError, match=r"action_dist.*3-dimensional"):
        ope.InverseProbabilityWeighting().estimate_policy_value(
            reward=d["reward"], action=d["action"], action_dist=d["action_dist"][:, :, 0], pscore=d["pscore"])
    with pytest.raises(ValueError, match=r"`action`, index 0.*n_actions"):
        ope.InverseProbabilityWeighting().estimate_policy_value(
            reward=d["reward"], action=d["action"] + 5, action_dist=d["action_dist"], pscore=d["pscore"],
            position=d["position"])
    with pytest.raises(ValueError, match=r"lambda_"):
        ope.DoublyRobust(lambda_=-1.0).estimate_policy_value(
            reward=d["reward"], action=d["action"], action_dist=d["action_dist"],
            estimated_rewards_by_reg_model=d["q"], pscore=d["pscore"], position=d["position"])


def _open_bandit_random(data_dir: Path):
    path = data_dir / "open-bandit-dataset" / "random" / "all" / "all.csv"
    if not path.is_file():
        pytest.fail(f"{path} is missing")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    action = np.array([int(r["item_id"]) for r in rows])
    position = np.array([int(r["position"]) for r in rows]) - 1  # the files count positions from 1
    reward = np.array([float(r["click"]) for r in rows])
    pscore = np.array([float(r["propensity_score"]) for r in rows])
    return action, position, reward, pscore


def test_open_bandit_dataset_random_campaign(data_dir):
    """The Open Bandit Dataset's sample of the uniform random campaign (80 items, 3 positions)."""
    action, position, reward, pscore = _open_bandit_random(data_dir)
    n, n_actions, len_list = len(action), 80, 3
    # Evaluating the logging policy itself: every weight is 1, so IPW, SNIPW and DR give the mean click rate.
    uniform = np.full((n, n_actions, len_list), 1.0 / n_actions)
    ipw = discount.InverseProbabilityWeighting().estimate_policy_value(
        reward=reward, action=action, action_dist=uniform, pscore=pscore, position=position)
    assert ipw == pytest.approx(reward.mean(), rel=1e-12)
    # A context-free evaluation policy tilted toward items with more clicks, and a (item, position) CTR model.
    clicks = np.zeros((n_actions, len_list))
    shows = np.zeros((n_actions, len_list))
    np.add.at(clicks, (action, position), reward)
    np.add.at(shows, (action, position), 1)
    ctr = (clicks + 1) / (shows + 20)
    tilt = np.exp(20 * ctr) / np.exp(20 * ctr).sum(axis=0)
    action_dist = np.broadcast_to(tilt, (n, n_actions, len_list)).copy()
    q = np.broadcast_to(ctr, (n, n_actions, len_list)).copy()
    data = dict(reward=reward, action=action, pscore=pscore, position=position, action_dist=action_dist, q=q)
    for estimator, name, lambda_ in CASES:
        expected = obp_round_rewards(name, reward, action, pscore, position, action_dist, q, lambda_).mean()
        assert _call(estimator, data) == pytest.approx(expected, rel=1e-10), name
