/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sluicectl against a running sluiced: its --json output parsed and
 * checked against what the API says, its exit statuses, and "batch watch"
 * on a pipe (plain lines, exit 0 when the batch completes). */
#include <signal.h>
#include <string.h>

#include "dbus-test-util.h"
#include "redis-test-server.h"

#define RUN_TIMEOUT_MS 20000
#define WATCHED_RECORDS 60

#define OK_WORKFLOW(name) DBUS_TEST_OK_WORKFLOW (name, "1")

typedef struct
{
  RedisTestServer *redis;
  DBusTestBus     *bus;
  DBusTestSluiced *daemon;
  DBusTestSignals *finished;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->redis = redis_test_server_start (NULL);
  f->bus = dbus_test_bus_start ();
  f->daemon = dbus_test_sluiced_new (f->bus, redis_test_server_get_url (f->redis));
  dbus_test_sluiced_write_workflow (f->daemon, "alpha.json", OK_WORKFLOW ("alpha"));
  dbus_test_sluiced_write_workflow (f->daemon, "bravo.json", OK_WORKFLOW ("bravo"));
  dbus_test_sluiced_write_workflow (
      f->daemon, "slow.json",
      "{\"name\": \"slow\", \"trigger\": {\"use\": \"core.manual\"},"
      " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
      "  {\"id\": \"batch\", \"use\": \"batch\", \"with\": {\"id\": \"watched\", \"chunk\": 5}},"
      "  {\"id\": \"store\", \"use\": \"file.write\", \"rate_limit\": {\"per_second\": 20,"
      "   \"burst\": 1}, \"with\": {\"directory\": \"@DIR@/out\", \"filename\": \"all.jsonl\","
      "   \"mode\": \"append\"}}]}");
  dbus_test_sluiced_set_session (f->daemon, g_strcmp0 (data, "session") == 0);
  dbus_test_sluiced_start (f->daemon);
  f->finished = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                       SLUICE_RUN_IFACE, "Finished");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->finished, dbus_test_signals_free);
  dbus_test_teardown (&f->daemon, &f->bus);
  g_clear_pointer (&f->redis, redis_test_server_free);
}

/* Runs sluicectl with @args (NULL-terminated); returns its exit status. */
static int
sluicectl (Fixture *f, const char *const *args, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *) dbus_test_sluicectl_path ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  return dbus_test_run (f->bus, (const char *const *) argv->pdata, out, err);
}

/* Runs "sluicectl --json ARGS", expects exit 0 and returns the JSON. */
static JsonNode *
sluicectl_json (Fixture *f, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;

  g_ptr_array_add (argv, (char *) "--json");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_cmpint (sluicectl (f, (const char *const *) argv->pdata, &out, NULL), ==, 0);
  return dbus_test_parse_json (out);
}

static gint64
iso_to_usec (const char *text)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_iso8601 (text, NULL);

  g_assert_nonnull (time);
  return g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
}

/* A JSON object member against the same key of an a{sv} from the API:
 * strings, numbers, booleans; times (x) as ISO 8601 or null for 0. */
