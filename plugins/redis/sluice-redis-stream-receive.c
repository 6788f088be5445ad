/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-stream-receive.h"

#include <string.h>
#include <unistd.h>

#include "sluice-redis-config.h"
#include "sluice-redis-connection.h"
#include "sluice-redis-stream-common.h"

#define COMPONENT "redis.stream.receive"

#define DEFAULT_BATCH 256
#define MAX_BATCH 10000
#define RETRY_INITIAL_USEC (100 * 1000)
/* Ids per refresh script call: they go on Lua's stack through unpack(). */
#define REFRESH_CHUNK 1000

/*
 * How entries move:
 *
 *   stream --XREADGROUP (reader connection, BLOCK)--> held --ack/dead-letter--> XACK
 *   pending list of a dead or slow consumer --XAUTOCLAIM--> held
 *   held --retry (hand back)--> left pending, reclaimed after the visibility timeout
 *
 * The blocking read has a connection of its own, so that acks, claims and
 * refreshes on the other one never wait behind it. At most one read and
 * one claim are out at a time; each reserves the credit it asked for
 * until its reply is in, so together they never fetch more than the
 * credit. Held entries are refreshed (XCLAIM JUSTID to this consumer)
 * once held for half the visibility timeout, so that no other receiver
 * reclaims an entry that is still being worked on here.
 */

/* XAUTOCLAIM leaves out how often an entry was delivered: read it from
 * the pending list right after the claim (which counted one more). */
static const char claim_script[] =
  "local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], "
  "'COUNT', ARGV[5])\n"
  "local counts = {}\n"
  "for i, e in ipairs(r[2]) do\n"
  "  local n = 0\n"
  "  if type(e) == 'table' then\n"
  "    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)\n"
  "    if p[1] then n = p[1][4] end\n"
  "  end\n"
  "  counts[i] = n\n"
  "end\n"
  "return {r[1], r[2], counts}\n";

/* Resets the idle time of the entries that are still this consumer's:
 * one another receiver reclaimed meanwhile is left to it. */
static const char refresh_script[] =
  "local mine = {}\n"
  "for i = 3, #ARGV do\n"
  "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])\n"
  "  if p[1] then mine[#mine + 1] = ARGV[i] end\n"
  "end\n"
  "if #mine == 0 then return {} end\n"
  "mine[#mine + 1] = 'JUSTID'\n"
  "return redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine))\n";

static gint receivers_created;

const char sluice_redis_stream_receive_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Receives the entries of a Redis stream as a consumer of a consumer "
  "group: each entry once per group, acknowledged (XACK) when its run is over, reclaimed "
  "from consumers that died\","
  "  \"properties\": {" SLUICE_REDIS_STREAM_CONNECTION_PROPERTIES
  "    \"group\": {\"type\": \"string\", \"minLength\": 1,"
  "                \"description\": \"The consumer group: every group gets every entry\"},"
  "    \"consumer\": {\"type\": \"string\", \"minLength\": 1,"
  "                   \"description\": \"This receiver's name in the group (default: "
  "<hostname>-<pid>-<n>, n counting the receivers of the process)\"},"
  "    \"create_group\": {\"type\": \"boolean\", \"default\": true,"
  "                       \"description\": \"Create the group (and the stream) when missing\"},"
  "    \"start\": {\"type\": \"string\", \"enum\": [\"0\", \"$\"], \"default\": \"0\","
  "                \"description\": \"Where a group created here starts: '0' at the first "
  "entry, '$' after the last\"},"
  "    \"visibility\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"30s\","
  "                     \"description\": \"An entry pending on a consumer for longer is "
  "reclaimed and delivered again\"},"
  "    \"block\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"5s\","
  "                \"description\": \"How long one read waits for new entries\"},"
  "    \"batch\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 10000, \"default\": 256,"
  "                \"description\": \"Most entries fetched by one read\"}"
  "  },"
  "  \"required\": [\"stream\", \"group\"],"
  "  \"additionalProperties\": false"
  "}";

/* An id to acknowledge, and who waits for it (NULL for an entry that
 * is only cleaned up). */
typedef struct
{
  GTask *task;
  guint8 len;
  char   id[SLUICE_REDIS_STREAM_ID_MAX + 1];
} Ack;

struct _SluiceRedisStreamReceive
{
  GObject parent_instance;

  SluiceRedisConnection *conn;   /* acks, claims, refreshes, the group */
  SluiceRedisConnection *reader; /* the blocking reads only */
  char                  *key;
  char                  *stream;
  char                  *group;
  char                  *consumer;
  char                  *start_id;
  gboolean               create_group;
  gint64                 visibility_usec;
  gint64                 block_usec;
  guint                  batch;
  char                  *min_idle_text; /* visibility in ms, for XAUTOCLAIM */
  char                  *block_text;    /* in ms, for XREADGROUP */

  gboolean started;
  gboolean group_ready;  /* created, found, or not ours to create */
  gboolean group_asking; /* XGROUP CREATE is out */
  gboolean reading;
  guint    reserved_read;
  guint    emitting; /* entries of the read in hand, not emitted yet */
  gint64   reader_id; /* CLIENT ID of the reader connection the read is on; -1 unknown */
  gboolean unblock;   /* stopped while reading: unblock the read once its client is known */
  gboolean claiming;
  guint    reserved_claim;
  gboolean claim_due;
  gint64   next_claim; /* monotonic usec */
  char     claim_cursor[SLUICE_REDIS_STREAM_ID_MAX + 1];

