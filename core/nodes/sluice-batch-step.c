/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-batch-step.h"

#include "sluice-batch-manager.h"
#include "sluice-dispatch-step.h"
#include "sluice-run-observer.h"

#define MAX_BACKOFF_USEC (10 * G_USEC_PER_SEC)
/* Full buffers a run may have on their way to the store before the records
 * after them wait: what a fast reader holds in memory is then a few
 * buffers, not one per record the workflow lets through at once. */
#define MAX_PENDING_ADDS 2

const char sluice_batch_step_schema[] =
  "{\"type\": \"object\","
  " \"description\": \"Hands records to a batch kept in the batch store; when the run ends the "
  "batch is closed and its records are processed chunk by chunk by the nodes after this one\","
  " \"properties\": {"
  "  \"id\": {\"type\": \"string\", \"default\": \"{workflow}-{uuid}\", \"minLength\": 1,"
  "          \"description\": \"batch id template: {workflow}, {run}, {date}, {uuid}; a fixed id "
  "collects several runs into one batch\"},"
  "  \"chunk\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100000, \"default\": 100,"
  "             \"description\": \"records per claim: the processing limit\"},"
  "  \"expire\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"24h\","
  "              \"description\": \"the batch and all its records vanish after this\"},"
  "  \"max_failed\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 0,"
  "                  \"description\": \"stop the batch as failed past this many failed records "
  "(0: never)\"},"
  "  \"lease\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"5m\","
  "             \"description\": \"how long a claimed chunk is reserved for its worker\"},"
  "  \"buffer\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100000, \"default\": 500,"
  "              \"description\": \"records sent to the store per call\"},"
  "  \"close\": {\"type\": \"string\", \"enum\": [\"run-end\", \"manual\"], \"default\": \"run-end\","
  "             \"description\": \"close (and start processing) when the run that fills it ends, "
  "or leave that to an operator or schedule\"},"
  "  \"workflow\": {\"type\": \"string\", \"description\": \"process the records with this "
  "workflow's entry nodes instead of the nodes after this one\"},"
  "  \"on_complete\": {\"type\": \"string\", \"description\": \"workflow that receives the JSON "
  "report when the batch is done\"},"
  "  \"auto_process\": {\"type\": \"object\","
  "    \"description\": \"process the batch through a queue, with no operator: once it holds "
  "'threshold' pending records (open or not), each record is sent as one message through 'send' "
  "and settled when the event workflow that receives it finishes; nodes after this one get "
  "nothing\","
  "    \"properties\": {"
  "      \"threshold\": {\"type\": \"integer\", \"minimum\": 1,"
  "                     \"description\": \"pending records that start processing\"},"
  "      \"send\": {\"type\": \"object\","
  "                \"description\": \"the step that sends a record: {\\\"use\\\": COMPONENT, "
  "\\\"with\\\": {its configuration}}, e.g. redis.stream.send\","
  "                \"properties\": {"
  "                  \"use\": {\"type\": \"string\", \"minLength\": 1},"
  "                  \"with\": {\"type\": \"object\", \"additionalProperties\": true}"
  "                },"
  "                \"required\": [\"use\"]}"
  "    },"
  "    \"required\": [\"threshold\", \"send\"]}"
  "}}";

/* OP_SYNC does nothing: it completes once every op before it has. */
typedef enum { OP_CREATE, OP_ADD, OP_CLOSE, OP_DELETE, OP_SYNC } OpKind;

typedef struct _RunBatch RunBatch;

typedef struct {
  OpKind     kind;
  GPtrArray *records;  /* OP_ADD */
  GTask     *task;     /* completed when the op is done, or NULL */
  gint64     backoff;
} Op;

struct _RunBatch
{
  SluiceBatchStep *step;   /* borrowed */
  char            *run_id;
  char            *batch_id;
  GPtrArray       *buffer;
  GQueue           ops;
  gboolean         busy;
  GError          *error;  /* sticky: the batch cannot take more */
  guint            adds_pending; /* OP_ADD ops not completed */
  GPtrArray       *held;   /* GTask: buffered records waiting for an add */
  guint64          added;  /* records this run stored */
  gboolean         auto_started; /* auto_process: processing was asked for */
};

