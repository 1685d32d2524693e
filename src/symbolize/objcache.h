/* objcache.h — process-wide cache of opened ELF files (internal).
 *
 * Contract: cp_objcache_get() hands out an objfile for (path, debug_dirs)
 * to one caller at a time: a cached one when the file on disk is still the
 * same (device, inode, size, mtime) and nobody else holds it, else a newly
 * opened one.  cp_objcache_put() gives it back; the cache keeps at most
 * CP_OBJCACHE_MAX files, dropping the least recently used.  So a process
 * that writes a profile every few seconds (HTTP endpoint, periodic
 * profiles) parses libc's symbols and DWARF once, not on every write.
 * Used only when cp_symbolize_opts.cache asks for it.
 * [thread-safe].  Not fork-safe by itself: it lives in the cprof command
 * (and tests), never in a profiled process (libcprof has no libdw), and
 * the command forks only to exec.  A collector that ever uses it must add
 * its lock to the fork order in collect/sigfork.c; registering a
 * pthread_atfork of its own (as it once did, lazily) would put its lock
 * first and invert the order against the CPU profiler's mutex.
 */
#ifndef CP_SYMBOLIZE_OBJCACHE_H
#define CP_SYMBOLIZE_OBJCACHE_H

#include "symbolize/objfile.h"

#define CP_OBJCACHE_MAX 32

/* 0 with *out set, or the cp_objfile_open error. */
int cp_objcache_get(const char *path, const char *debug_dirs, cp_objfile **out);
void cp_objcache_put(cp_objfile *f);
/* Close every cached file not in use. */
void cp_objcache_clear(void);

#endif
