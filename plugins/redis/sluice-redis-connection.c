/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-connection.h"

#include <stdio.h>
#include <string.h>

#include <hiredis/async.h>

#include "sluice-redis-reply-arena.h"
#include "sluice-redis-source.h"

#define RECONNECT_INITIAL_USEC (100 * 1000)

/* Commands */

struct _SluiceRedisCommand
{
  GString                 *buf;
  guint                    argc;
  guint                    added;
  gsize                    arg_end; /* where the argument begun by begin_arg() must end */
  const SluiceRedisScript *script;
};

static void
append_uint (GString *buf,
             guint64  value)
{
  char digits[24];
  int  n = 0;

  do
    {
      digits[sizeof digits - 1 - n++] = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value != 0);
  g_string_append_len (buf, digits + sizeof digits - n, n);
}

SluiceRedisCommand *
sluice_redis_command_new (guint argc,
                          gsize size_hint)
{
  SluiceRedisCommand *self = g_new0 (SluiceRedisCommand, 1);

  self->buf = g_string_sized_new (size_hint + 16 * (gsize) argc + 16);
  self->argc = argc;
  g_string_append_c (self->buf, '*');
  append_uint (self->buf, argc);
  g_string_append_len (self->buf, "\r\n", 2);
  return self;
}

SluiceRedisCommand *
sluice_redis_command_new_script (SluiceRedisScriptId script,
                                 guint               numkeys,
                                 guint               n_args,
                                 gsize               size_hint)
{
  SluiceRedisCommand *self = sluice_redis_command_new (3 + numkeys + n_args, size_hint + 64);

  self->script = sluice_redis_script_get (script);
  sluice_redis_command_add_string (self, "EVALSHA");
  sluice_redis_command_add_string (self, self->script->sha1);
  sluice_redis_command_add_int (self, numkeys);
  return self;
}

SluiceRedisCommand *
sluice_redis_command_new_eval (SluiceRedisScriptId script,
                               guint               numkeys,
                               guint               n_args,
                               gsize               size_hint)
{
  const SluiceRedisScript *body = sluice_redis_script_get (script);
  SluiceRedisCommand      *self;

  self = sluice_redis_command_new (3 + numkeys + n_args, size_hint + strlen (body->body) + 32);
  sluice_redis_command_add_string (self, "EVAL");
  sluice_redis_command_add_string (self, body->body);
  sluice_redis_command_add_int (self, numkeys);
  return self;
}

void
sluice_redis_command_free (SluiceRedisCommand *self)
{
  if (self == NULL)
    return;
  g_string_free (self->buf, TRUE);
  g_free (self);
}

GString *
sluice_redis_command_begin_arg (SluiceRedisCommand *self,
                                gsize               len)
{
  g_return_val_if_fail (self->added < self->argc, self->buf);

  g_string_append_c (self->buf, '$');
  append_uint (self->buf, len);
  g_string_append_len (self->buf, "\r\n", 2);
  self->arg_end = self->buf->len + len;
  return self->buf;
}

void
sluice_redis_command_end_arg (SluiceRedisCommand *self)
{
  g_return_if_fail (self->buf->len == self->arg_end);

  g_string_append_len (self->buf, "\r\n", 2);
  self->added++;
}

void
sluice_redis_command_add (SluiceRedisCommand *self,
                          const void         *data,
                          gsize               len)
{
  g_string_append_len (sluice_redis_command_begin_arg (self, len), data, (gssize) len);
  sluice_redis_command_end_arg (self);
}

void
sluice_redis_command_add_string (SluiceRedisCommand *self,
                                 const char         *text)
{
  sluice_redis_command_add (self, text, strlen (text));
}

void
sluice_redis_command_add_int (SluiceRedisCommand *self,
                              gint64              value)
{
  char text[24];
  int  len = g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, value);

  sluice_redis_command_add (self, text, (gsize) len);
}

/* The connection */

typedef enum
{
  STATE_BACKOFF,    /* down, waiting to try again; commands fail at once */
  STATE_RESOLVING,  /* looking the host up; commands wait */
  STATE_CONNECTING, /* connecting and handshaking; commands wait */
  STATE_READY,
} ConnectionState;

