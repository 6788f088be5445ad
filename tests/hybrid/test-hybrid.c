/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The batch → queue hybrids end to end, on a private Redis, through the
 * engine, the batch manager and the redis plugin's stream step and
 * trigger. The shipped example workflows run as they are, with their
 * folders moved into a temporary directory, their "queue" connection
 * pointed at the test's Redis, and a manual trigger injecting the event
 * that schedule.interval would fire. */
#include <errno.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "sluice-batch-manager.h"
#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "test-components.h"

#define WORKER "host-a"
#define EXAMPLES_PATH "/var/lib/sluice/examples"

static RedisTestServer *server;

typedef struct {
  SluicePluginHost   *host;
  SluiceClock        *clock;
  char               *dir;          /* stands for /var/lib/sluice/examples */
  GObject            *batch_store;
  GObject            *state_store;
  SluiceEngine       *engine;
  SluiceBatchManager *manager;
  SluiceEngine       *engine_b;     /* a second host on the same Redis, or NULL */
  SluiceBatchManager *manager_b;
  GPtrArray          *finished;     /* SluiceBatchInfo, as signalled */
  GPtrArray          *runs;         /* "workflow outcome error", as signalled */
} Fixture;

/* ---- Waiting ---- */

static gboolean
on_timeout (gpointer user_data)
{
  g_error ("timed out waiting for %s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

#define WAIT_FOR(condition)                                                       \
  G_STMT_START {                                                                  \
    guint timer_ = g_timeout_add_seconds (60, on_timeout, (gpointer) #condition); \
    while (!(condition))                                                          \
      g_main_context_iteration (NULL, TRUE);                                      \
    g_source_remove (timer_);                                                     \
  } G_STMT_END

static void spin (guint ms);

/* For a condition that only a look at Redis tells: looks every 20 ms. */
#define WAIT_POLL(condition)                                                      \
  G_STMT_START {                                                                  \
    gint64 deadline_ = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;             \
    while (!(condition))                                                          \
      {                                                                           \
        if (g_get_monotonic_time () > deadline_)                                  \
          g_error ("timed out waiting for %s", #condition);                       \
        spin (20);                                                                \
      }                                                                           \
  } G_STMT_END

static gboolean
on_spin_over (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for @ms of real time. */
static void
spin (guint ms)
{
  gboolean over = FALSE;

  g_timeout_add (ms, on_spin_over, &over);
  while (!over)
    g_main_context_iteration (NULL, TRUE);
}

static void
on_result (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
on_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* ---- The store, synchronously ---- */

static SluiceBatchStore *
store_of (Fixture *fixture)
{
  return SLUICE_BATCH_STORE (fixture->batch_store);
}

static SluiceBatchInfo *
get_info (Fixture *fixture, const char *id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  SluiceBatchInfo *info;

  sluice_batch_store_get_info_async (store_of (fixture), id, NULL, on_result, &result);
  WAIT_FOR (result != NULL);
  info = sluice_batch_store_get_info_finish (store_of (fixture), result, &error);
  g_assert_no_error (error);
  return info;
}

/* The id of the one batch in the store, or NULL while there is none. */
static char *
only_batch (Fixture *fixture)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batches = NULL;

  sluice_batch_store_list_async (store_of (fixture), NULL, on_result, &result);
  WAIT_FOR (result != NULL);
  batches = sluice_batch_store_list_finish (store_of (fixture), result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batches->len, <=, 1);
  return batches->len == 1 ? g_strdup (((SluiceBatchInfo *) g_ptr_array_index (batches, 0))->id)
                           : NULL;
}

static GPtrArray *
list_failed (Fixture *fixture, const char *id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *failed;

  sluice_batch_store_list_failed_async (store_of (fixture), id, 0, 1000, NULL, on_result, &result);
  WAIT_FOR (result != NULL);
  failed = sluice_batch_store_list_failed_finish (store_of (fixture), result, &error);
  g_assert_no_error (error);
  return failed;
}

static void
assert_counts (const SluiceBatchInfo *info, guint64 pending, guint64 processing,
               guint64 succeeded, guint64 failed)
{
  g_assert_cmpuint (info->counts[SLUICE_RECORD_PENDING], ==, pending);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_PROCESSING], ==, processing);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_SUCCEEDED], ==, succeeded);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_FAILED], ==, failed);
}

/* How many entries a stream of the examples holds (their prefix is the
 * default one). */
static long long
stream_length (const char *stream)
{
  g_autoptr(redisReply) reply = redis_test_server_command (server, "XLEN sluice:%s", stream);

  g_assert_cmpint (reply->type, ==, REDIS_REPLY_INTEGER);
  return reply->integer;
}

/* ---- Files ---- */

static char **
read_lines (const char *path)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      return g_new0 (char *, 1);
    }
  g_strchomp (contents);
  return *contents == '\0' ? g_new0 (char *, 1) : g_strsplit (contents, "\n", -1);
}

