#include "core/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fail.h"
#include "core/status.h"

int db_outfile_resolve(const char *path, char **target, enum db_out_mode *mode, char *err,
                       size_t errlen) {
    *target = NULL;
    *mode = DB_OUT_ATOMIC;
    struct stat st, lst;
    if (stat(path, &st) != 0) {
        /* Nothing there (a new file), unless it is a symlink that points nowhere: writing
         * beside it and renaming would replace the link. */
        if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
            return db_fail(err, errlen, "'%s': a symlink to a missing file", path);
        *target = strdup(path);
        return *target ? DB_OK : DB_E_NOMEM;
    }
    if (S_ISDIR(st.st_mode)) return db_fail(err, errlen, "'%s': it is a directory", path);
    if (!S_ISREG(st.st_mode)) {
        *mode = DB_OUT_THROUGH;
        *target = strdup(path);
        return *target ? DB_OK : DB_E_NOMEM;
    }
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        *target = realpath(path, NULL); /* the file the link names: rename onto it */
        if (!*target)
            return errno == ENOMEM ? DB_E_NOMEM
                                   : db_fail(err, errlen, "'%s': %s", path, strerror(errno));
        return DB_OK;
    }
    *target = strdup(path);
    return *target ? DB_OK : DB_E_NOMEM;
}

FILE *db_outfile_open_through(const char *path, int wait_for_reader) {
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | (wait_for_reader ? 0 : O_NONBLOCK));
    if (fd < 0) return NULL;
    FILE *f = wait_for_reader || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0
                  ? fdopen(fd, "w")
                  : NULL;
    if (!f) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return f;
}

char *db_outfile_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int db_outfile_probe_dir(const char *dir) {
    char probe[4200];
    if ((size_t)snprintf(probe, sizeof probe, "%s/.diagbench-probe-XXXXXX", dir) >= sizeof probe)
        return ENAMETOOLONG;
    int fd = mkstemp(probe);
    if (fd < 0) return errno;
    close(fd);
    unlink(probe);
    return 0;
}
