#!/usr/bin/env bash
# make demo: the main job for now: two MSRP endpoints on 127.0.0.1 bind a
# session and chat with success reports (Rust, core/examples/chat_demo.rs);
# then the C and Python examples parse the RFC 4975 sample messages.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "=== chat: acceptor and connector on 127.0.0.1 (core/examples/chat_demo.rs)"
cargo run --quiet --release -p msgwire --example chat_demo
echo
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