struct _SluiceBatchStep
{
  GObject parent_instance;

  SluiceBatchManager *manager;     /* weak: it holds the engine, which holds us */
  SluiceBatchStore   *store;
  SluiceClock        *clock;
  char               *workflow;
  char               *node;
  char               *id_template;
  char               *target;      /* SluiceBatchInfo.workflow */
  guint               chunk;
  guint               buffer_size;
  guint64             max_failed;
  gint64              expire_usec;
  gint64              lease_usec;
  gboolean            close_at_run_end;
  gboolean            fixed_id;    /* no {run} or {uuid}: runs share the batch */
  GHashTable         *runs;        /* run id -> RunBatch */
  SluiceMessageIter  *empty;       /* what every record emits: nothing */
  SluiceDispatchStep *dispatcher;  /* auto_process, or NULL */
  guint64             threshold;   /* auto_process */
};

static void sluice_batch_step_step_iface_init (SluiceStepInterface *iface);
static void sluice_batch_step_initable_iface_init (GInitableIface *iface);
static void sluice_batch_step_observer_iface_init (SluiceRunObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceBatchStep, sluice_batch_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP,
                                                      sluice_batch_step_step_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_batch_step_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_RUN_OBSERVER,
                                                      sluice_batch_step_observer_iface_init))

/* ---- Operations: one at a time per batch, in order ---- */

static void
op_free (Op *op)
{
  g_clear_pointer (&op->records, g_ptr_array_unref);
  g_clear_object (&op->task);
  g_free (op);
}

static void
run_batch_free (RunBatch *run)
{
  /* A run ends once all its records are done: none is held. */
  g_clear_pointer (&run->held, g_ptr_array_unref);
  g_queue_clear_full (&run->ops, (GDestroyNotify) op_free);
  g_clear_pointer (&run->buffer, g_ptr_array_unref);
  g_clear_error (&run->error);
  g_free (run->run_id);
  g_free (run->batch_id);
  g_free (run);
}

static void run_next_op (RunBatch *run);

static void
op_complete (RunBatch *run, const GError *error)
{
  SluiceBatchStep *self = run->step;
  Op *op = g_queue_pop_head (&run->ops);
  g_autoptr(GPtrArray) released = NULL;

  /* Records held back for this add may go on. They are in a buffer, as the
   * records before them were: a failure shows with the add of that buffer. */
  if (op->kind == OP_ADD)
    {
      run->adds_pending--;
      if (run->adds_pending < MAX_PENDING_ADDS && run->held->len > 0)
        {
          released = g_steal_pointer (&run->held);
          run->held = g_ptr_array_new_with_free_func (g_object_unref);
        }
    }

  /* Start the next op before reporting this one: reporting the run's last
   * op may free @run. */
  run->busy = FALSE;
  run_next_op (run);

  if (op->task != NULL)
    {
      if (error != NULL)
        g_task_return_error (op->task, g_error_copy (error));
      else if (op->kind == OP_ADD)
        g_task_return_pointer (op->task, g_object_ref (self->empty), g_object_unref);
      else
        g_task_return_boolean (op->task, TRUE);
    }
  op_free (op);

  for (guint i = 0; released != NULL && i < released->len; i++)
    g_task_return_pointer (g_ptr_array_index (released, i), g_object_ref (self->empty),
                           g_object_unref);
}

static gboolean
is_transient (const GError *error)
{
  return sluice_error_is_retryable (error);
}

static void
on_retry_op (gpointer user_data)
{
  RunBatch *run = user_data;

  run->busy = FALSE;
  run_next_op (run);
}

static void
op_finished (RunBatch *run, GError *error)
{
  Op *op = g_queue_peek_head (&run->ops);

  if (error != NULL && is_transient (error))
    {
      /* The store is away: wait for it. The op keeps its records, so
       * nothing is lost and nothing is added twice. */
      op->backoff = op->backoff == 0 ? 100 * 1000 : MIN (op->backoff * 2, MAX_BACKOFF_USEC);
      g_message ("batch %s: %s; trying again in %" G_GINT64_FORMAT " ms", run->batch_id,
                 error->message, op->backoff / 1000);
      sluice_clock_add_timeout (run->step->clock, op->backoff, on_retry_op, run, NULL);
      return;
    }
  if (error != NULL && run->error == NULL)
    run->error = g_error_copy (error);
  op_complete (run, error);
}

