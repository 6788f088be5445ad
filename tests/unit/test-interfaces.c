/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/* A trigger that counts how often it was told credit came back. */
#define TEST_TYPE_PULL_TRIGGER (test_pull_trigger_get_type ())
G_DECLARE_FINAL_TYPE (TestPullTrigger, test_pull_trigger, TEST, PULL_TRIGGER, GObject)

struct _TestPullTrigger
{
  GObject  parent_instance;
  gboolean started;
  guint    credit_calls;
};

static gboolean
pull_trigger_start (SluiceTrigger *trigger,
                    GError       **error)
{
  TEST_PULL_TRIGGER (trigger)->started = TRUE;
  return TRUE;
}

static void
pull_trigger_stop (SluiceTrigger *trigger)
{
  TEST_PULL_TRIGGER (trigger)->started = FALSE;
}

static void
pull_trigger_credit_available (SluiceTrigger *trigger)
{
  TEST_PULL_TRIGGER (trigger)->credit_calls++;
}

static void
test_pull_trigger_iface_init (SluiceTriggerInterface *iface)
{
  iface->start = pull_trigger_start;
  iface->stop = pull_trigger_stop;
  iface->credit_available = pull_trigger_credit_available;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestPullTrigger, test_pull_trigger, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_TRIGGER, test_pull_trigger_iface_init))

static void test_pull_trigger_class_init (TestPullTriggerClass *klass) { }
static void test_pull_trigger_init (TestPullTrigger *self) { }

/* A step that implements nothing. */
#define TEST_TYPE_HOLLOW_STEP (test_hollow_step_get_type ())
G_DECLARE_FINAL_TYPE (TestHollowStep, test_hollow_step, TEST, HOLLOW_STEP, GObject)
struct _TestHollowStep { GObject parent_instance; };
static void test_hollow_step_iface_init (SluiceStepInterface *iface) { }
G_DEFINE_FINAL_TYPE_WITH_CODE (TestHollowStep, test_hollow_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_hollow_step_iface_init))
static void test_hollow_step_class_init (TestHollowStepClass *klass) { }
static void test_hollow_step_init (TestHollowStep *self) { }

/* A source without open(): open succeeds by default. It yields one page. */
#define TEST_TYPE_ONE_PAGE_SOURCE (test_one_page_source_get_type ())
G_DECLARE_FINAL_TYPE (TestOnePageSource, test_one_page_source, TEST, ONE_PAGE_SOURCE, GObject)
struct _TestOnePageSource { GObject parent_instance; gboolean done; };

static void
one_page_next_page_async (SluiceSource       *source,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data)
{
  TestOnePageSource *self = TEST_ONE_PAGE_SOURCE (source);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GPtrArray *page;

  if (self->done)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  self->done = TRUE;
  page = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (page, sluice_message_new ());
  g_ptr_array_add (page, sluice_message_new ());
  g_task_return_pointer (task, page, (GDestroyNotify) g_ptr_array_unref);
}

static GPtrArray *
one_page_next_page_finish (SluiceSource *source,
                           GAsyncResult *result,
                           GError      **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_one_page_source_iface_init (SluiceSourceInterface *iface)
{
  iface->next_page_async = one_page_next_page_async;
  iface->next_page_finish = one_page_next_page_finish;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestOnePageSource, test_one_page_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_SOURCE, test_one_page_source_iface_init))
static void test_one_page_source_class_init (TestOnePageSourceClass *klass) { }
static void test_one_page_source_init (TestOnePageSource *self) { }

/* A state store whose only operation is add_if_absent, over a hash table. */
#define TEST_TYPE_SET_STORE (test_set_store_get_type ())
G_DECLARE_FINAL_TYPE (TestSetStore, test_set_store, TEST, SET_STORE, GObject)
struct _TestSetStore { GObject parent_instance; GHashTable *keys; };

static void
set_store_add_if_absent_async (SluiceStateStore   *store,
                               const char         *key,
                               GBytes             *value,
                               gint64              ttl_usec,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  TestSetStore *self = TEST_SET_STORE (store);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_return_boolean (task, g_hash_table_add (self->keys, g_strdup (key)));
}