  GQueue   held;  /* SluiceRedisStreamEvent, oldest held_since first */
  GArray    *acks;       /* Ack, to send this main-loop turn */
  GPtrArray *spare_acks; /* emptied arrays of acks, to use again */
  GSource *flush; /* sends acks */
  GSource *timer; /* refreshes and reclaims */
  GSource *retry; /* waiting after a failure */
  GMainContext *main_context;
  guint    failures;
  char    *logged; /* the last failure logged, to log each once */
  GString *scratch;
  GArray  *fields;  /* Field, of the entry being delivered */
};

static void sluice_redis_stream_receive_initable_iface_init (GInitableIface *iface);
static void sluice_redis_stream_receive_trigger_iface_init (SluiceTriggerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (
  SluiceRedisStreamReceive, sluice_redis_stream_receive, G_TYPE_OBJECT,
  G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, sluice_redis_stream_receive_initable_iface_init)
  G_IMPLEMENT_INTERFACE (SLUICE_TYPE_TRIGGER, sluice_redis_stream_receive_trigger_iface_init))

static void pump (SluiceRedisStreamReceive *self);
static void arm_timer (SluiceRedisStreamReceive *self);

static SluiceContext *
get_context (SluiceRedisStreamReceive *self)
{
  return sluice_component_get_context (self);
}

static const char *
url (SluiceRedisStreamReceive *self)
{
  return sluice_redis_connection_get_url (self->conn);
}

/* Commands */

static void
add_key (SluiceRedisCommand       *command,
         SluiceRedisStreamReceive *self)
{
  sluice_redis_command_add_string (command, self->key);
}

static gboolean
is_error (const redisReply *reply,
          const char       *code)
{
  return reply != NULL && reply->type == REDIS_REPLY_ERROR && g_str_has_prefix (reply->str, code);
}

static gboolean
is_string (const redisReply *reply)
{
  return reply != NULL && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS);
}

/* Failures */

static gboolean
retry_cb (gpointer user_data)
{
  SluiceRedisStreamReceive *self = user_data;

  g_clear_pointer (&self->retry, g_source_unref);
  pump (self);
  return G_SOURCE_REMOVE;
}

/* A failure that stops reading and claiming: logged once per reason (the
 * connection logs its own ups and downs), then everything is tried again
 * after a wait that doubles up to reconnect_max. */
static void
fail (SluiceRedisStreamReceive *self,
      GError                   *error)
{
  gint64 delay = RETRY_INITIAL_USEC;
  gint64 max = sluice_redis_connection_get_config (self->conn)->reconnect_max_usec;

  if (!g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE) &&
      g_strcmp0 (self->logged, error->message) != 0)
    {
      g_free (self->logged);
      self->logged = g_strdup (error->message);
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_MESSAGE, "%s; trying again",
                  error->message);
    }
  g_error_free (error);

  for (guint i = 0; i < self->failures && delay < max; i++)
    delay *= 2;
  delay = MIN (delay, max);
  self->failures++;

  if (self->retry != NULL || !self->started)
    return;
  self->retry = g_timeout_source_new ((guint) (delay / 1000));
  g_source_set_static_name (self->retry, "sluice-redis-stream-retry");
  g_source_set_callback (self->retry, retry_cb, self, NULL);
  g_source_attach (self->retry, self->main_context);
}

static void
succeeded (SluiceRedisStreamReceive *self)
{
  self->failures = 0;
  if (self->logged != NULL)
    {
      g_clear_pointer (&self->logged, g_free);
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_MESSAGE,
                  "%s: receiving from stream '%s' again", url (self), self->key);
    }
}

/* The group went away under us (someone ran XGROUP DESTROY or deleted
 * the stream). */
static void
group_lost (SluiceRedisStreamReceive *self,
            const redisReply         *reply)
{
  if (!self->create_group)
    {
      fail (self, g_error_new (SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                               "%s: stream '%s' has no consumer group '%s' (and create_group "
                               "is false): %s",
                               url (self), self->key, self->group, reply->str));
      return;
    }
  if (self->group_ready)
    sluice_log (get_context (self), NULL, G_LOG_LEVEL_MESSAGE,
                "%s: consumer group '%s' of stream '%s' is gone; creating it again", url (self),
                self->group, self->key);
  self->group_ready = FALSE;
  pump (self);
}

/* Credit */

static guint
available (SluiceRedisStreamReceive *self)
{
  guint credit = sluice_trigger_get_credit (SLUICE_TRIGGER (self));
  guint reserved = self->reserved_read + self->reserved_claim + self->emitting;

  return credit > reserved ? credit - reserved : 0;
}

/* Delivering */

static void
hold (SluiceRedisStreamReceive *self,
      SluiceRedisStreamEvent   *event,
      gint64                    now)
{
  event->held_since = now;
  event->held = TRUE;
  g_queue_push_tail_link (&self->held, &event->link);
}

void
sluice_redis_stream_receive_release (SluiceRedisStreamReceive *self,
                                     SluiceRedisStreamEvent   *event)
{
  if (!event->held)
    return;
  g_queue_unlink (&self->held, &event->link);
  event->held = FALSE;
}

static void
add_ack (SluiceRedisStreamReceive *self,
         const char               *id,
         gsize                     len,
         GTask                    *task);

/* A string of an entry: NUL-terminated, binary-safe through @len. */
typedef struct
{
  const char *str;
  gsize       len;
} Field;

#define FIELD_IS(field, literal) \
  ((field)->len == sizeof literal - 1 && memcmp ((field)->str, literal, sizeof literal - 1) == 0)

