#!/usr/bin/env bash
# Planted bugs: each *.patch here breaks the registry (svc-*.patch: ServiceCredentials) in one way; the
# invariant suite of the contract it patches must fail on every one of them (proof that the invariants
# bite). Each patch is applied to a scratch copy of the contracts, never to the working tree. Takes a few
# minutes; not part of `make test`.
#   contracts/test/bugs/run.sh [patch ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
forge="$root/node_modules/.bin/forge"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

patches=("$@")
[ ${#patches[@]} -eq 0 ] && patches=("$root"/contracts/test/bugs/*.patch)

missed=0
for patch in "${patches[@]}"; do
    name=$(basename "$patch" .patch)
    copy="$work/$name"
    mkdir -p "$copy/scripts"
    cp -r "$root/contracts" "$root/foundry.toml" "$copy/"
    cp "$root/scripts/solc" "$copy/scripts/"
    ln -s "$root/node_modules" "$copy/node_modules"
    (cd "$copy" && patch -s -p1 < "$patch")
    suite=contracts/test/RlnMembership.invariants.t.sol
    grep -q '^+++ b/contracts/src/ServiceCredentials.sol' "$patch" && suite=contracts/test/ServiceCredentials.invariants.t.sol
    # No shrinking: a failure is all we need, and shrinking a long sequence takes minutes.
    if (cd "$copy" && FOUNDRY_INVARIANT_SHRINK_RUN_LIMIT=0 "$forge" test --match-path "$suite" --json \
        > "$work/$name.json" 2> "$work/$name.err"); then
        echo "MISSED  $name: every invariant held"
        missed=1
    else
        failed=$(node -e '
            const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
            const names = [];
            for (const suite of Object.values(r))
                for (const [t, res] of Object.entries(suite.test_results ?? {}))
                    if (res.status !== "Success") names.push(t.replace("()", ""));
            console.log(names.join(" ") || "(build or setup failure, see stderr)");
        ' "$work/$name.json" 2>/dev/null || echo "(no test output: $(head -c 300 "$work/$name.err"))")
        echo "caught  $name: $failed"
    fi
done
exit $missed
