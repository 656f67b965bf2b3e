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
///   erased       the slot is reusable, the rate limit is freed and the deposit is locked for
///                withdrawalDelay blocks (still slashable), then withdrawable by the holder.
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
        /// @notice First block at which the deposit is no longer slashable.
        uint64 releaseBlock;
        /// @notice The erased membership's leaf index (its leaf may still be in the tree).
        uint32 index;
        /// @notice The deposit token.
        address token;
        /// @notice The erased membership's rate limit (to recognise its leaf).
        uint32 rateLimit;
        /// @notice The deposit.
        uint256 amount;
    }

    /// @notice Locked deposits of one holder in one token, released together once the latest one is due.
    struct LockedDeposit {
        /// @notice Sum of the locked deposits.
        uint256 amount;
        /// @notice First block at which all of them can be withdrawn.
        uint64 releaseBlock;
    }

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

    /// @notice Blocks an erased membership's deposit stays locked (and slashable) before withdrawal.
    uint32 public withdrawalDelay;

    /// @notice Deposit of the last erased membership with this idCommitment, while it matters for slashing.
    mapping(uint256 idCommitment => PendingDeposit pending) public pendingDeposits;

    /// @notice Locked deposits per holder and token (withdraw() releases them once due).
    mapping(address holder => mapping(address token => LockedDeposit locked)) public lockedDeposits;

    /// @dev Reserved storage for future versions.
    uint256[47] private __gap;

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
    /// @return The amount.
    function withdrawableBalance(address holder, address token) external view returns (uint256) {
        LockedDeposit storage l = lockedDeposits[holder][token];
        uint256 due = l.releaseBlock <= block.number ? l.amount : 0;
        return depositsToWithdraw[holder][token] + due;
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
    /// locked (slashable) blocks the registration; a released one is forgotten.
    /// @return stale The previous membership's record (releaseBlock 0 if none), to clear its old leaf.
    function _forgetReleasedDeposit(uint256 idCommitment) internal returns (PendingDeposit memory stale) {
        stale = pendingDeposits[idCommitment];
        if (stale.releaseBlock == 0) return stale;
        if (stale.releaseBlock > block.number) {
            revert DepositPendingRelease(idCommitment, stale.releaseBlock);
        }
        delete pendingDeposits[idCommitment];
    }

    /// @dev Collects the deposit (after all state changes of a registration).
    function _collectDeposit(address sender, address token, uint256 amount) internal {
        IERC20Upgradeable(token).safeTransferFrom(sender, address(this), amount);
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
    /// and locks its deposit. The leaf stays in the tree; the caller may clear it.
    /// @return index The freed slot.
    function _eraseMembershipLazily(address sender, uint256 idCommitment) internal returns (uint32 index) {
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
        _lockDeposit(idCommitment, m);

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

    /// @dev Locks an erased membership's deposit for withdrawalDelay blocks, releasing first whatever of the
    /// holder's earlier locks in that token is already due (so a new lock never delays those).
    function _lockDeposit(uint256 idCommitment, MembershipInfo memory m) private {
        uint64 releaseBlock = uint64(block.number) + withdrawalDelay;
        pendingDeposits[idCommitment] = PendingDeposit({
            holder: m.holder,
            releaseBlock: releaseBlock,
            index: m.index,
            token: m.token,
            rateLimit: m.rateLimit,
            amount: m.depositAmount
        });
        _unlockIfDue(m.holder, m.token);
        LockedDeposit storage l = lockedDeposits[m.holder][m.token];
        l.amount += m.depositAmount;
        if (releaseBlock > l.releaseBlock) l.releaseBlock = releaseBlock;
        emit DepositLocked(idCommitment, m.holder, m.token, m.depositAmount, releaseBlock);
    }

    /// @dev Moves the holder's locked deposits in `token` to depositsToWithdraw if they are due.
    function _unlockIfDue(address holder, address token) private {
        LockedDeposit storage l = lockedDeposits[holder][token];
        uint256 amount = l.amount;
        if (amount == 0 || l.releaseBlock > block.number) return;
        delete lockedDeposits[holder][token];
        depositsToWithdraw[holder][token] += amount;
        emit DepositUnlocked(holder, token, amount);
    }

    /// @dev Takes the still-locked deposit of the last erased membership with this idCommitment out of its
    /// holder's lock. Returns a zero amount if there is none or it was released.
    /// @return pending The erased membership's record (holder, token, index, rate limit, amount).
    /// @return seized Whether its deposit was still locked and is now taken.
    function _takePendingDeposit(uint256 idCommitment)
        internal
        returns (PendingDeposit memory pending, bool seized)
    {
        pending = pendingDeposits[idCommitment];
        if (pending.releaseBlock == 0) return (pending, false);
        delete pendingDeposits[idCommitment];
        // The holder's lock is due no earlier than any deposit in it, so a deposit not yet due is still in it.
        seized = pending.releaseBlock > block.number;
        if (seized) lockedDeposits[pending.holder][pending.token].amount -= pending.amount;
        else pending.amount = 0;
    }

    /// @dev Pays `sender` everything withdrawable in `token`.
    function _withdraw(address sender, address token) internal {
        if (token == address(0)) revert InvalidWithdrawalToken();
        _unlockIfDue(sender, token);
        uint256 amount = depositsToWithdraw[sender][token];
        if (amount == 0) revert NothingToWithdraw(sender, token);
        depositsToWithdraw[sender][token] = 0;
        emit DepositWithdrawn(sender, token, amount);
        IERC20Upgradeable(token).safeTransfer(sender, amount);
    }
}
