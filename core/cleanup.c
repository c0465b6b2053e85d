#include "core/cleanup.h"

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

/* state: 0 free, 1 being filled or emptied, 2 registered (the handler acts only on 2). */
static struct {
    atomic_int state;
    char file[256], dir[256];
} slots[DB_CLEANUP_SLOTS];

int db_cleanup_push(const char *file, const char *dir) {
    for (int i = 0; i < DB_CLEANUP_SLOTS; i++) {
        int free_slot = 0;
        if (!atomic_compare_exchange_strong(&slots[i].state, &free_slot, 1)) continue;
        snprintf(slots[i].file, sizeof slots[i].file, "%s", file ? file : "");
        snprintf(slots[i].dir, sizeof slots[i].dir, "%s", dir ? dir : "");
        atomic_store(&slots[i].state, 2);
        return i;
    }
    return -1;
}

void db_cleanup_pop(int slot) {
    if (slot >= 0 && slot < DB_CLEANUP_SLOTS) atomic_store(&slots[slot].state, 0);
}

void db_cleanup_now(void) {
    for (int i = 0; i < DB_CLEANUP_SLOTS; i++) {
        if (atomic_load(&slots[i].state) != 2) continue;
        if (slots[i].file[0]) unlink(slots[i].file);
        if (slots[i].dir[0]) rmdir(slots[i].dir);
    }
}
