/* smoke.c — `fuzz_smoke CORPUS_DIR N`: run the fuzz target without libFuzzer.
 *
 * Feeds every corpus file through LLVMFuzzerTestOneInput, then about N
 * deterministic mutations in all: bit flips, byte overwrites with
 * interesting values, truncations, duplicated and deleted ranges, splices
 * with another corpus file.  Mutations are shared among the files by size,
 * at least 20 each: the real profiles have the most structure to break, and
 * the tiny inputs the fuzzer found (min-*) already sit on rare branches.
 * Built with the normal compiler so `make check` runs it in the plain and
 * the ASan+UBSan builds; a crash or an abort in the target fails the test.
 * Rejected: linking libFuzzer itself here (it needs clang and
 * -fsanitize=fuzzer, which the default build does not use).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../integration/codec/codec_util.h"
#include "base/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FILES = 256, MAX_LEN = 1 << 20 };

static cp_buf files[MAX_FILES];
static size_t nfiles;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_corpus(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char *names[MAX_FILES];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_FILES)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, by_name); /* same order, same mutations */
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (cp_buf_read_file(&files[nfiles], path, MAX_LEN) == 0)
            nfiles++;
        free(names[i]);
    }
    return 0;
}

static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x12, 0x1a, 0x22, 0x32};

static void mutate(cp_buf *m, const cp_buf *src, uint64_t *seed)
{
    m->len = 0;
    cp_buf_append(m, src->data, src->len);
    int rounds = 1 + (int)(cu_rand(seed) % 3);
    for (int r = 0; r < rounds && m->len; r++) {
        size_t at = cu_rand(seed) % m->len;
        switch (cu_rand(seed) % 6) {
        case 0: m->data[at] ^= (uint8_t)(1u << (cu_rand(seed) % 8)); break;
        case 1: m->data[at] = interesting[cu_rand(seed) % sizeof interesting]; break;
        case 2: m->len = at; break;
        case 3: { /* delete a range */
            size_t n = cu_rand(seed) % (m->len - at) + 1;
            memmove(m->data + at, m->data + at + n, m->len - at - n);
            m->len -= n;
            break;
        }
        case 4: { /* duplicate a range */
            size_t n = cu_rand(seed) % (m->len - at) % 64 + 1;
            if (m->len + n > MAX_LEN || cp_buf_reserve(m, n))
                break;
            memmove(m->data + at + n, m->data + at, m->len - at);
            m->len += n;
            break;
        }
        case 5: { /* splice: our head, another file's tail */
            const cp_buf *o = &files[cu_rand(seed) % nfiles];
            if (!o->len)
                break;
            size_t from = cu_rand(seed) % o->len;
            m->len = at;
            cp_buf_append(m, o->data + from, o->len - from);
            break;
        }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_smoke CORPUS_DIR MUTATIONS\n");
        return 2;
    }
    long budget = strtol(argv[2], NULL, 10);
    if (load_corpus(argv[1]) || nfiles == 0) {
        fprintf(stderr, "fuzz_smoke: no corpus files in %s\n", argv[1]);
        return 1;
    }
    uint64_t seed = 0x5eed;
    cp_buf m = {0};
    size_t runs = 0, total = 0;
    for (size_t i = 0; i < nfiles; i++)
        total += files[i].len;
    for (size_t i = 0; i < nfiles; i++) {
        long per = total ? (long)((double)budget * (double)files[i].len / (double)total) : 0;
        if (per < 20)
            per = 20;
        LLVMFuzzerTestOneInput(files[i].data, files[i].len);
        runs++;
        for (long k = 0; k < per; k++) {
            mutate(&m, &files[i], &seed);
            LLVMFuzzerTestOneInput(m.data, m.len);
            runs++;
        }
    }
    printf("fuzz_smoke: %zu corpus files, %zu inputs through the decoder, no failure\n", nfiles,
           runs);
    cp_buf_free(&m);
    for (size_t i = 0; i < nfiles; i++)
        cp_buf_free(&files[i]);
    return 0;
}
