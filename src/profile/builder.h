/* builder.h — assemble a cp_profile from parts, deduplicating as it goes.
 *
 * Contract: the one way new profiles are made (collectors, merge, symbolize,
 * synthetic generators).  Strings, functions, mappings and locations are
 * interned: adding the same one twice returns the same id.  With
 * merge_samples set, samples with the same stack and labels are folded by
 * summing their values (what every collector wants).  Not thread-safe; uses
 * malloc, so collectors call it from their writer thread, never from a
 * signal handler or malloc hook.  Ids returned are the profile's ids (>= 1).
 */
#ifndef CP_PROFILE_BUILDER_H
#define CP_PROFILE_BUILDER_H

#include "profile/profile.h"

typedef struct cp_pbuilder cp_pbuilder;

typedef struct cp_label_in {
    const char *key;
    const char *str;  /* NULL for a numeric label */
    int64_t num;
    const char *unit; /* NULL for none */
} cp_label_in;

typedef struct cp_line_in {
    uint64_t function_id;
    int64_t line;
    int64_t column;
} cp_line_in;

cp_pbuilder *cp_pbuilder_new(bool merge_samples);
void cp_pbuilder_free(cp_pbuilder *b);

int64_t cp_pbuilder_str(cp_pbuilder *b, const char *s); /* -1 on ENOMEM */
int cp_pbuilder_sample_type(cp_pbuilder *b, const char *type, const char *unit);
int cp_pbuilder_period(cp_pbuilder *b, const char *type, const char *unit, int64_t period);
int cp_pbuilder_default_sample_type(cp_pbuilder *b, const char *type);
int cp_pbuilder_comment(cp_pbuilder *b, const char *text);
int cp_pbuilder_drop_keep(cp_pbuilder *b, const char *drop_frames, const char *keep_frames);
void cp_pbuilder_times(cp_pbuilder *b, int64_t time_nanos, int64_t duration_nanos);

/* Returns the id, or 0 on ENOMEM.  Mappings are deduplicated on
 * (start, limit, offset, filename, build_id). */
uint64_t cp_pbuilder_mapping(cp_pbuilder *b, uint64_t start, uint64_t limit, uint64_t offset,
                             const char *filename, const char *build_id, bool has_functions,
                             bool has_filenames, bool has_line_numbers, bool has_inline_frames);
/* Deduplicated on (name, system_name, filename, start_line). */
uint64_t cp_pbuilder_function(cp_pbuilder *b, const char *name, const char *system_name,
                              const char *filename, int64_t start_line);
/* Deduplicated on (mapping, address, lines, is_folded).  mapping_id 0 = none. */
uint64_t cp_pbuilder_location(cp_pbuilder *b, uint64_t mapping_id, uint64_t address,
                              const cp_line_in *lines, size_t nlines, bool is_folded);

/* A location with no mapping or address whose one line is a function of
 * that name (name and system name alike): the frames profiles use for
 * lost samples and other markers.  0 on ENOMEM. */
uint64_t cp_pbuilder_named_location(cp_pbuilder *b, const char *name);

/* The one frame every profile type puts its lost samples on (a full table,
 * a full region: counted, never silently dropped), as Go's profiles carry
 * lostProfileEvent. */
#define CP_LOST_FRAME "cprof_lost_samples"

/* Add a sample: location ids leaf first, one value per sample type. */
int cp_pbuilder_sample(cp_pbuilder *b, const uint64_t *loc_ids, size_t nlocs,
                       const int64_t *values, const cp_label_in *labels, size_t nlabels);

/* The profile built so far; the builder stays usable.  NULL on ENOMEM.
 * Its nul_escaped is set when a profile added with cp_pbuilder_add_profile
 * had it; cp_pbuilder_set_nul_escaped sets it for other copies. */
cp_profile *cp_pbuilder_finish(cp_pbuilder *b);
/* The same, consuming the builder: each of its tables is freed once copied
 * (so the builder and the profile are never both whole: the peak of big
 * merges), then the builder itself, whatever the result. */
cp_profile *cp_pbuilder_finish_free(cp_pbuilder *b);
void cp_pbuilder_set_nul_escaped(cp_pbuilder *b, bool escaped);

/* How cp_pbuilder_copy copies a profile's records and samples into b. */
typedef struct cp_copy_opts {
    double scale;        /* values scaled as go's profile.Scale; 1.0 = unchanged */
    bool used_only;      /* intern only records samples use, in the order of
                          * first use (go's profile.Merge order); else every
                          * record in the source's order */
    bool first_mapping;  /* with used_only: the source's first mapping first */
    bool drop_zero;      /* skip samples whose values are all zero */
    /* when set: the label label_key=label_str replaces any label of that
     * key on every sample (-diff_base's pprof::base=true) */
    const char *label_key, *label_str;
    /* when set: the id of source mapping i in b, 0 on ENOMEM, and the shift
     * added to its locations' addresses; else mappings are interned as they
     * are */
    uint64_t (*map_mapping)(void *ctx, cp_pbuilder *b, const cp_profile *src, uint32_t i,
                            int64_t *addr_shift);
    void *ctx;
} cp_copy_opts;

/* Copy src's samples (and the records they use, re-interned) into b; the
 * header (sample types, period, times, comments) is the caller's.  The one
 * copy path of add_profile, merge, -base, symbolize and the collectors.
 * 0 or a negative code. */
int cp_pbuilder_copy(cp_pbuilder *b, const cp_profile *src, const cp_copy_opts *o);

/* Copy everything of src into b (re-interning), scaling values by `scale`
 * (1.0 = unchanged; -1.0 to subtract for -base).  Sample types must match by
 * name and order, else CPROF_EINVAL with diag. */
int cp_pbuilder_add_profile(cp_pbuilder *b, const cp_profile *src, double scale, cp_diag *diag);

#endif
