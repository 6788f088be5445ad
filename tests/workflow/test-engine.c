/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "sluice-memory-state-store.h"
#include "sluice-workflow.h"
#include "test-components.h"

typedef struct {
  char              *run_id;
  SluiceEventOutcome outcome;
  char              *error;
} Finished;

typedef struct {
  SluicePluginHost *host;
  SluiceClock      *clock;
  SluiceStateStore *state_store;
  SluiceContext    *context;
  SluiceEngine     *engine;
  GPtrArray        *finished; /* Finished */
} Fixture;

static void
finished_free (Finished *finished)
{
  g_free (finished->run_id);
  g_free (finished->error);
  g_free (finished);
}

static void
on_run_finished (SluiceEngine *engine, const char *workflow, const char *run_id, guint outcome,
                 const char *error, SluiceMessage *message, gpointer user_data)
{
  Fixture *fixture = user_data;
  Finished *finished = g_new0 (Finished, 1);

  finished->run_id = g_strdup (run_id);
  finished->outcome = outcome;
  finished->error = g_strdup (error);
  g_ptr_array_add (fixture->finished, finished);
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
  fixture->context = sluice_context_new ("test", fixture->clock, fixture->state_store);
  fixture->engine = sluice_engine_new (fixture->context);
  fixture->finished = g_ptr_array_new_with_free_func ((GDestroyNotify) finished_free);
  g_signal_connect (fixture->engine, "run-finished", G_CALLBACK (on_run_finished), fixture);
  test_recorder_reset (fixture->clock);
}

static void
spin (void)
{
  /* Everything here completes through idle callbacks or the manual clock:
   * run the main context until it has nothing left to do. */
  for (guint i = 0; i < 100000 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
on_shutdown (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_engine_shutdown_finish (SLUICE_ENGINE (object), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  gboolean done = FALSE;

  test_recorder_release (G_MAXUINT);
  spin ();
  sluice_engine_shutdown_async (fixture->engine, G_USEC_PER_SEC, NULL, on_shutdown, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);

  g_clear_object (&fixture->engine);
  g_clear_object (&fixture->context);
  g_clear_object (&fixture->state_store);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->host);
  g_clear_pointer (&fixture->finished, g_ptr_array_unref);
  test_recorder_reset (NULL);
}

static void
add_workflow (Fixture *fixture, const char *json)
{
  test_engine_add_workflow (fixture->host, fixture->engine, json);
}

static SluiceEvent *
inject (Fixture *fixture, const char *body, char **out_run_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceMessage) message =
    sluice_message_new_take_string (g_strdup (body), "application/json");
  SluiceEvent *event = sluice_event_new (message);
  g_autofree char *run_id = sluice_engine_inject (fixture->engine, "w", event, &error);

  g_assert_no_error (error);
  g_assert_nonnull (run_id);
  if (out_run_id != NULL)
    *out_run_id = g_steal_pointer (&run_id);
  return event;
}

static Finished *
finished_run (Fixture *fixture, guint index)
{
  g_assert_cmpuint (index, <, fixture->finished->len);
  return g_ptr_array_index (fixture->finished, index);
}

static void
test_linear_acks_after_run (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;
  g_autofree char *run_id = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, "{\"a\": 1}", &run_id);
  spin ();

  /* Not acknowledged while the workflow still works on it. */
  g_assert_cmpuint (test_recorder.holding, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_PENDING);
  g_assert_cmpuint (fixture->finished->len, ==, 0);

  test_recorder_release (1);
  spin ();
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpuint (fixture->finished->len, ==, 1);
  g_assert_cmpstr (finished_run (fixture, 0)->run_id, ==, run_id);
  g_assert_cmpint (finished_run (fixture, 0)->outcome, ==, SLUICE_EVENT_ACKED);
  /* every run carries a trace context */
  g_assert_nonnull (sluice_message_get_traceparent (g_ptr_array_index (test_recorder.collected, 0)));
}

