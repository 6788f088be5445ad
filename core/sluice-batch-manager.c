/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-batch-manager.h"

#include "sluice-batch-record-event.h"

#define DEFAULT_LEASE_USEC (5 * 60 * G_USEC_PER_SEC)
#define DEFAULT_PIPELINE 2
#define IDLE_POLL_USEC (500 * 1000)
#define MAX_BACKOFF_USEC (10 * G_USEC_PER_SEC)
#define REPORT_ERRORS 10
#define PROGRESS_INTERVAL_USEC (250 * 1000)
/* A paused batch is a key in the state store, so that every host sharing
 * the store stops claiming; each host looks at every watch. */
#define PAUSED_KEY_PREFIX "sluice:batch-paused:"

typedef struct _Processor Processor;

struct _SluiceBatchManager
{
  GObject parent_instance;

  SluiceBatchStore *store;
  SluiceEngine     *engine;
  SluiceStateStore *state_store;
  SluiceClock      *clock;
  char             *worker;
  gint64            lease_usec;
  guint             pipeline;

  GHashTable       *processors;  /* batch id -> Processor */
  SluicePluginHost *plugin_host;
  GHashTable       *auto_targets; /* "WORKFLOW/NODE" -> AutoProcess */
  gulong            run_finished_handler;
  GHashTable       *late;         /* LateSettle.key -> LateSettle, waiting for the flush */
  guint             flush_source;
  guint             late_in_flight; /* LateSettle store calls not answered yet */
  gint64            watch_interval;
  guint             watch_timer;
  gboolean          listing;
  GTask            *stop_task;
  gboolean          stopping;
  GHashTable       *paused;       /* batch ids paused, as this host last saw */
};

struct _Processor
{
  SluiceBatchManager *manager;   /* borrowed */
  char               *batch_id;
  char               *workflow;
  char               *after_node;  /* NULL: the workflow's entry nodes */
  guint               chunk_size;
  guint               chunks;      /* claimed, not yet settled */
  gboolean            claiming;
  gboolean            finished;
  guint               timer;       /* idle poll or backoff */
  gint64              backoff;
  gint64              last_progress;
  gint64              lease_usec;
  JsonObject         *node_config; /* the batch node's, or NULL */
  guint64             last_counts[SLUICE_RECORD_N_STATES];
  SluiceBatchState    last_state;
  GHashTable         *held;        /* record ids sent to a queue, not settled by their chunk */
  SluiceStep         *dispatcher;  /* auto_process: records go to it, not through the engine */
  gboolean            drain;       /* an open batch: stop once nothing is pending */
};

typedef struct {
  SluiceStep *dispatcher;
  guint64     threshold;
} AutoProcess;

/* Outcomes of dispatched records, told by the event workflows that
 * received them: one settle call per batch and worker. */
typedef struct {
  SluiceBatchManager *manager;  /* strong while its call is in flight */
  char               *key;      /* "BATCH\nWORKER" */
  char               *batch_id;
  char               *worker;
  GPtrArray          *outcomes; /* SluiceRecordOutcome */
  gint64              backoff;
} LateSettle;

typedef struct {
  Processor *processor;
  GPtrArray *outcomes;  /* SluiceRecordOutcome */
  guint      unsettled;
  gint64     backoff;
  gboolean   warned;    /* a dispatch error was logged */
} Chunk;

enum { SIGNAL_PROGRESS, SIGNAL_FINISHED, SIGNAL_LISTED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SluiceBatchManager, sluice_batch_manager, G_TYPE_OBJECT)

static void processor_pump (Processor *processor);
static void emit_progress (SluiceBatchManager *self, const SluiceBatchInfo *info);
static void maybe_finish_stop (SluiceBatchManager *self);

/* ---- Processors ---- */

static void
processor_free (Processor *processor)
{
  if (processor->timer != 0)
    sluice_clock_cancel_timeout (processor->manager->clock, processor->timer);
  g_clear_pointer (&processor->node_config, json_object_unref);
  g_clear_pointer (&processor->held, g_hash_table_unref);
  g_clear_object (&processor->dispatcher);
  g_free (processor->batch_id);
  g_free (processor->workflow);
  g_free (processor->after_node);
  g_free (processor);
}

static void
processor_done (Processor *processor)
{
  SluiceBatchManager *self = processor->manager;

  processor->finished = TRUE;
  if (processor->chunks == 0 && !processor->claiming)
    {
      g_hash_table_remove (self->processors, processor->batch_id);
      maybe_finish_stop (self);
    }
}

static void
on_timer (gpointer user_data)
{
  Processor *processor = user_data;

  processor->timer = 0;
  processor_pump (processor);
}

static void
processor_wait (Processor *processor, gint64 delay)
{
  if (processor->timer == 0)
    processor->timer = sluice_clock_add_timeout (processor->manager->clock, delay, on_timer,
                                                 processor, NULL);
}

/* A store that went away is waited for, not given up on. */
static void
processor_back_off (Processor *processor, const GError *error)
{
  processor->backoff = processor->backoff == 0 ? 100 * 1000
                                               : MIN (processor->backoff * 2, MAX_BACKOFF_USEC);
  g_message ("batch %s: %s; trying again in %" G_GINT64_FORMAT " ms", processor->batch_id,
             error->message, processor->backoff / 1000);
  processor_wait (processor, processor->backoff);
}

