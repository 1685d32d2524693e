/* env.c — strict parsing of cprof's environment variables (see env.h).
 *
 * Why strict: strtol with base 0 took CPROF_HEAP_RATE=010 as 8 and 0x10 as
 * 16, atoi took CPROF_CPU_SIGNAL=abc as 0 and "12x" as 12, and each
 * variable had its own rules.  A profiler whose settings are silently
 * misread gives wrong figures with nothing to say so.
 */
#include "base/env.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "cprof.h"

int cp_env_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return CPROF_EINVAL;
    if (s[0] == '0' && s[1])
        return CPROF_EINVAL; /* 010: octal to strtol, ten to a person */
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return CPROF_EINVAL;
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return CPROF_EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return CPROF_EINVAL;
    *out = v;
    return 0;
}

int cp_env_int(const char *name, const char *value, int64_t min, int64_t max, int64_t *out)
{
    if (!value || !*value)
        return 0;
    if (cp_env_parse_int(value, min, max, out) == 0)
        return 1;
    cp_log("ignoring %s=%.64s: want a whole number in %lld..%lld", name, value, (long long)min,
           (long long)max);
    return -1;
}

static const struct {
    const char *name;
    int sig;
} names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
    {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},       {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},   {"SYS", SIGSYS},       {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
    {"KILL", SIGKILL}, {"STOP", SIGSTOP},     {"SEGV", SIGSEGV}, {"BUS", SIGBUS},
    {"ILL", SIGILL},   {"FPE", SIGFPE},
};

/* Names compared exactly, or in any case (CPROF_SIGNAL's rule). */
static int parse_signal(const char *s, bool any_case, int *out)
{
    int (*cmp)(const char *, const char *, size_t) = any_case ? strncasecmp : strncmp;
    int64_t v;
    if (!s || !*s)
        return CPROF_EINVAL;
    if (s[0] >= '0' && s[0] <= '9') {
        if (cp_env_parse_int(s, 1, NSIG - 1, &v) != 0)
            return CPROF_EINVAL;
        *out = (int)v;
        return 0;
    }
    if (cmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((any_case ? strcasecmp(s, names[i].name) : strcmp(s, names[i].name)) == 0) {
            *out = names[i].sig;
            return 0;
        }
    int base = 0, sign = 0;
    if (cmp(s, "RTMIN", 5) == 0)
        base = SIGRTMIN, sign = 1;
    else if (cmp(s, "RTMAX", 5) == 0)
        base = SIGRTMAX, sign = -1;
    else
        return CPROF_EINVAL;
    s += 5;
    v = 0;
    if (*s) {
        if ((sign > 0 && *s != '+') || (sign < 0 && *s != '-'))
            return CPROF_EINVAL;
        if (cp_env_parse_int(s + 1, 0, SIGRTMAX - SIGRTMIN, &v) != 0)
            return CPROF_EINVAL;
    }
    *out = base + sign * (int)v;
    return 0;
}

int cp_env_parse_signal(const char *s, int *out)
{
    return parse_signal(s, false, out);
}

int cp_env_parse_signal_any_case(const char *s, int *out)
{
    return parse_signal(s, true, out);
}

int cp_env_signal(const char *name, const char *value, int *out)
{
    if (!value || !*value)
        return 0;
    if (cp_env_parse_signal(value, out) == 0)
        return 1;
    cp_log("ignoring %s=%.64s: want a signal number or name (USR2, SIGUSR2, RTMIN+3)", name,
           value);
    return -1;
}
