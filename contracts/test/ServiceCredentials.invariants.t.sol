// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ServiceCredentials} from "../src/ServiceCredentials.sol";
import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {ServiceCredentialsHandler} from "./handlers/ServiceCredentialsHandler.sol";
import {InvariantTest, Test} from "./utils/Test.sol";

/// forge-config: default.invariant.depth = 100
/// @notice Invariants of ServiceCredentials under random sequences of deposits, vouchers (by payers and hot keys),
/// claims (partial, batched, replayed, foreign), signer revocations, thaws, withdrawals, fee changes and time.
contract ServiceCredentialsInvariantTest is Test, InvariantTest {
    ServiceCredentials internal sc;
    ServiceCredentialsHandler internal handler;
    address internal constant TREASURY = address(0x7EA5);
    uint64 internal constant THAW = 1 days;
    uint64 internal constant SIGNER_THAW = 6 hours;

    function setUp() public {
        vm.warp(1_700_000_000);
        sc = new ServiceCredentials(address(this), TREASURY, 200, THAW, SIGNER_THAW);
        ServiceCredentials twin = new ServiceCredentials(address(this), TREASURY, 200, THAW, SIGNER_THAW);
        handler = new ServiceCredentialsHandler(sc, twin, TREASURY);
        sc.transferOwnership(address(handler));
        vm.prank(address(handler));
        sc.acceptOwnership();

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](14);
        selectors[0] = ServiceCredentialsHandler.deposit.selector;
        selectors[1] = ServiceCredentialsHandler.sign.selector;
        selectors[2] = ServiceCredentialsHandler.authorizeSigner.selector;
        selectors[3] = ServiceCredentialsHandler.startSignerRevocation.selector;
        selectors[4] = ServiceCredentialsHandler.revokeSigner.selector;
        selectors[5] = ServiceCredentialsHandler.thaw.selector;
        selectors[6] = ServiceCredentialsHandler.withdraw.selector;
        selectors[7] = ServiceCredentialsHandler.claim.selector;
        selectors[8] = ServiceCredentialsHandler.claimMany.selector;
        selectors[9] = ServiceCredentialsHandler.replay.selector;
        selectors[10] = ServiceCredentialsHandler.foreign.selector;
        selectors[11] = ServiceCredentialsHandler.setProtocolFee.selector;
        selectors[12] = ServiceCredentialsHandler.advanceTime.selector;
        selectors[13] = ServiceCredentialsHandler.withdrawFees.selector;
        targetSelector(address(handler), selectors);
    }

    /// @notice Funds are conserved per token: what arrived = escrow balances + claimed (fees included) + withdrawn,
    /// and the contract holds exactly the escrow balances and the fees not yet pulled by the treasury.
    function invariant_fundsConserved() public view {
        for (uint256 t = 0; t < 2; ++t) {
            address token = handler.tokens(t);
            uint256 escrowed;
            for (uint256 id = t * 6; id < t * 6 + 6; ++id) {
                escrowed += _balance(id);
            }
            assertEq(
                handler.ghostDeposited(token),
                escrowed + handler.ghostPaid(token) + handler.ghostWithdrawn(token),
                "deposits = escrows + claimed + withdrawn"
            );
            assertEq(
                IERC20(token).balanceOf(address(sc)),
                escrowed + sc.accruedFees(token),
                "the contract holds the escrows and the accrued fees, no more"
            );
        }
    }

    /// @notice The plain token's claims reached the payouts and the treasury exactly: fee = paid * feeBps / 10000
    /// per voucher, never above MAX_FEE_BPS, credited to the treasury (accruedFees) until it pulls them.
    function invariant_feesToTreasuryRestToPayouts() public view {
        address token = handler.tokens(0);
        uint256 paid = handler.ghostPaid(token);
        uint256 fees = handler.ghostFees(token);
        assertEq(
            sc.accruedFees(token) + handler.ghostFeesPulled(token), fees, "accrued + pulled = sum of the fees"
        );
        assertEq(
            IERC20(token).balanceOf(TREASURY), handler.ghostFeesPulled(token), "treasury = what it pulled"
        );
        assertEq(handler.ghostFeesLost(), 0, "accrued fees never shrink but by a pull");
        assertEq(
            IERC20(token).balanceOf(handler.payouts(0)) + IERC20(token).balanceOf(handler.payouts(1)),
            paid - fees,
            "payouts = claimed - fees"
        );
        assertLe(fees * 10_000, paid * sc.MAX_FEE_BPS(), "fees within the cap");
        assertEq(handler.ghostFeeAboveCap(), 0, "no fee above MAX_FEE_BPS accepted");
        assertLe(sc.feeBps(), sc.MAX_FEE_BPS(), "feeBps <= MAX_FEE_BPS");
    }

    /// @notice No provider ever collects more than the payer signed (with a then-valid key); the contract's
    /// collected and balance agree with the ghosts.
    function invariant_collectedWithinSigned() public view {
        for (uint256 id = 0; id < 12; ++id) {
            (address payer, address provider, address token) = _escrow(id);
            uint256 collected = sc.collected(payer, provider, token);
            assertLe(collected, handler.maxSigned(id), "collected <= signed");
            assertEq(collected, handler.ghostCollected(id), "collected = what claims paid");
            assertEq(
                _balance(id),
                handler.ghostEscrowDeposited(id) - handler.ghostEscrowWithdrawn(id) - collected,
                "balance = deposited - withdrawn - collected"
            );
        }
    }

    /// @notice No voucher pays twice, no voucher for another chain, contract, provider, token or payout pays, and
    /// no withdrawal happens before its thaw ends.
    function invariant_nothingPaidThatWasNotOwed() public view {
        assertEq(handler.ghostReplayPaid(), 0, "a voucher paid twice");
        assertEq(handler.ghostForeignPaid(), 0, "a foreign voucher paid");
        assertEq(handler.ghostEarlyWithdrawn(), 0, "a withdrawal before the thaw ended");
    }

    /// @notice A hot key is valid exactly while authorized and before its revocation time (the payer always).
    function invariant_signerValidity() public {
        vm.warp(handler.time());
        for (uint256 p = 0; p < 3; ++p) {
            address payer = handler.payers(p);
            address hot = handler.hots(p);
            assertTrue(sc.isAuthorized(payer, payer), "the payer signs for itself");
            assertEq(sc.isAuthorized(payer, hot), handler.validSigner(p, hot), "hot key validity");
        }
    }

    /// @notice Whatever happened so far, each payer can recover at least the unsigned rest: thaw everything, let
    /// the provider claim its newest voucher during the thaw, withdraw after it (played on a snapshot).
    function invariant_payerRecoversUnsignedRest() public {
        uint256 snapshot = vm.snapshotState();
        vm.warp(handler.time());
        for (uint256 id = 0; id < 12; ++id) {
            (address payer, address provider, address token) = _escrow(id);
            uint256 balance = _balance(id);
            if (balance == 0) continue;
            uint256 unsigned = handler.ghostEscrowDeposited(id) - handler.ghostEscrowWithdrawn(id);
            unsigned = unsigned > handler.maxSigned(id) ? unsigned - handler.maxSigned(id) : 0;
            vm.prank(payer);
            sc.thaw(provider, token, balance);
            uint256 claimed;
            ServiceCredentialsHandler.Signed memory s = handler.latestVoucher(id);
            if (
                s.v.cumulativeAmount > sc.collected(payer, provider, token)
                    && handler.validSigner(id % 3, s.signer)
            ) {
                vm.prank(provider);
                claimed = sc.claim(s.v, s.sig, type(uint256).max);
            }
            vm.warp(block.timestamp + THAW);
            vm.prank(payer);
            uint256 back = sc.withdraw(provider, token);
            assertEq(back + claimed, balance, "everything left is claimed or recovered");
            assertGe(back, unsigned, "the payer recovers at least the unsigned rest");
            vm.warp(handler.time());
        }
        vm.revertToState(snapshot);
    }

    function _escrow(uint256 id) internal view returns (address payer, address provider, address token) {
        uint256 p;
        (p, provider, token) = handler.escrowOf(id);
        payer = handler.payers(p);
    }

    function _balance(uint256 id) internal view returns (uint256 balance) {
        (address payer, address provider, address token) = _escrow(id);
        (balance,,) = sc.escrow(payer, provider, token);
    }
}
