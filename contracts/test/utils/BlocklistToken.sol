// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token with a blocklist (as USDC and USDT have): transfers to or from a blocked address revert.
contract BlocklistToken is ERC20("Blocklist", "BLK") {
    mapping(address => bool) public blocked;

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlocked(address who, bool isBlocked) external {
        blocked[who] = isBlocked;
    }

    function _beforeTokenTransfer(address from, address to, uint256) internal view override {
        require(!blocked[from] && !blocked[to], "blocked");
    }
}
