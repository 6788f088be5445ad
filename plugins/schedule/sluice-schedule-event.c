/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-schedule-event.h"

struct _SluiceScheduleEvent
{
  SluiceEvent parent_instance;

  SluiceScheduleTicker *ticker;  /* owned: the event may be settled after a stop */
  gint64                scheduled;
};

G_DEFINE_FINAL_TYPE (SluiceScheduleEvent, sluice_schedule_event, SLUICE_TYPE_EVENT)

static void
sluice_schedule_event_settle (SluiceScheduleEvent *self,
                              SluiceEventOutcome   outcome,
                              gint64               retry_delay_usec,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data,
                              gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  /* Telling the ticker cannot be undone: report it rather than a
   * cancellation. */
  g_task_set_check_cancellable (task, FALSE);

  sluice_schedule_ticker_settled (self->ticker, self->scheduled, outcome, retry_delay_usec);
  g_task_return_boolean (task, TRUE);
}

static void
sluice_schedule_event_ack_async (SluiceEvent        *event,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  sluice_schedule_event_settle (SLUICE_SCHEDULE_EVENT (event), SLUICE_EVENT_ACKED, 0,
                                cancellable, callback, user_data,
                                sluice_schedule_event_ack_async);
}

static void
sluice_schedule_event_retry_async (SluiceEvent        *event,
                                   gint64              delay_usec,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data)
{
  sluice_schedule_event_settle (SLUICE_SCHEDULE_EVENT (event), SLUICE_EVENT_RETRY, delay_usec,
                                cancellable, callback, user_data,
                                sluice_schedule_event_retry_async);
}

static void
sluice_schedule_event_dead_letter_async (SluiceEvent        *event,
                                         const GError       *reason,
                                         GCancellable       *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data)
{
  sluice_schedule_event_settle (SLUICE_SCHEDULE_EVENT (event), SLUICE_EVENT_DEAD_LETTERED, 0,
                                cancellable, callback, user_data,
                                sluice_schedule_event_dead_letter_async);
}

static gboolean
sluice_schedule_event_finish (SluiceEvent  *event,
                              GAsyncResult *result,
                              GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, event), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_schedule_event_finalize (GObject *object)
{
  SluiceScheduleEvent *self = SLUICE_SCHEDULE_EVENT (object);

  g_clear_object (&self->ticker);

  G_OBJECT_CLASS (sluice_schedule_event_parent_class)->finalize (object);
}

static void
sluice_schedule_event_class_init (SluiceScheduleEventClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SluiceEventClass *event_class = SLUICE_EVENT_CLASS (klass);

  object_class->finalize = sluice_schedule_event_finalize;

  event_class->ack_async = sluice_schedule_event_ack_async;
  event_class->ack_finish = sluice_schedule_event_finish;
  event_class->retry_async = sluice_schedule_event_retry_async;
  event_class->retry_finish = sluice_schedule_event_finish;
  event_class->dead_letter_async = sluice_schedule_event_dead_letter_async;
  event_class->dead_letter_finish = sluice_schedule_event_finish;
}

static void
sluice_schedule_event_init (SluiceScheduleEvent *self)
{
}

SluiceScheduleEvent *
sluice_schedule_event_new (SluiceScheduleTicker *ticker,
                           SluiceMessage        *message,
                           gint64                scheduled_usec)
{
  SluiceScheduleEvent *self;

  g_return_val_if_fail (SLUICE_IS_SCHEDULE_TICKER (ticker), NULL);
  g_return_val_if_fail (SLUICE_IS_MESSAGE (message), NULL);

  self = g_object_new (SLUICE_TYPE_SCHEDULE_EVENT, "message", message, NULL);
  self->ticker = g_object_ref (ticker);
  self->scheduled = scheduled_usec;
  return self;
}

gint64
sluice_schedule_event_get_scheduled (SluiceScheduleEvent *self)
{
  g_return_val_if_fail (SLUICE_IS_SCHEDULE_EVENT (self), -1);

  return self->scheduled;
}
