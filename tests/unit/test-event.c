/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/* An event whose source refuses the first N settlements, like a broker
 * whose link dropped, and records what it was asked. */
#define TEST_TYPE_FLAKY_EVENT (test_flaky_event_get_type ())
G_DECLARE_FINAL_TYPE (TestFlakyEvent, test_flaky_event, TEST, FLAKY_EVENT, SluiceEvent)

struct _TestFlakyEvent
{
  SluiceEvent parent_instance;

  guint   refusals;
  guint   calls;
  gint64  last_delay;
  char   *last_reason;
};

G_DEFINE_FINAL_TYPE (TestFlakyEvent, test_flaky_event, SLUICE_TYPE_EVENT)

static void
flaky_settle (TestFlakyEvent     *self,
              GCancellable       *cancellable,
              GAsyncReadyCallback callback,
              gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  self->calls++;
  if (self->refusals > 0)
    {
      self->refusals--;
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE, "link detached");
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
flaky_ack_async (SluiceEvent        *event,
                 GCancellable       *cancellable,
                 GAsyncReadyCallback callback,
                 gpointer            user_data)
{
  flaky_settle (TEST_FLAKY_EVENT (event), cancellable, callback, user_data);
}

static void
flaky_retry_async (SluiceEvent        *event,
                   gint64              delay_usec,
                   GCancellable       *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer            user_data)
{
  TEST_FLAKY_EVENT (event)->last_delay = delay_usec;
  flaky_settle (TEST_FLAKY_EVENT (event), cancellable, callback, user_data);
}

static void
flaky_dead_letter_async (SluiceEvent        *event,
                         const GError       *reason,
                         GCancellable       *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer            user_data)
{
  TestFlakyEvent *self = TEST_FLAKY_EVENT (event);

  g_free (self->last_reason);
  self->last_reason = g_strdup (reason != NULL ? reason->message : NULL);
  flaky_settle (self, cancellable, callback, user_data);
}

static gboolean
flaky_finish (SluiceEvent  *event,
              GAsyncResult *result,
              GError      **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_flaky_event_finalize (GObject *object)
{
  g_free (TEST_FLAKY_EVENT (object)->last_reason);

  G_OBJECT_CLASS (test_flaky_event_parent_class)->finalize (object);
}

static void
test_flaky_event_class_init (TestFlakyEventClass *klass)
{
  SluiceEventClass *event_class = SLUICE_EVENT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_flaky_event_finalize;
  event_class->ack_async = flaky_ack_async;
  event_class->ack_finish = flaky_finish;
  event_class->retry_async = flaky_retry_async;
  event_class->retry_finish = flaky_finish;
  event_class->dead_letter_async = flaky_dead_letter_async;
  event_class->dead_letter_finish = flaky_finish;
}

static void
test_flaky_event_init (TestFlakyEvent *self)
{
}

typedef enum {
  SETTLE_ACK,
  SETTLE_RETRY,
  SETTLE_DEAD_LETTER,
} SettleKind;

static void
settle_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Runs one settlement to completion; returns its result and error. */
static gboolean
settle (SluiceEvent *event,
        SettleKind   kind,
        GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) reason = g_error_new_literal (SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                                                  "row 3: not a number");

  switch (kind)
    {
    case SETTLE_ACK:
      sluice_event_ack_async (event, NULL, settle_cb, &result);
      break;
    case SETTLE_RETRY:
      sluice_event_retry_async (event, 5 * G_TIME_SPAN_SECOND, NULL, settle_cb, &result);
      break;
    case SETTLE_DEAD_LETTER:
    default:
      sluice_event_dead_letter_async (event, reason, NULL, settle_cb, &result);
      break;
    }

  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  switch (kind)
    {
    case SETTLE_ACK:
      return sluice_event_ack_finish (event, result, error);
    case SETTLE_RETRY:
      return sluice_event_retry_finish (event, result, error);
    case SETTLE_DEAD_LETTER:
    default:
      return sluice_event_dead_letter_finish (event, result, error);
    }
}

static const SluiceEventOutcome outcome_of[] = {
  [SETTLE_ACK] = SLUICE_EVENT_ACKED,
  [SETTLE_RETRY] = SLUICE_EVENT_RETRY,
  [SETTLE_DEAD_LETTER] = SLUICE_EVENT_DEAD_LETTERED,
};

static void
test_base_event (void)
{
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(SluiceEvent) event = sluice_event_new (message);
  g_autoptr(SluiceMessage) from_property = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_event_get_message (event) == message);
  g_object_get (event, "message", &from_property, NULL);
  g_assert_true (from_property == message);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_PENDING);

  /* the base class settles successfully without doing anything */
  g_assert_true (settle (event, SETTLE_ACK, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
}

static void
test_settle_once (gconstpointer data)
{
  SettleKind kind = GPOINTER_TO_UINT (data);
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(SluiceEvent) event = sluice_event_new (message);
  g_autoptr(GError) error = NULL;

  g_assert_true (settle (event, kind, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, outcome_of[kind]);

  /* any second settlement is refused and leaves the outcome alone */
  for (SettleKind again = SETTLE_ACK; again <= SETTLE_DEAD_LETTER; again++)
    {
      g_autoptr(GError) again_error = NULL;

      g_assert_false (settle (event, again, &again_error));
      g_assert_error (again_error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
      g_assert_cmpstr (again_error->message, ==, "event already settled");
      g_assert_cmpint (sluice_event_get_outcome (event), ==, outcome_of[kind]);
    }
}

static void
test_refused_restores_pending (gconstpointer data)
{
  SettleKind kind = GPOINTER_TO_UINT (data);
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(TestFlakyEvent) event = g_object_new (TEST_TYPE_FLAKY_EVENT, "message", message, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) second_error = NULL;

  event->refusals = 1;
  g_assert_false (settle (SLUICE_EVENT (event), kind, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE);
  g_assert_cmpint (sluice_event_get_outcome (SLUICE_EVENT (event)), ==, SLUICE_EVENT_PENDING);
  g_assert_cmpuint (event->calls, ==, 1);

  /* the source refused, so the event may be settled again */
  g_assert_true (settle (SLUICE_EVENT (event), kind, &second_error));
  g_assert_no_error (second_error);
  g_assert_cmpint (sluice_event_get_outcome (SLUICE_EVENT (event)), ==, outcome_of[kind]);
  g_assert_cmpuint (event->calls, ==, 2);

  if (kind == SETTLE_RETRY)
    g_assert_cmpint (event->last_delay, ==, 5 * G_TIME_SPAN_SECOND);
  if (kind == SETTLE_DEAD_LETTER)
    g_assert_cmpstr (event->last_reason, ==, "row 3: not a number");
}

static void
outcome_check_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_event_ack_finish (SLUICE_EVENT (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static void
second_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_false (sluice_event_retry_finish (SLUICE_EVENT (source), result, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
  *done = TRUE;
}

static void
test_outcome_recorded_at_start (void)
{
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(SluiceEvent) event = sluice_event_new (message);
  gboolean first_done = FALSE;
  gboolean second_done = FALSE;

  sluice_event_ack_async (event, NULL, outcome_check_cb, &first_done);
  /* while the acknowledgement is in flight the event counts as settled */
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
  sluice_event_retry_async (event, 0, NULL, second_cb, &second_done);

  while (!first_done || !second_done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
}

static void
test_event_without_message (void)
{
  g_autoptr(SluiceEvent) event = g_object_new (SLUICE_TYPE_EVENT, NULL);

  g_assert_true (SLUICE_IS_MESSAGE (sluice_event_get_message (event)));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("SluiceEvent: settled exactly once; a refused settlement may be retried");

  g_test_add_func ("/event/base/settles-without-doing-anything", test_base_event);
  g_test_add_func ("/event/base/always-has-a-message", test_event_without_message);
  g_test_add_data_func ("/event/settle-once/ack", GUINT_TO_POINTER (SETTLE_ACK), test_settle_once);
  g_test_add_data_func ("/event/settle-once/retry", GUINT_TO_POINTER (SETTLE_RETRY),
                        test_settle_once);
  g_test_add_data_func ("/event/settle-once/dead-letter", GUINT_TO_POINTER (SETTLE_DEAD_LETTER),
                        test_settle_once);
  g_test_add_data_func ("/event/refused/ack-back-to-pending", GUINT_TO_POINTER (SETTLE_ACK),
                        test_refused_restores_pending);
  g_test_add_data_func ("/event/refused/retry-back-to-pending", GUINT_TO_POINTER (SETTLE_RETRY),
                        test_refused_restores_pending);
  g_test_add_data_func ("/event/refused/dead-letter-back-to-pending",
                        GUINT_TO_POINTER (SETTLE_DEAD_LETTER), test_refused_restores_pending);
  g_test_add_func ("/event/outcome/recorded-when-settling-starts", test_outcome_recorded_at_start);

  return g_test_run ();
}
