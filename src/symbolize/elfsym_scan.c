/* elfsym_scan.c — names for a batch of addresses in one symbol-table pass.
 *
 * What: the addresses are sorted; each function symbol of the chosen table
 * is read once and offered to the addresses it covers (found by
 * bisection).  Per address the best offer wins: higher binding rank
 * (global 3 > weak 2 > local 1), then an unversioned name over a
 * versioned one (memcpy over memcpy@GLIBC_2.2.5), then the first in the
 * table.  A symbol of size 0 (hand-written assembly) holds an address only
 * when no sized symbol does, when it starts at the nearest symbol start at
 * or below the address, and the address lies in its section.  That
 * nearest start is found without a sorted table: each symbol drops its
 * start into the bucket of the first address at or above it, and a prefix
 * maximum over the buckets gives every address its nearest start.
 *
 * Data structure: per address a candidate {symbol index, rank, versioned
 * or not yet known}; per address a bucket {start, best size-0 candidate}.
 * Names are read only for candidates that tie on rank and for the
 * winners, and copied; the pages read are handed back at once, those of
 * the symbol table as the pass moves on, so a big binary (node: 2.6 MB of
 * .symtab, 7 MB of names) adds well under a megabyte to the peak RSS.
 *
 * Alternatives rejected: sorting the whole table into an index (node's
 * 110,000 symbols: 3.5 MB of index plus every name read to order aliases;
 * measured +50 ms and +19 MiB at exit), for the few hundred addresses a
 * profile holds per binary; a linear scan per address (symbols x
 * addresses reads).
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cprof.h"
#include "symbolize/elfsym_int.h"

typedef struct cand {
    uint32_t sym; /* index in the table; 0 = none */
    int8_t rank;
    int8_t ver;   /* versioned: 1, not: 0, not read yet: -1 */
} cand;

typedef struct bucket {
    uint64_t start;
    bool set;
    cand zero; /* best size-0 symbol at start */
} bucket;

typedef struct scan {
    cp_elfsym *f;
    const unsigned char *syms;
    size_t nsyms;
    const Elf64_Shdr *strsec;
} scan;

static Elf64_Sym sym_at(const scan *sc, uint32_t i)
{
    Elf64_Sym s;
    memcpy(&s, sc->syms + (size_t)i * sizeof s, sizeof s);
    return s;
}

static const char *sym_name(const scan *sc, uint32_t i)
{
    Elf64_Sym s = sym_at(sc, i);
    return cp_elfsym_str_at(sc->f->symimg, sc->strsec, s.st_name);
}

static int8_t versioned(const scan *sc, uint32_t i)
{
    const char *n = sym_name(sc, i);
    int8_t v = n && strchr(n, '@') ? 1 : 0;
    if (n)
        cp_elfsym_release_near(sc->f->symimg, n);
    return v;
}

/* Offer symbol i (rank) to candidate c. */
static void offer(const scan *sc, cand *c, uint32_t i, int8_t rank)
{
    if (c->sym && rank < c->rank)
        return;
    if (c->sym && rank == c->rank) {
        if (c->ver < 0)
            c->ver = versioned(sc, c->sym);
        int8_t v = versioned(sc, i);
        if (v >= c->ver)
            return; /* keep the first of equals */
        *c = (cand){i, rank, v};
        return;
    }
    *c = (cand){i, rank, -1};
}

