/* patch.c — a "patched view" of a profile, rebuilt by the builder.
 *
 * What: a cp_profile struct whose arrays are copies where something
 * changes (mappings' has_* flags, locations' lines) and whose string and
 * function tables are the input's followed by the new entries (new
 * strings interned in a cp_strtab, new functions deduplicated through a
 * hash map).  The view is handed to cp_pbuilder_add_profile, which
 * re-interns everything into a fresh profile; functions and strings the
 * patch made unused simply do not come through.
 *
 * Alternatives rejected: rebuilding the profile field by field (a second
 * copy of the builder's copying logic to keep in step); editing the
 * decoded profile in place (its arrays live in an arena and cannot grow,
 * and callers may share it).
 */
#include "symbolize/patch.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cprof.h"
#include "profile/builder.h"

int cp_patch_init(cp_patch *pt, const cp_profile *in)
{
    memset(pt, 0, sizeof *pt);
    pt->in = in;
    pt->maps = calloc(in->nmappings + 1, sizeof *pt->maps);
    pt->locs = calloc(in->nlocations + 1, sizeof *pt->locs);
    pt->line_off = malloc((in->nlocations + 1) * sizeof *pt->line_off);
    if (!pt->maps || !pt->locs || !pt->line_off)
        return CPROF_ENOMEM;
    if (in->nmappings)
        memcpy(pt->maps, in->mappings, in->nmappings * sizeof *pt->maps);
    if (in->nlocations)
        memcpy(pt->locs, in->locations, in->nlocations * sizeof *pt->locs);
    for (size_t i = 0; i < in->nlocations; i++)
        pt->line_off[i] = SIZE_MAX;
    return 0;
}

static int64_t view_str(cp_patch *pt, const char *s)
{
    int64_t k = cp_strtab_add(&pt->strs, s);
    return k < 0 ? -1 : (int64_t)pt->in->nstrings + k;
}

/* View index of the function for a frame (existing or new), or -1. */
static int64_t view_func(cp_patch *pt, const cp_frame *fr)
{
    int64_t name = view_str(pt, fr->name), sys = view_str(pt, fr->system_name),
            file = view_str(pt, fr->file);
    if (name < 0 || sys < 0 || file < 0)
        return -1;
    int64_t key[4] = {name, sys, file, fr->start_line};
    uint64_t h = cp_hash_bytes(key, sizeof key, 0x5eed), v;
    if (cp_map_get(&pt->func_index, h, &v)) {
        const cp_function *f = &pt->funcs[v - 1 - pt->in->nfunctions];
        if (f->name == name && f->system_name == sys && f->filename == file &&
            f->start_line == fr->start_line)
            return (int64_t)v - 1;
    }
    if (cp_grow(&pt->funcs, &pt->funcs_cap, pt->nfuncs + 1, sizeof *pt->funcs))
        return -1;
    size_t vi = pt->in->nfunctions + pt->nfuncs;
    cp_function *f = &pt->funcs[pt->nfuncs++];
    *f = (cp_function){.id = vi + 1, .name = name, .system_name = sys, .filename = file,
                       .start_line = fr->start_line};
    if (cp_map_put(&pt->func_index, h, vi + 1))
        return -1;
    return (int64_t)vi;
}

int cp_patch_set_lines(cp_patch *pt, size_t li, const cp_frame *frames, int n)
{
    if (n < 0 || cp_grow(&pt->linepool, &pt->lines_cap, pt->nlines + (size_t)n + 1,
                         sizeof *pt->linepool))
        return CPROF_ENOMEM;
    size_t off = pt->nlines;
    for (int k = 0; k < n; k++) {
        int64_t fi = view_func(pt, &frames[k]);
        if (fi < 0)
            return CPROF_ENOMEM;
        pt->linepool[pt->nlines++] = (cp_line){.func = (uint32_t)fi, .line = frames[k].line,
                                               .column = frames[k].column};
    }
    pt->line_off[li] = off;
    pt->locs[li].nlines = (uint32_t)n;
    return 0;
}

int cp_patch_finish(cp_patch *pt, cp_profile **out, cp_diag *diag)
{
    const cp_profile *in = pt->in;
    const char **strings = NULL;
    cp_function *funcs = NULL;
    cp_pbuilder *b = NULL;
    int rc = CPROF_ENOMEM;
    /* The pool has stopped growing: point the patched locations at it. */
    for (size_t i = 0; i < in->nlocations; i++)
        if (pt->line_off[i] != SIZE_MAX)
            pt->locs[i].lines = pt->linepool + pt->line_off[i];
    size_t nf = in->nfunctions + pt->nfuncs;
    strings = malloc((in->nstrings + pt->strs.len + 1) * sizeof *strings);
    funcs = malloc((nf + 1) * sizeof *funcs);
    if (!strings || !funcs)
        goto out;
    if (in->nstrings)
        memcpy(strings, in->strings, in->nstrings * sizeof *strings);
    for (size_t i = 0; i < pt->strs.len; i++)
        strings[in->nstrings + i] = pt->strs.strs[i];
    if (in->nfunctions)
        memcpy(funcs, in->functions, in->nfunctions * sizeof *funcs);
    if (pt->nfuncs)
        memcpy(funcs + in->nfunctions, pt->funcs, pt->nfuncs * sizeof *funcs);
    cp_profile view = *in;
    view.strings = strings;
    view.nstrings = in->nstrings + pt->strs.len;
    view.functions = funcs;
    view.nfunctions = nf;
    view.mappings = pt->maps;
    view.locations = pt->locs;
    if (!(b = cp_pbuilder_new(false)))
        goto out;
    if ((rc = cp_pbuilder_add_profile(b, &view, 1.0, diag)))
        goto out;
    cp_profile *p = cp_pbuilder_finish(b);
    rc = CPROF_ENOMEM;
    if (!p)
        goto out;
    *out = p;
    rc = 0;
out:
    cp_pbuilder_free(b);
    free(strings);
    free(funcs);
    return rc;
}

void cp_patch_free(cp_patch *pt)
{
    free(pt->maps);
    free(pt->locs);
    free(pt->line_off);
    free(pt->funcs);
    free(pt->linepool);
    cp_map_free(&pt->func_index);
    cp_strtab_free(&pt->strs);
    memset(pt, 0, sizeof *pt);
}
