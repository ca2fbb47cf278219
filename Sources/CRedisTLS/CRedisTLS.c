#include "CRedisTLS.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// The opaque handles are OpenSSL's own objects: an rg_tls_config is an SSL_CTX, an rg_tls_session an SSL.
static SSL_CTX *context_of(rg_tls_config *config) { return (SSL_CTX *)config; }
static SSL *ssl_of(rg_tls_session *session) { return (SSL *)session; }

/// The newest OpenSSL error of this thread as text, or `fallback` when the queue is empty.
static void describe_openssl_error(char *out, size_t size, const char *fallback) {
    unsigned long code = ERR_peek_last_error();
    if (code == 0) {
        snprintf(out, size, "%s", fallback);
        return;
    }
    char reason[200];
    ERR_error_string_n(code, reason, sizeof reason);
    // "error:0A000086:SSL routines::certificate verify failed" -> the part after the last "::" or ':'.
    const char *text = strrchr(reason, ':');
    snprintf(out, size, "%s", text && text[1] ? text + 1 : reason);
    ERR_clear_error();
}

static void set_error(redisContext *context, int type, const char *what, const char *why) {
    context->err = type;
    snprintf(context->errstr, sizeof context->errstr, "%s: %s", what, why);
}

/// Sets the context's error from the outcome of an SSL call that returned `result`.
static void set_io_error(redisContext *context, SSL *ssl, int result, const char *what) {
    int saved = errno;
    int kind = SSL_get_error(ssl, result);
    char why[120];
    switch (kind) {
    case SSL_ERROR_ZERO_RETURN:
        set_error(context, REDIS_ERR_EOF, what, "server closed the connection");
        return;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_last_error() != 0) break;
        if (saved == EAGAIN || saved == EWOULDBLOCK) {
            set_error(context, REDIS_ERR_IO, what, "Resource temporarily unavailable");
        } else if (result == 0 || saved == 0) {
            set_error(context, REDIS_ERR_EOF, what, "server closed the connection");
        } else {
            set_error(context, REDIS_ERR_IO, what, strerror(saved));
        }
        return;
    default:
        break;
    }
    describe_openssl_error(why, sizeof why, "TLS error");
    set_error(context, REDIS_ERR_IO, what, why);
}

rg_tls_config *rg_tls_config_create(const char *ca_file, const char *cert_file, const char *key_file, char *error, size_t error_size) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        describe_openssl_error(error, error_size, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    char why[160];
    if (ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            describe_openssl_error(why, sizeof why, "unreadable");
            snprintf(error, error_size, "REDIS_TLS_CA_FILE %s: %s", ca_file, why);
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        describe_openssl_error(why, sizeof why, "cannot load the system's trusted roots");
        snprintf(error, error_size, "%s", why);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
            describe_openssl_error(why, sizeof why, "unreadable");
            snprintf(error, error_size, "REDIS_TLS_CERT_FILE %s: %s", cert_file, why);
            SSL_CTX_free(ctx);
            return NULL;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
            describe_openssl_error(why, sizeof why, "unreadable");
            snprintf(error, error_size, "REDIS_TLS_KEY_FILE %s: %s", key_file, why);
            SSL_CTX_free(ctx);
            return NULL;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            snprintf(error, error_size, "REDIS_TLS_KEY_FILE %s does not belong to REDIS_TLS_CERT_FILE %s", key_file, cert_file);
            ERR_clear_error();
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    return (rg_tls_config *)ctx;
}

void rg_tls_config_free(rg_tls_config *config) { SSL_CTX_free(context_of(config)); }

rg_tls_session *rg_tls_connect(void *raw, rg_tls_config *config, const char *server_name) {
    redisContext *context = raw;
    ERR_clear_error();
    SSL *ssl = SSL_new(context_of(config));
    if (!ssl) {
        char why[120];
        describe_openssl_error(why, sizeof why, "cannot create a TLS session");
        set_error(context, REDIS_ERR_OTHER, "TLS", why);
        return NULL;
    }
    unsigned char address[sizeof(struct in6_addr)];
    int is_address = inet_pton(AF_INET, server_name, address) == 1 || inet_pton(AF_INET6, server_name, address) == 1;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    int named = is_address ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name)
                           : (SSL_set_tlsext_host_name(ssl, server_name) == 1 && SSL_set1_host(ssl, server_name) == 1);
    if (!named || SSL_set_fd(ssl, context->fd) != 1) {
        set_error(context, REDIS_ERR_OTHER, "TLS", "cannot set the server name");
        SSL_free(ssl);
        return NULL;
    }
    int result = SSL_connect(ssl);
    if (result != 1) {
        long verdict = SSL_get_verify_result(ssl);
        if (verdict != X509_V_OK) {
            char why[120];
            snprintf(why, sizeof why, "certificate verify failed (%s)", X509_verify_cert_error_string(verdict));
            set_error(context, REDIS_ERR_IO, "TLS handshake", why);
            ERR_clear_error();
        } else {
            set_io_error(context, ssl, result, "TLS handshake");
        }
        SSL_free(ssl);
        return NULL;
    }
    return (rg_tls_session *)ssl;
}

