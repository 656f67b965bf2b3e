// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ServiceCredentials} from "../src/ServiceCredentials.sol";
import {Vm} from "../test/utils/Vm.sol";

/// @title DeployServiceCredentials
/// @notice Deploys ServiceCredentials: owner = the sender unless OWNER is set, treasury = the owner unless TREASURY
/// is set, a 1 % protocol fee (FEE_BPS), a 7-day thaw (THAW_PERIOD) and a 7-day signer revocation period
/// (SIGNER_THAW_PERIOD, never shorter than the thaw: the contract raises it), in seconds.
///
///   forge script contracts/script/DeployServiceCredentials.s.sol --rpc-url http://127.0.0.1:8545 --broadcast \
///     --private-key <key>          (or PRIVATE_KEY=<key> in the environment)
contract DeployServiceCredentials {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint16 public constant DEFAULT_FEE_BPS = 100;
    uint64 public constant DEFAULT_THAW_PERIOD = 7 days;
    uint64 public constant DEFAULT_SIGNER_THAW_PERIOD = 7 days;

    /// @notice Entry point of `forge script`.
    function run() external returns (ServiceCredentials credentials) {
        uint256 privateKey = vm.envOr("PRIVATE_KEY", uint256(0));
        address sender = privateKey == 0 ? msg.sender : vm.addr(privateKey);
        address owner = vm.envOr("OWNER", sender);
        address treasury = vm.envOr("TREASURY", owner);
        uint16 feeBps = uint16(vm.envOr("FEE_BPS", uint256(DEFAULT_FEE_BPS)));
        uint64 thawPeriod = uint64(vm.envOr("THAW_PERIOD", uint256(DEFAULT_THAW_PERIOD)));
        uint64 signerThawPeriod = uint64(vm.envOr("SIGNER_THAW_PERIOD", uint256(DEFAULT_SIGNER_THAW_PERIOD)));
        if (privateKey == 0) vm.startBroadcast();
        else vm.startBroadcast(privateKey);
        credentials = deploy(owner, treasury, feeBps, thawPeriod, signerThawPeriod);
        vm.stopBroadcast();
    }

    /// @notice Deploys the contract with these parameters (the constructor checks them).
    function deploy(
        address owner,
        address treasury,
        uint16 feeBps,
        uint64 thawPeriod,
        uint64 signerThawPeriod
    ) public returns (ServiceCredentials) {
        return new ServiceCredentials(owner, treasury, feeBps, thawPeriod, signerThawPeriod);
    }
}
