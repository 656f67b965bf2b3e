// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {IERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/IERC20Upgradeable.sol";
import {
    SafeERC20Upgradeable
} from "@openzeppelin/contracts-upgradeable/token/ERC20/utils/SafeERC20Upgradeable.sol";

import {IPriceCalculator} from "./IPriceCalculator.sol";
import {IMembership} from "./interfaces/IMembership.sol";

/// @title Membership
/// @notice Membership lifecycle and deposits, without the Merkle tree (see RlnMembership).
/// @dev Lifecycle of a membership, by block.timestamp:
///   active       [registration, gracePeriodStartTimestamp)                 holder cannot erase
///   grace period [gracePeriodStartTimestamp, + gracePeriodDuration)        holder may extend or erase
///   expired      [gracePeriodStartTimestamp + gracePeriodDuration, ...)     anyone may erase
///   erased       the slot is reusable, the rate limit is freed and the deposit is locked (still
///                slashable) until withdrawalDelay blocks after the leaf left the tree, then withdrawable.
/// Names and getters mirror the deployed Waku contract (upgrading a Waku deployment in place is not supported).
abstract contract Membership is Initializable, IMembership {
    using SafeERC20Upgradeable for IERC20Upgradeable;

    /// @notice One registered membership.
    struct MembershipInfo {
        /// @notice The deposit paid at registration.
        uint256 depositAmount;
        /// @notice Length of each active period (seconds).
        uint32 activeDuration;
        /// @notice Start of the grace period (= end of the active period), unix seconds.
        uint256 gracePeriodStartTimestamp;
        /// @notice Length of the grace period (seconds).
        uint32 gracePeriodDuration;
        /// @notice Messages per epoch; never 0 for a registered membership.
        uint32 rateLimit;
        /// @notice Leaf index in the tree.
        uint32 index;
        /// @notice Who registered it: may extend, erase in grace period, and gets the deposit back.
        address holder;
        /// @notice The deposit token.
        address token;
    }

    /// @notice The deposit of an erased membership, locked (and slashable) until `releaseBlock`.
    struct PendingDeposit {
        /// @notice Who gets the deposit back.
        address holder;
        /// @notice First block at which the deposit is no longer slashable and can be withdrawn:
        /// `delay` blocks after the membership's leaf left the tree; LEAF_IN_TREE while it is still there.
        uint64 releaseBlock;
        /// @notice The erased membership's leaf index (its leaf is there while releaseBlock is LEAF_IN_TREE).
        uint32 index;
        /// @notice The deposit token.
        address token;
        /// @notice The erased membership's rate limit.
        uint32 rateLimit;
        /// @notice withdrawalDelay when the membership was erased (later changes of it do not apply).
        uint32 delay;
        /// @notice Position in the holder's list of locked deposits in `token` (lockedDepositIds).
        uint32 position;
        /// @notice The deposit.
        uint256 amount;
    }

    /// @notice releaseBlock of a lazily erased membership's deposit while its leaf is still in the tree.
    uint64 public constant LEAF_IN_TREE = type(uint64).max;

    /// @notice Prices new memberships.
    IPriceCalculator public priceCalculator;

    /// @notice Maximum sum of the rate limits of all memberships (messages per epoch).
    uint32 public maxTotalRateLimit;

    /// @notice Maximum rate limit of one membership.
    uint32 public maxMembershipRateLimit;

    /// @notice Minimum rate limit of one membership.
    uint32 public minMembershipRateLimit;

    /// @notice Active period of new memberships (seconds).
    uint32 public activeDurationForNewMemberships;

    /// @notice Grace period of new memberships (seconds, may be 0).
    uint32 public gracePeriodDurationForNewMemberships;

    /// @notice Balances withdrawable now with withdraw(token). Deposits of erased memberships arrive here
    /// only after their lock (see lockedDeposits); slash rewards and treasury shares arrive at once.
    mapping(address holder => mapping(address token => uint256 balance)) public depositsToWithdraw;

    /// @notice Sum of the rate limits of all registered (not erased) memberships.
    uint256 public currentTotalRateLimit;

    /// @notice Registered memberships by idCommitment (all zero if none).
    mapping(uint256 idCommitment => MembershipInfo membership) public memberships;

    /// @notice Number of slots ever used: the index the next registration gets if none is reused.
    uint32 public nextFreeIndex;

    /// @notice Slots of erased memberships, reused last-in first-out by new registrations.
    uint32[] public indicesOfLazilyErasedMemberships;

    /// @notice Blocks an erased membership's deposit stays locked (and slashable) after its leaf left the
    /// tree. Recorded per deposit at erasure: changing it does not reach deposits already locked.
    uint32 public withdrawalDelay;

    /// @notice Deposit of the erased membership with this idCommitment until it is withdrawn or slashed.
    mapping(uint256 idCommitment => PendingDeposit pending) public pendingDeposits;

    /// @dev idCommitments of each holder's pending deposits per token (released ones included until withdrawn).
    mapping(address holder => mapping(address token => uint256[] idCommitments)) private _lockedIds;

    /// @dev The lazily erased membership whose leaf is still at an index (0 if none).
    mapping(uint32 index => uint256 idCommitment) private _erasedLeafAt;

    /// @dev Reserved storage for future versions.
    uint256[46] private __gap;

    // ------------------------------------------------------------------------------------------ init

    /// @dev Sets the membership parameters; see RlnMembership.initialize.
    function __Membership_init(
        address _priceCalculator,
        uint32 _maxTotalRateLimit,
        uint32 _minMembershipRateLimit,
        uint32 _maxMembershipRateLimit,
        uint32 _activeDuration,
        uint32 _gracePeriod,
        uint32 _withdrawalDelay
    ) internal onlyInitializing {
        _checkRateLimitConfig(_minMembershipRateLimit, _maxMembershipRateLimit, _maxTotalRateLimit);
        if (_activeDuration == 0) revert InvalidActiveDuration(_activeDuration);
        if (_priceCalculator == address(0)) revert InvalidPriceCalculator(_priceCalculator);
        priceCalculator = IPriceCalculator(_priceCalculator);
        maxTotalRateLimit = _maxTotalRateLimit;
        minMembershipRateLimit = _minMembershipRateLimit;
        maxMembershipRateLimit = _maxMembershipRateLimit;
        activeDurationForNewMemberships = _activeDuration;
        gracePeriodDurationForNewMemberships = _gracePeriod;
        withdrawalDelay = _withdrawalDelay;
    }

    // ------------------------------------------------------------------------------------------ views

    /// @notice Whether `rateLimit` is within [minMembershipRateLimit, maxMembershipRateLimit].
    /// @param rateLimit Messages per epoch.
    /// @return True if a membership may have this rate limit.
    function isValidMembershipRateLimit(uint32 rateLimit) public view returns (bool) {
        return minMembershipRateLimit <= rateLimit && rateLimit <= maxMembershipRateLimit;
    }

    /// @notice Whether the membership is in its grace period (false if it does not exist).
    /// @param _idCommitment The membership's idCommitment.
    /// @return True during [gracePeriodStartTimestamp, gracePeriodStartTimestamp + gracePeriodDuration).
    function isInGracePeriod(uint256 _idCommitment) public view returns (bool) {
        MembershipInfo storage m = memberships[_idCommitment];
        return _isInGracePeriod(m.gracePeriodStartTimestamp, m.gracePeriodDuration);
    }

    /// @notice Whether the membership's grace period has ended. As in Waku this only compares timestamps,
    /// so it is also true for an idCommitment that is not registered.
    /// @param _idCommitment The membership's idCommitment.
    /// @return True from membershipExpirationTimestamp on.
    function isExpired(uint256 _idCommitment) public view returns (bool) {
        MembershipInfo storage m = memberships[_idCommitment];
        return _isExpired(m.gracePeriodStartTimestamp, m.gracePeriodDuration);
    }

    /// @notice When the membership expires (0 if it does not exist).
    /// @param _idCommitment The membership's idCommitment.
    /// @return gracePeriodStartTimestamp + gracePeriodDuration.
    function membershipExpirationTimestamp(uint256 _idCommitment) public view returns (uint256) {
        MembershipInfo storage m = memberships[_idCommitment];
        return m.gracePeriodStartTimestamp + m.gracePeriodDuration;
    }

    /// @notice What withdraw(token) would pay `holder` now (released balance plus due locked deposits).
    /// @param holder The holder.
    /// @param token The token.
    /// @return amount The amount.
    function withdrawableBalance(address holder, address token) external view returns (uint256 amount) {
        amount = depositsToWithdraw[holder][token];
        uint256[] storage ids = _lockedIds[holder][token];
        for (uint256 i = 0; i < ids.length; ++i) {
            PendingDeposit storage p = pendingDeposits[ids[i]];
            if (p.releaseBlock <= block.number) amount += p.amount;
        }
    }

    /// @notice The idCommitments of the erased memberships whose deposits `holder` has not withdrawn yet in
    /// `token` (see pendingDeposits for each one's amount and release block).
    /// @param holder The holder.
    /// @param token The token.
    /// @return The idCommitments, in no particular order.
    function lockedDepositIds(address holder, address token) external view returns (uint256[] memory) {
        return _lockedIds[holder][token];
    }

    // ------------------------------------------------------------------------------------------ internals

    function _checkRateLimitConfig(uint32 minLimit, uint32 maxLimit, uint32 totalLimit) internal pure {
        if (minLimit == 0 || minLimit > maxLimit || maxLimit > totalLimit) {
            revert InvalidRateLimitConfig(minLimit, maxLimit, totalLimit);
        }
    }

    function _isInGracePeriod(uint256 start, uint32 duration) private view returns (bool) {
        return start <= block.timestamp && block.timestamp < start + duration;
    }

    function _isExpired(uint256 start, uint32 duration) private view returns (bool) {
        return start + duration <= block.timestamp;
    }

    /// @dev Records a new membership and picks its slot (reusing the last erased one first). Leaves the
    /// tree and the deposit transfer to the caller, which must do both.
    /// @param maxSetSize The number of slots in the tree.
    /// @return index The slot.
    /// @return indexReused Whether the slot held an erased membership before.
    /// @return token The deposit token.
    /// @return depositAmount The deposit to collect from `sender`.
    function _acquireMembership(address sender, uint256 idCommitment, uint32 rateLimit, uint32 maxSetSize)
        internal
        returns (uint32 index, bool indexReused, address token, uint256 depositAmount)
    {
        if (!isValidMembershipRateLimit(rateLimit)) revert InvalidMembershipRateLimit();
        uint256 newTotal = currentTotalRateLimit + rateLimit;
        if (newTotal > maxTotalRateLimit) revert CannotExceedMaxTotalRateLimit();

        uint256 reusable = indicesOfLazilyErasedMemberships.length;
        if (reusable != 0) {
            index = indicesOfLazilyErasedMemberships[reusable - 1];
            indicesOfLazilyErasedMemberships.pop();
            indexReused = true;
            _erasedLeafLeaves(index); // the caller overwrites the slot's leaf
        } else {
            index = nextFreeIndex;
            if (index >= maxSetSize) revert MembershipSetFull();
            nextFreeIndex = index + 1;
        }

        (token, depositAmount) = priceCalculator.calculate(rateLimit);
        currentTotalRateLimit = newTotal;
        uint32 activeDuration = activeDurationForNewMemberships;
        memberships[idCommitment] = MembershipInfo({
            depositAmount: depositAmount,
            activeDuration: activeDuration,
            gracePeriodStartTimestamp: block.timestamp + activeDuration,
            gracePeriodDuration: gracePeriodDurationForNewMemberships,
            rateLimit: rateLimit,
            index: index,
            holder: sender,
            token: token
        });
    }

    /// @dev Before an idCommitment is registered again: a deposit of its previous membership that is still
    /// locked (slashable) blocks the registration; a due one is released to depositsToWithdraw, so that one
    /// idCommitment never has two pending deposits. (A due deposit's leaf left the tree long ago.)
    function _releaseDueDepositOf(uint256 idCommitment) internal {
        PendingDeposit storage p = pendingDeposits[idCommitment];
        uint64 releaseBlock = p.releaseBlock;
        if (releaseBlock == 0) return;
        if (releaseBlock > block.number) revert DepositPendingRelease(idCommitment, releaseBlock);
        (address holder, address token, uint256 amount) = (p.holder, p.token, p.amount);
        _dropPending(idCommitment, p);
        depositsToWithdraw[holder][token] += amount;
        emit DepositReleased(idCommitment, holder, token, amount);
    }

    /// @dev Collects the deposit (after all state changes of a registration). Refuses a token that delivers
    /// another amount than asked (fee-on-transfer, rebasing): the registry owes exactly `amount` back.
    function _collectDeposit(address sender, address token, uint256 amount) internal {
        IERC20Upgradeable t = IERC20Upgradeable(token);
        uint256 before = t.balanceOf(address(this));
        t.safeTransferFrom(sender, address(this), amount);
        uint256 received = t.balanceOf(address(this)) - before;
        if (received != amount) revert DepositNotReceived(token, amount, received);
    }

    /// @dev Extends a grace-period membership of `sender`: the next grace period starts one active period
    /// after the end of the current one.
    function _extendMembership(address sender, uint256 idCommitment) internal {
        MembershipInfo storage m = memberships[idCommitment];
        if (m.rateLimit == 0) revert MembershipDoesNotExist(idCommitment);
        uint256 start = m.gracePeriodStartTimestamp;
        uint32 graceDuration = m.gracePeriodDuration;
        if (!_isInGracePeriod(start, graceDuration)) {
            revert CannotExtendNonGracePeriodMembership(idCommitment);
        }
        if (sender != m.holder) revert NonHolderCannotExtend(idCommitment);

        uint256 newStart = start + graceDuration + m.activeDuration;
        m.gracePeriodStartTimestamp = newStart;
        emit MembershipExtended(idCommitment, m.rateLimit, m.index, newStart);
    }

    /// @dev Erases an expired membership, or a grace-period one of `sender`: frees its slot and rate limit
    /// and locks its deposit. If `leafStays`, the leaf stays in the tree (lazy erasure) and the deposit's
    /// release is scheduled only when the leaf leaves (slot reused, or cleared); else the caller clears the
    /// leaf in this transaction and the deposit is released withdrawalDelay blocks from now.
    /// @return index The freed slot.
    function _eraseMembership(address sender, uint256 idCommitment, bool leafStays)
        internal
        returns (uint32 index)
    {
        MembershipInfo memory m = memberships[idCommitment];
        if (m.rateLimit == 0) revert MembershipDoesNotExist(idCommitment);
        bool expired = _isExpired(m.gracePeriodStartTimestamp, m.gracePeriodDuration);
        if (!expired) {
            if (block.timestamp < m.gracePeriodStartTimestamp) {
                revert CannotEraseActiveMembership(idCommitment);
            }
            if (sender != m.holder) revert NonHolderCannotEraseGracePeriodMembership(idCommitment);
        }

        _removeMembership(idCommitment, m);
        _lockDeposit(idCommitment, m, leafStays);

        if (expired) emit MembershipExpired(idCommitment, m.rateLimit, m.index);
        emit MembershipErased(idCommitment, m.rateLimit, m.index);
        return m.index;
    }

    /// @dev Deletes a membership, freeing its slot and rate limit.
    function _removeMembership(uint256 idCommitment, MembershipInfo memory m) internal {
        currentTotalRateLimit -= m.rateLimit;
        indicesOfLazilyErasedMemberships.push(m.index);
        delete memberships[idCommitment];
    }

    /// @dev Locks an erased membership's deposit in its own record, with the withdrawal delay in force now.
    function _lockDeposit(uint256 idCommitment, MembershipInfo memory m, bool leafStays) private {
        uint32 delay = withdrawalDelay;
        uint64 releaseBlock = leafStays ? LEAF_IN_TREE : uint64(block.number) + delay;
        uint256[] storage ids = _lockedIds[m.holder][m.token];
        pendingDeposits[idCommitment] = PendingDeposit({
            holder: m.holder,
            releaseBlock: releaseBlock,
            index: m.index,
            token: m.token,
            rateLimit: m.rateLimit,
            delay: delay,
            position: uint32(ids.length),
            amount: m.depositAmount
        });
        ids.push(idCommitment);
        if (leafStays) _erasedLeafAt[m.index] = idCommitment;
        emit DepositLocked(idCommitment, m.holder, m.token, m.depositAmount, releaseBlock);
    }

    /// @dev The leaf at `index` is about to be overwritten: if it is a lazily erased membership's, that
    /// deposit's release is scheduled `delay` blocks from now.
    function _erasedLeafLeaves(uint32 index) internal {
        uint256 idCommitment = _erasedLeafAt[index];
        if (idCommitment == 0) return;
        delete _erasedLeafAt[index];
        PendingDeposit storage p = pendingDeposits[idCommitment];
        uint64 releaseBlock = uint64(block.number) + p.delay;
        p.releaseBlock = releaseBlock;
        emit DepositReleaseScheduled(idCommitment, index, releaseBlock);
    }

    /// @dev Removes a pending deposit's record and its entry in the holder's list.
    function _dropPending(uint256 idCommitment, PendingDeposit storage p) private {
        uint256[] storage ids = _lockedIds[p.holder][p.token];
        uint32 position = p.position;
        uint256 last = ids[ids.length - 1];
        if (last != idCommitment) {
            ids[position] = last;
            pendingDeposits[last].position = position;
        }
        ids.pop();
        delete pendingDeposits[idCommitment];
    }

    /// @dev Takes the still-locked deposit of the erased membership with this idCommitment for a slash.
    /// @return pending The erased membership's record (holder, token, index, rate limit, amount).
    /// @return seized False if there is none or it was released (nothing changed then).
    /// @return leafInTree Whether its leaf is still in the tree (the caller must clear it).
    function _takePendingDeposit(uint256 idCommitment)
        internal
        returns (PendingDeposit memory pending, bool seized, bool leafInTree)
    {
        PendingDeposit storage p = pendingDeposits[idCommitment];
        pending = p;
        if (pending.releaseBlock <= block.number) return (pending, false, false); // none, or released
        leafInTree = pending.releaseBlock == LEAF_IN_TREE;
        if (leafInTree) delete _erasedLeafAt[pending.index];
        _dropPending(idCommitment, p);
        seized = true;
    }

    /// @dev The lazily erased membership with this idCommitment, whose leaf is still in the tree, if any.
    /// Its deposit's release is scheduled; the caller clears the leaf.
    /// @return found Whether there is one (nothing changed if not).
    /// @return index The leaf's index.
    function _erasedLeafOf(uint256 idCommitment) internal returns (bool found, uint32 index) {
        PendingDeposit storage p = pendingDeposits[idCommitment];
        if (p.releaseBlock != LEAF_IN_TREE) return (false, 0);
        index = p.index;
        _erasedLeafLeaves(index);
        found = true;
    }

    /// @dev Pays `sender` everything withdrawable in `token`: its balance and each of its deposits whose own
    /// release block has come. Visits every pending deposit of `sender` in `token` (see _withdrawListed).
    function _withdraw(address sender, address token) internal {
        if (token == address(0)) revert InvalidWithdrawalToken();
        uint256 amount = depositsToWithdraw[sender][token];
        uint256[] storage ids = _lockedIds[sender][token];
        for (uint256 i = ids.length; i > 0;) {
            --i;
            uint256 idCommitment = ids[i];
            PendingDeposit storage p = pendingDeposits[idCommitment];
            if (p.releaseBlock > block.number) continue;
            amount += _releaseDue(idCommitment, p, sender, token); // moves the last entry (visited) to i
        }
        _pay(sender, token, amount);
    }

    /// @dev Pays `sender` its balance in `token` and the listed deposits that are due (others are skipped):
    /// the cost is bounded by the list, however many entries others added to the holder's list.
    function _withdrawListed(address sender, address token, uint256[] calldata idCommitments) internal {
        if (token == address(0)) revert InvalidWithdrawalToken();
        uint256 amount = depositsToWithdraw[sender][token];
        for (uint256 i = 0; i < idCommitments.length; ++i) {
            uint256 idCommitment = idCommitments[i];
            PendingDeposit storage p = pendingDeposits[idCommitment];
            if (p.holder != sender || p.token != token) revert NotYourDeposit(idCommitment);
            if (p.releaseBlock > block.number) continue;
            amount += _releaseDue(idCommitment, p, sender, token);
        }
        _pay(sender, token, amount);
    }

    function _releaseDue(uint256 idCommitment, PendingDeposit storage p, address sender, address token)
        private
        returns (uint256 deposit)
    {
        deposit = p.amount;
        _dropPending(idCommitment, p);
        emit DepositReleased(idCommitment, sender, token, deposit);
    }

    function _pay(address sender, address token, uint256 amount) private {
        if (amount == 0) revert NothingToWithdraw(sender, token);
        depositsToWithdraw[sender][token] = 0;
        emit DepositWithdrawn(sender, token, amount);
        IERC20Upgradeable(token).safeTransfer(sender, amount);
    }
}
