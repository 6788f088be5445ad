/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The batch lifecycle through the engine, the batch node and the manager,
 * on a real Redis through the redis plugin. */
#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "sluice-batch-manager.h"
#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "test-components.h"

static RedisTestServer *server;
static guint fixture_count;

typedef struct {
  SluiceEngine       *engine;
  SluiceBatchManager *manager;
  GObject            *batch_store;
  GObject            *state_store;
} Host;

typedef struct {
  SluicePluginHost *host;
  SluiceClock      *clock;
  char             *prefix;
  Host              hosts[2];
  GPtrArray        *finished;  /* SluiceBatchInfo, as signalled */
  GPtrArray        *runs;      /* "run-id outcome" strings */
} Fixture;

static void
on_finished (SluiceBatchManager *manager, const char *id, SluiceBatchInfo *info, gpointer user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->finished, sluice_batch_info_copy (info));
}

static void
on_run_finished (SluiceEngine *engine, const char *workflow, const char *run_id, guint outcome,
                 const char *error, SluiceMessage *message, gpointer user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->runs, g_strdup_printf ("%s %u", workflow, outcome));
}

static GObject *
create_store (Fixture *fixture, const char *component)
{
  g_autoptr(SluiceContext) context = sluice_context_new ("test/redis", fixture->clock, NULL);
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(GError) error = NULL;
  GObject *store;

  json_object_set_string_member (config, "url", redis_test_server_get_url (server));
  json_object_set_string_member (config, "prefix", fixture->prefix);
  store = sluice_component_factory_create (sluice_plugin_host_lookup (fixture->host, component),
                                           context, config, &error);
  g_assert_no_error (error);
  return store;
}

static void
host_setup (Fixture *fixture, Host *host, const char *worker)
{
  g_autoptr(SluiceContext) context = NULL;

  host->batch_store = create_store (fixture, "redis.batch-store");
  host->state_store = create_store (fixture, "redis.state-store");
  context = sluice_context_new ("test", fixture->clock, SLUICE_STATE_STORE (host->state_store));
  host->engine = sluice_engine_new (context);
  host->manager = sluice_batch_manager_new (SLUICE_BATCH_STORE (host->batch_store), host->engine,
                                            SLUICE_STATE_STORE (host->state_store), fixture->clock,
                                            worker);
  g_signal_connect (host->manager, "finished", G_CALLBACK (on_finished), fixture);
  g_signal_connect (host->engine, "run-finished", G_CALLBACK (on_run_finished), fixture);
}

static void
on_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
host_teardown (Host *host)
{
  gboolean stopped = FALSE, shut = FALSE;

  if (host->manager == NULL)
    return;
  /* As sluiced does: the manager first (its records finish in the engine,
   * a finished batch's report still gets delivered), then the engine. */
  sluice_batch_manager_stop_async (host->manager, NULL, on_done, &stopped);
  while (!stopped)
    g_main_context_iteration (NULL, TRUE);
  sluice_engine_shutdown_async (host->engine, G_USEC_PER_SEC, NULL, on_done, &shut);
  while (!shut)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&host->manager);
  g_clear_object (&host->engine);
  g_clear_object (&host->batch_store);
  g_clear_object (&host->state_store);
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) path = sluice_plugin_host_build_search_path (NULL, NULL);

  fixture->host = sluice_plugin_host_new ();
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_true (test_components_register (fixture->host, &error));
  g_assert_no_error (error);
  sluice_plugin_host_load_directories (fixture->host, (const char * const *) path);
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "redis.batch-store"));

  fixture->clock = sluice_clock_new_system ();
  fixture->prefix = g_strdup_printf ("t%u:", ++fixture_count);
  fixture->finished = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_batch_info_free);
  fixture->runs = g_ptr_array_new_with_free_func (g_free);
  test_recorder_reset (fixture->clock);
  host_setup (fixture, &fixture->hosts[0], "host-a");
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  host_teardown (&fixture->hosts[0]);
  host_teardown (&fixture->hosts[1]);
  g_clear_pointer (&fixture->finished, g_ptr_array_unref);
  g_clear_pointer (&fixture->runs, g_ptr_array_unref);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->host);
  g_free (fixture->prefix);
  test_recorder_reset (NULL);
}

static void
add_workflow (Fixture *fixture, Host *host, const char *json)
{
  test_engine_add_workflow (fixture->host, host->engine, json);
}

