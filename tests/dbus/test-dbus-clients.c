/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sluiced through the clients an operator has at hand: gdbus (GLib) and
 * busctl (systemd), both pointed at the test bus by
 * DBUS_SYSTEM_BUS_ADDRESS, their output parsed and checked against the
 * API and against the introspection XML that data/ installs. */
#include <string.h>

#include "dbus-test-util.h"
#include "redis-test-server.h"

#define RUN_TIMEOUT_MS 20000

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
      f->daemon, "held.json",
      "{\"name\": \"held\", \"trigger\": {\"use\": \"core.manual\"},"
      " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
      "  {\"id\": \"load\", \"use\": \"batch\", \"with\": {\"id\": \"held.batch\","
      "   \"close\": \"manual\"}},"
      "  {\"id\": \"store\", \"use\": \"file.write\", \"with\": {\"directory\": \"@DIR@/out\"}}]}");
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

static GVariant *
parse_gvariant (const char *type, const char *text)
{
  g_autoptr (GError) error = NULL;
  GVariant *value = g_variant_parse (G_VARIANT_TYPE (type), text, NULL, NULL, &error);

  if (value == NULL)
    g_test_message ("not a GVariant of type %s (%s):\n%s", type, error->message, text);
  g_assert_no_error (error);
  return g_variant_ref_sink (value);
}

/* "[byte 0x7b, ...]": @payload as gdbus reads an "ay" argument. */
static char *
gdbus_bytes (const char *payload)
{
  GString *text = g_string_new ("[byte ");

  for (const char *p = payload; *p != '\0'; p++)
    g_string_append_printf (text, "%s0x%02x", p == payload ? "" : ", ", (guchar) *p);
  g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
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

static gboolean
property_readable (Fixture *f, const char *path, const char *interface, const char *name)
{
  g_autoptr (GVariant) value = dbus_test_get_property (
      dbus_test_sluiced_get_connection (f->daemon), path, interface, name, NULL);

  return value != NULL;
}

/* Fills the batch "held.batch" (left open) and returns its object path. */
static char *
fill_batch (Fixture *f)
{
  g_autofree char   *run = dbus_test_trigger (dbus_test_sluiced_get_manager (f->daemon), "held",
                                              "{\"n\": 1}\n{\"n\": 2}\n", NULL);
  g_autofree char   *state = dbus_test_wait_run (f->finished, run, RUN_TIMEOUT_MS);
  SluiceDBusManager *manager = dbus_test_sluiced_get_manager (f->daemon);

  g_assert_cmpstr (state, ==, "succeeded");
  DBUS_TEST_WAIT_UNTIL (batch_listed (manager, "held.batch"), 10000);
  return dbus_test_object_path ("batches", "held.batch");
}

static void
test_gdbus_call (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) listed = NULL;
  g_autoptr (GVariant) expected = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) version = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *bytes = gdbus_bytes ("{\"id\": 42}");
  g_autofree char *state = NULL;
  const char      *run = NULL;

  g_test_summary ("gdbus call: ListWorkflows prints what the API returns, a property reads, "
                  "Trigger returns a run that succeeds, an unknown workflow is NotFound");

  {
    const char *const argv[] = { "gdbus", "call", "--system", "--dest", SLUICE_BUS_NAME,
                                 "--object-path", SLUICE_MANAGER_PATH, "--method",
                                 SLUICE_MANAGER_IFACE ".ListWorkflows", NULL };

    g_assert_cmpint (dbus_test_run (f->bus, argv, &out, &err), ==, 0);
  }
  listed = parse_gvariant ("(aa{sv})", out);
  sluice_dbus_manager_call_list_workflows_sync (dbus_test_sluiced_get_manager (f->daemon),
                                                &expected, NULL, &error);
  g_assert_no_error (error);
  {
    g_autoptr (GVariant) workflows = g_variant_get_child_value (listed, 0);
    g_autofree char *names = dbus_test_workflow_names (workflows);

    g_assert_cmpstr (names, ==, "alpha bravo held");
    g_assert_true (g_variant_equal (workflows, expected));
  }

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    const char *const argv[] = { "gdbus", "call", "--system", "--dest", SLUICE_BUS_NAME,
                                 "--object-path", SLUICE_MANAGER_PATH, "--method",
                                 "org.freedesktop.DBus.Properties.Get", SLUICE_MANAGER_IFACE,
                                 "Version", NULL };

    g_assert_cmpint (dbus_test_run (f->bus, argv, &out, &err), ==, 0);
  }
  version = parse_gvariant ("(v)", out);
  {
    g_autoptr (GVariant) inner = g_variant_get_child_value (version, 0);
    g_autoptr (GVariant) text = g_variant_get_variant (inner);

    g_assert_cmpstr (g_variant_get_string (text, NULL), ==, SLUICE_TEST_VERSION);
  }

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    const char *const argv[] = { "gdbus", "call", "--system", "--dest", SLUICE_BUS_NAME,
                                 "--object-path", SLUICE_MANAGER_PATH, "--method",
                                 SLUICE_MANAGER_IFACE ".Trigger", "alpha", bytes,
                                 "{'content-type': 'application/json'}", NULL };

    g_assert_cmpint (dbus_test_run (f->bus, argv, &out, &err), ==, 0);
  }
  reply = parse_gvariant ("(o)", out);
  g_variant_get (reply, "(&o)", &run);
  state = dbus_test_wait_run (f->finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    const char *const argv[] = { "gdbus", "call", "--system", "--dest", SLUICE_BUS_NAME,
                                 "--object-path", SLUICE_MANAGER_PATH, "--method",
                                 SLUICE_MANAGER_IFACE ".EnableWorkflow", "no-such-workflow",
                                 NULL };

    g_assert_cmpint (dbus_test_run (f->bus, argv, &out, &err), !=, 0);
  }
  g_assert_nonnull (strstr (err, "org.sluice.Sluice1.Error.NotFound"));
  g_assert_nonnull (strstr (err, "no-such-workflow"));
}

