/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "sluicectl.h"

/* ---- workflows ---- */

static int
workflows (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GVariant) list = NULL;

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "workflows");
  sluice_dbus_manager_call_list_workflows (manager, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_list_workflows_finish (manager, &list, result, &error))
    return sluicectl_report_error (error, "workflows");

  if (ctl->json)
    {
      g_autoptr (JsonNode) root = sluicectl_vardict_list_to_json (list);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      g_autoptr (SluicectlTable) table = sluicectl_table_new ("NAME", "STATE", "TRIGGER", "RUNNING",
                                                              "WAITING", "PATH", NULL);

      for (gsize i = 0; i < g_variant_n_children (list); i++)
        {
          g_autoptr (GVariant) workflow = g_variant_get_child_value (list, i);
          g_autofree char *running = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                      sluicectl_dict_uint (workflow, "running"));
          g_autofree char *waiting = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                      sluicectl_dict_uint (workflow, "waiting"));

          sluicectl_table_add_row (table, sluicectl_dict_string (workflow, "name", "?"),
                                   sluicectl_dict_string (workflow, "state", "?"),
                                   sluicectl_dict_string (workflow, "trigger", "-"), running,
                                   waiting, sluicectl_dict_string (workflow, "path", "-"), NULL);
        }
      sluicectl_table_print (table);
    }
  return SLUICECTL_EXIT_OK;
}

/* ---- workflow enable|disable|pause|resume NAME ---- */

typedef void (*NameCall) (SluiceDBusManager  *proxy,
                          const char         *name,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data);
typedef gboolean (*NameCallFinish) (SluiceDBusManager *proxy,
                                    GAsyncResult      *result,
                                    GError           **error);

static int
workflow_call (SluicectlContext *ctl,
               const char       *verb,
               const char       *name,
               NameCall          call,
               NameCallFinish    finish)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "workflow %s '%s'", verb, name);
  call (manager, name, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!finish (manager, result, &error))
    return sluicectl_report_error (error, "workflow %s '%s'", verb, name);
  return SLUICECTL_EXIT_OK;
}

static int
workflow_enable (SluicectlContext *ctl, char **args)
{
  return workflow_call (ctl, "enable", args[0], sluice_dbus_manager_call_enable_workflow,
                        sluice_dbus_manager_call_enable_workflow_finish);
}

static int
workflow_disable (SluicectlContext *ctl, char **args)
{
  return workflow_call (ctl, "disable", args[0], sluice_dbus_manager_call_disable_workflow,
                        sluice_dbus_manager_call_disable_workflow_finish);
}

static int
workflow_pause (SluicectlContext *ctl, char **args)
{
  return workflow_call (ctl, "pause", args[0], sluice_dbus_manager_call_pause_workflow,
                        sluice_dbus_manager_call_pause_workflow_finish);
}

static int
workflow_resume (SluicectlContext *ctl, char **args)
{
  return workflow_call (ctl, "resume", args[0], sluice_dbus_manager_call_resume_workflow,
                        sluice_dbus_manager_call_resume_workflow_finish);
}

/* ---- workflow load PATH ---- */

static int
workflow_load (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult    *slot = NULL;
  g_autofree char *path = NULL;
  g_autofree char *name = NULL;

  /* sluiced runs elsewhere: a relative path means nothing to it. */
  path = g_canonicalize_filename (args[0], NULL);
  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "workflow load %s", path);
  sluice_dbus_manager_call_load_workflow (manager, path, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_load_workflow_finish (manager, &name, result, &error))
    return sluicectl_report_error (error, "workflow load %s", path);

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) root = NULL;

      json_object_set_string_member (object, "name", name);
      json_object_set_string_member (object, "path", path);
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    g_print ("loaded workflow '%s' from %s\n", name, path);
  return SLUICECTL_EXIT_OK;
}

/* ---- workflow reload ---- */