static void
report_injected (Processor *processor, const SluiceBatchInfo *info, GPtrArray *failed)
{
  SluiceBatchManager *self = processor->manager;
  g_autoptr(JsonNode) report = NULL;
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluiceEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *run_id = NULL;
  const char *target = NULL;

  if (processor->node_config != NULL)
    target = json_object_get_string_member_with_default (processor->node_config, "on_complete",
                                                         NULL);
  if (target == NULL)
    return;

  report = sluice_batch_manager_build_report (info, failed, sluice_clock_get_real_time (self->clock));
  message = sluice_message_new_json (report);
  sluice_message_set_header (message, "sluice-batch", info->id);
  event = sluice_event_new (message);
  run_id = sluice_engine_inject (self->engine, target, event, &error);
  if (run_id == NULL)
    g_warning ("batch %s: report not delivered to workflow '%s': %s", info->id, target,
               error->message);
}

typedef struct {
  Processor       *processor;
  SluiceBatchInfo *info;
} ReportData;

static void
on_report_failed_listed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  ReportData *data = user_data;
  g_autoptr(GPtrArray) failed = sluice_batch_store_list_failed_finish (SLUICE_BATCH_STORE (object),
                                                                       result, NULL);

  report_injected (data->processor, data->info, failed);
  sluice_batch_info_free (data->info);
  data->processor->claiming = FALSE;
  processor_done (data->processor);
  g_free (data);
}

static void
send_report (Processor *processor, const SluiceBatchInfo *info)
{
  ReportData *data = g_new0 (ReportData, 1);

  data->processor = processor;
  data->info = sluice_batch_info_copy (info);
  sluice_batch_store_list_failed_async (processor->manager->store, info->id, 0, REPORT_ERRORS,
                                        NULL, on_report_failed_listed, data);
}

static void
on_report_elected (GObject *object, GAsyncResult *result, gpointer user_data)
{
  ReportData *data = user_data;
  gboolean added = FALSE;

  /* Several hosts may see the batch finish: the one that writes the key
   * sends the report. */
  if (sluice_state_store_add_if_absent_finish (SLUICE_STATE_STORE (object), result, &added, NULL) &&
      added)
    send_report (data->processor, data->info);
  else
    {
      data->processor->claiming = FALSE;
      processor_done (data->processor);
    }
  sluice_batch_info_free (data->info);
  g_free (data);
}

static void
processor_finished (Processor *processor, const SluiceBatchInfo *info)
{
  SluiceBatchManager *self = processor->manager;

  g_signal_emit (self, signals[SIGNAL_FINISHED], 0, info->id, info);
  if (info->state == SLUICE_BATCH_CANCELLED)
    {
      processor_done (processor);
      return;
    }

  /* Busy until the report is out, so that nothing frees it meanwhile. */
  processor->finished = TRUE;
  processor->claiming = TRUE;
  if (self->state_store != NULL)
    {
      ReportData *data = g_new0 (ReportData, 1);
      /* One report per outcome: a retry that finishes the batch again
       * reports again, while hosts seeing the same outcome elect one. */
      g_autofree char *key = g_strdup_printf ("batch-report:%s:%" G_GINT64_FORMAT ":%"
                                              G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%u",
                                              info->id, info->created_usec,
                                              info->counts[SLUICE_RECORD_SUCCEEDED],
                                              info->counts[SLUICE_RECORD_FAILED],
                                              (guint) info->state);
      g_autoptr(GBytes) value = g_bytes_new (self->worker, strlen (self->worker));
      gint64 ttl = MAX (info->expires_usec - sluice_clock_get_real_time (self->clock),
                        G_USEC_PER_SEC);

      data->processor = processor;
      data->info = sluice_batch_info_copy (info);
      sluice_state_store_add_if_absent_async (self->state_store, key, value, ttl, NULL,
                                              on_report_elected, data);
      return;
    }
  send_report (processor, info);
}

static void
on_info (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Processor *processor = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceBatchInfo) info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (object),
                                                                        result, &error);

  processor->claiming = FALSE;
  if (info == NULL)
    {
      if (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        processor_done (processor);
      else
        processor_back_off (processor, error);
      return;
    }

  emit_progress (processor->manager, info);
  switch (info->state)
    {
    case SLUICE_BATCH_COMPLETED:
    case SLUICE_BATCH_FAILED:
    case SLUICE_BATCH_CANCELLED:
      /* Checks run only with no chunk in flight. */
      processor_finished (processor, info);
      break;
    case SLUICE_BATCH_OPEN:
      /* Drained: what came in is done; what comes later waits for the
       * next call (a schedule processing an open batch every hour). */
      if (processor->drain && info->counts[SLUICE_RECORD_PENDING] == 0)
        {
          processor_done (processor);
          break;
        }
      processor_wait (processor, IDLE_POLL_USEC);
      break;
    case SLUICE_BATCH_CLOSED:
    default:
      /* Records still under someone's lease, or more to come: look again
       * soon (a lease that runs out makes its records claimable). */
      processor_wait (processor, IDLE_POLL_USEC);
      break;
    }
}

static void
processor_check (Processor *processor)
{
  processor->claiming = TRUE;
  sluice_batch_store_get_info_async (processor->manager->store, processor->batch_id, NULL, on_info,
                                     processor);
}

/* ---- Progress ---- */

/* Progress is told when something moved, not on every look. */
static void
emit_progress (SluiceBatchManager *self, const SluiceBatchInfo *info)
{
  Processor *processor = g_hash_table_lookup (self->processors, info->id);

  if (processor != NULL)
    {
      if (processor->last_state == info->state &&
          memcmp (processor->last_counts, info->counts, sizeof info->counts) == 0)
        return;
      processor->last_state = info->state;
      memcpy (processor->last_counts, info->counts, sizeof info->counts);
    }
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, info->id, info);
}

static void
on_progress_info (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(SluiceBatchManager) self = user_data;
  g_autoptr(SluiceBatchInfo) info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (object),
                                                                        result, NULL);

  if (info != NULL)
    emit_progress (self, info);
}

