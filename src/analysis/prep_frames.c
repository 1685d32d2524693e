/* prep_frames.c — what go tool pprof does to frames right after reading:
 * simplify C++-looking names, apply drop_frames/keep_frames, -prune_from.
 *
 * What: symbolizer.demangleSingleFunction's heuristic (for names equal to
 * their system name), profile.Prune and PruneFrom with go's simplifyFunc.
 * Data structure: a byte of state per location, stacks cut in place by
 * moving the sample's location pointer.  Alternatives rejected: a C++
 * demangler for mangled-only names (cprof's symbolizer already writes
 * demangled names; go would need the same demangler to agree).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/prep.h"
#include "analysis/rx.h"

static bool rx_match(const regex_t *rx, const char *s)
{
    return regexec(rx, s, 0, NULL, 0) == 0;
}

/* ---- names as go tool pprof's symbolizer leaves them -------------------- */

static bool looks_like_cpp(const char *n)
{
    if (strstr(n, ".<") || strstr(n, "])."))
        return false;
    return strpbrk(n, "<>[]") || strstr(n, "::");
}

/* symbolizer.removeMatching: drop nested start..end groups in place. */
static void remove_matching(char *name, char open, char close)
{
    int nesting = 0;
    size_t first = 0;
    for (size_t cur = 0; name[cur]; cur++) {
        if (name[cur] == open) {
            if (++nesting == 1)
                first = cur;
        } else if (name[cur] == close) {
            if (--nesting < 0)
                return; /* mismatch: leave the rest alone, as go does */
            if (nesting == 0) {
                memmove(name + first, name + cur + 1, strlen(name + cur + 1) + 1);
                cur = first - 1; /* wraps for first == 0; the ++ brings it back */
            }
        }
    }
}

int cp_prep_demangle(cp_profile *p)
{
    size_t extra = 0;
    for (size_t i = 0; i < p->nfunctions; i++) {
        const cp_function *f = &p->functions[i];
        const char *n = cp_str(p, f->name), *sys = cp_str(p, f->system_name);
        if ((!*n || !strcmp(sys, n)) && looks_like_cpp(sys))
            extra++;
        else if (!*n && *sys)
            p->functions[i].name = f->system_name;
    }
    if (!extra)
        return 0; /* nothing to simplify: no copy of the string table */
    const char **strs = cp_arena_alloc(&p->arena, (p->nstrings + extra) * sizeof *strs);
    if (!strs)
        return CPROF_ENOMEM;
    memcpy(strs, p->strings, p->nstrings * sizeof *strs);
    size_t ns = p->nstrings;
    for (size_t i = 0; i < p->nfunctions && ns < p->nstrings + extra; i++) {
        cp_function *f = &p->functions[i];
        const char *n = cp_str(p, f->name), *sys = cp_str(p, f->system_name);
        if (*n && strcmp(sys, n))
            continue; /* already demangled */
        if (!looks_like_cpp(sys)) {
            if (!*n && *sys)
                f->name = f->system_name;
            continue;
        }
        char *x = cp_arena_strndup(&p->arena, sys, strlen(sys));
        if (!x)
            return CPROF_ENOMEM;
        remove_matching(x, '(', ')');
        remove_matching(x, '<', '>');
        strs[ns] = x;
        f->name = (int64_t)ns++;
    }
    p->strings = strs;
    p->nstrings = ns;
    return 0;
}

/* ---- drop_frames / keep_frames ------------------------------------------ */

/* profile.simplifyFunc: cut at the first "(" that does not belong to
 * "(anonymous namespace)" or "operator()". */
static void simplify_func(const char *name, char *out, size_t n)
{
    if (*name == '.')
        name++;
    size_t cut = strlen(name);
    for (size_t i = 0; name[i];) {
        if (!strncmp(name + i, "(anonymous namespace)", 21)) {
            i += 21;
            continue;
        }
        if (!strncmp(name + i, "operator()", 10)) {
            i += 10;
            continue;
        }
        if (name[i] == '(') {
            cut = i;
            break;
        }
        i++;
    }
    snprintf(out, n, "%.*s", (int)cut, name);
}

