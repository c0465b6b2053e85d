/* Files a process removes when a signal ends it: a path that exists for a moment (a remote
 * worker's socket and its folder, between bind and connect) is registered, and the signal
 * handler (harness/app/signals.c) removes it before _exit, on whichever thread the signal is
 * delivered to -- blocking signals in the registering thread alone does not stop an OpenMP
 * worker thread from taking them. */
#ifndef DB_CLEANUP_H
#define DB_CLEANUP_H

/* Register file (unlinked) and dir (removed after it, when empty; either may be NULL) until
 * db_cleanup_pop; returns the slot, or -1 when all DB_CLEANUP_SLOTS are taken (nothing is then
 * registered). The strings are copied (up to 255 bytes each). */
enum { DB_CLEANUP_SLOTS = 8 };
int db_cleanup_push(const char *file, const char *dir);
void db_cleanup_pop(int slot);

/* Async-signal-safe (unlink, rmdir): remove every registered path. */
void db_cleanup_now(void);

#endif
