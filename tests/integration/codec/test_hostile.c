/* test_hostile.c — hand-made profiles that are wrong in one named way.
 *
 * Each case is built with the protobuf writer so the defect is exact, and
 * the test asserts the decoder's exact message: these are the sentences a
 * user sees (prefixed with the file name), so their wording is part of the
 * contract.  Also: gzip bombs, multi-member gzip, huge length prefixes,
 * very deep stacks, and the peak memory a bomb can cost.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "codec_util.h"
#include "cprof.h"
#include "pb/pb.h"
#include "profile/profile.h"

#define CAP (16u << 20)

/* strings: 0 "", 1 "samples", 2 "count", 3 "main" */
static void strings(cp_buf *b)
{
    cu_string(b, "");
    cu_string(b, "samples");
    cu_string(b, "count");
    cu_string(b, "main");
}

static void sample_type(cp_buf *b, uint64_t type, uint64_t unit)
{
    size_t m;
    cp_pbw_begin(b, 1, &m);
    cu_varint_field(b, 1, type);
    cu_varint_field(b, 2, unit);
    cp_pbw_end(b, m);
}

static void function(cp_buf *b, uint64_t id, uint64_t name)
{
    size_t m;
    cp_pbw_begin(b, 5, &m);
    cu_varint_field(b, 1, id);
    cu_varint_field(b, 2, name);
    cp_pbw_end(b, m);
}

static void mapping(cp_buf *b, uint64_t id, uint64_t filename)
{
    size_t m;
    cp_pbw_begin(b, 3, &m);
    cu_varint_field(b, 1, id);
    cu_varint_field(b, 2, 0x1000);
    cu_varint_field(b, 3, 0x2000);
    cu_varint_field(b, 5, filename);
    cp_pbw_end(b, m);
}

static void location(cp_buf *b, uint64_t id, uint64_t mapping_id, uint64_t func_id)
{
    size_t m, l;
    cp_pbw_begin(b, 4, &m);
    cu_varint_field(b, 1, id);
    if (mapping_id)
        cu_varint_field(b, 2, mapping_id);
    cp_pbw_begin(b, 4, &l);
    cu_varint_field(b, 1, func_id);
    cu_varint_field(b, 2, 7);
    cp_pbw_end(b, l);
    cp_pbw_end(b, m);
}

static void sample(cp_buf *b, const uint64_t *locs, size_t nlocs, const int64_t *vals, size_t nv)
{
    size_t m;
    cp_pbw_begin(b, 2, &m);
    cp_pbw_packed_u64(b, 1, locs, nlocs);
    cp_pbw_packed_i64(b, 2, vals, nv);
    cp_pbw_end(b, m);
}

/* A valid one-sample profile with the given ids. */
static void valid(cp_buf *b, uint64_t fid, uint64_t lid, uint64_t mid)
{
    strings(b);
    sample_type(b, 1, 2);
    mapping(b, mid, 3);
    function(b, fid, 3);
    location(b, lid, mid, fid);
    int64_t v = 5;
    sample(b, &lid, 1, &v, 1);
}

static void expect(const cp_buf *b, int want_rc, const char *want_msg)
{
    char msg[512];
    int rc = cu_try_decode(b->data, b->len, CAP, msg, sizeof msg);
    cr_assert_eq(rc, want_rc, "rc %d (%s), want %d", rc, msg, want_rc);
    if (want_msg)
        cr_assert_str_eq(msg, want_msg);
}

Test(hostile, valid_baseline_decodes)
{
    cp_buf b = {0};
    valid(&b, 1, 1, 1);
    cp_profile *p = NULL;
    cp_diag d;
    cr_assert_eq(cp_profile_decode(b.data, b.len, NULL, &p, &d), 0, "%s", d.msg);
    cr_assert_eq(p->nsamples, 1);
    cr_assert_eq(p->samples[0].values[0], 5);
    cr_assert_str_eq(cp_str(p, p->functions[p->locations[p->samples[0].locs[0]].lines[0].func].name),
                     "main");
    cp_profile_free(p);
    /* ids too sparse for the dense index go through the hash map */
    b.len = 0;
    valid(&b, 1ull << 40, 1ull << 41, 1ull << 42);
    expect(&b, 0, NULL);
    cp_buf_free(&b);
}

