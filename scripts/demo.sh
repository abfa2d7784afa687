#!/usr/bin/env bash
# make demo: the main job for now — parse the RFC 4975 sample messages with
# the C example and the Python example and print what they found.
set -euo pipefail
cd "$(dirname "$0")/.."
samples=(core/tests/data/rfc/rfc4975_*.msrp core/tests/data/rfc/quirky/rfc4975_*.msrp)
echo "=== C: build/c/parse_chunk (streaming parser, stdin in 4 KiB reads)"
for f in "${samples[@]}"; do
  echo "--- ${f#core/tests/data/rfc/}"
  build/c/parse_chunk < "$f"
done
echo
echo "=== C: all samples as one stream"
cat "${samples[@]}" | build/c/parse_chunk | grep -c '^MSRP ' | sed 's/^/chunks parsed: /'
echo
echo "=== Python: python/examples/parse_chunk.py (msgwire.msrp / msrplib.protocol)"
build/venv/bin/python python/examples/parse_chunk.py "${samples[@]}"
