"""Off-policy estimators with Open Bandit Pipeline's names and arguments (``obp.ope``, version 0.5).

Each class takes the same hyper-parameters as its namesake and offers ``estimate_policy_value`` and
``estimate_interval`` with the same arguments in the same order:

* ``reward``, ``action``, ``pscore``, ``position``: one value per round (``position`` may be omitted for a
  single-slot interface);
* ``action_dist``: the evaluation policy, shape ``(n_rounds, n_actions, len_list)``;
* ``estimated_rewards_by_reg_model``: a reward model's predictions, same shape.

Point estimates equal Open Bandit Pipeline's to floating-point rounding. Intervals are percentile bootstrap
intervals of the same construction, from a different random stream: they agree in distribution, not digit for
digit, and the default ``random_state`` is a fixed seed, so a call repeated gives the same interval.

>>> import numpy as np
>>> from discount.ope import InverseProbabilityWeighting
>>> action_dist = np.tile([[[0.8], [0.2]]], (4, 1, 1))
>>> InverseProbabilityWeighting().estimate_policy_value(
...     reward=np.array([1, 0, 1, 0]), action=np.array([0, 1, 1, 0]),
...     pscore=np.full(4, 0.5), action_dist=action_dist)
0.5
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import numpy as np

from . import _native
from ._arrays import float_array, optional_float_array, optional_int_array

DEFAULT_RANDOM_STATE = 12345
"""Seed used when ``random_state`` is None (Open Bandit Pipeline would draw a fresh one)."""


class BaseOffPolicyEstimator:
    """What every estimator shares: the native call and Open Bandit Pipeline's interval dictionary."""

    estimator_name: str

    def _spec(self) -> str:
        raise NotImplementedError

    def _arrays(self, **arrays: Any) -> Dict[str, Any]:
        return {
            "action_dist": float_array("action_dist", arrays["action_dist"], ndim=3),
            "reward": optional_float_array("reward", arrays.get("reward")),
            "action": optional_int_array("action", arrays.get("action")),
            "pscore": optional_float_array("pscore", arrays.get("pscore")),
            "position": optional_int_array("position", arrays.get("position")),
            "estimated_rewards_by_reg_model": optional_float_array(
                "estimated_rewards_by_reg_model", arrays.get("estimated_rewards_by_reg_model"), ndim=3
            ),
        }

    def _estimate(self, **arrays: Any) -> float:
        return _native.estimate_policy_value(self._spec(), **self._arrays(**arrays))

    def _interval(
        self, alpha: float, n_bootstrap_samples: int, random_state: Optional[int], **arrays: Any
    ) -> Dict[str, float]:
        seed = DEFAULT_RANDOM_STATE if random_state is None else int(random_state)
        if seed < 0:
            raise ValueError(f"argument `random_state`: must be >= 0, got {random_state}")
        _, mean, lower, upper, _ = _native.estimate_interval(
            self._spec(),
            alpha=float(alpha),
            n_bootstrap_samples=int(n_bootstrap_samples),
            random_state=seed,
            **self._arrays(**arrays),
        )
        level = 100 * (1.0 - alpha)
        return {"mean": mean, f"{level}% CI (lower)": lower, f"{level}% CI (upper)": upper}


def _clip(value: float, name: str) -> str:
    value = float(value)
    if np.isnan(value) or value < 0:
        raise ValueError(f"argument `{name}`: must be >= 0 (or np.inf), got {value}")
    return "inf" if np.isinf(value) else repr(value)


@dataclass
class ReplayMethod(BaseOffPolicyEstimator):
    """Replay method (Li et al., 2011) for deterministic evaluation policies."""

    estimator_name: str = "rm"

    def _spec(self) -> str:
        return "replay"

    def estimate_policy_value(
        self, reward: Any, action: Any, action_dist: Any, position: Any = None, **kwargs: Any
    ) -> float:
        """Mean reward of the rounds where the evaluation policy picks the logged action for certain."""
        return self._estimate(reward=reward, action=action, action_dist=action_dist, position=position)

    def estimate_interval(
        self,
        reward: Any,
        action: Any,
        action_dist: Any,
        position: Any = None,
        alpha: float = 0.05,
        n_bootstrap_samples: int = 10000,
        random_state: Optional[int] = None,
        **kwargs: Any,
    ) -> Dict[str, float]:
        """Percentile bootstrap interval: ``{"mean", "95.0% CI (lower)", "95.0% CI (upper)"}`` for alpha 0.05."""
        return self._interval(
            alpha, n_bootstrap_samples, random_state,
            reward=reward, action=action, action_dist=action_dist, position=position,
        )


@dataclass
class InverseProbabilityWeighting(BaseOffPolicyEstimator):
    """Inverse propensity weighting; weights above ``lambda_`` are clipped to it."""

    lambda_: float = np.inf
    estimator_name: str = "ipw"

    def _spec(self) -> str:
        return f"ips:{_clip(self.lambda_, 'lambda_')}"

    def estimate_policy_value(
        self, reward: Any, action: Any, action_dist: Any, pscore: Any = None, position: Any = None,
        **kwargs: Any,
    ) -> float:
        """V = mean(min(π_e(a_i | x_i, p_i) / pscore_i, λ) · r_i)."""
        return self._estimate(
            reward=reward, action=action, action_dist=action_dist, pscore=pscore, position=position
        )

    def estimate_interval(
        self,
        reward: Any,
        action: Any,
        action_dist: Any,
        pscore: Any = None,
        position: Any = None,
        alpha: float = 0.05,
        n_bootstrap_samples: int = 10000,
        random_state: Optional[int] = None,
        **kwargs: Any,
    ) -> Dict[str, float]:
        """Percentile bootstrap interval: ``{"mean", "95.0% CI (lower)", "95.0% CI (upper)"}`` for alpha 0.05."""
        return self._interval(
            alpha, n_bootstrap_samples, random_state,
            reward=reward, action=action, action_dist=action_dist, pscore=pscore, position=position,
        )