static void
assert_member_matches (JsonObject *object, GVariant *dict, const char *key)
{
  g_autoptr (GVariant) value = g_variant_lookup_value (dict, key, NULL);
  JsonNode *member = json_object_get_member (object, key);

  g_test_message ("key %s", key);
  g_assert_nonnull (value);
  g_assert_nonnull (member);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    g_assert_cmpstr (json_node_get_string (member), ==, g_variant_get_string (value, NULL));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    g_assert_cmpint (json_node_get_int (member), ==, g_variant_get_uint32 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    g_assert_cmpint (json_node_get_int (member), ==, (gint64) g_variant_get_uint64 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    g_assert_cmpint (json_node_get_boolean (member), ==, g_variant_get_boolean (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    {
      if (g_variant_get_int64 (value) == 0)
        g_assert_true (JSON_NODE_HOLDS_NULL (member));
      else
        g_assert_cmpint (iso_to_usec (json_node_get_string (member)), ==,
                         g_variant_get_int64 (value));
    }
  else
    g_assert_not_reached ();
}

static GVariant *
empty_dict (void)
{
  return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);
}

static void
test_workflows (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GVariant) api = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char   *state = NULL;
  g_autofree char   *err = NULL;
  SluiceDBusManager *manager = dbus_test_sluiced_get_manager (f->daemon);
  JsonArray         *array;

  g_test_summary ("sluicectl --json workflows lists what ListWorkflows says; enable, disable, "
                  "pause and resume change it, with exit 3 for an unknown workflow, 6 for a "
                  "wrong state and 2 for a usage error");
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflow", "disable", "bravo", NULL },
                              NULL, NULL),
                   ==, 0);
  state = dbus_test_workflow_state (manager, "bravo");
  g_assert_cmpstr (state, ==, "disabled");
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflow", "pause", "alpha", NULL },
                              NULL, NULL),
                   ==, 0);
  g_clear_pointer (&state, g_free);
  state = dbus_test_workflow_state (manager, "alpha");
  g_assert_cmpstr (state, ==, "paused");

  root = sluicectl_json (f, (const char *const[]){ "workflows", NULL });
  sluice_dbus_manager_call_list_workflows_sync (manager, &api, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  array = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (array), ==, g_variant_n_children (api));
  g_assert_cmpuint (json_array_get_length (array), ==, 3);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);
      g_autoptr (GVariant) dict = g_variant_get_child_value (api, i);
      const char *const keys[] = { "name", "path", "state", "trigger", "concurrency", NULL };

      for (guint k = 0; keys[k] != NULL; k++)
        assert_member_matches (object, dict, keys[k]);
    }
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (array, 0),
                                                  "state"),
                   ==, "paused");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (array, 1),
                                                  "state"),
                   ==, "disabled");

  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflow", "resume", "alpha", NULL },
                              NULL, NULL),
                   ==, 0);
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflow", "enable", "bravo", NULL },
                              NULL, NULL),
                   ==, 0);
  g_clear_pointer (&state, g_free);
  state = dbus_test_workflow_state (manager, "bravo");
  g_assert_cmpstr (state, ==, "running");
  g_clear_pointer (&state, g_free);
  state = dbus_test_workflow_state (manager, "alpha");
  g_assert_cmpstr (state, ==, "running");

  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflow", "enable", "alpha", NULL },
                              NULL, NULL),
                   ==, 6);
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflow", "enable", "nope", NULL },
                              NULL, &err),
                   ==, 3);
  g_assert_nonnull (strstr (err, "nope"));
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "no-such-command", NULL }, NULL, NULL),
                   ==, 2);
}

static void
test_status_plugins (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) status = NULL;
  g_autoptr (JsonNode) plugins = NULL;
  g_autoptr (GVariant) api_plugins = NULL;
  SluiceDBusManager *manager = dbus_test_sluiced_get_manager (f->daemon);
  JsonObject        *object;
  JsonArray         *array;

  g_test_summary ("sluicectl --json status and plugins agree with the Version and Plugins "
                  "properties and the lists");
  api_plugins = sluice_dbus_manager_dup_plugins (manager);

  status = sluicectl_json (f, (const char *const[]){ "status", NULL });
  g_assert_true (JSON_NODE_HOLDS_OBJECT (status));
  object = json_node_get_object (status);
  g_assert_cmpstr (json_object_get_string_member (object, "version"), ==, SLUICE_TEST_VERSION);
  g_assert_cmpint (json_object_get_int_member (object, "plugins"), ==,
                   g_variant_n_children (api_plugins));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object,
                                                                              "workflows"),
                                               "total"),
                   ==, 3);
  g_assert_cmpint (json_object_get_int_member (object, "dead_letters"), ==, 0);

  plugins = sluicectl_json (f, (const char *const[]){ "plugins", NULL });
  g_assert_true (JSON_NODE_HOLDS_ARRAY (plugins));
  array = json_node_get_array (plugins);
  g_assert_cmpuint (json_array_get_length (array), ==, g_variant_n_children (api_plugins));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *plugin = json_array_get_object_element (array, i);
      JsonArray  *components = json_object_get_array_member (plugin, "components");
      const char *name, *version, *path;
      g_autoptr (GVariant) api_components = NULL;

      g_variant_get_child (api_plugins, i, "(&s&s&s@a(ss))", &name, &version, &path,
                           &api_components);
      g_assert_cmpstr (json_object_get_string_member (plugin, "name"), ==, name);
      g_assert_cmpstr (json_object_get_string_member (plugin, "version"), ==, version);
      g_assert_cmpstr (json_object_get_string_member (plugin, "path"), ==, path);
      g_assert_cmpuint (json_array_get_length (components), ==,
                        g_variant_n_children (api_components));
      for (guint c = 0; c < json_array_get_length (components); c++)
        {
          JsonObject *component = json_array_get_object_element (components, c);
          const char *component_name, *interface;

          g_variant_get_child (api_components, c, "(&s&s)", &component_name, &interface);
          g_assert_cmpstr (json_object_get_string_member (component, "name"), ==,
                           component_name);
          g_assert_cmpstr (json_object_get_string_member (component, "interface"), ==,
                           interface);
        }
    }
}