static guint
count_lines (const char *path)
{
  g_auto(GStrv) lines = read_lines (path);

  return g_strv_length (lines);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_assert_cmpint (g_unlink (child), ==, 0);
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

/* An order export: id,customer,amount. Rows whose number @negative says
 * get a negative amount. */
static char *
orders_csv (guint first, guint last, gboolean header, gboolean (*negative) (guint n))
{
  GString *text = g_string_new (header ? "id,customer,amount\n" : NULL);

  for (guint n = first; n <= last; n++)
    g_string_append_printf (text, "%u,customer-%u,%s%u.%02u\n", n, n % 17,
                            negative != NULL && negative (n) ? "-" : "", n % 500, n % 100);
  return g_string_free (text, FALSE);
}

static void
write_file (const char *dir, const char *name, const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* ---- Fixture ---- */

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

  g_ptr_array_add (fixture->runs, g_strdup_printf ("%s %u %s", workflow, outcome,
                                                   error != NULL ? error : ""));
}

static GObject *
create_store (Fixture *fixture, const char *component)
{
  g_autoptr(SluiceContext) context = sluice_context_new ("test/redis", fixture->clock, NULL);
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(GError) error = NULL;
  GObject *store;

  json_object_set_string_member (config, "url", redis_test_server_get_url (server));
  json_object_set_string_member (config, "prefix", "test:");
  store = sluice_component_factory_create (sluice_plugin_host_lookup (fixture->host, component),
                                           context, config, &error);
  g_assert_no_error (error);
  return store;
}

static SluiceEngine *
engine_new (Fixture *fixture)
{
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(JsonObject) connections = json_object_new ();
  g_autoptr(JsonObject) queue = json_object_new ();

  json_object_set_string_member (queue, "url", redis_test_server_get_url (server));
  json_object_set_object_member (connections, "queue", g_steal_pointer (&queue));
  context = sluice_context_new ("test", fixture->clock, SLUICE_STATE_STORE (fixture->state_store));
  sluice_context_set_connections (context, connections);
  return sluice_engine_new (context);
}

/* An engine whose node contexts know the "queue" connection, with (or
 * without) a batch manager that knows the plugin host. */
static void
start_host (Fixture *fixture, gboolean with_manager, gboolean with_plugin_host)
{
  fixture->engine = engine_new (fixture);
  g_signal_connect (fixture->engine, "run-finished", G_CALLBACK (on_run_finished), fixture);
  if (!with_manager)
    return;
  fixture->manager = sluice_batch_manager_new (store_of (fixture), fixture->engine,
                                               SLUICE_STATE_STORE (fixture->state_store),
                                               fixture->clock, WORKER);
  if (with_plugin_host)
    sluice_batch_manager_set_plugin_host (fixture->manager, fixture->host);
  g_signal_connect (fixture->manager, "finished", G_CALLBACK (on_finished), fixture);
}

/* Another host: its own engine and manager (worker "host-b"), the same
 * store; what it finishes is not recorded in the fixture. */
static void
start_host_b (Fixture *fixture)
{
  fixture->engine_b = engine_new (fixture);
  fixture->manager_b = sluice_batch_manager_new (store_of (fixture), fixture->engine_b,
                                                 SLUICE_STATE_STORE (fixture->state_store),
                                                 fixture->clock, "host-b");
  sluice_batch_manager_set_plugin_host (fixture->manager_b, fixture->host);
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) path = sluice_plugin_host_build_search_path (NULL, NULL);
  g_autoptr(redisReply) reply = redis_test_server_command (server, "FLUSHALL");

  fixture->host = sluice_plugin_host_new ();
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_true (test_components_register (fixture->host, &error));
  g_assert_no_error (error);
  sluice_plugin_host_load_directories (fixture->host, (const char * const *) path);
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "redis.stream.send"));
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "redis.stream.receive"));
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "file.read"));

  fixture->clock = sluice_clock_new_system ();
  fixture->dir = g_dir_make_tmp ("sluice-hybrid-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->finished = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_batch_info_free);
  fixture->runs = g_ptr_array_new_with_free_func (g_free);
  test_recorder_reset (fixture->clock);
  fixture->batch_store = create_store (fixture, "redis.batch-store");
  fixture->state_store = create_store (fixture, "redis.state-store");
}

static void
stop_manager (SluiceBatchManager *manager)
{
  gboolean done = FALSE;

  if (manager == NULL)
    return;
  sluice_batch_manager_stop_async (manager, NULL, on_done, &done);
  WAIT_FOR (done);
}

static void
shut_down_engine (SluiceEngine *engine)
{
  gboolean done = FALSE;

  if (engine == NULL)
    return;
  sluice_engine_shutdown_async (engine, G_USEC_PER_SEC, NULL, on_done, &done);
  WAIT_FOR (done);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  /* As sluiced does: the managers first, then the engines; then the
   * managers once more, for the outcomes of event runs that ended
   * meanwhile. */
  stop_manager (fixture->manager);
  stop_manager (fixture->manager_b);
  shut_down_engine (fixture->engine);
  shut_down_engine (fixture->engine_b);
  stop_manager (fixture->manager);
  stop_manager (fixture->manager_b);
  g_clear_object (&fixture->manager);
  g_clear_object (&fixture->engine);
  g_clear_object (&fixture->manager_b);
  g_clear_object (&fixture->engine_b);
  g_clear_object (&fixture->batch_store);
  g_clear_object (&fixture->state_store);
  g_clear_pointer (&fixture->finished, g_ptr_array_unref);
  g_clear_pointer (&fixture->runs, g_ptr_array_unref);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->host);
  remove_tree (fixture->dir);
  g_free (fixture->dir);
  test_recorder_reset (NULL);
}

