# The C library (ffi/, crate rlnkit-ffi, lib librln.{a,so}). Included by the top Makefile.
#   ffi-lib            build librln.a / librln.so (dev profile, one build shared with the tests)
#   ffi-header         regenerate ffi/include/rlnkit.h with cbindgen (commit the result)
#   ffi-test           header current?, C test (cc) against librln.a, then under valgrind
#   check-waku-zkeys   zkeys/waku-rln-v2 (the Waku network's keys) against their SHA256SUMS
.PHONY: ffi-lib ffi-header ffi-header-check ffi-test check-waku-zkeys

FFI_TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
FFI_LIB_DIR := $(FFI_TARGET_DIR)/debug
FFI_CFLAGS ?= -std=c11 -Wall -Wextra -Werror -O1 -g
FFI_LDLIBS := -lpthread -ldl -lm
CC ?= cc

# Built by the same cargo invocation (workspace, same features) as `make test-rust`, so the
# library and the tests share every dependency's build.
# cargo leaves a library built for tests in debug/deps/: copy librln.{a,so} up to debug/.
ffi-lib:
	$(CARGO) test $(CARGO_TEST_FLAGS) --no-run
	cp -f $(FFI_LIB_DIR)/deps/librln.a $(FFI_LIB_DIR)/deps/librln.so $(FFI_LIB_DIR)/

ffi-header:
	$(CARGO) run --locked --quiet -p rlnkit-ffi-header

ffi-header-check:
	$(CARGO) run --locked --quiet -p rlnkit-ffi-header -- --check

$(FFI_TARGET_DIR)/ffi/test_ffi: ffi/c/test_ffi.c ffi/include/rlnkit.h ffi-lib
	@mkdir -p $(dir $@)
	$(CC) $(FFI_CFLAGS) -I ffi/include -o $@ ffi/c/test_ffi.c $(FFI_LIB_DIR)/librln.a $(FFI_LDLIBS)

# The C test natively, then under valgrind: definite leaks and invalid frees/reads fail the run
# (the process-wide key cache and rayon's pool threads are reachable at exit, not leaks).
ffi-test: ffi-header-check $(FFI_TARGET_DIR)/ffi/test_ffi
	$(FFI_TARGET_DIR)/ffi/test_ffi zkeys
	@if ! command -v valgrind >/dev/null; then \
		apt-get install -y -qq valgrind >/dev/null 2>&1 || true; fi
	@if command -v valgrind >/dev/null; then \
		echo "valgrind: ffi C test"; \
		valgrind -q --undef-value-errors=no --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
			$(FFI_TARGET_DIR)/ffi/test_ffi zkeys; \
	else echo "ffi-test: SKIPPED valgrind (not installed and apt-get failed)"; fi

check-waku-zkeys:
	cd zkeys/waku-rln-v2 && sha256sum --strict -c SHA256SUMS

TEST_TARGETS += check-waku-zkeys ffi-test

# Cross-check against zerokit itself: the published rln crate 2.0.2 and 0.9.0, built in a
# generated project under the target dir (scripts/zerokit-crosscheck.sh).
.PHONY: ffi-zerokit ffi-bench
ffi-zerokit: ffi-lib
	FFI_TARGET_DIR=$(FFI_TARGET_DIR) CARGO=$(CARGO) scripts/zerokit-crosscheck.sh

TEST_TARGETS += ffi-zerokit

# C ABI timing, rlnkit (release) vs zerokit 2.0.2 (deps at opt-level 3), same machine, one
# after the other: proof, next-message proof, verify, verify with roots (BENCHMARKS.md).
FFI_BENCH_N ?= 20
ffi-bench: ffi-zerokit
	$(CARGO) build --locked --release -p rlnkit-ffi
	$(CC) $(FFI_CFLAGS) -O2 -I ffi/include -o $(FFI_TARGET_DIR)/ffi/bench_rlnkit ffi/c/bench_v2.c \
		$(FFI_TARGET_DIR)/release/librln.a $(FFI_LDLIBS)
	$(CC) $(FFI_CFLAGS) -O2 -I ffi/include -o $(FFI_TARGET_DIR)/ffi/bench_zerokit ffi/c/bench_v2.c \
		$(FFI_TARGET_DIR)/zerokit-xcheck/target/debug/libzerokit_z2.a $(FFI_LDLIBS)
	$(FFI_TARGET_DIR)/ffi/bench_rlnkit rlnkit $(FFI_BENCH_N)
	$(FFI_TARGET_DIR)/ffi/bench_zerokit zerokit $(FFI_BENCH_N)
