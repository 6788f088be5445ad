/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Delivery controls in the engine, whatever the trigger: workflow retries
 * with backoff and jitter, max deliveries, idempotency, ordering, fan-out
 * of a shared trigger, dead letters and their replay. One host, memory
 * stores, a manual clock. */
#include <glib/gstdio.h>
#include <sluice/sluice.h>

#include "sluice-builtins.h"
#include "sluice-dead-letters.h"
#include "sluice-engine.h"
#include "sluice-memory-dead-letter-store.h"
#include "sluice-memory-state-store.h"
#include "sluice-workflow.h"
#include "test-components.h"

typedef struct {
  SluicePluginHost      *host;
  SluiceClock           *clock;
  SluiceStateStore      *state_store;
  SluiceDeadLetterStore *dead_letters;
  SluiceContext         *context;
  SluiceEngine          *engine;
  GPtrArray             *outcomes; /* "workflow outcome" per finished run */
} Fixture;

static void
on_run_finished (SluiceEngine *engine, const char *workflow, const char *run_id, guint outcome,
                 const char *error, SluiceMessage *message, gpointer user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->outcomes, g_strdup_printf ("%s %u", workflow, outcome));
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture->host = sluice_plugin_host_new ();
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_true (test_components_register (fixture->host, &error));
  g_assert_no_error (error);

  fixture->clock = sluice_clock_new_manual (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
  fixture->state_store = sluice_memory_state_store_new (fixture->clock);
  fixture->dead_letters = sluice_memory_dead_letter_store_new ();
  fixture->context = sluice_context_new ("test", fixture->clock, fixture->state_store);
  fixture->engine = sluice_engine_new (fixture->context);
  sluice_engine_set_dead_letter_store (fixture->engine, fixture->dead_letters);
  fixture->outcomes = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (fixture->engine, "run-finished", G_CALLBACK (on_run_finished), fixture);
  test_recorder_reset (fixture->clock);
}

static void
spin (void)
{
  for (guint i = 0; i < 100000 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
on_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GAsyncResult) result = NULL;

  test_recorder_release (G_MAXUINT);
  spin ();
  sluice_engine_shutdown_async (fixture->engine, G_USEC_PER_SEC, NULL, on_done, &result);
  g_assert_true (sluice_engine_shutdown_finish (fixture->engine, wait_for (&result), NULL));

  g_clear_object (&fixture->engine);
  g_clear_object (&fixture->context);
  g_clear_object (&fixture->dead_letters);
  g_clear_object (&fixture->state_store);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->host);
  g_clear_pointer (&fixture->outcomes, g_ptr_array_unref);
  test_recorder_reset (NULL);
}

static void
add_workflow (Fixture *fixture, const char *json)
{
  test_engine_add_workflow (fixture->host, fixture->engine, json);
}

static SluiceEvent *
event_new (const char *body, const char *id, guint attempt)
{
  g_autoptr(SluiceMessage) message =
    sluice_message_new_take_string (g_strdup (body), "application/json");

  if (id != NULL)
    sluice_message_set_id (message, id);
  sluice_message_set_attempt (message, attempt);
  sluice_message_set_header (message, "x-origin", "test");
  return sluice_event_new (message);
}

static SluiceEvent *
inject (Fixture *fixture, const char *workflow, const char *body, const char *id)
{
  g_autoptr(GError) error = NULL;
  SluiceEvent *event = event_new (body, id, 1);
  g_autofree char *run_id = sluice_engine_inject (fixture->engine, workflow, event, &error);

  g_assert_no_error (error);
  g_assert_nonnull (run_id);
  return event;
}

static GPtrArray *
list_dead_letters (Fixture *fixture, const SluiceDeadLetterFilter *filter)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *letters;

  sluice_dead_letter_store_list_async (fixture->dead_letters, filter, 0, 100000, NULL, on_done,
                                       &result);
  letters = sluice_dead_letter_store_list_finish (fixture->dead_letters, wait_for (&result),
                                                  &error);
  g_assert_no_error (error);
  return letters;
}

/* Advances the manual clock in small steps, so that every timer fires at
 * (about) its own time. */
static void
advance (Fixture *fixture, gint64 total, gint64 step)
{
  for (gint64 done = 0; done < total; done += step)
    {
      spin ();
      sluice_clock_advance (fixture->clock, step);
    }
  spin ();
}

/* ---- Retries ---- */

