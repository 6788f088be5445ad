/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sluice.Sluice1.Manager and org.sluice.Sluice1.Run through the
 * generated proxies: sluiced on a private system bus, without Redis
 * (workflows, runs, dead letters in the state folder). */
#include <string.h>

#include <glib/gstdio.h>

#include "dbus-test-util.h"

#define RUN_TIMEOUT_MS 20000
#define TRACE_ID "4bf92f3577b34da6a3ce929d0e0e4736"
#define TRACEPARENT "00-" TRACE_ID "-00f067aa0ba902b7-01"

#define OK_WORKFLOW DBUS_TEST_OK_WORKFLOW

typedef struct
{
  DBusTestBus     *bus;
  DBusTestSluiced *daemon;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->bus = dbus_test_bus_start ();
  f->daemon = dbus_test_sluiced_new (f->bus, "none");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  dbus_test_teardown (&f->daemon, &f->bus);
}

static SluiceDBusManager *
start (Fixture *f)
{
  dbus_test_sluiced_start (f->daemon);
  return dbus_test_sluiced_get_manager (f->daemon);
}

static GVariant *
list_workflows (SluiceDBusManager *manager)
{
  g_autoptr (GError) error = NULL;
  GVariant *workflows = NULL;

  sluice_dbus_manager_call_list_workflows_sync (manager, &workflows, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (workflows, G_VARIANT_TYPE ("aa{sv}")));
  return workflows;
}

static char *
names (SluiceDBusManager *manager)
{
  g_autoptr (GVariant) workflows = list_workflows (manager);

  return dbus_test_workflow_names (workflows);
}

static gboolean
state_is (SluiceDBusManager *manager, const char *name, const char *state)
{
  g_autofree char *current = dbus_test_workflow_state (manager, name);

  return g_strcmp0 (current, state) == 0;
}

static GVariant *
empty_dict (void)
{
  return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);
}

static gboolean
is_hex32 (const char *text)
{
  if (strlen (text) != 32 || strspn (text, "0123456789abcdef") != 32)
    return FALSE;
  return strspn (text, "0") != 32;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
strv_equal_sorted (char **strv, const char *expected)
{
  g_auto (GStrv) want = g_strsplit (expected, " ", -1);
  g_autoptr (GPtrArray) got = g_ptr_array_new ();

  if (*expected == '\0')
    return g_strv_length (strv) == 0;
  for (guint i = 0; strv[i] != NULL; i++)
    g_ptr_array_add (got, strv[i]);
  g_ptr_array_sort (got, compare_strings);
  if (got->len != g_strv_length (want))
    return FALSE;
  for (guint i = 0; i < got->len; i++)
    if (!g_str_equal (g_ptr_array_index (got, i), want[i]))
      return FALSE;
  return TRUE;
}

static void
test_properties (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) plugins = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) version = NULL;
  SluiceDBusManager *manager;
  GVariantIter       iter;
  const char        *name, *plugin_version, *file;
  GVariantIter      *components;
  gboolean           builtin_seen = FALSE, file_seen = FALSE, schedule_seen = FALSE;

  g_test_summary ("Version is the project's version and Plugins lists every loaded plugin "
                  "with its file and components");
  manager = start (f);

  version = dbus_test_get_property (dbus_test_sluiced_get_connection (f->daemon),
                                    SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE, "Version", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (version, NULL), ==, SLUICE_TEST_VERSION);
  g_assert_cmpstr (sluice_dbus_manager_get_version (manager), ==, SLUICE_TEST_VERSION);

  plugins = sluice_dbus_manager_dup_plugins (manager);
  g_assert_nonnull (plugins);
  g_assert_cmpstr (g_variant_get_type_string (plugins), ==, "a(sssa(ss))");
  {
    g_autofree char *text = g_variant_print (plugins, FALSE);

    g_test_message ("Plugins: %s", text);
  }
  g_assert_cmpuint (g_variant_n_children (plugins), >=, 3);

  g_variant_iter_init (&iter, plugins);
  while (g_variant_iter_next (&iter, "(&s&s&sa(ss))", &name, &plugin_version, &file, &components))
    {
      const char *component, *interface;

      g_assert_cmpstr (name, !=, "");
      g_assert_cmpstr (plugin_version, !=, "");
      if (!g_str_equal (file, "built-in"))
        {
          g_assert_true (g_path_is_absolute (file));
          g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
        }
      while (g_variant_iter_next (components, "(&s&s)", &component, &interface))
        {
          const char *const interfaces[] = { "trigger", "step", "source", "batch-store",
                                             "state-store", "dead-letter-store", NULL };

          g_assert_true (g_strv_contains (interfaces, interface));
          if (g_str_equal (component, "core.manual"))
            {
              g_assert_cmpstr (file, ==, "built-in");
              g_assert_cmpstr (interface, ==, "trigger");
              g_assert_cmpstr (plugin_version, ==, SLUICE_TEST_VERSION);
              builtin_seen = TRUE;
            }
          else if (g_str_equal (component, "file.write"))
            {
              g_assert_true (g_str_has_suffix (file, ".so"));
              g_assert_cmpstr (interface, ==, "step");
              file_seen = TRUE;
            }
          else if (g_str_equal (component, "schedule.interval"))
            {
              g_assert_cmpstr (interface, ==, "trigger");
              schedule_seen = TRUE;
            }
        }
      g_variant_iter_free (components);
    }
  g_assert_true (builtin_seen);
  g_assert_true (file_seen);
  g_assert_true (schedule_seen);
}

static void
test_list_workflows (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) workflows = NULL;
  g_autoptr (GVariant) alpha = NULL;
  g_autofree char   *alpha_path = NULL;
  g_autofree char   *listed = NULL;
  SluiceDBusManager *manager;

  g_test_summary ("ListWorkflows: every workflow of the folder, sorted by name, with its file, "
                  "state, trigger and concurrency, as soon as the daemon owns its name");
  dbus_test_sluiced_write_workflow (f->daemon, "z.json", OK_WORKFLOW ("charlie", "1"));
  alpha_path = dbus_test_sluiced_workflow_path (f->daemon, "y.json");
  dbus_test_sluiced_write_workflow (f->daemon, "y.json", OK_WORKFLOW ("alpha", "3"));
  dbus_test_sluiced_write_workflow (f->daemon, "x.json",
                                    "{\"name\": \"bravo\", \"trigger\": {\"use\": "
                                    "\"schedule.interval\", \"with\": {\"every\": \"1h\"}},"
                                    " \"steps\": [{\"id\": \"m\", \"use\": \"map\", \"with\":"
                                    " {\"fields\": {\"t\": \"$.scheduled\"}}}]}");
  manager = start (f);

  workflows = list_workflows (manager);
  listed = dbus_test_workflow_names (workflows);
  g_assert_cmpstr (listed, ==, "alpha bravo charlie");

  alpha = dbus_test_find_dict (workflows, "name", "alpha");
  g_assert_nonnull (alpha);
  g_assert_cmpstr (dbus_test_dict_string (alpha, "path"), ==, alpha_path);
  g_assert_cmpstr (dbus_test_dict_string (alpha, "state"), ==, "running");
  g_assert_cmpstr (dbus_test_dict_string (alpha, "trigger"), ==, "core.manual");
  g_assert_cmpuint (dbus_test_dict_uint32 (alpha, "concurrency"), ==, 3);
  g_assert_cmpuint (dbus_test_dict_uint32 (alpha, "running"), ==, 0);
  g_assert_cmpuint (dbus_test_dict_uint32 (alpha, "waiting"), ==, 0);

  {
    g_autoptr (GVariant) bravo = dbus_test_find_dict (workflows, "name", "bravo");

    g_assert_nonnull (bravo);
    g_assert_cmpstr (dbus_test_dict_string (bravo, "trigger"), ==, "schedule.interval");
    g_assert_cmpuint (dbus_test_dict_uint32 (bravo, "concurrency"), >=, 1);
  }
}

