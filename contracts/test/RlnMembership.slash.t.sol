// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "../src/interfaces/IMembership.sol";
import {IRlnMembership} from "../src/interfaces/IRlnMembership.sol";
import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";

/// @notice Slashing (commit-reveal): who can slash what, when, and who gets paid; front-running; escapes
/// a spammer might try (erase first, withdraw first, self-slash).
contract RlnMembershipSlashTest is RlnMembershipTestBase {
    uint256 internal constant SECRET = 0xC0FFEE;
    uint32 internal constant RATE = 100;
    uint256 internal spammer;
    uint256 internal deposit;
    uint32 internal window;
    uint32 internal delay;

    function setUp() public override {
        super.setUp();
        spammer = _id(SECRET);
        deposit = _price(RATE);
        window = rln.slashRevealWindow();
        delay = rln.withdrawalDelay();
        _register(bob, _id(1), 20); // a bystander at index 0
        _register(alice, spammer, RATE); // the spammer at index 1
    }

    function _assertPaid(uint256 reward, uint256 toTreasury) internal view {
        assertEq(rln.depositsToWithdraw(receiver, address(token)), reward, "reward credited");
        assertEq(rln.depositsToWithdraw(treasury, address(token)), toTreasury, "treasury credited");
    }

    function _assertGone() internal view {
        assertFalse(rln.isInMembershipSet(spammer), "not a member");
        assertEq(_leafAt(1), 0, "leaf cleared");
        assertEq(rln.root(), _computeRoot(_allLeaves(), DEPTH), "root matches the leaves");
        assertEq(rln.getRootAt(0), rln.root(), "new root stored");
    }

    // ------------------------------------------------------------------------------------------ commit

    function test_commitSlash_recordsBlockAndEmits() public {
        bytes32 c = _commitment(SECRET, receiver, slasher);
        vm.expectEmit(address(rln));
        emit IRlnMembership.SlashCommitted(slasher, c, block.number + 1, block.number + window);
        vm.prank(slasher);
        rln.commitSlash(c);
        assertEq(rln.slashCommitments(slasher, c), block.number, "commit block");
        assertEq(rln.slashCommitments(carol, c), 0, "per committer");
    }

    function test_RevertIf_commitSlash_zeroCommitment() public {
        vm.expectRevert(IRlnMembership.InvalidSlashCommitment.selector);
        vm.prank(slasher);
        rln.commitSlash(bytes32(0));
    }

    function test_commitSlash_againRestartsWindow() public {
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(window);
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(window);
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver); // within the window of the second commit
        _assertGone();
    }

    // ------------------------------------------------------------------------------------------ reveal: what

    function test_revealSlash_slashesActiveMembership() public {
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        vm.expectEmit(address(rln));
        emit IMembership.MembershipErased(spammer, RATE, 1);
        vm.expectEmit(address(rln));
        emit IRlnMembership.MembershipSlashed(spammer, 1, receiver, deposit / 2, deposit / 2);
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);

        _assertGone();
        _assertPaid(deposit / 2, deposit / 2);
        assertEq(rln.currentTotalRateLimit(), 20, "rate limit freed");
        assertEq(rln.indicesOfLazilyErasedMemberships(0), 1, "slot reusable");
        assertEq(_pending(spammer).releaseBlock, 0, "nothing left for the spammer");
        assertEq(rln.slashCommitments(slasher, _commitment(SECRET, receiver, slasher)), 0, "commitment used");
        assertEq(token.balanceOf(address(rln)), _price(20) + deposit, "tokens stay until withdrawn");
    }

    function test_revealSlash_rewardsWithdrawableAtOnce() public {
        _slash(slasher, SECRET, receiver);
        vm.prank(receiver);
        rln.withdraw(address(token));
        vm.prank(treasury);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(receiver), deposit / 2, "reward paid");
        assertEq(token.balanceOf(treasury), deposit / 2, "treasury paid");
        assertEq(token.balanceOf(address(rln)), _price(20), "only the bystander's deposit left");
    }

    function test_revealSlash_slashesGracePeriodMembership() public {
        _warpToGracePeriod(spammer);
        _slash(slasher, SECRET, receiver);
        _assertGone();
        _assertPaid(deposit / 2, deposit / 2);
    }

    function test_revealSlash_slashesExpiredMembership() public {
        _warpToExpiry(spammer);
        _slash(slasher, SECRET, receiver);
        _assertGone();
        _assertPaid(deposit / 2, deposit / 2);
    }

    function test_revealSlash_seizesDepositAfterSpammerErasedLazily() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        assertEq(_leafAt(1), _leaf(spammer, RATE), "lazily erased leaf still in the tree");
        _slash(slasher, SECRET, receiver);
        _assertGone();
        _assertPaid(deposit / 2, deposit / 2);
        assertEq(_locked(alice), 0, "lock emptied");
        _rollBlocks(delay);
        vm.expectRevert(abi.encodeWithSelector(IMembership.NothingToWithdraw.selector, alice, address(token)));
        vm.prank(alice);
        rln.withdraw(address(token));
    }

    function test_revealSlash_seizesDepositAfterSpammerErasedFully() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, true);
        uint256 rootAfterErase = rln.getRootAt(0);
        _slash(slasher, SECRET, receiver);
        assertEq(rln.getRootAt(0), rootAfterErase, "leaf was 0 already: no new root");
        _assertPaid(deposit / 2, deposit / 2);
    }

    function test_revealSlash_spammerCannotWithdrawFirst() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        vm.expectRevert(abi.encodeWithSelector(IMembership.NothingToWithdraw.selector, alice, address(token)));
        vm.prank(alice);
        rln.withdraw(address(token));
        _rollBlocks(delay - 1 - 1); // commit at releaseBlock - 2, reveal at releaseBlock - 1
        _slash(slasher, SECRET, receiver);
        _assertPaid(deposit / 2, deposit / 2);
    }

    function test_revealSlash_lazilyErasedLeafKeepsDepositSlashable() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        _rollBlocks(10 * uint256(delay));
        vm.expectRevert(abi.encodeWithSelector(IMembership.NothingToWithdraw.selector, alice, address(token)));
        vm.prank(alice);
        rln.withdraw(address(token));
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        vm.expectEmit(address(rln));
        emit IRlnMembership.MembershipSlashed(spammer, 1, receiver, deposit / 2, deposit / 2);
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        _assertGone();
        _assertPaid(deposit / 2, deposit / 2);
    }

    function test_RevertIf_revealSlash_afterReleaseAndLeafCleared() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, true);
        _rollBlocks(delay);
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.NothingToSlash.selector, spammer));
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
    }

    function test_RevertIf_revealSlash_afterSlotReusedAndDelay() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        _rollBlocks(delay);
        uint256 newcomer = _id(77);
        assertEq(_register(carol, newcomer, 30), 1, "slot reused");
        assertEq(_pending(spammer).releaseBlock, block.number + delay, "released a delay after the reuse");
        _rollBlocks(delay - 1);
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.NothingToSlash.selector, spammer));
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        assertEq(_leafAt(1), _leaf(newcomer, 30), "newcomer untouched");
    }

    function test_revealSlash_slotReusedBeforeReleaseKeepsNewLeaf() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        uint256 newcomer = _id(77);
        assertEq(_register(carol, newcomer, 30), 1, "slot reused at once");
        _slash(slasher, SECRET, receiver);
        assertEq(_leafAt(1), _leaf(newcomer, 30), "newcomer's leaf untouched");
        assertTrue(rln.isInMembershipSet(newcomer), "newcomer still a member");
        _assertPaid(deposit / 2, deposit / 2);
    }

    function test_revealSlash_leavesHolderOtherLockedDeposits() public {
        uint256 other = _id(0xBEEF);
        _register(alice, other, 300);
        _warpToGracePeriod(spammer);
        vm.prank(alice);
        rln.eraseMemberships(_ids(spammer, other), true);
        _slash(slasher, SECRET, receiver);
        assertEq(_locked(alice), _price(300), "only the slashed deposit taken");
        _rollBlocks(delay);
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), _price(300), "other deposit paid");
    }

    function test_revealSlash_selfSlashRecoversOnlyRewardShare() public {
        _slash(alice, SECRET, alice);
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), deposit / 2, "spammer keeps only the reward share");
        assertEq(rln.depositsToWithdraw(treasury, address(token)), deposit / 2, "treasury gets the rest");
    }

    /// The limit of commit-reveal with a reward (documented, not fixable cheaply): the spammer keeps its own
    /// commitment open and reveals first; the reporter's reveal finds nothing. The spammer still loses the
    /// treasury's share: the penalty for spam is exactly 1 - slashRewardBps.
    function test_revealSlash_spammerOutracesReporterButLosesTreasuryShare() public {
        _commitSlash(alice, SECRET, alice); // held open before spamming
        _rollBlocks(5);
        _commitSlash(slasher, SECRET, receiver); // an honest reporter after the spam
        _rollBlocks(1);
        vm.prank(alice);
        rln.revealSlash(SECRET, alice); // same block as the reporter's reveal, ordered first
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.NothingToSlash.selector, spammer));
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        assertEq(
            rln.depositsToWithdraw(alice, address(token)), deposit / 2, "spammer recovers the reward share"
        );
        assertEq(rln.depositsToWithdraw(treasury, address(token)), deposit / 2, "and loses the rest");
    }

    function test_RevertIf_setSlashRewardBps_aboveHalf() public {
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidSlashRewardBps.selector, 5_001));
        rln.setSlashRewardBps(5_001);
    }

    function test_revealSlash_zeroRewardShareAllToTreasury() public {
        rln.setSlashRewardBps(0);
        _slash(slasher, SECRET, receiver);
        _assertPaid(0, deposit);
    }

    function test_revealSlash_maxRewardShareHalf() public {
        rln.setSlashRewardBps(rln.MAX_SLASH_REWARD_BPS());
        _slash(slasher, SECRET, receiver);
        _assertPaid(deposit / 2, deposit / 2);
    }

    function test_revealSlash_roundsRewardDown() public {
        calculator.setTokenAndPrice(address(token), 1); // 1 wei per message
        uint256 odd = _id(0x0DD);
        _register(carol, odd, 21);
        rln.setSlashRewardBps(3333);
        _slash(slasher, 0x0DD, receiver);
        _assertPaid(6, 15); // 21 * 3333 / 10000 = 6.99 -> 6
    }

    function test_revealSlash_freedSlotIsReused() public {
        _slash(slasher, SECRET, receiver);
        assertEq(_register(carol, _id(99), 20), 1, "slashed slot reused");
    }

    function test_revealSlash_zerokitKeygenVector() public {
        uint256 secret = 0x20df38f3f00496f19fe7c6535492543b21798ed7cb91aebe4af8012db884eda3;
        uint256 id = 0x1223a78a5d66043a7f9863e14507dc80720a5602b2a894923e5b5147d5a9c325;
        _register(carol, id, 20);
        _slash(slasher, secret, receiver);
        assertFalse(rln.isInMembershipSet(id), "slashed by its secret");
    }

    function test_revealSlash_windowChangeAppliesToOpenCommitments() public {
        _commitSlash(slasher, SECRET, receiver);
        rln.setSlashRevealWindow(2);
        _rollBlocks(3);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashRevealTooLate.selector,
                _commitment(SECRET, receiver, slasher),
                block.number - 1
            )
        );
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
    }

    // ------------------------------------------------------------------------------------------ reveal: when, who

    function test_RevertIf_revealSlash_notCommitted() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashNotCommitted.selector, slasher, _commitment(SECRET, receiver, slasher)
            )
        );
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
    }

    function test_RevertIf_revealSlash_inCommitBlock() public {
        _commitSlash(slasher, SECRET, receiver);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashRevealTooEarly.selector,
                _commitment(SECRET, receiver, slasher),
                block.number + 1
            )
        );
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
    }

    function test_revealSlash_atLastBlockOfWindow() public {
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(window);
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        _assertGone();
    }

    function test_RevertIf_revealSlash_afterWindow() public {
        uint256 committedAt = block.number;
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(uint256(window) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashRevealTooLate.selector,
                _commitment(SECRET, receiver, slasher),
                committedAt + window
            )
        );
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
    }

    function test_RevertIf_revealSlash_copiedFromMempool() public {
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        address copycat = address(0xBAD);
        // The same calldata from another sender matches no commitment...
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashNotCommitted.selector, copycat, _commitment(SECRET, receiver, copycat)
            )
        );
        vm.prank(copycat);
        rln.revealSlash(SECRET, receiver);
        // ...nor with the copycat's own receiver.
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashNotCommitted.selector, copycat, _commitment(SECRET, copycat, copycat)
            )
        );
        vm.prank(copycat);
        rln.revealSlash(SECRET, copycat);
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        _assertPaid(deposit / 2, deposit / 2);
    }

    function test_revealSlash_frontRunnerCommittingLateGetsNothing() public {
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        // The copycat sees the reveal in the mempool and commits in the same block...
        address copycat = address(0xBAD);
        _commitSlash(copycat, SECRET, copycat);
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        // ...but can reveal one block later at the earliest, when nothing is left.
        _rollBlocks(1);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.NothingToSlash.selector, spammer));
        vm.prank(copycat);
        rln.revealSlash(SECRET, copycat);
        assertEq(rln.depositsToWithdraw(copycat, address(token)), 0, "copycat earns nothing");
    }

    function test_RevertIf_revealSlash_otherRewardReceiverThanCommitted() public {
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashNotCommitted.selector, slasher, _commitment(SECRET, carol, slasher)
            )
        );
        vm.prank(slasher);
        rln.revealSlash(SECRET, carol);
    }

    function test_RevertIf_revealSlash_secretNotInField() public {
        _commitSlash(slasher, SECRET + Q, receiver);
        _rollBlocks(1);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidIdentitySecret.selector, SECRET + Q));
        vm.prank(slasher);
        rln.revealSlash(SECRET + Q, receiver);
    }

    function test_RevertIf_revealSlash_zeroRewardReceiver() public {
        _commitSlash(slasher, SECRET, address(0));
        _rollBlocks(1);
        vm.expectRevert(IRlnMembership.InvalidRewardReceiver.selector);
        vm.prank(slasher);
        rln.revealSlash(SECRET, address(0));
    }

    function test_RevertIf_revealSlash_unknownIdentity() public {
        _commitSlash(slasher, 0x1234, receiver);
        _rollBlocks(1);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.NothingToSlash.selector, _id(0x1234)));
        vm.prank(slasher);
        rln.revealSlash(0x1234, receiver);
    }

    function test_RevertIf_revealSlash_twice() public {
        _slash(slasher, SECRET, receiver);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashNotCommitted.selector, slasher, _commitment(SECRET, receiver, slasher)
            )
        );
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
    }

    // ------------------------------------------------------------------------------------------ fuzz

    function testFuzz_revealSlash_timing(uint256 blocksAfterCommit) public {
        blocksAfterCommit = bound(blocksAfterCommit, 0, 2 * uint256(window));
        uint256 committedAt = block.number;
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(blocksAfterCommit);
        bytes32 c = _commitment(SECRET, receiver, slasher);
        if (blocksAfterCommit == 0) {
            vm.expectRevert(
                abi.encodeWithSelector(IRlnMembership.SlashRevealTooEarly.selector, c, committedAt + 1)
            );
        } else if (blocksAfterCommit > window) {
            vm.expectRevert(
                abi.encodeWithSelector(IRlnMembership.SlashRevealTooLate.selector, c, committedAt + window)
            );
        }
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        bool slashed = blocksAfterCommit >= 1 && blocksAfterCommit <= window;
        assertEq(rln.isInMembershipSet(spammer), !slashed, "slashed iff in the window");
    }

    function testFuzz_revealSlash_split(uint16 bps, uint32 rate, uint64 price) public {
        bps = uint16(bound(bps, 0, 5_000));
        rate = uint32(bound(rate, MIN_RATE, MAX_RATE));
        rln.setSlashRewardBps(bps);
        calculator.setTokenAndPrice(address(token), price);
        uint256 id = _id(0xF00D);
        _register(carol, id, rate);
        uint256 amount = uint256(rate) * price;
        _slash(slasher, 0xF00D, receiver);
        uint256 reward = rln.depositsToWithdraw(receiver, address(token));
        uint256 toTreasury = rln.depositsToWithdraw(treasury, address(token));
        assertEq(reward, amount * bps / 10_000, "reward share");
        assertEq(reward + toTreasury, amount, "nothing lost");
    }

    function testFuzz_revealSlash_spammerState(uint256 elapsed, uint8 eraseMode, uint256 blocksAfterErase)
        public
    {
        elapsed = bound(elapsed, ACTIVE, uint256(ACTIVE) + GRACE + 30 days); // grace period or expired
        eraseMode = uint8(bound(eraseMode, 0, 2)); // 0: not erased, 1: lazily, 2: fully
        blocksAfterErase = bound(blocksAfterErase, 0, 2 * uint256(delay));
        vm.warp(block.timestamp + elapsed);
        if (eraseMode != 0) {
            _eraseAs(alice, spammer, eraseMode == 2);
            _rollBlocks(blocksAfterErase);
        }
        // The reveal lands one block after the commit. A lazily erased leaf keeps its deposit locked.
        bool depositLocked = eraseMode != 2 || blocksAfterErase + 1 < delay;
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        if (!depositLocked) {
            vm.expectRevert(abi.encodeWithSelector(IRlnMembership.NothingToSlash.selector, spammer));
        }
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        uint256 seized = depositLocked ? deposit : 0;
        _assertPaid(seized / 2, seized - seized / 2);
        assertEq(_leafAt(1), 0, "no spammer leaf left");
        assertFalse(rln.isInMembershipSet(spammer), "not a member");
        assertEq(
            token.balanceOf(address(rln)), _price(20) + deposit, "tokens stay in the registry until withdrawn"
        );
    }

    function testFuzz_revealSlash_onlyCommitterEarns(address copycat) public {
        vm.assume(copycat != slasher && copycat != address(0));
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.SlashNotCommitted.selector, copycat, _commitment(SECRET, receiver, copycat)
            )
        );
        vm.prank(copycat);
        rln.revealSlash(SECRET, receiver);
        assertTrue(rln.isInMembershipSet(spammer), "copied reveal slashed nothing");
    }
}
