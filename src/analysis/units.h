/* units.h — measurement units and the number formats of go tool pprof.
 *
 * Contract: pure functions on values and unit names, byte-for-byte the
 * formats go tool pprof prints: "1.50s", "4096kB", " 9.52%", "0.002%".
 * Unit names are the profile's ("nanoseconds", "bytes", "count"); the
 * target unit may be "minimum"/"auto" (pick the largest unit keeping the
 * value >= 1) or a unit name ("ms", "MB").  Output buffers are caller-owned;
 * results are NUL-terminated and truncated to the buffer.  [thread-safe]
 */
#ifndef CP_ANALYSIS_UNITS_H
#define CP_ANALYSIS_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Convert value from `from` units to `to`.  *unit_out receives the unit
 * label to print (static storage, or `to` itself when neither unit is
 * known, or "" for plain counts). */
double cp_units_scale(int64_t value, const char *from, const char *to, const char **unit_out);
/* "%.2f" of the scaled value, ".00" trimmed, with its unit; "0" for zero. */
void cp_units_label(char *buf, size_t n, int64_t value, const char *from, const char *to);
/* The 6-column percentage: "  100%", "34.00%", " 0.7%", "0.002%". */
void cp_units_percentage(char *buf, size_t n, int64_t value, int64_t total);
/* Go's time.Duration String(): "1.5s", "671.66ms", "1h2m3s". */
void cp_units_go_duration(char *buf, size_t n, int64_t ns);
/* Go's time.Time String() in the local zone:
 * "2006-01-02 15:04:05.999999999 -0700 MST". */
void cp_units_go_time(char *buf, size_t n, int64_t unix_ns);
/* "Jan 2, 2006 at 3:04pm (MST)" in the local zone. */
void cp_units_header_time(char *buf, size_t n, int64_t unix_ns);
/* True when the two units measure the same dimension (bytes, time). */
int cp_units_kind(const char *unit); /* -1 unknown, 0 bytes, 1 time, 2 gcu */

#endif
