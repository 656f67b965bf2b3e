// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "../src/interfaces/IMembership.sol";
import {RlnMembership} from "../src/RlnMembership.sol";
import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";

/// @dev A next version, to test upgrades.
contract RlnMembershipV2 is RlnMembership {
    function version() external pure returns (uint256) {
        return 2;
    }
}

/// @notice initialize, UUPS upgrades and ownership.
contract RlnMembershipInitTest is RlnMembershipTestBase {
    // OpenZeppelin 4.9.6 events, as in the Waku ABI.
    event Initialized(uint8 version);
    event Upgraded(address indexed implementation);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);

    bytes32 internal constant IMPLEMENTATION_SLOT =
        0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    function _init(uint32 total, uint32 min, uint32 max, uint32 active, uint32 grace)
        internal
        view
        returns (bytes memory)
    {
        return abi.encodeCall(RlnMembership.initialize, (address(calculator), total, min, max, active, grace));
    }

    // ------------------------------------------------------------------------------------------ initialize

    function test_initialize_setsParameters() public view {
        assertEq(address(rln.priceCalculator()), address(calculator), "price calculator");
        assertEq(rln.maxTotalRateLimit(), MAX_TOTAL_RATE, "max total");
        assertEq(rln.minMembershipRateLimit(), MIN_RATE, "min rate");
        assertEq(rln.maxMembershipRateLimit(), MAX_RATE, "max rate");
        assertEq(rln.activeDurationForNewMemberships(), ACTIVE, "active");
        assertEq(rln.gracePeriodDurationForNewMemberships(), GRACE, "grace");
        assertEq(rln.deployedBlockNumber(), 1_000, "deployed block");
        assertEq(rln.owner(), address(this), "owner");
        assertEq(rln.nextFreeIndex(), 0, "no leaves");
        assertEq(rln.currentTotalRateLimit(), 0, "no rate limit used");
    }

    function test_initialize_constants() public view {
        assertEq(rln.Q(), Q, "Q");
        assertEq(rln.MERKLE_TREE_DEPTH(), 20, "depth");
        assertEq(rln.MAX_MEMBERSHIP_SET_SIZE(), 2 ** 20, "set size");
        assertEq(rln.HISTORY_SIZE(), 5, "history");
        assertEq(rln.MAX_BPS(), 10_000, "bps");
    }

    function test_initialize_slashingDefaults() public {
        RlnMembership fresh = _deployProxy(_init(MAX_TOTAL_RATE, MIN_RATE, MAX_RATE, ACTIVE, GRACE));
        assertEq(fresh.treasury(), address(this), "treasury = initializer");
        assertEq(fresh.slashRewardBps(), 5_000, "reward share");
        assertEq(fresh.slashRevealWindow(), 256, "reveal window");
        assertEq(fresh.withdrawalDelay(), 7_200, "withdrawal delay");
        assertGt(fresh.withdrawalDelay(), fresh.slashRevealWindow(), "delay outlasts the window");
    }

    function test_initialize_emitsInitializedVersion1() public {
        vm.expectEmit();
        emit Initialized(1);
        _deployProxy(_init(MAX_TOTAL_RATE, MIN_RATE, MAX_RATE, ACTIVE, GRACE));
    }

    function test_initialize_zeroGracePeriodAllowed() public {
        RlnMembership fresh = _deployProxy(_init(MAX_TOTAL_RATE, MIN_RATE, MAX_RATE, ACTIVE, 0));
        assertEq(fresh.gracePeriodDurationForNewMemberships(), 0, "grace");
    }

    function test_RevertIf_initialize_twice() public {
        vm.expectRevert(bytes("Initializable: contract is already initialized"));
        rln.initialize(address(calculator), MAX_TOTAL_RATE, MIN_RATE, MAX_RATE, ACTIVE, GRACE);
    }

    function test_RevertIf_initialize_implementationDirectly() public {
        vm.expectRevert(bytes("Initializable: contract is already initialized"));
        implementation.initialize(address(calculator), MAX_TOTAL_RATE, MIN_RATE, MAX_RATE, ACTIVE, GRACE);
    }

    function test_RevertIf_initialize_minRateZero() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.InvalidRateLimitConfig.selector, 0, MAX_RATE, MAX_TOTAL_RATE)
        );
        _deployProxy(_init(MAX_TOTAL_RATE, 0, MAX_RATE, ACTIVE, GRACE));
    }

    function test_RevertIf_initialize_minAboveMax() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.InvalidRateLimitConfig.selector, 601, 600, MAX_TOTAL_RATE)
        );
        _deployProxy(_init(MAX_TOTAL_RATE, 601, 600, ACTIVE, GRACE));
    }

    function test_RevertIf_initialize_maxAboveTotal() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.InvalidRateLimitConfig.selector, MIN_RATE, 600, 599)
        );
        _deployProxy(_init(599, MIN_RATE, 600, ACTIVE, GRACE));
    }

    function test_RevertIf_initialize_zeroActiveDuration() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.InvalidActiveDuration.selector, 0));
        _deployProxy(_init(MAX_TOTAL_RATE, MIN_RATE, MAX_RATE, 0, GRACE));
    }

    function test_RevertIf_initialize_zeroPriceCalculator() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.InvalidPriceCalculator.selector, address(0)));
        _deployProxy(
            abi.encodeCall(
                RlnMembership.initialize, (address(0), MAX_TOTAL_RATE, MIN_RATE, MAX_RATE, ACTIVE, GRACE)
            )
        );
    }

    // ------------------------------------------------------------------------------------------ upgrades

    function test_upgradeTo_byOwnerKeepsState() public {
        uint256 id = _id(42);
        _register(alice, id, 100);
        uint256 root = rln.root();
        RlnMembershipV2 next = new RlnMembershipV2();
        vm.expectEmit(address(rln));
        emit Upgraded(address(next));
        rln.upgradeTo(address(next));
        assertEq(RlnMembershipV2(address(rln)).version(), 2, "new code");
        assertEq(uint256(vm.load(address(rln), IMPLEMENTATION_SLOT)), uint256(uint160(address(next))), "slot");
        assertTrue(rln.isInMembershipSet(id), "memberships kept");
        assertEq(rln.root(), root, "tree kept");
        assertEq(rln.getRootAt(0), root, "recent roots kept");
        assertEq(rln.treasury(), treasury, "slashing parameters kept");
    }

    function test_upgradeToAndCall_byOwner() public {
        RlnMembershipV2 next = new RlnMembershipV2();
        rln.upgradeToAndCall(address(next), abi.encodeCall(RlnMembershipV2.version, ()));
        assertEq(RlnMembershipV2(address(rln)).version(), 2, "new code");
    }

    function test_RevertIf_upgradeTo_notOwner() public {
        RlnMembershipV2 next = new RlnMembershipV2();
        vm.expectRevert(bytes("Ownable: caller is not the owner"));
        vm.prank(alice);
        rln.upgradeTo(address(next));
    }

    function test_RevertIf_upgradeTo_onImplementation() public {
        RlnMembershipV2 next = new RlnMembershipV2();
        vm.expectRevert(bytes("Function must be called through delegatecall"));
        implementation.upgradeTo(address(next));
    }

    function test_proxiableUUID_isErc1967ImplementationSlot() public view {
        assertEq(implementation.proxiableUUID(), IMPLEMENTATION_SLOT, "UUID");
    }

    // ------------------------------------------------------------------------------------------ ownership

    function test_transferOwnership_movesAdminRightsOnceAccepted() public {
        vm.expectEmit(address(rln));
        emit OwnershipTransferStarted(address(this), alice);
        rln.transferOwnership(alice);
        assertEq(rln.owner(), address(this), "still the owner until accepted");
        assertEq(rln.pendingOwner(), alice, "pending");
        vm.expectRevert(bytes("Ownable2Step: caller is not the new owner"));
        vm.prank(bob);
        rln.acceptOwnership();
        vm.expectEmit(address(rln));
        emit OwnershipTransferred(address(this), alice);
        vm.prank(alice);
        rln.acceptOwnership();
        assertEq(rln.owner(), alice, "moved");
        assertEq(rln.pendingOwner(), address(0), "no longer pending");
        vm.prank(alice);
        rln.setGracePeriodDuration(1);
        vm.expectRevert(bytes("Ownable: caller is not the owner"));
        rln.setGracePeriodDuration(2);
    }

    function test_renounceOwnership_freezesParameters() public {
        rln.renounceOwnership();
        assertEq(rln.owner(), address(0), "no owner");
        vm.expectRevert(bytes("Ownable: caller is not the owner"));
        rln.setSlashRewardBps(1);
    }
}
