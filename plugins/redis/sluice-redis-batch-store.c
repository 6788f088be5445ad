/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-batch-store.h"

#include <string.h>

#include "sluice-redis-config.h"
#include "sluice-redis-connection.h"
#include "sluice-redis-payload.h"
#include "sluice-redis-scripts.h"

#define COMPONENT "redis.batch-store"
#define MAX_BATCH_ID 128
#define ERROR_HEADER "sluice-error"

/* The meta fields get_info and list read, in this order. */
#define N_META_FIELDS 10
static const char *const meta_fields[N_META_FIELDS] = {
  "workflow",
  "chunk",
  "max_failed",
  "created",
  "expires",
  "state",
  "pending",
  "processing",
  "succeeded",
  "failed",
};

typedef enum
{
  OP_CREATE,
  OP_ADD,
  OP_CLAIM,
  OP_SETTLE,
  OP_RETRY_FAILED,
  OP_GET_INFO,
  OP_LIST,
  OP_LIST_FAILED,
  OP_SET_STATE,
  OP_DELETE,
} BatchOp;

static const char *const op_names[] = {
  [OP_CREATE] = "create",
  [OP_ADD] = "add records to",
  [OP_CLAIM] = "claim records of",
  [OP_SETTLE] = "settle records of",
  [OP_RETRY_FAILED] = "retry failed records of",
  [OP_GET_INFO] = "read",
  [OP_LIST] = "list",
  [OP_LIST_FAILED] = "list failed records of",
  [OP_SET_STATE] = "change the state of",
  [OP_DELETE] = "delete",
};

struct _SluiceRedisBatchStore
{
  GObject parent_instance;

  SluiceRedisConnection *conn;
  char                  *prefix;
  char                  *batches_key;
  char                  *lease_prefix; /* unique to this store: lease names */
  guint64                leases;       /* made so far */
};

/* What a call needs when its reply comes. */
typedef struct
{
  SluiceRedisBatchStore *self; /* borrowed from the task */
  char                  *batch_id;
  BatchOp                op;
  SluiceBatchState       state;      /* set_state: the wanted one */
  guint                  n_commands; /* add: in its transaction */
} Call;

static void sluice_redis_batch_store_initable_iface_init (GInitableIface *iface);
static void sluice_redis_batch_store_iface_init (SluiceBatchStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceRedisBatchStore, sluice_redis_batch_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_redis_batch_store_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_BATCH_STORE,
                                                      sluice_redis_batch_store_iface_init))

static const char *
state_name (SluiceBatchState state)
{
  switch (state)
    {
    case SLUICE_BATCH_OPEN:
      return "open";
    case SLUICE_BATCH_CLOSED:
      return "closed";
    case SLUICE_BATCH_COMPLETED:
      return "completed";
    case SLUICE_BATCH_FAILED:
      return "failed";
    case SLUICE_BATCH_CANCELLED:
      return "cancelled";
    default:
      return "in an unknown state";
    }
}

static void
call_free (Call *call)
{
  g_free (call->batch_id);
  g_free (call);
}

static GTask *
new_task (SluiceRedisBatchStore *self,
          const char            *batch_id,
          BatchOp                op,
          GCancellable          *cancellable,
          GAsyncReadyCallback    callback,
          gpointer               user_data,
          gpointer               source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Call  *call = g_new0 (Call, 1);

  g_task_set_source_tag (task, source_tag);
  call->self = self;
  call->batch_id = g_strdup (batch_id);
  call->op = op;
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  return task;
}

static gboolean
batch_id_is_valid (const char *id)
{
  gsize len = 0;

  for (const char *p = id; *p != '\0'; p++, len++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return FALSE;
  return len >= 1 && len <= MAX_BATCH_ID;
}

/* Returns FALSE, with the task returned, for an id that cannot name a
 * batch. */
static gboolean
check_batch_id (GTask      *task,
                const char *id)
{
  if (batch_id_is_valid (id))
    return TRUE;

  g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           COMPONENT ": '%s' is not a batch id (1 to %d of A-Z a-z 0-9 . _ -)",
                           id, MAX_BATCH_ID);
  g_object_unref (task);
  return FALSE;
}

/* prefix + "batch:{ID}:" + suffix (+ name): the braces keep one batch's
 * keys in one slot, should the server ever be a cluster. */