static void
test_retry_full_jitter_bounds (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;
  g_autoptr(GPtrArray) letters = NULL;
  gint64 *times;

  /* The step itself has no retry: the workflow runs the event again. */
  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"retry\": {\"attempts\": 5, \"backoff\": \"exponential\","
                         "             \"initial\": \"1s\", \"max\": \"4s\", \"jitter\": \"full\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 4}},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, "w", "{}", "m1");
  advance (fixture, 30 * G_USEC_PER_SEC, G_USEC_PER_SEC / 100);

  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 5);
  times = (gint64 *) test_recorder.attempt_times->data;
  /* Full jitter: each wait is anywhere in [0, min(max, initial * 2^(n-1))]. */
  g_assert_cmpint (times[1] - times[0], <=, 1 * G_USEC_PER_SEC + G_USEC_PER_SEC / 100);
  g_assert_cmpint (times[2] - times[1], <=, 2 * G_USEC_PER_SEC + G_USEC_PER_SEC / 100);
  g_assert_cmpint (times[3] - times[2], <=, 4 * G_USEC_PER_SEC + G_USEC_PER_SEC / 100);
  g_assert_cmpint (times[4] - times[3], <=, 4 * G_USEC_PER_SEC + G_USEC_PER_SEC / 100);
  /* the fifth run succeeded: acked once, nothing dead-lettered */
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
  letters = list_dead_letters (fixture, NULL);
  g_assert_cmpuint (letters->len, ==, 0);
}

static void
test_retry_jitter_spread (void)
{
  g_autoptr(SluiceRetryPolicy) policy =
    sluice_retry_policy_new (10, SLUICE_BACKOFF_EXPONENTIAL, G_USEC_PER_SEC, 60 * G_USEC_PER_SEC,
                             SLUICE_JITTER_FULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  gint64 low = G_MAXINT64, high = 0;
  double sum = 0;
  const guint n = 20000;

  /* After the 3rd run the cap is 4 s; delays must cover [0, 4 s]
   * uniformly: bounded, spread out, with the mean near the middle. */
  for (guint i = 0; i < n; i++)
    {
      gint64 delay = sluice_retry_policy_get_delay (policy, 3, rand);

      g_assert_cmpint (delay, >=, 0);
      g_assert_cmpint (delay, <=, 4 * G_USEC_PER_SEC);
      low = MIN (low, delay);
      high = MAX (high, delay);
      sum += delay;
    }
  g_assert_cmpint (low, <, G_USEC_PER_SEC / 10);
  g_assert_cmpint (high, >, 4 * G_USEC_PER_SEC - G_USEC_PER_SEC / 10);
  g_assert_cmpfloat (sum / n, >, 1.9 * G_USEC_PER_SEC);
  g_assert_cmpfloat (sum / n, <, 2.1 * G_USEC_PER_SEC);
}

static void
test_retry_exhausted_dead_letter (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;
  g_autoptr(GPtrArray) letters = NULL;
  SluiceDeadLetter *letter;
  g_autofree char *trace_id = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"retry\": {\"attempts\": 3, \"initial\": \"1s\", \"jitter\": \"none\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 10}}]}");
  event = inject (fixture, "w", "{\"order\": 7}", "m1");
  advance (fixture, 10 * G_USEC_PER_SEC, G_USEC_PER_SEC / 10);

  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 3);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_DEAD_LETTERED);

  letters = list_dead_letters (fixture, NULL);
  g_assert_cmpuint (letters->len, ==, 1);
  letter = g_ptr_array_index (letters, 0);
  g_assert_cmpstr (letter->workflow, ==, "w");
  g_assert_cmpstr (letter->node, ==, "post");
  g_assert_cmpstr (letter->error, ==, "flaky failure 3");
  g_assert_cmpuint (letter->attempts, ==, 3);
  g_assert_cmpstr (letter->source, ==, "core.manual");
  g_assert_cmpstr (letter->content_type, ==, "application/json");
  g_assert_nonnull (letter->payload);
  g_assert_cmpmem (g_bytes_get_data (letter->payload, NULL), g_bytes_get_size (letter->payload),
                   "{\"order\": 7}", 12);
  g_assert_true (g_strv_contains ((const char * const *) letter->headers, "x-origin"));
  trace_id = sluice_message_dup_trace_id (sluice_event_get_message (event));
  g_assert_cmpstr (letter->trace_id, ==, trace_id);
  g_assert_cmpint (letter->first_usec, ==, letter->last_usec);
  g_assert_cmpint (letter->first_usec, >, G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
}

