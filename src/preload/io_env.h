/* io_env.h — the I/O profile's part of the preload entry (preload/io.c),
 * called from preload.c.
 *
 * Contract: cp_preload_io_init (the library constructor) looks up the next
 * definitions of the interposed calls, reads CPROF_IO, CPROF_IO_RATE,
 * CPROF_IO_TIME_RATE and CPROF_IO_SEED and starts sampling;
 * cp_preload_io_fini (exit) writes the profile once, atomically, "%p"
 * expanded; cp_preload_io_atfork_child reseeds the child and silences it
 * when the file name has no "%p".
 */
#ifndef CP_PRELOAD_IO_ENV_H
#define CP_PRELOAD_IO_ENV_H

void cp_preload_io_init(void);
void cp_preload_io_fini(void);
void cp_preload_io_atfork_child(void);

#endif
