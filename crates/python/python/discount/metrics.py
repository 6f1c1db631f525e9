"""Uplift metrics with scikit-uplift's names and arguments (``sklift.metrics``, version 0.5).

``y_true`` are the outcomes (0/1 for the AUC scores), ``uplift`` the predicted uplift scores (higher = target
first), ``treatment`` the flags (1 treated, 0 control). Values equal scikit-uplift's to floating-point
rounding; a bin or group without customers, which scikit-uplift reports as NaN or a warning, is a
``ValueError`` naming the bin here.

>>> from discount.metrics import qini_auc_score
>>> round(qini_auc_score([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1]), 6)
0.833333
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Tuple

import numpy as np

from . import _native
from ._arrays import float_array, int_array


def _three(y_true: Any, uplift: Any, treatment: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    return float_array("y_true", y_true), float_array("uplift", uplift), int_array("treatment", treatment)


def uplift_curve(y_true: Any, uplift: Any, treatment: Any) -> Tuple[np.ndarray, np.ndarray]:
    """Points ``(x, y)`` of the uplift curve: x customers targeted, y = (rate_t − rate_c) · x."""
    return _native.uplift_curve(*_three(y_true, uplift, treatment))


def perfect_uplift_curve(y_true: Any, treatment: Any) -> Tuple[np.ndarray, np.ndarray]:
    """The uplift curve of the best possible ranking."""
    return _native.perfect_uplift_curve(float_array("y_true", y_true), int_array("treatment", treatment))


def uplift_auc_score(y_true: Any, uplift: Any, treatment: Any) -> float:
    """Area under the uplift curve, normalised: 0 for random targeting, 1 for the perfect ranking."""
    return _native.uplift_auc_score(*_three(y_true, uplift, treatment))


def qini_curve(y_true: Any, uplift: Any, treatment: Any) -> Tuple[np.ndarray, np.ndarray]:
    """Points ``(x, y)`` of the Qini curve: y = Y_t − Y_c · n_t / n_c among the top x customers."""
    return _native.qini_curve(*_three(y_true, uplift, treatment))


def perfect_qini_curve(y_true: Any, treatment: Any, negative_effect: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """The Qini curve of the best possible ranking (``negative_effect``: some customers are hurt by treatment)."""
    return _native.perfect_qini_curve(
        float_array("y_true", y_true), int_array("treatment", treatment), bool(negative_effect)
    )


def qini_auc_score(y_true: Any, uplift: Any, treatment: Any, negative_effect: bool = True) -> float:
    """The Qini coefficient: area under the Qini curve, normalised by the perfect ranking's."""
    return _native.qini_auc_score(*_three(y_true, uplift, treatment), bool(negative_effect))


def uplift_at_k(y_true: Any, uplift: Any, treatment: Any, strategy: str, k: float = 0.3) -> float:
    """Mean outcome of treated minus control among the top ``k`` customers.

    ``k``: a float in (0, 1) is a share of the customers, an integer a count. ``strategy``: ``"overall"`` takes
    the top k of everyone; ``"by_group"`` the top k of each group separately.
    """
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f"argument `k`: must be a float in (0, 1) or an int, got {k!r}")
    if isinstance(k, numbers.Integral):
        return _native.uplift_at_k(*_three(y_true, uplift, treatment), strategy, k_count=int(k))
    if isinstance(k, numbers.Real):
        return _native.uplift_at_k(*_three(y_true, uplift, treatment), strategy, k_fraction=float(k))
    raise ValueError(f"argument `k`: must be a float in (0, 1) or an int, got {k!r}")


def uplift_by_percentile(
    y_true: Any, uplift: Any, treatment: Any, strategy: str = "overall", bins: int = 10
) -> Dict[str, np.ndarray]:
    """Per bin of the ranking (best first): ``n_treatment``, ``n_control``, ``response_rate_treatment``,
    ``response_rate_control`` and ``uplift``, the columns of scikit-uplift's table (``pandas.DataFrame(result)``
    gives it as a frame)."""
    n_t, n_c, rate_t, rate_c, lift = _native.uplift_by_percentile(
        *_three(y_true, uplift, treatment), strategy, int(bins)
    )
    return {
        "n_treatment": np.asarray(n_t, dtype=np.int64),
        "n_control": np.asarray(n_c, dtype=np.int64),
        "response_rate_treatment": np.asarray(rate_t),
        "response_rate_control": np.asarray(rate_c),
        "uplift": np.asarray(lift),
    }


def weighted_average_uplift(
    y_true: Any, uplift: Any, treatment: Any, strategy: str = "overall", bins: int = 10
) -> float:
    """The bins' uplifts averaged with their treated counts as weights."""
    return _native.weighted_average_uplift(*_three(y_true, uplift, treatment), strategy, int(bins))


__all__ = [
    "uplift_curve",
    "perfect_uplift_curve",
    "uplift_auc_score",
    "qini_curve",
    "perfect_qini_curve",
    "qini_auc_score",
    "uplift_at_k",
    "uplift_by_percentile",
    "weighted_average_uplift",
]
