/* dupprof.c — profiles whose records repeat, as other writers' profiles
 * may: what go's merge folds (and cprof's in-place fold, prep_fold.c,
 * must fold alike) for the differential comparison with go tool pprof.
 *
 * Usage: dupprof OUT SEED [plain]
 * The profile is assembled as a cp_profile by hand (the builder would
 * deduplicate everything) and encoded as is: every string twice in the
 * string table, every function twice under two ids, mappings that go's
 * mapping key calls equal although they start elsewhere (their locations
 * are moved by the difference), locations equal after that move, samples
 * repeating stacks with their labels in another order, zero samples and
 * pairs that cancel to zero, 1-2 sample types.  Unless "plain": also lines
 * that differ only by column (go's merge ignores columns) and labels with
 * neither a string nor a number (go's decoder drops them).
 * dupprof_make() is shared with the unit test of the fold
 * (tests/unit/analysis/test_fold.c), which builds this file without main.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

cp_profile *dupprof_make(uint64_t seed, bool quirks);

#include "rnd.h"

static const char *const words[] = {
    "", "samples", "count", "cpu", "nanoseconds", "main", "serve", "handle", "parse",
    "ns::Widget::draw()", "leaf", "recurse", "write", "app.c", "/usr/lib/libc.so.6", "/usr/bin/app",
    "b1d", "k", "v1", "v2", "n", "bytes", "note", "other note"};
enum { NW = sizeof words / sizeof *words };

/* word w is string w or, for w > 0, its copy NW - 1 + w */
static int64_t str(uint32_t w) { return w && rnd(2) ? (int64_t)(NW - 1 + w) : (int64_t)w; }

#define NEW(p, n) cp_arena_alloc(&(p)->arena, (n) * sizeof *(p))

cp_profile *dupprof_make(uint64_t seed, bool quirks)
{
    state = seed * 0x9e3779b97f4a7c15ULL + 7;
    cp_profile *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->nstrings = 2 * NW - 1;
    p->strings = cp_arena_alloc(&p->arena, p->nstrings * sizeof *p->strings);
    for (size_t i = 0; i < p->nstrings; i++)
        p->strings[i] = words[i < NW ? i : i - NW + 1];
    p->nsample_types = 1 + rnd(2);
    p->sample_types = cp_arena_alloc(&p->arena, 2 * sizeof *p->sample_types);
    p->sample_types[0] = (cp_value_type){str(1), str(2)};
    p->sample_types[1] = (cp_value_type){str(3), str(4)};
    p->period_type = (cp_value_type){str(3), str(4)};
    p->period = 10000000;
    p->time_nanos = 1700000000000000000LL;
    p->duration_nanos = 1000000000LL;
    p->ncomments = 3;
    p->comments = cp_arena_alloc(&p->arena, 3 * sizeof *p->comments);
    p->comments[0] = str(22);
    p->comments[1] = str(23);
    p->comments[2] = str(22);
    /* mappings 0/1 share go's key (build id), 2/3 too (file name only) */
    static const uint64_t starts[4] = {0x400000, 0x10400000, 0x7f0000000000, 0x7f1000000000};
    p->nmappings = 4;
    p->mappings = cp_arena_alloc(&p->arena, 4 * sizeof *p->mappings);
    for (uint32_t i = 0; i < 4; i++) {
        cp_mapping *m = &p->mappings[i];
        m->id = 10 + i;
        m->start = starts[i];
        m->limit = starts[i] + (i < 2 ? 0x100000 : 0x200000) - (i == 1 ? 0x10 : 0);
        m->filename = i < 2 ? str(15) : str(14);
        m->build_id = i < 2 ? str(16) : 0;
        m->has_functions = true;
    }
    /* functions 5..12 by name, each written twice */
    p->nfunctions = 16;
    p->functions = cp_arena_alloc(&p->arena, 16 * sizeof *p->functions);
    for (uint32_t i = 0; i < 16; i++) {
        cp_function *f = &p->functions[i];
        f->id = 100 + i;
        f->name = str(5 + i % 8);
        f->system_name = str(5 + i % 8);
        f->filename = str(13);
        f->start_line = i % 8;
    }
    p->nlocations = 40;
    p->locations = cp_arena_alloc(&p->arena, 40 * sizeof *p->locations);
    for (uint32_t i = 0; i < 40; i++) {
        cp_location *l = &p->locations[i];
        l->id = 1000 + 3 * i;
        uint32_t m = rnd(5);
        l->mapping = m < 4 ? m : CP_NO_MAPPING;
        l->address = (m < 4 ? starts[m] : 0x500000) + 0x10 * rnd(6);
        l->nlines = rnd(6) == 0 ? 0 : 1 + (rnd(3) == 0);
        l->lines = cp_arena_alloc(&p->arena, 2 * sizeof *l->lines);
        for (uint32_t k = 0; k < l->nlines; k++) {
            uint32_t fn = rnd(4);
            l->lines[k].func = rnd(2) ? fn : fn + 8; /* the function or its copy */
            l->lines[k].line = 10 + rnd(2);
            l->lines[k].column = quirks ? rnd(2) : 0;
        }
    }
    p->nsamples = 80;
    p->samples = cp_arena_alloc(&p->arena, 80 * sizeof *p->samples);
    for (uint32_t i = 0; i < 80; i++) {
        cp_sample *s = &p->samples[i];
        s->values = cp_arena_alloc(&p->arena, 2 * sizeof *s->values);
        s->locs = cp_arena_alloc(&p->arena, 6 * sizeof *s->locs);
        s->labels = cp_arena_alloc(&p->arena, 5 * sizeof *s->labels);
        if (i % 10 == 9) { /* the negation of the sample before: sums cancel */
            cp_sample *o = &p->samples[i - 1];
            for (int k = 0; k < 2; k++)
                s->values[k] = -o->values[k];
            s->nlocs = o->nlocs;
            memcpy(s->locs, o->locs, o->nlocs * sizeof *s->locs);
            s->nlabels = o->nlabels;
            for (uint32_t k = 0; k < o->nlabels; k++) /* in reverse order */
                s->labels[k] = o->labels[o->nlabels - 1 - k];
            continue;
        }
        s->values[0] = (int64_t)rnd(6) - 1;
        s->values[1] = (int64_t)rnd(4) * 10000000;
        s->nlocs = rnd(4);
        for (uint32_t k = 0; k < s->nlocs; k++)
            s->locs[k] = rnd(12) + (rnd(4) == 0 ? 12 : 0);
        s->nlabels = rnd(4);
        for (uint32_t k = 0; k < s->nlabels; k++) {
            cp_label *l = &s->labels[k];
            switch (rnd(quirks ? 4 : 3)) {
            case 0: *l = (cp_label){.key = str(17), .str = str(18 + rnd(2))}; break;
            case 1: *l = (cp_label){.key = str(20), .num = 1 + rnd(2), .num_unit = rnd(2) ? str(21) : 0}; break;
            case 2: *l = (cp_label){.key = str(18), .str = str(19)}; break;
            default: *l = (cp_label){.key = str(17)}; break; /* neither */
            }
        }
    }
    return p;
}

#ifndef DUPPROF_NO_MAIN
int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dupprof OUT SEED [plain]\n");
        return 2;
    }
    cp_profile *p = dupprof_make(strtoull(argv[2], NULL, 10), !(argc > 3 && !strcmp(argv[3], "plain")));
    if (!p || cp_profile_write_file(p, argv[1])) {
        fprintf(stderr, "dupprof: cannot write %s\n", argv[1]);
        return 1;
    }
    cp_profile_free(p);
    return 0;
}
#endif