int cp_prep_remove_uninteresting(cp_profile *p, char *err, size_t errlen)
{
    const char *drop = cp_str(p, p->drop_frames), *keep = cp_str(p, p->keep_frames);
    if (!*drop)
        return 0;
    regex_t drx, krx;
    char *pat = malloc(strlen(drop) + strlen(keep) + 8);
    if (!pat)
        return CPROF_ENOMEM;
    sprintf(pat, "^(%s)$", drop);
    if (cp_rx_compile(&drx, pat, err, errlen)) {
        free(pat);
        return CPROF_EINVAL;
    }
    bool have_keep = false;
    if (*keep) {
        sprintf(pat, "^(%s)$", keep);
        if (cp_rx_compile(&krx, pat, err, errlen)) {
            regfree(&drx);
            free(pat);
            return CPROF_EINVAL;
        }
        have_keep = true;
    }
    free(pat);
    uint8_t *st = calloc(p->nlocations + 1, 1); /* 1 prune, 2 prune beneath */
    if (!st) {
        regfree(&drx);
        if (have_keep)
            regfree(&krx);
        return CPROF_ENOMEM;
    }
    char name[4096];
    for (size_t li = 0; li < p->nlocations; li++) {
        cp_location *l = &p->locations[li];
        int64_t i;
        for (i = (int64_t)l->nlines - 1; i >= 0; i--) {
            const cp_line *ln = &l->lines[i];
            if (ln->func == CP_NO_FUNCTION || !*cp_str(p, p->functions[ln->func].name))
                continue;
            simplify_func(cp_str(p, p->functions[ln->func].name), name, sizeof name);
            if (rx_match(&drx, name) && (!have_keep || !rx_match(&krx, name)))
                break;
        }
        if (i >= 0) {
            st[li] |= 2;
            if (i == (int64_t)l->nlines - 1)
                st[li] |= 1;
            else {
                l->lines += i + 1;
                l->nlines -= (uint32_t)(i + 1);
            }
        }
    }
    for (size_t si = 0; si < p->nsamples; si++) {
        cp_sample *s = &p->samples[si];
        bool user = false;
        for (int64_t i = (int64_t)s->nlocs - 1; i >= 0; i--) {
            uint8_t x = st[s->locs[i]];
            if (!x) {
                user = true;
                continue;
            }
            if (!user)
                continue;
            uint32_t from = (x & 1) ? (uint32_t)i + 1 : (uint32_t)i;
            s->locs += from;
            s->nlocs -= from;
            break;
        }
    }
    free(st);
    regfree(&drx);
    if (have_keep)
        regfree(&krx);
    return 0;
}

void cp_prep_prune_from(cp_profile *p, const regex_t *rx)
{
    uint8_t *beneath = calloc(p->nlocations + 1, 1);
    if (!beneath)
        return;
    char name[4096];
    for (size_t li = 0; li < p->nlocations; li++) {
        cp_location *l = &p->locations[li];
        for (uint32_t i = 0; i < l->nlines; i++) {
            const cp_line *ln = &l->lines[i];
            if (ln->func == CP_NO_FUNCTION || !*cp_str(p, p->functions[ln->func].name))
                continue;
            simplify_func(cp_str(p, p->functions[ln->func].name), name, sizeof name);
            if (rx_match(rx, name)) {
                beneath[li] = 1;
                l->lines += i;
                l->nlines -= i;
                break;
            }
        }
    }
    for (size_t si = 0; si < p->nsamples; si++) {
        cp_sample *s = &p->samples[si];
        for (uint32_t i = 0; i < s->nlocs; i++)
            if (beneath[s->locs[i]]) {
                s->locs += i;
                s->nlocs -= i;
                break;
            }
    }
    free(beneath);
}

