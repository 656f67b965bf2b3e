// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ServiceCredentials} from "../src/ServiceCredentials.sol";
import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {ServiceCredentialsTestBase} from "./utils/ServiceCredentialsTestBase.sol";

/// @notice claim: what a voucher pays, to whom, and every way it is refused.
contract ServiceCredentialsClaimTest is ServiceCredentialsTestBase {
    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function setUp() public override {
        super.setUp();
        _deposit(payer, provider, 100 * PRICE);
    }

    function test_claim_paysCumulativeMinusFeeToPayoutAndFeeToTreasury() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        uint256 fee = _fee(10 * PRICE);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.Claimed(payer, provider, address(token), payout, 10 * PRICE, fee, 10 * PRICE);
        uint256 paid = _claim(v, sig, type(uint256).max);
        assertEq(paid, 10 * PRICE, "paid");
        assertEq(token.balanceOf(payout), 10 * PRICE - fee, "payout gets paid - fee");
        assertEq(_treasuryFees(), fee, "treasury gets the fee");
        assertEq(_balance(payer), 90 * PRICE, "escrow debited");
        assertEq(sc.collected(payer, provider, address(token)), 10 * PRICE, "collected");
        assertEq(
            token.balanceOf(address(sc)), 90 * PRICE + fee, "contract holds the rest and the credited fee"
        );
    }

    function test_claim_laterVoucherPaysOnlyTheDifference() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        v.cumulativeAmount = 25 * PRICE;
        uint256 paid = _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        assertEq(paid, 15 * PRICE, "second claim pays 25 - 10");
        assertEq(sc.collected(payer, provider, address(token)), 25 * PRICE, "collected");
        assertEq(token.balanceOf(payout) + _treasuryFees(), 25 * PRICE, "25 paid in all");
    }

    function test_claim_partialWithMaxAmountThenRest() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        assertEq(_claim(v, sig, 4 * PRICE), 4 * PRICE, "first part");
        assertEq(_claim(v, sig, type(uint256).max), 6 * PRICE, "the same voucher pays the rest");
        assertEq(sc.collected(payer, provider, address(token)), 10 * PRICE, "collected");
    }

    function test_claim_limitedByEscrow() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, 150 * PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        assertEq(_claim(v, sig, type(uint256).max), 100 * PRICE, "escrow is the limit");
        assertEq(_balance(payer), 0, "escrow empty");
        _deposit(payer, provider, 100 * PRICE);
        assertEq(
            _claim(v, sig, type(uint256).max), 50 * PRICE, "the same voucher pays the rest after a top-up"
        );
    }

    function test_claim_byAuthorizedSigner() public {
        vm.prank(payer);
        sc.authorizeSigner(signer);
        IServiceCredentials.Voucher memory v = _voucher(payer, 3 * PRICE);
        assertEq(_claim(v, _sign(SIGNER_KEY, v), type(uint256).max), 3 * PRICE, "hot key's voucher pays");
    }

    function test_claim_duringPayersThaw() public {
        vm.prank(payer);
        sc.thaw(provider, address(token), 100 * PRICE);
        vm.warp(block.timestamp + THAW - 1);
        IServiceCredentials.Voucher memory v = _voucher(payer, 30 * PRICE);
        assertEq(_claim(v, _sign(PAYER_KEY, v), type(uint256).max), 30 * PRICE, "claim during the thaw");
        vm.warp(block.timestamp + 1);
        vm.prank(payer);
        assertEq(sc.withdraw(provider, address(token)), 70 * PRICE, "the payer gets the unsigned rest");
    }

    function test_claim_zeroFeeMakesOneTransfer() public {
        vm.prank(owner);
        sc.setProtocolFee(0);
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        assertEq(token.balanceOf(payout), 10 * PRICE, "all to the payout");
        assertEq(_treasuryFees(), 0, "no fee");
    }

    function test_claim_feeRoundsDown() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, 49); // 49 * 200 / 10000 = 0.98
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        assertEq(_treasuryFees(), 0, "fee rounds down");
        assertEq(token.balanceOf(payout), 49, "payout");
    }

    function test_claim_usesFeeInForceAtClaimTime() public {
        vm.prank(owner);
        sc.setProtocolFee(1000);
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        assertEq(_treasuryFees(), PRICE, "10 %");
    }

    // ---------------------------------------------------------------------------------------- refusals

    function test_RevertIf_claim_notProvider() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.NotProvider.selector, otherProvider, provider)
        );
        vm.prank(otherProvider);
        sc.claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_zeroPayout() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        v.payout = address(0);
        bytes memory sig = _sign(PAYER_KEY, v);
        vm.expectRevert(IServiceCredentials.InvalidPayout.selector);
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_payoutIsTheContract() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        v.payout = address(sc);
        bytes memory sig = _sign(PAYER_KEY, v);
        vm.expectRevert(IServiceCredentials.InvalidPayout.selector);
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_strangerSigned() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(STRANGER_KEY, v);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.UnauthorizedSigner.selector, payer, stranger)
        );
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_payoutChangedAfterSigning() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        v.payout = otherProvider; // redirect the money
        _expectUnrelatedSigner(v, sig);
        _claim(v, sig, type(uint256).max);
        assertEq(token.balanceOf(otherProvider), 0, "nothing redirected");
    }

    function test_RevertIf_claim_amountRaisedAfterSigning() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        v.cumulativeAmount = 2 * PRICE;
        _expectUnrelatedSigner(v, sig);
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_otherChain() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _signDigest(PAYER_KEY, _digest(v, block.chainid + 1, address(sc)));
        _expectUnrelatedSigner(v, sig);
        _claim(v, sig, type(uint256).max);
        assertEq(sc.collected(payer, provider, address(token)), 0, "nothing collected");
    }

    function test_RevertIf_claim_otherContract() public {
        ServiceCredentials twin = new ServiceCredentials(owner, treasury, FEE_BPS, THAW, SIGNER_THAW);
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _signDigest(PAYER_KEY, _digest(v, block.chainid, address(twin)));
        _expectUnrelatedSigner(v, sig);
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_otherProvidersVoucher() public {
        _deposit(payer, otherProvider, 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE); // signed for `provider`
        bytes memory sig = _sign(PAYER_KEY, v);
        v.provider = otherProvider;
        _expectUnrelatedSigner(v, sig);
        vm.prank(otherProvider);
        sc.claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_otherToken() public {
        vm.prank(payer);
        sc.deposit(provider, address(otherToken), 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        v.token = address(otherToken);
        _expectUnrelatedSigner(v, sig);
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_signatureNot65Bytes() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        bytes memory short = new bytes(64);
        for (uint256 i = 0; i < 64; ++i) {
            short[i] = sig[i];
        }
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.MalformedSignature.selector, 0));
        _claim(v, short, type(uint256).max);
    }

    function test_RevertIf_claim_highS() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        (uint8 recId, bytes32 r, bytes32 s) = vm.sign(PAYER_KEY, _digest(v, block.chainid, address(sc)));
        // The same signature in its malleable form: s' = n - s, v flipped. ecrecover would accept it.
        bytes memory highS = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), recId == 27 ? 28 : 27);
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.MalformedSignature.selector, 0));
        _claim(v, highS, type(uint256).max);
    }

    function test_RevertIf_claim_badRecoveryId() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        (, bytes32 r, bytes32 s) = vm.sign(PAYER_KEY, _digest(v, block.chainid, address(sc)));
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.MalformedSignature.selector, 0));
        _claim(v, abi.encodePacked(r, s, uint8(1)), type(uint256).max);
    }

    function test_RevertIf_claim_stale() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        _claim(v, sig, type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.StaleVoucher.selector, 10 * PRICE, 10 * PRICE)
        );
        _claim(v, sig, type(uint256).max);
        IServiceCredentials.Voucher memory older = _voucher(payer, 5 * PRICE);
        bytes memory olderSig = _sign(PAYER_KEY, older);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.StaleVoucher.selector, 5 * PRICE, 10 * PRICE)
        );
        _claim(older, olderSig, type(uint256).max);
    }

    function test_RevertIf_claim_zeroMaxAmount() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        vm.expectRevert(
            abi.encodeWithSelector(
                IServiceCredentials.NothingToClaim.selector, payer, provider, address(token)
            )
        );
        _claim(v, sig, 0);
    }

    function test_RevertIf_claim_emptyEscrow() public {
        IServiceCredentials.Voucher memory v = _voucher(payer2, PRICE); // payer2 deposited nothing
        bytes memory sig = _sign(PAYER2_KEY, v);
        vm.expectRevert(
            abi.encodeWithSelector(
                IServiceCredentials.NothingToClaim.selector, payer2, provider, address(token)
            )
        );
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_signerRevoked() public {
        vm.startPrank(payer);
        sc.authorizeSigner(signer);
        sc.startSignerRevocation(signer);
        vm.stopPrank();
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(SIGNER_KEY, v);
        vm.warp(block.timestamp + SIGNER_THAW - 1);
        assertEq(_claim(v, sig, PRICE / 2), PRICE / 2, "still valid during its thaw");
        vm.warp(block.timestamp + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.UnauthorizedSigner.selector, payer, signer)
        );
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_signerOfAnotherPayer() public {
        vm.prank(payer2);
        sc.authorizeSigner(signer); // authorized by payer2, not by payer
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        bytes memory sig = _sign(SIGNER_KEY, v);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.UnauthorizedSigner.selector, payer, signer)
        );
        _claim(v, sig, type(uint256).max);
    }

    function test_RevertIf_claim_collectedAbove128Bits() public {
        uint256 max128 = type(uint128).max;
        token.mint(payer2, max128);
        _deposit(payer2, provider, max128); // the escrow is full: 2^128 - 1
        IServiceCredentials.Voucher memory v = _voucher(payer2, max128);
        assertEq(_claim(v, _sign(PAYER2_KEY, v), type(uint256).max), max128, "all of it");
        _deposit(payer2, provider, 1);
        v.cumulativeAmount = max128 + 1;
        bytes memory sig = _sign(PAYER2_KEY, v);
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.AmountTooLarge.selector, max128 + 1));
        _claim(v, sig, type(uint256).max);
    }

    // ---------------------------------------------------------------------------------------- fuzz

    /// @notice Whatever the amounts and the order of partial claims, the provider never collects more than the
    /// payer signed nor more than was deposited, and every unit that leaves the escrow is split exactly.
    function testFuzz_claim_neverExceedsSignedOrDeposited(uint256 deposited, uint256 signed, uint256 part)
        public
    {
        deposited = bound(deposited, 1, FUNDS - 100 * PRICE);
        signed = bound(signed, 1, type(uint128).max);
        _deposit(payer, provider, deposited);
        uint256 escrowed = deposited + 100 * PRICE;
        part = bound(part, 1, escrowed);
        IServiceCredentials.Voucher memory v = _voucher(payer, signed);
        bytes memory sig = _sign(PAYER_KEY, v);
        uint256 first = _claim(v, sig, part);
        uint256 expectedFirst = _min(_min(part, signed), escrowed);
        assertEq(first, expectedFirst, "first claim = min(max, signed, escrow)");
        uint256 rest = _min(signed, escrowed) - first;
        if (rest == 0) {
            vm.expectRevert();
            _claim(v, sig, type(uint256).max);
        } else {
            assertEq(_claim(v, sig, type(uint256).max), rest, "second claim pays the rest");
        }
        uint256 total = _min(signed, escrowed);
        assertEq(sc.collected(payer, provider, address(token)), total, "collected = min(signed, escrow)");
        assertEq(token.balanceOf(payout) + _treasuryFees(), total, "paid out = collected");
        assertEq(_balance(payer), escrowed - total, "escrow = deposited - collected");
    }

    /// @notice Any change to a signed voucher (payer, provider, token, payout or amount) makes it pay nothing.
    function testFuzz_claim_tamperedVoucherPaysNothing(uint8 field, uint256 seed) public {
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        bytes memory sig = _sign(PAYER_KEY, v);
        field = uint8(bound(field, 0, 4));
        address someone = address(uint160(bound(seed, 1, type(uint160).max)));
        if (field == 0) {
            vm.assume(someone != payer);
            v.payer = someone;
        } else if (field == 1) {
            vm.assume(someone != provider);
            v.provider = someone;
        } else if (field == 2) {
            vm.assume(someone != address(token));
            v.token = someone;
        } else if (field == 3) {
            vm.assume(someone != payout);
            v.payout = someone;
        } else {
            vm.assume(seed != 10 * PRICE && seed != 0);
            v.cumulativeAmount = seed;
        }
        vm.prank(v.provider);
        try sc.claim(v, sig, type(uint256).max) returns (uint256) {
            assertTrue(false, "a tampered voucher paid");
        } catch {}
        assertEq(token.balanceOf(address(sc)), 100 * PRICE, "nothing left the contract");
    }

    /// @dev A voucher changed after signing (or signed for another domain) recovers some unrelated key.
    function _expectUnrelatedSigner(IServiceCredentials.Voucher memory v, bytes memory sig) internal {
        bytes32 r;
        bytes32 s;
        uint8 recId;
        assembly ("memory-safe") {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            recId := byte(0, mload(add(sig, 96)))
        }
        address recovered = ecrecover(sc.hashVoucher(v), recId, r, s);
        assertTrue(recovered != v.payer && recovered != address(0), "an unrelated key");
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.UnauthorizedSigner.selector, v.payer, recovered)
        );
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
