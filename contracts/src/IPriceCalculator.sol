// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IPriceCalculator
/// @notice Prices a membership: which ERC20 token to deposit and how much of it.
interface IPriceCalculator {
    /// @notice Returns the deposit required for a membership with `rateLimit` messages per epoch.
    /// @param rateLimit The membership rate limit (messages per epoch).
    /// @return token The ERC20 token to deposit.
    /// @return amount The deposit, in the token's smallest unit.
    function calculate(uint32 rateLimit) external view returns (address token, uint256 amount);
}
