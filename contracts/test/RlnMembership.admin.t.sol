// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "../src/interfaces/IMembership.sol";
import {IRlnMembership} from "../src/interfaces/IRlnMembership.sol";
import {LinearPriceCalculator} from "../src/LinearPriceCalculator.sol";
import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";

/// @notice Owner setters: effects, events, bounds, access.
contract RlnMembershipAdminTest is RlnMembershipTestBase {
    bytes internal constant NOT_OWNER = bytes("Ownable: caller is not the owner");

    // ------------------------------------------------------------------------------------------ Waku setters

    function test_setPriceCalculator_pricesNewMemberships() public {
        LinearPriceCalculator cheaper = new LinearPriceCalculator(address(token), 1);
        rln.setPriceCalculator(address(cheaper));
        assertEq(address(rln.priceCalculator()), address(cheaper), "set");
        _register(alice, _id(1), 20);
        assertEq(_membership(_id(1)).depositAmount, 20, "new price");
    }

    function test_RevertIf_setPriceCalculator_zero() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.InvalidPriceCalculator.selector, address(0)));
        rln.setPriceCalculator(address(0));
    }

    function test_RevertIf_setPriceCalculator_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setPriceCalculator(address(1));
    }

    function test_setMaxTotalRateLimit_belowCurrentTotalBlocksNewRegistrations() public {
        _register(alice, _id(1), 600);
        _register(alice, _id(2), 600);
        rln.setMaxTotalRateLimit(600);
        assertEq(rln.maxTotalRateLimit(), 600, "set");
        assertTrue(
            rln.isInMembershipSet(_id(1)) && rln.isInMembershipSet(_id(2)), "existing memberships stay"
        );
        uint256 id3 = _id(3);
        _fund(bob, 20);
        vm.expectRevert(IMembership.CannotExceedMaxTotalRateLimit.selector);
        vm.prank(bob);
        rln.register(id3, 20, noIds);
    }

    function test_RevertIf_setMaxTotalRateLimit_belowMaxMembershipRateLimit() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.InvalidRateLimitConfig.selector, MIN_RATE, MAX_RATE, 599)
        );
        rln.setMaxTotalRateLimit(599);
    }

    function test_RevertIf_setMaxTotalRateLimit_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setMaxTotalRateLimit(5000);
    }

    function test_setMaxMembershipRateLimit_allowsLargerMemberships() public {
        rln.setMaxMembershipRateLimit(1000);
        assertEq(rln.maxMembershipRateLimit(), 1000, "set");
        _register(alice, _id(1), 1000);
        assertTrue(rln.isInMembershipSet(_id(1)), "registered");
    }

    function test_RevertIf_setMaxMembershipRateLimit_belowMin() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.InvalidRateLimitConfig.selector, MIN_RATE, 19, MAX_TOTAL_RATE)
        );
        rln.setMaxMembershipRateLimit(19);
    }

    function test_RevertIf_setMaxMembershipRateLimit_aboveTotal() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMembership.InvalidRateLimitConfig.selector, MIN_RATE, MAX_TOTAL_RATE + 1, MAX_TOTAL_RATE
            )
        );
        rln.setMaxMembershipRateLimit(MAX_TOTAL_RATE + 1);
    }

    function test_RevertIf_setMaxMembershipRateLimit_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setMaxMembershipRateLimit(700);
    }

    function test_setMinMembershipRateLimit_rejectsSmallerMemberships() public {
        rln.setMinMembershipRateLimit(50);
        assertEq(rln.minMembershipRateLimit(), 50, "set");
        assertFalse(rln.isValidMembershipRateLimit(49), "below");
        assertTrue(rln.isValidMembershipRateLimit(50), "at");
    }

    function test_RevertIf_setMinMembershipRateLimit_zero() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.InvalidRateLimitConfig.selector, 0, MAX_RATE, MAX_TOTAL_RATE)
        );
        rln.setMinMembershipRateLimit(0);
    }

    function test_RevertIf_setMinMembershipRateLimit_aboveMax() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.InvalidRateLimitConfig.selector, 601, MAX_RATE, MAX_TOTAL_RATE)
        );
        rln.setMinMembershipRateLimit(601);
    }

    function test_RevertIf_setMinMembershipRateLimit_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setMinMembershipRateLimit(30);
    }

    function test_setActiveDuration_appliesToNewMemberships() public {
        _register(alice, _id(1), 20);
        rln.setActiveDuration(1 days);
        _register(alice, _id(2), 20);
        assertEq(_membership(_id(1)).activeDuration, ACTIVE, "old terms");
        assertEq(_membership(_id(2)).activeDuration, 1 days, "new terms");
        assertEq(_membership(_id(2)).gracePeriodStartTimestamp, block.timestamp + 1 days, "grace start");
    }

    function test_RevertIf_setActiveDuration_zero() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.InvalidActiveDuration.selector, 0));
        rln.setActiveDuration(0);
    }

    function test_RevertIf_setActiveDuration_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setActiveDuration(1);
    }

    function test_setGracePeriodDuration_appliesToNewMemberships() public {
        rln.setGracePeriodDuration(0);
        assertEq(rln.gracePeriodDurationForNewMemberships(), 0, "zero allowed");
        _register(alice, _id(1), 20);
        assertEq(_membership(_id(1)).gracePeriodDuration, 0, "new terms");
    }

    function test_RevertIf_setGracePeriodDuration_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setGracePeriodDuration(1);
    }

    // ------------------------------------------------------------------------------------------ slashing setters

    function test_setSlashRewardBps_emits() public {
        vm.expectEmit(address(rln));
        emit IRlnMembership.SlashRewardBpsSet(2_500);
        rln.setSlashRewardBps(2_500);
        assertEq(rln.slashRewardBps(), 2_500, "set");
    }

    function test_RevertIf_setSlashRewardBps_aboveWhole() public {
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidSlashRewardBps.selector, 10_001));
        rln.setSlashRewardBps(10_001);
    }

    function test_RevertIf_setSlashRewardBps_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setSlashRewardBps(1);
    }

    function test_setTreasury_emits() public {
        vm.expectEmit(address(rln));
        emit IRlnMembership.TreasurySet(carol);
        rln.setTreasury(carol);
        assertEq(rln.treasury(), carol, "set");
    }

    function test_RevertIf_setTreasury_zero() public {
        vm.expectRevert(IRlnMembership.InvalidTreasury.selector);
        rln.setTreasury(address(0));
    }

    function test_RevertIf_setTreasury_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setTreasury(alice);
    }

    function test_setSlashRevealWindow_emits() public {
        vm.expectEmit(address(rln));
        emit IRlnMembership.SlashRevealWindowSet(100);
        rln.setSlashRevealWindow(100);
        assertEq(rln.slashRevealWindow(), 100, "set");
    }

    function test_RevertIf_setSlashRevealWindow_zero() public {
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidSlashRevealWindow.selector, 0, 7_200));
        rln.setSlashRevealWindow(0);
    }

    function test_RevertIf_setSlashRevealWindow_notBelowWithdrawalDelay() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRlnMembership.InvalidSlashRevealWindow.selector, 7_200, 7_200)
        );
        rln.setSlashRevealWindow(7_200);
    }

    function test_RevertIf_setSlashRevealWindow_aboveMaximum() public {
        rln.setWithdrawalDelay(rln.MAX_WITHDRAWAL_DELAY());
        uint32 tooLong = rln.MAX_SLASH_REVEAL_WINDOW() + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IRlnMembership.InvalidSlashRevealWindow.selector, tooLong, rln.MAX_WITHDRAWAL_DELAY()
            )
        );
        rln.setSlashRevealWindow(tooLong);
    }

    function test_RevertIf_setSlashRevealWindow_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setSlashRevealWindow(10);
    }

    function test_setWithdrawalDelay_emits() public {
        vm.expectEmit(address(rln));
        emit IRlnMembership.WithdrawalDelaySet(557);
        rln.setWithdrawalDelay(557); // the reveal window (256) + the root window (300) + 1
        assertEq(rln.withdrawalDelay(), 557, "set");
    }

    function test_RevertIf_setWithdrawalDelay_notAboveRevealWindow() public {
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidWithdrawalDelay.selector, 256, 256));
        rln.setWithdrawalDelay(256);
    }

    function test_RevertIf_setWithdrawalDelay_notAboveRevealAndRootWindows() public {
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidWithdrawalDelay.selector, 556, 256));
        rln.setWithdrawalDelay(556);
    }

    function test_rootAcceptanceWindow_defaultAndSetter() public {
        assertEq(rln.rootAcceptanceWindow(), rln.DEFAULT_ROOT_ACCEPTANCE_WINDOW(), "default");
        vm.expectEmit(address(rln));
        emit IRlnMembership.RootAcceptanceWindowSet(60);
        rln.setRootAcceptanceWindow(60);
        assertEq(rln.rootAcceptanceWindow(), 60, "set");
        rln.setWithdrawalDelay(317); // now 256 + 60 < 317
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidRootAcceptanceWindow.selector, 61, 317));
        rln.setRootAcceptanceWindow(61);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidSlashRevealWindow.selector, 257, 317));
        rln.setSlashRevealWindow(257);
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setRootAcceptanceWindow(1);
    }

    function test_RevertIf_setTreasury_theRegistry() public {
        vm.expectRevert(IRlnMembership.InvalidTreasury.selector);
        rln.setTreasury(address(rln));
    }

    function test_RevertIf_setWithdrawalDelay_aboveMaximum() public {
        uint32 tooLong = rln.MAX_WITHDRAWAL_DELAY() + 1;
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidWithdrawalDelay.selector, tooLong, 256));
        rln.setWithdrawalDelay(tooLong);
    }

    function test_RevertIf_setWithdrawalDelay_notOwner() public {
        vm.expectRevert(NOT_OWNER);
        vm.prank(alice);
        rln.setWithdrawalDelay(1000);
    }

    // ------------------------------------------------------------------------------------------ fuzz

    function testFuzz_setRateLimits(uint32 minRate, uint32 maxRate, uint32 total) public {
        // Valid iff 0 < min <= max <= total; applied in an order that keeps every step valid.
        bool valid = minRate != 0 && minRate <= maxRate && maxRate <= total;
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(IMembership.InvalidRateLimitConfig.selector, minRate, maxRate, total)
            );
            this.applyRateLimits(minRate, maxRate, total);
            return;
        }
        this.applyRateLimits(minRate, maxRate, total);
        assertEq(rln.minMembershipRateLimit(), minRate, "min");
        assertEq(rln.maxMembershipRateLimit(), maxRate, "max");
        assertEq(rln.maxTotalRateLimit(), total, "total");
    }

    /// @dev Sets all three limits through a fresh proxy's initializer (atomic, so order does not matter).
    function applyRateLimits(uint32 minRate, uint32 maxRate, uint32 total) external {
        rln = _deployProxy(
            abi.encodeWithSelector(
                rln.initialize.selector, address(calculator), total, minRate, maxRate, ACTIVE, GRACE
            )
        );
        // And the setters accept the same values on a configured registry.
        rln.setMaxTotalRateLimit(total);
        rln.setMaxMembershipRateLimit(maxRate);
        rln.setMinMembershipRateLimit(minRate);
    }

    function testFuzz_setSlashTiming(uint32 window, uint32 delay) public {
        rln.setRootAcceptanceWindow(0); // the root window's own bound is tested above
        // Raise the delay first if needed, so the window check is against the final delay.
        bool delayValid = delay > rln.slashRevealWindow() && delay <= rln.MAX_WITHDRAWAL_DELAY();
        if (!delayValid) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRlnMembership.InvalidWithdrawalDelay.selector, delay, rln.slashRevealWindow()
                )
            );
            rln.setWithdrawalDelay(delay);
            return;
        }
        rln.setWithdrawalDelay(delay);
        bool windowValid = window != 0 && window < delay && window <= rln.MAX_SLASH_REVEAL_WINDOW();
        if (!windowValid) {
            vm.expectRevert(
                abi.encodeWithSelector(IRlnMembership.InvalidSlashRevealWindow.selector, window, delay)
            );
        }
        rln.setSlashRevealWindow(window);
        assertGt(rln.withdrawalDelay(), rln.slashRevealWindow(), "delay always outlasts the window");
    }

    function testFuzz_setSlashRewardBps(uint16 bps) public {
        if (bps > 5_000) {
            vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidSlashRewardBps.selector, bps));
        }
        rln.setSlashRewardBps(bps);
        assertLe(rln.slashRewardBps(), 5_000, "never above half: the penalty for spam is at least half");
    }
}
