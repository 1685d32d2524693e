/* test_profile.c — builder, encoder and decoder agree; hostile input is named. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cprof.h"
#include "pb/pb.h"
#include "profile/builder.h"
#include "profile/profile.h"

static cp_profile *small_profile(void)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_pbuilder_sample_type(b, "cpu", "nanoseconds");
    cp_pbuilder_period(b, "cpu", "nanoseconds", 10000000);
    cp_pbuilder_times(b, 1700000000000000000LL, 2000000000LL);
    cp_pbuilder_comment(b, "made by a test");
    uint64_t m = cp_pbuilder_mapping(b, 0x400000, 0x500000, 0, "/bin/prog", "abcd", true, true,
                                     true, false);
    uint64_t fmain = cp_pbuilder_function(b, "main", "main", "prog.c", 10);
    uint64_t ffoo = cp_pbuilder_function(b, "foo", "_Z3foov", "prog.c", 3);
    cp_line_in l1[] = {{ffoo, 5, 0}};
    cp_line_in l2[] = {{fmain, 12, 0}};
    uint64_t lfoo = cp_pbuilder_location(b, m, 0x401000, l1, 1, false);
    uint64_t lmain = cp_pbuilder_location(b, m, 0x402000, l2, 1, false);
    cr_assert_eq(cp_pbuilder_location(b, m, 0x401000, l1, 1, false), lfoo, "dedup");
    uint64_t st1[] = {lfoo, lmain}, st2[] = {lmain};
    int64_t v1[] = {1, 10000000}, v2[] = {3, 30000000};
    cp_label_in lab[] = {{"request", "GET /", 0, NULL}, {"bytes", NULL, 512, "bytes"}};
    cr_assert_eq(cp_pbuilder_sample(b, st1, 2, v1, lab, 2), 0);
    cr_assert_eq(cp_pbuilder_sample(b, st1, 2, v1, lab, 2), 0);
    cr_assert_eq(cp_pbuilder_sample(b, st2, 1, v2, NULL, 0), 0);
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    cr_assert_not_null(p);
    return p;
}

Test(profile, builder_merges_samples)
{
    cp_profile *p = small_profile();
    cr_assert_eq(p->nsamples, 2);
    cr_assert_eq(p->samples[0].values[0], 2);
    cr_assert_eq(p->samples[0].values[1], 20000000);
    cr_assert_eq(p->nlocations, 2);
    cr_assert_eq(p->nfunctions, 2);
    cr_assert_str_eq(cp_str(p, p->functions[1].system_name), "_Z3foov");
    cp_profile_free(p);
}

Test(profile, roundtrip_raw_and_gzip_bytes_stable)
{
    cp_profile *p = small_profile();
    cp_buf raw = {0}, gz = {0}, raw2 = {0};
    cr_assert_eq(cp_profile_encode(p, &raw), 0);
    cr_assert_eq(cp_profile_encode_gz(p, &gz), 0);
    cr_assert(cp_is_gzip(gz.data, gz.len));
    cp_profile *q = NULL;
    cp_diag d = {{0}};
    cr_assert_eq(cp_profile_decode(gz.data, gz.len, NULL, &q, &d), 0, "%s", d.msg);
    cr_assert_eq(cp_profile_encode(q, &raw2), 0);
    cr_assert_eq(raw.len, raw2.len);
    cr_assert_eq(memcmp(raw.data, raw2.data, raw.len), 0, "decode∘encode is the identity");
    cr_assert_eq(q->nsamples, 2);
    cr_assert_eq(q->samples[0].nlabels, 2);
    cr_assert_str_eq(cp_str(q, q->samples[0].labels[0].key), "request");
    cr_assert_str_eq(cp_str(q, q->samples[0].labels[0].str), "GET /");
    cr_assert_eq(q->samples[0].labels[1].num, 512);
    cr_assert_str_eq(cp_str(q, q->samples[0].labels[1].num_unit), "bytes");
    cr_assert_eq(q->period, 10000000);
    cr_assert_eq(q->duration_nanos, 2000000000LL);
    cr_assert_eq(q->ncomments, 1);
    cr_assert_str_eq(cp_str(q, q->mappings[0].build_id), "abcd");
    cr_assert_eq(q->locations[q->samples[0].locs[0]].address, 0x401000);
    cp_profile_free(p);
    cp_profile_free(q);
    cp_buf_free(&raw);
    cp_buf_free(&raw2);
    cp_buf_free(&gz);
}

/* Every field of a location survives encode then decode: a folded one
 * with two lines (columns, a negative line), one without mapping or
 * address. */
