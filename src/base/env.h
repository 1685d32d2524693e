/* env.h — the one way cprof reads numbers and signal names from its
 * environment variables.
 *
 * Contract: values are parsed strictly — decimal digits only (no sign, no
 * spaces, no 0x or leading-zero octal), within the variable's range; a
 * signal is a number or a name (USR2, SIGUSR2, RTMIN+3, SIGRTMAX-1).  A
 * bad value is refused with one message naming the variable, the value
 * and what is wanted, and the caller's default stays.  Nothing allocates:
 * [hook-safe] (the heap profiler reads its variables inside the first
 * malloc call).
 */
#ifndef CP_BASE_ENV_H
#define CP_BASE_ENV_H

#include <stdint.h>

/* Parse decimal s into *out if it lies in [min, max].  0 or CPROF_EINVAL
 * (*out untouched).  [hook-safe] [async-signal-safe] */
int cp_env_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* The value of variable `name` (given as `value`, as the caller read it;
 * NULL or "" = unset) into *out: 1 when set and valid, 0 when unset, -1
 * when refused (message logged, *out untouched).  [hook-safe] */
int cp_env_int(const char *name, const char *value, int64_t min, int64_t max, int64_t *out);

/* A signal number from a number or a name, as above.  [hook-safe]
 * _any_case: names in any case too (usr2, sigrtmin+1), CPROF_SIGNAL's
 * rule; numbers are as strict either way. */
int cp_env_parse_signal(const char *s, int *out);
int cp_env_parse_signal_any_case(const char *s, int *out);
int cp_env_signal(const char *name, const char *value, int *out);

#endif
