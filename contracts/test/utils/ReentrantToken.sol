// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC20 that, once armed, calls back into a target during its next transfer (tests: a token that
/// reenters cannot gain anything). The callback's result is recorded, not propagated.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public callback;
    bool public reentered;
    bool public callbackSucceeded;
    bytes public callbackResult;

    constructor() ERC20("Reentrant", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata callback_) external {
        (target, callback) = (target_, callback_);
    }

    function _afterTokenTransfer(address, address, uint256) internal override {
        if (target == address(0) || reentered) return;
        reentered = true;
        (callbackSucceeded, callbackResult) = target.call(callback);
    }
}
