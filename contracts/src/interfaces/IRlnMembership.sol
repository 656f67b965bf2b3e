// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "./IMembership.sol";

/// @title IRlnMembership
/// @notice The RLN v2 membership registry: a superset of the deployed Waku RLN v2 contract's ABI, plus
/// slashing that pays whoever catches a spammer.
/// @dev Slashing: two RLN shares with the same nullifier reveal the spammer's identity secret `s`; the
/// membership whose idCommitment is Poseidon(s) can then be slashed by anyone who knows `s`, in two steps
/// so that a reveal copied from the mempool earns nothing:
///   1. `commitSlash(keccak256(abi.encode(s, rewardReceiver, msg.sender)))`
///   2. `revealSlash(s, rewardReceiver)` from the same sender, in blocks
///      [commitBlock + 1, commitBlock + slashRevealWindow].
/// The membership is erased fully (leaf set to 0) and its deposit credited to `rewardReceiver`
/// (slashRewardBps / 10000 of it) and to `treasury` (the rest), both withdrawable at once via withdraw().
/// The spammer can always slash itself first, so the penalty for spam is exactly the treasury's share.
interface IRlnMembership is IMembership {
    // ---------------------------------------------------------------- errors shared with Waku RLN v2

    /// @notice An idCommitment must satisfy 0 < idCommitment < Q.
    /// @param idCommitment The rejected value.
    error InvalidIdCommitment(uint256 idCommitment);

    /// @notice A range query needs startIndex <= endIndex < nextFreeIndex.
    /// @param startIndex The first index asked for.
    /// @param endIndex The last index asked for.
    error InvalidPaginationQuery(uint256 startIndex, uint256 endIndex);

    // ---------------------------------------------------------------- errors of our own paths

    /// @notice A membership with this idCommitment is in the membership set already.
    /// @param idCommitment The duplicate.
    error DuplicateIdCommitment(uint256 idCommitment);

    /// @notice A Merkle proof was asked for a leaf index the tree does not have yet.
    /// @param index The index asked for.
    /// @param numberOfLeaves The number of leaves in the tree (= nextFreeIndex).
    error MerkleIndexOutOfRange(uint40 index, uint40 numberOfLeaves);

    /// @notice getRootAt takes a position below HISTORY_SIZE (0 = newest).
    /// @param position The rejected position.
    error RootPositionOutOfRange(uint8 position);

    /// @notice No root was stored yet (nothing was ever registered).
    error NoRootsYet();

    /// @notice A slash commitment cannot be zero.
    error InvalidSlashCommitment();

    /// @notice No live commitment of `committer` matches keccak256(abi.encode(secret, rewardReceiver, committer)).
    /// @param committer The revealing sender.
    /// @param commitment The commitment recomputed from the reveal.
    error SlashNotCommitted(address committer, bytes32 commitment);

    /// @notice A reveal must be mined at least one block after its commit.
    /// @param commitment The commitment.
    /// @param firstRevealBlock The first block at which it can be revealed.
    error SlashRevealTooEarly(bytes32 commitment, uint256 firstRevealBlock);

    /// @notice The reveal window of this commitment has passed; commit again.
    /// @param commitment The commitment.
    /// @param lastRevealBlock The last block at which it could be revealed.
    error SlashRevealTooLate(bytes32 commitment, uint256 lastRevealBlock);

    /// @notice An identity secret is a field element: it must be below Q.
    /// @param secret The rejected value.
    error InvalidIdentitySecret(uint256 secret);

    /// @notice The reward receiver cannot be the zero address.
    error InvalidRewardReceiver();

    /// @notice Nothing is slashable for this idCommitment: no membership, no locked deposit, no leaf left.
    /// @param idCommitment Poseidon(secret).
    error NothingToSlash(uint256 idCommitment);

    /// @notice The reward share is in basis points: at most MAX_SLASH_REWARD_BPS (5000).
    /// @param slashRewardBps The rejected share.
    error InvalidSlashRewardBps(uint16 slashRewardBps);

    /// @notice The treasury cannot be the zero address nor the registry itself.
    error InvalidTreasury();

