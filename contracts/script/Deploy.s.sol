// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

import {LinearPriceCalculator} from "../src/LinearPriceCalculator.sol";
import {RlnMembership} from "../src/RlnMembership.sol";
import {TestToken} from "../src/TestToken.sol";
import {Vm} from "../test/utils/Vm.sol";

/// @title Deploy
/// @notice Deploys the registry with the Waku network's deployed parameters, for local chains:
///   TestToken (unless TOKEN is set), LinearPriceCalculator (0.05 token per message per epoch),
///   RlnMembership implementation and its ERC1967 proxy (rate limit 20..600 per membership, 1,000,000 in
///   total, 180 days active, 30 days grace), slashing defaults (50% reward, 256-block reveal window,
///   7,200-block withdrawal delay; treasury = deployer unless TREASURY is set).
///
///   forge script contracts/script/Deploy.s.sol --rpc-url http://127.0.0.1:8545 --broadcast \
///     --private-key <key>          (or PRIVATE_KEY=<key> in the environment)
///
/// forge deploys the PoseidonT2/PoseidonT3 libraries first and links them.
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 public constant PRICE_PER_MESSAGE_PER_EPOCH = 5e16; // 0.05 of an 18-decimal token
    uint32 public constant MAX_TOTAL_RATE_LIMIT = 1_000_000;
    uint32 public constant MIN_MEMBERSHIP_RATE_LIMIT = 20;
    uint32 public constant MAX_MEMBERSHIP_RATE_LIMIT = 600;
    uint32 public constant ACTIVE_DURATION = 180 days;
    uint32 public constant GRACE_PERIOD = 30 days;

    /// @notice Addresses of a deployment.
    struct Deployment {
        address token;
        address priceCalculator;
        address implementation;
        address proxy;
    }

    /// @notice Entry point of `forge script`.
    function run() external returns (Deployment memory deployment) {
        uint256 privateKey = vm.envOr("PRIVATE_KEY", uint256(0));
        address token = vm.envOr("TOKEN", address(0));
        address treasury = vm.envOr("TREASURY", address(0));
        if (privateKey == 0) vm.startBroadcast();
        else vm.startBroadcast(privateKey);
        deployment = deploy(token, treasury);
        vm.stopBroadcast();
    }

    /// @notice Deploys everything (the caller becomes owner of the calculator and the registry).
    /// @param token The deposit token; a new TestToken if zero.
    /// @param treasury The slashing treasury; the deployer if zero.
    function deploy(address token, address treasury) public returns (Deployment memory d) {
        d.token = token == address(0) ? address(new TestToken()) : token;
        d.priceCalculator = address(new LinearPriceCalculator(d.token, PRICE_PER_MESSAGE_PER_EPOCH));
        d.implementation = address(new RlnMembership());
        bytes memory init = abi.encodeCall(
            RlnMembership.initialize,
            (
                d.priceCalculator,
                MAX_TOTAL_RATE_LIMIT,
                MIN_MEMBERSHIP_RATE_LIMIT,
                MAX_MEMBERSHIP_RATE_LIMIT,
                ACTIVE_DURATION,
                GRACE_PERIOD
            )
        );
        d.proxy = address(new ERC1967Proxy(d.implementation, init));
        if (treasury != address(0)) RlnMembership(d.proxy).setTreasury(treasury);
    }
}
