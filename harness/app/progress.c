#include "harness/app/progress.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

unsigned long long db_progress_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

double db_progress_eta_s(const struct db_progress_position *p, unsigned long long now_ns) {
    double left = (double)(p->cost_total - p->cost_done);
    if (p->cost_done == 0) return left * 1e-9;
    double elapsed = now_ns > p->start_ns ? (double)(now_ns - p->start_ns) * 1e-9 : 0;
    return elapsed * left / (double)p->cost_done;
}

void db_progress_format_eta(double seconds, char *buf, size_t len) {
    double s = ceil(seconds > 0 ? seconds : 0);
    if (s < 60)
        snprintf(buf, len, "ETA %.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "ETA %.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, len, "ETA %.0fh%02.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
}
