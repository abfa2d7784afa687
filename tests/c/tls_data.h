/* The paths of the test-only TLS material in tests/data/tls (see the
 * README there), for the C tests that speak TLS. tests/c/run.sh sets
 * MSGWIRE_TLS_TEST_DIR to that directory; without it the paths are
 * relative to the repository root. Call data_paths() first. */
#ifndef MSGWIRE_TEST_TLS_DATA_H
#define MSGWIRE_TEST_TLS_DATA_H

#include <stdio.h>
#include <stdlib.h>

static char cert_path[1024], key_path[1024], ca_path[1024], other_ca_path[1024];

static void data_paths(void)
{
    const char *dir = getenv("MSGWIRE_TLS_TEST_DIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = "tests/data/tls";
    }
    snprintf(cert_path, sizeof cert_path, "%s/server.pem", dir);
    snprintf(key_path, sizeof key_path, "%s/server.key", dir);
    snprintf(ca_path, sizeof ca_path, "%s/ca.pem", dir);
    snprintf(other_ca_path, sizeof other_ca_path, "%s/other-ca.pem", dir);
}

#endif
