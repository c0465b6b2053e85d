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

void db_eta_model_add(struct db_eta_model *m, double cost_ns, double seconds) {
    if (!(cost_ns >= 0) || !(seconds >= 0)) return;
    double c = cost_ns * 1e-9; /* model seconds: keeps the sums in a comfortable range */
    m->n += 1;
    m->sc += c;
    m->sd += seconds;
    m->scc += c * c;
    m->scd += c * seconds;
}

double db_eta_model_left_s(const struct db_eta_model *m, const struct db_progress_position *p,
                           unsigned long long now_ns) {
    if (m->n < DB_ETA_MIN_CELLS) return db_progress_eta_s(p, now_ns);
    /* least squares of d = a c + b; the constrained optimum lies on a = 0 or b = 0 when the
     * unconstrained one leaves the quadrant (a convex problem in two variables) */
    double det = m->n * m->scc - m->sc * m->sc, a = 0, b = 0;
    if (det > 0) {
        a = (m->n * m->scd - m->sc * m->sd) / det;
        b = (m->sd - a * m->sc) / m->n;
    }
    if (!(det > 0) || a < 0) {
        a = 0;
        b = m->sd / m->n;
    } else if (b < 0) {
        b = 0;
        a = m->scc > 0 ? m->scd / m->scc : 0;
    }
    double cost_left = (double)(p->cost_total - p->cost_done) * 1e-9;
    double cells_left = (double)(p->total - p->done);
    return a * cost_left + b * cells_left;
}

int db_noise_count(struct db_noise_tally *t, double cv, double threshold) {
    t->cells++;
    if (!(cv > threshold)) return 0;
    return ++t->noisy <= DB_NOISE_SHOWN;
}

void db_noise_summary(const struct db_noise_tally *t, double threshold, char *buf, size_t len) {
    if (t->noisy <= DB_NOISE_SHOWN) {
        snprintf(buf, len, "%s", "");
        return;
    }
    snprintf(buf, len,
             "%u of %u cells had cv above %.0f%% (%u more than the %d warned about above): the "
             "times are noisy; another load or frequency scaling? --precision PCT repeats each "
             "cell until its median is known to PCT%%",
             t->noisy, t->cells, 100 * threshold, t->noisy - DB_NOISE_SHOWN, DB_NOISE_SHOWN);
}
