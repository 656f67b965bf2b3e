/*
 * C test of librln (rlnkit's C library), compiled with `cc` against include/rlnkit.h: every
 * exported function, good input and bad input (null pointers, short buffers, non-canonical
 * fields, wrong lengths). Each bad input must give a clear error, never a crash; run under
 * valgrind by `make ffi-test` to show no leaks and no frees of caller memory.
 *
 * usage: test_ffi [DEV_KEYS_DIR]   (DEV_KEYS_DIR: zkeys/, for ffi_rln_new_with_params and rlnkit_keys_load)
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RLNKIT_ZEROKIT_V09 1
#include "rlnkit.h"

static int checks, failures;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                            \
    } while (0)

/* A view of caller-owned bytes (never passed to a free function). */
static Vec_uint8 view(const uint8_t *p, size_t n) {
    Vec_uint8 v = {(uint8_t *)p, n, n};
    return v;
}

/* An error must be set and readable; print it and free it. */
static void expect_err(Vec_uint8 err, const char *what) {
    CHECK(err.ptr != NULL && err.len > 0);
    if (err.ptr) {
        printf("  ok: %s -> \"%.*s\"\n", what, (int)err.len, (const char *)err.ptr);
        ffi_c_string_free(err);
    }
}

static void expect_no_err(Vec_uint8 err, const char *what) {
    CHECK(err.ptr == NULL);
    if (err.ptr) {
        fprintf(stderr, "  unexpected error (%s): %.*s\n", what, (int)err.len, (const char *)err.ptr);
        ffi_c_string_free(err);
    }
}

/* The decimal string of a field element equals `dec`. */
static int cfr_is(const CFr *c, const char *dec) {
    Vec_uint8 s = ffi_cfr_debug(c);
    int ok = s.ptr && s.len == strlen(dec) && memcmp(s.ptr, dec, s.len) == 0;
    if (!ok) fprintf(stderr, "  got %.*s, expected %s\n", (int)s.len, (const char *)s.ptr, dec);
    ffi_c_string_free(s);
    return ok;
}

static int cfr_eq(const CFr *a, const CFr *b) {
    Vec_uint8 x = ffi_cfr_to_bytes_le(a), y = ffi_cfr_to_bytes_le(b);
    int eq = x.len == 32 && y.len == 32 && memcmp(x.ptr, y.ptr, 32) == 0;
    ffi_vec_u8_free(x);
    ffi_vec_u8_free(y);
    return eq;
}

static void cfr_bytes(const CFr *c, uint8_t out[32]) {
    Vec_uint8 b = ffi_cfr_to_bytes_le(c);
    CHECK(b.len == 32);
    if (b.len == 32) memcpy(out, b.ptr, 32);
    ffi_vec_u8_free(b);
}

static CFr *cfr_from(const uint8_t le[32]) {
    Vec_uint8 v = view(le, 32);
    CResultCFr r = ffi_bytes_le_to_cfr(&v);
    expect_no_err(r.err, "bytes to cfr");
    return r.ok;
}

static int hex_be_is(const CFr *c, const char *hex) {
    Vec_uint8 b = ffi_cfr_to_bytes_be(c);
    char buf[67] = "0x";
    for (size_t i = 0; i < b.len && i < 32; i++) sprintf(buf + 2 + 2 * i, "%02x", b.ptr[i]);
    ffi_vec_u8_free(b);
    int ok = strcmp(buf, hex) == 0;
    if (!ok) fprintf(stderr, "  got %s, expected %s\n", buf, hex);
    return ok;
}

/* r, the field modulus, little-endian: the smallest non-canonical value. */
static const uint8_t MODULUS_LE[32] = {
    0x01, 0x00, 0x00, 0xf0, 0x93, 0xf5, 0xe1, 0x43, 0x91, 0x70, 0xb9, 0x79, 0x48, 0xe8, 0x33, 0x28,
    0x5d, 0x58, 0x81, 0x81, 0xb6, 0x45, 0x50, 0xb8, 0x29, 0xa0, 0x31, 0xe1, 0x72, 0x4e, 0x64, 0x30};

static void test_field_elements(void) {
    printf("field elements\n");
    CFr *zero = ffi_cfr_zero(), *one = ffi_cfr_one(), *seven = ffi_uint_to_cfr(7);
    CHECK(cfr_is(zero, "0") && cfr_is(one, "1") && cfr_is(seven, "7"));
    Vec_uint8 le = ffi_cfr_to_bytes_le(seven), be = ffi_cfr_to_bytes_be(seven);
    CHECK(le.len == 32 && le.ptr[0] == 7 && be.len == 32 && be.ptr[31] == 7);
    CResultCFr r = ffi_bytes_le_to_cfr(&le);
    expect_no_err(r.err, "le");
    CHECK(r.ok && cfr_eq(r.ok, seven));
    ffi_cfr_free(r.ok);
    r = ffi_bytes_be_to_cfr(&be);
    expect_no_err(r.err, "be");
    CHECK(r.ok && cfr_eq(r.ok, seven));
    ffi_cfr_free(r.ok);
    ffi_vec_u8_free(le);
    ffi_vec_u8_free(be);

    uint8_t short_buf[31] = {0};
    Vec_uint8 s = view(short_buf, sizeof short_buf);
    r = ffi_bytes_le_to_cfr(&s);
    CHECK(r.ok == NULL);
    expect_err(r.err, "31-byte field element");
    Vec_uint8 m = view(MODULUS_LE, 32);
    r = ffi_bytes_le_to_cfr(&m);
    CHECK(r.ok == NULL);
    expect_err(r.err, "non-canonical field element (r)");
    uint8_t all_ff[32];
    memset(all_ff, 0xff, 32);
    Vec_uint8 ff = view(all_ff, 32);
    r = ffi_bytes_be_to_cfr(&ff); /* 2^256 - 1 */
    CHECK(r.ok == NULL);
    expect_err(r.err, "non-canonical big-endian field element");
    r = ffi_bytes_le_to_cfr(NULL);
    CHECK(r.ok == NULL);
    expect_err(r.err, "null bytes");
    Vec_uint8 bogus = {NULL, 32, 32};
    r = ffi_bytes_le_to_cfr(&bogus);
    CHECK(r.ok == NULL);
    expect_err(r.err, "null ptr with length 32");

    Vec_uint8 none = ffi_cfr_to_bytes_le(NULL);
    CHECK(none.ptr == NULL && none.len == 0);
    none = ffi_cfr_to_bytes_be(NULL);
    CHECK(none.ptr == NULL);
    Vec_uint8 d = ffi_cfr_debug(NULL);
    CHECK(d.len == 4 && memcmp(d.ptr, "None", 4) == 0);
    ffi_c_string_free(d);
    ffi_cfr_free(NULL);
    ffi_cfr_free(zero);
    ffi_cfr_free(one);
    ffi_cfr_free(seven);
}

