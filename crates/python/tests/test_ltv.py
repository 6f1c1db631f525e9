"""BG/NBD and Gamma-Gamma against lifetimes 0.11.3 on CDNOW (the data set of Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from lifetimes import BetaGeoFitter as LifetimesBG
from lifetimes import GammaGammaFitter as LifetimesGG
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

from discount.ltv import BetaGeoFitter, GammaGammaFitter


@pytest.fixture(scope="module")
def cdnow(data_dir):
    path = data_dir / "cdnow" / "cdnow_customers_summary.csv"
    if not path.is_file():
        pytest.fail(f"{path} is missing")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return tuple(np.array([float(r[c]) for r in rows]) for c in ("frequency", "recency", "T"))


def test_bgnbd_matches_lifetimes_and_the_paper(cdnow):
    frequency, recency, T = cdnow
    ours = BetaGeoFitter().fit(frequency, recency, T)
    theirs = LifetimesBG().fit(frequency, recency, T)
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_[name] == pytest.approx(theirs.params_[name], rel=1e-4), name
    # Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426.
    for name, published in (("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)):
        assert ours.params_[name] == pytest.approx(published, abs=2e-3), name
    # Predictions of the same fitted parameters agree to rounding.
    theirs_at_ours = LifetimesBG()
    theirs_at_ours.params_ = theirs.params_.copy()
    for name in ("r", "alpha", "a", "b"):
        theirs_at_ours.params_[name] = ours.params_[name]
    np.testing.assert_allclose(
        ours.conditional_expected_number_of_purchases_up_to_time(39, frequency, recency, T),
        theirs_at_ours.conditional_expected_number_of_purchases_up_to_time(39, frequency, recency, T),
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        ours.conditional_probability_alive(frequency, recency, T),
        theirs_at_ours.conditional_probability_alive(frequency, recency, T),
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        ours.expected_number_of_purchases_up_to_time(np.array([10.0, 39.0, 78.0])),
        theirs_at_ours.expected_number_of_purchases_up_to_time(np.array([10.0, 39.0, 78.0])),
        rtol=1e-8,
    )
    # The paper's customer: x = 2, t_x = 30.43, T = 38.86 expects about 1.226 purchases in 39 weeks (with the
    # published parameters); scalars in, a float out, as lifetimes does.
    value = ours.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
    assert isinstance(value, float) and value == pytest.approx(1.226, abs=0.01)


def test_gamma_gamma_matches_lifetimes():
    data = load_cdnow_summary_data_with_monetary_value()
    repeat = data[data["frequency"] > 0]
    ours = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    theirs = LifetimesGG().fit(repeat["frequency"], repeat["monetary_value"])
    for name in ("p", "q", "v"):
        assert ours.params_[name] == pytest.approx(theirs.params_[name], rel=1e-4), name
    theirs.params_ = theirs.params_.copy()
    for name in ("p", "q", "v"):
        theirs.params_[name] = ours.params_[name]
    np.testing.assert_allclose(
        ours.conditional_expected_average_profit(data["frequency"], data["monetary_value"]),
        theirs.conditional_expected_average_profit(data["frequency"], data["monetary_value"]),
        rtol=1e-10,
    )


def test_invalid_customers_are_named():
    with pytest.raises(ValueError, match=r"index 1"):
        BetaGeoFitter().fit([1, 2], [3.0, 9.0], [5.0, 8.0])
    with pytest.raises(ValueError, match=r"index 0.*repeat purchases"):
        GammaGammaFitter().fit([0, 2], [0.0, 10.0])
    with pytest.raises(ValueError, match=r"not fitted"):
        BetaGeoFitter().conditional_probability_alive(1, 1, 2)