static gboolean
set_store_add_if_absent_finish (SluiceStateStore *store,
                                GAsyncResult     *result,
                                gboolean         *out_added,
                                GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean added = g_task_propagate_boolean (G_TASK (result), &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* writes unconditionally: the wrapper must give it somewhere to write */
  *out_added = added;
  return TRUE;
}

static void
test_set_store_iface_init (SluiceStateStoreInterface *iface)
{
  iface->add_if_absent_async = set_store_add_if_absent_async;
  iface->add_if_absent_finish = set_store_add_if_absent_finish;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestSetStore, test_set_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STATE_STORE, test_set_store_iface_init))

static void
test_set_store_finalize (GObject *object)
{
  g_hash_table_unref (TEST_SET_STORE (object)->keys);
  G_OBJECT_CLASS (test_set_store_parent_class)->finalize (object);
}

static void
test_set_store_class_init (TestSetStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_set_store_finalize;
}

static void
test_set_store_init (TestSetStore *self)
{
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
on_event (SluiceTrigger *trigger,
          SluiceEvent   *event,
          gpointer       user_data)
{
  GPtrArray *events = user_data;

  g_ptr_array_add (events, g_object_ref (event));
}

static void
test_trigger_emit (void)
{
  g_autoptr(TestPullTrigger) trigger = g_object_new (TEST_TYPE_PULL_TRIGGER, NULL);
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(SluiceEvent) event = sluice_event_new (message);
  g_autoptr(GError) error = NULL;

  g_signal_connect (trigger, "event", G_CALLBACK (on_event), events);

  g_assert_true (sluice_trigger_start (SLUICE_TRIGGER (trigger), &error));
  g_assert_no_error (error);
  g_assert_true (trigger->started);

  sluice_trigger_emit (SLUICE_TRIGGER (trigger), event);
  sluice_trigger_emit (SLUICE_TRIGGER (trigger), event);
  g_assert_cmpuint (events->len, ==, 2);
  g_assert_true (g_ptr_array_index (events, 0) == event);

  sluice_trigger_stop (SLUICE_TRIGGER (trigger));
  g_assert_false (trigger->started);
}

static void
test_trigger_credit (void)
{
  g_autoptr(TestPullTrigger) trigger = g_object_new (TEST_TYPE_PULL_TRIGGER, NULL);
  g_autoptr(TestPullTrigger) other = g_object_new (TEST_TYPE_PULL_TRIGGER, NULL);
  SluiceTrigger *t = SLUICE_TRIGGER (trigger);

  g_assert_cmpuint (sluice_trigger_get_credit (t), ==, SLUICE_TRIGGER_CREDIT_UNLIMITED);

  sluice_trigger_set_credit (t, 5);
  g_assert_cmpuint (sluice_trigger_get_credit (t), ==, 5);
  g_assert_cmpuint (trigger->credit_calls, ==, 0);

  sluice_trigger_set_credit (t, 0);
  g_assert_cmpuint (sluice_trigger_get_credit (t), ==, 0);
  g_assert_cmpuint (trigger->credit_calls, ==, 0);
  /* 0 -> 0 is no rise */
  sluice_trigger_set_credit (t, 0);
  g_assert_cmpuint (trigger->credit_calls, ==, 0);

  sluice_trigger_set_credit (t, 1);
  g_assert_cmpuint (trigger->credit_calls, ==, 1);
  sluice_trigger_set_credit (t, 8);
  g_assert_cmpuint (trigger->credit_calls, ==, 1);

  sluice_trigger_set_credit (t, 0);
  sluice_trigger_set_credit (t, SLUICE_TRIGGER_CREDIT_UNLIMITED);
  g_assert_cmpuint (trigger->credit_calls, ==, 2);
  g_assert_cmpuint (sluice_trigger_get_credit (t), ==, SLUICE_TRIGGER_CREDIT_UNLIMITED);

  /* credit belongs to each instance */
  g_assert_cmpuint (sluice_trigger_get_credit (SLUICE_TRIGGER (other)), ==,
                    SLUICE_TRIGGER_CREDIT_UNLIMITED);
}

static void
test_step_missing_vfunc (void)
{
  g_autoptr(TestHollowStep) step = g_object_new (TEST_TYPE_HOLLOW_STEP, NULL);
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(GError) error = NULL;

  g_test_expect_message ("sluice", G_LOG_LEVEL_CRITICAL, "*does not implement SluiceStep.process_async()*");
  sluice_step_process_async (SLUICE_STEP (step), message, NULL, store_result_cb, &result);
  g_test_assert_expected_messages ();

  iter = sluice_step_process_finish (SLUICE_STEP (step), wait_result (&result), &error);
  g_assert_null (iter);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
  g_assert_false (sluice_error_is_retryable (error));
}

static void
test_source_default_open (void)
{
  g_autoptr(TestOnePageSource) source = g_object_new (TEST_TYPE_ONE_PAGE_SOURCE, NULL);
  g_autoptr(SluiceMessage) input = sluice_message_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) end = NULL;

  g_assert_true (sluice_source_open (SLUICE_SOURCE (source), input, &error));
  g_assert_no_error (error);

  sluice_source_next_page_async (SLUICE_SOURCE (source), NULL, store_result_cb, &first);
  page = sluice_source_next_page_finish (SLUICE_SOURCE (source), wait_result (&first), &error);
  g_assert_no_error (error);
  g_assert_nonnull (page);
  g_assert_cmpuint (page->len, ==, 2);

  sluice_source_next_page_async (SLUICE_SOURCE (source), NULL, store_result_cb, &second);
  end = sluice_source_next_page_finish (SLUICE_SOURCE (source), wait_result (&second), &error);
  g_assert_no_error (error);
  g_assert_null (end);
}