Test(hostile, dangling_ids)
{
    cp_buf b = {0};
    strings(&b);
    sample_type(&b, 1, 2);
    function(&b, 1, 3);
    location(&b, 1, 0, 1);
    uint64_t l = 99;
    int64_t v = 1;
    sample(&b, &l, 1, &v, 1);
    expect(&b, CPROF_EFORMAT, "sample 0: location id 99 not defined");

    b.len = 0;
    strings(&b);
    function(&b, 1, 3);
    location(&b, 1, 0, 7);
    expect(&b, CPROF_EFORMAT, "location 0 (id 1): function id 7 not defined");

    b.len = 0;
    strings(&b);
    function(&b, 1, 3);
    location(&b, 1, 3, 1);
    expect(&b, CPROF_EFORMAT, "location 0 (id 1): mapping id 3 not defined");

    /* the same through the sparse (hash map) index */
    b.len = 0;
    strings(&b);
    sample_type(&b, 1, 2);
    function(&b, 1ull << 50, 3);
    location(&b, 1ull << 51, 0, 1ull << 50);
    l = (1ull << 51) + 1;
    sample(&b, &l, 1, &v, 1);
    expect(&b, CPROF_EFORMAT, "sample 0: location id 2251799813685249 not defined");
    cp_buf_free(&b);
}

Test(hostile, duplicate_and_reserved_ids)
{
    cp_buf b = {0};
    strings(&b);
    function(&b, 1, 3);
    function(&b, 1, 3);
    expect(&b, CPROF_EFORMAT, "function 1: duplicate id 1");

    b.len = 0;
    strings(&b);
    function(&b, 1, 3);
    location(&b, 1ull << 40, 0, 1);
    location(&b, 1ull << 40, 0, 1);
    expect(&b, CPROF_EFORMAT, "location 1: duplicate id 1099511627776");

    b.len = 0;
    strings(&b);
    mapping(&b, 5, 3);
    mapping(&b, 5, 3);
    expect(&b, CPROF_EFORMAT, "mapping 1: duplicate id 5");

    b.len = 0;
    strings(&b);
    function(&b, 0, 3);
    expect(&b, CPROF_EFORMAT, "function 0: id 0 is reserved");
    cp_buf_free(&b);
}

Test(hostile, string_indices)
{
    cp_buf b = {0};
    strings(&b);
    function(&b, 1, 50);
    expect(&b, CPROF_EFORMAT, "function 0: string index 50 out of range (table has 4 strings)");

    b.len = 0;
    strings(&b);
    function(&b, 1, UINT64_MAX); /* -1 as int64 */
    expect(&b, CPROF_EFORMAT, "function 0: string index -1 out of range (table has 4 strings)");

    b.len = 0;
    strings(&b);
    sample_type(&b, 1, 9);
    expect(&b, CPROF_EFORMAT, "sample_type 0: string index 9 out of range (table has 4 strings)");

    b.len = 0;
    strings(&b);
    mapping(&b, 1, 4);
    expect(&b, CPROF_EFORMAT, "mapping 0: string index 4 out of range (table has 4 strings)");

    b.len = 0;
    cu_string(&b, "x");
    expect(&b, CPROF_EFORMAT, "string table: entry 0 must be the empty string, is \"x\"");

    /* a label whose value index is out of range */
    b.len = 0;
    strings(&b);
    sample_type(&b, 1, 2);
    size_t m, lm;
    cp_pbw_begin(&b, 2, &m);
    cu_varint_field(&b, 2, 1);
    cp_pbw_begin(&b, 3, &lm);
    cu_varint_field(&b, 1, 3);
    cu_varint_field(&b, 2, 77);
    cp_pbw_end(&b, lm);
    cp_pbw_end(&b, m);
    expect(&b, CPROF_EFORMAT,
           "sample label in sample 0: string index 77 out of range (table has 4 strings)");

    /* top-level string references */
    b.len = 0;
    strings(&b);
    cu_varint_field(&b, 14, 40);
    expect(&b, CPROF_EFORMAT,
           "default_sample_type 0: string index 40 out of range (table has 4 strings)");
    cp_buf_free(&b);
}

