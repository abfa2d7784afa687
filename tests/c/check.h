/* The small check harness shared by the C tests: CHECK counts a condition,
 * CHECK_STATUS/CHECK_OK compare a msgwire_status, and every failure is
 * printed with msgwire_last_error(). Each test ends with
 *     printf("%d passed, %d failed\n", passed, failed);
 * and returns non-zero when anything failed. Include once per program. */
#ifndef MSGWIRE_TEST_CHECK_H
#define MSGWIRE_TEST_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "msgwire.h"

static int passed, failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            passed++;                                                                \
        } else {                                                                     \
            failed++;                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed (last error: %s)\n", __FILE__,  \
                    __LINE__, #cond, msgwire_last_error());                          \
        }                                                                            \
    } while (0)

#define CHECK_STATUS(call, want)                                                     \
    do {                                                                             \
        msgwire_status got_ = (call);                                                \
        if (got_ == (want)) {                                                        \
            passed++;                                                                \
        } else {                                                                     \
            failed++;                                                                \
            fprintf(stderr, "%s:%d: %s gave %u (%s), want %s (last error: %s)\n",    \
                    __FILE__, __LINE__, #call, (unsigned)got_,                       \
                    msgwire_status_text(got_), #want, msgwire_last_error());         \
        }                                                                            \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, MSGWIRE_OK)

/* Whether a borrowed msgwire string equals `want` and is NUL-terminated. */
static inline bool str_is(msgwire_str s, const char *want)
{
    return s.ptr != NULL && s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0 &&
           s.ptr[s.len] == '\0';
}

/* Copies `len` bytes of `src` (NULL: none) into `dst` as a NUL-terminated
 * string, cut to fit `cap` bytes. */
static inline void copy_str(char *dst, size_t cap, const void *src, size_t len)
{
    if (src == NULL) {
        len = 0;
    }
    if (len >= cap) {
        len = cap - 1;
    }
    if (len > 0) {
        memcpy(dst, src, len);
    }
    dst[len] = '\0';
}

#endif
