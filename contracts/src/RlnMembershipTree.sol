// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {InternalLazyIMT, LazyIMTData} from "@zk-kit/imt.sol/internal/InternalLazyIMT.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";

import {IRlnMembership} from "./interfaces/IRlnMembership.sol";

/// @dev Depth of the membership tree (RlnMembership.MERKLE_TREE_DEPTH).
uint8 constant TREE_DEPTH = 20;
/// @dev Number of recent roots kept (RlnMembership.HISTORY_SIZE).
uint8 constant ROOT_HISTORY = 5;

/// @title RlnMembershipTree
/// @notice The registry's tree code (zk-kit's LazyIMT update and root) and its heavier read-only helpers
/// (Merkle proofs, leaf ranges, the ring of recent roots), as an external library that RlnMembership is
/// linked against and calls with DELEGATECALL on its own storage. Keeping them out of RlnMembership's code
/// leaves it room under the EIP-170 size limit; the registry's ABI (and so the Waku ABI) is unchanged.
library RlnMembershipTree {
    /// @notice Initializes an empty tree of depth TREE_DEPTH.
    /// @param tree The registry's tree.
    function init(LazyIMTData storage tree) external {
        InternalLazyIMT._init(tree, TREE_DEPTH);
    }

    /// @notice Writes the leaf at `index` (below tree.numberOfLeaves) and updates its stored ancestors.
    /// @param tree The registry's tree.
    /// @param leaf The new leaf.
    /// @param index Its index.
    function setLeaf(LazyIMTData storage tree, uint256 leaf, uint40 index) external {
        InternalLazyIMT._update(tree, leaf, index);
    }

    /// @notice The root of the tree at depth TREE_DEPTH.
    /// @param tree The registry's tree.
    /// @return The root.
    function root(LazyIMTData storage tree) external view returns (uint256) {
        return InternalLazyIMT._root(tree, TREE_DEPTH);
    }

    /// @notice Sibling path of the leaf at `index`, bottom-up (see RlnMembership.getMerkleProof).
    /// @param tree The registry's tree.
    /// @param index A leaf index below tree.numberOfLeaves.
    /// @return proof The TREE_DEPTH siblings.
    function merkleProof(LazyIMTData storage tree, uint40 index)
        external
        view
        returns (uint256[TREE_DEPTH] memory proof)
    {
        uint40 n = tree.numberOfLeaves;
        if (index >= n) revert IRlnMembership.MerkleIndexOutOfRange(index, n);
        // frontier[i]: the level-i node over the last leaf, which may cover a partly filled subtree.
        uint256[TREE_DEPTH] memory frontier;
        uint40 last = n - 1;
        frontier[0] = _node(tree, 0, last);
        for (uint8 i = 1; i < TREE_DEPTH; ++i) {
            uint40 child = last >> (i - 1);
            if (child & 1 == 1) {
                frontier[i] = PoseidonT3.hash([_node(tree, i - 1, child - 1), frontier[i - 1]]);
            } else {
                frontier[i] = PoseidonT3.hash([frontier[i - 1], InternalLazyIMT._defaultZero(i - 1)]);
            }
        }
        for (uint8 i = 0; i < TREE_DEPTH; ++i) {
            uint40 sibling = (index >> i) ^ 1;
            uint40 edge = last >> i;
            if (sibling < edge) proof[i] = _node(tree, i, sibling);
            else if (sibling == edge) proof[i] = frontier[i];
            else proof[i] = InternalLazyIMT._defaultZero(i);
        }
    }

    /// @notice Leaves at indices [startIndex, endIndex] (see RlnMembership.getRateCommitmentsInRangeBoundsInclusive).
    /// @param tree The registry's tree.
    /// @param startIndex First index (inclusive).
    /// @param endIndex Last index (inclusive), below `used`.
    /// @param used The number of slots ever used (nextFreeIndex).
    /// @return leaves The leaves.
    function leafRange(LazyIMTData storage tree, uint32 startIndex, uint32 endIndex, uint32 used)
        external
        view
        returns (uint256[] memory leaves)
    {
        if (startIndex > endIndex || endIndex >= used) {
            revert IRlnMembership.InvalidPaginationQuery(startIndex, endIndex);
        }
        leaves = new uint256[](uint256(endIndex) - startIndex + 1);
        uint40 index = startIndex;
        for (uint256 i = 0; i < leaves.length; ++i) {
            leaves[i] = _node(tree, 0, index++);
        }
    }

    /// @notice The ring's roots and when each was superseded (0 for the newest), newest first.
    /// @param ring The ring of recent roots.
    /// @param supersededAt When the root in each ring slot was superseded (unix seconds; 0: not yet).
    /// @param cursor The ring slot the next root goes to.
    /// @return roots The roots, newest first.
    /// @return times When each was superseded, in the same order.
    function recentRoots(
        uint256[ROOT_HISTORY] storage ring,
        uint40[ROOT_HISTORY] storage supersededAt,
        uint8 cursor
    ) external view returns (uint256[ROOT_HISTORY] memory roots, uint256[ROOT_HISTORY] memory times) {
        for (uint8 i = 0; i < ROOT_HISTORY; ++i) {
            uint256 slot = (cursor + ROOT_HISTORY - 1 - i) % ROOT_HISTORY;
            roots[i] = ring[slot];
            times[i] = supersededAt[slot];
        }
    }

    function _node(LazyIMTData storage tree, uint8 level, uint40 position) private view returns (uint256) {
        return tree.elements[InternalLazyIMT._indexForElement(level, position)];
    }
}