static void
test_retry_backoff_timing (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;
  gint64 *times;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "   \"with\": {\"fail_times\": 3},"
                         "   \"retry\": {\"attempts\": 5, \"backoff\": \"exponential\","
                         "               \"initial\": \"1s\", \"max\": \"3s\", \"jitter\": \"none\"}},"
                         "  {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, "{}", NULL);
  spin ();
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 1);

  /* 1 s after the first failure, not before */
  sluice_clock_advance (fixture->clock, G_USEC_PER_SEC - 1);
  spin ();
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 1);
  sluice_clock_advance (fixture->clock, 1);
  spin ();
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 2);

  /* then 2 s, then 3 s (capped from 4 s) */
  sluice_clock_advance (fixture->clock, 2 * G_USEC_PER_SEC);
  spin ();
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 3);
  sluice_clock_advance (fixture->clock, 3 * G_USEC_PER_SEC - 1);
  spin ();
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 3);
  sluice_clock_advance (fixture->clock, 1);
  spin ();
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 4);

  times = (gint64 *) test_recorder.attempt_times->data;
  g_assert_cmpint (times[1] - times[0], ==, 1 * G_USEC_PER_SEC);
  g_assert_cmpint (times[2] - times[1], ==, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (times[3] - times[2], ==, 3 * G_USEC_PER_SEC);

  /* the 4th attempt succeeded: the message went on and the event is acked */
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpuint (test_recorder.last_attempt, ==, 4);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
}

static void
test_retry_exhausted (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "   \"with\": {\"fail_times\": 10},"
                         "   \"retry\": {\"attempts\": 3, \"initial\": \"1s\", \"jitter\": \"none\"}},"
                         "  {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, "{}", NULL);
  for (guint i = 0; i < 10; i++)
    {
      spin ();
      sluice_clock_advance (fixture->clock, 10 * G_USEC_PER_SEC);
    }
  spin ();

  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 3);
  g_assert_cmpuint (test_recorder.collected->len, ==, 0);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_DEAD_LETTERED);
  g_assert_cmpuint (fixture->finished->len, ==, 1);
  g_assert_cmpstr (finished_run (fixture, 0)->error, ==, "flaky failure 3");
}

static void
test_permanent_not_retried (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "   \"with\": {\"fail_times\": 1, \"permanent\": true},"
                         "   \"retry\": {\"attempts\": 5}}]}");
  event = inject (fixture, "{}", NULL);
  spin ();
  sluice_clock_advance (fixture->clock, 600 * G_USEC_PER_SEC);
  spin ();

  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_DEAD_LETTERED);
}

static void
test_failure_edge (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;
  SluiceMessage *handled;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 1}},"
                         "             {\"id\": \"ok\", \"use\": \"test.collect\", \"with\": {\"tag\": \"ok\"}},"
                         "             {\"id\": \"bad\", \"use\": \"test.collect\", \"with\": {\"tag\": \"bad\"}}],"
                         " \"edges\": [{\"from\": \"post\", \"to\": \"ok\"},"
                         "           {\"from\": \"post\", \"to\": \"bad\", \"on\": \"failure\"}]}");
  event = inject (fixture, "{\"order\": 7}", NULL);
  spin ();

  /* A failure taken by a failure edge is handled: the event is acked. */
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  handled = g_ptr_array_index (test_recorder.collected, 0);
  g_assert_cmpstr (sluice_message_get_header (handled, "collected-by"), ==, "bad");
  g_assert_cmpstr (sluice_message_get_header (handled, "sluice-error"), ==, "flaky failure 1");
  g_assert_cmpstr (sluice_message_get_header (handled, "sluice-error-node"), ==, "post");
  g_assert_cmpstr (g_bytes_get_data (sluice_message_get_bytes (handled), NULL), ==, "{\"order\": 7}");
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
}

static void
test_dead_letter_step (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"dead_letter\": \"dlq\","
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 1}},"
                         "             {\"id\": \"dlq\", \"use\": \"test.collect\", \"with\": {\"tag\": \"dlq\"}}]}");
  event = inject (fixture, "{}", NULL);
  spin ();

  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpstr (sluice_message_get_header (g_ptr_array_index (test_recorder.collected, 0),
                                              "collected-by"), ==, "dlq");
  g_assert_cmpstr (sluice_message_get_header (g_ptr_array_index (test_recorder.collected, 0),
                                              "sluice-attempts"), ==, "1");
  /* stored in the workflow's dead-letter step: the event itself is done */
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
}

static void
test_dead_letter_edge (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "              \"with\": {\"fail_times\": 1}},"
                         "             {\"id\": \"after\", \"use\": \"test.collect\"}],"
                         " \"edges\": [{\"from\": \"post\", \"to\": \"after\"},"
                         "           {\"from\": \"post\", \"to\": \"dead-letter\", \"on\": \"failure\"}]}");
  event = inject (fixture, "{}", NULL);
  spin ();

  g_assert_cmpuint (test_recorder.collected->len, ==, 0);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_DEAD_LETTERED);
  g_assert_cmpstr (finished_run (fixture, 0)->error, ==, "flaky failure 1");
}

