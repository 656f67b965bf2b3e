// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IServiceCredentials
/// @notice Node operators (providers) are paid for the service they give (lightpush is serviceId 1): a payer
/// funds an escrow per (payer, provider, token) and pays with signed cumulative vouchers (EIP-712); the
/// provider claims what it was signed, limited by the escrow, and a protocol fee goes to a treasury.
/// @dev EIP-712 domain: name "rlnkit ServiceCredentials", version "1", chainId, verifyingContract. A voucher is
/// signed (65 bytes r ‖ s ‖ v, low-s only) by the payer or by a signer the payer authorized. The latest voucher
/// of a (payer, provider, token) supersedes every earlier one: a claim pays `cumulativeAmount - collected`.
/// Everything that decides who gets paid is in the signed voucher, never read from storage at claim time.
/// Times are in seconds (block.timestamp); amounts in the token's smallest unit. Escrow balances and
/// collected amounts are kept in 128 bits (a deposit that would exceed that reverts AmountTooLarge).
interface IServiceCredentials {
    /// @notice A payment promise: `payer` owes `provider`, in `token`, `cumulativeAmount` in total since the
    /// escrow opened, paid to `payout`.
    /// @dev Type string: Voucher(address payer,address provider,address token,address payout,uint256 cumulativeAmount)
    struct Voucher {
        address payer;
        address provider;
        address token;
        address payout;
        uint256 cumulativeAmount;
    }

    // ---------------------------------------------------------------- errors: configuration

    /// @notice The owner must not be the zero address.
    error InvalidOwner();

    /// @notice The treasury must not be the zero address nor this contract.
    error InvalidTreasury();

    /// @notice Only the treasury may pull the accrued fees.
    error NotTreasury(address caller, address treasury);

    /// @notice The protocol fee is at most MAX_FEE_BPS.
    /// @param bps The rejected fee, in basis points.
    /// @param maxBps MAX_FEE_BPS.
    error FeeTooHigh(uint16 bps, uint16 maxBps);

    /// @notice Both thaw periods must be between 1 second and 365 days.
    /// @param thawPeriod The escrow thaw period asked for, in seconds.
    /// @param signerThawPeriod The signer revocation period asked for, in seconds.
    error InvalidThawPeriods(uint64 thawPeriod, uint64 signerThawPeriod);

    // ---------------------------------------------------------------- errors: providers and claims

    /// @notice A token must not be the zero address.
    error InvalidToken();

    /// @notice A payout address (in a service or a voucher) must not be the zero address nor this contract (tokens
    /// sent there would be stuck outside every escrow).
    error InvalidPayout();

    /// @notice Only the voucher's provider may claim it.
    /// @param caller The sender.
    /// @param provider The voucher's provider.
    error NotProvider(address caller, address provider);

    /// @notice The signature is not 65 bytes, or not a valid low-s secp256k1 signature.
    /// @param index The voucher's position in a claimMany batch (0 for claim).
    error MalformedSignature(uint256 index);

    /// @notice The voucher was signed by a key that is not (or no longer) authorized by its payer. A voucher
    /// for another chain, contract, provider, token, payout or amount recovers to some unrelated key and
    /// fails here.
    /// @param payer The voucher's payer.
    /// @param signer The key that signed.
    error UnauthorizedSigner(address payer, address signer);

    /// @notice claim: the voucher's cumulative amount is not above what was collected already.
    /// @param cumulativeAmount The voucher's cumulative amount.
    /// @param collected What the provider collected from this escrow so far.
    error StaleVoucher(uint256 cumulativeAmount, uint256 collected);

    /// @notice claim: nothing would be paid (empty escrow, or maxAmount 0).
    /// @param payer The payer.
    /// @param provider The provider.
    /// @param token The token.
    error NothingToClaim(address payer, address provider, address token);

    /// @notice claimMany needs at least one voucher.
    error EmptyBatch();

    /// @notice claimMany needs one signature per voucher.
    /// @param vouchers The number of vouchers.
    /// @param signatures The number of signatures.
    error LengthMismatch(uint256 vouchers, uint256 signatures);

    /// @notice claimMany: every voucher must name the same token and payout as the first.
    /// @param index The first voucher that differs.
    error MixedBatch(uint256 index);

    // ---------------------------------------------------------------- errors: payers

    /// @notice A deposit must credit something (what arrived, for fee-on-transfer tokens).
    error ZeroDeposit();

    /// @notice An escrow balance is kept in 128 bits.
    /// @param amount The balance the deposit would reach.
    error AmountTooLarge(uint256 amount);