static void
test_load_workflow (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) changed = NULL;
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char   *extra_dir = g_build_filename (dbus_test_sluiced_get_dir (f->daemon), "extra",
                                                   NULL);
  g_autofree char   *extra = g_build_filename (extra_dir, "extra.json", NULL);
  g_autofree char   *bad = g_build_filename (extra_dir, "bad.json", NULL);
  g_autofree char   *name = NULL;
  g_autofree char   *run = NULL;
  g_autofree char   *state = NULL;
  g_autofree char   *listed = NULL;
  SluiceDBusManager *manager;
  guint              before;

  g_test_summary ("LoadWorkflow runs a file from anywhere (replacing a workflow of the same "
                  "name), refuses an invalid file with InvalidConfig naming every problem and "
                  "a relative path with InvalidArgument; the workflow is gone after a restart");
  dbus_test_sluiced_write_workflow (f->daemon, "base.json", OK_WORKFLOW ("base", "1"));
  g_assert_cmpint (g_mkdir (extra_dir, 0755), ==, 0);
  dbus_test_write_file (extra, "", OK_WORKFLOW ("extra", "2"));
  manager = start (f);
  changed = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                   SLUICE_MANAGER_IFACE, "WorkflowsChanged");
  finished = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                    SLUICE_RUN_IFACE, "Finished");

  sluice_dbus_manager_call_load_workflow_sync (manager, extra, &name, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "extra");
  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (changed, NULL) >= 1, 5000);
  listed = names (manager);
  g_assert_cmpstr (listed, ==, "base extra");
  {
    g_autoptr (GVariant) workflows = list_workflows (manager);
    g_autoptr (GVariant) dict = dbus_test_find_dict (workflows, "name", "extra");

    g_assert_cmpstr (dbus_test_dict_string (dict, "path"), ==, extra);
    g_assert_cmpuint (dbus_test_dict_uint32 (dict, "concurrency"), ==, 2);
    g_assert_cmpstr (dbus_test_dict_string (dict, "state"), ==, "running");
  }

  /* It runs. */
  run = dbus_test_trigger (manager, "extra", "{\"id\": 1}", NULL);
  state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");

  /* Loading it again, changed, replaces it. */
  before = dbus_test_signals_count (changed, NULL);
  dbus_test_write_file (extra, "", OK_WORKFLOW ("extra", "5"));
  g_clear_pointer (&name, g_free);
  sluice_dbus_manager_call_load_workflow_sync (manager, extra, &name, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "extra");
  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (changed, NULL) > before, 5000);
  {
    g_autoptr (GVariant) workflows = list_workflows (manager);
    g_autoptr (GVariant) dict = dbus_test_find_dict (workflows, "name", "extra");
    g_autofree char *all = dbus_test_workflow_names (workflows);

    g_assert_cmpstr (all, ==, "base extra");
    g_assert_cmpuint (dbus_test_dict_uint32 (dict, "concurrency"), ==, 5);
  }

  /* Every problem of an invalid file is named. */
  dbus_test_write_file (bad, "",
                        "{\"name\": \"bad\", \"trigger\": {\"use\": \"core.manual\"},"
                        " \"concurrency\": 0,"
                        " \"steps\": [{\"id\": \"s\", \"use\": \"no-such.component\"}]}");
  g_clear_pointer (&name, g_free);
  sluice_dbus_manager_call_load_workflow_sync (manager, bad, &name, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidConfig");
  g_assert_nonnull (strstr (error->message, "no-such.component"));
  g_assert_nonnull (strstr (error->message, "concurrency"));
  g_clear_error (&error);
  g_clear_pointer (&listed, g_free);
  listed = names (manager);
  g_assert_cmpstr (listed, ==, "base extra");

  /* Not JSON at all. */
  dbus_test_write_file (bad, "", "{\"name\": ");
  sluice_dbus_manager_call_load_workflow_sync (manager, bad, &name, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidConfig");
  g_clear_error (&error);

  sluice_dbus_manager_call_load_workflow_sync (manager, "extra/extra.json", &name, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidArgument");
  g_clear_error (&error);

  /* A file outside the workflows folder is not kept. */
  dbus_test_sluiced_stop (f->daemon);
  manager = start (f);
  g_clear_pointer (&listed, g_free);
  listed = names (manager);
  g_assert_cmpstr (listed, ==, "base");
}

static void
test_reload (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) changed = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) loaded = NULL;
  g_auto (GStrv) removed = NULL;
  g_autoptr (GVariant) failed = NULL;
  g_autofree char   *gone = NULL;
  g_autofree char   *listed = NULL;
  g_autofree char   *broken_path = NULL;
  g_autofree char   *kept_path = NULL;
  SluiceDBusManager *manager;
  GVariantIter       iter;
  const char        *file, *problem;
  gboolean           broken_seen = FALSE, kept_seen = FALSE;

  g_test_summary ("ReloadWorkflows: new and changed files are loaded, deleted ones removed, "
                  "broken ones reported while a workflow already running from such a file "
                  "keeps running; unchanged and disabled workflows are left alone");
  dbus_test_sluiced_write_workflow (f->daemon, "same.json", OK_WORKFLOW ("same", "1"));
  dbus_test_sluiced_write_workflow (f->daemon, "change.json", OK_WORKFLOW ("change", "2"));
  dbus_test_sluiced_write_workflow (f->daemon, "off.json", OK_WORKFLOW ("off", "1"));
  kept_path = dbus_test_sluiced_workflow_path (f->daemon, "kept.json");
  dbus_test_sluiced_write_workflow (f->daemon, "kept.json", OK_WORKFLOW ("kept", "3"));
  gone = dbus_test_sluiced_workflow_path (f->daemon, "gone.json");
  dbus_test_sluiced_write_workflow (f->daemon, "gone.json", OK_WORKFLOW ("gone", "1"));
  manager = start (f);
  changed = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                   SLUICE_MANAGER_IFACE, "WorkflowsChanged");

  sluice_dbus_manager_call_disable_workflow_sync (manager, "off", NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (state_is (manager, "off", "disabled"), 5000);
  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (changed, NULL) >= 1, 5000);

  /* Nothing changed on disk: nothing to do. */
  sluice_dbus_manager_call_reload_workflows_sync (manager, &loaded, &removed, &failed, NULL,
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (loaded), ==, 0);
  g_assert_cmpuint (g_strv_length (removed), ==, 0);
  g_assert_cmpuint (g_variant_n_children (failed), ==, 0);
  g_clear_pointer (&loaded, g_strfreev);
  g_clear_pointer (&removed, g_strfreev);
  g_clear_pointer (&failed, g_variant_unref);

  dbus_test_sluiced_write_workflow (f->daemon, "new.json", OK_WORKFLOW ("new", "1"));
  dbus_test_sluiced_write_workflow (f->daemon, "change.json", OK_WORKFLOW ("change", "4"));
  g_assert_cmpint (g_unlink (gone), ==, 0);
  broken_path = dbus_test_sluiced_workflow_path (f->daemon, "broken.json");
  dbus_test_sluiced_write_workflow (f->daemon, "broken.json", "{\"name\": [}");
  dbus_test_sluiced_write_workflow (f->daemon, "kept.json",
                                    "{\"name\": \"kept\", \"trigger\": {\"use\": \"core.manual\"},"
                                    " \"steps\": [{\"id\": \"s\", \"use\": \"no-such.step\"}]}");

  sluice_dbus_manager_call_reload_workflows_sync (manager, &loaded, &removed, &failed, NULL,
                                                  &error);
  g_assert_no_error (error);
  {
    g_autofree char *l = g_strjoinv (" ", loaded);
    g_autofree char *r = g_strjoinv (" ", removed);

    g_test_message ("loaded: %s; removed: %s", l, r);
  }
  g_assert_true (strv_equal_sorted (loaded, "change new"));
  g_assert_true (strv_equal_sorted (removed, "gone"));
  g_assert_cmpstr (g_variant_get_type_string (failed), ==, "a{ss}");
  g_assert_cmpuint (g_variant_n_children (failed), ==, 2);
  g_variant_iter_init (&iter, failed);
  while (g_variant_iter_next (&iter, "{&s&s}", &file, &problem))
    {
      g_test_message ("failed: %s: %s", file, problem);
      g_assert_cmpstr (problem, !=, "");
      if (g_str_equal (file, broken_path) || g_str_equal (file, "broken.json"))
        broken_seen = TRUE;
      else if (g_str_equal (file, kept_path) || g_str_equal (file, "kept.json"))
        {
          g_assert_nonnull (strstr (problem, "no-such.step"));
          kept_seen = TRUE;
        }
    }
  g_assert_true (broken_seen);
  g_assert_true (kept_seen);

  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (changed, NULL) >= 2, 5000);
  listed = names (manager);
  g_assert_cmpstr (listed, ==, "change kept new off same");
  {
    g_autoptr (GVariant) workflows = list_workflows (manager);
    g_autoptr (GVariant) change = dbus_test_find_dict (workflows, "name", "change");
    g_autoptr (GVariant) kept = dbus_test_find_dict (workflows, "name", "kept");
    g_autoptr (GVariant) off = dbus_test_find_dict (workflows, "name", "off");

    g_assert_cmpuint (dbus_test_dict_uint32 (change, "concurrency"), ==, 4);
    /* The broken file's workflow runs as it was. */
    g_assert_cmpuint (dbus_test_dict_uint32 (kept, "concurrency"), ==, 3);
    g_assert_cmpstr (dbus_test_dict_string (kept, "state"), ==, "running");
    g_assert_cmpstr (dbus_test_dict_string (off, "state"), ==, "disabled");
  }
}

