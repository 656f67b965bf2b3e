// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";
import {FeeOnTransferToken} from "./utils/FeeOnTransferToken.sol";

/// @notice The attacks of issue 15, each performed against the registry. Every test here failed on the
/// registry before the hardening (commit 460bc22); it uses only the ABI both versions share, so it can be run
/// against either.
contract RlnMembershipAttacksTest is RlnMembershipTestBase {
    uint256 internal constant SECRET = 0x5BA3;
    uint32 internal constant RATE = 100;
    uint256 internal spammer;
    uint256 internal deposit;
    uint32 internal delay;

    function setUp() public override {
        super.setUp();
        spammer = _id(SECRET);
        deposit = _price(RATE);
        delay = rln.withdrawalDelay();
        _register(bob, _id(1), 20); // index 0
        _register(alice, spammer, RATE); // index 1
    }

    function _leafProves(uint32 index, uint256 leaf) internal view returns (bool) {
        return _rootFromProof(leaf, index, rln.getMerkleProof(index)) == rln.root();
    }

    /// Item 1: erase lazily, wait the delay, withdraw everything while the leaf still proves, spam for free.
    function test_attack_withdrawWhileLazilyErasedLeafProves() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        _rollBlocks(uint256(delay) * 3);
        assertTrue(_leafProves(1, _leaf(spammer, RATE)), "the erased leaf still proves");
        vm.prank(alice);
        try rln.withdraw(address(token)) {} catch {}
        assertEq(token.balanceOf(alice), 0, "no deposit back while its leaf can prove");
        _slash(slasher, SECRET, receiver);
        assertEq(rln.depositsToWithdraw(receiver, address(token)), deposit / 2, "a slash still pays");
    }

    /// Item 1, last-in first-out reuse: a later erasure keeps the spammer's slot off the top of the reuse list,
    /// so a newcomer takes the other slot and the spammer's leaf stays while its deposit leaves.
    function test_attack_laterErasureKeepsLeafAliveWhileDepositLeaves() public {
        _warpToExpiry(spammer);
        _eraseAs(carol, spammer, false);
        _eraseAs(carol, _id(1), false); // reuse list: [1, 0]
        _register(carol, _id(2), 20); // takes slot 0
        _rollBlocks(delay);
        assertTrue(_leafProves(1, _leaf(spammer, RATE)), "the spammer's leaf still proves");
        vm.prank(alice);
        try rln.withdraw(address(token)) {} catch {}
        assertEq(token.balanceOf(alice), 0, "no deposit back while its leaf can prove");
    }

    /// Item 1, last block: spam in the last block before the release; the reveal lands at the release block.
    function test_attack_spamInLastBlockBeforeRelease() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        _rollBlocks(delay - 1); // spam now, and commit at once
        assertTrue(_leafProves(1, _leaf(spammer, RATE)), "spam proofs verify");
        _slash(slasher, SECRET, receiver); // the reveal lands at the old release block
        assertEq(rln.depositsToWithdraw(receiver, address(token)), deposit / 2, "the reporter is paid");
        assertEq(rln.depositsToWithdraw(treasury, address(token)), deposit / 2, "the spammer loses the rest");
    }

    /// Item 2: a reward share of 100% would make self-slashing a free instant exit.
    function test_attack_fullRewardShareMakesSelfSlashAFreeExit() public {
        try rln.setSlashRewardBps(10_000) {} catch {}
        _slash(alice, SECRET, alice); // active membership: no erase, no delay
        uint256 back = rln.depositsToWithdraw(alice, address(token));
        assertLe(back, deposit / 2, "a self-slash returns at most half of the deposit");
    }

    /// Item 3: a third party erasing another expired membership of the holder just before the release pushes
    /// the holder's earlier deposit back by a full delay.
    function test_attack_thirdPartyStretchesLock() public {
        uint256 other = _id(0x07);
        _register(alice, other, 300);
        _warpToExpiry(other);
        _eraseAs(carol, spammer, true);
        uint256 due = block.number + delay;
        vm.roll(due - 1);
        _eraseAs(carol, other, true);
        vm.roll(due);
        vm.prank(alice);
        try rln.withdraw(address(token)) {} catch {}
        assertEq(token.balanceOf(alice), deposit, "the first deposit is paid at its own release block");
    }

    /// Item 3: a later withdrawalDelay change reaches a deposit locked before it.
    function test_attack_delayChangeReachesOldDeposit() public {
        uint256 other = _id(0x07);
        _register(alice, other, 300);
        _warpToExpiry(other);
        _eraseAs(carol, spammer, true);
        uint256 due = block.number + delay;
        rln.setWithdrawalDelay(delay * 4);
        _eraseAs(carol, other, true);
        vm.roll(due);
        vm.prank(alice);
        try rln.withdraw(address(token)) {} catch {}
        assertEq(token.balanceOf(alice), deposit, "the old deposit keeps its delay");
    }

    /// Item 4: a fee-on-transfer deposit token makes the registry owe more than it holds.
    function test_attack_feeOnTransferTokenMakesRegistryInsolvent() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        calculator.setTokenAndPrice(address(fee), 1 ether);
        fee.mint(carol, 20 ether);
        vm.prank(carol);
        fee.approve(address(rln), 20 ether);
        uint256 id = _id(0xFEE);
        vm.prank(carol);
        try rln.register(id, 20, noIds) {} catch {}
        (uint256 owed,,,,,,,) = rln.memberships(id);
        assertGe(fee.balanceOf(address(rln)), owed, "the registry holds what it owes");
    }

    /// Item 4: a one-step ownership transfer to a mistyped address loses the registry (and its upgrades).
    function test_attack_oneStepOwnershipTransferToWrongAddress() public {
        rln.transferOwnership(address(0xDEAD));
        assertEq(rln.owner(), address(this), "ownership moves only when the new owner accepts");
    }
}
