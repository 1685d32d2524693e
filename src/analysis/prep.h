/* prep.h — the steps between decoding and the graph: merge, select, filter,
 * aggregate, in go tool pprof's order.
 *
 * Contract: these functions rewrite a profile the analysis owns, in place
 * (subsets only: samples, a sample's locations and a location's lines are
 * compacted, names blanked for coarser granularity), so no copy of a large
 * profile is ever made.  Regexes are POSIX extended, unanchored, like Go's
 * MatchString.  Not thread-safe.
 */
#ifndef CP_ANALYSIS_PREP_H
#define CP_ANALYSIS_PREP_H

#include <regex.h>
#include <stdbool.h>

#include "profile/profile.h"

/* Merge profiles the way go tool pprof's profile.Merge does (ids renumbered
 * by first use, identical samples folded, zero samples dropped); scales[i]
 * multiplies profile i (-1 for -base); diff_base[i] tags its samples
 * pprof::base=true.  Returns a new profile or NULL with diag. */
cp_profile *cp_prep_merge(cp_profile *const *ps, const double *scales, const bool *diff_base,
                          size_t n, cp_diag *diag);
/* The same, taking ownership of ps[0..n): each input is freed (and its slot
 * set to NULL) as soon as the merge no longer needs it, so the inputs and
 * the result never all live at once (merge's and -base's peak memory). */
cp_profile *cp_prep_merge_owned(cp_profile **ps, const double *scales, const bool *diff_base,
                                size_t n, cp_diag *diag);

/* What cp_prep_merge of p alone does, done in place (prep_fold.c): equal
 * mappings, locations and samples folded as go's merge folds them, samples
 * in the same order with the same values, zero samples dropped.  With ids,
 * also what it does to ids and records: mappings, functions and locations
 * numbered 1, 2, ... in go's order, records no sample uses and repeated
 * functions and strings gone, columns cleared (raw, proto and merge show
 * or write these); without, ids and unused records are left as they were
 * (every other report).  0 or CPROF_ENOMEM (p is then half-folded). */
int cp_prep_fold(cp_profile *p, bool ids);
/* A profile of at least this many locations has them settled on a second
 * thread while the fold walks its samples, and its concatenation and
 * final gathering split between two threads (tests lower it to 0). */
extern size_t cp_prep_fold_parallel_locations;
/* cp_prep_merge_owned's result made by concatenating the profiles and
 * folding them in place (cp_prep_fold with ids as given): no builder, no
 * copy of the records.  Only when cp_prep_fold_merge_ok says
 * it gives the same (n >= 2, scales of 1 or -1, no diff_base, compatible
 * types, equal string escaping).  Takes ownership of ps[0..n) (slots set
 * to NULL); NULL on ENOMEM. */
bool cp_prep_fold_merge_ok(cp_profile *const *ps, const double *scales, const bool *diff_base,
                           size_t n);
cp_profile *cp_prep_fold_merge(cp_profile **ps, const double *scales, size_t n, bool ids);

/* What both merges share (prep_merge.c): whether b can be merged with a
 * (the same sample and period types, by text), and the merged header's
 * times as go's merge makes them (earliest start, summed durations,
 * largest period), added one profile at a time from {0}. */
bool cp_prep_same_types(const cp_profile *a, const cp_profile *b);
typedef struct cp_merge_times {
    int64_t time_nanos, duration_nanos, period;
} cp_merge_times;
void cp_prep_merge_times_add(cp_merge_times *t, const cp_profile *q);

/* -tagroot and -tagleaf (comma-separated label keys): pseudo frames named by
 * each sample's label values, added above the root or below the leaf, as
 * go tool pprof's addLabelNodes.  rootm and leafm tell whether any sample had
 * such a label. */
int cp_prep_label_frames(cp_profile *p, const char *root_keys, const char *leaf_keys,
                         const char *out_unit, bool *rootm, bool *leafm);

