/* elfsym.c — ELF files read in place: sections, build id, debug file, PLT.
 *
 * What: the file is mmap'ed read-only and read through <elf.h>'s
 * structures, every offset checked against the file size.  Opening reads
 * only the headers, the notes and the PLT with its relocations; the
 * symbol table is chosen (debug file's .symtab, .symtab, .dynsym) but not
 * read: elfsym_scan.c makes one pass over it per batch of addresses.  So
 * a 4 MB debug file or a 98 MB binary costs the pages actually looked at,
 * and those are handed back (madvise) once read: a page fault on a file
 * maps the 64 KiB around it, which for a few hundred scattered names
 * would otherwise map megabytes.
 *
 * PLT stubs (x86-64): each entry of .plt, .plt.sec and .plt.got is decoded
 * for its `jmp *GOT(%rip)` (optionally after endbr64 and a bnd prefix);
 * the GOT slot it jumps through is matched against the JUMP_SLOT,
 * GLOB_DAT and IRELATIVE relocations.  The lazy-binding .plt of an IBT
 * binary holds no such jump; its entry k+1 belongs to .rela.plt[k].  A
 * stub's name is made when an address in it is asked for: from .dynsym,
 * or for an IRELATIVE slot after the ifunc its resolver belongs to.
 *
 * Data structure: the PLT stubs sorted by address, each with the
 * relocation it stands for; strings made here are owned by the cp_elfsym.
 *
 * Alternatives rejected: libelf (one more library inside every profiled
 * process, and its section readers inflate compressed sections); reading
 * with pread into buffers (more copies of the same pages); naming PLT
 * entries by position alone (wrong when the linker orders them
 * differently; decoding the jump is exact and cheap); naming every stub
 * at open (node's .rela.plt points all over 7 MB of .dynsym and .dynstr).
 */
#include "symbolize/elfsym.h"
#include "symbolize/elfsym_int.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "cprof.h"

/* ---- the image: header, sections, bounds ---------------------------- */

static int image_parse(cp_elfimg *im)
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
const unsigned char *cp_elfsym_sec_data(const cp_elfimg *im, const Elf64_Shdr *s, size_t *size)
{
    if (!s || s->sh_type == SHT_NOBITS || (s->sh_flags & SHF_COMPRESSED) ||
        s->sh_offset > im->size || s->sh_size > im->size - s->sh_offset)
        return NULL;
    *size = s->sh_size;
    return im->base + s->sh_offset;
}

/* A NUL-terminated string at off in a string table section, or NULL. */
const char *cp_elfsym_str_at(const cp_elfimg *im, const Elf64_Shdr *strsec, uint64_t off)
{
    size_t size;
    const unsigned char *d = cp_elfsym_sec_data(im, strsec, &size);
    if (!d || off >= size || !memchr(d + off, 0, size - off))
        return NULL;
    return (const char *)d + off;
}

const Elf64_Shdr *cp_elfsym_sec_link(const cp_elfimg *im, const Elf64_Shdr *s)
{
    return s->sh_link < im->shnum ? &im->sh[s->sh_link] : NULL;
}

static const Elf64_Shdr *sec_named(const cp_elfimg *im, const char *name)
{
    for (size_t i = 0; i < im->shnum; i++) {
        const char *n = im->shstr ? cp_elfsym_str_at(im, im->shstr, im->sh[i].sh_name) : NULL;
        if (n && !strcmp(n, name))
            return &im->sh[i];
    }
    return NULL;
}

static const Elf64_Shdr *sec_typed(const cp_elfimg *im, uint32_t type)
{
    for (size_t i = 0; i < im->shnum; i++)
        if (im->sh[i].sh_type == type)
            return &im->sh[i];
    return NULL;
}

static void image_unmap(cp_elfimg *im);

static int image_map(const char *path, cp_elfimg *im)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CPROF_EIO;
    struct stat st;
    int rc = CPROF_EIO;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            /* We read a few scattered pages: no huge pages (a page cache
             * holding the file in 2 MiB folios would map 2 MiB per touch)
             * and no read-ahead around each fault. */
            (void)madvise(p, (size_t)st.st_size, MADV_NOHUGEPAGE);
            (void)madvise(p, (size_t)st.st_size, MADV_RANDOM);
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

