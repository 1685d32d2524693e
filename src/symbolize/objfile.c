/* objfile.c — addresses of one ELF file to frames, with elfutils libdwfl.
 *
 * What: each file gets its own Dwfl session holding exactly one module,
 * reported at its link-time addresses (dwfl_report_elf with base 0), so a
 * module address is the ELF virtual address plus libdwfl's bias (0 in
 * practice).  Separate debug files are found by libdwfl's standard
 * callback: /usr/lib/debug/.build-id/xx/yyyy.debug, .gnu_debuglink next to
 * the file, in .debug/ and under /usr/lib/debug, and dwz alt files.
 *
 * Data structure: nothing is pre-indexed by us.  A lookup asks libdwfl for
 * the CU holding the address (libdwfl keeps a sorted aranges table), then
 * walks that CU's DIE tree from the top, descending only into DIEs whose
 * ranges hold the address; the walk leaves the chain of subprogram and
 * inlined_subroutine DIEs, outermost first.  Frame i+1's line is the
 * DW_AT_call_file/line/column of inlined DIE i; the innermost frame's line
 * comes from the line table.
 *
 * Alternatives rejected: dwarf_getscopes() stops the concrete chain at the
 * innermost inlined instance and continues with the abstract definition's
 * scopes, so the callers of an inlined function would need one
 * dwarf_getscopes_die() walk of the CU per inline level — our single
 * descent gives the whole concrete chain in one pass.  One Dwfl holding
 * every mapped file at its runtime address would tie the session to one
 * process image; per-file sessions serve any number of mappings (and
 * profiles merged from runs with different load addresses) of a file.
 * Writing our own DWARF reader: libdw is well kept and handles DWARF 5,
 * split and compressed sections and dwz.
 */
#include "symbolize/objfile.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cprof.h"
#include "symbolize/elfsym.h"
#include "symbolize/symbolize.h"

#define MAX_SCRATCH (2 * CP_OBJFILE_MAX_FRAMES + 8)

/* A function symbol: libdwfl's dwfl_module_addrinfo scans the whole
 * symbol table on every call (measured: 230 us per address on libc with
 * its debug file), so the table is sorted once and bisected instead. */
struct fsym {
    uint64_t start, size; /* module addresses */
    const char *name;     /* owned by libdwfl */
    int rank;             /* global 3 > weak 2 > local 1: aliases pick the best */
};

struct cp_objfile {
    Dwfl *dwfl;
    Dwfl_Module *mod;
    Dwfl_Callbacks cb;  /* libdwfl keeps a pointer to it */
    char *debug_path;   /* what cb.debuginfo_path points to */
    char *image;        /* an in-memory ELF image (the vDSO), or NULL */
    GElf_Addr bias;     /* module address = ELF vaddr + bias */
    GElf_Phdr *loads;   /* PT_LOAD program headers */
    size_t nloads;
    bool has_dwarf;
    struct fsym *syms;  /* function symbols sorted by address (lazily) */
    size_t nsyms;
    bool syms_loaded;
    char build_id[2 * 64 + 1];
    char *scratch[MAX_SCRATCH]; /* strings made by the last lookup */
    int nscratch;
};

static void scratch_clear(cp_objfile *f)
{
    for (int i = 0; i < f->nscratch; i++)
        free(f->scratch[i]);
    f->nscratch = 0;
}

/* Keep s (malloc'ed) until the next lookup; NULL when there is no room. */
static const char *scratch_keep(cp_objfile *f, char *s)
{
    if (!s)
        return NULL;
    if (f->nscratch == MAX_SCRATCH) {
        free(s);
        return NULL;
    }
    f->scratch[f->nscratch++] = s;
    return s;
}

static cp_objfile *objfile_new(const char *debug_dirs)
{
    cp_objfile *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->cb.find_elf = dwfl_build_id_find_elf;
    f->cb.find_debuginfo = dwfl_standard_find_debuginfo;
    f->cb.section_address = dwfl_offline_section_address;
    if (debug_dirs) {
        if (!(f->debug_path = strdup(debug_dirs))) {
            free(f);
            return NULL;
        }
        f->cb.debuginfo_path = &f->debug_path;
    }
    if (!(f->dwfl = dwfl_begin(&f->cb))) {
        free(f->debug_path);
        free(f);
        return NULL;
    }
    return f;
}