Test(profile, location_fields_roundtrip)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    uint64_t m = cp_pbuilder_mapping(b, 0x400000, 0x500000, 0, "/bin/prog", "", true, true, true,
                                     true);
    uint64_t f = cp_pbuilder_function(b, "inner", "inner", "a.c", 1);
    uint64_t g = cp_pbuilder_function(b, "outer", "outer", "a.c", 9);
    cp_line_in two[] = {{f, 7, 3}, {g, -2, 200}}, one[] = {{g, 5, 0}};
    uint64_t folded = cp_pbuilder_location(b, m, 0x401234, two, 2, true);
    uint64_t bare = cp_pbuilder_location(b, 0, 0, one, 1, false);
    uint64_t st[] = {folded, bare};
    int64_t v = 1;
    cr_assert_eq(cp_pbuilder_sample(b, st, 2, &v, NULL, 0), 0);
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    cr_assert_not_null(p);
    cp_buf raw = {0};
    cr_assert_eq(cp_profile_encode(p, &raw), 0);
    cp_profile *q = NULL;
    cp_diag d = {{0}};
    cr_assert_eq(cp_profile_decode(raw.data, raw.len, NULL, &q, &d), 0, "%s", d.msg);
    const cp_location *a = &q->locations[q->samples[0].locs[0]];
    const cp_location *z = &q->locations[q->samples[0].locs[1]];
    cr_assert_eq(a->id, folded);
    cr_assert(a->is_folded);
    cr_assert_eq(a->address, 0x401234);
    cr_assert_eq(q->mappings[a->mapping].id, m);
    cr_assert_eq(a->nlines, 2);
    cr_assert_str_eq(cp_str(q, q->functions[a->lines[0].func].name), "inner");
    cr_assert_eq(a->lines[0].line, 7);
    cr_assert_eq(a->lines[0].column, 3);
    cr_assert_str_eq(cp_str(q, q->functions[a->lines[1].func].name), "outer");
    cr_assert_eq(a->lines[1].line, -2);
    cr_assert_eq(a->lines[1].column, 200);
    cr_assert_eq(z->id, bare);
    cr_assert_not(z->is_folded);
    cr_assert_eq(z->mapping, CP_NO_MAPPING);
    cr_assert_eq(z->address, 0);
    cr_assert_eq(z->nlines, 1);
    cr_assert_eq(q->functions[z->lines[0].func].id, g);
    cr_assert_eq(z->lines[0].line, 5);
    cr_assert_eq(z->lines[0].column, 0);
    cp_profile_free(p);
    cp_profile_free(q);
    cp_buf_free(&raw);
}

/* A raw profile: locations with the given ids, `before` samples of the
 * first, then one sample of the given location ids; decoded, or NULL and
 * the decoder's message in *msg. */
static cp_profile *with_location_ids(const uint64_t *ids, size_t n, size_t before,
                                     const uint64_t *stack, size_t depth, char *msg,
                                     size_t msgsz)
{
    cp_buf b = {0};
    size_t m;
    cp_pbw_begin(&b, 1, &m);
    cp_pbw_u64(&b, 1, 1);
    cp_pbw_u64(&b, 2, 2);
    cp_pbw_end(&b, m);
    int64_t v = 1;
    for (size_t i = 0; i <= before; i++) {
        cp_pbw_begin(&b, 2, &m);
        if (i < before)
            cp_pbw_packed_u64(&b, 1, ids, 1);
        else
            cp_pbw_packed_u64(&b, 1, stack, depth);
        cp_pbw_packed_i64(&b, 2, &v, 1);
        cp_pbw_end(&b, m);
    }
    for (size_t i = 0; i < n; i++) {
        cp_pbw_begin(&b, 4, &m);
        cp_pbw_u64(&b, 1, ids[i]);
        cp_pbw_u64(&b, 3, 0x1000 + i); /* the address tells the record */
        cp_pbw_end(&b, m);
    }
    cp_pbw_bytes(&b, 6, "", 0);
    cp_pbw_bytes(&b, 6, "samples", 7);
    cp_pbw_bytes(&b, 6, "count", 5);
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    int rc = cp_profile_decode(b.data, b.len, NULL, &p, &d);
    cp_buf_free(&b);
    snprintf(msg, msgsz, "%s", rc ? d.msg : "");
    return p;
}

/* A hand-made raw profile: one sample type, the 13th sample naming
 * location 99. */