static void
test_predicate_edges (Fixture *fixture, gconstpointer data)
{
  const char *tags[2];

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"in\", \"use\": \"test.collect\", \"with\": {\"pass\": true, \"tag\": \"in\"}},"
                         "             {\"id\": \"big\", \"use\": \"test.collect\", \"with\": {\"tag\": \"big\"}},"
                         "             {\"id\": \"small\", \"use\": \"test.collect\", \"with\": {\"tag\": \"small\"}}],"
                         " \"edges\": [{\"from\": \"in\", \"to\": \"big\", \"when\": {\"field\": \"$.total\", \"gt\": 100}},"
                         "           {\"from\": \"in\", \"to\": \"small\", \"when\": {\"field\": \"$.total\", \"le\": 100}}]}");
  g_object_unref (inject (fixture, "{\"total\": 500}", NULL));
  spin ();
  g_object_unref (inject (fixture, "{\"total\": 5}", NULL));
  spin ();

  /* in, big, in, small */
  g_assert_cmpuint (test_recorder.collected->len, ==, 4);
  tags[0] = sluice_message_get_header (g_ptr_array_index (test_recorder.collected, 1), "collected-by");
  tags[1] = sluice_message_get_header (g_ptr_array_index (test_recorder.collected, 3), "collected-by");
  g_assert_cmpstr (tags[0], ==, "big");
  g_assert_cmpstr (tags[1], ==, "small");
}

static void
test_concurrency_limit (Fixture *fixture, gconstpointer data)
{
  GPtrArray *events = g_ptr_array_new_with_free_func (g_object_unref);
  SluiceTrigger *trigger;

  add_workflow (fixture, "{\"name\": \"w\", \"concurrency\": 3, \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  trigger = SLUICE_TRIGGER (sluice_engine_get_trigger (fixture->engine, "w"));
  g_assert_cmpuint (sluice_trigger_get_credit (trigger), ==, 3);

  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (events, inject (fixture, "{}", NULL));
  spin ();

  /* Three run, seven wait; none is dropped, and the trigger is told to
   * stop sending. */
  g_assert_cmpuint (test_recorder.holding, ==, 3);
  g_assert_cmpuint (sluice_engine_get_running (fixture->engine, "w"), ==, 3);
  g_assert_cmpuint (sluice_engine_get_waiting (fixture->engine, "w"), ==, 7);
  g_assert_cmpuint (sluice_trigger_get_credit (trigger), ==, 0);

  while (test_recorder.held.length > 0)
    {
      test_recorder_release (1);
      spin ();
      g_assert_cmpuint (test_recorder.holding, <=, 3);
    }

  g_assert_cmpuint (test_recorder.max_holding, ==, 3);
  g_assert_cmpuint (test_recorder.collected->len, ==, 10);
  g_assert_cmpuint (fixture->finished->len, ==, 10);
  for (guint i = 0; i < events->len; i++)
    g_assert_cmpint (sluice_event_get_outcome (g_ptr_array_index (events, i)), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpuint (sluice_trigger_get_credit (trigger), ==, 3);
  g_ptr_array_unref (events);
}

static void
test_backpressure (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"concurrency\": 4, \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"emit\", \"use\": \"test.emit\", \"with\": {\"count\": 1000}},"
                         "             {\"id\": \"hold\", \"use\": \"test.hold\"},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, "{}", NULL);
  spin ();

  /* A slow downstream slows the producer: only the window is pulled. */
  g_assert_cmpuint (test_recorder.emitted, ==, 4);
  g_assert_cmpuint (test_recorder.holding, ==, 4);

  test_recorder_release (2);
  spin ();
  g_assert_cmpuint (test_recorder.emitted, ==, 6);
  g_assert_cmpuint (test_recorder.collected->len, ==, 2);

  while (test_recorder.held.length > 0)
    {
      test_recorder_release (test_recorder.held.length);
      spin ();
      g_assert_cmpuint (test_recorder.holding, <=, 4);
    }
  g_assert_cmpuint (test_recorder.emitted, ==, 1000);
  g_assert_cmpuint (test_recorder.collected->len, ==, 1000);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
}

static void
test_split_through_engine (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;
  g_autoptr(GString) csv = g_string_new ("id,total\n");

  for (guint i = 1; i <= 2000; i++)
    g_string_append_printf (csv, "%u,%u\n", i, i * 3);

  add_workflow (fixture, "{\"name\": \"w\", \"concurrency\": 8, \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"csv\"}},"
                         "             {\"id\": \"even\", \"use\": \"filter\", \"with\": {\"when\": {\"field\": \"$.id\", \"matches\": \"[02468]$\"}}},"
                         "             {\"id\": \"shape\", \"use\": \"map\", \"with\": {\"fields\": {\"order\": \"$.id\", \"amount\": \"$.total\"}}},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, csv->str, NULL);
  while (fixture->finished->len == 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpuint (test_recorder.collected->len, ==, 1000);
  {
    g_autoptr(GError) error = NULL;
    JsonNode *json = sluice_message_get_json (g_ptr_array_index (test_recorder.collected, 0), &error);

    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json), "order"), ==, "2");
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json), "amount"), ==, "6");
  }
}

