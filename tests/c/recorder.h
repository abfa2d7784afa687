/* A recorder of MSRP session callbacks, shared by the C tests that run
 * sessions: it counts incoming SENDs and REPORTs, responses and on_closed
 * calls, keeps the last SEND body, response code and close reason, and
 * notes when user_data_free ran. Pass recorder_callbacks() and a
 * struct recorder as user_data to msgwire_msrp_session_start, then wait
 * for a counter with wait_count. Every field is guarded by `lock`.
 *
 * The including program defines _POSIX_C_SOURCE (for clock_gettime)
 * before any #include, and links with -pthread. */
#ifndef MSGWIRE_TEST_RECORDER_H
#define MSGWIRE_TEST_RECORDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "msgwire.h"

struct recorder {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int sends, reports, responses, closed;
    msgwire_status close_reason;
    uint16_t last_code;
    char last_body[128];
    bool freed; /* set by user_data_free */
};

static inline void recorder_init(struct recorder *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
}

static inline void recorder_destroy(struct recorder *r)
{
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
}

static inline void recorder_on_incoming(void *ud, const msgwire_msrp_chunk *chunk)
{
    struct recorder *r = ud;
    msgwire_str method;
    const uint8_t *body = NULL;
    size_t len = 0;
    pthread_mutex_lock(&r->lock);
    if (msgwire_msrp_chunk_method(chunk, &method) == MSGWIRE_OK) {
        if (str_is(method, "SEND")) {
            r->sends++;
            if (msgwire_msrp_chunk_body(chunk, &body, &len) == MSGWIRE_OK &&
                len < sizeof r->last_body) {
                memcpy(r->last_body, body, len);
                r->last_body[len] = '\0';
            }
        } else if (str_is(method, "REPORT")) {
            r->reports++;
        }
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static inline void recorder_on_response(void *ud, const char *tid,
                                        const msgwire_msrp_chunk *response, bool local)
{
    struct recorder *r = ud;
    uint16_t code = 0;
    (void)local;
    pthread_mutex_lock(&r->lock);
    if (tid != NULL && strlen(tid) >= 4 && msgwire_msrp_chunk_code(response, &code) == MSGWIRE_OK) {
        r->responses++;
        r->last_code = code;
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static inline void recorder_on_closed(void *ud, msgwire_status reason)
{
    struct recorder *r = ud;
    pthread_mutex_lock(&r->lock);
    r->closed++;
    r->close_reason = reason;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static inline void recorder_user_data_free(void *ud)
{
    struct recorder *r = ud;
    pthread_mutex_lock(&r->lock);
    r->freed = true;
    pthread_mutex_unlock(&r->lock);
}

/* The callback table that feeds a struct recorder (static storage). */
static inline const msgwire_msrp_session_callbacks *recorder_callbacks(void)
{
    static const msgwire_msrp_session_callbacks callbacks = {
        .on_incoming = recorder_on_incoming,
        .on_response = recorder_on_response,
        .on_closed = recorder_on_closed,
        .user_data_free = recorder_user_data_free,
    };
    return &callbacks;
}

/* Waits up to 10 s until *counter (a field of r) >= want. */
static inline bool wait_count(struct recorder *r, const int *counter, int want)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&r->lock);
    while (*counter < want) {
        if (pthread_cond_timedwait(&r->changed, &r->lock, &deadline) != 0) {
            break;
        }
    }
    bool done = *counter >= want;
    pthread_mutex_unlock(&r->lock);
    return done;
}

#endif