/* ---- Workflows ---- */

static JsonObject *
node_config (JsonObject *root, const char *id)
{
  JsonArray *steps = json_object_get_array_member (root, "steps");

  for (guint i = 0; i < json_array_get_length (steps); i++)
    {
      JsonObject *step = json_array_get_object_element (steps, i);

      if (g_str_equal (json_object_get_string_member (step, "id"), id))
        return json_object_get_object_member (step, "with");
    }
  g_error ("no node '%s'", id);
  return NULL;
}

typedef void (*EditFunc) (JsonObject *root, gpointer user_data);

/* A shipped example, its folders moved to the fixture's; @edit may change
 * it further (a manual trigger, a shorter lease). */
static SluiceWorkflow *
load_example (Fixture *fixture, const char *name, EditFunc edit, gpointer user_data)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data", "examples", name, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GString) text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *edited = NULL;
  g_autoptr(GError) error = NULL;
  SluiceWorkflow *workflow;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  text = g_string_new (contents);
  g_assert_cmpuint (g_string_replace (text, EXAMPLES_PATH, fixture->dir, 0), >, 0);
  json_parser_load_from_data (parser, text->str, -1, &error);
  g_assert_no_error (error);
  if (edit != NULL)
    edit (json_node_get_object (json_parser_get_root (parser)), user_data);
  json_generator_set_root (generator, json_parser_get_root (parser));
  edited = json_generator_to_data (generator, NULL);

  workflow = sluice_workflow_load_data (fixture->host, edited, -1, name, &error);
  g_assert_no_error (error);
  return workflow;
}

static void
add_workflow_to (SluiceEngine *engine, SluiceWorkflow *workflow, gboolean start)
{
  g_autoptr(SluiceWorkflow) owned = workflow;
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_engine_add_workflow (engine, owned, start, &error));
  g_assert_no_error (error);
}

static void
add_workflow (Fixture *fixture, SluiceWorkflow *workflow, gboolean start)
{
  add_workflow_to (fixture->engine, workflow, start);
}

static SluiceWorkflow *
load_json (Fixture *fixture, const char *json)
{
  g_autoptr(GError) error = NULL;
  SluiceWorkflow *workflow = sluice_workflow_load_data (fixture->host, json, -1, "test.json",
                                                        &error);

  g_assert_no_error (error);
  return workflow;
}

/* The examples send their batch reports to "batch-report": here a
 * workflow that keeps them for the test. */
static void
add_report_workflow (Fixture *fixture)
{
  add_workflow (fixture,
                load_json (fixture, "{\"name\": \"batch-report\", \"trigger\": {\"use\": "
                                    "\"core.manual\"}, \"steps\": [{\"id\": \"keep\", \"use\": "
                                    "\"test.collect\", \"with\": {\"tag\": \"report\"}}]}"),
                TRUE);
}

static guint
reports (void)
{
  return test_recorder.collected->len;
}

/* schedule.interval fires on the clock; the test fires by hand. */
static void
edit_manual_trigger (JsonObject *root, gpointer user_data)
{
  JsonObject *trigger = json_object_new ();

  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root, "trigger"),
                                                  "use"), ==, "schedule.interval");
  json_object_set_string_member (trigger, "use", "core.manual");
  json_object_set_object_member (root, "trigger", trigger);
}

/* Takes @message. */
static void
inject (Fixture *fixture, const char *workflow, SluiceMessage *message)
{
  g_autoptr(SluiceMessage) owned = message;
  g_autoptr(SluiceEvent) event = sluice_event_new (owned);
  g_autoptr(GError) error = NULL;
  g_autofree char *run_id = sluice_engine_inject (fixture->engine, workflow, event, &error);

  g_assert_no_error (error);
  g_assert_nonnull (run_id);
}

static const char *
find_run (Fixture *fixture, const char *prefix)
{
  for (guint i = 0; i < fixture->runs->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (fixture->runs, i), prefix))
      return g_ptr_array_index (fixture->runs, i);
  return NULL;
}

/* The run that filled the batch ended well (else its error shows). */
static void
assert_ingest_acked (Fixture *fixture, const char *workflow)
{
  g_autofree char *prefix = g_strdup_printf ("%s ", workflow);
  g_autofree char *acked = g_strdup_printf ("%s %u ", workflow, SLUICE_EVENT_ACKED);

  WAIT_FOR (find_run (fixture, prefix) != NULL);
  g_assert_cmpstr (find_run (fixture, prefix), ==, acked);
}

/* ---- Schedule → CSV → batch → one stream message per record ---- */

static gboolean
every_137th (guint n)
{
  return n % 137 == 0;
}