typedef enum
{
  HANDSHAKE_AUTH,
  HANDSHAKE_SELECT,
  HANDSHAKE_SCRIPT,
} HandshakeStep;

typedef struct
{
  GList                  link;        /* in waiting or in_flight; data = this */
  GQueue                *queue;       /* which one, or NULL */
  SluiceRedisConnection *conn;        /* strong */
  SluiceRedisCommand    *command;     /* kept while an EVALSHA may need resending */
  GPtrArray             *transaction; /* or these, sent as MULTI ... EXEC */
  char                  *queue_error; /* the first command the transaction refused */
  gboolean               retried;     /* after NOSCRIPT */
  gboolean               finished;    /* func was called (timed out): ignore the reply */
  gint64                 deadline;    /* monotonic usec */
  SluiceRedisReplyFunc   func;
  gpointer               user_data;
} RedisOp;

struct _SluiceRedisConnection
{
  GObject parent_instance;

  SluiceRedisConfig *config;
  SluiceContext     *context;
  GMainContext      *main_context;
  char              *timeout_text;

  ConnectionState    state;
  redisAsyncContext *ac;
  GSource           *source;    /* borrowed: lives as long as ac */
  GCancellable      *resolving; /* of the host lookup in progress */
  GPtrArray         *addresses; /* of the host, to try in turn */
  guint              next_address;
  gboolean           tcp_connected; /* the attempt got past connect() */
  GQueue             waiting;       /* RedisOp not sent yet: until the handshake is done */
  GQueue             in_flight;     /* RedisOp sent, in reply order */
  guint              handshake_pending;
  GError            *failure;  /* why it is down; NULL while it is not known to be */
  guint              failures; /* attempts failed in a row */
  gboolean           lost;     /* was up, is down: log when it is back */
  char              *logged;   /* the last failure logged, to log each once */
  gint64             connect_deadline;
  GSource           *timer; /* connect and reply deadlines */
  GSource           *reconnect;
  SluiceRedisReplyArena *arena; /* replies of ac, one context after another */
};

G_DEFINE_FINAL_TYPE (SluiceRedisConnection, sluice_redis_connection, G_TYPE_OBJECT)

static void start_attempt (SluiceRedisConnection *self);
static void connect_next (SluiceRedisConnection *self);
static void drop_connection (SluiceRedisConnection *self,
                             GError                *failure);

static void
set_failure (SluiceRedisConnection *self,
             GError                *failure)
{
  g_clear_error (&self->failure);
  self->failure = failure;
}

/* Why commands fail now: the known failure, or what hiredis says. */
static GError *
current_failure (SluiceRedisConnection *self)
{
  if (self->failure == NULL)
    {
      const char *why = self->ac != NULL && self->ac->err != 0 && self->ac->errstr[0] != '\0'
                            ? self->ac->errstr
                            : "the connection closed";

      self->failure = g_error_new (SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                                   "%s is unavailable: %s", self->config->url, why);
    }
  return g_error_copy (self->failure);
}

static void
op_free (RedisOp *op)
{
  if (op->queue != NULL)
    g_queue_unlink (op->queue, &op->link);
  sluice_redis_command_free (op->command);
  g_clear_pointer (&op->transaction, g_ptr_array_unref);
  g_free (op->queue_error);
  g_object_unref (op->conn);
  g_free (op);
}

/* Hands the outcome to the caller once; the op may live on while hiredis
 * still holds it. */
static void
op_complete (RedisOp    *op,
             redisReply *reply,
             GError     *error)
{
  SluiceRedisReplyFunc func = op->func;

  g_return_if_fail (!op->finished);
  op->finished = TRUE;
  op->func = NULL;
  func (reply, error, op->user_data);
}

static void
arm_timer (SluiceRedisConnection *self)
{
  gint64   ready = -1;
  RedisOp *head;

  if (self->state == STATE_RESOLVING || self->state == STATE_CONNECTING)
    ready = self->connect_deadline;
  head = g_queue_peek_head (&self->in_flight);
  if (head != NULL && (ready < 0 || head->deadline < ready))
    ready = head->deadline;
  g_source_set_ready_time (self->timer, ready);
}

