/* test_elfname.c — the profiled process's ELF-only names, then DWARF on top.
 *
 * The in-process namer (cp_elfname, what the collectors' writers call
 * through cp_output_symbolize) is checked against independent oracles:
 * objdump's `foo@plt` labels for every PLT entry, nm's addresses for
 * static functions, readelf's build id.  Libraries are compiled by the
 * test itself (a plain one, an IBT one with .plt.sec, a stripped one).
 * Then cp_symbolize must give an ELF-named profile the same file:line and
 * inline frames as a bare-address one, keep names DWARF cannot improve,
 * be harmless twice, and answer the second time from its build-id cache.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <elf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "collect/output.h"
#include "collect/procmaps.h"
#include "profile/builder.h"
#include "symbolize/elfname.h"
#include "symbolize/elfsym.h"
#include "symbolize/symbolize.h"
#include "symfix.h"

static char tmpdir[] = "/tmp/cprof-elfname.XXXXXX";
static void make_tmp(void) { cr_assert_not_null(mkdtemp(tmpdir)); }
static void rm_tmp(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    cr_assert_eq(system(cmd), 0, "command failed: %s", cmd);
}

/* First line of a command's output, or "" (the caller checks). */
static void sh_line(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sh_line(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    out[0] = 0;
    if (!fgets(out, (int)cap, p))
        out[0] = 0;
    out[strcspn(out, "\n")] = 0;
    pclose(p);
}

static const char lib_src[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }\n"
    "__attribute__((noinline)) static int hidden_work(int x) {\n"
    "  int v[4] = {x, 3, 2, 1}; qsort(v, 4, sizeof v[0], cmp);\n"
    "  char b[32]; snprintf(b, sizeof b, \"%d\", v[0]); return (int)strlen(b) + v[3]; }\n"
    "int pub_entry(int x) { return hidden_work(x) + 1; }\n"
    "int pub_other(int x) { puts(\"x\"); return x; }\n";

/* Build libt.so from lib_src with extra flags into tmpdir/NAME. */
static void build_lib(const char *name, const char *flags)
{
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s/libt.c", tmpdir);
    if (access(src, F_OK) != 0) {
        FILE *f = fopen(src, "w");
        cr_assert_not_null(f);
        fputs(lib_src, f);
        fclose(f);
    }
    sh("cc -O1 -g -fPIC -shared -Wl,--build-id %s -o '%s/%s' '%s'", flags, tmpdir, name, src);
}

/* Every `<foo@plt>:` objdump prints for path must be our name at that
 * address and at its last byte; returns how many there were. */
static int check_plt_against_objdump(const char *path)
{
    char cmd[PATH_MAX + 128];
    char name[512];
    snprintf(cmd, sizeof cmd,
             "objdump -d -j .plt -j .plt.sec -j .plt.got '%s' 2>/dev/null | grep '@plt>:$'", path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    cp_elfsym *f = NULL;
    cr_assert_eq(cp_elfsym_open(path, NULL, &f), 0);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, p)) {
        unsigned long long addr;
        cr_assert_eq(sscanf(line, "%llx <%500[^>]>:", &addr, name), 2, "objdump: %s", line);
        unsigned long long resolver;
        if (sscanf(name, "*ABS*+%llx@plt", &resolver) == 1) {
            /* An IRELATIVE slot: objdump gives the resolver's address, we
             * the name of the ifunc there. */
            const char *ifunc = cp_elfsym_name(f, resolver);
            cr_assert(ifunc, "no symbol at resolver %#llx", resolver);
            snprintf(name, sizeof name, "%s@plt", ifunc);
        }
        const char *got = cp_elfsym_name(f, addr);
        cr_expect(got && !strcmp(got, name), "%s at %#llx: we say %s", name, addr,
                  got ? got : "(nothing)");
        got = cp_elfsym_name(f, addr + 7);
        cr_expect(got && !strcmp(got, name), "%s at %#llx+7: we say %s", name, addr,
                  got ? got : "(nothing)");
        n++;
    }
    pclose(p);
    cp_elfsym_close(f);
    return n;
}

