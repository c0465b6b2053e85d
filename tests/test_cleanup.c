/* core/cleanup.h: what a signal's exit removes (a remote worker's socket and its folder). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"

static int exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

Test(cleanup, registered_paths_are_removed_and_popped_ones_kept) {
    char dir[] = "/tmp/diagbench-cleanup-XXXXXX", file[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/sock", dir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    int slot = db_cleanup_push(file, dir);
    cr_assert_geq(slot, 0);
    db_cleanup_pop(slot); /* popped: a signal now leaves it alone */
    db_cleanup_now();
    cr_assert(exists(file) && exists(dir));
    slot = db_cleanup_push(file, dir);
    db_cleanup_now(); /* what the signal handler does before _exit */
    cr_assert(!exists(file) && !exists(dir));
    db_cleanup_pop(slot);
}

Test(cleanup, slots_run_out_without_harm) {
    int slot[DB_CLEANUP_SLOTS];
    for (int i = 0; i < DB_CLEANUP_SLOTS; i++)
        cr_assert_geq(slot[i] = db_cleanup_push("/nonexistent/a", NULL), 0);
    cr_assert_eq(db_cleanup_push("/nonexistent/b", NULL), -1);
    db_cleanup_now(); /* nonexistent paths: nothing happens */
    for (int i = 0; i < DB_CLEANUP_SLOTS; i++)
        db_cleanup_pop(slot[i]);
    cr_assert_geq(slot[0] = db_cleanup_push(NULL, NULL), 0);
    db_cleanup_pop(slot[0]);
}
