/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-filter-step.h"

#include "sluice-predicate.h"
#include "sluice-schema.h"

/* "when" is a predicate: its shape is checked by sluice_predicate_new(),
 * which the schema subset cannot express. */
const char sluice_filter_step_schema[] =
  "{\"type\": \"object\","
  " \"description\": \"Passes a message on when its condition holds, else drops it\","
  " \"properties\": {"
  "   \"when\": {\"type\": \"object\","
  "     \"description\": \"The condition: {\\\"field\\\": \\\"$.status\\\", \\\"equals\\\": \\\"paid\\\"}, "
  "{\\\"header\\\": name, ...}, with equals, in, gt, ge, lt, le, matches or exists; "
  "or {\\\"all\\\": [...]}, {\\\"any\\\": [...]}, {\\\"not\\\": {...}}\","
  "     \"additionalProperties\": true}"
  " },"
  " \"required\": [\"when\"]}";

struct _SluiceFilterStep
{
  GObject parent_instance;

  SluicePredicate *predicate;
};

static void sluice_filter_step_step_iface_init (SluiceStepInterface *iface);
static void sluice_filter_step_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceFilterStep, sluice_filter_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, sluice_filter_step_step_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, sluice_filter_step_initable_iface_init))

static void
append_problems (GString    *text,
                 GPtrArray  *problems,
                 const char *prefix)
{
  for (guint i = 0; i < problems->len; i++)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (problems, i);

      if (text->len > 0)
        g_string_append (text, "; ");
      if (prefix[0] != '\0' && problem->path[0] != '\0')
        g_string_append_printf (text, "%s.%s: ", prefix, problem->path);
      else if (prefix[0] != '\0' || problem->path[0] != '\0')
        g_string_append_printf (text, "%s%s: ", prefix, problem->path);
      g_string_append (text, problem->message);
    }
}

static gboolean
sluice_filter_step_initable_init (GInitable     *initable,
                                  GCancellable  *cancellable,
                                  GError       **error)
{
  SluiceFilterStep *self = SLUICE_FILTER_STEP (initable);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
  g_autoptr(JsonNode) schema = NULL;
  g_autoptr(JsonNode) config_node = NULL;
  g_autoptr(JsonObject) config = NULL;
  g_autoptr(GString) text = NULL;
  JsonObject *given;

  if (self->predicate != NULL)
    return TRUE;

  schema = json_from_string (sluice_filter_step_schema, NULL);
  given = sluice_component_get_config (self);
  if (given != NULL)
    {
      config_node = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (config_node, given);
    }

  text = g_string_new (NULL);
  config = sluice_schema_validate (schema, config_node, problems);
  if (config == NULL)
    append_problems (text, problems, "");
  else
    {
      self->predicate = sluice_predicate_new (json_object_get_member (config, "when"), problems);
      if (self->predicate == NULL)
        append_problems (text, problems, "when");
    }

  if (self->predicate == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "filter: %s", text->str);
      return FALSE;
    }
  return TRUE;
}

static void
sluice_filter_step_process_async (SluiceStep         *step,
                                  SluiceMessage      *message,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data)
{
  SluiceFilterStep *self = SLUICE_FILTER_STEP (step);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_filter_step_process_async);

  if (self->predicate == NULL)
    g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                             "filter: the step was not initialized");
  else if (sluice_predicate_evaluate (self->predicate, message))
    g_task_return_pointer (task, sluice_message_iter_new_single (message), g_object_unref);
  else
    g_task_return_pointer (task, sluice_message_iter_new_empty (), g_object_unref);
}

static SluiceMessageIter *
sluice_filter_step_process_finish (SluiceStep   *step,
                                   GAsyncResult *result,
                                   GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, step), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sluice_filter_step_process_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_filter_step_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_filter_step_process_async;
  iface->process_finish = sluice_filter_step_process_finish;
}

static void
sluice_filter_step_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_filter_step_initable_init;
}

static void
sluice_filter_step_finalize (GObject *object)
{
  SluiceFilterStep *self = SLUICE_FILTER_STEP (object);

  g_clear_pointer (&self->predicate, sluice_predicate_free);

  G_OBJECT_CLASS (sluice_filter_step_parent_class)->finalize (object);
}

static void
sluice_filter_step_class_init (SluiceFilterStepClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_filter_step_finalize;
}

static void
sluice_filter_step_init (SluiceFilterStep *self)
{
}