static void
inject_lines (Host *host, guint count, guint malformed_at)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluiceEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *run_id = NULL;

  for (guint n = 1; n <= count; n++)
    {
      if (n == malformed_at)
        g_string_append (text, "{\"n\": \n");
      else
        g_string_append_printf (text, "{\"n\": %u}\n", n);
    }
  message = sluice_message_new_take_string (g_string_free (g_steal_pointer (&text), FALSE),
                                            "application/jsonl");
  event = sluice_event_new (message);
  run_id = sluice_engine_inject (host->engine, "w", event, &error);
  g_assert_no_error (error);
}

static guint
collected_with_tag (const char *tag)
{
  guint count = 0;

  for (guint i = 0; i < test_recorder.collected->len; i++)
    count += g_strcmp0 (sluice_message_get_header (g_ptr_array_index (test_recorder.collected, i),
                                                   "collected-by"), tag) == 0;
  return count;
}

static gboolean
on_timeout (gpointer user_data)
{
  g_error ("timed out waiting for %s (collected: %u done, %u reports; %u finished)",
           (const char *) user_data, collected_with_tag ("done"), collected_with_tag ("report"),
           test_recorder.collected->len);
  return G_SOURCE_REMOVE;
}

#define WAIT_FOR(condition)                                                       \
  G_STMT_START {                                                                  \
    guint timer_ = g_timeout_add_seconds (60, on_timeout, (gpointer) #condition); \
    while (!(condition))                                                          \
      g_main_context_iteration (NULL, TRUE);                                      \
    g_source_remove (timer_);                                                     \
  } G_STMT_END

static SluiceBatchInfo *
last_finished (Fixture *fixture)
{
  g_assert_cmpuint (fixture->finished->len, >, 0);
  return g_ptr_array_index (fixture->finished, fixture->finished->len - 1);
}

static const char workflow_json[] =
  "{\"name\": \"w\", \"concurrency\": 16, \"trigger\": {\"use\": \"core.manual\"},"
  " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
  "             {\"id\": \"load\", \"use\": \"batch\", \"with\": {\"chunk\": 50, \"buffer\": 100,"
  "                \"lease\": \"30s\", \"max_failed\": %u, \"on_complete\": \"report\"}},"
  "             {\"id\": \"work\", \"use\": \"test.flaky\", \"with\": {\"fail_times\": 1, \"divisible_by\": %u}},"
  "             {\"id\": \"done\", \"use\": \"test.collect\", \"with\": {\"tag\": \"done\"}}]}";

static const char report_json[] =
  "{\"name\": \"report\", \"trigger\": {\"use\": \"core.manual\"},"
  " \"steps\": [{\"id\": \"keep\", \"use\": \"test.collect\", \"with\": {\"tag\": \"report\"}}]}";

static void
add_workflows (Fixture *fixture, Host *host, guint max_failed, guint divisible_by)
{
  g_autofree char *json = g_strdup_printf (workflow_json, max_failed, divisible_by);

  add_workflow (fixture, host, json);
  add_workflow (fixture, host, report_json);
}

static void
test_counts_report_retry (Fixture *fixture, gconstpointer data)
{
  Host *host = &fixture->hosts[0];
  SluiceBatchInfo *info;
  SluiceMessage *report = NULL;
  JsonObject *body, *counts;
  JsonArray *errors;
  gboolean retried = FALSE;

  add_workflows (fixture, host, 0, 10);
  inject_lines (host, 1000, 0);
  WAIT_FOR (fixture->finished->len == 1 && collected_with_tag ("report") == 1);

  /* Every record counted once: multiples of 10 failed, the rest succeeded. */
  info = last_finished (fixture);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_COMPLETED);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_SUCCEEDED], ==, 900);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_FAILED], ==, 100);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_PENDING], ==, 0);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_PROCESSING], ==, 0);
  g_assert_cmpuint (collected_with_tag ("done"), ==, 900);
  g_assert_cmpstr (info->workflow, ==, "w/load");

  /* The report reached its workflow, with the counts and the first errors. */
  for (guint i = 0; i < test_recorder.collected->len; i++)
    if (g_strcmp0 (sluice_message_get_header (g_ptr_array_index (test_recorder.collected, i),
                                              "collected-by"), "report") == 0)
      report = g_ptr_array_index (test_recorder.collected, i);
  g_assert_nonnull (report);
  body = json_node_get_object (sluice_message_get_json (report, NULL));
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "completed");
  g_assert_cmpstr (json_object_get_string_member (body, "batch"), ==, info->id);
  counts = json_object_get_object_member (body, "counts");
  g_assert_cmpint (json_object_get_int_member (counts, "succeeded"), ==, 900);
  g_assert_cmpint (json_object_get_int_member (counts, "failed"), ==, 100);
  errors = json_object_get_array_member (body, "first_errors");
  g_assert_cmpuint (json_array_get_length (errors), ==, 10);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (errors, 0), "error"),
                   ==, "flaky failure 1");

  /* Retry: only the 100 failed records run again (and now succeed). */
  sluice_batch_manager_retry_failed_async (host->manager, info->id, NULL, on_done, &retried);
  WAIT_FOR (retried);
  WAIT_FOR (fixture->finished->len == 2 && collected_with_tag ("report") == 2);
  info = last_finished (fixture);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_COMPLETED);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_SUCCEEDED], ==, 1000);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_FAILED], ==, 0);
  g_assert_cmpuint (collected_with_tag ("done"), ==, 1000);
}