static void
test_enable_disable (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) changed = NULL;
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char   *listed = NULL;
  g_autofree char   *run = NULL;
  g_autofree char   *state = NULL;
  SluiceDBusManager *manager;
  guint              before;

  g_test_summary ("DisableWorkflow stops a workflow and the choice survives a restart with the "
                  "same state folder until EnableWorkflow; enabling a running workflow is "
                  "InvalidState; unknown names are NotFound");
  dbus_test_sluiced_write_workflow (f->daemon, "a.json", OK_WORKFLOW ("a", "1"));
  dbus_test_sluiced_write_workflow (f->daemon, "b.json", OK_WORKFLOW ("b", "1"));
  manager = start (f);
  changed = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                   SLUICE_MANAGER_IFACE, "WorkflowsChanged");

  sluice_dbus_manager_call_disable_workflow_sync (manager, "a", NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (changed, NULL) >= 1, 5000);
  DBUS_TEST_WAIT_UNTIL (state_is (manager, "a", "disabled"), 5000);
  g_assert_true (state_is (manager, "b", "running"));

  /* A disabled workflow does not run. */
  sluice_dbus_manager_call_trigger_sync (
      manager, "a", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "{}", 2, 1),
      g_variant_new_array (G_VARIANT_TYPE ("{ss}"), NULL, 0), &run, NULL, &error);
  g_assert_nonnull (error);
  g_assert_true (g_dbus_error_is_remote_error (error));
  {
    g_autofree char *remote = g_dbus_error_get_remote_error (error);

    g_assert_true (g_str_has_prefix (remote, "org.sluice.Sluice1.Error."));
  }
  g_clear_error (&error);

  sluice_dbus_manager_call_enable_workflow_sync (manager, "b", NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.InvalidState");
  g_clear_error (&error);
  sluice_dbus_manager_call_enable_workflow_sync (manager, "nope", NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.NotFound");
  g_clear_error (&error);
  sluice_dbus_manager_call_disable_workflow_sync (manager, "nope", NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.NotFound");
  g_clear_error (&error);

  /* Still disabled after a restart. */
  dbus_test_sluiced_stop (f->daemon);
  manager = start (f);
  listed = names (manager);
  g_assert_cmpstr (listed, ==, "a b");
  g_assert_true (state_is (manager, "a", "disabled"));
  g_assert_true (state_is (manager, "b", "running"));

  before = dbus_test_signals_count (changed, NULL);
  sluice_dbus_manager_call_enable_workflow_sync (manager, "a", NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (changed, NULL) > before, 5000);
  g_assert_true (state_is (manager, "a", "running"));

  finished = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                    SLUICE_RUN_IFACE, "Finished");
  run = dbus_test_trigger (manager, "a", "{\"id\": 1}", NULL);
  state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");

  /* Enabled again for good. */
  dbus_test_sluiced_stop (f->daemon);
  manager = start (f);
  g_assert_true (state_is (manager, "a", "running"));
}

/* How many runs of @workflow ListRuns reports; *@out_running: how many of
 * them are running (not queued: a paused workflow's waiting events). */
static guint
count_runs (SluiceDBusManager *manager, const char *workflow, guint *out_running)
{
  g_autoptr (GVariant) runs = NULL;
  g_autoptr (GError) error = NULL;
  GVariantBuilder filter;
  GVariantIter    iter;
  GVariant       *run;
  guint           running = 0;

  g_variant_builder_init (&filter, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&filter, "{sv}", "workflow", g_variant_new_string (workflow));
  g_variant_builder_add (&filter, "{sv}", "limit", g_variant_new_uint32 (1000));
  sluice_dbus_manager_call_list_runs_sync (manager, g_variant_builder_end (&filter), &runs, NULL,
                                           &error);
  g_assert_no_error (error);
  g_variant_iter_init (&iter, runs);
  while ((run = g_variant_iter_next_value (&iter)) != NULL)
    {
      if (g_str_equal (dbus_test_dict_string (run, "state"), "running"))
        running++;
      g_variant_unref (run);
    }
  if (out_running != NULL)
    *out_running = running;
  return (guint) g_variant_n_children (runs);
}

static void
test_pause_resume (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) changed = NULL;
  g_autoptr (GError) error = NULL;
  SluiceDBusManager *manager;
  guint              running = 0, paused_count, before;
  gint64             hold_until;

  g_test_summary ("PauseWorkflow holds a schedule's ticks (no run starts while paused, runs in "
                  "progress finish) and ResumeWorkflow lets them run again");
  dbus_test_sluiced_write_workflow (f->daemon, "tick.json",
                                    "{\"name\": \"tick\", \"trigger\": {\"use\": "
                                    "\"schedule.interval\", \"with\": {\"every\": \"200ms\"}},"
                                    " \"steps\": [{\"id\": \"m\", \"use\": \"map\", \"with\":"
                                    " {\"fields\": {\"t\": \"$.scheduled\"}}}]}");
  dbus_test_sluiced_write_workflow (f->daemon, "other.json", OK_WORKFLOW ("other", "1"));
  manager = start (f);
  changed = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                   SLUICE_MANAGER_IFACE, "WorkflowsChanged");

  DBUS_TEST_WAIT_UNTIL (count_runs (manager, "tick", NULL) >= 2, 10000);

  sluice_dbus_manager_call_pause_workflow_sync (manager, "tick", NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (changed, NULL) >= 1, 5000);
  g_assert_true (state_is (manager, "tick", "paused"));
  g_assert_true (state_is (manager, "other", "running"));

  /* Runs in progress finish; then nothing starts for 6 ticks. */
  DBUS_TEST_WAIT_UNTIL ((count_runs (manager, "tick", &running), running == 0), 5000);
  paused_count = count_runs (manager, "tick", NULL);
  hold_until = g_get_monotonic_time () + 1200 * G_TIME_SPAN_MILLISECOND;
  while (g_get_monotonic_time () < hold_until)
    {
      g_assert_cmpuint (count_runs (manager, "tick", NULL), ==, paused_count);
      dbus_test_iterate (100);
    }
  g_assert_true (state_is (manager, "tick", "paused"));

  before = dbus_test_signals_count (changed, NULL);
  sluice_dbus_manager_call_resume_workflow_sync (manager, "tick", NULL, &error);
  g_assert_no_error (error);
  DBUS_TEST_WAIT_UNTIL (dbus_test_signals_count (changed, NULL) > before, 5000);
  g_assert_true (state_is (manager, "tick", "running"));
  DBUS_TEST_WAIT_UNTIL (count_runs (manager, "tick", NULL) >= paused_count + 2, 5000);

  sluice_dbus_manager_call_pause_workflow_sync (manager, "nope", NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.NotFound");
  g_clear_error (&error);
  sluice_dbus_manager_call_resume_workflow_sync (manager, "nope", NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.NotFound");
  g_clear_error (&error);
}

static GVariant *
get_all (GDBusConnection *connection, const char *path, const char *interface)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  GVariant *all = NULL;

  reply = g_dbus_connection_call_sync (connection, SLUICE_BUS_NAME, path,
                                       "org.freedesktop.DBus.Properties", "GetAll",
                                       g_variant_new ("(s)", interface),
                                       G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, 10000,
                                       NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(@a{sv})", &all);
  return all;
}

static void
test_trigger (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GVariant) letters = NULL;
  g_autofree char *run = NULL;
  g_autofree char *state = NULL;
  g_autofree char *expected_path = NULL;
  g_autoptr (SluiceDBusRun) proxy = NULL;
  const char *const  traced[] = { "traceparent", TRACEPARENT, NULL };
  const char *const  typed[] = { "content-type", "application/json", "x-why", "test", NULL };
  const char        *signal_error = NULL;
  GDBusConnection   *connection;
  SluiceDBusManager *manager;
  gint64             before = g_get_real_time ();
  gint64             started, ended;

  g_test_summary ("Trigger returns a Run object whose properties tell the run's workflow, "
                  "state, times, error and trace id, and whose Finished signal tells how it "
                  "ended: succeeded, or failed with the error");
  dbus_test_sluiced_write_workflow (f->daemon, "ok.json", OK_WORKFLOW ("ok", "2"));
  manager = start (f);
  connection = dbus_test_sluiced_get_connection (f->daemon);
  finished = dbus_test_signals_new (connection, SLUICE_RUN_IFACE, "Finished");

  run = dbus_test_trigger (manager, "ok", "{\"id\": 7}", traced);
  state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");
  g_variant_get (dbus_test_signals_get (finished, run, 0)->parameters, "(&s&s)", NULL,
                 &signal_error);
  g_assert_cmpstr (signal_error, ==, "");

  props = get_all (connection, run, SLUICE_RUN_IFACE);
  g_assert_true (g_str_has_prefix (dbus_test_dict_string (props, "Id"), "ok-"));
  expected_path = dbus_test_object_path ("runs", dbus_test_dict_string (props, "Id"));
  g_assert_cmpstr (run, ==, expected_path);
  g_assert_cmpstr (dbus_test_dict_string (props, "Workflow"), ==, "ok");
  g_assert_cmpstr (dbus_test_dict_string (props, "State"), ==, "succeeded");
  g_assert_cmpstr (dbus_test_dict_string (props, "Error"), ==, "");
  g_assert_cmpstr (dbus_test_dict_string (props, "TraceId"), ==, TRACE_ID);
  started = dbus_test_dict_int64 (props, "Started");
  ended = dbus_test_dict_int64 (props, "Finished");
  g_assert_cmpint (started, >=, before - G_USEC_PER_SEC);
  g_assert_cmpint (ended, >=, started);
  g_assert_cmpint (ended, <=, g_get_real_time () + G_USEC_PER_SEC);

  /* The generated proxy sees the same. */
  proxy = sluice_dbus_run_proxy_new_sync (connection, G_DBUS_PROXY_FLAGS_NONE, SLUICE_BUS_NAME,
                                          run, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sluice_dbus_run_get_state (proxy), ==, "succeeded");
  g_assert_cmpstr (sluice_dbus_run_get_workflow (proxy), ==, "ok");
  g_assert_cmpint (sluice_dbus_run_get_started (proxy), ==, started);
  g_clear_object (&proxy);

  /* Without a traceparent the run gets a trace id of its own. */
  g_clear_pointer (&run, g_free);
  g_clear_pointer (&state, g_free);
  g_clear_pointer (&props, g_variant_unref);
  run = dbus_test_trigger (manager, "ok", "{\"id\": 8}", NULL);
  state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");
  props = get_all (connection, run, SLUICE_RUN_IFACE);
  g_assert_true (is_hex32 (dbus_test_dict_string (props, "TraceId")));
  g_assert_cmpstr (dbus_test_dict_string (props, "TraceId"), !=, TRACE_ID);

  /* A failing run: Finished and Error tell why; its event is a dead
   * letter with the content type and headers it was triggered with. */
  g_clear_pointer (&run, g_free);
  g_clear_pointer (&state, g_free);
  g_clear_pointer (&props, g_variant_unref);
  run = dbus_test_trigger (manager, "ok", "{\"no\": \"id\"}", typed);
  state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "failed");
  g_variant_get (dbus_test_signals_get (finished, run, 0)->parameters, "(&s&s)", NULL,
                 &signal_error);
  g_test_message ("failed run: %s", signal_error);
  g_assert_cmpstr (signal_error, !=, "");
  props = get_all (connection, run, SLUICE_RUN_IFACE);
  g_assert_cmpstr (dbus_test_dict_string (props, "State"), ==, "failed");
  g_assert_cmpstr (dbus_test_dict_string (props, "Error"), ==, signal_error);
  g_assert_cmpint (dbus_test_dict_int64 (props, "Finished"), >=,
                   dbus_test_dict_int64 (props, "Started"));

  sluice_dbus_manager_call_list_dead_letters_sync (manager, empty_dict (), &letters, NULL,
                                                   &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (letters), ==, 1);
  {
    g_autoptr (GVariant) letter = g_variant_get_child_value (letters, 0);

    g_assert_cmpstr (dbus_test_dict_string (letter, "workflow"), ==, "ok");
    g_assert_cmpstr (dbus_test_dict_string (letter, "node"), ==, "shape");
    g_assert_cmpstr (dbus_test_dict_string (letter, "content_type"), ==, "application/json");
    g_assert_cmpstr (dbus_test_dict_string (letter, "trace_id"), ==,
                     dbus_test_dict_string (props, "TraceId"));
  }

  g_clear_pointer (&run, g_free);
  sluice_dbus_manager_call_trigger_sync (
      manager, "nope", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "{}", 2, 1),
      g_variant_new_array (G_VARIANT_TYPE ("{ss}"), NULL, 0), &run, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.NotFound");
}

