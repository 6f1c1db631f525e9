"""BG/NBD and Gamma-Gamma with the API of the ``lifetimes`` package (version 0.11).

``frequency`` is the number of repeat purchases, ``recency`` the time from the first to the last purchase,
``T`` the time from the first purchase to the end of observation (any one unit: days, weeks), and
``monetary_value`` the mean value of the repeat purchases. Both models are fitted by maximum likelihood; the
fitted parameters agree with lifetimes' to about 2e-5 relative on CDNOW (the optimisers differ).

>>> import numpy as np
>>> from discount.ltv import BetaGeoFitter
>>> bgf = BetaGeoFitter().fit(frequency=[2, 0, 5, 1, 0, 3], recency=[30.4, 0, 35.0, 10.1, 0, 20.0],
...                           T=[38.9, 38.9, 38.0, 30.0, 20.0, 36.0])
>>> sorted(bgf.params_)
['a', 'alpha', 'b', 'r']
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _native
from ._arrays import float_array

ArrayLike = Any
FloatOrArray = Union[float, np.ndarray]


def _vectors(**named: ArrayLike) -> Tuple[Tuple[np.ndarray, ...], bool]:
    """Each argument as a float64 vector (scalars become length-1 vectors); whether all were scalars."""
    scalar = all(np.ndim(v) == 0 for v in named.values())
    return tuple(float_array(name, np.atleast_1d(v)) for name, v in named.items()), scalar


def _result(values: np.ndarray, scalar: bool) -> FloatOrArray:
    return float(values[0]) if scalar else values


class BetaGeoFitter:
    """BG/NBD (Fader, Hardie & Lee 2005): customers buy at a Poisson rate λ ~ Gamma(r, α) while alive and drop
    out after each purchase with probability p ~ Beta(a, b).

    After ``fit``: ``params_`` (``r``, ``alpha``, ``a``, ``b``) and ``log_likelihood_`` (summed over the
    customers).
    """

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        if penalizer_coef != 0.0:
            raise ValueError("argument `penalizer_coef`: only 0 (plain maximum likelihood) is supported")
        self.penalizer_coef = penalizer_coef
        self.params_: Dict[str, float] = {}
        self.log_likelihood_: Optional[float] = None
        self.data: Optional[Dict[str, np.ndarray]] = None

    def __repr__(self) -> str:
        if not self.params_:
            return "<discount.ltv.BetaGeoFitter: not fitted>"
        fitted = ", ".join(f"{k}: {v:.4f}" for k, v in self.params_.items())
        return f"<discount.ltv.BetaGeoFitter: fitted with {len(self.data['T'])} subjects, {fitted}>"

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, **kwargs: Any) -> "BetaGeoFitter":
        """Fits the four parameters; returns ``self``. Invalid customers (recency > T, negative values,
        recency > 0 with frequency 0) raise ``ValueError`` with their index."""
        f = float_array("frequency", frequency)
        r = float_array("recency", recency)
        t = float_array("T", T)
        r_, alpha, a, b, ll = _native.fit_bgnbd(f, r, t)
        self.params_ = {"r": r_, "alpha": alpha, "a": a, "b": b}
        self.log_likelihood_ = ll
        self.data = {"frequency": f, "recency": r, "T": t}
        return self

    def _params(self) -> Tuple[float, float, float, float]:
        if not self.params_:
            raise ValueError("the model is not fitted: call fit() first")
        p = self.params_
        return (p["r"], p["alpha"], p["a"], p["b"])

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatOrArray:
        """Expected repeat purchases in the next ``t`` time units of customers with this history."""
        (f, r, big_t), scalar = _vectors(frequency=frequency, recency=recency, T=T)
        return _result(_native.bgnbd_conditional_expected_purchases(self._params(), float(t), f, r, big_t), scalar)

    predict = conditional_expected_number_of_purchases_up_to_time

    def conditional_probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatOrArray:
        """Probability that customers with this history are still alive (1 without repeat purchases)."""
        (f, r, big_t), scalar = _vectors(frequency=frequency, recency=recency, T=T)
        return _result(_native.bgnbd_probability_alive(self._params(), f, r, big_t), scalar)

    def expected_number_of_purchases_up_to_time(self, t: ArrayLike) -> FloatOrArray:
        """Expected repeat purchases of a new customer in their first ``t`` time units."""
        (times,), scalar = _vectors(t=t)
        return _result(_native.bgnbd_expected_purchases_new(self._params(), times), scalar)


class GammaGammaFitter:
    """Gamma-Gamma spend model: each purchase value is Gamma(p, ν), with ν ~ Gamma(q, v) per customer.

    Fit on customers with repeat purchases (``frequency > 0``). After ``fit``: ``params_`` (``p``, ``q``,
    ``v``) and ``log_likelihood_``.
    """

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        if penalizer_coef != 0.0:
            raise ValueError("argument `penalizer_coef`: only 0 (plain maximum likelihood) is supported")
        self.penalizer_coef = penalizer_coef
        self.params_: Dict[str, float] = {}
        self.log_likelihood_: Optional[float] = None
        self.data: Optional[Dict[str, np.ndarray]] = None

    def __repr__(self) -> str:
        if not self.params_:
            return "<discount.ltv.GammaGammaFitter: not fitted>"
        fitted = ", ".join(f"{k}: {v:.4f}" for k, v in self.params_.items())
        return f"<discount.ltv.GammaGammaFitter: fitted with {len(self.data['frequency'])} subjects, {fitted}>"

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike, **kwargs: Any) -> "GammaGammaFitter":
        """Fits p, q, v; returns ``self``. A customer with ``frequency == 0`` or ``monetary_value <= 0`` raises
        ``ValueError`` with their index, as lifetimes refuses them."""
        f = float_array("frequency", frequency)
        m = float_array("monetary_value", monetary_value)
        p, q, v, ll = _native.fit_gamma_gamma(f, m)
        self.params_ = {"p": p, "q": q, "v": v}
        self.log_likelihood_ = ll
        self.data = {"frequency": f, "monetary_value": m}
        return self

    def conditional_expected_average_profit(
        self, frequency: Optional[ArrayLike] = None, monetary_value: Optional[ArrayLike] = None
    ) -> FloatOrArray:
        """Expected mean purchase value of each customer: a weighted mean of their own and the population's
        (the population's alone for ``frequency == 0``). Without arguments, for the fitted customers."""
        if not self.params_:
            raise ValueError("the model is not fitted: call fit() first")
        if frequency is None or monetary_value is None:
            if self.data is None or (frequency is None) != (monetary_value is None):
                raise ValueError("give both `frequency` and `monetary_value`, or neither (the fitted data)")
            frequency, monetary_value = self.data["frequency"], self.data["monetary_value"]
        (f, m), scalar = _vectors(frequency=frequency, monetary_value=monetary_value)
        params = (self.params_["p"], self.params_["q"], self.params_["v"])
        return _result(_native.gamma_gamma_expected_average_profit(params, f, m), scalar)


__all__ = ["BetaGeoFitter", "GammaGammaFitter"]
