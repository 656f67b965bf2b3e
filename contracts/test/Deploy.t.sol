// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Deploy} from "../script/Deploy.s.sol";
import {LinearPriceCalculator} from "../src/LinearPriceCalculator.sol";
import {RlnMembership} from "../src/RlnMembership.sol";
import {TestToken} from "../src/TestToken.sol";
import {Test} from "./utils/Test.sol";

/// @notice The deploy script yields a working registry with the Waku network's parameters.
contract DeployTest is Test {
    Deploy internal script;

    function setUp() public {
        script = new Deploy();
    }

    function test_deploy_usesWakuParameters() public {
        Deploy.Deployment memory d = script.deploy(address(0), address(0));
        RlnMembership rln = RlnMembership(d.proxy);
        assertEq(address(rln.priceCalculator()), d.priceCalculator, "calculator");
        assertEq(rln.minMembershipRateLimit(), 20, "min");
        assertEq(rln.maxMembershipRateLimit(), 600, "max");
        assertEq(rln.maxTotalRateLimit(), 1_000_000, "total");
        assertEq(rln.activeDurationForNewMemberships(), 180 days, "active");
        assertEq(rln.gracePeriodDurationForNewMemberships(), 30 days, "grace");
        (address token, uint256 price) = LinearPriceCalculator(d.priceCalculator).calculate(1);
        assertEq(token, d.token, "token");
        assertEq(price, 5e16, "0.05 token per message per epoch");
        assertEq(rln.owner(), address(script), "deployer owns the registry");
        assertEq(rln.treasury(), address(script), "deployer is the treasury");
        assertEq(rln.slashRewardBps(), 5_000, "reward share");
        assertEq(rln.slashRevealWindow(), 256, "window");
        assertEq(rln.withdrawalDelay(), 7_200, "delay");
    }

    function test_deploy_withGivenTokenAndTreasury() public {
        TestToken token = new TestToken();
        Deploy.Deployment memory d = script.deploy(address(token), address(0x7EA5));
        assertEq(d.token, address(token), "token kept");
        assertEq(RlnMembership(d.proxy).treasury(), address(0x7EA5), "treasury");
    }

    function test_deploy_registryAcceptsRegistrations() public {
        Deploy.Deployment memory d = script.deploy(address(0), address(0));
        RlnMembership rln = RlnMembership(d.proxy);
        TestToken(d.token).mint(address(this), 30e18);
        TestToken(d.token).approve(d.proxy, 30e18);
        rln.register(12345, 600, new uint256[](0));
        assertTrue(rln.isInMembershipSet(12345), "registered");
        assertEq(TestToken(d.token).balanceOf(d.proxy), 30e18, "deposit");
    }
}