static void
test_permanent_error_not_retried (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"retry\": {\"attempts\": 5, \"initial\": \"1s\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 1, \"permanent\": true}}]}");
  event = inject (fixture, "w", "{}", "m1");
  advance (fixture, 60 * G_USEC_PER_SEC, G_USEC_PER_SEC);

  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_DEAD_LETTERED);
}

/* ---- Max deliveries ---- */

static void
test_max_deliveries (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceEvent) fifth = event_new ("{}", "m5", 5);
  g_autoptr(SluiceEvent) sixth = event_new ("{}", "m6", 6);
  g_autoptr(GPtrArray) letters = NULL;
  g_autofree char *run5 = NULL;
  g_autofree char *run6 = NULL;
  SluiceDeadLetter *letter;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"max_deliveries\": 5,"
                         " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  run5 = sluice_engine_inject (fixture->engine, "w", fifth, &error);
  g_assert_no_error (error);
  run6 = sluice_engine_inject (fixture->engine, "w", sixth, &error);
  g_assert_no_error (error);
  spin ();

  /* the fifth delivery runs; the sixth is dead-lettered without running */
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpstr (sluice_message_get_id (g_ptr_array_index (test_recorder.collected, 0)), ==, "m5");
  g_assert_cmpint (sluice_event_get_outcome (fifth), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpint (sluice_event_get_outcome (sixth), ==, SLUICE_EVENT_DEAD_LETTERED);
  letters = list_dead_letters (fixture, NULL);
  g_assert_cmpuint (letters->len, ==, 1);
  letter = g_ptr_array_index (letters, 0);
  g_assert_null (letter->node);
  g_assert_cmpuint (letter->attempts, ==, 6);
  g_assert_nonnull (strstr (letter->error, "max_deliveries (5)"));
}

/* ---- Idempotency ---- */

static const char idempotent_workflow[] =
  "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"}, \"concurrency\": 4,"
  " \"idempotency\": {\"field\": \"$.id\", \"ttl\": \"1h\"},"
  " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"},"
  "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}";

