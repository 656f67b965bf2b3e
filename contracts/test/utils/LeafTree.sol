// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";

/// @notice Reference Merkle root of a leaf list (zero-padded, PoseidonT3), computed the slow, obvious way.
library LeafTree {
    function root(uint256[] memory leaves, uint8 depth) internal pure returns (uint256) {
        uint256[] memory level = leaves;
        uint256 zero = 0;
        for (uint8 d = 0; d < depth; ++d) {
            uint256[] memory next = new uint256[]((level.length + 1) / 2);
            for (uint256 i = 0; i < next.length; ++i) {
                uint256 right = 2 * i + 1 < level.length ? level[2 * i + 1] : zero;
                next[i] = PoseidonT3.hash([level[2 * i], right]);
            }
            zero = PoseidonT3.hash([zero, zero]);
            level = next;
        }
        return level.length == 0 ? zero : level[0];
    }
}