static int
workflow_reload (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_auto (GStrv) loaded = NULL;
  g_auto (GStrv) removed = NULL;
  g_autoptr (GVariant) failed = NULL;
  GVariantIter iter;
  const char  *file, *message;

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "workflow reload");
  sluice_dbus_manager_call_reload_workflows (manager, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_reload_workflows_finish (manager, &loaded, &removed, &failed,
                                                         result, &error))
    return sluicectl_report_error (error, "workflow reload");

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonArray) loaded_array = json_array_new ();
      g_autoptr (JsonArray) removed_array = json_array_new ();
      g_autoptr (JsonNode) root = NULL;

      for (guint i = 0; loaded[i] != NULL; i++)
        json_array_add_string_element (loaded_array, loaded[i]);
      for (guint i = 0; removed[i] != NULL; i++)
        json_array_add_string_element (removed_array, removed[i]);
      json_object_set_array_member (object, "loaded", g_steal_pointer (&loaded_array));
      json_object_set_array_member (object, "removed", g_steal_pointer (&removed_array));
      json_object_set_member (object, "failed", sluicectl_variant_to_json (NULL, failed));
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      for (guint i = 0; loaded[i] != NULL; i++)
        g_print ("loaded   %s\n", loaded[i]);
      for (guint i = 0; removed[i] != NULL; i++)
        g_print ("removed  %s\n", removed[i]);
      if (loaded[0] == NULL && removed[0] == NULL && g_variant_n_children (failed) == 0)
        g_print ("no changes\n");
    }

  /* Files that did not load are refused input: report each, fail once. */
  g_variant_iter_init (&iter, failed);
  while (g_variant_iter_next (&iter, "{&s&s}", &file, &message))
    g_printerr ("sluicectl: workflow reload: %s: %s\n", file, message);
  return g_variant_n_children (failed) > 0 ? SLUICECTL_EXIT_INVALID_INPUT : SLUICECTL_EXIT_OK;
}

/* ---- workflow trigger NAME ---- */

static char    *opt_payload;
static char    *opt_payload_file;
static char   **opt_headers;
static char    *opt_content_type;
static gboolean opt_wait;

static const GOptionEntry trigger_entries[] = {
  { "payload", 0, 0, G_OPTION_ARG_STRING, &opt_payload, "The event's body", "TEXT" },
  { "payload-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_payload_file,
    "Read the event's body from FILE ('-': standard input)", "FILE" },
  { "header", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_headers,
    "Add the header NAME with VALUE (repeatable)", "NAME=VALUE" },
  { "content-type", 0, 0, G_OPTION_ARG_STRING, &opt_content_type,
    "The event's content type (the \"content-type\" header)", "TYPE" },
  { "wait", 0, 0, G_OPTION_ARG_NONE, &opt_wait,
    "Wait until the run finishes; exit 0 only when it succeeded", NULL },
  { NULL }
};

static GBytes *
read_stdin (GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  guint8 buffer[65536];
  size_t n;

  while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0)
    g_byte_array_append (data, buffer, n);
  if (ferror (stdin))
    {
      g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_FAILED,
                   "reading the payload from standard input failed");
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* Done before any call, so this blocking read delays nothing. */
static GBytes *
read_payload (GError **error)
{
  g_autoptr (GError) local_error = NULL;
  char *contents = NULL;
  gsize length = 0;

  if (opt_payload != NULL)
    return g_bytes_new (opt_payload, strlen (opt_payload));
  if (opt_payload_file == NULL)
    return g_bytes_new (NULL, 0);
  if (g_str_equal (opt_payload_file, "-"))
    return read_stdin (error);
  if (!g_file_get_contents (opt_payload_file, &contents, &length, &local_error))
    {
      g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_FAILED, "--payload-file: %s",
                   local_error->message);
      return NULL;
    }
  return g_bytes_new_take (contents, length);
}

