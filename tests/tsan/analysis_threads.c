/* analysis_threads.c — ThreadSanitizer run of the analyzer's two-thread
 * paths: the graph built on two threads (cp_graph_parallel_frames = 0:
 * halves of the samples when trimmed, both walking every sample for the
 * callees of their parity otherwise, merged in first-met order), top's
 * inline-mark rounds split by callee parity (then by samples), tree/peek
 * and traces printed in chunks by two threads that take turns writing
 * (tree's list entries made by two threads, against one thread sorting by
 * names), and the fold (go's
 * merge in place) settling locations on a second thread behind its walk
 * over samples, concatenating two profiles and gathering the result on
 * two, with ids and without; the decoder's samples in two halves.  Each is also done on one thread
 * and the results must be equal: a race shows up either as a TSan report
 * (halt_on_error) or as different bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/graph.h"
#include "analysis/prep.h"
#include "analysis/report.h"
#include "../unit/analysis/testprof.h"

/* p (a copy) folded on one thread or two, encoded */
static cp_buf folded(const cp_profile *src, bool ids, size_t parallel)
{
    cp_buf b = {0};
    cp_profile *p;
    cp_diag d;
    if (cp_profile_encode(src, &b) || cp_profile_decode(b.data, b.len, NULL, &p, &d))
        exit(1);
    b.len = 0;
    cp_prep_fold_parallel_locations = parallel;
    if (cp_prep_fold(p, ids) || cp_profile_encode(p, &b))
        exit(1);
    cp_profile_free(p);
    return b;
}

/* a and b (copies) merged by concatenation and fold, on one thread or
 * two, encoded */
static cp_buf fold_merged(const cp_profile *a, const cp_profile *b, bool ids, size_t parallel)
{
    cp_buf one = folded(a, false, SIZE_MAX), two = folded(b, false, SIZE_MAX);
    cp_profile *ps[2];
    cp_diag d;
    if (cp_profile_decode(one.data, one.len, NULL, &ps[0], &d) ||
        cp_profile_decode(two.data, two.len, NULL, &ps[1], &d))
        exit(1);
    cp_buf_free(&one);
    cp_buf_free(&two);
    cp_prep_fold_parallel_locations = parallel;
    cp_profile *m = cp_prep_fold_merge(ps, NULL, 2, ids);
    cp_buf out = {0};
    if (!m || cp_profile_encode(m, &out))
        exit(1);
    cp_profile_free(m);
    return out;
}

static char *run(int (*fn)(cp_report *, FILE *), cp_profile *p, regex_t *rx)
{
    char *buf = report_text(fn, p, 0, rx);
    if (!buf) {
        fprintf(stderr, "analysis_threads: report failed\n");
        exit(1);
    }
    return buf;
}

int main(void)
{
    regex_t all;
    if (regcomp(&all, ".", REG_EXTENDED | REG_NOSUB))
        return 1;
    int bad = 0;
    for (unsigned seed = 1; seed <= 2; seed++) {
        cp_profile *p = random_profile_of(seed, 60, 200, 4000);
        /* locations enough for the walk to publish ranks many times */
        cp_profile *big = random_profile_of(seed, 400, 6000, 6000);
        for (int ids = 0; ids < 2; ids++) {
            cp_buf one = folded(big, ids, SIZE_MAX), two = folded(big, ids, 0);
            if (one.len != two.len || memcmp(one.data, two.data, one.len)) {
                fprintf(stderr, "analysis_threads: fold (ids %d, seed %u) differs\n", ids, seed);
                bad = 1;
            }
            cp_buf_free(&one);
            cp_buf_free(&two);
            cp_profile *other = random_profile_of(seed + 9, 400, 6000, 6000);
            one = fold_merged(big, other, ids, SIZE_MAX);
            two = fold_merged(big, other, ids, 0);
            if (one.len != two.len || memcmp(one.data, two.data, one.len)) {
                fprintf(stderr, "analysis_threads: fold merge (ids %d, seed %u) differs\n", ids,
                        seed);
                bad = 1;
            }
            cp_buf_free(&one);
            cp_buf_free(&two);
            cp_profile_free(other);
        }
        cp_profile_free(big);
        /* the decoder's samples in two halves (labels included) */
        cp_profile *many = random_profile_of(seed, 200, 3000, 12000);
        cp_buf raw = {0}, e1 = {0}, e2 = {0};
        cp_profile *q1, *q2;
        cp_diag d;
        cp_decode_opts o1 = {0}, o2 = {.two_threads = true};
        if (cp_profile_encode(many, &raw) || cp_profile_decode(raw.data, raw.len, &o1, &q1, &d) ||
            cp_profile_decode(raw.data, raw.len, &o2, &q2, &d) || cp_profile_encode(q1, &e1) ||
            cp_profile_encode(q2, &e2))
            exit(1);
        if (e1.len != e2.len || memcmp(e1.data, e2.data, e1.len) || q2->nsamples < 8192) {
            fprintf(stderr, "analysis_threads: decode (seed %u) differs\n", seed);
            bad = 1;
        }
        cp_profile_free(q1);
        cp_profile_free(q2);
        cp_profile_free(many);
        cp_buf_free(&raw);
        cp_buf_free(&e1);
        cp_buf_free(&e2);
        cp_prep_aggregate(p, CP_GRAN_FUNCTIONS, true);
        struct {
            const char *name;
            int (*fn)(cp_report *, FILE *);
            regex_t *rx;
        } reps[] = {{"top", cp_report_top, NULL}, {"tree", cp_report_tree, NULL},
                    {"peek .", cp_report_tree, &all}, {"traces", cp_report_traces, NULL}};
        for (size_t k = 0; k < sizeof reps / sizeof reps[0]; k++) {
            cp_graph_parallel_frames = SIZE_MAX;
            cp_report_round_frames = SIZE_MAX;
            cp_report_tree_chunk_lines = SIZE_MAX;
            cp_graph_rank_edges = SIZE_MAX;
            cp_graph_parallel_entries = SIZE_MAX;
            cp_report_few_edges = 0;
            cp_report_traces_chunk_bytes = SIZE_MAX;
            char *one = run(reps[k].fn, p, reps[k].rx);
            cp_graph_parallel_frames = 0;
            cp_report_round_frames = 5000;
            cp_report_tree_chunk_lines = 5;
            cp_graph_rank_edges = 0;
            cp_graph_parallel_entries = 0;
            cp_report_few_edges = SIZE_MAX;
            cp_report_traces_chunk_bytes = 2000;
            char *two = run(reps[k].fn, p, reps[k].rx);
            if (strcmp(one, two) != 0 || strlen(one) < 200) {
                fprintf(stderr, "analysis_threads: %s (seed %u): texts differ\n", reps[k].name,
                        seed);
                bad = 1;
            }
            free(one);
            free(two);
        }
        cp_profile_free(p);
    }
    regfree(&all);
    if (!bad)
        printf("analysis_threads: decode, fold, top, tree, peek ., traces on two threads equal one "
               "thread's\n");
    return bad;
}