@dataclass
class SelfNormalizedInverseProbabilityWeighting(InverseProbabilityWeighting):
    """Self-normalised IPW: Σ w_i r_i / Σ w_i (no clipping)."""

    estimator_name: str = "snipw"

    def _spec(self) -> str:
        return "snips"


@dataclass
class DirectMethod(BaseOffPolicyEstimator):
    """Direct method: the reward model averaged under the evaluation policy at the logged positions."""

    estimator_name: str = "dm"

    def _spec(self) -> str:
        return "dm"

    def estimate_policy_value(
        self, action_dist: Any, estimated_rewards_by_reg_model: Any, position: Any = None, **kwargs: Any
    ) -> float:
        """V = mean over rounds of Σ_a π_e(a | x_i, p_i) q̂(x_i, a, p_i)."""
        return self._estimate(
            action_dist=action_dist,
            estimated_rewards_by_reg_model=estimated_rewards_by_reg_model,
            position=position,
        )

    def estimate_interval(
        self,
        action_dist: Any,
        estimated_rewards_by_reg_model: Any,
        position: Any = None,
        alpha: float = 0.05,
        n_bootstrap_samples: int = 10000,
        random_state: Optional[int] = None,
        **kwargs: Any,
    ) -> Dict[str, float]:
        """Percentile bootstrap interval: ``{"mean", "95.0% CI (lower)", "95.0% CI (upper)"}`` for alpha 0.05."""
        return self._interval(
            alpha, n_bootstrap_samples, random_state,
            action_dist=action_dist,
            estimated_rewards_by_reg_model=estimated_rewards_by_reg_model,
            position=position,
        )


@dataclass
class DoublyRobust(BaseOffPolicyEstimator):
    """Doubly robust: DM plus the importance-weighted error of the model on the logged action; weights
    above ``lambda_`` are clipped."""

    lambda_: float = np.inf
    estimator_name: str = "dr"

    def _spec(self) -> str:
        return f"dr:{_clip(self.lambda_, 'lambda_')}"

    def estimate_policy_value(
        self,
        reward: Any,
        action: Any,
        action_dist: Any,
        estimated_rewards_by_reg_model: Any,
        pscore: Any = None,
        position: Any = None,
        **kwargs: Any,
    ) -> float:
        """V = mean(q̂_π(x_i) + ŵ_i (r_i − q̂(x_i, a_i, p_i)))."""
        return self._estimate(
            reward=reward, action=action, action_dist=action_dist,
            estimated_rewards_by_reg_model=estimated_rewards_by_reg_model, pscore=pscore, position=position,
        )

    def estimate_interval(
        self,
        reward: Any,
        action: Any,
        action_dist: Any,
        estimated_rewards_by_reg_model: Any,
        pscore: Any = None,
        position: Any = None,
        alpha: float = 0.05,
        n_bootstrap_samples: int = 10000,
        random_state: Optional[int] = None,
        **kwargs: Any,
    ) -> Dict[str, float]:
        """Percentile bootstrap interval: ``{"mean", "95.0% CI (lower)", "95.0% CI (upper)"}`` for alpha 0.05."""
        return self._interval(
            alpha, n_bootstrap_samples, random_state,
            reward=reward, action=action, action_dist=action_dist,
            estimated_rewards_by_reg_model=estimated_rewards_by_reg_model, pscore=pscore, position=position,
        )


@dataclass
class SelfNormalizedDoublyRobust(DoublyRobust):
    """Doubly robust with a self-normalised correction: ŵ = w / mean(w)."""

    estimator_name: str = "sndr"

    def _spec(self) -> str:
        return "sndr"


@dataclass
class SwitchDoublyRobust(DoublyRobust):
    """Switch-DR: the importance correction only where the weight is at most ``lambda_``, DM elsewhere."""

    estimator_name: str = "switch-dr"

    def _spec(self) -> str:
        return f"switch-dr:{_clip(self.lambda_, 'lambda_')}"


@dataclass
class DoublyRobustWithShrinkage(DoublyRobust):
    """DR with optimistic shrinkage: ŵ = λ w / (w² + λ); λ = ∞ gives DR, λ = 0 gives DM."""

    lambda_: float = 0.0
    estimator_name: str = "dr-os"

    def _spec(self) -> str:
        return f"dr-os:{_clip(self.lambda_, 'lambda_')}"


IPW = InverseProbabilityWeighting
SNIPW = SelfNormalizedInverseProbabilityWeighting
DM = DirectMethod
DR = DoublyRobust
SNDR = SelfNormalizedDoublyRobust
SwitchDR = SwitchDoublyRobust
DRos = DoublyRobustWithShrinkage

__all__ = [
    "BaseOffPolicyEstimator",
    "ReplayMethod",
    "InverseProbabilityWeighting",
    "SelfNormalizedInverseProbabilityWeighting",
    "DirectMethod",
    "DoublyRobust",
    "SelfNormalizedDoublyRobust",
    "SwitchDoublyRobust",
    "DoublyRobustWithShrinkage",
    "IPW",
    "SNIPW",
    "DM",
    "DR",
    "SNDR",
    "SwitchDR",
    "DRos",
]