static GVariant *
build_headers (GError **error)
{
  g_auto (GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));

  for (guint i = 0; opt_headers != NULL && opt_headers[i] != NULL; i++)
    {
      const char      *equals = strchr (opt_headers[i], '=');
      g_autofree char *name = NULL;

      if (equals == NULL || equals == opt_headers[i])
        {
          g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_USAGE,
                       "--header '%s': expected NAME=VALUE", opt_headers[i]);
          return NULL;
        }
      name = g_strndup (opt_headers[i], equals - opt_headers[i]);
      if (opt_content_type != NULL && g_ascii_strcasecmp (name, "content-type") == 0)
        {
          g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_USAGE,
                       "--header '%s' and --content-type both set the content type",
                       opt_headers[i]);
          return NULL;
        }
      if (!g_utf8_validate (opt_headers[i], -1, NULL))
        {
          g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_USAGE,
                       "--header %s: not valid UTF-8", name);
          return NULL;
        }
      g_variant_builder_add (&builder, "{ss}", name, equals + 1);
    }
  if (opt_content_type != NULL)
    g_variant_builder_add (&builder, "{ss}", "content-type", opt_content_type);
  return g_variant_builder_end (&builder);
}

typedef struct
{
  gboolean finished;
  gboolean daemon_gone;
  char    *state;
  char    *error;
} RunWait;

static void
on_run_finished (GDBusConnection *connection,
                 const char      *sender,
                 const char      *object_path,
                 const char      *interface,
                 const char      *signal,
                 GVariant        *parameters,
                 gpointer         user_data)
{
  RunWait *wait = user_data;

  if (wait->finished || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ss)")))
    return;
  g_variant_get (parameters, "(ss)", &wait->state, &wait->error);
  wait->finished = TRUE;
}

static void
on_daemon_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  RunWait *wait = user_data;

  wait->daemon_gone = TRUE;
}

static gboolean
run_state_is_final (const char *state)
{
  return g_strcmp0 (state, "succeeded") == 0 || g_strcmp0 (state, "failed") == 0 ||
         g_strcmp0 (state, "handed-back") == 0;
}

/* The run's path is known only once Trigger answers, so the run may be
 * over before anyone listens: subscribe to Finished first, then read
 * State; a final State means the signal went out already. */
static gboolean
wait_for_run (SluicectlContext *ctl, const char *run_path, RunWait *wait, GError **error)
{
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GError) local_error = NULL;
  guint       subscription, watch;
  const char *state;

  subscription = g_dbus_connection_signal_subscribe (ctl->connection,
                                                     sluicectl_daemon_owner (ctl),
                                                     SLUICECTL_RUN_IFACE, "Finished", run_path,
                                                     NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                     on_run_finished, wait, NULL);
  watch = g_bus_watch_name_on_connection (ctl->connection, SLUICECTL_BUS_NAME,
                                          G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                          on_daemon_vanished, wait, NULL);

  properties = sluicectl_get_all_properties (ctl, run_path, SLUICECTL_RUN_IFACE, &local_error);
  if (properties != NULL && !wait->finished)
    {
      state = sluicectl_dict_string (properties, "State", NULL);
      if (run_state_is_final (state))
        {
          wait->state = g_strdup (state);
          wait->error = g_strdup (sluicectl_dict_string (properties, "Error", ""));
          wait->finished = TRUE;
        }
    }

  while (properties != NULL && !wait->finished && !wait->daemon_gone)
    g_main_context_iteration (NULL, TRUE);

  g_bus_unwatch_name (watch);
  g_dbus_connection_signal_unsubscribe (ctl->connection, subscription);

  if (properties == NULL && !wait->finished)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!wait->finished)
    {
      g_set_error (error, SLUICECTL_ERROR, SLUICECTL_EXIT_UNREACHABLE,
                   "sluiced left the bus before the run finished");
      return FALSE;
    }
  return TRUE;
}

