/* elfsym.c — function names from ELF symbol tables and PLT relocations.
 *
 * What: the file is mmap'ed read-only and read in place through <elf.h>'s
 * structures; only the pages of the section headers, the symbol and
 * string tables, the PLT relocations and the PLT code are ever touched,
 * so a 4 MB debug file costs the ~400 KB of its .symtab and .strtab.
 * Names point into the mapping (checked to be NUL-terminated inside their
 * string table); the only strings made here are "foo@plt".
 *
 * Data structure: one array of named ranges {start, size, name, rank}
 * sorted by start, bisected per lookup.  Aliases at one address are
 * ordered by rank (PLT stub 4, global 3, weak 2, local 1), unversioned
 * before versioned, so the lookup takes the public name.  A symbol of size 0 covers the bytes up to the
 * next symbol only when nothing sized does.
 *
 * PLT stubs (x86-64): each entry of .plt, .plt.sec and .plt.got is decoded
 * for its `jmp *GOT(%rip)` (optionally after endbr64 and a bnd prefix);
 * the GOT slot it jumps through is matched against the JUMP_SLOT,
 * GLOB_DAT and IRELATIVE relocations (an IRELATIVE slot is named after the
 * ifunc whose resolver its addend points at).  The lazy-binding .plt of an
 * IBT binary holds no such jump; its entry k+1 belongs to .rela.plt[k].
 *
 * Alternatives rejected: libelf (one more library inside every profiled
 * process, and its section readers inflate compressed sections); reading
 * with pread into buffers (more copies, the same pages read); naming
 * PLT entries by position alone (wrong when the linker orders them
 * differently; decoding the jump is exact and cheap).
 */
#include "symbolize/elfsym.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "cprof.h"

typedef struct image {
    const unsigned char *base;
    size_t size;
    bool mapped; /* munmap at close */
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    size_t shnum;
    const Elf64_Shdr *shstr;
} image;

typedef struct range {
    uint64_t start, size;
    const char *name;
    int rank;
} range;

struct cp_elfsym {
    image main, dbg;
    bool from_dbg;
    Elf64_Phdr *loads;
    size_t nloads;
    range *r;
    size_t n, cap;
    char **owned; /* "foo@plt" strings */
    size_t nowned, owned_cap;
    char build_id[2 * 64 + 1];
    char scratch[512]; /* a name without its default-version suffix */
};

/* ---- the image: header, sections, bounds ---------------------------- */

static int image_parse(image *im)
{
    if (im->size < sizeof(Elf64_Ehdr) || memcmp(im->base, ELFMAG, SELFMAG) != 0 ||
        im->base[EI_CLASS] != ELFCLASS64 || im->base[EI_DATA] != ELFDATA2LSB)
        return CPROF_EFORMAT;
    im->eh = (const Elf64_Ehdr *)im->base;
    const Elf64_Ehdr *eh = im->eh;
    if (eh->e_shoff && eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shoff < im->size) {
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(im->base + eh->e_shoff);
        size_t room = (im->size - eh->e_shoff) / sizeof *sh;
        size_t n = eh->e_shnum;
        if (n == 0 && room > 0)
            n = sh[0].sh_size; /* extended numbering */
        if (n <= room) {
            im->sh = sh;
            im->shnum = n;
            size_t si = eh->e_shstrndx == SHN_XINDEX && n ? sh[0].sh_link : eh->e_shstrndx;
            if (si < n && sh[si].sh_type == SHT_STRTAB)
                im->shstr = &sh[si];
        }
    }
    return 0;
}

/* The contents of a section in the file, or NULL (no bits, compressed,
 * out of bounds). */
static const unsigned char *sec_data(const image *im, const Elf64_Shdr *s, size_t *size)
{
    if (!s || s->sh_type == SHT_NOBITS || (s->sh_flags & SHF_COMPRESSED) ||
        s->sh_offset > im->size || s->sh_size > im->size - s->sh_offset)
        return NULL;
    *size = s->sh_size;
    return im->base + s->sh_offset;
}

/* A NUL-terminated string at off in a string table section, or NULL. */
static const char *str_at(const image *im, const Elf64_Shdr *strsec, uint64_t off)
{
    size_t size;
    const unsigned char *d = sec_data(im, strsec, &size);
    if (!d || off >= size || !memchr(d + off, 0, size - off))
        return NULL;
    return (const char *)d + off;
}

static const Elf64_Shdr *sec_link(const image *im, const Elf64_Shdr *s)
{
    return s->sh_link < im->shnum ? &im->sh[s->sh_link] : NULL;
}

