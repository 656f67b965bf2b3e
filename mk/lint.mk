# Rust lints (fmt, clippy, rustdoc), meant to run first in `make test`. Included by the Makefile.
#   lint  cargo fmt --check, clippy on every target with warnings as errors (the [lints] table in
#         Cargo.toml: missing docs, unreachable pub, clippy's defaults), cargo doc with warnings
#         as errors (broken intra-doc links fail). clippy and doc share the check-mode builds of
#         the dependencies; neither touches the test profile's build.
.PHONY: lint

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) clippy --all-targets --locked --features wasm-witness -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --locked

# Runs first in `make test`.
TEST_TARGETS := lint $(TEST_TARGETS)