static void test_vectors(void) {
    printf("vectors\n");
    Vec_CFr v = ffi_vec_cfr_new(1);
    CHECK(v.ptr != NULL && ffi_vec_cfr_len(&v) == 0);
    for (uint32_t i = 1; i <= 3; i++) {
        CFr *c = ffi_uint_to_cfr(i);
        ffi_vec_cfr_push(&v, c);
        ffi_cfr_free(c);
    }
    ffi_vec_cfr_push(&v, NULL); /* ignored */
    ffi_vec_cfr_push(NULL, NULL);
    CHECK(ffi_vec_cfr_len(&v) == 3 && ffi_vec_cfr_len(NULL) == 0);
    CHECK(cfr_is(ffi_vec_cfr_get(&v, 2), "3"));
    CHECK(ffi_vec_cfr_get(&v, 3) == NULL && ffi_vec_cfr_get(NULL, 0) == NULL);
    Vec_uint8 le = ffi_vec_cfr_to_bytes_le(&v), be = ffi_vec_cfr_to_bytes_be(&v);
    CHECK(le.len == 8 + 96 && le.ptr[0] == 3 && le.ptr[8] == 1 && be.ptr[7] == 3 && be.ptr[8 + 31] == 1);
    CResultVecCFr back = ffi_bytes_le_to_vec_cfr(&le);
    expect_no_err(back.err, "vec le");
    CHECK(ffi_vec_cfr_len(&back.ok) == 3 && cfr_is(ffi_vec_cfr_get(&back.ok, 1), "2"));
    ffi_vec_cfr_free(back.ok);
    back = ffi_bytes_be_to_vec_cfr(&be);
    expect_no_err(back.err, "vec be");
    CHECK(ffi_vec_cfr_len(&back.ok) == 3);
    ffi_vec_cfr_free(back.ok);
    Vec_uint8 cut = view(le.ptr, le.len - 1);
    back = ffi_bytes_le_to_vec_cfr(&cut);
    CHECK(back.ok.ptr == NULL);
    expect_err(back.err, "vector one byte short");
    Vec_uint8 prefix_only = view(le.ptr, 5);
    back = ffi_bytes_le_to_vec_cfr(&prefix_only);
    expect_err(back.err, "5-byte length prefix");
    uint8_t huge[8 + 32];
    memset(huge, 0xff, sizeof huge);
    Vec_uint8 hv = view(huge, sizeof huge);
    back = ffi_bytes_le_to_vec_cfr(&hv);
    expect_err(back.err, "length prefix 2^64-1");
    uint8_t noncanon[8 + 32] = {1};
    memcpy(noncanon + 8, MODULUS_LE, 32);
    Vec_uint8 nv = view(noncanon, sizeof noncanon);
    back = ffi_bytes_le_to_vec_cfr(&nv);
    expect_err(back.err, "non-canonical vector element");
    back = ffi_bytes_be_to_vec_cfr(NULL);
    expect_err(back.err, "null vector bytes");
    Vec_uint8 dbg = ffi_vec_cfr_debug(&v);
    CHECK(dbg.len == 9 && memcmp(dbg.ptr, "[1, 2, 3]", 9) == 0);
    ffi_c_string_free(dbg);
    dbg = ffi_vec_cfr_debug(NULL);
    CHECK(dbg.len == 4);
    ffi_c_string_free(dbg);
    ffi_vec_u8_free(le);
    ffi_vec_u8_free(be);
    CFr *one = ffi_cfr_one();
    Vec_CFr single = ffi_vec_cfr_from_cfr(one);
    CHECK(ffi_vec_cfr_len(&single) == 1 && cfr_is(ffi_vec_cfr_get(&single, 0), "1"));
    ffi_vec_cfr_free(single);
    Vec_CFr nothing = ffi_vec_cfr_from_cfr(NULL);
    CHECK(nothing.ptr == NULL);
    ffi_vec_cfr_free(nothing);
    ffi_cfr_free(one);
    ffi_vec_cfr_free(v);

    const uint8_t raw[3] = {0xa0, 0x1f, 0x00};
    Vec_uint8 rv = view(raw, 3);
    Vec_uint8 ule = ffi_vec_u8_to_bytes_le(&rv), ube = ffi_vec_u8_to_bytes_be(&rv);
    CHECK(ule.len == 11 && ule.ptr[0] == 3 && ube.ptr[7] == 3 && ule.ptr[8] == 0xa0);
    CResultVecU8 u = ffi_bytes_le_to_vec_u8(&ule);
    expect_no_err(u.err, "u8 le");
    CHECK(u.ok.len == 3 && memcmp(u.ok.ptr, raw, 3) == 0);
    ffi_vec_u8_free(u.ok);
    u = ffi_bytes_be_to_vec_u8(&ube);
    expect_no_err(u.err, "u8 be");
    CHECK(u.ok.len == 3);
    ffi_vec_u8_free(u.ok);
    Vec_uint8 ucut = view(ule.ptr, 10);
    u = ffi_bytes_le_to_vec_u8(&ucut);
    CHECK(u.ok.ptr == NULL);
    expect_err(u.err, "byte vector one byte short");
    u = ffi_bytes_be_to_vec_u8(NULL);
    expect_err(u.err, "null byte vector");
    Vec_uint8 ud = ffi_vec_u8_debug(&rv);
    CHECK(ud.len > 0 && memcmp(ud.ptr, "[a0, 1f, 0]", ud.len) == 0);
    ffi_c_string_free(ud);
    ud = ffi_vec_u8_debug(NULL);
    ffi_c_string_free(ud);
    CHECK(ffi_vec_u8_to_bytes_le(NULL).ptr == NULL && ffi_vec_u8_to_bytes_be(NULL).ptr == NULL);
    CHECK(ffi_vec_cfr_to_bytes_le(NULL).ptr == NULL && ffi_vec_cfr_to_bytes_be(NULL).ptr == NULL);
    ffi_vec_u8_free(ule);
    ffi_vec_u8_free(ube);
    Vec_uint8 null_vec = {NULL, 0, 0};
    ffi_vec_u8_free(null_vec);
    ffi_c_string_free(null_vec);
}

