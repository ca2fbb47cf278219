#ifndef CREDISTLS_H
#define CREDISTLS_H

#include <stddef.h>

// TLS for hiredis 0.14 (Debian's), which has none of its own: OpenSSL (libssl) runs the handshake on the socket
// of a blocking hiredis context, and these calls move bytes between the TLS session and the context's output
// buffer and reply reader. hiredis still formats every command and parses every reply.
//
// `context` is a `redisContext *` (void here, so that Swift sees one redisContext type: CHiredis's).
// Calls that fail return -1 (hiredis' REDIS_ERR) and leave the reason in the context's `err`/`errstr`,
// as hiredis' own calls do.

/// A client TLS configuration: trusted roots and an optional client certificate (an OpenSSL SSL_CTX).
typedef struct rg_tls_config rg_tls_config;
/// One TLS session on a context's socket (an OpenSSL SSL).
typedef struct rg_tls_session rg_tls_session;

/// A configuration that verifies the server against `ca_file` (PEM; NULL: the system's roots) and presents
/// `cert_file` with `key_file` (PEM; both NULL for none). NULL on failure, with the reason in `error`.
rg_tls_config *rg_tls_config_create(const char *ca_file, const char *cert_file, const char *key_file, char *error, size_t error_size);
void rg_tls_config_free(rg_tls_config *config);

/// Runs the TLS handshake on the connected context's socket and checks that the certificate names
/// `server_name` (a host name, also sent as SNI, or an IP address). NULL on failure, reason in the context.
rg_tls_session *rg_tls_connect(void *context, rg_tls_config *config, const char *server_name);
/// Frees the session (not the socket: redisFree closes that).
void rg_tls_session_free(rg_tls_session *session);

/// Writes the context's whole output buffer through the session.
int rg_tls_flush(void *context, rg_tls_session *session);
/// Reads what the session has and feeds it to the context's reader. With `wait` 0 it never blocks: 0 bytes
/// when only TLS records without data (session tickets) had arrived.
int rg_tls_read(void *context, rg_tls_session *session, int wait);
/// The next reply, as hiredis' redisGetReply: flushes the output buffer, then reads until a reply is whole.
int rg_tls_get_reply(void *context, rg_tls_session *session, void **reply);
/// Whether decrypted bytes wait in the session (a poll of the socket would not see them).
int rg_tls_pending(rg_tls_session *session);
/// Between requests nothing is owed to us: 1 when the peer closed the connection or sent data unasked,
/// 0 when it is idle (records without data, such as TLS 1.3 session tickets, are consumed).
int rg_tls_idle_broken(rg_tls_session *session);

#endif