static void
add_batch_key (SluiceRedisBatchStore *self,
               SluiceRedisCommand    *command,
               const char            *batch_id,
               const char            *suffix,
               const char            *name)
{
  gsize    prefix_len = strlen (self->prefix);
  gsize    id_len = strlen (batch_id);
  gsize    suffix_len = strlen (suffix);
  gsize    name_len = name != NULL ? strlen (name) : 0;
  GString *buf;

  buf = sluice_redis_command_begin_arg (command, prefix_len + 7 + id_len + 2 + suffix_len +
                                                     name_len);
  g_string_append_len (buf, self->prefix, (gssize) prefix_len);
  g_string_append_len (buf, "batch:{", 7);
  g_string_append_len (buf, batch_id, (gssize) id_len);
  g_string_append_len (buf, "}:", 2);
  g_string_append_len (buf, suffix, (gssize) suffix_len);
  if (name != NULL)
    g_string_append_len (buf, name, (gssize) name_len);
  sluice_redis_command_end_arg (command);
}

static void
add_batch_keys (SluiceRedisBatchStore *self,
                SluiceRedisCommand    *command,
                const char            *batch_id)
{
  for (guint k = 0; k < SLUICE_REDIS_BATCH_N_KEYS; k++)
    {
      const char *suffix = sluice_redis_batch_key_suffix (k);

      if (suffix == NULL)
        sluice_redis_command_add_string (command, self->batches_key);
      else
        add_batch_key (self, command, batch_id, suffix, NULL);
    }
}

static gsize
keys_size (SluiceRedisBatchStore *self,
           const char            *batch_id)
{
  return (SLUICE_REDIS_BATCH_N_KEYS + 1) * (strlen (self->prefix) + strlen (batch_id) + 48);
}

static SluiceRedisCommand *
batch_script (SluiceRedisBatchStore *self,
              SluiceRedisScriptId    script,
              const char            *batch_id,
              guint                  n_args,
              gsize                  size_hint)
{
  SluiceRedisCommand *command;

  command = sluice_redis_command_new_script (script, SLUICE_REDIS_BATCH_N_KEYS, n_args,
                                             size_hint + keys_size (self, batch_id));
  add_batch_keys (self, command, batch_id);
  return command;
}

/* The error a script raised, without the "ERR " Redis adds to one-word
 * errors; NULL for any other error. */
static const char *
script_error (const redisReply *reply,
              const char       *code)
{
  const char *text = reply->str;
  gsize       len = strlen (code);

  if (g_str_has_prefix (text, "ERR "))
    text += 4;
  if (strncmp (text, code, len) == 0 && (text[len] == '\0' || text[len] == ' '))
    return text[len] == ' ' ? text + len + 1 : text + len;
  return NULL;
}

static GError *
call_error (Call             *call,
            const redisReply *reply)
{
  const char *id = call->batch_id;
  const char *rest;

  if (reply->type != REDIS_REPLY_ERROR)
    return sluice_redis_connection_reply_error (call->self->conn, reply, "%s batch '%s'",
                                                op_names[call->op], id);

  if (script_error (reply, SLUICE_REDIS_E_NOT_FOUND) != NULL)
    return g_error_new (SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                        "batch '%s' does not exist (or has expired)", id);
  if (script_error (reply, SLUICE_REDIS_E_EXISTS) != NULL)
    return g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE, "batch '%s' already exists", id);
  if (script_error (reply, SLUICE_REDIS_E_EXPIRED) != NULL)
    return g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                        "batch '%s': its expiry time is in the past", id);
  if ((rest = script_error (reply, SLUICE_REDIS_E_BUSY)) != NULL)
    {
      g_auto (GStrv) counts = g_strsplit (rest, " ", 2);

      return g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                          "batch '%s' cannot complete: %s records are pending and %s processing",
                          id, counts[0] != NULL ? counts[0] : "?",
                          counts[0] != NULL && counts[1] != NULL ? counts[1] : "?");
    }
  if ((rest = script_error (reply, SLUICE_REDIS_E_STATE)) != NULL)
    {
      const char *state = state_name ((SluiceBatchState) g_ascii_strtoull (rest, NULL, 10));

      switch (call->op)
        {
        case OP_ADD:
          return g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                              "batch '%s' is %s: no records can be added", id, state);
        case OP_RETRY_FAILED:
          return g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                              "batch '%s' is %s: its failed records cannot be retried", id, state);
        case OP_SET_STATE:
        default:
          return g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                              "batch '%s' is %s: it cannot become %s", id, state,
                              state_name (call->state));
        }
    }

  return sluice_redis_connection_reply_error (call->self->conn, reply, "%s batch '%s'",
                                              op_names[call->op], id);
}

