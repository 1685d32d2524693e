/* http_env.h — CPROF_HTTP under LD_PRELOAD (start.c).
 *
 * Contract: cp_http_env_start() is called once by the preload constructor
 * (after the heap and CPU profilers' own start); when CPROF_HTTP is set it
 * starts the server as cprof_http_start(NULL) would, and says on stderr
 * (one line) why when it cannot.  Not from a hook or handler.
 */
#ifndef CP_HTTP_HTTP_ENV_H
#define CP_HTTP_HTTP_ENV_H

void cp_http_env_start(void);

/* fork steps, called by collect/sigfork.c only: the start/stop lock held
 * across fork, released in the parent, re-initialised in the child. */
void cp_http_atfork_prepare(void);
void cp_http_atfork_parent(void);
void cp_http_atfork_child(void);

#endif
