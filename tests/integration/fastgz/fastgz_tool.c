/* fastgz_tool.c — helper of fastgz.sh.
 *
 *   fastgz_tool split N IN OUT   IN's bytes (inflated if gzipped) written to
 *                                OUT as N runs of cprof's gzip members
 *                                (cp_cli_gzip_fast each), so a small profile
 *                                makes the multi-member file a large merge
 *                                writes
 *   fastgz_tool members FILE     how many "CP" members tile FILE (0 if not)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/fastgz.h"
#include "profile/profile.h"

int main(int argc, char **argv)
{
    cp_buf in = {0}, raw = {0}, out = {0};
    cp_diag d;
    if (argc == 3 && !strcmp(argv[1], "members")) {
        if (cp_buf_read_file(&in, argv[2], 1u << 30))
            return 1;
        size_t n = 0, pos = 0;
        while (pos + 20 <= in.len && in.data[pos + 12] == 'C' && in.data[pos + 13] == 'P') {
            const unsigned char *p = in.data + pos + 16;
            size_t size = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
            if (!size)
                break;
            pos += size;
            n++;
        }
        printf("%zu\n", pos == in.len ? n : 0);
        cp_buf_free(&in);
        return 0;
    }
    if (argc != 5 || strcmp(argv[1], "split")) {
        fprintf(stderr, "usage: fastgz_tool split N IN OUT | members FILE\n");
        return 2;
    }
    size_t parts = strtoul(argv[2], NULL, 10);
    int rc = !parts || cp_buf_read_file(&in, argv[3], 1u << 30);
    if (!rc && cp_is_gzip(in.data, in.len)) {
        rc = cp_gunzip(in.data, in.len, 1u << 30, &raw, &d);
        if (rc)
            fprintf(stderr, "fastgz_tool: %s: %s\n", argv[3], d.msg);
    } else if (!rc) {
        rc = cp_buf_append(&raw, in.data, in.len);
    }
    for (size_t i = 0; !rc && i < parts; i++) {
        size_t a = raw.len * i / parts, b = raw.len * (i + 1) / parts;
        rc = cp_cli_gzip_fast(raw.data + a, b - a, &out);
    }
    if (!rc)
        rc = cp_write_file_atomic(argv[4], out.data, out.len);
    cp_buf_free(&in);
    cp_buf_free(&raw);
    cp_buf_free(&out);
    return rc ? 1 : 0;
}