static void
test_max_failed (Fixture *fixture, gconstpointer data)
{
  Host *host = &fixture->hosts[0];
  SluiceBatchInfo *info;

  /* Every other record fails; past 5 failures the batch stops as failed. */
  add_workflows (fixture, host, 5, 2);
  inject_lines (host, 1000, 0);
  WAIT_FOR (fixture->finished->len == 1);

  info = last_finished (fixture);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_FAILED);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_FAILED], >, 5);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_SUCCEEDED] + info->counts[SLUICE_RECORD_FAILED], <, 1000);
}

static void
on_listed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GPtrArray **) user_data = sluice_batch_store_list_finish (SLUICE_BATCH_STORE (object), result,
                                                              NULL);
}

static void
test_failed_ingest_deletes_batch (Fixture *fixture, gconstpointer data)
{
  Host *host = &fixture->hosts[0];
  g_autoptr(GPtrArray) batches = NULL;

  /* A malformed line after 400 good ones: the ingest run fails, and the
   * half-filled batch must not be processed (a replay would add it again). */
  add_workflows (fixture, host, 0, 1000000); /* no record fails */
  inject_lines (host, 1000, 401);
  WAIT_FOR (fixture->runs->len == 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->runs, 0), ==, "w 3"); /* dead-lettered */

  sluice_batch_store_list_async (SLUICE_BATCH_STORE (host->batch_store), NULL, on_listed, &batches);
  WAIT_FOR (batches != NULL);
  g_assert_cmpuint (batches->len, ==, 0);
  g_assert_cmpuint (collected_with_tag ("done"), ==, 0);
}

static void
test_two_hosts (Fixture *fixture, gconstpointer data)
{
  Host *a = &fixture->hosts[0];
  Host *b = &fixture->hosts[1];
  guint64 succeeded = 0;

  host_setup (fixture, b, "host-b");
  add_workflows (fixture, a, 0, 1000000);
  add_workflows (fixture, b, 0, 1000000);
  sluice_batch_manager_watch (b->manager, 20 * 1000);

  inject_lines (a, 3000, 0);
  /* The hosts that worked on it each say so; the last to see it finish
   * has the final counts. */
  WAIT_FOR (collected_with_tag ("done") == 3000 && collected_with_tag ("report") == 1 &&
            fixture->finished->len >= 1);
  for (guint i = 0; i < fixture->finished->len; i++)
    succeeded = MAX (succeeded, ((SluiceBatchInfo *) g_ptr_array_index (fixture->finished, i))
                                  ->counts[SLUICE_RECORD_SUCCEEDED]);
  g_assert_cmpuint (succeeded, ==, 3000);
  /* Each record ran once: no lease ran out, so nothing repeated. */
  g_assert_cmpuint (collected_with_tag ("done"), ==, 3000);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Batches through the engine and the manager, on a real Redis");

  server = redis_test_server_start (NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/batch/counts-report-retry", test_counts_report_retry);
  ADD ("/batch/max-failed", test_max_failed);
  ADD ("/batch/failed-ingest-deletes-batch", test_failed_ingest_deletes_batch);
  ADD ("/batch/two-hosts", test_two_hosts);
#undef ADD

  status = g_test_run ();
  redis_test_server_free (server);
  return status;
}
