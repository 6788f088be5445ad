/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hybrid 2: events accumulate in a batch through the day (the intake
 * workflow's batch node, close "manual"); a scheduled workflow's
 * batch-process step works through what is there, against a rate-limited
 * step, and on its next run retries only the records that failed. The
 * intake's trigger is core.manual here (the example uses webhook.receive)
 * and the schedule's is core.manual (the example fires hourly): the batch
 * path between them is the real one, on a private redis-server. */
#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "sluice-batch-manager.h"
#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "sluice-workflow.h"
#include "test-components.h"

static RedisTestServer *server;

typedef struct {
  SluicePluginHost   *host;
  SluiceClock        *clock;
  GObject            *batch_store;
  GObject            *state_store;
  SluiceEngine       *engine;
  SluiceBatchManager *manager;
  guint               acked;
} Fixture;

static void
on_run_finished (SluiceEngine *engine, const char *workflow, const char *run_id, guint outcome,
                 const char *error, SluiceMessage *message, gpointer user_data)
{
  Fixture *fixture = user_data;

  if (g_str_equal (workflow, "hourly") && outcome == SLUICE_EVENT_ACKED)
    fixture->acked++;
}

static GObject *
create_store (Fixture *fixture, const char *component)
{
  g_autoptr(SluiceContext) context = sluice_context_new ("test/redis", fixture->clock, NULL);
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(GError) error = NULL;
  GObject *store;

  json_object_set_string_member (config, "url", redis_test_server_get_url (server));
  json_object_set_string_member (config, "prefix", "acc:");
  store = sluice_component_factory_create (sluice_plugin_host_lookup (fixture->host, component),
                                           context, config, &error);
  g_assert_no_error (error);
  return store;
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

static SluiceBatchInfo *
batch_info (Fixture *fixture, const char *id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  SluiceBatchInfo *info;

  sluice_batch_store_get_info_async (SLUICE_BATCH_STORE (fixture->batch_store), id, NULL, on_done,
                                     &result);
  info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (fixture->batch_store),
                                             wait_for (&result), &error);
  g_assert_no_error (error);
  return info;
}

/* Runs the main loop until the batch has @succeeded and @failed records
 * and nothing pending or processing. */
static void
wait_for_counts (Fixture *fixture, const char *id, guint64 succeeded, guint64 failed)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (TRUE)
    {
      g_autoptr(SluiceBatchInfo) info = batch_info (fixture, id);

      if (info->counts[SLUICE_RECORD_SUCCEEDED] == succeeded &&
          info->counts[SLUICE_RECORD_FAILED] == failed &&
          info->counts[SLUICE_RECORD_PENDING] == 0 && info->counts[SLUICE_RECORD_PROCESSING] == 0)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("batch %s: %" G_GUINT64_FORMAT " succeeded, %" G_GUINT64_FORMAT " failed, %"
                 G_GUINT64_FORMAT " pending, %" G_GUINT64_FORMAT " processing; expected %"
                 G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, id, info->counts[SLUICE_RECORD_SUCCEEDED],
                 info->counts[SLUICE_RECORD_FAILED], info->counts[SLUICE_RECORD_PENDING],
                 info->counts[SLUICE_RECORD_PROCESSING], succeeded, failed);
      for (guint i = 0; i < 50; i++)
        g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

static void
add_workflow (Fixture *fixture, const char *json)
{
  test_engine_add_workflow (fixture->host, fixture->engine, json);
}

static void
inject (Fixture *fixture, const char *workflow, const char *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceMessage) message = sluice_message_new_take_string (g_strdup (body),
                                                                     "application/json");
  g_autoptr(SluiceEvent) event = sluice_event_new (message);
  g_autofree char *run_id = sluice_engine_inject (fixture->engine, workflow, event, &error);

  g_assert_no_error (error);
}

/* The intake: each event becomes a record of today's batch; records are
 * processed by the nodes after the batch node, "post" limited to 200 calls
 * a second. Orders marked flaky fail their first attempt. */
static const char intake_workflow[] =
  "{\"name\": \"intake\", \"trigger\": {\"use\": \"core.manual\"}, \"concurrency\": 32,"
  " \"steps\": ["
  "  {\"id\": \"load\", \"use\": \"batch\","
  "   \"with\": {\"id\": \"orders-{date}\", \"close\": \"manual\", \"chunk\": 7, \"buffer\": 1}},"
  "  {\"id\": \"post\", \"use\": \"test.collect\", \"with\": {\"pass\": true},"
  "   \"rate_limit\": {\"per_second\": 200, \"burst\": 5}},"
  "  {\"id\": \"flaky\", \"use\": \"test.flaky\", \"with\": {\"fail_times\": 1}}],"
  " \"edges\": ["
  "  {\"from\": \"load\", \"to\": \"post\"},"
  "  {\"from\": \"post\", \"to\": \"flaky\", \"when\": {\"field\": \"$.flaky\", \"exists\": true}}]}";

static const char hourly_workflow[] =
  "{\"name\": \"hourly\", \"trigger\": {\"use\": \"core.manual\"},"
  " \"steps\": [{\"id\": \"work\", \"use\": \"batch-process\","
  "              \"with\": {\"batch\": \"orders-{date}\"}}]}";

static void
test_accumulate_then_process_hourly (void)
{
  Fixture f = { 0 };
  Fixture *fixture = &f;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) path = sluice_plugin_host_build_search_path (NULL, NULL);
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format (now, "%Y%m%d");
  g_autofree char *batch_id = g_strdup_printf ("orders-%s", date);
  g_autoptr(SluiceBatchInfo) info = NULL;
  gint64 started;

  fixture->host = sluice_plugin_host_new ();
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_true (test_components_register (fixture->host, &error));
  sluice_plugin_host_load_directories (fixture->host, (const char * const *) path);
  fixture->clock = sluice_clock_new_system ();
  test_recorder_reset (fixture->clock);
  fixture->batch_store = create_store (fixture, "redis.batch-store");
  fixture->state_store = create_store (fixture, "redis.state-store");
  context = sluice_context_new ("test", fixture->clock, SLUICE_STATE_STORE (fixture->state_store));
  fixture->engine = sluice_engine_new (context);
  fixture->manager = sluice_batch_manager_new (SLUICE_BATCH_STORE (fixture->batch_store),
                                               fixture->engine,
                                               SLUICE_STATE_STORE (fixture->state_store),
                                               fixture->clock, "host-a");
  g_signal_connect (fixture->engine, "run-finished", G_CALLBACK (on_run_finished), fixture);
  add_workflow (fixture, intake_workflow);
  add_workflow (fixture, hourly_workflow);

  /* Morning: 20 orders arrive, 3 of them will fail once. Nothing is
   * processed yet: the batch only collects. */
  for (guint i = 1; i <= 20; i++)
    {
      g_autofree char *body = i % 6 == 0 ? g_strdup_printf ("{\"order\": %u, \"flaky\": 1}", i)
                                         : g_strdup_printf ("{\"order\": %u}", i);

      inject (fixture, "intake", body);
    }
  while (TRUE)
    {
      g_clear_pointer (&info, sluice_batch_info_free);
      g_main_context_iteration (NULL, TRUE);
      sluice_batch_store_get_info_async (SLUICE_BATCH_STORE (fixture->batch_store), batch_id, NULL,
                                         on_done, &result);
      info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (fixture->batch_store),
                                                 wait_for (&result), NULL);
      g_clear_object (&result);
      if (info != NULL && info->counts[SLUICE_RECORD_PENDING] == 20)
        break;
    }
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_OPEN);
  g_assert_cmpuint (test_recorder.collected->len, ==, 0);

  /* The first hourly run: all 20 go through "post" (rate-limited), 3 fail
   * in "flaky"; the batch stays open. */
  started = g_get_monotonic_time ();
  inject (fixture, "hourly", "{}");
  wait_for_counts (fixture, batch_id, 17, 3);
  g_assert_cmpuint (test_recorder.collected->len, ==, 20);
  /* 20 calls at 200/s with a burst of 5: at least (20 - 5) / 200 s */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 15 * G_USEC_PER_SEC / 200);
  g_clear_pointer (&info, sluice_batch_info_free);
  info = batch_info (fixture, batch_id);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_OPEN);

  /* The afternoon brings 10 more; the next hourly run retries only the 3
   * failed ones and processes the 10 new ones. */
  for (guint i = 21; i <= 30; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"order\": %u}", i);

      inject (fixture, "intake", body);
    }
  for (guint i = 0; i < 200; i++)
    g_main_context_iteration (NULL, FALSE);
  inject (fixture, "hourly", "{}");
  wait_for_counts (fixture, batch_id, 30, 0);
  /* 20 + 3 retried + 10 new: the 17 that succeeded did not run again */
  g_assert_cmpuint (test_recorder.collected->len, ==, 33);
  g_assert_cmpuint (fixture->acked, ==, 2);

  sluice_batch_manager_stop_async (fixture->manager, NULL, on_done, &result);
  sluice_batch_manager_stop_finish (fixture->manager, wait_for (&result), NULL);
  g_clear_object (&result);
  sluice_engine_shutdown_async (fixture->engine, G_USEC_PER_SEC, NULL, on_done, &result);
  sluice_engine_shutdown_finish (fixture->engine, wait_for (&result), NULL);
  g_clear_object (&fixture->manager);
  g_clear_object (&fixture->engine);
  g_clear_object (&fixture->batch_store);
  g_clear_object (&fixture->state_store);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->host);
  test_recorder_reset (NULL);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  server = redis_test_server_start (NULL);
  g_test_add_func ("/hybrid/accumulate/process-hourly-retry-failed",
                   test_accumulate_then_process_hourly);
  status = g_test_run ();
  redis_test_server_free (server);
  return status;
}