    /// @notice A signer must not be the zero address nor the payer itself (always authorized).
    /// @param signer The rejected signer.
    error InvalidSigner(address signer);

    /// @notice The signer is not authorized by this payer (or already revoked).
    /// @param payer The payer.
    /// @param signer The signer.
    error SignerNotAuthorized(address payer, address signer);

    /// @notice revokeSigner needs a revocation started with startSignerRevocation.
    /// @param payer The payer.
    /// @param signer The signer.
    error SignerRevocationNotStarted(address payer, address signer);

    /// @notice A signer stays valid until its revocation time; revokeSigner works from then on.
    /// @param revokeAt When the signer stops being valid.
    error SignerStillThawing(uint64 revokeAt);

    /// @notice A thaw cannot exceed the escrow balance.
    /// @param amount The amount asked for.
    /// @param balance The escrow balance.
    error ThawExceedsBalance(uint256 amount, uint256 balance);

    /// @notice withdraw needs a thaw started with thaw().
    /// @param payer The payer.
    /// @param provider The provider.
    /// @param token The token.
    error NoThaw(address payer, address provider, address token);

    /// @notice withdraw works from thawEnd on.
    /// @param thawEnd When the thaw ends.
    error ThawNotEnded(uint64 thawEnd);

    // ---------------------------------------------------------------- events

    /// @notice A provider registered or updated a service.
    event ServiceRegistered(
        address indexed provider,
        uint32 indexed serviceId,
        address token,
        uint256 pricePerRequest,
        address payout
    );

    /// @notice A provider was paid for a voucher: `paid` left the escrow, `fee` of it went to the treasury and
    /// the rest to `payout`; `collected` is the escrow's new collected total (one event per voucher).
    event Claimed(
        address indexed payer,
        address indexed provider,
        address indexed token,
        address payout,
        uint256 paid,
        uint256 fee,
        uint256 collected
    );

    /// @notice `amount` (what actually arrived) was credited to an escrow.
    event Deposited(address indexed payer, address indexed provider, address indexed token, uint256 amount);

    /// @notice A payer authorized a signer (this also cancels a pending revocation of it).
    event SignerAuthorized(address indexed payer, address indexed signer);

    /// @notice A payer started revoking a signer, which stays valid until `revokeAt`.
    event SignerRevocationStarted(address indexed payer, address indexed signer, uint64 revokeAt);

    /// @notice A signer's revocation was completed.
    event SignerRevoked(address indexed payer, address indexed signer);

    /// @notice A payer started (or restarted; amount 0 cancels) a thaw of an escrow.
    event ThawStarted(
        address indexed payer, address indexed provider, address indexed token, uint256 amount, uint64 thawEnd
    );

    /// @notice A payer withdrew `amount` from an escrow after its thaw.
    event Withdrawn(address indexed payer, address indexed provider, address indexed token, uint256 amount);

    /// @notice The owner set the protocol fee.
    event ProtocolFeeSet(uint16 bps);

    /// @notice The owner set the treasury.
    event TreasurySet(address treasury);

    /// @notice claimMany left out the voucher at `index`: `reason` is the error a claim of it alone reverts with
    /// (NotProvider, MixedBatch, MalformedSignature or UnauthorizedSigner, ABI-encoded). Nothing was paid for it.
    event VoucherSkipped(uint256 index, bytes reason);

    /// @notice The treasury pulled `amount` of accrued protocol fees in `token`.
    event FeesWithdrawn(address indexed treasury, address indexed token, uint256 amount);

    // ---------------------------------------------------------------- provider side

    /// @notice Registers or updates a service of msg.sender (the provider). Informational for clients: a claim
    /// never reads it (the payout a voucher pays is the one it signs).
    /// @param serviceId The service (lightpush is 1).
    /// @param token The ERC20 the price is in (non-zero).
    /// @param pricePerRequest The price of one request, in the token's smallest unit.
    /// @param payout Where the provider wants to be paid (non-zero).
    function registerService(uint32 serviceId, address token, uint256 pricePerRequest, address payout)
        external;

    /// @notice A provider's service (all zero if not registered).
    function service(address provider, uint32 serviceId)
        external
        view
        returns (address token, uint256 pricePerRequest, address payout);

    /// @notice Claims a voucher (only `v.provider` may): pays min(maxAmount, v.cumulativeAmount - collected,
    /// escrow balance); fee = paid * feeBps / 10000 is credited to the treasury (accruedFees), the rest is
    /// transferred to v.payout.
    /// @param v The voucher.
    /// @param signature 65 bytes r ‖ s ‖ v by the payer or a signer it authorized.
    /// @param maxAmount The most to claim now (type(uint256).max for all).
    /// @return paid What left the escrow (fee included).
    function claim(Voucher calldata v, bytes calldata signature, uint256 maxAmount)
        external
        returns (uint256 paid);