void rg_tls_session_free(rg_tls_session *session) { SSL_free(ssl_of(session)); }

int rg_tls_flush(void *raw, rg_tls_session *session) {
    redisContext *context = raw;
    if (context->err) return REDIS_ERR;
    while (sdslen(context->obuf) > 0) {
        size_t length = sdslen(context->obuf);
        int chunk = length > INT_MAX ? INT_MAX : (int)length;
        ERR_clear_error();
        int written = SSL_write(ssl_of(session), context->obuf, chunk);
        if (written <= 0) {
            set_io_error(context, ssl_of(session), written, "TLS write");
            return REDIS_ERR;
        }
        if ((size_t)written == length) {
            sdsfree(context->obuf);
            context->obuf = sdsempty();
        } else {
            sdsrange(context->obuf, written, -1);
        }
    }
    return REDIS_OK;
}

int rg_tls_read(void *raw, rg_tls_session *session, int wait) {
    redisContext *context = raw;
    if (context->err) return REDIS_ERR;
    char buffer[16 * 1024];
    int flags = 0;
    if (!wait) {
        flags = fcntl(context->fd, F_GETFL);
        fcntl(context->fd, F_SETFL, flags | O_NONBLOCK);
    }
    ERR_clear_error();
    int count = SSL_read(ssl_of(session), buffer, sizeof buffer);
    int kind = count > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_of(session), count);
    if (!wait) fcntl(context->fd, F_SETFL, flags);
    if (count <= 0) {
        if (!wait && kind == SSL_ERROR_WANT_READ) return REDIS_OK;
        set_io_error(context, ssl_of(session), count, "TLS read");
        return REDIS_ERR;
    }
    if (redisReaderFeed(context->reader, buffer, (size_t)count) != REDIS_OK) {
        set_error(context, context->reader->err, "reply", context->reader->errstr);
        return REDIS_ERR;
    }
    return REDIS_OK;
}

int rg_tls_get_reply(void *raw, rg_tls_session *session, void **reply) {
    redisContext *context = raw;
    void *found = NULL;
    if (redisGetReplyFromReader(context, &found) == REDIS_ERR) return REDIS_ERR;
    if (!found) {
        if (rg_tls_flush(context, session) == REDIS_ERR) return REDIS_ERR;
        do {
            if (rg_tls_read(context, session, 1) == REDIS_ERR) return REDIS_ERR;
            if (redisGetReplyFromReader(context, &found) == REDIS_ERR) return REDIS_ERR;
        } while (!found);
    }
    *reply = found;
    return REDIS_OK;
}

int rg_tls_pending(rg_tls_session *session) { return SSL_pending(ssl_of(session)) > 0; }

int rg_tls_idle_broken(rg_tls_session *session) {
    if (SSL_pending(ssl_of(session)) > 0) return 1;
    int fd = SSL_get_fd(ssl_of(session));
    struct pollfd descriptor = {.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&descriptor, 1, 0) <= 0) return 0;
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    ERR_clear_error();
    char byte;
    int count = SSL_peek(ssl_of(session), &byte, 1);
    int kind = count > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_of(session), count);
    fcntl(fd, F_SETFL, flags);
    ERR_clear_error();
    return !(count <= 0 && kind == SSL_ERROR_WANT_READ);
}
