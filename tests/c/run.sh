#!/usr/bin/env bash
# Runs the C tests and the parse_chunk, chat_peer, chat_cpim, chat_server,
# send_file, sts_server, sts_client, sr_server, sr_get, ministream_echo and
# relay_chat examples, under $VALGRIND when set (`make
# c-test` sets it and BUILD). Binaries are expected in $BUILD/c/: test_*
# from tests/c/*.c, the examples from examples-c/.
#
# Prints one line per check and a final "N passed, M failed"; exits non-zero
# when anything failed.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$root/build}
VALGRIND=${VALGRIND:-}
bin=$BUILD/c
data=$root/core/tests/data/rfc
example=$bin/parse_chunk

passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    shift
    for f in "$@"; do [ -s "$f" ] && sed 's/^/     | /' "$f"; done
    return 0
}

# valgrind reports its own errors with exit status 1 by default, which the
# example also uses for parse errors; where the example must fail, valgrind
# errors get a status of their own.
VALGRIND_EXPECT_FAIL=""
[ -n "$VALGRIND" ] && VALGRIND_EXPECT_FAIL="$VALGRIND --error-exitcode=99"

shopt -s nullglob
rfc_files=("$data"/*.msrp)
quirky_files=("$data"/quirky/*.msrp)

# ---- test programs --------------------------------------------------------

export MSGWIRE_RFC_FILES="${rfc_files[*]}"
export MSGWIRE_RFC_QUIRKY_FILES="${quirky_files[*]}"
# The test-only certificates and keys of tests/c/tls.c.
export MSGWIRE_TLS_TEST_DIR="$root/tests/data/tls"

tests=("$bin"/test_*)
if [ ${#tests[@]} -eq 0 ]; then
    fail "no test binaries in $bin (run make c-build)"
fi
for t in "${tests[@]}"; do
    name=$(basename "$t")
    if $VALGRIND "$t" >"$tmp/out" 2>"$tmp/err"; then
        pass "$name: $(tail -n 1 "$tmp/out")"
    else
        fail "$name (exit $?)" "$tmp/out" "$tmp/err"
    fi
done

# ---- the example on the RFC samples -----------------------------------------

if [ ! -x "$example" ]; then
    fail "example $example not built"
elif [ ${#rfc_files[@]} -eq 0 ]; then
    fail "no RFC samples in $data"
else
    # The transaction id of a sample: the second word of its start line.
    tid_of() { head -n 1 "$1" | tr -d '\r' | cut -d ' ' -f 2; }

    for f in "${rfc_files[@]}"; do
        name="parse_chunk < $(basename "$f")"
        tid=$(tid_of "$f")
        if ! $VALGRIND "$example" <"$f" >"$tmp/out" 2>"$tmp/err"; then
            fail "$name (exit status)" "$tmp/out" "$tmp/err"
        elif ! grep -q "^MSRP $tid " "$tmp/out"; then
            fail "$name (no start line with transaction $tid)" "$tmp/out"
        elif ! grep -q '^1 chunk$' "$tmp/out"; then
            fail "$name (not exactly one chunk)" "$tmp/out"
        else
            pass "$name"
        fi
    done

    # All samples back to back, as one stream.
    cat "${rfc_files[@]}" >"$tmp/all.msrp"
    name="parse_chunk < all ${#rfc_files[@]} samples concatenated"
    if ! $VALGRIND "$example" <"$tmp/all.msrp" >"$tmp/out" 2>"$tmp/err"; then
        fail "$name (exit status)" "$tmp/out" "$tmp/err"
    elif ! grep -q "^${#rfc_files[@]} chunks$" "$tmp/out"; then
        fail "$name (wrong chunk count)" "$tmp/out"
    else
        missing=""
        for f in "${rfc_files[@]}"; do
            grep -q "^MSRP $(tid_of "$f") " "$tmp/out" || missing="$missing $(basename "$f")"
        done
        if [ -n "$missing" ]; then
            fail "$name (transaction ids missing for:$missing)" "$tmp/out"
        else
            pass "$name"
        fi
    fi
fi

# ---- the example on malformed input ----------------------------------------

# expect_error NAME INPUT [TEXT]: exit status 1, an "error:" line on stderr
# (containing TEXT when given).
expect_error() {
    local name="parse_chunk < $1" input=$2 text=${3:-}
    printf '%b' "$input" >"$tmp/bad.msrp"
    $VALGRIND_EXPECT_FAIL "$example" <"$tmp/bad.msrp" >"$tmp/out" 2>"$tmp/err"
    local status=$?
    if [ "$status" -ne 1 ]; then
        fail "$name (exit $status, want 1)" "$tmp/out" "$tmp/err"
    elif ! grep -q '^error: ' "$tmp/err"; then
        fail "$name (no error: line)" "$tmp/err"
    elif [ -n "$text" ] && ! grep -qF -- "$text" "$tmp/err"; then
        fail "$name (stderr lacks '$text')" "$tmp/err"
    else
        pass "$name"
    fi
}

if [ -x "$example" ]; then
    expect_error "bad transaction id" 'MSRP ab SEND\r\n-------ab$\r\n' "transaction id"
    expect_error "header line without colon" \
        'MSRP abcd1234 SEND\r\nTo-Path msrp://b:1/s;tcp\r\n-------abcd1234$\r\n' \
        "in transaction abcd1234"
    expect_error "input ending inside a chunk" \
        'MSRP abcd1234 SEND\r\nTo-Path: msrp://b:1/s;tcp\r\n\r\nhalf a bo' \
        "in transaction abcd1234"
    expect_error "not MSRP at all" 'GET / HTTP/1.1\r\n\r\n' "start line"
fi

# ---- the chat_peer example ---------------------------------------------------

# Two sessions over 127.0.0.1 in one process: it must exit 0 and print what
# each side received from its callbacks.
chat=$bin/chat_peer
if [ ! -x "$chat" ]; then
    fail "example $chat not built"
elif ! timeout 120 $VALGRIND "$chat" >"$tmp/out" 2>"$tmp/err"; then
    fail "chat_peer (exit status)" "$tmp/out" "$tmp/err"
else
    missing=""
    for line in \
        "bob received message: Hi Bob, are you there?" \
        "bob received message: I have the slides ready." \
        "bob received message: Talk to you later!" \
        "alice received message: Yes, send them over." \
        "alice received REPORT Status: 000 200 OK" \
        "bob received REPORT Status: 000 200 OK" \
        "chat finished"; do
        grep -qF -- "$line" "$tmp/out" || missing="$missing [$line]"
    done
    reports=$(grep -c '^alice received REPORT' "$tmp/out")
    if [ -n "$missing" ]; then
        fail "chat_peer (output lacks$missing)" "$tmp/out" "$tmp/err"
    elif [ "$reports" -ne 3 ]; then
        fail "chat_peer (alice got $reports REPORTs, want 3)" "$tmp/out"
    else
        pass "chat_peer"
    fi
fi

# ---- the chat_cpim example ---------------------------------------------------

# Two MSRPChats over 127.0.0.1: CPIM-wrapped messages both ways, each with
# its delivery report, then alice ends and bob sees the end.
chat=$bin/chat_cpim
if [ ! -x "$chat" ]; then
    fail "example $chat not built"
elif ! timeout 120 $VALGRIND "$chat" >"$tmp/out" 2>"$tmp/err"; then
    fail "chat_cpim (exit status)" "$tmp/out" "$tmp/err"
else
    missing=""
    for line in \
        'bob got text/plain: "Hi Bob, are you there?"' \
        'bob got text/plain: "The slides are ready."' \
        'bob got text/plain: "See you at ten."' \
        'alice got text/plain: "Yes, see you!"' \
        "    From: Alice <sip:alice@example.com>" \
        "    To: <sip:bob@example.com>" \
        "alice: MSRPChatWillEnd" \
        "bob: MSRPChatDidEnd" \
        "all messages delivered"; do
        grep -qF -- "$line" "$tmp/out" || missing="$missing [$line]"
    done
    delivered=$(grep -c '^alice: message .* delivered (200)' "$tmp/out")
    if [ -n "$missing" ]; then
        fail "chat_cpim (output lacks$missing)" "$tmp/out" "$tmp/err"
    elif [ "$delivered" -ne 3 ]; then
        fail "chat_cpim (alice got $delivered delivery reports, want 3)" "$tmp/out"
    else
        pass "chat_cpim"
    fi
fi

# ---- the chat_server example -------------------------------------------------

# Three client sessions bound through one server port, each client on its
# own thread: it must exit 0 and print what each server-side session
# received and each client's REPORT.
server=$bin/chat_server
if [ ! -x "$server" ]; then
    fail "example $server not built"
elif ! timeout 120 $VALGRIND "$server" >"$tmp/out" 2>"$tmp/err"; then
    fail "chat_server (exit status)" "$tmp/out" "$tmp/err"
else
    missing=""
    for i in 1 2 3; do
        for line in \
            "server session $i received message: Hello from client $i" \
            "client $i received REPORT Status: 000 200 OK"; do
            grep -qF -- "$line" "$tmp/out" || missing="$missing [$line]"
        done
    done
    grep -qF -- "chat server finished" "$tmp/out" || missing="$missing [chat server finished]"
    ports=$(sed -n 's|^call [0-9]*: server path msrp://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$tmp/out" |
        sort -u | wc -l)
    if [ -n "$missing" ]; then
        fail "chat_server (output lacks$missing)" "$tmp/out" "$tmp/err"
    elif [ "$ports" -ne 1 ]; then
        fail "chat_server (server paths use $ports ports, want 1)" "$tmp/out"
    else
        pass "chat_server"
    fi
fi

# ---- the send_file example ---------------------------------------------------

# A generated file (the example's default, 8 MiB) sent between two sessions
# over 127.0.0.1 and stored by the receiver: it must exit 0 after printing
# progress, the completion and matching SHA-256 digests.
send_file=$bin/send_file
if [ ! -x "$send_file" ]; then
    fail "example $send_file not built"
elif ! timeout 300 $VALGRIND "$send_file" >"$tmp/out" 2>"$tmp/err"; then
    fail "send_file (exit status)" "$tmp/out" "$tmp/err"
else
    missing=""
    for line in \
        "alice progress: 8388608/8388608 bytes (100%)" \
        "alice transfer completed" \
        "bob stored message sendfile1 (application/octet-stream, 8388608 bytes)" \
        "sha256 match: file transfer ok"; do
        grep -qF -- "$line" "$tmp/out" || missing="$missing [$line]"
    done
    sent=$(sed -n 's/^sha256 sent: *//p' "$tmp/out")
    got=$(sed -n 's/^sha256 received: *//p' "$tmp/out")
    if [ -n "$missing" ]; then
        fail "send_file (output lacks$missing)" "$tmp/out" "$tmp/err"
    elif [ "${#sent}" -ne 64 ] || [ "$sent" != "$got" ]; then
        fail "send_file (digests differ: '$sent' vs '$got')" "$tmp/out"
    else
        pass "send_file"
    fi
fi

# ---- the sts_server and sts_client examples ----------------------------------

# The server in the background (under $VALGRIND too), its port read from the
# "listening on port N" line it prints; then the client against it. Both
# must exit 0: the client after its checks, the server once the client's
# /Demo/Quit arrived. Everything is bounded by `timeout`.
sts_server=$bin/sts_server
sts_client=$bin/sts_client
if [ ! -x "$sts_server" ] || [ ! -x "$sts_client" ]; then
    fail "examples $sts_server and $sts_client not built"
else
    timeout 180 $VALGRIND "$sts_server" 0 150 >"$tmp/sts_server.out" 2>"$tmp/sts_server.err" &
    sts_pid=$!
    sts_port=""
    for _ in $(seq 600); do
        sts_port=$(sed -n 's/^listening on port \([0-9][0-9]*\)$/\1/p' "$tmp/sts_server.out")
        [ -n "$sts_port" ] && break
        kill -0 "$sts_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$sts_port" ]; then
        kill "$sts_pid" 2>/dev/null
        wait "$sts_pid" 2>/dev/null
        fail "sts_server (no port printed)" "$tmp/sts_server.out" "$tmp/sts_server.err"
    else
        timeout 120 $VALGRIND "$sts_client" "$sts_port" >"$tmp/sts_client.out" 2>"$tmp/sts_client.err"
        client_status=$?
        wait "$sts_pid"
        server_status=$?
        missing=""
        for line in \
            "echo: 200 hello, STS" \
            "count: partial reply 1: part 1" \
            "count: partial reply 3: part 3" \
            "count: final reply: done" \
            "fail: error code 7: this command always fails" \
            "nope: error code 404: unknown command /Demo/Nope" \
            "sts_client ok"; do
            grep -qF -- "$line" "$tmp/sts_client.out" || missing="$missing [$line]"
        done
        if [ "$client_status" -ne 0 ]; then
            fail "sts_client (exit $client_status)" "$tmp/sts_client.out" "$tmp/sts_client.err"
        elif [ -n "$missing" ]; then
            fail "sts_client (output lacks$missing)" "$tmp/sts_client.out"
        else
            pass "sts_client against sts_server"
        fi
        if [ "$server_status" -ne 0 ]; then
            fail "sts_server (exit $server_status)" "$tmp/sts_server.out" "$tmp/sts_server.err"
        elif ! grep -qF "quit requested" "$tmp/sts_server.out"; then
            fail "sts_server (did not stop on /Demo/Quit)" "$tmp/sts_server.out"
        else
            pass "sts_server"
        fi
    fi