    /// @notice Claims many vouchers of msg.sender in one token to one payout: each pays its unclaimed rest,
    /// limited by its escrow (possibly 0); one transfer to the payout, fees credited to the treasury, one
    /// Claimed event per voucher. A voucher that a claim of it alone would refuse (another provider, token or
    /// payout than vs[0]'s, a malformed or unauthorized signature) is skipped with a VoucherSkipped event, so
    /// one bad voucher cannot void the batch.
    /// @param vs The vouchers (same provider = msg.sender, same token, same payout).
    /// @param signatures One signature per voucher.
    /// @return paid What left the escrows in total (fees included).
    function claimMany(Voucher[] calldata vs, bytes[] calldata signatures) external returns (uint256 paid);

    // ---------------------------------------------------------------- payer side

    /// @notice Moves `amount` of `token` from msg.sender (approve first) into its escrow for `provider`,
    /// crediting what actually arrived.
    function deposit(address provider, address token, uint256 amount) external;

    /// @notice Authorizes `signer` to sign vouchers for msg.sender (cancels a pending revocation of it).
    function authorizeSigner(address signer) external;

    /// @notice Starts revoking `signer`: it stays valid until now + signerThawPeriod (never shorter than the
    /// escrow thaw, so a provider that claims before a payer's thaw ends never loses a voucher to a revocation).
    function startSignerRevocation(address signer) external;

    /// @notice Completes a revocation once its time has come (the signer is invalid from revokeAt on anyway).
    function revokeSigner(address signer) external;

    /// @notice Starts (or restarts; 0 cancels) a thaw of `amount` of the escrow: withdrawable from
    /// now + thawPeriod. The provider can still claim meanwhile.
    function thaw(address provider, address token, uint256 amount) external;

    /// @notice After the thaw ends, pays min(thawAmount, balance) back to msg.sender and clears the thaw.
    /// @return amount What was paid back.
    function withdraw(address provider, address token) external returns (uint256 amount);

    // ---------------------------------------------------------------- views

    /// @notice An escrow's balance and thaw (the thaw amount is at most the balance: what withdraw would pay).
    function escrow(address payer, address provider, address token)
        external
        view
        returns (uint256 balance, uint256 thawAmount, uint64 thawEnd);

    /// @notice What the provider collected from this escrow so far (the base of the next cumulative claim).
    function collected(address payer, address provider, address token) external view returns (uint256);

    /// @notice Whether `signer` may sign vouchers for `payer` now (true for the payer itself).
    function isAuthorized(address payer, address signer) external view returns (bool);

    /// @notice A signer's state: authorized by the payer, and when it stops being valid (0: no revocation).
    function signerState(address payer, address signer)
        external
        view
        returns (bool authorized, uint64 revokeAt);

    /// @notice The EIP-712 digest a voucher's signature signs.
    function hashVoucher(Voucher calldata v) external view returns (bytes32);

    /// @notice The EIP-712 domain separator (binds name, version, chain id and this contract).
    function domainSeparator() external view returns (bytes32);

    /// @notice The protocol fee, in basis points, taken from every claim.
    function feeBps() external view returns (uint16);

    /// @notice The cap of the protocol fee (1000 = 10 %).
    function MAX_FEE_BPS() external view returns (uint16);

    /// @notice Who may pull the accrued protocol fees (withdrawFees).
    function treasury() external view returns (address);

    /// @notice Protocol fees credited and not yet pulled by the treasury, per token.
    function accruedFees(address token) external view returns (uint256);

    /// @notice Pays the accrued fees in `token` to the treasury (only the treasury may call). Fees are credited,
    /// not pushed, so a treasury a token refuses to pay can never block claims; the owner can name another.
    /// @return amount What was paid.
    function withdrawFees(address token) external returns (uint256 amount);

    /// @notice How long a thaw lasts, in seconds.
    function thawPeriod() external view returns (uint64);

    /// @notice How long a revoked signer stays valid, in seconds: at least thawPeriod (the constructor raises a
    /// shorter one to thawPeriod).
    function signerThawPeriod() external view returns (uint64);

    // ---------------------------------------------------------------- owner

    /// @notice Sets the protocol fee (<= MAX_FEE_BPS). Owner only.
    function setProtocolFee(uint16 bps) external;

    /// @notice Sets the treasury (non-zero, not this contract); it may pull every fee accrued so far. Owner only.
    function setTreasury(address treasury_) external;
}
