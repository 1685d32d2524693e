/* test_profile.c — builder, encoder and decoder agree; hostile input is named. */
#include <criterion/criterion.h>
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

/* A hand-made raw profile: one sample type, a sample naming location 99. */
Test(profile, dangling_location_is_named)
{
    cp_buf b = {0};
    size_t m, m2;
    cp_pbw_begin(&b, 1, &m);
    cp_pbw_u64(&b, 1, 1);
    cp_pbw_u64(&b, 2, 2);
    cp_pbw_end(&b, m);
    for (int i = 0; i < 13; i++) {
        cp_pbw_begin(&b, 2, &m2);
        uint64_t loc = i == 12 ? 99 : 1;
        int64_t v = 1;
        cp_pbw_packed_u64(&b, 1, &loc, 1);
        cp_pbw_packed_i64(&b, 2, &v, 1);
        cp_pbw_end(&b, m2);
    }
    cp_pbw_begin(&b, 4, &m);
    cp_pbw_u64(&b, 1, 1);
    cp_pbw_end(&b, m);
    cp_pbw_bytes(&b, 6, "", 0);
    cp_pbw_bytes(&b, 6, "samples", 7);
    cp_pbw_bytes(&b, 6, "count", 5);
    cp_profile *p = NULL;
    cp_diag d = {{0}};
    cr_assert_eq(cp_profile_decode(b.data, b.len, NULL, &p, &d), CPROF_EFORMAT);
    cr_assert_str_eq(d.msg, "sample 12: location id 99 not defined");
    cr_assert_null(p);
    cp_buf_free(&b);
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