static void
on_created (GObject *object, GAsyncResult *result, gpointer user_data)
{
  RunBatch *run = user_data;
  g_autoptr(GError) error = NULL;

  /* A fixed id collects several runs: joining an existing batch is fine. */
  if (!sluice_batch_store_create_finish (SLUICE_BATCH_STORE (object), result, &error) &&
      g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE) && run->step->fixed_id)
    g_clear_error (&error);
  op_finished (run, error);
}

typedef struct {
  SluiceBatchStep *step;
  char            *batch_id;
} ThresholdCheck;

static void
on_threshold_info (GObject *object, GAsyncResult *result, gpointer user_data)
{
  ThresholdCheck *check = user_data;
  g_autoptr(SluiceBatchInfo) info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (object),
                                                                        result, NULL);

  /* A failed look is not retried: the next add looks again, and closing
   * the batch processes it anyway. */
  if (info != NULL && info->counts[SLUICE_RECORD_PENDING] >= check->step->threshold &&
      check->step->manager != NULL)
    sluice_batch_manager_process (check->step->manager, check->batch_id);
  g_object_unref (check->step);
  g_free (check->batch_id);
  g_free (check);
}

/* auto_process: processing starts as soon as the batch holds enough
 * pending records. A run's own batch holds what the run added; one that
 * several runs fill (a fixed id) is asked. Once started, records added
 * later wake the processor. */
static void
run_check_threshold (RunBatch *run)
{
  SluiceBatchStep *self = run->step;
  ThresholdCheck *check;

  if (self->dispatcher == NULL || self->manager == NULL)
    return;
  if (run->auto_started || run->added >= self->threshold)
    {
      run->auto_started = TRUE;
      sluice_batch_manager_process (self->manager, run->batch_id);
      return;
    }
  if (!self->fixed_id)
    return;
  check = g_new0 (ThresholdCheck, 1);
  check->step = g_object_ref (self);
  check->batch_id = g_strdup (run->batch_id);
  sluice_batch_store_get_info_async (self->store, run->batch_id, NULL, on_threshold_info, check);
}

static void
on_op_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  RunBatch *run = user_data;
  Op *op = g_queue_peek_head (&run->ops);
  SluiceBatchStore *store = SLUICE_BATCH_STORE (object);
  g_autoptr(GError) error = NULL;

  switch (op->kind)
    {
    case OP_ADD:
      if (sluice_batch_store_add_finish (store, result, &error))
        {
          run->added += op->records->len;
          run_check_threshold (run);
        }
      break;
    case OP_CLOSE:
      if (sluice_batch_store_set_state_finish (store, result, &error) && run->step->manager != NULL)
        sluice_batch_manager_process (run->step->manager, run->batch_id);
      break;
    case OP_DELETE:
      sluice_batch_store_delete_finish (store, result, &error);
      if (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        g_clear_error (&error);
      break;
    case OP_CREATE:
    case OP_SYNC:
    default:
      g_assert_not_reached ();
    }
  op_finished (run, g_steal_pointer (&error));
}

