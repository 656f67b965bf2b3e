// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {RlnMembershipTestBase} from "./utils/RlnMembershipTestBase.sol";

/// @notice Gas of the registry's main paths (`forge test --isolate --match-path
/// contracts/test/RlnMembership.gas.t.sol -vv`). With --isolate each call is its own transaction (cold and
/// warm storage as on chain) and the logged `gas <what>` is the transaction's gas, 21,000 intrinsic gas and
/// calldata included. The tree holds 65 memberships first, so paths hash a realistic number of levels.
contract RlnMembershipGasTest is RlnMembershipTestBase {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant SECRET = 0x5EC;
    uint256 internal spammer;

    function setUp() public override {
        super.setUp();
        for (uint256 i = 1; i <= 64; ++i) {
            _register(bob, _id(i), 20);
        }
        spammer = _id(SECRET);
        _register(alice, spammer, 100);
        _fund(carol, 100);
    }

    function _report(string memory what, uint256 used) internal {
        emit log_named_uint(string.concat("gas ", what), used);
    }

    function test_gas_register() public {
        uint256 id = _id(0xABCDEF);
        vm.prank(carol);
        uint256 g = gasleft();
        rln.register(id, 100, noIds);
        _report("register (new slot)", g - gasleft());
    }

    function test_gas_registerReusingErasedSlot() public {
        _warpToExpiry(_id(1));
        uint256 id = _id(0xABCDEF);
        uint256[] memory expired = _ids(_id(1));
        vm.prank(carol);
        uint256 g = gasleft();
        rln.register(id, 100, expired);
        _report("register erasing 1 expired (slot reused)", g - gasleft());
    }

    function test_gas_eraseLazily() public {
        _warpToExpiry(_id(1));
        uint256[] memory expired = _ids(_id(1));
        vm.prank(carol);
        uint256 g = gasleft();
        rln.eraseMemberships(expired);
        _report("erase lazily", g - gasleft());
    }

    function test_gas_eraseFully() public {
        _warpToExpiry(_id(1));
        uint256[] memory expired = _ids(_id(1));
        vm.prank(carol);
        uint256 g = gasleft();
        rln.eraseMemberships(expired, true);
        _report("erase fully", g - gasleft());
    }

    function test_gas_withdraw() public {
        _warpToExpiry(_id(1));
        _eraseAs(carol, _id(1), true);
        _rollBlocks(rln.withdrawalDelay());
        vm.prank(bob);
        uint256 g = gasleft();
        rln.withdraw(address(token));
        _report("withdraw (1 deposit)", g - gasleft());
    }

    function test_gas_slash() public {
        bytes32 commitment = _commitment(SECRET, receiver, slasher);
        vm.prank(slasher);
        uint256 g = gasleft();
        rln.commitSlash(commitment);
        uint256 commitGas = g - gasleft();
        _report("commitSlash", commitGas);
        _rollBlocks(1);
        vm.prank(slasher);
        g = gasleft();
        rln.revealSlash(SECRET, receiver);
        uint256 revealGas = g - gasleft();
        _report("revealSlash (registered)", revealGas);
        _report("full slash (commit + reveal)", commitGas + revealGas);
    }

    function test_gas_clearErasedLeaf() public {
        _warpToExpiry(_id(1));
        _eraseAs(carol, _id(1), false);
        uint256[] memory erased = _ids(_id(1));
        vm.prank(carol);
        uint256 g = gasleft();
        rln.clearErasedLeaves(erased);
        _report("clearErasedLeaves (1 leaf)", g - gasleft());
    }

    function test_gas_registerWithMaxDeposit() public {
        uint256 id = _id(0xABCDEF);
        vm.prank(carol);
        uint256 g = gasleft();
        rln.registerWithMaxDeposit(id, 100, noIds, address(token), _price(100));
        _report("registerWithMaxDeposit (new slot)", g - gasleft());
    }

    function test_gas_slashLazilyErased() public {
        _warpToGracePeriod(spammer);
        _eraseAs(alice, spammer, false);
        _commitSlash(slasher, SECRET, receiver);
        _rollBlocks(1);
        vm.prank(slasher);
        uint256 g = gasleft();
        rln.revealSlash(SECRET, receiver);
        _report("revealSlash (lazily erased, leaf in tree)", g - gasleft());
    }

    /// The holder has `n` pending deposits that are not due (erased lazily by anyone) and one due deposit.
    function _pendingEntries(uint256 n) internal returns (uint256 due) {
        due = _id(0xD0E);
        _register(bob, due, 20);
        uint256[] memory others = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            others[i] = _id(0x1000 + i);
            _register(bob, others[i], 20);
        }
        _warpToExpiry(due);
        _eraseAs(bob, due, true);
        _rollBlocks(rln.withdrawalDelay());
        vm.prank(carol);
        rln.eraseMemberships(others);
    }

    function test_gas_withdrawDeposits() public {
        _warpToExpiry(_id(1));
        _eraseAs(carol, _id(1), true);
        _rollBlocks(rln.withdrawalDelay());
        uint256[] memory list = _ids(_id(1));
        vm.prank(bob);
        uint256 g = gasleft();
        rln.withdrawDeposits(address(token), list);
        _report("withdrawDeposits (1 deposit)", g - gasleft());
    }

    function test_gas_withdrawWith50PendingEntries() public {
        _pendingEntries(50);
        vm.prank(bob);
        uint256 g = gasleft();
        rln.withdraw(address(token));
        _report("withdraw (1 due deposit, 50 more pending)", g - gasleft());
    }

    function test_gas_withdrawDepositsWith50PendingEntries() public {
        uint256 due = _pendingEntries(50);
        uint256[] memory list = _ids(due);
        vm.prank(bob);
        uint256 g = gasleft();
        rln.withdrawDeposits(address(token), list);
        _report("withdrawDeposits (1 due deposit listed, 50 more pending)", g - gasleft());
    }

    function test_gas_clearErasedLeaves10() public {
        uint256[] memory erased = new uint256[](10);
        for (uint256 i = 0; i < 10; ++i) {
            erased[i] = _id(i + 1);
        }
        _warpToExpiry(_id(1));
        vm.prank(carol);
        rln.eraseMemberships(erased);
        vm.prank(carol);
        uint256 g = gasleft();
        rln.clearErasedLeaves(erased);
        _report("clearErasedLeaves (10 leaves)", g - gasleft());
    }
}