static const Elf64_Shdr *sec_named(const image *im, const char *name)
{
    for (size_t i = 0; i < im->shnum; i++) {
        const char *n = im->shstr ? str_at(im, im->shstr, im->sh[i].sh_name) : NULL;
        if (n && !strcmp(n, name))
            return &im->sh[i];
    }
    return NULL;
}

static const Elf64_Shdr *sec_typed(const image *im, uint32_t type)
{
    for (size_t i = 0; i < im->shnum; i++)
        if (im->sh[i].sh_type == type)
            return &im->sh[i];
    return NULL;
}

static void image_unmap(image *im);

static int image_map(const char *path, image *im)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CPROF_EIO;
    struct stat st;
    int rc = CPROF_EIO;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            im->base = p;
            im->size = (size_t)st.st_size;
            im->mapped = true;
            if ((rc = image_parse(im)))
                image_unmap(im);
        }
    }
    close(fd);
    return rc;
}

static void image_unmap(image *im)
{
    if (im->mapped)
        munmap((void *)im->base, im->size);
    memset(im, 0, sizeof *im);
}

/* ---- build id ---------------------------------------------------------- */

static bool note_build_id(const unsigned char *d, size_t size, char *out)
{
    size_t off = 0;
    while (size - off >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh;
        memcpy(&nh, d + off, sizeof nh);
        off += sizeof nh;
        size_t namesz = (nh.n_namesz + 3u) & ~(size_t)3, descsz = (nh.n_descsz + 3u) & ~(size_t)3;
        if (namesz > size - off || descsz > size - off - namesz)
            return false;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(d + off, "GNU", 4) &&
            nh.n_descsz > 0) {
            cp_hex(out, d + off + namesz, nh.n_descsz > 64 ? 64 : nh.n_descsz);
            return true;
        }
        off += namesz + descsz;
    }
    return false;
}

static void read_build_id(const image *im, char *out)
{
    out[0] = 0;
    size_t size;
    for (size_t i = 0; i < im->shnum; i++) {
        const unsigned char *d = im->sh[i].sh_type == SHT_NOTE ? sec_data(im, &im->sh[i], &size)
                                                                 : NULL;
        if (d && note_build_id(d, size, out))
            return;
    }
    const Elf64_Ehdr *eh = im->eh;
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > im->size ||
        (size_t)eh->e_phnum > (im->size - eh->e_phoff) / sizeof(Elf64_Phdr))
        return;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(im->base + eh->e_phoff);
    for (size_t i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_NOTE && ph[i].p_offset <= im->size &&
            ph[i].p_filesz <= im->size - ph[i].p_offset &&
            note_build_id(im->base + ph[i].p_offset, ph[i].p_filesz, out))
            return;
}

static int read_loads(cp_elfsym *f)
{
    const image *im = &f->main;
    const Elf64_Ehdr *eh = im->eh;
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > im->size ||
        (size_t)eh->e_phnum > (im->size - eh->e_phoff) / sizeof(Elf64_Phdr))
        return 0;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(im->base + eh->e_phoff);
    if (eh->e_phnum && !(f->loads = calloc(eh->e_phnum, sizeof *f->loads)))
        return CPROF_ENOMEM;
    for (size_t i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD)
            f->loads[f->nloads++] = ph[i];
    return 0;
}

/* ---- named ranges --------------------------------------------------- */

static int add_range(cp_elfsym *f, uint64_t start, uint64_t size, const char *name, int rank)
{
    if (cp_grow(&f->r, &f->cap, f->n + 1, sizeof *f->r))
        return CPROF_ENOMEM;
    f->r[f->n++] = (range){start, size, name, rank};
    return 0;
}

static int add_symtab(cp_elfsym *f, const image *im, const Elf64_Shdr *symsec)
{
    size_t size;
    const unsigned char *d = sec_data(im, symsec, &size);
    const Elf64_Shdr *strsec = sec_link(im, symsec);
    if (!d || !strsec || (symsec->sh_entsize && symsec->sh_entsize != sizeof(Elf64_Sym)))
        return 0;
    size_t n = size / sizeof(Elf64_Sym);
    for (size_t i = 1; i < n; i++) {
        Elf64_Sym s;
        memcpy(&s, d + i * sizeof s, sizeof s);
        int type = ELF64_ST_TYPE(s.st_info), bind = ELF64_ST_BIND(s.st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF ||
            s.st_shndx == SHN_ABS || !s.st_name)
            continue;
        const char *name = str_at(im, strsec, s.st_name);
        if (!name || !name[0])
            continue;
        int rank = bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : 1;
        if (add_range(f, s.st_value, s.st_size, name, rank))
            return CPROF_ENOMEM;
    }
    return 0;
}

