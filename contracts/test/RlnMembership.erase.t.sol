// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "../src/interfaces/IMembership.sol";
import {IRlnMembership} from "../src/interfaces/IRlnMembership.sol";
import {Membership} from "../src/Membership.sol";
import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";

/// @notice eraseMemberships (lazy and full): lifecycle rules, slot and rate-limit release, deposit lock,
/// and the lazy-erasure quirk (an erased leaf stays in the tree and can still prove until its slot is reused).
contract RlnMembershipEraseTest is RlnMembershipTestBase {
    uint256 internal idA;
    uint256 internal idB;
    uint256 internal idC;

    function setUp() public override {
        super.setUp();
        (idA, idB, idC) = (_id(1001), _id(1002), _id(1003));
        _register(alice, idA, 100);
        _register(bob, idB, 200);
    }

    function test_eraseMemberships_expiredByAnyone() public {
        _warpToExpiry(idA);
        uint256 rootBefore = rln.root();
        vm.expectEmit(address(rln));
        emit IMembership.DepositLocked(idA, alice, address(token), _price(100), type(uint64).max);
        vm.expectEmit(address(rln));
        emit IMembership.MembershipExpired(idA, 100, 0);
        vm.expectEmit(address(rln));
        emit IMembership.MembershipErased(idA, 100, 0);
        _eraseAs(carol, idA, false);

        assertFalse(rln.isInMembershipSet(idA), "erased");
        (uint32 rate, uint32 index, uint256 leaf) = rln.getMembershipInfo(idA);
        assertEq(rate + index + leaf, 0, "membership info cleared");
        assertEq(_membership(idA).holder, address(0), "record deleted");
        assertEq(rln.currentTotalRateLimit(), 200, "rate limit freed");
        assertEq(rln.indicesOfLazilyErasedMemberships(0), 0, "slot reusable");
        assertEq(rln.root(), rootBefore, "lazy: tree unchanged");
        assertEq(_leafAt(0), _leaf(idA, 100), "lazy: leaf kept");
    }

    function test_eraseMemberships_gracePeriodByHolder() public {
        _warpToGracePeriod(idA);
        vm.expectEmit(address(rln));
        emit IMembership.DepositLocked(
            idA, alice, address(token), _price(100), block.number + rln.withdrawalDelay()
        );
        vm.expectEmit(address(rln));
        emit IMembership.MembershipErased(idA, 100, 0); // no MembershipExpired: it had not expired
        _eraseAs(alice, idA, true);
        assertFalse(rln.isInMembershipSet(idA), "erased");
    }

    function test_eraseMemberships_fullEraseLocksDepositForWithdrawalDelay() public {
        _warpToExpiry(idA);
        _eraseAs(carol, idA, true);
        uint256 releaseBlock = block.number + rln.withdrawalDelay();

        Membership.PendingDeposit memory p = _pending(idA);
        assertEq(p.holder, alice, "holder");
        assertEq(p.token, address(token), "token");
        assertEq(p.amount, _price(100), "amount");
        assertEq(p.releaseBlock, releaseBlock, "release block");
        assertEq(p.index, 0, "index");
        assertEq(p.rateLimit, 100, "rate limit");
        assertEq(p.delay, rln.withdrawalDelay(), "delay recorded");
        assertEq(_locked(alice), _price(100), "locked");
        assertEq(rln.lockedDepositIds(alice, address(token)), _ids(idA), "listed");
        assertEq(rln.depositsToWithdraw(alice, address(token)), 0, "not withdrawable yet");
        assertEq(rln.withdrawableBalance(alice, address(token)), 0, "not withdrawable yet");
        assertEq(rln.depositsToWithdraw(carol, address(token)), 0, "the eraser gets nothing");

        vm.roll(releaseBlock - 1);
        assertEq(rln.withdrawableBalance(alice, address(token)), 0, "not in the last block before");
        vm.roll(releaseBlock);
        assertEq(rln.withdrawableBalance(alice, address(token)), _price(100), "withdrawable once due");
        assertEq(_locked(alice), 0, "no longer locked");
    }

    function test_eraseMemberships_lazyEraseLocksDepositWhileLeafInTree() public {
        _warpToExpiry(idA);
        vm.expectEmit(address(rln));
        emit IMembership.DepositLocked(idA, alice, address(token), _price(100), type(uint64).max);
        _eraseAs(carol, idA, false);
        assertEq(_pending(idA).releaseBlock, rln.LEAF_IN_TREE(), "release waits for the leaf");
        _rollBlocks(10 * uint256(rln.withdrawalDelay()));
        assertEq(_locked(alice), _price(100), "still locked while the leaf proves");
        assertEq(rln.withdrawableBalance(alice, address(token)), 0, "nothing withdrawable");
    }

    function test_clearErasedLeaves_schedulesRelease() public {
        _warpToExpiry(idB);
        vm.prank(carol);
        rln.eraseMemberships(_ids(idA, idB));
        _rollBlocks(5);
        uint256 releaseBlock = block.number + rln.withdrawalDelay();
        vm.expectEmit(address(rln));
        emit IMembership.DepositReleaseScheduled(idA, 0, releaseBlock);
        vm.prank(carol); // anyone
        rln.clearErasedLeaves(_ids(idA, idB));
        assertEq(_leafAt(0), 0, "leaf 0 cleared");
        assertEq(_leafAt(1), 0, "leaf 1 cleared");
        assertEq(rln.getRootAt(0), rln.root(), "root stored");
        assertEq(rln.root(), _computeRoot(_allLeaves(), DEPTH), "root of the leaves");
        assertEq(_pending(idA).releaseBlock, releaseBlock, "A scheduled");
        assertEq(_pending(idB).releaseBlock, releaseBlock, "B scheduled");
        vm.roll(releaseBlock);
        vm.prank(alice);
        rln.withdraw(address(token));
        vm.prank(bob);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), _price(100), "alice paid");
        assertEq(token.balanceOf(bob), _price(200), "bob paid");
    }

    function test_clearErasedLeaves_skipsEntriesWithNoLeafLeft() public {
        _warpToExpiry(idA);
        _eraseAs(carol, idA, true);
        uint256[5] memory rootsBefore = rln.getRecentRoots();
        assertEq(rln.clearErasedLeaves(_ids(idA)), 0, "fully erased: nothing to clear");
        assertEq(rln.clearErasedLeaves(_ids(idB)), 0, "registered, not erased: nothing to clear");
        assertEq(rln.getRecentRoots()[0], rootsBefore[0], "no root stored when nothing was cleared");
        assertEq(_leafAt(1), _leaf(idB, 200), "a registered leaf is never cleared");
    }

    function test_eraseMemberships_fullEraseClearsLeavesAndStoresOneRoot() public {
        uint256 registrationRoot = rln.root();
        _warpToExpiry(idB);
        vm.prank(carol);
        rln.eraseMemberships(_ids(idA, idB), true);
        assertEq(_leafAt(0), 0, "leaf 0 cleared");
        assertEq(_leafAt(1), 0, "leaf 1 cleared");
        assertEq(rln.root(), _computeRoot(new uint256[](0), DEPTH), "back to the empty root");
        assertEq(rln.getRootAt(0), rln.root(), "new root stored");
        assertEq(rln.getRootAt(1), registrationRoot, "one root for the whole batch");
        assertEq(rln.nextFreeIndex(), 2, "slots stay used");
        assertEq(rln.indicesOfLazilyErasedMemberships(1), 1, "both slots reusable");
    }

    function test_eraseMemberships_lazilyErasedLeafStillProvesUntilReused() public {
        _warpToExpiry(idA);
        _eraseAs(carol, idA, false);
        // Quirk: the erased membership can still produce RLN proofs against the current root.
        uint256[20] memory proof = rln.getMerkleProof(0);
        assertEq(_rootFromProof(_leaf(idA, 100), 0, proof), rln.root(), "erased leaf still proves");

        _register(carol, idC, 20); // reuses slot 0
        proof = rln.getMerkleProof(0);
        assertNotEq(_rootFromProof(_leaf(idA, 100), 0, proof), rln.root(), "gone once the slot is reused");
        assertEq(_rootFromProof(_leaf(idC, 20), 0, proof), rln.root(), "new leaf proves");
    }

    function test_eraseMemberships_fullyErasedLeafNoLongerProves() public {
        _warpToExpiry(idA);
        _eraseAs(carol, idA, true);
        uint256[20] memory proof = rln.getMerkleProof(0);
        assertNotEq(_rootFromProof(_leaf(idA, 100), 0, proof), rln.root(), "cleared leaf does not prove");
        assertEq(_rootFromProof(0, 0, proof), rln.root(), "slot holds 0");
    }

    function test_eraseMemberships_emptyListChangesNothing() public {
        uint256 root = rln.root();
        rln.eraseMemberships(noIds, true);
        assertEq(rln.getRootAt(0), root, "no root stored");
        assertEq(rln.currentTotalRateLimit(), 300, "nothing erased");
    }

    function test_RevertIf_eraseMemberships_active() public {
        vm.warp(_membership(idA).gracePeriodStartTimestamp - 1);
        vm.expectRevert(abi.encodeWithSelector(IMembership.CannotEraseActiveMembership.selector, idA));
        _eraseAs(alice, idA, false);
    }

    function test_RevertIf_eraseMemberships_gracePeriodByNonHolder() public {
        _warpToGracePeriod(idA);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.NonHolderCannotEraseGracePeriodMembership.selector, idA)
        );
        _eraseAs(bob, idA, true);
    }

    function test_RevertIf_eraseMemberships_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipDoesNotExist.selector, idC));
        _eraseAs(alice, idC, false);
    }

    function test_RevertIf_eraseMemberships_sameMembershipTwice() public {
        _warpToExpiry(idB);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipDoesNotExist.selector, idA));
        vm.prank(carol);
        rln.eraseMemberships(_ids(idA, idA));
    }

    function test_RevertIf_eraseMemberships_batchWithOneActive() public {
        vm.warp(block.timestamp + 100 days);
        _register(carol, idC, 20);
        _warpToExpiry(idA);
        // idC was registered 100 days later and is still active: the whole batch reverts.
        vm.expectRevert(abi.encodeWithSelector(IMembership.CannotEraseActiveMembership.selector, idC));
        vm.prank(carol);
        rln.eraseMemberships(_ids(idA, idC), true);
        assertTrue(rln.isInMembershipSet(idA), "nothing erased");
    }

    function testFuzz_eraseMemberships(uint256 elapsed, bool asHolder, bool full) public {
        elapsed = bound(elapsed, 0, uint256(ACTIVE) + GRACE + 30 days);
        uint256 startRoot = rln.root();
        vm.warp(block.timestamp + elapsed);
        bool active = block.timestamp < _membership(idA).gracePeriodStartTimestamp;
        bool expired = rln.isExpired(idA);
        bool allowed = expired || (!active && asHolder);
        if (active) {
            vm.expectRevert(abi.encodeWithSelector(IMembership.CannotEraseActiveMembership.selector, idA));
        } else if (!allowed) {
            vm.expectRevert(
                abi.encodeWithSelector(IMembership.NonHolderCannotEraseGracePeriodMembership.selector, idA)
            );
        }
        _eraseAs(asHolder ? alice : carol, idA, full);

        assertEq(rln.isInMembershipSet(idA), !allowed, "erased iff allowed");
        assertEq(rln.currentTotalRateLimit(), allowed ? 200 : 300, "rate limit");
        assertEq(_leafAt(0), allowed && full ? 0 : _leaf(idA, 100), "leaf cleared only by a full erase");
        assertEq(rln.root() == startRoot, !(allowed && full), "root changes only on a full erase");
        assertEq(rln.root(), _computeRoot(_allLeaves(), DEPTH), "root matches the leaves");
        assertEq(_pending(idA).amount, allowed ? _price(100) : 0, "deposit locked iff erased");
    }
}