    /// @notice The reveal window must be in [1, MAX_SLASH_REVEAL_WINDOW], and with rootAcceptanceWindow below
    /// withdrawalDelay.
    /// @param slashRevealWindow The rejected window (blocks).
    /// @param withdrawalDelay The withdrawal delay it must stay below (blocks).
    error InvalidSlashRevealWindow(uint32 slashRevealWindow, uint32 withdrawalDelay);

    /// @notice The withdrawal delay must be above slashRevealWindow + rootAcceptanceWindow and at most
    /// MAX_WITHDRAWAL_DELAY.
    /// @param withdrawalDelay The rejected delay (blocks).
    /// @param slashRevealWindow The reveal window it must stay above, with rootAcceptanceWindow (blocks).
    error InvalidWithdrawalDelay(uint32 withdrawalDelay, uint32 slashRevealWindow);

    /// @notice The root acceptance window, with slashRevealWindow, must stay below withdrawalDelay.
    /// @param rootAcceptanceWindow The rejected window (seconds).
    /// @param withdrawalDelay The withdrawal delay it must stay below (blocks).
    error InvalidRootAcceptanceWindow(uint32 rootAcceptanceWindow, uint32 withdrawalDelay);

    // ---------------------------------------------------------------- events shared with Waku RLN v2

    /// @notice The tree changed; `newRoot` is now the newest of the recent roots.
    /// @param newRoot The new root.
    event RootStored(uint256 newRoot);

    // ---------------------------------------------------------------- events of our own paths

    /// @notice `committer` committed to a slash, revealable in blocks [firstRevealBlock, lastRevealBlock].
    /// @param committer The sender who must reveal.
    /// @param commitment keccak256(abi.encode(secret, rewardReceiver, committer)).
    /// @param firstRevealBlock The first block a reveal is accepted.
    /// @param lastRevealBlock The last block a reveal is accepted (with the current window).
    event SlashCommitted(
        address committer, bytes32 commitment, uint256 firstRevealBlock, uint256 lastRevealBlock
    );

    /// @notice A membership was slashed: erased fully and its (locked) deposit split.
    /// @param idCommitment The slashed membership's idCommitment (Poseidon of the revealed secret).
    /// @param index Its leaf index, now 0 in the tree (unless it had been reused).
    /// @param rewardReceiver Who was credited the reward.
    /// @param reward The amount credited to rewardReceiver.
    /// @param treasuryAmount The amount credited to the treasury.
    event MembershipSlashed(
        uint256 idCommitment, uint32 index, address rewardReceiver, uint256 reward, uint256 treasuryAmount
    );

    /// @notice The owner set the reward share of slashes.
    /// @param slashRewardBps The new share, in basis points.
    event SlashRewardBpsSet(uint16 slashRewardBps);

    /// @notice The owner set the treasury.
    /// @param treasury The new treasury.
    event TreasurySet(address treasury);

    /// @notice The owner set the reveal window.
    /// @param slashRevealWindow The new window, in blocks.
    event SlashRevealWindowSet(uint32 slashRevealWindow);

    /// @notice The owner set the withdrawal delay of erased memberships' deposits.
    /// @param withdrawalDelay The new delay, in blocks.
    event WithdrawalDelaySet(uint32 withdrawalDelay);

    /// @notice The owner set how long validators may accept a root after it was superseded.
    /// @param rootAcceptanceWindow The new window, in seconds.
    event RootAcceptanceWindowSet(uint32 rootAcceptanceWindow);

    // ---------------------------------------------------------------- slashing

    /// @notice Step 1 of a slash: commit to keccak256(abi.encode(uint256 secret, address rewardReceiver,
    /// address msg.sender)). Compute it locally: asking a node to compute it leaks the secret.
    /// @param commitment The commitment (not zero). Committing again restarts its window.
    function commitSlash(bytes32 commitment) external;

    /// @notice Step 2 of a slash: reveal the spammer's identity secret, at least one block after the commit
    /// and within slashRevealWindow blocks of it, from the committing sender.
    /// @param secret The identity secret; the slashed membership's idCommitment is PoseidonT2(secret).
    /// @param rewardReceiver Who is credited the reward share (as committed).
    function revealSlash(uint256 secret, address rewardReceiver) external;
}
