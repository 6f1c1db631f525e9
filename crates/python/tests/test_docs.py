"""The examples in the package's docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["discount", "discount.ope", "discount.metrics", "discount.ltv", "discount.simulation", "discount.client"]
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_every_public_name_is_documented():
    import discount

    for name in discount.__all__:
        value = getattr(discount, name)
        if callable(value) or isinstance(value, type(discount)):
            assert value.__doc__, name
