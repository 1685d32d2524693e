/* encode.c — cp_profile → profile.proto bytes, in field-number order.
 *
 * Ids are written as stored; references are written as the referenced
 * record's id, so decode → encode round-trips byte for byte for profiles
 * written in canonical order (what Go and cprof write).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cprof.h"
#include "pb/pb.h"
#include "profile/profile.h"

static int value_type(cp_buf *b, uint32_t num, const cp_value_type *vt)
{
    size_t mark;
    if (cp_pbw_begin(b, num, &mark) || cp_pbw_i64(b, 1, vt->type) || cp_pbw_i64(b, 2, vt->unit))
        return CPROF_ENOMEM;
    return cp_pbw_end(b, mark);
}

/* Samples are the bulk of a large profile's bytes (40 location ids each),
 * so a sample is written in one go: every length is worked out first,
 * the room reserved once, and the bytes written straight, instead of
 * nested length prefixes moved into place field by field.  The bytes are
 * exactly what the general writer (pb.h) gives: empty packed fields and
 * zero label fields left out.  With dense ids (id = index + 1, as every
 * merge leaves them) a location's id is its index plus one, and no
 * location is read: at 150k stacks that saves 12M random reads. */
static inline uint64_t loc_id(const cp_profile *p, const cp_encode_plan *pl, uint32_t i)
{
    return pl->dense_locations ? (uint64_t)i + 1 : p->locations[i].id;
}

/* a varint field of number under 16, left out when 0: its length, and
 * its bytes */
static inline size_t field_len(uint64_t v)
{
    return v ? 1 + cp_pb_varint_len(v) : 0;
}

static inline uint8_t *put_field(uint8_t *w, unsigned num, uint64_t v)
{
    if (v) {
        *w++ = (uint8_t)(num << 3);
        w = cp_pb_put_varint(w, v);
    }
    return w;
}

/* a label's fields: key, str, num, num_unit (zero ones left out) */
static size_t label_len(const cp_label *l)
{
    return field_len((uint64_t)l->key) + field_len((uint64_t)l->str) +
           field_len((uint64_t)l->num) + field_len((uint64_t)l->num_unit);
}

static int sample(cp_buf *b, const cp_profile *p, const cp_encode_plan *pl, const cp_sample *s)
{
    size_t nl = 0, nv = 0, nlab = 0;
    for (uint32_t i = 0; i < s->nlocs; i++)
        nl += cp_pb_varint_len(loc_id(p, pl, s->locs[i]));
    for (size_t i = 0; i < p->nsample_types; i++)
        nv += cp_pb_varint_len((uint64_t)s->values[i]);
    for (uint32_t i = 0; i < s->nlabels; i++) {
        size_t n = label_len(&s->labels[i]);
        nlab += 1 + cp_pb_varint_len(n) + n;
    }
    size_t body = (s->nlocs ? 1 + cp_pb_varint_len(nl) + nl : 0) +
                  (p->nsample_types ? 1 + cp_pb_varint_len(nv) + nv : 0) + nlab;
    /* 4 bytes of room past the sample for cp_pb_put_varint_r4 */
    if (body > 0xffffffffu || cp_buf_reserve(b, 1 + cp_pb_varint_len(body) + body + 4))
        return CPROF_ENOMEM;
    uint8_t *w = b->data + b->len;
    *w++ = 2 << 3 | 2; /* sample, length-delimited */
    w = cp_pb_put_varint(w, body);
    if (s->nlocs) {
        *w++ = 1 << 3 | 2; /* location_id, packed */
        w = cp_pb_put_varint(w, nl);
        for (uint32_t i = 0; i < s->nlocs; i++)
            w = cp_pb_put_varint_r4(w, loc_id(p, pl, s->locs[i]));
    }
    if (p->nsample_types) {
        *w++ = 2 << 3 | 2; /* value, packed */
        w = cp_pb_put_varint(w, nv);
        for (size_t i = 0; i < p->nsample_types; i++)
            w = cp_pb_put_varint_r4(w, (uint64_t)s->values[i]);
    }
    for (uint32_t i = 0; i < s->nlabels; i++) {
        const cp_label *l = &s->labels[i];
        *w++ = 3 << 3 | 2; /* label */
        w = cp_pb_put_varint(w, label_len(l));
        w = put_field(w, 1, (uint64_t)l->key);
        w = put_field(w, 2, (uint64_t)l->str);
        w = put_field(w, 3, (uint64_t)l->num);
        w = put_field(w, 4, (uint64_t)l->num_unit);
    }
    b->len = (size_t)(w - b->data);
    return 0;
}

