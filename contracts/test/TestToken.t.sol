// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {TestToken} from "../src/TestToken.sol";
import {Test} from "./utils/Test.sol";

contract TestTokenTest is Test {
    TestToken internal token;

    function setUp() public {
        token = new TestToken();
    }

    function test_metadata() public view {
        assertEq(token.decimals(), 18, "decimals");
        assertEq(keccak256(bytes(token.symbol())), keccak256("RLNT"), "symbol");
        assertEq(token.totalSupply(), 0, "no premint");
    }

    function testFuzz_mint(address to, uint128 amount) public {
        vm.assume(to != address(0));
        vm.prank(address(0xBEEF)); // anyone may mint
        token.mint(to, amount);
        assertEq(token.balanceOf(to), amount, "balance");
        assertEq(token.totalSupply(), amount, "supply");
    }
}
