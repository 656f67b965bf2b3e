/*
 * One C source, compiled once against include/rlnkit.h and linked against either rlnkit's
 * librln.a or zerokit 2.0.2's (feature `stateless`), to cross-check the two libraries through
 * zerokit's v2 ABI (scripts/zerokit-crosscheck.sh):
 *   xcheck_v2 values          print hashes, keys, the member's root and proof values (must agree)
 *   xcheck_v2 prove FILE      prove a fixed message, write the 290-byte proof to FILE
 *   xcheck_v2 verify FILE     read a 290-byte proof and verify it (exit 0 iff valid)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlnkit.h"

static Vec_uint8 view(const void *p, size_t n) {
    Vec_uint8 v = {(uint8_t *)p, n, n};
    return v;
}

static void die(const char *what, Vec_uint8 err) {
    fprintf(stderr, "xcheck_v2: %s: %.*s\n", what, (int)err.len, err.ptr ? (const char *)err.ptr : "");
    exit(2);
}

static void print_cfr(const char *name, const CFr *c) {
    Vec_uint8 b = ffi_cfr_to_bytes_le(c);
    printf("%s ", name);
    for (size_t i = 0; i < b.len; i++) printf("%02x", b.ptr[i]);
    printf("\n");
    ffi_vec_u8_free(b);
}

static CFr *copy(const CFr *c) {
    Vec_uint8 b = ffi_cfr_to_bytes_le(c);
    CResultCFr r = ffi_bytes_le_to_cfr(&b);
    ffi_vec_u8_free(b);
    if (!r.ok) die("copy", r.err);
    return r.ok;
}

typedef struct {
    CFr *secret, *limit, *root, *x, *ext, *id;
    Vec_CFr path;
    uint8_t bits[20];
} Inputs;

/* A member (seeded identity, limit 100) at leaf 0 of an otherwise empty depth-20 tree. */
static void inputs(Inputs *in) {
    memset(in, 0, sizeof *in);
    const char *seed = "rlnkit zerokit cross-check";
    Vec_uint8 sv = view(seed, strlen(seed));
    Vec_CFr k = ffi_seeded_key_gen(&sv);
    in->secret = copy(ffi_vec_cfr_get(&k, 0));
    CFr *commitment = copy(ffi_vec_cfr_get(&k, 1));
    ffi_vec_cfr_free(k);
    in->limit = ffi_uint_to_cfr(100);
    CFr *node = ffi_poseidon_hash_pair(commitment, in->limit), *z = ffi_cfr_zero();
    ffi_cfr_free(commitment);
    in->path = ffi_vec_cfr_new(20);
    for (int i = 0; i < 20; i++) {
        ffi_vec_cfr_push(&in->path, z);
        CFr *next = ffi_poseidon_hash_pair(node, z), *zn = ffi_poseidon_hash_pair(z, z);
        ffi_cfr_free(node);
        ffi_cfr_free(z);
        node = next;
        z = zn;
    }
    ffi_cfr_free(z);
    in->root = node;
    const char *signal = "cross-checked message";
    Vec_uint8 s = view(signal, strlen(signal));
    in->x = ffi_hash_to_field_le(&s);
    CFr *epoch = ffi_uint_to_cfr(2833333), *rln_id = ffi_uint_to_cfr(7);
    in->ext = ffi_poseidon_hash_pair(epoch, rln_id);
    ffi_cfr_free(epoch);
    ffi_cfr_free(rln_id);
    in->id = ffi_uint_to_cfr(4);
}