static void
run_next_op (RunBatch *run)
{
  SluiceBatchStep *self = run->step;
  SluiceBatchStore *store = self->store;
  Op *op = g_queue_peek_head (&run->ops);

  if (run->busy || op == NULL)
    return;

  /* Once the batch refused something, later adds fail the same way. */
  if (run->error != NULL && op->kind != OP_DELETE && op->kind != OP_SYNC)
    {
      g_autoptr(GError) error = g_error_copy (run->error);

      op_complete (run, error);
      return;
    }
  if (op->kind == OP_SYNC)
    {
      op_complete (run, NULL);
      return;
    }

  run->busy = TRUE;
  switch (op->kind)
    {
    case OP_CREATE:
      {
        g_autoptr(SluiceBatchInfo) info = sluice_batch_info_new (run->batch_id, self->target);
        gint64 now = sluice_clock_get_real_time (self->clock);

        info->chunk_size = self->chunk;
        info->max_failed = self->max_failed;
        info->created_usec = now;
        info->expires_usec = now + self->expire_usec;
        sluice_batch_store_create_async (store, info, NULL, on_created, run);
      }
      break;
    case OP_ADD:
      sluice_batch_store_add_async (store, run->batch_id, op->records, NULL, on_op_done, run);
      break;
    case OP_CLOSE:
      sluice_batch_store_set_state_async (store, run->batch_id, SLUICE_BATCH_CLOSED, NULL,
                                          on_op_done, run);
      break;
    case OP_DELETE:
      sluice_batch_store_delete_async (store, run->batch_id, NULL, on_op_done, run);
      break;
    case OP_SYNC:
    default:
      g_assert_not_reached ();
    }
}

static void
run_enqueue (RunBatch *run, OpKind kind, GPtrArray *records, GTask *task)
{
  Op *op = g_new0 (Op, 1);

  op->kind = kind;
  op->records = records;
  op->task = task;
  if (kind == OP_ADD)
    run->adds_pending++;
  g_queue_push_tail (&run->ops, op);
  run_next_op (run);
}

static char *
expand_id (SluiceBatchStep *self, const char *run_id)
{
  g_autoptr(GString) id = g_string_new (self->id_template);
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc (sluice_clock_get_real_time (self->clock)
                                                            / G_USEC_PER_SEC);
  g_autofree char *date = g_date_time_format (now, "%Y%m%d");
  g_autofree char *uuid = g_uuid_string_random ();

  g_string_replace (id, "{workflow}", self->workflow, 0);
  g_string_replace (id, "{run}", run_id, 0);
  g_string_replace (id, "{date}", date, 0);
  g_string_replace (id, "{uuid}", uuid, 0);
  return g_string_free (g_steal_pointer (&id), FALSE);
}

/* ---- SluiceStep ---- */

/* The engine's way in (SluiceEngineFastPath): a record that only goes into
 * a buffer with room, while the store keeps up, is done at once, with no
 * task and no main loop turn. Anything else (a run's first record, a full
 * buffer, a store that is behind, an error) takes process_async(). */
static gboolean
sluice_batch_step_take (GObject            *step,
                        SluiceMessage      *message,
                        SluiceMessageIter **out_iter)
{
  SluiceBatchStep *self = SLUICE_BATCH_STEP (step);
  const char *run_id = sluice_message_get_header (message, SLUICE_HEADER_RUN);
  RunBatch *run = run_id != NULL ? g_hash_table_lookup (self->runs, run_id) : NULL;

  if (run == NULL || run->error != NULL || run->adds_pending >= MAX_PENDING_ADDS ||
      run->buffer->len + 1 >= self->buffer_size)
    return FALSE;

  g_ptr_array_add (run->buffer, g_object_ref (message));
  *out_iter = g_object_ref (self->empty);
  return TRUE;
}

static const SluiceEngineFastPath batch_fast_path = { sluice_batch_step_take };

