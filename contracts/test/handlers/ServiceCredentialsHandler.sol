// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ServiceCredentials} from "../../src/ServiceCredentials.sol";
import {IServiceCredentials} from "../../src/interfaces/IServiceCredentials.sol";
import {TestToken} from "../../src/TestToken.sol";
import {FeeOnTransferToken} from "../utils/FeeOnTransferToken.sol";
import {Test} from "../utils/Test.sol";
import {VoucherDigest} from "../utils/VoucherDigest.sol";

/// @notice Drives ServiceCredentials for the invariant tests: 3 payers (each with a hot signer key), 2 providers,
/// 2 tokens (a plain one and a fee-on-transfer one), 2 payout addresses, its own clock, and ghost variables the
/// invariants compare the contract to. Vouchers are signed with the Vm from the spec's EIP-712 digest.
/// Every action either succeeds as expected, reverts exactly as expected (checked here), or is skipped: the
/// campaign runs with fail_on_revert.
contract ServiceCredentialsHandler is Test {
    ServiceCredentials public immutable sc;
    ServiceCredentials public immutable twin; // another deployment: its vouchers must pay nothing here
    address public immutable treasury;

    uint256 public constant PAYERS = 3;
    uint256 public constant ESCROWS = 12; // 3 payers x 2 providers x 2 tokens

    address[2] public tokens;
    address[2] public providers;
    address[2] public payouts;
    address[3] public payers;
    address[3] public hots;
    uint256[3] internal payerKeys;
    uint256[3] internal hotKeys;

    uint256 public time;

    /// @dev A voucher with its signature and who signed it.
    struct Signed {
        IServiceCredentials.Voucher v;
        bytes sig;
        address signer;
    }

    mapping(uint256 escrowId => Signed) internal latest; // the newest voucher of each escrow
    Signed[] internal history; // every voucher that was claimed (for replays)

    // Ghosts of the hot keys (the handler's own model of signer validity, not the contract's).
    mapping(uint256 p => bool) public hotAuthorized;
    mapping(uint256 p => uint256) public hotRevokeAt;
    // Ghosts per escrow.
    mapping(uint256 escrowId => uint256) public maxSigned; // highest cumulative signed by a valid key
    mapping(uint256 escrowId => uint256) public ghostCollected;
    mapping(uint256 escrowId => uint256) public ghostEscrowDeposited; // what arrived
    mapping(uint256 escrowId => uint256) public ghostEscrowWithdrawn;
    // Ghosts per token.
    mapping(address token => uint256) public ghostDeposited;
    mapping(address token => uint256) public ghostPaid; // left the escrows by claims, fees included
    mapping(address token => uint256) public ghostFees; // credited to the treasury
    mapping(address token => uint256) public ghostFeesPulled; // pulled by the treasury
    uint256 public ghostFeesLost; // accrued fees went down other than by a pull
    mapping(address token => uint256) public ghostWithdrawn;
    // Things that must never happen (each counts the amount or the times it did).
    uint256 public ghostReplayPaid; // a voucher paid although collected was already at its amount
    uint256 public ghostForeignPaid; // a voucher for another chain/contract/provider/token/payout paid
    uint256 public ghostEarlyWithdrawn; // withdraw before the thaw ended succeeded
    uint256 public ghostFeeAboveCap; // setProtocolFee accepted more than MAX_FEE_BPS
    // Outcome counters (how much of the state space a campaign reached).
    mapping(bytes32 outcome => uint256) public reached;

    constructor(ServiceCredentials sc_, ServiceCredentials twin_, address treasury_) {
        sc = sc_;
        twin = twin_;
        treasury = treasury_;
        tokens[0] = address(new TestToken());
        tokens[1] = address(new FeeOnTransferToken());
        providers[0] = address(0x9400001);
        providers[1] = address(0x9400002);
        payouts[0] = address(0x9A70001);
        payouts[1] = address(0x9A70002);
        for (uint256 i = 0; i < PAYERS; ++i) {
            payerKeys[i] = 0xA000 + i;
            hotKeys[i] = 0xB000 + i;
            payers[i] = vm.addr(payerKeys[i]);
            hots[i] = vm.addr(hotKeys[i]);
        }
        time = block.timestamp;
    }

    modifier useClock() {
        vm.warp(time);
        _;
    }

    // ------------------------------------------------------------------------------------------ escrows

    /// @dev Three of four actions go to four busy escrows (the three payers of provider 0 in the plain token, and
    /// payer 0 in the fee-on-transfer token), so that deposits, vouchers, claims and thaws meet within one run.
    function _pick(uint256 seed) internal pure returns (uint256) {
        if (seed % 4 == 0) return (seed / 4) % ESCROWS;
        uint256 busy = (seed / 4) % 4;
        return busy == 3 ? 6 : busy;
    }

    /// @dev Escrow id -> (payer index, provider, token).
    function escrowOf(uint256 id) public view returns (uint256 p, address provider, address token) {
        id %= ESCROWS;
        return (id % PAYERS, providers[(id / PAYERS) % 2], tokens[id / (PAYERS * 2)]);
    }

    function latestVoucher(uint256 id) external view returns (Signed memory) {
        return latest[id];
    }

    // ------------------------------------------------------------------------------------------ payer actions

    function deposit(uint256 id, uint256 amountSeed) external useClock {
        id = _pick(id);
        (uint256 p, address provider, address token) = escrowOf(id);
        uint256 amount = bound(amountSeed, 1, 100e18);
        address payer = payers[p];
        if (token == tokens[0]) TestToken(token).mint(payer, amount);
        else FeeOnTransferToken(token).mint(payer, amount);
        vm.prank(payer);
        IERC20(token).approve(address(sc), amount);
        (uint256 before,,) = sc.escrow(payer, provider, token);
        uint256 held = IERC20(token).balanceOf(address(sc));
        vm.prank(payer);
        sc.deposit(provider, token, amount);
        uint256 arrived = IERC20(token).balanceOf(address(sc)) - held;
        (uint256 afterwards,,) = sc.escrow(payer, provider, token);
        assertEq(afterwards - before, arrived, "deposit credits what arrived");
        ghostEscrowDeposited[id] += arrived;
        ghostDeposited[token] += arrived;
        reached[token == tokens[0] ? bytes32("deposit") : bytes32("deposit fee-on-transfer")] += 1;
    }

    /// @notice The payer (or its hot key, when valid) signs the escrow's next voucher.
    function sign(uint256 id, uint256 incrementSeed, uint256 payoutSeed, bool useHotKey) external useClock {
        id = _pick(id);
        (uint256 p, address provider, address token) = escrowOf(id);
        uint256 key = payerKeys[p];
        address signer = payers[p];
        if (useHotKey && _valid(p, hots[p])) {
            (key, signer) = (hotKeys[p], hots[p]);
            reached["sign with hot key"] += 1;
        }
        IServiceCredentials.Voucher memory v = IServiceCredentials.Voucher({
            payer: payers[p],
            provider: provider,
            token: token,
            payout: payouts[payoutSeed % 2],
            cumulativeAmount: latest[id].v.cumulativeAmount + bound(incrementSeed, 1, 60e18)
        });
        latest[id] = Signed(v, _sign(key, v, block.chainid, address(sc)), signer);
        if (v.cumulativeAmount > maxSigned[id]) maxSigned[id] = v.cumulativeAmount;
    }

    function authorizeSigner(uint256 p) external useClock {
        p %= PAYERS;
        vm.prank(payers[p]);
        sc.authorizeSigner(hots[p]);
        (hotAuthorized[p], hotRevokeAt[p]) = (true, 0);
        reached["authorize signer"] += 1;
    }

    function startSignerRevocation(uint256 p) external useClock {
        p %= PAYERS;
        if (!_valid(p, hots[p])) return;
        vm.prank(payers[p]);
        sc.startSignerRevocation(hots[p]);
        // The model: a revocation never takes effect before a thaw started now would end.
        if (hotRevokeAt[p] == 0) {
            hotRevokeAt[p] = block.timestamp + _max(sc.signerThawPeriod(), sc.thawPeriod());
        }
        reached["start signer revocation"] += 1;
    }

    function revokeSigner(uint256 p) external useClock {
        p %= PAYERS;
        if (!hotAuthorized[p] || hotRevokeAt[p] == 0 || block.timestamp < hotRevokeAt[p]) return;
        vm.prank(payers[p]);
        sc.revokeSigner(hots[p]);
        (hotAuthorized[p], hotRevokeAt[p]) = (false, 0);
        reached["revoke signer"] += 1;
    }

    function thaw(uint256 id, uint256 amountSeed) external useClock {
        id = _pick(id);
        (uint256 p, address provider, address token) = escrowOf(id);
        (uint256 balance,,) = sc.escrow(payers[p], provider, token);
        uint256 amount = amountSeed % 5 == 0 ? balance : bound(amountSeed, 0, balance);
        vm.prank(payers[p]);
        sc.thaw(provider, token, amount);
        reached[amount == 0 ? bytes32("thaw cancelled") : bytes32("thaw")] += 1;
    }

    function withdraw(uint256 id) external useClock {
        id = _pick(id);
        (uint256 p, address provider, address token) = escrowOf(id);
        address payer = payers[p];
        (uint256 balance, uint256 thawAmount, uint64 thawEnd) = sc.escrow(payer, provider, token);
        if (thawAmount == 0) return;
        vm.prank(payer);
        if (block.timestamp < thawEnd) {
            // Too early: must be refused, whatever the amount.
            try sc.withdraw(provider, token) returns (uint256 amount) {
                ghostEarlyWithdrawn += 1;
                _recordWithdrawn(id, token, amount);
            } catch (bytes memory err) {
                _expectError(err, abi.encodeWithSelector(IServiceCredentials.ThawNotEnded.selector, thawEnd));
                reached["withdraw refused before thaw end"] += 1;
            }
            return;
        }
        uint256 amount = sc.withdraw(provider, token);
        assertEq(
            amount, thawAmount < balance ? thawAmount : balance, "withdraw pays min(thawAmount, balance)"
        );
        _recordWithdrawn(id, token, amount);
        reached["withdraw"] += 1;
    }

    // ------------------------------------------------------------------------------------------ provider actions

    /// @notice The provider claims the escrow's newest voucher, in full or in part.
    function claim(uint256 id, uint256 maxSeed) external useClock {
        id = _pick(id);
        Signed memory s = latest[id];
        if (s.v.payer == address(0)) return;
        (uint256 balance,,) = sc.escrow(s.v.payer, s.v.provider, s.v.token);
        uint256 done = sc.collected(s.v.payer, s.v.provider, s.v.token);
        uint256 owed = s.v.cumulativeAmount > done ? s.v.cumulativeAmount - done : 0;
        uint256 maxAmount = maxSeed % 3 == 0 ? type(uint256).max : bound(maxSeed, 0, owed + 1);
        uint256 expected = _min(_min(owed, maxAmount), balance);
        bool validSigner = _valid(_payerIndex(s.v.payer), s.signer);
        uint256 bps = sc.feeBps();
        vm.prank(s.v.provider);
        try sc.claim(s.v, s.sig, maxAmount) returns (uint256 paid) {
            assertTrue(validSigner, "a voucher of a revoked signer paid");
            assertEq(paid, expected, "claim pays min(maxAmount, cumulative - collected, balance)");
            _recordPaid(id, s.v.token, paid, paid * bps / 10_000);
            history.push(s);
            reached["claim"] += 1;
        } catch (bytes memory err) {
            if (!validSigner) {
                _expectError(
                    err,
                    abi.encodeWithSelector(
                        IServiceCredentials.UnauthorizedSigner.selector, s.v.payer, s.signer
                    )
                );
                reached["claim refused: revoked signer"] += 1;
            } else if (owed == 0) {
                _expectError(
                    err,
                    abi.encodeWithSelector(
                        IServiceCredentials.StaleVoucher.selector, s.v.cumulativeAmount, done
                    )
                );
                reached["claim refused: stale"] += 1;
            } else {
                assertEq(expected, 0, "claim refused although it owed something");
                _expectError(
                    err,
                    abi.encodeWithSelector(
                        IServiceCredentials.NothingToClaim.selector, s.v.payer, s.v.provider, s.v.token
                    )
                );
                reached["claim refused: nothing to claim"] += 1;
            }
        }
    }

    /// @notice A provider redeems the newest vouchers (one token, one payout) of every payer at once; those of
    /// revoked signers must be skipped (VoucherSkipped) while the others are paid.
    function claimMany(uint256 providerSeed, uint256 tokenSeed, uint256 payoutSeed, bool duplicate)
        external
        useClock
    {
        address provider = providers[providerSeed % 2];
        address token = tokens[tokenSeed % 2];
        address payout = payouts[payoutSeed % 2];
        IServiceCredentials.Voucher[] memory vs = new IServiceCredentials.Voucher[](PAYERS + 1);
        bytes[] memory sigs = new bytes[](PAYERS + 1);
        uint256[] memory ids = new uint256[](PAYERS + 1);
        uint256 n;
        for (uint256 id = 0; id < ESCROWS; ++id) {
            Signed memory s = latest[id];
            if (s.v.provider != provider || s.v.token != token || s.v.payout != payout) continue;
            (vs[n], sigs[n], ids[n]) = (s.v, s.sig, id);
            ++n;
        }
        if (n == 0) return;
        if (duplicate && _valid(_payerIndex(vs[0].payer), latest[ids[0]].signer)) {
            // The same voucher twice in one batch: the second copy must pay nothing.
            (vs[n], sigs[n], ids[n]) = (vs[0], sigs[0], ids[0]);
            ++n;
            reached["claimMany with a duplicate"] += 1;
        }
        assembly ("memory-safe") {
            mstore(vs, n)
            mstore(sigs, n)
            mstore(ids, n)
        }
        uint256[] memory expected = _expectBatch(vs, ids);
        uint256 bps = sc.feeBps();
        uint256 feesBefore = sc.accruedFees(token);
        vm.prank(provider);
        uint256 paid = sc.claimMany(vs, sigs);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            total += expected[i];
            _recordPaid(ids[i], token, expected[i], expected[i] * bps / 10_000);
            if (expected[i] != 0) history.push(Signed(vs[i], sigs[i], address(0)));
        }
        assertEq(paid, total, "claimMany pays each voucher's unclaimed rest, limited by its escrow");
        for (uint256 i = 0; i < n; ++i) {
            if (!_valid(_payerIndex(vs[i].payer), latest[ids[i]].signer)) {
                reached["claimMany skipped a voucher"] += 1;
            }
        }
        reached["claimMany"] += 1;
        if (sc.accruedFees(token) < feesBefore) ghostFeesLost += 1;
    }

    /// @notice A voucher that was claimed before is presented again.
    function replay(uint256 seed, uint256 maxSeed) external useClock {
        if (history.length == 0) return;
        Signed memory s = history[seed % history.length];
        uint256 done = sc.collected(s.v.payer, s.v.provider, s.v.token);
        vm.prank(s.v.provider);
        try sc.claim(s.v, s.sig, maxSeed % 2 == 0 ? type(uint256).max : maxSeed) returns (uint256 paid) {
            if (s.v.cumulativeAmount <= done) ghostReplayPaid += paid;
            // An old voucher above collected (its rest was never paid) may still pay that rest.
            else _recordPaid(_idOf(s.v), s.v.token, paid, paid * sc.feeBps() / 10_000);
            reached["replay paid its unpaid rest"] += 1;
        } catch {
            reached["replay refused"] += 1;
        }
        assertLe(sc.collected(s.v.payer, s.v.provider, s.v.token), _max(done, s.v.cumulativeAmount), "replay");
    }

    /// @notice A voucher meant for another chain, contract, provider, token or payout is presented here.
    function foreign(uint256 id, uint256 kind) external useClock {
        id = _pick(id);
        (uint256 p, address provider, address token) = escrowOf(id);
        IServiceCredentials.Voucher memory v = IServiceCredentials.Voucher({
            payer: payers[p],
            provider: provider,
            token: token,
            payout: payouts[0],
            cumulativeAmount: sc.collected(payers[p], provider, token) + 1e18
        });
        uint256 chainId = block.chainid;
        address verifying = address(sc);
        kind %= 5;
        if (kind == 0) chainId += 1;
        else if (kind == 1) verifying = address(twin);
        bytes memory sig = _sign(payerKeys[p], v, chainId, verifying);
        if (kind == 2) v.provider = provider == providers[0] ? providers[1] : providers[0]; // signed for the other
        else if (kind == 3) v.token = token == tokens[0] ? tokens[1] : tokens[0];
        else if (kind == 4) v.payout = payouts[1];
        vm.prank(v.provider);
        try sc.claim(v, sig, type(uint256).max) returns (uint256 paid) {
            ghostForeignPaid += paid == 0 ? 1 : paid;
            _recordPaid(_idOf(v), v.token, paid, paid * sc.feeBps() / 10_000);
        } catch (bytes memory err) {
            assertEq(
                bytes4(err),
                IServiceCredentials.UnauthorizedSigner.selector,
                "foreign voucher: UnauthorizedSigner"
            );
            reached["foreign voucher refused"] += 1;
        }
    }

    // ------------------------------------------------------------------------------------------ owner, time

    function setProtocolFee(uint256 bpsSeed) external useClock {
        uint16 bps = uint16(bound(bpsSeed, 0, 2 * sc.MAX_FEE_BPS()));
        try sc.setProtocolFee(bps) {
            if (bps > sc.MAX_FEE_BPS()) ghostFeeAboveCap += 1;
        } catch (bytes memory err) {
            _expectError(
                err, abi.encodeWithSelector(IServiceCredentials.FeeTooHigh.selector, bps, sc.MAX_FEE_BPS())
            );
            reached["fee above cap refused"] += 1;
        }
    }

    /// @notice The treasury pulls the fees accrued in a token.
    function withdrawFees(uint256 tokenSeed) external useClock {
        address token = tokens[tokenSeed % 2];
        uint256 owed = sc.accruedFees(token);
        uint256 before = IERC20(token).balanceOf(treasury);
        vm.prank(treasury);
        uint256 amount = sc.withdrawFees(token);
        assertEq(amount, owed, "withdrawFees pays every accrued fee");
        assertEq(sc.accruedFees(token), 0, "nothing left accrued");
        ghostFeesPulled[token] += IERC20(token).balanceOf(treasury) - before;
        if (amount != 0) reached["withdraw fees"] += 1;
    }

    function advanceTime(uint256 seconds_) external {
        time += bound(seconds_, 1, 2 days);
        vm.warp(time);
    }

    // ------------------------------------------------------------------------------------------ helpers

    function _sign(uint256 key, IServiceCredentials.Voucher memory v, uint256 chainId, address verifying)
        internal
        pure
        returns (bytes memory)
    {
        (uint8 recId, bytes32 r, bytes32 s) = vm.sign(key, VoucherDigest.digest(v, chainId, verifying));
        return abi.encodePacked(r, s, recId);
    }

    /// @dev What each voucher of a batch must pay, in order (a payer's second voucher sees the first one's effect).
    function _expectBatch(IServiceCredentials.Voucher[] memory vs, uint256[] memory ids)
        internal
        view
        returns (uint256[] memory expected)
    {
        expected = new uint256[](vs.length);
        uint256[] memory balances = new uint256[](ESCROWS);
        uint256[] memory done = new uint256[](ESCROWS);
        bool[] memory seen = new bool[](ESCROWS);
        for (uint256 i = 0; i < vs.length; ++i) {
            uint256 id = ids[i];
            if (!seen[id]) {
                (balances[id],,) = sc.escrow(vs[i].payer, vs[i].provider, vs[i].token);
                done[id] = sc.collected(vs[i].payer, vs[i].provider, vs[i].token);
                seen[id] = true;
            }
            uint256 owed = vs[i].cumulativeAmount > done[id] ? vs[i].cumulativeAmount - done[id] : 0;
            if (!_valid(_payerIndex(vs[i].payer), latest[id].signer)) owed = 0; // skipped: a revoked signer
            expected[i] = _min(owed, balances[id]);
            balances[id] -= expected[i];
            done[id] += expected[i];
        }
    }

    function _recordPaid(uint256 id, address token, uint256 paid, uint256 fee) internal {
        ghostCollected[id] += paid;
        ghostPaid[token] += paid;
        ghostFees[token] += fee;
    }

    function _recordWithdrawn(uint256 id, address token, uint256 amount) internal {
        ghostEscrowWithdrawn[id] += amount;
        ghostWithdrawn[token] += amount;
    }

    /// @dev Whether `signer` may sign for payer `p` now, by the handler's model: the payer itself, or its hot
    /// key while authorized and before its revocation time.
    function _valid(uint256 p, address signer) internal view returns (bool) {
        if (signer == payers[p]) return true;
        return
            signer == hots[p] && hotAuthorized[p] && (hotRevokeAt[p] == 0 || block.timestamp < hotRevokeAt[p]);
    }

    /// @dev Whether the handler's model of signer p's validity holds now (for the invariants).
    function validSigner(uint256 p, address signer) external view returns (bool) {
        return _valid(p, signer);
    }

    function _payerIndex(address payer) internal view returns (uint256 p) {
        for (p = 0; p < PAYERS; ++p) {
            if (payers[p] == payer) return p;
        }
        revert("unknown payer");
    }

    function _idOf(IServiceCredentials.Voucher memory v) internal view returns (uint256 id) {
        for (id = 0; id < ESCROWS; ++id) {
            (uint256 p, address provider, address token) = escrowOf(id);
            if (payers[p] == v.payer && provider == v.provider && token == v.token) return id;
        }
        revert("voucher of no known escrow");
    }

    function _expectError(bytes memory err, bytes memory expected) internal pure {
        assertEq(keccak256(err), keccak256(expected), "the expected typed revert");
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function _max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }
}
