"""Shared fixtures: the public data sets (DISCOUNT_DATA_DIR, default ../shared/data next to the checkout) and
the `discount` binary (DISCOUNT_BIN, else target/debug or target/release). Under CI=true a missing data set or
binary fails the test instead of skipping it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing (CI=true: tests must not skip)")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("DISCOUNT_DATA_DIR", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        _missing(f"the data folder {path} (set DISCOUNT_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def discount_bin() -> Path:
    candidates = [os.environ.get("DISCOUNT_BIN")] if os.environ.get("DISCOUNT_BIN") else []
    candidates += [str(REPO / "target" / "debug" / "discount"), str(REPO / "target" / "release" / "discount")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    _missing("the discount binary (cargo build -p discount-cli, or set DISCOUNT_BIN)")
    raise AssertionError("unreachable")