static void
test_trigger_runs_dead_letters (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) triggered = NULL;
  g_autoptr (JsonNode) runs = NULL;
  g_autoptr (JsonNode) letters = NULL;
  g_autoptr (JsonNode) letter = NULL;
  g_autoptr (JsonNode) status = NULL;
  g_autoptr (GVariant) api_runs = NULL;
  g_autoptr (GVariant) api_letters = NULL;
  g_autoptr (GVariant) run_state = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char   *err = NULL;
  g_autofree char   *out = NULL;
  g_autofree guchar *payload = NULL;
  SluiceDBusManager *manager = dbus_test_sluiced_get_manager (f->daemon);
  JsonObject        *object;
  JsonArray         *array;
  gsize              payload_len;
  const char        *letter_id;

  g_test_summary ("sluicectl workflow trigger --wait exits 0 for a run that succeeds and 1 for "
                  "one that fails; runs and dead-letters list/show print what the API says");
  triggered = sluicectl_json (f, (const char *const[]){ "workflow", "trigger", "alpha",
                                                        "--payload", "{\"id\": 1}", "--header",
                                                        "content-type=application/json",
                                                        "--wait", NULL });
  object = json_node_get_object (triggered);
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "succeeded");
  run_state = dbus_test_get_property (dbus_test_sluiced_get_connection (f->daemon),
                                      json_object_get_string_member (object, "path"),
                                      SLUICE_RUN_IFACE, "State", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (run_state, NULL), ==, "succeeded");

  g_assert_cmpint (sluicectl (f,
                              (const char *const[]){ "workflow", "trigger", "alpha", "--payload",
                                                     "{\"no\": 1}", "--header", "x-test=yes",
                                                     "--wait", NULL },
                              &out, &err),
                   ==, 1);
  g_assert_nonnull (strstr (err, "failed"));
  g_assert_cmpint (sluicectl (f,
                              (const char *const[]){ "workflow", "trigger", "nope", "--payload",
                                                     "{}", NULL },
                              NULL, NULL),
                   ==, 3);

  /* runs: newest first, as ListRuns. */
  runs = sluicectl_json (f, (const char *const[]){ "runs", NULL });
  sluice_dbus_manager_call_list_runs_sync (manager, empty_dict (), &api_runs, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (runs));
  array = json_node_get_array (runs);
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  g_assert_cmpuint (g_variant_n_children (api_runs), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *run = json_array_get_object_element (array, i);
      g_autoptr (GVariant) dict = g_variant_get_child_value (api_runs, i);
      const char *const keys[] = { "id", "workflow", "state", "started", "finished", "error",
                                   "trace_id", "path", NULL };

      for (guint k = 0; keys[k] != NULL; k++)
        assert_member_matches (run, dict, keys[k]);
    }
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (array, 0),
                                                  "state"),
                   ==, "failed");

  /* The failed run's dead letter. */
  letters = sluicectl_json (f, (const char *const[]){ "dead-letters", "list", NULL });
  sluice_dbus_manager_call_list_dead_letters_sync (manager, empty_dict (), &api_letters, NULL,
                                                   &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (letters));
  array = json_node_get_array (letters);
  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  g_assert_cmpuint (g_variant_n_children (api_letters), ==, 1);
  {
    JsonObject *listed = json_array_get_object_element (array, 0);
    g_autoptr (GVariant) dict = g_variant_get_child_value (api_letters, 0);
    const char *const keys[] = { "id", "workflow", "node", "error", "source", "trace_id",
                                 "attempts", "first", "last", "size", NULL };

    for (guint k = 0; keys[k] != NULL; k++)
      assert_member_matches (listed, dict, keys[k]);
    letter_id = json_object_get_string_member (listed, "id");

    letter = sluicectl_json (f, (const char *const[]){ "dead-letters", "show", letter_id,
                                                       NULL });
  }
  object = json_node_get_object (letter);
  g_assert_cmpstr (json_object_get_string_member (object, "workflow"), ==, "alpha");
  payload = g_base64_decode (json_object_get_string_member (object, "payload_base64"),
                             &payload_len);
  g_assert_cmpmem (payload, payload_len, "{\"no\": 1}", strlen ("{\"no\": 1}"));

  status = sluicectl_json (f, (const char *const[]){ "status", NULL });
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (status), "dead_letters"),
                   ==, 1);

  g_assert_cmpint (sluicectl (f,
                              (const char *const[]){ "dead-letters", "show", "no-such-letter",
                                                     NULL },
                              NULL, NULL),
                   ==, 3);
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "dead-letters", "purge", "--all", NULL },
                              NULL, NULL),
                   ==, 0);
  g_clear_pointer (&api_letters, g_variant_unref);
  sluice_dbus_manager_call_list_dead_letters_sync (manager, empty_dict (), &api_letters, NULL,
                                                   &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (api_letters), ==, 0);
}

