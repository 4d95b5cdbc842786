/*
 * duckdb_lib.c - loading DuckDB's C library at run time (see duckdb.h):
 * dlopen of AKOSHA_LIBDUCKDB, else the documented default path, else the
 * linker's search path, and every function duckdb.c calls resolved into
 * ak_duckdb_fn.  A separate file from the reading because akosha itself
 * only asks whether the library is installed (ak_duckdb_installed: the
 * file's ELF header, no load); the reader processes load it.
 */
#include "ingest/duckdb.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/duckdb_api.h"

#define INSTALL_HINT                                                                        \
    "install it with `scripts/deps.sh duckdb` (npm install --prefix /usr/local/lib/akosha " \
    "@duckdb/node-bindings-linux-x64) or point AKOSHA_LIBDUCKDB at a libduckdb.so; the "    \
    "upload is tried again"

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
ak_duckdb_api ak_duckdb_fn;
static atomic_int loaded;
static char lib_version[32];

#define SYM(name) {"duckdb_" #name, offsetof(ak_duckdb_api, name)}
static const struct {
    const char *symbol;
    size_t offset;
} symbols[] = {
    SYM(library_version), SYM(create_config), SYM(set_config), SYM(destroy_config),
    SYM(open_ext), SYM(close), SYM(free), SYM(connect), SYM(disconnect), SYM(prepare),
    SYM(prepare_error), SYM(destroy_prepare), SYM(pending_prepared_streaming),
    SYM(pending_error), SYM(execute_pending), SYM(destroy_pending), SYM(result_error),
    SYM(destroy_result), SYM(fetch_chunk), SYM(data_chunk_get_size),
    SYM(data_chunk_get_vector), SYM(destroy_data_chunk), SYM(vector_get_data),
    SYM(vector_get_validity), SYM(list_vector_get_child), SYM(array_vector_get_child),
};

/* dlopen one candidate and resolve every symbol; on failure says why. */
static int try_load(const char *path, char *why, size_t n)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, n, "%s", dlerror());
        return 0;
    }
    ak_duckdb_api a;
    for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++) {
        void *sym = dlsym(h, symbols[i].symbol);
        if (!sym) {
            snprintf(why, n, "%s has no %s (a DuckDB older than 1.1?)", path, symbols[i].symbol);
            dlclose(h);
            return 0;
        }
        memcpy((char *)&a + symbols[i].offset, &sym, sizeof sym);
    }
    ak_duckdb_fn = a; /* the handle stays open for the life of the process */
    snprintf(lib_version, sizeof lib_version, "%s", ak_duckdb_fn.library_version());
    return 1;
}

ak_code ak_duckdb_load(ak_err *err)
{
    if (atomic_load(&loaded))
        return AK_OK;
    pthread_mutex_lock(&load_mu);
    char why[2][300] = {"", ""};
    const char *env = getenv("AKOSHA_LIBDUCKDB");
    int ok = atomic_load(&loaded) ||
             (env && *env ? try_load(env, why[0], sizeof why[0])
                          : try_load(AK_DUCKDB_DEFAULT_PATH, why[0], sizeof why[0]) ||
                                try_load("libduckdb.so", why[1], sizeof why[1]));
    if (ok)
        atomic_store(&loaded, 1);
    pthread_mutex_unlock(&load_mu);
    if (ok)
        return AK_OK;
    if (env && *env)
        return ak_err_set(err, AK_ERR_NOTFOUND,
                          "DuckDB's library could not be loaded from AKOSHA_LIBDUCKDB (%s): " INSTALL_HINT,
                          why[0]);
    return ak_err_set(err, AK_ERR_NOTFOUND,
                      "DuckDB's library is not installed (%s; %s): " INSTALL_HINT, why[0], why[1]);
}

/* 1 when path opens and starts as an ELF file does, else 0 and why. */
static int looks_like_library(const char *path, char *why, size_t n)
{
    unsigned char head[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, n, "%s: %s", path, strerror(errno));
        return 0;
    }
    ssize_t got = read(fd, head, sizeof head);
    close(fd);
    if (got == (ssize_t)sizeof head && memcmp(head, "\x7f" "ELF", 4) == 0)
        return 1;
    snprintf(why, n, "%s: not a shared library (no ELF header)", path);
    return 0;
}

ak_code ak_duckdb_installed(ak_err *err)
{
    char why[300];
    const char *env = getenv("AKOSHA_LIBDUCKDB");
    if (atomic_load(&loaded))
        return AK_OK;
    if (env && *env)
        return looks_like_library(env, why, sizeof why)
                   ? AK_OK
                   : ak_err_set(err, AK_ERR_NOTFOUND, "DuckDB's library could not be loaded "
                                "from AKOSHA_LIBDUCKDB (%s): " INSTALL_HINT, why);
    if (looks_like_library(AK_DUCKDB_DEFAULT_PATH, why, sizeof why))
        return AK_OK;
    return ak_duckdb_load(err); /* the linker's search path: only dlopen can tell */
}

const char *ak_duckdb_library_version(void) { return lib_version; }
