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
/// and full), time and block travel, slashes (with copycats), withdrawals, reward-share and token changes.
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
            abi.encodeCall(RlnMembership.initialize, (address(calculator), 3_000, 20, 600, 10 days, 5 days));
        rln = RlnMembership(address(new ERC1967Proxy(address(implementation), init)));
        rln.setSlashRevealWindow(10);
        rln.setWithdrawalDelay(60);
        address treasury = address(0x7EA5);
        rln.setTreasury(treasury);

        handler = new RlnMembershipHandler(rln, calculator, tokens, treasury);
        rln.transferOwnership(address(handler));
        calculator.transferOwnership(address(handler));

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = RlnMembershipHandler.register.selector;
        selectors[1] = RlnMembershipHandler.extend.selector;
        selectors[2] = RlnMembershipHandler.erase.selector;
        selectors[3] = RlnMembershipHandler.advanceTime.selector;
        selectors[4] = RlnMembershipHandler.commitSlash.selector;
        selectors[5] = RlnMembershipHandler.revealSlash.selector;
        selectors[6] = RlnMembershipHandler.withdraw.selector;
        selectors[7] = RlnMembershipHandler.setRewardShare.selector;
        selectors[8] = RlnMembershipHandler.switchToken.selector;
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
        assertLe(sum, rln.maxTotalRateLimit(), "within maxTotalRateLimit");
    }

    // ------------------------------------------------------------------------------------------ tokens

    /// @notice The registry holds exactly what it owes: registered deposits + locked deposits + withdrawable
    /// balances (released deposits, slash rewards, treasury shares).
    function invariant_tokenBalanceEqualsClaims() public view {
        for (uint256 t = 0; t < 2; ++t) {
            address token = address(tokens[t]);
            uint256 claims;
            for (uint256 i = 0; i < handler.idCount(); ++i) {
                (uint256 deposit,,,,,,, address depositToken) = rln.memberships(handler.ids(i));
                if (depositToken == token) claims += deposit;
            }
            for (uint256 a = 0; a < handler.accountCount(); ++a) {
                address account = handler.account(a);
                (uint256 locked,) = rln.lockedDeposits(account, token);
                claims += locked + rln.depositsToWithdraw(account, token);
            }
            assertEq(tokens[t].balanceOf(address(rln)), claims, "balance = deposits + locked + withdrawable");
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

    /// @notice A deposit that is still slashable (erased, not yet due) is still locked in the registry.
    function invariant_slashableDepositsStayLocked() public atHandlerClock {
        for (uint256 t = 0; t < 2; ++t) {
            for (uint256 a = 0; a < handler.actorCount(); ++a) {
                address holder = handler.actors(a);
                uint256 pendingSum;
                for (uint256 i = 0; i < handler.idCount(); ++i) {
                    (address h, uint64 releaseBlock,, address token,, uint256 amount) =
                        rln.pendingDeposits(handler.ids(i));
                    if (h == holder && token == address(tokens[t]) && releaseBlock > block.number) {
                        pendingSum += amount;
                    }
                }
                (uint256 locked, uint64 lockedUntil) = rln.lockedDeposits(holder, address(tokens[t]));
                assertLe(pendingSum, locked, "slashable deposits are in the holder's lock");
                if (pendingSum != 0) assertGt(lockedUntil, block.number, "and the lock is not due");
            }
        }
    }

    /// @notice A slashed identity is gone: not registered, no deposit left, its leaf cleared.
    function invariant_slashedIdentitiesAreGone() public view {
        for (uint256 i = 0; i < handler.idCount(); ++i) {
            uint256 id = handler.ids(i);
            if (!handler.slashed(id)) continue;
            assertFalse(rln.isInMembershipSet(id), "not registered");
            (, uint64 releaseBlock,,,,) = rln.pendingDeposits(id);
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
