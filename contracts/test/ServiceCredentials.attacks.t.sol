// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ServiceCredentials} from "../src/ServiceCredentials.sol";
import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {BlocklistToken} from "./utils/BlocklistToken.sol";
import {ServiceCredentialsTestBase} from "./utils/ServiceCredentialsTestBase.sol";

/// @dev The functions added for issue 20, called through this interface so that the tests below compile
/// against the contract before the fix (e4391e1) too, where these calls revert.
interface ICredentialsRound3 {
    function accruedFees(address token) external view returns (uint256);
    function withdrawFees(address token) external returns (uint256);
}

/// @notice The ServiceCredentials attacks of issue 20 (money paths, round 3). Every test here fails on the
/// contract of e4391e1 (checked by running this file against it) and uses only the ABI both versions share,
/// plus ICredentialsRound3 through try/catch.
contract ServiceCredentialsRound3AttacksTest is ServiceCredentialsTestBase {
    /// Item 3: with the deploy defaults (7-day thaw, 1-day signer revocation) a payer starts revoking its hot
    /// key and thawing together; the provider claims on day 2, well inside the thaw, and loses the voucher.
    function test_attack_revocationVoidsVouchersInsideTheThaw() public {
        sc = new ServiceCredentials(owner, treasury, FEE_BPS, 7 days, 1 days);
        _fund(payer, token);
        _deposit(payer, provider, 10 ether);
        vm.prank(payer);
        sc.authorizeSigner(signer);
        IServiceCredentials.Voucher memory v = _voucher(payer, 1 ether);
        bytes memory sig = _sign(SIGNER_KEY, v);
        vm.startPrank(payer);
        sc.startSignerRevocation(signer);
        sc.thaw(provider, address(token), 10 ether);
        vm.stopPrank();
        vm.warp(block.timestamp + 2 days);
        vm.prank(provider);
        try sc.claim(v, sig, type(uint256).max) {} catch {}
        assertEq(sc.collected(payer, provider, address(token)), 1 ether, "a claim inside the thaw is paid");
    }

    /// Item 4: the fee is pushed to the treasury inside every claim; a token that refuses to pay the treasury
    /// (a blocklist) freezes every claim while payers still withdraw.
    function test_attack_blockedTreasuryFreezesClaims() public {
        BlocklistToken blk = new BlocklistToken();
        blk.mint(payer, 10 ether);
        vm.startPrank(payer);
        blk.approve(address(sc), type(uint256).max);
        sc.deposit(provider, address(blk), 10 ether);
        vm.stopPrank();
        IServiceCredentials.Voucher memory v = _voucher(payer, 1 ether);
        v.token = address(blk);
        bytes memory sig = _sign(PAYER_KEY, v);
        blk.setBlocked(treasury, true);

        vm.prank(provider);
        try sc.claim(v, sig, type(uint256).max) {} catch {}
        assertEq(blk.balanceOf(payout), 1 ether - _fee(1 ether), "the provider is paid");

        // The fee waits for the treasury; the owner names another one, which pulls it.
        address newTreasury = address(0x7EA6);
        vm.prank(owner);
        sc.setTreasury(newTreasury);
        vm.prank(newTreasury);
        try ICredentialsRound3(address(sc)).withdrawFees(address(blk)) {} catch {}
        assertEq(blk.balanceOf(newTreasury), _fee(1 ether), "the fee reaches the treasury");
    }

    /// Item 5: one voucher with a bad signature (here a hot key revoked meanwhile) voids a whole claimMany batch.
    function test_attack_oneBadVoucherVoidsTheBatch() public {
        _deposit(payer, provider, 10 ether);
        _deposit(payer2, provider, 10 ether);
        vm.prank(payer);
        sc.authorizeSigner(signer);
        IServiceCredentials.Voucher[] memory vs = new IServiceCredentials.Voucher[](2);
        bytes[] memory sigs = new bytes[](2);
        vs[0] = _voucher(payer, 1 ether);
        sigs[0] = _sign(SIGNER_KEY, vs[0]);
        vs[1] = _voucher(payer2, 2 ether);
        sigs[1] = _sign(PAYER2_KEY, vs[1]);
        vm.prank(payer);
        sc.startSignerRevocation(signer);
        vm.warp(block.timestamp + sc.signerThawPeriod());
        vm.prank(provider);
        try sc.claimMany(vs, sigs) {} catch {}
        assertEq(sc.collected(payer2, provider, address(token)), 2 ether, "the good voucher is paid");
        assertEq(sc.collected(payer, provider, address(token)), 0, "the revoked key's voucher is not");
    }

    /// Item 5: a thaw larger than what claims left in the escrow is reported as is: the provider reading the
    /// escrow believes more is leaving than can.
    function test_attack_thawReportedAboveBalance() public {
        _deposit(payer, provider, 10 ether);
        vm.prank(payer);
        sc.thaw(provider, address(token), 10 ether);
        IServiceCredentials.Voucher memory v = _voucher(payer, 4 ether);
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        (uint256 balance, uint256 thawAmount,) = sc.escrow(payer, provider, address(token));
        assertLe(thawAmount, balance, "the thaw never exceeds the balance");
    }
}
