#!/usr/bin/env bash
# Fast consistency check of the committed development keys (zkeys/) against the circuit source
# (circuits/rln.circom). Run via `make check-zkeys` (part of `make test`). No ceremony; ~20 s.
#
# circom 2.2.3 (circom2 0.2.23) output is byte-for-byte deterministic (r1cs, wasm, sym; checked
# across repeated compiles and output directories), so the freshly compiled r1cs and wasm are
# compared by sha256 with zkeys/SHA256SUMS.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"   # circom2 is a WASI build: it must run from the repo root with relative paths
export PATH="$ROOT/node_modules/.bin:$PATH"
Z=zkeys
INTEROP="$ROOT/../shared/interop"

for tool in circom2 snarkjs node; do
    command -v "$tool" >/dev/null || { echo "check-zkeys: $tool not found; run 'make deps' first" >&2; exit 2; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/rlnkit-check-zkeys.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILED=0
SECONDS=0
ok()   { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILED=$((FAILED + 1)); }
run()  { "$@" >"$T/cmd.log" 2>&1; }     # quiet; output kept in $T/cmd.log for failure messages
why()  { sed 's/\x1b\[[0-9;]*m//g' "$T/cmd.log" | grep -iE 'error|invalid|assert' | head -3 | sed 's/^/      /'; }
expected_sha() { awk -v f="$1" '$2 == f || $2 == "*"f { print $1 }' "$Z/SHA256SUMS"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# Public signals [y, root, nullifier, x, externalNullifier] of a witness: entries 1..5.
public_of() { node -e 'const fs=require("fs"); const w=JSON.parse(fs.readFileSync(process.argv[1]));
    process.stdout.write(JSON.stringify(w.slice(1, 6)))' "$1"; }
same_json() { node -e 'const fs=require("fs"); const r=f=>JSON.stringify(JSON.parse(fs.readFileSync(f)));
    process.exit(r(process.argv[1]) === r(process.argv[2]) ? 0 : 1)' "$1" "$2"; }

for f in rln.wasm rln_final.zkey verification_key.json SHA256SUMS; do
    [ -f "$Z/$f" ] || { echo "FAIL  $Z/$f is missing (run 'make zkeys' to regenerate the development keys)"; exit 1; }
done

# 1. Recompile the circuit; its r1cs and wasm must be the ones the keys were made from.
if run circom2 circuits/rln.circom --r1cs --wasm --O2 -l node_modules -o "$T"; then
    got=$(sha "$T/rln.r1cs"); want=$(expected_sha rln.r1cs)
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        ok "circuit compiles; rln.r1cs sha256 $got matches $Z/SHA256SUMS"
    else
        fail "rln.r1cs sha256 $got != '${want}' in $Z/SHA256SUMS: circuits/rln.circom (or circom/circomlib) changed since the keys were made; run 'make zkeys'"
    fi
    got=$(sha "$T/rln_js/rln.wasm")
    if [ "$got" = "$(sha "$Z/rln.wasm")" ]; then
        ok "compiled witness generator is byte-identical to $Z/rln.wasm"
    else
        fail "compiled rln.wasm ($got) differs from $Z/rln.wasm: run 'make zkeys'"
    fi
else
    why; fail "circuits/rln.circom does not compile"
fi

# 2. Committed files against SHA256SUMS.
for f in rln.wasm rln_final.zkey verification_key.json; do
    got=$(sha "$Z/$f"); want=$(expected_sha "$f")
    if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "$Z/$f sha256 matches SHA256SUMS"
    else fail "$Z/$f sha256 $got != '${want}' in $Z/SHA256SUMS"; fi
done

# 3. The verifying key is the one in the proving key.
if run snarkjs zkey export verificationkey "$Z/rln_final.zkey" "$T/vk.json" && same_json "$T/vk.json" "$Z/verification_key.json"; then
    ok "verification key exported from $Z/rln_final.zkey equals $Z/verification_key.json"
else
    why; fail "$Z/verification_key.json is not the verification key of $Z/rln_final.zkey"
fi

# 4. wasm and zkey belong together: prove and verify a fixed input, check its public signals.
if run snarkjs groth16 fullprove circuits/test/input.json "$Z/rln.wasm" "$Z/rln_final.zkey" "$T/proof.json" "$T/public.json"; then
    if run snarkjs groth16 verify "$Z/verification_key.json" "$T/public.json" "$T/proof.json" && grep -q 'OK' "$T/cmd.log"; then
        ok "groth16 fullprove + verify of circuits/test/input.json with $Z keys"
    else
        fail "proof of circuits/test/input.json does not verify with $Z/verification_key.json (wasm and zkey do not match)"
    fi
    if same_json "$T/public.json" circuits/test/public.json; then
        ok "public signals of circuits/test/input.json equal circuits/test/public.json"
    else
        fail "public signals $(cat "$T/public.json") != circuits/test/public.json"
    fi
else
    why; fail "groth16 fullprove of circuits/test/input.json failed"
fi

# 5. The rate limit is enforced: messageId >= userMessageLimit has no witness.
node -e 'const fs=require("fs"); const i=JSON.parse(fs.readFileSync("circuits/test/input.json"));
    i.messageId = i.userMessageLimit; fs.writeFileSync(process.argv[1], JSON.stringify(i))' "$T/over.json"
if run snarkjs wtns calculate "$Z/rln.wasm" "$T/over.json" "$T/over.wtns"; then
    fail "witness generation accepted messageId == userMessageLimit"
else
    ok "witness generation rejects messageId == userMessageLimit"
fi

# 6. Interop: the Waku network's witness input gives the Waku network's public signals.
if [ -d "$INTEROP" ]; then
    want=$(node -e 'const v=require(process.argv[1]); process.stdout.write(JSON.stringify(v.witness_example.public_signals))' "$INTEROP/vectors.json")
    if run snarkjs wtns calculate "$Z/rln.wasm" "$INTEROP/waku-rln-v2/witness-input.json" "$T/w.wtns" \
       && run snarkjs wtns export json "$T/w.wtns" "$T/w.json" && [ "$(public_of "$T/w.json")" = "$want" ]; then
        ok "interop witness-input.json gives vectors.json witness_example.public_signals"
    else
        why; fail "interop witness-input.json does not give vectors.json witness_example.public_signals (got $(public_of "$T/w.json" 2>/dev/null))"
    fi
else
    echo "skip  interop witness_example check ($INTEROP not found)"
fi

if [ "$FAILED" -ne 0 ]; then
    echo "check-zkeys: $FAILED check(s) FAILED (${SECONDS}s)" >&2
    exit 1
fi
echo "check-zkeys: all checks passed (${SECONDS}s)"
