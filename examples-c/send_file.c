/* send_file: sends a file between two MSRP endpoints on 127.0.0.1 and
 * checks that it arrived intact.
 *
 *     send_file [SIZE_BYTES]      (default 8 MiB)
 *
 * Alice generates a file of SIZE_BYTES pseudo-random bytes and sends it
 * from its path with msgwire_msrp_session_send_message, printing progress
 * lines as Bob acknowledges the chunks. Bob's session reassembles whole
 * messages and stores them in a directory (sink_directory); when
 * on_message_stored reports the file, both sides' SHA-256 digests are
 * computed and compared. Exits 0 when they match, 1 otherwise.
 *
 * The SHA-256 below is a small self-contained implementation of FIPS
 * 180-4, enough for checking a transfer. */
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

/* ---- SHA-256 (FIPS 180-4) ----------------------------------------------------- */

struct sha256 {
    uint32_t h[8];
    uint8_t block[64];
    size_t used;     /* bytes in block */
    uint64_t length; /* message bytes so far */
};

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(struct sha256 *s)
{
    static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, H0, sizeof H0);
    s->used = 0;
    s->length = 0;
}

static void sha256_block(struct sha256 *s, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] +
                      w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

static void sha256_update(struct sha256 *s, const uint8_t *data, size_t len)
{
    s->length += len;
    while (len > 0) {
        size_t n = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->block + s->used, data, n);
        s->used += n;
        data += n;
        len -= n;
        if (s->used == 64) {
            sha256_block(s, s->block);
            s->used = 0;
        }
    }
}

/* Writes the digest as 64 lower-case hex digits and a NUL into hex. */
static void sha256_hex(struct sha256 *s, char hex[65])
{
    uint64_t bits = s->length * 8;
    uint8_t pad = 0x80;
    sha256_update(s, &pad, 1);
    pad = 0;
    while (s->used != 56) {
        sha256_update(s, &pad, 1);
    }
    uint8_t len_be[8];
    for (int i = 0; i < 8; i++) {
        len_be[i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    sha256_update(s, len_be, 8);
    for (int i = 0; i < 8; i++) {
        snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
    }
}

/* The SHA-256 of a file as hex; false when it cannot be read. */
static bool sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return false;
    }
    struct sha256 s;
    sha256_init(&s);
    static uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        sha256_update(&s, buf, n);
    }
    bool ok = !ferror(f);
    fclose(f);
    sha256_hex(&s, hex);
    return ok;
}

/* ---- what the callbacks report -------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static struct {
    bool done, ok;        /* sender: final update, and whether it completed */
    int last_decile;      /* sender: last progress tenth printed */
    bool stored, aborted; /* receiver */
    char message_id[64];
    uint64_t stored_size;
} state = {.last_decile = -1};

/* Alice's update callback (a msgwire worker thread): progress lines, then
 * the outcome. */
static void on_update(void *user_data, const msgwire_msrp_transfer_update *u)
{
    (void)user_data;
    pthread_mutex_lock(&lock);
    if (u->kind == MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_PROGRESS && u->total > 0) {
        int decile = (int)(u->acknowledged * 10 / (uint64_t)u->total);
        if (decile != state.last_decile) {
            state.last_decile = decile;
            printf("alice progress: %llu/%lld bytes (%d%%)\n", (unsigned long long)u->acknowledged,
                   (long long)u->total, decile * 10);
        }
    } else if (u->kind == MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_COMPLETED) {
        printf("alice transfer completed\n");
        state.done = state.ok = true;
    } else if (u->kind == MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_FAILED) {
        printf("alice transfer failed: %u %s%s\n", u->code, u->comment,
               u->local ? " (local)" : "");
        state.done = true;
    }
    fflush(stdout);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Bob's session callbacks (the connection's reader thread). */