static GVariant *
list_runs (SluiceDBusManager *manager, const char *key, GVariant *value)
{
  g_autoptr (GError) error = NULL;
  GVariantBuilder filter;
  GVariant       *runs = NULL;

  g_variant_builder_init (&filter, G_VARIANT_TYPE ("a{sv}"));
  if (key != NULL)
    g_variant_builder_add (&filter, "{sv}", key, value);
  sluice_dbus_manager_call_list_runs_sync (manager, g_variant_builder_end (&filter), &runs, NULL,
                                           &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (runs, G_VARIANT_TYPE ("aa{sv}")));
  return runs;
}

static char *
run_ids (GVariant *runs)
{
  GString *ids = g_string_new (NULL);

  for (gsize i = 0; i < g_variant_n_children (runs); i++)
    {
      g_autoptr (GVariant) run = g_variant_get_child_value (runs, i);

      if (ids->len > 0)
        g_string_append_c (ids, ' ');
      g_string_append (ids, dbus_test_dict_string (run, "id"));
    }
  return g_string_free (ids, FALSE);
}

static void
test_list_runs (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (GVariant) all = NULL;
  g_autoptr (GVariant) some = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) gone = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char  *listed = NULL;
  g_autofree char  *expected = NULL;
  const char *const sequence[][2] = {
    { "ok", "{\"id\": 1}" },
    { "ok", "{\"id\": 2}" },
    { "other", "{\"id\": 3}" },
    { "ok", "{}" },
    { "other", "{\"id\": 5}" },
    { "ok", "{\"id\": 6}" },
  };
  SluiceDBusManager *manager;
  GDBusConnection   *connection;

  g_test_summary ("ListRuns: newest first, filtered by workflow and state, limited; only the "
                  "history window (run_history max) is kept, older Run objects vanish");
  dbus_test_sluiced_write_workflow (f->daemon, "ok.json", OK_WORKFLOW ("ok", "1"));
  dbus_test_sluiced_write_workflow (f->daemon, "other.json", OK_WORKFLOW ("other", "1"));
  dbus_test_sluiced_set_run_history (f->daemon, 4, "1h", NULL);
  manager = start (f);
  connection = dbus_test_sluiced_get_connection (f->daemon);
  finished = dbus_test_signals_new (connection, SLUICE_RUN_IFACE, "Finished");

  for (guint i = 0; i < G_N_ELEMENTS (sequence); i++)
    {
      char            *path = dbus_test_trigger (manager, sequence[i][0], sequence[i][1], NULL);
      g_autofree char *state = dbus_test_wait_run (finished, path, RUN_TIMEOUT_MS);
      g_autoptr (GVariant) id = NULL;

      g_assert_cmpstr (state, ==, i == 3 ? "failed" : "succeeded");
      g_ptr_array_add (paths, path);
      /* Only the window is kept: read the id while the run is in it. */
      id = dbus_test_get_property (connection, path, SLUICE_RUN_IFACE, "Id", &error);
      g_assert_no_error (error);
      g_ptr_array_add (ids, g_variant_dup_string (id, NULL));
    }

  all = list_runs (manager, NULL, NULL);
  listed = run_ids (all);
  expected = g_strdup_printf ("%s %s %s %s", (char *) ids->pdata[5], (char *) ids->pdata[4],
                              (char *) ids->pdata[3], (char *) ids->pdata[2]);
  g_assert_cmpstr (listed, ==, expected);
  for (gsize i = 0; i < g_variant_n_children (all); i++)
    {
      g_autoptr (GVariant) run = g_variant_get_child_value (all, i);
      g_autoptr (GVariant) path = g_variant_lookup_value (run, "path", G_VARIANT_TYPE_OBJECT_PATH);
      g_autofree char *id_path = dbus_test_object_path ("runs", dbus_test_dict_string (run, "id"));
      guint            n = (guint) (5 - i);

      g_assert_nonnull (path);
      g_assert_cmpstr (g_variant_get_string (path, NULL), ==, paths->pdata[n]);
      g_assert_cmpstr (id_path, ==, paths->pdata[n]);
      g_assert_cmpstr (dbus_test_dict_string (run, "workflow"), ==, sequence[n][0]);
      g_assert_cmpstr (dbus_test_dict_string (run, "state"), ==,
                       n == 3 ? "failed" : "succeeded");
      g_assert_true (is_hex32 (dbus_test_dict_string (run, "trace_id")));
      g_assert_cmpint (dbus_test_dict_int64 (run, "finished"), >=,
                       dbus_test_dict_int64 (run, "started"));
      if (n == 3)
        g_assert_cmpstr (dbus_test_dict_string (run, "error"), !=, "");
      else
        g_assert_cmpstr (dbus_test_dict_string (run, "error"), ==, "");
      if (i > 0)
        {
          g_autoptr (GVariant) newer = g_variant_get_child_value (all, i - 1);

          g_assert_cmpint (dbus_test_dict_int64 (newer, "started"), >=,
                           dbus_test_dict_int64 (run, "started"));
        }
    }

  /* Runs that left the window have no object any more. */
  gone = dbus_test_get_property (connection, paths->pdata[0], SLUICE_RUN_IFACE, "State", &error);
  g_assert_null (gone);
  g_assert_nonnull (error);
  g_clear_error (&error);

  some = list_runs (manager, "workflow", g_variant_new_string ("other"));
  g_clear_pointer (&listed, g_free);
  g_clear_pointer (&expected, g_free);
  listed = run_ids (some);
  expected = g_strdup_printf ("%s %s", (char *) ids->pdata[4], (char *) ids->pdata[2]);
  g_assert_cmpstr (listed, ==, expected);
  g_clear_pointer (&some, g_variant_unref);

  some = list_runs (manager, "state", g_variant_new_string ("failed"));
  g_clear_pointer (&listed, g_free);
  listed = run_ids (some);
  g_assert_cmpstr (listed, ==, ids->pdata[3]);
  g_clear_pointer (&some, g_variant_unref);

  some = list_runs (manager, "limit", g_variant_new_uint32 (2));
  g_clear_pointer (&listed, g_free);
  g_clear_pointer (&expected, g_free);
  listed = run_ids (some);
  expected = g_strdup_printf ("%s %s", (char *) ids->pdata[5], (char *) ids->pdata[4]);
  g_assert_cmpstr (listed, ==, expected);
  g_clear_pointer (&some, g_variant_unref);

  some = list_runs (manager, "workflow", g_variant_new_string ("nope"));
  g_assert_cmpuint (g_variant_n_children (some), ==, 0);
}