/* After the module is reported: program headers, build id, DWARF. */
static int objfile_finish(cp_objfile *f)
{
    Elf *elf = dwfl_module_getelf(f->mod, &f->bias);
    size_t nph = 0;
    if (!elf || elf_getphdrnum(elf, &nph) != 0)
        return CPROF_EIO;
    if (nph && !(f->loads = calloc(nph, sizeof *f->loads)))
        return CPROF_ENOMEM;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
            f->loads[f->nloads++] = ph;
    }
    const unsigned char *bits = NULL;
    GElf_Addr note_vaddr;
    int n = dwfl_module_build_id(f->mod, &bits, &note_vaddr);
    if (n > 0)
        cp_hex(f->build_id, bits, n > 64 ? 64 : (size_t)n);
    Dwarf_Addr dbias;
    f->has_dwarf = dwfl_module_getdwarf(f->mod, &dbias) != NULL;
    return 0;
}

/* Finish reporting the module to libdwfl; on success *out = f, else f is
 * closed and `fail` (or objfile_finish's error) returned.  Both openers end
 * here, so a half-made objfile is never leaked. */
static int end_report(cp_objfile *f, int fail, cp_objfile **out)
{
    int rc = fail;
    if (dwfl_report_end(f->dwfl, NULL, NULL) == 0 && f->mod)
        rc = objfile_finish(f);
    if (rc) {
        cp_objfile_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

int cp_objfile_open(const char *path, const char *debug_dirs, cp_objfile **out)
{
    cp_objfile *f = objfile_new(debug_dirs);
    if (!f)
        return CPROF_ENOMEM;
    dwfl_report_begin(f->dwfl);
    const char *base = strrchr(path, '/');
    f->mod = dwfl_report_elf(f->dwfl, base ? base + 1 : path, path, -1, 0, true);
    return end_report(f, CPROF_EIO, out);
}

int cp_objfile_open_vdso(cp_objfile **out)
{
    const unsigned char *base;
    size_t size;
    int rc = cp_elfsym_vdso_image(&base, &size);
    if (rc)
        return rc;
    cp_objfile *f = objfile_new(NULL);
    if (!f || !(f->image = malloc(size))) {
        cp_objfile_close(f);
        return CPROF_ENOMEM;
    }
    memcpy(f->image, base, size); /* libelf wants its own writable copy */
    dwfl_report_begin(f->dwfl);
    f->mod = dwfl_report_offline_memory(f->dwfl, "[vdso]", "[vdso]", f->image, size);
    return end_report(f, CPROF_EIO, out);
}

void cp_objfile_close(cp_objfile *f)
{
    if (!f)
        return;
    scratch_clear(f);
    if (f->dwfl)
        dwfl_end(f->dwfl);
    free(f->image); /* after dwfl_end: libelf reads it until then */
    free(f->loads);
    free(f->syms);
    free(f->debug_path);
    free(f);
}

const char *cp_objfile_build_id(const cp_objfile *f) { return f->build_id; }
bool cp_objfile_has_dwarf(const cp_objfile *f) { return f->has_dwarf; }

int cp_objfile_vaddr(const cp_objfile *f, uint64_t map_start, uint64_t map_offset,
                     uint64_t addr, uint64_t *vaddr)
{
    if (addr < map_start)
        return CPROF_ENOTFOUND;
    uint64_t off = addr - map_start + map_offset;
    for (size_t i = 0; i < f->nloads; i++) {
        const GElf_Phdr *ph = &f->loads[i];
        uint64_t size = ph->p_memsz > ph->p_filesz ? ph->p_memsz : ph->p_filesz;
        if (off >= ph->p_offset && off - ph->p_offset < size) {
            *vaddr = off - ph->p_offset + ph->p_vaddr;
            return 0;
        }
    }
    return CPROF_ENOTFOUND;
}

/* An absolute form of a DWARF path: relative ones are joined to the CU's
 * compilation directory. */
static const char *abs_path(cp_objfile *f, Dwarf_Die *cu, const char *p)
{
    if (!p)
        return "";
    if (p[0] == '/' || !p[0] || !cu)
        return p;
    Dwarf_Attribute am;
    const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &am));
    if (!dir || !dir[0])
        return p;
    char *s = NULL;
    if (asprintf(&s, "%s/%s", dir, p) < 0)
        return p;
    const char *kept = scratch_keep(f, s);
    return kept ? kept : p;
}