static void
test_malformed_input_dead_letters (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"csv\"}},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, "a,b\n1,2\n3,\"unterminated\n", NULL);
  while (fixture->finished->len == 0)
    g_main_context_iteration (NULL, TRUE);

  /* the good record went on; the bad input dead-letters the event with a
   * message naming the place */
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_DEAD_LETTERED);
  g_assert_nonnull (strstr (finished_run (fixture, 0)->error, "csv"));
}

static void
test_shutdown_hands_back_waiting (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) running = NULL;
  g_autoptr(SluiceEvent) waiting = NULL;
  gboolean done = FALSE;

  add_workflow (fixture, "{\"name\": \"w\", \"concurrency\": 1, \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"}]}");
  running = inject (fixture, "{}", NULL);
  waiting = inject (fixture, "{}", NULL);
  spin ();

  sluice_engine_shutdown_async (fixture->engine, 60 * G_USEC_PER_SEC, NULL, on_shutdown, &done);
  spin ();
  /* the waiting event goes back to its source; the running one finishes */
  g_assert_cmpint (sluice_event_get_outcome (waiting), ==, SLUICE_EVENT_RETRY);
  g_assert_false (done);
  test_recorder_release (1);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (sluice_event_get_outcome (running), ==, SLUICE_EVENT_ACKED);

  /* teardown shuts down again: make that a no-op by starting afresh */
  g_clear_object (&fixture->engine);
  fixture->engine = sluice_engine_new (fixture->context);
}

static void
test_shutdown_cuts_backoff_short (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) event = NULL;
  gboolean done = FALSE;

  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"post\", \"use\": \"test.flaky\","
                         "   \"with\": {\"fail_times\": 10},"
                         "   \"retry\": {\"attempts\": 5, \"initial\": \"1h\", \"max\": \"1h\"}}]}");
  event = inject (fixture, "{}", NULL);
  spin ();
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 1);

  /* The run waits an hour for its retry; after the grace period the
   * shutdown cancels it, and the event goes back to its source rather than
   * to the dead letters: it did not fail. */
  sluice_engine_shutdown_async (fixture->engine, 20 * 1000, NULL, on_shutdown, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 1);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_RETRY);

  g_clear_object (&fixture->engine);
  fixture->engine = sluice_engine_new (fixture->context);
}

