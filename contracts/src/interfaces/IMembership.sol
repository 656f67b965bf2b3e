// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IMembership
/// @notice Errors and events of the membership lifecycle and its deposits.
/// @dev Names and parameter types of everything the deployed Waku RLN v2 contract also has are identical to
/// it (events carry no indexed fields, as there). The rest is ours: a deposit of an erased membership is
/// locked until `withdrawalDelay` blocks after its leaf left the tree, so that a spammer cannot withdraw it
/// ahead of a slash (see contracts/README.md).
interface IMembership {
    // ---------------------------------------------------------------- errors shared with Waku RLN v2

    /// @notice The rate limit is outside [minMembershipRateLimit, maxMembershipRateLimit].
    error InvalidMembershipRateLimit();

    /// @notice Registering would take currentTotalRateLimit above maxTotalRateLimit.
    error CannotExceedMaxTotalRateLimit();

    /// @notice Only a membership in its grace period can be extended.
    /// @param idCommitment The membership's idCommitment.
    error CannotExtendNonGracePeriodMembership(uint256 idCommitment);

    /// @notice Only the holder of a membership may extend it.
    /// @param idCommitment The membership's idCommitment.
    error NonHolderCannotExtend(uint256 idCommitment);

    /// @notice An active membership cannot be erased (wait for its grace period or expiry).
    /// @param idCommitment The membership's idCommitment.
    error CannotEraseActiveMembership(uint256 idCommitment);

    /// @notice During the grace period only the holder may erase a membership; anyone may once it expired.
    /// @param idCommitment The membership's idCommitment.
    error NonHolderCannotEraseGracePeriodMembership(uint256 idCommitment);

    /// @notice No membership with this idCommitment is registered (or it was erased already).
    /// @param idCommitment The idCommitment looked up.
    error MembershipDoesNotExist(uint256 idCommitment);

    // ---------------------------------------------------------------- errors of our own paths

    /// @notice All 2^20 slots hold a membership and none was erased to reuse.
    error MembershipSetFull();

    /// @notice This idCommitment's previous membership was erased and its deposit is still locked (and
    /// slashable); it can be registered again from `releaseBlock` on.
    /// @param idCommitment The idCommitment being registered.
    /// @param releaseBlock The first block at which the previous deposit is released (2^64 - 1 while its leaf
    /// is still in the tree: the release is scheduled when the leaf leaves).
    error DepositPendingRelease(uint256 idCommitment, uint256 releaseBlock);

    /// @notice The deposit token delivered another amount than transferred (fee-on-transfer or rebasing
    /// tokens are refused: the registry must be able to pay every deposit back in full).
    /// @param token The deposit token.
    /// @param expected The deposit asked for.
    /// @param received What the registry's balance grew by.
    error DepositNotReceived(address token, uint256 expected, uint256 received);

    /// @notice The deposit of a registration would be above what the caller accepts (registerWithMaxDeposit).
    /// @param token The deposit token the price calculator asks for.
    /// @param deposit The deposit it asks for.
    /// @param maxToken The token the caller accepts.
    /// @param maxDeposit The most the caller accepts to pay.
    error DepositAboveMaximum(address token, uint256 deposit, address maxToken, uint256 maxDeposit);

    /// @notice withdrawDeposits was given an idCommitment without a pending deposit of the caller in that token.
    /// @param idCommitment The idCommitment.
    error NotYourDeposit(uint256 idCommitment);

    /// @notice Deposits are ERC20 tokens: the zero address is not a token.
    error InvalidWithdrawalToken();

    /// @notice The caller has nothing withdrawable in this token (locked deposits unlock after the delay).
    /// @param holder The caller.
    /// @param token The token asked for.
    error NothingToWithdraw(address holder, address token);

