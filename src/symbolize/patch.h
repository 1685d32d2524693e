/* patch.h — a new profile from an old one with some locations renamed.
 *
 * Contract: both symbolizers (the ELF-only namer that runs inside the
 * profiled process, and cp_symbolize with DWARF in the CLI) decide per
 * location which frames it should hold and leave the rest to this: the
 * input profile is never modified; cp_patch_finish returns a fresh one in
 * which the locations given frames hold exactly those frames (innermost
 * first), mappings carry the flags set through cp_patch_mapping, and
 * everything else (samples, labels, comments, periods) comes through as
 * the builder copies it for merge.  Uses malloc; one thread per patch.
 */
#ifndef CP_SYMBOLIZE_PATCH_H
#define CP_SYMBOLIZE_PATCH_H

#include <stdint.h>

#include "base/errors.h"
#include "base/hashmap.h"
#include "profile/profile.h"

/* One frame of a location: what becomes a cp_line and its cp_function. */
typedef struct cp_frame {
    const char *name;        /* demangled for C++; never NULL */
    const char *system_name; /* as in the binary (mangled); never NULL */
    const char *file;        /* source file, "" when unknown */
    int64_t line, column;    /* 0 when unknown */
    int64_t start_line;      /* the function's declaration line, 0 if unknown */
} cp_frame;

typedef struct cp_patch {
    const cp_profile *in;
    cp_mapping *maps;   /* copies of in's mappings, flags writable */
    cp_location *locs;  /* copies of in's locations */
    size_t *line_off;   /* per location: into linepool, SIZE_MAX = unchanged */
    cp_strtab strs;     /* new strings; view index = in->nstrings + index */
    cp_function *funcs; /* new functions, view index = in->nfunctions + index */
    size_t nfuncs, funcs_cap;
    cp_map func_index;  /* content hash -> view function index + 1 */
    cp_line *linepool;
    size_t nlines, lines_cap;
} cp_patch;

/* 0 or CPROF_ENOMEM (then call cp_patch_free all the same). */
int cp_patch_init(cp_patch *pt, const cp_profile *in);

/* Location li (an index into in->locations) will hold frames[0..n). */
int cp_patch_set_lines(cp_patch *pt, size_t li, const cp_frame *frames, int n);

/* The writable copy of mapping mi. */
static inline cp_mapping *cp_patch_mapping(cp_patch *pt, size_t mi) { return &pt->maps[mi]; }

/* The new profile; the patch stays to be freed. */
int cp_patch_finish(cp_patch *pt, cp_profile **out, cp_diag *diag);

void cp_patch_free(cp_patch *pt);

#endif