static void on_stored(void *user_data, const char *message_id, const char *content_type,
                      uint64_t size, const msgwire_msrp_chunk *head)
{
    (void)user_data;
    (void)head;
    pthread_mutex_lock(&lock);
    printf("bob stored message %s (%s, %llu bytes)\n", message_id,
           content_type ? content_type : "no type", (unsigned long long)size);
    snprintf(state.message_id, sizeof state.message_id, "%s", message_id);
    state.stored_size = size;
    state.stored = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_aborted(void *user_data, const char *message_id, msgwire_msrp_abort_reason reason,
                       const char *detail)
{
    (void)user_data;
    pthread_mutex_lock(&lock);
    printf("bob dropped message %s: reason %d, %s\n", message_id, (int)reason, detail);
    state.aborted = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Waits (up to 5 minutes: valgrind is slow) until *flag is true. */
static bool wait_flag(const bool *flag)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 300;
    pthread_mutex_lock(&lock);
    while (!*flag && !state.aborted) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0) {
            break;
        }
    }
    bool done = *flag;
    pthread_mutex_unlock(&lock);
    return done;
}

/* ---- binding ---------------------------------------------------------------------- */

struct accept_job {
    msgwire_msrp_acceptor *acceptor;
    const char *remote_path;
    msgwire_msrp_transport *transport;
    msgwire_status status;
};

static void *accept_thread(void *arg)
{
    struct accept_job *job = arg;
    job->status =
        msgwire_msrp_acceptor_complete(job->acceptor, job->remote_path, &job->transport);
    return NULL;
}

static int fail(const char *what, msgwire_status status)
{
    fprintf(stderr, "error: %s: %s (%s)\n", what, msgwire_status_text(status),
            msgwire_last_error());
    return 1;
}

/* Generates the file to send: `size` bytes from a xorshift generator. */
static bool make_file(const char *path, uint64_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return false;
    }
    static uint8_t buf[65536];
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)(x >> 24);
        }
        if (fwrite(buf, 1, n, f) != n) {
            fclose(f);
            return false;
        }
        off += n;
    }
    return fclose(f) == 0;
}

