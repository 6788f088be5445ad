/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-dead-letter-store.h"

#include <string.h>

#include "sluice-redis-config.h"
#include "sluice-redis-connection.h"

#define COMPONENT "redis.dead-letter-store"

/* How many index members a list call walks per round trip when it has to
 * look at each letter, and how many letters it fetches at most per round
 * trip. */
#define SCAN_SLICE 1000
#define FETCH_SLICE 500

/* How many ids one remove script takes: each call is atomic and short, so
 * other clients are not held up by a purge of many thousands. */
#define REMOVE_SLICE 1000

/* The index member is first_usec in this many digits, ':' and the id. */
#define AT_DIGITS 19
#define AT_ID_OFFSET (AT_DIGITS + 1)

/* The scripts are this file's own, not in the connection's set that it
 * loads at every handshake: the store loads them when it starts, calls
 * them with EVALSHA, and with EVAL (which loads them again) when the
 * server answers NOSCRIPT after a restart or a SCRIPT FLUSH. */
typedef struct
{
  const char *body;
  char        sha1[41];
} Script;

/* The fields a filter reads live in three hashes, id -> value, beside the
 * letters: a list call reads them for a whole slice of the index with one
 * HMGET each, which costs Redis far less than a command, or a Lua call,
 * per letter. */
typedef enum
{
  FIELD_LAST,
  FIELD_NODE,
  FIELD_ERROR,
  N_FIELDS,
} FieldHash;

static const char *const field_suffixes[N_FIELDS] = {
  [FIELD_LAST] = "dl:last",
  [FIELD_NODE] = "dl:node",
  [FIELD_ERROR] = "dl:error",
};

/* KEYS: letter, index, workflow index, then the last, node and error
 * hashes. ARGV: workflow index prefix, index member, workflow, id, last,
 * node, whether there is a node ("1"), error, whether there is an error,
 * then the letter's field, value, ... A letter replaced under another
 * time or workflow leaves the index entries of the old one first. */
static Script put_script = {
  "local old = redis.call('HMGET', KEYS[1], 'at', 'workflow')\n"
  "if old[1] then\n"
  "  redis.call('ZREM', KEYS[2], old[1])\n"
  "  redis.call('ZREM', ARGV[1] .. old[2], old[1])\n"
  "  redis.call('DEL', KEYS[1])\n"
  "end\n"
  "redis.call('HSET', KEYS[1], 'at', ARGV[2], 'workflow', ARGV[3], unpack(ARGV, 10))\n"
  "redis.call('ZADD', KEYS[2], 0, ARGV[2])\n"
  "redis.call('ZADD', KEYS[3], 0, ARGV[2])\n"
  "redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])\n"
  "if ARGV[7] == '1' then\n"
  "  redis.call('HSET', KEYS[5], ARGV[4], ARGV[6])\n"
  "else\n"
  "  redis.call('HDEL', KEYS[5], ARGV[4])\n"
  "end\n"
  "if ARGV[9] == '1' then\n"
  "  redis.call('HSET', KEYS[6], ARGV[4], ARGV[8])\n"
  "else\n"
  "  redis.call('HDEL', KEYS[6], ARGV[4])\n"
  "end\n"
  "return 1\n",
  "",
};

/* KEYS: index, then the last, node and error hashes. ARGV: letter
 * prefix, workflow index prefix, then ids. Returns how many letters were
 * there; an id given twice counts once. */
static Script remove_script = {
  "local n = 0\n"
  "for i = 3, #ARGV do\n"
  "  local id = ARGV[i]\n"
  "  local key = ARGV[1] .. id\n"
  "  local old = redis.call('HMGET', key, 'at', 'workflow')\n"
  "  if old[1] then\n"
  "    redis.call('ZREM', KEYS[1], old[1])\n"
  "    redis.call('ZREM', ARGV[2] .. old[2], old[1])\n"
  "    redis.call('DEL', key)\n"
  "    redis.call('HDEL', KEYS[2], id)\n"
  "    redis.call('HDEL', KEYS[3], id)\n"
  "    redis.call('HDEL', KEYS[4], id)\n"
  "    n = n + 1\n"
  "  end\n"
  "end\n"
  "return n\n",
  "",
};

struct _SluiceRedisDeadLetterStore
{
  GObject parent_instance;

  SluiceRedisConnection *conn;
  char                  *letter_prefix;   /* prefix + "dl:letter:" */
  char                  *index_key;       /* prefix + "dl:index" */
  char                  *workflow_prefix; /* prefix + "dl:wf:" */
  char                  *field_keys[N_FIELDS];
};

static void sluice_redis_dead_letter_store_initable_iface_init (GInitableIface *iface);
static void sluice_redis_dead_letter_store_iface_init (SluiceDeadLetterStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceRedisDeadLetterStore, sluice_redis_dead_letter_store,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_redis_dead_letter_store_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_DEAD_LETTER_STORE,
                                                      sluice_redis_dead_letter_store_iface_init))

