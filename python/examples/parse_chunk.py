"""Parse MSRP messages from files with msgwire's Python API.

Usage: python parse_chunk.py FILE...

Each file is streamed through msgwire.msrp.Parser in small pieces, the way
bytes arrive from a socket; every chunk found is printed with its headers,
its decoded Byte-Range and the size of its body. Then the first file is
parsed in one go with parse_chunk and re-encoded to show the round trip.
"""

import sys

import msgwire.msrp
from msrplib.protocol import ParsingError


def stream(path, piece=7):
    parser = msgwire.msrp.Parser()
    with open(path, 'rb') as f:
        data = f.read()
    body = 0
    for i in range(0, len(data), piece):
        parser.feed(data[i:i + piece])
        while True:
            try:
                event = next(parser)
            except StopIteration:
                break
            except ParsingError as e:
                # The parser has already skipped the bad part: keep going.
                print('  error: %s (transaction %s)' % (e, getattr(e, 'transaction_id', None)))
                continue
            if event.kind == 'start':
                chunk = event.chunk
                print('  %s' % chunk.first_line)
                for name, header in chunk.headers.items():
                    print('    %s: %s' % (name, header.encoded))
                if chunk.byte_range is not None:
                    print('    (Byte-Range decoded: %r)' % (chunk.byte_range,))
                body = 0
            elif event.kind == 'data':
                body += len(event.data)
            else:
                print('    body %d bytes, end flag %s' % (body, event.contflag))
    parser.finish()


def main(paths):
    for path in paths:
        print('--- %s' % path.split('/')[-1])
        stream(path)
    if paths:
        with open(paths[0], 'rb') as f:
            raw = f.read()
        chunk = msgwire.msrp.parse_chunk(raw)
        same = chunk.encode() == raw
        print('round trip of %s: %s' % (paths[0].split('/')[-1], 'byte-exact' if same else 'DIFFERENT'))
        return 0 if same else 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
