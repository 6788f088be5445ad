/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sluice.Sluice1.Batch on a real Redis while batches run: ListBatches
 * and the batch objects, Pause and Resume of a batch being processed
 * (a rate-limited step keeps it busy long enough to watch), RetryFailed
 * and ListFailed, Close and Cancel, and the Progress signal. */
#include <string.h>

#include <glib/gstdio.h>

#include "dbus-test-util.h"
#include "redis-test-server.h"

#define RUN_TIMEOUT_MS 20000
#define SLOW_RECORDS 200

typedef struct
{
  RedisTestServer *redis;
  DBusTestBus     *bus;
  DBusTestSluiced *daemon;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->redis = redis_test_server_start (NULL);
  f->bus = dbus_test_bus_start ();
  f->daemon = dbus_test_sluiced_new (f->bus, redis_test_server_get_url (f->redis));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  dbus_test_teardown (&f->daemon, &f->bus);
  g_clear_pointer (&f->redis, redis_test_server_free);
}

static GVariant *
list_batches (SluiceDBusManager *manager)
{
  g_autoptr (GError) error = NULL;
  GVariant *batches = NULL;

  sluice_dbus_manager_call_list_batches_sync (manager, &batches, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (batches, G_VARIANT_TYPE ("aa{sv}")));
  return batches;
}

/* The batch's entry in ListBatches, or NULL. */
static GVariant *
batch_entry (SluiceDBusManager *manager, const char *id)
{
  g_autoptr (GVariant) batches = list_batches (manager);

  return dbus_test_find_dict (batches, "id", id);
}

static gboolean
batch_listed (SluiceDBusManager *manager, const char *id)
{
  g_autoptr (GVariant) entry = batch_entry (manager, id);

  return entry != NULL;
}

static guint64
listed_count (SluiceDBusManager *manager, const char *id, const char *key)
{
  g_autoptr (GVariant) entry = batch_entry (manager, id);

  g_assert_nonnull (entry);
  return dbus_test_dict_uint64 (entry, key);
}

static gboolean
listed_state_is (SluiceDBusManager *manager, const char *id, const char *state)
{
  g_autoptr (GVariant) entry = batch_entry (manager, id);

  return entry != NULL && g_str_equal (dbus_test_dict_string (entry, "state"), state);
}

/* A fresh read of one of the batch object's properties. */
static GVariant *
batch_property (Fixture *f, const char *path, const char *name)
{
  g_autoptr (GError) error = NULL;
  GVariant *value;

  value = dbus_test_get_property (dbus_test_sluiced_get_connection (f->daemon), path,
                                  SLUICE_BATCH_IFACE, name, &error);
  g_assert_no_error (error);
  return value;
}

static gboolean
batch_exported (Fixture *f, const char *path)
{
  g_autoptr (GVariant) state = dbus_test_get_property (dbus_test_sluiced_get_connection (f->daemon),
                                                       path, SLUICE_BATCH_IFACE, "State", NULL);

  return state != NULL;
}

static gboolean
property_state_is (Fixture *f, const char *path, const char *state)
{
  g_autoptr (GVariant) value = batch_property (f, path, "State");

  return g_str_equal (g_variant_get_string (value, NULL), state);
}

static gboolean
property_paused_is (Fixture *f, const char *path, gboolean paused)
{
  g_autoptr (GVariant) value = batch_property (f, path, "Paused");

  return g_variant_get_boolean (value) == paused;
}

static guint64
counts_get (GVariant *counts, const char *key)
{
  guint64 value = G_MAXUINT64;

  g_assert_true (g_variant_is_of_type (counts, G_VARIANT_TYPE ("a{st}")));
  g_assert_true (g_variant_lookup (counts, key, "t", &value));
  return value;
}

static gboolean
property_counts_are (Fixture    *f,
                     const char *path,
                     guint64     pending,
                     guint64     processing,
                     guint64     succeeded,
                     guint64     failed)
{
  g_autoptr (GVariant) counts = batch_property (f, path, "Counts");

  return counts_get (counts, "pending") == pending &&
         counts_get (counts, "processing") == processing &&
         counts_get (counts, "succeeded") == succeeded && counts_get (counts, "failed") == failed;
}