/* Progress is a side read, at most a few times a second per batch; it
 * never holds up processing. */
static void
processor_report_progress (Processor *processor)
{
  SluiceBatchManager *self = processor->manager;
  gint64 now = sluice_clock_get_monotonic_time (self->clock);

  if (now - processor->last_progress < PROGRESS_INTERVAL_USEC)
    return;
  processor->last_progress = now;
  sluice_batch_store_get_info_async (self->store, processor->batch_id, NULL, on_progress_info,
                                     g_object_ref (self));
}

/* ---- Chunks ---- */

static void chunk_settle (Chunk *chunk);

static void
on_settled (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Chunk *chunk = user_data;
  Processor *processor = chunk->processor;
  g_autoptr(GError) error = NULL;

  if (!sluice_batch_store_settle_finish (SLUICE_BATCH_STORE (object), result, &error))
    {
      if (!g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        {
          /* Settling is idempotent: try until the store is back. Records
           * whose lease ran out meanwhile belong to another worker and
           * are skipped by the store, so nothing is counted twice. */
          chunk->backoff = chunk->backoff == 0 ? 100 * 1000
                                               : MIN (chunk->backoff * 2, MAX_BACKOFF_USEC);
          g_message ("batch %s: settling a chunk failed: %s; trying again", processor->batch_id,
                     error->message);
          sluice_clock_add_timeout (processor->manager->clock, chunk->backoff,
                                    (SluiceClockFunc) chunk_settle, chunk, NULL);
          return;
        }
    }

  processor->chunks--;
  g_ptr_array_unref (chunk->outcomes);
  g_free (chunk);
  processor_report_progress (processor);

  if (processor->finished)
    processor_done (processor);
  else
    processor_pump (processor);
}

static void
chunk_settle (Chunk *chunk)
{
  sluice_batch_store_settle_async (chunk->processor->manager->store, chunk->processor->batch_id,
                                   chunk->processor->manager->worker, chunk->outcomes, NULL,
                                   on_settled, chunk);
}

static void
on_record_settled (SluiceRecordOutcomeKind kind, const char *record_id, const char *error,
                   gpointer user_data)
{
  Chunk *chunk = user_data;
  GHashTable *held = chunk->processor->held;

  /* A record handed back (shutdown) stays under its lease and is claimed
   * again later: it gets no outcome. Neither does one a dispatch node sent
   * to a queue, whatever became of its run: the workflow that receives the
   * message settles it. */
  if ((held == NULL || !g_hash_table_remove (held, record_id)) &&
      kind != SLUICE_RECORD_OUTCOME_ABANDONED)
    g_ptr_array_add (chunk->outcomes,
                     sluice_record_outcome_new (record_id, kind == SLUICE_RECORD_OUTCOME_SUCCEEDED,
                                                error));
  if (--chunk->unsettled == 0)
    chunk_settle (chunk);
}

typedef struct {
  Chunk *chunk;
  char  *record_id;
} Dispatch;

static void
on_record_dispatched (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Dispatch *dispatch = user_data;
  Chunk *chunk = dispatch->chunk;
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceMessageIter) iter = sluice_step_process_finish (SLUICE_STEP (object), result,
                                                                  &error);

  if (iter != NULL)
    on_record_settled (SLUICE_RECORD_OUTCOME_SUCCEEDED, dispatch->record_id, NULL, chunk);
  else if (sluice_error_is_retryable (error))
    {
      /* The queue is away: the record waits out its lease and is
       * dispatched again, rather than failing for good unattended. */
      if (!chunk->warned)
        g_message ("batch %s: %s; left to its lease", chunk->processor->batch_id,
                   error->message);
      chunk->warned = TRUE;
      on_record_settled (SLUICE_RECORD_OUTCOME_ABANDONED, dispatch->record_id, NULL, chunk);
    }
  else
    on_record_settled (SLUICE_RECORD_OUTCOME_FAILED, dispatch->record_id,
                       error != NULL ? error->message : "dispatch failed", chunk);
  g_free (dispatch->record_id);
  g_free (dispatch);
}

/* auto_process: each record goes straight to the dispatcher, which sends it
 * to the queue and holds it. */
static void
chunk_dispatch (Chunk *chunk, GPtrArray *records)
{
  SluiceStep *dispatcher = chunk->processor->dispatcher;

  for (guint i = 0; i < records->len; i++)
    {
      SluiceMessage *record = g_ptr_array_index (records, i);
      Dispatch *dispatch = g_new0 (Dispatch, 1);

      dispatch->chunk = chunk;
      dispatch->record_id = g_strdup (sluice_message_get_id (record));
      sluice_step_process_async (dispatcher, record, NULL, on_record_dispatched, dispatch);
    }
}