static int mapping(cp_buf *b, const cp_mapping *m)
{
    size_t mark;
    if (cp_pbw_begin(b, 3, &mark) || cp_pbw_u64(b, 1, m->id) || cp_pbw_u64(b, 2, m->start) ||
        cp_pbw_u64(b, 3, m->limit) || cp_pbw_u64(b, 4, m->offset) || cp_pbw_i64(b, 5, m->filename) ||
        cp_pbw_i64(b, 6, m->build_id) || cp_pbw_bool(b, 7, m->has_functions) ||
        cp_pbw_bool(b, 8, m->has_filenames) || cp_pbw_bool(b, 9, m->has_line_numbers) ||
        cp_pbw_bool(b, 10, m->has_inline_frames))
        return CPROF_ENOMEM;
    return cp_pbw_end(b, mark);
}

/* a line's function id, and the length of the line's fields */
static inline uint64_t line_fid(const cp_profile *p, const cp_encode_plan *pl, const cp_line *ln)
{
    return ln->func == CP_NO_FUNCTION ? 0
           : pl->dense_functions      ? (uint64_t)ln->func + 1
                                      : p->functions[ln->func].id;
}

static inline size_t line_len(uint64_t fid, const cp_line *ln)
{
    return field_len(fid) + field_len((uint64_t)ln->line) + field_len((uint64_t)ln->column);
}

/* A location in one go, as a sample (half a million of them in a merge
 * of two 150k-stack profiles): lengths first, the room reserved once. */
static int location(cp_buf *b, const cp_profile *p, const cp_encode_plan *pl, const cp_location *l)
{
    uint64_t mid = l->mapping == CP_NO_MAPPING ? 0 : p->mappings[l->mapping].id;
    size_t body = field_len(l->id) + field_len(mid) + field_len(l->address) + (l->is_folded ? 2 : 0);
    for (uint32_t i = 0; i < l->nlines; i++) {
        size_t n = line_len(line_fid(p, pl, &l->lines[i]), &l->lines[i]);
        body += 1 + cp_pb_varint_len(n) + n;
    }
    if (body > 0xffffffffu || cp_buf_reserve(b, 1 + cp_pb_varint_len(body) + body))
        return CPROF_ENOMEM;
    uint8_t *w = b->data + b->len;
    *w++ = 4 << 3 | 2; /* location, length-delimited */
    w = cp_pb_put_varint(w, body);
    w = put_field(w, 1, l->id);
    w = put_field(w, 2, mid);
    w = put_field(w, 3, l->address);
    for (uint32_t i = 0; i < l->nlines; i++) {
        const cp_line *ln = &l->lines[i];
        uint64_t fid = line_fid(p, pl, ln);
        *w++ = 4 << 3 | 2; /* line */
        w = cp_pb_put_varint(w, line_len(fid, ln));
        w = put_field(w, 1, fid);
        w = put_field(w, 2, (uint64_t)ln->line);
        w = put_field(w, 3, (uint64_t)ln->column);
    }
    w = put_field(w, 5, l->is_folded);
    b->len = (size_t)(w - b->data);
    return 0;
}

static int function(cp_buf *b, const cp_function *f)
{
    size_t mark;
    if (cp_pbw_begin(b, 5, &mark) || cp_pbw_u64(b, 1, f->id) || cp_pbw_i64(b, 2, f->name) ||
        cp_pbw_i64(b, 3, f->system_name) || cp_pbw_i64(b, 4, f->filename) ||
        cp_pbw_i64(b, 5, f->start_line))
        return CPROF_ENOMEM;
    return cp_pbw_end(b, mark);
}

static int string(cp_buf *b, const cp_profile *p, size_t i, char **tmp, size_t *tmp_cap)
{
    size_t n = strlen(p->strings[i]);
    if (p->nul_escaped && memchr(p->strings[i], 0xc0, n)) {
        if (cp_grow(tmp, tmp_cap, n + 1, 1))
            return CPROF_ENOMEM;
        return cp_pbw_bytes(b, 6, *tmp, cp_str_unescape(*tmp, p->strings[i], n));
    }
    return cp_pbw_bytes(b, 6, p->strings[i], n);
}

/* The fields after the records: frames, times, period, comments. */
static int tail(cp_buf *b, const cp_profile *p)
{
    if (cp_pbw_i64(b, 7, p->drop_frames) || cp_pbw_i64(b, 8, p->keep_frames) ||
        cp_pbw_i64(b, 9, p->time_nanos) || cp_pbw_i64(b, 10, p->duration_nanos))
        return CPROF_ENOMEM;
    if (p->period_type.type || p->period_type.unit)
        if (value_type(b, 11, &p->period_type))
            return CPROF_ENOMEM;
    if (cp_pbw_i64(b, 12, p->period) || cp_pbw_packed_i64(b, 13, p->comments, p->ncomments) ||
        cp_pbw_i64(b, 14, p->default_sample_type))
        return CPROF_ENOMEM;
    return 0;
}

