/* elfname.c — the profiled process's own symbolization: ELF names only.
 *
 * What: for each mapping a sample uses, its file is opened once with
 * cp_elfsym (mmap, symbol tables, PLT) and asked for all its locations'
 * names in one batch (one pass over its symbol table); each location
 * without lines gets the name of the function holding it, or
 * FILE+0xOFFSET.  The new profile
 * is made by cp_patch, like cp_symbolize's.
 *
 * Data structure: a small array of opened files, searched linearly by path
 * (a profile has tens of mappings, not thousands), and a per-mapping index
 * into it.
 *
 * Alternatives rejected: DWARF here (libdw inflates compressed debug
 * sections: ~90 ms and ~27 MB per process at exit with libc6-dbg, and its
 * debuginfo finder dlopens libdebuginfod, whose dependencies touch OpenSSL
 * after the program's atexit handlers have cleaned it up); dladdr (names
 * only exported symbols, and takes the loader lock); one lump per binary
 * for unnamed code (25% of sqlite's CPU in a single `[libsqlite3]` node).
 */
#include "symbolize/elfname.h"

#include <dlfcn.h>
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "cprof.h"
#include "symbolize/elfsym.h"
#include "symbolize/patch.h"

typedef char *(*cxa_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);
static void *demangler_sym; /* once found, kept: libstdc++ is never unloaded */

char *cp_elfname_demangle_loaded(const char *name)
{
    if (!name || name[0] != '_' || name[1] != 'Z')
        return NULL;
    void *sym = __atomic_load_n(&demangler_sym, __ATOMIC_ACQUIRE);
    if (!sym) {
        /* dlsym looks at what is loaded; it never loads anything.  Asked
         * again while absent: a C++ plugin may be dlopen'ed later. */
        sym = dlsym(RTLD_DEFAULT, "__cxa_demangle");
        if (!sym)
            return NULL;
        __atomic_store_n(&demangler_sym, sym, __ATOMIC_RELEASE);
    }
    return cp_elfname_demangle_with(sym, name);
}

char *cp_elfname_demangle_with(void *cxa_demangle, const char *name)
{
    if (!cxa_demangle || !name || name[0] != '_' || name[1] != 'Z')
        return NULL;
    cxa_demangle_fn demangler;
    memcpy(&demangler, &cxa_demangle, sizeof demangler); /* POSIX: dlsym's data pointer */
    int status = 0;
    char *s = demangler(name, NULL, NULL, &status);
    if (status != 0) {
        free(s);
        return NULL;
    }
    return s;
}

typedef struct nfile {
    const char *path;
    cp_elfsym *f; /* NULL: unreadable */
} nfile;

typedef struct nstate {
    const cp_profile *in;
    nfile *files;
    size_t nfiles, cap;
    int *map_file; /* per mapping: index into files, -1 for none */
    cp_elfname_stats *st;
} nstate;

/* The vDSO image of this process, sized to its section headers or last
 * segment. */
static int open_vdso(cp_elfsym **out)
{
    const unsigned char *base;
    size_t size;
    int rc = cp_elfsym_vdso_image(&base, &size);
    return rc ? rc : cp_elfsym_open_image(base, size, out);
}

