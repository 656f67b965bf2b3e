// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {ReentrantToken} from "./utils/ReentrantToken.sol";
import {ServiceCredentialsTestBase} from "./utils/ServiceCredentialsTestBase.sol";

/// @notice A token that calls back into the contract during a transfer gains nothing: claims and withdrawals
/// change state before transferring, and deposit (which measures what arrived) refuses reentry.
contract ServiceCredentialsReentrancyTest is ServiceCredentialsTestBase {
    ReentrantToken internal re;

    function setUp() public override {
        super.setUp();
        re = new ReentrantToken();
        re.mint(payer, 1000);
        vm.prank(payer);
        re.approve(address(sc), type(uint256).max);
    }

    function _reVoucher(uint256 cumulative) internal view returns (IServiceCredentials.Voucher memory v) {
        v = _voucher(payer, cumulative);
        v.token = address(re);
    }

    function test_deposit_reentryRefused() public {
        // During the transfer the token deposits again (as the payer would): refused by the guard.
        re.arm(address(sc), abi.encodeCall(sc.deposit, (provider, address(re), 100)));
        vm.prank(payer);
        sc.deposit(provider, address(re), 100);
        assertTrue(re.reentered(), "the token called back");
        assertFalse(re.callbackSucceeded(), "the nested deposit was refused");
        assertEq(
            keccak256(re.callbackResult()),
            keccak256(abi.encodeWithSignature("Error(string)", "ReentrancyGuard: reentrant call")),
            "by the reentrancy guard"
        );
        (uint256 balance,,) = sc.escrow(payer, provider, address(re));
        assertEq(balance, 100, "credited once");
        assertEq(re.balanceOf(address(sc)), 100, "held once");
    }

    function test_claim_reentryPaysNothingMore() public {
        // The provider is the token itself, so its nested claim passes the provider check and meets the state
        // the outer claim already wrote.
        address reProvider = address(re);
        vm.prank(payer);
        sc.deposit(reProvider, address(re), 500);
        IServiceCredentials.Voucher memory v = _reVoucher(300);
        v.provider = reProvider;
        bytes memory sig = _sign(PAYER_KEY, v);
        re.arm(address(sc), abi.encodeCall(sc.claim, (v, sig, type(uint256).max)));
        vm.prank(reProvider);
        assertEq(sc.claim(v, sig, type(uint256).max), 300, "paid once");
        assertTrue(re.reentered(), "the token called back");
        assertFalse(re.callbackSucceeded(), "the nested claim got nothing");
        assertEq(
            keccak256(re.callbackResult()),
            keccak256(abi.encodeWithSelector(IServiceCredentials.StaleVoucher.selector, 300, 300)),
            "collected was written before the transfer"
        );
        assertEq(sc.collected(payer, reProvider, address(re)), 300, "collected once");
        assertEq(re.balanceOf(address(sc)), 200 + _fee(300), "the rest stays (and the fee, credited)");
    }

    function test_withdraw_reentryPaysNothingMore() public {
        // The payer is the token itself, so its nested withdraw meets the thaw the outer one already cleared.
        address rePayer = address(re);
        re.mint(rePayer, 500);
        vm.startPrank(rePayer);
        re.approve(address(sc), 500);
        sc.deposit(provider, address(re), 500);
        sc.thaw(provider, address(re), 200);
        vm.stopPrank();
        vm.warp(block.timestamp + THAW);
        re.arm(address(sc), abi.encodeCall(sc.withdraw, (provider, address(re))));
        vm.prank(rePayer);
        assertEq(sc.withdraw(provider, address(re)), 200, "thawed amount");
        assertTrue(re.reentered(), "the token called back");
        assertEq(
            keccak256(re.callbackResult()),
            keccak256(
                abi.encodeWithSelector(IServiceCredentials.NoThaw.selector, rePayer, provider, address(re))
            ),
            "the thaw was cleared before the transfer"
        );
        assertEq(re.balanceOf(address(sc)), 300, "paid once");
    }
}
