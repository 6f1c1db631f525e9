"""Uplift metrics against scikit-uplift 0.5.1 on the same inputs: synthetic data with tied scores, and the
Hillstrom e-mail experiment (64,000 customers)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from sklift import metrics as sk

import discount
from discount import metrics


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(11)
    n = 3000
    treatment = rng.integers(0, 2, n)
    # Rounded scores: many ties, which the curves must group as scikit-uplift does.
    uplift = np.round(rng.normal(0, 1, n), 1)
    y = rng.binomial(1, 0.2 + 0.1 * treatment * (uplift > 0)).astype(float)
    return y, uplift, treatment


@pytest.fixture(scope="module")
def hillstrom(data_dir):
    path = data_dir / "hillstrom-minethatdata" / "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"
    if not path.is_file():
        pytest.fail(f"{path} is missing")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    treatment = np.array([0 if r["segment"] == "No E-Mail" else 1 for r in rows])
    visit = np.array([float(r["visit"]) for r in rows])
    # A simple targeting score: recent, high-spending customers first (ties among equal values).
    score = np.array([float(r["history"]) / (1.0 + float(r["recency"])) for r in rows])
    return visit, score, treatment


def _compare_all(y, u, t):
    assert discount.qini_auc_score(y, u, t) == pytest.approx(sk.qini_auc_score(y, u, t), rel=1e-9, abs=1e-12)
    assert metrics.qini_auc_score(y, u, t, negative_effect=False) == pytest.approx(
        sk.qini_auc_score(y, u, t, negative_effect=False), rel=1e-9, abs=1e-12)
    assert metrics.uplift_auc_score(y, u, t) == pytest.approx(sk.uplift_auc_score(y, u, t), rel=1e-9, abs=1e-12)
    for strategy in ("overall", "by_group"):
        for k in (0.1, 0.3, 0.5, 200):
            assert metrics.uplift_at_k(y, u, t, strategy=strategy, k=k) == pytest.approx(
                sk.uplift_at_k(y, u, t, strategy=strategy, k=k), rel=1e-9, abs=1e-12), (strategy, k)
        for bins in (4, 10):
            assert metrics.weighted_average_uplift(y, u, t, strategy=strategy, bins=bins) == pytest.approx(
                sk.weighted_average_uplift(y, u, t, strategy=strategy, bins=bins), rel=1e-9, abs=1e-12)
            ours = metrics.uplift_by_percentile(y, u, t, strategy=strategy, bins=bins)
            theirs = sk.uplift_by_percentile(y, u, t, strategy=strategy, bins=bins)
            for column in ("n_treatment", "n_control", "response_rate_treatment", "response_rate_control", "uplift"):
                np.testing.assert_allclose(ours[column], theirs[column].to_numpy(), rtol=1e-9, err_msg=column)
    for ours, theirs in [
        (metrics.qini_curve(y, u, t), sk.qini_curve(y, u, t)),
        (metrics.uplift_curve(y, u, t), sk.uplift_curve(y, u, t)),
        (metrics.perfect_qini_curve(y, t), sk.perfect_qini_curve(y, t)),
        (metrics.perfect_qini_curve(y, t, negative_effect=False), sk.perfect_qini_curve(y, t, negative_effect=False)),
        (metrics.perfect_uplift_curve(y, t), sk.perfect_uplift_curve(y, t)),
    ]:
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-9)


def test_equal_to_scikit_uplift_on_synthetic_data_with_ties(synthetic):
    _compare_all(*synthetic)


def test_equal_to_scikit_uplift_on_hillstrom(hillstrom):
    visit, score, treatment = hillstrom
    assert len(visit) == 64000
    _compare_all(visit, score, treatment)
    # Known figure: the e-mails raised the visit rate by about 6 points (15.2% against 10.6%).
    assert visit[treatment == 1].mean() - visit[treatment == 0].mean() == pytest.approx(0.0605, abs=5e-4)


def test_hand_computed_qini():
    # Ranked: treated responder, control non-responder, control responder, treated non-responder.
    y, u, t = [1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1]
    x, q = metrics.qini_curve(y, u, t)
    # Qini y = Y_t − Y_c · n_t / n_c at 1, 2, 3, 4 customers: 1, 1, 1 − 1·1/2, 1 − 1·2/2.
    np.testing.assert_allclose(x, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(q, [0, 1, 1, 0.5, 0])


def test_bad_inputs_are_named(synthetic):
    y, u, t = synthetic
    bad = t.copy()
    bad[5] = 2
    with pytest.raises(ValueError, match=r"treatment.*index 5"):
        metrics.qini_auc_score(y, u, bad)
    with pytest.raises(ValueError, match=r"strategy"):
        metrics.uplift_at_k(y, u, t, strategy="top", k=0.3)
    with pytest.raises(ValueError, match=r"\bk\b"):
        metrics.uplift_at_k(y, u, t, strategy="overall", k=1.5)
    with pytest.raises(ValueError, match=r"bins"):
        metrics.weighted_average_uplift(y, u, t, bins=len(y))
    with pytest.raises(ValueError, match=r"uplift"):
        metrics.uplift_auc_score(y, u[:-1], t)
