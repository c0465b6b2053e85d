/* Status codes shared by every diagbench module (PETSc / SQLite style); C and C++ (gbench.cc). */
#ifndef DB_STATUS_H
#define DB_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum db_status {
    DB_OK = 0,
    DB_E_INVALID = 1,      /* bad argument or input value */
    DB_E_NOMEM = 2,        /* allocation failed */
    DB_E_UNSUPPORTED = 3,  /* the operation has no implementation for this object */
    DB_E_IO = 4,           /* reading or writing a file failed */
    DB_E_BUDGET = 5,       /* would exceed the memory budget */
    DB_E_SINGULAR = 6,     /* a singular (zero or non-finite) pivot or diagonal entry */
    DB_E_TAG_MISMATCH = 7, /* an operator's tag contradicts its behaviour */
    DB_E_INTERNAL = 8,     /* an exception or impossible state inside a library */
};

/* One-line, human-readable text for a status code (never NULL). */
const char *db_strerror(int status);

/* Propagate a non-zero status to the caller (PETSc's PetscCall). */
#define DB_CHECK(expr)                                                                             \
    do {                                                                                           \
        int db_check_rc_ = (expr);                                                                 \
        if (db_check_rc_ != DB_OK) return db_check_rc_;                                            \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