/* The Counts a proxy holds: what PropertiesChanged told it. */
static gboolean
cached_counts_are (SluiceDBusBatch *proxy,
                   guint64          pending,
                   guint64          processing,
                   guint64          succeeded,
                   guint64          failed)
{
  GVariant *counts = sluice_dbus_batch_get_counts (proxy);

  return counts != NULL && counts_get (counts, "pending") == pending &&
         counts_get (counts, "processing") == processing &&
         counts_get (counts, "succeeded") == succeeded && counts_get (counts, "failed") == failed;
}

static SluiceDBusBatch *
batch_proxy (Fixture *f, const char *path)
{
  g_autoptr (GError) error = NULL;
  SluiceDBusBatch *proxy;

  proxy = sluice_dbus_batch_proxy_new_sync (dbus_test_sluiced_get_connection (f->daemon),
                                            G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                            SLUICE_BUS_NAME, path, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 20000);
  return proxy;
}

/* @n JSON lines {"n": i, "region": ...}; every @apac_every-th one (0:
 * none) is in region apac. */
static char *
records (guint n, guint apac_every)
{
  GString *text = g_string_new (NULL);

  for (guint i = 1; i <= n; i++)
    g_string_append_printf (text, "{\"n\": %u, \"region\": \"%s\"}\n", i,
                            apac_every > 0 && i % apac_every == 0 ? "apac" : "emea");
  return g_string_free (text, FALSE);
}

static gboolean
last_progress_state_is (DBusTestSignals *progress, const char *path, const char *state)
{
  guint                 n = dbus_test_signals_count (progress, path);
  const DBusTestSignal *last;
  const char           *last_state;

  if (n == 0)
    return FALSE;
  last = dbus_test_signals_get (progress, path, n - 1);
  g_assert_cmpstr (g_variant_get_type_string (last->parameters), ==, "(a{st}sd)");
  g_variant_get (last->parameters, "(@a{st}&sd)", NULL, &last_state, NULL);
  return g_str_equal (last_state, state);
}

/* Triggers @workflow on @body and waits for its run to succeed: the
 * batch is filled (and, unless its close is manual, closed). */
static void
fill (Fixture *f, DBusTestSignals *finished, const char *workflow, const char *body)
{
  const char *const headers[] = { "content-type", "application/x-ndjson", NULL };
  g_autofree char  *run = dbus_test_trigger (dbus_test_sluiced_get_manager (f->daemon), workflow,
                                             body, headers);
  g_autofree char  *state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);

  g_assert_cmpstr (state, ==, "succeeded");
}

