/* symbolize_speed.c — how fast cp_symbolize turns addresses into names.
 *
 * Spreads N addresses evenly over libc's executable mapping (with its
 * debug file when installed, and without: symbol table only) and over
 * this program's own (DWARF), builds a profile of them the way a
 * collector does, and times cp_symbolize.  The baseline, measured in the
 * same run on the same addresses, is the bare libdwfl symbol lookup
 * (dwfl_module_addrname) that any symbolizer has to do at least: the ratio
 * says what our frames, inline chains and profile rebuilding cost on top.
 * Prints figures; never fails on time.
 *
 * usage: symbolize_speed [N]   (default 20000)
 */
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/procmaps.h"
#include "profile/builder.h"
#include "symbolize/symbolize.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct region {
    unsigned long start, limit, offset;
    char path[4096];
} region;

/* The executable mapping of the file holding addr. */
static int find_region(const void *addr, region *r)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4352];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        char perms[8];
        int pos = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*u %n", &r->start, &r->limit, perms, &r->offset,
                   &pos) != 4 || perms[2] != 'x')
            continue;
        if ((unsigned long)addr >= r->start && (unsigned long)addr < r->limit) {
            snprintf(r->path, sizeof r->path, "%s", line + pos);
            r->path[strcspn(r->path, "\n")] = 0;
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* Baseline: plain symbol-table lookups with libdwfl on the same file. */
static double baseline(const region *r, const uint64_t *pcs, size_t n, const char *dirs,
                       size_t *named)
{
    char *path = (char *)dirs;
    Dwfl_Callbacks cb = {.find_elf = dwfl_build_id_find_elf,
                         .find_debuginfo = dwfl_standard_find_debuginfo,
                         .section_address = dwfl_offline_section_address,
                         .debuginfo_path = dirs ? &path : NULL};
    Dwfl *d = dwfl_begin(&cb);
    dwfl_report_begin(d);
    Dwfl_Module *mod = dwfl_report_elf(d, "x", r->path, -1, 0, true);
    dwfl_report_end(d, NULL, NULL);
    GElf_Addr bias;
    Elf *elf = mod ? dwfl_module_getelf(mod, &bias) : NULL;
    GElf_Phdr ph;
    unsigned long text_vaddr = 0, text_off = 0;
    size_t nph = 0;
    if (elf && elf_getphdrnum(elf, &nph) == 0)
        for (size_t i = 0; i < nph; i++)
            if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
                text_vaddr = ph.p_vaddr;
                text_off = ph.p_offset;
            }
    double t0 = now();
    *named = 0;
    for (size_t i = 0; mod && i < n; i++) {
        uint64_t v = pcs[i] - r->start + r->offset - text_off + text_vaddr + bias;
        if (dwfl_module_addrname(mod, v))
            (*named)++;
    }
    double t = now() - t0;
    dwfl_end(d);
    return t;
}

/* dirs: the debuginfo path (NULL: the default; a nonexistent directory
 * hides separate debug files, as on a machine without -dbg packages). */
static void run(const char *what, const void *inside, size_t n, const char *dirs)
{
    region r;
    if (!find_region(inside, &r)) {
        printf("%s: mapping not found\n", what);
        return;
    }
    uint64_t *pcs = malloc(n * sizeof *pcs);
    uint64_t span = r.limit - r.start;
    for (size_t i = 0; i < n; i++)
        pcs[i] = r.start + (uint64_t)((double)span * (double)i / (double)n);

    cp_procmaps *m = cp_procmaps_load();
    cp_pbuilder *b = cp_pbuilder_new(true);
    cp_pbuilder_sample_type(b, "samples", "count");
    for (size_t i = 0; i < n; i++) {
        uint64_t mid = cp_procmaps_mapping_id(m, b, pcs[i]);
        uint64_t lid = cp_pbuilder_location(b, mid, pcs[i], NULL, 0, false);
        int64_t v = 1;
        cp_pbuilder_sample(b, &lid, 1, &v, NULL, 0);
    }
    cp_profile *raw = cp_pbuilder_finish(b), *out = NULL;

    size_t base_named = 0;
    double tb = baseline(&r, pcs, n, dirs, &base_named);
    cp_symbolize_opts o = {.quiet = true, .debug_dirs = dirs};
    cp_symbolize_stats st;
    double t0 = now();
    int rc = cp_symbolize_ex(raw, &o, &out, NULL, &st);
    double ts = now() - t0;
    if (rc) {
        printf("%s: symbolize failed: %d\n", what, rc);
    } else {
        printf("%-8s %s\n", what, r.path);
        printf("  baseline dwfl_module_addrname: %6zu addrs in %.3f s = %9.0f addrs/s (%zu named)\n",
               n, tb, (double)n / tb, base_named);
        printf("  cp_symbolize (whole profile):  %6zu addrs in %.3f s = %9.0f addrs/s (%zu named)\n",
               n, ts, (double)n / ts, st.symbolized);
        printf("  ratio cp_symbolize/baseline time: %.2f\n", ts / tb);
    }
    cp_profile_free(raw);
    cp_profile_free(out);
    cp_pbuilder_free(b);
    cp_procmaps_free(m);
    free(pcs);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    if (n == 0)
        n = 20000;
    run("libc", dlsym(RTLD_DEFAULT, "qsort"), n, NULL);
    run("libc-nodbg", dlsym(RTLD_DEFAULT, "qsort"), n, "/nonexistent-cprof-debug");
    run("self", (const void *)run, n, NULL);
    return 0;
}
