"""Shared fixtures of the Python tests (run by `make py-test` with -W error)."""

import os

import pytest

from wire_captures import RFC_DIR, WIRE_DIR, read_capture


@pytest.fixture
def capture():
    """Returns a reader for a legacy wire capture; skips when shared/ is absent."""
    def read(name):
        if not os.path.isdir(WIRE_DIR):
            pytest.skip('legacy wire captures not available ({})'.format(WIRE_DIR))
        return read_capture(name)
    return read


@pytest.fixture
def rfc_file():
    def read(relpath):
        with open(os.path.join(RFC_DIR, relpath), 'rb') as f:
            return f.read()
    return read
