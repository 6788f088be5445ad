/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <hiredis/hiredis.h>

G_BEGIN_DECLS

/* A private redis-server for one test program: on a free loopback port,
 * in its own temporary directory, nothing saved unless asked. The server
 * dies with the test process even when the test crashes. */
typedef struct _RedisTestServer RedisTestServer;

typedef struct
{
  const char *password;    /* --requirepass; NULL for none */
  gboolean    appendonly;  /* AOF on: the data survives a stop and restart */
  gboolean    unix_socket; /* also listen on a unix socket in the directory */
} RedisTestServerOptions;

/* Starts a server and waits until it answers PING. @options may be NULL.
 * Fails the test when redis-server cannot be started. */
RedisTestServer *redis_test_server_start (const RedisTestServerOptions *options);

/* Stops the server with SIGTERM (it writes its AOF) and waits for it. */
void redis_test_server_stop (RedisTestServer *self);

/* Kills the server with SIGKILL and waits for it. */
void redis_test_server_kill (RedisTestServer *self);

/* Freezes the server (SIGSTOP) and thaws it (SIGCONT): while frozen, the
 * kernel still accepts connections but nothing answers. */
void redis_test_server_pause (RedisTestServer *self);
void redis_test_server_resume (RedisTestServer *self);

/* Starts the stopped server again, on the same port and directory. */
void redis_test_server_restart (RedisTestServer *self);

/* Stops the server if it runs and removes its directory. */
void redis_test_server_free (RedisTestServer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RedisTestServer, redis_test_server_free)

gboolean    redis_test_server_is_running (RedisTestServer *self);
guint16     redis_test_server_get_port (RedisTestServer *self);
const char *redis_test_server_get_dir (RedisTestServer *self);

/* "redis://127.0.0.1:PORT/0" */
const char *redis_test_server_get_url (RedisTestServer *self);

/* The unix socket's path, or NULL when the server has none. */
const char *redis_test_server_get_socket_path (RedisTestServer *self);

/* A plain blocking hiredis connection (authenticated), for a test to look
 * at the server directly. Fails the test when it cannot connect. */
redisContext *redis_test_server_connect (RedisTestServer *self);

/* Runs one command on a fresh blocking connection and returns its reply
 * (freeReplyObject() it). Fails the test on an error reply. */
redisReply *redis_test_server_command (RedisTestServer *self,
                                       const char      *format,
                                       ...);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (redisContext, redisFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (redisReply, freeReplyObject)

G_END_DECLS
