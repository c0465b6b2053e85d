#include "harness/app/signals.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/format.h"
#include "core/status.h"

/* state: 0 idle, 1 a row is being written, 2 the process is exiting. Only the main thread writes
 * rows; the handler may run on any thread (OpenMP workers included). */
static atomic_int state;
static atomic_int forwarding;
static atomic_int child_pid;
static atomic_long rows;
static volatile sig_atomic_t pending, caught;
static int silent;
static char where_text[1200];  /* " kept in X.partial; continue with --resume X.partial" */
static char empty_text[1200];  /* with no row finished: "; X.partial removed: re-run ..." */
static char remove_path[1100]; /* the file to remove when no row was finished ("" none) */

static size_t put(char *buf, size_t at, size_t cap, const char *s) {
    while (*s && at + 1 < cap)
        buf[at++] = *s++;
    return at;
}

static const char *signal_name(int sig) {
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

/* A file this run created that holds no row (its header at most) is removed: the advice is then
 * to re-run the same command, which works (neither --resume nor a second run would). unlink(2)
 * is async-signal-safe. */
static void remove_if_empty(void) {
    if (remove_path[0] && atomic_load(&rows) == 0) unlink(remove_path);
}

/* Async-signal-safe: format with put() only, write(2), unlink(2), rmdir(2), _exit(2). */
static void die(int sig) {
    remove_if_empty();
    db_cleanup_now(); /* a remote worker's socket folder, say (core/cleanup.h) */
    if (!silent) {
        char buf[1400], digits[24];
        size_t at = put(buf, 0, sizeof buf, "diagbench: interrupted by ");
        at = put(buf, at, sizeof buf, signal_name(sig));
        at = put(buf, at, sizeof buf, ": ");
        long v = atomic_load(&rows);
        size_t d = 0;
        do {
            digits[d++] = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0 && d < sizeof digits);
        while (d > 0 && at + 1 < sizeof buf)
            buf[at++] = digits[--d];
        at = put(buf, at, sizeof buf, atomic_load(&rows) == 1 ? " finished row" : " finished rows");
        at = put(buf, at, sizeof buf, atomic_load(&rows) ? where_text : empty_text);
        at = put(buf, at, sizeof buf, "\n");
        ssize_t w = write(STDERR_FILENO, buf, at);
        (void)w;
    }
    _exit(128 + sig);
}

static void wait_for_exit(void) {
    for (;;)
        pause();
}

static void handler(int sig) {
    int saved = errno;
    if (atomic_load(&forwarding)) {
        caught = sig;
        pid_t c = (pid_t)atomic_load(&child_pid);
        if (c > 0) kill(c, sig);
        errno = saved;
        return;
    }
    pending = sig;
    int idle = 0;
    if (atomic_compare_exchange_strong(&state, &idle, 2)) die(sig);
    /* A row is being written: row_end acts on `pending` once it is whole. */
    errno = saved;
}

int db_signals_install(const char *where, long rows_already, int flags) {
    silent = (flags & DB_SIG_SILENT) != 0;
    atomic_store(&rows, rows_already);
    remove_path[0] = 0;
    if (where && (flags & DB_SIG_RESUME_HINT)) {
        char word[600];
        snprintf(where_text, sizeof where_text, " kept in %s; continue with --resume %s", where,
                 db_shell_word(where, word, sizeof word));
        /* A resumed file without rows: --resume alone cannot take the flags from it. */
        if (flags & DB_SIG_CREATED) {
            snprintf(empty_text, sizeof empty_text, "; %s removed: re-run the same command", where);
            snprintf(remove_path, sizeof remove_path, "%s", where);
        } else {
            snprintf(empty_text, sizeof empty_text, " in %s; continue with the same command",
                     where);
        }
    } else {
        snprintf(where_text, sizeof where_text, " written to %s", where ? where : "stdout");
        snprintf(empty_text, sizeof empty_text, "%s", where_text);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return DB_E_INTERNAL;
    return DB_OK;
}

void db_signals_forward_to(pid_t child) {
    atomic_store(&child_pid, (int)child);
    atomic_store(&forwarding, 1);
    /* A signal that arrived between fork and now was caught but not yet forwarded. */
    if (child > 0 && caught) kill(child, caught);
}

void db_signals_row_begin(void) {
    int idle = 0;
    if (!atomic_compare_exchange_strong(&state, &idle, 1)) wait_for_exit();
}

void db_signals_row_end(int written) {
    if (written) atomic_fetch_add(&rows, 1);
    atomic_store(&state, 0);
    if (pending && !atomic_load(&forwarding)) {
        int idle = 0;
        if (atomic_compare_exchange_strong(&state, &idle, 2)) die(pending);
        wait_for_exit();
    }
}

void db_signals_finish(void) {
    int idle = 0;
    if (!atomic_compare_exchange_strong(&state, &idle, 1)) wait_for_exit();
    atomic_store(&forwarding, 0);
    atomic_store(&child_pid, 0);
}

int db_signals_caught(void) {
    return caught;
}

int db_signals_report(int sig) {
    remove_if_empty();
    if (!silent) {
        long v = atomic_load(&rows);
        fprintf(stderr, "diagbench: interrupted by %s: %ld finished row%s%s\n", signal_name(sig), v,
                v == 1 ? "" : "s", v ? where_text : empty_text);
    }
    return 128 + sig;
}

long db_signals_rows(void) {
    return atomic_load(&rows);
}

void db_signals_reset(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}