fi

# ---- the sr_server and sr_get examples ---------------------------------------

# The serverResponse server in the background (under $VALGRIND too), its
# port read from its "listening on port N" line; sr_get fetches a filtered
# table, the status page and an unknown method, then asks it to quit. Both
# must exit 0. Everything is bounded by `timeout`.
sr_server=$bin/sr_server
sr_get=$bin/sr_get
if [ ! -x "$sr_server" ] || [ ! -x "$sr_get" ]; then
    fail "examples $sr_server and $sr_get not built"
else
    timeout 180 $VALGRIND "$sr_server" 0 150 >"$tmp/sr_server.out" 2>"$tmp/sr_server.err" &
    sr_pid=$!
    sr_port=""
    for _ in $(seq 600); do
        sr_port=$(sed -n 's/^listening on port \([0-9][0-9]*\)$/\1/p' "$tmp/sr_server.out")
        [ -n "$sr_port" ] && break
        kill -0 "$sr_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$sr_port" ]; then
        kill "$sr_pid" 2>/dev/null
        wait "$sr_pid" 2>/dev/null
        fail "sr_server (no port printed)" "$tmp/sr_server.out" "$tmp/sr_server.err"
    else
        base="http://127.0.0.1:$sr_port"
        timeout 120 $VALGRIND "$sr_get" "$base/registrations.xml?driver=sip" "$base/status.xml" \
            "$base/unknown.xml" "$base/quit.xml" >"$tmp/sr_get.out" 2>"$tmp/sr_get.err"
        get_status=$?
        wait "$sr_pid"
        server_status=$?
        missing=""
        for line in \
            "registrations from bayonne" \
            "table registrations (2 rows)" \
            "$(printf '  driver\tserver\tuserid\taccess\tstatus')" \
            "$(printf '  sip\t192.168.1.95\t291\tfriend\tactive')" \
            "$(printf '  sip\t192.168.1.97\t293\tuser\tidle')" \
            "status from bayonne" \
            "table protocols (4 rows)" \
            "http from bayonne (fault)" \
            "fault code: 404" \
            "fault text: Not Found" \
            "quit from bayonne" \
            "done (empty results)"; do
            grep -qF -- "$line" "$tmp/sr_get.out" || missing="$missing [$line]"
        done
        if grep -q "h323" "$tmp/sr_get.out"; then
            missing="$missing [no h323 row: the driver filter]"
        fi
        if [ "$get_status" -ne 0 ]; then
            fail "sr_get (exit $get_status)" "$tmp/sr_get.out" "$tmp/sr_get.err"
        elif [ -n "$missing" ]; then
            fail "sr_get (output lacks$missing)" "$tmp/sr_get.out"
        else
            pass "sr_get against sr_server"
        fi
        if [ "$server_status" -ne 0 ]; then
            fail "sr_server (exit $server_status)" "$tmp/sr_server.out" "$tmp/sr_server.err"
        elif ! grep -qF "quit requested" "$tmp/sr_server.out"; then
            fail "sr_server (did not stop on /quit.xml)" "$tmp/sr_server.out"
        else
            pass "sr_server"
        fi
    fi