static void
test_pause_keeps_waiting (Fixture *fixture, gconstpointer data)
{
  GPtrArray *events = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  SluiceTrigger *trigger;

  add_workflow (fixture, "{\"name\": \"w\", \"concurrency\": 2, \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  trigger = SLUICE_TRIGGER (sluice_engine_get_trigger (fixture->engine, "w"));
  g_ptr_array_add (events, inject (fixture, "{}", NULL));
  spin ();
  g_assert_cmpuint (test_recorder.holding, ==, 1);

  /* Paused: the trigger gets no credit, and what comes in anyway waits. */
  g_assert_true (sluice_engine_set_paused (fixture->engine, "w", TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (sluice_engine_is_paused (fixture->engine, "w"));
  g_assert_cmpuint (sluice_trigger_get_credit (trigger), ==, 0);
  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (events, inject (fixture, "{}", NULL));
  spin ();
  g_assert_cmpuint (sluice_engine_get_waiting (fixture->engine, "w"), ==, 3);

  /* The run in progress finishes; nothing new starts. */
  test_recorder_release (1);
  spin ();
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpuint (test_recorder.holding, ==, 0);
  g_assert_cmpuint (sluice_engine_get_running (fixture->engine, "w"), ==, 0);
  g_assert_cmpuint (sluice_trigger_get_credit (trigger), ==, 0);

  /* Resumed: the waiting events run, none lost. */
  g_assert_true (sluice_engine_set_paused (fixture->engine, "w", FALSE, &error));
  spin ();
  g_assert_cmpuint (test_recorder.holding, ==, 2);
  test_recorder_release (G_MAXUINT);
  spin ();
  test_recorder_release (G_MAXUINT);
  spin ();
  g_assert_cmpuint (test_recorder.collected->len, ==, 4);
  for (guint i = 0; i < events->len; i++)
    g_assert_cmpint (sluice_event_get_outcome (g_ptr_array_index (events, i)), ==,
                     SLUICE_EVENT_ACKED);
  g_assert_cmpuint (sluice_trigger_get_credit (trigger), ==, 2);

  g_assert_false (sluice_engine_set_paused (fixture->engine, "nope", TRUE, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_ptr_array_unref (events);
}

static void
test_remove_lets_runs_finish (Fixture *fixture, gconstpointer data)
{
  g_autoptr(SluiceEvent) running = NULL;
  g_autoptr(SluiceEvent) waiting = NULL;
  g_autoptr(GError) error = NULL;

  add_workflow (fixture, "{\"name\": \"w\", \"concurrency\": 1, \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"hold\", \"use\": \"test.hold\"},"
                         "             {\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  running = inject (fixture, "{}", NULL);
  waiting = inject (fixture, "{}", NULL);
  spin ();
  g_assert_cmpuint (test_recorder.holding, ==, 1);

  g_assert_true (sluice_engine_remove_workflow (fixture->engine, "w", &error));
  g_assert_no_error (error);
  spin ();
  /* Gone at once (its name is free for a new version); what waited went
   * back to its source; the run in progress goes on. */
  g_assert_false (sluice_engine_has_workflow (fixture->engine, "w"));
  g_assert_cmpint (sluice_event_get_outcome (waiting), ==, SLUICE_EVENT_RETRY);
  g_assert_cmpint (sluice_event_get_outcome (running), ==, SLUICE_EVENT_PENDING);
  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}");

  test_recorder_release (1);
  spin ();
  g_assert_cmpint (sluice_event_get_outcome (running), ==, SLUICE_EVENT_ACKED);
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);

  g_assert_false (sluice_engine_remove_workflow (fixture->engine, "nope", &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
}

static void
on_run_started (SluiceEngine *engine, const char *workflow, const char *run_id,
                SluiceMessage *message, gpointer user_data)
{
  GPtrArray *started = user_data;

  g_assert_cmpstr (workflow, ==, "w");
  /* The trace context is set before anyone hears of the run. */
  g_assert_nonnull (sluice_message_get_traceparent (message));
  g_ptr_array_add (started, g_strdup (run_id));
}

static void
test_run_started_signal (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GPtrArray) started = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(SluiceEvent) event = NULL;
  g_autofree char *run_id = NULL;

  g_signal_connect (fixture->engine, "run-started", G_CALLBACK (on_run_started), started);
  add_workflow (fixture, "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"},"
                         " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}");
  event = inject (fixture, "{}", &run_id);
  spin ();
  g_assert_cmpuint (started->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (started, 0), ==, run_id);
  g_assert_cmpuint (fixture->finished->len, ==, 1);
  g_signal_handlers_disconnect_by_func (fixture->engine, on_run_started, started);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The engine runs events through workflow graphs: retries, routing, "
                  "concurrency, backpressure, settlement");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/engine/ack-only-after-run", test_linear_acks_after_run);
  ADD ("/engine/retry/backoff-timing", test_retry_backoff_timing);
  ADD ("/engine/retry/exhausted-dead-letters", test_retry_exhausted);
  ADD ("/engine/retry/permanent-error-not-retried", test_permanent_not_retried);
  ADD ("/engine/route/failure-edge", test_failure_edge);
  ADD ("/engine/route/dead-letter-step", test_dead_letter_step);
  ADD ("/engine/route/dead-letter-edge", test_dead_letter_edge);
  ADD ("/engine/route/predicates", test_predicate_edges);
  ADD ("/engine/concurrency/limit-nothing-dropped", test_concurrency_limit);
  ADD ("/engine/backpressure/window", test_backpressure);
  ADD ("/engine/nodes/split-filter-map", test_split_through_engine);
  ADD ("/engine/nodes/malformed-input-dead-letters", test_malformed_input_dead_letters);
  ADD ("/engine/shutdown/hands-back-waiting", test_shutdown_hands_back_waiting);
  ADD ("/engine/shutdown/cuts-backoff-short", test_shutdown_cuts_backoff_short);
  ADD ("/engine/pause/keeps-waiting-events", test_pause_keeps_waiting);
  ADD ("/engine/remove/runs-in-flight-finish", test_remove_lets_runs_finish);
  ADD ("/engine/run-started/signal", test_run_started_signal);
#undef ADD

  return g_test_run ();
}
