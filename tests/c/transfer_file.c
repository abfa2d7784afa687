/* Tests of large messages through the C API: a generated file sent from
 * its path to a directory sink with whole-message delivery (bytes compared,
 * progress monotonic up to the total, then completed), a read-callback
 * source into a C callback sink, cancelling (local 487), a message over
 * the receiver's max_message_size (413 from the peer), and the typed
 * statuses of invalid arguments. Run under valgrind by tests/c/run.sh. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msgwire.h"

#include "bind.h"
#include "check.h"

#define FILE_SIZE (4u * 1024 * 1024)        /* the file sent by path */
#define CALLBACK_SIZE (1u * 1024 * 1024 + 7) /* the read-callback message */
#define MAX_MESSAGE (8u * 1024 * 1024)      /* both receivers' limit */
#define WAIT_SECONDS 120                    /* valgrind is slow */

/* The byte at `offset` of every generated body. */
static uint8_t pattern(uint64_t offset)
{
    uint64_t x = offset * 0x9E3779B97F4A7C15ull;
    return (uint8_t)((x >> 29) ^ (x >> 47) ^ offset);
}

/* ---- waiting ---------------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

/* Waits until *flag (guarded by `lock`) is >= want. */
static bool wait_for(const int *flag, int want)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_SECONDS;
    pthread_mutex_lock(&lock);
    while (*flag < want) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0) {
            break;
        }
    }
    bool done = *flag >= want;
    pthread_mutex_unlock(&lock);
    return done;
}

