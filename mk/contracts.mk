# Contracts: RLN v2 membership registry with slashing (Solidity, forge via the pinned npm toolchain).
#   make contracts-build      compile (offline: forge calls scripts/solc, a solc-js wrapper)
#   make contracts-test       forge fmt --check, forge test, the Waku ABI compatibility check, the artifacts check
#   make contracts-artifacts  regenerate contracts/artifacts/ (commit the result)
FORGE ?= $(NODE_BIN)/forge
NODE ?= node

.PHONY: contracts-build contracts-test contracts-artifacts

contracts-build: deps
	$(FORGE) build

contracts-test: deps
	$(FORGE) fmt --check contracts
	$(FORGE) test
	$(NODE) scripts/check-abi.mjs
	$(NODE) scripts/export-artifacts.mjs --check

contracts-artifacts: deps
	$(FORGE) build
	$(NODE) scripts/export-artifacts.mjs

TEST_TARGETS += contracts-test
