/* codec_util.c — helpers for the codec suite (see codec_util.h).
 *
 * Model equality walks both profiles field by field, resolving string
 * indices to their text and array indices to ids, so two encodings of the
 * same profile compare equal even if their string tables are ordered
 * differently.  Rejected: comparing encoded bytes only (it cannot tell which
 * field differs, and would tie the test to one string-table order).
 */
#include "codec_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "pb/pb.h"
#include "profile/builder.h"

#include <zlib.h>

cp_profile *cu_small_profile(void)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    if (!b)
        return NULL;
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_pbuilder_sample_type(b, "cpu", "nanoseconds");
    cp_pbuilder_period(b, "cpu", "nanoseconds", 10000000);
    cp_pbuilder_default_sample_type(b, "cpu");
    cp_pbuilder_times(b, 1700000000000000000LL, 2000000000LL);
    cp_pbuilder_comment(b, "codec test");
    cp_pbuilder_drop_keep(b, "^drop", "^keep");
    uint64_t m = cp_pbuilder_mapping(b, 0x400000, 0x500000, 0x1000, "/usr/bin/prog", "beef",
                                     true, true, true, true);
    uint64_t fmain = cp_pbuilder_function(b, "main", "main", "prog.c", 10);
    uint64_t fwork = cp_pbuilder_function(b, "work(int)", "_Z4worki", "prog.c", 20);
    uint64_t finl = cp_pbuilder_function(b, "inlined", "inlined", "util.h", 3);
    cp_line_in lw[] = {{finl, 4, 2}, {fwork, 22, 0}};
    cp_line_in lm[] = {{fmain, 12, 0}};
    uint64_t lwork = cp_pbuilder_location(b, m, 0x401000, lw, 2, false);
    uint64_t lmain = cp_pbuilder_location(b, m, 0x402000, lm, 1, false);
    uint64_t s1[] = {lwork, lmain}, s2[] = {lmain};
    int64_t v1[] = {2, 20000000}, v2[] = {1, 10000000};
    cp_label_in lab[] = {{"handler", "/api/a", 0, NULL}, {"bytes", NULL, 512, "bytes"}};
    cp_pbuilder_sample(b, s1, 2, v1, lab, 2);
    cp_pbuilder_sample(b, s2, 1, v2, NULL, 0);
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    return p;
}

int cu_varint_field(cp_buf *b, uint32_t num, uint64_t v)
{
    return cp_pbw_tag(b, num, PB_VARINT) || cp_pbw_varint(b, v) ? CPROF_ENOMEM : 0;
}

int cu_string(cp_buf *b, const char *s)
{
    return cp_pbw_bytes(b, 6, s, strlen(s));
}

static bool same_str(const cp_profile *a, int64_t ia, const cp_profile *b, int64_t ib)
{
    return strcmp(cp_str(a, ia), cp_str(b, ib)) == 0;
}

static bool same_vt(const cp_profile *a, const cp_value_type *x, const cp_profile *b,
                    const cp_value_type *y)
{
    return same_str(a, x->type, b, y->type) && same_str(a, x->unit, b, y->unit);
}

static uint64_t func_id(const cp_profile *p, uint32_t i)
{
    return i == CP_NO_FUNCTION ? 0 : p->functions[i].id;
}

static uint64_t map_id(const cp_profile *p, uint32_t i)
{
    return i == CP_NO_MAPPING ? 0 : p->mappings[i].id;
}

static const char *diff_records(const cp_profile *a, const cp_profile *b)
{
    if (a->nmappings != b->nmappings)
        return "mapping count";
    for (size_t i = 0; i < a->nmappings; i++) {
        const cp_mapping *x = &a->mappings[i], *y = &b->mappings[i];
        if (x->id != y->id || x->start != y->start || x->limit != y->limit ||
            x->offset != y->offset || !same_str(a, x->filename, b, y->filename) ||
            !same_str(a, x->build_id, b, y->build_id) || x->has_functions != y->has_functions ||
            x->has_filenames != y->has_filenames || x->has_line_numbers != y->has_line_numbers ||
            x->has_inline_frames != y->has_inline_frames)
            return "mapping";
    }
    if (a->nfunctions != b->nfunctions)
        return "function count";
    for (size_t i = 0; i < a->nfunctions; i++) {
        const cp_function *x = &a->functions[i], *y = &b->functions[i];
        if (x->id != y->id || !same_str(a, x->name, b, y->name) ||
            !same_str(a, x->system_name, b, y->system_name) ||
            !same_str(a, x->filename, b, y->filename) || x->start_line != y->start_line)
            return "function";
    }
    if (a->nlocations != b->nlocations)
        return "location count";
    for (size_t i = 0; i < a->nlocations; i++) {
        const cp_location *x = &a->locations[i], *y = &b->locations[i];
        if (x->id != y->id || x->address != y->address || x->is_folded != y->is_folded ||
            map_id(a, x->mapping) != map_id(b, y->mapping) || x->nlines != y->nlines)
            return "location";
        for (uint32_t k = 0; k < x->nlines; k++)
            if (func_id(a, x->lines[k].func) != func_id(b, y->lines[k].func) ||
                x->lines[k].line != y->lines[k].line || x->lines[k].column != y->lines[k].column)
                return "location line";
    }
    return NULL;
}