/* Returns the reply when it is one (not an error); otherwise returns the
 * task with the error and NULL. */
static redisReply *
take_reply (GTask      *task,
            redisReply *reply,
            GError     *error)
{
  Call *call = g_task_get_task_data (task);

  if (error != NULL)
    {
      g_task_return_error (task, error);
      return NULL;
    }
  if (reply->type == REDIS_REPLY_ERROR)
    {
      g_task_return_error (task, call_error (call, reply));
      return NULL;
    }
  return reply;
}

static void
return_unexpected (GTask            *task,
                   const redisReply *reply)
{
  Call *call = g_task_get_task_data (task);

  g_task_return_error (task, sluice_redis_connection_reply_error (call->self->conn, reply,
                                                                  "%s batch '%s'",
                                                                  op_names[call->op],
                                                                  call->batch_id));
}

/* The reply of the script in a transaction's reply; NULL, with the task
 * returned, when there is none. */
static redisReply *
transaction_reply (GTask      *task,
                   redisReply *reply,
                   GError     *error,
                   guint       n_commands,
                   guint       script)
{
  if (error == NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements != n_commands)
    {
      return_unexpected (task, reply);
      return NULL;
    }
  if ((reply = take_reply (task, reply, error)) == NULL)
    return NULL;
  if (reply->type != REDIS_REPLY_ARRAY)
    {
      return_unexpected (task, reply);
      return NULL;
    }
  return take_reply (task, reply->element[script], NULL);
}

static guint64
reply_uint (const redisReply *reply)
{
  if (reply == NULL)
    return 0;
  if (reply->type == REDIS_REPLY_INTEGER)
    return reply->integer > 0 ? (guint64) reply->integer : 0;
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
    return g_ascii_strtoull (reply->str, NULL, 10);
  return 0;
}

static gint64
reply_int (const redisReply *reply)
{
  if (reply == NULL)
    return 0;
  if (reply->type == REDIS_REPLY_INTEGER)
    return reply->integer;
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
    return g_ascii_strtoll (reply->str, NULL, 10);
  return 0;
}

/* A message from a stored record; a record that cannot be decoded keeps
 * its bytes as the body, so that processing can still fail it. */
static SluiceMessage *
message_from_record (const char       *record_id,
                     guint64           attempt,
                     const redisReply *payload)
{
  SluiceMessage *message = NULL;

  if (payload != NULL && payload->type == REDIS_REPLY_STRING)
    {
      message = sluice_redis_payload_read (payload->str, payload->len, NULL);
      if (message == NULL)
        {
          g_autoptr (GBytes) body = g_bytes_new (payload->str, payload->len);

          message = sluice_message_new_bytes (body, NULL);
        }
    }
  else
    message = sluice_message_new ();

  sluice_message_set_id (message, record_id);
  sluice_message_set_attempt (message, (guint) MIN (attempt, G_MAXUINT));
  return message;
}

/* create */

static void
create_reply (redisReply *reply,
              GError     *error,
              gpointer    user_data)
{
  GTask *task = user_data;

  if (take_reply (task, reply, error) != NULL)
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
redis_create_async (SluiceBatchStore      *store,
                    const SluiceBatchInfo *info,
                    GCancellable          *cancellable,
                    GAsyncReadyCallback    callback,
                    gpointer               user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, info->id, OP_CREATE, cancellable, callback,
                                          user_data, redis_create_async);
  SluiceRedisCommand    *command;

  if (!check_batch_id (task, info->id))
    return;
  if (info->chunk_size == 0)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                               "batch '%s': the chunk size must be at least 1", info->id);
      g_object_unref (task);
      return;
    }
  if (info->expires_usec <= 0 ||
      (info->created_usec > 0 && info->expires_usec <= info->created_usec))
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                               "batch '%s': its expiry time is in the past", info->id);
      g_object_unref (task);
      return;
    }

  command = batch_script (self, SLUICE_REDIS_SCRIPT_BATCH_CREATE, info->id, 6, 128);
  sluice_redis_command_add_string (command, info->id);
  sluice_redis_command_add_string (command, info->workflow != NULL ? info->workflow : "");
  sluice_redis_command_add_int (command, info->chunk_size);
  sluice_redis_command_add_int (command, (gint64) MIN (info->max_failed, (guint64) G_MAXINT64));
  sluice_redis_command_add_int (command, MAX (info->created_usec, 0));
  sluice_redis_command_add_int (command, info->expires_usec);
  sluice_redis_connection_send (self->conn, command, create_reply, task);
}