static int range_cmp(const void *a, const void *b)
{
    const range *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->rank != y->rank)
        return y->rank - x->rank;
    /* A versioned alias (memcpy@GLIBC_2.2.5, a compat symbol) after the
     * plain name. */
    bool xv = strchr(x->name, '@') != NULL, yv = strchr(y->name, '@') != NULL;
    if (xv != yv)
        return xv ? 1 : -1;
    return strcmp(x->name, y->name);
}

static void sort_ranges(cp_elfsym *f)
{
    if (f->n > 1)
        qsort(f->r, f->n, sizeof *f->r, range_cmp);
}

/* "foo@@VERSION" (the default version of a versioned symbol) is foo to
 * its callers: show it so.  "foo@VERSION" (a compat version) keeps it. */
static const char *plain(cp_elfsym *f, const char *name)
{
    const char *at = strstr(name, "@@");
    if (!at || (size_t)(at - name) >= sizeof f->scratch)
        return name;
    memcpy(f->scratch, name, (size_t)(at - name));
    f->scratch[at - name] = 0;
    return f->scratch;
}

const char *cp_elfsym_name(cp_elfsym *f, uint64_t a)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) { /* first range starting after a */
        size_t mid = lo + (hi - lo) / 2;
        if (f->r[mid].start <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    /* The nearest start may be a small symbol that ends before a while the
     * one before it is large enough to hold a: look two starts back. */
    for (int tries = 0; tries < 2 && i > 0; tries++) {
        uint64_t start = f->r[i - 1].start;
        size_t first = i - 1;
        while (first > 0 && f->r[first - 1].start == start)
            first--;
        for (size_t k = first; k < i; k++)
            if (f->r[k].size == 0 ? tries == 0 : a - start < f->r[k].size)
                return plain(f, f->r[k].name);
        i = first;
    }
    return NULL;
}

/* ---- separate debug file -------------------------------------------- */

static bool try_debug(cp_elfsym *f, const char *path)
{
    image im = {0};
    if (image_map(path, &im) != 0)
        return false;
    char bid[sizeof f->build_id];
    read_build_id(&im, bid);
    const Elf64_Shdr *symtab = sec_typed(&im, SHT_SYMTAB);
    size_t size;
    bool ok = im.eh->e_machine == f->main.eh->e_machine && symtab &&
              sec_data(&im, symtab, &size) && (!f->build_id[0] || !bid[0] ||
                                                !strcmp(bid, f->build_id));
    if (!ok) {
        image_unmap(&im);
        return false;
    }
    f->dbg = im;
    return true;
}

static void find_debug(cp_elfsym *f, const char *path, const char *root)
{
    char p[4096];
    size_t bl = strlen(f->build_id);
    if (bl > 2) {
        snprintf(p, sizeof p, "%s/.build-id/%.2s/%s.debug", root, f->build_id, f->build_id + 2);
        if (try_debug(f, p))
            return;
    }
    if (!path)
        return;
    size_t size;
    const unsigned char *d = sec_data(&f->main, sec_named(&f->main, ".gnu_debuglink"), &size);
    if (!d || !memchr(d, 0, size) || !d[0] || strchr((const char *)d, '/'))
        return;
    const char *name = (const char *)d;
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path) : 0;
    const char *dir = slash ? path : "";
    if (snprintf(p, sizeof p, "%.*s/%s", dl, dir, name) < (int)sizeof p && strcmp(p, path) &&
        try_debug(f, p))
        return;
    if (snprintf(p, sizeof p, "%.*s/.debug/%s", dl, dir, name) < (int)sizeof p && try_debug(f, p))
        return;
    if (snprintf(p, sizeof p, "%s%.*s/%s", root, dl, dir, name) < (int)sizeof p)
        try_debug(f, p);
}

/* ---- PLT stubs (x86-64) ----------------------------------------------- */

typedef struct slot {
    uint64_t got;
    const char *name;
} slot;

static int slot_cmp(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    return x->got < y->got ? -1 : x->got > y->got;
}

static const char *slot_name(const slot *s, size_t n, uint64_t got)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].got < got)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && s[lo].got == got ? s[lo].name : NULL;
}

/* The GOT slot a PLT entry jumps through: `jmp *disp(%rip)` (ff 25) at the
 * start, after endbr64, or after endbr64 and a bnd prefix. */
