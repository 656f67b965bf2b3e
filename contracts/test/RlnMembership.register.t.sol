// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "../src/interfaces/IMembership.sol";
import {IRlnMembership} from "../src/interfaces/IRlnMembership.sol";
import {Membership} from "../src/Membership.sol";
import {TestToken} from "../src/TestToken.sol";
import {FeeOnTransferToken} from "./utils/FeeOnTransferToken.sol";
import {TreeCheats} from "./utils/RlnMembershipTestBase.sol";

contract RlnMembershipRegisterTest is TreeCheats {
    uint256 internal idA;
    uint256 internal idB;
    uint256 internal idC;

    function setUp() public override {
        super.setUp();
        (idA, idB, idC) = (_id(1001), _id(1002), _id(1003));
    }

    // ------------------------------------------------------------------------------------------ success

    function test_register_storesMembership() public {
        _register(alice, idA, 100);
        Membership.MembershipInfo memory m = _membership(idA);
        assertEq(m.depositAmount, _price(100), "deposit");
        assertEq(m.activeDuration, ACTIVE, "active duration");
        assertEq(m.gracePeriodStartTimestamp, block.timestamp + ACTIVE, "grace start");
        assertEq(m.gracePeriodDuration, GRACE, "grace duration");
        assertEq(m.rateLimit, 100, "rate limit");
        assertEq(m.index, 0, "index");
        assertEq(m.holder, alice, "holder");
        assertEq(m.token, address(token), "token");
        assertTrue(rln.isInMembershipSet(idA), "in set");
        assertEq(rln.membershipExpirationTimestamp(idA), block.timestamp + ACTIVE + GRACE, "expiry");
    }

    function test_register_emitsMembershipRegisteredAndRootStored() public {
        _fund(alice, 100);
        uint256[] memory leaves = new uint256[](1);
        leaves[0] = _leaf(idA, 100);
        uint256 expectedRoot = _computeRoot(leaves, DEPTH);
        vm.expectEmit(address(rln));
        emit IRlnMembership.RootStored(expectedRoot);
        vm.expectEmit(address(rln));
        emit IMembership.MembershipRegistered(idA, 100, 0);
        vm.prank(alice);
        rln.register(idA, 100, noIds);
    }

    function test_register_transfersDeposit() public {
        _fund(alice, 600);
        assertEq(token.balanceOf(alice), 30e18, "funded with 600 * 0.05");
        vm.prank(alice);
        rln.register(idA, 600, noIds);
        assertEq(token.balanceOf(alice), 0, "alice paid");
        assertEq(token.balanceOf(address(rln)), 30e18, "registry holds the deposit");
    }

    function test_register_insertsLeafAndUpdatesRoot() public {
        _register(alice, idA, 20);
        (uint32 rate, uint32 index, uint256 leaf) = rln.getMembershipInfo(idA);
        assertEq(rate, 20, "rate");
        assertEq(index, 0, "index");
        assertEq(leaf, _leaf(idA, 20), "leaf = PoseidonT3(id, rate)");
        assertEq(rln.nextFreeIndex(), 1, "nextFreeIndex");
        (, uint40 leaves) = rln.merkleTree();
        assertEq(leaves, 1, "numberOfLeaves");
        assertEq(rln.root(), _computeRoot(_allLeaves(), DEPTH), "root");
        assertEq(rln.getRootAt(0), rln.root(), "newest stored root");
    }

    function test_register_assignsConsecutiveIndices() public {
        assertEq(_register(alice, idA, 20), 0, "first");
        assertEq(_register(bob, idB, 30), 1, "second");
        assertEq(_register(alice, idC, 40), 2, "third");
        assertEq(rln.currentTotalRateLimit(), 90, "total rate limit");
        assertEq(rln.root(), _computeRoot(_allLeaves(), DEPTH), "root");
    }

    function test_register_reusesLastErasedIndexFirst() public {
        uint256[] memory first = new uint256[](4);
        for (uint256 i = 0; i < 4; ++i) {
            first[i] = _id(2000 + i);
            _register(alice, first[i], 20);
        }
        _warpToExpiry(first[3]);
        vm.prank(bob);
        rln.eraseMemberships(_ids(first[1], first[2]));
        assertEq(rln.indicesOfLazilyErasedMemberships(0), 1, "erased slots in order");
        assertEq(rln.indicesOfLazilyErasedMemberships(1), 2, "erased slots in order");

        assertEq(_register(bob, idA, 20), 2, "last erased slot first");
        assertEq(_register(bob, idB, 20), 1, "then the previous one");
        assertEq(_register(bob, idC, 20), 4, "then a fresh slot");
        assertEq(rln.nextFreeIndex(), 5, "nextFreeIndex only counts fresh slots");
        assertEq(_leafAt(2), _leaf(idA, 20), "reused leaf overwritten");
        assertEq(rln.root(), _computeRoot(_allLeaves(), DEPTH), "root");
    }

    function test_register_erasesGivenExpiredMembershipsFirst() public {
        rln.setMaxTotalRateLimit(1000);
        _register(alice, idA, 600);
        _register(alice, idB, 400);
        _warpToExpiry(idA);
        // Full: bob's registration only fits after erasing alice's expired idA, which bob may do.
        _registerErasing(bob, idC, 600, _ids(idA));
        assertFalse(rln.isInMembershipSet(idA), "idA erased");
        assertEq(_membership(idC).index, 0, "idA's slot reused");
        assertEq(rln.currentTotalRateLimit(), 1000, "total rate limit");
        assertEq(_pending(idA).amount, _price(600), "alice's deposit locked for her");
        assertEq(_pending(idA).holder, alice, "alice keeps her deposit");
    }

    function test_register_erasesOwnGracePeriodMembershipFirst() public {
        _register(alice, idA, 100);
        _warpToGracePeriod(idA);
        _registerErasing(alice, idB, 100, _ids(idA));
        assertFalse(rln.isInMembershipSet(idA), "idA erased");
        assertEq(_membership(idB).index, 0, "slot reused");
    }

    function test_register_usesLastSlot() public {
        _pretendSlotsUsed(rln.MAX_MEMBERSHIP_SET_SIZE() - 1);
        uint32 index = _register(alice, idA, 20);
        assertEq(index, 2 ** 20 - 1, "last slot");
        (, uint40 leaves) = rln.merkleTree();
        assertEq(leaves, 2 ** 20, "tree full");
        assertEq(_leafAt(index), _leaf(idA, 20), "leaf written");
        uint256[20] memory proof = rln.getMerkleProof(index);
        assertEq(
            _rootFromProof(_leaf(idA, 20), index, proof), rln.root(), "last leaf proves against the root"
        );
    }

    function test_register_reusesErasedSlotWhenEverySlotWasUsed() public {
        _register(alice, idA, 20);
        _pretendSlotsUsed(rln.MAX_MEMBERSHIP_SET_SIZE());
        _warpToExpiry(idA);
        _registerErasing(bob, idB, 20, _ids(idA));
        assertEq(_membership(idB).index, 0, "reused slot 0 of a full tree");
    }

    function test_register_sameIdCommitmentAfterDepositReleased() public {
        _register(alice, idA, 20);
        _warpToExpiry(idA);
        _eraseAs(bob, idA, true);
        _rollBlocks(rln.withdrawalDelay());
        uint32 index = _register(alice, idA, 30);
        assertEq(index, 0, "slot reused");
        assertEq(_pending(idA).releaseBlock, 0, "released record dropped");
        assertEq(rln.depositsToWithdraw(alice, address(token)), _price(20), "first deposit released to alice");
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), _price(20), "and paid");
    }

    function test_RevertIf_register_sameIdentityWhileOldLeafInTree() public {
        _register(alice, idA, 600); // slot 0
        _register(bob, idB, 20); // slot 1
        _warpToExpiry(idB);
        _eraseAs(carol, idA, false);
        _eraseAs(carol, idB, false); // reuse list: [0, 1]
        _rollBlocks(10 * uint256(rln.withdrawalDelay()));
        assertEq(_leafAt(0), _leaf(idA, 600), "old leaf still in the tree (lazy erasure)");
        _fund(alice, 20);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.DepositPendingRelease.selector, idA, type(uint64).max)
        );
        vm.prank(alice);
        rln.register(idA, 20, noIds);
    }

    function test_register_chargesCurrentPrice() public {
        TestToken other = new TestToken();
        calculator.setTokenAndPrice(address(other), 1 ether);
        _register(alice, idA, 50);
        assertEq(_membership(idA).token, address(other), "token of the calculator");
        assertEq(_membership(idA).depositAmount, 50 ether, "50 * 1");
        assertEq(other.balanceOf(address(rln)), 50 ether, "deposit held");
    }

    function test_register_freeMembershipWithZeroPrice() public {
        calculator.setTokenAndPrice(address(token), 0);
        vm.prank(alice);
        rln.register(idA, 20, noIds);
        assertEq(_membership(idA).depositAmount, 0, "no deposit");
        assertTrue(rln.isInMembershipSet(idA), "registered");
    }

    // ------------------------------------------------------------------------------------------ reverts

    function test_RevertIf_register_idCommitmentIsZero() public {
        _fund(alice, 20);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidIdCommitment.selector, 0));
        vm.prank(alice);
        rln.register(0, 20, noIds);
    }

    function test_RevertIf_register_idCommitmentIsQ() public {
        _fund(alice, 20);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidIdCommitment.selector, Q));
        vm.prank(alice);
        rln.register(Q, 20, noIds);
    }

    function test_RevertIf_register_duplicateIdCommitment() public {
        _register(alice, idA, 20);
        _fund(bob, 20);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.DuplicateIdCommitment.selector, idA));
        vm.prank(bob);
        rln.register(idA, 20, noIds);
    }

    function test_RevertIf_register_rateLimitBelowMinimum() public {
        _fund(alice, 19);
        vm.expectRevert(IMembership.InvalidMembershipRateLimit.selector);
        vm.prank(alice);
        rln.register(idA, 19, noIds);
    }

    function test_RevertIf_register_rateLimitAboveMaximum() public {
        _fund(alice, 601);
        vm.expectRevert(IMembership.InvalidMembershipRateLimit.selector);
        vm.prank(alice);
        rln.register(idA, 601, noIds);
    }

    function test_RevertIf_register_exceedsMaxTotalRateLimit() public {
        rln.setMaxTotalRateLimit(1000);
        _register(alice, idA, 600);
        _fund(bob, 401);
        vm.expectRevert(IMembership.CannotExceedMaxTotalRateLimit.selector);
        vm.prank(bob);
        rln.register(idB, 401, noIds);
        _register(bob, idB, 400); // exactly at the limit is fine
        assertEq(rln.currentTotalRateLimit(), 1000, "at the limit");
    }

    function test_RevertIf_register_depositNotApproved() public {
        token.mint(alice, _price(20));
        vm.expectRevert(bytes("ERC20: insufficient allowance"));
        vm.prank(alice);
        rln.register(idA, 20, noIds);
    }

    function test_RevertIf_register_depositNotOwned() public {
        vm.prank(alice);
        token.approve(address(rln), type(uint256).max);
        vm.expectRevert(bytes("ERC20: transfer amount exceeds balance"));
        vm.prank(alice);
        rln.register(idA, 20, noIds);
    }

    function test_RevertIf_register_erasesActiveMembership() public {
        _register(alice, idA, 20);
        _fund(bob, 20);
        vm.expectRevert(abi.encodeWithSelector(IMembership.CannotEraseActiveMembership.selector, idA));
        vm.prank(bob);
        rln.register(idB, 20, _ids(idA));
    }

    function test_RevertIf_register_erasesOthersGracePeriodMembership() public {
        _register(alice, idA, 20);
        _warpToGracePeriod(idA);
        _fund(bob, 20);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.NonHolderCannotEraseGracePeriodMembership.selector, idA)
        );
        vm.prank(bob);
        rln.register(idB, 20, _ids(idA));
    }

    function test_RevertIf_register_erasesUnknownMembership() public {
        _fund(bob, 20);
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipDoesNotExist.selector, idC));
        vm.prank(bob);
        rln.register(idB, 20, _ids(idC));
    }

    function test_RevertIf_register_membershipSetFull() public {
        _pretendSlotsUsed(rln.MAX_MEMBERSHIP_SET_SIZE());
        _fund(alice, 20);
        vm.expectRevert(IMembership.MembershipSetFull.selector);
        vm.prank(alice);
        rln.register(idA, 20, noIds);
    }

    function test_RevertIf_register_feeOnTransferToken() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        calculator.setTokenAndPrice(address(fee), 1 ether);
        fee.mint(alice, 20 ether);
        vm.prank(alice);
        fee.approve(address(rln), 20 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.DepositNotReceived.selector, address(fee), 20 ether, 19.8 ether
            )
        );
        vm.prank(alice);
        rln.register(idA, 20, noIds);
    }

    function test_registerWithMaxDeposit_registersAtOrBelowMaximum() public {
        _fund(alice, 20);
        vm.prank(alice);
        rln.registerWithMaxDeposit(idA, 20, noIds, address(token), _price(20));
        assertTrue(rln.isInMembershipSet(idA), "registered");
        assertEq(token.balanceOf(address(rln)), _price(20), "deposit");
    }

    function test_RevertIf_registerWithMaxDeposit_priceRaised() public {
        _fund(alice, 20);
        calculator.setTokenAndPrice(address(token), 2 * PRICE_PER_MESSAGE); // the owner raises the price
        vm.prank(alice);
        token.approve(address(rln), type(uint256).max);
        token.mint(alice, _price(20));
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.DepositAboveMaximum.selector,
                address(token),
                2 * _price(20),
                address(token),
                _price(20)
            )
        );
        vm.prank(alice);
        rln.registerWithMaxDeposit(idA, 20, noIds, address(token), _price(20));
    }

    function test_RevertIf_registerWithMaxDeposit_tokenChanged() public {
        TestToken other = new TestToken();
        calculator.setTokenAndPrice(address(other), 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.DepositAboveMaximum.selector, address(other), 20, address(token), 1 ether
            )
        );
        vm.prank(alice);
        rln.registerWithMaxDeposit(idA, 20, noIds, address(token), 1 ether);
    }

    function test_RevertIf_register_idCommitmentDepositStillLocked() public {
        _register(alice, idA, 20);
        _warpToExpiry(idA);
        _eraseAs(alice, idA, true);
        uint256 releaseBlock = block.number + rln.withdrawalDelay();
        _rollBlocks(rln.withdrawalDelay() - 1);
        _fund(alice, 20);
        vm.expectRevert(abi.encodeWithSelector(IMembership.DepositPendingRelease.selector, idA, releaseBlock));
        vm.prank(alice);
        rln.register(idA, 20, noIds);
    }

    // ------------------------------------------------------------------------------------------ fuzz

    function testFuzz_register(uint256 idCommitment, uint32 rateLimit) public {
        idCommitment = bound(idCommitment, 1, Q - 1);
        rateLimit = uint32(bound(rateLimit, MIN_RATE, MAX_RATE));
        uint32 index = _register(alice, idCommitment, rateLimit);
        (uint32 rate,, uint256 leaf) = rln.getMembershipInfo(idCommitment);
        assertEq(rate, rateLimit, "rate");
        assertEq(index, 0, "index");
        assertEq(leaf, _leaf(idCommitment, rateLimit), "leaf");
        assertEq(token.balanceOf(address(rln)), _price(rateLimit), "deposit");
        assertEq(rln.currentTotalRateLimit(), rateLimit, "total");
        assertEq(rln.root(), _computeRoot(_allLeaves(), DEPTH), "root");
    }

    function testFuzz_register_invalidIdCommitmentReverts(uint256 idCommitment) public {
        vm.assume(idCommitment == 0 || idCommitment >= Q);
        _fund(alice, 20);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidIdCommitment.selector, idCommitment));
        vm.prank(alice);
        rln.register(idCommitment, 20, noIds);
    }

    function testFuzz_register_rateLimitBounds(uint32 rateLimit) public {
        _fund(alice, rateLimit);
        bool valid = rateLimit >= MIN_RATE && rateLimit <= MAX_RATE;
        assertEq(rln.isValidMembershipRateLimit(rateLimit), valid, "isValidMembershipRateLimit");
        if (!valid) vm.expectRevert(IMembership.InvalidMembershipRateLimit.selector);
        vm.prank(alice);
        rln.register(idA, rateLimit, noIds);
        assertEq(rln.isInMembershipSet(idA), valid, "registered iff valid");
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzz_register_maxTotalRateLimit(uint32 maxTotal, uint256 seed) public {
        maxTotal = uint32(bound(maxTotal, MAX_RATE, 3000));
        rln.setMaxTotalRateLimit(maxTotal);
        uint256 total;
        for (uint256 i = 0; i < 12; ++i) {
            uint32 rate = uint32(bound(uint256(keccak256(abi.encode(seed, i))), MIN_RATE, MAX_RATE));
            uint256 id = _id(5000 + i);
            _fund(alice, rate);
            if (total + rate > maxTotal) vm.expectRevert(IMembership.CannotExceedMaxTotalRateLimit.selector);
            else total += rate;
            vm.prank(alice);
            rln.register(id, rate, noIds);
        }
        assertEq(rln.currentTotalRateLimit(), total, "total = accepted rates");
        assertLe(total, maxTotal, "never above the maximum");
        assertEq(
            token.balanceOf(address(rln)), total * PRICE_PER_MESSAGE, "deposits = accepted rates * price"
        );
    }

    /// forge-config: default.fuzz.runs = 32
    function testFuzz_register_manyThenRootMatchesModel(uint8 count, uint256 seed) public {
        count = uint8(bound(count, 1, 24));
        for (uint256 i = 0; i < count; ++i) {
            uint256 id = bound(uint256(keccak256(abi.encode(seed, i))), 1, Q - 1);
            _register(alice, id, uint32(bound(uint256(keccak256(abi.encode(id))), MIN_RATE, MAX_RATE)));
        }
        assertEq(rln.nextFreeIndex(), count, "count");
        assertEq(rln.root(), _computeRoot(_allLeaves(), DEPTH), "root");
    }
}