static void
test_idempotency_duplicate_runs_once (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) first = NULL;
  g_autoptr(SluiceEvent) repeat = NULL;
  g_autoptr(SluiceEvent) other = NULL;

  add_workflow (fixture, idempotent_workflow);
  first = inject (fixture, "w", "{\"id\": \"order-1\"}", NULL);
  spin ();
  test_recorder_release (1);
  spin ();
  g_assert_cmpint (sluice_event_get_outcome (first), ==, SLUICE_EVENT_ACKED);

  /* the same key again: acknowledged, never run */
  repeat = inject (fixture, "w", "{\"id\": \"order-1\", \"note\": \"resent\"}", NULL);
  other = inject (fixture, "w", "{\"id\": \"order-2\"}", NULL);
  spin ();
  g_assert_cmpint (sluice_event_get_outcome (repeat), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpuint (test_recorder.holding, ==, 1);
  test_recorder_release (1);
  spin ();
  g_assert_cmpint (sluice_event_get_outcome (other), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpuint (test_recorder.collected->len, ==, 2);

  /* once the TTL is over, the key may run again */
  sluice_clock_advance (fixture->clock, G_TIME_SPAN_HOUR + G_USEC_PER_SEC);
  g_clear_object (&repeat);
  repeat = inject (fixture, "w", "{\"id\": \"order-1\"}", NULL);
  spin ();
  g_assert_cmpuint (test_recorder.holding, ==, 1);
  test_recorder_release (1);
  spin ();
  g_assert_cmpuint (test_recorder.collected->len, ==, 3);
}

static void
test_idempotency_concurrent_duplicate (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) first = NULL;
  g_autoptr(SluiceEvent) repeat = NULL;

  add_workflow (fixture, idempotent_workflow);
  first = inject (fixture, "w", "{\"id\": \"order-1\"}", NULL);
  spin ();
  /* While the first is still running, a duplicate is handed back for
   * later (the first may yet fail): it neither runs nor is acked. */
  repeat = inject (fixture, "w", "{\"id\": \"order-1\"}", NULL);
  spin ();
  g_assert_cmpuint (test_recorder.holding, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (repeat), ==, SLUICE_EVENT_RETRY);
  test_recorder_release (1);
  spin ();
  g_assert_cmpint (sluice_event_get_outcome (first), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
}

static void
test_idempotency_failure_runs_again (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) first = NULL;
  g_autoptr(SluiceEvent) again = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"idempotency\": {\"header\": \"x-delivery\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 1}},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  first = event_new ("{}", "m1", 1);
  sluice_message_set_header (sluice_event_get_message (first), "x-delivery", "d-1");
  g_free (sluice_engine_inject (fixture->engine, "w", first, NULL));
  spin ();
  g_assert_cmpint (sluice_event_get_outcome (first), ==, SLUICE_EVENT_DEAD_LETTERED);

  /* A key whose run failed is not remembered: redelivered, it runs. */
  again = event_new ("{}", "m1", 2);
  sluice_message_set_header (sluice_event_get_message (again), "x-delivery", "d-1");
  g_free (sluice_engine_inject (fixture->engine, "w", again, NULL));
  spin ();
  g_assert_cmpint (sluice_event_get_outcome (again), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
}

/* ---- Ordering ---- */

static const char *
held_key (guint index)
{
  GTask *task = g_queue_peek_nth (&test_recorder.held, index);
  JsonNode *body = sluice_message_get_json (g_task_get_task_data (task), NULL);

  return json_object_get_string_member (json_node_get_object (body), "key");
}

static void
test_ordering_same_key_in_order (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_object_unref);
  gint last_a = -1;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"concurrency\": 8, \"ordering\": {\"field\": \"$.key\"},"
                         " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  /* 20 events with key "a", interleaved with 5 of keys b..f */
  for (guint i = 0; i < 25; i++)
    {
      g_autofree char *body = NULL;

      if (i % 5 == 4)
        body = g_strdup_printf ("{\"key\": \"%c\", \"seq\": %u}", 'b' + i / 5, i);
      else
        body = g_strdup_printf ("{\"key\": \"a\", \"seq\": %u}", i);
      g_ptr_array_add (events, inject (fixture, "w", body, NULL));
    }
  spin ();

  /* one "a" at a time, the other keys alongside it */
  g_assert_cmpuint (test_recorder.holding, ==, 6);
  while (test_recorder.holding > 0)
    {
      guint a_held = 0;

      for (guint i = 0; i < test_recorder.held.length; i++)
        a_held += g_str_equal (held_key (i), "a");
      g_assert_cmpuint (a_held, <=, 1);
      test_recorder_release (1);
      spin ();
    }

  g_assert_cmpuint (test_recorder.collected->len, ==, 25);
  for (guint i = 0; i < test_recorder.collected->len; i++)
    {
      JsonNode *body = sluice_message_get_json (g_ptr_array_index (test_recorder.collected, i),
                                                NULL);
      JsonObject *object = json_node_get_object (body);

      if (g_str_equal (json_object_get_string_member (object, "key"), "a"))
        {
          gint seq = (gint) json_object_get_int_member (object, "seq");

          g_assert_cmpint (seq, >, last_a);
          last_a = seq;
        }
    }
  for (guint i = 0; i < events->len; i++)
    g_assert_cmpint (sluice_event_get_outcome (events->pdata[i]), ==, SLUICE_EVENT_ACKED);
}

static void
test_ordering_different_keys_overlap (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_object_unref);

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"concurrency\": 8, \"ordering\": {\"header\": \"x-key\"},"
                         " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"}]}");
  for (guint i = 0; i < 12; i++)
    {
      g_autoptr(SluiceEvent) event = event_new ("{}", NULL, 1);
      g_autofree char *key = g_strdup_printf ("k%u", i);

      sluice_message_set_header (sluice_event_get_message (event), "x-key", key);
      g_free (sluice_engine_inject (fixture->engine, "w", event, NULL));
      g_ptr_array_add (events, g_object_ref (event));
    }
  spin ();
  /* all different keys: as parallel as the concurrency allows */
  g_assert_cmpuint (test_recorder.holding, ==, 8);
  test_recorder_release (G_MAXUINT);
  spin ();
  g_assert_cmpuint (test_recorder.holding, ==, 4);
}

