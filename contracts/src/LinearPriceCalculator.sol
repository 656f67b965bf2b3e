// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IPriceCalculator} from "./IPriceCalculator.sol";

/// @notice The zero address was given as the deposit token.
error OnlyTokensAllowed();

/// @title LinearPriceCalculator
/// @notice Deposit = rateLimit * pricePerMessagePerEpoch, in one ERC20 token (the deployed Waku design).
contract LinearPriceCalculator is IPriceCalculator, Ownable {
    /// @notice The ERC20 token deposits are made in.
    address public token;

    /// @notice Price of one message per epoch of rate limit, in the token's smallest unit.
    uint256 public pricePerMessagePerEpoch;

    /// @param _token The ERC20 deposit token (not the zero address).
    /// @param _pricePerMessagePerEpoch Price per message per epoch (may be zero).
    constructor(address _token, uint256 _pricePerMessagePerEpoch) {
        _setTokenAndPrice(_token, _pricePerMessagePerEpoch);
    }

    /// @notice Changes the deposit token and price; existing memberships keep what they paid.
    /// @param _token The ERC20 deposit token (not the zero address).
    /// @param _pricePerMessagePerEpoch Price per message per epoch (may be zero).
    function setTokenAndPrice(address _token, uint256 _pricePerMessagePerEpoch) external onlyOwner {
        _setTokenAndPrice(_token, _pricePerMessagePerEpoch);
    }

    /// @inheritdoc IPriceCalculator
    function calculate(uint32 _rateLimit) external view returns (address, uint256) {
        return (token, uint256(_rateLimit) * pricePerMessagePerEpoch);
    }

    function _setTokenAndPrice(address _token, uint256 _pricePerMessagePerEpoch) private {
        if (_token == address(0)) revert OnlyTokensAllowed();
        token = _token;
        pricePerMessagePerEpoch = _pricePerMessagePerEpoch;
    }
}