/* Whether s carries pprof::base=true: a -diff_base sample, subtracted. */
bool cp_prep_is_diff_base(const cp_profile *p, const cp_sample *s);

/* -normalize: scale p so each sample type sums to what it sums to in base
 * (profile.Normalize). */
int cp_prep_normalize(cp_profile *p, const cp_profile *base, cp_diag *diag);

/* -add_comment: append a comment to the profile. */
int cp_prep_add_comment(cp_profile *p, const char *text);

/* True when some sample has a negative value (merging then changes totals). */
bool cp_prep_has_negative(const cp_profile *p);
/* Remove samples whose values are all zero, as a merge would. */
void cp_prep_drop_zero_samples(cp_profile *p);

typedef struct cp_name_filter {
    regex_t *focus, *ignore, *hide, *show; /* NULL = unset */
    bool fm, im, hm, hnm;                  /* matched anything (out) */
} cp_name_filter;
void cp_prep_filter_names(cp_profile *p, cp_name_filter *f);

/* -show_from: cut each stack above its outermost matching frame; samples
 * without one go.  Returns whether anything matched. */
bool cp_prep_show_from(cp_profile *p, const regex_t *rx);
/* -tagshow/-taghide: keep only label keys matching show and not hide. */
void cp_prep_filter_tag_names(cp_profile *p, const regex_t *show, const regex_t *hide, bool *sm,
                              bool *hm);
/* -prune_from: drop the frames beneath the first matching one. */
void cp_prep_prune_from(cp_profile *p, const regex_t *rx);

/* A compiled -tagfocus/-tagignore value. */
typedef struct cp_tag_filter cp_tag_filter;
/* NULL with *err set to a message (static or in errbuf) on a bad regex. */
cp_tag_filter *cp_prep_tag_filter_new(const char *value, char *errbuf, size_t errlen);
void cp_prep_tag_filter_free(cp_tag_filter *t);
/* True when the value was read as a numeric range ("1kB:", "2:8MB"). */
bool cp_prep_tag_filter_is_range(const cp_tag_filter *t);
void cp_prep_filter_tags(cp_profile *p, cp_tag_filter *focus, cp_tag_filter *ignore, bool *fm,
                         bool *im);

/* The unit of each numeric label key (profile.NumLabelUnits). */
const char *cp_prep_num_label_unit(const cp_profile *p, int64_t key);
/* The same for every numeric key at once, indexed by the key's string
 * index (other entries NULL), in one pass over the samples instead of one
 * per call: for reports that ask per label.  NULL on ENOMEM; free() it. */
const char **cp_prep_num_label_units(const cp_profile *p);

/* What go tool pprof's symbolizer does to names before any report: a
 * function whose name equals its system name (or is empty) and looks like
 * C++ loses its (…) and <…> groups; an empty name takes the system name. */
int cp_prep_demangle(cp_profile *p);

/* profile.RemoveUninteresting: cut stacks at the profile's drop_frames
 * (unless keep_frames), as go tool pprof does right after reading.  0, or
 * CPROF_EINVAL with a message for a bad pattern. */
int cp_prep_remove_uninteresting(cp_profile *p, char *err, size_t errlen);

typedef enum cp_granularity {
    CP_GRAN_FUNCTIONS,
    CP_GRAN_FILEFUNCTIONS,
    CP_GRAN_FILES,
    CP_GRAN_LINES,
    CP_GRAN_ADDRESSES,
} cp_granularity;
void cp_prep_aggregate(cp_profile *p, cp_granularity g, bool inlines);

/* report.computeTotal: sum of |value| (only diff-base samples when any),
 * divided by the sum of the divisor value (div_index >= 0, for -mean). */
int64_t cp_prep_total(const cp_profile *p, int sample_index, int div_index);

/* Index of a -sample_index value (name, inuse_ alias or number), or -1 with
 * a message in err. */
int cp_prep_sample_index(const cp_profile *p, const char *value, char *err, size_t errlen);

#endif