/* The message an entry carries: the fields the send step writes, others
 * as headers; an entry without a body (written by someone else) gets
 * all its fields as a JSON object. @fields are names and values in
 * turn. */
static SluiceMessage *
entry_to_message (SluiceRedisStreamReceive *self,
                  const char               *id,
                  const Field              *fields,
                  guint                     n_fields)
{
  const Field   *body = NULL;
  const Field   *content_type = NULL;
  const Field   *message_id = NULL;
  const Field   *traceparent = NULL;
  const Field   *headers = NULL;
  SluiceMessage *message;

  for (guint i = 0; i + 1 < n_fields; i += 2)
    {
      const Field *name = &fields[i];
      const Field *value = &fields[i + 1];

      if (FIELD_IS (name, SLUICE_REDIS_STREAM_FIELD_BODY))
        body = value;
      else if (FIELD_IS (name, SLUICE_REDIS_STREAM_FIELD_CONTENT_TYPE))
        content_type = value;
      else if (FIELD_IS (name, SLUICE_REDIS_STREAM_FIELD_ID))
        message_id = value;
      else if (FIELD_IS (name, SLUICE_REDIS_STREAM_FIELD_TRACEPARENT))
        traceparent = value;
      else if (FIELD_IS (name, SLUICE_REDIS_STREAM_FIELD_HEADERS))
        headers = value;
    }

  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body->str, body->len);

      message = sluice_message_new_bytes (bytes, content_type != NULL ? content_type->str : NULL);
    }
  else
    {
      g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
      g_autoptr (JsonNode) root = NULL;

      json_builder_begin_object (builder);
      for (guint i = 0; i + 1 < n_fields; i += 2)
        {
          json_builder_set_member_name (builder, fields[i].str);
          json_builder_add_string_value (builder, fields[i + 1].str);
        }
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      message = sluice_message_new_json (root);
    }

  /* Fields of its own, next to a body: headers, below those of the
   * headers field. */
  if (body != NULL)
    for (guint i = 0; i + 1 < n_fields; i += 2)
      {
        const Field *value = &fields[i + 1];

        if (value == body || value == content_type || value == message_id ||
            value == traceparent || value == headers || fields[i].len == 0)
          continue;
        sluice_message_set_header (message, fields[i].str, value->str);
      }

  if (headers != NULL)
    {
      g_autoptr (GError) error = NULL;

      if (!sluice_redis_stream_headers_from_json (headers->str, headers->len, message,
                                                  self->scratch, &error))
        sluice_log (get_context (self), message, G_LOG_LEVEL_MESSAGE,
                    "stream '%s', entry %s: %s; delivered without those headers", self->key, id,
                    error->message);
    }

  sluice_message_set_id (message, message_id != NULL ? message_id->str : id);
  if (traceparent != NULL && !sluice_message_set_traceparent (message, traceparent->str))
    sluice_log (get_context (self), message, G_LOG_LEVEL_DEBUG,
                "stream '%s', entry %s: ignoring the malformed traceparent '%s'", self->key, id,
                traceparent->str);
  sluice_message_set_header (message, SLUICE_REDIS_STREAM_HEADER_ID, id);
  return message;
}

/* Emits one entry of a read or a claim. @fields is NULL for an entry
 * deleted from the stream while it was pending (older servers still list
 * such entries): there is nothing to deliver, so it is let go. */
static void
deliver (SluiceRedisStreamReceive *self,
         const char               *id,
         gsize                     id_len,
         const Field              *fields,
         guint                     n_fields,
         guint                     attempt,
         gint64                    now)
{
  g_autoptr (SluiceMessage) message = NULL;
  g_autoptr (SluiceRedisStreamEvent) event = NULL;

  if (id_len == 0 || id_len > SLUICE_REDIS_STREAM_ID_MAX)
    return;
  if (fields == NULL)
    {
      add_ack (self, id, id_len, NULL);
      return;
    }

  message = entry_to_message (self, id, fields, n_fields);
  sluice_message_set_attempt (message, MAX (attempt, 1));
  event = sluice_redis_stream_event_new (self, message, id, id_len);
  hold (self, event, now);
  sluice_trigger_emit (SLUICE_TRIGGER (self), SLUICE_EVENT (event));
}

/* The same for an entry ([id, [field, value, ...]]) as hiredis parsed it. */
static void
deliver_reply (SluiceRedisStreamReceive *self,
               const redisReply         *entry,
               guint                     attempt,
               gint64                    now)
{
  const redisReply *fields;
  guint             n;

  if (entry == NULL || entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
      !is_string (entry->element[0]))
    return;
  fields = entry->element[1];
  if (fields->type != REDIS_REPLY_ARRAY)
    {
      deliver (self, entry->element[0]->str, entry->element[0]->len, NULL, 0, attempt, now);
      return;
    }

  g_array_set_size (self->fields, fields->elements);
  n = 0;
  for (size_t i = 0; i + 1 < fields->elements; i += 2)
    {
      Field *pair = &g_array_index (self->fields, Field, n);

      if (!is_string (fields->element[i]) || !is_string (fields->element[i + 1]))
        continue;
      pair[0] = (Field) { fields->element[i]->str, fields->element[i]->len };
      pair[1] = (Field) { fields->element[i + 1]->str, fields->element[i + 1]->len };
      n += 2;
    }
  deliver (self, entry->element[0]->str, entry->element[0]->len, (Field *) self->fields->data, n,
           attempt, now);
}

/* Reading */

static void
ignore_reply (redisReply *reply,
              GError     *error,
              gpointer    user_data)
{
  g_clear_error (&error);
  g_object_unref (user_data);
}

