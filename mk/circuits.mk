# RLN v2 circuit and its development keys (circuits/, zkeys/). Included by the top Makefile.
#   zkeys        regenerate zkeys/ with a local single-party ceremony (slow, ~6 min on 2 cores)
#   check-zkeys  fast check that zkeys/ matches circuits/rln.circom (part of `make test`)
.PHONY: zkeys check-zkeys

zkeys: deps
	scripts/zkeys.sh

check-zkeys: deps
	scripts/check-zkeys.sh

TEST_TARGETS += check-zkeys
