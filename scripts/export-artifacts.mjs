#!/usr/bin/env node
// Exports the contract artifacts the Rust `alloy::sol!` bindings read, from forge's out/ (run
// `forge build` first), into contracts/artifacts/:
//
//   <Name>.json      {"abi": [...], "bytecode": {"object": "0x..."}} for RlnMembership,
//                    LinearPriceCalculator, TestToken, ERC1967Proxy (OpenZeppelin 4.9.6) and
//                    ServiceCredentials
//   libraries.json   how to deploy the libraries RlnMembership is linked against, in order
//
// RlnMembership calls the external libraries PoseidonT2 and PoseidonT3 (poseidon-solidity 0.0.5) and
// RlnMembershipTree (ours: the tree code and proof helpers, itself linked to PoseidonT3). Its bytecode is
// linked to their CREATE2 addresses, where anyone can deploy them on any EVM chain by sending
// salt ++ initCode to the deterministic-deployment proxy 0x4e59b44847b379578588920ca78fbf26c0b4956c
// (present on anvil at genesis): the Poseidon ones at poseidon-solidity's canonical addresses,
// RlnMembershipTree with salt 0 at the address its linked initCode gives. libraries.json has all three.
//
//   node scripts/export-artifacts.mjs           write the artifacts
//   node scripts/export-artifacts.mjs --check   exit 1 if the committed artifacts differ from out/
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'out');
const DEST = join(ROOT, 'contracts', 'artifacts');
const CONTRACTS = [
  ['RlnMembership', 'RlnMembership.sol'],
  ['LinearPriceCalculator', 'LinearPriceCalculator.sol'],
  ['TestToken', 'TestToken.sol'],
  ['ERC1967Proxy', 'ERC1967Proxy.sol'],
  ['ServiceCredentials', 'ServiceCredentials.sol'],
];
const CREATE2_DEPLOYER = '0x4e59b44847b379578588920ca78fbf26c0b4956c';
// Our own linked library: deployed with CREATE2 (salt 0) at the address its linked initCode gives.
const TREE_LIBRARY = ['RlnMembershipTree', 'RlnMembershipTree.sol'];
const ZERO_SALT = `0x${'00'.repeat(32)}`;

const require = createRequire(import.meta.url);
const poseidon = require(join(ROOT, 'node_modules', 'poseidon-solidity'));
// js-sha3 comes with the pinned solc-js.
const { keccak256 } = require(join(ROOT, 'node_modules', 'js-sha3'));

/** The CREATE2 address of initCode deployed by CREATE2_DEPLOYER with `salt` (EIP-1014). */
function create2Address(salt, initCode) {
  const codeHash = keccak256(Buffer.from(initCode.slice(2), 'hex'));
  const preimage = Buffer.from(`ff${CREATE2_DEPLOYER.slice(2)}${salt.slice(2)}${codeHash}`, 'hex');
  return `0x${keccak256(preimage).slice(24)}`;
}
if (poseidon.proxy.address.toLowerCase() !== CREATE2_DEPLOYER) {
  throw new Error(`poseidon-solidity expects deployer ${poseidon.proxy.address}, not ${CREATE2_DEPLOYER}`);
}
const LIBRARIES = Object.fromEntries(
  ['PoseidonT2', 'PoseidonT3'].map((name) => {
    const d = poseidon[name];
    const salt = d.salt.toLowerCase();
    const initCode = d.bytecode.toLowerCase();
    if (d.data.toLowerCase() !== salt + initCode.slice(2)) throw new Error(`${name}: data != salt ++ bytecode`);
    return [name, { address: d.address, create2Deployer: CREATE2_DEPLOYER, salt, initCode }];
  }),
);

/** Replaces every library placeholder listed in linkReferences by the library's canonical address. */
function link(name, object, linkReferences) {
  let hex = object.startsWith('0x') ? object.slice(2) : object;
  for (const [file, libs] of Object.entries(linkReferences ?? {})) {
    for (const [lib, refs] of Object.entries(libs)) {
      const target = LIBRARIES[lib];
      if (!target) throw new Error(`${name} links ${file}:${lib}, which has no canonical address`);
      const address = target.address.slice(2).toLowerCase();
      for (const { start, length } of refs) {
        if (length !== 20) throw new Error(`${name}: link reference of ${length} bytes`);
        const at = 2 * start;
        const placeholder = hex.slice(at, at + 40);
        if (!/^__\$[0-9a-f]{34}\$__$/.test(placeholder)) {
          throw new Error(`${name}: no placeholder at byte ${start} for ${lib} (found ${placeholder})`);
        }
        hex = hex.slice(0, at) + address + hex.slice(at + 40);
      }
    }
  }
  if (hex.includes('__$')) throw new Error(`${name}: unlinked placeholder left in the bytecode`);
  if (!/^[0-9a-f]*$/.test(hex)) throw new Error(`${name}: bytecode is not hex`);
  return `0x${hex}`;
}

function render(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function expectedFiles() {
  const files = {};
  {
    const [name, source] = TREE_LIBRARY;
    const path = join(OUT, source, `${name}.json`);
    if (!existsSync(path)) {
      throw new Error(`${relative(ROOT, path)} not found: run \`forge build\` first`);
    }
    const artifact = JSON.parse(readFileSync(path, 'utf8'));
    const initCode = link(name, artifact.bytecode.object, artifact.bytecode.linkReferences);
    LIBRARIES[name] = {
      address: create2Address(ZERO_SALT, initCode),
      create2Deployer: CREATE2_DEPLOYER,
      salt: ZERO_SALT,
      initCode,
    };
  }
  for (const [name, source] of CONTRACTS) {
    const path = join(OUT, source, `${name}.json`);
    if (!existsSync(path)) {
      throw new Error(`${relative(ROOT, path)} not found: run \`forge build\` first`);
    }
    const artifact = JSON.parse(readFileSync(path, 'utf8'));
    const object = link(name, artifact.bytecode.object, artifact.bytecode.linkReferences);
    files[`${name}.json`] = render({ abi: artifact.abi, bytecode: { object } });
  }
  files['libraries.json'] = render({
    _about:
      'External libraries linked into RlnMembership at these addresses. Deploy each, in this order ' +
      '(RlnMembershipTree is linked to PoseidonT3), by sending salt ++ initCode (as calldata) to ' +
      'create2Deployer; skip if code is already at address.',
    ...LIBRARIES,
  });
  return files;
}

function main() {
  const check = process.argv.includes('--check');
  const files = expectedFiles();
  if (!check) {
    mkdirSync(DEST, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(DEST, file), text);
    console.log(`export-artifacts: wrote ${Object.keys(files).length} files to ${relative(ROOT, DEST)}/`);
    return 0;
  }
  const problems = [];
  for (const [file, text] of Object.entries(files)) {
    const path = join(DEST, file);
    if (!existsSync(path)) problems.push(`missing   contracts/artifacts/${file}`);
    else if (readFileSync(path, 'utf8') !== text) problems.push(`differs   contracts/artifacts/${file}`);
  }
  for (const file of existsSync(DEST) ? readdirSync(DEST) : []) {
    if (file.endsWith('.json') && !(file in files)) problems.push(`extra     contracts/artifacts/${file}`);
  }
  if (problems.length === 0) {
    console.log(`export-artifacts: contracts/artifacts/ matches the build (${Object.keys(files).length} files)`);
    return 0;
  }
  console.log('export-artifacts: contracts/artifacts/ is stale; run `make contracts-artifacts` and commit:');
  for (const p of problems) console.log(`  ${p}`);
  return 1;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`export-artifacts: ${err.message}`);
  process.exitCode = 2;
}
