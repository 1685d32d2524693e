/* heap_env.h — the heap profiler's part of the preload entry (heap_env.c),
 * called by the library constructor and exit/fork handlers in preload.c.
 *
 * Contract: cp_preload_heap_init reads CPROF_HEAP, CPROF_HEAP_RATE and
 * CPROF_LEAKS and starts sampling; cp_preload_heap_fini writes the heap
 * profile (atomically, "%p" expanded) and the leak report, once;
 * cp_preload_heap_atfork_child silences a forked child whose FILE has no
 * "%p".  Called outside malloc hooks.
 */
#ifndef CP_PRELOAD_HEAP_ENV_H
#define CP_PRELOAD_HEAP_ENV_H

void cp_preload_heap_init(void);
void cp_preload_heap_fini(void);
void cp_preload_heap_atfork_child(void);

#endif