static FFI_RLNProof *prove(FFI_RLN *rln, const Inputs *in) {
    Vec_uint8 bits = view(in->bits, 20);
    CResultWitnessInput w = ffi_rln_witness_input_new(in->secret, in->limit, in->id, &in->path, &bits, in->x, in->ext);
    if (!w.ok) die("witness", w.err);
    CResultProof p = ffi_generate_rln_proof(&rln, &w.ok);
    if (!p.ok) die("prove", p.err);
    ffi_rln_witness_input_free(w.ok);
    return p.ok;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: xcheck_v2 values | prove FILE | verify FILE\n");
        return 2;
    }
    Inputs in;
    inputs(&in);
    CResultRln r = ffi_rln_new();
    if (!r.ok) die("ffi_rln_new", r.err);
    FFI_RLN *rln = r.ok;
    int status = 0;
    if (strcmp(argv[1], "values") == 0) {
        const char *msg = "RLN is awesome";
        Vec_uint8 m = view(msg, strlen(msg));
        CFr *h = ffi_hash_to_field_le(&m);
        print_cfr("hash_to_field", h);
        ffi_cfr_free(h);
        const uint8_t seed[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        Vec_uint8 sv = view(seed, 10);
        Vec_CFr k = ffi_seeded_extended_key_gen(&sv);
        const char *names[4] = {"trapdoor", "nullifier", "secret", "commitment"};
        for (size_t i = 0; i < ffi_vec_cfr_len(&k); i++) print_cfr(names[i], ffi_vec_cfr_get(&k, i));
        ffi_vec_cfr_free(k);
        print_cfr("root", in.root);
        print_cfr("external_nullifier", in.ext);
        FFI_RLNProof *p = prove(rln, &in);
        FFI_RLNProofValues *v = ffi_rln_proof_get_values(&p);
        CFr *vr = ffi_rln_proof_values_get_root(&v), *vx = ffi_rln_proof_values_get_x(&v);
        CResultCFr y = ffi_rln_proof_values_get_y(&v), n = ffi_rln_proof_values_get_nullifier(&v);
        print_cfr("proof.root", vr);
        print_cfr("proof.x", vx);
        print_cfr("proof.y", y.ok);
        print_cfr("proof.nullifier", n.ok);
        Vec_uint8 vb = ffi_rln_proof_values_to_bytes_le(&v);
        printf("proof_values_bytes %zu\n", vb.len);
        ffi_vec_u8_free(vb);
        ffi_cfr_free(vr);
        ffi_cfr_free(vx);
        ffi_cfr_free(y.ok);
        ffi_cfr_free(n.ok);
        ffi_rln_proof_values_free(v);
        ffi_rln_proof_free(p);
    } else if (strcmp(argv[1], "prove") == 0 && argc > 2) {
        FFI_RLNProof *p = prove(rln, &in);
        CResultVecU8 b = ffi_rln_proof_to_bytes_le(&p);
        if (b.err.ptr) die("to bytes", b.err);
        FILE *f = fopen(argv[2], "wb");
        if (!f || fwrite(b.ok.ptr, 1, b.ok.len, f) != b.ok.len) return 2;
        fclose(f);
        printf("wrote a %zu-byte proof\n", b.ok.len);
        ffi_vec_u8_free(b.ok);
        ffi_rln_proof_free(p);
    } else if (strcmp(argv[1], "verify") == 0 && argc > 2) {
        uint8_t buf[1024];
        FILE *f = fopen(argv[2], "rb");
        if (!f) return 2;
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        Vec_uint8 b = view(buf, len);
        CResultProof p = ffi_bytes_le_to_rln_proof(&b);
        if (!p.ok) die("parse", p.err);
        Vec_CFr roots = ffi_vec_cfr_from_cfr(in.root);
        CBoolResult ok = ffi_verify_with_roots(&rln, &p.ok, &roots, in.x);
        printf("verify: %s\n", ok.ok ? "valid" : "INVALID");
        if (ok.err.ptr) {
            printf("  %.*s\n", (int)ok.err.len, (const char *)ok.err.ptr);
            ffi_c_string_free(ok.err);
        }
        status = ok.ok ? 0 : 1;
        ffi_vec_cfr_free(roots);
        ffi_rln_proof_free(p.ok);
    } else {
        return 2;
    }
    ffi_rln_free(rln);
    return status;
}