/* Helpers */

static SluiceRedisCommand *
script_command_new (const Script *script,
                    gboolean      eval,
                    guint         numkeys,
                    guint         n_args,
                    gsize         size_hint)
{
  const char         *text = eval ? script->body : script->sha1;
  SluiceRedisCommand *command;

  command = sluice_redis_command_new (3 + numkeys + n_args, size_hint + strlen (text) + 32);
  sluice_redis_command_add_string (command, eval ? "EVAL" : "EVALSHA");
  sluice_redis_command_add_string (command, text);
  sluice_redis_command_add_int (command, numkeys);
  return command;
}

static gboolean
is_noscript (const redisReply *reply)
{
  return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
         g_str_has_prefix (reply->str, "NOSCRIPT");
}

static void
add_joined (SluiceRedisCommand *command,
            const char         *a,
            const char         *b,
            gsize               b_len)
{
  gsize    a_len = strlen (a);
  GString *buf = sluice_redis_command_begin_arg (command, a_len + b_len);

  g_string_append_len (buf, a, (gssize) a_len);
  g_string_append_len (buf, b, (gssize) b_len);
  sluice_redis_command_end_arg (command);
}

static void
add_letter_key (SluiceRedisDeadLetterStore *self,
                SluiceRedisCommand         *command,
                const char                 *id)
{
  add_joined (command, self->letter_prefix, id, strlen (id));
}

/* The index member of a letter: its order in the listing, as text. */
static char *
index_member (const SluiceDeadLetter *letter)
{
  return g_strdup_printf ("%0*" G_GINT64_FORMAT ":%s", AT_DIGITS, letter->first_usec, letter->id);
}

static const char *
member_id (const char *member)
{
  return strlen (member) >= AT_ID_OFFSET ? member + AT_ID_OFFSET : member;
}

/* Headers travel apart from the JSON, which keeps them as an object: that
 * would merge repeated names and lose their order. */
static GString *
join_headers (char **headers)
{
  GString *joined = g_string_new (NULL);

  for (guint i = 0; headers[i] != NULL; i++)
    g_string_append_len (joined, headers[i], (gssize) strlen (headers[i]) + 1);
  return joined;
}

static char **
split_headers (const char *data,
               gsize       len)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  gsize start = 0;
  guint n = 0;

  for (gsize i = 0; i < len; i++)
    if (data[i] == '\0')
      {
        if (!g_utf8_validate (data + start, (gssize) (i - start), NULL))
          return NULL;
        g_strv_builder_add (builder, data + start);
        start = i + 1;
        n++;
      }
  if (start != len || n % 2 != 0)
    return NULL;
  return g_strv_builder_end (builder);
}

/* A letter from its hash's meta, headers and payload fields. */
static SluiceDeadLetter *
decode_letter (SluiceRedisDeadLetterStore *self,
               const char                 *id,
               const redisReply           *meta,
               const redisReply           *headers,
               const redisReply           *payload,
               GError                    **error)
{
  g_autoptr (SluiceDeadLetter) letter = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) local_error = NULL;

  if (meta->type != REDIS_REPLY_STRING ||
      (headers->type != REDIS_REPLY_STRING && headers->type != REDIS_REPLY_NIL) ||
      (payload->type != REDIS_REPLY_STRING && payload->type != REDIS_REPLY_NIL))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "%s: dead letter '%s' (key '%s%s'): a field is not a string",
                   sluice_redis_connection_get_url (self->conn), id, self->letter_prefix, id);
      return NULL;
    }

  node = json_from_string (meta->str, &local_error);
  if (node != NULL)
    letter = sluice_dead_letter_new_from_json (node, &local_error);
  else if (local_error == NULL)
    local_error = g_error_new_literal (SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA, "meta is empty");
  if (letter != NULL && g_strcmp0 (letter->id, id) != 0)
    {
      local_error = g_error_new (SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                                 "meta holds the dead letter '%s'", letter->id);
      g_clear_pointer (&letter, sluice_dead_letter_free);
    }
  if (letter != NULL && headers->type == REDIS_REPLY_STRING)
    {
      g_strfreev (letter->headers);
      letter->headers = split_headers (headers->str, headers->len);
      if (letter->headers == NULL)
        {
          local_error = g_error_new_literal (SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                                             "headers are not NUL-separated UTF-8 pairs");
          g_clear_pointer (&letter, sluice_dead_letter_free);
        }
    }
  if (letter == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "%s: dead letter '%s' (key '%s%s'): %s",
                   sluice_redis_connection_get_url (self->conn), id, self->letter_prefix, id,
                   local_error->message);
      return NULL;
    }

  g_clear_pointer (&letter->payload, g_bytes_unref);
  if (payload->type == REDIS_REPLY_STRING)
    letter->payload = g_bytes_new (payload->str, payload->len);
  return g_steal_pointer (&letter);
}