static gboolean
batch_listed (SluiceDBusManager *manager, const char *id)
{
  g_autoptr (GVariant) batches = NULL;
  g_autoptr (GVariant) entry = NULL;
  g_autoptr (GError) error = NULL;

  sluice_dbus_manager_call_list_batches_sync (manager, &batches, NULL, &error);
  g_assert_no_error (error);
  entry = dbus_test_find_dict (batches, "id", id);
  return entry != NULL;
}

static void
test_batches_watch (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) body = g_string_new (NULL);
  g_autoptr (GRegex) line_re = NULL;
  g_autoptr (JsonNode) batches = NULL;
  g_autoptr (JsonNode) shown = NULL;
  g_autoptr (GVariant) api = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *run = NULL;
  g_autofree char *state = NULL;
  g_autofree char *out = NULL;
  g_autofree char *expected_last = NULL;
  g_auto (GStrv) lines = NULL;
  SluiceDBusManager *manager = dbus_test_sluiced_get_manager (f->daemon);
  JsonObject        *object;
  guint              n_lines;

  g_test_summary ("sluicectl --json batches agrees with ListBatches; batch watch on a pipe "
                  "prints one plain line per change and exits 0 when the batch completes, on a "
                  "terminal it redraws a progress bar");
  for (guint i = 1; i <= WATCHED_RECORDS; i++)
    g_string_append_printf (body, "{\"n\": %u}\n", i);
  run = dbus_test_trigger (manager, "slow", body->str, NULL);
  state = dbus_test_wait_run (f->finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");
  DBUS_TEST_WAIT_UNTIL (batch_listed (manager, "watched"), 10000);

  batches = sluicectl_json (f, (const char *const[]){ "batches", NULL });
  sluice_dbus_manager_call_list_batches_sync (manager, &api, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (batches));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (batches)), ==, 1);
  {
    JsonObject *listed = json_array_get_object_element (json_node_get_array (batches), 0);
    g_autoptr (GVariant) dict = g_variant_get_child_value (api, 0);
    const char *const keys[] = { "id", "path", "workflow", "chunk_size", "created", NULL };

    for (guint k = 0; keys[k] != NULL; k++)
      assert_member_matches (listed, dict, keys[k]);
  }

  /* Follows the batch to its end. */
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "batch", "watch", "watched", NULL }, &out,
                              NULL),
                   ==, 0);
  g_assert_null (strchr (out, '\r'));
  g_assert_null (strchr (out, '\033'));
  lines = g_strsplit (g_strchomp (out), "\n", -1);
  n_lines = g_strv_length (lines);
  g_assert_cmpuint (n_lines, >=, 2);
  line_re = g_regex_new ("^\\S+ (open|closed|completed) pending=\\d+ processing=\\d+ "
                         "succeeded=\\d+ failed=\\d+ rate=[0-9.]+/s paused=(yes|no)$",
                         0, 0, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_lines; i++)
    {
      if (!g_regex_match (line_re, lines[i], 0, NULL))
        g_test_message ("unexpected line: %s", lines[i]);
      g_assert_true (g_regex_match (line_re, lines[i], 0, NULL));
      if (i > 0)
        g_assert_cmpstr (lines[i], !=, lines[i - 1]);
    }
  expected_last = g_strdup_printf (" completed pending=0 processing=0 succeeded=%u failed=0 ",
                                   WATCHED_RECORDS);
  g_assert_nonnull (strstr (lines[n_lines - 1], expected_last));

  shown = sluicectl_json (f, (const char *const[]){ "batch", "show", "watched", NULL });
  object = json_node_get_object (shown);
  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, "watched");
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "completed");
  g_assert_cmpint (json_object_get_int_member (object, "succeeded"), ==, WATCHED_RECORDS);

  /* On a terminal (script(1) gives it one): one line redrawn in place,
   * with the bar, the percentage and the counts. */
  {
    g_autofree char *command = g_strdup_printf ("%s batch watch watched",
                                                dbus_test_sluicectl_path ());
    const char *const argv[] = { "script", "-q", "-e", "-c", command, "/dev/null", NULL };
    g_autofree char *tty_out = NULL;

    g_assert_cmpint (dbus_test_run (f->bus, argv, &tty_out, NULL), ==, 0);
    g_test_message ("on a terminal: %s", tty_out);
    g_assert_nonnull (strstr (tty_out, "\r"));
    g_assert_nonnull (strstr (tty_out, "\033[K"));
    g_assert_nonnull (strstr (tty_out, "100%"));
    g_assert_nonnull (strstr (tty_out, "[#"));
    g_assert_null (strstr (tty_out, "pending="));
  }

  g_assert_cmpint (sluicectl (f, (const char *const[]){ "batch", "watch", "no-such-batch", NULL },
                              NULL, NULL),
                   ==, 3);
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "batch", "close", "watched", NULL }, NULL,
                              NULL),
                   ==, 6);
}