static void
test_pause_resume (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (DBusTestSignals) progress = NULL;
  g_autoptr (SluiceDBusBatch) batch = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char      *body = records (SLOW_RECORDS, 0);
  g_autofree char      *path = dbus_test_object_path ("batches", "slow");
  g_autofree char      *out = g_build_filename (dbus_test_sluiced_get_dir (f->daemon), "out",
                                                "all.jsonl", NULL);
  SluiceDBusManager    *manager;
  GDBusConnection      *connection;
  guint64               pending, succeeded;
  guint                 signals_before_hold, n_progress;
  gint64                hold_until, hold_start;
  gboolean              moved_rate = FALSE;
  const DBusTestSignal *last;

  g_test_summary ("Pause on a batch being processed: claimed chunks finish, then no count "
                  "moves and Paused is true; Resume completes it; Progress signals come at most "
                  "about twice a second, the last one with the final state");
  dbus_test_sluiced_write_workflow (
      f->daemon, "slow.json",
      "{\"name\": \"slow\", \"trigger\": {\"use\": \"core.manual\"},"
      " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
      "  {\"id\": \"batch\", \"use\": \"batch\", \"with\": {\"id\": \"slow\", \"chunk\": 5}},"
      "  {\"id\": \"store\", \"use\": \"file.write\", \"rate_limit\": {\"per_second\": 40,"
      "   \"burst\": 1}, \"with\": {\"directory\": \"@DIR@/out\", \"filename\": \"all.jsonl\","
      "   \"mode\": \"append\"}}]}");
  dbus_test_sluiced_start (f->daemon);
  manager = dbus_test_sluiced_get_manager (f->daemon);
  connection = dbus_test_sluiced_get_connection (f->daemon);
  finished = dbus_test_signals_new (connection, SLUICE_RUN_IFACE, "Finished");
  progress = dbus_test_signals_new (connection, SLUICE_BATCH_IFACE, "Progress");

  fill (f, finished, "slow", body);
  DBUS_TEST_WAIT_UNTIL (batch_listed (manager, "slow"), 10000);
  {
    g_autoptr (GVariant) entry = batch_entry (manager, "slow");
    g_autoptr (GVariant) listed_path = g_variant_lookup_value (entry, "path",
                                                               G_VARIANT_TYPE_OBJECT_PATH);

    g_assert_nonnull (listed_path);
    g_assert_cmpstr (g_variant_get_string (listed_path, NULL), ==, path);
  }
  DBUS_TEST_WAIT_UNTIL (listed_count (manager, "slow", "succeeded") >= 10, 10000);
  batch = batch_proxy (f, path);

  sluice_dbus_batch_call_pause_sync (batch, NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (property_paused_is (f, path, TRUE), 10000);
  {
    g_autoptr (GVariant) entry = batch_entry (manager, "slow");
    gboolean paused = FALSE;

    g_assert_true (g_variant_lookup (entry, "paused", "b", &paused));
    g_assert_true (paused);
  }

  /* Chunks already claimed finish; then nothing moves. */
  DBUS_TEST_WAIT_UNTIL (listed_count (manager, "slow", "processing") == 0, 10000);
  pending = listed_count (manager, "slow", "pending");
  succeeded = listed_count (manager, "slow", "succeeded");
  g_test_message ("paused at %" G_GUINT64_FORMAT " pending, %" G_GUINT64_FORMAT " succeeded",
                  pending, succeeded);
  g_assert_cmpuint (pending, >, 0);
  g_assert_cmpuint (pending + succeeded, ==, SLOW_RECORDS);
  signals_before_hold = dbus_test_signals_count (progress, path);
  hold_start = g_get_monotonic_time ();
  hold_until = hold_start + 1500 * G_TIME_SPAN_MILLISECOND;
  while (g_get_monotonic_time () < hold_until)
    {
      g_assert_cmpuint (listed_count (manager, "slow", "pending"), ==, pending);
      g_assert_cmpuint (listed_count (manager, "slow", "succeeded"), ==, succeeded);
      g_assert_cmpuint (listed_count (manager, "slow", "processing"), ==, 0);
      dbus_test_iterate (100);
    }
  g_assert_cmpuint (dbus_test_count_lines (out), ==, succeeded);
  /* Whatever Progress came meanwhile reports the same standstill. */
  for (guint i = signals_before_hold; i < dbus_test_signals_count (progress, path); i++)
    {
      const DBusTestSignal *signal = dbus_test_signals_get (progress, path, i);
      g_autoptr (GVariant) counts = g_variant_get_child_value (signal->parameters, 0);

      if (signal->received < hold_start + 500 * G_TIME_SPAN_MILLISECOND)
        continue;
      g_assert_cmpuint (counts_get (counts, "pending"), ==, pending);
      g_assert_cmpuint (counts_get (counts, "succeeded"), ==, succeeded);
    }

  sluice_dbus_batch_call_resume_sync (batch, NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (listed_state_is (manager, "slow", "completed"), 30000);
  g_assert_cmpuint (listed_count (manager, "slow", "succeeded"), ==, SLOW_RECORDS);
  g_assert_cmpuint (listed_count (manager, "slow", "pending"), ==, 0);
  g_assert_cmpuint (listed_count (manager, "slow", "failed_records"), ==, 0);
  g_assert_cmpuint (dbus_test_count_lines (out), ==, SLOW_RECORDS);
  DBUS_TEST_WAIT_UNTIL (property_paused_is (f, path, FALSE), 10000);
  DBUS_TEST_WAIT_UNTIL (property_state_is (f, path, "completed"), 10000);
  DBUS_TEST_WAIT_UNTIL (property_counts_are (f, path, 0, 0, SLOW_RECORDS, 0), 10000);

  /* Progress: the last one tells the end; they are spaced. */
  DBUS_TEST_WAIT_UNTIL (last_progress_state_is (progress, path, "completed"), 10000);
  last = dbus_test_signals_get (progress, path, dbus_test_signals_count (progress, path) - 1);
  n_progress = dbus_test_signals_count (progress, path);
  g_test_message ("%u Progress signals", n_progress);
  g_assert_cmpuint (n_progress, >=, 3);
  {
    g_autoptr (GVariant) counts = g_variant_get_child_value (last->parameters, 0);

    g_assert_cmpuint (counts_get (counts, "pending"), ==, 0);
    g_assert_cmpuint (counts_get (counts, "processing"), ==, 0);
    g_assert_cmpuint (counts_get (counts, "succeeded"), ==, SLOW_RECORDS);
    g_assert_cmpuint (counts_get (counts, "failed"), ==, 0);
  }
  for (guint i = 0; i < n_progress; i++)
    {
      const DBusTestSignal *signal = dbus_test_signals_get (progress, path, i);
      double                rate;

      g_variant_get (signal->parameters, "(@a{st}&sd)", NULL, NULL, &rate);
      g_assert_cmpfloat (rate, >=, 0);
      if (rate > 0)
        moved_rate = TRUE;
      /* At most twice a second; the final one may come sooner. */
      if (i > 0 && i < n_progress - 1)
        {
          const DBusTestSignal *previous = dbus_test_signals_get (progress, path, i - 1);

          g_assert_cmpint (signal->received - previous->received, >=,
                           300 * G_TIME_SPAN_MILLISECOND);
        }
    }
  g_assert_true (moved_rate);

  /* A finished batch cannot be paused. */
  sluice_dbus_batch_call_pause_sync (batch, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidState");
}

static void
test_retry_failed (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (SluiceDBusBatch) batch = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) failed = NULL;
  g_autoptr (GVariant) page = NULL;
  g_autoptr (GVariant) none = NULL;
  g_autofree char *body = records (20, 4);
  g_autofree char *path = dbus_test_object_path ("batches", "regions");
  g_autofree char *apac = g_build_filename (dbus_test_sluiced_get_dir (f->daemon), "apac", NULL);
  g_autofree char *apac_file = g_build_filename (apac, "orders.jsonl", NULL);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  SluiceDBusManager *manager;
  guint64            count = 0;

  g_test_summary ("Records that fail (a region folder not provisioned) are listed by "
                  "ListFailed with their error and attempts; once the cause is fixed "
                  "RetryFailed sends those, and only those, back and the batch completes");
  dbus_test_sluiced_write_workflow (
      f->daemon, "regions.json",
      "{\"name\": \"regions\", \"trigger\": {\"use\": \"core.manual\"},"
      " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
      "  {\"id\": \"batch\", \"use\": \"batch\", \"with\": {\"id\": \"regions\", \"chunk\": 10}},"
      "  {\"id\": \"store\", \"use\": \"file.write\", \"with\": {\"directory\": \"@DIR@/out\","
      "   \"filename\": \"orders.jsonl\", \"mode\": \"append\"}},"
      "  {\"id\": \"store-apac\", \"use\": \"file.write\", \"with\": {"
      "   \"directory\": \"@DIR@/apac\", \"filename\": \"orders.jsonl\", \"mode\": \"append\","
      "   \"create_dirs\": false}}],"
      " \"edges\": [{\"from\": \"rows\", \"to\": \"batch\"},"
      "  {\"from\": \"batch\", \"to\": \"store\", \"when\": {\"not\": {\"field\": \"$.region\","
      "   \"equals\": \"apac\"}}},"
      "  {\"from\": \"batch\", \"to\": \"store-apac\", \"when\": {\"field\": \"$.region\","
      "   \"equals\": \"apac\"}}]}");
  dbus_test_sluiced_start (f->daemon);
  manager = dbus_test_sluiced_get_manager (f->daemon);
  finished = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                    SLUICE_RUN_IFACE, "Finished");

  fill (f, finished, "regions", body);
  DBUS_TEST_WAIT_UNTIL (batch_listed (manager, "regions") &&
                            listed_count (manager, "regions", "failed_records") == 5 &&
                            listed_count (manager, "regions", "succeeded") == 15,
                        20000);
  DBUS_TEST_WAIT_UNTIL (property_counts_are (f, path, 0, 0, 15, 5), 10000);
  batch = batch_proxy (f, path);

  sluice_dbus_batch_call_list_failed_sync (batch, 0, 0, &failed, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (failed, G_VARIANT_TYPE ("aa{sv}")));
  g_assert_cmpuint (g_variant_n_children (failed), ==, 5);
  for (gsize i = 0; i < 5; i++)
    {
      g_autoptr (GVariant) record = g_variant_get_child_value (failed, i);
      const char *id = dbus_test_dict_string (record, "id");

      g_test_message ("failed record %s: %s", id, dbus_test_dict_string (record, "error"));
      g_assert_cmpstr (id, !=, "");
      g_assert_true (g_hash_table_add (seen, g_strdup (id)));
      g_assert_nonnull (strstr (dbus_test_dict_string (record, "error"), "apac"));
      g_assert_cmpuint (dbus_test_dict_uint32 (record, "attempts"), ==, 1);
      g_assert_null (g_variant_lookup_value (record, "payload", NULL));
    }

  sluice_dbus_batch_call_list_failed_sync (batch, 2, 2, &page, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (page), ==, 2);
  for (gsize i = 0; i < 2; i++)
    {
      g_autoptr (GVariant) a = g_variant_get_child_value (page, i);
      g_autoptr (GVariant) b = g_variant_get_child_value (failed, i + 2);

      g_assert_cmpstr (dbus_test_dict_string (a, "id"), ==, dbus_test_dict_string (b, "id"));
    }
  sluice_dbus_batch_call_list_failed_sync (batch, 5, 0, &none, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (none), ==, 0);

  /* Provisioned: the retry succeeds. */
  g_assert_cmpint (g_mkdir (apac, 0755), ==, 0);
  sluice_dbus_batch_call_retry_failed_sync (batch, &count, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 5);
  DBUS_TEST_WAIT_UNTIL (listed_state_is (manager, "regions", "completed") &&
                            listed_count (manager, "regions", "succeeded") == 20,
                        20000);
  g_assert_cmpuint (listed_count (manager, "regions", "failed_records"), ==, 0);
  g_assert_cmpuint (dbus_test_count_lines (apac_file), ==, 5);
  DBUS_TEST_WAIT_UNTIL (property_counts_are (f, path, 0, 0, 20, 0), 10000);
  /* A proxy made before the retry follows through PropertiesChanged. */
  DBUS_TEST_WAIT_UNTIL (cached_counts_are (batch, 0, 0, 20, 0), 10000);
  DBUS_TEST_WAIT_UNTIL (g_strcmp0 (sluice_dbus_batch_get_state (batch), "completed") == 0, 10000);

  g_clear_pointer (&failed, g_variant_unref);
  sluice_dbus_batch_call_list_failed_sync (batch, 0, 0, &failed, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (failed), ==, 0);
  sluice_dbus_batch_call_retry_failed_sync (batch, &count, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 0);
}

static void
test_close_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (SluiceDBusBatch) held = NULL;
  g_autoptr (SluiceDBusBatch) dropped = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) batches = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autofree char   *body = records (10, 0);
  g_autofree char   *held_path = dbus_test_object_path ("batches", "held-1");
  g_autofree char   *dropped_path = dbus_test_object_path ("batches", "held-2");
  g_autofree char   *out = g_build_filename (dbus_test_sluiced_get_dir (f->daemon), "out",
                                             "held.jsonl", NULL);
  SluiceDBusManager *manager;
  gint64             created, expires, now = g_get_real_time ();

  g_test_summary ("A batch left open (close: manual) has the properties ListBatches reports; "
                  "Close lets it complete, Cancel stops another for good; finished and "
                  "cancelled batches refuse Close, Cancel and Pause with InvalidState");
  for (guint i = 1; i <= 2; i++)
    {
      g_autofree char *file = g_strdup_printf ("held-%u.json", i);
      g_autofree char *json = g_strdup_printf (
          "{\"name\": \"held-%u\", \"trigger\": {\"use\": \"core.manual\"},"
          " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
          "  {\"id\": \"load\", \"use\": \"batch\", \"with\": {\"id\": \"held-%u\", \"chunk\": 4,"
          "   \"close\": \"manual\", \"expire\": \"2h\"}},"
          "  {\"id\": \"store\", \"use\": \"file.write\", \"with\": {\"directory\": \"@DIR@/out\","
          "   \"filename\": \"held.jsonl\", \"mode\": \"append\"}}]}",
          i, i);

      dbus_test_sluiced_write_workflow (f->daemon, file, json);
    }
  dbus_test_sluiced_start (f->daemon);
  manager = dbus_test_sluiced_get_manager (f->daemon);
  finished = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                    SLUICE_RUN_IFACE, "Finished");

  fill (f, finished, "held-1", body);
  fill (f, finished, "held-2", body);
  DBUS_TEST_WAIT_UNTIL (batch_listed (manager, "held-1") && batch_listed (manager, "held-2"),
                        10000);
  batches = list_batches (manager);
  g_assert_cmpuint (g_variant_n_children (batches), ==, 2);
  {
    g_autoptr (GVariant) first = g_variant_get_child_value (batches, 0);
    g_autoptr (GVariant) entry_path = g_variant_lookup_value (first, "path",
                                                              G_VARIANT_TYPE_OBJECT_PATH);
    gboolean paused = TRUE;

    /* Sorted by id. */
    g_assert_cmpstr (dbus_test_dict_string (first, "id"), ==, "held-1");
    g_assert_cmpstr (g_variant_get_string (entry_path, NULL), ==, held_path);
    g_assert_cmpstr (dbus_test_dict_string (first, "workflow"), ==, "held-1/load");
    g_assert_cmpstr (dbus_test_dict_string (first, "state"), ==, "open");
    g_assert_true (g_variant_lookup (first, "paused", "b", &paused));
    g_assert_false (paused);
    g_assert_cmpuint (dbus_test_dict_uint32 (first, "chunk_size"), ==, 4);
    g_assert_cmpuint (dbus_test_dict_uint64 (first, "pending"), ==, 10);
    g_assert_cmpuint (dbus_test_dict_uint64 (first, "processing"), ==, 0);
    g_assert_cmpuint (dbus_test_dict_uint64 (first, "succeeded"), ==, 0);
    g_assert_cmpuint (dbus_test_dict_uint64 (first, "failed_records"), ==, 0);
    created = dbus_test_dict_int64 (first, "created");
    expires = dbus_test_dict_int64 (first, "expires");
    g_assert_cmpint (created, >=, now - 60 * G_USEC_PER_SEC);
    g_assert_cmpint (created, <=, g_get_real_time () + G_USEC_PER_SEC);
    /* expire: 2h, counted from creation or from the last change. */
    g_assert_cmpint (expires - created, >=, 2 * G_TIME_SPAN_HOUR - G_TIME_SPAN_MINUTE);
    g_assert_cmpint (expires - created, <=, 2 * G_TIME_SPAN_HOUR + G_TIME_SPAN_MINUTE);
  }

  /* The object says the same. */
  props = g_dbus_connection_call_sync (dbus_test_sluiced_get_connection (f->daemon),
                                       SLUICE_BUS_NAME, held_path,
                                       "org.freedesktop.DBus.Properties", "GetAll",
                                       g_variant_new ("(s)", SLUICE_BATCH_IFACE),
                                       G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, 10000,
                                       NULL, &error);
  g_assert_no_error (error);
  {
    g_autoptr (GVariant) all = g_variant_get_child_value (props, 0);
    g_autoptr (GVariant) counts = g_variant_lookup_value (all, "Counts",
                                                          G_VARIANT_TYPE ("a{st}"));
    gboolean paused = TRUE;

    g_assert_cmpstr (dbus_test_dict_string (all, "Id"), ==, "held-1");
    g_assert_cmpstr (dbus_test_dict_string (all, "Workflow"), ==, "held-1/load");
    g_assert_cmpstr (dbus_test_dict_string (all, "State"), ==, "open");
    g_assert_cmpuint (dbus_test_dict_uint32 (all, "ChunkSize"), ==, 4);
    g_assert_cmpint (dbus_test_dict_int64 (all, "Created"), ==, created);
    g_assert_cmpint (dbus_test_dict_int64 (all, "Expires"), >=, expires - G_TIME_SPAN_MINUTE);
    g_assert_true (g_variant_lookup (all, "Paused", "b", &paused));
    g_assert_false (paused);
    g_assert_nonnull (counts);
    g_assert_cmpuint (counts_get (counts, "pending"), ==, 10);
    g_assert_cmpuint (counts_get (counts, "succeeded"), ==, 0);
  }

  held = batch_proxy (f, held_path);
  dropped = batch_proxy (f, dropped_path);

  /* Close: processed to the end. */
  sluice_dbus_batch_call_close_sync (held, NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (listed_state_is (manager, "held-1", "completed"), 20000);
  g_assert_cmpuint (listed_count (manager, "held-1", "succeeded"), ==, 10);
  g_assert_cmpuint (dbus_test_count_lines (out), ==, 10);
  DBUS_TEST_WAIT_UNTIL (property_state_is (f, held_path, "completed"), 10000);
  sluice_dbus_batch_call_close_sync (held, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidState");
  g_clear_error (&error);
  sluice_dbus_batch_call_cancel_sync (held, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidState");
  g_clear_error (&error);
  sluice_dbus_batch_call_pause_sync (held, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidState");
  g_clear_error (&error);

  /* Cancel: nothing is claimed any more, the records stay. */
  sluice_dbus_batch_call_cancel_sync (dropped, NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (listed_state_is (manager, "held-2", "cancelled"), 10000);
  DBUS_TEST_WAIT_UNTIL (property_state_is (f, dropped_path, "cancelled"), 10000);
  g_assert_cmpuint (listed_count (manager, "held-2", "pending"), ==, 10);
  g_assert_cmpuint (listed_count (manager, "held-2", "succeeded"), ==, 0);
  sluice_dbus_batch_call_close_sync (dropped, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidState");
  g_clear_error (&error);
  sluice_dbus_batch_call_cancel_sync (dropped, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidState");
  g_clear_error (&error);
  sluice_dbus_batch_call_pause_sync (dropped, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidState");
  g_clear_error (&error);
  g_assert_cmpuint (dbus_test_count_lines (out), ==, 10);
}

static void
test_expired (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autofree char   *body = records (3, 0);
  g_autofree char   *path = dbus_test_object_path ("batches", "short-lived");
  SluiceDBusManager *manager;

  g_test_summary ("A batch that expires from the store leaves ListBatches and its object "
                  "goes away");
  dbus_test_sluiced_write_workflow (
      f->daemon, "short.json",
      "{\"name\": \"short\", \"trigger\": {\"use\": \"core.manual\"},"
      " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
      "  {\"id\": \"load\", \"use\": \"batch\", \"with\": {\"id\": \"short-lived\","
      "   \"close\": \"manual\", \"expire\": \"3s\"}},"
      "  {\"id\": \"store\", \"use\": \"file.write\", \"with\": {\"directory\": \"@DIR@/out\"}}]}");
  dbus_test_sluiced_start (f->daemon);
  manager = dbus_test_sluiced_get_manager (f->daemon);
  finished = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                    SLUICE_RUN_IFACE, "Finished");

  fill (f, finished, "short", body);
  DBUS_TEST_WAIT_UNTIL (batch_listed (manager, "short-lived"), 10000);
  DBUS_TEST_WAIT_UNTIL (property_state_is (f, path, "open"), 10000);

  DBUS_TEST_WAIT_UNTIL (!batch_listed (manager, "short-lived"), 15000);
  DBUS_TEST_WAIT_UNTIL (!batch_exported (f, path), 15000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/dbus/batch/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("pause-resume/progress", test_pause_resume);
  ADD ("retry-failed/list-failed", test_retry_failed);
  ADD ("close-cancel/properties", test_close_cancel);
  ADD ("expired/object-removed", test_expired);
#undef ADD

  return g_test_run ();
}