/* Every method, signal and property of @want is in @got with the same
 * arguments. */
static void
assert_interface_matches (GDBusInterfaceInfo *want, GDBusNodeInfo *got_node)
{
  GDBusInterfaceInfo *got = g_dbus_node_info_lookup_interface (got_node, want->name);

  if (got == NULL)
    g_test_message ("interface %s is not exported", want->name);
  g_assert_nonnull (got);

  for (guint i = 0; want->methods != NULL && want->methods[i] != NULL; i++)
    {
      GDBusMethodInfo *w = want->methods[i];
      GDBusMethodInfo *g = g_dbus_interface_info_lookup_method (got, w->name);
      guint            n_in = 0, n_out = 0;

      g_test_message ("%s.%s", want->name, w->name);
      g_assert_nonnull (g);
      for (; w->in_args != NULL && w->in_args[n_in] != NULL; n_in++)
        {
          g_assert_nonnull (g->in_args[n_in]);
          g_assert_cmpstr (g->in_args[n_in]->signature, ==, w->in_args[n_in]->signature);
        }
      g_assert_true (g->in_args == NULL || g->in_args[n_in] == NULL);
      for (; w->out_args != NULL && w->out_args[n_out] != NULL; n_out++)
        {
          g_assert_nonnull (g->out_args[n_out]);
          g_assert_cmpstr (g->out_args[n_out]->signature, ==, w->out_args[n_out]->signature);
        }
      g_assert_true (g->out_args == NULL || g->out_args[n_out] == NULL);
    }
  for (guint i = 0; want->signals != NULL && want->signals[i] != NULL; i++)
    {
      GDBusSignalInfo *w = want->signals[i];
      GDBusSignalInfo *g = g_dbus_interface_info_lookup_signal (got, w->name);

      g_test_message ("%s.%s (signal)", want->name, w->name);
      g_assert_nonnull (g);
      for (guint n = 0; w->args != NULL && w->args[n] != NULL; n++)
        {
          g_assert_nonnull (g->args[n]);
          g_assert_cmpstr (g->args[n]->signature, ==, w->args[n]->signature);
        }
    }
  for (guint i = 0; want->properties != NULL && want->properties[i] != NULL; i++)
    {
      GDBusPropertyInfo *w = want->properties[i];
      GDBusPropertyInfo *g = g_dbus_interface_info_lookup_property (got, w->name);

      g_test_message ("%s.%s (property)", want->name, w->name);
      g_assert_nonnull (g);
      g_assert_cmpstr (g->signature, ==, w->signature);
      g_assert_cmpint (g->flags, ==, w->flags);
    }
}