static void
test_ordering_retry_keeps_key (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) first = NULL;
  g_autoptr(SluiceEvent) second = NULL;
  SluiceMessage *collected;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"concurrency\": 4, \"ordering\": {\"field\": \"$.key\"},"
                         " \"retry\": {\"attempts\": 3, \"initial\": \"2s\", \"jitter\": \"none\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 1}},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  first = inject (fixture, "w", "{\"key\": \"a\", \"seq\": 1}", "m1");
  second = inject (fixture, "w", "{\"key\": \"a\", \"seq\": 2}", "m2");
  spin ();
  /* the first failed and waits for its retry: the second waits behind it */
  g_assert_cmpuint (test_recorder.collected->len, ==, 0);
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 1);
  advance (fixture, 3 * G_USEC_PER_SEC, G_USEC_PER_SEC / 10);
  spin ();
  /* then both, in order (m2 failed once too, and was retried as well) */
  advance (fixture, 3 * G_USEC_PER_SEC, G_USEC_PER_SEC / 10);
  g_assert_cmpuint (test_recorder.collected->len, ==, 2);
  collected = g_ptr_array_index (test_recorder.collected, 0);
  g_assert_cmpstr (sluice_message_get_id (collected), ==, "m1");
  collected = g_ptr_array_index (test_recorder.collected, 1);
  g_assert_cmpstr (sluice_message_get_id (collected), ==, "m2");
}

/* ---- Fan-out ---- */

static void
test_fanout_shared_trigger (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = event_new ("{\"n\": 1}", "m1", 1);
  GObject *trigger_a, *trigger_b;

  add_workflow (fixture, "{\"name\": \"a\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  add_workflow (fixture, "{\"name\": \"b\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  trigger_a = sluice_engine_get_trigger (fixture->engine, "a");
  trigger_b = sluice_engine_get_trigger (fixture->engine, "b");
  g_assert_true (trigger_a == trigger_b);

  sluice_trigger_emit (SLUICE_TRIGGER (trigger_a), event);
  spin ();
  /* b is done, a still holds it: not handled yet */
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_PENDING);
  test_recorder_release (1);
  spin ();
  g_assert_cmpuint (test_recorder.collected->len, ==, 2);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
  /* each subscriber got its own copy of the message */
  g_assert_true (g_ptr_array_index (test_recorder.collected, 0) !=
                 g_ptr_array_index (test_recorder.collected, 1));
  g_assert_cmpuint (fixture->outcomes->len, ==, 2);
}

static void
test_fanout_dead_letter_counts_as_handled (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = event_new ("{\"n\": 1}", "m1", 1);
  g_autoptr(GPtrArray) letters = NULL;

  add_workflow (fixture, "{\"name\": \"a\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 1, \"permanent\": true}}]}");
  add_workflow (fixture, "{\"name\": \"b\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  sluice_trigger_emit (SLUICE_TRIGGER (sluice_engine_get_trigger (fixture->engine, "a")), event);
  spin ();
  /* a dead-lettered its copy, b processed its own: the event is handled */
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
  letters = list_dead_letters (fixture, NULL);
  g_assert_cmpuint (letters->len, ==, 1);
  g_assert_cmpstr (((SluiceDeadLetter *) letters->pdata[0])->workflow, ==, "a");
}

/* ---- Replay ---- */

static void
test_replay_one_and_failed_replay (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceDeadLetters) manager = sluice_dead_letters_new (fixture->dead_letters,
                                                                   fixture->engine);
  g_autoptr(SluiceEvent) event = NULL;
  g_autoptr(GPtrArray) letters = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint64 replayed = 0, skipped = 0;
  const char *ids[2] = { NULL, NULL };
  g_autofree char *id = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 2}},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, "w", "{\"n\": 1}", "m1");
  spin ();
  letters = list_dead_letters (fixture, NULL);
  g_assert_cmpuint (letters->len, ==, 1);
  id = g_strdup (((SluiceDeadLetter *) letters->pdata[0])->id);
  ids[0] = id;

  /* The replay fails again (flaky fails twice): same dead letter, one
   * more attempt, the first time kept. */
  sluice_clock_advance (fixture->clock, 60 * G_USEC_PER_SEC);
  sluice_dead_letters_replay_async (manager, ids, NULL, NULL, on_done, &result);
  g_assert_true (sluice_dead_letters_replay_finish (manager, wait_for (&result), &replayed,
                                                    &skipped, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (replayed, ==, 1);
  g_assert_cmpuint (skipped, ==, 0);
  spin ();
  after = list_dead_letters (fixture, NULL);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_cmpstr (((SluiceDeadLetter *) after->pdata[0])->id, ==, id);
  g_assert_cmpuint (((SluiceDeadLetter *) after->pdata[0])->attempts, ==, 2);
  g_assert_cmpint (((SluiceDeadLetter *) after->pdata[0])->first_usec, ==,
                   ((SluiceDeadLetter *) letters->pdata[0])->first_usec);
  g_assert_cmpint (((SluiceDeadLetter *) after->pdata[0])->last_usec, ==,
                   ((SluiceDeadLetter *) letters->pdata[0])->last_usec + 60 * G_USEC_PER_SEC);
  g_assert_cmpuint (test_recorder.collected->len, ==, 0);

  /* The next replay succeeds: the dead letter is gone, the payload ran. */
  g_clear_object (&result);
  sluice_dead_letters_replay_async (manager, ids, NULL, NULL, on_done, &result);
  g_assert_true (sluice_dead_letters_replay_finish (manager, wait_for (&result), &replayed,
                                                    NULL, NULL, &error));
  spin ();
  g_clear_pointer (&after, g_ptr_array_unref);
  after = list_dead_letters (fixture, NULL);
  g_assert_cmpuint (after->len, ==, 0);
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpstr (sluice_message_get_header (g_ptr_array_index (test_recorder.collected, 0),
                                              "x-origin"), ==, "test");
}

static void
test_replay_unknown_workflow_skipped (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceDeadLetters) manager = sluice_dead_letters_new (fixture->dead_letters,
                                                                   fixture->engine);
  g_autoptr(SluiceDeadLetter) letter = sluice_dead_letter_new ("dl-1", "gone");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  guint64 replayed = 99, skipped = 0, removed = 0;
  SluiceDeadLetterFilter filter = { 0 };

  letter->payload = g_bytes_new_static ("{}", 2);
  sluice_dead_letter_store_put_async (fixture->dead_letters, letter, NULL, on_done, &result);
  g_assert_true (sluice_dead_letter_store_put_finish (fixture->dead_letters, wait_for (&result),
                                                      &error));
  g_clear_object (&result);

  sluice_dead_letters_replay_async (manager, NULL, NULL, NULL, on_done, &result);
  g_assert_true (sluice_dead_letters_replay_finish (manager, wait_for (&result), &replayed,
                                                    &skipped, &reason, &error));
  g_assert_cmpuint (replayed, ==, 0);
  g_assert_cmpuint (skipped, ==, 1);
  g_assert_nonnull (strstr (reason, "no workflow named 'gone'"));

  /* purge by filter */
  g_clear_object (&result);
  filter.workflow = (char *) "gone";
  sluice_dead_letters_purge_async (manager, NULL, &filter, NULL, on_done, &result);
  g_assert_true (sluice_dead_letters_purge_finish (manager, wait_for (&result), &removed, &error));
  g_assert_cmpuint (removed, ==, 1);
}