/* A scalar field sent with another wire type is refused, not read as
 * whatever value the previous field left behind. */
Test(hostile, scalar_with_wrong_wire_type)
{
    cp_buf b = {0};
    strings(&b);
    size_t at = b.len;
    cp_pbw_bytes(&b, 9, "\x01\x02", 2); /* time_nanos as bytes */
    char want[128];
    snprintf(want, sizeof want, "offset %zu: field 9 has wire type 2, want varint", at);
    expect(&b, CPROF_EFORMAT, want);

    b.len = 0;
    cp_pbw_tag(&b, 14, PB_I64); /* default_sample_type as fixed64 */
    cp_buf_append(&b, "\0\0\0\0\0\0\0\0", 8);
    expect(&b, CPROF_EFORMAT, "offset 0: field 14 has wire type 1, want varint");
    cp_buf_free(&b);
}

Test(hostile, value_count_mismatch)
{
    cp_buf b = {0};
    strings(&b);
    sample_type(&b, 1, 2);
    sample_type(&b, 3, 2);
    int64_t v = 1;
    sample(&b, NULL, 0, &v, 1);
    expect(&b, CPROF_EFORMAT, "sample 0: has 1 values, profile has 2 sample types");
    cp_buf_free(&b);
}

Test(hostile, huge_and_overlong_length_prefixes)
{
    cp_buf b = {0};
    /* a sample claiming 2^62 bytes */
    cp_pbw_tag(&b, 2, PB_LEN);
    cp_pbw_varint(&b, 1ull << 62);
    cp_buf_append(&b, "\x08\x01", 2);
    /* the offset is where the reader stopped: after the tag and length */
    expect(&b, CPROF_EFORMAT, "offset 10: profile: length runs past the end of the message");

    /* the largest varint: 2^64-1 */
    b.len = 0;
    strings(&b);
    size_t at = b.len;
    cp_pbw_tag(&b, 6, PB_LEN);
    cp_pbw_varint(&b, UINT64_MAX);
    char want[128];
    snprintf(want, sizeof want, "offset %zu: profile: length runs past the end of the message",
             at + 11);
    expect(&b, CPROF_EFORMAT, want);

    /* an 11-byte varint can never be valid */
    b.len = 0;
    cp_pbw_tag(&b, 2, PB_LEN);
    for (int i = 0; i < 11; i++)
        cp_buf_putc(&b, 0xff);
    cp_buf_putc(&b, 0x01);
    expect(&b, CPROF_EFORMAT, "offset 1: profile: truncated length");

    /* a nested label whose own length runs past its sample */
    b.len = 0;
    strings(&b);
    sample_type(&b, 1, 2);
    cp_pbw_tag(&b, 2, PB_LEN);
    cp_pbw_varint(&b, 4);
    cp_buf_append(&b, "\x1a\x7f\x08\x01", 4); /* label claims 127 bytes, has 2 */
    expect(&b, CPROF_EFORMAT, "sample 0: length runs past the end of the message");

    /* a packed value array whose last varint is cut */
    b.len = 0;
    strings(&b);
    sample_type(&b, 1, 2);
    cp_pbw_tag(&b, 2, PB_LEN);
    cp_pbw_varint(&b, 4);
    cp_buf_append(&b, "\x12\x02\x05\x80", 4);
    expect(&b, CPROF_EFORMAT, NULL);

    /* groups are not part of proto3 */
    b.len = 0;
    cp_pbw_tag(&b, 2, 3);
    expect(&b, CPROF_EFORMAT, "offset 1: profile: unsupported wire type (groups or reserved)");
    cp_buf_free(&b);
}