static GDBusNodeInfo *
gdbus_introspect (Fixture *f, const char *path)
{
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  const char *const argv[] = { "gdbus", "introspect", "--system", "--xml", "--dest",
                               SLUICE_BUS_NAME, "--object-path", path, NULL };
  GDBusNodeInfo    *node;

  g_assert_cmpint (dbus_test_run (f->bus, argv, &out, NULL), ==, 0);
  node = g_dbus_node_info_new_for_xml (out, &error);
  g_assert_no_error (error);
  return node;
}

static void
test_gdbus_introspect (Fixture *f, gconstpointer data)
{
  g_autoptr (GDBusNodeInfo) spec = NULL;
  g_autoptr (GDBusNodeInfo) manager = NULL;
  g_autoptr (GDBusNodeInfo) run_node = NULL;
  g_autoptr (GDBusNodeInfo) batch_node = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *run = NULL;
  g_autofree char *state = NULL;
  g_autofree char *batch = NULL;

  g_test_summary ("gdbus introspect: the manager, a run and a batch export their interfaces "
                  "exactly as data/dbus/org.sluice.Sluice1.xml declares them");
  g_file_get_contents (SLUICE_DBUS_XML, &xml, NULL, &error);
  g_assert_no_error (error);
  spec = g_dbus_node_info_new_for_xml (xml, &error);
  g_assert_no_error (error);

  manager = gdbus_introspect (f, SLUICE_MANAGER_PATH);
  assert_interface_matches (g_dbus_node_info_lookup_interface (spec, SLUICE_MANAGER_IFACE),
                            manager);
  g_assert_nonnull (g_dbus_node_info_lookup_interface (manager,
                                                       "org.freedesktop.DBus.Properties"));

  run = dbus_test_trigger (dbus_test_sluiced_get_manager (f->daemon), "alpha", "{\"id\": 1}",
                           NULL);
  state = dbus_test_wait_run (f->finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");
  run_node = gdbus_introspect (f, run);
  assert_interface_matches (g_dbus_node_info_lookup_interface (spec, SLUICE_RUN_IFACE),
                            run_node);

  batch = fill_batch (f);
  DBUS_TEST_WAIT_UNTIL (property_readable (f, batch, SLUICE_BATCH_IFACE, "Id"), 10000);
  batch_node = gdbus_introspect (f, batch);
  assert_interface_matches (g_dbus_node_info_lookup_interface (spec, SLUICE_BATCH_IFACE),
                            batch_node);
}

static const char *
json_string (JsonObject *object, const char *key)
{
  JsonObject *typed = json_object_get_object_member (object, key);

  g_assert_nonnull (typed);
  return json_object_get_string_member (typed, "data");
}

/* Whether "busctl tree" lists the manager, @batch and @run. */
static gboolean
busctl_tree_shows (Fixture *f, const char *batch, const char *run)
{
  g_autofree char  *tree = NULL;
  const char *const argv[] = { "busctl", "--system", "--list", "--no-pager", "tree",
                               SLUICE_BUS_NAME, NULL };

  g_assert_cmpint (dbus_test_run (f->bus, argv, &tree, NULL), ==, 0);
  return strstr (tree, SLUICE_MANAGER_PATH "\n") != NULL && strstr (tree, batch) != NULL &&
         strstr (tree, run) != NULL;
}

static void
test_busctl (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *version_line = NULL;
  g_autofree char *state = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *batch = NULL;
  JsonArray       *workflows;
  const char      *run;
  g_autofree char *busctl = g_find_program_in_path ("busctl");
  gsize            length = strlen ("{\"id\": 5}");

  g_test_summary ("busctl: call ListWorkflows and Trigger, get-property, introspect and tree "
                  "show the API as declared");
  if (busctl == NULL)
    {
      g_test_fail_printf ("busctl is missing: install the Debian package systemd");
      return;
    }

  {
    const char *const argv[] = { "busctl", "--system", "--json=short", "call", SLUICE_BUS_NAME,
                                 SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE, "ListWorkflows",
                                 NULL };

    g_assert_cmpint (dbus_test_run (f->bus, argv, &out, &err), ==, 0);
  }
  root = dbus_test_parse_json (out);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "type"), ==,
                   "aa{sv}");
  workflows = json_array_get_array_element (
      json_object_get_array_member (json_node_get_object (root), "data"), 0);
  g_assert_cmpuint (json_array_get_length (workflows), ==, 3);
  g_assert_cmpstr (json_string (json_array_get_object_element (workflows, 0), "name"), ==,
                   "alpha");
  g_assert_cmpstr (json_string (json_array_get_object_element (workflows, 0), "state"), ==,
                   "running");
  g_assert_cmpstr (json_string (json_array_get_object_element (workflows, 1), "name"), ==,
                   "bravo");
  g_assert_cmpstr (json_string (json_array_get_object_element (workflows, 2), "trigger"), ==,
                   "core.manual");

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    const char *const argv[] = { "busctl", "--system", "get-property", SLUICE_BUS_NAME,
                                 SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE, "Version", NULL };

    g_assert_cmpint (dbus_test_run (f->bus, argv, &out, &err), ==, 0);
  }
  version_line = g_strdup_printf ("s \"%s\"\n", SLUICE_TEST_VERSION);
  g_assert_cmpstr (out, ==, version_line);

  /* Trigger: "say a{ss}" as busctl takes it, bytes in decimal. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    const char *payload = "{\"id\": 5}";
    const char *fixed[] = { "busctl", "--system", "call", SLUICE_BUS_NAME, SLUICE_MANAGER_PATH,
                            SLUICE_MANAGER_IFACE, "Trigger", "saya{ss}", "bravo" };

    for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
      g_ptr_array_add (argv, g_strdup (fixed[i]));
    g_ptr_array_add (argv, g_strdup_printf ("%" G_GSIZE_FORMAT, length));
    for (gsize i = 0; i < length; i++)
      g_ptr_array_add (argv, g_strdup_printf ("%u", (guchar) payload[i]));
    g_ptr_array_add (argv, g_strdup ("1"));
    g_ptr_array_add (argv, g_strdup ("x-client"));
    g_ptr_array_add (argv, g_strdup ("busctl"));
    g_ptr_array_add (argv, NULL);
    g_assert_cmpint (dbus_test_run (f->bus, (const char *const *) argv->pdata, &out, &err), ==,
                     0);
  }
  g_assert_true (g_str_has_prefix (out, "o \""));
  g_strchomp (out);
  g_assert_true (g_str_has_suffix (out, "\""));
  out[strlen (out) - 1] = '\0';
  run = out + 3;
  g_assert_true (g_variant_is_object_path (run));
  state = dbus_test_wait_run (f->finished, run, RUN_TIMEOUT_MS);
  g_assert_cmpstr (state, ==, "succeeded");

  {
    g_autofree char  *run_out = NULL;
    const char *const argv[] = { "busctl", "--system", "get-property", SLUICE_BUS_NAME, run,
                                 SLUICE_RUN_IFACE, "State", "Workflow", NULL };

    g_assert_cmpint (dbus_test_run (f->bus, argv, &run_out, NULL), ==, 0);
    g_assert_cmpstr (run_out, ==, "s \"succeeded\"\ns \"bravo\"\n");
  }

  /* introspect: every member of the manager, with its signature. */
  {
    g_autofree char  *intro = NULL;
    const char *const argv[] = { "busctl", "--system", "--no-pager", "introspect",
                                 SLUICE_BUS_NAME, SLUICE_MANAGER_PATH, NULL };
    const char *const expected[][3] = {
      { ".ListWorkflows", "method", "-" },
      { ".LoadWorkflow", "method", "s" },
      { ".ReloadWorkflows", "method", "-" },
      { ".EnableWorkflow", "method", "s" },
      { ".DisableWorkflow", "method", "s" },
      { ".PauseWorkflow", "method", "s" },
      { ".ResumeWorkflow", "method", "s" },
      { ".Trigger", "method", "saya{ss}" },
      { ".ListRuns", "method", "a{sv}" },
      { ".ListBatches", "method", "-" },
      { ".ListDeadLetters", "method", "a{sv}" },
      { ".GetDeadLetter", "method", "s" },
      { ".ReplayDeadLetters", "method", "asa{sv}" },
      { ".PurgeDeadLetters", "method", "asa{sv}" },
      { ".Version", "property", "s" },
      { ".Plugins", "property", "a(sssa(ss))" },
      { ".WorkflowsChanged", "signal", "-" },
    };
    g_auto (GStrv) lines = NULL;
    gboolean in_manager = FALSE;
    guint    found = 0;

    g_assert_cmpint (dbus_test_run (f->bus, argv, &intro, NULL), ==, 0);
    lines = g_strsplit (intro, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++)
      {
        g_auto (GStrv) columns = g_strsplit_set (lines[i], " \t", -1);
        g_autoptr (GPtrArray) words = g_ptr_array_new ();

        for (guint c = 0; columns[c] != NULL; c++)
          if (columns[c][0] != '\0')
            g_ptr_array_add (words, columns[c]);
        if (words->len < 3)
          continue;
        if (g_str_equal (words->pdata[1], "interface"))
          in_manager = g_str_equal (words->pdata[0], SLUICE_MANAGER_IFACE);
        if (!in_manager)
          continue;
        for (guint e = 0; e < G_N_ELEMENTS (expected); e++)
          if (g_str_equal (words->pdata[0], expected[e][0]))
            {
              g_assert_cmpstr (words->pdata[1], ==, expected[e][1]);
              g_assert_cmpstr (words->pdata[2], ==, expected[e][2]);
              found++;
            }
      }
    g_assert_cmpuint (found, ==, G_N_ELEMENTS (expected));
  }

  /* tree: the manager, the run, the batch. */
  batch = fill_batch (f);
  DBUS_TEST_WAIT_UNTIL (busctl_tree_shows (f, batch, run), 10000);

  /* A failing call fails. */
  {
    g_autofree char  *fail_err = NULL;
    const char *const argv[] = { "busctl", "--system", "call", SLUICE_BUS_NAME,
                                 SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE, "PauseWorkflow", "s",
                                 "no-such-workflow", NULL };

    g_assert_cmpint (dbus_test_run (f->bus, argv, NULL, &fail_err), !=, 0);
    g_assert_nonnull (strstr (fail_err, "no-such-workflow"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/dbus/clients/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("gdbus/call", test_gdbus_call);
  ADD ("gdbus/introspect-matches-spec", test_gdbus_introspect);
  ADD ("busctl", test_busctl);
#undef ADD

  return g_test_run ();
}
