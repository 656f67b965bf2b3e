// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";

import {LinearPriceCalculator} from "../src/LinearPriceCalculator.sol";
import {RlnMembership} from "../src/RlnMembership.sol";
import {TestToken} from "../src/TestToken.sol";
import {RlnMembershipHandler} from "./handlers/RlnMembershipHandler.sol";
import {InvariantTest, Test} from "./utils/Test.sol";
import {LeafTree} from "./utils/LeafTree.sol";

/// @notice Invariants of the registry under random sequences of registrations, extensions, erasures (lazy
/// and full), leaf clearing, time and block travel, slashes (with copycats, and reveals the model expects to
/// fail), withdrawals, and owner changes of the token and price, reward share, withdrawal delay, reveal
/// window, rate limit bounds and durations.
contract RlnMembershipInvariantTest is Test, InvariantTest {
    RlnMembership internal rln;
    RlnMembershipHandler internal handler;
    TestToken[2] internal tokens;

    function setUp() public {
        vm.warp(1_700_000_000);
        vm.roll(1_000);
        tokens[0] = new TestToken();
        tokens[1] = new TestToken();
        LinearPriceCalculator calculator = new LinearPriceCalculator(address(tokens[0]), 5e16);
        RlnMembership implementation = new RlnMembership();
        // Small total rate limit and short periods, so limits and every lifecycle state are reached.
        bytes memory init =
            abi.encodeCall(RlnMembership.initialize, (address(calculator), 3_000, 20, 600, 2 days, 1 days));
        rln = RlnMembership(address(new ERC1967Proxy(address(implementation), init)));
        rln.setSlashRevealWindow(10);
        rln.setRootAcceptanceWindow(20);
        rln.setWithdrawalDelay(40);
        address treasury = address(0x7EA5);
        rln.setTreasury(treasury);

        handler = new RlnMembershipHandler(rln, calculator, tokens, treasury);
        rln.transferOwnership(address(handler));
        vm.prank(address(handler));
        rln.acceptOwnership();
        calculator.transferOwnership(address(handler));

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](13);
        selectors[0] = RlnMembershipHandler.register.selector;
        selectors[1] = RlnMembershipHandler.extend.selector;
        selectors[2] = RlnMembershipHandler.erase.selector;
        selectors[3] = RlnMembershipHandler.advanceTime.selector;
        selectors[4] = RlnMembershipHandler.commitSlash.selector;
        selectors[5] = RlnMembershipHandler.revealSlash.selector;
        selectors[6] = RlnMembershipHandler.withdraw.selector;
        selectors[7] = RlnMembershipHandler.setRewardShare.selector;
        selectors[8] = RlnMembershipHandler.switchToken.selector;
        selectors[9] = RlnMembershipHandler.clearErasedLeaves.selector;
        selectors[10] = RlnMembershipHandler.setDelays.selector;
        selectors[11] = RlnMembershipHandler.setRateBounds.selector;
        selectors[12] = RlnMembershipHandler.setDurations.selector;
        targetSelector(address(handler), selectors);
    }

    modifier atHandlerClock() {
        vm.warp(handler.time());
        vm.roll(handler.blockNumber());
        _;
    }

    // ------------------------------------------------------------------------------------------ tree

    /// @notice The on-chain root is the root of the leaves, recomputed here with PoseidonT3.
    function invariant_rootMatchesLeaves() public view {
        uint32 n = rln.nextFreeIndex();
        uint256[] memory leaves =
            n == 0 ? new uint256[](0) : rln.getRateCommitmentsInRangeBoundsInclusive(0, n - 1);
        assertEq(rln.root(), LeafTree.root(leaves, 20), "root = recomputed root of the leaves");
    }

    /// @notice Every tree change stores its root: the newest recent root is the current root.
    function invariant_newestRecentRootIsCurrentRoot() public view {
        if (rln.nextFreeIndex() == 0) return; // nothing stored yet
        assertEq(rln.getRootAt(0), rln.root(), "getRootAt(0) = root()");
        assertEq(rln.getRecentRoots()[0], rln.root(), "getRecentRoots()[0] = root()");
    }

    /// @notice The recent roots are the last roots stored, newest first, in the order they were stored.
    function invariant_recentRootsAreTheLastStoredInOrder() public view {
        uint256 n = handler.rootCount();
        if (n == 0) return;
        uint256[5] memory recent = rln.getRecentRoots();
        for (uint256 i = 0; i < 5 && i < n; ++i) {
            assertEq(recent[i], handler.ghostRoots(n - 1 - i), "recent root i = i-th newest stored root");
        }
    }

    /// @notice Each recent root's supersession time is when the next root was stored (0 for the newest).
    function invariant_recentRootTimesAreWhenSuperseded() public view {
        uint256 n = handler.rootCount();
        uint256[5] memory times = rln.getRecentRootsSupersededAt();
        assertEq(times[0], 0, "the newest root is not superseded");
        for (uint256 i = 1; i < 5 && i < n; ++i) {
            assertEq(times[i], handler.rootTime(n - i), "superseded when the next root was stored");
        }
    }

    /// @notice No root a relay following the chain accepts (the current one, or one superseded less than
    /// rootAcceptanceWindow ago) can hold the leaf of a deposit that is no longer slashable: every root stored
    /// before a due deposit's leaf left the tree is past its window.
    function invariant_dueDepositsLeaveNoAcceptableRoot() public atHandlerClock {
        uint256 n = handler.rootCount();
        uint256[5] memory times = rln.getRecentRootsSupersededAt();
        uint256 window = rln.rootAcceptanceWindow();
        for (uint256 k = 0; k < handler.idCount(); ++k) {
            uint256 id = handler.ids(k);
            (address holder, uint64 releaseBlock,,,,,,) = rln.pendingDeposits(id);
            if (holder == address(0) || releaseBlock > block.number) continue;
            uint256 before = handler.ghostRootsBeforeLeave(id);
            for (uint256 i = 0; i < 5 && i < n; ++i) {
                if (n - 1 - i >= before) continue; // stored after the leaf left
                bool accepted = times[i] == 0 || block.timestamp < times[i] + window;
                assertFalse(accepted, "a relay accepts a root holding a released deposit's leaf");
            }
        }
    }

    /// @notice A registered membership's leaf is PoseidonT3(idCommitment, rateLimit) and proves against the root.
    function invariant_liveLeavesAreRateCommitments() public view {
        uint256 root = rln.root();
        bool proved;
        for (uint256 i = handler.idCount(); i > 0; --i) {
            uint256 id = handler.ids(i - 1);
            if (!rln.isInMembershipSet(id)) continue;
            (uint32 rateLimit, uint32 index, uint256 leaf) = rln.getMembershipInfo(id);
            assertEq(leaf, PoseidonT3.hash([id, uint256(rateLimit)]), "leaf = PoseidonT3(id, rate)");
            if (!proved) {
                // One Merkle proof per check (the newest identity), to bound the cost.
                uint256[20] memory proof = rln.getMerkleProof(index);
                uint256 node = leaf;
                for (uint256 l = 0; l < 20; ++l) {
                    node = (index >> l) & 1 == 1
                        ? PoseidonT3.hash([proof[l], node])
                        : PoseidonT3.hash([node, proof[l]]);
                }
                assertEq(node, root, "proof of a live leaf verifies");
                proved = true;
            }
        }
    }

    /// @notice Each slot is held by exactly one registered membership or is on the reuse list.
    function invariant_everySlotIsLiveOrReusable() public view {
        uint256 live;
        for (uint256 i = 0; i < handler.idCount(); ++i) {
            if (rln.isInMembershipSet(handler.ids(i))) live += 1;
        }
        uint256 reusable = handler.ghostReusableSlots();
        assertEq(live + reusable, rln.nextFreeIndex(), "live + reusable = used slots");
        (, uint40 leaves) = rln.merkleTree();
        assertEq(leaves, rln.nextFreeIndex(), "numberOfLeaves = nextFreeIndex");
        if (reusable != 0) rln.indicesOfLazilyErasedMemberships(reusable - 1); // exists
        try rln.indicesOfLazilyErasedMemberships(reusable) returns (uint32) {
            assertTrue(false, "reuse list longer than the ghost count");
        } catch {}
    }

    // ------------------------------------------------------------------------------------------ rate limits

    /// @notice The total rate limit is the sum of the rate limits of registered memberships, within the maximum.
    function invariant_totalRateLimitIsSumOfRegistered() public view {
        uint256 sum;
        for (uint256 i = 0; i < handler.idCount(); ++i) {
            (uint32 rateLimit,,) = rln.getMembershipInfo(handler.ids(i));
            sum += rateLimit;
        }
        assertEq(rln.currentTotalRateLimit(), sum, "currentTotalRateLimit = sum over registered");
        assertEq(rln.currentTotalRateLimit(), handler.ghostTotalRateLimit(), "= ghost total");
        // The owner may lower the maximum below the total (existing memberships stay); registrations never exceed it.
        assertEq(handler.ghostOverLimit(), 0, "a registration went above maxTotalRateLimit");
    }

    // ------------------------------------------------------------------------------------------ tokens

    /// @notice The registry holds exactly what it owes: registered deposits + pending deposits (locked or due)
    /// + withdrawable balances (released deposits, slash rewards, treasury shares).
    function invariant_tokenBalanceEqualsClaims() public view {
        for (uint256 t = 0; t < 2; ++t) {
            address token = address(tokens[t]);
            uint256 claims;
            for (uint256 i = 0; i < handler.idCount(); ++i) {
                uint256 id = handler.ids(i);
                (uint256 deposit,,,,,,, address depositToken) = rln.memberships(id);
                if (depositToken == token) claims += deposit;
                (,,, address pendingToken,,,, uint256 amount) = rln.pendingDeposits(id);
                if (pendingToken == token) claims += amount;
            }
            for (uint256 a = 0; a < handler.accountCount(); ++a) {
                claims += rln.depositsToWithdraw(handler.account(a), token);
            }
            assertEq(tokens[t].balanceOf(address(rln)), claims, "balance = deposits + pending + withdrawable");
        }
    }

    /// @notice Per holder and token: deposited - seized - withdrawn = registered + pending (locked or due) +
    /// released, and the holder's list of pending deposits holds exactly its records.
    function invariant_perHolderAccounting() public view {
        for (uint256 t = 0; t < 2; ++t) {
            address token = address(tokens[t]);
            for (uint256 a = 0; a < handler.actorCount(); ++a) {
                address holder = handler.actors(a);
                uint256 registered;
                uint256 pending;
                uint256 records;
                for (uint256 i = 0; i < handler.idCount(); ++i) {
                    uint256 id = handler.ids(i);
                    (uint256 deposit,,,,,, address h, address depositToken) = rln.memberships(id);
                    if (h == holder && depositToken == token) registered += deposit;
                    (address ph,,, address pendingToken,,,, uint256 amount) = rln.pendingDeposits(id);
                    if (ph == holder && pendingToken == token) {
                        pending += amount;
                        records += 1;
                    }
                }
                uint256[] memory listed = rln.lockedDepositIds(holder, token);
                assertEq(listed.length, records, "list = the holder's records");
                for (uint256 j = 0; j < listed.length; ++j) {
                    (address ph, uint64 releaseBlock,, address pendingToken,,, uint32 position,) =
                        rln.pendingDeposits(listed[j]);
                    assertTrue(
                        ph == holder && pendingToken == token && releaseBlock != 0, "listed record is theirs"
                    );
                    assertEq(position, j, "position");
                }
                assertEq(
                    handler.ghostHolderDeposited(holder, token) - handler.ghostHolderSeized(holder, token)
                        - handler.ghostHolderWithdrawn(holder, token),
                    registered + pending + rln.depositsToWithdraw(holder, token),
                    "deposited - seized - withdrawn = registered + pending + released"
                );
            }
        }
    }

    /// @notice Tokens in minus tokens out is the balance, and slashes lose nothing: seized = reward + treasury.
    function invariant_tokenFlowsBalanceAndSlashesLoseNothing() public view {
        for (uint256 t = 0; t < 2; ++t) {
            address token = address(tokens[t]);
            assertEq(
                tokens[t].balanceOf(address(rln)),
                handler.ghostDeposited(token) - handler.ghostWithdrawn(token),
                "balance = deposited - withdrawn"
            );
            assertEq(
                handler.ghostSeized(token),
                handler.ghostRewards(token) + handler.ghostTreasury(token),
                "seized = rewards + treasury shares"
            );
        }
    }

    // ------------------------------------------------------------------------------------------ slashing

    /// @notice No leaf can prove without a seizable deposit behind it: every non-zero leaf is a registered
    /// membership's, or an erased membership's whose deposit is still locked (not due).
    function invariant_provingLeavesHaveSeizableDeposits() public atHandlerClock {
        uint32 n = rln.nextFreeIndex();
        if (n == 0) return;
        uint256[] memory leaves = rln.getRateCommitmentsInRangeBoundsInclusive(0, n - 1);
        uint256[] memory backed = new uint256[](n);
        for (uint256 i = 0; i < handler.idCount(); ++i) {
            uint256 id = handler.ids(i);
            (,,,, uint32 rateLimit, uint32 index,,) = rln.memberships(id);
            if (rateLimit != 0) {
                backed[index] = PoseidonT3.hash([id, uint256(rateLimit)]);
                continue;
            }
            (address holder, uint64 releaseBlock, uint32 pIndex,, uint32 pRate,,,) = rln.pendingDeposits(id);
            if (holder != address(0) && releaseBlock > block.number && leaves[pIndex] != 0) {
                if (leaves[pIndex] == PoseidonT3.hash([id, uint256(pRate)])) backed[pIndex] = leaves[pIndex];
            }
        }
        for (uint256 i = 0; i < n; ++i) {
            if (leaves[i] != 0) {
                assertEq(leaves[i], backed[i], "a leaf in the tree without a seizable deposit");
            }
        }
    }

    /// @notice Each deposit is released at its own block: withdrawalDelay (as at its erasure) blocks after its
    /// leaf left the tree, never moved afterwards (by third parties or delay changes), never more than
    /// MAX_WITHDRAWAL_DELAY blocks away.
    function invariant_locksAreOwnAndBounded() public atHandlerClock {
        assertEq(handler.ghostLockViolations(), 0, "a release block moved or used another delay");
        for (uint256 i = 0; i < handler.idCount(); ++i) {
            (address holder, uint64 releaseBlock,,,, uint32 delay,,) = rln.pendingDeposits(handler.ids(i));
            if (holder == address(0) || releaseBlock == rln.LEAF_IN_TREE()) continue;
            assertLe(delay, rln.MAX_WITHDRAWAL_DELAY(), "delay within bounds");
            assertLe(releaseBlock, block.number + delay, "released at most its delay from now");
        }
    }

    /// @notice Every deposit is locked for more than rootAcceptanceWindow + slashRevealWindow (as at its erasure)
    /// after its leaf left the tree, so spam against the last root holding the leaf can still be slashed; the
    /// owner's setters refuse exactly the values that would break this, and bounded withdrawals pay exactly
    /// the listed deposits that are due.
    function invariant_locksCoverTheRootWindowAndTheReveal() public view {
        assertEq(handler.ghostShortDelays(), 0, "a delay within the root window and the reveal");
        assertEq(handler.ghostListedWithdrawSurprises(), 0, "withdrawDeposits paid against the model");
    }

    /// @notice Reveals succeed exactly when the model says: committed by the sender, in the window, and a
    /// registered membership or a deposit not yet due.
    function invariant_revealsMatchTheModel() public view {
        assertEq(handler.ghostRevealSurprises(), 0, "a reveal succeeded or failed against the model");
    }

    /// @notice A slashed identity is gone: not registered, no deposit left, its leaf cleared.
    function invariant_slashedIdentitiesAreGone() public view {
        for (uint256 i = 0; i < handler.idCount(); ++i) {
            uint256 id = handler.ids(i);
            if (!handler.slashed(id)) continue;
            assertFalse(rln.isInMembershipSet(id), "not registered");
            (, uint64 releaseBlock,,,,,,) = rln.pendingDeposits(id);
            assertEq(releaseBlock, 0, "no pending deposit");
            uint32 index = handler.lastIndex(id);
            assertNotEq(
                rln.getRateCommitmentsInRangeBoundsInclusive(index, index)[0],
                PoseidonT3.hash([id, uint256(handler.lastRateLimit(id))]),
                "leaf cleared"
            );
        }
    }

    /// @notice A reveal copied by another sender never succeeds.
    function invariant_copiedRevealsNeverPay() public view {
        assertEq(handler.ghostCopycatWins(), 0, "copycat reveals");
        assertEq(rln.depositsToWithdraw(handler.COPYCAT(), address(tokens[0])), 0, "copycat balance");
        assertEq(rln.depositsToWithdraw(handler.COPYCAT(), address(tokens[1])), 0, "copycat balance");
    }
}
