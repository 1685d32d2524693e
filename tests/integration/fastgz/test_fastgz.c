/* test_fastgz.c — the cprof command's libdeflate gzip (src/cli/fastgz.c)
 * against zlib's cp_gunzip, which it must never contradict: cprof's own
 * members take the fast path and give the input bytes back; whatever the
 * fast path cannot vouch for (concatenated foreign members, a lying
 * trailer or size field, padding, corruption, truncation, bombs, the size
 * limit) it declines, and cp_cli_gunzip then answers exactly as cp_gunzip. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/fastgz.h"
#include "cprof.h"
#include "profile/profile.h"

#define MB (1u << 20)

/* pprof-like bytes: varints and repeated names, compressing 3-5x */
static unsigned char *pattern(size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n + 1);
    cr_assert(p);
    uint64_t s = seed * 2654435761u + 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        p[i] = (unsigned char)("main;alloc;parse\x08\x12\x1a\x01" [s % 20] + (i % 977 == 0));
    }
    return p;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int b = 0; b < 4; b++)
        p[b] = (unsigned char)(v >> (8 * b));
}

/* cp_cli_gunzip must answer as cp_gunzip: same code, same message, same bytes */
static void same_as_zlib(const cp_buf *z, size_t max_out, const char *what)
{
    cp_buf a = {0}, b = {0};
    cp_diag da = {{0}}, db = {{0}};
    int ra = cp_cli_gunzip(z->data, z->len, max_out, &a, &da);
    int rb = cp_gunzip(z->data, z->len, max_out, &b, &db);
    cr_assert_eq(ra, rb, "%s: %d vs zlib %d (%s / %s)", what, ra, rb, da.msg, db.msg);
    if (ra)
        cr_assert_str_eq(da.msg, db.msg, "%s", what);
    else
        cr_assert(a.len == b.len && !memcmp(a.data, b.data, a.len), "%s: bytes differ", what);
    cp_buf_free(&a);
    cp_buf_free(&b);
}

static void declines(const cp_buf *z, size_t max_out, const char *what)
{
    cp_buf o = {0};
    cp_buf_append(&o, "x", 1);
    cr_assert(!cp_cli_inflate_fast(z->data, z->len, max_out, &o), "%s: fast path took it", what);
    cr_assert_eq(o.len, 1, "%s: declined but changed the output", what);
    cp_buf_free(&o);
}

Test(fastgz, own_members_take_the_fast_path)
{
    size_t sizes[] = {0, 1, 100000, CP_CLI_GZ_MEMBER, CP_CLI_GZ_MEMBER + 1, 20 * MB + 12345};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        unsigned char *in = pattern(n, k);
        cp_buf z = {0}, back = {0};
        cr_assert_eq(cp_cli_gzip_fast(in, n, &z), 0);
        /* members, each naming its own size, tile the file */
        size_t members = 0, pos = 0;
        while (pos + 20 <= z.len && z.data[pos + 12] == 'C' && z.data[pos + 13] == 'P') {
            pos += le32(z.data + pos + 16);
            members++;
        }
        size_t want = n ? (n + CP_CLI_GZ_MEMBER - 1) / CP_CLI_GZ_MEMBER : 1;
        cr_assert_eq(pos, z.len, "%zu bytes: members do not tile the file", n);
        cr_assert_eq(members, want, "%zu bytes: %zu members, want %zu", n, members, want);
        cp_buf_append(&back, "x", 1);
        cr_assert(cp_cli_inflate_fast(z.data, z.len, 1u << 30, &back), "%zu: declined", n);
        cr_assert_eq(back.len, n + 1);
        cr_assert(n == 0 || !memcmp(back.data + 1, in, n), "%zu bytes differ", n);
        same_as_zlib(&z, 1u << 30, "own members");
        free(in);
        cp_buf_free(&z);
        cp_buf_free(&back);
    }
}

/* The compressed pieces reach a sink in order, one call at a time, as the
 * two threads finish them: what the sink got inflates to the pieces
 * concatenated (empty ones included), and equals cp_cli_gzip_pieces'
 * bytes.  A sink that fails stops the work: its error is returned and it
 * is not called again. */
typedef struct sunk {
    cp_buf got;
    int calls, fail_at;
} sunk;

static int sink(void *ctx, const void *data, size_t len)
{
    sunk *s = ctx;
    if (++s->calls == s->fail_at)
        return CPROF_EIO;
    cr_assert(s->fail_at == 0 || s->calls < s->fail_at, "called after failing");
    return cp_buf_append(&s->got, data, len);
}

static int piece(void *ctx, size_t k, cp_buf *out)
{
    const unsigned char *in = ctx;
    size_t off = k * k * 1000, len = k % 5 == 3 ? 0 : 1000 * (2 * k + 1);
    return cp_buf_append(out, in + off, len);
}

