# rlnkit: one entry point for newcomers and CI.
#   make demo   - the main job end to end: a local devnet of real parts (rlnkit devnet)
#   make test   - every test (Rust, circuit keys, contracts)
#   make zkeys  - regenerate the development circuit keys (slow: a local ceremony)
#   make bench  - criterion benchmarks (see BENCHMARKS.md)
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
CARGO ?= cargo
# One cargo invocation shape for every test build: the workspace (crate + C library) with the
# C library's v0.9 ABI on, so the dependencies are built once with one feature set; the circom
# wasm witness generator on, so the native witness is tested against it (tests/native_witness.rs).
CARGO_TEST_FLAGS := --workspace --locked --features rlnkit-ffi/v09,rlnkit/wasm-witness

.PHONY: help deps demo test test-rust bench
help:
	@sed -n 's/^#   //p' Makefile

# npm ci only when the lock changed since the last install.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@
deps: node_modules/.installed

include $(wildcard mk/*.mk)

# Unit, integration, interop and doc tests; benches are compiled (test profile) so they cannot rot.
test-rust: deps
	$(CARGO) test $(CARGO_TEST_FLAGS)
	$(CARGO) test $(CARGO_TEST_FLAGS) --benches --no-run

test: deps $(TEST_TARGETS) test-rust

# The devnet: anvil + contracts, 3 relay processes, an honest publisher, a spammer slashed on
# chain, a client paying for lightpush; 20 s, then a report (exit 1 if something did not land).
demo: deps
	$(CARGO) run --locked --quiet -- devnet --run-for 20

bench: deps
	$(CARGO) bench --locked --bench rln
	$(CARGO) bench --locked --bench relay
	$(CARGO) bench --locked --bench chain
	$(CARGO) bench --locked --bench credentials
	$(CARGO) bench --locked --bench market
