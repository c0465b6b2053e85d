/* Interrupted runs: SIGINT / SIGTERM finish nothing more. The cell in progress is abandoned (not
 * written), every finished row stays in the output, one line on stderr says where, and the
 * process exits 128 + signal (130 / 143). Everything the handler does is async-signal-safe: it
 * never runs while a row is being written (rows are whole or absent), and a sweep parent only
 * forwards the signal to its child and lets its own loop collect the child's rows. */
#ifndef DB_SIGNALS_H
#define DB_SIGNALS_H

#include <sys/types.h>

#define DB_SIG_RESUME_HINT 1 /* the message says how to continue with --resume */
#define DB_SIG_SILENT      2 /* no message (a sweep child: its parent reports) */
#define DB_SIG_CREATED     4 /* this run created `where`: removed when it holds no finished row */

/* Install the SIGINT / SIGTERM handlers. where: the file the rows go to (NULL: stdout), named in
 * the message; rows_already: rows in it before this run (a resumed file). With
 * DB_SIG_RESUME_HINT the message says how to continue, and with DB_SIG_CREATED too a file that
 * holds no finished row is removed and the message says to re-run the same command. Returns
 * DB_OK or DB_E_INTERNAL. */
int db_signals_install(const char *where, long rows_already, int flags);

/* Sweep parent: from now on forward signals to child (0: none running) instead of exiting. */
void db_signals_forward_to(pid_t child);

/* Bracket the writing of one row: a signal arriving in between is acted on at row_end, so a row
 * is never torn by SIGINT / SIGTERM. row_end counts the row for the message when written. */
void db_signals_row_begin(void);
void db_signals_row_end(int written);

/* Rows in the output: those before this run and those written since. */
long db_signals_rows(void);

/* The signal caught in forwarding mode (0 if none). */
int db_signals_caught(void);

/* Print the interruption message for sig with the rows counted so far (not async-signal-safe:
 * for the sweep parent's normal control flow). Returns the exit code, 128 + sig. */
int db_signals_report(int sig);

/* Every row is written: from now on a signal no longer interrupts the run (the commit of the
 * file, a rename, finishes; the exit status stays 0). */
void db_signals_finish(void);

/* Restore the default dispositions (a child between fork and exec). */
void db_signals_reset(void);

#endif
