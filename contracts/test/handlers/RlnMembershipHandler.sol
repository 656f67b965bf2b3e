// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {PoseidonT2} from "poseidon-solidity/PoseidonT2.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";

import {LinearPriceCalculator} from "../../src/LinearPriceCalculator.sol";
import {RlnMembership} from "../../src/RlnMembership.sol";
import {IMembership} from "../../src/interfaces/IMembership.sol";
import {TestToken} from "../../src/TestToken.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives the registry for the invariant tests: bounded inputs, several actors, its own clock, owner
/// changes of every parameter, and ghost variables (token flows per token and per holder, rate limit,
/// reusable slots, slashes, each deposit's release block, the stored roots) the invariants compare the
/// registry to. Every action either succeeds or is skipped (the campaign runs with fail_on_revert); reveals are
/// sent whatever the model expects, and a success or failure the model did not expect is counted.
contract RlnMembershipHandler is Test {
    RlnMembership public immutable rln;
    LinearPriceCalculator public immutable calculator;
    TestToken[2] public tokens;
    address public immutable treasury;

    address[] public actors; // register, extend, erase, withdraw
    address[] public slashers; // commit and reveal slashes
    address[] public receivers; // slash rewards
    address public constant COPYCAT = address(0xC0C0CA7);

    // Clock (forge may reset the block between calls; the handler restores its own).
    uint256 public time;
    uint256 public blockNumber;

    // Identities: every idCommitment ever registered, with its secret and last slot.
    uint256[] public ids;
    mapping(uint256 idCommitment => uint256) public secretOf;
    mapping(uint256 idCommitment => bool) public known;
    mapping(uint256 idCommitment => bool) public slashed;
    mapping(uint256 idCommitment => uint32) public lastIndex;
    mapping(uint256 idCommitment => uint32) public lastRateLimit;
    uint256 private _secretNonce;

    struct Commit {
        address slasher;
        uint256 secret;
        address rewardReceiver;
        uint256 blockNumber;
    }

    Commit[] public commits;

    // Ghosts.
    mapping(address token => uint256) public ghostDeposited; // paid in by registrations
    mapping(address token => uint256) public ghostWithdrawn; // paid out by withdraw
    mapping(address token => uint256) public ghostSeized; // deposits taken by slashes
    mapping(address token => uint256) public ghostRewards; // credited to reward receivers
    mapping(address token => uint256) public ghostTreasury; // credited to the treasury
    uint256 public ghostTotalRateLimit;
    uint256 public ghostReusableSlots;
    uint256 public ghostCopycatWins;
    // Per holder and token: deposits paid in, seized by slashes, withdrawn.
    mapping(address holder => mapping(address token => uint256)) public ghostHolderDeposited;
    mapping(address holder => mapping(address token => uint256)) public ghostHolderSeized;
    mapping(address holder => mapping(address token => uint256)) public ghostHolderWithdrawn;
    // Each pending deposit's release block and delay as first seen (0: no record).
    mapping(uint256 idCommitment => uint64) public ghostReleaseBlock;
    mapping(uint256 idCommitment => uint32) public ghostDelay;
    uint256 public ghostLockViolations; // a release block moved, or a delay not the one in force at erasure
    uint256 public ghostRevealSurprises; // a reveal succeeded or failed against the model
    uint256 public ghostOverLimit; // a registration took the total rate limit above the maximum
    uint256[] public ghostRoots; // every root stored, oldest first
    uint256[] public ghostRootTimes; // when each was stored (= when the one before it was superseded)
    uint256[5] private _ringBefore;
    uint256 private _rootsBefore; // ghostRoots.length when the current action started
    // Per deposit: roots stored before its leaf left the tree (each may hold the leaf), and the smallest delay
    // the rules allowed when it was locked (rootAcceptanceWindow + slashRevealWindow + 1).
    mapping(uint256 idCommitment => uint256) public ghostRootsBeforeLeave;
    mapping(uint256 idCommitment => uint256) public ghostMinDelay;
    uint256 public ghostShortDelays; // a deposit locked with a delay below ghostMinDelay
    uint256 public ghostListedWithdrawSurprises; // withdrawDeposits paid other than the model says
    // Outcome counters (how much of the state space a campaign reached).
    mapping(bytes32 outcome => uint256) public reached;
    mapping(bytes32 action => uint256) public calls;

    constructor(
        RlnMembership rln_,
        LinearPriceCalculator calculator_,
        TestToken[2] memory tokens_,
        address treasury_
    ) {
        rln = rln_;
        calculator = calculator_;
        tokens = tokens_;
        treasury = treasury_;
        for (uint160 i = 1; i <= 4; ++i) {
            actors.push(address(0xAC7000 + i));
        }
        slashers.push(address(0x51A5001));
        slashers.push(address(0x51A5002));
        receivers.push(address(0x4E0001));
        receivers.push(address(0x4E0002));
        time = block.timestamp;
        blockNumber = block.number;
    }

    modifier useClock(bytes32 action) {
        vm.warp(time);
        vm.roll(blockNumber);
        calls[action] += 1;
        _ringBefore = rln.getRecentRoots();
        _rootsBefore = ghostRoots.length;
        _;
        _afterAction();
    }

    /// @dev After every action: record a stored root, and check every deposit's release block against the
    /// rules (fixed once known; withdrawalDelay-at-erasure blocks after the leaf left the tree).
    function _afterAction() internal {
        uint256[5] memory ring = rln.getRecentRoots();
        for (uint256 i = 0; i < 5; ++i) {
            if (ring[i] != _ringBefore[i]) {
                ghostRoots.push(rln.root());
                ghostRootTimes.push(time);
                break;
            }
        }
        uint64 leafInTree = rln.LEAF_IN_TREE();
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            (address holder, uint64 releaseBlock,,,, uint32 delay,,) = rln.pendingDeposits(id);
            uint64 known_ = ghostReleaseBlock[id];
            if (holder == address(0)) {
                ghostReleaseBlock[id] = 0;
                continue;
            }
            if (known_ == 0) {
                // New record (erased in this action): the delay in force, counted from now if the leaf left.
                if (delay != rln.withdrawalDelay()) ghostLockViolations += 1;
                ghostDelay[id] = delay;
                ghostMinDelay[id] = uint256(rln.rootAcceptanceWindow()) + rln.slashRevealWindow() + 1;
                if (delay < ghostMinDelay[id]) ghostShortDelays += 1;
                if (releaseBlock != leafInTree && releaseBlock != blockNumber + delay) {
                    ghostLockViolations += 1;
                }
            } else if (known_ == leafInTree) {
                // Its leaf was in the tree: if it left in this action, the release is its own delay from now.
                if (releaseBlock != leafInTree && releaseBlock != blockNumber + ghostDelay[id]) {
                    ghostLockViolations += 1;
                }
            } else if (releaseBlock != known_) {
                ghostLockViolations += 1; // a scheduled release never moves
            }
            if (delay != ghostDelay[id]) ghostLockViolations += 1;
            if (releaseBlock != leafInTree && (known_ == 0 || known_ == leafInTree)) {
                ghostRootsBeforeLeave[id] = _rootsBefore; // the leaf left in this action
            }
            ghostReleaseBlock[id] = releaseBlock;
        }
    }

    // ------------------------------------------------------------------------------------------ actions

    function register(uint256 actorSeed, uint256 rateSeed, uint256 identitySeed)
        external
        useClock("register")
    {
        address actor = actors[actorSeed % actors.length];
        uint32 rateLimit = uint32(bound(rateSeed, rln.minMembershipRateLimit(), rln.maxMembershipRateLimit()));
        (uint256 secret, uint256 id) = _pickIdentity(identitySeed);
        if (id == 0) return;

        // Make room by erasing expired memberships if the total rate limit is reached.
        uint256[] memory toErase = new uint256[](ids.length);
        uint256 eraseCount;
        uint256 total = rln.currentTotalRateLimit();
        for (uint256 i = 0; i < ids.length && total + rateLimit > rln.maxTotalRateLimit(); ++i) {
            if (rln.isInMembershipSet(ids[i]) && rln.isExpired(ids[i])) {
                toErase[eraseCount++] = ids[i];
                total -= lastRateLimit[ids[i]];
            }
        }
        if (total + rateLimit > rln.maxTotalRateLimit()) return;
        assembly ("memory-safe") {
            mstore(toErase, eraseCount)
        }

        (address token, uint256 amount) = calculator.calculate(rateLimit);
        TestToken(token).mint(actor, amount);
        vm.prank(actor);
        TestToken(token).approve(address(rln), amount);
        vm.prank(actor);
        rln.register(id, rateLimit, toErase);
        if (rln.currentTotalRateLimit() > rln.maxTotalRateLimit()) ghostOverLimit += 1;

        for (uint256 i = 0; i < eraseCount; ++i) {
            ghostTotalRateLimit -= lastRateLimit[toErase[i]];
            ghostReusableSlots += 1;
        }
        if (ghostReusableSlots != 0) {
            ghostReusableSlots -= 1; // register reuses a slot when one is free
            reached["register reusing a slot"] += 1;
        }
        if (eraseCount != 0) reached["register erasing"] += 1;
        if (known[id]) reached["register known identity"] += 1;
        ghostTotalRateLimit += rateLimit;
        ghostDeposited[token] += amount;
        ghostHolderDeposited[actor][token] += amount;
        if (!known[id]) {
            known[id] = true;
            ids.push(id);
            secretOf[id] = secret;
        }
        (, lastIndex[id],) = rln.getMembershipInfo(id);
        lastRateLimit[id] = rateLimit;
    }

    function extend(uint256 idSeed) external useClock("extend") {
        uint256 id = _find(idSeed, _inGracePeriod);
        if (id == 0) return;
        (,,,,,, address holder,) = rln.memberships(id);
        vm.prank(holder);
        rln.extendMemberships(_one(id));
        reached["extend"] += 1;
    }

    function erase(uint256 idSeed, uint256 callerSeed, bool full) external useClock("erase") {
        uint256 id = _find(idSeed, _erasable);
        if (id == 0) return;
        (,,,,,, address holder,) = rln.memberships(id);
        address caller;
        if (rln.isExpired(id)) caller = actors[callerSeed % actors.length];
        else if (rln.isInGracePeriod(id)) caller = holder;
        else return;
        vm.prank(caller);
        rln.eraseMemberships(_one(id), full);
        if (full) reached["erase full"] += 1;
        else reached["erase lazy"] += 1;
        ghostTotalRateLimit -= lastRateLimit[id];
        ghostReusableSlots += 1;
    }

    function clearErasedLeaves(uint256 idSeed, uint256 callerSeed) external useClock("clearErasedLeaves") {
        uint256 id = _find(idSeed, _erasedWithLeaf);
        if (id == 0) return;
        vm.prank(actors[callerSeed % actors.length]);
        rln.clearErasedLeaves(_one(id));
        reached["clear erased leaf"] += 1;
    }

    function advanceTime(uint256 secondsSeed, uint256 blocksSeed) external useClock("advanceTime") {
        // Mostly a few blocks per step (slash windows of ~10 blocks are crossed, not skipped), now and then
        // up to 150 (withdrawal delays of up to 60 blocks pass).
        time += bound(secondsSeed, 1 hours, 2 days);
        blockNumber += blocksSeed % 3 == 0 ? bound(blocksSeed, 1, 150) : bound(blocksSeed, 1, 8);
    }

    function commitSlash(uint256 slasherSeed, uint256 idSeed, uint256 receiverSeed)
        external
        useClock("commitSlash")
    {
        // Mostly identities with something to slash (registered, or erased with a locked deposit).
        uint256 id = idSeed % 8 == 0 || ids.length == 0 ? 0 : _find(idSeed >> 3, _slashableNow);
        if (id == 0) {
            if (ids.length == 0) return;
            id = ids[idSeed % ids.length];
        }
        uint256 secret = secretOf[id];
        address slasher = slashers[slasherSeed % slashers.length];
        address rewardReceiver = receivers[receiverSeed % receivers.length];
        vm.prank(slasher);
        rln.commitSlash(keccak256(abi.encode(secret, rewardReceiver, slasher)));
        commits.push(Commit(slasher, secret, rewardReceiver, blockNumber));
    }

    function revealSlash(uint256 commitSeed) external useClock("revealSlash") {
        if (commits.length == 0) return;
        uint256 k = commitSeed % commits.length;
        Commit memory c = commits[k];

        // Someone copying the reveal from the mempool must never be paid.
        vm.prank(COPYCAT);
        try rln.revealSlash(c.secret, c.rewardReceiver) {
            ghostCopycatWins += 1;
        } catch {}

        // The model: does this reveal succeed now? (It is sent either way.)
        uint256 committedAt =
            rln.slashCommitments(c.slasher, keccak256(abi.encode(c.secret, c.rewardReceiver, c.slasher)));
        uint256 id = PoseidonT2.hash([c.secret]);
        (address token, uint256 seizable, bool live, bool leafInTree) = _slashable(id);
        address holder = _holderOf(id);
        bool inWindow = committedAt != 0 && blockNumber > committedAt
            && blockNumber <= committedAt + rln.slashRevealWindow();
        bool expected = inWindow && (live || seizable != 0 || leafInTree || _lockedZero(id));
        if (committedAt == 0 || blockNumber > committedAt) _dropCommit(k); // used, stale, or tried now

        uint256 rewardBefore = rln.depositsToWithdraw(c.rewardReceiver, token);
        uint256 treasuryBefore = rln.depositsToWithdraw(treasury, token);
        vm.prank(c.slasher);
        try rln.revealSlash(c.secret, c.rewardReceiver) {
            if (!expected) ghostRevealSurprises += 1;
        } catch {
            if (expected) ghostRevealSurprises += 1;
            reached["reveal refused"] += 1;
            return;
        }

        ghostSeized[token] += seizable;
        ghostHolderSeized[holder][token] += seizable;
        ghostRewards[token] += rln.depositsToWithdraw(c.rewardReceiver, token) - rewardBefore;
        ghostTreasury[token] += rln.depositsToWithdraw(treasury, token) - treasuryBefore;
        if (live) {
            ghostTotalRateLimit -= lastRateLimit[id];
            ghostReusableSlots += 1;
        }
        slashed[id] = true;
        if (live) reached["slash registered"] += 1;
        else if (leafInTree) reached["slash erased, leaf in tree"] += 1;
        else reached["slash locked deposit"] += 1;
    }

    function withdraw(uint256 accountSeed, uint256 tokenSeed, uint256 listSeed)
        external
        useClock("withdraw")
    {
        address who = _account(accountSeed);
        address token = address(tokens[tokenSeed % 2]);
        uint256 before = TestToken(token).balanceOf(who);
        if (listSeed % 2 == 0) {
            if (rln.withdrawableBalance(who, token) == 0) return;
            vm.prank(who);
            rln.withdraw(token);
        } else {
            // A bounded withdrawal by a holder: a random part of its pending deposits, due or not.
            who = actors[accountSeed % actors.length];
            uint256[] memory pending = rln.lockedDepositIds(who, token);
            if (pending.length == 0) {
                token = address(tokens[1 - tokenSeed % 2]);
                pending = rln.lockedDepositIds(who, token);
            }
            before = TestToken(token).balanceOf(who);
            if (pending.length == 0 && rln.depositsToWithdraw(who, token) == 0) return;
            uint256[] memory list = new uint256[](pending.length);
            uint256 n;
            uint256 expected = rln.depositsToWithdraw(who, token);
            for (uint256 i = 0; i < pending.length; ++i) {
                if ((listSeed >> (2 * (i % 100) + 1)) & 3 == 0) continue; // 3 in 4 listed
                list[n++] = pending[i];
                (,,,,,,, uint256 amount) = rln.pendingDeposits(pending[i]);
                if (ghostReleaseBlock[pending[i]] <= blockNumber) expected += amount;
            }
            assembly ("memory-safe") {
                mstore(list, n)
            }
            vm.prank(who);
            try rln.withdrawDeposits(token, list) {
                if (expected == 0) ghostListedWithdrawSurprises += 1; // paid what was not due
            } catch (bytes memory err) {
                if (expected != 0 || bytes4(err) != IMembership.NothingToWithdraw.selector) {
                    ghostListedWithdrawSurprises += 1;
                }
                reached["withdraw listed: nothing due"] += 1;
                return;
            }
            if (TestToken(token).balanceOf(who) - before != expected) ghostListedWithdrawSurprises += 1;
            reached["withdraw listed deposits"] += 1;
        }
        uint256 paid = TestToken(token).balanceOf(who) - before;
        ghostWithdrawn[token] += paid;
        ghostHolderWithdrawn[who][token] += paid;
        reached["withdraw"] += 1;
    }

    function setRewardShare(uint16 bps) external useClock("setRewardShare") {
        rln.setSlashRewardBps(uint16(bound(bps, 0, rln.MAX_SLASH_REWARD_BPS())));
    }

    /// @dev Owner changes of the delay, the reveal window and the root acceptance window, sometimes out of
    /// bounds: a refusal must be the typed error, and a value the rules forbid must be refused.
    function setDelays(uint256 delaySeed, uint256 windowSeed) external useClock("setDelays") {
        uint256 reveal = rln.slashRevealWindow();
        uint256 rootWindow = rln.rootAcceptanceWindow();
        uint256 delay = rln.withdrawalDelay();
        bytes memory err;
        bool ok;
        if (windowSeed % 3 == 0) {
            uint32 d = uint32(bound(delaySeed, reveal, 60));
            try rln.setWithdrawalDelay(d) {
                ok = true;
            } catch (bytes memory e) {
                err = e;
            }
            _checkSetter(
                ok, d > reveal + rootWindow, err, bytes4(keccak256("InvalidWithdrawalDelay(uint32,uint32)"))
            );
        } else if (windowSeed % 3 == 1) {
            uint32 w = uint32(bound(windowSeed, 1, delay));
            try rln.setSlashRevealWindow(w) {
                ok = true;
            } catch (bytes memory e) {
                err = e;
            }
            _checkSetter(
                ok, w + rootWindow < delay, err, bytes4(keccak256("InvalidSlashRevealWindow(uint32,uint32)"))
            );
        } else {
            uint32 w = uint32(bound(delaySeed, 0, delay));
            try rln.setRootAcceptanceWindow(w) {
                ok = true;
            } catch (bytes memory e) {
                err = e;
            }
            _checkSetter(
                ok, w + reveal < delay, err, bytes4(keccak256("InvalidRootAcceptanceWindow(uint32,uint32)"))
            );
        }
    }

    /// @dev A setter succeeded exactly when the rules allow the value, and refused with the expected error.
    function _checkSetter(bool ok, bool allowed, bytes memory err, bytes4 expected) internal {
        if (ok != allowed) ghostShortDelays += 1;
        if (!ok) {
            assertEq(bytes32(bytes4(err)), bytes32(expected), "refused with the typed error");
            reached["setter refused"] += 1;
        }
    }

    /// @dev Owner changes of the rate limit bounds (invalid combinations are refused by the registry).
    function setRateBounds(uint256 minSeed, uint256 maxSeed, uint256 totalSeed)
        external
        useClock("setRateBounds")
    {
        uint32 min = uint32(bound(minSeed, 1, 100));
        uint32 max = uint32(bound(maxSeed, min, 600));
        uint32 total = uint32(bound(totalSeed, max, 3_000));
        try rln.setMaxTotalRateLimit(total) {} catch {}
        try rln.setMaxMembershipRateLimit(max) {} catch {}
        try rln.setMinMembershipRateLimit(min) {} catch {}
        try rln.setMaxTotalRateLimit(total) {} catch {}
    }

    /// @dev Owner changes of the durations of new memberships.
    function setDurations(uint256 activeSeed, uint256 graceSeed) external useClock("setDurations") {
        rln.setActiveDuration(uint32(bound(activeSeed, 1 hours, 5 days)));
        rln.setGracePeriodDuration(uint32(bound(graceSeed, 0, 3 days)));
    }

    function switchToken(uint256 tokenSeed, uint256 price) external useClock("switchToken") {
        calculator.setTokenAndPrice(address(tokens[tokenSeed % 2]), bound(price, 0, 1 ether));
    }

    // ------------------------------------------------------------------------------------------ views for invariants

    function idCount() external view returns (uint256) {
        return ids.length;
    }

    function accountCount() external view returns (uint256) {
        return actors.length + slashers.length + receivers.length + 1;
    }

    /// @dev Everyone who may hold a balance in the registry: actors, slashers, receivers, treasury.
    function account(uint256 i) external view returns (address) {
        return _account(i);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function rootTime(uint256 i) external view returns (uint256) {
        return ghostRootTimes[i];
    }

    function rootCount() external view returns (uint256) {
        return ghostRoots.length;
    }

    // ------------------------------------------------------------------------------------------ internals

    function _account(uint256 seed) internal view returns (address) {
        uint256 i = seed % (actors.length + slashers.length + receivers.length + 1);
        if (i < actors.length) return actors[i];
        i -= actors.length;
        if (i < slashers.length) return slashers[i];
        i -= slashers.length;
        if (i < receivers.length) return receivers[i];
        return treasury;
    }

    /// @dev A fresh identity, or now and then an earlier one that may register again (never a slashed one).
    function _pickIdentity(uint256 seed) internal returns (uint256 secret, uint256 id) {
        if (seed % 4 == 0) {
            id = _find(seed >> 2, _registrableAgain);
            if (id != 0) return (secretOf[id], id);
        }
        secret = uint256(keccak256(abi.encode("rlnkit secret", _secretNonce++))) % rln.Q();
        id = PoseidonT2.hash([secret]);
        if (known[id]) return (0, 0);
    }

    /// @dev What a slash of `id` would take now: a registered membership's deposit, or a pending deposit not
    /// yet due (with its leaf, if still in the tree).
    function _slashable(uint256 id)
        internal
        view
        returns (address token, uint256 seizable, bool live, bool leafInTree)
    {
        live = rln.isInMembershipSet(id);
        if (live) {
            (seizable,,,,,,, token) = rln.memberships(id);
            return (token, seizable, true, true);
        }
        (, uint64 releaseBlock,, address pendingToken,,,, uint256 amount) = rln.pendingDeposits(id);
        if (releaseBlock <= blockNumber) return (address(0), 0, false, false);
        return (pendingToken, amount, false, releaseBlock == rln.LEAF_IN_TREE());
    }

    /// @dev A pending deposit of 0 (price 0) not yet due: slashable, though it pays nothing.
    function _lockedZero(uint256 id) internal view returns (bool) {
        (, uint64 releaseBlock,,,,,, uint256 amount) = rln.pendingDeposits(id);
        return releaseBlock > blockNumber && amount == 0;
    }

    function _holderOf(uint256 id) internal view returns (address holder) {
        if (rln.isInMembershipSet(id)) {
            (,,,,,, holder,) = rln.memberships(id);
        } else {
            (holder,,,,,,,) = rln.pendingDeposits(id);
        }
    }

    /// @dev The first identity from a random start that satisfies `pred`, or 0.
    function _find(uint256 seed, function(uint256) view returns (bool) pred) internal view returns (uint256) {
        uint256 n = ids.length;
        for (uint256 j = 0; j < n; ++j) {
            uint256 id = ids[(seed % n + j) % n];
            if (pred(id)) return id;
        }
        return 0;
    }

    function _inGracePeriod(uint256 id) internal view returns (bool) {
        return rln.isInMembershipSet(id) && rln.isInGracePeriod(id);
    }

    function _erasable(uint256 id) internal view returns (bool) {
        return rln.isInMembershipSet(id) && (rln.isInGracePeriod(id) || rln.isExpired(id));
    }

    function _erasedWithLeaf(uint256 id) internal view returns (bool) {
        (, uint64 releaseBlock,,,,,,) = rln.pendingDeposits(id);
        return releaseBlock == rln.LEAF_IN_TREE();
    }

    function _registrableAgain(uint256 id) internal view returns (bool) {
        (, uint64 releaseBlock,,,,,,) = rln.pendingDeposits(id);
        return !slashed[id] && !rln.isInMembershipSet(id) && releaseBlock <= blockNumber;
    }

    function _slashableNow(uint256 id) internal view returns (bool) {
        if (slashed[id]) return false;
        (, uint256 seizable, bool live, bool leafInTree) = _slashable(id);
        return live || seizable != 0 || leafInTree;
    }

    function _dropCommit(uint256 k) internal {
        commits[k] = commits[commits.length - 1];
        commits.pop();
    }

    function _one(uint256 id) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = id;
    }
}