/* ---- State kept in a file without Redis ---- */

static GBytes *
state_get (SluiceStateStore *store, const char *key)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *value;

  sluice_state_store_get_async (store, key, NULL, on_done, &result);
  value = sluice_state_store_get_finish (store, wait_for (&result), &error);
  g_assert_no_error (error);
  return value;
}

static void
state_set (SluiceStateStore *store, const char *key, const char *value, gint64 ttl)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (value, strlen (value));

  sluice_state_store_set_async (store, key, bytes, ttl, NULL, on_done, &result);
  g_assert_true (sluice_state_store_set_finish (store, wait_for (&result), NULL));
}

static void
test_state_file_survives_restart (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sluice-state-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "state.json", NULL);
  g_autoptr(SluiceClock) clock = sluice_clock_new_manual (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) kept = NULL;
  g_autoptr(GBytes) expired = NULL;
  g_autoptr(GBytes) short_lived = NULL;
  SluiceStateStore *store = sluice_memory_state_store_new (clock);

  g_assert_true (sluice_memory_state_store_set_file (store, path, &error));
  g_assert_no_error (error);
  state_set (store, "schedule:w/trigger:last", "1700000000", 0);
  state_set (store, "idempotency:w:a", "done", 10 * G_USEC_PER_SEC);
  state_set (store, "idempotency:w:b", "done", 100 * G_USEC_PER_SEC);
  g_object_unref (store);   /* writes the file */
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  /* 30 s later, a new process: the 10 s key is gone, the others remain */
  sluice_clock_advance (clock, 30 * G_USEC_PER_SEC);
  store = sluice_memory_state_store_new (clock);
  g_assert_true (sluice_memory_state_store_set_file (store, path, &error));
  kept = state_get (store, "schedule:w/trigger:last");
  expired = state_get (store, "idempotency:w:a");
  short_lived = state_get (store, "idempotency:w:b");
  g_assert_nonnull (kept);
  g_assert_cmpmem (g_bytes_get_data (kept, NULL), g_bytes_get_size (kept), "1700000000", 10);
  g_assert_null (expired);
  g_assert_nonnull (short_lived);
  /* and it keeps its remaining 70 s, not a fresh 100 s */
  sluice_clock_advance (clock, 71 * G_USEC_PER_SEC);
  g_clear_pointer (&short_lived, g_bytes_unref);
  short_lived = state_get (store, "idempotency:w:b");
  g_assert_null (short_lived);
  g_object_unref (store);

  /* a damaged file is refused with its name */
  g_assert_true (g_file_set_contents (path, "{not json", -1, NULL));
  store = sluice_memory_state_store_new (clock);
  g_assert_false (sluice_memory_state_store_set_file (store, path, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, path));
  g_object_unref (store);

  g_unlink (path);
  g_rmdir (dir);
}