static gboolean
is_string_array (const redisReply *reply,
                 gsize             n)
{
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != n)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (reply->element[i]->type != REDIS_REPLY_STRING && reply->element[i]->type != REDIS_REPLY_NIL)
      return FALSE;
  return TRUE;
}

/* put */

typedef struct
{
  SluiceRedisDeadLetterStore *self; /* borrowed from the task */
  SluiceDeadLetter           *letter;
  char                       *meta;
  char                       *at;
  char                       *last;
  GString                    *headers; /* joined; NULL without */
  gboolean                    retried; /* after NOSCRIPT */
} PutCall;

static void
put_call_free (PutCall *call)
{
  sluice_dead_letter_free (call->letter);
  g_free (call->meta);
  g_free (call->at);
  g_free (call->last);
  if (call->headers != NULL)
    g_string_free (call->headers, TRUE);
  g_free (call);
}

static SluiceRedisCommand *
put_command_new (PutCall *call,
                 gboolean eval)
{
  SluiceRedisDeadLetterStore *self = call->self;
  const SluiceDeadLetter     *letter = call->letter;
  SluiceRedisCommand         *command;
  guint                       n_args = 9 + 2;
  gsize                       size = strlen (call->meta) + strlen (letter->workflow) * 3 +
               strlen (letter->id) * 4 + 512;

  if (letter->node != NULL)
    size += strlen (letter->node);
  if (letter->error != NULL)
    size += strlen (letter->error);
  if (call->headers != NULL)
    {
      n_args += 2;
      size += call->headers->len;
    }
  if (letter->payload != NULL)
    {
      n_args += 2;
      size += g_bytes_get_size (letter->payload);
    }

  command = script_command_new (&put_script, eval, 3 + N_FIELDS, n_args, size);
  add_letter_key (self, command, letter->id);
  sluice_redis_command_add_string (command, self->index_key);
  add_joined (command, self->workflow_prefix, letter->workflow, strlen (letter->workflow));
  for (guint i = 0; i < N_FIELDS; i++)
    sluice_redis_command_add_string (command, self->field_keys[i]);
  sluice_redis_command_add_string (command, self->workflow_prefix);
  sluice_redis_command_add_string (command, call->at);
  sluice_redis_command_add_string (command, letter->workflow);
  sluice_redis_command_add_string (command, letter->id);
  sluice_redis_command_add_string (command, call->last);
  sluice_redis_command_add_string (command, letter->node != NULL ? letter->node : "");
  sluice_redis_command_add_string (command, letter->node != NULL ? "1" : "0");
  sluice_redis_command_add_string (command, letter->error != NULL ? letter->error : "");
  sluice_redis_command_add_string (command, letter->error != NULL ? "1" : "0");
  sluice_redis_command_add_string (command, "meta");
  sluice_redis_command_add_string (command, call->meta);
  if (call->headers != NULL)
    {
      sluice_redis_command_add_string (command, "headers");
      sluice_redis_command_add (command, call->headers->str, call->headers->len);
    }
  if (letter->payload != NULL)
    {
      gsize         len;
      gconstpointer data = g_bytes_get_data (letter->payload, &len);

      sluice_redis_command_add_string (command, "payload");
      sluice_redis_command_add (command, data, len);
    }
  return command;
}