static gboolean
redis_boolean_finish (SluiceBatchStore *store,
                      GAsyncResult     *result,
                      GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* add */

/* The transaction: [RPUSH pending ...,] EVAL add-commit. */
static void
add_reply (redisReply *reply,
           GError     *error,
           gpointer    user_data)
{
  GTask      *task = user_data;
  Call       *call = g_task_get_task_data (task);
  redisReply *commit = transaction_reply (task, reply, error, call->n_commands,
                                          call->n_commands - 1);

  if (commit != NULL)
    {
      if (commit->type == REDIS_REPLY_INTEGER)
        g_task_return_boolean (task, TRUE);
      else
        return_unexpected (task, commit);
    }
  g_object_unref (task);
}

static void
redis_add_async (SluiceBatchStore   *store,
                 const char         *batch_id,
                 GPtrArray          *records,
                 GCancellable       *cancellable,
                 GAsyncReadyCallback callback,
                 gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, batch_id, OP_ADD, cancellable, callback, user_data,
                                          redis_add_async);
  g_autofree gsize      *sizes = NULL;
  g_autoptr (GPtrArray) commands = NULL;
  SluiceRedisCommand *command;
  gsize               total = 0;

  if (!check_batch_id (task, batch_id))
    return;

  sizes = g_new (gsize, records->len + 1);
  for (guint i = 0; i < records->len; i++)
    {
      SluiceMessage *record = g_ptr_array_index (records, i);

      if (!SLUICE_IS_MESSAGE (record) || sluice_message_is_streamed (record))
        {
          g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                                   "batch '%s': record %u of %u %s; a batch store takes "
                                   "messages with bytes or JSON bodies",
                                   batch_id, i + 1,
                                   records->len,
                                   SLUICE_IS_MESSAGE (record) ? "has a streamed body"
                                                              : "is not a message");
          g_object_unref (task);
          return;
        }
      sizes[i] = sluice_redis_payload_size (record);
      total += sizes[i] + 16;
    }

  /* The payloads go straight into pending; the script in the same
   * transaction counts them, or takes them back when the batch is not
   * open. */
  commands = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_redis_command_free);
  if (records->len > 0)
    {
      command = sluice_redis_command_new (2 + records->len, total + keys_size (self, batch_id));
      sluice_redis_command_add_string (command, "RPUSH");
      add_batch_key (self, command, batch_id,
                     sluice_redis_batch_key_suffix (SLUICE_REDIS_BATCH_KEY_PENDING), NULL);
      for (guint i = 0; i < records->len; i++)
        {
          GString *buf = sluice_redis_command_begin_arg (command, sizes[i]);

          sluice_redis_payload_write (g_ptr_array_index (records, i), buf);
          sluice_redis_command_end_arg (command);
        }
      g_ptr_array_add (commands, command);
    }

  command = sluice_redis_command_new_eval (SLUICE_REDIS_SCRIPT_BATCH_ADD_COMMIT,
                                           SLUICE_REDIS_BATCH_N_KEYS, 1,
                                           keys_size (self, batch_id));
  add_batch_keys (self, command, batch_id);
  sluice_redis_command_add_int (command, records->len);
  g_ptr_array_add (commands, command);

  ((Call *) g_task_get_task_data (task))->n_commands = commands->len;
  sluice_redis_connection_send_transaction (self->conn, g_steal_pointer (&commands), add_reply,
                                            task);
}

/* claim */

/* The transaction: EVALSHA claim, LRANGE of the new lease's list. The
 * script says id and attempt per record, the list has their payloads in
 * the same order. */
static void
claim_reply (redisReply *reply,
             GError     *error,
             gpointer    user_data)
{
  GTask *task = user_data;
  g_autoptr (GPtrArray) messages = NULL;
  redisReply *claimed = transaction_reply (task, reply, error, 2, 0);
  redisReply *payloads;
  size_t      n;

  if (claimed == NULL)
    goto out;
  payloads = reply->element[1];
  if (claimed->type != REDIS_REPLY_ARRAY || claimed->elements % 2 != 0 ||
      payloads->type != REDIS_REPLY_ARRAY || payloads->elements != claimed->elements / 2)
    {
      return_unexpected (task, reply);
      goto out;
    }

  n = payloads->elements;
  messages = g_ptr_array_new_full ((guint) n, g_object_unref);
  for (size_t i = 0; i < n; i++)
    {
      const redisReply *id = claimed->element[2 * i];
      char              id_text[24];

      if (id->type != REDIS_REPLY_INTEGER)
        {
          return_unexpected (task, reply);
          goto out;
        }
      g_snprintf (id_text, sizeof id_text, "%lld", id->integer);
      g_ptr_array_add (messages, message_from_record (id_text,
                                                      reply_uint (claimed->element[2 * i + 1]),
                                                      payloads->element[i]));
    }
  g_task_return_pointer (task, g_steal_pointer (&messages), (GDestroyNotify) g_ptr_array_unref);

out:
  g_object_unref (task);
}

