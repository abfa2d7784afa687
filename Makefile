# msgwire build entry points. See README.md.
#
#   make demo    run the main job (examples on the RFC 4975 sample messages)
#   make test    build everything and run every test (what CI runs)
#   make bench   benchmarks, medians printed as ratios
#   make fuzz    fuzz the parsers for a bounded time (FUZZ_SECONDS, default 60)

SHELL        := /bin/bash
BUILD        := $(CURDIR)/build
VENV         := $(BUILD)/venv
PY           := $(VENV)/bin/python
CARGO        ?= cargo
CC           ?= gcc
CFLAGS_C     := -std=c11 -pthread -Wall -Wextra -Werror -O1 -g -I$(CURDIR)/include
LIBDIR       := $(CURDIR)/target/release
LDFLAGS_C    := -L$(LIBDIR) -lmsgwire -Wl,-rpath,$(LIBDIR)
VALGRIND     := valgrind --quiet --suppressions=$(CURDIR)/tests/c/valgrind.supp --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible
FUZZ_SECONDS ?= 60

C_EXAMPLES   := $(patsubst examples-c/%.c,$(BUILD)/c/%,$(wildcard examples-c/*.c))
C_TESTS      := $(patsubst tests/c/%.c,$(BUILD)/c/test_%,$(wildcard tests/c/*.c))

.PHONY: all build test demo bench fuzz header check-header pc c-build c-test \
        venv wheel py-test rust-test lint tools clean

all: build

## ---- build -------------------------------------------------------------

build: tools
	$(CARGO) build --release --workspace --exclude msgwire-python
	$(MAKE) --no-print-directory pc

# msgwire.pc for pkg-config, pointing at this checkout's build.
pc:
	@mkdir -p $(BUILD)
	@printf '%s\n' \
	  "prefix=$(CURDIR)" \
	  "includedir=$(CURDIR)/include" \
	  "libdir=$(LIBDIR)" \
	  "" \
	  "Name: msgwire" \
	  "Description: Session-messaging protocols (MSRP, STS, ministreaming, serverResponse)" \
	  "Version: $$(sed -n 's/^version = \"\(.*\)\"/\1/p' Cargo.toml | head -1)" \
	  "Cflags: -I\$${includedir}" \
	  "Libs: -L\$${libdir} -lmsgwire" \
	  "Libs.private: -lpthread -ldl -lm" > $(LIBDIR)/msgwire.pc
	@echo "wrote $(LIBDIR)/msgwire.pc"

# System tools the tests need on a fresh machine.
tools:
	@bash scripts/ensure-tools.sh

## ---- C header ----------------------------------------------------------

header:
	$(CARGO) run --quiet --release -p gen-header -- include/msgwire.h

check-header:
	$(CARGO) run --quiet --release -p gen-header -- --check include/msgwire.h

## ---- C examples and tests ----------------------------------------------

$(BUILD)/c/%: examples-c/%.c include/msgwire.h | build
	@mkdir -p $(BUILD)/c
	$(CC) $(CFLAGS_C) $< -o $@ $(LDFLAGS_C)

$(BUILD)/c/test_%: tests/c/%.c $(wildcard tests/c/*.h) include/msgwire.h | build
	@mkdir -p $(BUILD)/c
	$(CC) $(CFLAGS_C) $< -o $@ $(LDFLAGS_C)

c-build: build
	$(MAKE) --no-print-directory $(C_EXAMPLES) $(C_TESTS)

c-test: c-build
	VALGRIND="$(VALGRIND)" BUILD="$(BUILD)" bash tests/c/run.sh

## ---- Python ------------------------------------------------------------

venv:
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip --disable-pip-version-check -q install 'maturin>=1.7,<2' 'pytest>=8' 'pytest-timeout>=2.3'

wheel: venv
	rm -rf $(BUILD)/wheels
	$(VENV)/bin/maturin build --release -m python/Cargo.toml -o $(BUILD)/wheels -i $(PY) --quiet
	$(PY) -m pip --disable-pip-version-check -q install --force-reinstall --no-deps $(BUILD)/wheels/*.whl

py-test: wheel
	$(CARGO) build --release -p msgwire --example test_ca
	cd tests/python && $(PY) -m pytest -q -W error -p no:cacheprovider --timeout=120 .

## ---- Rust --------------------------------------------------------------

rust-test:
	$(CARGO) test --workspace --exclude msgwire-python

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) fmt --all --check

## ---- the two README commands ---------------------------------------------

test: build check-header c-test py-test rust-test lint
	@echo "make test: all checks passed"

demo: c-build wheel
	@bash scripts/demo.sh

## ---- benchmarks and fuzzing --------------------------------------------

bench: venv
	$(CARGO) bench -p msgwire --bench msrp_parse
	$(CARGO) bench -p msgwire --bench msrp_session
	$(CARGO) bench -p msgwire --bench msrp_transfer
	$(CARGO) bench -p msgwire --bench msrp_relay
	$(CARGO) bench -p msgwire --bench msrp_chat
	$(CARGO) bench -p msgwire --bench sts
	$(CARGO) bench -p msgwire --bench serverresponse
	MSGWIRE_BENCH_DIR=$(BUILD)/bench $(CARGO) bench -p msgwire --bench ministream
	$(MAKE) --no-print-directory wheel
	$(PY) python/benches/bench_session.py
	$(PY) python/benches/bench_chat.py
	CARGO=$(CARGO) $(PY) python/benches/bench_transfer.py
	$(PY) python/benches/bench_sts.py
	CARGO=$(CARGO) MSGWIRE_BENCH_DIR=$(BUILD)/bench $(PY) python/benches/bench_ministream.py

fuzz:
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
	$(CARGO) clean