static void
send_unblock (SluiceRedisStreamReceive *self)
{
  g_autoptr (SluiceRedisCommand) command = sluice_redis_command_new (3, 32);

  sluice_redis_command_add_string (command, "CLIENT");
  sluice_redis_command_add_string (command, "UNBLOCK");
  sluice_redis_command_add_int (command, self->reader_id);
  sluice_redis_connection_send (self->conn, g_steal_pointer (&command), ignore_reply,
                                g_object_ref (self));
}

static void
client_id_reply (redisReply *reply,
                 GError     *error,
                 gpointer    user_data)
{
  g_autoptr (SluiceRedisStreamReceive) self = user_data;

  g_clear_error (&error);
  if (reply == NULL || reply->type != REDIS_REPLY_INTEGER || !self->reading)
    return;
  self->reader_id = reply->integer;
  if (self->unblock)
    {
      self->unblock = FALSE;
      send_unblock (self);
    }
}

/* Asks for the next entries before emitting those of the read in hand,
 * with the credit they leave, so that Redis finds them while these are
 * being worked on. */
static void
read_ahead (SluiceRedisStreamReceive *self,
            guint                     got)
{
  self->emitting = self->started ? got : 0;
  pump (self);
}

static void
read_reply (redisReply *reply,
            GError     *error,
            gpointer    user_data)
{
  g_autoptr (SluiceRedisStreamReceive) self = user_data;
  const redisReply *entries;
  gint64            now;

  self->reading = FALSE;
  self->reserved_read = 0;
  self->reader_id = -1;
  self->unblock = FALSE;

  if (error != NULL)
    {
      fail (self, error);
      return;
    }
  if (is_error (reply, "NOGROUP"))
    {
      group_lost (self, reply);
      return;
    }
  if (reply->type == REDIS_REPLY_NIL)
    {
      /* Nothing came within the block time, or stop() cut it short. */
      succeeded (self);
      pump (self);
      return;
    }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 ||
      reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[0]->elements != 2 ||
      reply->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
    {
      fail (self, sluice_redis_connection_reply_error (self->reader, reply,
                                                       "reading stream '%s' as '%s' of group '%s'",
                                                       self->key, self->consumer, self->group));
      return;
    }

  succeeded (self);
  entries = reply->element[0]->element[1];
  now = g_get_monotonic_time ();
  read_ahead (self, entries->elements);
  /* A read that was out when the trigger stopped: its entries stay
   * pending and are reclaimed after the visibility timeout. */
  for (size_t i = 0; i < entries->elements && self->started; i++)
    {
      self->emitting--;
      deliver_reply (self, entries->element[i], 1, now);
    }
  self->emitting = 0;
  arm_timer (self);
  pump (self);
}

static void
start_read (SluiceRedisStreamReceive *self)
{
  g_autoptr (SluiceRedisCommand) client_id = NULL;
  g_autoptr (SluiceRedisCommand) command = NULL;
  guint count = MIN (self->batch, available (self));

  if (count == 0)
    return;

  self->reading = TRUE;
  self->reserved_read = count;
  self->reader_id = -1;
  self->unblock = FALSE;

  /* Which client the read blocks, so stop() can unblock it: asked on the
   * same connection right before, the answer is about the read's. */
  client_id = sluice_redis_command_new (2, 16);
  sluice_redis_command_add_string (client_id, "CLIENT");
  sluice_redis_command_add_string (client_id, "ID");

  command = sluice_redis_command_new (11, strlen (self->key) + strlen (self->group) +
                                            strlen (self->consumer) + 64);
  sluice_redis_command_add_string (command, "XREADGROUP");
  sluice_redis_command_add_string (command, "GROUP");
  sluice_redis_command_add_string (command, self->group);
  sluice_redis_command_add_string (command, self->consumer);
  sluice_redis_command_add_string (command, "COUNT");
  sluice_redis_command_add_int (command, count);
  sluice_redis_command_add_string (command, "BLOCK");
  sluice_redis_command_add_string (command, self->block_text);
  sluice_redis_command_add_string (command, "STREAMS");
  add_key (command, self);
  sluice_redis_command_add_string (command, ">");
  sluice_redis_connection_send (self->reader, g_steal_pointer (&client_id), client_id_reply,
                                g_object_ref (self));
  sluice_redis_connection_send (self->reader, g_steal_pointer (&command), read_reply,
                                g_object_ref (self));
}

/* Reclaiming */

/* The ids of @entries that this receiver still holds: their refresh came
 * too late, so it claimed them back from itself. Those are not delivered
 * twice; they count as refreshed. */
static GHashTable *
take_back_held (SluiceRedisStreamReceive *self,
                const redisReply         *entries,
                gint64                    now)
{
  g_autoptr (GHashTable) ids = NULL;
  g_autoptr (GPtrArray) moved = NULL;
  GHashTable *again;

  if (entries->elements == 0 || self->held.length == 0)
    return NULL;

  ids = g_hash_table_new (g_str_hash, g_str_equal);
  for (size_t i = 0; i < entries->elements; i++)
    {
      const redisReply *entry = entries->element[i];

      if (entry->type == REDIS_REPLY_ARRAY && entry->elements >= 1 &&
          is_string (entry->element[0]))
        g_hash_table_add (ids, entry->element[0]->str);
    }

  again = g_hash_table_new (g_str_hash, g_str_equal);
  moved = g_ptr_array_new ();
  for (GList *l = self->held.head; l != NULL; l = l->next)
    {
      SluiceRedisStreamEvent *event = l->data;

      if (g_hash_table_contains (ids, event->id))
        g_ptr_array_add (moved, event);
    }
  for (guint i = 0; i < moved->len; i++)
    {
      SluiceRedisStreamEvent *event = g_ptr_array_index (moved, i);

      g_hash_table_add (again, event->id);
      sluice_redis_stream_receive_release (self, event);
      hold (self, event, now);
    }
  return again;
}

