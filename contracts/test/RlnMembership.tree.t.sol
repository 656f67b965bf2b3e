// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {PoseidonT2} from "poseidon-solidity/PoseidonT2.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";

import {IRlnMembership} from "../src/interfaces/IRlnMembership.sol";
import {TreeCheats} from "./utils/RlnMembershipTestBase.sol";

/// @notice The membership tree: root, Merkle proofs, recent roots, leaf ranges, and known answers from
/// ../shared/interop/vectors.json (circomlib Poseidon, zerokit keygen, the Waku RLN v2 circuit's witness).
contract RlnMembershipTreeTest is TreeCheats {
    // vectors.json: empty_root.20
    uint256 internal constant EMPTY_ROOT_20 =
        15_019_797_232_609_675_441_998_260_052_101_280_400_536_945_603_062_888_308_240_081_994_073_687_793_470;

    function _registerMany(uint256 count) internal returns (uint256[] memory ids) {
        ids = new uint256[](count);
        uint32 rateLimit = MIN_RATE;
        for (uint256 i = 0; i < count; ++i) {
            ids[i] = _id(7000 + i);
            _register(alice, ids[i], rateLimit++);
        }
    }

    // ------------------------------------------------------------------------------------------ known answers

    function test_poseidonT2_matchesCircomlib() public pure {
        assertEq(
            PoseidonT2.hash([uint256(1)]),
            18_586_133_768_512_220_936_620_570_745_912_940_619_677_854_269_274_689_475_585_506_675_881_198_879_027,
            "Poseidon([1])"
        );
        assertEq(
            PoseidonT2.hash([uint256(0)]),
            19_014_214_495_641_488_759_237_505_126_948_346_942_972_912_379_615_652_741_039_992_445_865_937_985_820,
            "Poseidon([0])"
        );
        assertEq(
            PoseidonT2.hash([uint256(type(uint64).max)]),
            17_449_307_747_295_017_006_142_981_453_320_720_946_812_828_330_895_590_310_359_634_430_146_721_583_189,
            "Poseidon([2^64-1])"
        );
    }

    function test_poseidonT3_matchesCircomlib() public pure {
        assertEq(
            PoseidonT3.hash([uint256(1), 2]),
            7_853_200_120_776_062_878_684_798_364_095_072_458_815_029_376_092_732_009_249_414_926_327_459_813_530,
            "Poseidon([1, 2])"
        );
        assertEq(
            PoseidonT3.hash([uint256(0), 0]),
            14_744_269_619_966_411_208_579_211_824_598_458_697_587_494_354_926_760_081_771_325_075_741_142_829_156,
            "Poseidon([0, 0])"
        );
    }

    function test_idCommitment_matchesZerokitKeygen() public pure {
        assertEq(
            _id(0x20df38f3f00496f19fe7c6535492543b21798ed7cb91aebe4af8012db884eda3),
            0x1223a78a5d66043a7f9863e14507dc80720a5602b2a894923e5b5147d5a9c325,
            "seeded_keygen[0]"
        );
        assertEq(
            _id(0x0766ce6c7e7a01bdf5b3f257616f603918c30946fa23480f2859c597817e6716),
            0x0bf16d2b5c0d6f9d9d561e05bfca16a81b4b873bb063508fae360d8c74cef51f,
            "seeded_keygen[1]"
        );
    }

    function test_computeRoot_modelMatchesKnownDepth3Root() public pure {
        uint256[] memory leaves = new uint256[](8);
        for (uint256 i = 0; i < 8; ++i) {
            leaves[i] = i;
        }
        assertEq(
            _computeRoot(leaves, 3),
            11_780_650_233_517_635_876_913_804_110_234_352_847_867_393_797_952_240_856_403_268_682_492_028_497_284,
            "merkle_depth3_leaves_0_to_7_root"
        );
        assertEq(_computeRoot(new uint256[](0), 20), EMPTY_ROOT_20, "empty_root.20");
    }

    function test_root_emptyTreeMatchesKnownAnswer() public view {
        assertEq(rln.root(), EMPTY_ROOT_20, "empty_root.20");
    }

    /// @dev The circuit's witness (waku-rln-v2/witness-input.json) proves the leaf at index 5 of a tree whose
    /// other leaves are 0; the registry builds that tree and must give the root the circuit outputs.
    function test_root_matchesWakuCircuitWitness() public {
        uint256 secret =
            14_064_637_336_284_797_133_244_047_090_945_250_620_890_934_028_463_085_104_838_977_586_099_487_664_890;
        uint256 rateCommitment =
            10_232_982_034_538_199_904_988_764_313_279_686_352_487_843_659_286_656_015_588_662_086_794_305_210_531;
        uint256 circuitRoot =
            4_670_601_474_450_472_827_257_728_832_687_122_440_116_852_356_297_938_945_296_005_939_235_204_551_084;
        rln.setMinMembershipRateLimit(10);
        uint256[] memory fillers = _registerMany(5);
        assertEq(_register(alice, _id(secret), 10), 5, "leaf index 5");
        assertEq(_leafAt(5), rateCommitment, "rate_commitment");
        _warpToExpiry(fillers[4]);
        vm.prank(bob);
        rln.eraseMemberships(fillers, true);
        assertEq(rln.root(), circuitRoot, "root public signal");

        uint256[20] memory proof = rln.getMerkleProof(5);
        uint256 zero = 0;
        for (uint256 i = 0; i < 20; ++i) {
            assertEq(proof[i], zero, "path element = zero ladder");
            zero = PoseidonT3.hash([zero, zero]);
        }
        assertEq(_rootFromProof(rateCommitment, 5, proof), circuitRoot, "proof");
    }

    // ------------------------------------------------------------------------------------------ proofs

    function test_getMerkleProof_provesEveryLeaf() public {
        _registerMany(7);
        uint256[] memory leaves = _allLeaves();
        uint256 root = rln.root();
        assertEq(root, _computeRoot(leaves, DEPTH), "root");
        for (uint40 i = 0; i < 7; ++i) {
            assertEq(_rootFromProof(leaves[i], i, rln.getMerkleProof(i)), root, "proof");
        }
    }

    function test_getMerkleProof_singleLeafHasZeroLadder() public {
        _registerMany(1);
        uint256[20] memory proof = rln.getMerkleProof(0);
        assertEq(proof[0], 0, "zero_ladder[0]");
        assertEq(
            proof[1], 0x2098f5fb9e239eab3ceac3f27b81e481dc3124d55ffed523a839ee8446b64864, "zero_ladder[1]"
        );
        assertEq(
            proof[2], 0x1069673dcdb12263df301a6ff584a7ec261a44cb9dc68df067a4774460b1f1e1, "zero_ladder[2]"
        );
        assertEq(
            proof[3], 0x18f43331537ee2af2e3d758d50f72106467c6eea50371dd528d57eb2b856d238, "zero_ladder[3]"
        );
    }

    function test_getMerkleProof_tamperedProofFails() public {
        _registerMany(3);
        uint256[20] memory proof = rln.getMerkleProof(1);
        uint256 leaf = _leafAt(1);
        assertEq(_rootFromProof(leaf, 1, proof), rln.root(), "genuine proof");
        proof[0] = proof[0] + 1;
        assertNotEq(_rootFromProof(leaf, 1, proof), rln.root(), "tampered proof");
        assertNotEq(_rootFromProof(leaf, 0, rln.getMerkleProof(1)), rln.root(), "wrong index");
    }

    function test_getMerkleProof_nearTheEndOfTheTree() public {
        _pretendSlotsUsed(2 ** 20 - 3);
        uint256 a = _id(1);
        uint256 b = _id(2);
        uint256 c = _id(3);
        _register(alice, a, 20);
        _register(alice, b, 21);
        _register(alice, c, 22);
        uint256 root = rln.root();
        assertEq(_rootFromProof(_leaf(a, 20), 2 ** 20 - 3, rln.getMerkleProof(2 ** 20 - 3)), root, "a");
        assertEq(_rootFromProof(_leaf(b, 21), 2 ** 20 - 2, rln.getMerkleProof(2 ** 20 - 2)), root, "b");
        assertEq(_rootFromProof(_leaf(c, 22), 2 ** 20 - 1, rln.getMerkleProof(2 ** 20 - 1)), root, "c");
        assertEq(rln.getRootAt(0), root, "root stored");
    }

    function test_RevertIf_getMerkleProof_indexNotInTree() public {
        _registerMany(2);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.MerkleIndexOutOfRange.selector, 2, 2));
        rln.getMerkleProof(2);
    }

    function test_RevertIf_getMerkleProof_emptyTree() public {
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.MerkleIndexOutOfRange.selector, 0, 0));
        rln.getMerkleProof(0);
    }

    // ------------------------------------------------------------------------------------------ recent roots

    function test_getRecentRoots_allZeroBeforeFirstRegistration() public view {
        uint256[5] memory roots = rln.getRecentRoots();
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(roots[i], 0, "no roots");
        }
    }

    function test_getRecentRoots_newestFirst() public {
        uint256[] memory seen = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            _register(alice, _id(100 + i), 20);
            seen[i] = rln.root();
        }
        uint256[5] memory roots = rln.getRecentRoots();
        assertEq(roots[0], seen[2], "newest");
        assertEq(roots[1], seen[1], "second");
        assertEq(roots[2], seen[0], "third");
        assertEq(roots[3], 0, "unused");
        assertEq(roots[4], 0, "unused");
    }

    function test_getRecentRoots_keepsFiveMostRecent() public {
        uint256[] memory seen = new uint256[](7);
        for (uint256 i = 0; i < 7; ++i) {
            _register(alice, _id(100 + i), 20);
            seen[i] = rln.root();
        }
        uint256[5] memory roots = rln.getRecentRoots();
        for (uint8 i = 0; i < 5; ++i) {
            assertEq(roots[i], seen[6 - i], "ring order");
            assertEq(rln.getRootAt(i), seen[6 - i], "getRootAt agrees");
        }
    }

    function test_RevertIf_getRootAt_positionOutOfRange() public {
        _registerMany(1);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.RootPositionOutOfRange.selector, 5));
        rln.getRootAt(5);
    }

    function test_RevertIf_getRootAt_noRootsYet() public {
        vm.expectRevert(IRlnMembership.NoRootsYet.selector);
        rln.getRootAt(0);
    }

    // ------------------------------------------------------------------------------------------ leaves

    function test_getRateCommitmentsInRangeBoundsInclusive_returnsLeaves() public {
        uint256[] memory ids = _registerMany(4);
        uint256[] memory leaves = rln.getRateCommitmentsInRangeBoundsInclusive(1, 3);
        assertEq(leaves.length, 3, "three leaves");
        uint32 rateLimit = MIN_RATE + 1;
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(leaves[i], _leaf(ids[i + 1], rateLimit++), "leaf");
        }
    }

    function test_RevertIf_getRateCommitmentsInRangeBoundsInclusive_startAfterEnd() public {
        _registerMany(3);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidPaginationQuery.selector, 2, 1));
        rln.getRateCommitmentsInRangeBoundsInclusive(2, 1);
    }

    function test_RevertIf_getRateCommitmentsInRangeBoundsInclusive_endNotInTree() public {
        _registerMany(3);
        vm.expectRevert(abi.encodeWithSelector(IRlnMembership.InvalidPaginationQuery.selector, 0, 3));
        rln.getRateCommitmentsInRangeBoundsInclusive(0, 3);
    }

    function test_getMembershipInfo_unknownIsZero() public view {
        (uint32 rate, uint32 index, uint256 leaf) = rln.getMembershipInfo(_id(5));
        assertEq(rate, 0, "rate");
        assertEq(index, 0, "index");
        assertEq(leaf, 0, "leaf");
    }

    function test_merkleTree_reportsDepth20Bounds() public {
        (uint40 maxIndex, uint40 leaves) = rln.merkleTree();
        assertEq(maxIndex, 2 ** 20 - 1, "maxIndex as in Waku");
        assertEq(leaves, 0, "empty");
        _registerMany(2);
        (, leaves) = rln.merkleTree();
        assertEq(leaves, rln.nextFreeIndex(), "numberOfLeaves = nextFreeIndex");
    }

    // ------------------------------------------------------------------------------------------ fuzz

    /// forge-config: default.fuzz.runs = 32
    function testFuzz_getMerkleProof(uint8 count, uint256 indexSeed, bool eraseSome) public {
        count = uint8(bound(count, 1, 17));
        uint256[] memory ids = _registerMany(count);
        if (eraseSome && count > 2) {
            _warpToExpiry(ids[count - 1]);
            vm.prank(bob);
            rln.eraseMemberships(_ids(ids[0], ids[count / 2]), true);
        }
        uint40 index = uint40(bound(indexSeed, 0, count - 1));
        uint256[] memory leaves = _allLeaves();
        uint256 root = rln.root();
        assertEq(root, _computeRoot(leaves, DEPTH), "root matches the model");
        assertEq(_rootFromProof(leaves[index], index, rln.getMerkleProof(index)), root, "proof verifies");
    }
}