static const char *die_str(Dwarf_Die *die, int at)
{
    Dwarf_Attribute am;
    return dwarf_formstring(dwarf_attr_integrate(die, at, &am));
}

/* The name and system name of a function DIE, or false when it has none.
 * A C++ linkage name is demangled into the name; other linkage names (C
 * functions renamed with asm labels, as glibc's __GI_qsort for qsort) only
 * become the system name, the source name staying the name. */
static bool die_names(cp_objfile *f, Dwarf_Die *die, bool demangle, cp_frame *fr)
{
    const char *link = die_str(die, DW_AT_linkage_name);
    if (!link)
        link = die_str(die, DW_AT_MIPS_linkage_name);
    const char *name = die_str(die, DW_AT_name);
    if (link && link[0] == '_' && link[1] == 'Z') {
        const char *dm = demangle ? scratch_keep(f, cp_symbolize_demangle(link)) : NULL;
        fr->system_name = link;
        fr->name = dm ? dm : link;
        return true;
    }
    if (name) {
        fr->name = name;
        fr->system_name = link ? link : name;
        return true;
    }
    if (link) {
        fr->name = fr->system_name = link;
        return true;
    }
    return false;
}

/* Append to chain the subprogram / inlined_subroutine DIEs under parent
 * that contain pc, outermost first.  Returns the new depth. */
static int walk(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *chain, int depth, int max)
{
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0)
        return depth;
    do {
        switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram:
        case DW_TAG_inlined_subroutine:
        case DW_TAG_entry_point:
            if (dwarf_haspc(&child, pc) == 1) {
                if (depth < max)
                    chain[depth++] = child;
                return walk(&child, pc, chain, depth, max);
            }
            break;
        case DW_TAG_lexical_block:
        case DW_TAG_try_block:
        case DW_TAG_catch_block:
            if (dwarf_haspc(&child, pc) == 1)
                return walk(&child, pc, chain, depth, max);
            break;
        case DW_TAG_namespace:
        case DW_TAG_module: {
            /* C++ puts definitions inside namespaces, which have no ranges.
             * Class bodies hold only declarations (definitions sit at
             * namespace level with DW_AT_specification), so they are
             * skipped; a miss falls back to the symbol table's name. */
            int d = walk(&child, pc, chain, depth, max);
            if (d > depth)
                return d;
            break;
        }
        default:
            break;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return depth;
}

static int64_t die_udata(Dwarf_Die *die, int at)
{
    Dwarf_Attribute am;
    Dwarf_Word w = 0;
    if (dwarf_formudata(dwarf_attr(die, at, &am), &w) != 0)
        return 0;
    return (int64_t)w;
}

static const char *call_file(cp_objfile *f, Dwarf_Die *cu, Dwarf_Die *inl)
{
    Dwarf_Attribute am;
    Dwarf_Word idx;
    Dwarf_Files *files;
    size_t nfiles;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &am), &idx) != 0 ||
        dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles)
        return "";
    return abs_path(f, cu, dwarf_filesrc(files, idx, NULL, NULL));
}

static int fsym_cmp(const void *a, const void *b)
{
    const struct fsym *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->rank != y->rank)
        return y->rank - x->rank;
    return strcmp(x->name, y->name);
}