static gint64
usec_to_msec_ceil (gint64 usec)
{
  return MAX ((usec + 999) / 1000, 1);
}

static void
redis_claim_async (SluiceBatchStore   *store,
                   const char         *batch_id,
                   const char         *worker,
                   guint               max,
                   gint64              lease_usec,
                   GCancellable       *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, batch_id, OP_CLAIM, cancellable, callback,
                                          user_data, redis_claim_async);
  g_autoptr (GPtrArray) commands = NULL;
  g_autofree char    *lease = NULL;
  SluiceRedisCommand *command;

  if (!check_batch_id (task, batch_id))
    return;
  if (*worker == '\0')
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               "batch '%s': a claim needs a worker name", batch_id);
      g_object_unref (task);
      return;
    }

  lease = g_strdup_printf ("%s%" G_GUINT64_FORMAT, self->lease_prefix, ++self->leases);
  commands = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_redis_command_free);

  command = sluice_redis_command_new_script (SLUICE_REDIS_SCRIPT_BATCH_CLAIM,
                                             SLUICE_REDIS_BATCH_N_KEYS + 1, 4,
                                             keys_size (self, batch_id) + strlen (worker) + 64);
  add_batch_keys (self, command, batch_id);
  add_batch_key (self, command, batch_id, SLUICE_REDIS_LEASE_KEY, lease);
  sluice_redis_command_add_string (command, worker);
  sluice_redis_command_add_int (command, max);
  sluice_redis_command_add_int (command, usec_to_msec_ceil (lease_usec));
  sluice_redis_command_add_string (command, lease);
  g_ptr_array_add (commands, command);

  command = sluice_redis_command_new (4, keys_size (self, batch_id));
  sluice_redis_command_add_string (command, "LRANGE");
  add_batch_key (self, command, batch_id, SLUICE_REDIS_LEASE_KEY, lease);
  sluice_redis_command_add_string (command, "0");
  sluice_redis_command_add_string (command, "-1");
  g_ptr_array_add (commands, command);

  sluice_redis_connection_send_transaction (self->conn, g_steal_pointer (&commands), claim_reply,
                                            task);
}

static GPtrArray *
redis_pointer_finish (SluiceBatchStore *store,
                      GAsyncResult     *result,
                      GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* settle */

static void
settle_reply (redisReply *reply,
              GError     *error,
              gpointer    user_data)
{
  GTask *task = user_data;

  if ((reply = take_reply (task, reply, error)) != NULL)
    {
      if (reply->type == REDIS_REPLY_ARRAY)
        g_task_return_boolean (task, TRUE);
      else
        return_unexpected (task, reply);
    }
  g_object_unref (task);
}

static void
redis_settle_async (SluiceBatchStore   *store,
                    const char         *batch_id,
                    const char         *worker,
                    GPtrArray          *outcomes,
                    GCancellable       *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, batch_id, OP_SETTLE, cancellable, callback,
                                          user_data, redis_settle_async);
  SluiceRedisCommand    *command;
  gsize                  size = strlen (worker) + 24;
  guint                  n_succeeded = 0;

  if (!check_batch_id (task, batch_id))
    return;

  for (guint i = 0; i < outcomes->len; i++)
    {
      SluiceRecordOutcome *outcome = g_ptr_array_index (outcomes, i);

      size += strlen (outcome->record_id) + 24 +
              (outcome->error != NULL ? strlen (outcome->error) : 0);
    }

  for (guint i = 0; i < outcomes->len; i++)
    if (((SluiceRecordOutcome *) g_ptr_array_index (outcomes, i))->succeeded)
      n_succeeded++;

  /* Succeeded ids in a run, failed ones with their errors after them. */
  command = batch_script (self, SLUICE_REDIS_SCRIPT_BATCH_SETTLE, batch_id,
                          2 + n_succeeded + 2 * (outcomes->len - n_succeeded), size);
  sluice_redis_command_add_string (command, worker);
  sluice_redis_command_add_int (command, n_succeeded);
  for (guint i = 0; i < outcomes->len; i++)
    {
      SluiceRecordOutcome *outcome = g_ptr_array_index (outcomes, i);

      if (outcome->succeeded)
        sluice_redis_command_add_string (command, outcome->record_id);
    }
  for (guint i = 0; i < outcomes->len; i++)
    {
      SluiceRecordOutcome *outcome = g_ptr_array_index (outcomes, i);

      if (!outcome->succeeded)
        {
          sluice_redis_command_add_string (command, outcome->record_id);
          sluice_redis_command_add_string (command, outcome->error != NULL ? outcome->error : "");
        }
    }
  sluice_redis_connection_send (self->conn, command, settle_reply, task);
}