static void
claim_reply (redisReply *reply,
             GError     *error,
             gpointer    user_data)
{
  g_autoptr (SluiceRedisStreamReceive) self = user_data;
  g_autoptr (GHashTable) again = NULL;
  const redisReply *entries;
  const redisReply *counts;
  gint64            now = g_get_monotonic_time ();

  self->claiming = FALSE;
  self->reserved_claim = 0;

  if (error != NULL)
    {
      fail (self, error);
      return;
    }
  if (is_error (reply, "NOGROUP"))
    {
      group_lost (self, reply);
      return;
    }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || !is_string (reply->element[0]) ||
      reply->element[0]->len > SLUICE_REDIS_STREAM_ID_MAX ||
      reply->element[1]->type != REDIS_REPLY_ARRAY ||
      reply->element[2]->type != REDIS_REPLY_ARRAY ||
      reply->element[2]->elements != reply->element[1]->elements)
    {
      fail (self, sluice_redis_connection_reply_error (self->conn, reply,
                                                       "reclaiming idle entries of stream '%s' "
                                                       "in group '%s'",
                                                       self->key, self->group));
      return;
    }

  succeeded (self);
  memcpy (self->claim_cursor, reply->element[0]->str, reply->element[0]->len);
  self->claim_cursor[reply->element[0]->len] = '\0';
  if (strcmp (self->claim_cursor, "0-0") == 0)
    {
      /* A full pass over the pending list: the next one in a while. */
      self->claim_due = FALSE;
      self->next_claim = now + self->visibility_usec / 2;
    }

  entries = reply->element[1];
  counts = reply->element[2];
  again = take_back_held (self, entries, now);

  /* A claim that was out when the trigger stopped: like a read's, its
   * entries are reclaimed again later. */
  if (self->started)
    for (size_t i = 0; i < entries->elements; i++)
      {
        const redisReply *entry = entries->element[i];
        const redisReply *count = counts->element[i];
        guint             attempt = 1;

        if (again != NULL && entry->type == REDIS_REPLY_ARRAY && entry->elements >= 1 &&
            is_string (entry->element[0]) &&
            g_hash_table_contains (again, entry->element[0]->str))
          continue;
        if (count->type == REDIS_REPLY_INTEGER && count->integer > 1)
          attempt = (guint) MIN (count->integer, (long long) G_MAXUINT);
        deliver_reply (self, entry, attempt, now);
      }
  arm_timer (self);
  pump (self);
}

static void
start_claim (SluiceRedisStreamReceive *self)
{
  g_autoptr (SluiceRedisCommand) command = NULL;
  guint count = MIN (self->batch, available (self));

  if (count == 0)
    return;

  command = sluice_redis_command_new (9, sizeof claim_script + strlen (self->key) + 128);
  sluice_redis_command_add_string (command, "EVAL");
  sluice_redis_command_add (command, claim_script, sizeof claim_script - 1);
  sluice_redis_command_add_string (command, "1");
  add_key (command, self);
  sluice_redis_command_add_string (command, self->group);
  sluice_redis_command_add_string (command, self->consumer);
  sluice_redis_command_add_string (command, self->min_idle_text);
  sluice_redis_command_add_string (command, self->claim_cursor);
  sluice_redis_command_add_int (command, count);
  self->claiming = TRUE;
  self->reserved_claim = count;
  sluice_redis_connection_send (self->conn, g_steal_pointer (&command), claim_reply,
                                g_object_ref (self));
}

/* The group */

static void
group_reply (redisReply *reply,
             GError     *error,
             gpointer    user_data)
{
  g_autoptr (SluiceRedisStreamReceive) self = user_data;

  self->group_asking = FALSE;
  if (error != NULL)
    {
      fail (self, error);
      return;
    }
  if (reply->type == REDIS_REPLY_ERROR && !is_error (reply, "BUSYGROUP"))
    {
      fail (self, sluice_redis_connection_reply_error (self->conn, reply,
                                                       "creating consumer group '%s' of stream "
                                                       "'%s'",
                                                       self->group, self->key));
      return;
    }
  self->group_ready = TRUE;
  pump (self);
}

static void
ensure_group (SluiceRedisStreamReceive *self)
{
  g_autoptr (SluiceRedisCommand) command = NULL;

  if (self->group_asking)
    return;
  command = sluice_redis_command_new (6, strlen (self->key) + strlen (self->group) + 64);
  sluice_redis_command_add_string (command, "XGROUP");
  sluice_redis_command_add_string (command, "CREATE");
  add_key (command, self);
  sluice_redis_command_add_string (command, self->group);
  sluice_redis_command_add_string (command, self->start_id);
  sluice_redis_command_add_string (command, "MKSTREAM");
  self->group_asking = TRUE;
  sluice_redis_connection_send (self->conn, g_steal_pointer (&command), group_reply,
                                g_object_ref (self));
}

/* Refreshing held entries */

