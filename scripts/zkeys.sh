#!/usr/bin/env bash
# Regenerate rlnkit's DEVELOPMENT circuit keys (zkeys/) with a local single-party snarkjs ceremony.
# Run via `make zkeys`. Slow-ish (about a minute on 2 cores). Intermediate files (ptau, initial
# zkeys) live in build/zkeys-ceremony/ and are never committed.
#
# The contribution entropy strings below are fixed and named so a rerun has the same shape, but
# snarkjs always mixes 64 fresh random bytes into every contribution, so the keys differ per run
# (and nobody, including us, knows the toxic waste of the committed ones unless they kept it).
# Only the final beacon is deterministic.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"   # circom2 is a WASI build: it must run from the repo root with relative paths
export PATH="$ROOT/node_modules/.bin:$PATH"

POWER=13                                  # 2^13 = 8192 >= 5,816 constraints + 6 public
B=build/zkeys-ceremony
OUT=zkeys
PTAU_ENTROPY="rlnkit development powers of tau, phase 1 contribution 1"
ZKEY_ENTROPY="rlnkit development RLN v2 zkey, phase 2 contribution 1"
BEACON_HASH=$(printf '%s' "rlnkit development keys beacon" | sha256sum | cut -d' ' -f1)
BEACON_EXP=10

for tool in circom2 snarkjs; do
    command -v "$tool" >/dev/null || { echo "zkeys: $tool not found; run 'make deps' first" >&2; exit 1; }
done

step() { printf '[zkeys %4ss] %s\n' "$SECONDS" "$*"; }
quiet() { # run a command, show its output only if it fails
    local log; log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then cat "$log" >&2; rm -f "$log"; echo "zkeys: FAILED: $*" >&2; exit 1; fi
    cat "$log" >"$B/last.log"; rm -f "$log"
}

rm -rf "$B"; mkdir -p "$B" "$OUT"
SECONDS=0

step "compile circuits/rln.circom (--O2)"
quiet circom2 circuits/rln.circom --r1cs --wasm --sym --O2 -l node_modules -o "$B"
snarkjs r1cs info "$B/rln.r1cs" >"$B/r1cs-info.txt" 2>&1
CONSTRAINTS=$(sed -n 's/.*# of Constraints: *//p' "$B/r1cs-info.txt")
WIRES=$(sed -n 's/.*# of Wires: *//p' "$B/r1cs-info.txt")
step "r1cs: $CONSTRAINTS constraints, $WIRES wires"

step "powers of tau bn128 2^$POWER: new"
quiet snarkjs powersoftau new bn128 "$POWER" "$B/pot_0000.ptau"
step "powers of tau: contribute"
quiet snarkjs powersoftau contribute "$B/pot_0000.ptau" "$B/pot_0001.ptau" \
    --name="rlnkit dev phase 1" -e="$PTAU_ENTROPY"
step "powers of tau: prepare phase 2"
quiet snarkjs powersoftau prepare phase2 "$B/pot_0001.ptau" "$B/pot_final.ptau"

step "groth16 setup"
quiet snarkjs groth16 setup "$B/rln.r1cs" "$B/pot_final.ptau" "$B/rln_0000.zkey"
step "zkey: phase 2 contribution"
quiet snarkjs zkey contribute "$B/rln_0000.zkey" "$B/rln_0001.zkey" \
    --name="rlnkit dev phase 2" -e="$ZKEY_ENTROPY"
step "zkey: beacon"
quiet snarkjs zkey beacon "$B/rln_0001.zkey" "$B/rln_final.zkey" "$BEACON_HASH" "$BEACON_EXP" \
    -n="rlnkit dev final beacon"
step "zkey: verify against r1cs and ptau"
quiet snarkjs zkey verify "$B/rln.r1cs" "$B/pot_final.ptau" "$B/rln_final.zkey"
sed 's/\x1b\[[0-9;]*m//g' "$B/last.log" >"$B/verify.log"
grep -q 'ZKey Ok!' "$B/verify.log" || { cat "$B/verify.log" >&2; echo "zkeys: zkey verify did not say OK" >&2; exit 1; }
# snarkjs prints the 64-byte circuit hash as 4 lines of 4 hex words; it also depends on the ptau.
CIRCUIT_HASH=$(grep -m1 -A4 'Circuit [Hh]ash' "$B/verify.log" | tail -4 | tr -d ' \t\n')
# Contribution record (name + hash of each phase-2 contribution), newest first, as snarkjs prints it.
CONTRIBUTIONS=$(sed -n '/-------------------------/,$p' "$B/verify.log" | sed 's/^\[INFO\] *snarkJS: //' | grep -v '^-*$' | grep -v 'ZKey Ok' | sed 's/^\t*/    /' || true)
step "export verification key"
quiet snarkjs zkey export verificationkey "$B/rln_final.zkey" "$B/verification_key.json"

