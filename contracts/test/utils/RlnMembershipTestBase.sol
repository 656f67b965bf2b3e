// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {LeafTree} from "./LeafTree.sol";
import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {PoseidonT2} from "poseidon-solidity/PoseidonT2.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";

import {LinearPriceCalculator} from "../../src/LinearPriceCalculator.sol";
import {Membership} from "../../src/Membership.sol";
import {RlnMembership} from "../../src/RlnMembership.sol";
import {TestToken} from "../../src/TestToken.sol";
import {Test} from "./Test.sol";

/// @notice Fixture: the registry behind an ERC1967 proxy with the deployed Waku parameters, plus helpers
/// for registration, time travel, slashing and an independent Merkle tree model.
abstract contract RlnMembershipTestBase is Test {
    uint256 internal constant Q =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;
    uint256 internal constant PRICE_PER_MESSAGE = 5e16; // 0.05 token per message per epoch
    uint32 internal constant MIN_RATE = 20;
    uint32 internal constant MAX_RATE = 600;
    uint32 internal constant MAX_TOTAL_RATE = 1_000_000;
    uint32 internal constant ACTIVE = 180 days;
    uint32 internal constant GRACE = 30 days;
    uint8 internal constant DEPTH = 20;

    TestToken internal token;
    LinearPriceCalculator internal calculator;
    RlnMembership internal implementation;
    RlnMembership internal rln;

    address internal immutable alice = address(0xA11CE);
    address internal immutable bob = address(0xB0B);
    address internal immutable carol = address(0xCA501);
    address internal immutable slasher = address(0x5EA5E);
    address internal immutable receiver = address(0x4EC);
    address internal immutable treasury = address(0x7EA5);

    uint256[] internal noIds;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        vm.roll(1_000);
        token = new TestToken();
        calculator = new LinearPriceCalculator(address(token), PRICE_PER_MESSAGE);
        implementation = new RlnMembership();
        rln = _deployProxy(
            abi.encodeCall(
                RlnMembership.initialize,
                (address(calculator), MAX_TOTAL_RATE, MIN_RATE, MAX_RATE, ACTIVE, GRACE)
            )
        );
        rln.setTreasury(treasury);
        vm.label(address(rln), "RlnMembership");
        vm.label(alice, "alice");
        vm.label(bob, "bob");
        vm.label(slasher, "slasher");
        vm.label(receiver, "receiver");
        vm.label(treasury, "treasury");
    }

    function _deployProxy(bytes memory initData) internal returns (RlnMembership) {
        return RlnMembership(address(new ERC1967Proxy(address(implementation), initData)));
    }

    // ---------------------------------------------------------------------------------- identities

    /// @dev idCommitment of an identity secret: circomlib Poseidon([secret]).
    function _id(uint256 secret) internal pure returns (uint256) {
        return PoseidonT2.hash([secret]);
    }

    /// @dev Leaf (rate commitment) of a membership.
    function _leaf(uint256 idCommitment, uint32 rateLimit) internal pure returns (uint256) {
        return PoseidonT3.hash([idCommitment, uint256(rateLimit)]);
    }

    function _price(uint32 rateLimit) internal pure returns (uint256) {
        return uint256(rateLimit) * PRICE_PER_MESSAGE;
    }

    function _ids(uint256 a) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = a;
    }

    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory list) {
        list = new uint256[](2);
        (list[0], list[1]) = (a, b);
    }

    // ---------------------------------------------------------------------------------- registry

    /// @dev Mints the deposit to `who`, approves it and registers.
    function _register(address who, uint256 idCommitment, uint32 rateLimit) internal returns (uint32 index) {
        return _registerErasing(who, idCommitment, rateLimit, noIds);
    }

    function _registerErasing(address who, uint256 idCommitment, uint32 rateLimit, uint256[] memory toErase)
        internal
        returns (uint32 index)
    {
        _fund(who, rateLimit);
        vm.prank(who);
        rln.register(idCommitment, rateLimit, toErase);
        (, index,) = rln.getMembershipInfo(idCommitment);
    }

    function _fund(address who, uint32 rateLimit) internal {
        (address t, uint256 amount) = calculator.calculate(rateLimit);
        TestToken(t).mint(who, amount);
        vm.prank(who);
        TestToken(t).approve(address(rln), amount);
    }

    function _membership(uint256 idCommitment) internal view returns (Membership.MembershipInfo memory m) {
        (
            m.depositAmount,
            m.activeDuration,
            m.gracePeriodStartTimestamp,
            m.gracePeriodDuration,
            m.rateLimit,
            m.index,
            m.holder,
            m.token
        ) = rln.memberships(idCommitment);
    }

    function _pending(uint256 idCommitment) internal view returns (Membership.PendingDeposit memory p) {
        (p.holder, p.releaseBlock, p.index, p.token, p.rateLimit, p.delay, p.position, p.amount) =
            rln.pendingDeposits(idCommitment);
    }

    /// @dev The holder's deposits still locked (not yet due) in the default token.
    function _locked(address holder) internal view returns (uint256 amount) {
        uint256[] memory ids = rln.lockedDepositIds(holder, address(token));
        for (uint256 i = 0; i < ids.length; ++i) {
            Membership.PendingDeposit memory p = _pending(ids[i]);
            if (p.releaseBlock > block.number) amount += p.amount;
        }
    }

    function _leafAt(uint32 index) internal view returns (uint256) {
        return rln.getRateCommitmentsInRangeBoundsInclusive(index, index)[0];
    }

    function _eraseAs(address who, uint256 idCommitment, bool full) internal {
        vm.prank(who);
        rln.eraseMemberships(_ids(idCommitment), full);
    }

    // ---------------------------------------------------------------------------------- time

    function _warpToGracePeriod(uint256 idCommitment) internal {
        vm.warp(_membership(idCommitment).gracePeriodStartTimestamp);
    }

    function _warpToExpiry(uint256 idCommitment) internal {
        vm.warp(rln.membershipExpirationTimestamp(idCommitment));
    }

    function _rollBlocks(uint256 blocks) internal {
        vm.roll(block.number + blocks);
    }

    // ---------------------------------------------------------------------------------- slashing

    function _commitment(uint256 secret, address rewardReceiver, address sender)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(secret, rewardReceiver, sender));
    }

    function _commitSlash(address who, uint256 secret, address rewardReceiver) internal {
        vm.prank(who);
        rln.commitSlash(_commitment(secret, rewardReceiver, who));
    }

    /// @dev Commit, wait one block, reveal.
    function _slash(address who, uint256 secret, address rewardReceiver) internal {
        _commitSlash(who, secret, rewardReceiver);
        _rollBlocks(1);
        vm.prank(who);
        rln.revealSlash(secret, rewardReceiver);
    }

    // ---------------------------------------------------------------------------------- Merkle model

    /// @dev Root of a depth-`depth` tree whose first leaves are `leaves` and the rest 0, computed level by
    /// level (independently of the contract's LazyIMT code).
    function _computeRoot(uint256[] memory leaves, uint8 depth) internal pure returns (uint256) {
        return LeafTree.root(leaves, depth);
    }

    /// @dev Root implied by a leaf, its index and its sibling path.
    function _rootFromProof(uint256 leaf, uint256 index, uint256[20] memory proof)
        internal
        pure
        returns (uint256 node)
    {
        node = leaf;
        for (uint256 i = 0; i < 20; ++i) {
            node =
                (index >> i) & 1 == 1 ? PoseidonT3.hash([proof[i], node]) : PoseidonT3.hash([node, proof[i]]);
        }
    }

    /// @dev All leaves of the registry's tree.
    function _allLeaves() internal view returns (uint256[] memory) {
        uint32 n = rln.nextFreeIndex();
        if (n == 0) return new uint256[](0);
        return rln.getRateCommitmentsInRangeBoundsInclusive(0, n - 1);
    }
}