static void load_symbols(cp_objfile *f)
{
    f->syms_loaded = true;
    int n = dwfl_module_getsymtab(f->mod);
    if (n <= 0 || !(f->syms = calloc((size_t)n, sizeof *f->syms)))
        return;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        const char *name =
            dwfl_module_getsym_info(f->mod, i, &sym, &addr, &shndx, NULL, NULL);
        int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
        if (!name || !name[0] || shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC))
            continue;
        f->syms[f->nsyms++] = (struct fsym){
            .start = addr, .size = sym.st_size, .name = name,
            .rank = bind == STB_LOCAL ? 1 : bind == STB_WEAK ? 2 : 3};
    }
    qsort(f->syms, f->nsyms, sizeof *f->syms, fsym_cmp);
}

/* The best-ranked symbol whose range holds a (a size-0 symbol holds what
 * follows it up to the next symbol), looking at most two starts back. */
static const char *symbol_at(cp_objfile *f, uint64_t a)
{
    if (!f->syms_loaded)
        load_symbols(f);
    size_t lo = 0, hi = f->nsyms;
    while (lo < hi) { /* first symbol starting after a */
        size_t mid = lo + (hi - lo) / 2;
        if (f->syms[mid].start <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    for (int tries = 0; tries < 2 && i > 0; tries++) {
        uint64_t start = f->syms[i - 1].start;
        size_t first = i - 1;
        while (first > 0 && f->syms[first - 1].start == start)
            first--;
        for (size_t k = first; k < i; k++) /* best rank first */
            if (f->syms[k].size == 0 ? tries == 0 : a - start < f->syms[k].size)
                return f->syms[k].name;
        i = first;
    }
    return NULL;
}

int cp_objfile_lookup(cp_objfile *f, uint64_t vaddr, bool demangle, cp_frame *frames, int max)
{
    scratch_clear(f);
    if (max <= 0)
        return 0;
    Dwarf_Addr a = vaddr + f->bias;

    /* The symbol table: the fallback name, and the only one without DWARF. */
    const char *symname = symbol_at(f, a);

    /* The line table's row for the innermost frame. */
    const char *file = "";
    int line = 0, col = 0;
    Dwarf_Addr cubias = 0;
    Dwarf_Die *cu = f->has_dwarf ? dwfl_module_addrdie(f->mod, a, &cubias) : NULL;
    if (cu) {
        Dwfl_Line *ln = dwfl_module_getsrc(f->mod, a);
        const char *src = ln ? dwfl_lineinfo(ln, NULL, &line, &col, NULL, NULL) : NULL;
        if (src)
            file = abs_path(f, cu, src);
        else
            line = col = 0;
    }

    Dwarf_Die chain[CP_OBJFILE_MAX_FRAMES];
    int depth = cu ? walk(cu, a - cubias, chain, 0, CP_OBJFILE_MAX_FRAMES) : 0;
    if (depth == 0) {
        if (!symname)
            return 0;
        cp_frame *fr = &frames[0];
        const char *dm = demangle ? scratch_keep(f, cp_symbolize_demangle(symname)) : NULL;
        fr->name = dm ? dm : symname;
        fr->system_name = symname;
        fr->file = file;
        fr->line = line;
        fr->column = col;
        fr->start_line = 0;
        return 1;
    }

    int n = 0;
    for (int i = depth - 1; i >= 0 && n < max; i--) {
        Dwarf_Die *die = &chain[i];
        cp_frame *fr = &frames[n++];
        if (!die_names(f, die, demangle, fr)) {
            const char *s = (i == 0 && symname) ? symname : "??";
            fr->name = fr->system_name = s;
        }
        const char *decl = dwarf_decl_file(die);
        fr->file = decl ? abs_path(f, cu, decl) : file;
        fr->line = line;
        fr->column = col;
        int dl = 0;
        fr->start_line = dwarf_decl_line(die, &dl) == 0 ? dl : 0;
        if (dwarf_tag(die) == DW_TAG_inlined_subroutine) {
            /* The caller's position is where this instance was inlined. */
            file = call_file(f, cu, die);
            line = (int)die_udata(die, DW_AT_call_line);
            col = (int)die_udata(die, DW_AT_call_column);
        }
    }
    return n;
}
