/* locks_env.h — the mutex and block profiles' part of the preload entry
 * (src/preload/locks.c), called from preload.c.
 *
 * Contract: cp_preload_locks_init (the constructor) binds the next
 * definitions of the interposed lock and wait calls and starts the
 * profiles CPROF_MUTEX, CPROF_MUTEX_HOLDERS and CPROF_BLOCK ask for;
 * cp_preload_locks_fini (exit) writes them once, atomically, "%p"
 * expanded; cp_preload_locks_atfork_child empties the child's tables, and
 * the child writes only files whose names hold "%p".
 */
#ifndef CP_PRELOAD_LOCKS_ENV_H
#define CP_PRELOAD_LOCKS_ENV_H

void cp_preload_locks_init(void);
void cp_preload_locks_fini(void);
void cp_preload_locks_atfork_child(void);

#endif