static void
refresh_reply (redisReply *reply,
               GError     *error,
               gpointer    user_data)
{
  g_autoptr (SluiceRedisStreamReceive) self = user_data;

  /* A refresh that failed is tried again at the next deadline; an entry
   * lost meanwhile is delivered elsewhere too, which at-least-once
   * allows. */
  if (error != NULL)
    {
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_DEBUG,
                  "refreshing held entries of stream '%s': %s", self->key, error->message);
      g_error_free (error);
    }
  else if (reply->type != REDIS_REPLY_ARRAY)
    {
      g_autoptr (GError) reply_error =
        sluice_redis_connection_reply_error (self->conn, reply,
                                             "refreshing held entries of stream '%s'",
                                             self->key);

      sluice_log (get_context (self), NULL, G_LOG_LEVEL_DEBUG, "%s", reply_error->message);
    }
}

/* Sends the refresh for the held entries due at @now, oldest first, and
 * holds them anew from now. */
static void
refresh (SluiceRedisStreamReceive *self,
         gint64                    now)
{
  gint64 due = now - self->visibility_usec / 2;

  while (self->held.length > 0)
    {
      SluiceRedisStreamEvent *head = g_queue_peek_head (&self->held);
      g_autoptr (GPtrArray) events = NULL;
      g_autoptr (SluiceRedisCommand) command = NULL;

      if (head->held_since > due)
        break;

      events = g_ptr_array_new ();
      for (GList *l = self->held.head; l != NULL && events->len < REFRESH_CHUNK; l = l->next)
        {
          SluiceRedisStreamEvent *event = l->data;

          if (event->held_since > due)
            break;
          g_ptr_array_add (events, event);
        }

      command = sluice_redis_command_new (6 + events->len,
                                          sizeof refresh_script + strlen (self->key) +
                                            events->len * (SLUICE_REDIS_STREAM_ID_MAX + 8));
      sluice_redis_command_add_string (command, "EVAL");
      sluice_redis_command_add (command, refresh_script, sizeof refresh_script - 1);
      sluice_redis_command_add_string (command, "1");
      add_key (command, self);
      sluice_redis_command_add_string (command, self->group);
      sluice_redis_command_add_string (command, self->consumer);
      for (guint i = 0; i < events->len; i++)
        {
          SluiceRedisStreamEvent *event = g_ptr_array_index (events, i);

          sluice_redis_command_add (command, event->id, event->id_len);
          sluice_redis_stream_receive_release (self, event);
          hold (self, event, now);
        }
      sluice_redis_connection_send (self->conn, g_steal_pointer (&command), refresh_reply,
                                    g_object_ref (self));
    }
}

/* Acknowledging */

typedef struct
{
  SluiceRedisStreamReceive *self; /* strong */
  GArray                   *acks; /* Ack */
} AckBatch;

