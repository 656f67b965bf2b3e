// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {ServiceCredentialsTestBase} from "./utils/ServiceCredentialsTestBase.sol";

/// @notice claimMany: vouchers of many payers redeemed in one transaction with one transfer to the payout and the
/// fees credited to the treasury; a voucher a claim would refuse is skipped and reported.
contract ServiceCredentialsClaimManyTest is ServiceCredentialsTestBase {
    IServiceCredentials.Voucher[] internal vs;
    bytes[] internal sigs;

    function setUp() public override {
        super.setUp();
        _deposit(payer, provider, 100 * PRICE);
        _deposit(payer2, provider, 50 * PRICE);
    }

    function _add(uint256 key, uint256 cumulative) internal {
        IServiceCredentials.Voucher memory v = _voucher(vm.addr(key), cumulative);
        vs.push(v);
        sigs.push(_sign(key, v));
    }

    function _claimMany() internal returns (uint256) {
        vm.prank(provider);
        return sc.claimMany(vs, sigs);
    }

    function test_claimMany_paysEveryVoucherWithOneTransferEach() public {
        _add(PAYER_KEY, 10 * PRICE);
        _add(PAYER2_KEY, 20 * PRICE);
        uint256 fee1 = _fee(10 * PRICE);
        uint256 fee2 = _fee(20 * PRICE);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.Claimed(
            payer, provider, address(token), payout, 10 * PRICE, fee1, 10 * PRICE
        );
        vm.expectEmit(address(sc));
        emit IServiceCredentials.Claimed(
            payer2, provider, address(token), payout, 20 * PRICE, fee2, 20 * PRICE
        );
        uint256 paid = _claimMany();
        assertEq(paid, 30 * PRICE, "paid in total");
        assertEq(token.balanceOf(payout), 30 * PRICE - fee1 - fee2, "payout");
        assertEq(_treasuryFees(), fee1 + fee2, "treasury gets the sum of the per-voucher fees");
        assertEq(_balance(payer), 90 * PRICE, "payer's escrow");
        assertEq(_balance(payer2), 30 * PRICE, "payer2's escrow");
    }

    function test_claimMany_staleOrEmptyVoucherPaysZeroWithoutReverting() public {
        _add(PAYER_KEY, 10 * PRICE);
        _claimMany();
        uint256 before = token.balanceOf(payout);
        _add(PAYER2_KEY, 5 * PRICE); // vs = [payer's claimed voucher, payer2's fresh one]
        vm.expectEmit(address(sc));
        emit IServiceCredentials.Claimed(payer, provider, address(token), payout, 0, 0, 10 * PRICE);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.Claimed(
            payer2, provider, address(token), payout, 5 * PRICE, _fee(5 * PRICE), 5 * PRICE
        );
        assertEq(_claimMany(), 5 * PRICE, "only the fresh voucher pays");
        assertEq(token.balanceOf(payout) - before, 5 * PRICE - _fee(5 * PRICE), "payout");
    }

    function test_claimMany_allStalePaysNothingAndTransfersNothing() public {
        _add(PAYER_KEY, 10 * PRICE);
        _claimMany();
        uint256 before = token.balanceOf(address(sc));
        assertEq(_claimMany(), 0, "nothing left");
        assertEq(token.balanceOf(address(sc)), before, "no transfer");
    }

    function test_claimMany_samePayerTwicePaysTheLatestOnce() public {
        _add(PAYER_KEY, 10 * PRICE);
        _add(PAYER_KEY, 25 * PRICE);
        _add(PAYER_KEY, 25 * PRICE); // a duplicate pays nothing
        assertEq(_claimMany(), 25 * PRICE, "25 in total, not 10 + 25 + 25");
        assertEq(sc.collected(payer, provider, address(token)), 25 * PRICE, "collected");
    }

    function test_claimMany_limitedByEachEscrow() public {
        _add(PAYER_KEY, 10 * PRICE);
        _add(PAYER2_KEY, 80 * PRICE); // payer2 has 50
        assertEq(_claimMany(), 60 * PRICE, "10 + 50");
        assertEq(_balance(payer2), 0, "payer2 emptied");
        assertEq(sc.collected(payer2, provider, address(token)), 50 * PRICE, "collected = what was paid");
    }

    function test_claimMany_byAuthorizedSigners() public {
        vm.prank(payer2);
        sc.authorizeSigner(signer);
        _add(PAYER_KEY, 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer2, 5 * PRICE);
        vs.push(v);
        sigs.push(_sign(SIGNER_KEY, v));
        assertEq(_claimMany(), 15 * PRICE, "both pay");
    }

    function test_RevertIf_claimMany_empty() public {
        vm.expectRevert(IServiceCredentials.EmptyBatch.selector);
        _claimMany();
    }

    function test_RevertIf_claimMany_lengthMismatch() public {
        _add(PAYER_KEY, 10 * PRICE);
        sigs.push(sigs[0]);
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.LengthMismatch.selector, 1, 2));
        _claimMany();
    }

    function test_RevertIf_claimMany_zeroPayout() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        v.payout = address(0);
        vs.push(v);
        sigs.push(_sign(PAYER_KEY, v));
        vm.expectRevert(IServiceCredentials.InvalidPayout.selector);
        _claimMany();
    }

    function test_RevertIf_claimMany_payoutIsTheContract() public {
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        v.payout = address(sc);
        vs.push(v);
        sigs.push(_sign(PAYER_KEY, v));
        vm.expectRevert(IServiceCredentials.InvalidPayout.selector);
        _claimMany();
    }

    /// @dev claimMany of the batch (voucher 0 good, voucher 1 bad): voucher 1 is skipped with `reason`, voucher
    /// 0 is paid.
    function _claimSkippingSecond(bytes memory reason) internal {
        vm.expectEmit(address(sc));
        emit IServiceCredentials.VoucherSkipped(1, reason);
        assertEq(_claimMany(), 10 * PRICE, "the good voucher is paid");
        assertEq(sc.collected(payer, provider, address(token)), 10 * PRICE, "voucher 0 collected");
        assertEq(
            sc.collected(vs[1].payer, provider, vs[1].token),
            vs[1].payer == payer ? 10 * PRICE : 0,
            "voucher 1 not"
        );
        assertEq(token.balanceOf(payout), 10 * PRICE - _fee(10 * PRICE), "one payout transfer");
    }

    function test_claimMany_skipsOtherProvidersVoucher() public {
        _add(PAYER_KEY, 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer2, 5 * PRICE);
        v.provider = otherProvider;
        vs.push(v);
        sigs.push(_sign(PAYER2_KEY, v));
        _claimSkippingSecond(
            abi.encodeWithSelector(IServiceCredentials.NotProvider.selector, provider, otherProvider)
        );
    }

    function test_claimMany_skipsMixedToken() public {
        _add(PAYER_KEY, 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer2, 5 * PRICE);
        v.token = address(otherToken);
        vs.push(v);
        sigs.push(_sign(PAYER2_KEY, v));
        _claimSkippingSecond(abi.encodeWithSelector(IServiceCredentials.MixedBatch.selector, 1));
    }

    function test_claimMany_skipsMixedPayout() public {
        _add(PAYER_KEY, 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer2, 5 * PRICE);
        v.payout = otherProvider;
        vs.push(v);
        sigs.push(_sign(PAYER2_KEY, v));
        _claimSkippingSecond(abi.encodeWithSelector(IServiceCredentials.MixedBatch.selector, 1));
    }

    function test_claimMany_skipsForgedSignature() public {
        _add(PAYER_KEY, 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer2, 5 * PRICE);
        vs.push(v);
        sigs.push(_sign(STRANGER_KEY, v));
        _claimSkippingSecond(
            abi.encodeWithSelector(IServiceCredentials.UnauthorizedSigner.selector, payer2, stranger)
        );
    }

    function test_claimMany_skipsMalformedSignatureNamingItsIndex() public {
        _add(PAYER_KEY, 10 * PRICE);
        _add(PAYER2_KEY, 10 * PRICE);
        sigs[1] = new bytes(65);
        _claimSkippingSecond(abi.encodeWithSelector(IServiceCredentials.MalformedSignature.selector, 1));
    }

    function test_claimMany_allSkippedPaysNothing() public {
        _add(PAYER_KEY, 10 * PRICE);
        sigs[0] = new bytes(64);
        assertEq(_claimMany(), 0, "nothing paid");
        assertEq(token.balanceOf(payout), 0, "no transfer");
    }

    /// @notice claimMany pays exactly what the same vouchers would pay claimed one by one.
    function testFuzz_claimMany_sameAsClaimsOneByOne(uint256 a, uint256 b) public {
        a = bound(a, 1, 200 * PRICE);
        b = bound(b, 1, 200 * PRICE);
        _add(PAYER_KEY, a);
        _add(PAYER2_KEY, b);
        uint256 expected = (a < 100 * PRICE ? a : 100 * PRICE) + (b < 50 * PRICE ? b : 50 * PRICE);
        uint256 expectedFees = _fee(a < 100 * PRICE ? a : 100 * PRICE) + _fee(b < 50 * PRICE ? b : 50 * PRICE);
        assertEq(_claimMany(), expected, "paid");
        assertEq(_treasuryFees(), expectedFees, "fees");
        assertEq(token.balanceOf(payout), expected - expectedFees, "payout");
        assertEq(
            token.balanceOf(address(sc)),
            150 * PRICE - expected + expectedFees,
            "rest stays escrowed, fees credited"
        );
    }
}
