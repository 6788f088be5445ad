/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-components.h"

TestRecorder test_recorder;

void
test_engine_add_workflow (SluicePluginHost *host,
                          SluiceEngine     *engine,
                          const char       *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceWorkflow) workflow = sluice_workflow_load_data (host, json, -1, "test.json",
                                                                  &error);

  g_assert_no_error (error);
  g_assert_true (sluice_engine_add_workflow (engine, workflow, TRUE, &error));
  g_assert_no_error (error);
}

void
test_recorder_reset (SluiceClock *clock)
{
  g_clear_pointer (&test_recorder.collected, g_ptr_array_unref);
  g_clear_pointer (&test_recorder.failures, g_hash_table_unref);
  g_clear_pointer (&test_recorder.attempt_times, g_array_unref);
  g_queue_clear_full (&test_recorder.held, g_object_unref);
  g_clear_object (&test_recorder.clock);

  test_recorder.collected = g_ptr_array_new_with_free_func (g_object_unref);
  test_recorder.failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  test_recorder.attempt_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  test_recorder.holding = 0;
  test_recorder.max_holding = 0;
  test_recorder.emitted = 0;
  test_recorder.clock = clock != NULL ? g_object_ref (clock) : NULL;
}

/* ---- test.flaky ---- */

#define TEST_TYPE_FLAKY (test_flaky_get_type ())
G_DECLARE_FINAL_TYPE (TestFlaky, test_flaky, TEST, FLAKY, GObject)
struct _TestFlaky { GObject parent_instance; };
static void test_flaky_step_init (SluiceStepInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (TestFlaky, test_flaky, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_flaky_step_init))

static void
test_flaky_process_async (SluiceStep *step, SluiceMessage *message, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *config = sluice_component_get_config (step);
  g_autoptr(GTask) task = g_task_new (step, cancellable, callback, user_data);
  guint fail_times = json_object_get_int_member_with_default (config, "fail_times", 0);
  gboolean permanent = json_object_get_boolean_member_with_default (config, "permanent", FALSE);
  gint64 divisible_by = json_object_get_int_member_with_default (config, "divisible_by", 0);
  const char *id = sluice_message_get_id (message);
  guint failed = GPOINTER_TO_UINT (g_hash_table_lookup (test_recorder.failures, id));
  gint64 t = sluice_clock_get_monotonic_time (test_recorder.clock);

  /* With divisible_by, only messages whose $.n is a multiple of it fail. */
  if (divisible_by > 0)
    {
      JsonNode *json = sluice_message_get_json (message, NULL);
      gint64 n = json != NULL && JSON_NODE_HOLDS_OBJECT (json)
                   ? json_object_get_int_member_with_default (json_node_get_object (json), "n", 1)
                   : 1;

      if (n % divisible_by != 0)
        fail_times = 0;
    }

  g_array_append_val (test_recorder.attempt_times, t);
  test_recorder.last_attempt = sluice_message_get_attempt (message);
  if (failed < fail_times)
    {
      g_hash_table_insert (test_recorder.failures, g_strdup (id), GUINT_TO_POINTER (failed + 1));
      g_task_return_new_error (task, SLUICE_ERROR,
                               permanent ? SLUICE_ERROR_PERMANENT : SLUICE_ERROR_UNAVAILABLE,
                               "flaky failure %u", failed + 1);
      return;
    }
  g_task_return_pointer (task, sluice_message_iter_new_single (message), g_object_unref);
}

