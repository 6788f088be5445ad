/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluicectl.h"

static char *opt_workflow;
static char *opt_state;
static int   opt_limit = -1;

static const GOptionEntry runs_entries[] = {
  { "workflow", 0, 0, G_OPTION_ARG_STRING, &opt_workflow, "Only the runs of workflow NAME",
    "NAME" },
  { "state", 0, 0, G_OPTION_ARG_STRING, &opt_state,
    "Only runs in STATE (queued, running, succeeded, failed, handed-back)", "STATE" },
  { "limit", 0, 0, G_OPTION_ARG_INT, &opt_limit, "At most N runs (default 100)", "N" },
  { NULL }
};

/* How long it ran, or has been running. */
static char *
run_duration (gint64 started, gint64 finished)
{
  if (started == 0)
    return g_strdup ("-");
  return sluicectl_format_duration ((finished != 0 ? finished : g_get_real_time ()) - started);
}

static int
runs (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GVariant) list = NULL;
  g_auto (GVariantDict) filter = G_VARIANT_DICT_INIT (NULL);

  if (opt_limit == 0 || opt_limit < -1)
    return sluicectl_usage_error ("runs: --limit %d: expected at least 1", opt_limit);

  if (opt_workflow != NULL)
    g_variant_dict_insert (&filter, "workflow", "s", opt_workflow);
  if (opt_state != NULL)
    g_variant_dict_insert (&filter, "state", "s", opt_state);
  if (opt_limit > 0)
    g_variant_dict_insert (&filter, "limit", "u", (guint32) opt_limit);

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "runs");
  sluice_dbus_manager_call_list_runs (manager, g_variant_dict_end (&filter), NULL,
                                      sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_list_runs_finish (manager, &list, result, &error))
    return sluicectl_report_error (error, "runs");

  if (ctl->json)
    {
      g_autoptr (JsonNode) root = sluicectl_vardict_list_to_json (list);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      g_autoptr (SluicectlTable) table = sluicectl_table_new ("ID", "WORKFLOW", "STATE", "STARTED",
                                                              "DURATION", "ERROR", NULL);

      for (gsize i = 0; i < g_variant_n_children (list); i++)
        {
          g_autoptr (GVariant) run = g_variant_get_child_value (list, i);
          gint64           started = sluicectl_dict_int (run, "started");
          gint64           finished = sluicectl_dict_int (run, "finished");
          g_autofree char *started_text = sluicectl_format_time (started);
          g_autofree char *duration = run_duration (started, finished);
          g_autofree char *error_text = sluicectl_first_line (sluicectl_dict_string (run, "error", ""));

          sluicectl_table_add_row (table, sluicectl_dict_string (run, "id", "?"),
                                   sluicectl_dict_string (run, "workflow", "?"),
                                   sluicectl_dict_string (run, "state", "?"), started_text,
                                   duration, error_text, NULL);
        }
      sluicectl_table_print (table);
    }
  return SLUICECTL_EXIT_OK;
}

/* ---- run show ID ---- */

static int
run_show (SluicectlContext *ctl, char **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GVariant) properties = NULL;

  path = sluicectl_object_path (SLUICECTL_RUNS_PATH, args[0], &error);
  if (path == NULL)
    return sluicectl_report_error (error, "run show");
  properties = sluicectl_get_all_properties (ctl, path, SLUICECTL_RUN_IFACE, &error);
  if (properties == NULL)
    return sluicectl_report_object_error (error, "run show", "run", args[0]);

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) root = NULL;
      GVariantIter iter;
      const char  *name;
      GVariant    *value;

      json_object_set_string_member (object, "path", path);
      g_variant_iter_init (&iter, properties);
      while (g_variant_iter_loop (&iter, "{&sv}", &name, &value))
        {
          g_autofree char *key = sluicectl_property_key (name);

          json_object_set_member (object, key, sluicectl_variant_to_json (key, value));
        }
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      gint64           started = sluicectl_dict_int (properties, "Started");
      gint64           finished = sluicectl_dict_int (properties, "Finished");
      g_autofree char *started_text = sluicectl_format_time (started);
      g_autofree char *finished_text = sluicectl_format_time (finished);
      g_autofree char *duration = run_duration (started, finished);
      const char      *error_text = sluicectl_dict_string (properties, "Error", "");
      const char      *trace_id = sluicectl_dict_string (properties, "TraceId", "");

      g_print ("Id:        %s\n", sluicectl_dict_string (properties, "Id", args[0]));
      g_print ("Path:      %s\n", path);
      g_print ("Workflow:  %s\n", sluicectl_dict_string (properties, "Workflow", "?"));
      g_print ("State:     %s\n", sluicectl_dict_string (properties, "State", "?"));
      g_print ("Started:   %s\n", started_text);
      g_print ("Finished:  %s\n", finished_text);
      g_print ("Duration:  %s\n", duration);
      g_print ("Trace id:  %s\n", *trace_id != '\0' ? trace_id : "-");
      g_print ("Error:     %s\n", *error_text != '\0' ? error_text : "-");
    }
  return SLUICECTL_EXIT_OK;
}

const SluicectlCommand sluicectl_run_commands[] = {
  { NULL, "runs", NULL, "List the runs in progress and the last finished ones, newest first",
    runs_entries, 0, 0, runs },
  { "run", "show", "ID", "Show one run (ID as listed by 'runs', or its object path)", NULL, 1, 1,
    run_show },
  { NULL }
};