Test(profile, dangling_location_is_named)
{
    const uint64_t one = 1, bad = 99;
    char msg[sizeof ((cp_diag *)0)->msg];
    cr_assert_null(with_location_ids(&one, 1, 12, &bad, 1, msg, sizeof msg));
    cr_assert_str_eq(msg, "sample 12: location id 99 not defined");
}

/* Location ids resolve to their records whether they are 1, 2, ... in
 * order (no table), small in another order (a dense array), or large
 * (a map); ids none of them hold are named, in each way. */
Test(profile, location_ids_in_order_dense_and_sparse)
{
    const uint64_t in_order[] = {1, 2, 3}, dense[] = {2, 3, 1},
                   sparse[] = {1, 5000000000ull, 7};
    const uint64_t *kinds[] = {in_order, dense, sparse};
    char msg[sizeof ((cp_diag *)0)->msg];
    for (int k = 0; k < 3; k++) {
        const uint64_t *ids = kinds[k];
        /* every record, leaf first, a long varint among them in the map */
        uint64_t stack[] = {ids[2], ids[0], ids[1], ids[2]};
        cp_profile *p = with_location_ids(ids, 3, 0, stack, 4, msg, sizeof msg);
        cr_assert_not_null(p, "kind %d: %s", k, msg);
        cr_assert_eq(p->nsamples, 1);
        cr_assert_eq(p->samples[0].nlocs, 4);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(p->locations[p->samples[0].locs[i]].id, stack[i], "kind %d frame %d", k,
                         i);
        cr_assert_eq(p->locations[p->samples[0].locs[1]].address, 0x1000);
        cp_profile_free(p);
        const uint64_t absent[] = {0, 4, 1ull << 32, 1ull << 63, UINT64_MAX};
        for (size_t a = 0; a < sizeof absent / sizeof *absent; a++) {
            uint64_t bad[] = {ids[0], absent[a]};
            cr_assert_null(with_location_ids(ids, 3, 0, bad, 2, msg, sizeof msg));
            char want[128];
            snprintf(want, sizeof want, "sample 0: location id %llu not defined",
                     (unsigned long long)absent[a]);
            cr_assert_str_eq(msg, want, "kind %d", k);
        }
    }
}

/* A raw profile of n samples over locations 1..3 (one value each, a
 * label on every third), sample bad[k] naming location 99 and sample
 * torn (if below n) ending in a cut varint. */
static void raw_samples(cp_buf *b, size_t n, const size_t *bad, size_t nbad, size_t torn)
{
    size_t m, lm;
    cp_pbw_begin(b, 1, &m);
    cp_pbw_u64(b, 1, 1);
    cp_pbw_u64(b, 2, 2);
    cp_pbw_end(b, m);
    for (size_t i = 0; i < n; i++) {
        uint64_t st[3] = {1 + i % 3, 1 + i / 3 % 3, 1 + i / 9 % 3};
        for (size_t k = 0; k < nbad; k++)
            if (bad[k] == i)
                st[1] = 99;
        int64_t v = (int64_t)(i % 7 + 1);
        cp_pbw_begin(b, 2, &m);
        if (i == torn) { /* packed ids whose last varint is cut */
            cp_pbw_tag(b, 1, PB_LEN);
            cp_pbw_varint(b, 2);
            cp_buf_append(b, "\x01\x80", 2);
        } else {
            cp_pbw_packed_u64(b, 1, st, 1 + i % 3);
        }
        cp_pbw_packed_i64(b, 2, &v, 1);
        if (i % 3 == 0) {
            cp_pbw_begin(b, 3, &lm);
            cp_pbw_u64(b, 1, 3);
            cp_pbw_u64(b, 2, 4 + i % 2);
            cp_pbw_end(b, lm);
        }
        cp_pbw_end(b, m);
    }
    for (uint64_t id = 1; id <= 3; id++) {
        cp_pbw_begin(b, 4, &m);
        cp_pbw_u64(b, 1, id);
        cp_pbw_u64(b, 3, 0x1000 * id);
        cp_pbw_end(b, m);
    }
    const char *strs[] = {"", "samples", "count", "req", "a", "b"};
    for (size_t k = 0; k < 6; k++)
        cp_pbw_bytes(b, 6, strs[k], strlen(strs[k]));
}

/* The samples decoded on two threads give the bytes one thread gives,
 * and the same verdict on a broken sample wherever it lies: the first in
 * order is named. */
