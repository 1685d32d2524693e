/* rx.h — regular expressions with the RE2 spellings people type into
 * go tool pprof flags, on top of POSIX extended regex (glibc).
 *
 * Contract: cp_rx_compile accepts a leading (?i), the escapes \d \D \s \S
 * (also inside brackets for \d and \s), and everything POSIX ERE accepts
 * (glibc adds \w \W \b \< \>).  Matching is unanchored, like Go's
 * MatchString.  On error returns non-zero and writes a message.  [thread-safe]
 */
#ifndef CP_ANALYSIS_RX_H
#define CP_ANALYSIS_RX_H

#include <regex.h>
#include <stddef.h>

int cp_rx_compile(regex_t *rx, const char *pattern, char *err, size_t errlen);

#endif
