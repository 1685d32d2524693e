/* test_pb.c — protobuf wire format: exact bytes and hostile input. */
#include <criterion/criterion.h>
#include <string.h>

#include "cprof.h"
#include "pb/pb.h"

Test(pb, varint_bytes)
{
    cp_buf b = {0};
    cp_pbw_varint(&b, 300);
    cr_assert_eq(b.len, 2);
    cr_assert_eq(b.data[0], 0xac);
    cr_assert_eq(b.data[1], 0x02);
    b.len = 0;
    cp_pbw_varint(&b, UINT64_MAX);
    cr_assert_eq(b.len, 10);
    const uint8_t *p = b.data;
    uint64_t v;
    cr_assert_eq(cp_pb_varint(&p, b.data + b.len, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cp_buf_free(&b);
}

/* The one-store writer gives the loop's bytes and length for every
 * length (each side of 2^7, 2^14, 2^21, 2^28, and longer), and writes
 * nothing past its 4 bytes of room. */
Test(pb, varint_one_store_as_the_loop)
{
    uint64_t vs[200];
    size_t n = 0;
    for (int b = 0; b < 64; b += 7) {
        uint64_t p = UINT64_C(1) << b;
        vs[n++] = p;
        vs[n++] = p - 1;
        vs[n++] = p + 1;
        vs[n++] = (p << 1) - 1;
    }
    vs[n++] = UINT64_MAX;
    uint64_t x = 88172645463325252ULL;
    while (n < sizeof vs / sizeof vs[0]) { /* xorshift, then a random length */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        vs[n++] = x >> (x % 64);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t a[16], b[16];
        memset(a, 0xAA, sizeof a);
        memset(b, 0xAA, sizeof b);
        size_t la = (size_t)(cp_pb_put_varint(a, vs[i]) - a);
        size_t lb = (size_t)(cp_pb_put_varint_r4(b, vs[i]) - b);
        cr_assert_eq(lb, la, "value %llu: length", (unsigned long long)vs[i]);
        cr_assert_eq(la, cp_pb_varint_len(vs[i]));
        cr_assert(!memcmp(a, b, la), "value %llu: bytes", (unsigned long long)vs[i]);
        size_t room = la > 4 ? la : 4;
        for (size_t k = room; k < sizeof b; k++)
            cr_assert_eq(b[k], 0xAA, "value %llu: byte %zu past the room", (unsigned long long)vs[i], k);
    }
}

Test(pb, varint_rejects_overlong_and_truncated)
{
    uint8_t over[11];
    memset(over, 0xff, sizeof over);
    const uint8_t *p = over;
    uint64_t v;
    cr_assert_eq(cp_pb_varint(&p, over + 11, &v), CPROF_EFORMAT);
    uint8_t trunc[] = {0x80, 0x80};
    p = trunc;
    cr_assert_eq(cp_pb_varint(&p, trunc + 2, &v), CPROF_EFORMAT);
}

Test(pb, nested_message_length_is_shifted)
{
    cp_buf b = {0};
    size_t mark;
    cr_assert_eq(cp_pbw_begin(&b, 2, &mark), 0);
    cp_pbw_u64(&b, 1, 150);
    cr_assert_eq(cp_pbw_end(&b, mark), 0);
    const uint8_t want[] = {0x12, 0x03, 0x08, 0x96, 0x01};
    cr_assert_eq(b.len, sizeof want);
    cr_assert_eq(memcmp(b.data, want, sizeof want), 0);
    cp_buf_free(&b);
}

Test(pb, packed_and_reader)
{
    cp_buf b = {0};
    uint64_t vals[] = {1, 2, 300};
    cp_pbw_packed_u64(&b, 1, vals, 3);
    const uint8_t want[] = {0x0a, 0x04, 0x01, 0x02, 0xac, 0x02};
    cr_assert_eq(b.len, sizeof want);
    cr_assert_eq(memcmp(b.data, want, sizeof want), 0);
    cp_pbr r;
    cp_pbfield f;
    cp_pbr_init(&r, b.data, b.len);
    cr_assert_eq(cp_pbr_next(&r, &f), 1);
    cr_assert_eq(f.num, 1);
    cr_assert_eq(f.wire, PB_LEN);
    cr_assert_eq(cp_pb_count_packed(&f), 3);
    cr_assert_eq(cp_pbr_next(&r, &f), 0);
    cp_buf_free(&b);
}

Test(pb, length_past_end_is_an_error)
{
    const uint8_t bad[] = {0x0a, 0x05, 0x01};
    cp_pbr r;
    cp_pbfield f;
    cp_pbr_init(&r, bad, sizeof bad);
    cr_assert_eq(cp_pbr_next(&r, &f), CPROF_EFORMAT);
    cr_assert_not_null(r.err);
    const uint8_t group[] = {0x0b};
    cp_pbr_init(&r, group, 1);
    cr_assert_eq(cp_pbr_next(&r, &f), CPROF_EFORMAT);
    const uint8_t zero_field[] = {0x00, 0x01};
    cp_pbr_init(&r, zero_field, 2);
    cr_assert_eq(cp_pbr_next(&r, &f), CPROF_EFORMAT);
}

/* The inline reader (cp_pbr_next) and the general one (cp_pbr_next_slow)
 * read every input alike: fields, errors and where they stop.  Inputs are
 * fields of every shape: one- and two-byte tags, varints of 1-11 bytes
 * (the tenth byte 0-3: valid or overflowing), lengths written in 1-3
 * bytes (padded encodings too) that fit or overrun, other wire types;
 * each input cut at every length. */
static uint64_t xs(uint64_t *st)
{
    *st ^= *st << 13, *st ^= *st >> 7, *st ^= *st << 17;
    return *st;
}

static size_t put_varint(uint8_t *b, uint64_t v, unsigned pad)
{
    size_t n = 0;
    while (v >= 0x80 || pad > 1) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
        pad -= pad > 1;
    }
    b[n++] = (uint8_t)v;
    return n;
}

Test(pb, inline_reader_agrees_with_the_general_one)
{
    uint64_t st = 88172645463325252ull;
    uint8_t buf[96];
    size_t fields = 0, errors = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        while (n < 64) {
            uint64_t r = xs(&st);
            unsigned w = r % 10 < 4 ? PB_VARINT : r % 10 < 8 ? PB_LEN : (unsigned[]){1, 3, 5, 6}[r % 4];
            n += put_varint(buf + n, ((1 + (r >> 8) % 20) << 3) | w, 1);
            if (w == PB_VARINT) {
                unsigned vlen = 1 + (r >> 16) % 11;
                for (unsigned k = 0; k + 1 < vlen; k++)
                    buf[n++] = (uint8_t)(0x80 | (xs(&st) & 0x7f));
                buf[n++] = (uint8_t)(vlen == 10 ? (r >> 24) % 4 : (r >> 24) & 0x7f);
            } else if (w == PB_LEN) {
                uint64_t len = (r >> 16) % 8;
                n += put_varint(buf + n, len, 1 + (r >> 24) % 3);
                for (uint64_t k = 0; k < len && n < sizeof buf; k++)
                    buf[n++] = (uint8_t)xs(&st);
            } else {
                buf[n++] = (uint8_t)(r >> 32);
            }
        }
        for (size_t cut = 0; cut <= n; cut++) {
            cp_pbr a, b;
            cp_pbfield fa, fb;
            cp_pbr_init(&a, buf, cut);
            cp_pbr_init(&b, buf, cut);
            for (;;) {
                memset(&fa, 0, sizeof fa);
                memset(&fb, 0, sizeof fb);
                int ra = cp_pbr_next(&a, &fa);
                int rb = b.p >= b.end ? 0 : cp_pbr_next_slow(&b, &fb);
                cr_assert_eq(ra, rb, "iter %d cut %zu", iter, cut);
                cr_assert_eq(a.p, b.p);
                if (ra != 1) {
                    cr_assert_eq(a.err, b.err);
                    errors += ra < 0;
                    break;
                }
                fields++;
                cr_assert_eq(fa.num, fb.num);
                cr_assert_eq(fa.wire, fb.wire);
                cr_assert_eq(fa.offset, fb.offset);
                if (fa.wire == PB_LEN) {
                    cr_assert_eq(fa.data, fb.data);
                    cr_assert_eq(fa.len, fb.len);
                } else {
                    cr_assert_eq(fa.u, fb.u, "iter %d cut %zu", iter, cut);
                }
            }
        }
    }
    cr_assert_gt(fields, 100000);
    cr_assert_gt(errors, 10000);
}