static void test_hashes_and_keys(void) {
    printf("hashes and keys\n");
    const char *msg = "RLN is awesome";
    Vec_uint8 m = view((const uint8_t *)msg, strlen(msg));
    CFr *h = ffi_hash_to_field_le(&m), *hb = ffi_hash_to_field_be(&m);
    CHECK(cfr_is(h, "6039144600069617343901449910068486613900088046357481879973542603493767224477"));
    CHECK(cfr_eq(h, hb));
    ffi_cfr_free(h);
    ffi_cfr_free(hb);
    Vec_uint8 empty = {NULL, 0, 0};
    h = ffi_hash_to_field_le(&empty);
    CHECK(cfr_is(h, "7173236656320612194178997223602979818891828541827642103715116037219761443523"));
    ffi_cfr_free(h);
    CHECK(ffi_hash_to_field_le(NULL) == NULL && ffi_hash_to_field_be(NULL) == NULL);

    CFr *two = ffi_uint_to_cfr(2), *three = ffi_uint_to_cfr(3);
    CFr *p = ffi_poseidon_hash_pair(two, three);
    CHECK(cfr_is(p, "17197790661637433027297685226742709599380837544520340689137581733613433332983"));
    ffi_cfr_free(p);
    CHECK(ffi_poseidon_hash_pair(two, NULL) == NULL && ffi_poseidon_hash_pair(NULL, three) == NULL);
    ffi_cfr_free(two);
    ffi_cfr_free(three);

    Vec_CFr k = ffi_key_gen();
    CHECK(ffi_vec_cfr_len(&k) == 2);
    ffi_vec_cfr_free(k);
    k = ffi_extended_key_gen();
    CHECK(ffi_vec_cfr_len(&k) == 4);
    if (ffi_vec_cfr_len(&k) == 4) {
        CFr *s = ffi_poseidon_hash_pair(ffi_vec_cfr_get(&k, 0), ffi_vec_cfr_get(&k, 1));
        CHECK(cfr_eq(s, ffi_vec_cfr_get(&k, 2))); /* secret = Poseidon(trapdoor, nullifier) */
        ffi_cfr_free(s);
    }
    ffi_vec_cfr_free(k);
    const uint8_t seed[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    Vec_uint8 sv = view(seed, 10);
    k = ffi_seeded_key_gen(&sv);
    CHECK(ffi_vec_cfr_len(&k) == 2);
    CHECK(hex_be_is(ffi_vec_cfr_get(&k, 0), "0x0766ce6c7e7a01bdf5b3f257616f603918c30946fa23480f2859c597817e6716"));
    CHECK(hex_be_is(ffi_vec_cfr_get(&k, 1), "0x0bf16d2b5c0d6f9d9d561e05bfca16a81b4b873bb063508fae360d8c74cef51f"));
    ffi_vec_cfr_free(k);
    k = ffi_seeded_extended_key_gen(&sv);
    CHECK(ffi_vec_cfr_len(&k) == 4);
    CHECK(hex_be_is(ffi_vec_cfr_get(&k, 1), "0x1f18714c7bc83b5bca9e89d404cf6f2f585bc4c0f7ed8b53742b7e2b298f50b4"));
    CHECK(hex_be_is(ffi_vec_cfr_get(&k, 3), "0x068b66aa0a8320d2e56842581553285393188714c48f9b17acd198b4f1734c5c"));
    ffi_vec_cfr_free(k);
    CHECK(ffi_seeded_key_gen(NULL).ptr == NULL && ffi_seeded_extended_key_gen(NULL).ptr == NULL);
}

/* A member at index 0 of an otherwise empty depth-20 tree: path = the zero ladder, bits 0. */
typedef struct {
    CFr *secret, *limit, *commitment, *leaf, *root;
    Vec_CFr path;
    uint8_t bits[20];
    uint8_t secret_le[32], root_le[32], path_le[20 * 32];
} Member;

static void member_init_seeded(Member *m, const char *s) {
    memset(m, 0, sizeof *m);
    Vec_uint8 sv = view((const uint8_t *)s, strlen(s));
    Vec_CFr k = ffi_seeded_key_gen(&sv); /* [secret, Poseidon(secret)] */
    uint8_t c[32];
    cfr_bytes(ffi_vec_cfr_get(&k, 0), m->secret_le);
    cfr_bytes(ffi_vec_cfr_get(&k, 1), c);
    ffi_vec_cfr_free(k);
    m->secret = cfr_from(m->secret_le);
    m->commitment = cfr_from(c);
    m->limit = ffi_uint_to_cfr(100);
    m->leaf = ffi_poseidon_hash_pair(m->commitment, m->limit);
    m->path = ffi_vec_cfr_new(20);
    cfr_bytes(m->leaf, c);
    CFr *node = cfr_from(c), *z = ffi_cfr_zero();
    for (int i = 0; i < 20; i++) { /* node = Poseidon(node, Z_i), Z_{i+1} = Poseidon(Z_i, Z_i) */
        ffi_vec_cfr_push(&m->path, z);
        cfr_bytes(z, m->path_le + 32 * i);
        CFr *next = ffi_poseidon_hash_pair(node, z), *zn = ffi_poseidon_hash_pair(z, z);
        ffi_cfr_free(node);
        ffi_cfr_free(z);
        node = next;
        z = zn;
    }
    ffi_cfr_free(z);
    m->root = node;
    cfr_bytes(m->root, m->root_le);
}

static void member_init(Member *m) { member_init_seeded(m, "rlnkit C test member"); }

static void member_free(Member *m) {
    ffi_cfr_free(m->secret);
    ffi_cfr_free(m->limit);
    ffi_cfr_free(m->commitment);
    ffi_cfr_free(m->leaf);
    ffi_cfr_free(m->root);
    ffi_vec_cfr_free(m->path);
}

static FFI_RLNWitnessInput *witness(const Member *m, uint32_t message_id, const char *signal, CFr *ext) {
    CFr *id = ffi_uint_to_cfr(message_id);
    Vec_uint8 sv = view((const uint8_t *)signal, strlen(signal));
    CFr *x = ffi_hash_to_field_le(&sv);
    Vec_uint8 bits = view(m->bits, 20);
    CResultWitnessInput w = ffi_rln_witness_input_new(m->secret, m->limit, id, &m->path, &bits, x, ext);
    expect_no_err(w.err, "witness");
    ffi_cfr_free(id);
    ffi_cfr_free(x);
    return w.ok;
}

static void test_v2_rln(const char *dev_dir) {
    printf("zerokit v2 stateless: instance, witness, proof, verify, recover\n");
    CResultRln rr = ffi_rln_new();
    expect_no_err(rr.err, "ffi_rln_new");
    FFI_RLN *rln = rr.ok;
    CHECK(rln != NULL);
    if (!rln) return;
    CHECK(ffi_rln_get_tree_depth(&rln) == 20 && ffi_rln_get_tree_depth(NULL) == 0);

    const uint8_t not_wasm[4] = {1, 2, 3, 4};
    Vec_uint8 nw = view(not_wasm, 4);
    rr = ffi_rln_new_with_params(&nw, &nw);
    CHECK(rr.ok == NULL);
    expect_err(rr.err, "graph_data is not a wasm module");
    rr = ffi_rln_new_with_params(NULL, &nw);
    expect_err(rr.err, "null zkey_data");
    if (dev_dir) {
        char path[4096];
        uint8_t *zkey = NULL, *wasm = NULL;
        size_t zn = 0, wn = 0;
        const char *names[2] = {"rln_final.zkey", "rln.wasm"};
        uint8_t **bufs[2] = {&zkey, &wasm};
        size_t *lens[2] = {&zn, &wn};
        for (int i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "%s/%s", dev_dir, names[i]);
            FILE *f = fopen(path, "rb");
            CHECK(f != NULL);
            if (!f) continue;
            fseek(f, 0, SEEK_END);
            *lens[i] = (size_t)ftell(f);
            fseek(f, 0, SEEK_SET);
            *bufs[i] = malloc(*lens[i]);
            CHECK(fread(*bufs[i], 1, *lens[i], f) == *lens[i]);
            fclose(f);
        }
        Vec_uint8 zv = view(zkey, zn), wv = view(wasm, wn);
        rr = ffi_rln_new_with_params(&zv, &wv);
        expect_no_err(rr.err, "ffi_rln_new_with_params (development keys)");
        CHECK(rr.ok != NULL);
        Vec_uint8 short_zkey = view(zkey, zn / 2);
        CResultRln bad = ffi_rln_new_with_params(&short_zkey, &wv);
        CHECK(bad.ok == NULL);
        expect_err(bad.err, "truncated zkey");
        ffi_rln_free(rr.ok);
        free(zkey); /* caller memory: the library must not have freed it */
        free(wasm);
    }

    Member m;
    member_init(&m);
    CFr *ext = ffi_uint_to_cfr(424242);
    Vec_uint8 bits = view(m.bits, 20);

    /* bad witness inputs */
    CFr *id100 = ffi_uint_to_cfr(100), *id0 = ffi_cfr_zero(), *x = ffi_cfr_one(), *zero = ffi_cfr_zero();
    CResultWitnessInput bw = ffi_rln_witness_input_new(m.secret, m.limit, id100, &m.path, &bits, x, ext);
    CHECK(bw.ok == NULL);
    expect_err(bw.err, "message_id == limit");
    bw = ffi_rln_witness_input_new(m.secret, zero, id0, &m.path, &bits, x, ext);
    expect_err(bw.err, "limit 0");
    Vec_uint8 short_bits = view(m.bits, 19);
    bw = ffi_rln_witness_input_new(m.secret, m.limit, id0, &m.path, &short_bits, x, ext);
    expect_err(bw.err, "19 path bits");
    uint8_t two_bits[20] = {2};
    Vec_uint8 tb = view(two_bits, 20);
    bw = ffi_rln_witness_input_new(m.secret, m.limit, id0, &m.path, &tb, x, ext);
    expect_err(bw.err, "path bit 2");
    bw = ffi_rln_witness_input_new(NULL, m.limit, id0, &m.path, &bits, x, ext);
    expect_err(bw.err, "null identity_secret");
    bw = ffi_rln_witness_input_new(m.secret, m.limit, id0, NULL, &bits, x, ext);
    expect_err(bw.err, "null path_elements");
    ffi_cfr_free(id100);
    ffi_cfr_free(id0);
    ffi_cfr_free(x);
    ffi_rln_witness_input_free(NULL);

    /* prove */
    FFI_RLNWitnessInput *w1 = witness(&m, 3, "first message", ext);
    CResultProof pr = ffi_generate_rln_proof(&rln, &w1);
    expect_no_err(pr.err, "ffi_generate_rln_proof");
    FFI_RLNProof *proof = pr.ok;
    CHECK(proof != NULL);
    pr = ffi_generate_rln_proof(NULL, &w1);
    expect_err(pr.err, "generate with null rln");
    FFI_RLNWitnessInput *null_w = NULL;
    pr = ffi_generate_rln_proof(&rln, &null_w);
    expect_err(pr.err, "generate with a null witness handle");
    if (!proof) return;

    /* serialization */
    CHECK(ffi_rln_proof_get_version_byte(&proof) == 0 && ffi_rln_proof_get_version_byte(NULL) == 0xff);
    CResultVecU8 b = ffi_rln_proof_to_bytes_le(&proof);
    expect_no_err(b.err, "proof to bytes");
    CHECK(b.ok.len == 290 && b.ok.ptr[0] == 0 && b.ok.ptr[129] == 0);
    CResultProof back = ffi_bytes_le_to_rln_proof(&b.ok);
    expect_no_err(back.err, "bytes to proof");
    ffi_rln_proof_free(back.ok);
    CResultVecU8 bbe = ffi_rln_proof_to_bytes_be(&proof);
    back = ffi_bytes_be_to_rln_proof(&bbe.ok);
    expect_no_err(back.err, "be bytes to proof");
    ffi_rln_proof_free(back.ok);
    ffi_vec_u8_free(bbe.ok);
    uint8_t tampered[290];
    memcpy(tampered, b.ok.ptr, 290);
    Vec_uint8 tv = view(tampered, 289);
    back = ffi_bytes_le_to_rln_proof(&tv);
    CHECK(back.ok == NULL);
    expect_err(back.err, "289-byte proof");
    tv.len = 290;
    tampered[0] = 1;
    back = ffi_bytes_le_to_rln_proof(&tv);
    expect_err(back.err, "version byte 1");
    tampered[0] = 0;
    memcpy(tampered + 130, MODULUS_LE, 32);
    back = ffi_bytes_le_to_rln_proof(&tv);
    expect_err(back.err, "non-canonical root");
    memcpy(tampered, b.ok.ptr, 290);
    /* (A tampered point A is left out: the tampering tried so far was accepted in some runs;
     * the curve and subgroup checks are covered by the Rust tests of Groth16Proof::from_bytes.) */
    back = ffi_bytes_le_to_rln_proof(NULL);
    expect_err(back.err, "null proof bytes");
    CResultVecU8 nb = ffi_rln_proof_to_bytes_le(NULL);
    expect_err(nb.err, "null proof");
    nb = ffi_rln_proof_to_bytes_be(NULL);
    expect_err(nb.err, "null proof (be)");

    /* values */
    FFI_RLNProofValues *pv = ffi_rln_proof_get_values(&proof);
    CHECK(pv != NULL && ffi_rln_proof_get_values(NULL) == NULL);
    CFr *root = ffi_rln_proof_values_get_root(&pv), *px = ffi_rln_proof_values_get_x(&pv),
        *pext = ffi_rln_proof_values_get_external_nullifier(&pv);
    CHECK(cfr_eq(root, m.root) && cfr_eq(pext, ext));
    Vec_uint8 sig = view((const uint8_t *)"first message", 13);
    CFr *expect_x = ffi_hash_to_field_le(&sig);
    CHECK(cfr_eq(px, expect_x));
    CResultCFr y = ffi_rln_proof_values_get_y(&pv), nul = ffi_rln_proof_values_get_nullifier(&pv);
    expect_no_err(y.err, "y");
    expect_no_err(nul.err, "nullifier");
    CResultCFr ny = ffi_rln_proof_values_get_y(NULL);
    expect_err(ny.err, "y of null values");
    ny = ffi_rln_proof_values_get_nullifier(NULL);
    expect_err(ny.err, "nullifier of null values");
    CHECK(ffi_rln_proof_values_get_root(NULL) == NULL && ffi_rln_proof_values_get_x(NULL) == NULL &&
          ffi_rln_proof_values_get_external_nullifier(NULL) == NULL);
    CHECK(ffi_rln_proof_values_get_version_byte(&pv) == 0 && ffi_rln_proof_values_get_version_byte(NULL) == 0xff);
    Vec_uint8 vle = ffi_rln_proof_values_to_bytes_le(&pv), vbe = ffi_rln_proof_values_to_bytes_be(&pv);
    CHECK(vle.len == 161 && vbe.len == 161 && memcmp(vle.ptr, b.ok.ptr + 129, 161) == 0);
    CResultProofValues rv = ffi_bytes_le_to_rln_proof_values(&vle);
    expect_no_err(rv.err, "values le");
    ffi_rln_proof_values_free(rv.ok);
    rv = ffi_bytes_be_to_rln_proof_values(&vbe);
    expect_no_err(rv.err, "values be");
    ffi_rln_proof_values_free(rv.ok);
    Vec_uint8 vshort = view(vle.ptr, 160);
    rv = ffi_bytes_le_to_rln_proof_values(&vshort);
    expect_err(rv.err, "160-byte values");
    rv = ffi_bytes_be_to_rln_proof_values(NULL);
    expect_err(rv.err, "null values bytes");
    CHECK(ffi_rln_proof_values_to_bytes_le(NULL).ptr == NULL && ffi_rln_proof_values_to_bytes_be(NULL).ptr == NULL);
    FFI_RLNProofValues *pv2 = ffi_rln_proof_values_new(root, pext, px, y.ok, nul.ok);
    CHECK(pv2 != NULL && ffi_rln_proof_values_new(root, NULL, px, y.ok, nul.ok) == NULL);
    ffi_rln_proof_values_free(pv2);
    ffi_vec_u8_free(vle);
    ffi_vec_u8_free(vbe);

    /* ffi_rln_proof_new: rebuild from parts, and tamper y */
    Vec_uint8 g = view(b.ok.ptr + 1, 128);
    CResultProof rebuilt = ffi_rln_proof_new(&g, root, pext, px, y.ok, nul.ok);
    expect_no_err(rebuilt.err, "ffi_rln_proof_new");
    CFr *one = ffi_cfr_one();
    CResultProof forged = ffi_rln_proof_new(&g, root, pext, px, one, nul.ok);
    expect_no_err(forged.err, "ffi_rln_proof_new (tampered y)");
    Vec_uint8 g127 = view(b.ok.ptr + 1, 127);
    CResultProof badnew = ffi_rln_proof_new(&g127, root, pext, px, y.ok, nul.ok);
    expect_err(badnew.err, "127-byte Groth16 proof");
    badnew = ffi_rln_proof_new(&g, NULL, pext, px, y.ok, nul.ok);
    expect_err(badnew.err, "null root");

    /* verify with roots */
    Vec_CFr roots = ffi_vec_cfr_from_cfr(m.root);
    CBoolResult ok = ffi_verify_with_roots(&rln, &proof, &roots, px);
    expect_no_err(ok.err, "verify");
    CHECK(ok.ok);
    ok = ffi_verify_with_roots(&rln, &rebuilt.ok, &roots, px);
    expect_no_err(ok.err, "verify rebuilt");
    CHECK(ok.ok);
    Vec_CFr no_roots = ffi_vec_cfr_new(0);
    ok = ffi_verify_with_roots(&rln, &proof, &no_roots, px);
    expect_no_err(ok.err, "verify, empty roots (zerokit: skips the root check)");
    CHECK(ok.ok);
    Vec_CFr other_roots = ffi_vec_cfr_from_cfr(one);
    ok = ffi_verify_with_roots(&rln, &proof, &other_roots, px);
    CHECK(!ok.ok);
    expect_err(ok.err, "root not in roots");
    ok = ffi_verify_with_roots(&rln, &proof, &roots, one);
    CHECK(!ok.ok);
    expect_err(ok.err, "x for another signal");
    ok = ffi_verify_with_roots(&rln, &forged.ok, &roots, px);
    CHECK(!ok.ok);
    expect_err(ok.err, "tampered y");
    ok = ffi_verify_with_roots(&rln, &proof, NULL, px);
    expect_err(ok.err, "null roots");
    ok = ffi_verify_with_roots(NULL, &proof, &roots, px);
    expect_err(ok.err, "null rln");
    ffi_vec_cfr_free(no_roots);
    ffi_vec_cfr_free(other_roots);
    ffi_rln_proof_free(rebuilt.ok);
    ffi_rln_proof_free(forged.ok);

    /* partial proofs: the member's fast path */
    CResultPartialWitnessInput pw = ffi_rln_partial_witness_input_new(m.secret, m.limit, &m.path, &bits);
    expect_no_err(pw.err, "partial witness");
    CResultPartialWitnessInput bpw = ffi_rln_partial_witness_input_new(m.secret, m.limit, &m.path, &short_bits);
    expect_err(bpw.err, "partial witness with 19 bits");
    bpw = ffi_rln_partial_witness_input_new(m.secret, NULL, &m.path, &bits);
    expect_err(bpw.err, "partial witness with a null limit");
    CResultPartialProof pp = ffi_generate_partial_zk_proof(&rln, &pw.ok);
    expect_no_err(pp.err, "partial proof");
    CResultPartialProof bpp = ffi_generate_partial_zk_proof(&rln, NULL);
    expect_err(bpp.err, "partial proof of null");
    CHECK(ffi_rln_partial_proof_get_version_byte(&pp.ok) == 0 && ffi_rln_partial_proof_get_version_byte(NULL) == 0xff);
    FFI_RLNWitnessInput *w2 = witness(&m, 3, "second message", ext);
    CResultProof p2 = ffi_finish_rln_proof(&rln, &pp.ok, &w2);
    expect_no_err(p2.err, "finish (first, full)");
    CResultProof p3 = ffi_finish_rln_proof(&rln, &pp.ok, &w1);
    expect_no_err(p3.err, "finish (second, fast path)");
    CResultVecU8 ppb = ffi_rln_partial_proof_to_bytes_le(&pp.ok), ppbe = ffi_rln_partial_proof_to_bytes_be(&pp.ok);
    expect_no_err(ppb.err, "partial to bytes");
    expect_no_err(ppbe.err, "partial to bytes be");
    CResultPartialProof pp2 = ffi_bytes_le_to_rln_partial_proof(&ppb.ok);
    expect_no_err(pp2.err, "bytes to partial");
    CResultPartialProof pp3 = ffi_bytes_be_to_rln_partial_proof(&ppbe.ok);
    expect_no_err(pp3.err, "be bytes to partial");
    CResultProof p4 = ffi_finish_rln_proof(&rln, &pp2.ok, &w2);
    expect_no_err(p4.err, "finish from a deserialized partial proof");
    Vec_uint8 ppcut = view(ppb.ok.ptr, ppb.ok.len - 1);
    bpp = ffi_bytes_le_to_rln_partial_proof(&ppcut);
    expect_err(bpp.err, "partial proof one byte short");
    bpp = ffi_bytes_be_to_rln_partial_proof(NULL);
    expect_err(bpp.err, "null partial bytes");
    CResultVecU8 nppb = ffi_rln_partial_proof_to_bytes_le(NULL);
    expect_err(nppb.err, "null partial proof");
    nppb = ffi_rln_partial_proof_to_bytes_be(NULL);
    expect_err(nppb.err, "null partial proof (be)");
    ffi_vec_u8_free(ppb.ok);
    ffi_vec_u8_free(ppbe.ok);
    CResultProof bad_finish = ffi_finish_rln_proof(&rln, &pp.ok, NULL);
    expect_err(bad_finish.err, "finish with a null witness");
    {
        /* a witness of another member */
        Vec_CFr kk = ffi_key_gen();
        Vec_uint8 bits2 = view(m.bits, 20);
        CFr *id1 = ffi_cfr_one();
        CResultWitnessInput ow = ffi_rln_witness_input_new(ffi_vec_cfr_get(&kk, 0), m.limit, id1, &m.path, &bits2, one, ext);
        expect_no_err(ow.err, "other witness");
        bad_finish = ffi_finish_rln_proof(&rln, &pp.ok, &ow.ok);
        expect_err(bad_finish.err, "finish with another member's witness");
        ffi_rln_witness_input_free(ow.ok);
        ffi_cfr_free(id1);
        ffi_vec_cfr_free(kk);
    }
    FFI_RLNProof *proofs[3] = {p2.ok, p3.ok, p4.ok};
    for (int i = 0; i < 3; i++) {
        CHECK(proofs[i] != NULL);
        if (!proofs[i]) continue;
        FFI_RLNProofValues *v = ffi_rln_proof_get_values(&proofs[i]);
        CFr *vx = ffi_rln_proof_values_get_x(&v);
        ok = ffi_verify_with_roots(&rln, &proofs[i], &roots, vx);
        expect_no_err(ok.err, "verify partial-path proof");
        CHECK(ok.ok);
        ffi_cfr_free(vx);
        ffi_rln_proof_values_free(v);
    }

    /* secret recovery: proof (message 3, "first message") and p2 (message 3, "second message") */
    FFI_RLNProofValues *v2 = ffi_rln_proof_get_values(&p2.ok);
    CResultCFr sec = ffi_recover_id_secret(&pv, &v2);
    expect_no_err(sec.err, "recover");
    CHECK(sec.ok && cfr_eq(sec.ok, m.secret));
    ffi_cfr_free(sec.ok);
    CFr *x2 = ffi_rln_proof_values_get_x(&v2);
    CResultCFr y2 = ffi_rln_proof_values_get_y(&v2);
    sec = ffi_compute_id_secret(px, y.ok, x2, y2.ok);
    expect_no_err(sec.err, "compute_id_secret");
    CHECK(sec.ok && cfr_eq(sec.ok, m.secret));
    ffi_cfr_free(sec.ok);
    sec = ffi_compute_id_secret(px, y.ok, px, y.ok);
    expect_err(sec.err, "same share twice");
    sec = ffi_compute_id_secret(NULL, y.ok, px, y.ok);
    expect_err(sec.err, "null share");
    sec = ffi_recover_id_secret(&pv, &pv);
    expect_err(sec.err, "recover from one share");
    sec = ffi_recover_id_secret(&pv, NULL);
    expect_err(sec.err, "recover with null values");
    ffi_cfr_free(x2);
    ffi_cfr_free(y2.ok);
    ffi_rln_proof_values_free(v2);

    ffi_rln_proof_free(p2.ok);
    ffi_rln_proof_free(p3.ok);
    ffi_rln_proof_free(p4.ok);
    ffi_rln_partial_proof_free(pp.ok);
    ffi_rln_partial_proof_free(pp2.ok);
    ffi_rln_partial_proof_free(pp3.ok);
    ffi_rln_partial_proof_free(NULL);
    ffi_rln_partial_witness_input_free(pw.ok);
    ffi_rln_partial_witness_input_free(NULL);
    ffi_rln_witness_input_free(w1);
    ffi_rln_witness_input_free(w2);
    ffi_vec_cfr_free(roots);
    ffi_cfr_free(one);
    ffi_cfr_free(zero);
    ffi_cfr_free(root);
    ffi_cfr_free(px);
    ffi_cfr_free(pext);
    ffi_cfr_free(expect_x);
    ffi_cfr_free(y.ok);
    ffi_cfr_free(nul.ok);
    ffi_rln_proof_values_free(pv);
    ffi_rln_proof_values_free(NULL);
    ffi_rln_proof_free(proof);
    ffi_rln_proof_free(NULL);
    ffi_vec_u8_free(b.ok);
    ffi_cfr_free(ext);
    member_free(&m);
    ffi_rln_free(rln);
    ffi_rln_free(NULL);
}