static void
on_claimed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Processor *processor = user_data;
  SluiceBatchManager *self = processor->manager;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = sluice_batch_store_claim_finish (SLUICE_BATCH_STORE (object),
                                                                  result, &error);
  g_autoptr(GPtrArray) events = NULL;
  Chunk *chunk;

  processor->claiming = FALSE;
  if (records == NULL)
    {
      if (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        processor_done (processor);
      else
        processor_back_off (processor, error);
      return;
    }
  processor->backoff = 0;

  if (records->len == 0)
    {
      if (processor->chunks == 0)
        processor_check (processor);
      return;
    }

  chunk = g_new0 (Chunk, 1);
  chunk->processor = processor;
  chunk->outcomes = g_ptr_array_new_full (records->len, (GDestroyNotify) sluice_record_outcome_free);
  chunk->unsettled = records->len;
  processor->chunks++;

  /* A record says where it comes from, also once it is a message in a
   * queue; a worker header it was added with is not about this claim. */
  for (guint i = 0; i < records->len; i++)
    {
      SluiceMessage *record = g_ptr_array_index (records, i);

      sluice_message_set_header (record, SLUICE_HEADER_BATCH, processor->batch_id);
      sluice_message_set_header (record, SLUICE_HEADER_BATCH_RECORD, sluice_message_get_id (record));
      sluice_message_remove_header (record, SLUICE_HEADER_BATCH_WORKER);
    }

  if (processor->dispatcher != NULL)
    {
      chunk_dispatch (chunk, records);
      processor_pump (processor);
      return;
    }

  /* The whole chunk goes to the engine in one call. */
  events = g_ptr_array_new_full (records->len, g_object_unref);
  for (guint i = 0; i < records->len; i++)
    g_ptr_array_add (events, sluice_batch_record_event_new (g_ptr_array_index (records, i),
                                                            on_record_settled, chunk));
  if (!sluice_engine_inject_all_at (self->engine, processor->workflow, processor->after_node,
                                    events, &error))
    {
      /* The workflow is not (or no longer) here: leave the records to
       * their lease and stop taking more. */
      g_message ("batch %s: %s", processor->batch_id, error->message);
      processor->finished = TRUE;
      for (guint i = 0; i < records->len; i++)
        on_record_settled (SLUICE_RECORD_OUTCOME_ABANDONED,
                           sluice_message_get_id (g_ptr_array_index (records, i)), NULL, chunk);
    }

  processor_pump (processor);
}

static void
processor_pump (Processor *processor)
{
  SluiceBatchManager *self = processor->manager;

  if (processor->finished || self->stopping || processor->claiming || processor->timer != 0 ||
      processor->chunks >= self->pipeline ||
      g_hash_table_contains (self->paused, processor->batch_id))
    return;
  processor->claiming = TRUE;
  sluice_batch_store_claim_async (self->store, processor->batch_id, self->worker,
                                  processor->chunk_size, processor->lease_usec, NULL, on_claimed,
                                  processor);
}

static void
processor_start (SluiceBatchManager *self, const SluiceBatchInfo *info, gboolean drain)
{
  Processor *processor;
  AutoProcess *auto_process;
  const char *slash;

  if (g_hash_table_contains (self->processors, info->id) || info->workflow == NULL)
    return;

  processor = g_new0 (Processor, 1);
  processor->manager = self;
  processor->batch_id = g_strdup (info->id);
  processor->chunk_size = MAX (info->chunk_size, 1);
  slash = strchr (info->workflow, '/');
  if (slash != NULL)
    {
      processor->workflow = g_strndup (info->workflow, slash - info->workflow);
      processor->after_node = g_strdup (slash + 1);
    }
  else
    processor->workflow = g_strdup (info->workflow);

  if (!sluice_engine_has_workflow (self->engine, processor->workflow))
    {
      processor_free (processor);
      return;
    }

  /* The batch node that filled it says how long a claim is leased and
   * who gets the report; every host runs the same workflow file. */
  processor->lease_usec = self->lease_usec;
  processor->last_state = (SluiceBatchState) -1;
  if (processor->after_node != NULL)
    {
      SluiceWorkflowNode *node =
        sluice_workflow_lookup_node (sluice_engine_get_workflow (self->engine, processor->workflow),
                                     processor->after_node);
      const char *lease;

      if (node != NULL)
        {
          processor->node_config = json_object_ref (node->config);
          lease = json_object_get_string_member_with_default (node->config, "lease", NULL);
          if (lease != NULL)
            sluice_parse_duration (lease, &processor->lease_usec, NULL);
        }
    }
  auto_process = g_hash_table_lookup (self->auto_targets, info->workflow);
  if (auto_process != NULL)
    processor->dispatcher = g_object_ref (auto_process->dispatcher);
  processor->drain = drain;
  g_hash_table_insert (self->processors, processor->batch_id, processor);
  processor_pump (processor);
}

static void
start_from_info (GObject *object, GAsyncResult *result, SluiceBatchManager *self, gboolean drain)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceBatchInfo) info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (object),
                                                                        result, &error);

  if (info == NULL)
    {
      g_message ("not processing a batch: %s", error->message);
      return;
    }
  if (!self->stopping)
    processor_start (self, info, drain);
}

static void
on_process_info (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(SluiceBatchManager) self = user_data;

  start_from_info (object, result, self, FALSE);
}

static void
on_drain_info (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(SluiceBatchManager) self = user_data;

  start_from_info (object, result, self, TRUE);
}

void
sluice_batch_manager_drain (SluiceBatchManager *self, const char *batch_id)
{
  g_return_if_fail (SLUICE_IS_BATCH_MANAGER (self));

  if (self->stopping)
    return;
  if (g_hash_table_contains (self->processors, batch_id))
    {
      /* Already being processed: that goes on, and now sees new records. */
      sluice_batch_manager_process (self, batch_id);
      return;
    }
  sluice_batch_store_get_info_async (self->store, batch_id, NULL, on_drain_info,
                                     g_object_ref (self));
}

void
sluice_batch_manager_process (SluiceBatchManager *self, const char *batch_id)
{
  Processor *processor;

  g_return_if_fail (SLUICE_IS_BATCH_MANAGER (self));

  if (self->stopping)
    return;
  processor = g_hash_table_lookup (self->processors, batch_id);
  if (processor != NULL)
    {
      /* New records in a batch it is waiting on (not backing off from a
       * store that is away): claim them now rather than at the next look. */
      if (processor->timer != 0 && processor->backoff == 0 && !processor->finished)
        {
          sluice_clock_cancel_timeout (self->clock, processor->timer);
          processor->timer = 0;
          processor_pump (processor);
        }
      return;
    }
  sluice_batch_store_get_info_async (self->store, batch_id, NULL, on_process_info,
                                     g_object_ref (self));
}