static void
ack_reply (redisReply *reply,
           GError     *error,
           gpointer    user_data)
{
  AckBatch *batch = user_data;
  g_autoptr (SluiceRedisStreamReceive) self = batch->self;
  g_autoptr (GArray) acks = batch->acks;

  g_free (batch);
  if (error == NULL && reply->type == REDIS_REPLY_ERROR && strstr (reply->str, "NOGROUP") != NULL)
    error = g_error_new (SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                         "%s: acknowledging %u entries of stream '%s': the consumer group '%s' "
                         "is gone, and with it what was pending",
                         url (self), acks->len, self->key, self->group);
  if (error == NULL && reply->type != REDIS_REPLY_INTEGER)
    error = sluice_redis_connection_reply_error (self->conn, reply,
                                                 "acknowledging %u entries of stream '%s' in "
                                                 "group '%s'",
                                                 acks->len, self->key, self->group);

  for (guint i = 0; i < acks->len; i++)
    {
      GTask *task = g_array_index (acks, Ack, i).task;

      if (task == NULL)
        continue;
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  g_clear_error (&error);

  /* Kept for the next batches: a batch of a few hundred acks takes a
   * block that would otherwise be allocated again every turn. */
  if (self->spare_acks->len < 4)
    {
      g_array_set_size (acks, 0);
      g_ptr_array_add (self->spare_acks, g_steal_pointer (&acks));
    }
}

/* Everything acknowledged during one main-loop turn goes in one XACK. */
static gboolean
flush_cb (gpointer user_data)
{
  SluiceRedisStreamReceive *self = user_data;
  g_autoptr (SluiceRedisCommand) command = NULL;
  AckBatch *batch;
  GArray   *acks = self->acks;

  g_clear_pointer (&self->flush, g_source_unref);
  self->acks = self->spare_acks->len > 0
                 ? g_ptr_array_steal_index_fast (self->spare_acks, self->spare_acks->len - 1)
                 : g_array_sized_new (FALSE, FALSE, sizeof (Ack), MAX (acks->len, 64));

  command = sluice_redis_command_new (3 + acks->len,
                                      strlen (self->key) + strlen (self->group) +
                                        acks->len * (SLUICE_REDIS_STREAM_ID_MAX + 8) + 32);
  sluice_redis_command_add_string (command, "XACK");
  add_key (command, self);
  sluice_redis_command_add_string (command, self->group);
  for (guint i = 0; i < acks->len; i++)
    {
      Ack *ack = &g_array_index (acks, Ack, i);

      sluice_redis_command_add (command, ack->id, ack->len);
    }

  batch = g_new (AckBatch, 1);
  batch->self = g_object_ref (self);
  batch->acks = acks;
  sluice_redis_connection_send (self->conn, g_steal_pointer (&command), ack_reply, batch);
  return G_SOURCE_REMOVE;
}

static void
add_ack (SluiceRedisStreamReceive *self,
         const char               *id,
         gsize                     len,
         GTask                    *task)
{
  Ack *ack;

  g_array_set_size (self->acks, self->acks->len + 1);
  ack = &g_array_index (self->acks, Ack, self->acks->len - 1);
  ack->task = task;
  ack->len = (guint8) len;
  memcpy (ack->id, id, len);
  ack->id[len] = '\0';

  if (self->flush == NULL)
    {
      /* At the priority of the connection's replies: sent on the next
       * turn, with whatever else was acknowledged during this one. */
      self->flush = g_idle_source_new ();
      g_source_set_priority (self->flush, G_PRIORITY_DEFAULT);
      g_source_set_static_name (self->flush, "sluice-redis-stream-ack");
      g_source_set_callback (self->flush, flush_cb, self, NULL);
      g_source_attach (self->flush, self->main_context);
    }
}

void
sluice_redis_stream_receive_acknowledge (SluiceRedisStreamReceive *self,
                                         SluiceRedisStreamEvent   *event,
                                         GTask                    *task)
{
  g_return_if_fail (SLUICE_IS_REDIS_STREAM_RECEIVE (self));
  g_return_if_fail (SLUICE_IS_REDIS_STREAM_EVENT (event));

  sluice_redis_stream_receive_release (self, event);
  add_ack (self, event->id, event->id_len, task);
}

/* Timer and pump */

static void
arm_timer (SluiceRedisStreamReceive *self)
{
  gint64 ready = -1;

  if (self->held.length > 0)
    {
      SluiceRedisStreamEvent *head = g_queue_peek_head (&self->held);

      ready = head->held_since + self->visibility_usec / 2;
    }
  if (self->started && !self->claim_due && (ready < 0 || self->next_claim < ready))
    ready = self->next_claim;
  g_source_set_ready_time (self->timer, ready);
}

static gboolean
timer_cb (gpointer user_data)
{
  SluiceRedisStreamReceive *self = user_data;
  gint64                    now = g_get_monotonic_time ();

  if (self->started && !self->claim_due && now >= self->next_claim)
    self->claim_due = TRUE;
  refresh (self, now);
  pump (self);
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
  NULL, NULL, timer_dispatch, NULL, NULL, NULL,
};

/* Starts whatever may start now: the group first, then a claim when one
 * is due (reclaimed entries are older than new ones), then a read. */
static void
pump (SluiceRedisStreamReceive *self)
{
  if (!self->started || self->retry != NULL)
    return;
  if (!self->group_ready)
    {
      ensure_group (self);
      return;
    }
  if (self->claim_due && !self->claiming)
    start_claim (self);
  if (!self->reading)
    start_read (self);
}

/* SluiceTrigger */

static gboolean
sluice_redis_stream_receive_start (SluiceTrigger *trigger,
                                   GError       **error)
{
  SluiceRedisStreamReceive *self = SLUICE_REDIS_STREAM_RECEIVE (trigger);

  if (self->started)
    return TRUE;
  self->started = TRUE;
  self->failures = 0;
  /* Entries left pending by a consumer that died are looked for at once. */
  self->claim_due = TRUE;
  g_strlcpy (self->claim_cursor, "0-0", sizeof self->claim_cursor);
  pump (self);
  arm_timer (self);
  return TRUE;
}

static void
unblock_reader (SluiceRedisStreamReceive *self)
{
  if (self->reader_id < 0)
    {
      /* CLIENT ID has not answered yet: unblock when it does. */
      self->unblock = TRUE;
      return;
    }
  send_unblock (self);
}

/* Held entries stay held, and their acks and refreshes go on; only no
 * more are fetched. A read that is out is cut short. */
static void
sluice_redis_stream_receive_stop (SluiceTrigger *trigger)
{
  SluiceRedisStreamReceive *self = SLUICE_REDIS_STREAM_RECEIVE (trigger);

  if (!self->started)
    return;
  self->started = FALSE;
  if (self->retry != NULL)
    {
      g_source_destroy (self->retry);
      g_clear_pointer (&self->retry, g_source_unref);
    }
  if (self->reading)
    unblock_reader (self);
  arm_timer (self);
}

static void
sluice_redis_stream_receive_credit_available (SluiceTrigger *trigger)
{
  pump (SLUICE_REDIS_STREAM_RECEIVE (trigger));
}

static void
sluice_redis_stream_receive_trigger_iface_init (SluiceTriggerInterface *iface)
{
  iface->start = sluice_redis_stream_receive_start;
  iface->stop = sluice_redis_stream_receive_stop;
  iface->credit_available = sluice_redis_stream_receive_credit_available;
}

/* GInitable */

static char *
format_msec (gint64 usec)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, MAX ((usec + 999) / 1000, 1));
}

