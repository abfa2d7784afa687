"""Shared fixtures of the Python tests (run by `make py-test` with -W error)."""

import os
import pathlib
import subprocess

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


@pytest.fixture(scope="session")
def made_ca(tmp_path_factory):
    """A CA and a server certificate (localhost, 127.0.0.1, ::1) made now
    with rcgen by the core's `test_ca` example (built by `make py-test`
    before the tests run): a directory holding ``ca.pem``, ``server.pem``
    and ``server.key``."""
    out = tmp_path_factory.mktemp("made-ca")
    root = pathlib.Path(__file__).resolve().parents[2]
    binary = root / "target" / "release" / "examples" / "test_ca"
    if not binary.exists():
        pytest.fail("{} is missing: `make py-test` builds it".format(binary))
    subprocess.run([str(binary), str(out)], check=True, timeout=60)
    return out
