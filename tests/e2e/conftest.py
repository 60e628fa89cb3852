"""The end-to-end tests run the real program on a real engine (and cloud): never under mocks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def harness() -> Iterator[None]:
    """Replaces the mocks fixture of tests/conftest.py: nothing here may be mocked."""
    yield
