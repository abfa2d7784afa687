/* The in-process MSRP relay server from C: configuration (users file, a
 * user added by hand, plain TCP on 127.0.0.1 port 0, status server),
 * start, the bound addresses, an AUTH sent over a raw TCP socket answered
 * 401 with a digest challenge, the configuration errors, and a graceful
 * shutdown and free (valgrind checks that nothing leaks). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"

/* Splits "host:port" (IPv4) into a sockaddr. */
static bool parse_addr(const char *text, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host) {
        return false;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

/* Sends an AUTH without credentials and reads the answer (up to and
 * including its end-line) into buf. */
static bool auth_exchange(const struct sockaddr_in *sa, char *buf, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    bool ok = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
    const char *auth = "MSRP c0ffee01 AUTH\r\n"
                       "To-Path: msrp://relay.c.test:2855;tcp\r\n"
                       "From-Path: msrp://127.0.0.1:9/cclient;tcp\r\n"
                       "-------c0ffee01$\r\n";
    ok = ok && write(fd, auth, strlen(auth)) == (ssize_t)strlen(auth);
    size_t len = 0;
    buf[0] = '\0';
    while (ok && strstr(buf, "-------c0ffee01$\r\n") == NULL && len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0) {
            ok = false;
            break;
        }
        len += (size_t)n;
        buf[len] = '\0';
    }
    close(fd);
    return ok;
}

int main(void)
{
    char users_path[] = "/tmp/msgwire-relay-users-XXXXXX";
    int ufd = mkstemp(users_path);
    CHECK(ufd >= 0);
    const char *users = "# users\nalice:secret\n";
    CHECK(write(ufd, users, strlen(users)) == (ssize_t)strlen(users));
    close(ufd);

    msgwire_relay_config *cfg = NULL;
    CHECK_OK(msgwire_relay_config_new("relay.c.test", &cfg));
    CHECK_OK(msgwire_relay_config_users_file(cfg, users_path));
    CHECK_OK(msgwire_relay_config_add_user(cfg, "bob", "hunter2"));
    CHECK_STATUS(msgwire_relay_config_add_user(cfg, "b:ob", "x"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_relay_config_users_file(cfg, "/nonexistent/users"),
                 MSGWIRE_RELAY_SERVER_USERS);
    CHECK_STATUS(msgwire_relay_config_plain_tcp(cfg, "not an address"),
                 MSGWIRE_RELAY_SERVER_CONFIG);
    CHECK_STATUS(msgwire_relay_config_listen_tls(cfg, "127.0.0.1:0", "/nonexistent/cert.pem",
                                                 "/nonexistent/key.pem"),
                 MSGWIRE_RELAY_SERVER_TLS);
    CHECK_STATUS(msgwire_relay_config_transaction_timeout_ms(cfg, 0), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_relay_config_plain_tcp(NULL, "127.0.0.1:0"), MSGWIRE_NULL_PARAMETER);

    /* No listener yet: the configuration cannot work. */
    msgwire_relay *relay = NULL;
    CHECK_STATUS(msgwire_relay_start(cfg, &relay), MSGWIRE_RELAY_SERVER_CONFIG);
    CHECK(relay == NULL);

    CHECK_OK(msgwire_relay_config_plain_tcp(cfg, "127.0.0.1:0"));
    CHECK_OK(msgwire_relay_config_status(cfg, "127.0.0.1:0"));
    CHECK_OK(msgwire_relay_config_expires(cfg, 30, 300, 900));
    CHECK_OK(msgwire_relay_config_transaction_timeout_ms(cfg, 5000));
    CHECK_OK(msgwire_relay_start(cfg, &relay));
    msgwire_relay_config_free(cfg);

    char plain[64], status[64], small[4];
    size_t len = 0;
    CHECK_OK(msgwire_relay_plain_tcp_address(relay, plain, sizeof plain, &len));
    CHECK(len == strlen(plain) && strncmp(plain, "127.0.0.1:", 10) == 0);
    CHECK(strcmp(plain, "127.0.0.1:0") != 0);
    CHECK_OK(msgwire_relay_status_address(relay, status, sizeof status, &len));
    CHECK(strncmp(status, "127.0.0.1:", 10) == 0);
    CHECK_STATUS(msgwire_relay_plain_tcp_address(relay, small, sizeof small, &len),
                 MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == strlen(plain));
    CHECK_STATUS(msgwire_relay_tls_address(relay, small, sizeof small, &len), MSGWIRE_NOT_FOUND);

    struct sockaddr_in sa;
    CHECK(parse_addr(plain, &sa));
    char answer[4096];
    CHECK(auth_exchange(&sa, answer, sizeof answer));
    CHECK(strncmp(answer, "MSRP c0ffee01 401", 17) == 0);
    CHECK(strstr(answer, "To-Path: msrp://127.0.0.1:9/cclient;tcp\r\n") != NULL);
    CHECK(strstr(answer, "WWW-Authenticate: Digest realm=\"relay.c.test\", nonce=\"") != NULL);
    CHECK(strstr(answer, "qop=\"auth\"") != NULL);
    CHECK(strstr(answer, "opaque=\"") != NULL);

    CHECK_OK(msgwire_relay_shutdown(relay));
    CHECK_OK(msgwire_relay_shutdown(relay)); /* idempotent */
    msgwire_relay_free(relay);
    msgwire_relay_free(NULL);
    msgwire_relay_config_free(NULL);
    CHECK(strcmp(msgwire_status_text(MSGWIRE_RELAY_SERVER_LISTEN), "MSRP relay: cannot listen") == 0);
    unlink(users_path);

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