Test(elfsym, plt_stubs_match_objdump, .init = make_tmp, .fini = rm_tmp)
{
    build_lib("libplain.so", "-fcf-protection=none");
    build_lib("libibt.so", "-fcf-protection=full -Wl,-z,ibtplt");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/libplain.so", tmpdir);
    cr_expect_geq(check_plt_against_objdump(path), 3, "qsort, snprintf, puts stubs");
    snprintf(path, sizeof path, "%s/libibt.so", tmpdir);
    char sec[64];
    sh_line(sec, sizeof sec, "readelf -SW '%s' | grep -c '\\.plt\\.sec'", path);
    cr_expect_str_eq(sec, "1", "the IBT build should have .plt.sec");
    cr_expect_geq(check_plt_against_objdump(path), 3);
    /* The fixture library: .plt and .plt.got (__cxa_finalize). */
    Dl_info info;
    cr_assert(dladdr((void *)symfix_outer, &info));
    cr_expect_geq(check_plt_against_objdump(info.dli_fname), 2);
    /* libc's own PLT goes through IRELATIVE slots: named after the ifunc. */
    cr_assert(dladdr((void *)qsort, &info));
    char real[PATH_MAX];
    cr_assert_not_null(realpath(info.dli_fname, real));
    check_plt_against_objdump(real);
}

/* nm's address of a symbol in path (a static one included). */
static uint64_t nm_addr(const char *path, const char *sym)
{
    char out[128];
    sh_line(out, sizeof out, "nm '%s' | awk '$3 == \"%s\" {print $1}'", path, sym);
    cr_assert(out[0], "nm does not know %s in %s", sym, path);
    return strtoull(out, NULL, 16);
}