cp "$B/rln_js/rln.wasm" "$OUT/rln.wasm"
cp "$B/rln_final.zkey" "$OUT/rln_final.zkey"
cp "$B/verification_key.json" "$OUT/verification_key.json"
(cd "$B" && sha256sum rln.r1cs) >"$OUT/SHA256SUMS"
(cd "$OUT" && sha256sum rln.wasm rln_final.zkey verification_key.json) >>"$OUT/SHA256SUMS"
ELAPSED=$SECONDS

R1CS_SHA=$(cut -d' ' -f1 <(grep ' rln.r1cs$' "$OUT/SHA256SUMS"))
human() { numfmt --to=iec --suffix=B "$(stat -c %s "$1")"; }
cat >"$OUT/README.md" <<EOF
# Development circuit keys (NOT for production)

**These are development keys from a single-party ceremony.** One machine made every contribution,
so whoever ran \`make zkeys\` could in principle have kept the toxic waste and forge proofs. They are
here so rlnkit works, tests and demos out of the box against our own registry and test networks.

**Production use on the Waku network needs the network's own ceremony keys.** Proofs made with these
keys are rejected by Waku relays (different verifying key). Load the network's artifacts with
\`--keys DIR\`, where DIR holds the same file names as here (\`rln.wasm\`, \`rln_final.zkey\`,
\`verification_key.json\`), as published by the Waku RLN v2 trusted setup. The circuit's input
names and public signal order are identical, so the same inputs work with either key set.

## Files

| file | size | what |
|---|---|---|
| \`rln.wasm\` | $(human "$OUT/rln.wasm") | circom witness generator for \`circuits/rln.circom\` |
| \`rln_final.zkey\` | $(human "$OUT/rln_final.zkey") | snarkjs Groth16 proving key (BN254) |
| \`verification_key.json\` | $(human "$OUT/verification_key.json") | snarkjs verifying key, 5 public signals |
| \`SHA256SUMS\` | | sha256 of the three files above, and of the compiled \`rln.r1cs\` (not committed; it is rebuilt from the circuit) |

## How they were made

\`scripts/zkeys.sh\` (\`make zkeys\`), on $(date -u +%Y-%m-%d) in ${ELAPSED} s, with circom $(circom2 --version 2>/dev/null | sed -n 's/circom compiler //p') (circom2 npm),
circomlib 2.0.5 and snarkjs 0.7.6:

1. \`circom2 circuits/rln.circom --r1cs --wasm --sym --O2\`: $CONSTRAINTS constraints, $WIRES wires.
   r1cs sha256 \`$R1CS_SHA\`.
2. Powers of tau, bn128, 2^$POWER: \`new\`, one \`contribute\` (named entropy "$PTAU_ENTROPY"), \`prepare phase2\`.
3. \`groth16 setup\`, one \`zkey contribute\` (named entropy "$ZKEY_ENTROPY"),
   \`zkey beacon\` with hash \`$BEACON_HASH\` (sha256 of "rlnkit development keys beacon"), 2^$BEACON_EXP iterations,
   \`zkey verify\` against the r1cs and ptau, \`zkey export verificationkey\`.

snarkjs mixes fresh random bytes into every contribution besides the named entropy, so rerunning
gives keys of the same shape but different bytes; commit them together (wasm, zkey, verifying key,
SHA256SUMS, this README) or not at all.

snarkjs circuit hash (stored in the zkey; a hash of the initial zkey, so it depends on the r1cs and the powers of tau):
\`${CIRCUIT_HASH}\`

Phase-2 contributions as reported by \`snarkjs zkey verify\` (newest first):

\`\`\`
${CONTRIBUTIONS}
\`\`\`

\`make check-zkeys\` (part of \`make test\`) recompiles the circuit, checks the r1cs hash and the
files against SHA256SUMS, re-exports the verifying key from the zkey, and proves and verifies
\`circuits/test/input.json\`.
EOF

step "done in ${ELAPSED}s: $OUT/{rln.wasm,rln_final.zkey,verification_key.json,SHA256SUMS,README.md}"
