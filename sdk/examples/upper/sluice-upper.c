/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* sluice-upper: an example third-party plugin for sluiced.
 *
 * It adds one component, "upper.text", a step that uppercases the body of
 * each message it gets, or, when its configuration names a "field", that
 * string field of a JSON body:
 *
 *   {"id": "shout", "use": "upper.text"}
 *   {"id": "shout-name", "use": "upper.text", "with": {"field": "name"}}
 *
 * A plugin is one shared object that links libsluice-1 and nothing of the
 * daemon. This file is complete: it builds on its own against the
 * installed SDK with
 *
 *   cc -shared -fPIC -o sluice-upper.so sluice-upper.c $(pkg-config --cflags --libs sluice-1)
 *
 * and is installed by copying sluice-upper.so into a plugin folder (for
 * example /usr/local/lib/sluice-1/plugins), owned by root and writable only
 * by its owner: sluiced refuses plugin files and folders that anyone else
 * could change. `sluiced --list-plugins` shows whether it was accepted.
 *
 * Read it top to bottom: configuration schema, the component's type, how a
 * message is processed asynchronously, how errors are reported, and at
 * the end the descriptor that makes this shared object a plugin. */

#include <string.h>

/* The one header a plugin includes. */
#include <sluice/sluice.h>

/* A body that arrives as a stream (a large file, say) is read into memory
 * here, so it must be bounded. Steps that can work record by record
 * should instead pass a stream on: that is how a 1 GB file flows through
 * a workflow without ever sitting in memory. */
#define UPPER_MAX_STREAMED_BODY (1024 * 1024)

/* Configuration
 *
 * Every component declares the configuration it accepts (its node's
 * "with" object) as a JSON Schema. The daemon checks each workflow against
 * it when the workflow is loaded, fills in defaults, and refuses a bad
 * workflow with an error naming the file, the node and the key. So by the
 * time the component is created its configuration is known to be valid.
 * The schema's top-level "description" is what `sluiced --list-plugins`
 * shows for the component. */
static const char upper_text_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Uppercases a text body, or one string field of a JSON body\","
  "  \"properties\": {"
  "    \"field\": {"
  "      \"type\": \"string\","
  "      \"minLength\": 1,"
  "      \"description\": \"Uppercase only this top-level string field of a JSON object body\""
  "    }"
  "  }"
  "}";

/* The component's type
 *
 * A component is a GObject type implementing one SDK interface; this one
 * is a SluiceStep. The daemon creates one instance per workflow node that
 * uses it, and that one instance serves every run of the node, possibly
 * several at once: anything that belongs to one message is kept in its
 * GTask, never in the instance. Private types of a plugin are named
 * Sluice<Plugin><Thing>. */
#define SLUICE_TYPE_UPPER_TEXT (sluice_upper_text_get_type ())
G_DECLARE_FINAL_TYPE (SluiceUpperText, sluice_upper_text, SLUICE, UPPER_TEXT, GObject)

struct _SluiceUpperText
{
  GObject parent_instance;

  char *field; /* the JSON field to uppercase; NULL: the whole body */
};

static void sluice_upper_text_step_iface_init (SluiceStepInterface *iface);
static void sluice_upper_text_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceUpperText, sluice_upper_text, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP,
                                                      sluice_upper_text_step_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_upper_text_initable_iface_init))

/* Reading the configuration
 *
 * The daemon attaches the node's configuration and a context to the
 * instance before it initializes it, so a component that implements
 * GInitable reads its configuration once, here, with
 * sluice_component_get_config(), and can still refuse it (the workflow
 * then fails to load, with this error). The context carries what the host
 * provides: named connections and their secrets, the state store, the
 * clock, and logging through sluice_log(). */
static gboolean
sluice_upper_text_initable_init (GInitable    *initable,
                                 GCancellable *cancellable,
                                 GError      **error)
{
  SluiceUpperText *self = SLUICE_UPPER_TEXT (initable);
  JsonObject *config = sluice_component_get_config (self);
  SluiceContext *context = sluice_component_get_context (self);

  if (config != NULL && json_object_has_member (config, "field"))
    self->field = g_strdup (json_object_get_string_member (config, "field"));

  if (self->field != NULL)
    sluice_log (context, NULL, G_LOG_LEVEL_DEBUG, "uppercasing JSON field '%s'", self->field);
  else
    sluice_log (context, NULL, G_LOG_LEVEL_DEBUG, "uppercasing the whole body");

  return TRUE;
}

static void
sluice_upper_text_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_upper_text_initable_init;
}

