#!/usr/bin/env node
// ABI compatibility check: every function, event and error of the deployed Waku RLN v2 contract and
// its price calculator must exist in our build with identical inputs and outputs.
//
//   node scripts/check-abi.mjs [path/to/waku-rlnv2-abi.json]      (after `forge build`)
//
// The reference ABI path comes from the argument, else $WAKU_RLNV2_ABI, else
// ../shared/interop/waku-rlnv2-abi.json relative to the repository root; if it is absent the check is
// skipped (exit 0). Exit 1 if anything differs (each difference is printed), 2 on a usage error.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Reference contract name -> our contract (artifact out/<file>/<name>.json).
const PAIRS = [
  ['WakuRlnV2', 'RlnMembership.sol/RlnMembership.json'],
  ['LinearPriceCalculator', 'LinearPriceCalculator.sol/LinearPriceCalculator.json'],
];

const refPath = resolve(
  process.argv[2] ?? process.env.WAKU_RLNV2_ABI ?? join(ROOT, '..', 'shared', 'interop', 'waku-rlnv2-abi.json'),
);
if (!existsSync(refPath)) {
  console.log(`check-abi: SKIPPED: reference ABI not found at ${refPath} (pass a path or set WAKU_RLNV2_ABI)`);
  process.exit(0);
}

// Canonical type of a parameter, tuples expanded: "(uint256,address)[]".
function canonicalType(p) {
  if (!p.type.startsWith('tuple')) return p.type;
  return `(${(p.components ?? []).map(canonicalType).join(',')})${p.type.slice('tuple'.length)}`;
}

function signature(item) {
  if (item.type === 'constructor') return 'constructor';
  return `${item.type} ${item.name}(${(item.inputs ?? []).map(canonicalType).join(',')})`;
}

// What must match besides the signature: parameter names and types (outputs too), indexed flags,
// state mutability. internalType is ignored (it names Solidity types, not the wire format).
function shape(params = []) {
  return params.map((p) => ({
    name: p.name ?? '',
    type: canonicalType(p),
    ...(p.indexed !== undefined ? { indexed: p.indexed } : {}),
    ...(p.components ? { components: shape(p.components) } : {}),
  }));
}

function describe(params = []) {
  return `(${shape(params)
    .map((p) => `${p.type}${p.indexed ? ' indexed' : ''}${p.name ? ' ' + p.name : ''}`)
    .join(', ')})`;
}

function compare(refName, refAbi, ours, ourName) {
  const bySig = new Map(ours.map((item) => [signature(item), item]));
  const problems = [];
  for (const ref of refAbi) {
    if (!['function', 'event', 'error', 'constructor'].includes(ref.type)) continue;
    const sig = signature(ref);
    const mine = bySig.get(sig);
    if (!mine) {
      problems.push(`missing   ${sig}`);
      continue;
    }
    if (ref.type === 'constructor') {
      if (JSON.stringify(shape(ref.inputs)) !== JSON.stringify(shape(mine.inputs))) {
        problems.push(`differs   constructor inputs: Waku ${describe(ref.inputs)}, ours ${describe(mine.inputs)}`);
      }
      continue;
    }
    for (const field of ['inputs', 'outputs']) {
      if (JSON.stringify(shape(ref[field])) !== JSON.stringify(shape(mine[field]))) {
        problems.push(`differs   ${sig} ${field}: Waku ${describe(ref[field])}, ours ${describe(mine[field])}`);
      }
    }
    if ((ref.stateMutability ?? null) !== (mine.stateMutability ?? null)) {
      problems.push(`differs   ${sig} stateMutability: Waku ${ref.stateMutability}, ours ${mine.stateMutability}`);
    }
    if (Boolean(ref.anonymous) !== Boolean(mine.anonymous)) {
      problems.push(`differs   ${sig} anonymous: Waku ${Boolean(ref.anonymous)}, ours ${Boolean(mine.anonymous)}`);
    }
  }
  const refSigs = new Set(refAbi.map(signature));
  const extra = ours.filter((item) => !refSigs.has(signature(item))).length;
  const checked = refAbi.filter((i) => ['function', 'event', 'error', 'constructor'].includes(i.type)).length;
  if (problems.length === 0) {
    console.log(`check-abi: ${ourName} ⊇ ${refName}: all ${checked} entries match (${extra} entries are ours only)`);
  } else {
    console.log(`check-abi: ${ourName} vs ${refName}: ${problems.length} difference(s):`);
    for (const p of problems) console.log(`  ${p}`);
  }
  return problems.length;
}

const reference = JSON.parse(readFileSync(refPath, 'utf8'));
let failures = 0;
for (const [refName, artifact] of PAIRS) {
  const refAbi = reference[refName];
  if (!Array.isArray(refAbi)) {
    console.error(`check-abi: ${refPath} has no ABI for ${refName}`);
    process.exit(2);
  }
  const file = join(ROOT, 'out', artifact);
  if (!existsSync(file)) {
    console.error(`check-abi: ${file} not found: run \`forge build\` first`);
    process.exit(2);
  }
  const ours = JSON.parse(readFileSync(file, 'utf8')).abi;
  failures += compare(refName, refAbi, ours, artifact.split('/')[1].replace(/\.json$/, ''));
}
process.exit(failures === 0 ? 0 : 1);