static int file_for(nstate *s, const char *path, int *idx)
{
    for (size_t i = 0; i < s->nfiles; i++)
        if (!strcmp(s->files[i].path, path)) {
            *idx = (int)i;
            return 0;
        }
    if (cp_grow(&s->files, &s->cap, s->nfiles + 1, sizeof *s->files))
        return CPROF_ENOMEM;
    nfile *f = &s->files[s->nfiles];
    f->path = path;
    f->f = NULL;
    int rc = !strcmp(path, "[vdso]") ? open_vdso(&f->f) : cp_elfsym_open(path, NULL, &f->f);
    if (rc == CPROF_ENOMEM)
        return rc;
    if (f->f)
        s->st->files++;
    *idx = (int)s->nfiles++;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Does location li get a name from us (a file-backed or vDSO mapping,
 * no lines yet)? */
static bool wanted(const nstate *s, size_t li)
{
    const cp_location *l = &s->in->locations[li];
    return l->nlines == 0 && l->mapping != CP_NO_MAPPING && l->mapping < s->in->nmappings &&
           s->map_file[l->mapping] >= 0;
}

/* Every wanted location's symbol name (or NULL) into names[li], one
 * symbol-table pass per file. */
static int lookup_names(nstate *s, const char **names)
{
    const cp_profile *in = s->in;
    uint64_t *vaddrs = malloc((in->nlocations + 1) * sizeof *vaddrs);
    size_t *which = malloc((in->nlocations + 1) * sizeof *which);
    const char **got = malloc((in->nlocations + 1) * sizeof *got);
    int rc = CPROF_ENOMEM;
    if (!vaddrs || !which || !got)
        goto out;
    for (size_t fi = 0; fi < s->nfiles; fi++) {
        cp_elfsym *f = s->files[fi].f;
        if (!f)
            continue;
        size_t n = 0;
        for (size_t li = 0; li < in->nlocations; li++) {
            const cp_location *l = &in->locations[li];
            if (!wanted(s, li) || s->map_file[l->mapping] != (int)fi)
                continue;
            const cp_mapping *m = &in->mappings[l->mapping];
            const char *want = cp_str(in, m->build_id), *have = cp_elfsym_build_id(f);
            uint64_t vaddr;
            if ((want[0] && have[0] && strcasecmp(want, have)) ||
                cp_elfsym_vaddr(f, m->start, m->offset, l->address, &vaddr) != 0)
                continue;
            vaddrs[n] = vaddr;
            which[n++] = li;
        }
        if (n && (rc = cp_elfsym_names(f, vaddrs, n, got)))
            goto out;
        for (size_t k = 0; k < n; k++)
            names[which[k]] = got[k];
    }
    rc = 0;
out:
    free(vaddrs);
    free(which);
    free(got);
    return rc;
}

/* GCC names the copies it makes of a function (constant propagation,
 * scalar replacement, partial inlining, hot/cold splitting) `f.constprop.0`,
 * `f.isra.0`, `f.part.0`, `f.cold`; demangled C++ names carry them as
 * ` [clone .constprop.0]`.  DWARF names the copy `f`, as the programmer
 * wrote it, so the ELF name loses these suffixes too: a profile then reads
 * the same before and after `cprof symbolize`.  Writes into buf when it
 * strips anything; returns the name to use. */
static const char *source_name(const char *name, char *buf, size_t size)
{
    static const char *const clones[] = {"constprop", "isra", "part", "cold", "lto_priv",
                                         "localalias", NULL};
    size_t len = strlen(name);
    while (len > 8 && name[len - 1] == ']') { /* " [clone .x.N]" */
        const char *open = NULL;
        for (size_t i = len; i-- > 0;)
            if (name[i] == '[') {
                open = name + i;
                break;
            }
        if (!open || open == name || open[-1] != ' ' || strncmp(open, "[clone .", 8))
            break;
        len = (size_t)(open - 1 - name);
    }
    /* C names: strip ".<clone>[.N]" groups from the end. */
    for (;;) {
        size_t dot = len;
        while (dot > 0 && name[dot - 1] != '.')
            dot--;
        if (dot <= 1)
            break;
        const char *part = name + dot;
        size_t plen = len - dot, cut = dot - 1;
        bool digits = plen > 0;
        for (size_t i = 0; i < plen; i++)
            digits = digits && part[i] >= '0' && part[i] <= '9';
        if (digits) { /* ".N" belongs to the clone word before it */
            size_t d2 = cut;
            while (d2 > 0 && name[d2 - 1] != '.')
                d2--;
            if (d2 <= 1)
                break;
            part = name + d2;
            plen = cut - d2;
            cut = d2 - 1;
        }
        bool known = false;
        for (int i = 0; clones[i]; i++)
            known = known || (strlen(clones[i]) == plen && !strncmp(part, clones[i], plen));
        if (!known)
            break;
        len = cut;
    }
    if (len == strlen(name) || len == 0 || len >= size)
        return name;
    memcpy(buf, name, len);
    buf[len] = 0;
    return buf;
}

static int name_location(nstate *s, cp_patch *pt, size_t li, const char *name)
{
    const cp_location *l = &s->in->locations[li];
    const cp_mapping *m = &s->in->mappings[l->mapping];
    char offname[512], plain[512];
    char *dm = NULL;
    cp_frame fr = {.file = ""};
    if (name) {
        dm = cp_elfname_demangle_loaded(name);
        fr.name = source_name(dm ? dm : name, plain, sizeof plain);
        fr.system_name = name;
        s->st->named++;
    } else {
        snprintf(offname, sizeof offname, "%s+0x%" PRIx64, base_name(cp_str(s->in, m->filename)),
                 l->address - m->start + m->offset);
        fr.name = fr.system_name = offname;
        s->st->offsets++;
    }
    int rc = cp_patch_set_lines(pt, li, &fr, 1);
    free(dm);
    cp_mapping *vm = cp_patch_mapping(pt, l->mapping);
    vm->has_functions = true;
    vm->has_filenames = vm->has_line_numbers = vm->has_inline_frames = false;
    return rc;
}

int cp_elfname_profile(const cp_profile *in, cp_profile **out, cp_diag *diag,
                       cp_elfname_stats *stats)
{
    cp_elfname_stats local;
    nstate s = {.in = in, .st = stats ? stats : &local};
    cp_patch pt;
    const char **names = NULL;
    memset(s.st, 0, sizeof *s.st);
    int rc = cp_patch_init(&pt, in);
    if (rc)
        goto out;
    rc = CPROF_ENOMEM;
    if (!(s.map_file = malloc((in->nmappings + 1) * sizeof *s.map_file)))
        goto out;
    /* Open only the files some unnamed location needs. */
    for (size_t i = 0; i < in->nmappings; i++)
        s.map_file[i] = -1;
    for (size_t i = 0; i < in->nlocations; i++) {
        const cp_location *l = &in->locations[i];
        if (l->nlines || l->mapping == CP_NO_MAPPING || l->mapping >= in->nmappings ||
            s.map_file[l->mapping] >= 0)
            continue;
        const char *path = cp_str(in, in->mappings[l->mapping].filename);
        bool real = path[0] == '/' && path[1] != '/';
        if (!real && strcmp(path, "[vdso]"))
            continue;
        if ((rc = file_for(&s, path, &s.map_file[l->mapping])))
            goto out;
    }
    rc = CPROF_ENOMEM;
    if (!(names = calloc(in->nlocations + 1, sizeof *names)) || (rc = lookup_names(&s, names)))
        goto out;
    for (size_t i = 0; i < in->nlocations; i++)
        if (wanted(&s, i) && (rc = name_location(&s, &pt, i, names[i])))
            goto out;
    rc = cp_patch_finish(&pt, out, diag);
out:
    free(names);
    cp_patch_free(&pt);
    for (size_t i = 0; i < s.nfiles; i++)
        cp_elfsym_close(s.files[i].f);
    free(s.files);
    free(s.map_file);
    return rc;
}