int main(int argc, char **argv)
{
    uint64_t size = 8u * 1024 * 1024;
    if (argc > 1) {
        char *end = NULL;
        size = strtoull(argv[1], &end, 10);
        if (end == argv[1] || *end != '\0') {
            fprintf(stderr, "usage: %s [SIZE_BYTES]\n", argv[0]);
            return 2;
        }
    }

    char dir[64] = "/tmp/msgwire-send-file-XXXXXX", inbox[96], src[128], dst[192] = "";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(inbox, sizeof inbox, "%s/inbox", dir);
    snprintf(src, sizeof src, "%s/outgoing.bin", dir);
    if (mkdir(inbox, 0700) != 0 || !make_file(src, size)) {
        perror("preparing the file");
        return 1;
    }

    int rc = 1;
    msgwire_status st;
    msgwire_msrp_acceptor *acceptor = NULL;
    msgwire_msrp_connector *connector = NULL;
    msgwire_msrp_session *bob = NULL, *alice = NULL;
    char bob_path[512], alice_path[512];
    size_t len = 0;

    /* Bob listens, Alice connects: each learns the other's path as if from
     * SDP. */
    if ((st = msgwire_msrp_acceptor_new(NULL, &acceptor)) != MSGWIRE_OK ||
        (st = msgwire_msrp_connector_new(NULL, &connector)) != MSGWIRE_OK) {
        rc = fail("creating the endpoints", st);
        goto out;
    }
    if ((st = msgwire_msrp_acceptor_prepare(acceptor, "msrp://127.0.0.1:0/bobfile;tcp", bob_path,
                                            sizeof bob_path, &len)) != MSGWIRE_OK ||
        (st = msgwire_msrp_connector_prepare(connector, "msrp://127.0.0.1/alicefile;tcp",
                                             alice_path, sizeof alice_path, &len)) !=
            MSGWIRE_OK) {
        rc = fail("preparing the paths", st);
        goto out;
    }
    struct accept_job job = {.acceptor = acceptor, .remote_path = alice_path};
    pthread_t thread;
    if (pthread_create(&thread, NULL, accept_thread, &job) != 0) {
        perror("pthread_create");
        goto out;
    }
    msgwire_msrp_transport *alice_transport = NULL;
    st = msgwire_msrp_connector_complete(connector, bob_path, &alice_transport);
    pthread_join(thread, NULL);
    if (st != MSGWIRE_OK || job.status != MSGWIRE_OK) {
        msgwire_msrp_transport_free(alice_transport);
        msgwire_msrp_transport_free(job.transport);
        rc = fail("binding", st != MSGWIRE_OK ? st : job.status);
        goto out;
    }

    /* Bob: whole messages, stored as files in the inbox. Alice: defaults. */
    msgwire_msrp_session_config cfg;
    msgwire_msrp_session_config_default(&cfg);
    cfg.keepalive_interval_ms = 0;
    cfg.whole_messages = true;
    cfg.max_message_size = size + 1;
    cfg.sink_directory = inbox;
    msgwire_msrp_session_callbacks bob_callbacks = {
        .on_message_stored = on_stored,
        .on_message_aborted = on_aborted,
    };
    if ((st = msgwire_msrp_session_start(job.transport, &cfg, &bob_callbacks, NULL, &bob)) !=
        MSGWIRE_OK) {
        msgwire_msrp_transport_free(alice_transport);
        rc = fail("starting Bob's session", st);
        goto out;
    }
    msgwire_msrp_session_config_default(&cfg);
    cfg.keepalive_interval_ms = 0;
    if ((st = msgwire_msrp_session_start(alice_transport, &cfg, NULL, NULL, &alice)) !=
        MSGWIRE_OK) {
        rc = fail("starting Alice's session", st);
        goto out;
    }

    /* Alice sends the file. */
    msgwire_msrp_outgoing *file = NULL;
    uint64_t transfer = 0;
    if ((st = msgwire_msrp_outgoing_from_path(src, &file)) != MSGWIRE_OK) {
        rc = fail("opening the file", st);
        goto out;
    }
    msgwire_msrp_outgoing_set_content_type(file, "application/octet-stream");
    msgwire_msrp_outgoing_set_header(file, "Content-Disposition",
                                     "attachment; filename=\"outgoing.bin\"");
    msgwire_msrp_outgoing_set_message_id(file, "sendfile1");
    printf("alice sends %llu bytes\n", (unsigned long long)size);
    fflush(stdout);
    if ((st = msgwire_msrp_session_send_message(alice, file, on_update, NULL, NULL, &transfer)) !=
        MSGWIRE_OK) {
        rc = fail("sending the file", st);
        goto out;
    }
    if (!wait_flag(&state.done) || !wait_flag(&state.stored)) {
        fprintf(stderr, "error: the transfer did not finish\n");
        goto out;
    }

    /* Compare the digests of what was sent and what was stored. */
    char sent_hex[65], got_hex[65];
    snprintf(dst, sizeof dst, "%s/%s", inbox, state.message_id);
    if (!sha256_file(src, sent_hex) || !sha256_file(dst, got_hex)) {
        perror("reading the files");
        goto out;
    }
    printf("sha256 sent:     %s\n", sent_hex);
    printf("sha256 received: %s\n", got_hex);
    if (state.ok && state.stored_size == size && strcmp(sent_hex, got_hex) == 0) {
        printf("sha256 match: file transfer ok\n");
        rc = 0;
    } else {
        printf("sha256 MISMATCH or incomplete transfer\n");
    }
    msgwire_msrp_session_shutdown(alice, true);

out:
    msgwire_msrp_session_free(alice);
    msgwire_msrp_session_free(bob);
    msgwire_msrp_connector_free(connector);
    msgwire_msrp_acceptor_free(acceptor);
    if (dst[0] != '\0') {
        unlink(dst);
    }
    unlink(src);
    rmdir(inbox);
    rmdir(dir);
    return rc;
}
