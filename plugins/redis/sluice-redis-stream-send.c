/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-stream-send.h"

#include <string.h>

#include "sluice-redis-config.h"
#include "sluice-redis-connection.h"
#include "sluice-redis-stream-common.h"

#define COMPONENT "redis.stream.send"

#define DEFAULT_MAX_SIZE (16 * 1024 * 1024)
/* Redis takes no larger argument. */
#define MAX_MAX_SIZE (512 * 1024 * 1024)
#define READ_CHUNK (64 * 1024)

struct _SluiceRedisStreamSend
{
  GObject parent_instance;

  SluiceRedisConnection *conn;
  char                  *key;
  char                  *stream;
  guint64                maxlen; /* 0: no trimming */
  char                  *maxlen_text;
  guint64                max_size;
};

static void sluice_redis_stream_send_initable_iface_init (GInitableIface *iface);
static void sluice_redis_stream_send_step_iface_init (SluiceStepInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (
  SluiceRedisStreamSend, sluice_redis_stream_send, G_TYPE_OBJECT,
  G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, sluice_redis_stream_send_initable_iface_init)
  G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, sluice_redis_stream_send_step_iface_init))

const char sluice_redis_stream_send_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Appends each message to a Redis stream (XADD): body, content type, "
  "id, trace context and headers; emits it with the header redis-stream-id\","
  "  \"properties\": {" SLUICE_REDIS_STREAM_CONNECTION_PROPERTIES
  "    \"maxlen\": {\"type\": \"integer\", \"minimum\": 1,"
  "                 \"description\": \"Trim the stream to about this many entries "
  "(MAXLEN ~): the oldest go, read or not\"},"
  "    \"max_size\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 536870912,"
  "                   \"default\": 16777216,"
  "                   \"description\": \"Largest body in bytes; a streamed body is read "
  "whole, up to this\"}"
  "  },"
  "  \"required\": [\"stream\"],"
  "  \"additionalProperties\": false"
  "}";

typedef struct
{
  SluiceMessage *message;
  GByteArray    *body; /* a streamed body, while it is read */
  GInputStream  *stream;
} SendData;

static void
send_data_free (SendData *data)
{
  g_clear_object (&data->message);
  g_clear_pointer (&data->body, g_byte_array_unref);
  g_clear_object (&data->stream);
  g_free (data);
}

static void
add_field (SluiceRedisCommand *command,
           const char         *name,
           const void         *value,
           gsize               len)
{
  sluice_redis_command_add_string (command, name);
  sluice_redis_command_add (command, value, len);
}

static void
xadd_reply (redisReply *reply,
            GError     *error,
            gpointer    user_data)
{
  g_autoptr (GTask) task = user_data;
  SluiceRedisStreamSend *self = g_task_get_source_object (task);
  SendData              *data = g_task_get_task_data (task);

  if (error != NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (reply->type == REDIS_REPLY_ERROR && g_str_has_prefix (reply->str, "WRONGTYPE"))
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "%s: key '%s' holds something other than a stream",
                               sluice_redis_connection_get_url (self->conn), self->key);
      return;
    }
  if (reply->type != REDIS_REPLY_STRING)
    {
      g_task_return_error (task, sluice_redis_connection_reply_error (
                                   self->conn, reply, "appending to stream '%s'", self->key));
      return;
    }

  sluice_message_set_header (data->message, SLUICE_REDIS_STREAM_HEADER_ID, reply->str);
  g_task_return_pointer (task, sluice_message_iter_new_single (data->message), g_object_unref);
}

static void
send_message (GTask *task)
{
  SluiceRedisStreamSend *self = g_task_get_source_object (task);
  SendData              *data = g_task_get_task_data (task);
  SluiceMessage         *message = data->message;
  g_autoptr (GString) headers = g_string_new (NULL);
  g_autoptr (SluiceRedisCommand) command = NULL;
  GBytes     *body = sluice_message_get_bytes (message);
  const char *content_type = sluice_message_get_content_type (message);
  const char *id = sluice_message_get_id (message);
  const char *traceparent = sluice_message_get_traceparent (message);
  gboolean    has_headers = sluice_redis_stream_headers_to_json (message, headers);
  gsize       body_len = 0;
  const char *body_data = g_bytes_get_data (body, &body_len);
  guint       argc = 3 + 2 + 2; /* XADD key *, body, id */

  if (body_len > self->max_size)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                               COMPONENT ": the body (%" G_GSIZE_FORMAT " bytes) is larger than "
                               "max_size (%" G_GUINT64_FORMAT " bytes)",
                               body_len, self->max_size);
      return;
    }

  if (self->maxlen > 0)
    argc += 3;
  if (content_type != NULL)
    argc += 2;
  if (traceparent != NULL)
    argc += 2;
  if (has_headers)
    argc += 2;

  command = sluice_redis_command_new (argc, strlen (self->key) + body_len + headers->len + 256);
  sluice_redis_command_add_string (command, "XADD");
  sluice_redis_command_add_string (command, self->key);
  if (self->maxlen > 0)
    {
      sluice_redis_command_add_string (command, "MAXLEN");
      sluice_redis_command_add_string (command, "~");
      sluice_redis_command_add_string (command, self->maxlen_text);
    }
  sluice_redis_command_add_string (command, "*");
  add_field (command, SLUICE_REDIS_STREAM_FIELD_BODY, body_data, body_len);
  if (content_type != NULL)
    add_field (command, SLUICE_REDIS_STREAM_FIELD_CONTENT_TYPE, content_type,
               strlen (content_type));
  add_field (command, SLUICE_REDIS_STREAM_FIELD_ID, id, strlen (id));
  if (traceparent != NULL)
    add_field (command, SLUICE_REDIS_STREAM_FIELD_TRACEPARENT, traceparent, strlen (traceparent));
  if (has_headers)
    add_field (command, SLUICE_REDIS_STREAM_FIELD_HEADERS, headers->str, headers->len);

  /* Sent at once: the commands of every message in flight leave together
   * on the connection's next write, pipelined. */
  sluice_redis_connection_send (self->conn, g_steal_pointer (&command), xadd_reply,
                                g_object_ref (task));
}