static void
test_dispatch_counts (Fixture *fixture, gconstpointer data)
{
  g_autofree char *inbox = g_build_filename (fixture->dir, "hybrid-inbox", NULL);
  g_autofree char *csv = orders_csv (1, 1000, TRUE, every_137th);
  g_autofree char *output = g_build_filename (fixture->dir, "outbox", "hybrid-orders.jsonl", NULL);
  g_autoptr(GHashTable) records = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) failed = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(SluiceMessage) report = NULL;
  SluiceBatchInfo *info;
  JsonObject *body, *counts;

  write_file (inbox, "orders.csv", csv);
  start_host (fixture, TRUE, TRUE);
  add_workflow (fixture, load_example (fixture, "hybrid-schedule-dispatch.json",
                                       edit_manual_trigger, NULL), TRUE);
  add_workflow (fixture, load_example (fixture, "hybrid-order-worker.json", NULL, NULL), TRUE);
  add_report_workflow (fixture);

  inject (fixture, "hybrid-schedule-dispatch", sluice_message_new ());
  assert_ingest_acked (fixture, "hybrid-schedule-dispatch");
  WAIT_FOR (fixture->finished->len == 1 && reports () == 1);

  /* Every record went through the queue once and is counted once: the 7
   * negative amounts failed in the worker, the 993 others succeeded. */
  info = g_ptr_array_index (fixture->finished, 0);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_COMPLETED);
  assert_counts (info, 0, 0, 993, 7);
  g_assert_cmpstr (info->workflow, ==, "hybrid-schedule-dispatch/load");
  g_assert_cmpint (stream_length ("orders"), ==, 1000);

  /* The worker wrote the 993 good orders, each naming its batch and its
   * own record, from the headers the queue carried. */
  lines = read_lines (output);
  g_assert_cmpuint (g_strv_length (lines), ==, 993);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonNode) node = json_from_string (lines[i], NULL);
      JsonObject *order;

      g_assert_nonnull (node);
      order = json_node_get_object (node);
      g_assert_cmpstr (json_object_get_string_member (order, "batch"), ==, info->id);
      g_assert_false (g_str_has_prefix (json_object_get_string_member (order, "amount"), "-"));
      g_assert_true (g_hash_table_add (records,
                                       g_strdup (json_object_get_string_member (order, "record"))));
    }

  /* The failed records keep their payload and the worker's reason. */
  failed = list_failed (fixture, info->id);
  g_assert_cmpuint (failed->len, ==, 7);
  for (guint i = 0; i < failed->len; i++)
    {
      SluiceMessage *record = g_ptr_array_index (failed, i);
      JsonNode *payload = sluice_message_get_json (record, NULL);
      const char *error = sluice_message_get_header (record, "sluice-error");

      g_assert_nonnull (payload);
      g_assert_true (g_str_has_prefix (json_object_get_string_member (json_node_get_object (payload),
                                                                      "amount"), "-"));
      g_assert_nonnull (strstr (error, "workflow 'hybrid-order-worker'"));
      g_assert_nonnull (strstr (error, "dead-letter"));
      g_assert_false (g_hash_table_contains (records, sluice_message_get_id (record)));
    }

  /* One report, with the final counts; and no second one later. */
  report = g_object_ref (g_ptr_array_index (test_recorder.collected, 0));
  body = json_node_get_object (sluice_message_get_json (report, NULL));
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "completed");
  counts = json_object_get_object_member (body, "counts");
  g_assert_cmpint (json_object_get_int_member (counts, "succeeded"), ==, 993);
  g_assert_cmpint (json_object_get_int_member (counts, "failed"), ==, 7);
  spin (700);
  g_assert_cmpuint (reports (), ==, 1);
  g_assert_cmpuint (fixture->finished->len, ==, 1);
}

/* ---- The worker on another host ---- */

static gboolean
every_50th (guint n)
{
  return n % 50 == 0;
}

static void
on_run_finished_b (SluiceEngine *engine, const char *workflow, const char *run_id, guint outcome,
                   const char *error, SluiceMessage *message, gpointer user_data)
{
  guint *worker_runs = user_data;

  if (g_str_equal (workflow, "hybrid-order-worker"))
    (*worker_runs)++;
}

static void
test_worker_on_other_host (Fixture *fixture, gconstpointer data)
{
  g_autofree char *inbox = g_build_filename (fixture->dir, "hybrid-inbox", NULL);
  g_autofree char *csv = orders_csv (1, 300, TRUE, every_50th);
  guint worker_runs_b = 0;
  SluiceBatchInfo *info;

  /* Host A reads, batches and dispatches; host B only runs the worker:
   * B settles records under A's leases, presenting A's worker id. */
  write_file (inbox, "orders.csv", csv);
  start_host (fixture, TRUE, TRUE);
  start_host_b (fixture);
  g_signal_connect (fixture->engine_b, "run-finished", G_CALLBACK (on_run_finished_b),
                    &worker_runs_b);
  add_workflow (fixture, load_example (fixture, "hybrid-schedule-dispatch.json",
                                       edit_manual_trigger, NULL), TRUE);
  add_report_workflow (fixture);
  add_workflow_to (fixture->engine_b, load_example (fixture, "hybrid-order-worker.json", NULL,
                                                    NULL), TRUE);

  inject (fixture, "hybrid-schedule-dispatch", sluice_message_new ());
  assert_ingest_acked (fixture, "hybrid-schedule-dispatch");
  WAIT_FOR (fixture->finished->len == 1 && reports () == 1);

  info = g_ptr_array_index (fixture->finished, 0);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_COMPLETED);
  assert_counts (info, 0, 0, 294, 6);
  g_assert_cmpuint (worker_runs_b, ==, 300);
  for (guint i = 0; i < fixture->runs->len; i++)
    g_assert_false (g_str_has_prefix (g_ptr_array_index (fixture->runs, i), "hybrid-order-worker "));
}