static SluiceMessageIter *
test_step_finish (SluiceStep *step, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_flaky_step_init (SluiceStepInterface *iface)
{
  iface->process_async = test_flaky_process_async;
  iface->process_finish = test_step_finish;
}

static void test_flaky_class_init (TestFlakyClass *klass) { }
static void test_flaky_init (TestFlaky *self) { }

/* ---- test.collect ---- */

#define TEST_TYPE_COLLECT (test_collect_get_type ())
G_DECLARE_FINAL_TYPE (TestCollect, test_collect, TEST, COLLECT, GObject)
struct _TestCollect { GObject parent_instance; };
static void test_collect_step_init (SluiceStepInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (TestCollect, test_collect, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_collect_step_init))

static void
test_collect_process_async (SluiceStep *step, SluiceMessage *message, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *config = sluice_component_get_config (step);
  g_autoptr(GTask) task = g_task_new (step, cancellable, callback, user_data);
  const char *tag = json_object_get_string_member_with_default (config, "tag", NULL);

  if (tag != NULL)
    sluice_message_set_header (message, "collected-by", tag);
  g_ptr_array_add (test_recorder.collected, g_object_ref (message));
  if (json_object_get_boolean_member_with_default (config, "pass", FALSE))
    g_task_return_pointer (task, sluice_message_iter_new_single (message), g_object_unref);
  else
    g_task_return_pointer (task, sluice_message_iter_new_empty (), g_object_unref);
}

static void
test_collect_step_init (SluiceStepInterface *iface)
{
  iface->process_async = test_collect_process_async;
  iface->process_finish = test_step_finish;
}

static void test_collect_class_init (TestCollectClass *klass) { }
static void test_collect_init (TestCollect *self) { }

/* ---- test.hold ---- */

#define TEST_TYPE_HOLD (test_hold_get_type ())
G_DECLARE_FINAL_TYPE (TestHold, test_hold, TEST, HOLD, GObject)
struct _TestHold { GObject parent_instance; };
static void test_hold_step_init (SluiceStepInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (TestHold, test_hold, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_hold_step_init))

static void
test_hold_process_async (SluiceStep *step, SluiceMessage *message, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (step, cancellable, callback, user_data);

  g_task_set_task_data (task, g_object_ref (message), g_object_unref);
  g_queue_push_tail (&test_recorder.held, task);
  test_recorder.holding++;
  test_recorder.max_holding = MAX (test_recorder.max_holding, test_recorder.holding);
}

void
test_recorder_release (guint count)
{
  for (guint i = 0; i < count && test_recorder.held.length > 0; i++)
    {
      g_autoptr(GTask) task = g_queue_pop_head (&test_recorder.held);

      test_recorder.holding--;
      g_task_return_pointer (task, sluice_message_iter_new_single (g_task_get_task_data (task)),
                             g_object_unref);
    }
}

static void
test_hold_step_init (SluiceStepInterface *iface)
{
  iface->process_async = test_hold_process_async;
  iface->process_finish = test_step_finish;
}

static void test_hold_class_init (TestHoldClass *klass) { }
static void test_hold_init (TestHold *self) { }

/* ---- test.emit: a lazy iterator ---- */

#define TEST_TYPE_COUNTING_ITER (test_counting_iter_get_type ())
G_DECLARE_FINAL_TYPE (TestCountingIter, test_counting_iter, TEST, COUNTING_ITER, SluiceMessageIter)
struct _TestCountingIter { SluiceMessageIter parent_instance; SluiceMessage *input; guint left; guint next; };
G_DEFINE_FINAL_TYPE (TestCountingIter, test_counting_iter, SLUICE_TYPE_MESSAGE_ITER)

static SluiceMessage *
counting_iter_make (TestCountingIter *self)
{
  SluiceMessage *message;
  g_autoptr(GBytes) body = NULL;
  char *text;

  if (self->left == 0)
    return NULL;
  self->left--;
  test_recorder.emitted++;
  text = g_strdup_printf ("{\"n\": %u}", ++self->next);
  body = g_bytes_new_take (text, strlen (text));
  message = sluice_message_new_child (self->input);
  sluice_message_set_bytes (message, body);
  sluice_message_set_content_type (message, "application/json");
  return message;
}

static void
counting_iter_next_async (SluiceMessageIter *iter, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (iter, cancellable, callback, user_data);

  /* Deliberately asynchronous (no pop_ready): the engine must wait. */
  g_task_return_pointer (task, counting_iter_make (TEST_COUNTING_ITER (iter)), g_object_unref);
}

static SluiceMessage *
counting_iter_next_finish (SluiceMessageIter *iter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_counting_iter_finalize (GObject *object)
{
  g_clear_object (&TEST_COUNTING_ITER (object)->input);
  G_OBJECT_CLASS (test_counting_iter_parent_class)->finalize (object);
}

static void
test_counting_iter_class_init (TestCountingIterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_counting_iter_finalize;
  SLUICE_MESSAGE_ITER_CLASS (klass)->next_async = counting_iter_next_async;
  SLUICE_MESSAGE_ITER_CLASS (klass)->next_finish = counting_iter_next_finish;
}

static void test_counting_iter_init (TestCountingIter *self) { }

#define TEST_TYPE_EMIT (test_emit_get_type ())
G_DECLARE_FINAL_TYPE (TestEmit, test_emit, TEST, EMIT, GObject)
struct _TestEmit { GObject parent_instance; };
static void test_emit_step_init (SluiceStepInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (TestEmit, test_emit, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_emit_step_init))

static void
test_emit_process_async (SluiceStep *step, SluiceMessage *message, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (step, cancellable, callback, user_data);
  TestCountingIter *iter = g_object_new (TEST_TYPE_COUNTING_ITER, NULL);

  iter->input = g_object_ref (message);
  iter->left = json_object_get_int_member (sluice_component_get_config (step), "count");
  g_task_return_pointer (task, iter, g_object_unref);
}

static void
test_emit_step_init (SluiceStepInterface *iface)
{
  iface->process_async = test_emit_process_async;
  iface->process_finish = test_step_finish;
}

static void test_emit_class_init (TestEmitClass *klass) { }
static void test_emit_init (TestEmit *self) { }

/* ---- registration ---- */

static gboolean
register_test_components (SluicePlugin *plugin, GError **error)
{
  return sluice_plugin_add_component (
           plugin, "test.flaky", TEST_TYPE_FLAKY,
           "{\"type\": \"object\", \"properties\": {"
           "\"fail_times\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0},"
           "\"permanent\": {\"type\": \"boolean\", \"default\": false},"
           "\"divisible_by\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0}}}", error) &&
         sluice_plugin_add_component (
           plugin, "test.collect", TEST_TYPE_COLLECT,
           "{\"type\": \"object\", \"properties\": {"
           "\"pass\": {\"type\": \"boolean\", \"default\": false},"
           "\"tag\": {\"type\": \"string\"}}}", error) &&
         sluice_plugin_add_component (
           plugin, "test.hold", TEST_TYPE_HOLD,
           "{\"type\": \"object\", \"properties\": {}}", error) &&
         sluice_plugin_add_component (
           plugin, "test.emit", TEST_TYPE_EMIT,
           "{\"type\": \"object\", \"required\": [\"count\"], \"properties\": {"
           "\"count\": {\"type\": \"integer\", \"minimum\": 0},"
           "\"label\": {\"type\": \"string\", \"description\": \"a required-by-nobody key\"}}}",
           error);
}

static const SluicePluginDescriptor test_descriptor = {
  SLUICE_PLUGIN_ABI, SLUICE_PLUGIN_ABI_MINOR, "test", "1.0", "LGPL-2.1-or-later",
  "Components for the engine's tests", register_test_components, { NULL },
};

gboolean
test_components_register (SluicePluginHost *host, GError **error)
{
  return sluice_plugin_host_add_builtin (host, &test_descriptor, error);
}