static void op_reply (redisAsyncContext *ac,
                      void              *reply,
                      void              *privdata);

/* The replies to MULTI and to each queued command: only a refusal (which
 * makes EXEC fail with EXECABORT) is worth keeping, to say why. */
static void
queued_reply (redisAsyncContext *ac,
              void              *reply_,
              void              *privdata)
{
  RedisOp    *op = privdata;
  redisReply *reply = reply_;

  if (reply != NULL && reply->type == REDIS_REPLY_ERROR && op->queue_error == NULL)
    op->queue_error = g_strdup (reply->str);
}

static gboolean
write_commands (redisAsyncContext *ac,
                RedisOp           *op)
{
  static const char exec[] = "*1\r\n$4\r\nEXEC\r\n";

  if (op->transaction == NULL)
    return redisAsyncFormattedCommand (ac, op_reply, op, op->command->buf->str,
                                       op->command->buf->len) == REDIS_OK;

  /* Written back to back: nothing of another command can come between. */
  g_clear_pointer (&op->queue_error, g_free);
  if (redisAsyncCommand (ac, queued_reply, op, "MULTI") != REDIS_OK)
    return FALSE;
  for (guint i = 0; i < op->transaction->len; i++)
    {
      SluiceRedisCommand *command = g_ptr_array_index (op->transaction, i);

      if (redisAsyncFormattedCommand (ac, queued_reply, op, command->buf->str,
                                      command->buf->len) != REDIS_OK)
        return FALSE;
    }
  return redisAsyncFormattedCommand (ac, op_reply, op, exec, sizeof exec - 1) == REDIS_OK;
}

static void
write_op (SluiceRedisConnection *self,
          RedisOp               *op)
{
  redisAsyncContext *ac = self->ac;

  if (ac == NULL || (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) != 0 ||
      !write_commands (ac, op))
    {
      op_complete (op, NULL, current_failure (self));
      op_free (op);
      return;
    }

  op->deadline = g_get_monotonic_time () + self->config->timeout_usec;
  g_queue_push_tail_link (&self->in_flight, &op->link);
  op->queue = &self->in_flight;
  if (op->command != NULL && op->command->script == NULL)
    g_clear_pointer (&op->command, sluice_redis_command_free);
  if (self->in_flight.length == 1)
    arm_timer (self);
}

static void
script_loaded (redisAsyncContext *ac,
               void              *reply,
               void              *privdata)
{
  /* Nothing to do: the EVALSHA sent right behind it reports. */
}

static gboolean
is_noscript (const redisReply *reply)
{
  return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
         g_str_has_prefix (reply->str, "NOSCRIPT");
}

/* Whether the call failed only because the server does not know a
 * script. A transaction is resent only when it has a script and that
 * failure undid nothing: every other command in it only reads. */
static gboolean
needs_scripts (RedisOp          *op,
               const redisReply *reply)
{
  if (op->transaction == NULL)
    return op->command != NULL && op->command->script != NULL && is_noscript (reply);

  if (reply->type != REDIS_REPLY_ARRAY)
    return FALSE;
  for (size_t i = 0; i < reply->elements; i++)
    if (is_noscript (reply->element[i]))
      return TRUE;
  return FALSE;
}

static gboolean
load_scripts (redisAsyncContext *ac,
              RedisOp           *op)
{
  if (op->transaction == NULL)
    return redisAsyncCommand (ac, script_loaded, NULL, "SCRIPT LOAD %s",
                              op->command->script->body) == REDIS_OK;

  for (guint i = 0; i < op->transaction->len; i++)
    {
      SluiceRedisCommand *command = g_ptr_array_index (op->transaction, i);

      if (command->script != NULL &&
          redisAsyncCommand (ac, script_loaded, NULL, "SCRIPT LOAD %s",
                             command->script->body) != REDIS_OK)
        return FALSE;
    }
  return TRUE;
}

