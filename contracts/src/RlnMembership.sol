// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {
    Ownable2StepUpgradeable
} from "@openzeppelin/contracts-upgradeable/access/Ownable2StepUpgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {InternalLazyIMT, LazyIMTData} from "@zk-kit/imt.sol/internal/InternalLazyIMT.sol";
import {PoseidonT2} from "poseidon-solidity/PoseidonT2.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";

import {IPriceCalculator} from "./IPriceCalculator.sol";
import {Membership} from "./Membership.sol";
import {RlnMembershipTree} from "./RlnMembershipTree.sol";
import {IRlnMembership} from "./interfaces/IRlnMembership.sol";

/// @title RlnMembership
/// @notice RLN v2 membership registry for the Waku network, with slashing that pays whoever catches a
/// spammer. Its ABI contains every function, event and error of the deployed Waku RLN v2 contract
/// (OpenZeppelin 4.9.6 UUPS proxy, Ownable), with the same signatures. Ownership moves in two steps
/// (transferOwnership, then acceptOwnership by the new owner). The owner can upgrade the implementation,
/// so it can change every rule, deposits included: trust in the owner is trust in its key.
/// @dev The membership set is an on-chain lazy incremental Merkle tree of depth 20 (zk-kit LazyIMT, Poseidon
/// over BN254); the leaf of a membership is PoseidonT3(idCommitment, rateLimit). Erasing a membership
/// leaves its leaf in the tree ("lazy" erasure) until its slot is reused, unless it is erased fully,
/// cleared (clearErasedLeaves) or slashed, which set the leaf to 0. A deposit is released only
/// withdrawalDelay blocks after its leaf left the tree, so a leaf that can prove always has a slashable
/// deposit behind it. Each tree change stores the new root in a ring of the
/// HISTORY_SIZE most recent roots and records when the previous one was superseded. Validators accept a root
/// for at most rootAcceptanceWindow seconds after it was superseded, and withdrawalDelay exceeds that window
/// plus slashRevealWindow, so no root a validator accepts can hold the leaf of a released deposit (blocks are
/// assumed at least one second apart, as on Ethereum). Deploy behind an ERC1967Proxy and call initialize.
///
/// Libraries: PoseidonT2, PoseidonT3 and RlnMembershipTree (the tree code and proof helpers) are external
/// (linked).
contract RlnMembership is
    Initializable,
    Ownable2StepUpgradeable,
    UUPSUpgradeable,
    Membership,
    IRlnMembership
{
    /// @notice The BN254 scalar field modulus: idCommitments and secrets are below it.
    uint256 public constant Q =
        21_888_242_871_839_275_222_246_405_745_257_275_088_548_364_400_416_034_343_698_204_186_575_808_495_617;

    /// @notice Depth of the membership tree.
    uint8 public constant MERKLE_TREE_DEPTH = 20;

    /// @notice Number of slots in the tree: every index in [0, 2^20) is usable.
    uint32 public constant MAX_MEMBERSHIP_SET_SIZE = 1_048_576; // 2 ** MERKLE_TREE_DEPTH

    /// @notice Number of recent roots kept (getRecentRoots, getRootAt).
    uint8 public constant HISTORY_SIZE = 5;

    /// @notice Basis points in one whole.
    uint16 public constant MAX_BPS = 10_000;

    /// @notice Upper bound of slashRevealWindow (blocks): one day of one-second blocks.
    uint32 public constant MAX_SLASH_REVEAL_WINDOW = 86_400;

    /// @notice Upper bound of withdrawalDelay (blocks): thirty days of one-second blocks.
    uint32 public constant MAX_WITHDRAWAL_DELAY = 2_592_000;

    /// @notice Upper bound of slashRewardBps: half. The spammer knows its own secret and can always slash
    /// itself first, so the penalty for spam is exactly 1 - slashRewardBps of the deposit; above half, a
    /// self-slash would be a cheap instant exit (no active period, no delay).
    uint16 public constant MAX_SLASH_REWARD_BPS = 5_000;

    /// @notice Reward share set by initialize: half of the deposit.
    uint16 public constant DEFAULT_SLASH_REWARD_BPS = 5_000;

    /// @notice Reveal window set by initialize (blocks): ~51 minutes of 12 s blocks.
    uint32 public constant DEFAULT_SLASH_REVEAL_WINDOW = 256;

    /// @notice Withdrawal delay set by initialize (blocks): ~1 day of 12 s blocks, ~4 hours of 2 s blocks.
    uint32 public constant DEFAULT_WITHDRAWAL_DELAY = 7_200;

    /// @notice Root acceptance window set by initialize (seconds): validators accept a root for 5 minutes after
    /// it was superseded, enough for publishers whose last sync is a few minutes old.
    uint32 public constant DEFAULT_ROOT_ACCEPTANCE_WINDOW = 300;

    /// @notice Block in which the proxy was initialized (where event sync can start).
    uint32 public deployedBlockNumber;

    /// @notice The membership tree (maxIndex is 2^20 - 1, numberOfLeaves equals nextFreeIndex).
    LazyIMTData public merkleTree;

    /// @dev Ring of recent roots; _rootCursor is the next slot to write.
    uint256[HISTORY_SIZE] private _recentRoots;
    uint8 private _rootCursor;
    bool private _rootsStored;

    /// @notice Share of a slashed deposit credited to the reward receiver, in basis points.
    uint16 public slashRewardBps;

    /// @notice Receives the rest of slashed deposits (credited to depositsToWithdraw).
    address public treasury;

    /// @notice Blocks after its commit block during which a slash can be revealed.
    uint32 public slashRevealWindow;

    /// @notice Block number of each live slash commitment per committer (0 if none).
    mapping(address committer => mapping(bytes32 commitment => uint256 blockNumber)) public slashCommitments;

    /// @notice How long (seconds) validators may accept a proof against a root after the root was superseded
    /// (block.timestamp of the tree change that replaced it; see getRecentRootsSupersededAt). The current root
    /// is always acceptable. withdrawalDelay stays above this window plus slashRevealWindow.
    uint32 public rootAcceptanceWindow;

    /// @dev When the root in each ring slot was superseded (unix seconds; 0 for the newest).
    uint40[HISTORY_SIZE] private _rootSupersededAt;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Initializes the proxy; the caller becomes owner and treasury. Slashing starts with the
    /// DEFAULT_* parameters (change them with the owner setters).
    /// @param _priceCalculator IPriceCalculator pricing new memberships.
    /// @param _maxTotalRateLimit Maximum sum of rate limits (messages per epoch).
    /// @param _minMembershipRateLimit Minimum rate limit of one membership (> 0).
    /// @param _maxMembershipRateLimit Maximum rate limit of one membership (<= _maxTotalRateLimit).
    /// @param _activeDuration Active period of new memberships (seconds, > 0).
    /// @param _gracePeriod Grace period of new memberships (seconds, may be 0).
    function initialize(
        address _priceCalculator,
        uint32 _maxTotalRateLimit,
        uint32 _minMembershipRateLimit,
        uint32 _maxMembershipRateLimit,
        uint32 _activeDuration,
        uint32 _gracePeriod
    ) public initializer {
        __Ownable2Step_init();
        __UUPSUpgradeable_init();
        __Membership_init(
            _priceCalculator,
            _maxTotalRateLimit,
            _minMembershipRateLimit,
            _maxMembershipRateLimit,
            _activeDuration,
            _gracePeriod,
            DEFAULT_WITHDRAWAL_DELAY
        );
        RlnMembershipTree.init(merkleTree);
        deployedBlockNumber = uint32(block.number);
        slashRewardBps = DEFAULT_SLASH_REWARD_BPS;
        slashRevealWindow = DEFAULT_SLASH_REVEAL_WINDOW;
        rootAcceptanceWindow = DEFAULT_ROOT_ACCEPTANCE_WINDOW;
        treasury = _msgSender();
    }

    /// @dev Upgrades are the owner's (the owner can replace every rule, so it is trusted with the deposits).
    function _authorizeUpgrade(address) internal override onlyOwner {}

    // ------------------------------------------------------------------------------------------ views

    /// @notice Whether 0 < idCommitment < Q.
    /// @param idCommitment The value to check.
    /// @return True if it can be registered.
    function isValidIdCommitment(uint256 idCommitment) public pure returns (bool) {
        return 0 < idCommitment && idCommitment < Q;
    }

    /// @notice Whether a membership with this idCommitment is registered (and not erased).
    /// @param idCommitment The idCommitment.
    /// @return True if registered.
    function isInMembershipSet(uint256 idCommitment) public view returns (bool) {
        return memberships[idCommitment].rateLimit != 0;
    }

    /// @notice Rate limit, leaf index and leaf (rate commitment) of a registered membership, else zeros.
    /// @param idCommitment The idCommitment.
    /// @return The rate limit, the index, and the leaf PoseidonT3(idCommitment, rateLimit).
    function getMembershipInfo(uint256 idCommitment) public view returns (uint32, uint32, uint256) {
        MembershipInfo storage m = memberships[idCommitment];
        if (m.rateLimit == 0) return (0, 0, 0);
        return (m.rateLimit, m.index, _leaf(m.index));
    }

    /// @notice Leaves at indices [startIndex, endIndex]: erased slots show their stale leaf, or 0 if erased
    /// fully or slashed.
    /// @param startIndex First index (inclusive).
    /// @param endIndex Last index (inclusive), below nextFreeIndex.
    /// @return The leaves.
    function getRateCommitmentsInRangeBoundsInclusive(uint32 startIndex, uint32 endIndex)
        external
        view
        returns (uint256[] memory)
    {
        return RlnMembershipTree.leafRange(merkleTree, startIndex, endIndex, nextFreeIndex);
    }

    /// @notice The current root of the membership tree (depth 20; the empty tree's root if no leaves).
    /// @return The root.
    function root() public view returns (uint256) {
        return RlnMembershipTree.root(merkleTree);
    }

    /// @notice The HISTORY_SIZE most recent roots, newest first; 0 where fewer were stored.
    /// @return ordered The roots.
    function getRecentRoots() external view returns (uint256[HISTORY_SIZE] memory ordered) {
        (ordered,) = RlnMembershipTree.recentRoots(_recentRoots, _rootSupersededAt, _rootCursor);
    }

    /// @notice When each of getRecentRoots() was superseded by the next tree change (unix seconds, the
    /// block.timestamp of that change), in the same order; 0 for the newest (the current root). A validator
    /// following the chain accepts a root only before supersededAt + rootAcceptanceWindow.
    /// @return supersededAt The times.
    function getRecentRootsSupersededAt() external view returns (uint256[HISTORY_SIZE] memory supersededAt) {
        (, supersededAt) = RlnMembershipTree.recentRoots(_recentRoots, _rootSupersededAt, _rootCursor);
    }

    /// @notice One of the recent roots: 0 is the newest.
    /// @param position Position below HISTORY_SIZE.
    /// @return The root (0 if fewer roots were stored).
    function getRootAt(uint8 position) external view returns (uint256) {
        if (position >= HISTORY_SIZE) revert RootPositionOutOfRange(position);
        if (!_rootsStored) revert NoRootsYet();
        return _recentRoots[(_rootCursor + HISTORY_SIZE - 1 - position) % HISTORY_SIZE];
    }

    /// @notice Sibling path of the leaf at `index`, bottom-up: hash the leaf with element i on the left if bit
    /// i of index is 1, else on the right, to get root().
    /// @param index A leaf index below nextFreeIndex (erased slots included).
    /// @return The MERKLE_TREE_DEPTH siblings.
    function getMerkleProof(uint40 index) external view returns (uint256[MERKLE_TREE_DEPTH] memory) {
        return RlnMembershipTree.merkleProof(merkleTree, index);
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    /// @notice Registers a membership, after erasing the given memberships (expired ones, or the caller's
    /// grace-period ones) lazily to free their rate limit and slots. Approve the deposit first:
    /// priceCalculator.calculate(rateLimit) gives the token and amount.
    /// @param idCommitment The new membership's idCommitment (0 < idCommitment < Q, not registered).
    /// @param rateLimit Its rate limit (messages per epoch).
    /// @param idCommitmentsToErase Memberships to erase first.
    function register(uint256 idCommitment, uint32 rateLimit, uint256[] calldata idCommitmentsToErase)
        external
    {
        _register(idCommitment, rateLimit, idCommitmentsToErase, address(0), type(uint256).max);
    }

    /// @notice Like register, but reverts DepositAboveMaximum unless the deposit is in `token` and at most
    /// `maxDeposit` (a price or token change by the owner cannot take more than the caller agreed to).
    /// @param idCommitment The new membership's idCommitment (0 < idCommitment < Q, not registered).
    /// @param rateLimit Its rate limit (messages per epoch).
    /// @param idCommitmentsToErase Memberships to erase first.
    /// @param token The deposit token the caller expects.
    /// @param maxDeposit The largest deposit the caller accepts.
    function registerWithMaxDeposit(
        uint256 idCommitment,
        uint32 rateLimit,
        uint256[] calldata idCommitmentsToErase,
        address token,
        uint256 maxDeposit
    ) external {
        if (token == address(0)) revert InvalidWithdrawalToken();
        _register(idCommitment, rateLimit, idCommitmentsToErase, token, maxDeposit);
    }

    function _register(
        uint256 idCommitment,
        uint32 rateLimit,
        uint256[] calldata idCommitmentsToErase,
        address maxToken,
        uint256 maxDeposit
    ) private {
        if (!isValidIdCommitment(idCommitment)) {
            revert InvalidIdCommitment(idCommitment);
        }
        if (isInMembershipSet(idCommitment)) revert DuplicateIdCommitment(idCommitment);
        address sender = _msgSender();
        for (uint256 i = 0; i < idCommitmentsToErase.length; ++i) {
            _eraseMembership(sender, idCommitmentsToErase[i], true);
        }
        // The same identity registering again: a due deposit of its previous membership is released.
        _releaseDueDepositOf(idCommitment);

        (uint32 index, bool indexReused, address token, uint256 amount) =
            _acquireMembership(sender, idCommitment, rateLimit, MAX_MEMBERSHIP_SET_SIZE);
        if (maxToken != address(0) && (token != maxToken || amount > maxDeposit)) {
            revert DepositAboveMaximum(token, amount, maxToken, maxDeposit);
        }
        uint256 leaf = PoseidonT3.hash([idCommitment, uint256(rateLimit)]);
        if (!indexReused) merkleTree.numberOfLeaves = uint40(index) + 1;
        _setLeaf(index, leaf);
        _storeRoot();
        emit MembershipRegistered(idCommitment, rateLimit, index);

        _collectDeposit(sender, token, amount);
    }

    /// @notice Extends grace-period memberships of the caller by one active period each.
    /// @param idCommitments The memberships.
    function extendMemberships(uint256[] calldata idCommitments) external {
        address sender = _msgSender();
        for (uint256 i = 0; i < idCommitments.length; ++i) {
            _extendMembership(sender, idCommitments[i]);
        }
    }

    /// @notice Erases expired memberships, or grace-period memberships of the caller, lazily: their leaves
    /// stay in the tree until their slots are reused or cleared (clearErasedLeaves). Each deposit is locked
    /// until withdrawalDelay blocks after its leaf left the tree.
    /// @param idCommitments The memberships.
    function eraseMemberships(uint256[] calldata idCommitments) external {
        _eraseMemberships(idCommitments, false);
    }

    /// @notice Like eraseMemberships(idCommitments), and if eraseFromMembershipSet also sets their leaves to
    /// 0 (more gas; stores one new root for the batch), so that their deposits are released withdrawalDelay
    /// blocks from now.
    /// @param idCommitments The memberships.
    /// @param eraseFromMembershipSet Whether to clear their leaves too.
    function eraseMemberships(uint256[] calldata idCommitments, bool eraseFromMembershipSet) external {
        _eraseMemberships(idCommitments, eraseFromMembershipSet);
    }

    /// @notice Clears the leaves of lazily erased memberships that are still in the tree (anyone may call):
    /// each one's deposit is then released withdrawalDelay (as recorded at its erasure) blocks from now
    /// (DepositReleaseScheduled). One without a leaf left to clear is skipped, so one stale entry cannot void
    /// the batch. Stores one new root for the batch if any leaf was cleared.
    /// @param idCommitments The erased memberships.
    /// @return cleared How many leaves were cleared.
    function clearErasedLeaves(uint256[] calldata idCommitments) external returns (uint256 cleared) {
        for (uint256 i = 0; i < idCommitments.length; ++i) {
            (bool found, uint32 index) = _erasedLeafOf(idCommitments[i]);
            if (!found) continue;
            _setLeaf(index, 0);
            ++cleared;
        }
        if (cleared != 0) _storeRoot();
    }

    /// @notice Pays the caller everything withdrawable in `token`: released deposits (each at its own release
    /// block, withdrawalDelay blocks after its leaf left the tree), slash rewards and treasury shares. Visits
    /// every pending deposit of the caller in `token` (~5 k gas each): with thousands, use withdrawDeposits.
    /// @param token The token.
    function withdraw(address token) external {
        _withdraw(_msgSender(), token);
    }

    /// @notice Like withdraw(token), but releases only the listed deposits (those not yet due are skipped), so
    /// its cost is bounded by the list however many pending deposits the caller has (lockedDepositIds).
    /// Reverts NotYourDeposit for an idCommitment without a pending deposit of the caller in `token`.
    /// @param token The token.
    /// @param idCommitments The erased memberships whose deposits to release.
    function withdrawDeposits(address token, uint256[] calldata idCommitments) external {
        _withdrawListed(_msgSender(), token, idCommitments);
    }

    // ------------------------------------------------------------------------------------------ slashing

    /// @inheritdoc IRlnMembership
    function commitSlash(bytes32 commitment) external {
        if (commitment == bytes32(0)) revert InvalidSlashCommitment();
        address sender = _msgSender();
        slashCommitments[sender][commitment] = block.number;
        emit SlashCommitted(sender, commitment, block.number + 1, block.number + slashRevealWindow);
    }

    /// @inheritdoc IRlnMembership
    function revealSlash(uint256 secret, address rewardReceiver) external {
        address sender = _msgSender();
        bytes32 commitment = keccak256(abi.encode(secret, rewardReceiver, sender));
        uint256 committedAt = slashCommitments[sender][commitment];
        if (committedAt == 0) revert SlashNotCommitted(sender, commitment);
        if (block.number <= committedAt) revert SlashRevealTooEarly(commitment, committedAt + 1);
        uint256 lastRevealBlock = committedAt + slashRevealWindow;
        if (block.number > lastRevealBlock) revert SlashRevealTooLate(commitment, lastRevealBlock);
        if (secret >= Q) revert InvalidIdentitySecret(secret);
        if (rewardReceiver == address(0)) revert InvalidRewardReceiver();
        delete slashCommitments[sender][commitment];

        _slash(PoseidonT2.hash([secret]), rewardReceiver);
    }

    /// @dev Erases the membership fully (or, if it was erased already, takes its still-locked deposit and
    /// clears its leaf if still there) and credits the deposit to the reward receiver and the treasury.
    /// A released deposit's leaf left the tree withdrawalDelay blocks before, so there is nothing to clear.
    function _slash(uint256 idCommitment, address rewardReceiver) private {
        MembershipInfo memory m = memberships[idCommitment];
        address token;
        uint256 amount;
        uint32 index;
        if (m.rateLimit != 0) {
            // Registered: active, in grace period, or expired but not yet erased.
            _removeMembership(idCommitment, m);
            (token, amount, index) = (m.token, m.depositAmount, m.index);
            _setLeaf(index, 0);
            _storeRoot();
            emit MembershipErased(idCommitment, m.rateLimit, index);
        } else {
            // Erased already: its deposit may still be locked, its leaf may still be in the tree.
            (PendingDeposit memory p, bool seized, bool leafInTree) = _takePendingDeposit(idCommitment);
            if (!seized) revert NothingToSlash(idCommitment);
            (token, amount, index) = (p.token, p.amount, p.index);
            if (leafInTree) {
                _setLeaf(index, 0);
                _storeRoot();
            }
        }

        uint256 reward = amount * slashRewardBps / MAX_BPS;
        uint256 treasuryAmount = amount - reward;
        if (reward != 0) depositsToWithdraw[rewardReceiver][token] += reward;
        if (treasuryAmount != 0) depositsToWithdraw[treasury][token] += treasuryAmount;
        emit MembershipSlashed(idCommitment, index, rewardReceiver, reward, treasuryAmount);
    }

    // ------------------------------------------------------------------------------------------ owner

    /// @notice Sets the price calculator for new memberships.
    /// @param _priceCalculator The new IPriceCalculator (not zero).
    function setPriceCalculator(address _priceCalculator) external onlyOwner {
        if (_priceCalculator == address(0)) revert InvalidPriceCalculator(_priceCalculator);
        priceCalculator = IPriceCalculator(_priceCalculator);
    }

    /// @notice Sets the maximum sum of rate limits (existing memberships stay).
    /// @param _maxTotalRateLimit The new maximum (>= maxMembershipRateLimit).
    function setMaxTotalRateLimit(uint32 _maxTotalRateLimit) external onlyOwner {
        _checkRateLimitConfig(minMembershipRateLimit, maxMembershipRateLimit, _maxTotalRateLimit);
        maxTotalRateLimit = _maxTotalRateLimit;
    }

    /// @notice Sets the maximum rate limit of new memberships.
    /// @param _maxMembershipRateLimit The new maximum (>= minMembershipRateLimit, <= maxTotalRateLimit).
    function setMaxMembershipRateLimit(uint32 _maxMembershipRateLimit) external onlyOwner {
        _checkRateLimitConfig(minMembershipRateLimit, _maxMembershipRateLimit, maxTotalRateLimit);
        maxMembershipRateLimit = _maxMembershipRateLimit;
    }

    /// @notice Sets the minimum rate limit of new memberships.
    /// @param _minMembershipRateLimit The new minimum (> 0, <= maxMembershipRateLimit).
    function setMinMembershipRateLimit(uint32 _minMembershipRateLimit) external onlyOwner {
        _checkRateLimitConfig(_minMembershipRateLimit, maxMembershipRateLimit, maxTotalRateLimit);
        minMembershipRateLimit = _minMembershipRateLimit;
    }

    /// @notice Sets the active period of new memberships (existing ones keep theirs).
    /// @param _activeDurationForNewMembership Seconds (> 0).
    function setActiveDuration(uint32 _activeDurationForNewMembership) external onlyOwner {
        if (_activeDurationForNewMembership == 0) {
            revert InvalidActiveDuration(_activeDurationForNewMembership);
        }
        activeDurationForNewMemberships = _activeDurationForNewMembership;
    }

    /// @notice Sets the grace period of new memberships (existing ones keep theirs).
    /// @param _gracePeriodDurationForNewMembership Seconds (may be 0).
    function setGracePeriodDuration(uint32 _gracePeriodDurationForNewMembership) external onlyOwner {
        gracePeriodDurationForNewMemberships = _gracePeriodDurationForNewMembership;
    }

    /// @notice Sets the reward share of slashes (the penalty for spam is exactly the rest: see
    /// MAX_SLASH_REWARD_BPS).
    /// @param _slashRewardBps Basis points (<= MAX_SLASH_REWARD_BPS); the treasury gets the rest.
    function setSlashRewardBps(uint16 _slashRewardBps) external onlyOwner {
        if (_slashRewardBps > MAX_SLASH_REWARD_BPS) revert InvalidSlashRewardBps(_slashRewardBps);
        slashRewardBps = _slashRewardBps;
        emit SlashRewardBpsSet(_slashRewardBps);
    }

    /// @notice Sets the treasury credited with the non-reward share of slashes.
    /// @param _treasury The new treasury (not zero, not the registry).
    function setTreasury(address _treasury) external onlyOwner {
        if (_treasury == address(0) || _treasury == address(this)) revert InvalidTreasury();
        treasury = _treasury;
        emit TreasurySet(_treasury);
    }

    /// @notice Sets the reveal window; applies to commitments not yet revealed too.
    /// @param _slashRevealWindow Blocks, in [1, MAX_SLASH_REVEAL_WINDOW]; plus rootAcceptanceWindow below
    /// withdrawalDelay.
    function setSlashRevealWindow(uint32 _slashRevealWindow) external onlyOwner {
        if (
            _slashRevealWindow == 0 || _slashRevealWindow > MAX_SLASH_REVEAL_WINDOW
                || uint256(_slashRevealWindow) + rootAcceptanceWindow >= withdrawalDelay
        ) revert InvalidSlashRevealWindow(_slashRevealWindow, withdrawalDelay);
        slashRevealWindow = _slashRevealWindow;
        emit SlashRevealWindowSet(_slashRevealWindow);
    }

    /// @notice Sets how long deposits of memberships erased from now on stay locked after their leaves left
    /// the tree (deposits locked already keep the delay recorded at their erasure).
    /// @param _withdrawalDelay Blocks, above slashRevealWindow + rootAcceptanceWindow and at most
    /// MAX_WITHDRAWAL_DELAY.
    function setWithdrawalDelay(uint32 _withdrawalDelay) external onlyOwner {
        if (
            _withdrawalDelay <= uint256(slashRevealWindow) + rootAcceptanceWindow
                || _withdrawalDelay > MAX_WITHDRAWAL_DELAY
        ) {
            revert InvalidWithdrawalDelay(_withdrawalDelay, slashRevealWindow);
        }
        withdrawalDelay = _withdrawalDelay;
        emit WithdrawalDelaySet(_withdrawalDelay);
    }

    /// @notice Sets how long validators may accept a root after it was superseded (they read it here). Applies
    /// to roots superseded before too; deposits locked already keep the delay recorded at their erasure, so
    /// raise it only with a withdrawalDelay whose margin covers the deposits still locked.
    /// @param _rootAcceptanceWindow Seconds; plus slashRevealWindow below withdrawalDelay.
    function setRootAcceptanceWindow(uint32 _rootAcceptanceWindow) external onlyOwner {
        if (uint256(_rootAcceptanceWindow) + slashRevealWindow >= withdrawalDelay) {
            revert InvalidRootAcceptanceWindow(_rootAcceptanceWindow, withdrawalDelay);
        }
        rootAcceptanceWindow = _rootAcceptanceWindow;
        emit RootAcceptanceWindowSet(_rootAcceptanceWindow);
    }

    // ------------------------------------------------------------------------------------------ tree

    function _eraseMemberships(uint256[] calldata idCommitments, bool eraseFromMembershipSet) private {
        address sender = _msgSender();
        for (uint256 i = 0; i < idCommitments.length; ++i) {
            uint32 index = _eraseMembership(sender, idCommitments[i], !eraseFromMembershipSet);
            if (eraseFromMembershipSet) _setLeaf(index, 0);
        }
        if (eraseFromMembershipSet && idCommitments.length != 0) _storeRoot();
    }

    /// @dev Writes the leaf at an index below numberOfLeaves and updates its ancestors. Appending works the
    /// same way once numberOfLeaves counts the new leaf, which also makes the last slot (2^20 - 1) usable:
    /// LazyIMT's own insert stops one slot short of maxIndex.
    function _setLeaf(uint32 index, uint256 leaf) private {
        RlnMembershipTree.setLeaf(merkleTree, leaf, index);
    }

    /// @dev The leaf at `index` (0 if never written or cleared).
    function _leaf(uint40 index) private view returns (uint256) {
        return merkleTree.elements[InternalLazyIMT._indexForElement(0, index)];
    }

    /// @dev Pushes the current root into the ring of recent roots and records that the previous one was
    /// superseded now.
    function _storeRoot() private {
        uint256 newRoot = root();
        uint8 cursor = _rootCursor;
        _recentRoots[cursor] = newRoot;
        _rootSupersededAt[cursor] = 0;
        _rootSupersededAt[(cursor + HISTORY_SIZE - 1) % HISTORY_SIZE] = uint40(block.timestamp);
        _rootCursor = (cursor + 1) % HISTORY_SIZE;
        _rootsStored = true;
        emit RootStored(newRoot);
    }
}