static void signal_all(void)
{
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* ---- one transfer's updates ------------------------------------------------- */

struct xfer {
    int progress, completed, failed, freed;
    bool monotonic;
    uint64_t last_ack;
    int64_t total;
    uint16_t code;
    bool local;
    char comment[128];
};

static void xfer_init(struct xfer *x)
{
    memset(x, 0, sizeof *x);
    x->monotonic = true;
}

static void on_update(void *ud, const msgwire_msrp_transfer_update *u)
{
    struct xfer *x = ud;
    pthread_mutex_lock(&lock);
    switch (u->kind) {
    case MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_PROGRESS:
        if (u->acknowledged < x->last_ack || (u->total >= 0 && (int64_t)u->acknowledged > u->total)) {
            x->monotonic = false;
        }
        x->last_ack = u->acknowledged;
        x->total = u->total;
        x->progress++;
        break;
    case MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_COMPLETED:
        x->completed++;
        break;
    case MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_FAILED:
        x->failed++;
        x->code = u->code;
        x->local = u->local;
        snprintf(x->comment, sizeof x->comment, "%s", u->comment ? u->comment : "(null)");
        break;
    }
    signal_all();
}

static void xfer_free(void *ud)
{
    struct xfer *x = ud;
    pthread_mutex_lock(&lock);
    x->freed++;
    signal_all();
}

/* ---- a read-callback source: the pattern, `size` bytes or endless --------- */

struct source {
    uint64_t pos, size; /* size UINT64_MAX: endless */
    int *freed;
};

static int64_t source_read(void *ud, uint8_t *buf, size_t cap)
{
    struct source *s = ud;
    size_t n = 0;
    while (n < cap && s->pos < s->size) {
        buf[n++] = pattern(s->pos++);
    }
    return (int64_t)n;
}

static int source_frees;

static void source_free(void *ud)
{
    struct source *s = ud;
    pthread_mutex_lock(&lock);
    source_frees++;
    if (s->freed != NULL) {
        (*s->freed)++;
    }
    signal_all();
    free(ud);
}

/* `freed` (may be NULL) counts this source's release, besides `source_frees`. */
static msgwire_msrp_outgoing *callback_message(uint64_t size, int64_t declared, int *freed)
{
    struct source *s = calloc(1, sizeof *s);
    s->size = size;
    s->freed = freed;
    msgwire_msrp_outgoing *o = NULL;
    CHECK_OK(msgwire_msrp_outgoing_from_callback(source_read, s, source_free, declared, &o));
    CHECK_OK(msgwire_msrp_outgoing_set_content_type(o, "application/x-pattern"));
    return o;
}

/* ---- session events of the receivers ---------------------------------------- */

struct rx {
    int stored, aborted;
    char message_id[64], content_type[64];
    uint64_t size;
    msgwire_msrp_abort_reason reason;
    bool range_ok; /* the head's Byte-Range was 1-N/N */
};

static void on_stored(void *ud, const char *message_id, const char *content_type, uint64_t size,
                      const msgwire_msrp_chunk *head)
{
    struct rx *r = ud;
    msgwire_msrp_byte_range br;
    bool range_ok = msgwire_msrp_chunk_byte_range(head, &br) == MSGWIRE_OK && br.start == 1 &&
                    br.end == size && br.has_total && br.total == size;
    pthread_mutex_lock(&lock);
    r->range_ok = range_ok;
    r->stored++;
    snprintf(r->message_id, sizeof r->message_id, "%s", message_id);
    snprintf(r->content_type, sizeof r->content_type, "%s", content_type ? content_type : "");
    r->size = size;
    signal_all();
}

static void on_aborted(void *ud, const char *message_id, msgwire_msrp_abort_reason reason,
                       const char *detail)
{
    struct rx *r = ud;
    (void)detail;
    pthread_mutex_lock(&lock);
    r->aborted++;
    r->reason = reason;
    snprintf(r->message_id, sizeof r->message_id, "%s", message_id);
    signal_all();
}

static const msgwire_msrp_session_callbacks RX_CALLBACKS = {
    .on_message_stored = on_stored,
    .on_message_aborted = on_aborted,
};

/* ---- a C sink: one message in memory ---------------------------------------- */

struct mem_sink {
    uint8_t *data;
    uint64_t cap, written;
    int opened, finished, aborted;
    bool ok; /* every write was in bounds and matched the pattern */
};

static void *sink_open(void *ud, const char *message_id, const char *content_type, int64_t total)
{
    struct mem_sink *s = ud;
    (void)message_id;
    (void)content_type;
    if (total < 0 || (uint64_t)total > 4 * CALLBACK_SIZE || s->data != NULL) {
        return NULL;
    }
    s->data = malloc(total ? (size_t)total : 1);
    s->cap = (uint64_t)total;
    s->opened++;
    s->ok = true;
    return s->data;
}

static int sink_write(void *ud, void *handle, uint64_t offset, const uint8_t *data, size_t len)
{
    struct mem_sink *s = ud;
    if (handle != s->data || offset + len > s->cap) {
        s->ok = false;
        return -1;
    }
    memcpy(s->data + offset, data, len);
    s->written += len;
    return 0;
}

static int sink_finish(void *ud, void *handle)
{
    struct mem_sink *s = ud;
    for (uint64_t i = 0; i < s->cap; i++) {
        if (s->data[i] != pattern(i)) {
            s->ok = false;
            break;
        }
    }
    free(handle);
    s->data = NULL;
    s->finished++;
    return 0;
}

static void sink_abort(void *ud, void *handle)
{
    struct mem_sink *s = ud;
    free(handle);
    s->data = NULL;
    s->aborted++;
}

static const msgwire_msrp_sink_callbacks MEM_SINK = {
    .open = sink_open,
    .write_at = sink_write,
    .finish = sink_finish,
    .abort = sink_abort,
};

/* ---- helpers ------------------------------------------------------------------ */

static bool same_files(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa != NULL && fb != NULL;
    static uint8_t ba[65536], bb[65536];
    while (same) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0) {
            same = false;
        }
        if (na == 0 || na != nb) {
            break;
        }
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static bool write_pattern_file(const char *path, uint64_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return false;
    }
    static uint8_t buf[65536];
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            buf[i] = pattern(off + i);
        }
        fwrite(buf, 1, n, f);
        off += n;
    }
    return fclose(f) == 0;
}

static bool bind_pair(msgwire_msrp_transport **passive, msgwire_msrp_transport **active)
{
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_connector *c = NULL;
    CHECK_OK(msgwire_msrp_acceptor_new(NULL, &a));
    CHECK_OK(msgwire_msrp_connector_new(NULL, &c));
    struct bound_pair pair;
    bool ok = a != NULL && c != NULL && bind_transports(a, c, "msrp://127.0.0.1:0/abcd;tcp", &pair);
    msgwire_msrp_acceptor_free(a);
    msgwire_msrp_connector_free(c);
    *passive = ok ? pair.passive : NULL;
    *active = ok ? pair.active : NULL;
    if (!ok) {
        msgwire_msrp_transport_free(pair.passive);
        msgwire_msrp_transport_free(pair.active);
    }
    CHECK(ok);
    return ok;
}