Test(profile, samples_on_two_threads_as_on_one)
{
    const size_t n = 30000, none = SIZE_MAX;
    struct {
        size_t bad[2], nbad, torn;
    } cases[] = {
        {{0}, 0, none},         {{25000}, 1, none},   {{4000}, 1, none},
        {{4000, 25000}, 2, none}, {{0}, 0, 26000},    {{29999}, 1, 100},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cp_buf raw = {0};
        raw_samples(&raw, n, cases[c].bad, cases[c].nbad, cases[c].torn);
        cp_profile *one = NULL, *two = NULL;
        cp_diag d1 = {{0}}, d2 = {{0}};
        cp_decode_opts o1 = {0}, o2 = {.two_threads = true};
        int rc1 = cp_profile_decode(raw.data, raw.len, &o1, &one, &d1);
        int rc2 = cp_profile_decode(raw.data, raw.len, &o2, &two, &d2);
        cr_assert_eq(rc1, rc2, "case %zu", c);
        cr_assert_str_eq(d1.msg, d2.msg, "case %zu", c);
        if (cases[c].nbad || cases[c].torn != none) {
            cr_assert_neq(rc1, 0, "case %zu", c);
            size_t first = cases[c].nbad ? cases[c].bad[0] : cases[c].torn;
            first = cases[c].torn < first ? cases[c].torn : first;
            char want[64];
            snprintf(want, sizeof want, "sample %zu: ", first);
            cr_assert(!strncmp(d1.msg, want, strlen(want)), "case %zu: %s", c, d1.msg);
            continue;
        }
        cr_assert_eq(rc1, 0, "%s", d1.msg);
        cr_assert_eq(two->nsamples, n);
        cp_buf b1 = {0}, b2 = {0};
        cr_assert_eq(cp_profile_encode(one, &b1), 0);
        cr_assert_eq(cp_profile_encode(two, &b2), 0);
        cr_assert(b1.len == b2.len && !memcmp(b1.data, b2.data, b1.len));
        cr_assert(b1.len == raw.len && !memcmp(b1.data, raw.data, raw.len), "round trip");
        cp_buf_free(&b1);
        cp_buf_free(&b2);
        cp_profile_free(one);
        cp_profile_free(two);
        cp_buf_free(&raw);
    }
}

Test(profile, bad_string_index_and_value_count)
{
    cp_buf b = {0};
    size_t m;
    cp_pbw_begin(&b, 1, &m);
    cp_pbw_u64(&b, 1, 7);
    cp_pbw_end(&b, m);
    cp_pbw_bytes(&b, 6, "", 0);
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    cr_assert_eq(cp_profile_decode(b.data, b.len, NULL, &p, &d), CPROF_EFORMAT);
    cr_assert_str_eq(d.msg, "sample_type 0: string index 7 out of range (table has 1 strings)");
    b.len = 0;
    cp_pbw_begin(&b, 1, &m);
    cp_pbw_end(&b, m);
    cp_pbw_begin(&b, 2, &m);
    int64_t v[2] = {1, 2};
    cp_pbw_packed_i64(&b, 2, v, 2);
    cp_pbw_end(&b, m);
    cr_assert_eq(cp_profile_decode(b.data, b.len, NULL, &p, &d), CPROF_EFORMAT);
    cr_assert_str_eq(d.msg, "sample 0: has 2 values, profile has 1 sample types");
    cp_buf_free(&b);
}

Test(profile, gzip_bomb_stops_at_cap)
{
    size_t n = 64 << 20;
    char *zeros = calloc(1, n);
    cp_buf gz = {0};
    cr_assert_eq(cp_gzip(zeros, n, 9, &gz), 0);
    free(zeros);
    cr_assert_lt(gz.len, 200000);
    cp_decode_opts o = {.max_decompressed = 1 << 20};
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    cr_assert_eq(cp_profile_decode(gz.data, gz.len, &o, &p, &d), CPROF_ETOOBIG);
    cr_assert(strstr(d.msg, "exceeds the limit of 1048576 bytes"), "%s", d.msg);
    cp_buf_free(&gz);
}

Test(profile, multi_member_gzip)
{
    cp_profile *p = small_profile();
    cp_buf raw = {0}, gz = {0};
    cp_profile_encode(p, &raw);
    size_t half = raw.len / 2;
    /* protobuf concatenation is merge: two members give the same message */
    cp_gzip(raw.data, half, 6, &gz);
    cp_gzip(raw.data + half, raw.len - half, 6, &gz);
    cp_profile *q = NULL;
    cp_diag d = {{0}};
    cr_assert_eq(cp_profile_decode(gz.data, gz.len, NULL, &q, &d), 0, "%s", d.msg);
    cr_assert_eq(q->nsamples, p->nsamples);
    cp_profile_free(q);
    /* truncated: a clear error */
    cr_assert_eq(cp_profile_decode(gz.data, gz.len - 9, NULL, &q, &d), CPROF_EFORMAT);
    cr_assert(strstr(d.msg, "gzip"), "%s", d.msg);
    cp_profile_free(p);
    cp_buf_free(&raw);
    cp_buf_free(&gz);
}