Test(fastgz, pieces_reach_the_sink_in_order)
{
    size_t n = 40, total = 40 * 40 * 1000;
    unsigned char *in = pattern(total, 7);
    cp_buf want = {0}, one = {0}, back = {0};
    for (size_t k = 0; k < n; k++)
        piece(in, k, &want);
    sunk s = {0};
    cr_assert_eq(cp_cli_gzip_to(n, piece, in, sink, &s), 0);
    cr_assert_gt(s.calls, 20);
    cr_assert_eq(cp_cli_gzip_pieces(n, piece, in, &one), 0);
    cr_assert(s.got.len == one.len && !memcmp(s.got.data, one.data, one.len));
    cr_assert(cp_cli_inflate_fast(s.got.data, s.got.len, 1u << 30, &back));
    cr_assert(back.len == want.len && !memcmp(back.data, want.data, want.len),
              "inflated %zu bytes, want %zu", back.len, want.len);
    sunk f = {.fail_at = 3};
    cr_assert_eq(cp_cli_gzip_to(n, piece, in, sink, &f), CPROF_EIO);
    cr_assert_eq(f.calls, 3);
    cp_buf_free(&s.got);
    cp_buf_free(&f.got);
    cp_buf_free(&want);
    cp_buf_free(&one);
    cp_buf_free(&back);
    free(in);
}

/* Bytes that do not compress (random): the deflater must still fit each
 * member in its bound and write what zlib reads back, barely larger. */
Test(fastgz, incompressible_bytes_round_trip)
{
    size_t n = CP_CLI_GZ_MEMBER + 3 * MB / 2;
    unsigned char *in = malloc(n);
    cr_assert(in);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        in[i] = (unsigned char)(s >> 32);
    }
    cp_buf z = {0}, back = {0};
    cp_diag d;
    cr_assert_eq(cp_cli_gzip_fast(in, n, &z), 0);
    cr_assert_lt(z.len, n + n / 100, "%zu bytes became %zu", n, z.len);
    cr_assert_eq(cp_gunzip(z.data, z.len, 1u << 30, &back, &d), 0, "%s", d.msg);
    cr_assert_eq(back.len, n);
    cr_assert(!memcmp(back.data, in, n));
    free(in);
    cp_buf_free(&z);
    cp_buf_free(&back);
}

Test(fastgz, concatenated_members_without_size_fall_back)
{
    unsigned char *a = pattern(3 * MB, 1), *b = pattern(100000, 2);
    cp_buf za = {0}, zb = {0}, own = {0};
    cr_assert_eq(cp_gzip(a, 3 * MB, 6, &za), 0);
    cr_assert_eq(cp_gzip(b, 100000, 6, &zb), 0);
    cr_assert_eq(cp_cli_gzip_fast(b, 100000, &own), 0);
    const cp_buf *pairs[][2] = {{&za, &zb}, {&zb, &za}, {&own, &za}, {&za, &own}};
    for (size_t i = 0; i < 4; i++) {
        cp_buf cat = {0}, out = {0};
        cp_buf_append(&cat, pairs[i][0]->data, pairs[i][0]->len);
        cp_buf_append(&cat, pairs[i][1]->data, pairs[i][1]->len);
        declines(&cat, 1u << 30, "cat a b");
        cp_diag d;
        cr_assert_eq(cp_cli_gunzip(cat.data, cat.len, 1u << 30, &out, &d), 0, "%zu: %s", i, d.msg);
        size_t la = pairs[i][0] == &za ? 3 * MB : 100000;
        cr_assert_eq(out.len, 3 * MB + 100000);
        cr_assert(!memcmp(out.data, la == 3 * MB ? a : b, la));
        cr_assert(!memcmp(out.data + la, la == 3 * MB ? b : a, out.len - la));
        cp_buf_free(&cat);
        cp_buf_free(&out);
    }
    /* cprof's members after cprof's members: still the fast path */
    cp_buf two = {0}, out = {0};
    cp_buf_append(&two, own.data, own.len);
    cp_buf_append(&two, own.data, own.len);
    cr_assert(cp_cli_inflate_fast(two.data, two.len, 1u << 30, &out));
    cr_assert(out.len == 200000 && !memcmp(out.data, b, 100000) &&
              !memcmp(out.data + 100000, b, 100000));
    free(a);
    free(b);
    cp_buf_free(&za);
    cp_buf_free(&zb);
    cp_buf_free(&own);
    cp_buf_free(&two);
    cp_buf_free(&out);
}

