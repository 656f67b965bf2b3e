// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {LinearPriceCalculator, OnlyTokensAllowed} from "../src/LinearPriceCalculator.sol";
import {TestToken} from "../src/TestToken.sol";
import {Test} from "./utils/Test.sol";

contract LinearPriceCalculatorTest is Test {
    TestToken internal token;
    LinearPriceCalculator internal calculator;

    function setUp() public {
        token = new TestToken();
        calculator = new LinearPriceCalculator(address(token), 5e16);
    }

    function test_constructor_setsTokenPriceAndOwner() public view {
        assertEq(calculator.token(), address(token), "token");
        assertEq(calculator.pricePerMessagePerEpoch(), 5e16, "price");
        assertEq(calculator.owner(), address(this), "owner");
    }

    function test_RevertIf_constructor_zeroToken() public {
        vm.expectRevert(OnlyTokensAllowed.selector);
        new LinearPriceCalculator(address(0), 1);
    }

    function test_calculate_isRateLimitTimesPrice() public view {
        (address t, uint256 amount) = calculator.calculate(600);
        assertEq(t, address(token), "token");
        assertEq(amount, 30e18, "600 * 0.05");
    }

    function test_setTokenAndPrice_updatesQuote() public {
        TestToken other = new TestToken();
        calculator.setTokenAndPrice(address(other), 0);
        (address t, uint256 amount) = calculator.calculate(100);
        assertEq(t, address(other), "token");
        assertEq(amount, 0, "free");
    }

    function test_RevertIf_setTokenAndPrice_zeroToken() public {
        vm.expectRevert(OnlyTokensAllowed.selector);
        calculator.setTokenAndPrice(address(0), 1);
    }

    function test_RevertIf_setTokenAndPrice_notOwner() public {
        vm.expectRevert(bytes("Ownable: caller is not the owner"));
        vm.prank(address(0xA11CE));
        calculator.setTokenAndPrice(address(token), 1);
    }

    function testFuzz_calculate(uint32 rateLimit, uint128 price) public {
        calculator.setTokenAndPrice(address(token), price);
        (, uint256 amount) = calculator.calculate(rateLimit);
        assertEq(amount, uint256(rateLimit) * price, "linear");
    }
}