static GVariant *
filter_of (const char *key, GVariant *value)
{
  GVariantBuilder filter;

  g_variant_builder_init (&filter, G_VARIANT_TYPE ("a{sv}"));
  if (key != NULL)
    g_variant_builder_add (&filter, "{sv}", key, value);
  return g_variant_builder_end (&filter);
}

static GVariant *
list_letters (SluiceDBusManager *manager, GVariant *filter)
{
  g_autoptr (GError) error = NULL;
  GVariant *letters = NULL;

  sluice_dbus_manager_call_list_dead_letters_sync (manager, filter, &letters, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (letters, G_VARIANT_TYPE ("aa{sv}")));
  return letters;
}

static guint
count_letters (SluiceDBusManager *manager, const char *key, GVariant *value)
{
  g_autoptr (GVariant) letters = list_letters (manager, filter_of (key, value));

  return (guint) g_variant_n_children (letters);
}

static gboolean
letter_listed (SluiceDBusManager *manager, const char *id)
{
  g_autoptr (GVariant) letters = list_letters (manager, filter_of (NULL, NULL));
  g_autoptr (GVariant) letter = dbus_test_find_dict (letters, "id", id);

  return letter != NULL;
}

static guint
letter_attempts (SluiceDBusManager *manager, const char *id)
{
  g_autoptr (GVariant) letter = NULL;
  g_autoptr (GError) error = NULL;

  sluice_dbus_manager_call_get_dead_letter_sync (manager, id, &letter, NULL, &error);
  g_assert_no_error (error);
  return dbus_test_dict_uint32 (letter, "attempts");
}