Test(fastgz, lying_trailer_or_size_field_falls_back)
{
    unsigned char *in = pattern(2 * MB, 3);
    cp_buf z = {0}, own = {0};
    cr_assert_eq(cp_gzip(in, 2 * MB, 6, &z), 0);
    cr_assert_eq(cp_cli_gzip_fast(in, 2 * MB, &own), 0);
    int deltas[] = {1, -1, 1 << 20, -(1 << 20)};
    for (size_t i = 0; i < 4; i++) {
        cp_buf bad = {0};
        cp_buf_append(&bad, z.data, z.len);
        put_le32(bad.data + bad.len - 4, le32(bad.data + bad.len - 4) + (uint32_t)deltas[i]);
        declines(&bad, 1u << 30, "ISIZE off");
        same_as_zlib(&bad, 1u << 30, "ISIZE off"); /* zlib: incorrect length check */
        cp_buf_free(&bad);
    }
    /* the size field is ours; zlib skips it, so the data still reads */
    uint32_t sizes[] = {27, (uint32_t)own.len - 1, (uint32_t)own.len + 1, 0xffffffffu};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        cp_buf bad = {0}, out = {0};
        cp_buf_append(&bad, own.data, own.len);
        put_le32(bad.data + 16, sizes[i]);
        declines(&bad, 1u << 30, "size field off");
        cp_diag d;
        cr_assert_eq(cp_cli_gunzip(bad.data, bad.len, 1u << 30, &out, &d), 0, "%s", d.msg);
        cr_assert(out.len == 2 * MB && !memcmp(out.data, in, out.len));
        cp_buf_free(&bad);
        cp_buf_free(&out);
    }
    free(in);
    cp_buf_free(&z);
    cp_buf_free(&own);
}

Test(fastgz, padding_corruption_truncation_as_zlib)
{
    unsigned char *in = pattern(12 * MB, 4);
    cp_buf own = {0}, one = {0};
    cr_assert_eq(cp_cli_gzip_fast(in, 12 * MB, &own), 0);
    cr_assert_eq(cp_gzip(in, 1 * MB, 6, &one), 0);
    const cp_buf *srcs[] = {&own, &one};
    for (size_t s = 0; s < 2; s++) {
        const cp_buf *src = srcs[s];
        cp_buf v = {0};
        /* zero padding, then garbage, after the last member */
        cp_buf_append(&v, src->data, src->len);
        cp_buf_append(&v, "\0\0\0\0", 4);
        same_as_zlib(&v, 1u << 30, "zero padding");
        cp_buf_append(&v, "junk", 4);
        declines(&v, 1u << 30, "garbage");
        same_as_zlib(&v, 1u << 30, "garbage");
        /* a flipped byte in the middle of the compressed data */
        v.len = src->len;
        v.data[src->len / 2] ^= 0x55;
        declines(&v, 1u << 30, "flipped");
        same_as_zlib(&v, 1u << 30, "flipped");
        v.data[src->len / 2] ^= 0x55;
        /* truncated anywhere */
        size_t cuts[] = {1, 10, 25, src->len / 3, src->len / 2, src->len - 8, src->len - 1};
        for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
            v.len = cuts[c];
            declines(&v, 1u << 30, "truncated");
            same_as_zlib(&v, 1u << 30, "truncated");
        }
        cp_buf_free(&v);
    }
    /* the size limit: the same error at the same limit */
    same_as_zlib(&own, 5 * MB, "over max_out");
    same_as_zlib(&own, 12 * MB, "exactly max_out");
    free(in);
    cp_buf_free(&own);
    cp_buf_free(&one);
}

Test(fastgz, bombs_refused_as_zlib_refuses_them)
{
    size_t n = 64 * MB;
    unsigned char *zeros = calloc(1, n);
    cr_assert(zeros);
    cp_buf z9 = {0}, own = {0};
    cr_assert_eq(cp_gzip(zeros, n, 9, &z9), 0);
    cr_assert_eq(cp_cli_gzip_fast(zeros, n, &own), 0);
    free(zeros);
    const cp_buf *bombs[] = {&z9, &own};
    for (size_t i = 0; i < 2; i++) {
        declines(bombs[i], 1u << 30, "bomb");
        same_as_zlib(bombs[i], 1u << 30, "bomb");
        cp_buf o = {0};
        cp_diag d;
        cr_assert_eq(cp_cli_gunzip(bombs[i]->data, bombs[i]->len, 1u << 30, &o, &d),
                     CPROF_ETOOBIG);
        cr_assert(strstr(d.msg, "refused as a gzip bomb") &&
                  strstr(d.msg, "over the limit of 100 times their size"), "%s", d.msg);
        cp_buf_free(&o);
    }
    /* a trailer forged to look like pprof (ratio 3): the fast path fills
     * the small buffer, stops, and zlib refuses as before */
    put_le32(z9.data + z9.len - 4, (uint32_t)(3 * z9.len));
    declines(&z9, 1u << 30, "forged bomb");
    same_as_zlib(&z9, 1u << 30, "forged bomb");
    cp_buf_free(&z9);
    cp_buf_free(&own);
}