static const char *diff_samples(const cp_profile *a, const cp_profile *b)
{
    if (a->nsamples != b->nsamples)
        return "sample count";
    for (size_t i = 0; i < a->nsamples; i++) {
        const cp_sample *x = &a->samples[i], *y = &b->samples[i];
        if (x->nlocs != y->nlocs || x->nlabels != y->nlabels)
            return "sample shape";
        for (uint32_t k = 0; k < x->nlocs; k++)
            if (a->locations[x->locs[k]].id != b->locations[y->locs[k]].id)
                return "sample location";
        for (size_t k = 0; k < a->nsample_types; k++)
            if (x->values[k] != y->values[k])
                return "sample value";
        for (uint32_t k = 0; k < x->nlabels; k++) {
            const cp_label *la = &x->labels[k], *lb = &y->labels[k];
            if (!same_str(a, la->key, b, lb->key) || !same_str(a, la->str, b, lb->str) ||
                la->num != lb->num || !same_str(a, la->num_unit, b, lb->num_unit))
                return "sample label";
        }
    }
    return NULL;
}

const char *cu_profile_diff(const cp_profile *a, const cp_profile *b)
{
    if (a->nsample_types != b->nsample_types)
        return "sample type count";
    for (size_t i = 0; i < a->nsample_types; i++)
        if (!same_vt(a, &a->sample_types[i], b, &b->sample_types[i]))
            return "sample type";
    if (!same_vt(a, &a->period_type, b, &b->period_type) || a->period != b->period)
        return "period";
    if (a->time_nanos != b->time_nanos || a->duration_nanos != b->duration_nanos)
        return "time";
    if (!same_str(a, a->drop_frames, b, b->drop_frames) ||
        !same_str(a, a->keep_frames, b, b->keep_frames))
        return "drop/keep frames";
    if (!same_str(a, a->default_sample_type, b, b->default_sample_type))
        return "default sample type";
    if (a->ncomments != b->ncomments)
        return "comment count";
    for (size_t i = 0; i < a->ncomments; i++)
        if (!same_str(a, a->comments[i], b, b->comments[i]))
            return "comment";
    const char *d = diff_records(a, b);
    return d ? d : diff_samples(a, b);
}

int cu_read(const char *path, cp_buf *out)
{
    return cp_buf_read_file(out, path, 64u << 20);
}

const char *cu_go_dir(void)
{
    const char *d = getenv("CODEC_GO_DIR");
    return d && *d ? d : "go-profiles";
}

uint64_t cu_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

int cu_try_decode(const void *data, size_t len, size_t cap, char *msg, size_t msgsz)
{
    cp_decode_opts o = {.max_decompressed = cap};
    cp_profile *p = NULL;
    cp_diag d;
    d.msg[0] = 0;
    int rc = cp_profile_decode(data, len, &o, &p, &d);
    if (msg && msgsz)
        snprintf(msg, msgsz, "%s", rc ? d.msg : "");
    cp_profile_free(p);
    return rc;
}

/* deflate `len` bytes with `flush`, appending what comes out */
static int bomb_deflate(z_stream *zs, const void *in, size_t len, int flush, cp_buf *out)
{
    zs->next_in = (unsigned char *)in;
    zs->avail_in = (uInt)len;
    do {
        if (cp_buf_reserve(out, 1 << 16))
            return CPROF_ENOMEM;
        zs->next_out = out->data + out->len;
        zs->avail_out = 1 << 16;
        int zr = deflate(zs, flush);
        out->len += (1 << 16) - zs->avail_out;
        if (zr == Z_STREAM_ERROR)
            return CPROF_EINVAL;
    } while (zs->avail_out == 0 || zs->avail_in);
    return 0;
}

int cu_gzip_bomb(cp_buf *out, const void *prefix, size_t plen, size_t mib)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return CPROF_ENOMEM;
    unsigned char *zeros = calloc(1, 1u << 20);
    int rc = zeros ? 0 : CPROF_ENOMEM;
    if (!rc) /* the gzip header and the prefix, ending on a byte boundary */
        rc = bomb_deflate(&zs, prefix, plen, Z_FULL_FLUSH, out);
    size_t start = out->len;
    if (!rc && mib)
        rc = bomb_deflate(&zs, zeros, 1u << 20, Z_FULL_FLUSH, out);
    size_t one = out->len - start;
    if (!rc && mib > 1 && cp_buf_reserve(out, one * (mib - 1))) /* no move while copying */
        rc = CPROF_ENOMEM;
    for (size_t i = 1; !rc && i < mib; i++)
        rc = cp_buf_append(out, out->data + start, one);
    if (!rc)
        rc = bomb_deflate(&zs, NULL, 0, Z_FINISH, out);
    deflateEnd(&zs);
    free(zeros);
    return rc;
}

int cu_bomb_profile_prefix(cp_buf *out, uint64_t claim, size_t pad)
{
    cp_profile *p = cu_small_profile();
    int rc = p ? cp_profile_encode(p, out) : CPROF_ENOMEM;
    cp_profile_free(p);
    uint64_t st = 11;
    char s[1 << 16];
    for (size_t done = 0; !rc && done < pad; done += sizeof s) {
        for (size_t i = 0; i < sizeof s; i++)
            s[i] = "acgt"[cu_rand(&st) >> 62];
        rc = cp_pbw_bytes(out, 6, s, sizeof s);
    }
    uint8_t tag = (6 << 3) | 2; /* string_table, length-delimited */
    if (!rc)
        rc = cp_buf_append(out, &tag, 1);
    while (!rc && claim >= 0x80) {
        uint8_t c = (uint8_t)(claim | 0x80);
        rc = cp_buf_append(out, &c, 1);
        claim >>= 7;
    }
    uint8_t last = (uint8_t)claim;
    return rc ? rc : cp_buf_append(out, &last, 1);
}