static void
sluice_batch_step_process_async (SluiceStep         *step,
                                 SluiceMessage      *message,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  SluiceBatchStep *self = SLUICE_BATCH_STEP (step);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  const char *run_id = sluice_message_get_header (message, SLUICE_HEADER_RUN);
  RunBatch *run;

  g_task_set_source_tag (task, sluice_batch_step_process_async);
  if (run_id == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_PERMANENT,
                               "batch: message has no '%s' header", SLUICE_HEADER_RUN);
      return;
    }

  run = g_hash_table_lookup (self->runs, run_id);
  if (run == NULL)
    {
      run = g_new0 (RunBatch, 1);
      run->step = self;
      run->run_id = g_strdup (run_id);
      run->batch_id = expand_id (self, run_id);
      run->buffer = g_ptr_array_new_with_free_func (g_object_unref);
      run->held = g_ptr_array_new_with_free_func (g_object_unref);
      g_queue_init (&run->ops);
      g_hash_table_insert (self->runs, run->run_id, run);
      run_enqueue (run, OP_CREATE, NULL, NULL);
    }
  if (run->error != NULL)
    {
      g_task_return_error (task, g_error_copy (run->error));
      return;
    }

  g_ptr_array_add (run->buffer, g_object_ref (message));
  if (run->buffer->len < self->buffer_size && run->adds_pending >= MAX_PENDING_ADDS)
    {
      /* The store is behind: this record waits until an add is done. */
      g_ptr_array_add (run->held, g_steal_pointer (&task));
      return;
    }
  if (run->buffer->len < self->buffer_size)
    {
      g_task_return_pointer (task, g_object_ref (self->empty), g_object_unref);
      return;
    }

  /* A full buffer goes to the store, and this record completes only when
   * it is stored: a fast reader is held back to the store's pace. */
  run_enqueue (run, OP_ADD, g_steal_pointer (&run->buffer), g_steal_pointer (&task));
  run->buffer = g_ptr_array_new_with_free_func (g_object_unref);
}

static SluiceMessageIter *
sluice_batch_step_process_finish (SluiceStep *step, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_batch_step_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_batch_step_process_async;
  iface->process_finish = sluice_batch_step_process_finish;
}

/* ---- SluiceRunObserver ---- */

static void
on_run_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceBatchStep *self = g_task_get_source_object (task);
  const char *run_id = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  g_hash_table_remove (self->runs, run_id);
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
sluice_batch_step_run_finished_async (SluiceRunObserver  *observer,
                                      const char         *run_id,
                                      gboolean            failed,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data)
{
  SluiceBatchStep *self = SLUICE_BATCH_STEP (observer);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  RunBatch *run = g_hash_table_lookup (self->runs, run_id);
  GTask *last;

  g_task_set_source_tag (task, sluice_batch_step_run_finished_async);
  g_task_set_task_data (task, g_strdup (run_id), g_free);
  if (run == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* The last op of the run reports for all of them; the ops before it
   * complete in order. */
  last = g_task_new (self, NULL, on_run_done, g_steal_pointer (&task));
  if (failed)
    {
      /* The event goes to the dead letters and may be replayed: a half
       * filled batch would then be processed twice. */
      g_ptr_array_set_size (run->buffer, 0);
      if (self->close_at_run_end)
        {
          g_clear_error (&run->error);
          run_enqueue (run, OP_DELETE, NULL, last);
        }
      else
        run_enqueue (run, OP_SYNC, NULL, last);
      return;
    }

  if (run->buffer->len > 0)
    {
      run_enqueue (run, OP_ADD, g_steal_pointer (&run->buffer), NULL);
      run->buffer = g_ptr_array_new_with_free_func (g_object_unref);
    }
  run_enqueue (run, self->close_at_run_end ? OP_CLOSE : OP_SYNC, NULL, last);
}

static gboolean
sluice_batch_step_run_finished_finish (SluiceRunObserver *observer, GAsyncResult *result,
                                       GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_batch_step_observer_iface_init (SluiceRunObserverInterface *iface)
{
  iface->run_finished_async = sluice_batch_step_run_finished_async;
  iface->run_finished_finish = sluice_batch_step_run_finished_finish;
}

/* ---- GInitable ---- */

static gboolean
sluice_batch_step_initable_init (GInitable *initable, GCancellable *cancellable, GError **error)
{
  SluiceBatchStep *self = SLUICE_BATCH_STEP (initable);
  JsonObject *config = sluice_component_get_config (self);
  SluiceContext *context = sluice_component_get_context (self);
  const char *name = sluice_context_get_name (context);
  const char *slash = strchr (name, '/');
  const char *workflow_option;

  self->manager = g_object_get_data (G_OBJECT (context), SLUICE_CONTEXT_BATCH_MANAGER);
  if (self->manager == NULL)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "batches need a batch store: set \"redis\" in sluice.conf");
      return FALSE;
    }
  /* The manager goes first at shutdown; the store stays for the ops still
   * queued. */
  g_object_add_weak_pointer (G_OBJECT (self->manager), (gpointer *) &self->manager);
  self->store = g_object_ref (sluice_batch_manager_get_store (self->manager));
  self->clock = g_object_ref (sluice_context_get_clock (context));

  /* The engine names node contexts "WORKFLOW/NODE". */
  if (slash == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "batch: must be a node of a workflow (context '%s')", name);
      return FALSE;
    }
  self->workflow = g_strndup (name, slash - name);
  self->node = g_strdup (slash + 1);

  self->id_template = g_strdup (json_object_get_string_member (config, "id"));
  self->fixed_id = strstr (self->id_template, "{run}") == NULL &&
                   strstr (self->id_template, "{uuid}") == NULL;
  self->chunk = json_object_get_int_member (config, "chunk");
  self->buffer_size = json_object_get_int_member (config, "buffer");
  self->max_failed = json_object_get_int_member (config, "max_failed");
  self->close_at_run_end = g_str_equal (json_object_get_string_member (config, "close"),
                                        "run-end");
  if (!sluice_parse_duration (json_object_get_string_member (config, "expire"),
                              &self->expire_usec, error) ||
      !sluice_parse_duration (json_object_get_string_member (config, "lease"),
                              &self->lease_usec, error))
    return FALSE;
  if (self->expire_usec <= 0)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "batch: 'expire' must be longer than 0");
      return FALSE;
    }

  workflow_option = json_object_get_string_member_with_default (config, "workflow", NULL);
  self->target = workflow_option != NULL
                   ? g_strdup (workflow_option)
                   : g_strdup_printf ("%s/%s", self->workflow, self->node);

  if (json_object_has_member (config, "auto_process"))
    {
      JsonObject *auto_process = json_object_get_object_member (config, "auto_process");
      g_autofree char *label = g_strdup_printf ("%s/auto_process", name);
      g_autoptr(SluiceContext) dispatch_context = sluice_context_new_child (context, label);

      if (workflow_option != NULL)
        {
          g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                               "batch: 'workflow' and 'auto_process' exclude each other (the "
                               "records of an auto_process batch go to the queue)");
          return FALSE;
        }
      self->dispatcher = sluice_dispatch_step_new (dispatch_context, self->manager,
                                                   json_object_get_object_member (auto_process,
                                                                                  "send"),
                                                   error);
      if (self->dispatcher == NULL)
        return FALSE;
      self->threshold = json_object_get_int_member (auto_process, "threshold");
      /* The threshold is noticed when records reach the store: a buffer
       * larger than it would hide it until the run ends. */
      self->buffer_size = MIN (self->buffer_size, MAX (self->threshold, 1));
      sluice_batch_manager_set_auto_process (self->manager, self->target,
                                             SLUICE_STEP (self->dispatcher), self->threshold);
    }
  return TRUE;
}