/* Reporting errors
 *
 * A failed message is reported as a GError in the SLUICE_ERROR domain, and
 * the code matters: the engine retries a step (with the node's retry
 * policy) only when sluice_error_is_retryable() says so, and sends the
 * message to the dead-letter place otherwise. Input this step cannot
 * handle stays bad however often it is retried, so it is
 * SLUICE_ERROR_INVALID_DATA; a peer that is down would be
 * SLUICE_ERROR_UNAVAILABLE. The message says what is wrong and where; the
 * engine adds the workflow, the node and the message id. */

/* Uppercases a whole body, which must be UTF-8 text. */
static GBytes *
upper_text (GBytes  *body,
            GError **error)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (body, &size);
  char *upper;

  if (size > G_MAXSSIZE || !g_utf8_validate_len (data, size, NULL))
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "body is not UTF-8 text");
      return NULL;
    }

  upper = g_utf8_strup (data, (gssize) size);
  return g_bytes_new_take (upper, strlen (upper));
}

/* For messages: what a JSON value is, in words. */
static const char *
describe_json (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      break;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    default:
      return "a number";
    }
}

/* Uppercases one string field of a JSON object. The message's tree
 * belongs to the message and must not be changed, so the result is a new
 * object: the input's other members, and the uppercased field. */
static JsonNode *
upper_field (JsonNode   *root,
             const char *field,
             GError    **error)
{
  g_autoptr(JsonObject) result = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "body is %s, not a JSON object with a field '%s'", describe_json (root),
                   field);
      return NULL;
    }

  member = json_object_get_member (json_node_get_object (root), field);
  if (member == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "JSON body has no field '%s'", field);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "field '%s' of the JSON body is %s, not a string", field,
                   describe_json (member));
      return NULL;
    }

  result = json_object_new ();
  json_object_iter_init_ordered (&iter, json_node_get_object (root));
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      if (g_str_equal (name, field))
        {
          g_autofree char *upper = g_utf8_strup (json_node_get_string (member), -1);

          json_object_set_string_member (result, name, upper);
        }
      else
        {
          json_object_set_member (result, name, json_node_copy (member));
        }
    }

  return json_node_init_object (json_node_alloc (), result);
}

/* Makes the output message from @input, whose body is in memory in
 * @body (the input itself, or a message holding what was read from the
 * input's stream). The output is a child of the input, so it keeps its
 * headers and its place in the trace. */
static SluiceMessage *
upper_message (SluiceUpperText *self,
               SluiceMessage   *input,
               SluiceMessage   *body,
               GError         **error)
{
  g_autoptr(SluiceMessage) output = sluice_message_new_child (input);
  const char *content_type = sluice_message_get_content_type (input);

  if (self->field != NULL)
    {
      g_autoptr(JsonNode) result = NULL;
      JsonNode *root = sluice_message_get_json (body, error);

      if (root == NULL)
        return NULL;

      result = upper_field (root, self->field, error);
      if (result == NULL)
        return NULL;

      sluice_message_set_json (output, result);
      sluice_message_set_content_type (output, content_type != NULL ? content_type
                                                                    : "application/json");
    }
  else
    {
      g_autoptr(GBytes) result = upper_text (sluice_message_get_bytes (body), error);

      if (result == NULL)
        return NULL;

      sluice_message_set_bytes (output, result);
      sluice_message_set_content_type (output, content_type != NULL ? content_type
                                                                    : "text/plain; charset=utf-8");
    }

  return g_steal_pointer (&output);
}

/* Processing a message, asynchronously
 *
 * process_async() is called on the daemon's main loop, so it must never
 * block: no blocking reads, no sleeping, no synchronous network calls.
 * It creates a GTask, starts the work, and returns; whoever finishes the
 * work completes the task (g_task_return_*), and the engine then calls
 * process_finish() to collect the result. Work that can only be done by
 * blocking (a client library without an async API) belongs in
 * g_task_run_in_thread(). Here a body already in memory is uppercased at
 * once; a streamed body is first read with GIO's async API.
 *
 * The result is a SluiceMessageIter: this step emits exactly one message
 * per input, but a filter would return sluice_message_iter_new_empty()
 * and a split many messages. */

/* What one streamed message needs while its body is being read. */
typedef struct
{
  SluiceMessage *input;
  guint8        *buffer;
  gsize          size;
} ReadData;

static void
read_data_free (ReadData *data)
{
  g_clear_object (&data->input);
  g_free (data->buffer);
  g_free (data);
}