static void image_unmap(cp_elfimg *im)
{
    if (im->mapped)
        munmap((void *)im->base, im->size);
    memset(im, 0, sizeof *im);
}

void cp_elfsym_release_near(const cp_elfimg *im, const void *p)
{
    if (!im->mapped)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), window = 64 * 1024;
    uintptr_t base = (uintptr_t)im->base, end = (base + im->size + page - 1) & ~(page - 1);
    uintptr_t lo = (uintptr_t)p & ~(window - 1), hi = lo + window;
    if (lo < base)
        lo = base;
    if (hi > end)
        hi = end;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
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

static void read_build_id(const cp_elfimg *im, char *out)
{
    out[0] = 0;
    size_t size;
    for (size_t i = 0; i < im->shnum; i++) {
        const unsigned char *d = im->sh[i].sh_type == SHT_NOTE ? cp_elfsym_sec_data(im, &im->sh[i], &size)
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
    const cp_elfimg *im = &f->main;
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

/* ---- strings we own, pages we give back ------------------------------ */

const char *cp_elfsym_own(cp_elfsym *f, const char *name, size_t len, const char *suffix)
{
    if (cp_grow(&f->owned, &f->owned_cap, f->nowned + 1, sizeof *f->owned))
        return NULL;
    size_t k = strlen(suffix);
    char *s = malloc(len + k + 1);
    if (!s)
        return NULL;
    memcpy(s, name, len);
    memcpy(s + len, suffix, k + 1);
    f->owned[f->nowned++] = s;
    return s;
}

void cp_elfsym_release(const cp_elfimg *im, const void *p, size_t len)
{
    if (!im->mapped || !len)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + len) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED); /* a read-only file mapping: refaults */
}

/* ---- separate debug file -------------------------------------------- */

static bool try_debug(cp_elfsym *f, const char *path)
{
    cp_elfimg im = {0};
    if (image_map(path, &im) != 0)
        return false;
    char bid[sizeof f->build_id];
    read_build_id(&im, bid);
    const Elf64_Shdr *symtab = sec_typed(&im, SHT_SYMTAB);
    size_t size;
    bool ok = im.eh->e_machine == f->main.eh->e_machine && symtab &&
              cp_elfsym_sec_data(&im, symtab, &size) && (!f->build_id[0] || !bid[0] ||
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
    const unsigned char *d = cp_elfsym_sec_data(&f->main, sec_named(&f->main, ".gnu_debuglink"), &size);
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

/* A relocation that fills a GOT slot some PLT entry jumps through. */
typedef struct slot {
    uint64_t got;
    uint32_t relsec, relidx;
} slot;

static int slot_cmp(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    return x->got < y->got ? -1 : x->got > y->got;
}

static const slot *slot_at(const slot *s, size_t n, uint64_t got)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].got < got)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && s[lo].got == got ? &s[lo] : NULL;
}

/* The GOT slot a PLT entry jumps through: `jmp *disp(%rip)` (ff 25) at the
 * start, after endbr64, or after endbr64 and a bnd prefix. */
static bool plt_target(const unsigned char *e, size_t len, uint64_t vaddr, uint64_t *got)
{
    static const unsigned char endbr[4] = {0xf3, 0x0f, 0x1e, 0xfa};
    size_t j;
    if (len >= 6 && e[0] == 0xff && e[1] == 0x25)
        j = 0;
    else if (len >= 7 && e[0] == 0xf2 && e[1] == 0xff && e[2] == 0x25)
        j = 1;
    else if (len >= 10 && !memcmp(e, endbr, 4) && e[4] == 0xff && e[5] == 0x25)
        j = 4;
    else if (len >= 11 && !memcmp(e, endbr, 4) && e[4] == 0xf2 && e[5] == 0xff && e[6] == 0x25)
        j = 5;
    else
        return false;
    int32_t disp;
    memcpy(&disp, e + j + 2, 4);
    *got = vaddr + j + 6 + (uint64_t)(int64_t)disp;
    return true;
}

static int add_stub(cp_elfsym *f, uint64_t start, uint64_t size, uint32_t relsec, uint32_t relidx)
{
    if (cp_grow(&f->plt, &f->plt_cap, f->nplt + 1, sizeof *f->plt))
        return CPROF_ENOMEM;
    f->plt[f->nplt++] = (cp_elfsym_plt){start, size, NULL, relsec, relidx};
    return 0;
}