static void
put_reply (redisReply *reply,
           GError     *error,
           gpointer    user_data)
{
  GTask   *task = user_data;
  PutCall *call = g_task_get_task_data (task);

  if (error != NULL)
    g_task_return_error (task, error);
  else if (is_noscript (reply) && !call->retried)
    {
      call->retried = TRUE;
      sluice_redis_connection_send (call->self->conn, put_command_new (call, TRUE), put_reply,
                                    task);
      return;
    }
  else if (reply->type != REDIS_REPLY_INTEGER)
    g_task_return_error (task, sluice_redis_connection_reply_error (call->self->conn, reply,
                                                                    "put dead letter '%s'",
                                                                    call->letter->id));
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
redis_put_async (SluiceDeadLetterStore  *store,
                 const SluiceDeadLetter *letter,
                 GCancellable           *cancellable,
                 GAsyncReadyCallback     callback,
                 gpointer                user_data)
{
  SluiceRedisDeadLetterStore *self = SLUICE_REDIS_DEAD_LETTER_STORE (store);
  GTask                      *task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (JsonNode) json = NULL;
  PutCall *call;

  g_task_set_source_tag (task, redis_put_async);
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  call = g_new0 (PutCall, 1);
  call->self = self;
  call->letter = sluice_dead_letter_copy (letter);
  json = sluice_dead_letter_to_json (letter, FALSE);
  json_object_remove_member (json_node_get_object (json), "headers");
  call->meta = json_to_string (json, FALSE);
  call->at = index_member (letter);
  call->last = g_strdup_printf ("%" G_GINT64_FORMAT, letter->last_usec);
  if (letter->headers != NULL)
    call->headers = join_headers (letter->headers);
  g_task_set_task_data (task, call, (GDestroyNotify) put_call_free);

  sluice_redis_connection_send (self->conn, put_command_new (call, FALSE), put_reply, task);
}

static gboolean
redis_put_finish (SluiceDeadLetterStore *store,
                  GAsyncResult          *result,
                  GError               **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* get */

static void
get_reply (redisReply *reply,
           GError     *error,
           gpointer    user_data)
{
  GTask                      *task = user_data;
  SluiceRedisDeadLetterStore *self = g_task_get_source_object (task);
  const char                 *id = g_task_get_task_data (task);
  SluiceDeadLetter           *letter;

  if (error != NULL)
    g_task_return_error (task, error);
  else if (!is_string_array (reply, 3))
    g_task_return_error (task, sluice_redis_connection_reply_error (self->conn, reply,
                                                                    "get dead letter '%s'", id));
  else if (reply->element[0]->type == REDIS_REPLY_NIL)
    g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                             "%s: dead letter '%s' not found",
                             sluice_redis_connection_get_url (self->conn), id);
  else if ((letter = decode_letter (self, id, reply->element[0], reply->element[1],
                                    reply->element[2], &error)) == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, letter, (GDestroyNotify) sluice_dead_letter_free);
  g_object_unref (task);
}

static void
redis_get_async (SluiceDeadLetterStore *store,
                 const char            *id,
                 GCancellable          *cancellable,
                 GAsyncReadyCallback    callback,
                 gpointer               user_data)
{
  SluiceRedisDeadLetterStore *self = SLUICE_REDIS_DEAD_LETTER_STORE (store);
  GTask                      *task = g_task_new (self, cancellable, callback, user_data);
  SluiceRedisCommand         *command;

  g_task_set_source_tag (task, redis_get_async);
  g_task_set_task_data (task, g_strdup (id), g_free);
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  command = sluice_redis_command_new (5, strlen (self->letter_prefix) + strlen (id) + 64);
  sluice_redis_command_add_string (command, "HMGET");
  add_letter_key (self, command, id);
  sluice_redis_command_add_string (command, "meta");
  sluice_redis_command_add_string (command, "headers");
  sluice_redis_command_add_string (command, "payload");
  sluice_redis_connection_send (self->conn, command, get_reply, task);
}

static SluiceDeadLetter *
redis_get_finish (SluiceDeadLetterStore *store,
                  GAsyncResult          *result,
                  GError               **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* list
 *
 * Walks the index (the workflow's own when the filter names one) in
 * slices. Only when the filter has more than a workflow does it look at
 * each letter, and then only at the few fields a filter reads; the full
 * letters, payloads included, are fetched for the page alone. Without
 * such a filter every member of the index matches, and the offset is a
 * rank that Redis finds at once. */

typedef struct
{
  SluiceRedisDeadLetterStore *self; /* borrowed from the task */
  SluiceDeadLetterFilter      filter;
  char                       *index_key;
  gboolean                    all_match; /* every member of the index passes the filter */
  guint64                     offset;    /* the first rank, for the first slice */
  guint64                     to_skip;   /* matches still to skip */
  guint                       limit;
  char                       *cursor;           /* the last member walked; NULL before the first */
  gboolean                    at_end;           /* nothing in the index after the cursor */
  gboolean                    fields[N_FIELDS]; /* which field hashes the filter reads */
  GPtrArray                  *members;          /* of the slice being filtered */
  GPtrArray                  *wanted;           /* members whose letters go on the page */
  GPtrArray                  *page;
} ListCall;

static void
list_call_free (ListCall *call)
{
  g_free (call->filter.workflow);
  g_free (call->filter.node);
  g_free (call->filter.error_contains);
  g_free (call->index_key);
  g_free (call->cursor);
  g_ptr_array_unref (call->members);
  g_ptr_array_unref (call->wanted);
  g_ptr_array_unref (call->page);
  g_free (call);
}

static void list_next_slice (GTask *task);

static guint
list_remaining (ListCall *call)
{
  return call->limit - call->page->len;
}

/* Ends the call: the page, or an error when it was cancelled meanwhile.
 * Takes the task. */
static void
list_done (GTask *task)
{
  ListCall *call = g_task_get_task_data (task);

  g_task_return_pointer (task, g_ptr_array_ref (call->page), (GDestroyNotify) g_ptr_array_unref);
  g_object_unref (task);
}

/* Takes the task. */
static void
list_fail (GTask      *task,
           GError     *error,
           redisReply *reply,
           const char *what)
{
  ListCall *call = g_task_get_task_data (task);

  if (error == NULL)
    error = sluice_redis_connection_reply_error (call->self->conn, reply, "list dead letters: %s",
                                                 what);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static gboolean
list_cancelled (GTask *task)
{
  if (!g_task_return_error_if_cancelled (task))
    return FALSE;
  g_object_unref (task);
  return TRUE;
}

static void
page_reply (redisReply *reply,
            GError     *error,
            gpointer    user_data)
{
  GTask    *task = user_data;
  ListCall *call = g_task_get_task_data (task);

  if (error != NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != call->wanted->len)
    {
      list_fail (task, error, reply, "fetch the page");
      return;
    }

  for (gsize i = 0; i < reply->elements; i++)
    {
      const char       *id = member_id (g_ptr_array_index (call->wanted, i));
      redisReply       *fields = reply->element[i];
      SluiceDeadLetter *letter;

      if (!is_string_array (fields, 3))
        {
          list_fail (task, NULL, fields, "fetch the page");
          return;
        }
      /* Removed since the walk saw it. */
      if (fields->element[0]->type == REDIS_REPLY_NIL)
        continue;
      letter = decode_letter (call->self, id, fields->element[0], fields->element[1],
                              fields->element[2], &error);
      if (letter == NULL)
        {
          list_fail (task, error, NULL, NULL);
          return;
        }
      /* The walk filtered on a few fields; this is the letter itself, which
       * may also have been replaced meanwhile. */
      if (sluice_dead_letter_filter_matches (&call->filter, letter))
        g_ptr_array_add (call->page, letter);
      else
        sluice_dead_letter_free (letter);
    }
  g_ptr_array_set_size (call->wanted, 0);

  if (list_remaining (call) == 0 || call->at_end)
    list_done (task);
  else
    list_next_slice (task);
}

static void
list_fetch_page (GTask *task)
{
  ListCall  *call = g_task_get_task_data (task);
  GPtrArray *commands;

  if (list_cancelled (task))
    return;

  commands = g_ptr_array_new_full (call->wanted->len,
                                   (GDestroyNotify) sluice_redis_command_free);
  for (guint i = 0; i < call->wanted->len; i++)
    {
      const char         *id = member_id (g_ptr_array_index (call->wanted, i));
      SluiceRedisCommand *command = sluice_redis_command_new (5, strlen (id) + 96);

      sluice_redis_command_add_string (command, "HMGET");
      add_letter_key (call->self, command, id);
      sluice_redis_command_add_string (command, "meta");
      sluice_redis_command_add_string (command, "headers");
      sluice_redis_command_add_string (command, "payload");
      g_ptr_array_add (commands, command);
    }
  /* One transaction: the page is read as of one moment. */
  sluice_redis_connection_send_transaction (call->self->conn, commands, page_reply, task);
}

/* The replies of HMGET on each field hash the filter reads, for the
 * members of the slice. */
static void
fields_reply (redisReply *reply,
              GError     *error,
              gpointer    user_data)
{
  GTask      *task = user_data;
  ListCall   *call = g_task_get_task_data (task);
  guint       remaining = list_remaining (call);
  guint       n = call->members->len;
  redisReply *values[N_FIELDS] = { NULL };
  guint       k = 0;

  if (error != NULL || reply->type != REDIS_REPLY_ARRAY)
    {
      list_fail (task, error, reply, "read the filtered fields");
      return;
    }
  for (guint f = 0; f < N_FIELDS; f++)
    if (call->fields[f])
      {
        if (k >= reply->elements || !is_string_array (reply->element[k], n))
          {
            list_fail (task, NULL, k < reply->elements ? reply->element[k] : reply,
                       "read the filtered fields");
            return;
          }
        values[f] = reply->element[k++];
      }

  for (guint i = 0; i < n; i++)
    {
      const char      *member = g_ptr_array_index (call->members, i);
      SluiceDeadLetter stub = { 0 };

      /* In a workflow's index every letter is of that workflow. A field
       * the filter does not read stays unset; one the SDK may add later
       * is unset too, and checked on the whole letter once fetched. A
       * letter removed since the slice was read has no "last", no node
       * and no error: it matches no filter that reads them. */
      stub.id = (char *) member_id (member);
      stub.workflow = call->filter.workflow != NULL ? call->filter.workflow : (char *) "";
      if (values[FIELD_NODE] != NULL)
        stub.node = values[FIELD_NODE]->element[i]->str;
      if (values[FIELD_ERROR] != NULL)
        stub.error = values[FIELD_ERROR]->element[i]->str;
      if (values[FIELD_LAST] != NULL)
        {
          if (values[FIELD_LAST]->element[i]->type == REDIS_REPLY_NIL)
            continue;
          stub.last_usec = g_ascii_strtoll (values[FIELD_LAST]->element[i]->str, NULL, 10);
        }
      if (!sluice_dead_letter_filter_matches (&call->filter, &stub))
        continue;
      if (call->to_skip > 0)
        {
          call->to_skip--;
          continue;
        }
      g_ptr_array_add (call->wanted, g_strdup (member));
      if (call->wanted->len == remaining)
        {
          /* The next slice resumes right after this one. */
          g_free (call->cursor);
          call->cursor = g_strdup (member);
          call->at_end = FALSE;
          break;
        }
    }
  g_ptr_array_set_size (call->members, 0);

  if (call->wanted->len > 0)
    list_fetch_page (task);
  else if (call->at_end)
    list_done (task);
  else
    list_next_slice (task);
}

static void
list_read_fields (GTask *task)
{
  ListCall  *call = g_task_get_task_data (task);
  GPtrArray *commands = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_redis_command_free);
  gsize      ids_size = 0;

  for (guint i = 0; i < call->members->len; i++)
    ids_size += strlen (g_ptr_array_index (call->members, i)) + 16;
  for (guint f = 0; f < N_FIELDS; f++)
    {
      SluiceRedisCommand *command;

      if (!call->fields[f])
        continue;
      command = sluice_redis_command_new (2 + call->members->len, ids_size + 64);
      sluice_redis_command_add_string (command, "HMGET");
      sluice_redis_command_add_string (command, call->self->field_keys[f]);
      for (guint i = 0; i < call->members->len; i++)
        sluice_redis_command_add_string (command, member_id (g_ptr_array_index (call->members, i)));
      g_ptr_array_add (commands, command);
    }
  sluice_redis_connection_send_transaction (call->self->conn, commands, fields_reply, task);
}

/* The members of a slice of the index. */
static void
slice_reply (redisReply *reply,
             GError     *error,
             gpointer    user_data)
{
  GTask    *task = user_data;
  ListCall *call = g_task_get_task_data (task);

  if (error != NULL || reply->type != REDIS_REPLY_ARRAY)
    {
      list_fail (task, error, reply, "walk the index");
      return;
    }
  for (gsize i = 0; i < reply->elements; i++)
    if (reply->element[i]->type != REDIS_REPLY_STRING)
      {
        list_fail (task, NULL, reply->element[i], "walk the index");
        return;
      }

  call->at_end = reply->elements < (call->all_match ? MIN (list_remaining (call), FETCH_SLICE)
                                                    : SCAN_SLICE);
  if (reply->elements == 0)
    {
      list_done (task);
      return;
    }
  g_free (call->cursor);
  call->cursor = g_strdup (reply->element[reply->elements - 1]->str);
  for (gsize i = 0; i < reply->elements; i++)
    g_ptr_array_add (call->all_match ? call->wanted : call->members,
                     g_strdup (reply->element[i]->str));
  if (call->all_match)
    list_fetch_page (task);
  else
    list_read_fields (task);
}

static void
list_next_slice (GTask *task)
{
  ListCall           *call = g_task_get_task_data (task);
  SluiceRedisCommand *command;
  guint               count = MIN (list_remaining (call), FETCH_SLICE);

  if (list_cancelled (task))
    return;

  if (call->all_match && call->cursor == NULL)
    {
      /* The offset is a rank: the first slice starts right there. */
      command = sluice_redis_command_new (4, strlen (call->index_key) + 64);
      sluice_redis_command_add_string (command, "ZRANGE");
      sluice_redis_command_add_string (command, call->index_key);
      sluice_redis_command_add_int (command, (gint64) call->offset);
      sluice_redis_command_add_int (command, (gint64) (call->offset + count - 1));
    }
  else
    {
      /* Resumes right after the last member walked, wherever it is now. */
      gsize cursor_len = call->cursor != NULL ? strlen (call->cursor) : 0;

      command = sluice_redis_command_new (8, strlen (call->index_key) + cursor_len + 64);
      sluice_redis_command_add_string (command, "ZRANGE");
      sluice_redis_command_add_string (command, call->index_key);
      if (call->cursor != NULL)
        add_joined (command, "(", call->cursor, cursor_len);
      else
        sluice_redis_command_add_string (command, "-");
      sluice_redis_command_add_string (command, "+");
      sluice_redis_command_add_string (command, "BYLEX");
      sluice_redis_command_add_string (command, "LIMIT");
      sluice_redis_command_add_int (command, 0);
      sluice_redis_command_add_int (command, call->all_match ? count : SCAN_SLICE);
    }
  sluice_redis_connection_send (call->self->conn, command, slice_reply, task);
}

static void
redis_list_async (SluiceDeadLetterStore        *store,
                  const SluiceDeadLetterFilter *filter,
                  guint64                       offset,
                  guint                         limit,
                  GCancellable                 *cancellable,
                  GAsyncReadyCallback           callback,
                  gpointer                      user_data)
{
  SluiceRedisDeadLetterStore *self = SLUICE_REDIS_DEAD_LETTER_STORE (store);
  GTask                      *task = g_task_new (self, cancellable, callback, user_data);
  ListCall                   *call = g_new0 (ListCall, 1);

  g_task_set_source_tag (task, redis_list_async);
  call->self = self;
  if (filter != NULL)
    {
      call->filter.workflow = g_strdup (filter->workflow);
      call->filter.node = g_strdup (filter->node);
      call->filter.error_contains = g_strdup (filter->error_contains);
      call->filter.since_usec = filter->since_usec;
      call->filter.until_usec = filter->until_usec;
    }
  call->index_key = call->filter.workflow != NULL
                        ? g_strconcat (self->workflow_prefix, call->filter.workflow, NULL)
                        : g_strdup (self->index_key);
  call->fields[FIELD_LAST] = call->filter.since_usec > 0 || call->filter.until_usec > 0;
  call->fields[FIELD_NODE] = call->filter.node != NULL;
  call->fields[FIELD_ERROR] = call->filter.error_contains != NULL;
  call->all_match = !call->fields[FIELD_LAST] && !call->fields[FIELD_NODE] &&
                    !call->fields[FIELD_ERROR];
  call->offset = offset;
  call->to_skip = call->all_match ? 0 : offset;
  call->limit = limit;
  call->members = g_ptr_array_new_with_free_func (g_free);
  call->wanted = g_ptr_array_new_with_free_func (g_free);
  call->page = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_dead_letter_free);
  g_task_set_task_data (task, call, (GDestroyNotify) list_call_free);

  /* No rank Redis could take is that far. */
  if (call->all_match && offset > (guint64) G_MAXINT64 - limit)
    {
      g_task_return_pointer (task, g_ptr_array_ref (call->page),
                             (GDestroyNotify) g_ptr_array_unref);
      g_object_unref (task);
      return;
    }
  list_next_slice (task);
}

static GPtrArray *
redis_list_finish (SluiceDeadLetterStore *store,
                   GAsyncResult          *result,
                   GError               **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* remove */

typedef struct
{
  SluiceRedisDeadLetterStore *self; /* borrowed from the task */
  GPtrArray                  *ids;
  guint                       pending; /* script calls without a reply yet */
  guint64                     removed;
  GError                     *error; /* the first failure */
} RemoveCall;

/* One script call: the ids from @start, at most REMOVE_SLICE. */
typedef struct
{
  GTask   *task;
  guint    start;
  guint    end;
  gboolean retried; /* after NOSCRIPT */
} RemoveSlice;

static void
remove_call_free (RemoveCall *call)
{
  g_ptr_array_unref (call->ids);
  g_clear_error (&call->error);
  g_free (call);
}

static SluiceRedisCommand *
remove_command_new (RemoveCall  *call,
                    RemoveSlice *slice,
                    gboolean     eval)
{
  SluiceRedisDeadLetterStore *self = call->self;
  SluiceRedisCommand         *command;
  gsize                       size = 256;

  for (guint i = slice->start; i < slice->end; i++)
    size += strlen (g_ptr_array_index (call->ids, i)) + 16;
  command = script_command_new (&remove_script, eval, 1 + N_FIELDS, 2 + slice->end - slice->start,
                                size);
  sluice_redis_command_add_string (command, self->index_key);
  for (guint i = 0; i < N_FIELDS; i++)
    sluice_redis_command_add_string (command, self->field_keys[i]);
  sluice_redis_command_add_string (command, self->letter_prefix);
  sluice_redis_command_add_string (command, self->workflow_prefix);
  for (guint i = slice->start; i < slice->end; i++)
    sluice_redis_command_add_string (command, g_ptr_array_index (call->ids, i));
  return command;
}

static void
remove_reply (redisReply *reply,
              GError     *error,
              gpointer    user_data)
{
  RemoveSlice *slice = user_data;
  GTask       *task = slice->task;
  RemoveCall  *call = g_task_get_task_data (task);

  if (error == NULL && is_noscript (reply) && !slice->retried)
    {
      slice->retried = TRUE;
      sluice_redis_connection_send (call->self->conn, remove_command_new (call, slice, TRUE),
                                    remove_reply, slice);
      return;
    }
  if (error == NULL && reply->type != REDIS_REPLY_INTEGER)
    error = sluice_redis_connection_reply_error (call->self->conn, reply,
                                                 "remove %u dead letters",
                                                 slice->end - slice->start);
  if (error != NULL)
    {
      if (call->error == NULL)
        call->error = error;
      else
        g_error_free (error);
    }
  else
    call->removed += (guint64) reply->integer;
  g_free (slice);

  if (--call->pending > 0)
    return;
  if (call->error != NULL)
    g_task_return_error (task, g_steal_pointer (&call->error));
  else
    g_task_return_pointer (task, g_memdup2 (&call->removed, sizeof call->removed), g_free);
  g_object_unref (task);
}

static void
redis_remove_async (SluiceDeadLetterStore *store,
                    GPtrArray             *ids,
                    GCancellable          *cancellable,
                    GAsyncReadyCallback    callback,
                    gpointer               user_data)
{
  SluiceRedisDeadLetterStore *self = SLUICE_REDIS_DEAD_LETTER_STORE (store);
  GTask                      *task = g_task_new (self, cancellable, callback, user_data);
  RemoveCall                 *call;
  guint                       n_slices;

  g_task_set_source_tag (task, redis_remove_async);
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  if (ids->len == 0)
    {
      g_task_return_pointer (task, g_new0 (guint64, 1), g_free);
      g_object_unref (task);
      return;
    }

  call = g_new0 (RemoveCall, 1);
  call->self = self;
  call->ids = g_ptr_array_new_full (ids->len, g_free);
  for (guint i = 0; i < ids->len; i++)
    g_ptr_array_add (call->ids, g_strdup (g_ptr_array_index (ids, i)));
  g_task_set_task_data (task, call, (GDestroyNotify) remove_call_free);

  /* Every slice is counted as pending before the first is sent: a reply
   * may come before the next is. */
  n_slices = (ids->len + REMOVE_SLICE - 1) / REMOVE_SLICE;
  call->pending = n_slices;
  for (guint s = 0; s < n_slices; s++)
    {
      RemoveSlice *slice = g_new0 (RemoveSlice, 1);

      slice->task = task;
      slice->start = s * REMOVE_SLICE;
      slice->end = MIN (slice->start + REMOVE_SLICE, ids->len);
      sluice_redis_connection_send (self->conn, remove_command_new (call, slice, FALSE),
                                    remove_reply, slice);
    }
}

static gboolean
redis_remove_finish (SluiceDeadLetterStore *store,
                     GAsyncResult          *result,
                     guint64               *out_removed,
                     GError               **error)
{
  g_autofree guint64 *removed = g_task_propagate_pointer (G_TASK (result), error);

  if (removed == NULL)
    return FALSE;
  if (out_removed != NULL)
    *out_removed = *removed;
  return TRUE;
}

static void
sluice_redis_dead_letter_store_iface_init (SluiceDeadLetterStoreInterface *iface)
{
  iface->put_async = redis_put_async;
  iface->put_finish = redis_put_finish;
  iface->get_async = redis_get_async;
  iface->get_finish = redis_get_finish;
  iface->list_async = redis_list_async;
  iface->list_finish = redis_list_finish;
  iface->remove_async = redis_remove_async;
  iface->remove_finish = redis_remove_finish;
}

/* GInitable */

static void
script_loaded (redisReply *reply,
               GError     *error,
               gpointer    user_data)
{
  /* Nothing to do: a call that finds no script loads it with EVAL. */
}

/* Loaded ahead, in the queue before any call: the first burst of calls
 * would otherwise all meet NOSCRIPT and go again. */
static void
load_script (SluiceRedisConnection *conn,
             const Script          *script)
{
  SluiceRedisCommand *command = sluice_redis_command_new (3, strlen (script->body) + 32);

  sluice_redis_command_add_string (command, "SCRIPT");
  sluice_redis_command_add_string (command, "LOAD");
  sluice_redis_command_add_string (command, script->body);
  sluice_redis_connection_send (conn, command, script_loaded, NULL);
}

static gboolean
sluice_redis_dead_letter_store_initable_init (GInitable    *initable,
                                              GCancellable *cancellable,
                                              GError      **error)
{
  SluiceRedisDeadLetterStore *self = SLUICE_REDIS_DEAD_LETTER_STORE (initable);
  SluiceContext              *context = sluice_component_get_context (self);
  SluiceRedisConfig          *config;

  config = sluice_redis_config_new (context, sluice_component_get_config (self), COMPONENT, error);
  if (config == NULL)
    return FALSE;

  self->letter_prefix = g_strconcat (config->prefix, "dl:letter:", NULL);
  self->index_key = g_strconcat (config->prefix, "dl:index", NULL);
  self->workflow_prefix = g_strconcat (config->prefix, "dl:wf:", NULL);
  for (guint i = 0; i < N_FIELDS; i++)
    self->field_keys[i] = g_strconcat (config->prefix, field_suffixes[i], NULL);
  self->conn = sluice_redis_connection_new (config, context);
  load_script (self->conn, &put_script);
  load_script (self->conn, &remove_script);
  return TRUE;
}

static void
sluice_redis_dead_letter_store_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_redis_dead_letter_store_initable_init;
}

/* GObject */

static void
sluice_redis_dead_letter_store_finalize (GObject *object)
{
  SluiceRedisDeadLetterStore *self = SLUICE_REDIS_DEAD_LETTER_STORE (object);

  g_clear_object (&self->conn);
  g_free (self->letter_prefix);
  g_free (self->index_key);
  g_free (self->workflow_prefix);
  for (guint i = 0; i < N_FIELDS; i++)
    g_free (self->field_keys[i]);

  G_OBJECT_CLASS (sluice_redis_dead_letter_store_parent_class)->finalize (object);
}

static void
script_init (Script *script)
{
  g_autofree char *sha1 = g_compute_checksum_for_string (G_CHECKSUM_SHA1, script->body, -1);

  g_strlcpy (script->sha1, sha1, sizeof script->sha1);
}

static void
sluice_redis_dead_letter_store_class_init (SluiceRedisDeadLetterStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_redis_dead_letter_store_finalize;

  script_init (&put_script);
  script_init (&remove_script);
}

static void
sluice_redis_dead_letter_store_init (SluiceRedisDeadLetterStore *self)
{
}