/* First index k with a[k] >= x. */
static size_t lower_bound(const uint64_t *a, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static cp_elfsym_plt *plt_at(cp_elfsym *f, uint64_t a)
{
    size_t lo = 0, hi = f->nplt;
    while (lo < hi) { /* first stub starting after a */
        size_t mid = lo + (hi - lo) / 2;
        if (f->plt[mid].start <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && a - f->plt[lo - 1].start < f->plt[lo - 1].size ? &f->plt[lo - 1] : NULL;
}

static bool in_section(const scan *sc, uint32_t i, uint64_t a)
{
    Elf64_Sym s = sym_at(sc, i);
    const cp_elfimg *im = sc->f->symimg;
    if (s.st_shndx >= im->shnum)
        return false;
    const Elf64_Shdr *sh = &im->sh[s.st_shndx];
    return a >= sh->sh_addr && a - sh->sh_addr < sh->sh_size;
}

/* The name to show for symbol i, without a "@@VERSION" suffix, copied so
 * the pages read for it can go at once (reading one name maps the 64 KiB
 * around it; a profile's few hundred names would otherwise map most of a
 * big string table). */
static const char *shown(scan *sc, uint32_t i)
{
    const cp_elfimg *im = sc->f->symimg;
    const char *n = sym_name(sc, i);
    cp_elfsym_release_near(im, sc->syms + (size_t)i * sizeof(Elf64_Sym));
    if (!n || !n[0])
        return NULL;
    const char *at = strstr(n, "@@");
    const char *copy = cp_elfsym_own(sc->f, n, at ? (size_t)(at - n) : strlen(n), "");
    cp_elfsym_release_near(im, n);
    return copy;
}

static void pass(scan *sc, const uint64_t *a, size_t n, const bool *done, cand *best,
                 bucket *bk)
{
    enum { CHUNK = 4096 };
    const cp_elfimg *im = sc->f->symimg;
    for (size_t i = 1; i < sc->nsyms; i++) {
        if (i % CHUNK == 0) /* read once: let these pages go */
            cp_elfsym_release(im, sc->syms + (i - CHUNK) * sizeof(Elf64_Sym),
                              CHUNK * sizeof(Elf64_Sym));
        Elf64_Sym s = sym_at(sc, (uint32_t)i);
        int type = ELF64_ST_TYPE(s.st_info), bind = ELF64_ST_BIND(s.st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF ||
            s.st_shndx == SHN_ABS || !s.st_name)
            continue;
        int8_t rank = bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : 1;
        size_t lo = lower_bound(a, n, s.st_value);
        if (lo < n) {
            bucket *b = &bk[lo];
            if (!b->set || s.st_value > b->start)
                *b = (bucket){.start = s.st_value, .set = true};
            if (s.st_size == 0 && s.st_value == b->start)
                offer(sc, &b->zero, (uint32_t)i, rank);
        }
        for (size_t k = lo; s.st_size && k < n && a[k] - s.st_value < s.st_size; k++)
            if (!done[k])
                offer(sc, &best[k], (uint32_t)i, rank);
    }
    /* Each address's nearest symbol start at or below it: the running
     * maximum of the buckets so far. */
    bucket run = {0};
    for (size_t k = 0; k < n; k++) {
        if (bk[k].set) {
            if (!run.set || bk[k].start > run.start)
                run = bk[k];
            else if (bk[k].start == run.start && bk[k].zero.sym)
                offer(sc, &run.zero, bk[k].zero.sym, bk[k].zero.rank);
        }
        if (!done[k] && !best[k].sym && run.set && run.zero.sym &&
            in_section(sc, run.zero.sym, a[k]))
            best[k] = run.zero;
    }
}

static int cmp_u64_idx(const void *x, const void *y, void *arg)
{
    const uint64_t *v = arg;
    uint64_t a = v[*(const size_t *)x], b = v[*(const size_t *)y];
    return a < b ? -1 : a > b;
}

int cp_elfsym_names(cp_elfsym *f, const uint64_t *vaddrs, size_t n, const char **names)
{
    int rc = CPROF_ENOMEM;
    size_t *ord = malloc((n + 1) * sizeof *ord);
    uint64_t *a = malloc((n + 1) * sizeof *a);
    bool *done = calloc(n + 1, sizeof *done);
    cand *best = calloc(n + 1, sizeof *best);
    bucket *bk = calloc(n + 1, sizeof *bk);
    if (!ord || !a || !done || !best || !bk)
        goto out;
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    if (n > 1)
        qsort_r(ord, n, sizeof *ord, cmp_u64_idx, (void *)vaddrs);
    for (size_t k = 0; k < n; k++) {
        a[k] = vaddrs[ord[k]];
        cp_elfsym_plt *p = plt_at(f, a[k]);
        if (p && cp_elfsym_plt_name(f, p))
            goto out;
        names[ord[k]] = p ? p->name : NULL;
        done[k] = p != NULL;
    }
    size_t size;
    const unsigned char *syms =
        f->symsec ? cp_elfsym_sec_data(f->symimg, f->symsec, &size) : NULL;
    const Elf64_Shdr *strsec = syms ? cp_elfsym_sec_link(f->symimg, f->symsec) : NULL;
    if (syms && strsec &&
        (!f->symsec->sh_entsize || f->symsec->sh_entsize == sizeof(Elf64_Sym)) &&
        size / sizeof(Elf64_Sym) < UINT32_MAX) {
        scan sc = {f, syms, size / sizeof(Elf64_Sym), strsec};
        pass(&sc, a, n, done, best, bk);
        cp_elfsym_release(f->symimg, syms, size);
        for (size_t k = 0; k < n; k++)
            if (!done[k] && best[k].sym)
                names[ord[k]] = shown(&sc, best[k].sym);
    }
    rc = 0;
out:
    free(ord);
    free(a);
    free(done);
    free(best);
    free(bk);
    return rc;
}

const char *cp_elfsym_name(cp_elfsym *f, uint64_t vaddr)
{
    const char *name = NULL;
    return cp_elfsym_names(f, &vaddr, 1, &name) == 0 ? name : NULL;
}
