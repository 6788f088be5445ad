/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <hiredis/hiredis.h>
#include <sluice/sluice.h>

#include "sluice-redis-config.h"
#include "sluice-redis-scripts.h"

G_BEGIN_DECLS

/* One command in the Redis protocol, built argument by argument straight
 * into the bytes that go on the wire. */
typedef struct _SluiceRedisCommand SluiceRedisCommand;

/* A command of @argc arguments; @size_hint: the bytes they take, about. */
SluiceRedisCommand *sluice_redis_command_new (guint argc,
                                              gsize size_hint);

/* EVALSHA of @script with @numkeys keys and @n_args arguments, which the
 * caller adds next: keys first. */
SluiceRedisCommand *sluice_redis_command_new_script (SluiceRedisScriptId script,
                                                     guint               numkeys,
                                                     guint               n_args,
                                                     gsize               size_hint);
/* EVAL of @script's body: for a transaction where an EVALSHA that meets
 * NOSCRIPT could not be retried, because the commands before it ran.
 * Redis compiles a body once and finds it again by its SHA1. */
SluiceRedisCommand *sluice_redis_command_new_eval (SluiceRedisScriptId script,
                                                   guint               numkeys,
                                                   guint               n_args,
                                                   gsize               size_hint);
void                sluice_redis_command_free (SluiceRedisCommand *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceRedisCommand, sluice_redis_command_free)

void sluice_redis_command_add (SluiceRedisCommand *self,
                               const void         *data,
                               gsize               len);
void sluice_redis_command_add_string (SluiceRedisCommand *self,
                                      const char         *text);
void sluice_redis_command_add_int (SluiceRedisCommand *self,
                                   gint64              value);

/* Starts an argument of exactly @len bytes and returns the buffer to
 * append them to; sluice_redis_command_end_arg() ends it. */
GString *sluice_redis_command_begin_arg (SluiceRedisCommand *self,
                                         gsize               len);
void     sluice_redis_command_end_arg (SluiceRedisCommand *self);

/* A connection to one Redis, on the thread-default main context it was
 * made on: hiredis async, commands pipelined. It connects in the
 * background (AUTH, SELECT and SCRIPT LOAD first), fails every pending
 * and new command with %SLUICE_ERROR_UNAVAILABLE while Redis is away, and
 * reconnects with exponential backoff by itself. */
#define SLUICE_TYPE_REDIS_CONNECTION (sluice_redis_connection_get_type ())
G_DECLARE_FINAL_TYPE (SluiceRedisConnection, sluice_redis_connection, SLUICE, REDIS_CONNECTION,
                      GObject)

/* Takes @config; @context (nullable) is used for logging. Starts
 * connecting at once. */
SluiceRedisConnection *sluice_redis_connection_new (SluiceRedisConfig *config,
                                                    SluiceContext     *context);

const SluiceRedisConfig *sluice_redis_connection_get_config (SluiceRedisConnection *self);

/* The URL, for messages: never with the password. */
const char *sluice_redis_connection_get_url (SluiceRedisConnection *self);

/* Whether the connection is up and its handshake done. */
gboolean sluice_redis_connection_is_ready (SluiceRedisConnection *self);

/* Gets the reply to a command: @reply (which may be an error reply, and
 * lives only during the call), or @error (transfer full) when there is
 * no reply: the connection is down (%SLUICE_ERROR_UNAVAILABLE), the
 * reply did not come in time (%SLUICE_ERROR_TIMEOUT), or the handshake
 * was refused (%SLUICE_ERROR_PERMISSION_DENIED for a wrong password). */
typedef void (*SluiceRedisReplyFunc) (redisReply *reply,
                                      GError     *error,
                                      gpointer    user_data);

/* Sends @command (taken). @func is called exactly once, possibly before
 * this returns when the connection is down. An EVALSHA that meets
 * NOSCRIPT loads its script and runs once more. */
void sluice_redis_connection_send (SluiceRedisConnection *self,
                                   SluiceRedisCommand    *command,
                                   SluiceRedisReplyFunc   func,
                                   gpointer               user_data);

/* Sends @commands (a #GPtrArray of #SluiceRedisCommand with its free
 * function set; taken) as one transaction, MULTI ... EXEC, and reports
 * the reply to EXEC: an array of the commands' replies, or the error that
 * made the server discard the transaction. When an EVALSHA in it meets
 * NOSCRIPT, the scripts are loaded and the whole transaction runs once
 * more: only put commands in that may run twice after such a failure
 * (the EVALSHA's own effects never happened). */
void sluice_redis_connection_send_transaction (SluiceRedisConnection *self,
                                               GPtrArray             *commands,
                                               SluiceRedisReplyFunc   func,
                                               gpointer               user_data);

/* An error for an error reply (or a reply of an unexpected shape when
 * @reply is not an error), prefixed with the URL and the formatted text. */
GError *sluice_redis_connection_reply_error (SluiceRedisConnection *self,
                                             const redisReply      *reply,
                                             const char            *format,
                                             ...) G_GNUC_PRINTF (3, 4);

G_END_DECLS
