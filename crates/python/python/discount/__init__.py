"""The discount engine from Python.

* :mod:`discount.ope`: off-policy estimators with Open Bandit Pipeline's names (IPW, SNIPW, DM, DR, SNDR,
  Switch-DR, DRos, Replay) on NumPy arrays, with bootstrap intervals;
* :mod:`discount.metrics`: uplift metrics with scikit-uplift's names (Qini, AUUC, uplift@k, weighted average
  uplift, curves);
* :mod:`discount.ltv`: BG/NBD and Gamma-Gamma with lifetimes' API (``BetaGeoFitter``, ``GammaGammaFitter``);
* :mod:`discount.simulation`: the market simulator with ground truth;
* :mod:`discount.client`: a typed client of the decision service (``discount serve``), standard library only.

>>> import discount
>>> discount.qini_auc_score([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1]) > 0
True
"""

from . import client, ltv, metrics, ope, simulation
from ._native import __version__
from .client import Client, ServiceError
from .ltv import BetaGeoFitter, GammaGammaFitter
from .metrics import (
    perfect_qini_curve,
    perfect_uplift_curve,
    qini_auc_score,
    qini_curve,
    uplift_at_k,
    uplift_auc_score,
    uplift_by_percentile,
    uplift_curve,
    weighted_average_uplift,
)
from .ope import (
    DirectMethod,
    DoublyRobust,
    DoublyRobustWithShrinkage,
    InverseProbabilityWeighting,
    ReplayMethod,
    SelfNormalizedDoublyRobust,
    SelfNormalizedInverseProbabilityWeighting,
    SwitchDoublyRobust,
)
from .simulation import SimulationResult, simulate

__all__ = [
    "__version__",
    "client",
    "ltv",
    "metrics",
    "ope",
    "simulation",
    "Client",
    "ServiceError",
    "BetaGeoFitter",
    "GammaGammaFitter",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "qini_auc_score",
    "qini_curve",
    "uplift_at_k",
    "uplift_auc_score",
    "uplift_by_percentile",
    "uplift_curve",
    "weighted_average_uplift",
    "DirectMethod",
    "DoublyRobust",
    "DoublyRobustWithShrinkage",
    "InverseProbabilityWeighting",
    "ReplayMethod",
    "SelfNormalizedDoublyRobust",
    "SelfNormalizedInverseProbabilityWeighting",
    "SwitchDoublyRobust",
    "SimulationResult",
    "simulate",
]