static void
test_dead_letters (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) letters = NULL;
  g_autoptr (GVariant) letter = NULL;
  g_autoptr (GVariant) payload = NULL;
  g_autoptr (GVariant) headers = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char   *out_dir = g_build_filename (dbus_test_sluiced_get_dir (f->daemon), "out",
                                                 NULL);
  g_autofree char   *out_file = g_build_filename (out_dir, "all.jsonl", NULL);
  g_autofree char   *gone_file = NULL;
  g_autofree char   *gone_id = NULL;
  g_autofree char   *skip_reason = NULL;
  g_autofree char   *all_text = NULL;
  SluiceDBusManager *manager;
  GDBusConnection   *connection;
  guint64            replayed = 0, skipped = 0, removed = 0;
  gint64             first = 0;
  gboolean           found_header = FALSE;
  const char        *key, *value;
  GVariantIter       iter;

  g_test_summary ("ListDeadLetters (filters, offset, limit), GetDeadLetter (payload and "
                  "headers), ReplayDeadLetters by id and by filter (gone once the replay "
                  "succeeds, updated when it fails again, skipped when the workflow is gone) "
                  "and PurgeDeadLetters by id and by filter");
  dbus_test_sluiced_write_workflow (
      f->daemon, "out.json",
      "{\"name\": \"out\", \"trigger\": {\"use\": \"core.manual\"},"
      " \"steps\": [{\"id\": \"store\", \"use\": \"file.write\", \"with\": {\"directory\": "
      "\"@DIR@/out\", \"create_dirs\": false, \"mode\": \"append\","
      " \"filename\": \"all.jsonl\"}}]}");
  dbus_test_sluiced_write_workflow (f->daemon, "ok.json", OK_WORKFLOW ("ok", "1"));
  gone_file = dbus_test_sluiced_workflow_path (f->daemon, "gone.json");
  dbus_test_sluiced_write_workflow (f->daemon, "gone.json", OK_WORKFLOW ("gone", "1"));
  manager = start (f);
  connection = dbus_test_sluiced_get_connection (f->daemon);
  finished = dbus_test_signals_new (connection, SLUICE_RUN_IFACE, "Finished");

  /* Three runs that fail until out/ exists. */
  for (guint n = 1; n <= 3; n++)
    {
      g_autofree char  *body = g_strdup_printf ("{\"n\": %u}", n);
      g_autofree char  *order = g_strdup_printf ("%u", n);
      const char *const headers_in[] = { "x-order", order, "content-type", "application/json",
                                         NULL };
      g_autofree char  *run = dbus_test_trigger (manager, "out", body, headers_in);
      g_autofree char  *state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);

      g_assert_cmpstr (state, ==, "failed");
    }

  letters = list_letters (manager, filter_of (NULL, NULL));
  g_assert_cmpuint (g_variant_n_children (letters), ==, 3);
  for (gsize i = 0; i < 3; i++)
    {
      g_autoptr (GVariant) l = g_variant_get_child_value (letters, i);

      g_ptr_array_add (ids, g_strdup (dbus_test_dict_string (l, "id")));
      g_assert_cmpstr (dbus_test_dict_string (l, "workflow"), ==, "out");
      g_assert_cmpstr (dbus_test_dict_string (l, "node"), ==, "store");
      g_assert_cmpstr (dbus_test_dict_string (l, "source"), ==, "core.manual");
      g_assert_cmpstr (dbus_test_dict_string (l, "content_type"), ==, "application/json");
      g_assert_true (is_hex32 (dbus_test_dict_string (l, "trace_id")));
      g_assert_cmpstr (dbus_test_dict_string (l, "error"), !=, "");
      g_assert_cmpuint (dbus_test_dict_uint32 (l, "attempts"), ==, 1);
      g_assert_cmpuint (dbus_test_dict_uint64 (l, "size"), ==, strlen ("{\"n\": 1}"));
      g_assert_cmpint (dbus_test_dict_int64 (l, "last"), >=, dbus_test_dict_int64 (l, "first"));
      /* Oldest first. */
      g_assert_cmpint (dbus_test_dict_int64 (l, "first"), >=, first);
      first = dbus_test_dict_int64 (l, "first");
      g_assert_null (g_variant_lookup_value (l, "payload", NULL));
    }

  /* The whole record of the first one. */
  sluice_dbus_manager_call_get_dead_letter_sync (manager, ids->pdata[0], &letter, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dbus_test_dict_string (letter, "id"), ==, ids->pdata[0]);
  payload = g_variant_lookup_value (letter, "payload", G_VARIANT_TYPE_BYTESTRING);
  g_assert_nonnull (payload);
  {
    gsize       size;
    const char *bytes = g_variant_get_fixed_array (payload, &size, 1);

    g_assert_cmpmem (bytes, size, "{\"n\": 1}", strlen ("{\"n\": 1}"));
  }
  headers = g_variant_lookup_value (letter, "headers", G_VARIANT_TYPE ("a(ss)"));
  g_assert_nonnull (headers);
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &key, &value))
    if (g_str_equal (key, "x-order"))
      {
        g_assert_cmpstr (value, ==, "1");
        found_header = TRUE;
      }
  g_assert_true (found_header);

  sluice_dbus_manager_call_get_dead_letter_sync (manager, "no-such-letter", &letter, NULL,
                                                 &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.NotFound");
  g_clear_error (&error);

  /* Filters. */
  g_assert_cmpuint (count_letters (manager, "workflow", g_variant_new_string ("out")), ==, 3);
  g_assert_cmpuint (count_letters (manager, "workflow", g_variant_new_string ("ok")), ==, 0);
  g_assert_cmpuint (count_letters (manager, "node", g_variant_new_string ("store")), ==, 3);
  g_assert_cmpuint (count_letters (manager, "node", g_variant_new_string ("shape")), ==, 0);
  g_assert_cmpuint (count_letters (manager, "error_contains", g_variant_new_string (out_dir)), ==,
                    3);
  g_assert_cmpuint (count_letters (manager, "error_contains",
                                   g_variant_new_string ("no such text anywhere")),
                    ==, 0);
  {
    GVariantBuilder builder;
    g_autoptr (GVariant) page = NULL;
    g_autoptr (GVariant) second = NULL;

    g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sv}"));
    g_variant_builder_add (&builder, "{sv}", "offset", g_variant_new_uint64 (1));
    g_variant_builder_add (&builder, "{sv}", "limit", g_variant_new_uint32 (1));
    page = list_letters (manager, g_variant_builder_end (&builder));
    g_assert_cmpuint (g_variant_n_children (page), ==, 1);
    second = g_variant_get_child_value (page, 0);
    g_assert_cmpstr (dbus_test_dict_string (second, "id"), ==, ids->pdata[1]);
  }

  /* The cause is fixed: a replay by id succeeds and the letter goes. */
  g_assert_cmpint (g_mkdir (out_dir, 0755), ==, 0);
  {
    const char *const one[] = { ids->pdata[0], NULL };

    sluice_dbus_manager_call_replay_dead_letters_sync (manager, one, filter_of (NULL, NULL),
                                                       &replayed, &skipped, &skip_reason, NULL,
                                                       &error);
  }
  g_assert_no_error (error);
  g_assert_cmpuint (replayed, ==, 1);
  g_assert_cmpuint (skipped, ==, 0);
  g_assert_cmpstr (skip_reason, ==, "");
  DBUS_TEST_WAIT_UNTIL (!letter_listed (manager, ids->pdata[0]), 10000);
  g_assert_cmpuint (dbus_test_count_lines (out_file), ==, 1);
  g_assert_true (letter_listed (manager, ids->pdata[1]));

  /* By filter: the other two. */
  g_clear_pointer (&skip_reason, g_free);
  sluice_dbus_manager_call_replay_dead_letters_sync (
      manager, (const char *const[]){ NULL }, filter_of ("workflow", g_variant_new_string ("out")),
      &replayed, &skipped, &skip_reason, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (replayed, ==, 2);
  g_assert_cmpuint (skipped, ==, 0);
  DBUS_TEST_WAIT_UNTIL (count_letters (manager, NULL, NULL) == 0, 10000);
  g_assert_cmpuint (dbus_test_count_lines (out_file), ==, 3);
  g_file_get_contents (out_file, &all_text, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (all_text, "{\"n\": 1}"));
  g_assert_nonnull (strstr (all_text, "{\"n\": 2}"));
  g_assert_nonnull (strstr (all_text, "{\"n\": 3}"));

  /* A replay that fails again updates the letter. */
  {
    g_autofree char *run = dbus_test_trigger (manager, "ok", "{}", NULL);
    g_autofree char *state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);
    g_autoptr (GVariant) ok_letters = list_letters (manager, filter_of (NULL, NULL));
    g_autoptr (GVariant) ok_letter = NULL;
    const char *ok_id;

    g_assert_cmpstr (state, ==, "failed");
    g_assert_cmpuint (g_variant_n_children (ok_letters), ==, 1);
    ok_letter = g_variant_get_child_value (ok_letters, 0);
    ok_id = dbus_test_dict_string (ok_letter, "id");
    g_clear_pointer (&skip_reason, g_free);
    sluice_dbus_manager_call_replay_dead_letters_sync (
        manager, (const char *const[]){ ok_id, NULL }, filter_of (NULL, NULL), &replayed, &skipped,
        &skip_reason, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (replayed, ==, 1);
    DBUS_TEST_WAIT_UNTIL (letter_attempts (manager, ok_id) == 2, 10000);
    g_assert_true (letter_listed (manager, ok_id));
  }

  /* A letter whose workflow no longer runs here is skipped. */
  {
    g_autofree char *run = dbus_test_trigger (manager, "gone", "{}", NULL);
    g_autofree char *state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);
    g_autoptr (GVariant) gone_letters = NULL;
    g_autoptr (GVariant) gone_letter = NULL;
    g_auto (GStrv) loaded = NULL;
    g_auto (GStrv) unloaded = NULL;
    g_autoptr (GVariant) failed = NULL;

    g_assert_cmpstr (state, ==, "failed");
    gone_letters = list_letters (manager, filter_of ("workflow", g_variant_new_string ("gone")));
    g_assert_cmpuint (g_variant_n_children (gone_letters), ==, 1);
    gone_letter = g_variant_get_child_value (gone_letters, 0);
    gone_id = g_strdup (dbus_test_dict_string (gone_letter, "id"));

    g_assert_cmpint (g_unlink (gone_file), ==, 0);
    sluice_dbus_manager_call_reload_workflows_sync (manager, &loaded, &unloaded, &failed, NULL,
                                                    &error);
    g_assert_no_error (error);
    g_assert_true (strv_equal_sorted (unloaded, "gone"));

    g_clear_pointer (&skip_reason, g_free);
    sluice_dbus_manager_call_replay_dead_letters_sync (
        manager, (const char *const[]){ gone_id, NULL }, filter_of (NULL, NULL), &replayed,
        &skipped, &skip_reason, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (replayed, ==, 0);
    g_assert_cmpuint (skipped, ==, 1);
    g_test_message ("skipped: %s", skip_reason);
    g_assert_cmpstr (skip_reason, !=, "");
    g_assert_true (letter_listed (manager, gone_id));
  }

  /* Purge by id, then by filter. */
  sluice_dbus_manager_call_purge_dead_letters_sync (
      manager, (const char *const[]){ gone_id, NULL }, filter_of (NULL, NULL), &removed, NULL,
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 1);
  g_assert_false (letter_listed (manager, gone_id));
  g_assert_cmpuint (count_letters (manager, NULL, NULL), ==, 1);

  {
    g_autofree char *run = dbus_test_trigger (manager, "ok", "{\"again\": true}", NULL);
    g_autofree char *state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);

    g_assert_cmpstr (state, ==, "failed");
  }
  g_assert_cmpuint (count_letters (manager, "workflow", g_variant_new_string ("ok")), ==, 2);
  sluice_dbus_manager_call_purge_dead_letters_sync (
      manager, (const char *const[]){ NULL }, filter_of ("workflow", g_variant_new_string ("ok")),
      &removed, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);
  g_assert_cmpuint (count_letters (manager, "workflow", g_variant_new_string ("ok")), ==, 0);

  /* Empty ids and filter: every dead letter. */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *run = dbus_test_trigger (manager, "ok", "{}", NULL);
      g_autofree char *state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);

      g_assert_cmpstr (state, ==, "failed");
    }
  g_assert_cmpuint (count_letters (manager, NULL, NULL), ==, 2);
  sluice_dbus_manager_call_purge_dead_letters_sync (
      manager, (const char *const[]){ NULL }, filter_of (NULL, NULL), &removed, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);
  g_assert_cmpuint (count_letters (manager, NULL, NULL), ==, 0);
}

