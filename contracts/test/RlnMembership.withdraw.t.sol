// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "../src/interfaces/IMembership.sol";
import {TestToken} from "../src/TestToken.sol";
import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";

/// @notice withdraw and the withdrawal delay of erased memberships' deposits.
contract RlnMembershipWithdrawTest is RlnMembershipTestBase {
    uint256 internal idA;
    uint256 internal idB;
    uint32 internal delay;

    function setUp() public override {
        super.setUp();
        (idA, idB) = (_id(1001), _id(1002));
        delay = rln.withdrawalDelay();
        _register(alice, idA, 100);
        _register(alice, idB, 300);
    }

    function _expireAndErase(uint256 idCommitment) internal {
        _warpToExpiry(idCommitment);
        _eraseAs(carol, idCommitment, true);
    }

    function test_withdraw_paysDepositAfterDelay() public {
        _expireAndErase(idA);
        _rollBlocks(delay);
        vm.expectEmit(address(rln));
        emit IMembership.DepositReleased(idA, alice, address(token), _price(100));
        vm.expectEmit(address(rln));
        emit IMembership.DepositWithdrawn(alice, address(token), _price(100));
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), _price(100), "paid");
        assertEq(token.balanceOf(address(rln)), _price(300), "the other deposit stays");
        assertEq(_locked(alice), 0, "lock consumed");
        assertEq(rln.lockedDepositIds(alice, address(token)).length, 0, "record dropped");
        assertEq(rln.depositsToWithdraw(alice, address(token)), 0, "balance consumed");
    }

    function test_RevertIf_withdraw_beforeDelay() public {
        _expireAndErase(idA);
        _rollBlocks(delay - 1);
        vm.expectRevert(abi.encodeWithSelector(IMembership.NothingToWithdraw.selector, alice, address(token)));
        vm.prank(alice);
        rln.withdraw(address(token));
    }

    function test_RevertIf_withdraw_zeroToken() public {
        vm.expectRevert(IMembership.InvalidWithdrawalToken.selector);
        vm.prank(alice);
        rln.withdraw(address(0));
    }

    function test_RevertIf_withdraw_nothingDeposited() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.NothingToWithdraw.selector, bob, address(token)));
        vm.prank(bob);
        rln.withdraw(address(token));
    }

    function test_RevertIf_withdraw_twice() public {
        _expireAndErase(idA);
        _rollBlocks(delay);
        vm.prank(alice);
        rln.withdraw(address(token));
        vm.expectRevert(abi.encodeWithSelector(IMembership.NothingToWithdraw.selector, alice, address(token)));
        vm.prank(alice);
        rln.withdraw(address(token));
    }

    function test_RevertIf_withdraw_byAnotherAccount() public {
        _expireAndErase(idA);
        _rollBlocks(delay);
        vm.expectRevert(abi.encodeWithSelector(IMembership.NothingToWithdraw.selector, carol, address(token)));
        vm.prank(carol);
        rln.withdraw(address(token));
    }

    function test_withdraw_laterErasureDoesNotDelayDueDeposit() public {
        _expireAndErase(idA);
        _rollBlocks(delay);
        // idA's deposit is due; erasing idB does not delay it.
        _eraseAs(carol, idB, true);
        assertEq(rln.withdrawableBalance(alice, address(token)), _price(100), "idA due");
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), _price(100), "idA paid, idB still locked");
        _rollBlocks(delay);
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), _price(400), "both paid");
    }

    function test_withdraw_erasuresWithinDelayReleaseTogether() public {
        _warpToExpiry(idB);
        _eraseAs(carol, idA, true);
        _rollBlocks(10);
        _eraseAs(carol, idB, true);
        assertEq(_locked(alice), _price(400), "both locked");
        _rollBlocks(delay - 10);
        assertEq(rln.withdrawableBalance(alice, address(token)), _price(100), "the first at its own block");
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), _price(100), "first paid");
        _rollBlocks(10);
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), _price(400), "both paid");
    }

    function test_withdraw_keepsTokensApart() public {
        TestToken other = new TestToken();
        calculator.setTokenAndPrice(address(other), 1 ether);
        uint256 idC = _id(1003);
        _register(alice, idC, 20);
        _warpToExpiry(idC);
        vm.prank(carol);
        rln.eraseMemberships(_ids(idA, idC), true);
        _rollBlocks(delay);
        vm.prank(alice);
        rln.withdraw(address(other));
        assertEq(other.balanceOf(alice), 20 ether, "other token paid");
        assertEq(token.balanceOf(alice), 0, "first token untouched");
        assertEq(rln.withdrawableBalance(alice, address(token)), _price(100), "first token still claimable");
    }

    function test_setWithdrawalDelay_appliesToLaterErasures() public {
        _warpToExpiry(idB);
        _eraseAs(carol, idA, true);
        uint256 firstRelease = _pending(idA).releaseBlock;
        rln.setWithdrawalDelay(delay * 2);
        _eraseAs(carol, idB, true);
        assertEq(_pending(idA).releaseBlock, firstRelease, "earlier lock keeps its delay");
        assertEq(
            _pending(idB).releaseBlock, block.number + 2 * uint256(delay), "later lock uses the new delay"
        );
    }

    function testFuzz_withdraw(uint256 blocksAfterErase) public {
        blocksAfterErase = bound(blocksAfterErase, 0, 3 * uint256(delay));
        _expireAndErase(idA);
        _rollBlocks(blocksAfterErase);
        bool due = blocksAfterErase >= delay;
        assertEq(rln.withdrawableBalance(alice, address(token)), due ? _price(100) : 0, "withdrawable");
        if (!due) {
            vm.expectRevert(
                abi.encodeWithSelector(IMembership.NothingToWithdraw.selector, alice, address(token))
            );
        }
        vm.prank(alice);
        rln.withdraw(address(token));
        assertEq(token.balanceOf(alice), due ? _price(100) : 0, "paid iff due");
    }
}