/* The file offset of vaddr, from the PT_LOAD headers (readelf's view). */
static uint64_t file_offset(const char *path, uint64_t vaddr)
{
    char cmd[PATH_MAX + 64], line[512];
    snprintf(cmd, sizeof cmd, "readelf -lW '%s'", path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    uint64_t off = UINT64_MAX;
    while (fgets(line, sizeof line, p)) {
        unsigned long long o, v, pa, fsz;
        if (sscanf(line, " LOAD 0x%llx 0x%llx 0x%llx 0x%llx", &o, &v, &pa, &fsz) == 4 &&
            vaddr >= v && vaddr < v + fsz)
            off = vaddr - v + o;
    }
    pclose(p);
    cr_assert_neq(off, UINT64_MAX, "no LOAD segment holds %#llx", (unsigned long long)vaddr);
    return off;
}

static void build_id_of(const char *path, char *out, size_t cap)
{
    sh_line(out, cap, "readelf -n '%s' | awk '/Build ID/ {print $3}'", path);
}

/* A profile with one sample per (mapping path, file offset): the mapping
 * covers the whole file at 0x10000000 + 0x1000000 * i. */
static cp_profile *file_profile(const char *const *paths, const uint64_t *offs, size_t n)
{
    cp_pbuilder *b = cp_pbuilder_new(true);
    cr_assert_eq(cp_pbuilder_sample_type(b, "samples", "count"), 0);
    for (size_t i = 0; i < n; i++) {
        char bid[256];
        build_id_of(paths[i], bid, sizeof bid);
        uint64_t start = 0x10000000ull + 0x1000000ull * i;
        uint64_t mid = cp_pbuilder_mapping(b, start, start + 0x1000000, 0, paths[i], bid, false,
                                           false, false, false);
        uint64_t lid = cp_pbuilder_location(b, mid, start + offs[i], NULL, 0, false);
        int64_t v = 1;
        cr_assert_eq(cp_pbuilder_sample(b, &lid, 1, &v, NULL, 0), 0);
    }
    cp_profile *p = cp_pbuilder_finish(b);
    cr_assert_not_null(p);
    cp_pbuilder_free(b);
    return p;
}

static const char *loc_name(const cp_profile *p, size_t li)
{
    const cp_location *l = &p->locations[li];
    cr_assert_eq(l->nlines, 1, "location %zu has %u lines", li, l->nlines);
    return cp_str(p, p->functions[l->lines[0].func].name);
}

static size_t loc_index(const cp_profile *p, uint64_t addr)
{
    for (size_t i = 0; i < p->nlocations; i++)
        if (p->locations[i].address == addr)
            return i;
    cr_assert_fail("no location at %#llx", (unsigned long long)addr);
    return 0;
}

Test(elfname, stripped_library_gives_file_offsets, .init = make_tmp, .fini = rm_tmp)
{
    build_lib("libfull.so", "");
    char full[PATH_MAX], stripped[PATH_MAX];
    snprintf(full, sizeof full, "%s/libfull.so", tmpdir);
    snprintf(stripped, sizeof stripped, "%s/libstrip.so", tmpdir);
    sh("objcopy --strip-all '%s' '%s'", full, stripped);
    uint64_t hidden = nm_addr(full, "hidden_work"), pub = nm_addr(full, "pub_entry");
    uint64_t hoff = file_offset(full, hidden) + 4, poff = file_offset(full, pub) + 4;
    const char *paths[4] = {stripped, stripped, full, full};
    uint64_t offs[4] = {hoff, poff, hoff, poff};
    cp_profile *raw = file_profile(paths, offs, 4), *named = NULL;
    cp_elfname_stats st;
    cr_assert_eq(cp_elfname_profile(raw, &named, NULL, &st), 0);
    char want[64];
    snprintf(want, sizeof want, "libstrip.so+0x%llx", (unsigned long long)hoff);
    cr_expect_str_eq(loc_name(named, 0), want, "static code of a stripped library");
    cr_expect_str_eq(loc_name(named, 1), "pub_entry", ".dynsym still names exports");
    cr_expect_str_eq(loc_name(named, 2), "hidden_work", ".symtab names static functions");
    cr_expect_str_eq(loc_name(named, 3), "pub_entry");
    cr_expect_eq(st.named, 3);
    cr_expect_eq(st.offsets, 1);
    for (size_t i = 0; i < named->nmappings; i++) {
        const cp_mapping *m = &named->mappings[i];
        char bid[256];
        build_id_of(cp_str(named, m->filename), bid, sizeof bid);
        cr_expect(bid[0] && !strcmp(cp_str(named, m->build_id), bid), "build id kept");
        cr_expect(m->has_functions);
        cr_expect(!m->has_filenames && !m->has_line_numbers && !m->has_inline_frames);
    }
    for (size_t i = 0; i < named->nlocations; i++)
        cr_expect_str_eq(cp_str(named, named->functions[named->locations[i].lines[0].func]
                                           .filename), "");

    /* DWARF on top: the unstripped library gets file:line; the stripped
     * one has nothing better, so its names stay. */
    cp_symbolize_opts o = {.quiet = true, .no_disk_cache = true};
    cp_profile *sym = NULL;
    cr_assert_eq(cp_symbolize(named, &o, &sym, NULL), 0);
    cr_expect_str_eq(loc_name(sym, 0), want);
    cr_expect_str_eq(loc_name(sym, 1), "pub_entry");
    cr_expect_gt(sym->locations[2].lines[0].line, 0, "DWARF line for hidden_work");
    cr_expect_str_eq(cp_str(sym, sym->functions[sym->locations[2].lines[0].func].name),
                     "hidden_work");
    cp_profile_free(raw);
    cp_profile_free(named);
    cp_profile_free(sym);
}

Test(elfname, truncated_and_garbage_files_do_not_crash, .init = make_tmp, .fini = rm_tmp)
{
    build_lib("libfull.so", "-fcf-protection=full -Wl,-z,ibtplt");
    char full[PATH_MAX], cut[PATH_MAX];
    snprintf(full, sizeof full, "%s/libfull.so", tmpdir);
    snprintf(cut, sizeof cut, "%s/cut.so", tmpdir);
    cp_buf b = {0};
    cr_assert_eq(cp_buf_read_file(&b, full, 1u << 24), 0);
    int opened = 0;
    for (size_t len = 1; len < b.len; len += 97) {
        FILE *f = fopen(cut, "w");
        cr_assert_not_null(f);
        fwrite(b.data, 1, len, f);
        fclose(f);
        cp_elfsym *e = NULL;
        if (cp_elfsym_open(cut, "/nonexistent", &e) == 0) {
            opened++;
            for (uint64_t a = 0; a < 0x3000; a += 16)
                (void)cp_elfsym_name(e, a);
            cp_elfsym_close(e);
        }
    }
    /* Section headers scribbled over: names may go, the reader stays up. */
    for (size_t i = 0; i + 64 <= b.len; i += 61)
        b.data[i] ^= 0x5a;
    FILE *f = fopen(cut, "w");
    cr_assert_not_null(f);
    fwrite(b.data, 1, b.len, f);
    fclose(f);
    cp_elfsym *e = NULL;
    if (cp_elfsym_open(cut, "/nonexistent", &e) == 0) {
        for (uint64_t a = 0; a < 0x3000; a += 16)
            (void)cp_elfsym_name(e, a);
        cp_elfsym_close(e);
    }
    cr_expect_gt(opened, 0);
    cp_buf_free(&b);
}

/* ---- the fixture library, loaded in this process ----------------------- */

static cp_profile *raw_profile(const uint64_t *pcs, size_t n)
{
    cp_procmaps *m = cp_procmaps_load();
    cr_assert_not_null(m);
    cp_pbuilder *b = cp_pbuilder_new(true);
    cr_assert_eq(cp_pbuilder_sample_type(b, "samples", "count"), 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t mid = cp_procmaps_mapping_id(m, b, pcs[i]);
        uint64_t lid = cp_pbuilder_location(b, mid, pcs[i], NULL, 0, false);
        int64_t v = (int64_t)(i + 1);
        cr_assert_eq(cp_pbuilder_sample(b, &lid, 1, &v, NULL, 0), 0);
    }
    cp_profile *p = cp_pbuilder_finish(b);
    cr_assert_not_null(p);
    cp_pbuilder_free(b);
    cp_procmaps_free(m);
    return p;
}

static cp_profile *copy_profile(const cp_profile *p)
{
    cp_buf b = {0};
    cp_profile *out = NULL;
    cr_assert_eq(cp_profile_encode(p, &b), 0);
    cr_assert_eq(cp_profile_decode(b.data, b.len, NULL, &out, NULL), 0);
    cp_buf_free(&b);
    return out;
}

/* The PLT stub of symfix_record inside libsymfix.so, at run time. */
static uint64_t symfix_plt_pc(void)
{
    Dl_info info;
    cr_assert(dladdr((void *)symfix_outer, &info));
    char out[64];
    sh_line(out, sizeof out,
            "objdump -d -j .plt -j .plt.sec '%s' | awk '/<symfix_record@plt>:$/ {print $1}'",
            info.dli_fname);
    cr_assert(out[0], "objdump shows no symfix_record@plt");
    return (uint64_t)(uintptr_t)info.dli_fbase + strtoull(out, NULL, 16) + 2;
}

static void expect_same_lines(const cp_profile *a, size_t la, const cp_profile *b, size_t lb)
{
    const cp_location *x = &a->locations[la], *y = &b->locations[lb];
    cr_assert_eq(x->nlines, y->nlines, "%u lines against %u", x->nlines, y->nlines);
    for (uint32_t k = 0; k < x->nlines; k++) {
        const cp_function *fx = &a->functions[x->lines[k].func],
                          *fy = &b->functions[y->lines[k].func];
        cr_expect_str_eq(cp_str(a, fx->name), cp_str(b, fy->name));
        cr_expect_str_eq(cp_str(a, fx->system_name), cp_str(b, fy->system_name));
        cr_expect_str_eq(cp_str(a, fx->filename), cp_str(b, fy->filename));
        cr_expect_eq(fx->start_line, fy->start_line);
        cr_expect_eq(x->lines[k].line, y->lines[k].line);
        cr_expect_eq(x->lines[k].column, y->lines[k].column);
    }
}

Test(elfname, in_process_names_then_dwarf_then_cache, .init = make_tmp, .fini = rm_tmp)
{
    cr_assert_eq(symfix_outer(1), 4);
    cr_assert_eq(symfix_entry(5), 4);
    symfix_cpp_entry(1);
    /* libc's own qsort (a sanitizer build interposes its own). */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    cr_assert_not_null(libc);
    uint64_t pcs[5] = {symfix_get(SYMFIX_INL)->pc, symfix_get(SYMFIX_STATIC)->pc,
                       symfix_plt_pc(), (uint64_t)(uintptr_t)dlsym(libc, "qsort") + 3,
                       symfix_get(SYMFIX_CPP)->pc};
    size_t n = symfix_have_cpp() ? 5 : 4;
    cp_profile *raw = raw_profile(pcs, n);

    /* What the collectors' writers do at exit. */
    cp_profile *named = cp_output_symbolize(copy_profile(raw));
    cr_assert_not_null(named);
    cr_expect_str_eq(loc_name(named, loc_index(named, pcs[0])), "symfix_outer",
                     "no DWARF: the inlined code is its caller's");
    cr_expect_str_eq(loc_name(named, loc_index(named, pcs[1])), "symfix_static");
    cr_expect_str_eq(loc_name(named, loc_index(named, pcs[2])), "symfix_record@plt");
    cr_expect_str_eq(loc_name(named, loc_index(named, pcs[3])), "qsort",
                     "libc from its debug file's .symtab");
    if (n == 5) {
        /* Demangled only with a demangler the process already has. */
        bool loaded = dlsym(RTLD_DEFAULT, "__cxa_demangle") != NULL;
        size_t li = loc_index(named, pcs[4]);
        const cp_function *f = &named->functions[named->locations[li].lines[0].func];
        cr_expect_str_eq(cp_str(named, f->system_name), "_ZN6symfix6Widget4frobEi");
        cr_expect_str_eq(cp_str(named, f->name),
                         loaded ? "symfix::Widget::frob(int)" : "_ZN6symfix6Widget4frobEi");
        if (!loaded) {
            cr_assert_not_null(dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL));
            char *dm = cp_elfname_demangle_loaded("_ZN6symfix6Widget4frobEi");
            cr_expect(dm && !strcmp(dm, "symfix::Widget::frob(int)"), "once loaded: %s",
                      dm ? dm : "(null)");
            free(dm);
        }
    }
    for (size_t i = 0; i < named->nmappings; i++) {
        const cp_mapping *m = &named->mappings[i];
        cr_expect(cp_str(named, m->build_id)[0], "build id on %s", cp_str(named, m->filename));
        cr_expect(!m->has_line_numbers && !m->has_filenames && !m->has_inline_frames);
    }

    /* DWARF on top gives what it gives a bare profile, where it has an
     * answer; the PLT stub keeps its name. */
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/cache", tmpdir);
    cp_symbolize_opts nocache = {.quiet = true, .no_disk_cache = true};
    cp_symbolize_opts cached = {.quiet = true, .cache_dir = cache};
    cp_profile *from_raw = NULL, *from_named = NULL, *again = NULL, *hit = NULL;
    cp_symbolize_stats st;
    cr_assert_eq(cp_symbolize(raw, &nocache, &from_raw, NULL), 0);
    cr_assert_eq(cp_symbolize_ex(named, &cached, &from_named, NULL, &st), 0);
    cr_expect_eq(st.cache_hits, 0);
    cr_expect_eq(st.cache_misses, n);
    cr_expect_gt(st.files_opened, 0);
    for (size_t i = 0; i < n; i++) {
        if (i == 2)
            continue;
        expect_same_lines(from_raw, loc_index(from_raw, pcs[i]), from_named,
                          loc_index(from_named, pcs[i]));
    }
    size_t li = loc_index(from_named, pcs[0]);
    cr_expect_eq(from_named->locations[li].nlines, 2, "inline frame added");
    cr_expect_str_eq(loc_name(from_named, loc_index(from_named, pcs[2])), "symfix_record@plt");

    /* Twice is harmless: the same bytes. */
    cp_buf b1 = {0}, b2 = {0}, b3 = {0};
    cr_assert_eq(cp_symbolize_ex(from_named, &cached, &again, NULL, &st), 0);
    cr_assert_eq(cp_profile_encode(from_named, &b1), 0);
    cr_assert_eq(cp_profile_encode(again, &b2), 0);
    cr_expect(b1.len == b2.len && !memcmp(b1.data, b2.data, b1.len), "second pass changed it");

    /* The same ELF-named profile again: every answer from the cache, no
     * file opened, the same result. */
    cr_assert_eq(cp_symbolize_ex(named, &cached, &hit, NULL, &st), 0);
    cr_expect_eq(st.cache_hits, n, "hits %zu", st.cache_hits);
    cr_expect_eq(st.cache_misses, 0);
    cr_expect_eq(st.files_opened, 0);
    cr_assert_eq(cp_profile_encode(hit, &b3), 0);
    cr_expect(b1.len == b3.len && !memcmp(b1.data, b3.data, b1.len), "cache changed the answer");

    cp_buf_free(&b1);
    cp_buf_free(&b2);
    cp_buf_free(&b3);
    cp_profile_free(raw);
    cp_profile_free(named);
    cp_profile_free(from_raw);
    cp_profile_free(from_named);
    cp_profile_free(again);
    cp_profile_free(hit);
}

