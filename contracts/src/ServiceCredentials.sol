// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/security/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IServiceCredentials} from "./interfaces/IServiceCredentials.sol";

/// @title ServiceCredentials
/// @notice Pays node operators (providers) for the service they give, from escrows funded by payers, with
/// signed cumulative vouchers (EIP-712); a protocol fee on every claim goes to a treasury.
/// @dev Not upgradeable. Money flows: deposit (payer -> escrow), claim/claimMany (escrow -> payout + fees credited
/// to the treasury), withdrawFees (fees -> treasury), withdraw (escrow -> payer, after a thaw). Every state change happens before the token transfers; deposit,
/// which must measure what arrived, is guarded against reentrancy instead.
contract ServiceCredentials is IServiceCredentials, EIP712, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @dev One escrow of (payer, provider, token): two storage slots. The first holds what a claim reads and
    /// writes (balance, collected), the second the thaw.
    struct Escrow {
        uint128 balance;
        uint128 collected;
        uint128 thawAmount;
        uint64 thawEnd;
    }

    /// @dev A signer key of a payer: authorized, and when it stops being valid (0: no revocation started).
    struct SignerInfo {
        bool authorized;
        uint64 revokeAt;
    }

    /// @dev A provider's advertised service (not read by claims).
    struct Service {
        address token;
        address payout;
        uint256 pricePerRequest;
    }

    /// @notice keccak256 of the voucher's EIP-712 type string.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address payer,address provider,address token,address payout,uint256 cumulativeAmount)"
    );

    /// @inheritdoc IServiceCredentials
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @dev The longest thaw periods (a longer one would only lock payers out).
    uint64 private constant MAX_PERIOD = 365 days;

    /// @dev Basis points in one whole.
    uint256 private constant BPS = 10_000;

    /// @inheritdoc IServiceCredentials
    uint64 public immutable thawPeriod;

    /// @inheritdoc IServiceCredentials
    uint64 public immutable signerThawPeriod;

    /// @inheritdoc IServiceCredentials
    address public treasury;

    /// @inheritdoc IServiceCredentials
    uint16 public feeBps; // packed with treasury

    /// @inheritdoc IServiceCredentials
    mapping(address token => uint256) public accruedFees;

    mapping(address payer => mapping(address provider => mapping(address token => Escrow))) private _escrows;
    mapping(address payer => mapping(address signer => SignerInfo)) private _signers;
    mapping(address provider => mapping(uint32 serviceId => Service)) private _services;

    /// @param owner_ The owner (sets the fee and the treasury; two-step transfer).
    /// @param treasury_ Where protocol fees go (non-zero).
    /// @param feeBps_ The protocol fee in basis points (<= MAX_FEE_BPS).
    /// @param thawPeriod_ How long a thaw lasts before withdraw, in seconds (1 ... 365 days).
    /// @param signerThawPeriod_ How long a signer stays valid after its revocation starts, in seconds
    /// (1 ... 365 days); raised to thawPeriod_ if shorter (a revocation never takes effect inside a payer's thaw).
    constructor(
        address owner_,
        address treasury_,
        uint16 feeBps_,
        uint64 thawPeriod_,
        uint64 signerThawPeriod_
    ) EIP712("rlnkit ServiceCredentials", "1") {
        if (owner_ == address(0)) revert InvalidOwner();
        if (
            thawPeriod_ == 0 || signerThawPeriod_ == 0 || thawPeriod_ > MAX_PERIOD
                || signerThawPeriod_ > MAX_PERIOD
        ) {
            revert InvalidThawPeriods(thawPeriod_, signerThawPeriod_);
        }
        thawPeriod = thawPeriod_;
        signerThawPeriod = signerThawPeriod_ < thawPeriod_ ? thawPeriod_ : signerThawPeriod_;
        _setTreasury(treasury_);
        _setProtocolFee(feeBps_);
        _transferOwnership(owner_);
    }

    // ------------------------------------------------------------------------------------------ provider side

    /// @inheritdoc IServiceCredentials
    function registerService(uint32 serviceId, address token, uint256 pricePerRequest, address payout)
        external
    {
        if (token == address(0)) revert InvalidToken();
        if (payout == address(0) || payout == address(this)) revert InvalidPayout();
        _services[msg.sender][serviceId] =
            Service({token: token, payout: payout, pricePerRequest: pricePerRequest});
        emit ServiceRegistered(msg.sender, serviceId, token, pricePerRequest, payout);
    }

    /// @inheritdoc IServiceCredentials
    function service(address provider, uint32 serviceId)
        external
        view
        returns (address token, uint256 pricePerRequest, address payout)
    {
        Service storage s = _services[provider][serviceId];
        return (s.token, s.pricePerRequest, s.payout);
    }

    /// @inheritdoc IServiceCredentials
    function claim(Voucher calldata v, bytes calldata signature, uint256 maxAmount)
        external
        returns (uint256 paid)
    {
        if (msg.sender != v.provider) revert NotProvider(msg.sender, v.provider);
        if (v.payout == address(0) || v.payout == address(this)) revert InvalidPayout();
        address payer = v.payer;
        _checkSignature(v, payer, signature, 0);

        uint256 total;
        {
            Escrow storage e = _escrows[payer][msg.sender][v.token];
            (uint256 balance, uint256 done) = _loadClaimSlot(e);
            uint256 cumulative = v.cumulativeAmount;
            if (cumulative <= done) revert StaleVoucher(cumulative, done);
            unchecked {
                paid = cumulative - done; // > 0: checked just above
            }
            if (maxAmount < paid) paid = maxAmount;
            if (balance < paid) paid = balance;
            if (paid == 0) revert NothingToClaim(payer, msg.sender, v.token);
            unchecked {
                total = done + paid; // both below 2^128
                _storeClaimSlot(e, balance - paid, total); // paid <= balance
            }
        }
        uint256 fee;
        unchecked {
            fee = paid * feeBps / BPS; // paid < 2^128, feeBps <= 1000: no overflow; fee <= paid
        }
        if (fee != 0) accruedFees[v.token] += fee;
        emit Claimed(payer, msg.sender, v.token, v.payout, paid, fee, total);

        unchecked {
            IERC20(v.token).safeTransfer(v.payout, paid - fee);
        }
    }

    /// @inheritdoc IServiceCredentials
    function claimMany(Voucher[] calldata vs, bytes[] calldata signatures) external returns (uint256 paid) {
        uint256 n = vs.length;
        if (n == 0) revert EmptyBatch();
        if (signatures.length != n) revert LengthMismatch(n, signatures.length);
        address token = vs[0].token;
        address payout = vs[0].payout;
        if (payout == address(0) || payout == address(this)) revert InvalidPayout();
        uint256 bps = feeBps;

        uint256 fees;
        for (uint256 i = 0; i < n;) {
            (uint256 amount, uint256 fee) = _claimInBatch(vs[i], signatures[i], i, token, payout, bps);
            unchecked {
                // Each amount is below 2^128 and comes out of an escrow of this token held by this contract:
                // the sums are bounded by the token's supply. fee <= amount.
                paid += amount;
                fees += fee;
                ++i;
            }
        }

        if (fees != 0) accruedFees[token] += fees;
        if (paid != 0) {
            unchecked {
                IERC20(token).safeTransfer(payout, paid - fees); // fees <= paid
            }
        }
    }

    /// @inheritdoc IServiceCredentials
    function withdrawFees(address token) external returns (uint256 amount) {
        address treasury_ = treasury;
        if (msg.sender != treasury_) revert NotTreasury(msg.sender, treasury_);
        amount = accruedFees[token];
        accruedFees[token] = 0;
        emit FeesWithdrawn(treasury_, token, amount);
        if (amount != 0) IERC20(token).safeTransfer(treasury_, amount);
    }

    // ------------------------------------------------------------------------------------------ payer side

    /// @inheritdoc IServiceCredentials
    function deposit(address provider, address token, uint256 amount) external nonReentrant {
        if (token == address(0)) revert InvalidToken();
        IERC20 t = IERC20(token);
        uint256 before = t.balanceOf(address(this));
        t.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = t.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroDeposit();

        Escrow storage e = _escrows[msg.sender][provider][token];
        uint256 balance = e.balance + received;
        if (balance > type(uint128).max) revert AmountTooLarge(balance);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.balance = uint128(balance);
        emit Deposited(msg.sender, provider, token, received);
    }

    /// @inheritdoc IServiceCredentials
    function authorizeSigner(address signer) external {
        if (signer == address(0) || signer == msg.sender) revert InvalidSigner(signer);
        _signers[msg.sender][signer] = SignerInfo({authorized: true, revokeAt: 0});
        emit SignerAuthorized(msg.sender, signer);
    }

    /// @inheritdoc IServiceCredentials
    /// @dev Idempotent while a revocation is pending: it keeps the earlier revokeAt (never extends validity).
    function startSignerRevocation(address signer) external {
        SignerInfo storage s = _signers[msg.sender][signer];
        if (!_isValid(s)) revert SignerNotAuthorized(msg.sender, signer);
        uint64 revokeAt = s.revokeAt;
        if (revokeAt == 0) {
            revokeAt = uint64(block.timestamp) + signerThawPeriod;
            s.revokeAt = revokeAt;
        }
        emit SignerRevocationStarted(msg.sender, signer, revokeAt);
    }

    /// @inheritdoc IServiceCredentials
    function revokeSigner(address signer) external {
        SignerInfo storage s = _signers[msg.sender][signer];
        if (!s.authorized) revert SignerNotAuthorized(msg.sender, signer);
        uint64 revokeAt = s.revokeAt;
        if (revokeAt == 0) revert SignerRevocationNotStarted(msg.sender, signer);
        if (block.timestamp < revokeAt) revert SignerStillThawing(revokeAt);
        delete _signers[msg.sender][signer];
        emit SignerRevoked(msg.sender, signer);
    }

    /// @inheritdoc IServiceCredentials
    /// @dev A cancelled thaw (amount 0) is reported with thawEnd 0.
    function thaw(address provider, address token, uint256 amount) external {
        Escrow storage e = _escrows[msg.sender][provider][token];
        uint256 balance = e.balance;
        if (amount > balance) revert ThawExceedsBalance(amount, balance);
        uint64 thawEnd = amount == 0 ? 0 : uint64(block.timestamp) + thawPeriod;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.thawAmount = uint128(amount); // <= balance < 2^128
        e.thawEnd = thawEnd;
        emit ThawStarted(msg.sender, provider, token, amount, thawEnd);
    }

    /// @inheritdoc IServiceCredentials
    function withdraw(address provider, address token) external returns (uint256 amount) {
        Escrow storage e = _escrows[msg.sender][provider][token];
        amount = e.thawAmount;
        uint64 thawEnd = e.thawEnd;
        if (amount == 0) revert NoThaw(msg.sender, provider, token);
        if (block.timestamp < thawEnd) revert ThawNotEnded(thawEnd);
        uint256 balance = e.balance;
        if (balance < amount) amount = balance; // claims may have taken part of it meanwhile
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            e.balance = uint128(balance - amount);
        }
        e.thawAmount = 0;
        e.thawEnd = 0;
        emit Withdrawn(msg.sender, provider, token, amount);
        if (amount != 0) IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------------------------------ views

    /// @inheritdoc IServiceCredentials
    function escrow(address payer, address provider, address token)
        external
        view
        returns (uint256 balance, uint256 thawAmount, uint64 thawEnd)
    {
        Escrow storage e = _escrows[payer][provider][token];
        (balance, thawAmount, thawEnd) = (e.balance, e.thawAmount, e.thawEnd);
        if (thawAmount > balance) thawAmount = balance; // claims took part of it since the thaw started
    }

    /// @inheritdoc IServiceCredentials
    function collected(address payer, address provider, address token) external view returns (uint256) {
        return _escrows[payer][provider][token].collected;
    }

    /// @inheritdoc IServiceCredentials
    function isAuthorized(address payer, address signer) public view returns (bool) {
        return signer == payer || _isValid(_signers[payer][signer]);
    }

    /// @inheritdoc IServiceCredentials
    function signerState(address payer, address signer)
        external
        view
        returns (bool authorized, uint64 revokeAt)
    {
        SignerInfo storage s = _signers[payer][signer];
        return (s.authorized, s.revokeAt);
    }

    /// @inheritdoc IServiceCredentials
    function hashVoucher(Voucher calldata v) public view returns (bytes32 digest) {
        bytes32 typeHash = VOUCHER_TYPEHASH;
        bytes32 domain = _domainSeparatorV4();
        // = keccak256("\x19\x01" ‖ domain ‖ keccak256(abi.encode(VOUCHER_TYPEHASH, v))), without abi.encode's
        // copy: the voucher's five words are copied from calldata as they are. Their address fields are
        // clean: every path that uses a voucher reads them through Solidity, which reverts on dirty bits.
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), v, 0xa0)
            let structHash := keccak256(m, 0xc0)
            mstore(m, 0x1901)
            mstore(add(m, 0x20), domain)
            mstore(add(m, 0x40), structHash)
            digest := keccak256(add(m, 0x1e), 0x42)
        }
    }

    /// @inheritdoc IServiceCredentials
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------------------------------ owner

    /// @inheritdoc IServiceCredentials
    function setProtocolFee(uint16 bps) external onlyOwner {
        _setProtocolFee(bps);
    }

    /// @inheritdoc IServiceCredentials
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    // ------------------------------------------------------------------------------------------ internal

    function _setProtocolFee(uint16 bps) private {
        if (bps > MAX_FEE_BPS) revert FeeTooHigh(bps, MAX_FEE_BPS);
        feeBps = bps;
        emit ProtocolFeeSet(bps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0) || treasury_ == address(this)) revert InvalidTreasury();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    /// @dev One voucher of claimMany: checks it (a voucher a claim would refuse is skipped with VoucherSkipped),
    /// debits its escrow by its unclaimed rest (limited by the balance, possibly 0) and emits its Claimed event.
    /// Transfers are left to the caller.
    function _claimInBatch(
        Voucher calldata v,
        bytes calldata signature,
        uint256 index,
        address token,
        address payout,
        uint256 bps
    ) private returns (uint256 amount, uint256 fee) {
        address payer = v.payer;
        bytes memory refusal;
        if (v.provider != msg.sender) {
            refusal = abi.encodeWithSelector(NotProvider.selector, msg.sender, v.provider);
        } else if (v.token != token || v.payout != payout) {
            refusal = abi.encodeWithSelector(MixedBatch.selector, index);
        } else {
            refusal = _signatureRefusal(v, payer, signature, index);
        }
        if (refusal.length != 0) {
            emit VoucherSkipped(index, refusal);
            return (0, 0);
        }

        Escrow storage e = _escrows[payer][msg.sender][token];
        (uint256 balance, uint256 done) = _loadClaimSlot(e);
        uint256 cumulative = v.cumulativeAmount;
        if (cumulative > done) {
            unchecked {
                amount = cumulative - done;
            }
            if (balance < amount) amount = balance;
            if (amount != 0) {
                unchecked {
                    done += amount; // both below 2^128
                    _storeClaimSlot(e, balance - amount, done); // amount <= balance
                }
            }
        }
        unchecked {
            fee = amount * bps / BPS; // amount < 2^128, bps <= 1000
        }
        emit Claimed(payer, msg.sender, token, payout, amount, fee, done);
    }

    /// @dev Reads an escrow's first slot (balance, collected) with one SLOAD.
    function _loadClaimSlot(Escrow storage e) private view returns (uint256 balance, uint256 done) {
        uint256 word;
        assembly ("memory-safe") {
            word := sload(e.slot)
        }
        balance = word & type(uint128).max;
        done = word >> 128;
    }

    /// @dev Writes an escrow's first slot with one SSTORE. The balance (`left`) never grows here (it is below 2^128); the
    /// collected total grows by at most the balance each time and is checked against 2^128.
    function _storeClaimSlot(Escrow storage e, uint256 left, uint256 done) private {
        if (done > type(uint128).max) revert AmountTooLarge(done);
        assembly ("memory-safe") {
            sstore(e.slot, or(left, shl(128, done)))
        }
    }

    /// @dev Whether an authorized signer is still valid now (before its revocation time, if any).
    function _isValid(SignerInfo storage s) private view returns (bool) {
        if (!s.authorized) return false;
        uint64 revokeAt = s.revokeAt;
        return revokeAt == 0 || block.timestamp < revokeAt;
    }

    /// @dev Reverts unless `signature` is a valid low-s 65-byte signature of the voucher's EIP-712 digest by
    /// its payer or a signer the payer authorized (and not revoked). `index` names the voucher in a batch.
    function _checkSignature(Voucher calldata v, address payer, bytes calldata signature, uint256 index)
        private
        view
    {
        bytes memory refusal = _signatureRefusal(v, payer, signature, index);
        if (refusal.length != 0) {
            assembly ("memory-safe") {
                revert(add(refusal, 0x20), mload(refusal))
            }
        }
    }

    /// @dev The error _checkSignature reverts with, ABI-encoded (empty if the signature is good).
    function _signatureRefusal(Voucher calldata v, address payer, bytes calldata signature, uint256 index)
        private
        view
        returns (bytes memory)
    {
        if (signature.length != 65) return abi.encodeWithSelector(MalformedSignature.selector, index);
        bytes32 r;
        bytes32 s;
        uint8 recId;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 32))
            recId := byte(0, calldataload(add(signature.offset, 64)))
        }
        // tryRecover rejects high-s values and v other than 27/28 (OpenZeppelin 4.9.6).
        (address signer, ECDSA.RecoverError err) = ECDSA.tryRecover(hashVoucher(v), recId, r, s);
        if (err != ECDSA.RecoverError.NoError) {
            return abi.encodeWithSelector(MalformedSignature.selector, index);
        }
        if (signer != payer && !_isValid(_signers[payer][signer])) {
            return abi.encodeWithSelector(UnauthorizedSigner.selector, payer, signer);
        }
        return "";
    }
}