Test(hostile, deep_stacks_and_many_lines)
{
    enum { DEPTH = 200000, LINES = 5000 };
    cp_buf b = {0};
    strings(&b);
    sample_type(&b, 1, 2);
    function(&b, 1, 3);
    /* one location with 5000 inline lines */
    size_t m, l;
    cp_pbw_begin(&b, 4, &m);
    cu_varint_field(&b, 1, 1);
    for (int i = 0; i < LINES; i++) {
        cp_pbw_begin(&b, 4, &l);
        cu_varint_field(&b, 1, 1);
        cu_varint_field(&b, 2, (uint64_t)i + 1);
        cp_pbw_end(&b, l);
    }
    cp_pbw_end(&b, m);
    uint64_t *locs = malloc(DEPTH * sizeof *locs);
    cr_assert_not_null(locs);
    for (int i = 0; i < DEPTH; i++)
        locs[i] = 1;
    int64_t v = 3;
    sample(&b, locs, DEPTH, &v, 1);
    free(locs);
    cp_profile *p = NULL;
    cp_diag d;
    cr_assert_eq(cp_profile_decode(b.data, b.len, NULL, &p, &d), 0, "%s", d.msg);
    cr_assert_eq(p->samples[0].nlocs, DEPTH);
    cr_assert_eq(p->locations[0].nlines, LINES);
    cr_assert_eq(p->locations[0].lines[LINES - 1].line, LINES);
    cp_profile_free(p);
    cp_buf_free(&b);
}

static void gzip_members(const cp_buf *raw, size_t parts, cp_buf *out)
{
    size_t step = raw->len / parts + 1;
    for (size_t off = 0; off < raw->len; off += step) {
        size_t n = raw->len - off < step ? raw->len - off : step;
        cr_assert_eq(cp_gzip(raw->data + off, n, 6, out), 0);
    }
}

Test(hostile, multi_member_gzip)
{
    cp_profile *p = cu_small_profile();
    cp_buf raw = {0}, gz = {0};
    cr_assert_eq(cp_profile_encode(p, &raw), 0);
    gzip_members(&raw, 3, &gz);
    cp_profile *q = NULL;
    cp_diag d;
    cr_assert_eq(cp_profile_decode(gz.data, gz.len, NULL, &q, &d), 0, "%s", d.msg);
    const char *diff = cu_profile_diff(p, q);
    cr_assert_null(diff, "3-member gzip decodes differently: %s", diff);
    cp_profile_free(q);

    /* zero padding after the last member is tolerated (tape-style blocks) */
    size_t end = gz.len;
    for (int i = 0; i < 64; i++)
        cp_buf_putc(&gz, 0);
    expect(&gz, 0, NULL);

    /* anything else after a member is an error that says where */
    gz.len = end;
    cp_buf_append(&gz, "junk", 4);
    char want[128];
    snprintf(want, sizeof want, "gzip: trailing garbage after member at offset %zu", end);
    expect(&gz, CPROF_EFORMAT, want);
    cp_profile_free(p);
    cp_buf_free(&raw);
    cp_buf_free(&gz);
}

/* n gzip members of 1 MiB of zeros each (~1 KiB of input per member), made
 * from a small buffer so building the bomb leaves the peak RSS low. */
static void bomb(cp_buf *out, int members)
{
    size_t n = 1u << 20;
    uint8_t *zeros = calloc(1, n);
    cr_assert_not_null(zeros);
    cp_buf one = {0};
    cr_assert_eq(cp_gzip(zeros, n, 9, &one), 0);
    free(zeros);
    for (int i = 0; i < members; i++)
        cr_assert_eq(cp_buf_append(out, one.data, one.len), 0);
    cp_buf_free(&one);
}

static long peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* The decoder's answer to a bomb: refused after one window, whatever the
 * cap, with the bomb message; the peak RSS grows by a few windows at most. */