/* ---- Pausing ---- */

static char *
paused_key (const char *batch_id)
{
  return g_strconcat (PAUSED_KEY_PREFIX, batch_id, NULL);
}

static void
paused_apply (SluiceBatchManager *self, const char *batch_id, gboolean paused)
{
  Processor *processor;

  if (paused)
    {
      g_hash_table_add (self->paused, g_strdup (batch_id));
      return;
    }
  if (!g_hash_table_remove (self->paused, batch_id))
    return;
  /* Resumed: claim at once rather than at the next look. */
  processor = g_hash_table_lookup (self->processors, batch_id);
  if (processor != NULL)
    processor_pump (processor);
}

typedef struct {
  SluiceBatchManager *self;
  char               *batch_id;
} PausedLookup;

static void
on_paused_looked_up (GObject *object, GAsyncResult *result, gpointer user_data)
{
  PausedLookup *lookup = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) value = sluice_state_store_get_finish (SLUICE_STATE_STORE (object), result,
                                                           &error);

  /* A store that does not answer changes nothing: the flag stays as seen. */
  if (error == NULL)
    paused_apply (lookup->self, lookup->batch_id, value != NULL);
  g_object_unref (lookup->self);
  g_free (lookup->batch_id);
  g_free (lookup);
}

static void
paused_refresh (SluiceBatchManager *self, const char *batch_id)
{
  PausedLookup *lookup;
  g_autofree char *key = NULL;

  if (self->state_store == NULL)
    return;
  lookup = g_new0 (PausedLookup, 1);
  lookup->self = g_object_ref (self);
  lookup->batch_id = g_strdup (batch_id);
  key = paused_key (batch_id);
  sluice_state_store_get_async (self->state_store, key, NULL, on_paused_looked_up, lookup);
}

gboolean
sluice_batch_manager_is_paused (SluiceBatchManager *self,
                                const char         *batch_id)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_MANAGER (self), FALSE);

  return g_hash_table_contains (self->paused, batch_id);
}

typedef struct {
  char     *batch_id;
  gboolean  paused;
} PauseData;

static void
pause_data_free (PauseData *data)
{
  g_free (data->batch_id);
  g_free (data);
}

static void
on_pause_written (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceBatchManager *self = g_task_get_source_object (task);
  PauseData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (data->paused)
    ok = sluice_state_store_set_finish (SLUICE_STATE_STORE (object), result, &error);
  else
    ok = sluice_state_store_delete_finish (SLUICE_STATE_STORE (object), result, NULL, &error);
  if (!ok)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  paused_apply (self, data->batch_id, data->paused);
  g_task_return_boolean (task, TRUE);
}

static void
on_pause_info (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceBatchManager *self = g_task_get_source_object (task);
  PauseData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceBatchInfo) info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (object),
                                                                        result, &error);
  g_autofree char *key = paused_key (data->batch_id);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GBytes) flag = NULL;
  gint64 ttl;

  if (info == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (data->paused && info->state != SLUICE_BATCH_OPEN && info->state != SLUICE_BATCH_CLOSED)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "batch %s is %s: there is nothing left to pause", data->batch_id,
                               sluice_batch_state_to_string (info->state));
      return;
    }
  if (!data->paused)
    {
      sluice_state_store_delete_async (self->state_store, key, cancellable, on_pause_written,
                                       g_steal_pointer (&task));
      return;
    }
  /* The flag goes when the batch does. */
  flag = g_bytes_new_static ("1", 1);
  ttl = MAX (info->expires_usec - sluice_clock_get_real_time (self->clock), G_USEC_PER_SEC);
  sluice_state_store_set_async (self->state_store, key, flag, ttl, cancellable, on_pause_written,
                                g_steal_pointer (&task));
}

void
sluice_batch_manager_set_paused_async (SluiceBatchManager *self,
                                       const char         *batch_id,
                                       gboolean            paused,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  PauseData *data = g_new0 (PauseData, 1);

  g_task_set_source_tag (task, sluice_batch_manager_set_paused_async);
  data->batch_id = g_strdup (batch_id);
  data->paused = paused;
  g_task_set_task_data (task, data, (GDestroyNotify) pause_data_free);
  if (self->state_store == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                               "pausing a batch needs a state store shared by every host");
      return;
    }
  sluice_batch_store_get_info_async (self->store, batch_id, cancellable, on_pause_info,
                                     g_steal_pointer (&task));
}

gboolean
sluice_batch_manager_set_paused_finish (SluiceBatchManager *self,
                                        GAsyncResult       *result,
                                        GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- Watching for batches other hosts made ---- */

static void schedule_watch (SluiceBatchManager *self);

static void
on_listed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(SluiceBatchManager) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batches = sluice_batch_store_list_finish (SLUICE_BATCH_STORE (object),
                                                                 result, &error);

  self->listing = FALSE;
  if (batches == NULL)
    g_debug ("listing batches: %s", error->message);
  else
    g_signal_emit (self, signals[SIGNAL_LISTED], 0, batches);
  for (guint i = 0; batches != NULL && i < batches->len && !self->stopping; i++)
    {
      SluiceBatchInfo *info = g_ptr_array_index (batches, i);
      AutoProcess *auto_process = info->workflow != NULL
                                    ? g_hash_table_lookup (self->auto_targets, info->workflow)
                                    : NULL;

      paused_refresh (self, info->id);

      if (info->state == SLUICE_BATCH_CLOSED &&
          (info->counts[SLUICE_RECORD_PENDING] > 0 || info->counts[SLUICE_RECORD_PROCESSING] > 0))
        processor_start (self, info, FALSE);
      /* An open batch that processes itself past its threshold, or whose
       * processing host went away. */
      else if (info->state == SLUICE_BATCH_OPEN && auto_process != NULL &&
               (info->counts[SLUICE_RECORD_PENDING] >= auto_process->threshold ||
                info->counts[SLUICE_RECORD_PROCESSING] > 0))
        processor_start (self, info, FALSE);
    }
  schedule_watch (self);
}