static int plt_cmp(const void *a, const void *b)
{
    const cp_elfsym_plt *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Index the PLT entries and the relocation each stands for; no symbol or
 * name is read here (a big binary's .rela.plt points all over its .dynsym
 * and .dynstr: node's would cost 5 MB of page faults), only when an
 * address in the stub is asked for (cp_elfsym_plt_name). */
static int add_plt(cp_elfsym *f)
{
    const cp_elfimg *im = &f->main;
    if (im->eh->e_machine != EM_X86_64)
        return 0;
    slot *slots = NULL;
    size_t nslots = 0, slots_cap = 0, nrelaplt = 0;
    int rc = CPROF_ENOMEM;
    const Elf64_Shdr *relaplt = sec_named(im, ".rela.plt");
    /* .rela.dyn can be large (every relative relocation of a big C++
     * library): read only when .plt.got needs its GLOB_DAT slots. */
    bool want_dyn = sec_named(im, ".plt.got") != NULL;
    for (size_t i = 0; i < im->shnum && i < UINT32_MAX; i++) {
        const Elf64_Shdr *rs = &im->sh[i];
        size_t size;
        const unsigned char *d = rs->sh_type == SHT_RELA && (rs == relaplt || want_dyn)
                                     ? cp_elfsym_sec_data(im, rs, &size) : NULL;
        if (!d)
            continue;
        size_t n = size / sizeof(Elf64_Rela);
        if (rs == relaplt)
            nrelaplt = n;
        for (size_t k = 0; k < n && k < UINT32_MAX; k++) {
            Elf64_Rela r;
            memcpy(&r, d + k * sizeof r, sizeof r);
            uint32_t type = ELF64_R_TYPE(r.r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT &&
                type != R_X86_64_IRELATIVE)
                continue;
            if (cp_grow(&slots, &slots_cap, nslots + 1, sizeof *slots))
                goto out;
            slots[nslots++] = (slot){r.r_offset, (uint32_t)i, (uint32_t)k};
        }
        if (rs != relaplt)
            cp_elfsym_release(im, d, size);
    }
    if (nslots > 1)
        qsort(slots, nslots, sizeof *slots, slot_cmp);
    bool has_sec = sec_named(im, ".plt.sec") != NULL;
    static const char *const plts[] = {".plt", ".plt.sec", ".plt.got"};
    for (size_t p = 0; p < 3; p++) {
        const Elf64_Shdr *s = sec_named(im, plts[p]);
        size_t size;
        const unsigned char *d =
            s && (s->sh_flags & SHF_EXECINSTR) ? cp_elfsym_sec_data(im, s, &size) : NULL;
        if (!d)
            continue;
        uint64_t ent = s->sh_entsize ? s->sh_entsize : 16;
        if (ent < 6 || ent > 64)
            continue;
        for (uint64_t k = 0; k + ent <= size; k += ent) {
            uint64_t vaddr = s->sh_addr + k, got;
            const slot *sl = plt_target(d + k, ent, vaddr, &got) ? slot_at(slots, nslots, got)
                                                                 : NULL;
            if (sl) {
                if (add_stub(f, vaddr, ent, sl->relsec, sl->relidx))
                    goto out;
            } else if (p == 0 && has_sec && relaplt && k >= ent && k / ent - 1 < nrelaplt) {
                /* IBT's lazy .plt: entry k+1 pushes .rela.plt[k]. */
                if (add_stub(f, vaddr, ent, (uint32_t)(relaplt - im->sh), (uint32_t)(k / ent - 1)))
                    goto out;
            }
        }
    }
    if (f->nplt > 1)
        qsort(f->plt, f->nplt, sizeof *f->plt, plt_cmp);
    rc = 0;
out:
    free(slots);
    return rc;
}

int cp_elfsym_plt_name(cp_elfsym *f, cp_elfsym_plt *p)
{
    if (p->name || p->resolved)
        return 0;
    p->resolved = true;
    const cp_elfimg *im = &f->main;
    if (p->relsec >= im->shnum)
        return 0;
    const Elf64_Shdr *rs = &im->sh[p->relsec];
    size_t size;
    const unsigned char *d = cp_elfsym_sec_data(im, rs, &size);
    if (!d || p->relidx >= size / sizeof(Elf64_Rela))
        return 0;
    Elf64_Rela r;
    memcpy(&r, d + (size_t)p->relidx * sizeof r, sizeof r);
    uint32_t type = ELF64_R_TYPE(r.r_info);
    size_t si = ELF64_R_SYM(r.r_info);
    const char *name = NULL;
    if (type == R_X86_64_IRELATIVE) {
        /* Named by the ifunc whose resolver the addend is. */
        uint64_t resolver = (uint64_t)r.r_addend;
        if (cp_elfsym_names(f, &resolver, 1, &name))
            return CPROF_ENOMEM;
    } else if (si) {
        const Elf64_Shdr *symsec = cp_elfsym_sec_link(im, rs);
        size_t symsize = 0;
        const unsigned char *syms = symsec && symsec->sh_type == SHT_DYNSYM
                                        ? cp_elfsym_sec_data(im, symsec, &symsize) : NULL;
        const Elf64_Shdr *strsec = syms ? cp_elfsym_sec_link(im, symsec) : NULL;
        if (strsec && si < symsize / sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            memcpy(&sym, syms + si * sizeof sym, sizeof sym);
            cp_elfsym_release_near(im, syms + si * sizeof sym);
            name = cp_elfsym_str_at(im, strsec, sym.st_name);
        }
    }
    if (name && name[0]) {
        size_t len = strcspn(name, "@"); /* puts@GLIBC_2.2.5 is puts@plt */
        p->name = cp_elfsym_own(f, name, len, "@plt");
        if (type != R_X86_64_IRELATIVE)
            cp_elfsym_release_near(im, name);
        if (!p->name)
            return CPROF_ENOMEM;
    }
    return 0;
}

/* ---- open / close ------------------------------------------------------- */

/* The symbol table names come from: the debug file's .symtab, the file's
 * .symtab, else .dynsym.  Nothing of it is read here; cp_elfsym_names
 * makes one pass over it per batch of addresses. */
static void choose_symtab(cp_elfsym *f, const char *path, const char *root)
{
    size_t size;
    const Elf64_Shdr *symtab = sec_typed(&f->main, SHT_SYMTAB);
    if (symtab && cp_elfsym_sec_data(&f->main, symtab, &size)) {
        f->symimg = &f->main;
        f->symsec = symtab;
        return;
    }
    find_debug(f, path, root ? root : "/usr/lib/debug");
    if (f->dbg.base) {
        f->from_dbg = true;
        f->symimg = &f->dbg;
        f->symsec = sec_typed(&f->dbg, SHT_SYMTAB);
        return;
    }
    const Elf64_Shdr *dyn = sec_typed(&f->main, SHT_DYNSYM);
    if (dyn && cp_elfsym_sec_data(&f->main, dyn, &size)) {
        f->symimg = &f->main;
        f->symsec = dyn;
    }
}

static int finish_open(cp_elfsym *f, const char *path, const char *root)
{
    read_build_id(&f->main, f->build_id);
    int rc = read_loads(f);
    if (rc)
        return rc;
    choose_symtab(f, path, root);
    return add_plt(f);
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
    free(f->plt);
    free(f->loads);
    free(f);
}

void cp_elfsym_file_build_id(const char *path, char *out)
{
    cp_elfimg im = {0};
    out[0] = 0;
    if (image_map(path, &im) == 0)
        read_build_id(&im, out);
    image_unmap(&im);
}

const char *cp_elfsym_build_id(const cp_elfsym *f) { return f->build_id; }
bool cp_elfsym_from_debug_file(const cp_elfsym *f) { return f->from_dbg; }

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

int cp_elfsym_vdso_image(const unsigned char **out_base, size_t *out_size)
{
    const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
    if (!base || memcmp(base, ELFMAG, SELFMAG) != 0 || base[EI_CLASS] != ELFCLASS64)
        return CPROF_ENOTFOUND;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    size_t size = (size_t)eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff) + i;
        if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > size)
            size = ph->p_offset + ph->p_filesz;
    }
    if (size < sizeof *eh || size > (1u << 20))
        return CPROF_EFORMAT;
    *out_base = base;
    *out_size = size;
    return 0;
}
