#include "tests/helpers.h"

#include <criterion/criterion.h>

#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/io/csv_write.h"

extern char **environ;

int th_csv_split(const char *line, char *buf, char **fields, int max) {
    int n = 0;
    const char *p = line;
    char *o = buf;
    for (;;) {
        if (n == max) return -1;
        fields[n++] = o;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"') {
                    if (p[1] == '"') {
                        *o++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *o++ = *p++;
            }
            if (*p && *p != ',') return -1;
        } else {
            while (*p && *p != ',') {
                if (*p == '"') return -1;
                *o++ = *p++;
            }
        }
        *o++ = 0;
        if (!*p) break;
        p++; /* the comma */
    }
    return n;
}

static const char *binary(void) {
    const char *b = getenv("DIAGBENCH");
    return b && *b ? b : "build/diagbench";
}

int th_run(const char *const *args, const char *const *env, char *out, size_t outcap, char *err,
           size_t errcap) {
    int po[2], pe[2];
    if (pipe(po) || pipe(pe)) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_addclose(&fa, po[0]);
    posix_spawn_file_actions_addclose(&fa, pe[0]);

    size_t na = 0, ne = 0, nenv = 0;
    while (args[na])
        na++;
    while (env && env[ne])
        ne++;
    while (environ[nenv])
        nenv++;
    char **argv = calloc(na + 2, sizeof *argv);
    char **envp = calloc(nenv + ne + 1, sizeof *envp);
    argv[0] = (char *)binary();
    for (size_t i = 0; i < na; i++)
        argv[i + 1] = (char *)args[i];
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        envp[k++] = (char *)env[i];
    for (size_t i = 0; i < nenv; i++) {
        int overridden = 0;
        for (size_t j = 0; j < ne; j++) {
            size_t l = strcspn(env[j], "=");
            if (strncmp(environ[i], env[j], l + 1) == 0) overridden = 1;
        }
        if (!overridden) envp[k++] = environ[i];
    }
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    free(envp);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    size_t lo = 0, le = 0;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            char tmp[4096];
            ssize_t r = read(fds[i].fd, tmp, sizeof tmp);
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            char *dst = i == 0 ? out : err;
            size_t cap = i == 0 ? outcap : errcap, *len = i == 0 ? &lo : &le;
            if (dst && cap > 1) {
                size_t room = cap - 1 - *len, take = (size_t)r < room ? (size_t)r : room;
                memcpy(dst + *len, tmp, take);
                *len += take;
            }
        }
    }
    if (out && outcap) out[lo] = 0;
    if (err && errcap) err[le] = 0;
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

char *th_slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    if (s && fread(s, 1, (size_t)len, f) != (size_t)len) {
        free(s);
        s = NULL;
    }
    if (s) s[len] = 0;
    fclose(f);
    return s;
}

int th_count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

int th_csv_column(const char *name) {
    char buf[4096];
    char *f[128];
    int n = th_csv_split(db_csv_header, buf, f, 128);
    for (int i = 0; i < n; i++)
        if (strcmp(f[i], name) == 0) return i;
    cr_assert_fail("no column %s in the CSV header", name);
    return -1;
}