static void
sluice_batch_step_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_batch_step_initable_init;
}

static void
sluice_batch_step_finalize (GObject *object)
{
  SluiceBatchStep *self = SLUICE_BATCH_STEP (object);

  g_clear_pointer (&self->runs, g_hash_table_unref);
  g_clear_object (&self->empty);
  if (self->dispatcher != NULL && self->manager != NULL)
    sluice_batch_manager_set_auto_process (self->manager, self->target, NULL, 0);
  g_clear_object (&self->dispatcher);
  if (self->manager != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->manager), (gpointer *) &self->manager);
  g_clear_object (&self->store);
  g_clear_object (&self->clock);
  g_free (self->workflow);
  g_free (self->node);
  g_free (self->id_template);
  g_free (self->target);

  G_OBJECT_CLASS (sluice_batch_step_parent_class)->finalize (object);
}

static void
sluice_batch_step_class_init (SluiceBatchStepClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_batch_step_finalize;
}

static void
sluice_batch_step_init (SluiceBatchStep *self)
{
  self->runs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) run_batch_free);
  /* An empty iterator has no state: one serves every record. */
  self->empty = sluice_message_iter_new_empty ();
  g_object_set_data (G_OBJECT (self), SLUICE_ENGINE_FAST_PATH, (gpointer) &batch_fast_path);
}