static void read_more (GTask *task);

static void
read_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  SluiceRedisStreamSend *self = g_task_get_source_object (task);
  SendData              *data = g_task_get_task_data (task);
  g_autoptr (GBytes) chunk = NULL;
  GError *error = NULL;

  chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (chunk == NULL)
    {
      /* Cancelled by shutdown: said as it is, so the run is handed back. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, error);
          return;
        }
      /* Part of the stream is gone: another attempt could not send it. */
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               COMPONENT ": cannot read the message body: %s", error->message);
      g_error_free (error);
      return;
    }

  if (g_bytes_get_size (chunk) == 0)
    {
      g_autoptr (GBytes) body = g_byte_array_free_to_bytes (g_steal_pointer (&data->body));

      /* The stream is used up: from now on the message carries the bytes
       * (so a retry of this step sends them again). */
      sluice_message_set_bytes (data->message, body);
      g_clear_object (&data->stream);
      send_message (task);
      return;
    }

  if (data->body->len + g_bytes_get_size (chunk) > self->max_size)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                               COMPONENT ": the streamed body is larger than max_size (%"
                               G_GUINT64_FORMAT " bytes)",
                               self->max_size);
      return;
    }
  g_byte_array_append (data->body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  read_more (g_steal_pointer (&task));
}

static void
read_more (GTask *task)
{
  SendData *data = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (data->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), read_done, task);
}

static void
sluice_redis_stream_send_process_async (SluiceStep         *step,
                                        SluiceMessage      *message,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data)
{
  SluiceRedisStreamSend *self = SLUICE_REDIS_STREAM_SEND (step);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  SendData *data = g_new0 (SendData, 1);

  g_task_set_source_tag (task, sluice_redis_stream_send_process_async);
  data->message = g_object_ref (message);
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);

  if (!sluice_message_is_streamed (message))
    {
      send_message (task);
      return;
    }

  if (sluice_message_get_length (message) > 0 &&
      (guint64) sluice_message_get_length (message) > self->max_size)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                               COMPONENT ": the body (%" G_GINT64_FORMAT " bytes) is larger "
                               "than max_size (%" G_GUINT64_FORMAT " bytes)",
                               sluice_message_get_length (message), self->max_size);
      return;
    }
  data->stream = g_object_ref (sluice_message_get_stream (message));
  data->body = g_byte_array_sized_new (
    sluice_message_get_length (message) > 0 ? (guint) sluice_message_get_length (message)
                                            : READ_CHUNK);
  read_more (g_steal_pointer (&task));
}

static SluiceMessageIter *
sluice_redis_stream_send_process_finish (SluiceStep   *step,
                                         GAsyncResult *result,
                                         GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, step), NULL);
  g_return_val_if_fail (
    g_task_get_source_tag (G_TASK (result)) == sluice_redis_stream_send_process_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_redis_stream_send_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_redis_stream_send_process_async;
  iface->process_finish = sluice_redis_stream_send_process_finish;
}

/* GInitable */

static gboolean
sluice_redis_stream_send_initable_init (GInitable    *initable,
                                        GCancellable *cancellable,
                                        GError      **error)
{
  SluiceRedisStreamSend *self = SLUICE_REDIS_STREAM_SEND (initable);
  JsonObject            *config = sluice_component_get_config (self);
  SluiceContext         *context = sluice_component_get_context (self);
  g_autoptr (SluiceRedisConfig) conn_config = NULL;

  if (!sluice_redis_stream_config_get_string (config, COMPONENT, "stream", NULL, &self->stream,
                                              error) ||
      !sluice_redis_stream_config_get_uint64 (config, COMPONENT, "maxlen", 1, G_MAXINT64, 0,
                                              &self->maxlen, error) ||
      !sluice_redis_stream_config_get_uint64 (config, COMPONENT, "max_size", 1, MAX_MAX_SIZE,
                                              DEFAULT_MAX_SIZE, &self->max_size, error))
    return FALSE;
  if (*self->stream == '\0')
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'stream' must not be empty");
      return FALSE;
    }

  conn_config = sluice_redis_config_new (context, config, COMPONENT, error);
  if (conn_config == NULL)
    return FALSE;
  self->key = g_strconcat (conn_config->prefix, self->stream, NULL);
  if (self->maxlen > 0)
    self->maxlen_text = g_strdup_printf ("%" G_GUINT64_FORMAT, self->maxlen);
  self->conn = sluice_redis_connection_new (g_steal_pointer (&conn_config), context);
  return TRUE;
}

static void
sluice_redis_stream_send_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_redis_stream_send_initable_init;
}

/* GObject */

static void
sluice_redis_stream_send_finalize (GObject *object)
{
  SluiceRedisStreamSend *self = SLUICE_REDIS_STREAM_SEND (object);

  g_clear_object (&self->conn);
  g_free (self->key);
  g_free (self->stream);
  g_free (self->maxlen_text);

  G_OBJECT_CLASS (sluice_redis_stream_send_parent_class)->finalize (object);
}

static void
sluice_redis_stream_send_class_init (SluiceRedisStreamSendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_redis_stream_send_finalize;
}

static void
sluice_redis_stream_send_init (SluiceRedisStreamSend *self)
{
}
