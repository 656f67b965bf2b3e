// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";

/// @dev The registry functions added for issue 20, called through this interface so that the tests below
/// compile against the registry before the fix (e4391e1) too, where these calls revert.
interface IRegistryRound3 {
    function rootAcceptanceWindow() external view returns (uint32);
    function getRecentRootsSupersededAt() external view returns (uint256[5] memory);
    function withdrawDeposits(address token, uint256[] calldata idCommitments) external;
}

/// @notice The registry attacks of issue 20 (money paths, round 3), each performed against the registry. Every
/// test here fails on the registry of e4391e1 (checked by running this file against it) and uses only the ABI
/// both versions share, plus IRegistryRound3 through try/catch.
contract RlnMembershipRound3AttacksTest is RlnMembershipTestBase {
    uint256 internal constant SECRET = 0x5BA3;
    uint32 internal constant RATE = 100;
    uint256 internal spammer;
    uint256 internal deposit;

    function setUp() public override {
        super.setUp();
        spammer = _id(SECRET);
        deposit = _price(RATE);
        _register(bob, _id(1), 20); // index 0
        _register(alice, spammer, RATE); // index 1
    }

    /// @dev Whether a relay following the chain accepts a proof against `root` now. With the acceptance window
    /// published, as rlnkit's relay does: the current root, or a recent root superseded less than
    /// rootAcceptanceWindow seconds ago. Without it (e4391e1), as relays did: every root in the count window.
    function _relayAccepts(uint256 root) internal view returns (bool) {
        uint256[5] memory roots = rln.getRecentRoots();
        IRegistryRound3 r3 = IRegistryRound3(address(rln));
        try r3.getRecentRootsSupersededAt() returns (uint256[5] memory supersededAt) {
            uint256 window = r3.rootAcceptanceWindow();
            for (uint256 i = 0; i < 5; ++i) {
                if (roots[i] != root) continue;
                if (supersededAt[i] == 0 || block.timestamp < supersededAt[i] + window) return true;
            }
            return false;
        } catch {
            for (uint256 i = 0; i < 5; ++i) {
                if (roots[i] == root) return true;
            }
            return false;
        }
    }

    /// @dev One block per second, as on a fast chain (the registry assumes at least one second per block).
    function _quietBlocks(uint256 n) internal {
        vm.roll(block.number + n);
        vm.warp(block.timestamp + n);
    }

    /// Item 1: on a quiet registry the roots that hold a cleared leaf stay in every relay's count window; once
    /// the deposit is released its owner spams for free against them (a slash finds nothing). Played with the
    /// shortest withdrawal delay the owner may set.
    function test_attack_spamAfterWithdrawalOnQuietRegistry() public {
        uint32 reveal = rln.slashRevealWindow();
        uint32 window;
        try IRegistryRound3(address(rln)).rootAcceptanceWindow() returns (uint32 w) {
            window = w;
        } catch {}
        rln.setWithdrawalDelay(reveal + window + 1);

        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        uint256 rootWithLeaf = rln.root();
        vm.prank(alice);
        rln.clearErasedLeaves(_ids(spammer)); // the leaf leaves; nothing else happens on the registry
        _quietBlocks(reveal + window + 1);
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), deposit, "the deposit is back");
        assertFalse(
            _relayAccepts(rootWithLeaf), "relays still accept a root holding the released member's leaf"
        );
    }

    /// Item 1, the edge: spam in the last second a relay accepts the old root is still slashable (commit now,
    /// reveal at the end of the reveal window), with the shortest delay the owner may set.
    function test_spamAtTheEndOfTheRootWindowIsSlashable() public {
        uint32 reveal = rln.slashRevealWindow();
        uint32 window = IRegistryRound3(address(rln)).rootAcceptanceWindow();
        rln.setWithdrawalDelay(reveal + window + 1);
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        uint256 rootWithLeaf = rln.root();
        vm.prank(alice);
        rln.clearErasedLeaves(_ids(spammer));
        _quietBlocks(window - 1);
        assertTrue(_relayAccepts(rootWithLeaf), "the old root is still accepted: spam now");
        _commitSlash(slasher, SECRET, receiver);
        _quietBlocks(reveal);
        vm.prank(slasher);
        rln.revealSlash(SECRET, receiver);
        assertEq(rln.depositsToWithdraw(receiver, address(token)), deposit / 2, "the reporter is paid");
        _quietBlocks(1);
        assertFalse(_relayAccepts(rootWithLeaf), "and the root is no longer accepted");
    }

    /// Item 2: anyone can add entries to a holder's list of pending deposits by erasing the holder's expired
    /// memberships; withdraw(token) visits all of them, so enough entries lock the holder out. Here 60 entries
    /// and a 150 k gas budget stand for ~6,250 entries and a 30 M gas block.
    function test_attack_erasedEntriesLockOutWithdrawal() public {
        uint256 due = _id(0xD0E);
        _register(alice, due, 20);
        _warpToExpiry(due);
        _eraseAs(alice, due, true);
        uint256 n = 60;
        uint256[] memory others = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            others[i] = _id(0x1000 + i);
            _register(alice, others[i], 20);
        }
        _rollBlocks(rln.withdrawalDelay());
        _warpToExpiry(others[0]);
        vm.prank(carol);
        rln.eraseMemberships(others); // 60 pending entries, none due

        uint256 paid = _price(20);
        uint256[] memory list = _ids(due);
        vm.cool(address(rln)); // storage cold, as in a transaction of its own
        vm.prank(alice);
        try IRegistryRound3(address(rln)).withdrawDeposits{gas: 150_000}(address(token), list) {}
        catch {
            vm.cool(address(rln));
            vm.prank(alice);
            try rln.withdraw{gas: 150_000}(address(token)) {} catch {}
        }
        assertEq(token.balanceOf(alice), paid, "the due deposit is withdrawn within a bounded gas budget");
    }

    /// Item 5: one entry with nothing left to clear (here cleared by someone else first) voids a whole
    /// clearErasedLeaves batch, so the holder's leaf stays and its deposit stays locked.
    function test_attack_oneStaleEntryVoidsClearBatch() public {
        _warpToExpiry(spammer);
        _eraseAs(carol, spammer, false);
        _eraseAs(carol, _id(1), false);
        vm.prank(carol);
        rln.clearErasedLeaves(_ids(_id(1))); // front-runs the batch below
        vm.prank(alice);
        try rln.clearErasedLeaves(_ids(_id(1), spammer)) {} catch {}
        assertEq(_leafAt(1), 0, "the holder's leaf is cleared despite the stale entry");
    }

    /// Item 5: the registry as its own treasury: slashed shares are credited to an account nobody can withdraw.
    function test_attack_registryAsTreasuryStrandsSlashedShares() public {
        try rln.setTreasury(address(rln)) {} catch {}
        assertTrue(rln.treasury() != address(rln), "the registry cannot be its own treasury");
    }
}