/* ---- the tests ----------------------------------------------------------------- */

static char dir[64], out_dir[96], src_path[128];

static void test_invalid_arguments(void)
{
    msgwire_msrp_outgoing *o = NULL;
    CHECK_STATUS(msgwire_msrp_outgoing_from_path(NULL, &o), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_outgoing_from_path(src_path, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_outgoing_from_path("/nonexistent/msgwire-file", &o),
                 MSGWIRE_MSRP_TRANSFER_FILE);
    CHECK_STATUS(msgwire_msrp_outgoing_from_path(dir, &o), MSGWIRE_MSRP_TRANSFER_FILE);
    CHECK(o == NULL);

    /* A failing _from_callback releases user_data at once. */
    struct source *s = calloc(1, sizeof *s);
    CHECK_STATUS(msgwire_msrp_outgoing_from_callback(NULL, s, source_free, 10, &o),
                 MSGWIRE_NULL_PARAMETER);
    s = calloc(1, sizeof *s);
    CHECK_STATUS(msgwire_msrp_outgoing_from_callback(source_read, s, source_free, -2, &o),
                 MSGWIRE_INVALID_ARGUMENT);
    s = calloc(1, sizeof *s);
    CHECK_STATUS(msgwire_msrp_outgoing_from_callback(source_read, s, source_free, 10, NULL),
                 MSGWIRE_NULL_PARAMETER);
    pthread_mutex_lock(&lock);
    CHECK(source_frees == 3);
    pthread_mutex_unlock(&lock);

    CHECK_OK(msgwire_msrp_outgoing_from_path(src_path, &o));
    CHECK_STATUS(msgwire_msrp_outgoing_set_content_type(NULL, "text/plain"),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_outgoing_set_content_type(o, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_outgoing_set_content_type(o, "text/plain\r\nX: y"),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_outgoing_set_content_type(o, ""), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_outgoing_set_header(o, "To-Path", "msrp://x:1/y;tcp"),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_outgoing_set_header(o, "message-id", "abcd"),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_outgoing_set_header(o, "Bad Name", "x"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_outgoing_set_header(o, "X-A", "a\nb"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_outgoing_set_header(o, NULL, "x"), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_outgoing_set_message_id(o, "ab"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_outgoing_set_message_id(o, "has space"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_outgoing_set_message_id(o, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_outgoing_set_position(o, FILE_SIZE + 1), MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_msrp_outgoing_set_position(o, FILE_SIZE));
    CHECK_OK(msgwire_msrp_outgoing_set_header(o, "X-Test", "yes"));
    CHECK_OK(msgwire_msrp_outgoing_set_message_id(o, "valid-id.1"));

    /* send_message consumes the message and releases user_data on failure. */
    struct xfer x;
    xfer_init(&x);
    uint64_t id = 0;
    CHECK_STATUS(msgwire_msrp_session_send_message(NULL, o, on_update, &x, xfer_free, &id),
                 MSGWIRE_NULL_PARAMETER);
    CHECK(x.freed == 1 && x.progress == 0 && x.failed == 0);
    CHECK_STATUS(msgwire_msrp_session_cancel_transfer(NULL, 1), MSGWIRE_NULL_PARAMETER);
    size_t active = 0;
    CHECK_STATUS(msgwire_msrp_session_active_transfers(NULL, &active), MSGWIRE_NULL_PARAMETER);
    msgwire_msrp_outgoing_free(NULL);

    /* Session configs: a sink directory that is not a directory, and both
     * kinds of sink at once. Each failing start consumes its transport. */
    msgwire_msrp_transport *tp = NULL, *ta = NULL;
    if (bind_pair(&tp, &ta)) {
        msgwire_msrp_session_config cfg;
        msgwire_msrp_session *s1 = NULL;
        CHECK_OK(msgwire_msrp_session_config_default(&cfg));
        CHECK(cfg.chunk_size == 65536 && cfg.send_window == 4u * 1024 * 1024 && !cfg.whole_messages &&
              cfg.max_message_size == 16u * 1024 * 1024 && cfg.sink_directory == NULL &&
              cfg.sink == NULL && cfg.sink_user_data == NULL);
        cfg.whole_messages = true;
        cfg.sink_directory = src_path; /* a file */
        CHECK_STATUS(msgwire_msrp_session_start(tp, &cfg, NULL, NULL, &s1),
                     MSGWIRE_MSRP_TRANSFER_FILE);
        cfg.sink_directory = dir;
        cfg.sink = &MEM_SINK;
        CHECK_STATUS(msgwire_msrp_session_start(ta, &cfg, NULL, NULL, &s1),
                     MSGWIRE_INVALID_ARGUMENT);
        CHECK(s1 == NULL);
    }
}

static void test_transfers(void)
{
    msgwire_msrp_transport *tp = NULL, *ta = NULL;
    if (!bind_pair(&tp, &ta)) {
        return;
    }
    /* Bob (passive) stores into a directory, Alice (active) into memory
     * through C callbacks; both accept whole messages up to MAX_MESSAGE. */
    struct rx bob_rx, alice_rx;
    memset(&bob_rx, 0, sizeof bob_rx);
    memset(&alice_rx, 0, sizeof alice_rx);
    struct mem_sink mem;
    memset(&mem, 0, sizeof mem);
    msgwire_msrp_session_config cfg;
    CHECK_OK(msgwire_msrp_session_config_default(&cfg));
    cfg.keepalive_interval_ms = 0;
    cfg.whole_messages = true;
    cfg.max_message_size = MAX_MESSAGE;
    cfg.sink_directory = out_dir;
    msgwire_msrp_session *bob = NULL, *alice = NULL;
    CHECK_OK(msgwire_msrp_session_start(tp, &cfg, &RX_CALLBACKS, &bob_rx, &bob));
    cfg.sink_directory = NULL;
    cfg.sink = &MEM_SINK;
    cfg.sink_user_data = &mem;
    CHECK_OK(msgwire_msrp_session_start(ta, &cfg, &RX_CALLBACKS, &alice_rx, &alice));
    if (bob == NULL || alice == NULL) {
        goto out;
    }

    /* 1. A file, path to directory sink. */
    msgwire_msrp_outgoing *o = NULL;
    CHECK_OK(msgwire_msrp_outgoing_from_path(src_path, &o));
    CHECK_OK(msgwire_msrp_outgoing_set_content_type(o, "application/octet-stream"));
    CHECK_OK(msgwire_msrp_outgoing_set_message_id(o, "file0001"));
    CHECK_OK(msgwire_msrp_outgoing_set_header(o, "Content-Disposition",
                                              "attachment; filename=\"data.bin\""));
    struct xfer x1;
    xfer_init(&x1);
    uint64_t id1 = 0;
    CHECK_OK(msgwire_msrp_session_send_message(alice, o, on_update, &x1, xfer_free, &id1));
    CHECK(id1 == 1);
    CHECK(wait_for(&x1.freed, 1));
    CHECK(wait_for(&bob_rx.stored, 1));
    pthread_mutex_lock(&lock);
    CHECK(x1.completed == 1 && x1.failed == 0);
    CHECK(x1.progress >= 2 && x1.monotonic);
    CHECK(x1.last_ack == FILE_SIZE && x1.total == (int64_t)FILE_SIZE);
    CHECK(strcmp(bob_rx.message_id, "file0001") == 0);
    CHECK(strcmp(bob_rx.content_type, "application/octet-stream") == 0);
    CHECK(bob_rx.size == FILE_SIZE && bob_rx.range_ok);
    pthread_mutex_unlock(&lock);
    char stored[160];
    snprintf(stored, sizeof stored, "%s/file0001", out_dir);
    CHECK(same_files(src_path, stored));
    unlink(stored);
    CHECK_STATUS(msgwire_msrp_session_cancel_transfer(alice, id1), MSGWIRE_NOT_FOUND);

    /* 2. A read-callback source into the C sink, Bob to Alice. */
    o = callback_message(CALLBACK_SIZE, CALLBACK_SIZE, NULL);
    struct xfer x2;
    xfer_init(&x2);
    uint64_t id2 = 0;
    CHECK_OK(msgwire_msrp_session_send_message(bob, o, on_update, &x2, xfer_free, &id2));
    CHECK(wait_for(&x2.freed, 1));
    CHECK(wait_for(&alice_rx.stored, 1));
    CHECK(wait_for(&source_frees, 4));
    pthread_mutex_lock(&lock);
    CHECK(x2.completed == 1 && x2.monotonic && x2.last_ack == CALLBACK_SIZE);
    CHECK(alice_rx.size == CALLBACK_SIZE && strcmp(alice_rx.content_type, "application/x-pattern") == 0 &&
          alice_rx.range_ok);
    CHECK(mem.opened == 1 && mem.finished == 1 && mem.aborted == 0 && mem.ok);
    CHECK(mem.written >= CALLBACK_SIZE);
    pthread_mutex_unlock(&lock);

    /* 3. Cancel: an endless message of unknown size, cancelled at once. */
    o = callback_message(UINT64_MAX, -1, NULL);
    struct xfer x3;
    xfer_init(&x3);
    uint64_t id3 = 0;
    CHECK_OK(msgwire_msrp_session_send_message(alice, o, on_update, &x3, xfer_free, &id3));
    CHECK_OK(msgwire_msrp_session_cancel_transfer(alice, id3));
    CHECK(wait_for(&x3.freed, 1));
    pthread_mutex_lock(&lock);
    CHECK(x3.failed == 1 && x3.completed == 0 && x3.code == 487 && x3.local);
    pthread_mutex_unlock(&lock);
    CHECK_STATUS(msgwire_msrp_session_cancel_transfer(alice, id3), MSGWIRE_NOT_FOUND);
    CHECK_STATUS(msgwire_msrp_session_cancel_transfer(alice, 9999), MSGWIRE_NOT_FOUND);

    /* 4. Over Bob's max_message_size: the peer answers 413. */
    o = callback_message(MAX_MESSAGE + 1, MAX_MESSAGE + 1, NULL);
    CHECK_OK(msgwire_msrp_outgoing_set_message_id(o, "toolarge1"));
    struct xfer x4;
    xfer_init(&x4);
    uint64_t id4 = 0;
    CHECK_OK(msgwire_msrp_session_send_message(alice, o, on_update, &x4, xfer_free, &id4));
    CHECK(wait_for(&x4.freed, 1));
    pthread_mutex_lock(&lock);
    CHECK(x4.failed == 1 && x4.code == 413 && !x4.local);
    pthread_mutex_unlock(&lock);
    CHECK(wait_for(&bob_rx.aborted, 1));
    pthread_mutex_lock(&lock);
    CHECK(bob_rx.reason == MSGWIRE_MSRP_ABORT_REASON_TOO_LARGE);
    CHECK(strcmp(bob_rx.message_id, "toolarge1") == 0);
    pthread_mutex_unlock(&lock);

    /* 4b. One incomplete message more than Bob reassembles at once: the
     * first to start gives way. */
    for (int i = 0; i <= 16; i++) {
        msgwire_msrp_chunk *part = NULL;
        char mid[16];
        snprintf(mid, sizeof mid, "crowd%02d", i);
        CHECK_OK(msgwire_msrp_session_make_message(alice, (const uint8_t *)"ab", 2, "text/plain",
                                                   &part));
        if (part == NULL) {
            break;
        }
        CHECK_OK(msgwire_msrp_chunk_set_header(part, "Message-ID", mid));
        CHECK_OK(msgwire_msrp_chunk_set_header(part, "Byte-Range", "1-2/4"));
        CHECK_OK(msgwire_msrp_chunk_set_header(part, "Failure-Report", "no"));
        CHECK_OK(msgwire_msrp_chunk_set_flag(part, '+'));
        CHECK_OK(msgwire_msrp_session_send_chunk(alice, part));
        msgwire_msrp_chunk_free(part);
    }
    CHECK(wait_for(&bob_rx.aborted, 2));
    pthread_mutex_lock(&lock);
    CHECK(bob_rx.reason == MSGWIRE_MSRP_ABORT_REASON_CROWDED);
    CHECK(strcmp(bob_rx.message_id, "crowd00") == 0);
    pthread_mutex_unlock(&lock);

    /* 5. A message the session refuses as given. */
    o = callback_message(10, 10, NULL);
    CHECK_OK(msgwire_msrp_outgoing_set_header(o, "Failure-Report", "sometimes"));
    struct xfer x5;
    xfer_init(&x5);
    uint64_t id5 = 0;
    CHECK_STATUS(msgwire_msrp_session_send_message(alice, o, on_update, &x5, xfer_free, &id5),
                 MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE);
    CHECK(x5.freed == 1 && x5.failed == 0);
    CHECK_STATUS(msgwire_msrp_session_send_message(alice, NULL, on_update, &x5, xfer_free, &id5),
                 MSGWIRE_NULL_PARAMETER);
    CHECK(x5.freed == 2);

    /* 6. A message still running when the session is freed: its
     * user_data and its source are released by _free itself (the session's
     * threads, the pump included, are joined before it returns), with no
     * update after. */
    int source6_freed = 0;
    o = callback_message(UINT64_MAX, -1, &source6_freed);
    struct xfer x6;
    xfer_init(&x6);
    uint64_t id6 = 0;
    CHECK_OK(msgwire_msrp_session_send_message(alice, o, on_update, &x6, xfer_free, &id6));
    size_t active = 0;
    CHECK_OK(msgwire_msrp_session_active_transfers(alice, &active));
    CHECK(active == 1);
    CHECK(wait_for(&x6.progress, 1));
    msgwire_msrp_session_free(alice);
    alice = NULL;
    pthread_mutex_lock(&lock);
    CHECK(x6.freed == 1 && x6.completed == 0);
    CHECK(source6_freed == 1);
    pthread_mutex_unlock(&lock);

out:
    msgwire_msrp_session_free(alice);
    msgwire_msrp_session_free(bob);
    CHECK(wait_for(&source_frees, 8));
    free(mem.data);
}

/* A session with a 128 KiB send window toward a raw transport that reads
 * without answering: two 64 KiB chunks, then nothing until a 200. */
static void test_send_window(void)
{
    msgwire_msrp_transport *tp = NULL, *ta = NULL;
    if (!bind_pair(&tp, &ta)) {
        return;
    }
    msgwire_msrp_session_config cfg;
    CHECK_OK(msgwire_msrp_session_config_default(&cfg));
    cfg.keepalive_interval_ms = 0;
    cfg.send_window = 128 * 1024;
    msgwire_msrp_session *alice = NULL;
    CHECK_OK(msgwire_msrp_session_start(ta, &cfg, NULL, NULL, &alice));
    struct xfer x;
    xfer_init(&x);
    uint64_t id = 0;
    msgwire_msrp_chunk *got[3] = {NULL, NULL, NULL};
    if (alice == NULL) {
        goto out;
    }
    CHECK_OK(msgwire_msrp_session_send_message(alice, callback_message(1024 * 1024, 1024 * 1024, NULL),
                                               on_update, &x, xfer_free, &id));
    for (int i = 0; i < 2; i++) {
        CHECK_OK(msgwire_msrp_transport_read_chunk(tp, SIZE_MAX, 5000, &got[i], NULL));
    }
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(tp, SIZE_MAX, 300, &got[2], NULL),
                 MSGWIRE_MSRP_ENDPOINT_TIMEOUT);
    bool written = false;
    CHECK_OK(msgwire_msrp_transport_write_response(tp, got[0], 200, "OK", &written));
    CHECK(written);
    CHECK_OK(msgwire_msrp_transport_read_chunk(tp, SIZE_MAX, 5000, &got[2], NULL));
    msgwire_str range;
    CHECK(got[2] != NULL && msgwire_msrp_chunk_header(got[2], "Byte-Range", &range) == MSGWIRE_OK &&
          strncmp(range.ptr, "131073-", 7) == 0);
    CHECK(wait_for(&x.progress, 1));
    pthread_mutex_lock(&lock);
    CHECK(x.last_ack == 65536 && x.completed == 0 && x.failed == 0);
    pthread_mutex_unlock(&lock);
out:
    msgwire_msrp_session_free(alice);
    msgwire_msrp_transport_free(tp);
    for (int i = 0; i < 3; i++) {
        msgwire_msrp_chunk_free(got[i]);
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/msgwire-transfer-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(out_dir, sizeof out_dir, "%s/in", dir);
    snprintf(src_path, sizeof src_path, "%s/source.bin", dir);
    CHECK(mkdir(out_dir, 0700) == 0);
    CHECK(write_pattern_file(src_path, FILE_SIZE));

    test_invalid_arguments();
    test_transfers();
    test_send_window();

    unlink(src_path);
    rmdir(out_dir);
    rmdir(dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