/* ---- Rate limits ---- */

static void
test_rate_limit_spaces_calls (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_object_unref);

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"concurrency\": 16,"
                         " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\","
                         "               \"rate_limit\": {\"per_second\": 2, \"burst\": 3}}]}");
  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (events, inject (fixture, "w", "{}", NULL));
  spin ();

  /* the burst at once, then two a second, whatever the concurrency */
  g_assert_cmpuint (test_recorder.collected->len, ==, 3);
  advance (fixture, G_USEC_PER_SEC, G_USEC_PER_SEC / 20);
  g_assert_cmpuint (test_recorder.collected->len, ==, 5);
  advance (fixture, G_USEC_PER_SEC, G_USEC_PER_SEC / 20);
  g_assert_cmpuint (test_recorder.collected->len, ==, 7);
  advance (fixture, 2 * G_USEC_PER_SEC, G_USEC_PER_SEC / 20);
  g_assert_cmpuint (test_recorder.collected->len, ==, 10);
  for (guint i = 0; i < events->len; i++)
    g_assert_cmpint (sluice_event_get_outcome (events->pdata[i]), ==, SLUICE_EVENT_ACKED);
}

static void
test_rate_limit_bad_config (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceWorkflow) workflow = sluice_workflow_load_data (
    fixture->host,
    "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},\n"
    " \"steps\": [{\"id\": \"a\", \"use\": \"test.collect\", \"rate_limit\": {\"per_second\": 0}},\n"
    "             {\"id\": \"b\", \"use\": \"test.collect\", \"rate_limit\": {\"per_second\": 5, \"burst\": 0.5}}]}",
    -1, "rate.json", &error);

  g_assert_null (workflow);
  g_assert_nonnull (strstr (error->message, "rate.json:2: node 'a', key 'rate_limit.per_second'"));
  g_assert_nonnull (strstr (error->message, "rate.json:3: node 'b', key 'rate_limit.burst'"));
}

/* ---- Replies ---- */

static void
test_reply_is_final_output (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;
  g_autoptr(SluiceEvent) filtered = NULL;
  SluiceMessage *reply;
  JsonNode *body;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"keep\", \"use\": \"filter\","
                         "               \"with\": {\"when\": {\"field\": \"$.n\", \"gt\": 0}}},"
                         "              {\"id\": \"shape\", \"use\": \"map\","
                         "               \"with\": {\"fields\": {\"doubled\": \"$.n\"}}}]}");
  event = inject (fixture, "w", "{\"n\": 21}", "m1");
  filtered = inject (fixture, "w", "{\"n\": -1}", "m2");
  spin ();

  /* what the last node emitted is the run's reply, set before the ack */
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
  reply = sluice_event_get_reply (event);
  g_assert_nonnull (reply);
  body = sluice_message_get_json (reply, NULL);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (body), "doubled"), ==, 21);
  /* a run whose message was filtered out has no reply */
  g_assert_cmpint (sluice_event_get_outcome (filtered), ==, SLUICE_EVENT_ACKED);
  g_assert_null (sluice_event_get_reply (filtered));
}