/* ---- A lease that runs out before the queue delivers ---- */

static void
edit_short_lease (JsonObject *root, gpointer user_data)
{
  edit_manual_trigger (root, NULL);
  json_object_set_string_member (node_config (root, "load"), "lease", "1s");
}

static void
test_lease_redispatch (Fixture *fixture, gconstpointer data)
{
  g_autofree char *inbox = g_build_filename (fixture->dir, "hybrid-inbox", NULL);
  g_autofree char *csv = orders_csv (1, 20, TRUE, NULL);
  g_autofree char *output = g_build_filename (fixture->dir, "outbox", "hybrid-orders.jsonl", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autoptr(SluiceBatchInfo) after = NULL;
  SluiceBatchInfo *info;
  long long sent;

  write_file (inbox, "orders.csv", csv);
  start_host (fixture, TRUE, TRUE);
  add_workflow (fixture, load_example (fixture, "hybrid-schedule-dispatch.json", edit_short_lease,
                                       NULL), TRUE);
  /* The worker is down at first: nothing settles the dispatched records. */
  add_workflow (fixture, load_example (fixture, "hybrid-order-worker.json", NULL, NULL), FALSE);
  add_report_workflow (fixture);

  inject (fixture, "hybrid-schedule-dispatch", sluice_message_new ());
  assert_ingest_acked (fixture, "hybrid-schedule-dispatch");
  /* Each lease runs out after a second: the records are claimed and sent
   * again. */
  WAIT_POLL (stream_length ("orders") >= 40);
  id = only_batch (fixture);
  g_assert_nonnull (id);
  after = get_info (fixture, id);
  g_assert_cmpint (after->state, ==, SLUICE_BATCH_CLOSED);
  g_assert_cmpuint (after->counts[SLUICE_RECORD_SUCCEEDED], ==, 0);
  g_clear_pointer (&after, sluice_batch_info_free);

  g_assert_true (sluice_trigger_start (SLUICE_TRIGGER (sluice_engine_get_trigger (
                                         fixture->engine, "hybrid-order-worker")), &error));
  g_assert_no_error (error);
  WAIT_FOR (fixture->finished->len == 1 && reports () == 1);

  info = g_ptr_array_index (fixture->finished, 0);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_COMPLETED);
  assert_counts (info, 0, 0, 20, 0);

  /* Nothing is sent once the batch is done; the worker gets through every
   * copy, and the late ones change no count. */
  sent = stream_length ("orders");
  g_assert_cmpint (sent, >=, 40);
  WAIT_POLL (count_lines (output) == (guint) sent);
  spin (300);
  g_assert_cmpint (stream_length ("orders"), ==, sent);
  after = get_info (fixture, id);
  assert_counts (after, 0, 0, 20, 0);
  g_assert_cmpuint (reports (), ==, 1);
}

/* ---- auto_process: the queue takes over while the batch fills ---- */

static gboolean
auto_negative (guint n)
{
  return n == 50 || n == 200 || n == 340;
}

static void
edit_threshold_100 (JsonObject *root, gpointer user_data)
{
  JsonObject *trigger = json_object_new ();
  JsonObject *auto_process = json_object_get_object_member (node_config (root, "load"),
                                                            "auto_process");

  /* file.watch hands over a stream: here the test writes it bit by bit. */
  json_object_set_string_member (trigger, "use", "core.manual");
  json_object_set_object_member (root, "trigger", trigger);
  json_object_set_int_member (auto_process, "threshold", 100);
}

static void
write_all (int fd, const char *text)
{
  gsize left = strlen (text);

  while (left > 0)
    {
      gssize n = write (fd, text, left);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      text += n;
      left -= (gsize) n;
    }
}