    /// @notice Rate limits must satisfy 0 < min <= max <= total.
    /// @param minMembershipRateLimit The resulting minimum rate limit per membership.
    /// @param maxMembershipRateLimit The resulting maximum rate limit per membership.
    /// @param maxTotalRateLimit The resulting maximum total rate limit.
    error InvalidRateLimitConfig(
        uint32 minMembershipRateLimit, uint32 maxMembershipRateLimit, uint32 maxTotalRateLimit
    );

    /// @notice The active duration of new memberships must be positive.
    /// @param activeDuration The rejected duration (seconds).
    error InvalidActiveDuration(uint32 activeDuration);

    /// @notice The price calculator must be a contract address, not zero.
    /// @param priceCalculator The rejected address.
    error InvalidPriceCalculator(address priceCalculator);

    // ---------------------------------------------------------------- events shared with Waku RLN v2

    /// @notice A membership was registered (its leaf is at `index` of the tree).
    /// @param idCommitment The membership's idCommitment.
    /// @param membershipRateLimit Its rate limit (messages per epoch).
    /// @param index Its leaf index.
    event MembershipRegistered(uint256 idCommitment, uint256 membershipRateLimit, uint32 index);

    /// @notice An expired membership was erased (always followed by MembershipErased).
    /// @param idCommitment The membership's idCommitment.
    /// @param membershipRateLimit Its rate limit.
    /// @param index Its leaf index.
    event MembershipExpired(uint256 idCommitment, uint32 membershipRateLimit, uint32 index);

    /// @notice A membership was erased: its slot is reusable and its rate limit freed. Its leaf stays in the
    /// tree unless erased fully or slashed, until the slot is reused.
    /// @param idCommitment The membership's idCommitment.
    /// @param membershipRateLimit Its rate limit.
    /// @param index Its leaf index.
    event MembershipErased(uint256 idCommitment, uint32 membershipRateLimit, uint32 index);

    /// @notice A grace-period membership was extended by its holder.
    /// @param idCommitment The membership's idCommitment.
    /// @param membershipRateLimit Its rate limit.
    /// @param index Its leaf index.
    /// @param newGracePeriodStartTimestamp When its next grace period starts.
    event MembershipExtended(
        uint256 idCommitment, uint32 membershipRateLimit, uint32 index, uint256 newGracePeriodStartTimestamp
    );

    // ---------------------------------------------------------------- events of our own paths

    /// @notice An erased membership's deposit was locked until `releaseBlock` (slashable until then).
    /// @param idCommitment The erased membership's idCommitment.
    /// @param holder Who gets the deposit back.
    /// @param token The deposit token.
    /// @param amount The deposit.
    /// @param releaseBlock The first block at which the deposit can be withdrawn; 2^64 - 1 (LEAF_IN_TREE) if
    /// the leaf stays in the tree (lazy erasure): DepositReleaseScheduled follows when it leaves.
    event DepositLocked(
        uint256 idCommitment, address holder, address token, uint256 amount, uint256 releaseBlock
    );

    /// @notice A lazily erased membership's leaf left the tree (its slot was reused, or it was cleared): its
    /// deposit is released `releaseBlock`, the withdrawal delay recorded at its erasure from now.
    /// @param idCommitment The erased membership's idCommitment.
    /// @param index Its former leaf index.
    /// @param releaseBlock The first block at which the deposit can be withdrawn.
    event DepositReleaseScheduled(uint256 idCommitment, uint32 index, uint256 releaseBlock);

    /// @notice An erased membership's deposit was released to its holder's withdrawable balance.
    /// @param idCommitment The erased membership's idCommitment.
    /// @param holder The holder.
    /// @param token The token.
    /// @param amount The deposit.
    event DepositReleased(uint256 idCommitment, address holder, address token, uint256 amount);

    /// @notice `holder` withdrew `amount` of `token`.
    /// @param holder The receiver.
    /// @param token The token.
    /// @param amount The amount transferred.
    event DepositWithdrawn(address holder, address token, uint256 amount);
}