static void
on_watch (gpointer user_data)
{
  SluiceBatchManager *self = user_data;

  self->watch_timer = 0;
  if (self->stopping || self->listing)
    return;
  self->listing = TRUE;
  sluice_batch_store_list_async (self->store, NULL, on_listed, g_object_ref (self));
}

static void
schedule_watch (SluiceBatchManager *self)
{
  if (self->watch_interval > 0 && self->watch_timer == 0 && !self->stopping)
    self->watch_timer = sluice_clock_add_timeout (self->clock, self->watch_interval, on_watch,
                                                  self, NULL);
}

void
sluice_batch_manager_watch (SluiceBatchManager *self, gint64 interval_usec)
{
  g_return_if_fail (SLUICE_IS_BATCH_MANAGER (self));

  self->watch_interval = interval_usec;
  if (self->watch_timer != 0)
    {
      sluice_clock_cancel_timeout (self->clock, self->watch_timer);
      self->watch_timer = 0;
    }
  if (interval_usec > 0)
    on_watch (self);
}

/* ---- Dispatched records, settled by the workflows that receive them ---- */

void
sluice_batch_manager_hold_record (SluiceBatchManager *self,
                                  const char         *batch_id,
                                  const char         *record_id)
{
  Processor *processor;

  g_return_if_fail (SLUICE_IS_BATCH_MANAGER (self));
  g_return_if_fail (batch_id != NULL && record_id != NULL);

  /* Only a chunk of this host can be told; a record that came another way
   * has no chunk here to keep it from. */
  processor = g_hash_table_lookup (self->processors, batch_id);
  if (processor == NULL)
    return;
  if (processor->held == NULL)
    processor->held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (processor->held, g_strdup (record_id));
}

static void
late_settle_free (LateSettle *late)
{
  g_clear_pointer (&late->outcomes, g_ptr_array_unref);
  g_free (late->key);
  g_free (late->batch_id);
  g_free (late->worker);
  g_free (late);
}

static void late_settle_send (gpointer user_data);

static void
on_late_settled (GObject *object, GAsyncResult *result, gpointer user_data)
{
  LateSettle *late = user_data;
  g_autoptr(SluiceBatchManager) self = late->manager;
  g_autoptr(GError) error = NULL;

  if (!sluice_batch_store_settle_finish (SLUICE_BATCH_STORE (object), result, &error))
    {
      if (!g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND))
        {
          /* Like a chunk's settle: idempotent, so tried until the store is
           * back; a record reclaimed meanwhile is skipped by the store. */
          late->backoff = late->backoff == 0 ? 100 * 1000
                                             : MIN (late->backoff * 2, MAX_BACKOFF_USEC);
          g_message ("batch %s: settling %u dispatched record(s) failed: %s; trying again",
                     late->batch_id, late->outcomes->len, error->message);
          g_steal_pointer (&self);
          sluice_clock_add_timeout (late->manager->clock, late->backoff, late_settle_send, late,
                                    NULL);
          return;
        }
      g_debug ("batch %s is gone: %u outcome(s) of dispatched records dropped", late->batch_id,
               late->outcomes->len);
    }

  late_settle_free (late);
  self->late_in_flight--;
  maybe_finish_stop (self);
}

static void
late_settle_send (gpointer user_data)
{
  LateSettle *late = user_data;

  sluice_batch_store_settle_async (late->manager->store, late->batch_id, late->worker,
                                   late->outcomes, NULL, on_late_settled, late);
}

/* Once per main-loop turn: every outcome that arrived since goes to the
 * store, one call per batch and worker. */
static gboolean
on_flush_late (gpointer user_data)
{
  SluiceBatchManager *self = user_data;
  GHashTableIter iter;
  LateSettle *late;

  self->flush_source = 0;
  g_hash_table_iter_init (&iter, self->late);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &late))
    {
      g_hash_table_iter_steal (&iter);
      late->manager = g_object_ref (self);
      self->late_in_flight++;
      late_settle_send (late);
    }
  return G_SOURCE_REMOVE;
}

/* An event run ended: if its message was a dispatched record, the record
 * is settled as the run was. Handed back, it will come again. */
static void
on_run_finished (SluiceEngine  *engine,
                 const char    *workflow,
                 const char    *run_id,
                 guint          outcome,
                 const char    *error,
                 SluiceMessage *message,
                 gpointer       user_data)
{
  SluiceBatchManager *self = user_data;
  const char *worker, *batch_id, *record_id;
  g_autofree char *key = NULL;
  g_autofree char *reason = NULL;
  LateSettle *late;

  if (message == NULL || (outcome != SLUICE_EVENT_ACKED && outcome != SLUICE_EVENT_DEAD_LETTERED))
    return;
  /* Most runs are not about a dispatched record: one lookup tells. */
  worker = sluice_message_get_header (message, SLUICE_HEADER_BATCH_WORKER);
  if (worker == NULL)
    return;
  batch_id = sluice_message_get_header (message, SLUICE_HEADER_BATCH);
  record_id = sluice_message_get_header (message, SLUICE_HEADER_BATCH_RECORD);
  if (batch_id == NULL || record_id == NULL)
    return;

  key = g_strconcat (batch_id, "\n", worker, NULL);
  late = g_hash_table_lookup (self->late, key);
  if (late == NULL)
    {
      late = g_new0 (LateSettle, 1);
      late->key = g_steal_pointer (&key);
      late->batch_id = g_strdup (batch_id);
      late->worker = g_strdup (worker);
      late->outcomes = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_record_outcome_free);
      g_hash_table_insert (self->late, late->key, late);
    }
  if (outcome == SLUICE_EVENT_DEAD_LETTERED)
    reason = g_strdup_printf ("workflow '%s': %s", workflow, error != NULL ? error : "failed");
  g_ptr_array_add (late->outcomes,
                   sluice_record_outcome_new (record_id, outcome == SLUICE_EVENT_ACKED, reason));
  if (self->flush_source == 0)
    self->flush_source = g_idle_add_full (G_PRIORITY_DEFAULT, on_flush_late, self, NULL);
}

