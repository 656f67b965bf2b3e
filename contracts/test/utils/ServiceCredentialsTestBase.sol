// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ServiceCredentials} from "../../src/ServiceCredentials.sol";
import {IServiceCredentials} from "../../src/interfaces/IServiceCredentials.sol";
import {TestToken} from "../../src/TestToken.sol";
import {Test} from "./Test.sol";
import {VoucherDigest} from "./VoucherDigest.sol";

/// @notice Fixture: ServiceCredentials with a 2 % fee, a funded payer (key known, so tests sign with the Vm),
/// a hot signer key, a provider with its payout address, and helpers to deposit, sign and claim.
abstract contract ServiceCredentialsTestBase is Test {
    uint16 internal constant FEE_BPS = 200; // 2 %
    uint64 internal constant THAW = 1 days;
    uint64 internal constant SIGNER_THAW = 2 days; // longer than THAW (a shorter one is raised to THAW)
    uint256 internal constant PRICE = 1e15; // per request
    uint256 internal constant FUNDS = 1_000e18; // minted to each payer

    uint256 internal constant PAYER_KEY = 0xA11CE;
    uint256 internal constant PAYER2_KEY = 0xB0B;
    uint256 internal constant SIGNER_KEY = 0x5167E4;
    uint256 internal constant STRANGER_KEY = 0x57A4;

    ServiceCredentials internal sc;
    TestToken internal token;
    TestToken internal otherToken;

    address internal payer;
    address internal payer2;
    address internal signer;
    address internal stranger;
    address internal immutable owner = address(0x0E7E4);
    address internal immutable treasury = address(0x7EA5);
    address internal immutable provider = address(0x9404);
    address internal immutable payout = address(0x9A7);
    address internal immutable otherProvider = address(0x9405);

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        payer = vm.addr(PAYER_KEY);
        payer2 = vm.addr(PAYER2_KEY);
        signer = vm.addr(SIGNER_KEY);
        stranger = vm.addr(STRANGER_KEY);
        token = new TestToken();
        otherToken = new TestToken();
        sc = new ServiceCredentials(owner, treasury, FEE_BPS, THAW, SIGNER_THAW);
        vm.label(address(sc), "ServiceCredentials");
        vm.label(payer, "payer");
        vm.label(payer2, "payer2");
        vm.label(signer, "signer");
        vm.label(provider, "provider");
        vm.label(payout, "payout");
        vm.label(treasury, "treasury");
        _fund(payer, token);
        _fund(payer2, token);
        _fund(payer, otherToken);
    }

    function _fund(address who, TestToken t) internal {
        t.mint(who, FUNDS);
        vm.prank(who);
        t.approve(address(sc), type(uint256).max);
    }

    function _deposit(address from, address to, uint256 amount) internal {
        vm.prank(from);
        sc.deposit(to, address(token), amount);
    }

    function _voucher(address from, uint256 cumulative)
        internal
        view
        returns (IServiceCredentials.Voucher memory)
    {
        return IServiceCredentials.Voucher({
            payer: from,
            provider: provider,
            token: address(token),
            payout: payout,
            cumulativeAmount: cumulative
        });
    }

    /// @dev The EIP-712 digest computed from the spec (not by the contract).
    function _digest(IServiceCredentials.Voucher memory v, uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        return VoucherDigest.digest(v, chainId, verifyingContract);
    }

    function _signDigest(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _sign(uint256 key, IServiceCredentials.Voucher memory v) internal view returns (bytes memory) {
        return _signDigest(key, _digest(v, block.chainid, address(sc)));
    }

    function _claim(IServiceCredentials.Voucher memory v, bytes memory sig, uint256 maxAmount)
        internal
        returns (uint256)
    {
        vm.prank(v.provider);
        return sc.claim(v, sig, maxAmount);
    }

    function _fee(uint256 amount) internal pure returns (uint256) {
        return amount * FEE_BPS / 10_000;
    }

    /// @dev What the treasury got in `token`: fees credited to it and fees it pulled already.
    function _treasuryFees() internal view returns (uint256) {
        return sc.accruedFees(address(token)) + token.balanceOf(treasury);
    }

    function _balance(address from) internal view returns (uint256 balance) {
        (balance,,) = sc.escrow(from, provider, address(token));
    }
}