/* retry_failed */

static void
retry_failed_reply (redisReply *reply,
                    GError     *error,
                    gpointer    user_data)
{
  GTask *task = user_data;

  if ((reply = take_reply (task, reply, error)) != NULL)
    {
      if (reply->type == REDIS_REPLY_INTEGER)
        g_task_return_int (task, (gssize) reply->integer);
      else
        return_unexpected (task, reply);
    }
  g_object_unref (task);
}

static void
redis_retry_failed_async (SluiceBatchStore   *store,
                          const char         *batch_id,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, batch_id, OP_RETRY_FAILED, cancellable, callback,
                                          user_data, redis_retry_failed_async);
  SluiceRedisCommand    *command;

  if (!check_batch_id (task, batch_id))
    return;

  command = batch_script (self, SLUICE_REDIS_SCRIPT_BATCH_RETRY_FAILED, batch_id, 0, 0);
  sluice_redis_connection_send (self->conn, command, retry_failed_reply, task);
}

static gboolean
redis_retry_failed_finish (SluiceBatchStore *store,
                           GAsyncResult     *result,
                           guint64          *out_count,
                           GError          **error)
{
  GError *local_error = NULL;
  gssize  count = g_task_propagate_int (G_TASK (result), &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (out_count != NULL)
    *out_count = (guint64) MAX (count, 0);
  return TRUE;
}

/* get_info and list */

static SluiceBatchInfo *
info_from_fields (const char        *batch_id,
                  redisReply *const *fields)
{
  SluiceBatchInfo  *info;
  const redisReply *workflow = fields[0];
  gboolean          named = workflow != NULL && workflow->type == REDIS_REPLY_STRING &&
                   workflow->len > 0;

  info = sluice_batch_info_new (batch_id, named ? workflow->str : NULL);
  info->chunk_size = (guint) MIN (reply_uint (fields[1]), G_MAXUINT);
  info->max_failed = reply_uint (fields[2]);
  info->created_usec = reply_int (fields[3]);
  info->expires_usec = reply_int (fields[4]);
  info->state = (SluiceBatchState) MIN (reply_uint (fields[5]), SLUICE_BATCH_CANCELLED);
  info->counts[SLUICE_RECORD_PENDING] = reply_uint (fields[6]);
  info->counts[SLUICE_RECORD_PROCESSING] = reply_uint (fields[7]);
  info->counts[SLUICE_RECORD_SUCCEEDED] = reply_uint (fields[8]);
  info->counts[SLUICE_RECORD_FAILED] = reply_uint (fields[9]);
  return info;
}

static void
get_info_reply (redisReply *reply,
                GError     *error,
                gpointer    user_data)
{
  GTask *task = user_data;
  Call  *call = g_task_get_task_data (task);

  if ((reply = take_reply (task, reply, error)) == NULL)
    goto out;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != N_META_FIELDS)
    {
      return_unexpected (task, reply);
      goto out;
    }
  /* No state: no meta hash. */
  if (reply->element[5]->type != REDIS_REPLY_STRING)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                               "batch '%s' does not exist (or has expired)", call->batch_id);
      goto out;
    }
  g_task_return_pointer (task, info_from_fields (call->batch_id, reply->element),
                         (GDestroyNotify) sluice_batch_info_free);

out:
  g_object_unref (task);
}

static void
redis_get_info_async (SluiceBatchStore   *store,
                      const char         *batch_id,
                      GCancellable       *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, batch_id, OP_GET_INFO, cancellable, callback,
                                          user_data, redis_get_info_async);
  SluiceRedisCommand    *command;
  g_autofree char       *key = NULL;

  if (!check_batch_id (task, batch_id))
    return;

  key = g_strconcat (self->prefix, "batch:{", batch_id, "}:meta", NULL);
  command = sluice_redis_command_new (2 + N_META_FIELDS, strlen (key) + 128);
  sluice_redis_command_add_string (command, "HMGET");
  sluice_redis_command_add_string (command, key);
  for (guint i = 0; i < N_META_FIELDS; i++)
    sluice_redis_command_add_string (command, meta_fields[i]);
  sluice_redis_connection_send (self->conn, command, get_info_reply, task);
}

