/* objcache.c — keep opened ELF files between symbolizations.
 *
 * What: a small fixed table of entries {path, debug_dirs, file identity,
 * objfile, busy, last use} under one mutex.  The mutex guards only table
 * updates; opening and closing files (slow: they read debug files) happen
 * outside it.  An entry in use by one symbolization is never handed to
 * another (libdw's handles are not to be shared between threads); a
 * second caller opens a private copy, which may replace an idle entry
 * when it comes back.
 *
 * Alternatives rejected: no cache (70 ms per write of a tiny profile when
 * libc's debug file is installed, all of it re-reading the same file);
 * one lock held for a whole symbolization (serializes the CPU, heap and
 * HTTP writers for no reason); an unbounded table (a program that
 * dlopens many plugins would keep every one's DWARF forever).
 */
#include "symbolize/objcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct centry {
    char *path, *dirs; /* dirs "" for the default */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    cp_objfile *obj;
    bool busy;
    uint64_t last_use;
} centry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static centry table[CP_OBJCACHE_MAX];
static uint64_t clock_ticks;

static void lock(void) { pthread_mutex_lock(&mu); }
static void unlock(void) { pthread_mutex_unlock(&mu); }

static bool same_file(const centry *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int cp_objcache_get(const char *path, const char *debug_dirs, cp_objfile **out)
{
    const char *dirs = debug_dirs ? debug_dirs : "";
    struct stat st;
    bool have_stat = stat(path, &st) == 0;
    if (have_stat) {
        lock();
        for (size_t i = 0; i < CP_OBJCACHE_MAX; i++) {
            centry *e = &table[i];
            if (e->obj && !e->busy && !strcmp(e->path, path) && !strcmp(e->dirs, dirs) &&
                same_file(e, &st)) {
                e->busy = true;
                e->last_use = ++clock_ticks;
                *out = e->obj;
                unlock();
                return 0;
            }
        }
        unlock();
    }
    int rc = cp_objfile_open(path, debug_dirs, out);
    if (rc || !have_stat)
        return rc;
    /* Remember it (busy) in a free or idle least-recently-used slot. */
    centry fresh = {.path = strdup(path), .dirs = strdup(dirs), .dev = st.st_dev,
                    .ino = st.st_ino, .size = st.st_size, .mtime = st.st_mtim, .obj = *out,
                    .busy = true};
    if (!fresh.path || !fresh.dirs) {
        free(fresh.path);
        free(fresh.dirs);
        return 0; /* uncached: put() closes it */
    }
    centry old = {0};
    bool stored = false;
    lock();
    centry *victim = NULL;
    for (size_t i = 0; i < CP_OBJCACHE_MAX; i++) {
        centry *e = &table[i];
        if (!e->obj) {
            victim = e;
            break;
        }
        if (!e->busy && (!victim || e->last_use < victim->last_use))
            victim = e;
    }
    if (victim) {
        old = *victim;
        fresh.last_use = ++clock_ticks;
        *victim = fresh;
        stored = true;
    }
    unlock();
    if (!stored) {
        free(fresh.path);
        free(fresh.dirs);
    }
    cp_objfile_close(old.obj);
    free(old.path);
    free(old.dirs);
    return 0;
}

void cp_objcache_put(cp_objfile *f)
{
    if (!f)
        return;
    bool cached = false;
    lock();
    for (size_t i = 0; i < CP_OBJCACHE_MAX; i++)
        if (table[i].obj == f) {
            table[i].busy = false;
            cached = true;
            break;
        }
    unlock();
    if (!cached)
        cp_objfile_close(f);
}

void cp_objcache_clear(void)
{
    centry gone[CP_OBJCACHE_MAX];
    size_t n = 0;
    lock();
    for (size_t i = 0; i < CP_OBJCACHE_MAX; i++)
        if (table[i].obj && !table[i].busy) {
            gone[n++] = table[i];
            memset(&table[i], 0, sizeof table[i]);
        }
    unlock();
    for (size_t i = 0; i < n; i++) {
        cp_objfile_close(gone[i].obj);
        free(gone[i].path);
        free(gone[i].dirs);
    }
}
