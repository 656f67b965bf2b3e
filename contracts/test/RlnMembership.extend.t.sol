// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "../src/interfaces/IMembership.sol";
import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";

/// @notice extendMemberships and the lifecycle views (isInGracePeriod, isExpired, membershipExpirationTimestamp).
contract RlnMembershipExtendTest is RlnMembershipTestBase {
    uint256 internal idA;
    uint256 internal idB;

    function setUp() public override {
        super.setUp();
        (idA, idB) = (_id(1001), _id(1002));
        _register(alice, idA, 100);
    }

    // ------------------------------------------------------------------------------------------ extend

    function test_extendMemberships_startsNextGracePeriodOneActivePeriodLater() public {
        uint256 start = _membership(idA).gracePeriodStartTimestamp;
        vm.warp(start + 1 days);
        uint256 newStart = start + GRACE + ACTIVE;
        vm.expectEmit(address(rln));
        emit IMembership.MembershipExtended(idA, 100, 0, newStart);
        vm.prank(alice);
        rln.extendMemberships(_ids(idA));
        assertEq(_membership(idA).gracePeriodStartTimestamp, newStart, "new grace start");
        assertFalse(rln.isInGracePeriod(idA), "active again");
        assertEq(rln.membershipExpirationTimestamp(idA), newStart + GRACE, "new expiry");
    }

    function test_extendMemberships_keepsTermsOfRegistration() public {
        rln.setActiveDuration(1 days);
        rln.setGracePeriodDuration(1 hours);
        uint256 start = _membership(idA).gracePeriodStartTimestamp;
        vm.warp(start);
        vm.prank(alice);
        rln.extendMemberships(_ids(idA));
        assertEq(_membership(idA).gracePeriodStartTimestamp, start + GRACE + ACTIVE, "registration terms");
        assertEq(_membership(idA).gracePeriodDuration, GRACE, "grace unchanged");
    }

    function test_extendMemberships_extendsSeveralAndAgain() public {
        _register(alice, idB, 50);
        _warpToGracePeriod(idA);
        vm.prank(alice);
        rln.extendMemberships(_ids(idA, idB));
        uint256 second = _membership(idA).gracePeriodStartTimestamp;
        assertEq(_membership(idB).gracePeriodStartTimestamp, second, "both extended");
        vm.warp(second + GRACE - 1);
        vm.prank(alice);
        rln.extendMemberships(_ids(idA));
        assertEq(_membership(idA).gracePeriodStartTimestamp, second + GRACE + ACTIVE, "extended twice");
    }

    function test_RevertIf_extendMemberships_active() public {
        vm.warp(_membership(idA).gracePeriodStartTimestamp - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.CannotExtendNonGracePeriodMembership.selector, idA)
        );
        vm.prank(alice);
        rln.extendMemberships(_ids(idA));
    }

    function test_RevertIf_extendMemberships_expired() public {
        _warpToExpiry(idA);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.CannotExtendNonGracePeriodMembership.selector, idA)
        );
        vm.prank(alice);
        rln.extendMemberships(_ids(idA));
    }

    function test_RevertIf_extendMemberships_notHolder() public {
        _warpToGracePeriod(idA);
        vm.expectRevert(abi.encodeWithSelector(IMembership.NonHolderCannotExtend.selector, idA));
        vm.prank(bob);
        rln.extendMemberships(_ids(idA));
    }

    function test_RevertIf_extendMemberships_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipDoesNotExist.selector, idB));
        vm.prank(alice);
        rln.extendMemberships(_ids(idB));
    }

    function test_RevertIf_extendMemberships_noGracePeriod() public {
        rln.setGracePeriodDuration(0);
        _register(alice, idB, 20);
        _warpToGracePeriod(idB);
        assertTrue(rln.isExpired(idB), "expires when active period ends");
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.CannotExtendNonGracePeriodMembership.selector, idB)
        );
        vm.prank(alice);
        rln.extendMemberships(_ids(idB));
    }

    // ------------------------------------------------------------------------------------------ views

    function test_isInGracePeriod_boundaries() public {
        uint256 start = _membership(idA).gracePeriodStartTimestamp;
        vm.warp(start - 1);
        assertFalse(rln.isInGracePeriod(idA), "last active second");
        vm.warp(start);
        assertTrue(rln.isInGracePeriod(idA), "first grace second");
        vm.warp(start + GRACE - 1);
        assertTrue(rln.isInGracePeriod(idA), "last grace second");
        vm.warp(start + GRACE);
        assertFalse(rln.isInGracePeriod(idA), "expired");
    }

    function test_isExpired_boundaries() public {
        uint256 expiry = rln.membershipExpirationTimestamp(idA);
        vm.warp(expiry - 1);
        assertFalse(rln.isExpired(idA), "last grace second");
        vm.warp(expiry);
        assertTrue(rln.isExpired(idA), "expired");
    }

    function test_isExpired_trueForUnknownIdCommitment() public view {
        // Waku quirk kept: only timestamps are compared (0 + 0 <= now).
        assertTrue(rln.isExpired(idB), "unknown counts as expired");
        assertFalse(rln.isInGracePeriod(idB), "unknown is not in grace period");
        assertEq(rln.membershipExpirationTimestamp(idB), 0, "no expiry");
    }

    // ------------------------------------------------------------------------------------------ fuzz

    function testFuzz_extendMemberships(uint256 elapsed) public {
        uint256 registeredAt = block.timestamp;
        elapsed = bound(elapsed, 0, uint256(ACTIVE) + GRACE + 10 days);
        vm.warp(registeredAt + elapsed);
        bool inGrace = elapsed >= ACTIVE && elapsed < uint256(ACTIVE) + GRACE;
        assertEq(rln.isInGracePeriod(idA), inGrace, "isInGracePeriod");
        if (!inGrace) {
            vm.expectRevert(
                abi.encodeWithSelector(IMembership.CannotExtendNonGracePeriodMembership.selector, idA)
            );
        }
        vm.prank(alice);
        rln.extendMemberships(_ids(idA));
        uint256 expectedStart = inGrace ? registeredAt + 2 * uint256(ACTIVE) + GRACE : registeredAt + ACTIVE;
        assertEq(_membership(idA).gracePeriodStartTimestamp, expectedStart, "grace start");
    }

    function testFuzz_lifecycle(uint32 activeDuration, uint32 gracePeriod, uint256 elapsed) public {
        activeDuration = uint32(bound(activeDuration, 1, 400 days));
        gracePeriod = uint32(bound(gracePeriod, 0, 60 days));
        elapsed = bound(elapsed, 0, uint256(activeDuration) + gracePeriod + 1 days);
        rln.setActiveDuration(activeDuration);
        rln.setGracePeriodDuration(gracePeriod);
        uint256 registeredAt = block.timestamp;
        _register(bob, idB, 20);
        vm.warp(registeredAt + elapsed);

        bool active = elapsed < activeDuration;
        bool expired = elapsed >= uint256(activeDuration) + gracePeriod;
        bool grace = !active && !expired;
        assertEq(rln.isInGracePeriod(idB), grace, "grace");
        assertEq(rln.isExpired(idB), expired, "expired");
        assertEq(
            rln.membershipExpirationTimestamp(idB), registeredAt + activeDuration + gracePeriod, "expiry"
        );

        // A stranger may erase only an expired membership.
        if (active) {
            vm.expectRevert(abi.encodeWithSelector(IMembership.CannotEraseActiveMembership.selector, idB));
        }
        if (grace) {
            vm.expectRevert(
                abi.encodeWithSelector(IMembership.NonHolderCannotEraseGracePeriodMembership.selector, idB)
            );
        }
        vm.prank(carol);
        rln.eraseMemberships(_ids(idB));
        assertEq(rln.isInMembershipSet(idB), !expired, "erased iff expired");
    }
}