static SluiceBatchInfo *
redis_get_info_finish (SluiceBatchStore *store,
                       GAsyncResult     *result,
                       GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
list_reply (redisReply *reply,
            GError     *error,
            gpointer    user_data)
{
  GTask *task = user_data;
  g_autoptr (GPtrArray) batches = NULL;

  if ((reply = take_reply (task, reply, error)) == NULL)
    goto out;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements % (1 + N_META_FIELDS) != 0)
    {
      return_unexpected (task, reply);
      goto out;
    }

  batches = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_batch_info_free);
  for (size_t i = 0; i < reply->elements; i += 1 + N_META_FIELDS)
    {
      const redisReply *id = reply->element[i];

      if (id->type != REDIS_REPLY_STRING)
        continue;
      g_ptr_array_add (batches, info_from_fields (id->str, reply->element + i + 1));
    }
  g_task_return_pointer (task, g_steal_pointer (&batches), (GDestroyNotify) g_ptr_array_unref);

out:
  g_object_unref (task);
}

static void
redis_list_async (SluiceBatchStore   *store,
                  GCancellable       *cancellable,
                  GAsyncReadyCallback callback,
                  gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, "*", OP_LIST, cancellable, callback, user_data,
                                          redis_list_async);
  SluiceRedisCommand    *command;

  command = sluice_redis_command_new_script (SLUICE_REDIS_SCRIPT_BATCH_LIST, 1, 1,
                                             strlen (self->batches_key) + strlen (self->prefix));
  sluice_redis_command_add_string (command, self->batches_key);
  sluice_redis_command_add_string (command, self->prefix);
  sluice_redis_connection_send (self->conn, command, list_reply, task);
}

/* list_failed */

static void
list_failed_reply (redisReply *reply,
                   GError     *error,
                   gpointer    user_data)
{
  GTask *task = user_data;
  g_autoptr (GPtrArray) messages = NULL;

  if ((reply = take_reply (task, reply, error)) == NULL)
    goto out;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 4 != 0)
    {
      return_unexpected (task, reply);
      goto out;
    }

  messages = g_ptr_array_new_full ((guint) (reply->elements / 4), g_object_unref);
  for (size_t i = 0; i < reply->elements; i += 4)
    {
      const redisReply *id = reply->element[i];
      const redisReply *error_text = reply->element[i + 3];
      SluiceMessage    *message;

      if (id->type != REDIS_REPLY_STRING)
        {
          return_unexpected (task, reply);
          goto out;
        }
      message = message_from_record (id->str, reply_uint (reply->element[i + 1]),
                                     reply->element[i + 2]);
      sluice_message_set_header (message, ERROR_HEADER,
                                 error_text->type == REDIS_REPLY_STRING ? error_text->str : "");
      g_ptr_array_add (messages, message);
    }
  g_task_return_pointer (task, g_steal_pointer (&messages), (GDestroyNotify) g_ptr_array_unref);

out:
  g_object_unref (task);
}

static void
redis_list_failed_async (SluiceBatchStore   *store,
                         const char         *batch_id,
                         guint64             offset,
                         guint               limit,
                         GCancellable       *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, batch_id, OP_LIST_FAILED, cancellable, callback,
                                          user_data, redis_list_failed_async);
  SluiceRedisCommand    *command;

  if (!check_batch_id (task, batch_id))
    return;
  if (offset > (guint64) G_MAXINT64 / 2)
    {
      g_task_return_pointer (task, g_ptr_array_new_with_free_func (g_object_unref),
                             (GDestroyNotify) g_ptr_array_unref);
      g_object_unref (task);
      return;
    }

  command = batch_script (self, SLUICE_REDIS_SCRIPT_BATCH_LIST_FAILED, batch_id, 2, 48);
  sluice_redis_command_add_int (command, (gint64) offset);
  sluice_redis_command_add_int (command, limit);
  sluice_redis_connection_send (self->conn, command, list_failed_reply, task);
}

/* set_state */

static void
set_state_reply (redisReply *reply,
                 GError     *error,
                 gpointer    user_data)
{
  GTask *task = user_data;

  if ((reply = take_reply (task, reply, error)) != NULL)
    {
      if (reply->type == REDIS_REPLY_INTEGER)
        g_task_return_boolean (task, TRUE);
      else
        return_unexpected (task, reply);
    }
  g_object_unref (task);
}