/* ---- auto_process ---- */

static void
auto_process_free (AutoProcess *auto_process)
{
  g_clear_object (&auto_process->dispatcher);
  g_free (auto_process);
}

void
sluice_batch_manager_set_auto_process (SluiceBatchManager *self,
                                       const char         *target,
                                       SluiceStep         *dispatcher,
                                       guint64             threshold)
{
  AutoProcess *auto_process;

  g_return_if_fail (SLUICE_IS_BATCH_MANAGER (self));
  g_return_if_fail (target != NULL);
  g_return_if_fail (dispatcher == NULL || SLUICE_IS_STEP (dispatcher));

  if (dispatcher == NULL)
    {
      g_hash_table_remove (self->auto_targets, target);
      return;
    }
  auto_process = g_new0 (AutoProcess, 1);
  auto_process->dispatcher = g_object_ref (dispatcher);
  auto_process->threshold = MAX (threshold, 1);
  g_hash_table_replace (self->auto_targets, g_strdup (target), auto_process);
}

/* ---- Retry ---- */

typedef struct {
  char   *batch_id;
  guint64 count;
} RetryData;

static void
retry_data_free (RetryData *data)
{
  g_free (data->batch_id);
  g_free (data);
}

static void
on_retried (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceBatchManager *self = g_task_get_source_object (task);
  RetryData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!sluice_batch_store_retry_failed_finish (SLUICE_BATCH_STORE (object), result, &data->count,
                                               &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (data->count > 0)
    sluice_batch_manager_process (self, data->batch_id);
  g_task_return_boolean (task, TRUE);
}

void
sluice_batch_manager_retry_failed_async (SluiceBatchManager *self,
                                         const char         *batch_id,
                                         GCancellable       *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  RetryData *data = g_new0 (RetryData, 1);

  g_task_set_source_tag (task, sluice_batch_manager_retry_failed_async);
  data->batch_id = g_strdup (batch_id);
  g_task_set_task_data (task, data, (GDestroyNotify) retry_data_free);
  sluice_batch_store_retry_failed_async (self->store, batch_id, cancellable, on_retried,
                                         g_steal_pointer (&task));
}

gboolean
sluice_batch_manager_retry_failed_finish (SluiceBatchManager *self,
                                          GAsyncResult       *result,
                                          guint64            *out_count,
                                          GError            **error)
{
  RetryData *data = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (out_count != NULL)
    *out_count = data->count;
  return TRUE;
}

/* ---- Stop ---- */

static void
maybe_finish_stop (SluiceBatchManager *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->stop_task == NULL || g_hash_table_size (self->processors) > 0 ||
      g_hash_table_size (self->late) > 0 || self->late_in_flight > 0)
    return;
  task = g_steal_pointer (&self->stop_task);
  g_task_return_boolean (task, TRUE);
}

void
sluice_batch_manager_stop_async (SluiceBatchManager *self,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GList) processors = NULL;

  g_task_set_source_tag (task, sluice_batch_manager_stop_async);
  self->stopping = TRUE;
  sluice_batch_manager_watch (self, 0);

  /* Idle processors end now; busy ones when their chunks are settled. */
  processors = g_hash_table_get_values (self->processors);
  for (GList *l = processors; l != NULL; l = l->next)
    {
      Processor *processor = l->data;

      if (processor->timer != 0)
        {
          sluice_clock_cancel_timeout (self->clock, processor->timer);
          processor->timer = 0;
        }
      processor_done (processor);
    }

  g_clear_object (&self->stop_task);
  self->stop_task = g_steal_pointer (&task);
  maybe_finish_stop (self);
}

gboolean
sluice_batch_manager_stop_finish (SluiceBatchManager *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- Report ---- */

const char *
sluice_batch_state_to_string (SluiceBatchState state)
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
    }
  return "unknown";
}

JsonNode *
sluice_batch_manager_build_report (const SluiceBatchInfo *info,
                                   GPtrArray             *failed_records,
                                   gint64                 now_usec)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  static const char * const state_names[] = { "pending", "processing", "succeeded", "failed" };

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "batch");
  json_builder_add_string_value (builder, info->id);
  json_builder_set_member_name (builder, "workflow");
  json_builder_add_string_value (builder, info->workflow);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, sluice_batch_state_to_string (info->state));
  json_builder_set_member_name (builder, "counts");
  json_builder_begin_object (builder);
  for (guint i = 0; i < SLUICE_RECORD_N_STATES; i++)
    {
      json_builder_set_member_name (builder, state_names[i]);
      json_builder_add_int_value (builder, (gint64) info->counts[i]);
    }
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "elapsed_ms");
  json_builder_add_int_value (builder, MAX (now_usec - info->created_usec, 0) / 1000);
  json_builder_set_member_name (builder, "first_errors");
  json_builder_begin_array (builder);
  for (guint i = 0; failed_records != NULL && i < failed_records->len; i++)
    {
      SluiceMessage *record = g_ptr_array_index (failed_records, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "record");
      json_builder_add_string_value (builder, sluice_message_get_id (record));
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, sluice_message_get_header (record, "sluice-error"));
      json_builder_set_member_name (builder, "attempts");
      json_builder_add_int_value (builder, sluice_message_get_attempt (record));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

