/* fuzz_analysis.c — libFuzzer target for the analysis: merge, -base and
 * every report on fuzzed profiles.
 *
 * Property checked on every input: whatever the decoder accepts goes
 * through the whole report pipeline (cp_cmd_report: read, merge, -base,
 * -diff_base, -normalize, filters, aggregation, each report) without a
 * crash, an out-of-bounds access (ASan) or undefined behaviour (UBSan),
 * and the proto/merge outputs decode again.  Inputs the decoder rejects
 * are left to fuzz_decode.  The profile goes to a private temporary file
 * because the pipeline reads paths; report text goes to /dev/null.  The
 * same function is driven without libFuzzer by smoke.c in `make check`
 * (fuzz_analysis_smoke).  Rejected: calling the report functions directly
 * (the command-line pipeline is what users run, and it is where merges,
 * bases and per-report overrides meet).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/commands.h"
#include "profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64], out[64], errpath[64];
static int saved_out = -1, saved_err = -1, quiet = -1;
static unsigned long accepted;

static void summary(void)
{
    dprintf(saved_err, "fuzz_analysis: %lu profiles through every report (their stderr: %s)\n",
            accepted, errpath);
}

static void setup(void)
{
    if (path[0])
        return;
    snprintf(path, sizeof path, "/tmp/cprof-fuzz-%d.pb", (int)getpid());
    snprintf(out, sizeof out, "/tmp/cprof-fuzz-%d.out.pb.gz", (int)getpid());
    snprintf(errpath, sizeof errpath, "/tmp/cprof-fuzz-%d.err", (int)getpid());
    saved_out = dup(1);
    saved_err = dup(2);
    quiet = open("/dev/null", O_WRONLY);
    int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* report text is discarded; warnings and any sanitizer report of a
     * run go to errpath (the last run's are what a crash leaves) */
    if (saved_out < 0 || saved_err < 0 || quiet < 0 || err < 0 || dup2(err, 2) < 0)
        abort();
    close(err);
    atexit(summary);
}

static void run(const char *const *args)
{
    static char bufs[16][96];
    char *argv[16];
    int argc = 0;
    for (; args[argc] && argc < 15; argc++) {
        const char *a = args[argc];
        size_t n = strlen(a);
        if (!strcmp(a, "P"))
            argv[argc] = path;
        else if (n > 2 && !strcmp(a + n - 2, "=P")) { /* -base=P */
            snprintf(bufs[argc], sizeof bufs[argc], "%.*s%s", (int)(n - 1), a, path);
            argv[argc] = bufs[argc];
        } else
            argv[argc] = (char *)a;
    }
    argv[argc] = NULL;
    fflush(stdout);
    dup2(quiet, 1);
    cp_cmd_report(argc, argv);
    fflush(stdout);
    dup2(saved_out, 1);
}

/* The written profile must decode again. */
static void check_output(void)
{
    cp_profile *q = NULL;
    cp_diag d;
    if (access(out, F_OK) != 0)
        return;
    if (cp_profile_read_file(out, &q, &d)) {
        dprintf(saved_err, "fuzz_analysis: merge output does not decode: %s\n", d.msg);
        abort();
    }
    cp_profile_free(q);
    unlink(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_decode_opts o = {.max_decompressed = 1u << 20};
    cp_profile *p = NULL;
    cp_diag d;
    if (cp_profile_decode(data, size, &o, &p, &d))
        return 0;
    size_t work = p->nsamples + p->nlocations, nsamples = p->nsamples;
    cp_profile_free(p);
    if (size == 0 || nsamples == 0 || work > 20000)
        return 0; /* nothing to report, or too big to stay fast */
    setup();
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f))
        abort();
    static const char *const cmds[][12] = {
        {"top", "P"},
        {"tree", "-lines", "P"},
        {"peek", ".", "P"},
        {"traces", "P"},
        {"raw", "P"},
        {"tags", "P"},
        {"dot", "P"},
        {"folded", "P"},
        {"list", ".", "P"},
        {"top", "-base=P", "P", "P"},
        {"traces", "-diff_base=P", "P"},
        {"dot", "-base=P", "-drop_negative", "P", "P"},
        {"tree", "-normalize", "-base=P", "P"},
        {"top", "-mean", "-cum", "-nodecount=3", "P", "P"},
        {"dot", "-nodecount=4", "-tagroot=a,b", "-tagleaf=c", "P"},
        {"top", "-divide_by=3", "-addresses", "-tagfocus=1:", "P"},
        {"merge", "-o", out, "-base=P", "P", "P"},
        {"proto", "-o", out, "-divide_by=7", "-focus=.", "P", "P"},
    };
    accepted++;
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        run(cmds[i]);
        check_output();
    }
    unlink(path);
    return 0;
}
