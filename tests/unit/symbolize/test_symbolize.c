/* test_symbolize.c — procmaps + cp_symbolize on this very process.
 *
 * The fixture library (symfix.c, symfix_cpp.cpp) records addresses inside
 * functions at known lines; each test takes those addresses, builds a
 * profile the way a collector does (procmaps + builder, no names), runs
 * the symbolizer and checks names, files, lines and inline frames exactly.
 * Variants of the library made with objcopy at test time cover stripped
 * files, .gnu_debuglink, the build-id directory and build-id mismatches.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/procmaps.h"
#include "profile/builder.h"
#include "symbolize/symbolize.h"
#include "symfix.h"

static const cp_symbolize_opts quiet = {.quiet = true};
static const cp_symbolize_opts cached = {.quiet = true, .cache = true};

/* A function of the test executable itself (a PIE): mapping[0]. */
static uint64_t exe_pc;
static int exe_line;
static __attribute__((noinline, noipa)) void exe_record(int line)
{
    exe_pc = (uint64_t)(uintptr_t)__builtin_return_address(0) - 1;
    exe_line = line;
}
static __attribute__((noinline, noipa)) int exe_function(int x)
{
    exe_record(__LINE__);
    return x + 1;
}

static void run_fixture(void)
{
    cr_assert_eq(symfix_outer(1), 4);
    cr_assert_eq(symfix_entry(5), 4);
    symfix_cpp_entry(1);
    cr_assert_eq(exe_function(1), 2);
}

/* A profile with one sample per address, mappings from procmaps. */
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

/* The same profile with every mapping of the fixture library pointed at
 * another file and/or build id. */
static cp_profile *retarget(const cp_profile *in, const char *lib, const char *path,
                            const char *build_id)
{
    cp_pbuilder *b = cp_pbuilder_new(false);
    cp_pbuilder_sample_type(b, "samples", "count");
    uint64_t *mid = calloc(in->nmappings, sizeof *mid);
    for (size_t i = 0; i < in->nmappings; i++) {
        const cp_mapping *m = &in->mappings[i];
        const char *f = cp_str(in, m->filename), *bid = cp_str(in, m->build_id);
        if (!strcmp(f, lib)) {
            f = path ? path : f;
            bid = build_id ? build_id : bid;
        }
        mid[i] = cp_pbuilder_mapping(b, m->start, m->limit, m->offset, f, bid, false, false,
                                     false, false);
    }
    for (size_t i = 0; i < in->nsamples; i++) {
        const cp_location *l = &in->locations[in->samples[i].locs[0]];
        uint64_t lid = cp_pbuilder_location(b, mid[l->mapping], l->address, NULL, 0, false);
        cp_pbuilder_sample(b, &lid, 1, in->samples[i].values, NULL, 0);
    }
    free(mid);
    cp_profile *p = cp_pbuilder_finish(b);
    cp_pbuilder_free(b);
    return p;
}