/// @notice Storage cheats to reach the end of the tree without 2^20 registrations.
abstract contract TreeCheats is RlnMembershipTestBase {
    // Slots from `forge inspect RlnMembership storageLayout` (checked through the getters after writing).
    bytes32 internal constant NEXT_FREE_INDEX_SLOT = bytes32(uint256(256));
    bytes32 internal constant MERKLE_TREE_SLOT = bytes32(uint256(309)); // maxIndex: bits 0..39, numberOfLeaves: 40..79

    /// @dev Pretends `used` slots were taken (their leaves read as 0: only the registry's bookkeeping moves).
    function _pretendSlotsUsed(uint40 used) internal {
        vm.store(address(rln), NEXT_FREE_INDEX_SLOT, bytes32(uint256(used)));
        (uint40 maxIndex,) = rln.merkleTree();
        vm.store(address(rln), MERKLE_TREE_SLOT, bytes32(uint256(maxIndex) | (uint256(used) << 40)));
        (uint40 maxAfter, uint40 leavesAfter) = rln.merkleTree();
        assertEq(maxAfter, maxIndex, "cheat kept maxIndex");
        assertEq(leavesAfter, used, "cheat set numberOfLeaves");
        assertEq(rln.nextFreeIndex(), used, "cheat set nextFreeIndex");
    }
}