static void
redis_set_state_async (SluiceBatchStore   *store,
                       const char         *batch_id,
                       SluiceBatchState    state,
                       GCancellable       *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, batch_id, OP_SET_STATE, cancellable, callback,
                                          user_data, redis_set_state_async);
  Call                  *call = g_task_get_task_data (task);
  SluiceRedisCommand    *command;

  if (!check_batch_id (task, batch_id))
    return;
  if ((guint) state > SLUICE_BATCH_CANCELLED)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               "batch '%s': %d is not a batch state", batch_id, (int) state);
      g_object_unref (task);
      return;
    }
  call->state = state;

  command = batch_script (self, SLUICE_REDIS_SCRIPT_BATCH_SET_STATE, batch_id, 1, 8);
  sluice_redis_command_add_int (command, state);
  sluice_redis_connection_send (self->conn, command, set_state_reply, task);
}

/* delete */

static void
delete_reply (redisReply *reply,
              GError     *error,
              gpointer    user_data)
{
  GTask *task = user_data;

  if (take_reply (task, reply, error) != NULL)
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
redis_delete_async (SluiceBatchStore   *store,
                    const char         *batch_id,
                    GCancellable       *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer            user_data)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (store);
  GTask                 *task = new_task (self, batch_id, OP_DELETE, cancellable, callback,
                                          user_data, redis_delete_async);
  SluiceRedisCommand    *command;

  if (!check_batch_id (task, batch_id))
    return;

  command = batch_script (self, SLUICE_REDIS_SCRIPT_BATCH_DELETE, batch_id, 1, strlen (batch_id));
  sluice_redis_command_add_string (command, batch_id);
  sluice_redis_connection_send (self->conn, command, delete_reply, task);
}

static void
sluice_redis_batch_store_iface_init (SluiceBatchStoreInterface *iface)
{
  iface->create_async = redis_create_async;
  iface->create_finish = redis_boolean_finish;
  iface->add_async = redis_add_async;
  iface->add_finish = redis_boolean_finish;
  iface->claim_async = redis_claim_async;
  iface->claim_finish = redis_pointer_finish;
  iface->settle_async = redis_settle_async;
  iface->settle_finish = redis_boolean_finish;
  iface->retry_failed_async = redis_retry_failed_async;
  iface->retry_failed_finish = redis_retry_failed_finish;
  iface->get_info_async = redis_get_info_async;
  iface->get_info_finish = redis_get_info_finish;
  iface->list_async = redis_list_async;
  iface->list_finish = redis_pointer_finish;
  iface->list_failed_async = redis_list_failed_async;
  iface->list_failed_finish = redis_pointer_finish;
  iface->set_state_async = redis_set_state_async;
  iface->set_state_finish = redis_boolean_finish;
  iface->delete_async = redis_delete_async;
  iface->delete_finish = redis_boolean_finish;
}

/* GInitable */

static gboolean
sluice_redis_batch_store_initable_init (GInitable    *initable,
                                        GCancellable *cancellable,
                                        GError      **error)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (initable);
  SluiceContext         *context = sluice_component_get_context (self);
  SluiceRedisConfig     *config;

  config = sluice_redis_config_new (context, sluice_component_get_config (self), COMPONENT, error);
  if (config == NULL)
    return FALSE;

  self->prefix = g_strdup (config->prefix);
  self->batches_key = g_strconcat (config->prefix, "batches", NULL);
  /* Lease names are made here, unique among every store on the server:
   * the caller reads the lease's list in the claim's transaction. */
  self->lease_prefix = g_strdup_printf ("%08x%08x-", g_random_int (), g_random_int ());
  self->conn = sluice_redis_connection_new (config, context);
  return TRUE;
}

static void
sluice_redis_batch_store_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_redis_batch_store_initable_init;
}

/* GObject */

static void
sluice_redis_batch_store_finalize (GObject *object)
{
  SluiceRedisBatchStore *self = SLUICE_REDIS_BATCH_STORE (object);

  g_clear_object (&self->conn);
  g_free (self->prefix);
  g_free (self->batches_key);
  g_free (self->lease_prefix);

  G_OBJECT_CLASS (sluice_redis_batch_store_parent_class)->finalize (object);
}

static void
sluice_redis_batch_store_class_init (SluiceRedisBatchStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_redis_batch_store_finalize;
}

static void
sluice_redis_batch_store_init (SluiceRedisBatchStore *self)
{
}