static const cp_location *loc_at(const cp_profile *p, uint64_t addr)
{
    for (size_t i = 0; i < p->nlocations; i++)
        if (p->locations[i].address == addr)
            return &p->locations[i];
    cr_assert_fail("no location at %#llx", (unsigned long long)addr);
    return NULL;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void expect_line(const cp_profile *p, const cp_location *l, uint32_t k, const char *name,
                        const char *file, int64_t line)
{
    cr_assert_lt(k, l->nlines);
    const cp_line *ln = &l->lines[k];
    cr_assert_neq(ln->func, CP_NO_FUNCTION);
    const cp_function *f = &p->functions[ln->func];
    cr_expect_str_eq(cp_str(p, f->name), name);
    if (file)
        cr_expect_str_eq(base(cp_str(p, f->filename)), file);
    else
        cr_expect_str_eq(cp_str(p, f->filename), "");
    cr_expect_eq(ln->line, line, "%s: line %lld, want %lld", name, (long long)ln->line,
                 (long long)line);
}

static const char *lib_path(void)
{
    static char path[PATH_MAX];
    Dl_info info;
    cr_assert(dladdr((void *)symfix_outer, &info) && info.dli_fname);
    cr_assert_not_null(realpath(info.dli_fname, path));
    return path;
}

static const char *lib_mapping_path(const cp_profile *p)
{
    const char *want = lib_path();
    for (size_t i = 0; i < p->nmappings; i++) {
        char real[PATH_MAX];
        const char *f = cp_str(p, p->mappings[i].filename);
        if (realpath(f, real) && !strcmp(real, want))
            return f;
    }
    cr_assert_fail("fixture library not among the mappings");
    return NULL;
}

static const cp_mapping *mapping_named(const cp_profile *p, const char *path)
{
    for (size_t i = 0; i < p->nmappings; i++)
        if (!strcmp(cp_str(p, p->mappings[i].filename), path))
            return &p->mappings[i];
    cr_assert_fail("no mapping %s", path);
    return NULL;
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

static char tmpdir[] = "/tmp/cprof-symtest.XXXXXX";
static void make_tmp(void) { cr_assert_not_null(mkdtemp(tmpdir)); }
static void rm_tmp(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

Test(symbolize, dwarf_inline_frames)
{
    run_fixture();
    const symfix_mark *mk = symfix_get(SYMFIX_INL);
    cp_profile *raw = raw_profile(&mk->pc, 1), *out = NULL;
    cp_symbolize_stats st;
    cp_diag d;
    cr_assert_eq(cp_symbolize_ex(raw, &quiet, &out, &d, &st), 0, "%s", d.msg);
    cr_expect_str_eq(d.msg, "");
    cr_expect_eq(st.symbolized, 1);
    cr_expect_eq(st.unsymbolized, 0);
    const cp_location *l = loc_at(out, mk->pc);
    cr_assert_eq(l->nlines, 2, "want the inlined frame and its caller, got %u", l->nlines);
    expect_line(out, l, 0, "symfix_inl", "symfix.c", mk->line);
    expect_line(out, l, 1, "symfix_outer", "symfix.c", mk->caller_line);
    cr_expect_eq(out->functions[l->lines[0].func].start_line, mk->decl_line);
    cr_expect_str_eq(cp_str(out, out->functions[l->lines[0].func].system_name), "symfix_inl");
    const char *fname = cp_str(out, out->functions[l->lines[0].func].filename);
    cr_expect_eq(fname[0], '/', "file names are absolute: %s", fname);
    const cp_mapping *m = &out->mappings[l->mapping];
    cr_expect(m->has_functions && m->has_filenames && m->has_line_numbers &&
              m->has_inline_frames);
    cp_profile_free(raw);
    cp_profile_free(out);
}

Test(symbolize, static_function_and_exe_mapping_first)
{
    run_fixture();
    uint64_t pcs[2] = {symfix_get(SYMFIX_STATIC)->pc, exe_pc};
    cp_profile *raw = raw_profile(pcs, 2), *out = NULL;
    cr_assert_eq(cp_symbolize(raw, &quiet, &out, NULL), 0);
    const cp_location *l = loc_at(out, pcs[0]);
    cr_assert_eq(l->nlines, 1);
    expect_line(out, l, 0, "symfix_static", "symfix.c", symfix_get(SYMFIX_STATIC)->line);
    cr_expect_eq(out->functions[l->lines[0].func].start_line, symfix_get(SYMFIX_STATIC)->decl_line);

    /* The test program is a PIE: runtime addresses differ from file ones. */
    l = loc_at(out, exe_pc);
    cr_assert_eq(l->nlines, 1);
    expect_line(out, l, 0, "exe_function", "test_symbolize.c", exe_line);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert_gt(n, 0);
    exe[n] = 0;
    cr_expect_str_eq(cp_str(out, out->mappings[0].filename), exe, "mapping[0] is the program");
    cr_expect_eq(l->mapping, 0);
    cp_profile_free(raw);
    cp_profile_free(out);
}

Test(symbolize, cpp_demangled_name_and_mangled_system_name)
{
    run_fixture();
    if (!symfix_have_cpp())
        cr_skip_test("fixture built without a C++ compiler");
    const symfix_mark *mk = symfix_get(SYMFIX_CPP);
    cp_profile *raw = raw_profile(&mk->pc, 1), *out = NULL;
    cr_assert_eq(cp_symbolize(raw, &quiet, &out, NULL), 0);
    const cp_location *l = loc_at(out, mk->pc);
    cr_assert_eq(l->nlines, 1);
    expect_line(out, l, 0, "symfix::Widget::frob(int)", "symfix_cpp.cpp", mk->line);
    cr_expect_str_eq(cp_str(out, out->functions[l->lines[0].func].system_name),
                     "_ZN6symfix6Widget4frobEi");
    cp_profile_free(out);

    cp_symbolize_opts raw_names = {.quiet = true, .no_demangle = true};
    cr_assert_eq(cp_symbolize(raw, &raw_names, &out, NULL), 0);
    l = loc_at(out, mk->pc);
    expect_line(out, l, 0, "_ZN6symfix6Widget4frobEi", "symfix_cpp.cpp", mk->line);
    cp_profile_free(raw);
    cp_profile_free(out);
}

Test(symbolize, demangler)
{
    char *s = cp_symbolize_demangle("_ZN6symfix6Widget4frobEi");
    cr_assert_not_null(s, "no __cxa_demangle found (libstdc++ missing?)");
    cr_expect_str_eq(s, "symfix::Widget::frob(int)");
    free(s);
    cr_expect_null(cp_symbolize_demangle("main"));
    cr_expect_null(cp_symbolize_demangle("_Znot a name"));
}

Test(symbolize, stripped_copy_gives_symbol_table_names, .init = make_tmp, .fini = rm_tmp)
{
    run_fixture();
    uint64_t pcs[3] = {symfix_get(SYMFIX_INL)->pc, symfix_get(SYMFIX_STATIC)->pc,
                       symfix_get(SYMFIX_CPP)->pc};
    size_t n = symfix_have_cpp() ? 3 : 2;
    cp_profile *raw = raw_profile(pcs, n), *moved, *out = NULL;
    const char *lib = lib_mapping_path(raw);
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s/libsymfix-stripped.so", tmpdir);
    sh("objcopy --strip-debug '%s' '%s'", lib, copy);
    moved = retarget(raw, lib, copy, NULL);
    cr_assert_eq(cp_symbolize(moved, &quiet, &out, NULL), 0);
    /* No DWARF: the inlined function disappears into its caller. */
    const cp_location *l = loc_at(out, pcs[0]);
    cr_assert_eq(l->nlines, 1);
    expect_line(out, l, 0, "symfix_outer", NULL, 0);
    l = loc_at(out, pcs[1]);
    cr_assert_eq(l->nlines, 1);
    expect_line(out, l, 0, "symfix_static", NULL, 0);
    if (n == 3) {
        l = loc_at(out, pcs[2]);
        expect_line(out, l, 0, "symfix::Widget::frob(int)", NULL, 0);
        cr_expect_str_eq(cp_str(out, out->functions[l->lines[0].func].system_name),
                         "_ZN6symfix6Widget4frobEi");
    }
    const cp_mapping *m = mapping_named(out, copy);
    cr_expect(m->has_functions);
    cr_expect(!m->has_filenames && !m->has_line_numbers && !m->has_inline_frames);
    cp_profile_free(raw);
    cp_profile_free(moved);
    cp_profile_free(out);
}

Test(symbolize, debuglink_and_build_id_directory, .init = make_tmp, .fini = rm_tmp)
{
    run_fixture();
    const symfix_mark *mk = symfix_get(SYMFIX_INL);
    cp_profile *raw = raw_profile(&mk->pc, 1), *moved, *out = NULL;
    const char *lib = lib_mapping_path(raw);
    const char *bid = cp_str(raw, mapping_named(raw, lib)->build_id);
    cr_assert_gt(strlen(bid), 2, "the fixture has a build id");

    /* .gnu_debuglink: the debug file next to the stripped one. */
    char dbg[PATH_MAX], linked[PATH_MAX];
    snprintf(dbg, sizeof dbg, "%s/libsymfix.debug", tmpdir);
    snprintf(linked, sizeof linked, "%s/libsymfix-linked.so", tmpdir);
    sh("objcopy --only-keep-debug '%s' '%s'", lib, dbg);
    sh("cd '%s' && objcopy --strip-debug --add-gnu-debuglink=libsymfix.debug '%s' '%s'", tmpdir,
       lib, linked);
    moved = retarget(raw, lib, linked, NULL);
    cr_assert_eq(cp_symbolize(moved, &quiet, &out, NULL), 0);
    const cp_location *l = loc_at(out, mk->pc);
    cr_assert_eq(l->nlines, 2);
    expect_line(out, l, 0, "symfix_inl", "symfix.c", mk->line);
    expect_line(out, l, 1, "symfix_outer", "symfix.c", mk->caller_line);
    cp_profile_free(moved);
    cp_profile_free(out);

    /* DIR/.build-id/xx/yyyy.debug, found from a debug_dirs entry. */
    char sub[PATH_MAX], plain[PATH_MAX], dirs[PATH_MAX + 8];
    snprintf(sub, sizeof sub, "%s/dbg/.build-id/%.2s", tmpdir, bid);
    snprintf(plain, sizeof plain, "%s/libsymfix-plain.so", tmpdir);
    sh("mkdir -p '%s' && cp '%s' '%s/%s.debug'", sub, dbg, sub, bid + 2);
    sh("objcopy --strip-debug '%s' '%s'", lib, plain);
    snprintf(dirs, sizeof dirs, "%s/dbg", tmpdir);
    moved = retarget(raw, lib, plain, NULL);
    cp_symbolize_opts o = {.quiet = true};
    cr_assert_eq(cp_symbolize(moved, &o, &out, NULL), 0);
    l = loc_at(out, mk->pc);
    cr_expect_eq(l->nlines, 1, "without the directory only the symbol table is there");
    cp_profile_free(out);
    o.debug_dirs = dirs;
    cr_assert_eq(cp_symbolize(moved, &o, &out, NULL), 0);
    l = loc_at(out, mk->pc);
    cr_assert_eq(l->nlines, 2);
    expect_line(out, l, 0, "symfix_inl", "symfix.c", mk->line);
    expect_line(out, l, 1, "symfix_outer", "symfix.c", mk->caller_line);
    cp_profile_free(moved);
    cp_profile_free(out);
    cp_profile_free(raw);
}

Test(symbolize, build_id_mismatch_is_reported_and_left_alone)
{
    run_fixture();
    const symfix_mark *mk = symfix_get(SYMFIX_STATIC);
    cp_profile *raw = raw_profile(&mk->pc, 1), *moved, *out = NULL;
    const char *lib = lib_mapping_path(raw);
    moved = retarget(raw, lib, NULL, "0123456789abcdef0123456789abcdef01234567");
    cp_diag d;
    cp_symbolize_stats st;
    cr_assert_eq(cp_symbolize_ex(moved, &quiet, &out, &d, &st), 0);
    cr_expect_neq(strstr(d.msg, "build id"), NULL, "diag: %s", d.msg);
    cr_expect_neq(strstr(d.msg, "0123456789abcdef"), NULL, "diag: %s", d.msg);
    cr_expect_eq(st.mismatched_maps, 1);
    cr_expect_eq(st.symbolized, 0);
    const cp_location *l = loc_at(out, mk->pc);
    cr_expect_eq(l->nlines, 0);
    cr_expect(!mapping_named(out, lib)->has_functions);
    /* Upper-case hex of the right id is the same id. */
    char up[256];
    snprintf(up, sizeof up, "%s", cp_str(raw, mapping_named(raw, lib)->build_id));
    for (char *c = up; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    cp_profile_free(moved);
    cp_profile_free(out);
    moved = retarget(raw, lib, NULL, up);
    cr_assert_eq(cp_symbolize_ex(moved, &quiet, &out, &d, &st), 0);
    cr_expect_eq(st.symbolized, 1, "%s", d.msg);
    cp_profile_free(moved);
    cp_profile_free(out);
    cp_profile_free(raw);
}

Test(symbolize, unmapped_unreadable_and_already_symbolized)
{
    run_fixture();
    cp_pbuilder *b = cp_pbuilder_new(false);
    cp_pbuilder_sample_type(b, "samples", "count");
    uint64_t gone = cp_pbuilder_mapping(b, 0x400000, 0x500000, 0, "/nonexistent/libgone.so",
                                        "", false, false, false, false);
    uint64_t fn = cp_pbuilder_function(b, "already", "already", "a.c", 3);
    cp_line_in li = {.function_id = fn, .line = 7};
    uint64_t lids[3] = {
        cp_pbuilder_location(b, 0, 0xdead, NULL, 0, false),
        cp_pbuilder_location(b, gone, 0x401234, NULL, 0, false),
        cp_pbuilder_location(b, gone, 0x405678, &li, 1, false),
    };
    int64_t v[3] = {1, 2, 3};
    cp_label_in lab = {.key = "request", .str = "r1"};
    for (int i = 0; i < 3; i++)
        cp_pbuilder_sample(b, &lids[i], 1, &v[i], &lab, 1);
    cp_pbuilder_comment(b, "kept");
    cp_profile *in = cp_pbuilder_finish(b), *out = NULL;
    cp_pbuilder_free(b);
    cp_diag d;
    cp_symbolize_stats st;
    cr_assert_eq(cp_symbolize_ex(in, &quiet, &out, &d, &st), 0);
    cr_expect_neq(strstr(d.msg, "/nonexistent/libgone.so"), NULL, "diag: %s", d.msg);
    cr_expect_eq(st.locations, 3);
    cr_expect_eq(st.already, 1);
    cr_expect_eq(st.unsymbolized, 2);
    cr_expect_eq(st.unreadable_maps, 1);
    cr_expect_eq(loc_at(out, 0xdead)->nlines, 0);
    cr_expect_eq(loc_at(out, 0xdead)->mapping, CP_NO_MAPPING);
    cr_expect_eq(loc_at(out, 0x401234)->nlines, 0);
    const cp_location *l = loc_at(out, 0x405678);
    cr_assert_eq(l->nlines, 1);
    expect_line(out, l, 0, "already", "a.c", 7);
    /* Everything else comes through. */
    cr_assert_eq(out->nsamples, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_expect_eq(out->samples[i].values[0], v[i]);
        cr_assert_eq(out->samples[i].nlabels, 1);
        cr_expect_str_eq(cp_str(out, out->samples[i].labels[0].str), "r1");
    }
    cr_assert_eq(out->ncomments, 1);
    cr_expect_str_eq(cp_str(out, out->comments[0]), "kept");
    cp_profile_free(in);
    cp_profile_free(out);
}

Test(symbolize, twice_is_the_same)
{
    run_fixture();
    uint64_t pcs[2] = {symfix_get(SYMFIX_INL)->pc, symfix_get(SYMFIX_STATIC)->pc};
    cp_profile *raw = raw_profile(pcs, 2), *once = NULL, *twice = NULL;
    cr_assert_eq(cp_symbolize(raw, &quiet, &once, NULL), 0);
    cr_assert_eq(cp_symbolize(once, &quiet, &twice, NULL), 0);
    cp_buf a = {0}, c = {0};
    cr_assert_eq(cp_profile_encode(once, &a), 0);
    cr_assert_eq(cp_profile_encode(twice, &c), 0);
    cr_expect_eq(a.len, c.len);
    cr_expect(a.len == c.len && !memcmp(a.data, c.data, a.len));
    cp_buf_free(&a);
    cp_buf_free(&c);
    cp_profile_free(raw);
    cp_profile_free(once);
    cp_profile_free(twice);
}

Test(symbolize, libc_from_its_symbol_table)
{
    /* libc's own qsort, not a sanitizer's interceptor of that name. */
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    cr_assert_not_null(libc);
    uint64_t pc = (uint64_t)(uintptr_t)dlsym(libc, "qsort");
    dlclose(libc);
    cr_assert_neq(pc, 0);
    cp_profile *raw = raw_profile(&pc, 1), *out = NULL;
    cr_assert_eq(cp_symbolize(raw, &quiet, &out, NULL), 0);
    const cp_location *l = loc_at(out, pc);
    cr_assert_geq(l->nlines, 1);
    cr_expect_str_eq(cp_str(out, out->functions[l->lines[l->nlines - 1].func].name), "qsort");
    cp_profile_free(raw);
    cp_profile_free(out);
}

Test(procmaps, main_first_build_ids_and_unmapped)
{
    run_fixture();
    cp_procmaps *m = cp_procmaps_load();
    cr_assert_not_null(m);
    cr_expect_gt(cp_procmaps_count(m), 3);
    cp_pbuilder *b = cp_pbuilder_new(true);
    cr_expect_eq(cp_procmaps_mapping_id(m, b, 0x10), 0, "page 0 is not mapped");
    uint64_t lib_id = cp_procmaps_mapping_id(m, b, symfix_get(SYMFIX_STATIC)->pc);
    cr_expect_eq(lib_id, 2, "the program's mapping comes first, then the library's");
    cr_expect_eq(cp_procmaps_mapping_id(m, b, symfix_get(SYMFIX_INL)->pc), lib_id);
    cr_expect_eq(cp_procmaps_mapping_id(m, b, exe_pc), 1);
    cp_profile *p = cp_pbuilder_finish(b);
    cr_assert_eq(p->nmappings, 2);

    /* Build ids read from memory agree with the ones read from the files. */
    cp_buf text = {0};
    cr_assert_eq(cp_buf_read_file(&text, "/proc/self/maps", 1 << 24), 0);
    cp_procmaps *fm = cp_procmaps_parse((const char *)text.data, text.len);
    cr_assert_not_null(fm);
    cp_pbuilder *b2 = cp_pbuilder_new(true);
    cp_procmaps_mapping_id(fm, b2, symfix_get(SYMFIX_STATIC)->pc);
    cp_profile *p2 = cp_pbuilder_finish(b2);
    cr_assert_eq(p2->nmappings, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_expect_gt(strlen(cp_str(p, p->mappings[i].build_id)), 0);
        cr_expect_str_eq(cp_str(p, p->mappings[i].build_id), cp_str(p2, p2->mappings[i].build_id));
        cr_expect_str_eq(cp_str(p, p->mappings[i].filename), cp_str(p2, p2->mappings[i].filename));
        cr_expect_eq(p->mappings[i].start, p2->mappings[i].start);
        cr_expect_eq(p->mappings[i].offset, p2->mappings[i].offset);
    }
    cp_procmaps_reset(m);
    cp_buf_free(&text);
    cp_profile_free(p);
    cp_profile_free(p2);
    cp_pbuilder_free(b);
    cp_pbuilder_free(b2);
    cp_procmaps_free(m);
    cp_procmaps_free(fm);
}

Test(symbolize, cache_notices_a_replaced_file, .init = make_tmp, .fini = rm_tmp)
{
    run_fixture();
    const symfix_mark *mk = symfix_get(SYMFIX_INL);
    cp_profile *raw = raw_profile(&mk->pc, 1), *moved, *out = NULL;
    const char *lib = lib_mapping_path(raw);
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s/libsymfix-copy.so", tmpdir);
    sh("cp '%s' '%s'", lib, copy);
    moved = retarget(raw, lib, copy, NULL);
    for (int round = 0; round < 2; round++) { /* the second one is served from the cache */
        cr_assert_eq(cp_symbolize(moved, &cached, &out, NULL), 0);
        cr_expect_eq(loc_at(out, mk->pc)->nlines, 2, "round %d", round);
        cp_profile_free(out);
    }
    /* Same path, new contents (no DWARF): the cached file must not be used. */
    sh("objcopy --strip-debug '%s' '%s.new' && cat '%s.new' > '%s'", lib, copy, copy, copy);
    cr_assert_eq(cp_symbolize(moved, &cached, &out, NULL), 0);
    const cp_location *l = loc_at(out, mk->pc);
    cr_assert_eq(l->nlines, 1);
    expect_line(out, l, 0, "symfix_outer", NULL, 0);
    cp_profile_free(out);
    cp_symbolize_cache_clear();
    cp_symbolize_opts fresh = {.quiet = true};
    cr_assert_eq(cp_symbolize(moved, &fresh, &out, NULL), 0);
    cr_expect_eq(loc_at(out, mk->pc)->nlines, 1);
    cp_profile_free(out);
    cp_profile_free(moved);
    cp_profile_free(raw);
}

Test(symbolize, vdso_from_memory)
{
    void *vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (!vdso)
        cr_skip_test("no vDSO in the link map");
    void *fn = dlsym(vdso, "__vdso_clock_gettime");
    if (!fn)
        cr_skip_test("vDSO without __vdso_clock_gettime");
    uint64_t pc = (uint64_t)(uintptr_t)fn + 1;
    cp_profile *raw = raw_profile(&pc, 1), *out = NULL;
    const cp_location *l = loc_at(raw, pc);
    cr_assert_neq(l->mapping, CP_NO_MAPPING);
    cr_expect_str_eq(cp_str(raw, raw->mappings[l->mapping].filename), "[vdso]");
    cr_expect_gt(strlen(cp_str(raw, raw->mappings[l->mapping].build_id)), 0);
    cr_assert_eq(cp_symbolize(raw, &quiet, &out, NULL), 0);
    l = loc_at(out, pc);
    cr_assert_eq(l->nlines, 1);
    const char *name = cp_str(out, out->functions[l->lines[0].func].name);
    cr_expect(!strcmp(name, "__vdso_clock_gettime") || !strcmp(name, "clock_gettime"), "%s",
              name);
    cp_profile_free(out);

    /* Another kernel's vDSO (another build id) is left alone. */
    cp_profile *moved = retarget(raw, "[vdso]", NULL, "00112233");
    cr_assert_eq(cp_symbolize(moved, &quiet, &out, NULL), 0);
    cr_expect_eq(loc_at(out, pc)->nlines, 0);
    cp_profile_free(out);
    cp_profile_free(moved);
    cp_profile_free(raw);
}

/* Writers on several threads share the file cache: each file is lent to one
 * of them at a time, and every result is the same. */
static cp_profile *shared_raw;
static void *symbolize_many(void *arg)
{
    size_t *same = arg;
    cp_buf want = {0};
    for (int i = 0; i < 20; i++) {
        cp_profile *out = NULL;
        cp_buf got = {0};
        if (cp_symbolize(shared_raw, &cached, &out, NULL) == 0 && cp_profile_encode(out, &got) == 0) {
            if (i == 0)
                want = got;
            else {
                if (got.len == want.len && !memcmp(got.data, want.data, got.len))
                    (*same)++;
                cp_buf_free(&got);
            }
        }
        cp_profile_free(out);
    }
    cp_buf_free(&want);
    return NULL;
}

Test(symbolize, concurrent_writers_share_the_cache)
{
    run_fixture();
    uint64_t pcs[3] = {symfix_get(SYMFIX_INL)->pc, symfix_get(SYMFIX_STATIC)->pc, exe_pc};
    shared_raw = raw_profile(pcs, 3);
    pthread_t t[4];
    size_t same[4] = {0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, symbolize_many, &same[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(same[i], 19, "thread %d: %zu of 19 repeats identical", i, same[i]);
    }
    cp_symbolize_cache_clear();
    cp_profile_free(shared_raw);
}
