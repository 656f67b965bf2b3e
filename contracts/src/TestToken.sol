// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice An 18-decimal ERC20 anyone can mint, for local chains and tests only.
contract TestToken is ERC20 {
    constructor() ERC20("rlnkit Test Token", "RLNT") {}

    /// @notice Mints `amount` tokens to `to`. Unrestricted: never deploy this on a public network.
    /// @param to The receiver.
    /// @param amount The amount, in the smallest unit.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
