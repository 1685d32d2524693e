/* gen_profile.c — write a large synthetic CPU profile for benchmarks.
 *
 * Usage: gen_profile [-stacks N] [-depth D] [-samples S] [-seed X] OUT.pb.gz
 * Defaults: 150000 distinct stacks, 40 frames deep on average (20..60),
 * about 1,000,000 samples in total, which gzips to roughly 12 MB.
 *
 * The shape imitates a real C++ server: a call tree whose root-side frames
 * are shared (each new stack copies a prefix of an earlier one, as sibling
 * calls do), a pool of 250k locations in 40k functions with demangled
 * C++ names (namespaces, templates, argument lists), mangled system names,
 * inline frames on some locations, three mappings with build ids, and a
 * skewed (exponential) sample count per stack.  Everything comes from one
 * seeded PRNG, so the same flags give byte-identical files.  Built with
 * cp_pbuilder and written with cp_profile_write_file, the same path the
 * collectors use.  Rejected: random stacks without shared prefixes (no real
 * program looks like that and it makes every report's graph degenerate).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profile/builder.h"
#include "profile/profile.h"

enum { NFUNCS = 40000, NLOCS = 250000, MAXDEPTH = 64 };

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static double unit(void)
{
    return (double)(next() >> 11) * (1.0 / 9007199254740992.0);
}

/* Index skewed toward 0: hot code is called from many places. */
static size_t skewed(size_t n)
{
    double u = unit();
    return (size_t)(u * u * u * u * (double)n) % n;
}

static const char *const nss[] = {"app", "net", "db", "rpc", "util", "storage", "folly", "absl",
                                  "boost::asio", "std"};
static const char *const classes[] = {
    "Connection", "RequestHandler", "HashTable", "BufferPool", "Scheduler",  "Parser",
    "Encoder",    "Session",        "Allocator", "ThreadPool", "Channel",    "Index",
    "Cursor",     "Compactor",      "Tokenizer", "LruCache",   "WriteBatch", "Executor"};
static const char *const tmpls[] = {
    "",
    "<int>",
    "<std::basic_string<char, std::char_traits<char>, std::allocator<char> > >",
    "<std::unique_ptr<app::Session, std::default_delete<app::Session> > >",
    "<unsigned long, double>",
    "<std::pair<int const, std::vector<int, std::allocator<int> > > >",
    "<char const*>"};
static const char *const methods[] = {"run",    "process", "handle",    "encode",  "decode",
                                      "flush",  "insert",  "lookup",    "resize",  "compact",
                                      "dispatch", "operator()", "emplace_back", "wait"};
static const char *const args[] = {"()",
                                   "(int)",
                                   "(std::string const&, unsigned long)",
                                   "(char const*, unsigned long) const",
                                   "(std::function<void ()>&&)",
                                   "(app::Request const&, app::Response*)",
                                   "(void*, unsigned long, int)",
                                   "(std::chrono::duration<long, std::ratio<1l, 1000000000l> >)"};

#define N(a) (sizeof(a) / sizeof *(a))

static void function_names(size_t i, char *name, size_t nn, char *sys, size_t sn, char *file,
                           size_t fnn)
{
    size_t k = i;
    const char *ns = nss[k % N(nss)];
    k /= N(nss);
    const char *cl = classes[k % N(classes)];
    k /= N(classes);
    const char *tp = tmpls[k % N(tmpls)];
    k /= N(tmpls);
    const char *me = methods[k % N(methods)];
    k /= N(methods);
    const char *ar = args[k % N(args)];
    k /= N(args);
    /* k > 0 only past the combinations: number the copies like clones */
    if (k)
        snprintf(name, nn, "%s::%s%s::%s%s [clone .isra.%zu]", ns, cl, tp, me, ar, k);
    else
        snprintf(name, nn, "%s::%s%s::%s%s", ns, cl, tp, me, ar);
    snprintf(sys, sn, "_ZN%zu%s%zu%s%zu%sE%zu", strlen(ns), ns, strlen(cl), cl, strlen(me), me, i);
    snprintf(file, fnn, "src/%s/%s.cc", ns, cl);
}

static int usage(void)
{
    fprintf(stderr, "usage: gen_profile [-stacks N] [-depth D] [-samples S] [-seed X] OUT.pb.gz\n");
    return 2;
}

