/* test_malformed.c — the decoder against hostile input.
 *
 * Every test feeds cp_profile_decode bytes that are wrong in one known way
 * and checks that it returns an error naming the problem (the exact message
 * for the cases a user is most likely to meet) — never a crash, a hang or
 * memory beyond the configured cap.  Inputs are generated here, from the
 * small cprof-built profile and from the Go oracle's real profiles, with a
 * fixed PRNG seed so every run checks the same bytes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "codec_util.h"
#include "cprof.h"
#include "pb/pb.h"
#include "profile/profile.h"

#define CAP (16u << 20)

static void load_go(const char *name, cp_buf *gz, cp_buf *raw)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cu_go_dir(), name);
    cr_assert_eq(cu_read(path, gz), 0, "cannot read %s (set CODEC_GO_DIR)", path);
    cp_diag d;
    cr_assert_eq(cp_gunzip(gz->data, gz->len, CAP, raw, &d), 0, "%s: %s", path, d.msg);
}

static void small_bytes(cp_buf *raw, cp_buf *gz)
{
    cp_profile *p = cu_small_profile();
    cr_assert_not_null(p);
    cr_assert_eq(cp_profile_encode(p, raw), 0);
    if (gz)
        cr_assert_eq(cp_profile_encode_gz(p, gz), 0);
    cp_profile_free(p);
}

/* Offsets where a top-level field starts (plus the end). */
static bool is_boundary(const cp_buf *raw, size_t cut)
{
    cp_pbr r;
    cp_pbfield f;
    cp_pbr_init(&r, raw->data, raw->len);
    if (cut == 0)
        return true;
    while (cp_pbr_next(&r, &f) == 1)
        if ((size_t)(r.p - r.start) == cut)
            return true;
    return false;
}

static void truncations(const cp_buf *raw, const cp_buf *gz, const char *what)
{
    char msg[512];
    size_t ok = 0;
    for (size_t n = 0; n < raw->len; n++) {
        int rc = cu_try_decode(raw->data, n, CAP, msg, sizeof msg);
        if (!is_boundary(raw, n))
            cr_assert_neq(rc, 0, "%s: raw cut at %zu inside a field decoded", what, n);
        if (rc)
            cr_assert(msg[0], "%s: raw cut at %zu: error without a message", what, n);
        ok += rc == 0;
    }
    /* a gzip stream ends with a CRC and a length: every cut must fail */
    for (size_t n = 2; n < gz->len; n++) {
        int rc = cu_try_decode(gz->data, n, CAP, msg, sizeof msg);
        cr_assert_eq(rc, CPROF_EFORMAT, "%s: gzip cut at %zu: rc %d", what, n, rc);
        cr_assert(strncmp(msg, "gzip: ", 6) == 0, "%s: gzip cut at %zu: %s", what, n, msg);
    }
    cr_log_info("%s: %zu raw cuts, %zu at field boundaries decoded; %zu gzip cuts failed",
                what, raw->len, ok, gz->len - 2);
}

Test(malformed, truncation_every_length)
{
    cp_buf raw = {0}, gz = {0};
    small_bytes(&raw, &gz);
    truncations(&raw, &gz, "cprof small");
    cp_buf graw = {0}, ggz = {0};
    load_go("cpu.pb.gz", &ggz, &graw);
    truncations(&graw, &ggz, "go cpu");
    /* exact message for the most common case: a download cut short */
    char msg[512];
    cr_assert_eq(cu_try_decode(ggz.data, 100, CAP, msg, sizeof msg), CPROF_EFORMAT);
    cr_assert_str_eq(msg, "gzip: truncated stream (100 bytes read)");
    cp_buf_free(&raw);
    cp_buf_free(&gz);
    cp_buf_free(&graw);
    cp_buf_free(&ggz);
}

