/* heap_env.h — the heap profiler's part of the preload entry (heap_env.c),
 * called by the malloc interposers and by the library constructor and
 * exit/fork handlers in preload.c.
 *
 * Contract: cp_preload_heap_early reads CPROF_HEAP, CPROF_HEAP_RATE,
 * CPROF_LEAKS and CPROF_HEAP_SEED and starts sampling; the interposers call
 * it once the program's allocator is known, from inside the first
 * malloc-family call (it allocates nothing through the interposers'
 * sampled path: [hook-safe] in that sense).  cp_preload_heap_init (the
 * constructor) does the same if no allocation came first and finishes the
 * start outside malloc; cp_preload_heap_fini writes the heap profile
 * (atomically, "%p" expanded) and the leak report (to the stderr of the
 * start, checked with fstat, or to CPROF_LEAKS=FILE), once;
 * cp_preload_heap_atfork_child silences a forked child whose file names
 * have no "%p".
 */
#ifndef CP_PRELOAD_HEAP_ENV_H
#define CP_PRELOAD_HEAP_ENV_H

void cp_preload_heap_early(void);
void cp_preload_heap_init(void);
void cp_preload_heap_fini(void);
void cp_preload_heap_atfork_child(void);

#endif
