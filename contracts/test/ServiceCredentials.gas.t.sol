// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {ServiceCredentialsTestBase} from "./utils/ServiceCredentialsTestBase.sol";

/// @notice Gas budgets (issue 12): one claim <= 80,000 gas; claimMany of 100 vouchers <= 20,000 gas per voucher.
/// Measured as whole transactions (21,000 + calldata + execution, as `forge test --gas-report` counts them),
/// with cold storage and pre-encoded calldata; `forge test --match-contract ServiceCredentialsGas -vv` logs the
/// numbers.
contract ServiceCredentialsGasTest is ServiceCredentialsTestBase {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant CLAIM_BUDGET = 80_000;
    uint256 internal constant PER_VOUCHER_BUDGET = 20_000;
    uint256 internal constant BATCH = 100;

    IServiceCredentials.Voucher[] internal vs;
    bytes[] internal sigs;
    bytes internal claimCall;
    bytes internal batchCall;
    bytes internal firstCall;

    function setUp() public override {
        super.setUp();
        // A node that has been running: payout and treasury hold tokens, the escrow was claimed from once.
        _deposit(payer, provider, 100 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer, PRICE);
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        v.cumulativeAmount = 2 * PRICE;
        claimCall = abi.encodeCall(sc.claim, (v, _sign(PAYER_KEY, v), type(uint256).max));
        // Worst case: the first claim of a fresh escrow to a fresh payout (zero -> non-zero balances).
        _deposit(payer2, provider, 10 * PRICE);
        IServiceCredentials.Voucher memory first = _voucher(payer2, PRICE);
        first.payout = address(0xF4E54);
        firstCall = abi.encodeCall(sc.claim, (first, _sign(PAYER2_KEY, first), type(uint256).max));

        // 100 payers, each with an escrow and a hot signer key (the app's), each owing one more request.
        for (uint256 i = 0; i < BATCH; ++i) {
            uint256 payerKey = 0x1000 + i;
            uint256 hotKey = 0x2000 + i;
            address p = vm.addr(payerKey);
            token.mint(p, 10 * PRICE);
            vm.startPrank(p);
            token.approve(address(sc), 10 * PRICE);
            sc.deposit(provider, address(token), 10 * PRICE);
            sc.authorizeSigner(vm.addr(hotKey));
            vm.stopPrank();
            IServiceCredentials.Voucher memory w = _voucher(p, 3 * PRICE);
            vs.push(w);
            sigs.push(_sign(hotKey, w));
        }
        batchCall = abi.encodeCall(sc.claimMany, (vs, sigs));
    }

    function test_claim_gasWithinBudget() public {
        uint256 gas = _transactionGas(claimCall);
        emit log_named_uint("claim (payout and treasury hold tokens): transaction gas", gas);
        assertLe(gas, CLAIM_BUDGET, "one claim <= 80k gas");
        assertEq(sc.collected(payer, provider, address(token)), 2 * PRICE, "the measured claim paid");
    }

    function test_claim_firstClaimToFreshPayoutGas() public {
        // The payout's token balance goes from zero to non-zero: the token charges a fresh storage slot
        // (+17,100 gas over the steady case); nothing in ServiceCredentials can avoid it.
        uint256 gas = _transactionGas(firstCall);
        emit log_named_uint("first claim to a fresh payout: transaction gas", gas);
        assertLe(gas, CLAIM_BUDGET + 17_100 + 1_000, "steady claim + one fresh token balance");
    }

    function test_claimMany_gasPerVoucherWithinBudget() public {
        uint256 gas = _transactionGas(batchCall);
        emit log_named_uint("claimMany(100), hot-key signers: transaction gas", gas);
        emit log_named_uint("claimMany(100), hot-key signers: transaction gas per voucher", gas / BATCH);
        assertLe(gas, PER_VOUCHER_BUDGET * BATCH, "claimMany(100) <= 20k gas per voucher");
        assertEq(
            token.balanceOf(address(sc)) - sc.accruedFees(address(token)),
            (100 - 1 + 10) * PRICE + BATCH * 7 * PRICE,
            "every voucher paid"
        );
    }

    /// @dev A whole transaction's gas for a call as the provider, with the calldata encoded beforehand. Under `forge test` a call from the test is metered as
    /// execution only, so the intrinsic gas is added; under `--gas-report` (isolation mode) every call is metered
    /// as its own transaction already.
    function _transactionGas(bytes memory data) internal returns (uint256) {
        // A state-changing call (isolation mode meters only those as transactions) that also warms the contract's
        // account, as a transaction's target is warm.
        uint256 before = gasleft();
        sc.thaw(provider, address(token), 0);
        bool isolated = before - gasleft() > 21_000;
        vm.prank(provider);
        before = gasleft();
        (bool ok,) = address(sc).call(data);
        uint256 used = before - gasleft();
        assertTrue(ok, "call succeeded");
        return isolated ? used : used + _intrinsic(data);
    }

    /// @dev A transaction's intrinsic gas for this calldata (21,000 + 4 per zero byte + 16 per other byte).
    function _intrinsic(bytes memory data) internal pure returns (uint256 gas) {
        gas = 21_000;
        for (uint256 i = 0; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }
}