static void
test_unreachable (Fixture *f, gconstpointer data)
{
  g_autofree char *err = NULL;

  g_test_summary ("sluicectl exits 5 when sluiced is not on the bus");
  dbus_test_sluiced_stop (f->daemon);
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflows", NULL }, NULL, &err), ==, 5);
  g_assert_cmpstr (err, !=, "");
}

static void
test_invalid_input_and_timeout (Fixture *f, gconstpointer data)
{
  g_autofree char *broken = g_build_filename (dbus_test_sluiced_get_dir (f->daemon),
                                              "broken.json", NULL);
  g_autofree char *err = NULL;
  g_autofree char *state = NULL;
  gint64 started;
  int status;

  g_test_summary ("sluicectl exits 7 for input the daemon refuses (a workflow file that does not "
                  "load) and 8 when the daemon does not answer within --timeout");
  dbus_test_write_file (broken, NULL, "{\"name\": \"broken\", \"trigger\": {\"use\": \"no.such\"}}");
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflow", "load", broken, NULL }, NULL,
                              &err), ==, 7);
  g_assert_nonnull (strstr (err, "no.such"));

  /* Frozen: the call goes out, no answer comes back. */
  dbus_test_sluiced_send_signal (f->daemon, SIGSTOP);
  started = g_get_monotonic_time ();
  status = sluicectl (f, (const char *const[]){ "--timeout", "1", "workflows", NULL }, NULL, NULL);
  dbus_test_sluiced_send_signal (f->daemon, SIGCONT);
  g_assert_cmpint (status, ==, 8);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);

  /* Thawed, it answers again, and the refused file changed nothing. */
  state = dbus_test_workflow_state (dbus_test_sluiced_get_manager (f->daemon), "alpha");
  g_assert_cmpstr (state, ==, "running");
  g_assert_cmpint (sluicectl (f, (const char *const[]){ "workflows", NULL }, NULL, NULL), ==, 0);
}

