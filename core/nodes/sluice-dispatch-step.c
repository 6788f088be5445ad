/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-dispatch-step.h"

#include "sluice-batch-step.h"
#include "sluice-run-observer.h"
#include "sluice-schema.h"

const char sluice_dispatch_step_schema[] =
  "{\"type\": \"object\","
  " \"description\": \"Sends each batch record it gets to a queue, one message per record; the "
  "record stays processing until the event workflow that receives the message finishes with it\","
  " \"properties\": {"
  "  \"send\": {\"type\": \"object\","
  "            \"description\": \"the step that sends: {\\\"use\\\": COMPONENT, \\\"with\\\": "
  "{its configuration}}, e.g. redis.stream.send\","
  "            \"properties\": {"
  "              \"use\": {\"type\": \"string\", \"minLength\": 1,"
  "                       \"description\": \"a step component that sends to a queue\"},"
  "              \"with\": {\"type\": \"object\", \"additionalProperties\": true,"
  "                        \"description\": \"its configuration\"}"
  "            },"
  "            \"required\": [\"use\"]}"
  " },"
  " \"required\": [\"send\"]}";

struct _SluiceDispatchStep
{
  GObject parent_instance;

  GWeakRef           manager;   /* SluiceBatchManager: it holds auto_process dispatchers */
  GObject           *send;      /* the wrapped SluiceStep */
  char              *send_name;
  SluiceMessageIter *empty;     /* what every record emits: nothing */
};

static void sluice_dispatch_step_step_iface_init (SluiceStepInterface *iface);
static void sluice_dispatch_step_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceDispatchStep, sluice_dispatch_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP,
                                                      sluice_dispatch_step_step_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_dispatch_step_initable_iface_init))

/* ---- SluiceStep ---- */

typedef struct {
  char     *batch_id;
  char     *record_id;
  gboolean  hold;
} SendData;

static void
send_data_free (SendData *data)
{
  g_free (data->batch_id);
  g_free (data->record_id);
  g_free (data);
}

/* The queue's copy of a record: its body, content type, headers and trace,
 * plus the worker whose lease the record is under, which the settle of a
 * late outcome must present. */
static SluiceMessage *
dispatch_message_new (SluiceMessage *record, const char *worker)
{
  SluiceMessage *message = sluice_message_new_child (record);

  sluice_message_set_id (message, sluice_message_get_id (record));
  if (sluice_message_is_streamed (record))
    sluice_message_set_stream (message, sluice_message_get_stream (record),
                               sluice_message_get_length (record));
  else if (sluice_message_get_bytes (record) != NULL)
    sluice_message_set_bytes (message, sluice_message_get_bytes (record));
  sluice_message_set_content_type (message, sluice_message_get_content_type (record));
  /* The receiving workflow's run gets its own id. */
  sluice_message_remove_header (message, SLUICE_HEADER_RUN);
  if (worker != NULL)
    sluice_message_set_header (message, SLUICE_HEADER_BATCH_WORKER, worker);
  return message;
}

static void
on_sent (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceDispatchStep *self = g_task_get_source_object (task);
  SendData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceMessageIter) iter = sluice_step_process_finish (SLUICE_STEP (object), result,
                                                                  &error);

  if (iter == NULL)
    {
      if (error == NULL)
        error = g_error_new_literal (SLUICE_ERROR, SLUICE_ERROR_FAILED, "it returned no result");
      g_prefix_error (&error, "dispatch of record %s of batch %s through %s: ", data->record_id,
                      data->batch_id, self->send_name);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* The message is out: from now on the record's outcome is the receiving
   * workflow's, and its chunk must not settle it. */
  if (data->hold)
    {
      g_autoptr(SluiceBatchManager) manager = g_weak_ref_get (&self->manager);

      if (manager != NULL)
        sluice_batch_manager_hold_record (manager, data->batch_id, data->record_id);
    }
  g_task_return_pointer (task, g_object_ref (self->empty), g_object_unref);
}

static void
sluice_dispatch_step_process_async (SluiceStep         *step,
                                    SluiceMessage      *message,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data)
{
  SluiceDispatchStep *self = SLUICE_DISPATCH_STEP (step);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(SluiceBatchManager) manager = g_weak_ref_get (&self->manager);
  g_autoptr(SluiceMessage) outgoing = NULL;
  const char *batch_id = sluice_message_get_header (message, SLUICE_HEADER_BATCH);
  const char *record_id = sluice_message_get_header (message, SLUICE_HEADER_BATCH_RECORD);
  SendData *data;

  g_task_set_source_tag (task, sluice_dispatch_step_process_async);
  if (batch_id == NULL || record_id == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               "dispatch: the message is not a batch record (it has no '%s' "
                               "header): place dispatch after a batch node",
                               batch_id == NULL ? SLUICE_HEADER_BATCH : SLUICE_HEADER_BATCH_RECORD);
      return;
    }
  if (manager == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                               "dispatch: the batch manager has stopped");
      return;
    }

  data = g_new0 (SendData, 1);
  data->batch_id = g_strdup (batch_id);
  data->record_id = g_strdup (record_id);
  /* A message that already names its worker was dispatched before (an
   * event workflow passing it on): its lease is not ours to hold. */
  data->hold = sluice_message_get_header (message, SLUICE_HEADER_BATCH_WORKER) == NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);

  outgoing = dispatch_message_new (message, data->hold ? sluice_batch_manager_get_worker (manager)
                                                       : NULL);
  sluice_step_process_async (SLUICE_STEP (self->send), outgoing, cancellable, on_sent,
                             g_steal_pointer (&task));
}

