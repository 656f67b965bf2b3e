// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ServiceCredentials} from "../src/ServiceCredentials.sol";
import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {ServiceCredentialsTestBase} from "./utils/ServiceCredentialsTestBase.sol";

/// @notice Construction, the owner's fee and treasury, two-step ownership, the service registry and the
/// EIP-712 domain.
contract ServiceCredentialsAdminTest is ServiceCredentialsTestBase {
    // ---------------------------------------------------------------------------------------- constructor

    function test_constructor_setsParameters() public view {
        assertEq(sc.owner(), owner, "owner");
        assertEq(sc.treasury(), treasury, "treasury");
        assertEq(sc.feeBps(), FEE_BPS, "fee");
        assertEq(sc.MAX_FEE_BPS(), 1000, "cap");
        assertEq(sc.thawPeriod(), THAW, "thaw period");
        assertEq(sc.signerThawPeriod(), SIGNER_THAW, "signer thaw period");
    }

    function test_constructor_emitsFeeAndTreasury() public {
        vm.expectEmit();
        emit IServiceCredentials.TreasurySet(treasury);
        vm.expectEmit();
        emit IServiceCredentials.ProtocolFeeSet(FEE_BPS);
        new ServiceCredentials(owner, treasury, FEE_BPS, THAW, SIGNER_THAW);
    }

    function test_RevertIf_constructor_zeroOwner() public {
        vm.expectRevert(IServiceCredentials.InvalidOwner.selector);
        new ServiceCredentials(address(0), treasury, FEE_BPS, THAW, SIGNER_THAW);
    }

    function test_RevertIf_constructor_zeroTreasury() public {
        vm.expectRevert(IServiceCredentials.InvalidTreasury.selector);
        new ServiceCredentials(owner, address(0), FEE_BPS, THAW, SIGNER_THAW);
    }

    function test_RevertIf_constructor_feeAboveCap() public {
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.FeeTooHigh.selector, 1001, 1000));
        new ServiceCredentials(owner, treasury, 1001, THAW, SIGNER_THAW);
    }

    function test_RevertIf_constructor_zeroThawPeriod() public {
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.InvalidThawPeriods.selector, 0, SIGNER_THAW)
        );
        new ServiceCredentials(owner, treasury, FEE_BPS, 0, SIGNER_THAW);
    }

    function test_RevertIf_constructor_zeroSignerThawPeriod() public {
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.InvalidThawPeriods.selector, THAW, 0));
        new ServiceCredentials(owner, treasury, FEE_BPS, THAW, 0);
    }

    function test_RevertIf_constructor_thawPeriodAboveAYear() public {
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.InvalidThawPeriods.selector, 365 days + 1, SIGNER_THAW)
        );
        new ServiceCredentials(owner, treasury, FEE_BPS, 365 days + 1, SIGNER_THAW);
    }

    function test_RevertIf_constructor_signerThawPeriodAboveAYear() public {
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.InvalidThawPeriods.selector, THAW, 365 days + 1)
        );
        new ServiceCredentials(owner, treasury, FEE_BPS, THAW, 365 days + 1);
    }

    function test_constructor_acceptsAYear() public {
        ServiceCredentials c = new ServiceCredentials(owner, treasury, FEE_BPS, 365 days, 365 days);
        assertEq(c.thawPeriod(), 365 days, "thaw period");
    }

    // ---------------------------------------------------------------------------------------- owner

    function test_setProtocolFee_upToCap() public {
        vm.expectEmit(address(sc));
        emit IServiceCredentials.ProtocolFeeSet(1000);
        vm.prank(owner);
        sc.setProtocolFee(1000);
        assertEq(sc.feeBps(), 1000, "fee");
    }

    function test_RevertIf_setProtocolFee_aboveCap() public {
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.FeeTooHigh.selector, 1001, 1000));
        vm.prank(owner);
        sc.setProtocolFee(1001);
    }

    function test_RevertIf_setProtocolFee_notOwner() public {
        vm.expectRevert("Ownable: caller is not the owner");
        vm.prank(provider);
        sc.setProtocolFee(0);
    }

    function test_setTreasury_newTreasuryPullsTheFees() public {
        _deposit(payer, provider, 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE);
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        assertEq(sc.accruedFees(address(token)), _fee(10 * PRICE), "the fee is credited, not sent");
        assertEq(token.balanceOf(treasury), 0, "nothing pushed to the treasury");

        address newTreasury = address(0x7EA6);
        vm.expectEmit(address(sc));
        emit IServiceCredentials.TreasurySet(newTreasury);
        vm.prank(owner);
        sc.setTreasury(newTreasury);
        vm.prank(treasury);
        vm.expectRevert(
            abi.encodeWithSelector(IServiceCredentials.NotTreasury.selector, treasury, newTreasury)
        );
        sc.withdrawFees(address(token));
        vm.expectEmit(address(sc));
        emit IServiceCredentials.FeesWithdrawn(newTreasury, address(token), _fee(10 * PRICE));
        vm.prank(newTreasury);
        assertEq(sc.withdrawFees(address(token)), _fee(10 * PRICE), "pulled");
        assertEq(token.balanceOf(newTreasury), _fee(10 * PRICE), "fee to the new treasury");
        assertEq(sc.accruedFees(address(token)), 0, "nothing left");
        vm.prank(newTreasury);
        assertEq(sc.withdrawFees(address(token)), 0, "a second pull pays nothing");
    }

    function test_constructor_raisesAShortSignerThawToTheThaw() public {
        ServiceCredentials c = new ServiceCredentials(owner, treasury, FEE_BPS, 7 days, 1 days);
        assertEq(c.signerThawPeriod(), 7 days, "a revocation never takes effect inside the escrow thaw");
    }

    function test_RevertIf_setTreasury_zero() public {
        vm.expectRevert(IServiceCredentials.InvalidTreasury.selector);
        vm.prank(owner);
        sc.setTreasury(address(0));
    }

    function test_RevertIf_setTreasury_theContract() public {
        vm.expectRevert(IServiceCredentials.InvalidTreasury.selector);
        vm.prank(owner);
        sc.setTreasury(address(sc));
    }

    function test_RevertIf_setTreasury_notOwner() public {
        vm.expectRevert("Ownable: caller is not the owner");
        vm.prank(provider);
        sc.setTreasury(provider);
    }

    function test_transferOwnership_takesTwoSteps() public {
        address next = address(0x0E7E5);
        vm.prank(owner);
        sc.transferOwnership(next);
        assertEq(sc.owner(), owner, "still the old owner");
        assertEq(sc.pendingOwner(), next, "pending");
        vm.expectRevert("Ownable2Step: caller is not the new owner");
        vm.prank(provider);
        sc.acceptOwnership();
        vm.prank(next);
        sc.acceptOwnership();
        assertEq(sc.owner(), next, "new owner");
        vm.prank(next);
        sc.setProtocolFee(0);
        assertEq(sc.feeBps(), 0, "the new owner sets the fee");
    }

    // ---------------------------------------------------------------------------------------- services

    function test_registerService_storesAndUpdates() public {
        vm.expectEmit(address(sc));
        emit IServiceCredentials.ServiceRegistered(provider, 1, address(token), PRICE, payout);
        vm.prank(provider);
        sc.registerService(1, address(token), PRICE, payout);
        (address t, uint256 price, address p) = sc.service(provider, 1);
        assertEq(t, address(token), "token");
        assertEq(price, PRICE, "price");
        assertEq(p, payout, "payout");
        vm.prank(provider);
        sc.registerService(1, address(otherToken), 2 * PRICE, otherProvider);
        (t, price, p) = sc.service(provider, 1);
        assertEq(t, address(otherToken), "updated token");
        assertEq(price, 2 * PRICE, "updated price");
        assertEq(p, otherProvider, "updated payout");
        (t, price, p) = sc.service(otherProvider, 1);
        assertEq(t, address(0), "per provider");
    }

    function test_registerService_payoutNotUsedByClaims() public {
        vm.prank(provider);
        sc.registerService(1, address(token), PRICE, otherProvider);
        _deposit(payer, provider, 10 * PRICE);
        IServiceCredentials.Voucher memory v = _voucher(payer, 10 * PRICE); // signed payout: `payout`
        _claim(v, _sign(PAYER_KEY, v), type(uint256).max);
        assertEq(token.balanceOf(otherProvider), 0, "registry payout ignored");
        assertEq(token.balanceOf(payout), 10 * PRICE - _fee(10 * PRICE), "the signed payout is paid");
    }

    function test_RevertIf_registerService_zeroToken() public {
        vm.expectRevert(IServiceCredentials.InvalidToken.selector);
        vm.prank(provider);
        sc.registerService(1, address(0), PRICE, payout);
    }

    function test_RevertIf_registerService_payoutIsTheContract() public {
        vm.expectRevert(IServiceCredentials.InvalidPayout.selector);
        vm.prank(provider);
        sc.registerService(1, address(token), PRICE, address(sc));
    }

    function test_RevertIf_registerService_zeroPayout() public {
        vm.expectRevert(IServiceCredentials.InvalidPayout.selector);
        vm.prank(provider);
        sc.registerService(1, address(token), PRICE, address(0));
    }

    // ---------------------------------------------------------------------------------------- EIP-712

    function test_hashVoucher_matchesEip712ComputedFromTheSpec() public view {
        IServiceCredentials.Voucher memory v = _voucher(payer, 12_345);
        assertEq(sc.hashVoucher(v), _digest(v, block.chainid, address(sc)), "digest");
    }

    function test_domainSeparator_bindsNameVersionChainAndContract() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("rlnkit ServiceCredentials"),
                keccak256("1"),
                block.chainid,
                address(sc)
            )
        );
        assertEq(sc.domainSeparator(), expected, "domain separator");
        (, string memory name, string memory version, uint256 chainId, address verifying,,) =
            sc.eip712Domain();
        assertEq(keccak256(bytes(name)), keccak256("rlnkit ServiceCredentials"), "EIP-5267 name");
        assertEq(keccak256(bytes(version)), keccak256("1"), "EIP-5267 version");
        assertEq(chainId, block.chainid, "EIP-5267 chain id");
        assertEq(verifying, address(sc), "EIP-5267 contract");
    }

    function test_domainSeparator_followsChainId() public {
        bytes32 before = sc.domainSeparator();
        vm.chainId(block.chainid + 1);
        assertTrue(sc.domainSeparator() != before, "a fork gets another domain");
    }

    function test_voucherTypehash() public view {
        assertEq(
            sc.VOUCHER_TYPEHASH(),
            keccak256(
                "Voucher(address payer,address provider,address token,address payout,uint256 cumulativeAmount)"
            ),
            "type hash"
        );
    }
}