/* cp_pbuilder_copy, the one copy path: every record in source order, or
 * only the records samples use in order of first use; zero samples
 * dropped; a label replaced on every sample; values scaled. */
Test(profile, copy_modes)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    uint64_t funused = cp_pbuilder_function(b, "unused", "unused", "", 0);
    uint64_t fa = cp_pbuilder_function(b, "a", "a", "", 0);
    uint64_t fb = cp_pbuilder_function(b, "b", "b", "", 0);
    cp_line_in lu[] = {{funused, 1, 0}}, la[] = {{fa, 2, 0}}, lb[] = {{fb, 3, 0}};
    cp_pbuilder_location(b, 0, 0x10, lu, 1, false);
    uint64_t locb = cp_pbuilder_location(b, 0, 0x30, lb, 1, false);
    uint64_t loca = cp_pbuilder_location(b, 0, 0x20, la, 1, false);
    uint64_t st1[] = {locb, loca}, st2[] = {loca};
    int64_t v1[] = {3}, v0[] = {0};
    cp_label_in lab[] = {{"pprof::base", "false", 0, NULL}, {"k", "v", 0, NULL}};
    cr_assert_eq(cp_pbuilder_sample(b, st1, 2, v1, lab, 2), 0);
    cr_assert_eq(cp_pbuilder_sample(b, st2, 1, v0, NULL, 0), 0);
    cp_profile *src = cp_pbuilder_finish_free(b);
    cr_assert_not_null(src);

    /* add_profile: all three functions and locations, both samples */
    cp_diag d = {{0}};
    b = cp_pbuilder_new(true);
    cr_assert_eq(cp_pbuilder_add_profile(b, src, 1.0, &d), 0, "%s", d.msg);
    cp_profile *all = cp_pbuilder_finish_free(b);
    cr_assert_eq(all->nfunctions, 3);
    cr_assert_eq(all->nlocations, 3);
    cr_assert_eq(all->nsamples, 2);
    cr_assert_str_eq(cp_str(all, all->functions[0].name), "unused");

    /* used only: b's location and function first (the first sample's
     * leaf), the unused ones gone, the zero sample dropped, values x2,
     * pprof::base replaced by one pprof::base=true */
    b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_copy_opts o = {.scale = 2.0, .used_only = true, .drop_zero = true,
                      .label_key = "pprof::base", .label_str = "true"};
    cr_assert_eq(cp_pbuilder_copy(b, src, &o), 0);
    cp_profile *used = cp_pbuilder_finish_free(b);
    cr_assert_eq(used->nfunctions, 2);
    cr_assert_eq(used->nlocations, 2);
    cr_assert_str_eq(cp_str(used, used->functions[0].name), "b");
    cr_assert_eq(used->locations[0].address, 0x30);
    cr_assert_eq(used->nsamples, 1);
    cr_assert_eq(used->samples[0].values[0], 6);
    cr_assert_eq(used->samples[0].nlabels, 2);
    for (uint32_t k = 0; k < 2; k++) {
        const cp_label *l = &used->samples[0].labels[k];
        if (!strcmp(cp_str(used, l->key), "pprof::base"))
            cr_assert_str_eq(cp_str(used, l->str), "true");
        else
            cr_assert_str_eq(cp_str(used, l->key), "k");
    }
    cp_profile_free(all);
    cp_profile_free(used);
    cp_profile_free(src);
}

/* Samples without a location fold like any other, also before the
 * builder holds any location: its pool of stacks is then still NULL, and
 * comparing two empty stacks indexed it (clang's UBSan in the analysis
 * fuzzer: "applying zero offset to null pointer"). */
Test(profile, empty_stacks_fold)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    int64_t v1[] = {2}, v2[] = {5};
    cr_assert_eq(cp_pbuilder_sample(b, NULL, 0, v1, NULL, 0), 0);
    cr_assert_eq(cp_pbuilder_sample(b, NULL, 0, v2, NULL, 0), 0);
    cp_profile *p = cp_pbuilder_finish_free(b);
    cr_assert_not_null(p);
    cr_assert_eq(p->nsamples, 1);
    cr_assert_eq(p->samples[0].nlocs, 0);
    cr_assert_eq(p->samples[0].values[0], 7);
    cp_profile_free(p);
}
