/* profile.h — the pprof data model (profile.proto) in memory.
 *
 * Contract: a cp_profile is immutable once built; every array and string is
 * owned by its arena and freed by cp_profile_free.  References between
 * messages are resolved to array indices at decode time (so a decoded profile
 * is known to be consistent: every location a sample names exists, every
 * function a line names exists); the original ids are kept for re-encoding.
 * Strings are NUL-terminated; str(p, i) is safe for any index the decoder
 * accepted.  Profiles are created by cp_profile_decode (bytes → model) or by
 * a cp_pbuilder (builder.h); cp_profile_encode writes them back.
 */
#ifndef CP_PROFILE_H
#define CP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"

typedef struct cp_value_type {
    int64_t type, unit; /* string indices */
} cp_value_type;

typedef struct cp_label {
    int64_t key;      /* string index */
    int64_t str;      /* string index, 0 when numeric */
    int64_t num;
    int64_t num_unit; /* string index, 0 when none */
} cp_label;

typedef struct cp_sample {
    uint32_t *locs;   /* indices into p->locations, leaf first */
    int64_t *values;  /* p->nsample_types values */
    cp_label *labels;
    uint32_t nlocs, nlabels;
} cp_sample;

#define CP_NO_FUNCTION UINT32_MAX
typedef struct cp_line {
    uint32_t func;    /* index into p->functions or CP_NO_FUNCTION */
    int64_t line;
    int64_t column;
} cp_line;

#define CP_NO_MAPPING UINT32_MAX
typedef struct cp_location {
    uint64_t id;
    uint64_t address;
    uint32_t mapping; /* index into p->mappings or CP_NO_MAPPING */
    uint32_t nlines;
    cp_line *lines;   /* lines[0] is the innermost (inlined callee), last the caller */
    bool is_folded;
} cp_location;

typedef struct cp_function {
    uint64_t id;
    int64_t name, system_name, filename; /* string indices */
    int64_t start_line;
} cp_function;

typedef struct cp_mapping {
    uint64_t id;
    uint64_t start, limit, offset;
    int64_t filename, build_id; /* string indices */
    bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} cp_mapping;

typedef struct cp_profile {
    cp_arena arena;
    cp_value_type *sample_types;
    size_t nsample_types;
    cp_sample *samples;
    size_t nsamples;
    cp_mapping *mappings;
    size_t nmappings;
    cp_location *locations;
    size_t nlocations;
    cp_function *functions;
    size_t nfunctions;
    const char **strings;
    size_t nstrings;
    int64_t drop_frames, keep_frames; /* string indices */
    int64_t time_nanos, duration_nanos;
    cp_value_type period_type;
    int64_t period;
    int64_t *comments; /* string indices */
    size_t ncomments;
    int64_t default_sample_type; /* string index */
    /* Strings are C strings.  When some string of the encoded profile
     * holds a NUL byte, the decoder stores every string escaped: NUL as the
     * bytes C0 80, C0 as C0 C0 (C0 never starts valid UTF-8), and sets
     * nul_escaped; names stay distinct and NUL-free, the encoder and
     * cp_str_unescape give the original bytes back. */
    bool nul_escaped;
} cp_profile;

/* Undo the NUL escape of n bytes of s into dst (room for n bytes); returns
 * the length written.  dst may equal s.  [thread-safe] */
size_t cp_str_unescape(char *dst, const char *s, size_t n);

static inline const char *cp_str(const cp_profile *p, int64_t i)
{
    return (i >= 0 && (size_t)i < p->nstrings) ? p->strings[i] : "";
}

/* Go's int64(float64) conversion as amd64 does it: NaN and values outside
 * int64's range give INT64_MIN (in C such a cast is undefined). */
static inline int64_t cp_go_f2i(double d)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)d;
}
/* Go's int64 arithmetic wraps; these do the same without undefined
 * behaviour (sample values are any int64, sums of them overflow). */
