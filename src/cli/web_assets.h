/* web_assets.h — the web UI's files (web/), compiled into the binary.
 *
 * Contract: cp_web_assets ends with an entry whose name is NULL; data is
 * NUL-terminated (len excludes it); sha256 is the base64 digest a CSP
 * 'sha256-…' source uses for the asset inlined as a script.  Generated at
 * build time by web/embed.py.  Read-only, [thread-safe].
 */
#ifndef CP_CLI_WEB_ASSETS_H
#define CP_CLI_WEB_ASSETS_H

#include <stddef.h>

typedef struct cp_web_asset {
    const char *name;
    const unsigned char *data;
    size_t len;
    const char *type, *sha256;
} cp_web_asset;

extern const cp_web_asset cp_web_assets[];

/* The asset called name ("flame.js"), or NULL. */
static inline const cp_web_asset *cp_web_asset_find(const char *name)
{
    for (const cp_web_asset *a = cp_web_assets; a->name; a++) {
        const char *x = a->name, *y = name;
        while (*x && *x == *y)
            x++, y++;
        if (*x == *y)
            return a;
    }
    return NULL;
}

#endif