static void expect_bomb(const cp_buf *b, size_t cap, const char *what)
{
    long before = peak_rss_mib();
    cp_profile *p = NULL;
    cp_diag d;
    cp_decode_opts o = {.max_decompressed = cap};
    int rc = cp_profile_decode(b->data, b->len, &o, &p, &d);
    long grew = peak_rss_mib() - before;
    cr_assert_eq(rc, CPROF_ETOOBIG, "%s: rc %d (%s)", what, rc, rc ? d.msg : "");
    cr_assert(strstr(d.msg, "gzip: refused as a gzip bomb: ") == d.msg, "%s: %s", what, d.msg);
    cr_assert(strstr(d.msg, "over the limit of 100 times their size"), "%s: %s", what, d.msg);
    cr_log_info("%s (%zu bytes): %s; peak RSS grew %ld MiB", what, b->len, d.msg, grew);
    cr_assert_lt(grew, 96, "%s cost %ld MiB", what, grew);
}

/* 4 GiB of zeros in ~4 MB, as 4096 members and as one member */
Test(hostile, gzip_bomb_zeros)
{
    cp_buf b = {0};
    bomb(&b, 4096);
    expect_bomb(&b, 0, "4 GiB of zeros in 4096 members");
    cp_buf_free(&b);
    cr_assert_eq(cu_gzip_bomb(&b, NULL, 0, 4096), 0);
    expect_bomb(&b, 0, "4 GiB of zeros in one member");
    cp_buf_free(&b);
}

/* a valid profile, then a string table entry claiming 3 GiB (and 1000
 * MiB, within the cap) whose bytes are zeros; the second behind 24 MiB of
 * valid strings (three windows that are no bomb) */
Test(hostile, gzip_bomb_profile_shaped)
{
    uint64_t claims[] = {3ull << 30, 1000ull << 20};
    for (size_t i = 0; i < 2; i++) {
        cp_buf pre = {0}, b = {0};
        cr_assert_eq(cu_bomb_profile_prefix(&pre, claims[i], i ? 24u << 20 : 0), 0);
        cr_assert_eq(cu_gzip_bomb(&b, pre.data, pre.len, (size_t)(claims[i] >> 20)), 0);
        expect_bomb(&b, 0, i ? "profile of 24 MiB with a 1000 MiB string"
                             : "profile with a 3 GiB string");
        cp_buf_free(&pre);
        cp_buf_free(&b);
    }
}

/* Data that compresses like a profile (~4x) is not a bomb: it decodes up
 * to the cap, and past the cap is refused with the cap's message. */
Test(hostile, gzip_cap_without_bomb)
{
    uint64_t st = 7;
    size_t n = CAP + (1u << 20);
    uint8_t *raw = malloc(n);
    cr_assert_not_null(raw);
    for (size_t i = 0; i < n; i++)
        raw[i] = (uint8_t)"abcd"[cu_rand(&st) >> 62];
    cp_buf gz = {0};
    cr_assert_eq(cp_gzip(raw, n, 1, &gz), 0);
    free(raw);
    cr_assert_gt(gz.len, n / CP_GZ_MAX_RATIO);
    expect(&gz, CPROF_ETOOBIG, "gzip: decompressed size exceeds the limit of 16777216 bytes");
    cp_buf_free(&gz);
}

/* The file-level wrapper prefixes messages with the path. */
Test(hostile, read_file_names_the_file)
{
    char dir[] = "/tmp/cprof-codec-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/bad.pb", dir);
    cp_buf b = {0};
    strings(&b);
    sample_type(&b, 1, 2);
    uint64_t l = 99;
    int64_t v = 1;
    sample(&b, &l, 1, &v, 1);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite(b.data, 1, b.len, f);
    fclose(f);
    cp_profile *p = NULL;
    cp_diag d;
    char want[512];
    cr_assert_eq(cp_profile_read_file(path, &p, &d), CPROF_EFORMAT);
    snprintf(want, sizeof want, "%s: sample 0: location id 99 not defined", path);
    cr_assert_str_eq(d.msg, want);
    unlink(path);
    cr_assert_eq(cp_profile_read_file(path, &p, &d), CPROF_EIO);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    cr_assert_str_eq(d.msg, want);
    f = fopen(path, "wb");
    fclose(f);
    cr_assert_eq(cp_profile_read_file(path, &p, &d), CPROF_EFORMAT);
    snprintf(want, sizeof want, "%s: empty file", path);
    cr_assert_str_eq(d.msg, want);
    unlink(path);
    rmdir(dir);
    cp_buf_free(&b);
}