static gboolean
sluice_redis_stream_receive_initable_init (GInitable    *initable,
                                           GCancellable *cancellable,
                                           GError      **error)
{
  SluiceRedisStreamReceive *self = SLUICE_REDIS_STREAM_RECEIVE (initable);
  JsonObject               *config = sluice_component_get_config (self);
  SluiceContext            *context = get_context (self);
  g_autoptr (SluiceRedisConfig) conn_config = NULL;
  g_autoptr (SluiceRedisConfig) reader_config = NULL;
  g_autofree char *default_consumer = NULL;
  guint64          batch = DEFAULT_BATCH;

  /* Unique per receiver: two receivers of one process (a workflow being
   * reloaded while the old one finishes) must not share a pending list. */
  default_consumer = g_strdup_printf ("%s-%d-%u", g_get_host_name (), (int) getpid (),
                                      (guint) g_atomic_int_add (&receivers_created, 1) + 1);
  if (!sluice_redis_stream_config_get_string (config, COMPONENT, "stream", NULL, &self->stream,
                                              error) ||
      !sluice_redis_stream_config_get_string (config, COMPONENT, "group", NULL, &self->group,
                                              error) ||
      !sluice_redis_stream_config_get_string (config, COMPONENT, "consumer", default_consumer,
                                              &self->consumer, error) ||
      !sluice_redis_stream_config_get_boolean (config, COMPONENT, "create_group", TRUE,
                                               &self->create_group, error) ||
      !sluice_redis_stream_config_get_string (config, COMPONENT, "start", "0", &self->start_id,
                                              error) ||
      !sluice_redis_stream_config_get_duration (config, COMPONENT, "visibility", "30s", 10000,
                                                &self->visibility_usec, error) ||
      !sluice_redis_stream_config_get_duration (config, COMPONENT, "block", "5s", 1000,
                                                &self->block_usec, error) ||
      !sluice_redis_stream_config_get_uint64 (config, COMPONENT, "batch", 1, MAX_BATCH,
                                              DEFAULT_BATCH, &batch, error))
    return FALSE;

  if (*self->stream == '\0' || *self->group == '\0' || *self->consumer == '\0')
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": keys 'stream', 'group' and 'consumer' must not be empty");
      return FALSE;
    }
  if (!g_str_equal (self->start_id, "0") && !g_str_equal (self->start_id, "$"))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ", key 'start': '%s' is neither '0' (the first entry) nor '$' "
                   "(after the last)",
                   self->start_id);
      return FALSE;
    }
  self->batch = (guint) batch;

  conn_config = sluice_redis_config_new (context, config, COMPONENT, error);
  if (conn_config == NULL)
    return FALSE;
  reader_config = sluice_redis_config_new (context, config, COMPONENT, error);
  if (reader_config == NULL)
    return FALSE;
  /* The reader's replies take up to the block time on top. */
  reader_config->timeout_usec += self->block_usec;

  self->key = g_strconcat (conn_config->prefix, self->stream, NULL);
  self->min_idle_text = format_msec (self->visibility_usec);
  self->block_text = format_msec (self->block_usec);
  self->group_ready = !self->create_group;
  self->conn = sluice_redis_connection_new (g_steal_pointer (&conn_config), context);
  self->reader = sluice_redis_connection_new (g_steal_pointer (&reader_config), context);
  return TRUE;
}

static void
sluice_redis_stream_receive_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_redis_stream_receive_initable_init;
}

/* GObject */

static void
sluice_redis_stream_receive_dispose (GObject *object)
{
  SluiceRedisStreamReceive *self = SLUICE_REDIS_STREAM_RECEIVE (object);

  sluice_redis_stream_receive_stop (SLUICE_TRIGGER (self));
  /* Every held event and every reply holds a reference: none is left. */
  g_warn_if_fail (self->held.length == 0);
  if (self->flush != NULL)
    {
      /* Acks nobody sent: only possible through g_object_run_dispose(). */
      g_source_destroy (self->flush);
      g_clear_pointer (&self->flush, g_source_unref);
    }
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  g_clear_object (&self->conn);
  g_clear_object (&self->reader);

  G_OBJECT_CLASS (sluice_redis_stream_receive_parent_class)->dispose (object);
}

static void
sluice_redis_stream_receive_finalize (GObject *object)
{
  SluiceRedisStreamReceive *self = SLUICE_REDIS_STREAM_RECEIVE (object);

  for (guint i = 0; i < self->acks->len; i++)
    {
      GTask *task = g_array_index (self->acks, Ack, i).task;

      if (task != NULL)
        {
          g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                                   COMPONENT ": the receiver was destroyed before the entry "
                                   "was acknowledged");
          g_object_unref (task);
        }
    }
  g_array_unref (self->acks);
  g_ptr_array_unref (self->spare_acks);
  g_string_free (self->scratch, TRUE);
  g_array_unref (self->fields);
  g_free (self->key);
  g_free (self->stream);
  g_free (self->group);
  g_free (self->consumer);
  g_free (self->start_id);
  g_free (self->min_idle_text);
  g_free (self->block_text);
  g_free (self->logged);
  g_main_context_unref (self->main_context);

  G_OBJECT_CLASS (sluice_redis_stream_receive_parent_class)->finalize (object);
}

static void
sluice_redis_stream_receive_class_init (SluiceRedisStreamReceiveClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_redis_stream_receive_dispose;
  object_class->finalize = sluice_redis_stream_receive_finalize;
}

static void
sluice_redis_stream_receive_init (SluiceRedisStreamReceive *self)
{
  g_queue_init (&self->held);
  self->acks = g_array_sized_new (FALSE, FALSE, sizeof (Ack), 64);
  self->spare_acks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  self->scratch = g_string_sized_new (256);
  self->fields = g_array_new (FALSE, FALSE, sizeof (Field));
  self->reader_id = -1;
  g_strlcpy (self->claim_cursor, "0-0", sizeof self->claim_cursor);
  self->main_context = g_main_context_ref_thread_default ();

  self->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_static_name (self->timer, "sluice-redis-stream-timer");
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_set_ready_time (self->timer, -1);
  g_source_attach (self->timer, self->main_context);
}

const char *
sluice_redis_stream_receive_get_consumer (SluiceRedisStreamReceive *self)
{
  g_return_val_if_fail (SLUICE_IS_REDIS_STREAM_RECEIVE (self), NULL);

  return self->consumer;
}