static bool plt_target(const unsigned char *e, size_t len, uint64_t vaddr, uint64_t *got)
{
    static const unsigned char endbr[4] = {0xf3, 0x0f, 0x1e, 0xfa};
    size_t j;
    if (len >= 6 && e[0] == 0xff && e[1] == 0x25)
        j = 0;
    else if (len >= 6 && e[0] == 0xf2 && e[1] == 0xff && e[2] == 0x25)
        j = 1;
    else if (len >= 10 && !memcmp(e, endbr, 4) && e[4] == 0xff && e[5] == 0x25)
        j = 4;
    else if (len >= 11 && !memcmp(e, endbr, 4) && e[4] == 0xf2 && e[5] == 0xff && e[6] == 0x25)
        j = 5;
    else
        return false;
    if (j + 6 > len)
        return false;
    int32_t disp;
    memcpy(&disp, e + j + 2, 4);
    *got = vaddr + j + 6 + (uint64_t)(int64_t)disp;
    return true;
}

/* name + suffix in a string f owns, or NULL. */
static const char *own_copy(cp_elfsym *f, const char *name, const char *suffix)
{
    if (cp_grow(&f->owned, &f->owned_cap, f->nowned + 1, sizeof *f->owned))
        return NULL;
    size_t n = strlen(name), k = strlen(suffix);
    char *s = malloc(n + k + 1);
    if (!s)
        return NULL;
    memcpy(s, name, n);
    memcpy(s + n, suffix, k + 1);
    f->owned[f->nowned++] = s;
    return s;
}

static int add_plt_name(cp_elfsym *f, uint64_t start, uint64_t size, const char *name)
{
    const char *s = own_copy(f, name, "@plt");
    return s ? add_range(f, start, size, s, 4) : CPROF_ENOMEM;
}

/* The named ranges are sorted when this runs (IRELATIVE slots are named
 * by looking their resolver up). */
static int add_plt(cp_elfsym *f)
{
    const image *im = &f->main;
    if (im->eh->e_machine != EM_X86_64)
        return 0;
    slot *slots = NULL;
    const char **order = NULL; /* .rela.plt's names in order */
    size_t nslots = 0, slots_cap = 0, norder = 0;
    int rc = CPROF_ENOMEM;
    const Elf64_Shdr *relaplt = sec_named(im, ".rela.plt");
    for (size_t i = 0; i < im->shnum; i++) {
        const Elf64_Shdr *rs = &im->sh[i];
        size_t size;
        const unsigned char *d = rs->sh_type == SHT_RELA ? sec_data(im, rs, &size) : NULL;
        if (!d)
            continue;
        const Elf64_Shdr *symsec = sec_link(im, rs);
        size_t symsize = 0;
        const unsigned char *syms = symsec && symsec->sh_type == SHT_DYNSYM
                                        ? sec_data(im, symsec, &symsize) : NULL;
        const Elf64_Shdr *strsec = syms ? sec_link(im, symsec) : NULL;
        size_t n = size / sizeof(Elf64_Rela);
        if (rs == relaplt && n && !(order = calloc(n, sizeof *order)))
            goto out;
        for (size_t k = 0; k < n; k++) {
            Elf64_Rela r;
            memcpy(&r, d + k * sizeof r, sizeof r);
            uint32_t type = ELF64_R_TYPE(r.r_info);
            size_t si = ELF64_R_SYM(r.r_info);
            const char *name = NULL;
            if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) && si && syms &&
                si < symsize / sizeof(Elf64_Sym)) {
                Elf64_Sym s;
                memcpy(&s, syms + si * sizeof s, sizeof s);
                name = strsec ? str_at(im, strsec, s.st_name) : NULL;
            } else if (type == R_X86_64_IRELATIVE) {
                /* Named by the ifunc whose resolver the addend is; kept
                 * (copied) as the scratch buffer is reused. */
                const char *n = cp_elfsym_name(f, (uint64_t)r.r_addend);
                if (n && n == f->scratch && !(n = own_copy(f, n, "")))
                    goto out;
                name = n;
            }
            if (!name || !name[0])
                continue;
            if (rs == relaplt)
                order[k] = name, norder = k + 1;
            if (cp_grow(&slots, &slots_cap, nslots + 1, sizeof *slots))
                goto out;
            slots[nslots++] = (slot){r.r_offset, name};
        }
        if (rs == relaplt && !norder) {
            free(order);
            order = NULL;
        }
    }
    if (nslots > 1)
        qsort(slots, nslots, sizeof *slots, slot_cmp);
    bool has_sec = sec_named(im, ".plt.sec") != NULL;
    static const char *const plts[] = {".plt", ".plt.sec", ".plt.got"};
    for (size_t p = 0; p < 3; p++) {
        const Elf64_Shdr *s = sec_named(im, plts[p]);
        size_t size;
        const unsigned char *d = s && (s->sh_flags & SHF_EXECINSTR) ? sec_data(im, s, &size)
                                                                     : NULL;
        if (!d)
            continue;
        uint64_t ent = s->sh_entsize ? s->sh_entsize : 16;
        if (ent < 6 || ent > 64)
            continue;
        for (uint64_t k = 0; k + ent <= size; k += ent) {
            uint64_t vaddr = s->sh_addr + k, got;
            const char *name = NULL;
            if (plt_target(d + k, ent, vaddr, &got))
                name = slot_name(slots, nslots, got);
            else if (p == 0 && has_sec && k >= ent && (k / ent - 1) < norder)
                name = order[k / ent - 1];
            if (name && add_plt_name(f, vaddr, ent, name))
                goto out;
        }
    }
    rc = 0;