/* The vDSO has no file: named from this process's memory.  Oracle: nm -D
 * on a copy of the image written out by the test. */
Test(elfname, vdso_from_memory, .init = make_tmp, .fini = rm_tmp)
{
    const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
    if (!base)
        cr_skip_test("no vDSO");
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    size_t size = (size_t)eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/vdso.so", tmpdir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(base, 1, size, f), size);
    fclose(f);
    char out[128];
    sh_line(out, sizeof out,
            "nm -D '%s' | awk '$3 ~ /^__vdso_clock_gettime(@|$)/ {print $1}'", path);
    if (!out[0])
        cr_skip_test("this vDSO has no __vdso_clock_gettime");
    uint64_t vaddr = strtoull(out, NULL, 16);
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
    uint64_t first = UINT64_MAX;
    for (unsigned i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < first)
            first = ph[i].p_vaddr;
    uint64_t pc = (uint64_t)(uintptr_t)base + vaddr - first + 2;
    cp_profile *raw = raw_profile(&pc, 1), *named = NULL;
    cr_assert_eq(cp_elfname_profile(raw, &named, NULL, NULL), 0);
    size_t li = loc_index(named, pc);
    cr_expect_str_eq(cp_str(named, named->mappings[named->locations[li].mapping].filename),
                     "[vdso]");
    cr_expect_str_eq(loc_name(named, li), "__vdso_clock_gettime");
    cp_profile_free(raw);
    cp_profile_free(named);
}