/* ---- GObject ---- */

SluiceBatchStore *
sluice_batch_manager_get_store (SluiceBatchManager *self)
{
  return self->store;
}

const char *
sluice_batch_manager_get_worker (SluiceBatchManager *self)
{
  return self->worker;
}

void
sluice_batch_manager_set_plugin_host (SluiceBatchManager *self, SluicePluginHost *host)
{
  g_return_if_fail (SLUICE_IS_BATCH_MANAGER (self));
  g_return_if_fail (host == NULL || SLUICE_IS_PLUGIN_HOST (host));

  g_set_object (&self->plugin_host, host);
}

SluicePluginHost *
sluice_batch_manager_get_plugin_host (SluiceBatchManager *self)
{
  g_return_val_if_fail (SLUICE_IS_BATCH_MANAGER (self), NULL);

  return self->plugin_host;
}

void
sluice_batch_manager_set_lease (SluiceBatchManager *self, gint64 lease_usec)
{
  g_return_if_fail (lease_usec > 0);
  self->lease_usec = lease_usec;
}

void
sluice_batch_manager_set_pipeline (SluiceBatchManager *self, guint chunks)
{
  self->pipeline = MAX (chunks, 1);
}

static void
sluice_batch_manager_dispose (GObject *object)
{
  SluiceBatchManager *self = SLUICE_BATCH_MANAGER (object);

  if (self->watch_timer != 0)
    {
      sluice_clock_cancel_timeout (self->clock, self->watch_timer);
      self->watch_timer = 0;
    }
  if (self->engine != NULL)
    g_clear_signal_handler (&self->run_finished_handler, self->engine);
  g_clear_handle_id (&self->flush_source, g_source_remove);
  /* Outcomes not flushed are lost, not wrong: their records' leases run
   * out and they are dispatched again. */
  if (self->late != NULL && g_hash_table_size (self->late) > 0)
    g_message ("batch manager disposed with outcomes of %u batch(es) not settled; stop it first",
               g_hash_table_size (self->late));
  if (self->late != NULL)
    g_hash_table_remove_all (self->late);
  g_clear_object (&self->plugin_host);
  if (self->processors != NULL && g_hash_table_size (self->processors) > 0)
    g_critical ("batch manager disposed while processing %u batch(es); stop it first",
                g_hash_table_size (self->processors));
  G_OBJECT_CLASS (sluice_batch_manager_parent_class)->dispose (object);
}

static void
sluice_batch_manager_finalize (GObject *object)
{
  SluiceBatchManager *self = SLUICE_BATCH_MANAGER (object);

  g_clear_pointer (&self->processors, g_hash_table_unref);
  g_clear_pointer (&self->late, g_hash_table_unref);
  g_clear_pointer (&self->auto_targets, g_hash_table_unref);
  g_clear_pointer (&self->paused, g_hash_table_unref);
  g_clear_object (&self->store);
  g_clear_object (&self->engine);
  g_clear_object (&self->state_store);
  g_clear_object (&self->clock);
  g_clear_object (&self->stop_task);
  g_free (self->worker);

  G_OBJECT_CLASS (sluice_batch_manager_parent_class)->finalize (object);
}

static void
sluice_batch_manager_class_init (SluiceBatchManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_batch_manager_dispose;
  object_class->finalize = sluice_batch_manager_finalize;

  /* SluiceBatchManager::progress: (batch id, SluiceBatchInfo) after each
   * settled chunk and while waiting. */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, SLUICE_TYPE_BATCH_INFO);
  /* SluiceBatchManager::finished: (batch id, SluiceBatchInfo) once a
   * batch this host processed is completed, failed or cancelled. */
  signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, SLUICE_TYPE_BATCH_INFO);
  /* SluiceBatchManager::listed: (GPtrArray of SluiceBatchInfo) every
   * batch in the store, at each look of sluice_batch_manager_watch(), for
   * whoever shows them (the D-Bus batch objects) without a listing of its
   * own. */
  signals[SIGNAL_LISTED] =
    g_signal_new ("listed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);
}

static void
sluice_batch_manager_init (SluiceBatchManager *self)
{
  self->lease_usec = DEFAULT_LEASE_USEC;
  self->pipeline = DEFAULT_PIPELINE;
  self->processors = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) processor_free);
  self->auto_targets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) auto_process_free);
  self->paused = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Keyed by LateSettle.key, which each entry owns. */
  self->late = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) late_settle_free);
}

SluiceBatchManager *
sluice_batch_manager_new (SluiceBatchStore *store,
                          SluiceEngine     *engine,
                          SluiceStateStore *state_store,
                          SluiceClock      *clock,
                          const char       *worker)
{
  SluiceBatchManager *self;

  g_return_val_if_fail (SLUICE_IS_BATCH_STORE (store), NULL);
  g_return_val_if_fail (SLUICE_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (SLUICE_IS_CLOCK (clock), NULL);
  g_return_val_if_fail (worker != NULL, NULL);

  self = g_object_new (SLUICE_TYPE_BATCH_MANAGER, NULL);
  self->store = g_object_ref (store);
  self->engine = g_object_ref (engine);
  self->state_store = state_store != NULL ? g_object_ref (state_store) : NULL;
  self->clock = g_object_ref (clock);
  self->worker = g_strdup (worker);
  sluice_engine_set_batch_manager (engine, G_OBJECT (self));
  self->run_finished_handler = g_signal_connect (engine, "run-finished",
                                                 G_CALLBACK (on_run_finished), self);
  return self;
}