int main(int argc, char **argv)
{
    long nstacks = 150000, depth = 40, nsamples = 1000000;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "-stacks") == 0)
            nstacks = atol(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "-depth") == 0)
            depth = atol(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "-samples") == 0)
            nsamples = atol(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "-seed") == 0)
            rng = strtoull(argv[++i], NULL, 0) | 1;
        else if (argv[i][0] != '-' && !out)
            out = argv[i];
        else
            return usage();
    }
    if (!out || nstacks < 1 || depth < 2 || depth > (MAXDEPTH - 1) * 2 / 3 || nsamples < 1)
        return usage();

    int rc = 1;
    cp_pbuilder *b = cp_pbuilder_new(true);
    uint64_t *funcs = calloc(NFUNCS, sizeof *funcs), *locs = calloc(NLOCS, sizeof *locs);
    uint64_t (*stacks)[MAXDEPTH] = calloc((size_t)nstacks, sizeof *stacks);
    uint8_t *depths = calloc((size_t)nstacks, 1);
    if (!b || !funcs || !locs || !stacks || !depths)
        goto out;
    cp_pbuilder_sample_type(b, "samples", "count");
    cp_pbuilder_sample_type(b, "cpu", "nanoseconds");
    cp_pbuilder_period(b, "cpu", "nanoseconds", 10000000);
    cp_pbuilder_times(b, 1767225600000000000LL, 60000000000LL);
    cp_pbuilder_comment(b, "synthetic profile from bench/gen_profile");
    uint64_t maps[3] = {
        cp_pbuilder_mapping(b, 0x400000, 0x4000000, 0, "/usr/bin/server", "9f1c2a7d3e", true,
                            true, true, true),
        cp_pbuilder_mapping(b, 0x7f0000000000, 0x7f0000400000, 0,
                            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", "4c1b77e0aa", true,
                            true, true, true),
        cp_pbuilder_mapping(b, 0x7f0001000000, 0x7f0001200000, 0,
                            "/usr/lib/x86_64-linux-gnu/libc.so.6", "b1a3c5e7f9", true, true,
                            true, true)};
    /* small profiles get proportionally small pools (the defaults are unchanged) */
    size_t nlocs = (size_t)nstacks * 2 < NLOCS ? (size_t)nstacks * 2 : NLOCS;
    size_t nfuncs = nlocs / 6 + 8 < NFUNCS ? nlocs / 6 + 8 : NFUNCS;
    for (size_t i = 0; i < nfuncs; i++) {
        char name[512], sys[256], file[128];
        function_names(i, name, sizeof name, sys, sizeof sys, file, sizeof file);
        funcs[i] = cp_pbuilder_function(b, name, sys, file, (int64_t)(10 + i % 2000));
        if (!funcs[i])
            goto out;
    }
    for (size_t i = 0; i < nlocs; i++) {
        size_t f = skewed(nfuncs);
        size_t m = i % 10 < 7 ? 0 : i % 10 < 9 ? 1 : 2;
        cp_line_in lines[2] = {{funcs[f], (int64_t)(20 + next() % 3000), 0},
                               {funcs[skewed(nfuncs)], (int64_t)(20 + next() % 3000), 0}};
        size_t nl = next() % 8 == 0 ? 2 : 1; /* one in eight has an inlined callee */
        uint64_t addr = (m == 0 ? 0x401000 : m == 1 ? 0x7f0000001000 : 0x7f0001001000) + i * 48;
        locs[i] = cp_pbuilder_location(b, maps[m], addr, lines, nl, false);
        if (!locs[i])
            goto out;
    }
    /* Stacks are stored root first while generating, leaf first when added. */
    double mean = (double)nsamples / (double)nstacks;
    int64_t total = 0;
    for (long s = 0; s < nstacks; s++) {
        int d = (int)(depth / 2 + (long)(next() % (uint64_t)depth)) + 1;
        if (d > MAXDEPTH)
            d = MAXDEPTH;
        int keep = 0;
        if (s > 0) {
            /* half the time a recent stack (siblings are recorded close
             * together, which is also what lets gzip find the shared part) */
            long from = next() % 2 ? s - 1 - (long)(next() % (uint64_t)(s < 200 ? s : 200))
                                   : (long)(next() % (uint64_t)s);
            int most = d < depths[from] ? d : depths[from];
            keep = most / 3 + (int)(next() % (uint64_t)(most - most / 3));
            memcpy(stacks[s], stacks[from], (size_t)keep * sizeof stacks[s][0]);
        }
        for (int k = keep; k < d; k++)
            stacks[s][k] = locs[k < 3 ? next() % 8 : skewed(nlocs)];
        depths[s] = (uint8_t)d;
        uint64_t leaf_first[MAXDEPTH];
        for (int k = 0; k < d; k++)
            leaf_first[k] = stacks[s][d - 1 - k];
        int64_t n = 1 + (int64_t)(-log(1.0 - unit()) * (mean - 1.0) + 0.5);
        int64_t v[2] = {n, n * 10000000};
        total += n;
        if (cp_pbuilder_sample(b, leaf_first, (size_t)d, v, NULL, 0))
            goto out;
    }
    cp_profile *p = cp_pbuilder_finish(b);
    if (!p)
        goto out;
    if (cp_profile_write_file(p, out)) {
        perror(out);
        cp_profile_free(p);
        goto out;
    }
    fprintf(stderr, "gen_profile: %s: %zu distinct stacks, %zu locations, %zu functions, %lld samples\n",
            out, p->nsamples, p->nlocations, p->nfunctions, (long long)total);
    cp_profile_free(p);
    rc = 0;
out:
    if (rc == 1)
        fprintf(stderr, "gen_profile: out of memory\n");
    free(funcs);
    free(locs);
    free(stacks);
    free(depths);
    cp_pbuilder_free(b);
    return rc;
}