/* The build-id cache: an unusable directory means no cache (and no
 * error); a corrupt file is ignored and rewritten; an entry is not trusted
 * once the binary at the path changed (here: the same build id, stripped
 * of its DWARF, as a stale cache would wrongly keep answering with lines). */
Test(symcache, unusable_corrupt_and_stale, .init = make_tmp, .fini = rm_tmp)
{
    build_lib("libfull.so", "");
    char lib[PATH_MAX], dir[PATH_MAX], notdir[PATH_MAX], file[2 * PATH_MAX];
    snprintf(lib, sizeof lib, "%s/libfull.so", tmpdir);
    snprintf(dir, sizeof dir, "%s/cache", tmpdir);
    snprintf(notdir, sizeof notdir, "%s/libt.c/cache", tmpdir); /* under a regular file */
    uint64_t off = file_offset(lib, nm_addr(lib, "hidden_work")) + 4;
    const char *paths[1] = {lib};
    cp_profile *raw = file_profile(paths, &off, 1), *out = NULL;
    char bid[256];
    build_id_of(lib, bid, sizeof bid);
    cp_symbolize_stats st;

    cp_symbolize_opts bad = {.quiet = true, .cache_dir = notdir};
    cr_assert_eq(cp_symbolize_ex(raw, &bad, &out, NULL, &st), 0);
    cr_expect_eq(st.cache_hits + st.cache_misses, 0, "no cache without a directory");
    cr_expect_gt(out->locations[0].lines[0].line, 0);
    cp_profile_free(out);

    cp_symbolize_opts o = {.quiet = true, .cache_dir = dir};
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(file, sizeof file, "%s/%s.sym", dir, bid);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("cprof-symcache 1\nstamp garbage\n@zz 99\n", f);
    fclose(f);
    cr_assert_eq(cp_symbolize_ex(raw, &o, &out, NULL, &st), 0);
    cr_expect_eq(st.cache_misses, 1, "a corrupt file answers nothing");
    int64_t line = out->locations[0].lines[0].line;
    cr_expect_gt(line, 0);
    cp_profile_free(out);
    cr_assert_eq(cp_symbolize_ex(raw, &o, &out, NULL, &st), 0);
    cr_expect_eq(st.cache_hits, 1, "rewritten after the miss");
    cr_expect_eq(out->locations[0].lines[0].line, line);
    cp_profile_free(out);

    /* Same build id, no DWARF any more: a fresh entry, and no lines. */
    sh("sleep 0.01; objcopy --strip-debug '%s' '%s.s' && mv '%s.s' '%s'", lib, lib, lib, lib);
    cr_assert_eq(cp_symbolize_ex(raw, &o, &out, NULL, &st), 0);
    cr_expect_eq(st.cache_hits, 0, "the binary changed: the entry is stale");
    cr_expect_eq(out->locations[0].lines[0].line, 0, "no DWARF left");
    cr_expect_str_eq(loc_name(out, 0), "hidden_work");
    cp_profile_free(out);
    cp_profile_free(raw);
}

