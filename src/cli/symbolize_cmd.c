/* symbolize_cmd.c — `cprof symbolize [-o OUT] PROFILE`.
 *
 * Reads a profile written without symbols (or with some), fills in
 * functions, file:line and inline frames from the files its mappings name
 * on this machine (cp_symbolize), and writes the result atomically to OUT,
 * by default over PROFILE itself.  Says on stderr how many locations got
 * names, so a script sees at once whether the files were found, and how
 * many answers came from the build-id cache.
 *
 * Locations the profiled process named from ELF symbol tables alone
 * (mapping without line numbers) get DWARF's frames where DWARF has them.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/fastgz.h"
#include "profile/profile.h"
#include "symbolize/symbolize.h"

static int usage(void)
{
    fputs("usage: cprof symbolize [-o OUT] [-no_demangle] [-debug_dirs DIRS] [-no_cache] PROFILE\n"
          "  Fills in function names, file:line and inline frames from the binaries\n"
          "  and debug files on this machine; writes OUT (default: PROFILE, in place).\n"
          "  Answers are cached per build id in $XDG_CACHE_HOME/cprof (~/.cache/cprof).\n",
          stderr);
    return 2;
}

/* -flag VALUE, -flag=VALUE, --flag VALUE, --flag=VALUE. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    a += (a[1] == '-') ? 2 : 1;
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int cp_cmd_symbolize(int argc, char **argv)
{
    const char *in_path = NULL, *out_path = NULL;
    cp_symbolize_opts opts = {0};
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (a[0] != '-' || !a[1]) {
            if (in_path)
                return usage();
            in_path = a;
        } else if (!strcmp(a, "--")) {
            if (i + 2 != argc || in_path)
                return usage();
            in_path = argv[++i];
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "-help")) {
            usage();
            return 0;
        } else if (!strcmp(a, "-no_demangle") || !strcmp(a, "--no-demangle")) {
            opts.no_demangle = true;
        } else if (!strcmp(a, "-no_cache") || !strcmp(a, "--no-cache")) {
            opts.no_disk_cache = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if ((v = flag_value(argc, argv, &i, "debug_dirs")) ||
                   (v = flag_value(argc, argv, &i, "debug-dirs"))) {
            opts.debug_dirs = v;
        } else if ((v = flag_value(argc, argv, &i, "output")) ||
                   (v = flag_value(argc, argv, &i, "o"))) {
            out_path = v;
        } else {
            fprintf(stderr, "cprof: symbolize: unknown flag %s\n", a);
            return usage();
        }
    }
    if (!in_path)
        return usage();
    if (!out_path)
        out_path = in_path;

    cp_profile *in = NULL, *out = NULL;
    cp_diag diag = {{0}};
    cp_symbolize_stats st;
    int status = 1;
    int rc = cp_cli_read_profile(in_path, &in, &diag);
    if (rc) {
        fprintf(stderr, "cprof: %s\n", diag.msg[0] ? diag.msg : cprof_strerror(rc));
        goto out;
    }
    opts.quiet = quiet;
    rc = cp_symbolize_ex(in, &opts, &out, &diag, &st);
    if (rc) {
        fprintf(stderr, "cprof: symbolize: %s\n", diag.msg[0] ? diag.msg : cprof_strerror(rc));
        goto out;
    }
    rc = cp_profile_write_file(out, out_path);
    if (rc) {
        fprintf(stderr, "cprof: symbolize: cannot write %s: %s\n", out_path, cprof_strerror(rc));
        goto out;
    }
    if (!quiet)
        fprintf(stderr,
                "cprof: symbolize: %zu of %zu locations got names (%zu had them, %zu left as "
                "addresses); wrote %s\n"
                "cprof: symbolize: cache: %zu hits, %zu misses; %zu files opened\n",
                st.symbolized, st.locations, st.already, st.unsymbolized, out_path,
                st.cache_hits, st.cache_misses, st.files_opened);
    status = 0;
out:
    cp_profile_free(in);
    cp_profile_free(out);
    return status;
}
