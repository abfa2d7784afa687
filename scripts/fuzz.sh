#!/usr/bin/env bash
# make fuzz: runs every cargo-fuzz target of core/fuzz for a bounded time.
# Usage: scripts/fuzz.sh [seconds-per-target]   (default 60)
# cargo-fuzz is installed into build/tools on first use. Sanitizers need a
# nightly compiler, which these machines do not have, so targets run with
# `--sanitizer none`: coverage-guided, panics and assertion failures caught.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
tools="$PWD/build/tools"
export PATH="$tools/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --quiet --locked --root "$tools" cargo-fuzz
fi
cd core
for target in $(cargo fuzz list --fuzz-dir fuzz); do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  # Seed with the RFC examples (and a few URIs for the value target).
  cp tests/data/rfc/*.msrp tests/data/rfc/quirky/*.msrp "$corpus/" 2>/dev/null || true
  printf 'msrps://alice@[2001:db8::1]:2855/s3ss;tcp;a=b' > "$corpus/uri1"
  printf '1-*/2500' > "$corpus/range1"
  # STS/1.0: a request, a fragment of a final reply, an error reply.
  printf 'P /Chat/Send STS/1.0\r\ns: 1\r\nl: 14\r\n\r\n<Msg>hi</Msg>\n' > "$corpus/sts1"
  printf 'STS/1.0 200 OK\r\ns: 3R2\r\nn: bytes 3-5/6\r\nl: 3\r\n\r\ndef' > "$corpus/sts2"
  printf 'STS/1.0 400 Bad thing\r\ns: 2R\r\nl: 63\r\n\r\n<Error code="7" server="0" module="0" line="0" text="denied"/>' > "$corpus/sts3"
  # serverResponse: the spec's three samples.
  cp ../tests/data/serverresponse/*.xml "$corpus/" 2>/dev/null || true
  # Ministreaming: the protocol document's samples (b) and (c), prefixed.
  printf '\x03\x00\x00\x00\x07\xa1\x23\x45\x67key\x00\x00\x00\x07\x51\x23\x45\x67\x98\x76\x54\x00\x00\x00\x04\xa2\x98\x76\x54' > "$corpus/ms1"
  printf '\x05\x00\x00\x00\x07\x51\x11\x11\x11\xff\xff\xff\x00\x00\x00\x08\x50\x11\x11\x11data\x00\x00\x00\x04\x51\x11\x11\x11\x00\x00\x00\x01\xff' > "$corpus/ms2"
  # Message/CPIM and an MSRP SDP media section.
  printf 'From: A <sip:a@b>\r\nNS: P <urn:x>\r\nP.N:;q=1 v\r\nDateTime: 2000-12-13T13:40:00-08:00\r\n\r\nContent-Type: text/plain\r\n\r\nhi' > "$corpus/cpim1"
  printf 'm=message 7394 TCP/MSRP *\r\nc=IN IP4 h\r\na=path:msrp://h:7394/s;tcp\r\na=accept-types:message/cpim text/*\r\na=setup:actpass\r\na=x\r\n' > "$corpus/sdp1"
  echo "== fuzzing $target for ${secs}s"
  cargo fuzz run --fuzz-dir fuzz --sanitizer none "$target" "$corpus" -- \
    -max_total_time="$secs" -max_len=65536 -print_final_stats=1
done
echo "fuzz: all targets ran ${secs}s without a failure"