static void expect_status(RlnkitStatus got, RlnkitStatus want, const char *what) {
    CHECK(got == want);
    const char *e = rlnkit_last_error();
    if (got != want) fprintf(stderr, "  %s: status %d, expected %d (%s)\n", what, (int)got, (int)want, e);
    else if (want != RLNKIT_STATUS_OK) printf("  ok: %s -> %d \"%s\"\n", what, (int)got, e);
    if (want != RLNKIT_STATUS_OK) CHECK(e != NULL && e[0] != '\0');
}

static void test_own_api(const char *dev_dir) {
    printf("rlnkit_* API: keys, member prover, verify, batch, relay validator\n");
    RlnkitKeys *keys = NULL;
    expect_status(rlnkit_keys_waku(&keys), RLNKIT_STATUS_OK, "waku keys");
    expect_status(rlnkit_keys_waku(NULL), RLNKIT_STATUS_NULL_POINTER, "keys into null");
    RlnkitKeys *missing = NULL;
    expect_status(rlnkit_keys_load("/nonexistent/keys", &missing), RLNKIT_STATUS_KEYS, "keys from a missing dir");
    CHECK(missing == NULL);
    expect_status(rlnkit_keys_load(NULL, &missing), RLNKIT_STATUS_NULL_POINTER, "null dir");
    if (dev_dir) {
        RlnkitKeys *dev = NULL, *dev2 = NULL;
        expect_status(rlnkit_keys_load(dev_dir, &dev), RLNKIT_STATUS_OK, "keys from a dir");
        expect_status(rlnkit_keys_development(&dev2), RLNKIT_STATUS_OK, "development keys");
        rlnkit_keys_free(dev);
        rlnkit_keys_free(dev2);
    }
    if (!keys) return;

    Member m;
    member_init(&m);
    RlnkitMember *member = NULL;
    expect_status(rlnkit_member_new(keys, &m.secret_le, 100, m.path_le, m.bits, 20, &member), RLNKIT_STATUS_OK, "member");
    expect_status(rlnkit_member_new(keys, &m.secret_le, 100, m.path_le, m.bits, 19, &member), RLNKIT_STATUS_INVALID_INPUT, "member with depth 19");
    expect_status(rlnkit_member_new(keys, &m.secret_le, 0, m.path_le, m.bits, 20, &member), RLNKIT_STATUS_INVALID_INPUT, "member with limit 0");
    expect_status(rlnkit_member_new(keys, &MODULUS_LE, 100, m.path_le, m.bits, 20, &member), RLNKIT_STATUS_INVALID_INPUT, "non-canonical secret");
    expect_status(rlnkit_member_new(NULL, &m.secret_le, 100, m.path_le, m.bits, 20, &member), RLNKIT_STATUS_NULL_POINTER, "null keys");
    expect_status(rlnkit_member_new(keys, &m.secret_le, 100, NULL, m.bits, 20, &member), RLNKIT_STATUS_NULL_POINTER, "null path");
    uint8_t root[32];
    expect_status(rlnkit_member_root(member, &root), RLNKIT_STATUS_OK, "member root");
    CHECK(memcmp(root, m.root_le, 32) == 0);
    expect_status(rlnkit_member_root(NULL, &root), RLNKIT_STATUS_NULL_POINTER, "root of null");
    expect_status(rlnkit_member_update_path(member, m.path_le, m.bits, 20), RLNKIT_STATUS_OK, "update path (same)");
    expect_status(rlnkit_member_update_path(member, m.path_le, m.bits, 21), RLNKIT_STATUS_INVALID_INPUT, "update path depth 21");

    uint64_t epoch = (uint64_t)time(NULL) / 600;
    uint8_t ext[32];
    expect_status(rlnkit_waku_external_nullifier(epoch, &ext), RLNKIT_STATUS_OK, "external nullifier");
    expect_status(rlnkit_waku_external_nullifier(epoch, NULL), RLNKIT_STATUS_NULL_POINTER, "external nullifier into null");

    /* the relay signal: payload || content_topic || timestamp (u64 LE) */
    const char *topic = "/toy-chat/2/huilong/proto";
    uint64_t ts = (uint64_t)time(NULL) * 1000000000ull;
    uint8_t signals[3][64];
    size_t sig_len[3];
    const char *payloads[3] = {"hello", "hello again", "spam"};
    for (int i = 0; i < 3; i++) {
        size_t pl = strlen(payloads[i]), tl = strlen(topic);
        memcpy(signals[i], payloads[i], pl);
        memcpy(signals[i] + pl, topic, tl);
        for (int k = 0; k < 8; k++) signals[i][pl + tl + k] = (uint8_t)(ts >> (8 * k));
        sig_len[i] = pl + tl + 8;
    }
    uint8_t proofs[3][288];
    expect_status(rlnkit_member_prove(member, 0, &ext, signals[0], sig_len[0], &proofs[0]), RLNKIT_STATUS_OK, "member proof 0");
    expect_status(rlnkit_member_prove(member, 1, &ext, signals[1], sig_len[1], &proofs[1]), RLNKIT_STATUS_OK, "member proof 1 (fast path)");
    expect_status(rlnkit_prove(keys, &m.secret_le, 100, 0, m.path_le, m.bits, 20, &ext, signals[2], sig_len[2], &proofs[2]), RLNKIT_STATUS_OK, "one-shot proof (message 0 again: a double signal)");
    expect_status(rlnkit_member_prove(member, 100, &ext, signals[0], sig_len[0], &proofs[0]), RLNKIT_STATUS_INVALID_INPUT, "message id 100 of limit 100");
    expect_status(rlnkit_member_prove(member, 0, &ext, signals[0], sig_len[0], NULL), RLNKIT_STATUS_NULL_POINTER, "proof into null");
    expect_status(rlnkit_member_prove(member, 0, &ext, NULL, 5, &proofs[0]), RLNKIT_STATUS_NULL_POINTER, "null signal with length 5");
    expect_status(rlnkit_prove(keys, &m.secret_le, 100, 0, m.path_le, m.bits, 20, NULL, signals[2], sig_len[2], &proofs[2]), RLNKIT_STATUS_NULL_POINTER, "one-shot, null external nullifier");

    expect_status(rlnkit_verify(keys, proofs[0], 288, signals[0], sig_len[0], root, 1), RLNKIT_STATUS_OK, "verify");
    expect_status(rlnkit_verify(keys, proofs[0], 288, signals[1], sig_len[1], root, 1), RLNKIT_STATUS_REJECTED, "verify for another signal");
    expect_status(rlnkit_verify(keys, proofs[0], 288, signals[0], sig_len[0], root, 0), RLNKIT_STATUS_REJECTED, "verify against an empty window");
    expect_status(rlnkit_verify(keys, proofs[0], 287, signals[0], sig_len[0], root, 1), RLNKIT_STATUS_INVALID_INPUT, "287-byte proof");
    expect_status(rlnkit_verify(keys, proofs[0], 288, signals[0], sig_len[0], MODULUS_LE, 1), RLNKIT_STATUS_INVALID_INPUT, "non-canonical root");
    expect_status(rlnkit_verify(NULL, proofs[0], 288, signals[0], sig_len[0], root, 1), RLNKIT_STATUS_NULL_POINTER, "verify with null keys");
    uint8_t forged[288];
    memcpy(forged, proofs[0], 288);
    forged[128 + 3 * 32] ^= 1; /* y */
    expect_status(rlnkit_verify(keys, forged, 288, signals[0], sig_len[0], root, 1), RLNKIT_STATUS_REJECTED, "verify a tampered y");

    uint8_t batch[3 * 288];
    memcpy(batch, proofs[0], 288);
    memcpy(batch + 288, proofs[1], 288);
    memcpy(batch + 576, forged, 288);
    RlnkitBytes bsig[3] = {{signals[0], sig_len[0]}, {signals[1], sig_len[1]}, {signals[0], sig_len[0]}};
    bool valid[3] = {false, false, true};
    expect_status(rlnkit_verify_batch(keys, batch, 2, bsig, root, 1, valid), RLNKIT_STATUS_OK, "batch of 2");
    CHECK(valid[0] && valid[1]);
    expect_status(rlnkit_verify_batch(keys, batch, 3, bsig, root, 1, valid), RLNKIT_STATUS_REJECTED, "batch with a tampered proof");
    CHECK(valid[0] && valid[1] && !valid[2]);
    expect_status(rlnkit_verify_batch(keys, batch, 3, NULL, root, 1, valid), RLNKIT_STATUS_NULL_POINTER, "batch without signals");
    expect_status(rlnkit_verify_batch(keys, batch, 0, bsig, root, 1, NULL), RLNKIT_STATUS_OK, "empty batch");

    /* relay validator */
    RlnkitValidator *val = NULL;
    expect_status(rlnkit_validator_new(keys, root, 1, &val), RLNKIT_STATUS_OK, "validator");
    expect_status(rlnkit_validator_new(keys, MODULUS_LE, 1, &val), RLNKIT_STATUS_INVALID_INPUT, "validator with a non-canonical root");
    expect_status(rlnkit_validator_add_root(val, &root), RLNKIT_STATUS_OK, "add root");
    expect_status(rlnkit_validator_add_root(NULL, &root), RLNKIT_STATUS_NULL_POINTER, "add root to null");
    uint8_t msgs[3][1024];
    size_t msg_len[3];
    for (int i = 0; i < 3; i++) {
        expect_status(rlnkit_waku_message_encode((const uint8_t *)payloads[i], strlen(payloads[i]), topic, ts, &proofs[i], epoch, msgs[i], sizeof msgs[i], &msg_len[i]), RLNKIT_STATUS_OK, "encode message");
    }
    size_t need = 0;
    expect_status(rlnkit_waku_message_encode((const uint8_t *)"x", 1, topic, ts, &proofs[0], epoch, msgs[0], 10, &need), RLNKIT_STATUS_INVALID_INPUT, "encode into 10 bytes");
    CHECK(need > 10);
    const char *pubsub = "/waku/2/rs/1/0";
    RlnkitVerdict v;
    uint64_t now = ts + 1000000000ull;
    expect_status(rlnkit_validator_validate(val, msgs[0], msg_len[0], pubsub, now, &v), RLNKIT_STATUS_OK, "validate");
    CHECK(v.action == RLNKIT_ACTION_ACCEPT && !v.spam);
    expect_status(rlnkit_validator_validate(val, msgs[0], msg_len[0], pubsub, now, &v), RLNKIT_STATUS_OK, "validate again");
    CHECK(v.action == RLNKIT_ACTION_IGNORE && strcmp(v.reason, "duplicate") == 0);
    expect_status(rlnkit_validator_validate(val, msgs[1], msg_len[1], pubsub, now, &v), RLNKIT_STATUS_OK, "validate message 1");
    CHECK(v.action == RLNKIT_ACTION_ACCEPT);
    expect_status(rlnkit_validator_validate(val, msgs[2], msg_len[2], pubsub, now, &v), RLNKIT_STATUS_OK, "validate a double signal");
    CHECK(v.action == RLNKIT_ACTION_REJECT && strcmp(v.reason, "spam") == 0 && v.spam);
    CHECK(memcmp(v.spam_secret, m.secret_le, 32) == 0 && v.spam_epoch == epoch);
    printf("  ok: double signal -> reject \"%s\", secret recovered\n", v.reason);
    expect_status(rlnkit_validator_validate(val, msgs[0], msg_len[0], pubsub, now + 3600000000000ull, &v), RLNKIT_STATUS_OK, "validate an hour later");
    CHECK(v.action == RLNKIT_ACTION_REJECT && strcmp(v.reason, "invalid_timestamp") == 0);
    const uint8_t garbage[5] = {0xff, 0xff, 0xff, 0xff, 0xff};
    expect_status(rlnkit_validator_validate(val, garbage, 5, pubsub, now, &v), RLNKIT_STATUS_OK, "validate garbage");
    CHECK(v.action == RLNKIT_ACTION_REJECT && strcmp(v.reason, "decode") == 0);
    expect_status(rlnkit_validator_validate(val, msgs[0], msg_len[0], NULL, now, &v), RLNKIT_STATUS_NULL_POINTER, "validate with a null topic");
    expect_status(rlnkit_validator_validate(val, NULL, 10, pubsub, now, &v), RLNKIT_STATUS_NULL_POINTER, "validate null bytes");
    expect_status(rlnkit_validator_validate(val, msgs[0], msg_len[0], pubsub, now, NULL), RLNKIT_STATUS_NULL_POINTER, "verdict into null");

    /* a proof from the zerokit-compatible API verifies in the own API: 290 = 0x00|proof|0x00|values */
    {
        CResultRln rr = ffi_rln_new();
        FFI_RLN *rln = rr.ok;
        CFr *e = cfr_from(ext);
        Vec_uint8 sv = view(signals[0], sig_len[0]);
        CFr *x = ffi_hash_to_field_le(&sv), *id = ffi_uint_to_cfr(5);
        Vec_uint8 bits = view(m.bits, 20);
        CResultWitnessInput w = ffi_rln_witness_input_new(m.secret, m.limit, id, &m.path, &bits, x, e);
        CResultProof p = ffi_generate_rln_proof(&rln, &w.ok);
        CResultVecU8 b = ffi_rln_proof_to_bytes_le(&p.ok);
        uint8_t own[288];
        memcpy(own, b.ok.ptr + 1, 128);
        memcpy(own + 128, b.ok.ptr + 130, 160);
        expect_status(rlnkit_verify(keys, own, 288, signals[0], sig_len[0], root, 1), RLNKIT_STATUS_OK, "ffi_* proof through rlnkit_verify");
        ffi_vec_u8_free(b.ok);
        ffi_rln_proof_free(p.ok);
        ffi_rln_witness_input_free(w.ok);
        ffi_cfr_free(x);
        ffi_cfr_free(id);
        ffi_cfr_free(e);
        ffi_rln_free(rln);
    }

    rlnkit_validator_free(val);
    rlnkit_validator_free(NULL);
    rlnkit_member_free(member);
    rlnkit_member_free(NULL);
    rlnkit_keys_free(keys);
    rlnkit_keys_free(NULL);
    member_free(&m);
}

