"""Type stub of the compiled core (``discount._native``); use the documented modules instead."""

from typing import List, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

def estimate_policy_value(
    estimator: str,
    action_dist: F64,
    reward: Optional[F64] = ...,
    action: Optional[I64] = ...,
    pscore: Optional[F64] = ...,
    position: Optional[I64] = ...,
    estimated_rewards_by_reg_model: Optional[F64] = ...,
) -> float: ...
def estimate_interval(
    estimator: str,
    action_dist: F64,
    reward: Optional[F64] = ...,
    action: Optional[I64] = ...,
    pscore: Optional[F64] = ...,
    position: Optional[I64] = ...,
    estimated_rewards_by_reg_model: Optional[F64] = ...,
    alpha: float = ...,
    n_bootstrap_samples: int = ...,
    random_state: int = ...,
) -> Tuple[float, float, float, float, float]: ...
def qini_auc_score(y_true: F64, uplift: F64, treatment: I64, negative_effect: bool) -> float: ...
def uplift_auc_score(y_true: F64, uplift: F64, treatment: I64) -> float: ...
def uplift_at_k(
    y_true: F64,
    uplift: F64,
    treatment: I64,
    strategy: str,
    k_count: Optional[int] = ...,
    k_fraction: Optional[float] = ...,
) -> float: ...
def weighted_average_uplift(y_true: F64, uplift: F64, treatment: I64, strategy: str, bins: int) -> float: ...
def uplift_by_percentile(
    y_true: F64, uplift: F64, treatment: I64, strategy: str, bins: int
) -> Tuple[List[int], List[int], List[float], List[float], List[float]]: ...
def qini_curve(y_true: F64, uplift: F64, treatment: I64) -> Tuple[F64, F64]: ...
def uplift_curve(y_true: F64, uplift: F64, treatment: I64) -> Tuple[F64, F64]: ...
def perfect_qini_curve(y_true: F64, treatment: I64, negative_effect: bool) -> Tuple[F64, F64]: ...
def perfect_uplift_curve(y_true: F64, treatment: I64) -> Tuple[F64, F64]: ...
def fit_bgnbd(frequency: F64, recency: F64, t: F64) -> Tuple[float, float, float, float, float]: ...
def bgnbd_conditional_expected_purchases(
    params: Tuple[float, float, float, float], t: float, frequency: F64, recency: F64, big_t: F64
) -> F64: ...
def bgnbd_probability_alive(
    params: Tuple[float, float, float, float], frequency: F64, recency: F64, big_t: F64
) -> F64: ...
def bgnbd_expected_purchases_new(params: Tuple[float, float, float, float], t: F64) -> F64: ...
def fit_gamma_gamma(frequency: F64, monetary_value: F64) -> Tuple[float, float, float, float]: ...
def gamma_gamma_expected_average_profit(
    params: Tuple[float, float, float], frequency: F64, monetary_value: F64
) -> F64: ...
def simulate(
    config_toml: Optional[str] = ...,
    config_json: Optional[str] = ...,
    policy: str = ...,
    counterfactual: bool = ...,
    keep_events: bool = ...,
    decision_truth: bool = ...,
) -> Tuple[str, List[str], str]: ...
