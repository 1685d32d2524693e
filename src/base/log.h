/* log.h — messages to stderr with write(2), usable anywhere.
 *
 * Contract: cp_log formats into a stack buffer and writes once; it never
 * allocates, so it is [hook-safe].  It is not [async-signal-safe] (vsnprintf).
 * cp_log_raw writes a fixed string and is [async-signal-safe].
 */
#ifndef CP_BASE_LOG_H
#define CP_BASE_LOG_H

void cp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cp_log_raw(const char *s);

#endif