/* "unix:path=..." where no bus listens. */
static char *
nowhere (Fixture *f)
{
  return g_strdup_printf ("unix:path=%s/no-such-bus", dbus_test_sluiced_get_dir (f->daemon));
}

static guint
listed_workflows (const char *out)
{
  g_autoptr (JsonNode) root = dbus_test_parse_json (out);

  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  return json_array_get_length (json_node_get_array (root));
}

static void
test_address (Fixture *f, gconstpointer data)
{
  g_autofree char  *away = nowhere (f);
  g_autofree char  *out = NULL;
  g_autofree char  *err = NULL;
  const char *const env[] = { "DBUS_SYSTEM_BUS_ADDRESS", away, NULL };

  g_test_summary ("sluicectl --address talks to the bus given, whatever the environment says; "
                  "without it, a system bus that is not there is exit 5");
  {
    const char *const argv[] = { dbus_test_sluicectl_path (), "--address",
                                 dbus_test_bus_get_address (f->bus), "--json", "workflows",
                                 NULL };

    g_assert_cmpint (dbus_test_run_with_env (f->bus, argv, env, &out, NULL), ==, 0);
    g_assert_cmpuint (listed_workflows (out), ==, 3);
  }
  {
    const char *const argv[] = { dbus_test_sluicectl_path (), "workflows", NULL };

    g_assert_cmpint (dbus_test_run_with_env (f->bus, argv, env, NULL, &err), ==, 5);
    g_assert_cmpstr (err, !=, "");
  }
}

static void
test_session (Fixture *f, gconstpointer data)
{
  g_autofree char  *away = nowhere (f);
  g_autofree char  *out = NULL;
  const char *const env[] = { "DBUS_SYSTEM_BUS_ADDRESS", away, "DBUS_SESSION_BUS_ADDRESS",
                              dbus_test_bus_get_address (f->bus), NULL };

  g_test_summary ("sluiced --session serves the API on the session bus, where sluicectl "
                  "--session finds it; the system bus is not used");
  {
    const char *const argv[] = { dbus_test_sluicectl_path (), "--session", "--json",
                                 "workflows", NULL };

    g_assert_cmpint (dbus_test_run_with_env (f->bus, argv, env, &out, NULL), ==, 0);
    g_assert_cmpuint (listed_workflows (out), ==, 3);
  }
  {
    const char *const argv[] = { dbus_test_sluicectl_path (), "workflows", NULL };

    g_assert_cmpint (dbus_test_run_with_env (f->bus, argv, env, NULL, NULL), ==, 5);
  }
  {
    g_autofree char  *state = NULL;
    const char *const argv[] = { dbus_test_sluicectl_path (), "--session", "workflow", "disable",
                                 "alpha", NULL };

    g_assert_cmpint (dbus_test_run_with_env (f->bus, argv, env, NULL, NULL), ==, 0);
    state = dbus_test_workflow_state (dbus_test_sluiced_get_manager (f->daemon), "alpha");
    g_assert_cmpstr (state, ==, "disabled");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/dbus/sluicectl/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("workflows/json-and-exit-status", test_workflows);
  ADD ("status-plugins/json", test_status_plugins);
  ADD ("trigger-wait/runs/dead-letters", test_trigger_runs_dead_letters);
  ADD ("batches/watch-on-pipe", test_batches_watch);
  ADD ("unreachable/exit-5", test_unreachable);
  ADD ("invalid-input-and-timeout/exit-7-8", test_invalid_input_and_timeout);
  ADD ("address/option", test_address);
#undef ADD
  g_test_add ("/dbus/sluicectl/session-bus", Fixture, "session", fixture_setup, test_session,
              fixture_teardown);

  return g_test_run ();
}