static void
test_state_store_wrappers (void)
{
  g_autoptr(TestSetStore) store = g_object_new (TEST_TYPE_SET_STORE, NULL);
  g_autoptr(GBytes) value = g_bytes_new_static ("1", 1);
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GAsyncResult) third = NULL;
  g_autoptr(GAsyncResult) missing = NULL;
  g_autoptr(GError) error = NULL;
  gboolean added = FALSE;

  sluice_state_store_add_if_absent_async (SLUICE_STATE_STORE (store), "seen:a", value, 0, NULL,
                                          store_result_cb, &first);
  g_assert_true (sluice_state_store_add_if_absent_finish (SLUICE_STATE_STORE (store),
                                                          wait_result (&first), &added, &error));
  g_assert_no_error (error);
  g_assert_true (added);

  sluice_state_store_add_if_absent_async (SLUICE_STATE_STORE (store), "seen:a", value, 0, NULL,
                                          store_result_cb, &second);
  g_assert_true (sluice_state_store_add_if_absent_finish (SLUICE_STATE_STORE (store),
                                                          wait_result (&second), &added, &error));
  g_assert_false (added);

  /* out parameters are optional */
  sluice_state_store_add_if_absent_async (SLUICE_STATE_STORE (store), "seen:b", value, 0, NULL,
                                          store_result_cb, &third);
  g_assert_true (sluice_state_store_add_if_absent_finish (SLUICE_STATE_STORE (store),
                                                          wait_result (&third), NULL, &error));
  g_assert_no_error (error);

  /* an operation the store lacks fails cleanly */
  g_test_expect_message ("sluice", G_LOG_LEVEL_CRITICAL, "*does not implement SluiceStateStore.get_async()*");
  sluice_state_store_get_async (SLUICE_STATE_STORE (store), "seen:a", NULL, store_result_cb, &missing);
  g_test_assert_expected_messages ();
  g_assert_null (sluice_state_store_get_finish (SLUICE_STATE_STORE (store), wait_result (&missing),
                                                &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
}

static void
test_batch_boxed (void)
{
  g_autoptr(SluiceBatchInfo) info = sluice_batch_info_new ("b-1", "nightly-orders");
  g_autoptr(SluiceBatchInfo) copy = NULL;
  g_autoptr(SluiceRecordOutcome) outcome = sluice_record_outcome_new ("r-7", FALSE, "HTTP 500");
  g_autoptr(SluiceRecordOutcome) outcome_copy = NULL;

  g_assert_cmpstr (info->id, ==, "b-1");
  g_assert_cmpstr (info->workflow, ==, "nightly-orders");
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_OPEN);
  info->chunk_size = 10;
  info->counts[SLUICE_RECORD_FAILED] = 3;
  info->expires_usec = 42;

  copy = g_boxed_copy (SLUICE_TYPE_BATCH_INFO, info);
  g_assert_true (copy != info);
  g_assert_true (copy->id != info->id);
  g_assert_cmpstr (copy->id, ==, "b-1");
  g_assert_cmpstr (copy->workflow, ==, "nightly-orders");
  g_assert_cmpuint (copy->chunk_size, ==, 10);
  g_assert_cmpuint (copy->counts[SLUICE_RECORD_FAILED], ==, 3);
  g_assert_cmpint (copy->expires_usec, ==, 42);

  outcome_copy = g_boxed_copy (SLUICE_TYPE_RECORD_OUTCOME, outcome);
  g_assert_true (outcome_copy->record_id != outcome->record_id);
  g_assert_cmpstr (outcome_copy->record_id, ==, "r-7");
  g_assert_false (outcome_copy->succeeded);
  g_assert_cmpstr (outcome_copy->error, ==, "HTTP 500");
}

