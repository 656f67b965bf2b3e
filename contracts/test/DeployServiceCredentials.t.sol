// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {DeployServiceCredentials} from "../script/DeployServiceCredentials.s.sol";
import {ServiceCredentials} from "../src/ServiceCredentials.sol";
import {IServiceCredentials} from "../src/interfaces/IServiceCredentials.sol";
import {Test} from "./utils/Test.sol";

/// @notice The ServiceCredentials deploy script yields a contract with the documented defaults.
contract DeployServiceCredentialsTest is Test {
    function test_deploy_withDefaults() public {
        DeployServiceCredentials script = new DeployServiceCredentials();
        ServiceCredentials sc = script.deploy(
            address(0x0E7E4),
            address(0x7EA5),
            script.DEFAULT_FEE_BPS(),
            script.DEFAULT_THAW_PERIOD(),
            script.DEFAULT_SIGNER_THAW_PERIOD()
        );
        assertEq(sc.owner(), address(0x0E7E4), "owner");
        assertEq(sc.treasury(), address(0x7EA5), "treasury");
        assertEq(sc.feeBps(), 100, "1 % fee");
        assertEq(sc.thawPeriod(), 7 days, "thaw");
        assertEq(sc.signerThawPeriod(), 7 days, "signer thaw");
    }

    function test_RevertIf_deploy_feeAboveCap() public {
        DeployServiceCredentials script = new DeployServiceCredentials();
        vm.expectRevert(abi.encodeWithSelector(IServiceCredentials.FeeTooHigh.selector, 1001, 1000));
        script.deploy(address(0x0E7E4), address(0x7EA5), 1001, 7 days, 1 days);
    }
}