out:
    free(slots);
    free(order);
    return rc;
}

/* ---- open / close ------------------------------------------------------- */

static int finish_open(cp_elfsym *f, const char *path, const char *root)
{
    read_build_id(&f->main, f->build_id);
    int rc = read_loads(f);
    if (rc)
        return rc;
    const Elf64_Shdr *symtab = sec_typed(&f->main, SHT_SYMTAB);
    size_t size;
    if (!symtab || !sec_data(&f->main, symtab, &size)) {
        find_debug(f, path, root ? root : "/usr/lib/debug");
        if (f->dbg.base) {
            f->from_dbg = true;
            rc = add_symtab(f, &f->dbg, sec_typed(&f->dbg, SHT_SYMTAB));
        } else {
            const Elf64_Shdr *dyn = sec_typed(&f->main, SHT_DYNSYM);
            rc = dyn ? add_symtab(f, &f->main, dyn) : 0;
        }
    } else {
        rc = add_symtab(f, &f->main, symtab);
    }
    if (rc)
        return rc;
    sort_ranges(f);
    size_t before = f->n;
    if ((rc = add_plt(f)))
        return rc;
    if (f->n != before)
        sort_ranges(f);
    return 0;
}

int cp_elfsym_open(const char *path, const char *debug_root, cp_elfsym **out)
{
    cp_elfsym *f = calloc(1, sizeof *f);
    if (!f)
        return CPROF_ENOMEM;
    int rc = image_map(path, &f->main);
    if (!rc)
        rc = finish_open(f, path, debug_root);
    if (rc) {
        cp_elfsym_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

int cp_elfsym_open_image(const void *image, size_t size, cp_elfsym **out)
{
    cp_elfsym *f = calloc(1, sizeof *f);
    if (!f)
        return CPROF_ENOMEM;
    f->main.base = image;
    f->main.size = size;
    int rc = image_parse(&f->main);
    if (!rc)
        rc = finish_open(f, NULL, "/nonexistent");
    if (rc) {
        cp_elfsym_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

void cp_elfsym_close(cp_elfsym *f)
{
    if (!f)
        return;
    image_unmap(&f->main);
    image_unmap(&f->dbg);
    for (size_t i = 0; i < f->nowned; i++)
        free(f->owned[i]);
    free(f->owned);
    free(f->r);
    free(f->loads);
    free(f);
}

void cp_elfsym_file_build_id(const char *path, char *out)
{
    image im = {0};
    out[0] = 0;
    if (image_map(path, &im) == 0)
        read_build_id(&im, out);
    image_unmap(&im);
}

const char *cp_elfsym_build_id(const cp_elfsym *f) { return f->build_id; }
bool cp_elfsym_from_debug_file(const cp_elfsym *f) { return f->from_dbg; }
size_t cp_elfsym_count(const cp_elfsym *f) { return f->n; }

int cp_elfsym_vaddr(const cp_elfsym *f, uint64_t map_start, uint64_t map_offset, uint64_t addr,
                    uint64_t *vaddr)
{
    if (addr < map_start)
        return CPROF_ENOTFOUND;
    uint64_t off = addr - map_start + map_offset;
    for (size_t i = 0; i < f->nloads; i++) {
        const Elf64_Phdr *ph = &f->loads[i];
        if (off >= ph->p_offset && off - ph->p_offset < ph->p_filesz) {
            *vaddr = off - ph->p_offset + ph->p_vaddr;
            return 0;
        }
    }
    return CPROF_ENOTFOUND;
}
