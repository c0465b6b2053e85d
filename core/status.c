#include "core/status.h"

const char *db_strerror(int status) {
    switch (status) {
    case DB_OK:
        return "ok";
    case DB_E_INVALID:
        return "invalid argument";
    case DB_E_NOMEM:
        return "out of memory";
    case DB_E_UNSUPPORTED:
        return "unsupported";
    case DB_E_IO:
        return "input/output error";
    case DB_E_BUDGET:
        return "exceeds the memory budget";
    case DB_E_SINGULAR:
        return "singular";
    case DB_E_TAG_MISMATCH:
        return "tag mismatch";
    case DB_E_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}