/* How many Finished signals came from runs of @workflow (their path is
 * RUNS/ + the escaped run id, "WORKFLOW-NUMBER"). */
static guint
finished_of (DBusTestSignals *finished, const char *workflow)
{
  g_autofree char *prefix = dbus_test_object_path ("runs", workflow);
  guint            count = 0;

  for (guint i = 0; i < dbus_test_signals_count (finished, NULL); i++)
    if (g_str_has_prefix (dbus_test_signals_get (finished, NULL, i)->path, prefix))
      count++;
  return count;
}

static void
test_finished_followed (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autofree char   *run = NULL;
  g_autofree char   *state = NULL;
  gboolean           all = g_strcmp0 (data, "all") == 0;
  SluiceDBusManager *manager;
  guint              ticks;

  g_test_summary ("Finished is sent for triggered runs; for runs of a schedule only with "
                  "run_history signals: all");
  dbus_test_sluiced_write_workflow (f->daemon, "tick.json",
                                    "{\"name\": \"tick\", \"trigger\": {\"use\": "
                                    "\"schedule.interval\", \"with\": {\"every\": \"200ms\"}},"
                                    " \"steps\": [{\"id\": \"m\", \"use\": \"map\", \"with\":"
                                    " {\"fields\": {\"t\": \"$.scheduled\"}}}]}");
  dbus_test_sluiced_write_workflow (f->daemon, "ok.json", OK_WORKFLOW ("ok", "1"));
  if (all)
    dbus_test_sluiced_set_run_history (f->daemon, 100, "1h", "all");
  manager = start (f);
  finished = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                    SLUICE_RUN_IFACE, "Finished");

  run = dbus_test_trigger (manager, "ok", "{\"id\": 1}", NULL);
  state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");

  ticks = count_runs (manager, "tick", NULL);
  DBUS_TEST_WAIT_UNTIL (count_runs (manager, "tick", NULL) >= ticks + 3, 10000);
  if (all)
    DBUS_TEST_WAIT_UNTIL (finished_of (finished, "tick") >= 2, 5000);
  else
    g_assert_cmpuint (finished_of (finished, "tick"), ==, 0);
  g_assert_cmpuint (finished_of (finished, "ok"), ==, 1);
}

