/* dlmain.c — dlopens LIB, makes N allocations of SIZE bytes there (frees
 * the first F of them), burns MS of CPU there, blocks W times there,
 * dlcloses it and checks that it is gone; the profiles are written at
 * exit, long after.
 *
 *   dlmain LIB N SIZE F MS W   prints "unloaded" when the library is gone
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef void *(*alloc_fn)(size_t);
typedef void (*burn_fn)(int);
typedef void (*wait_fn)(int);

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: dlmain LIB N SIZE F MS W\n");
        return 2;
    }
    const char *lib = argv[1];
    int n = atoi(argv[2]), f = atoi(argv[4]), ms = atoi(argv[5]), w = atoi(argv[6]);
    size_t size = (size_t)atol(argv[3]);
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    alloc_fn alloc = (alloc_fn)dlsym(h, "dlplug_alloc_here");
    burn_fn burn = (burn_fn)dlsym(h, "dl_burn");
    wait_fn wait = (wait_fn)dlsym(h, "dlplug_wait_here");
    if (!alloc || !burn || !wait) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    void **kept = malloc((size_t)n * sizeof *kept);
    for (int i = 0; i < n; i++)
        kept[i] = alloc(size);
    for (int i = 0; i < f && i < n; i++)
        free(kept[i]);
    burn(ms);
    wait(w);
    if (dlclose(h) != 0) {
        fprintf(stderr, "dlclose: %s\n", dlerror());
        return 1;
    }
    /* Gone from the process: RTLD_NOLOAD finds nothing. */
    if (!dlopen(lib, RTLD_NOW | RTLD_NOLOAD))
        printf("unloaded\n");
    /* the blocks still allocated stay so: in use at exit */
    return 0;
}