/* A C++ name the process could not demangle (no libstdc++ loaded) and
 * DWARF cannot replace (no debug info): cprof symbolize demangles it. */
Test(elfname, mangled_elf_name_demangled_outside, .init = make_tmp, .fini = rm_tmp)
{
    if (!symfix_have_cpp())
        cr_skip_test("fixture built without a C++ compiler");
    Dl_info info;
    cr_assert(dladdr((void *)symfix_outer, &info));
    char copy[PATH_MAX], bid[256];
    snprintf(copy, sizeof copy, "%s/libsymfix-nodebug.so", tmpdir);
    sh("objcopy --strip-debug '%s' '%s'", info.dli_fname, copy);
    build_id_of(copy, bid, sizeof bid);
    uint64_t off = file_offset(copy, nm_addr(copy, "_ZN6symfix6Widget4frobEi")) + 2;
    cp_pbuilder *b = cp_pbuilder_new(true);
    cr_assert_eq(cp_pbuilder_sample_type(b, "samples", "count"), 0);
    uint64_t mid = cp_pbuilder_mapping(b, 0x10000000, 0x11000000, 0, copy, bid, true, false,
                                       false, false);
    uint64_t fid = cp_pbuilder_function(b, "_ZN6symfix6Widget4frobEi",
                                        "_ZN6symfix6Widget4frobEi", "", 0);
    cp_line_in line = {.function_id = fid};
    uint64_t lid = cp_pbuilder_location(b, mid, 0x10000000 + off, &line, 1, false);
    int64_t v = 1;
    cr_assert_eq(cp_pbuilder_sample(b, &lid, 1, &v, NULL, 0), 0);
    cp_profile *in = cp_pbuilder_finish(b), *out = NULL;
    cp_pbuilder_free(b);
    cp_symbolize_opts o = {.quiet = true, .no_disk_cache = true};
    cr_assert_eq(cp_symbolize(in, &o, &out, NULL), 0);
    const cp_function *f = &out->functions[out->locations[0].lines[0].func];
    cr_expect_str_eq(cp_str(out, f->name), "symfix::Widget::frob(int)");
    cr_expect_str_eq(cp_str(out, f->system_name), "_ZN6symfix6Widget4frobEi");
    cr_expect_eq(out->locations[0].lines[0].line, 0);
    cp_profile_free(in);
    cp_profile_free(out);
}