static void
test_dead_letter_file_survives_restart (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sluice-dl-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "dead-letters.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) letters = NULL;
  g_autoptr(SluiceDeadLetter) letter = sluice_dead_letter_new ("dl-1", "orders");
  SluiceDeadLetterStore *store = sluice_memory_dead_letter_store_new ();
  static const guint8 binary[] = { 0, 1, 0xff, '{' };

  g_assert_true (sluice_memory_dead_letter_store_set_file (store, path, &error));
  letter->payload = g_bytes_new_static (binary, sizeof binary);
  letter->error = g_strdup ("HTTP 503");
  letter->first_usec = letter->last_usec = 1700000000000000;
  sluice_dead_letter_store_put_async (store, letter, NULL, on_done, &result);
  g_assert_true (sluice_dead_letter_store_put_finish (store, wait_for (&result), &error));
  g_clear_object (&result);    /* it holds the store */
  g_object_unref (store);      /* writes the file */

  store = sluice_memory_dead_letter_store_new ();
  g_assert_true (sluice_memory_dead_letter_store_set_file (store, path, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  sluice_dead_letter_store_list_async (store, NULL, 0, 10, NULL, on_done, &result);
  letters = sluice_dead_letter_store_list_finish (store, wait_for (&result), &error);
  g_assert_cmpuint (letters->len, ==, 1);
  g_assert_cmpstr (((SluiceDeadLetter *) letters->pdata[0])->error, ==, "HTTP 503");
  g_assert_true (g_bytes_equal (((SluiceDeadLetter *) letters->pdata[0])->payload,
                                letter->payload));
  g_clear_object (&result);
  g_object_unref (store);

  /* a file that is not a dead-letter file is refused with its name */
  g_assert_true (g_file_set_contents (path, "{\"not\": \"an array\"}", -1, NULL));
  store = sluice_memory_dead_letter_store_new ();
  g_assert_false (sluice_memory_dead_letter_store_set_file (store, path, &error));
  g_assert_nonnull (strstr (error->message, path));
  g_object_unref (store);
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- Workflow file checks ---- */

static void
test_bad_delivery_config (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceWorkflow) workflow = sluice_workflow_load_data (
    fixture->host,
    "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},\n"
    " \"max_deliveries\": -1,\n"
    " \"idempotency\": {\"field\": \"$.id\", \"header\": \"x\", \"ttl\": \"soon\"},\n"
    " \"ordering\": {\"field\": \"$.a[\"},\n"
    " \"retry\": {\"attempts\": 0},\n"
    " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}",
    -1, "bad.json", &error);

  g_assert_null (workflow);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "bad.json:2: key 'max_deliveries'"));
  g_assert_nonnull (strstr (error->message, "key 'idempotency': takes either 'header' or 'field'"));
  g_assert_nonnull (strstr (error->message, "key 'idempotency.ttl'"));
  g_assert_nonnull (strstr (error->message, "bad.json:4: key 'ordering'"));
  g_assert_nonnull (strstr (error->message, "key 'retry'"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/delivery/retry/full-jitter-bounds", test_retry_full_jitter_bounds);
  g_test_add_func ("/delivery/retry/jitter-spread", test_retry_jitter_spread);
  ADD ("/delivery/retry/exhausted-dead-letter", test_retry_exhausted_dead_letter);
  ADD ("/delivery/retry/permanent-not-retried", test_permanent_error_not_retried);
  ADD ("/delivery/max-deliveries", test_max_deliveries);
  ADD ("/delivery/idempotency/duplicate-runs-once", test_idempotency_duplicate_runs_once);
  ADD ("/delivery/idempotency/concurrent-duplicate", test_idempotency_concurrent_duplicate);
  ADD ("/delivery/idempotency/failure-runs-again", test_idempotency_failure_runs_again);
  ADD ("/delivery/ordering/same-key-in-order", test_ordering_same_key_in_order);
  ADD ("/delivery/ordering/different-keys-overlap", test_ordering_different_keys_overlap);
  ADD ("/delivery/ordering/retry-keeps-key", test_ordering_retry_keeps_key);
  ADD ("/delivery/fanout/shared-trigger", test_fanout_shared_trigger);
  ADD ("/delivery/fanout/dead-letter-counts-as-handled", test_fanout_dead_letter_counts_as_handled);
  ADD ("/delivery/replay/one-and-failed-replay", test_replay_one_and_failed_replay);
  ADD ("/delivery/replay/unknown-workflow-skipped", test_replay_unknown_workflow_skipped);
  ADD ("/delivery/config/bad", test_bad_delivery_config);
  ADD ("/delivery/reply/final-output", test_reply_is_final_output);
  ADD ("/delivery/rate-limit/spaces-calls", test_rate_limit_spaces_calls);
  ADD ("/delivery/rate-limit/bad-config", test_rate_limit_bad_config);
  g_test_add_func ("/delivery/state-file/survives-restart", test_state_file_survives_restart);
  g_test_add_func ("/delivery/state-file/dead-letters-survive-restart",
                   test_dead_letter_file_survives_restart);

  return g_test_run ();
}