static void
test_auto_process_while_open (Fixture *fixture, gconstpointer data)
{
  g_autofree char *output = g_build_filename (fixture->dir, "outbox", "auto-orders.jsonl", NULL);
  g_autofree char *first = orders_csv (1, 300, TRUE, auto_negative);
  g_autofree char *rest = orders_csv (301, 350, FALSE, auto_negative);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(SluiceMessage) message = NULL;
  g_autofree char *id = NULL;
  g_autoptr(SluiceBatchInfo) open_info = NULL;
  SluiceBatchInfo *info;
  int fds[2];

  start_host (fixture, TRUE, TRUE);
  add_workflow (fixture, load_example (fixture, "hybrid-auto-process.json", edit_threshold_100,
                                       NULL), TRUE);
  add_workflow (fixture, load_example (fixture, "hybrid-auto-worker.json", NULL, NULL), TRUE);
  add_report_workflow (fixture);

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  stream = g_unix_input_stream_new (fds[0], TRUE);
  message = sluice_message_new_stream (stream, -1, "text/csv");
  inject (fixture, "hybrid-auto-process", g_object_ref (message));

  /* 300 rows, then the file stays open: the batch holds them (in adds of
   * 100, the threshold) and is not closed, yet the queue works them off. */
  write_all (fds[1], first);
  WAIT_POLL ((id = only_batch (fixture)) != NULL);
  for (;;)
    {
      g_clear_pointer (&open_info, sluice_batch_info_free);
      open_info = get_info (fixture, id);
      if (open_info->counts[SLUICE_RECORD_SUCCEEDED] + open_info->counts[SLUICE_RECORD_FAILED] >= 200)
        break;
      g_assert_cmpint (open_info->state, ==, SLUICE_BATCH_OPEN);
      spin (20);
    }
  g_assert_cmpint (open_info->state, ==, SLUICE_BATCH_OPEN);
  g_assert_cmpuint (open_info->counts[SLUICE_RECORD_SUCCEEDED], >=, 198);
  g_assert_cmpuint (fixture->finished->len, ==, 0);
  g_assert_cmpuint (reports (), ==, 0);

  /* The rest of the file, then its end: the run ends, the batch closes,
   * and completes once the queue settled every record. */
  write_all (fds[1], rest);
  g_assert_cmpint (close (fds[1]), ==, 0);
  assert_ingest_acked (fixture, "hybrid-auto-process");
  WAIT_FOR (fixture->finished->len == 1 && reports () == 1);

  info = g_ptr_array_index (fixture->finished, 0);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_COMPLETED);
  g_assert_cmpstr (info->id, ==, id);
  assert_counts (info, 0, 0, 347, 3);
  g_assert_cmpint (stream_length ("auto-orders"), ==, 350);
  g_assert_cmpuint (count_lines (output), ==, 347);
  spin (700);
  g_assert_cmpuint (reports (), ==, 1);
}

/* ---- Late outcomes: one store call per batch and main-loop turn ---- */

/* A batch store that counts settle calls on their way to the real one;
 * only what the manager's late settles use is forwarded. */
#define TEST_TYPE_COUNTING_STORE (test_counting_store_get_type ())
G_DECLARE_FINAL_TYPE (TestCountingStore, test_counting_store, TEST, COUNTING_STORE, GObject)

struct _TestCountingStore
{
  GObject           parent_instance;
  SluiceBatchStore *inner;
  guint             settles;
  guint             outcomes;
};

static void test_counting_store_iface_init (SluiceBatchStoreInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (TestCountingStore, test_counting_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_BATCH_STORE,
                                                      test_counting_store_iface_init))