static void
test_batches_unavailable (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) batches = NULL;
  g_autoptr (GError) error = NULL;
  SluiceDBusManager *manager;

  g_test_summary ("ListBatches is Unavailable when the daemon runs without Redis");
  dbus_test_sluiced_write_workflow (f->daemon, "ok.json", OK_WORKFLOW ("ok", "1"));
  manager = start (f);
  sluice_dbus_manager_call_list_batches_sync (manager, &batches, NULL, &error);
  dbus_test_assert_remote_error (error, "org.sluice.Sluice1.Error.Unavailable");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/dbus/manager/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("properties", test_properties);
  ADD ("list-workflows", test_list_workflows);
  ADD ("load-workflow", test_load_workflow);
  ADD ("reload-workflows", test_reload);
  ADD ("enable-disable/persists", test_enable_disable);
  ADD ("pause-resume/schedule", test_pause_resume);
  ADD ("trigger/run-object", test_trigger);
  ADD ("list-runs/history-window", test_list_runs);
  ADD ("dead-letters", test_dead_letters);
  ADD ("list-batches/without-redis", test_batches_unavailable);
  g_test_add ("/dbus/manager/finished/triggered-only", Fixture, NULL, fixture_setup,
              test_finished_followed, fixture_teardown);
  g_test_add ("/dbus/manager/finished/signals-all", Fixture, "all", fixture_setup,
              test_finished_followed, fixture_teardown);
#undef ADD

  return g_test_run ();
}