static int
workflow_trigger (SluicectlContext *ctl, char **args)
{
  const char        *workflow = args[0];
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GVariant) headers = NULL;
  g_autofree char *run_path = NULL;
  g_autofree char *run_id = NULL;
  RunWait          wait = { FALSE, FALSE, NULL, NULL };
  gboolean         succeeded;

  if (opt_payload != NULL && opt_payload_file != NULL)
    return sluicectl_usage_error ("workflow trigger: --payload and --payload-file exclude each "
                                  "other");
  headers = build_headers (&error);
  if (headers == NULL)
    return sluicectl_report_error (error, "workflow trigger '%s'", workflow);
  g_variant_ref_sink (headers);
  payload = read_payload (&error);
  if (payload == NULL)
    return sluicectl_report_error (error, "workflow trigger '%s'", workflow);

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "workflow trigger '%s'", workflow);
  sluice_dbus_manager_call_trigger (manager, workflow,
                                    g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, payload,
                                                              TRUE),
                                    headers, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_trigger_finish (manager, &run_path, result, &error))
    return sluicectl_report_error (error, "workflow trigger '%s'", workflow);
  run_id = sluicectl_id_from_path (run_path);

  if (opt_wait && !wait_for_run (ctl, run_path, &wait, &error))
    {
      if (sluicectl_error_to_exit (error) == SLUICECTL_EXIT_NOT_FOUND)
        {
          g_printerr ("sluicectl: workflow trigger '%s': run %s left the history window before "
                      "its end could be read\n",
                      workflow, run_id);
          return SLUICECTL_EXIT_NOT_FOUND;
        }
      return sluicectl_report_error (error, "workflow trigger '%s': waiting for run %s", workflow,
                                     run_id);
    }
  succeeded = !opt_wait || g_strcmp0 (wait.state, "succeeded") == 0;

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) root = NULL;

      json_object_set_string_member (object, "id", run_id);
      json_object_set_string_member (object, "path", run_path);
      if (opt_wait)
        {
          json_object_set_string_member (object, "state", wait.state);
          json_object_set_string_member (object, "error", wait.error);
        }
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      g_print ("run %s %s\n", run_id, run_path);
      if (opt_wait)
        g_print ("%s\n", wait.state);
    }
  if (!succeeded)
    g_printerr ("sluicectl: workflow trigger '%s': run %s %s%s%s\n", workflow, run_id, wait.state,
                wait.error != NULL && *wait.error != '\0' ? ": " : "",
                wait.error != NULL ? wait.error : "");

  g_free (wait.state);
  g_free (wait.error);
  return succeeded ? SLUICECTL_EXIT_OK : SLUICECTL_EXIT_FAILED;
}

const SluicectlCommand sluicectl_workflow_commands[] = {
  { NULL, "workflows", NULL, "List the workflows: NAME STATE TRIGGER RUNNING WAITING PATH", NULL,
    0, 0, workflows },
  { "workflow", "enable", "NAME", "Start a disabled workflow (kept across restarts)", NULL, 1, 1,
    workflow_enable },
  { "workflow", "disable", "NAME",
    "Stop a workflow once its runs finish (kept across restarts)", NULL, 1, 1, workflow_disable },
  { "workflow", "pause", "NAME", "Stop pulling events from the workflow's trigger", NULL, 1, 1,
    workflow_pause },
  { "workflow", "resume", "NAME", "Pull events from a paused workflow's trigger again", NULL, 1,
    1, workflow_resume },
  { "workflow", "load", "PATH", "Load a workflow file, replacing the workflow of the same name",
    NULL, 1, 1, workflow_load },
  { "workflow", "reload", NULL, "Read the workflows folder again", NULL, 0, 0, workflow_reload },
  { "workflow", "trigger", "NAME", "Run the workflow NAME once on an event", trigger_entries, 1,
    1, workflow_trigger },
  { NULL }
};