static void
test_error_retryable (void)
{
  static const struct {
    GQuark   domain;
    gint     code;
    gboolean retryable;
  } cases[] = {
    { 0, SLUICE_ERROR_FAILED, TRUE },
    { 0, SLUICE_ERROR_UNAVAILABLE, TRUE },
    { 0, SLUICE_ERROR_TIMEOUT, TRUE },
    { 0, SLUICE_ERROR_INVALID_CONFIG, FALSE },
    { 0, SLUICE_ERROR_INVALID_DATA, FALSE },
    { 0, SLUICE_ERROR_NOT_FOUND, FALSE },
    { 0, SLUICE_ERROR_PERMISSION_DENIED, FALSE },
    { 0, SLUICE_ERROR_PLUGIN, FALSE },
    { 0, SLUICE_ERROR_INVALID_STATE, FALSE },
    { 0, SLUICE_ERROR_PERMANENT, FALSE },
    { 0, SLUICE_ERROR_TOO_LARGE, FALSE },
  };
  g_autoptr(GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "x");
  g_autoptr(GError) io_invalid = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "x");
  g_autoptr(GError) io_missing = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "x");
  g_autoptr(GError) io_denied = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "x");
  g_autoptr(GError) io_refused = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "x");
  g_autoptr(GError) io_timeout = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "x");
  g_autoptr(GError) json = g_error_new_literal (JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE, "x");
  g_autoptr(GError) other = g_error_new_literal (G_FILE_ERROR, G_FILE_ERROR_AGAIN, "x");

  g_assert_cmpstr (g_quark_to_string (SLUICE_ERROR), ==, "sluice-error-quark");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = g_error_new_literal (SLUICE_ERROR, cases[i].code, "x");

      g_assert_cmpint (sluice_error_is_retryable (error), ==, cases[i].retryable);
    }

  g_assert_false (sluice_error_is_retryable (cancelled));
  g_assert_false (sluice_error_is_retryable (io_invalid));
  g_assert_false (sluice_error_is_retryable (io_missing));
  g_assert_false (sluice_error_is_retryable (io_denied));
  g_assert_true (sluice_error_is_retryable (io_refused));
  g_assert_true (sluice_error_is_retryable (io_timeout));
  g_assert_false (sluice_error_is_retryable (json));
  g_assert_true (sluice_error_is_retryable (other));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("The SDK interfaces' wrappers, boxed types and the retry rule for errors");

  g_test_add_func ("/trigger/start-emit-stop", test_trigger_emit);
  g_test_add_func ("/trigger/credit/available-when-rising-from-zero", test_trigger_credit);
  g_test_add_func ("/step/missing-vfunc-fails-cleanly", test_step_missing_vfunc);
  g_test_add_func ("/source/open-is-optional", test_source_default_open);
  g_test_add_func ("/state-store/wrappers-and-optional-out", test_state_store_wrappers);
  g_test_add_func ("/batch-store/boxed-deep-copy", test_batch_boxed);
  g_test_add_func ("/error/retryable", test_error_retryable);

  return g_test_run ();
}
