// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {FeeOnTransferToken} from "./utils/FeeOnTransferToken.sol";
import {ServiceCredentialsTestBase} from "./utils/ServiceCredentialsTestBase.sol";

/// @notice The payer side: deposit, signer keys and their revocation, thaw and withdraw.
contract ServiceCredentialsPayerTest is ServiceCredentialsTestBase {
    // ---------------------------------------------------------------------------------------- deposit

    function test_deposit_creditsEscrowOfPayerProviderToken() public {
        vm.expectEmit(address(sc));
        emit IServiceCredentials.Deposited(payer, provider, address(token), 7 * PRICE);
        _deposit(payer, provider, 7 * PRICE);
        _deposit(payer, provider, 3 * PRICE);
        assertEq(_balance(payer), 10 * PRICE, "deposits add up");
        (uint256 other,,) = sc.escrow(payer, otherProvider, address(token));
        assertEq(other, 0, "another provider's escrow is separate");
        (uint256 otherTok,,) = sc.escrow(payer, provider, address(otherToken));
        assertEq(otherTok, 0, "another token's escrow is separate");
        assertEq(token.balanceOf(address(sc)), 10 * PRICE, "tokens moved in");
        assertEq(token.balanceOf(payer), FUNDS - 10 * PRICE, "from the payer");
    }

    function test_deposit_creditsWhatArrived() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        fot.mint(payer, 1000);
        vm.startPrank(payer);
        fot.approve(address(sc), 1000);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.Deposited(payer, provider, address(fot), 990);
        sc.deposit(provider, address(fot), 1000);
        vm.stopPrank();
        (uint256 balance,,) = sc.escrow(payer, provider, address(fot));
        assertEq(balance, 990, "1 % burned in transit is not credited");
        assertEq(fot.balanceOf(address(sc)), 990, "escrow = what the contract holds");
    }

    function test_RevertIf_deposit_zeroToken() public {
        vm.expectRevert(IServiceCredentials.InvalidToken.selector);
        _depositToken(address(0), 1);
    }

    function test_RevertIf_deposit_nothingArrives() public {
        vm.expectRevert(IServiceCredentials.ZeroDeposit.selector);
        _deposit(payer, provider, 0);
    }

    function test_RevertIf_deposit_notApproved() public {
        vm.prank(payer);
        token.approve(address(sc), 0);
        vm.expectRevert("ERC20: insufficient allowance");
        _deposit(payer, provider, 1);
    }

    function test_RevertIf_deposit_balanceAbove128Bits() public {
        uint256 big = uint256(type(uint128).max);
        token.mint(payer, big);
        _deposit(payer, provider, big - FUNDS);
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.AmountTooLarge.selector, big + 1));
        _deposit(payer, provider, FUNDS + 1);
    }

    function _depositToken(address t, uint256 amount) internal {
        vm.prank(payer);
        sc.deposit(provider, t, amount);
    }

    // ---------------------------------------------------------------------------------------- signers

    function test_isAuthorized_payerItselfAlways() public view {
        assertTrue(sc.isAuthorized(payer, payer), "the payer signs for itself");
        assertFalse(sc.isAuthorized(payer, signer), "nobody else by default");
    }

    function test_authorizeSigner_makesItValid() public {
        vm.expectEmit(address(sc));
        emit IServiceCredentials.SignerAuthorized(payer, signer);
        vm.prank(payer);
        sc.authorizeSigner(signer);
        assertTrue(sc.isAuthorized(payer, signer), "authorized");
        assertFalse(sc.isAuthorized(payer2, signer), "for this payer only");
        (bool authorized, uint64 revokeAt) = sc.signerState(payer, signer);
        assertTrue(authorized, "state: authorized");
        assertEq(revokeAt, 0, "state: no revocation");
    }

    function test_RevertIf_authorizeSigner_zero() public {
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.InvalidSigner.selector, address(0)));
        vm.prank(payer);
        sc.authorizeSigner(address(0));
    }

    function test_RevertIf_authorizeSigner_self() public {
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.InvalidSigner.selector, payer));
        vm.prank(payer);
        sc.authorizeSigner(payer);
    }

    function test_startSignerRevocation_keepsItValidUntilRevokeAt() public {
        vm.startPrank(payer);
        sc.authorizeSigner(signer);
        uint64 revokeAt = uint64(block.timestamp) + SIGNER_THAW;
        vm.expectEmit(address(sc));
        emit IServiceCredentials.SignerRevocationStarted(payer, signer, revokeAt);
        sc.startSignerRevocation(signer);
        vm.stopPrank();
        vm.warp(revokeAt - 1);
        assertTrue(sc.isAuthorized(payer, signer), "valid until revokeAt");
        vm.warp(revokeAt);
        assertFalse(sc.isAuthorized(payer, signer), "invalid from revokeAt, before revokeSigner");
    }

    function test_startSignerRevocation_againKeepsTheEarlierTime() public {
        vm.startPrank(payer);
        sc.authorizeSigner(signer);
        sc.startSignerRevocation(signer);
        uint64 revokeAt = uint64(block.timestamp) + SIGNER_THAW;
        vm.warp(block.timestamp + 10);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.SignerRevocationStarted(payer, signer, revokeAt);
        sc.startSignerRevocation(signer);
        vm.stopPrank();
        (, uint64 stored) = sc.signerState(payer, signer);
        assertEq(stored, revokeAt, "validity never extended");
    }

    function test_RevertIf_startSignerRevocation_unknown() public {
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.SignerNotAuthorized.selector, payer, signer)
        );
        vm.prank(payer);
        sc.startSignerRevocation(signer);
    }

    function test_RevertIf_startSignerRevocation_afterRevokeAt() public {
        vm.startPrank(payer);
        sc.authorizeSigner(signer);
        sc.startSignerRevocation(signer);
        vm.warp(block.timestamp + SIGNER_THAW);
        // Restarting must not bring an expired signer back to life.
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.SignerNotAuthorized.selector, payer, signer)
        );
        sc.startSignerRevocation(signer);
        vm.stopPrank();
    }

    function test_authorizeSigner_cancelsPendingRevocation() public {
        vm.startPrank(payer);
        sc.authorizeSigner(signer);
        sc.startSignerRevocation(signer);
        sc.authorizeSigner(signer);
        vm.stopPrank();
        vm.warp(block.timestamp + SIGNER_THAW);
        assertTrue(sc.isAuthorized(payer, signer), "revocation cancelled");
    }

    function test_revokeSigner_afterRevokeAt() public {
        vm.startPrank(payer);
        sc.authorizeSigner(signer);
        sc.startSignerRevocation(signer);
        vm.warp(block.timestamp + SIGNER_THAW);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.SignerRevoked(payer, signer);
        sc.revokeSigner(signer);
        vm.stopPrank();
        (bool authorized, uint64 revokeAt) = sc.signerState(payer, signer);
        assertFalse(authorized, "gone");
        assertEq(revokeAt, 0, "state cleared");
        assertFalse(sc.isAuthorized(payer, signer), "not authorized");
    }

    function test_RevertIf_revokeSigner_beforeRevokeAt() public {
        vm.startPrank(payer);
        sc.authorizeSigner(signer);
        sc.startSignerRevocation(signer);
        uint64 revokeAt = uint64(block.timestamp) + SIGNER_THAW;
        vm.warp(revokeAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.SignerStillThawing.selector, revokeAt));
        sc.revokeSigner(signer);
        vm.stopPrank();
    }

    function test_RevertIf_revokeSigner_notStarted() public {
        vm.startPrank(payer);
        sc.authorizeSigner(signer);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.SignerRevocationNotStarted.selector, payer, signer)
        );
        sc.revokeSigner(signer);
        vm.stopPrank();
    }

    function test_RevertIf_revokeSigner_unknown() public {
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.SignerNotAuthorized.selector, payer, signer)
        );
        vm.prank(payer);
        sc.revokeSigner(signer);
    }

    // ---------------------------------------------------------------------------------------- thaw, withdraw

    function test_thaw_setsAmountAndEnd() public {
        _deposit(payer, provider, 10 * PRICE);
        uint64 end = uint64(block.timestamp) + THAW;
        vm.expectEmit(address(sc));
        emit IServiceCredentials.ThawStarted(payer, provider, address(token), 4 * PRICE, end);
        _thaw(4 * PRICE);
        (uint256 balance, uint256 thawAmount, uint64 thawEnd) = sc.escrow(payer, provider, address(token));
        assertEq(balance, 10 * PRICE, "balance unchanged");
        assertEq(thawAmount, 4 * PRICE, "thawing");
        assertEq(thawEnd, end, "thaw end");
    }

    function test_thaw_restartMovesTheEnd() public {
        _deposit(payer, provider, 10 * PRICE);
        _thaw(4 * PRICE);
        vm.warp(block.timestamp + THAW / 2);
        _thaw(6 * PRICE);
        (, uint256 thawAmount, uint64 thawEnd) = sc.escrow(payer, provider, address(token));
        assertEq(thawAmount, 6 * PRICE, "new amount");
        assertEq(thawEnd, uint64(block.timestamp) + THAW, "new end");
    }

    function test_thaw_zeroCancels() public {
        _deposit(payer, provider, 10 * PRICE);
        _thaw(4 * PRICE);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.ThawStarted(payer, provider, address(token), 0, 0);
        _thaw(0);
        (, uint256 thawAmount, uint64 thawEnd) = sc.escrow(payer, provider, address(token));
        assertEq(thawAmount, 0, "cancelled");
        assertEq(thawEnd, 0, "no end");
        vm.warp(block.timestamp + THAW);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.NoThaw.selector, payer, provider, address(token))
        );
        _withdraw();
    }

    function test_RevertIf_thaw_exceedsBalance() public {
        _deposit(payer, provider, 10 * PRICE);
        vm.expectRevert(
            abi.encodeWithSelector(
                IServiceCredentials.ThawExceedsBalance.selector, 10 * PRICE + 1, 10 * PRICE
            )
        );
        _thaw(10 * PRICE + 1);
    }

    function test_withdraw_paysThawedAmountAfterThaw() public {
        _deposit(payer, provider, 10 * PRICE);
        _thaw(4 * PRICE);
        vm.warp(block.timestamp + THAW);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.Withdrawn(payer, provider, address(token), 4 * PRICE);
        assertEq(_withdraw(), 4 * PRICE, "thawed amount");
        assertEq(token.balanceOf(payer), FUNDS - 6 * PRICE, "back to the payer");
        (uint256 balance, uint256 thawAmount, uint64 thawEnd) = sc.escrow(payer, provider, address(token));
        assertEq(balance, 6 * PRICE, "rest stays");
        assertEq(thawAmount, 0, "thaw consumed");
        assertEq(thawEnd, 0, "thaw end cleared");
    }

    function test_withdraw_limitedByWhatClaimsLeft() public {
        _deposit(payer, provider, 10 * PRICE);
        _thaw(10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer, 7 * PRICE);
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        vm.warp(block.timestamp + THAW);
        assertEq(_withdraw(), 3 * PRICE, "min(thawAmount, balance)");
        assertEq(_balance(payer), 0, "escrow empty");
    }

    function test_withdraw_ofEmptiedEscrowPaysZeroAndClearsThaw() public {
        _deposit(payer, provider, 10 * PRICE);
        _thaw(10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        vm.warp(block.timestamp + THAW);
        assertEq(_withdraw(), 0, "nothing left");
        (, uint256 thawAmount,) = sc.escrow(payer, provider, address(token));
        assertEq(thawAmount, 0, "thaw cleared");
    }

    function test_RevertIf_withdraw_beforeThawEnd() public {
        _deposit(payer, provider, 10 * PRICE);
        _thaw(4 * PRICE);
        uint64 end = uint64(block.timestamp) + THAW;
        vm.warp(end - 1);
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.ThawNotEnded.selector, end));
        _withdraw();
    }

    function test_RevertIf_withdraw_noThaw() public {
        _deposit(payer, provider, 10 * PRICE);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.NoThaw.selector, payer, provider, address(token))
        );
        _withdraw();
    }

    function test_RevertIf_withdraw_twice() public {
        _deposit(payer, provider, 10 * PRICE);
        _thaw(4 * PRICE);
        vm.warp(block.timestamp + THAW);
        _withdraw();
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.NoThaw.selector, payer, provider, address(token))
        );
        _withdraw();
    }

    /// @notice After the thaw a payer recovers everything it did not sign, whatever the provider claimed.
    function testFuzz_withdraw_recoversUnsignedRest(uint256 deposited, uint256 signed, uint256 claimed)
        public
    {
        deposited = bound(deposited, 1, FUNDS);
        signed = bound(signed, 0, deposited);
        claimed = bound(claimed, 0, signed);
        _deposit(payer, provider, deposited);
        _thaw(deposited);
        if (claimed != 0) {
            IServiceCredentials.Voucher memory v = _voucher(payer, signed);
            _claim(v, _sign(PAYER_KEY, v), claimed);
        }
        vm.warp(block.timestamp + THAW);
        uint256 back = _withdraw();
        assertGe(back, deposited - signed, "at least the unsigned rest comes back");
        assertEq(back, deposited - claimed, "exactly what was not claimed");
    }

    function _thaw(uint256 amount) internal {
        vm.prank(payer);
        sc.thaw(provider, address(token), amount);
    }

    function _withdraw() internal returns (uint256) {
        vm.prank(payer);
        return sc.withdraw(provider, address(token));
    }
}
