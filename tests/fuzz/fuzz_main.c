/* libFuzzer entry point (clang -fsanitize=fuzzer): `make fuzz FUZZ_SECONDS=60`. */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    db_fuzz_one(data, size);
    return 0;
}