static void
op_reply (redisAsyncContext *ac,
          void              *reply_,
          void              *privdata)
{
  RedisOp               *op = privdata;
  SluiceRedisConnection *self = op->conn;
  redisReply            *reply = reply_;

  if (op->queue != NULL)
    {
      g_queue_unlink (op->queue, &op->link);
      op->queue = NULL;
    }

  if (op->finished)
    {
      op_free (op);
      return;
    }

  if (reply == NULL)
    {
      op_complete (op, NULL, current_failure (self));
      op_free (op);
      return;
    }

  if (!op->retried && needs_scripts (op, reply))
    {
      /* The server lost its scripts (restart, SCRIPT FLUSH): load them and
       * run the call once more, pipelined. */
      op->retried = TRUE;
      if (load_scripts (ac, op))
        {
          write_op (self, op);
          return;
        }
    }

  if (op->transaction != NULL && reply->type == REDIS_REPLY_ERROR && op->queue_error != NULL)
    {
      op_complete (op, NULL, g_error_new (SLUICE_ERROR, SLUICE_ERROR_FAILED, "%s: %s",
                                          self->config->url, op->queue_error));
      op_free (op);
      return;
    }

  op_complete (op, reply, NULL);
  op_free (op);
}

/* Backoff and reconnection */

static gboolean
reconnect_cb (gpointer user_data)
{
  SluiceRedisConnection *self = user_data;

  g_clear_pointer (&self->reconnect, g_source_unref);
  start_attempt (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (SluiceRedisConnection *self)
{
  gint64 delay = RECONNECT_INITIAL_USEC;

  for (guint i = 0; i < self->failures && delay < self->config->reconnect_max_usec; i++)
    delay *= 2;
  delay = MIN (delay, self->config->reconnect_max_usec);
  self->failures++;

  self->state = STATE_BACKOFF;
  if (self->reconnect != NULL)
    {
      g_source_destroy (self->reconnect);
      g_source_unref (self->reconnect);
    }
  self->reconnect = g_timeout_source_new ((guint) (delay / 1000));
  g_source_set_static_name (self->reconnect, "sluice-redis-reconnect");
  g_source_set_callback (self->reconnect, reconnect_cb, self, NULL);
  g_source_attach (self->reconnect, self->main_context);
}

/* Says why the connection is down, once per reason: a server that stays
 * away, or a wrong password, does not fill the log. */
static void
log_failure (SluiceRedisConnection *self)
{
  g_autoptr (GError) failure = current_failure (self);

  if (g_strcmp0 (self->logged, failure->message) == 0)
    return;
  g_free (self->logged);
  self->logged = g_strdup (failure->message);
  sluice_log (self->context, NULL, G_LOG_LEVEL_MESSAGE, "%s; %s", failure->message,
              self->lost ? "reconnecting" : "retrying");
}

static void
note_down (SluiceRedisConnection *self)
{
  if (self->state == STATE_READY)
    {
      self->lost = TRUE;
      g_clear_pointer (&self->logged, g_free);
    }
  log_failure (self);
}

static void
fail_waiting (SluiceRedisConnection *self)
{
  while (self->waiting.length > 0)
    {
      RedisOp *op = g_queue_peek_head (&self->waiting);

      op_complete (op, NULL, current_failure (self));
      op_free (op);
    }
}

static gboolean
connect_next_cb (gpointer user_data)
{
  SluiceRedisConnection *self = user_data;

  g_clear_pointer (&self->reconnect, g_source_unref);
  connect_next (self);
  return G_SOURCE_REMOVE;
}

/* hiredis let go of the context: every command on it has been answered
 * or failed. */
static void
source_lost (gpointer user_data)
{
  SluiceRedisConnection *self = user_data;
  gboolean               refused = self->state == STATE_CONNECTING && !self->tcp_connected;

  /* Keep why, for the commands that fail until it is back. */
  g_error_free (current_failure (self));
  if (self->state == STATE_READY)
    {
      self->lost = TRUE;
      g_clear_pointer (&self->logged, g_free);
    }
  self->ac = NULL;
  self->source = NULL;
  self->handshake_pending = 0;

  /* The host has another address: try it at once, out of hiredis's way;
   * the waiting commands wait on. */
  if (refused && self->next_address < self->addresses->len)
    {
      self->reconnect = g_idle_source_new ();
      g_source_set_static_name (self->reconnect, "sluice-redis-next-address");
      g_source_set_callback (self->reconnect, connect_next_cb, self, NULL);
      g_source_attach (self->reconnect, self->main_context);
      return;
    }

  log_failure (self);
  schedule_reconnect (self);
  fail_waiting (self);
  arm_timer (self);
}

/* An attempt failed before a hiredis context existed. */
static void
attempt_failed (SluiceRedisConnection *self,
                GError                *failure)
{
  if (failure != NULL)
    set_failure (self, failure);
  log_failure (self);
  schedule_reconnect (self);
  fail_waiting (self);
  arm_timer (self);
}

static void
drop_connection (SluiceRedisConnection *self,
                 GError                *failure)
{
  set_failure (self, failure);
  note_down (self);

  if (self->ac != NULL)
    {
      /* No new command may reach the context from now on. Freeing it fails
       * every pending command (right away, or once the reply callback
       * running now returns) and ends in source_lost(). */
      self->state = STATE_BACKOFF;
      redisAsyncFree (self->ac);
    }
  else
    {
      if (self->resolving != NULL)
        {
          g_cancellable_cancel (self->resolving);
          g_clear_object (&self->resolving);
        }
      attempt_failed (self, NULL);
    }
}

/* The handshake */

static GError *
handshake_error (SluiceRedisConnection *self,
                 HandshakeStep          step,
                 const char            *text)
{
  if (step == HANDSHAKE_AUTH || g_str_has_prefix (text, "NOAUTH") ||
      g_str_has_prefix (text, "WRONGPASS"))
    return g_error_new (SLUICE_ERROR, SLUICE_ERROR_PERMISSION_DENIED,
                        "%s: authentication failed: %s", self->config->url, text);
  if (step == HANDSHAKE_SELECT)
    return g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                        "%s: cannot select database %u: %s", self->config->url,
                        self->config->db, text);
  return g_error_new (SLUICE_ERROR, SLUICE_ERROR_FAILED,
                      "%s: cannot load the Lua scripts: %s", self->config->url, text);
}

static void
handshake_reply (redisAsyncContext *ac,
                 void              *reply_,
                 void              *privdata)
{
  SluiceRedisConnection *self = ac->data;
  redisReply            *reply = reply_;
  HandshakeStep          step = GPOINTER_TO_UINT (privdata);

  /* No connection object any more, or the connection failed: whoever
   * ends the context handles that. */
  if (self == NULL || reply == NULL || self->state != STATE_CONNECTING)
    return;

  if (reply->type == REDIS_REPLY_ERROR)
    {
      drop_connection (self, handshake_error (self, step, reply->str));
      return;
    }

  if (--self->handshake_pending > 0)
    return;

  self->state = STATE_READY;
  self->failures = 0;
  g_clear_error (&self->failure);
  g_clear_pointer (&self->logged, g_free);
  if (self->lost)
    {
      self->lost = FALSE;
      sluice_log (self->context, NULL, G_LOG_LEVEL_MESSAGE, "%s: connected again",
                  self->config->url);
    }

  while (self->waiting.length > 0 && self->state == STATE_READY)
    {
      RedisOp *op = g_queue_peek_head (&self->waiting);

      g_queue_unlink (&self->waiting, &op->link);
      op->queue = NULL;
      write_op (self, op);
    }
  arm_timer (self);
}

static void
on_connect (const redisAsyncContext *ac,
            int                      status)
{
  SluiceRedisConnection *self = ac->data;

  if (self != NULL && status == REDIS_OK)
    self->tcp_connected = TRUE;
}

static void
send_handshake (SluiceRedisConnection *self)
{
  const SluiceRedisConfig *config = self->config;

  self->handshake_pending = 0;

  if (config->password != NULL)
    {
      gsize       len = 0;
      const char *password = g_bytes_get_data (config->password, &len);
      const char *argv[3];
      size_t      argvlen[3];
      int         argc = 0;

      argv[argc] = "AUTH";
      argvlen[argc++] = 4;
      if (config->username != NULL)
        {
          argv[argc] = config->username;
          argvlen[argc++] = strlen (config->username);
        }
      argv[argc] = password;
      argvlen[argc++] = len;
      if (redisAsyncCommandArgv (self->ac, handshake_reply, GUINT_TO_POINTER (HANDSHAKE_AUTH),
                                 argc, argv, argvlen) == REDIS_OK)
        self->handshake_pending++;
    }

  if (config->db != 0 &&
      redisAsyncCommand (self->ac, handshake_reply, GUINT_TO_POINTER (HANDSHAKE_SELECT),
                         "SELECT %u", config->db) == REDIS_OK)
    self->handshake_pending++;

  for (guint i = 0; i < SLUICE_REDIS_N_SCRIPTS; i++)
    if (redisAsyncCommand (self->ac, handshake_reply, GUINT_TO_POINTER (HANDSHAKE_SCRIPT),
                           "SCRIPT LOAD %s", sluice_redis_script_get (i)->body) == REDIS_OK)
      self->handshake_pending++;
}

static void
connect_next (SluiceRedisConnection *self)
{
  const SluiceRedisConfig *config = self->config;

  while (self->next_address < self->addresses->len)
    {
      const char        *address = g_ptr_array_index (self->addresses, self->next_address++);
      redisAsyncContext *ac;

      if (config->socket_path != NULL)
        ac = redisAsyncConnectUnix (config->socket_path);
      else
        ac = redisAsyncConnect (address, config->port);

      if (ac == NULL)
        {
          set_failure (self, g_error_new (SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                                          "%s is unavailable: out of memory", config->url));
          continue;
        }
      if (ac->err != 0)
        {
          set_failure (self, g_error_new (SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                                          "%s is unavailable: %s", config->url, ac->errstr));
          redisAsyncFree (ac);
          continue;
        }

      self->ac = ac;
      ac->data = self;
      sluice_redis_reply_arena_attach (self->arena, ac);
      self->tcp_connected = FALSE;
      self->state = STATE_CONNECTING;
      self->source = sluice_redis_source_attach (ac, self->main_context, source_lost, self);
      redisAsyncSetConnectCallback (ac, on_connect);
      send_handshake (self);
      arm_timer (self);
      return;
    }

  attempt_failed (self, NULL);
}

static void
resolved (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  SluiceRedisConnection *self;
  g_autoptr (GError) error = NULL;
  g_autolist (GInetAddress) addresses = NULL;

  addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  /* Cancelled: the attempt was abandoned, maybe with the connection. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = user_data;
  g_clear_object (&self->resolving);
  if (addresses == NULL)
    {
      attempt_failed (self, g_error_new (SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                                         "%s is unavailable: cannot resolve '%s': %s",
                                         self->config->url, self->config->host,
                                         error->message));
      return;
    }

  for (GList *l = addresses; l != NULL; l = l->next)
    g_ptr_array_add (self->addresses, g_inet_address_to_string (l->data));
  self->state = STATE_CONNECTING;
  connect_next (self);
}

static void
start_attempt (SluiceRedisConnection *self)
{
  const SluiceRedisConfig *config = self->config;

  g_clear_error (&self->failure);
  self->connect_deadline = g_get_monotonic_time () + config->timeout_usec;
  g_ptr_array_set_size (self->addresses, 0);
  self->next_address = 0;

  if (config->socket_path != NULL || g_hostname_is_ip_address (config->host))
    {
      g_ptr_array_add (self->addresses, g_strdup (config->socket_path != NULL
                                                      ? config->socket_path
                                                      : config->host));
      connect_next (self);
      return;
    }

  /* hiredis would resolve the name with a blocking getaddrinfo(). */
  self->state = STATE_RESOLVING;
  self->resolving = g_cancellable_new ();
  g_main_context_push_thread_default (self->main_context);
  {
    g_autoptr (GResolver) resolver = g_resolver_get_default ();

    g_resolver_lookup_by_name_async (resolver, config->host, self->resolving, resolved, self);
  }
  g_main_context_pop_thread_default (self->main_context);
  arm_timer (self);
}

static gboolean
deadline_cb (gpointer user_data)
{
  SluiceRedisConnection *self = user_data;
  gint64                 now = g_get_monotonic_time ();
  RedisOp               *head;

  if ((self->state == STATE_RESOLVING || self->state == STATE_CONNECTING) &&
      now >= self->connect_deadline)
    {
      drop_connection (self, g_error_new (SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                                          "%s is unavailable: no connection within %s",
                                          self->config->url, self->timeout_text));
      return G_SOURCE_CONTINUE;
    }

  head = g_queue_peek_head (&self->in_flight);
  if (head != NULL && now >= head->deadline)
    {
      GList *l;

      /* Replies come in order: everything behind a late reply waits for
       * it. Fail what is late, then start over on a new connection. */
      for (l = self->in_flight.head; l != NULL; l = l->next)
        {
          RedisOp *op = l->data;

          if (op->deadline > now)
            break;
          if (!op->finished)
            op_complete (op, NULL, g_error_new (SLUICE_ERROR, SLUICE_ERROR_TIMEOUT,
                                                "%s: no reply within %s", self->config->url,
                                                self->timeout_text));
        }
      drop_connection (self, g_error_new (SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                                          "%s is unavailable: no reply within %s",
                                          self->config->url, self->timeout_text));
      return G_SOURCE_CONTINUE;
    }

  arm_timer (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
timer_dispatch (GSource    *source,
                GSourceFunc callback,
                gpointer    user_data)
{
  return callback (user_data);
}

static GSourceFuncs timer_funcs = {
  NULL,
  NULL,
  timer_dispatch,
  NULL,
  NULL,
  NULL,
};

/* GObject */

static void
sluice_redis_connection_finalize (GObject *object)
{
  SluiceRedisConnection *self = SLUICE_REDIS_CONNECTION (object);

  /* Every command holds a reference: none is waiting or in flight. */
  g_warn_if_fail (self->waiting.length == 0);
  g_warn_if_fail (self->in_flight.length == 0);

  if (self->resolving != NULL)
    {
      g_cancellable_cancel (self->resolving);
      g_clear_object (&self->resolving);
    }
  if (self->reconnect != NULL)
    {
      g_source_destroy (self->reconnect);
      g_clear_pointer (&self->reconnect, g_source_unref);
    }
  g_source_destroy (self->timer);
  g_clear_pointer (&self->timer, g_source_unref);

  if (self->ac != NULL)
    {
      /* Freed now, or by hiredis once the reply callback running now
       * returns; either way without this object. */
      self->ac->data = NULL;
      sluice_redis_source_disown (self->source);
      redisAsyncFree (self->ac);
      self->ac = NULL;
    }

  g_clear_error (&self->failure);
  g_clear_pointer (&self->addresses, g_ptr_array_unref);
  g_clear_pointer (&self->config, sluice_redis_config_free);
  g_clear_object (&self->context);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_free (self->timeout_text);
  g_free (self->logged);
  /* After the context: a context freed later by hiredis (from inside a
   * reply callback) parses nothing more and frees replies without
   * touching the arena. */
  sluice_redis_reply_arena_free (self->arena);

  G_OBJECT_CLASS (sluice_redis_connection_parent_class)->finalize (object);
}

static void
sluice_redis_connection_class_init (SluiceRedisConnectionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_redis_connection_finalize;
}

static void
sluice_redis_connection_init (SluiceRedisConnection *self)
{
  g_queue_init (&self->waiting);
  g_queue_init (&self->in_flight);
  self->addresses = g_ptr_array_new_with_free_func (g_free);
  self->arena = sluice_redis_reply_arena_new ();
}

SluiceRedisConnection *
sluice_redis_connection_new (SluiceRedisConfig *config,
                             SluiceContext     *context)
{
  SluiceRedisConnection *self;

  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (SLUICE_TYPE_REDIS_CONNECTION, NULL);
  self->config = config;
  self->context = context != NULL ? g_object_ref (context) : NULL;
  self->main_context = g_main_context_ref_thread_default ();
  self->timeout_text = sluice_format_duration (config->timeout_usec);

  self->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_static_name (self->timer, "sluice-redis-deadline");
  g_source_set_callback (self->timer, deadline_cb, self, NULL);
  g_source_set_ready_time (self->timer, -1);
  g_source_attach (self->timer, self->main_context);

  start_attempt (self);
  return self;
}

const SluiceRedisConfig *
sluice_redis_connection_get_config (SluiceRedisConnection *self)
{
  g_return_val_if_fail (SLUICE_IS_REDIS_CONNECTION (self), NULL);

  return self->config;
}

const char *
sluice_redis_connection_get_url (SluiceRedisConnection *self)
{
  g_return_val_if_fail (SLUICE_IS_REDIS_CONNECTION (self), NULL);

  return self->config->url;
}

gboolean
sluice_redis_connection_is_ready (SluiceRedisConnection *self)
{
  g_return_val_if_fail (SLUICE_IS_REDIS_CONNECTION (self), FALSE);

  return self->state == STATE_READY;
}

static void
send_op (SluiceRedisConnection *self,
         RedisOp               *op)
{
  op->link.data = op;
  op->conn = g_object_ref (self);
  op->deadline = g_get_monotonic_time () + self->config->timeout_usec;

  switch (self->state)
    {
    case STATE_BACKOFF:
      op_complete (op, NULL, current_failure (self));
      op_free (op);
      break;
    case STATE_RESOLVING:
    case STATE_CONNECTING:
      g_queue_push_tail_link (&self->waiting, &op->link);
      op->queue = &self->waiting;
      break;
    case STATE_READY:
    default:
      write_op (self, op);
      break;
    }
}

void
sluice_redis_connection_send (SluiceRedisConnection *self,
                              SluiceRedisCommand    *command,
                              SluiceRedisReplyFunc   func,
                              gpointer               user_data)
{
  RedisOp *op;

  g_return_if_fail (SLUICE_IS_REDIS_CONNECTION (self));
  g_return_if_fail (command != NULL && command->added == command->argc);
  g_return_if_fail (func != NULL);

  op = g_new0 (RedisOp, 1);
  op->command = command;
  op->func = func;
  op->user_data = user_data;
  send_op (self, op);
}

void
sluice_redis_connection_send_transaction (SluiceRedisConnection *self,
                                          GPtrArray             *commands,
                                          SluiceRedisReplyFunc   func,
                                          gpointer               user_data)
{
  RedisOp *op;

  g_return_if_fail (SLUICE_IS_REDIS_CONNECTION (self));
  g_return_if_fail (commands != NULL && commands->len > 0);
  g_return_if_fail (func != NULL);

  for (guint i = 0; i < commands->len; i++)
    {
      SluiceRedisCommand *command = g_ptr_array_index (commands, i);

      g_return_if_fail (command->added == command->argc);
    }

  op = g_new0 (RedisOp, 1);
  op->transaction = commands;
  op->func = func;
  op->user_data = user_data;
  send_op (self, op);
}

GError *
sluice_redis_connection_reply_error (SluiceRedisConnection *self,
                                     const redisReply      *reply,
                                     const char            *format,
                                     ...)
{
  g_autofree char *what = NULL;
  va_list          args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
    {
      SluiceError code = SLUICE_ERROR_FAILED;

      if (g_str_has_prefix (reply->str, "NOAUTH") || g_str_has_prefix (reply->str, "NOPERM") ||
          g_str_has_prefix (reply->str, "WRONGPASS"))
        code = SLUICE_ERROR_PERMISSION_DENIED;
      else if (g_str_has_prefix (reply->str, "LOADING") || g_str_has_prefix (reply->str, "BUSY") ||
               g_str_has_prefix (reply->str, "MASTERDOWN") ||
               g_str_has_prefix (reply->str, "TRYAGAIN"))
        code = SLUICE_ERROR_UNAVAILABLE;
      return g_error_new (SLUICE_ERROR, code, "%s: %s: %s", self->config->url, what, reply->str);
    }

  return g_error_new (SLUICE_ERROR, SLUICE_ERROR_FAILED, "%s: %s: unexpected reply (type %d)",
                      self->config->url, what, reply != NULL ? reply->type : -1);
}
