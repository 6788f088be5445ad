/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-batch-record-event.h"

struct _SluiceBatchRecordEvent
{
  SluiceEvent parent_instance;

  SluiceBatchRecordFunc func;
  gpointer              user_data;
};

G_DEFINE_FINAL_TYPE (SluiceBatchRecordEvent, sluice_batch_record_event, SLUICE_TYPE_EVENT)

static void
report (SluiceBatchRecordEvent *self, SluiceRecordOutcomeKind kind, const char *error)
{
  SluiceMessage *record = sluice_event_get_message (SLUICE_EVENT (self));

  self->func (kind, sluice_message_get_id (record), error, self->user_data);
}

/* Settling is bookkeeping in memory: the store hears of it once per chunk.
 * It is done by the time the call returns, so a caller that wants no
 * callback (the engine, once per record) costs no task. */
static void
settle_now (SluiceEvent *event, GCancellable *cancellable, GAsyncReadyCallback callback,
            gpointer user_data, gpointer tag)
{
  g_autoptr(GTask) task = NULL;

  if (callback == NULL)
    return;
  task = g_task_new (event, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
  g_task_return_boolean (task, TRUE);
}

static void
record_ack_async (SluiceEvent *event, GCancellable *cancellable, GAsyncReadyCallback callback,
                  gpointer user_data)
{
  report (SLUICE_BATCH_RECORD_EVENT (event), SLUICE_RECORD_OUTCOME_SUCCEEDED, NULL);
  settle_now (event, cancellable, callback, user_data, record_ack_async);
}

static void
record_retry_async (SluiceEvent *event, gint64 delay_usec, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  report (SLUICE_BATCH_RECORD_EVENT (event), SLUICE_RECORD_OUTCOME_ABANDONED, NULL);
  settle_now (event, cancellable, callback, user_data, record_retry_async);
}

static void
record_dead_letter_async (SluiceEvent *event, const GError *reason, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  report (SLUICE_BATCH_RECORD_EVENT (event), SLUICE_RECORD_OUTCOME_FAILED,
          reason != NULL ? reason->message : "failed");
  settle_now (event, cancellable, callback, user_data, record_dead_letter_async);
}

static gboolean
record_settle_finish (SluiceEvent *event, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_batch_record_event_class_init (SluiceBatchRecordEventClass *klass)
{
  SluiceEventClass *event_class = SLUICE_EVENT_CLASS (klass);

  event_class->ack_async = record_ack_async;
  event_class->ack_finish = record_settle_finish;
  event_class->retry_async = record_retry_async;
  event_class->retry_finish = record_settle_finish;
  event_class->dead_letter_async = record_dead_letter_async;
  event_class->dead_letter_finish = record_settle_finish;
}

static void
sluice_batch_record_event_init (SluiceBatchRecordEvent *self)
{
}

SluiceEvent *
sluice_batch_record_event_new (SluiceMessage *record, SluiceBatchRecordFunc func,
                               gpointer user_data)
{
  SluiceBatchRecordEvent *self = g_object_new (SLUICE_TYPE_BATCH_RECORD_EVENT, "message", record,
                                               NULL);

  self->func = func;
  self->user_data = user_data;
  return SLUICE_EVENT (self);
}
