"""Reader for the legacy wire captures in shared/legacy/wire/*.txt.

Each capture starts with ``#`` comment lines, then segments: a marker line
``>> N bytes`` (client to server) or ``<< N bytes`` (server to client)
followed by exactly N raw bytes; ``>> EOF`` / ``<< EOF`` mark a close.
"""

import os
from typing import List, NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WIRE_DIR = os.path.join(os.path.dirname(REPO), 'shared', 'legacy', 'wire')
RFC_DIR = os.path.join(REPO, 'core', 'tests', 'data', 'rfc')


class Segment(NamedTuple):
    direction: str  # '>>' client to server, '<<' server to client
    data: bytes


def read_capture(name: str) -> List[Segment]:
    with open(os.path.join(WIRE_DIR, name), 'rb') as f:
        raw = f.read()
    segments = []
    pos = 0
    while pos < len(raw):
        eol = raw.index(b'\n', pos)
        line = raw[pos:eol].decode('ascii')
        pos = eol + 1
        if line.startswith('#') or not line:
            continue
        direction, _, rest = line.partition(' ')
        if direction not in ('>>', '<<'):
            raise ValueError('bad marker line {!r} in {}'.format(line, name))
        if rest == 'EOF':
            continue
        count, unit = rest.split(' ')
        assert unit == 'bytes', line
        n = int(count)
        segments.append(Segment(direction, raw[pos:pos + n]))
        pos += n
    return segments


def stream(name: str, direction: str) -> bytes:
    """All bytes one side sent, in order."""
    return b''.join(s.data for s in read_capture(name) if s.direction == direction)