fi

# ---- the ministream_echo example ---------------------------------------------

# A server manager echoing every accepted stream and a client opening 8
# streams at once over 127.0.0.1: it must exit 0 after every stream's echo
# came back intact.
ms_echo=$bin/ministream_echo
if [ ! -x "$ms_echo" ]; then
    fail "example $ms_echo not built"
elif ! timeout 180 $VALGRIND "$ms_echo" >"$tmp/out" 2>"$tmp/err"; then
    fail "ministream_echo (exit status)" "$tmp/out" "$tmp/err"
elif ! grep -qF "8 of 8 streams echoed intact" "$tmp/out"; then
    fail "ministream_echo (output)" "$tmp/out" "$tmp/err"
else
    pass "ministream_echo"
fi

# ---- the relay_chat example --------------------------------------------------

# An in-process relay on 127.0.0.1 and two endpoints that authenticate at it
# and chat through it: it must exit 0, and each message must arrive with
# the relay hops in front of the sender in From-Path.
relay_chat=$bin/relay_chat
if [ ! -x "$relay_chat" ]; then
    fail "example $relay_chat not built"
elif ! timeout 180 $VALGRIND "$relay_chat" >"$tmp/out" 2>"$tmp/err"; then
    fail "relay_chat (exit status)" "$tmp/out" "$tmp/err"
else
    missing=""
    for line in \
        "bob received message: Hi Bob, this goes through the relay." \
        "bob received message: Neither of us needs an open port." \
        "alice received message: Got them both, through the relay." \
        "alice: 1 messages, 2 REPORTs; bob: 2 messages, 1 REPORTs" \
        "relay chat finished"; do
        grep -qF -- "$line" "$tmp/out" || missing="$missing [$line]"
    done
    relay=$(sed -n 's/^relay listening on \([0-9.:]*\) .*/\1/p' "$tmp/out")
    hops=$(grep -c "^bob   From-Path: msrp://$relay/[0-9a-f]*;tcp msrp://$relay/[0-9a-f]*;tcp msrp://127" "$tmp/out")
    if [ -n "$missing" ]; then
        fail "relay_chat (output lacks$missing)" "$tmp/out" "$tmp/err"
    elif [ -z "$relay" ] || [ "$hops" -ne 2 ]; then
        fail "relay_chat (From-Path lacks the relay hops)" "$tmp/out"
    else
        pass "relay_chat"
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