static void
read_body_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceUpperText *self = g_task_get_source_object (task);
  ReadData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(SluiceMessage) body = NULL;
  g_autoptr(SluiceMessage) output = NULL;
  GError *error = NULL;
  gsize n_read = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n_read, &error))
    {
      /* An I/O error on the way in may well be gone on the next try:
       * GIO's errors are left as they are, and the engine's policy
       * decides. */
      g_task_return_error (task, error);
      return;
    }

  /* One byte more than the limit was asked for, to tell "exactly at the
   * limit" from "over it". */
  if (n_read > UPPER_MAX_STREAMED_BODY)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                               "streamed body is larger than %u bytes",
                               (guint) UPPER_MAX_STREAMED_BODY);
      return;
    }

  bytes = g_bytes_new (data->buffer, n_read);
  body = sluice_message_new_bytes (bytes, sluice_message_get_content_type (data->input));
  output = upper_message (self, data->input, body, &error);
  if (output == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, sluice_message_iter_new_single (output), g_object_unref);
}

static void
sluice_upper_text_process_async (SluiceStep         *step,
                                 SluiceMessage      *message,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  SluiceUpperText *self = SLUICE_UPPER_TEXT (step);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(SluiceMessage) output = NULL;
  GError *error = NULL;

  /* The source tag lets process_finish() check that the result is ours. */
  g_task_set_source_tag (task, sluice_upper_text_process_async);

  if (sluice_message_is_streamed (message))
    {
      gint64 length = sluice_message_get_length (message);
      ReadData *data;

      if (length > UPPER_MAX_STREAMED_BODY)
        {
          g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                                   "streamed body of %" G_GINT64_FORMAT " bytes is larger "
                                   "than %u bytes", length, (guint) UPPER_MAX_STREAMED_BODY);
          return;
        }

      data = g_new0 (ReadData, 1);
      data->input = g_object_ref (message);
      data->size = UPPER_MAX_STREAMED_BODY + 1;
      data->buffer = g_malloc (data->size);
      g_task_set_task_data (task, data, (GDestroyNotify) read_data_free);

      /* The task travels to the callback, which completes it. The
       * cancellable is passed on so that a stopping daemon interrupts the
       * read. */
      g_input_stream_read_all_async (sluice_message_get_stream (message), data->buffer,
                                     data->size, G_PRIORITY_DEFAULT, cancellable,
                                     read_body_cb, g_steal_pointer (&task));
      return;
    }

  /* Returning from inside process_async() is fine: GTask delivers the
   * result from the main loop, never before this function returned. */
  output = upper_message (self, message, message, &error);
  if (output == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, sluice_message_iter_new_single (output), g_object_unref);
}

static SluiceMessageIter *
sluice_upper_text_process_finish (SluiceStep   *step,
                                  GAsyncResult *result,
                                  GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, step), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sluice_upper_text_process_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_upper_text_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_upper_text_process_async;
  iface->process_finish = sluice_upper_text_process_finish;
}

static void
sluice_upper_text_finalize (GObject *object)
{
  SluiceUpperText *self = SLUICE_UPPER_TEXT (object);

  g_free (self->field);

  G_OBJECT_CLASS (sluice_upper_text_parent_class)->finalize (object);
}

static void
sluice_upper_text_class_init (SluiceUpperTextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_upper_text_finalize;
}

static void
sluice_upper_text_init (SluiceUpperText *self)
{
}

/* Registering the components
 *
 * Called once, on the main thread, after the daemon accepted the
 * descriptor below. Each component is named "<plugin>.<kind>" and comes
 * with its GType and configuration schema. Returning FALSE (with the
 * error set, as sluice_plugin_add_component() does) refuses the whole
 * plugin, with one log line naming the file and the reason. */
static gboolean
upper_register_components (SluicePlugin *plugin,
                           GError      **error)
{
  return sluice_plugin_add_component (plugin, "upper.text", SLUICE_TYPE_UPPER_TEXT,
                                      upper_text_schema, error);
}

/* The descriptor
 *
 * SLUICE_PLUGIN_DEFINE() defines the one symbol the daemon looks for, a
 * constant descriptor: the plugin ABI this file was compiled against
 * (taken from the SDK headers), the plugin's name (lowercase letters,
 * digits and '-'; it prefixes its components' names and must be unique
 * among the loaded plugins), its version, its licence as an SPDX
 * identifier, one line about it, and the register function. Before
 * running any of the plugin's code the daemon checks that the ABI major
 * version equals its own and the minor version is not newer, and that no
 * field is missing. Once accepted, a plugin is never unloaded. */
SLUICE_PLUGIN_DEFINE ("upper", "1.0.0", "LGPL-2.1-or-later",
                      "Example plugin: uppercases text, or one field of a JSON body",
                      upper_register_components)
