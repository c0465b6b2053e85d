/* Where an output file really goes, decided before anything is written, so that diagbench never
 * replaces a file it did not create: every file diagbench writes (the CSV of a run, merge -o,
 * the wisdom file, any later JSON) asks db_outfile_resolve first.
 *  - a path that does not exist, or a regular file: written beside it (OUT.partial or a
 *    temporary) and renamed over it when complete (DB_OUT_ATOMIC);
 *  - a symlink to a regular file: followed; the rename lands on the file it points to, the link
 *    stays a link;
 *  - anything else that exists and is not a directory (a character device such as /dev/null or
 *    /dev/full, a FIFO, a socket, /dev/stdout or /proc/self/fd/N of a pipe or terminal): written
 *    through directly, with no temporary file and no rename (DB_OUT_THROUGH): a device is never
 *    replaced by a regular file;
 *  - a directory, or a symlink to nothing: refused. */
#ifndef DB_OUTFILE_H
#define DB_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

enum db_out_mode { DB_OUT_ATOMIC, DB_OUT_THROUGH };

/* Decide how path is written. *target (malloc'd, free it) is the path to write: path itself,
 * or for a symlink to a regular file the file it resolves to. DB_OK, DB_E_INVALID (err: "'path':
 * it is a directory" and the like, without the flag's name) or DB_E_NOMEM. */
int db_outfile_resolve(const char *path, char **target, enum db_out_mode *mode, char *err,
                       size_t errlen);

/* Open an existing non-regular path (DB_OUT_THROUGH) for writing, without creating or
 * truncating anything ("w" semantics on a device). A FIFO blocks until it has a reader when
 * wait_for_reader, else fails at once (ENXIO) without one. NULL with errno on failure. */
FILE *db_outfile_open_through(const char *path, int wait_for_reader);

/* The directory of path (malloc'd; NULL when out of memory): "." when it has none, "/" for a
 * file at the root. */
char *db_outfile_dir(const char *path);

/* Whether a file can be created in dir, found by creating one (mkstemp) and removing it: access()
 * says yes to root on a read-only folder such as /proc. 0, or the errno of the failure. */
int db_outfile_probe_dir(const char *dir);

#endif