/* Pieces: the sample types, then each record section in runs of at most
 * its stride (records of a few hundred bytes at most: pieces of a few MB),
 * then the tail.  Sections in field-number order. */
enum { SEC_SAMPLES, SEC_MAPPINGS, SEC_LOCATIONS, SEC_FUNCTIONS, SEC_STRINGS, NSEC };
static const size_t stride[NSEC] = {16384, 65536, 65536, 65536, 32768};

static size_t sec_count(const cp_profile *p, int sec)
{
    const size_t n[NSEC] = {p->nsamples, p->nmappings, p->nlocations, p->nfunctions, p->nstrings};
    return n[sec];
}

/* true when records[i].id == i + 1 for all n records of elem bytes */
_Static_assert(offsetof(cp_location, id) == 0 && offsetof(cp_function, id) == 0,
               "dense() reads the id at the start of each record");
static bool dense(const void *recs, size_t n, size_t elem)
{
    for (size_t i = 0; i < n; i++)
        if (*(const uint64_t *)((const char *)recs + i * elem) != i + 1)
            return false;
    return true;
}

void cp_profile_encode_plan(const cp_profile *p, cp_encode_plan *pl)
{
    pl->npieces = 2; /* sample types, tail */
    for (int sec = 0; sec < NSEC; sec++)
        pl->npieces += (sec_count(p, sec) + stride[sec] - 1) / stride[sec];
    pl->dense_locations = dense(p->locations, p->nlocations, sizeof *p->locations);
    pl->dense_functions = dense(p->functions, p->nfunctions, sizeof *p->functions);
}

int cp_profile_encode_piece(const cp_profile *p, const cp_encode_plan *pl, size_t k, cp_buf *b)
{
    if (k == 0) {
        for (size_t i = 0; i < p->nsample_types; i++)
            if (value_type(b, 1, &p->sample_types[i]))
                return CPROF_ENOMEM;
        return 0;
    }
    k--;
    for (int sec = 0; sec < NSEC; sec++) {
        size_t n = sec_count(p, sec), np = (n + stride[sec] - 1) / stride[sec];
        if (k >= np) {
            k -= np;
            continue;
        }
        size_t lo = k * stride[sec], hi = lo + stride[sec] < n ? lo + stride[sec] : n;
        int rc = 0;
        char *tmp = NULL;
        size_t tmp_cap = 0;
        for (size_t i = lo; i < hi && !rc; i++)
            switch (sec) {
            case SEC_SAMPLES: rc = sample(b, p, pl, &p->samples[i]); break;
            case SEC_MAPPINGS: rc = mapping(b, &p->mappings[i]); break;
            case SEC_LOCATIONS: rc = location(b, p, pl, &p->locations[i]); break;
            case SEC_FUNCTIONS: rc = function(b, &p->functions[i]); break;
            default: rc = string(b, p, i, &tmp, &tmp_cap); break;
            }
        free(tmp);
        return rc;
    }
    return k == 0 ? tail(b, p) : CPROF_EINVAL;
}

int cp_profile_encode(const cp_profile *p, cp_buf *b)
{
    cp_encode_plan pl;
    cp_profile_encode_plan(p, &pl);
    for (size_t k = 0; k < pl.npieces; k++)
        if (cp_profile_encode_piece(p, &pl, k, b))
            return CPROF_ENOMEM;
    return 0;
}

int cp_profile_encode_gz(const cp_profile *p, cp_buf *out)
{
    cp_buf raw = {0};
    int rc = cp_profile_encode(p, &raw);
    if (!rc)
        rc = cp_gzip(raw.data, raw.len, 6, out);
    cp_buf_free(&raw);
    return rc;
}

int cp_profile_write_file(const cp_profile *p, const char *path)
{
    cp_buf gz = {0};
    int rc = cp_profile_encode_gz(p, &gz);
    if (!rc)
        rc = cp_write_file_atomic(path, gz.data, gz.len);
    int saved = errno;
    cp_buf_free(&gz);
    errno = saved;
    return rc;
}

size_t cp_str_unescape(char *dst, const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] == 0xc0 && i + 1 < n &&
            ((unsigned char)s[i + 1] == 0x80 || (unsigned char)s[i + 1] == 0xc0)) {
            dst[w++] = (unsigned char)s[i + 1] == 0x80 ? 0 : (char)0xc0;
            i++;
        } else {
            dst[w++] = s[i];
        }
    }
    return w;
}