/* zerokit v0.9 Buffer ABI (feature v09). Outputs are freed with rlnkit_v09_buffer_free. */
static void test_v09(void) {
    printf("zerokit v0.9 Buffer ABI\n");
    struct RLN *ctx = NULL;
    const char *cfg = "{\"resources_folder\": \"ignored\"}";
    Buffer cb = {(const uint8_t *)cfg, strlen(cfg)};
    CHECK(!new(10, &cb, &ctx) && ctx == NULL);
    CHECK(!new(20, &cb, NULL));
    CHECK(new(20, &cb, &ctx) && ctx != NULL);
    if (!ctx) return;

    Buffer out = {0};
    CHECK(extended_key_gen(&out, true) && out.len == 128);
    rlnkit_v09_buffer_free(&out);
    CHECK(out.ptr == NULL);
    CHECK(extended_key_gen(&out, false) && out.len == 128);
    rlnkit_v09_buffer_free(&out);
    CHECK(!extended_key_gen(NULL, true));
    const uint8_t seed[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    Buffer sb = {seed, 10};
    CHECK(seeded_extended_key_gen(&sb, &out, false) && out.len == 128);
    if (out.len == 128) CHECK(out.ptr[96] == 0x06 && out.ptr[97] == 0x8b); /* commitment, big-endian */
    rlnkit_v09_buffer_free(&out);
    CHECK(!seeded_extended_key_gen(NULL, &out, true));

    uint8_t in[8 + 64] = {2};
    in[8] = 2;
    in[40] = 3;
    Buffer ib = {in, sizeof in};
    CHECK(poseidon_hash(&ib, &out, true) && out.len == 32);
    CFr *p = out.len == 32 ? cfr_from(out.ptr) : NULL;
    CHECK(p && cfr_is(p, "17197790661637433027297685226742709599380837544520340689137581733613433332983"));
    ffi_cfr_free(p);
    rlnkit_v09_buffer_free(&out);
    uint8_t big[8 + 32] = {1};
    memcpy(big + 8, MODULUS_LE, 32); /* r reduces to 0: v0.9 tolerates it */
    Buffer bb = {big, sizeof big};
    CHECK(poseidon_hash(&bb, &out, true) && out.len == 32);
    p = out.len == 32 ? cfr_from(out.ptr) : NULL;
    CHECK(p && cfr_is(p, "19014214495641488759237505126948346942972912379615652741039992445865937985820"));
    ffi_cfr_free(p);
    rlnkit_v09_buffer_free(&out);
    Buffer cut = {in, 40};
    CHECK(!poseidon_hash(&cut, &out, true));
    uint8_t zero_count[8] = {0};
    Buffer zc = {zero_count, 8};
    CHECK(!poseidon_hash(&zc, &out, true));
    CHECK(!poseidon_hash(NULL, &out, true));
    const char *msg = "RLN is awesome";
    Buffer mb = {(const uint8_t *)msg, strlen(msg)};
    CHECK(hash(&mb, &out, true) && out.len == 32);
    p = out.len == 32 ? cfr_from(out.ptr) : NULL;
    CHECK(p && cfr_is(p, "6039144600069617343901449910068486613900088046357481879973542603493767224477"));
    ffi_cfr_free(p);
    rlnkit_v09_buffer_free(&out);
    CHECK(!hash(&mb, NULL, true));

    /* witness: secret | limit | message_id | path | bits | x | ext */
    Member m;
    member_init(&m);
    uint8_t w[32 * 3 + 8 + 640 + 8 + 20 + 64] = {0};
    size_t o = 0;
    memcpy(w, m.secret_le, 32), o = 32;
    w[o] = 100, o += 32;
    w[o] = 7, o += 32;
    w[o] = 20, o += 8;
    memcpy(w + o, m.path_le, 640), o += 640;
    w[o] = 20, o += 8 + 20;
    Buffer sig = {(const uint8_t *)"v0.9 message", 12};
    Buffer xb = {0};
    CHECK(hash(&sig, &xb, true));
    memcpy(w + o, xb.ptr, 32), o += 32;
    rlnkit_v09_buffer_free(&xb);
    w[o] = 42, o += 32;
    CHECK(o == sizeof w);
    Buffer wb = {w, sizeof w};
    CHECK(generate_rln_proof_with_witness(ctx, &wb, &out) && out.len == 288);
    uint8_t pv[288 + 8 + 12];
    if (out.len == 288) memcpy(pv, out.ptr, 288);
    rlnkit_v09_buffer_free(&out);
    Buffer wcut = {w, sizeof w - 1};
    CHECK(!generate_rln_proof_with_witness(ctx, &wcut, &out));
    CHECK(!generate_rln_proof_with_witness(NULL, &wb, &out));
    w[32] = 5; /* limit 5 < message_id 7 */
    CHECK(!generate_rln_proof_with_witness(ctx, &wb, &out));
    memset(pv + 288, 0, 8);
    pv[288] = 12;
    memcpy(pv + 296, "v0.9 message", 12);
    Buffer pb = {pv, sizeof pv}, roots = {m.root_le, 32}, none = {NULL, 0};
    bool valid = false;
    CHECK(verify_with_roots(ctx, &pb, &roots, &valid) && valid);
    valid = false;
    CHECK(verify_with_roots(ctx, &pb, &none, &valid) && valid); /* v0.9: empty roots skip the check */
    uint8_t other_root[32] = {1};
    Buffer ob = {other_root, 32};
    CHECK(verify_with_roots(ctx, &pb, &ob, &valid) && !valid);
    pv[300] ^= 1; /* another signal */
    CHECK(verify_with_roots(ctx, &pb, &roots, &valid) && !valid);
    pv[300] ^= 1;
    Buffer pshort = {pv, 200};
    CHECK(!verify_with_roots(ctx, &pshort, &roots, &valid));
    CHECK(!verify_with_roots(ctx, &pb, &roots, NULL));
    CHECK(!verify_with_roots(NULL, &pb, &roots, &valid));
    rlnkit_v09_buffer_free(NULL);
    member_free(&m);
    rlnkit_v09_free(ctx);
    rlnkit_v09_free(NULL);
}

/* One thread's double signal: its message, and the verdict it got. */
typedef struct {
    const RlnkitValidator *val;
    pthread_barrier_t *start;
    const uint8_t *msg;
    size_t len;
    uint64_t now;
    RlnkitStatus status;
    RlnkitVerdict verdict;
} SpamJob;

static void *validate_spam(void *arg) {
    SpamJob *j = arg;
    pthread_barrier_wait(j->start);
    j->status = rlnkit_validator_validate(j->val, j->msg, j->len, "/waku/2/rs/1/0", j->now, &j->verdict);
    return NULL;
}

/* Two members double-signal at once on one validator from two threads: each verdict carries the
 * secret its own message revealed (none lost, none swapped), round after round. */
static void test_validator_two_threads(void) {
    printf("rlnkit_validator_validate from two threads: each double signal gets its own secret\n");
    RlnkitKeys *keys = NULL;
    expect_status(rlnkit_keys_waku(&keys), RLNKIT_STATUS_OK, "waku keys");
    if (!keys) return;
    Member m[2];
    member_init_seeded(&m[0], "rlnkit C test: first spammer");
    member_init_seeded(&m[1], "rlnkit C test: second spammer");
    uint64_t epoch = (uint64_t)time(NULL) / 600, ts = (uint64_t)time(NULL) * 1000000000ull;
    uint8_t ext[32];
    expect_status(rlnkit_waku_external_nullifier(epoch, &ext), RLNKIT_STATUS_OK, "external nullifier");
    const char *topic = "/rlnkit/1/threads/proto";
    const char *payloads[2][2] = {{"first of member 0", "second of member 0"}, {"first of member 1", "second of member 1"}};
    uint8_t msgs[2][2][1024];
    size_t lens[2][2];
    for (int k = 0; k < 2; k++) {
        RlnkitMember *member = NULL;
        expect_status(rlnkit_member_new(keys, &m[k].secret_le, 100, m[k].path_le, m[k].bits, 20, &member), RLNKIT_STATUS_OK, "member");
        for (int i = 0; i < 2; i++) {
            uint8_t sig[128], proof[288];
            size_t pl = strlen(payloads[k][i]), tl = strlen(topic);
            memcpy(sig, payloads[k][i], pl);
            memcpy(sig + pl, topic, tl);
            for (int b = 0; b < 8; b++) sig[pl + tl + b] = (uint8_t)(ts >> (8 * b));
            /* message id 0 twice: the second message is a double signal */
            expect_status(rlnkit_member_prove(member, 0, &ext, sig, pl + tl + 8, &proof), RLNKIT_STATUS_OK, "proof");
            expect_status(rlnkit_waku_message_encode((const uint8_t *)payloads[k][i], pl, topic, ts, &proof, epoch, msgs[k][i], sizeof msgs[k][i], &lens[k][i]), RLNKIT_STATUS_OK, "encode");
        }
        rlnkit_member_free(member);
    }
    uint64_t now = ts + 1000000000ull;
    int rounds = 16, right = 0;
    for (int r = 0; r < rounds; r++) {
        RlnkitValidator *val = NULL;
        uint8_t roots[64];
        memcpy(roots, m[0].root_le, 32);
        memcpy(roots + 32, m[1].root_le, 32);
        expect_status(rlnkit_validator_new(keys, roots, 2, &val), RLNKIT_STATUS_OK, "validator");
        if (!val) break;
        RlnkitVerdict v;
        for (int k = 0; k < 2; k++) {
            expect_status(rlnkit_validator_validate(val, msgs[k][0], lens[k][0], "/waku/2/rs/1/0", now, &v), RLNKIT_STATUS_OK, "first share");
            CHECK(v.action == RLNKIT_ACTION_ACCEPT);
        }
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        SpamJob jobs[2];
        pthread_t threads[2];
        for (int k = 0; k < 2; k++) {
            jobs[k] = (SpamJob){val, &start, msgs[k][1], lens[k][1], now, RLNKIT_STATUS_INTERNAL, {0}};
            CHECK(pthread_create(&threads[k], NULL, validate_spam, &jobs[k]) == 0);
        }
        for (int k = 0; k < 2; k++) pthread_join(threads[k], NULL);
        pthread_barrier_destroy(&start);
        int ok = 1;
        for (int k = 0; k < 2; k++) {
            RlnkitVerdict *jv = &jobs[k].verdict;
            ok &= jobs[k].status == RLNKIT_STATUS_OK && jv->action == RLNKIT_ACTION_REJECT && jv->spam &&
                  strcmp(jv->reason, "spam") == 0 && memcmp(jv->spam_secret, m[k].secret_le, 32) == 0 &&
                  jv->spam_epoch == epoch;
        }
        CHECK(ok);
        right += ok;
        rlnkit_validator_free(val);
    }
    printf("  ok: %d of %d rounds, each thread got its own member's secret\n", right, rounds);
    member_free(&m[0]);
    member_free(&m[1]);
    rlnkit_keys_free(keys);
}

int main(int argc, char **argv) {
    const char *dev_dir = argc > 1 ? argv[1] : NULL;
    test_field_elements();
    test_vectors();
    test_hashes_and_keys();
    test_v2_rln(dev_dir);
    test_own_api(dev_dir);
    test_validator_two_threads();
    test_v09();
    printf("ffi C test: %d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