static inline int64_t cp_wadd(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
/* |v| as Go computes it: |INT64_MIN| stays INT64_MIN (the smallest) */
static inline int64_t cp_wabs(int64_t v)
{
    return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
}
static inline int64_t cp_wmul(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a * (uint64_t)b);
}
/* a / b for b != 0, INT64_MIN / -1 being INT64_MIN as in Go */
static inline int64_t cp_go_div(int64_t a, int64_t b)
{
    return b == -1 ? (int64_t)(0 - (uint64_t)a) : a / b;
}
/* go's int64(math.Round(float64(v) * r)), the way profile.Scale scales. */
int64_t cp_go_scale_round(int64_t v, double r);

/* Limits that keep hostile input from exhausting memory. */
#define CP_MAX_DECOMPRESSED (1ull << 30) /* 1 GiB of raw protobuf */
#define CP_MAX_MODEL_BYTES (4ull << 30)  /* 4 GiB of decoded model */
/* gzip bombs: every CP_GZ_WINDOW bytes of inflated output must come from
 * at least 1/CP_GZ_MAX_RATIO as many compressed bytes (gzip.c). */
#define CP_GZ_WINDOW (8u << 20)
#define CP_GZ_MAX_RATIO 100u

/* An inflater with cp_gunzip's contract (below); the cprof command passes
 * a faster one (src/cli/fastgz.c) so this library needs zlib alone. */
typedef int cp_gunzip_fn(const void *data, size_t len, size_t max_out, cp_buf *out,
                         cp_diag *diag);

typedef struct cp_decode_opts {
    size_t max_decompressed; /* 0 = CP_MAX_DECOMPRESSED */
    cp_gunzip_fn *gunzip;    /* NULL = cp_gunzip */
    bool two_threads;        /* the samples of a large profile on two threads */
} cp_decode_opts;

/* With two_threads, the samples go on two threads from this many (8192;
 * the fuzzer lowers it to run the split on small inputs). */
extern size_t cp_decode_two_threads_min;

/* Decode a profile, gzipped (one or more members) or raw.  On failure
 * returns a negative code and fills diag, e.g. "sample 12: location id 99
 * not defined".  *out is only set on success.  [thread-safe] */
int cp_profile_decode(const void *data, size_t len, const cp_decode_opts *opts,
                      cp_profile **out, cp_diag *diag);
/* Read and decode a file; diag is prefixed with the path. */
int cp_profile_read_file(const char *path, cp_profile **out, cp_diag *diag);
/* The same with options (NULL = defaults, as cp_profile_read_file). */
int cp_profile_read_file_opts(const char *path, const cp_decode_opts *opts, cp_profile **out,
                              cp_diag *diag);

/* Encode to raw protobuf (appended to out). */
int cp_profile_encode(const cp_profile *p, cp_buf *out);
/* The same encoding in pieces of a few MB at most, for encoding on
 * several threads: cp_profile_encode_plan looks at p once; pieces
 * 0 .. plan.npieces - 1, each appended to out by cp_profile_encode_piece,
 * concatenate to exactly cp_profile_encode's bytes.  A piece is a run of
 * whole records.  [thread-safe: p and the plan are only read] */
typedef struct cp_encode_plan {
    size_t npieces;
    bool dense_locations, dense_functions; /* every id is its index + 1 */
} cp_encode_plan;
void cp_profile_encode_plan(const cp_profile *p, cp_encode_plan *plan);
int cp_profile_encode_piece(const cp_profile *p, const cp_encode_plan *plan, size_t k,
                            cp_buf *out);
/* Encode and gzip (appended to out). */
int cp_profile_encode_gz(const cp_profile *p, cp_buf *out);
/* Encode, gzip and write atomically to path. */
int cp_profile_write_file(const cp_profile *p, const char *path);

void cp_profile_free(cp_profile *p);

/* gzip helpers (zlib).  cp_gunzip handles concatenated members and stops
 * with CPROF_ETOOBIG at max_out bytes or at a window inflating more than
 * CP_GZ_MAX_RATIO times its input (a gzip bomb).  Returns 0 or a negative code. */
bool cp_is_gzip(const void *data, size_t len);
int cp_gunzip(const void *data, size_t len, size_t max_out, cp_buf *out, cp_diag *diag);
int cp_gzip(const void *data, size_t len, int level, cp_buf *out);

/* Index of a sample type by name ("alloc_space") or -1. */
int cp_profile_sample_index(const cp_profile *p, const char *name);

#endif