static SluiceMessageIter *
sluice_dispatch_step_process_finish (SluiceStep *step, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_dispatch_step_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_dispatch_step_process_async;
  iface->process_finish = sluice_dispatch_step_process_finish;
}

/* ---- Setting up the send step ---- */

/* @key is where @send sits in the configuration ("send",
 * "auto_process.send"), for messages. */
static gboolean
dispatch_setup (SluiceDispatchStep *self,
                SluiceContext      *context,
                SluiceBatchManager *manager,
                JsonObject         *send,
                const char         *key,
                GError            **error)
{
  SluicePluginHost *host = sluice_batch_manager_get_plugin_host (manager);
  const char *use = send != NULL ? json_object_get_string_member_with_default (send, "use", NULL)
                                 : NULL;
  JsonNode *with = send != NULL ? json_object_get_member (send, "with") : NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(JsonObject) config = NULL;
  g_autoptr(SluiceContext) send_context = NULL;
  g_autofree char *send_label = NULL;
  g_autoptr(GError) local_error = NULL;
  SluiceComponentFactory *factory;

  g_weak_ref_set (&self->manager, manager);

  if (use == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "key '%s.use': missing required key", key);
      return FALSE;
    }
  if (host == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                   "key '%s.use': cannot create '%s': the batch manager has no plugin host to "
                   "create it from", key, use);
      return FALSE;
    }
  factory = sluice_plugin_host_lookup (host, use);
  if (factory == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "key '%s.use': unknown component '%s' (is its plugin installed? see sluiced "
                   "--list-plugins)", key, use);
      return FALSE;
    }
  if (sluice_component_factory_get_kind (factory) != SLUICE_COMPONENT_STEP)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "key '%s.use': component '%s' is a %s, not a step", key, use,
                   sluice_component_kind_to_string (sluice_component_factory_get_kind (factory)));
      return FALSE;
    }

  problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
  config = sluice_schema_validate (sluice_component_factory_get_schema (factory), with, problems);
  if (config == NULL)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      for (guint i = 0; i < problems->len; i++)
        {
          SluiceSchemaProblem *problem = g_ptr_array_index (problems, i);

          g_string_append_printf (text, "%skey '%s.with%s%s': %s", i > 0 ? "; " : "", key,
                                  *problem->path != '\0' ? "." : "", problem->path,
                                  problem->message);
        }
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s (%s)", text->str, use);
      return FALSE;
    }

  send_label = g_strdup_printf ("%s/send", sluice_context_get_name (context));
  send_context = sluice_context_new_child (context, send_label);
  self->send = sluice_component_factory_create (factory, send_context, config, &local_error);
  if (self->send == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "key '%s' (%s): %s", key, use,
                   local_error->message);
      return FALSE;
    }
  self->send_name = g_strdup (use);
  return TRUE;
}

SluiceDispatchStep *
sluice_dispatch_step_new (SluiceContext      *context,
                          SluiceBatchManager *manager,
                          JsonObject         *send,
                          GError            **error)
{
  g_autoptr(SluiceDispatchStep) self = NULL;

  g_return_val_if_fail (SLUICE_IS_CONTEXT (context), NULL);
  g_return_val_if_fail (SLUICE_IS_BATCH_MANAGER (manager), NULL);

  self = g_object_new (SLUICE_TYPE_DISPATCH_STEP, NULL);
  if (!dispatch_setup (self, context, manager, send, "auto_process.send", error))
    return NULL;
  return g_steal_pointer (&self);
}

/* ---- GInitable ---- */

static gboolean
sluice_dispatch_step_initable_init (GInitable *initable, GCancellable *cancellable, GError **error)
{
  SluiceDispatchStep *self = SLUICE_DISPATCH_STEP (initable);
  JsonObject *config = sluice_component_get_config (self);
  SluiceContext *context = sluice_component_get_context (self);
  SluiceBatchManager *manager = g_object_get_data (G_OBJECT (context),
                                                   SLUICE_CONTEXT_BATCH_MANAGER);
  JsonNode *send = json_object_get_member (config, "send");

  if (manager == NULL)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "dispatch nodes need a batch store: set \"redis\" in sluice.conf");
      return FALSE;
    }
  return dispatch_setup (self, context, manager,
                         send != NULL && JSON_NODE_HOLDS_OBJECT (send) ? json_node_get_object (send)
                                                                       : NULL,
                         "send", error);
}

static void
sluice_dispatch_step_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_dispatch_step_initable_init;
}

/* ---- GObject ---- */

static void
sluice_dispatch_step_finalize (GObject *object)
{
  SluiceDispatchStep *self = SLUICE_DISPATCH_STEP (object);

  g_weak_ref_clear (&self->manager);
  g_clear_object (&self->send);
  g_clear_object (&self->empty);
  g_free (self->send_name);

  G_OBJECT_CLASS (sluice_dispatch_step_parent_class)->finalize (object);
}

static void
sluice_dispatch_step_class_init (SluiceDispatchStepClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_dispatch_step_finalize;
}

static void
sluice_dispatch_step_init (SluiceDispatchStep *self)
{
  g_weak_ref_init (&self->manager, NULL);
  self->empty = sluice_message_iter_new_empty ();
}
