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
