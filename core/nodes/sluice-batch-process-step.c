/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-batch-process-step.h"

#include "sluice-batch-manager.h"
#include "sluice-batch-step.h"

const char sluice_batch_process_step_schema[] =
  "{\"type\": \"object\","
  " \"description\": \"Processes a batch that other runs fill: its failed records are retried, "
  "what it holds is processed by the nodes after its batch node, and it stays open for more "
  "(or is closed)\","
  " \"properties\": {"
  "  \"batch\": {\"type\": \"string\", \"minLength\": 1,"
  "             \"description\": \"the batch id; {date} is the UTC date (YYYYMMDD) of now minus "
  "lookback, as the batch node writes it\"},"
  "  \"lookback\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"0s\","
  "                \"description\": \"how far back {date} is taken: an hourly run at 00:00 with "
  "1h processes the day that just ended\"},"
  "  \"retry_failed\": {\"type\": \"boolean\", \"default\": true,"
  "                    \"description\": \"send the batch's failed records back to pending first\"},"
  "  \"close\": {\"type\": \"boolean\", \"default\": false,"
  "             \"description\": \"close the batch: it completes (and reports) once processed\"}"
  " },"
  " \"required\": [\"batch\"]}";

struct _SluiceBatchProcessStep
{
  GObject parent_instance;

  SluiceBatchManager *manager;  /* weak */
  SluiceBatchStore   *store;
  SluiceClock        *clock;
  char               *batch_template;
  gint64              lookback_usec;
  gboolean            retry_failed;
  gboolean            close;
};

static void sluice_batch_process_step_step_iface_init (SluiceStepInterface *iface);
static void sluice_batch_process_step_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceBatchProcessStep, sluice_batch_process_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP,
                                                      sluice_batch_process_step_step_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_batch_process_step_initable_iface_init))

typedef struct {
  char    *batch_id;
  guint64  retried;
} Job;

static void
job_free (Job *job)
{
  g_free (job->batch_id);
  g_free (job);
}

static char *
expand_batch_id (SluiceBatchProcessStep *self)
{
  gint64 at = sluice_clock_get_real_time (self->clock) - self->lookback_usec;
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (at / G_USEC_PER_SEC);
  g_autofree char *date = g_date_time_format (when, "%Y%m%d");
  g_autoptr(GString) id = g_string_new (self->batch_template);

  g_string_replace (id, "{date}", date, 0);
  return g_string_free (g_steal_pointer (&id), FALSE);
}

static void
task_return_summary (GTask *task, gboolean missing)
{
  SluiceBatchProcessStep *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(SluiceMessage) output = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "batch");
  json_builder_add_string_value (builder, job->batch_id);
  if (missing)
    {
      json_builder_set_member_name (builder, "missing");
      json_builder_add_boolean_value (builder, TRUE);
    }
  else
    {
      json_builder_set_member_name (builder, "retried");
      json_builder_add_int_value (builder, (gint64) job->retried);
      json_builder_set_member_name (builder, "closed");
      json_builder_add_boolean_value (builder, self->close);
    }
  json_builder_end_object (builder);
  output = sluice_message_new_json (json_builder_get_root (builder));
  g_task_return_pointer (task, sluice_message_iter_new_single (output), g_object_unref);
}

static void
start_processing (GTask *task)
{
  SluiceBatchProcessStep *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);

  if (self->manager == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "batch-process: the batch manager is gone (shutting down)");
      return;
    }
  if (self->close)
    sluice_batch_manager_process (self->manager, job->batch_id);
  else
    sluice_batch_manager_drain (self->manager, job->batch_id);
  task_return_summary (task, FALSE);
}

static void
on_closed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!sluice_batch_store_set_state_finish (SLUICE_BATCH_STORE (object), result, &error) &&
      !g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  start_processing (task);
}

static void
after_retry (GTask *task)
{
  SluiceBatchProcessStep *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);

  if (self->close)
    sluice_batch_store_set_state_async (self->store, job->batch_id, SLUICE_BATCH_CLOSED,
                                        g_task_get_cancellable (task), on_closed,
                                        g_object_ref (task));
  else
    start_processing (task);
}

static void
on_retried (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  /* The store moves failed records back without starting a processor:
   * processing starts below, in the mode asked for. */
  if (!sluice_batch_store_retry_failed_finish (SLUICE_BATCH_STORE (object), result, &job->retried,
                                               &error))
    {
      if (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        task_return_summary (task, TRUE);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  after_retry (task);
}

static void
on_info (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceBatchInfo) info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (object),
                                                                        result, &error);

  if (info == NULL)
    {
      if (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        task_return_summary (task, TRUE);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  after_retry (task);
}

static void
sluice_batch_process_step_process_async (SluiceStep         *step,
                                         SluiceMessage      *message,
                                         GCancellable       *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data)
{
  SluiceBatchProcessStep *self = SLUICE_BATCH_PROCESS_STEP (step);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Job *job = g_new0 (Job, 1);

  g_task_set_source_tag (task, sluice_batch_process_step_process_async);
  job->batch_id = expand_batch_id (self);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  if (self->retry_failed)
    sluice_batch_store_retry_failed_async (self->store, job->batch_id, cancellable, on_retried,
                                           task);
  else
    sluice_batch_store_get_info_async (self->store, job->batch_id, cancellable, on_info, task);
}

static SluiceMessageIter *
sluice_batch_process_step_process_finish (SluiceStep *step, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_batch_process_step_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_batch_process_step_process_async;
  iface->process_finish = sluice_batch_process_step_process_finish;
}

static gboolean
sluice_batch_process_step_initable_init (GInitable *initable, GCancellable *cancellable,
                                         GError **error)
{
  SluiceBatchProcessStep *self = SLUICE_BATCH_PROCESS_STEP (initable);
  SluiceContext *context = sluice_component_get_context (self);
  JsonObject *config = sluice_component_get_config (self);

  self->manager = g_object_get_data (G_OBJECT (context), SLUICE_CONTEXT_BATCH_MANAGER);
  if (self->manager == NULL)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "batches need a batch store: set \"redis\" in sluice.conf");
      return FALSE;
    }
  g_object_add_weak_pointer (G_OBJECT (self->manager), (gpointer *) &self->manager);
  self->store = g_object_ref (sluice_batch_manager_get_store (self->manager));
  self->clock = g_object_ref (sluice_context_get_clock (context));
  self->batch_template = g_strdup (json_object_get_string_member (config, "batch"));
  if (!sluice_parse_duration (json_object_get_string_member (config, "lookback"),
                              &self->lookback_usec, error))
    return FALSE;
  self->retry_failed = json_object_get_boolean_member (config, "retry_failed");
  self->close = json_object_get_boolean_member (config, "close");
  return TRUE;
}

static void
sluice_batch_process_step_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_batch_process_step_initable_init;
}

static void
sluice_batch_process_step_finalize (GObject *object)
{
  SluiceBatchProcessStep *self = SLUICE_BATCH_PROCESS_STEP (object);

  if (self->manager != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->manager), (gpointer *) &self->manager);
  g_clear_object (&self->store);
  g_clear_object (&self->clock);
  g_free (self->batch_template);

  G_OBJECT_CLASS (sluice_batch_process_step_parent_class)->finalize (object);
}

static void
sluice_batch_process_step_class_init (SluiceBatchProcessStepClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_batch_process_step_finalize;
}

static void
sluice_batch_process_step_init (SluiceBatchProcessStep *self)
{
}