static void bit_flips(const cp_buf *raw, const cp_buf *gz, const char *what)
{
    char msg[512];
    size_t raw_fail = 0;
    cp_buf m = {0};
    cr_assert_eq(cp_buf_append(&m, raw->data, raw->len), 0);
    for (size_t bit = 0; bit < raw->len * 8; bit++) {
        m.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = cu_try_decode(m.data, m.len, CAP, msg, sizeof msg);
        m.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (rc)
            cr_assert(msg[0], "%s: raw flip %zu: error without a message", what, bit);
        raw_fail += rc != 0;
    }
    m.len = 0;
    cr_assert_eq(cp_buf_append(&m, gz->data, gz->len), 0);
    /* Past the 10-byte header, CRC-32 and ISIZE catch every flip that
     * changes the content; the only flips that may pass are deflate's
     * padding bits, which decode to the very same bytes. */
    size_t harmless = 0;
    for (size_t bit = 0; bit < gz->len * 8; bit++) {
        m.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = cu_try_decode(m.data, m.len, CAP, msg, sizeof msg);
        if (rc == 0 && bit / 8 >= 10) {
            cp_buf out = {0};
            cp_diag d;
            cr_assert_eq(cp_gunzip(m.data, m.len, CAP, &out, &d), 0);
            cr_assert(out.len == raw->len && memcmp(out.data, raw->data, raw->len) == 0,
                      "%s: gzip flip of bit %zu changed the content unnoticed", what, bit);
            cp_buf_free(&out);
            harmless++;
        }
        m.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (rc)
            cr_assert(msg[0], "%s: gzip flip %zu: error without a message", what, bit);
    }
    cr_assert_lt(harmless, 8, "%s: only padding bits of one byte may pass", what);
    cr_log_info("%s: %zu raw bit flips, %zu rejected; %zu gzip flips, %zu in deflate padding",
                what, raw->len * 8, raw_fail, gz->len * 8, harmless);
    cp_buf_free(&m);
}

Test(malformed, every_single_bit_flip)
{
    cp_buf raw = {0}, gz = {0};
    small_bytes(&raw, &gz);
    bit_flips(&raw, &gz, "cprof small");
    const char *go[] = {"cpu.pb.gz", "goroutine.pb.gz", "mutex.pb.gz"};
    for (size_t i = 0; i < sizeof go / sizeof *go; i++) {
        cp_buf graw = {0}, ggz = {0};
        load_go(go[i], &ggz, &graw);
        bit_flips(&graw, &ggz, go[i]);
        cp_buf_free(&graw);
        cp_buf_free(&ggz);
    }
    cp_buf_free(&raw);
    cp_buf_free(&gz);
}

Test(malformed, random_bytes)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint8_t buf[600];
    char msg[512];
    size_t ok = 0;
    for (int i = 0; i < 30000; i++) {
        size_t n = cu_rand(&seed) % 512;
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)cu_rand(&seed);
        if (i % 3 == 1 && n >= 2) { /* half-valid gzip header, garbage body */
            buf[0] = 0x1f;
            buf[1] = 0x8b;
        }
        int rc = cu_try_decode(buf, n, CAP, msg, sizeof msg);
        if (rc)
            cr_assert(msg[0], "random input %d: error without a message", i);
        ok += rc == 0;
    }
    cr_log_info("random bytes: %zu of 30000 inputs decoded", ok);
}

/* Random but well-formed wire data: fields of the profile message with
 * small random values and nested messages, so the decoder's semantic checks
 * (ids, string indices, value counts) run instead of the wire parser's. */
static void random_message(cp_buf *b, uint64_t *seed, int depth)
{
    int nfields = (int)(cu_rand(seed) % 6);
    for (int i = 0; i < nfields; i++) {
        uint32_t num = 1 + (uint32_t)(cu_rand(seed) % 14);
        if (depth < 2 && cu_rand(seed) % 3 == 0) {
            size_t mark;
            cp_pbw_begin(b, num, &mark);
            random_message(b, seed, depth + 1);
            cp_pbw_end(b, mark);
        } else if (cu_rand(seed) % 4 == 0) {
            uint64_t v[4];
            for (int k = 0; k < 4; k++)
                v[k] = cu_rand(seed) % 5;
            cp_pbw_packed_u64(b, num, v, 1 + cu_rand(seed) % 4);
        } else {
            cu_varint_field(b, num, cu_rand(seed) % 6);
        }
    }
}

Test(malformed, random_well_formed_fields)
{
    uint64_t seed = 42;
    char msg[512];
    size_t ok = 0;
    cp_buf b = {0};
    for (int i = 0; i < 30000; i++) {
        b.len = 0;
        cu_string(&b, "");
        cu_string(&b, "x");
        random_message(&b, &seed, 0);
        int rc = cu_try_decode(b.data, b.len, CAP, msg, sizeof msg);
        if (rc)
            cr_assert(msg[0], "input %d: error without a message", i);
        ok += rc == 0;
    }
    cr_log_info("random well-formed fields: %zu of 30000 decoded", ok);
    cr_assert_gt(ok, 100, "the generator should produce some valid profiles");
    cp_buf_free(&b);
}
