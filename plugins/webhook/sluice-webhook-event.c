/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-webhook-event.h"

struct _SluiceWebhookEvent
{
  SluiceEvent parent_instance;

  SluiceWebhookRequest *request;
};

G_DEFINE_FINAL_TYPE (SluiceWebhookEvent, sluice_webhook_event, SLUICE_TYPE_EVENT)

static void
settle (SluiceWebhookEvent *self,
        SluiceEventOutcome  outcome,
        gint64              delay_usec,
        GCancellable       *cancellable,
        GAsyncReadyCallback callback,
        gpointer            user_data,
        gpointer            source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  /* The answer is written; a cancellation would not take it back. */
  g_task_set_check_cancellable (task, FALSE);
  sluice_webhook_request_settled (self->request, SLUICE_EVENT (self), outcome, delay_usec);
  g_task_return_boolean (task, TRUE);
}

static void
sluice_webhook_event_ack_async (SluiceEvent        *event,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  settle (SLUICE_WEBHOOK_EVENT (event), SLUICE_EVENT_ACKED, 0, cancellable, callback,
          user_data, sluice_webhook_event_ack_async);
}

static void
sluice_webhook_event_retry_async (SluiceEvent        *event,
                                  gint64              delay_usec,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data)
{
  settle (SLUICE_WEBHOOK_EVENT (event), SLUICE_EVENT_RETRY, delay_usec, cancellable, callback,
          user_data, sluice_webhook_event_retry_async);
}

static void
sluice_webhook_event_dead_letter_async (SluiceEvent        *event,
                                        const GError       *reason,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data)
{
  settle (SLUICE_WEBHOOK_EVENT (event), SLUICE_EVENT_DEAD_LETTERED, 0, cancellable, callback,
          user_data, sluice_webhook_event_dead_letter_async);
}

static gboolean
sluice_webhook_event_finish (SluiceEvent  *event,
                             GAsyncResult *result,
                             GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, event), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sluice_webhook_event_finalize (GObject *object)
{
  SluiceWebhookEvent *self = SLUICE_WEBHOOK_EVENT (object);

  g_clear_pointer (&self->request, sluice_webhook_request_unref);

  G_OBJECT_CLASS (sluice_webhook_event_parent_class)->finalize (object);
}

static void
sluice_webhook_event_class_init (SluiceWebhookEventClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SluiceEventClass *event_class = SLUICE_EVENT_CLASS (klass);

  object_class->finalize = sluice_webhook_event_finalize;

  event_class->ack_async = sluice_webhook_event_ack_async;
  event_class->ack_finish = sluice_webhook_event_finish;
  event_class->retry_async = sluice_webhook_event_retry_async;
  event_class->retry_finish = sluice_webhook_event_finish;
  event_class->dead_letter_async = sluice_webhook_event_dead_letter_async;
  event_class->dead_letter_finish = sluice_webhook_event_finish;
}

static void
sluice_webhook_event_init (SluiceWebhookEvent *self)
{
}

SluiceWebhookEvent *
sluice_webhook_event_new (SluiceWebhookRequest *request,
                          SluiceMessage        *message)
{
  SluiceWebhookEvent *self;

  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (SLUICE_IS_MESSAGE (message), NULL);

  self = g_object_new (SLUICE_TYPE_WEBHOOK_EVENT, "message", message, NULL);
  self->request = sluice_webhook_request_ref (request);
  return self;
}