static void
on_inner_settled (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (sluice_batch_store_settle_finish (SLUICE_BATCH_STORE (object), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
counting_settle_async (SluiceBatchStore *store, const char *batch_id, const char *worker,
                       GPtrArray *outcomes, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  TestCountingStore *self = TEST_COUNTING_STORE (store);

  self->settles++;
  self->outcomes += outcomes->len;
  sluice_batch_store_settle_async (self->inner, batch_id, worker, outcomes, cancellable,
                                   on_inner_settled, g_task_new (self, cancellable, callback,
                                                                 user_data));
}

static gboolean
counting_settle_finish (SluiceBatchStore *store, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_counting_store_iface_init (SluiceBatchStoreInterface *iface)
{
  iface->settle_async = counting_settle_async;
  iface->settle_finish = counting_settle_finish;
}

static void
test_counting_store_finalize (GObject *object)
{
  g_clear_object (&TEST_COUNTING_STORE (object)->inner);
  G_OBJECT_CLASS (test_counting_store_parent_class)->finalize (object);
}

static void
test_counting_store_class_init (TestCountingStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_counting_store_finalize;
}

static void
test_counting_store_init (TestCountingStore *self)
{
}

static SluiceMessage *
queued_record (const char *batch_id, const char *record_id, const char *worker)
{
  SluiceMessage *message = sluice_message_new_take_string (g_strdup ("{}"), "application/json");

  sluice_message_set_header (message, SLUICE_HEADER_BATCH, batch_id);
  sluice_message_set_header (message, SLUICE_HEADER_BATCH_RECORD, record_id);
  if (worker != NULL)
    sluice_message_set_header (message, SLUICE_HEADER_BATCH_WORKER, worker);
  return message;
}

static void
test_late_settles_aggregated (Fixture *fixture, gconstpointer data)
{
  g_autoptr(TestCountingStore) counting = g_object_new (TEST_TYPE_COUNTING_STORE, NULL);
  g_autoptr(SluiceBatchInfo) info = sluice_batch_info_new ("late", "elsewhere/load");
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) claimed = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceBatchInfo) after = NULL;
  gint64 now = g_get_real_time ();

  counting->inner = g_object_ref (store_of (fixture));
  start_host (fixture, FALSE, FALSE);
  fixture->manager = sluice_batch_manager_new (SLUICE_BATCH_STORE (counting), fixture->engine,
                                               NULL, fixture->clock, WORKER);

  /* 100 records, claimed by this worker as a chunk would be. */
  info->chunk_size = 100;
  info->created_usec = now;
  info->expires_usec = now + (gint64) 3600 * G_USEC_PER_SEC;
  sluice_batch_store_create_async (store_of (fixture), info, NULL, on_result, &result);
  WAIT_FOR (result != NULL);
  g_assert_true (sluice_batch_store_create_finish (store_of (fixture), result, &error));
  g_clear_object (&result);
  for (guint i = 0; i < 100; i++)
    g_ptr_array_add (records, sluice_message_new_take_string (g_strdup_printf ("%u", i), NULL));
  sluice_batch_store_add_async (store_of (fixture), "late", records, NULL, on_result, &result);
  WAIT_FOR (result != NULL);
  g_assert_true (sluice_batch_store_add_finish (store_of (fixture), result, &error));
  g_clear_object (&result);
  sluice_batch_store_set_state_async (store_of (fixture), "late", SLUICE_BATCH_CLOSED, NULL,
                                      on_result, &result);
  WAIT_FOR (result != NULL);
  g_assert_true (sluice_batch_store_set_state_finish (store_of (fixture), result, &error));
  g_clear_object (&result);
  sluice_batch_store_claim_async (store_of (fixture), "late", WORKER, 100, (gint64) 3600 * G_USEC_PER_SEC,
                                  NULL, on_result, &result);
  WAIT_FOR (result != NULL);
  claimed = sluice_batch_store_claim_finish (store_of (fixture), result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (claimed->len, ==, 100);

  /* In one main-loop turn, event runs end for every record: 90 acked, 5
   * dead-lettered, 5 handed back (not settled: the queue brings them
   * again); and one whose worker is another host's (ignored by the store),
   * and one that is no dispatched record at all (ignored by the manager). */
  for (guint i = 0; i < claimed->len; i++)
    {
      const char *record_id = sluice_message_get_id (g_ptr_array_index (claimed, i));
      g_autoptr(SluiceMessage) message = queued_record ("late", record_id, WORKER);
      guint outcome = i < 90 ? SLUICE_EVENT_ACKED
                             : i < 95 ? SLUICE_EVENT_DEAD_LETTERED : SLUICE_EVENT_RETRY;

      g_signal_emit_by_name (fixture->engine, "run-finished", "worker", "worker-1", outcome,
                             outcome == SLUICE_EVENT_DEAD_LETTERED ? "too negative" : NULL,
                             message);
    }
  {
    g_autoptr(SluiceMessage) stranger = queued_record ("late", sluice_message_get_id (
                                                         g_ptr_array_index (claimed, 97)), "host-b");
    g_autoptr(SluiceMessage) plain = queued_record ("late", sluice_message_get_id (
                                                      g_ptr_array_index (claimed, 98)), NULL);

    g_signal_emit_by_name (fixture->engine, "run-finished", "worker", "worker-2",
                           SLUICE_EVENT_ACKED, NULL, stranger);
    g_signal_emit_by_name (fixture->engine, "run-finished", "worker", "worker-3",
                           SLUICE_EVENT_ACKED, NULL, plain);
  }
  g_assert_cmpuint (counting->settles, ==, 0);

  /* Two calls: one per worker the outcomes name. */
  WAIT_FOR (counting->settles == 2);
  g_assert_cmpuint (counting->outcomes, ==, 96);
  spin (100);
  g_assert_cmpuint (counting->settles, ==, 2);
  after = get_info (fixture, "late");
  g_assert_cmpint (after->state, ==, SLUICE_BATCH_CLOSED);
  assert_counts (after, 0, 5, 90, 5);
  g_clear_pointer (&claimed, g_ptr_array_unref);
  claimed = list_failed (fixture, "late");
  g_assert_cmpuint (claimed->len, ==, 5);
  g_assert_cmpstr (sluice_message_get_header (g_ptr_array_index (claimed, 0), "sluice-error"), ==,
                   "workflow 'worker': too negative");
}

/* ---- Configuration errors and misuse ---- */

static const char dispatch_json[] =
  "{\"name\": \"d\", \"trigger\": {\"use\": \"core.manual\"},"
  " \"steps\": [{\"id\": \"out\", \"use\": \"dispatch\", \"with\": {\"send\": %s}}]}";

static char *
add_dispatch_error (Fixture *fixture, const char *send)
{
  g_autofree char *json = g_strdup_printf (dispatch_json, send);
  g_autoptr(SluiceWorkflow) workflow = load_json (fixture, json);
  g_autoptr(GError) error = NULL;

  g_assert_false (sluice_engine_add_workflow (fixture->engine, workflow, TRUE, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "node 'out'"));
  return g_strdup (error->message);
}

static void
test_config_errors (Fixture *fixture, gconstpointer data)
{
  g_autofree char *unknown = NULL;
  g_autofree char *source = NULL;
  g_autofree char *invalid = NULL;
  g_autofree char *both = NULL;
  g_autoptr(SluiceWorkflow) workflow = NULL;
  g_autoptr(GError) error = NULL;

  start_host (fixture, TRUE, TRUE);
  unknown = add_dispatch_error (fixture, "{\"use\": \"redis.stream.nope\"}");
  g_assert_nonnull (strstr (unknown, "key 'send.use': unknown component 'redis.stream.nope'"));
  source = add_dispatch_error (fixture, "{\"use\": \"file.read\", \"with\": {\"path\": \"/x\"}}");
  g_assert_nonnull (strstr (source, "key 'send.use': component 'file.read' is a source, not a step"));
  invalid = add_dispatch_error (fixture, "{\"use\": \"redis.stream.send\", \"with\": "
                                         "{\"url\": \"redis://127.0.0.1:1/0\", \"bogus\": 1}}");
  g_assert_nonnull (strstr (invalid, "key 'send.with.bogus'"));

  /* auto_process sends through the queue: it cannot also name a workflow. */
  workflow = load_json (fixture,
                        "{\"name\": \"a\", \"trigger\": {\"use\": \"core.manual\"},"
                        " \"steps\": [{\"id\": \"load\", \"use\": \"batch\", \"with\": {"
                        "   \"workflow\": \"elsewhere\", \"auto_process\": {\"threshold\": 5,"
                        "   \"send\": {\"use\": \"redis.stream.send\", \"with\": {\"url\": "
                        "\"redis://127.0.0.1:1/0\", \"stream\": \"s\"}}}}}]}");
  g_assert_false (sluice_engine_add_workflow (fixture->engine, workflow, TRUE, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  both = g_strdup (error->message);
  g_assert_nonnull (strstr (both, "'workflow' and 'auto_process' exclude each other"));
  g_clear_error (&error);
  g_clear_object (&workflow);

  workflow = load_json (fixture,
                        "{\"name\": \"b\", \"trigger\": {\"use\": \"core.manual\"},"
                        " \"steps\": [{\"id\": \"load\", \"use\": \"batch\", \"with\": {"
                        "   \"auto_process\": {\"threshold\": 5, \"send\": {\"use\": \"nope\"}}}}]}");
  g_assert_false (sluice_engine_add_workflow (fixture->engine, workflow, TRUE, &error));
  g_assert_nonnull (strstr (error->message, "key 'auto_process.send.use': unknown component 'nope'"));
}

static void
test_config_needs_manager (Fixture *fixture, gconstpointer data)
{
  g_autofree char *json = g_strdup_printf (dispatch_json,
                                           "{\"use\": \"redis.stream.send\", \"with\": {\"url\": "
                                           "\"redis://127.0.0.1:1/0\", \"stream\": \"s\"}}");
  g_autoptr(SluiceWorkflow) workflow = NULL;
  g_autoptr(GError) error = NULL;

  /* No batch store: nothing to hold the records. */
  start_host (fixture, FALSE, FALSE);
  workflow = load_json (fixture, json);
  g_assert_false (sluice_engine_add_workflow (fixture->engine, workflow, TRUE, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "dispatch nodes need a batch store"));
}

static void
test_config_needs_plugin_host (Fixture *fixture, gconstpointer data)
{
  g_autofree char *json = g_strdup_printf (dispatch_json,
                                           "{\"use\": \"redis.stream.send\", \"with\": {\"url\": "
                                           "\"redis://127.0.0.1:1/0\", \"stream\": \"s\"}}");
  g_autoptr(SluiceWorkflow) workflow = NULL;
  g_autoptr(GError) error = NULL;

  start_host (fixture, TRUE, FALSE);
  workflow = load_json (fixture, json);
  g_assert_false (sluice_engine_add_workflow (fixture->engine, workflow, TRUE, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "no plugin host"));
}

static void
test_not_a_record (Fixture *fixture, gconstpointer data)
{
  g_autofree char *send = g_strdup_printf ("{\"use\": \"redis.stream.send\", \"with\": "
                                           "{\"url\": \"%s\", \"stream\": \"stray\"}}",
                                           redis_test_server_get_url (server));
  g_autofree char *filled = g_strdup_printf (dispatch_json, send);
  const char *run;

  /* An event straight from a trigger is no batch record: refused, and
   * nothing reaches the queue. */
  start_host (fixture, TRUE, TRUE);
  add_workflow (fixture, load_json (fixture, filled), TRUE);
  inject (fixture, "d", sluice_message_new_take_string (g_strdup ("{}"), "application/json"));
  WAIT_FOR (fixture->runs->len == 1);
  run = g_ptr_array_index (fixture->runs, 0);
  g_assert_true (g_str_has_prefix (run, "d 3 ")); /* dead-lettered */
  g_assert_nonnull (strstr (run, "not a batch record (it has no 'sluice-batch' header)"));
  g_assert_cmpint (stream_length ("stray"), ==, 0);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Batch records dispatched through a Redis stream to event workflows, settled "
                  "when those finish; auto_process; on a real Redis");

  server = redis_test_server_start (NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/hybrid/dispatch/csv-to-stream-counts", test_dispatch_counts);
  ADD ("/hybrid/dispatch/lease-expired-redispatched-counted-once", test_lease_redispatch);
  ADD ("/hybrid/dispatch/worker-on-another-host", test_worker_on_other_host);
  ADD ("/hybrid/auto-process/dispatches-while-open", test_auto_process_while_open);
  ADD ("/hybrid/late-settle/one-call-per-batch-and-worker", test_late_settles_aggregated);
  ADD ("/hybrid/config/errors-name-the-key", test_config_errors);
  ADD ("/hybrid/config/needs-batch-manager", test_config_needs_manager);
  ADD ("/hybrid/config/needs-plugin-host", test_config_needs_plugin_host);
  ADD ("/hybrid/dispatch/refuses-non-records", test_not_a_record);
#undef ADD

  status = g_test_run ();
  redis_test_server_free (server);
  return status;
}
