/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <sluice/sluice.h>

#include "sluice-batch-manager.h"
#include "sluice-builtins.h"
#include "sluice-config.h"
#include "sluice-dbus-service.h"
#include "sluice-dead-letters.h"
#include "sluice-engine.h"
#include "sluice-managed-redis.h"
#include "sluice-memory-dead-letter-store.h"
#include "sluice-memory-state-store.h"
#include "sluice-plugin-host.h"
#include "sluice-run-history.h"
#include "sluice-workflow.h"
#include "sluice-workflow-set.h"

typedef struct {
  GMainLoop  *loop;
  int         exit_status;
  const char *run_id;       /* --run: the run we wait for */
} Daemon;

static gboolean opt_version;
static gboolean opt_list_plugins;
static gboolean opt_json;
static gboolean opt_check;
static gboolean opt_verbose;
static char *opt_config;
static char *opt_workflows;
static char *opt_run;
static char *opt_input;
static gboolean opt_batches;
static char *opt_batch_retry;
static gboolean opt_dead_letters;
static char *opt_dead_letter;
static char **opt_replay;
static gboolean opt_replay_all;
static char **opt_purge;
static gboolean opt_purge_all;
static char *opt_filter_workflow;
static char *opt_filter_node;
static char *opt_filter_error;
static char **opt_remaining;
static gboolean opt_session;

static const GOptionEntry options[] = {
  { "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
    "Read settings from FILE (default " SLUICE_SYSCONFDIR "/sluice/sluice.conf)", "FILE" },
  { "workflows", 'w', 0, G_OPTION_ARG_FILENAME, &opt_workflows,
    "Run the workflows in DIR instead of the configured folder", "DIR" },
  { "list-plugins", 0, 0, G_OPTION_ARG_NONE, &opt_list_plugins,
    "List the plugins and their components, then exit", NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "With --list-plugins: print JSON", NULL },
  { "check", 0, 0, G_OPTION_ARG_NONE, &opt_check,
    "Check the workflow files given as arguments, then exit (0: all valid)", NULL },
  { "run", 0, 0, G_OPTION_ARG_FILENAME, &opt_run,
    "Run the workflow in FILE once on one event, then exit (0: acknowledged)", "FILE" },
  { "input", 0, 0, G_OPTION_ARG_FILENAME, &opt_input,
    "With --run: the event's body is the content of FILE", "FILE" },
  { "batches", 0, 0, G_OPTION_ARG_NONE, &opt_batches,
    "List the batches in the store with their counts, then exit", NULL },
  { "batch-retry", 0, 0, G_OPTION_ARG_STRING, &opt_batch_retry,
    "Send the failed records of batch ID back to processing, then exit", "ID" },
  { "session", 0, 0, G_OPTION_ARG_NONE, &opt_session,
    "Publish the control API on the session bus instead of the system bus", NULL },
  { "dead-letters", 0, 0, G_OPTION_ARG_NONE, &opt_dead_letters,
    "List the dead letters (see --workflow, --node, --error-contains), then exit", NULL },
  { "dead-letter", 0, 0, G_OPTION_ARG_STRING, &opt_dead_letter,
    "Print dead letter ID as JSON, payload included, then exit", "ID" },
  { "replay", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_replay,
    "Run dead letter ID through its workflow again (repeatable); exit when done", "ID" },
  { "replay-all", 0, 0, G_OPTION_ARG_NONE, &opt_replay_all,
    "Replay every dead letter that matches the filters; exit when done", NULL },
  { "purge", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_purge,
    "Remove dead letter ID (repeatable), then exit", "ID" },
  { "purge-all", 0, 0, G_OPTION_ARG_NONE, &opt_purge_all,
    "Remove every dead letter that matches the filters, then exit", NULL },
  { "workflow", 0, 0, G_OPTION_ARG_STRING, &opt_filter_workflow,
    "Dead letters: only those of this workflow", "NAME" },
  { "node", 0, 0, G_OPTION_ARG_STRING, &opt_filter_node,
    "Dead letters: only those that failed in this node", "ID" },
  { "error-contains", 0, 0, G_OPTION_ARG_STRING, &opt_filter_error,
    "Dead letters: only those whose error contains TEXT", "TEXT" },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log debug messages too", NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_remaining, NULL, "[WORKFLOW…]" },
  { NULL }
};

/* ---- Logging: journald when stderr is the journal, else one line each. ---- */

static GLogWriterOutput
log_writer (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;
  const char *prefix;

  if (!g_log_get_debug_enabled () && (log_level & (G_LOG_LEVEL_DEBUG)) != 0)
    return G_LOG_WRITER_HANDLED;
  if (g_log_writer_is_journald (fileno (stderr)))
    return g_log_writer_journald (log_level, fields, n_fields, user_data);

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      message = fields[i].value;

  switch (log_level & G_LOG_LEVEL_MASK)
    {
    case G_LOG_LEVEL_ERROR:
    case G_LOG_LEVEL_CRITICAL:
      prefix = "error";
      break;
    case G_LOG_LEVEL_WARNING:
      prefix = "warning";
      break;
    case G_LOG_LEVEL_MESSAGE:
      prefix = "notice";
      break;
    case G_LOG_LEVEL_INFO:
      prefix = "info";
      break;
    default:
      prefix = "debug";
      break;
    }
  fprintf (stderr, "sluiced[%d] %s: %s\n", (int) getpid (), prefix,
           message != NULL ? message : "(no message)");
  return G_LOG_WRITER_HANDLED;
}

/* ---- Plugins ---- */

static SluicePluginHost *
load_plugins (SluiceConfig *config)
{
  g_autoptr(SluicePluginHost) host = sluice_plugin_host_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) path = NULL;

  if (!sluice_plugin_host_add_builtin (host, sluice_builtins_get_descriptor (), &error))
    g_error ("built-in components: %s", error->message);

  path = sluice_plugin_host_build_search_path ((const char * const *) config->plugin_dirs,
                                               SLUICE_PLUGINDIR);
  sluice_plugin_host_load_directories (host, (const char * const *) path);
  return g_steal_pointer (&host);
}

static void
print_plugins (SluicePluginHost *host)
{
  GPtrArray *plugins = sluice_plugin_host_get_plugins (host);

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_array (builder);
      for (guint i = 0; i < plugins->len; i++)
        {
          SluicePlugin *plugin = g_ptr_array_index (plugins, i);
          GPtrArray *components = sluice_plugin_get_components (plugin);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, sluice_plugin_get_name (plugin));
          json_builder_set_member_name (builder, "version");
          json_builder_add_string_value (builder, sluice_plugin_get_version (plugin));
          json_builder_set_member_name (builder, "path");
          json_builder_add_string_value (builder, sluice_plugin_get_path (plugin));
          json_builder_set_member_name (builder, "license");
          json_builder_add_string_value (builder, sluice_plugin_get_license (plugin));
          json_builder_set_member_name (builder, "description");
          json_builder_add_string_value (builder, sluice_plugin_get_description (plugin));
          json_builder_set_member_name (builder, "components");
          json_builder_begin_array (builder);
          for (guint c = 0; c < components->len; c++)
            {
              SluiceComponentFactory *factory = g_ptr_array_index (components, c);

              json_builder_begin_object (builder);
              json_builder_set_member_name (builder, "name");
              json_builder_add_string_value (builder, sluice_component_factory_get_name (factory));
              json_builder_set_member_name (builder, "interface");
              json_builder_add_string_value (builder, sluice_component_kind_to_string (
                                                        sluice_component_factory_get_kind (factory)));
              json_builder_set_member_name (builder, "description");
              json_builder_add_string_value (builder,
                                             sluice_component_factory_get_description (factory));
              json_builder_end_object (builder);
            }
          json_builder_end_array (builder);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);

      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
      return;
    }

  for (guint i = 0; i < plugins->len; i++)
    {
      SluicePlugin *plugin = g_ptr_array_index (plugins, i);
      GPtrArray *components = sluice_plugin_get_components (plugin);

      g_print ("%s %s  %s\n  %s\n", sluice_plugin_get_name (plugin),
               sluice_plugin_get_version (plugin), sluice_plugin_get_path (plugin),
               sluice_plugin_get_description (plugin));
      for (guint c = 0; c < components->len; c++)
        {
          SluiceComponentFactory *factory = g_ptr_array_index (components, c);
          const char *description = sluice_component_factory_get_description (factory);

          g_print ("    %-24s %-12s %s\n", sluice_component_factory_get_name (factory),
                   sluice_component_kind_to_string (sluice_component_factory_get_kind (factory)),
                   description != NULL ? description : "");
        }
    }
}

/* ---- --check ---- */

static int
check_workflows (SluicePluginHost *host, char **files)
{
  int status = 0;

  if (files == NULL || files[0] == NULL)
    {
      g_printerr ("sluiced: --check needs at least one workflow file\n");
      return 2;
    }
  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SluiceWorkflow) workflow = sluice_workflow_load_file (host, files[i], &error);

      if (workflow == NULL)
        {
          g_printerr ("%s\n", error->message);
          status = 1;
        }
      else
        g_print ("%s: workflow '%s' is valid\n", files[i], sluice_workflow_get_name (workflow));
    }
  return status;
}

/* ---- Waiting for one async result, at start-up and in CLI commands ---- */

static void
on_ready (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

/* ---- Stores ---- */

typedef struct {
  SluiceManagedRedis    *managed;
  SluiceBatchStore      *batch_store;
  SluiceStateStore      *state_store;
  SluiceDeadLetterStore *dead_letters;
} Stores;

static void
stores_clear (Stores *stores)
{
  g_clear_object (&stores->dead_letters);
  g_clear_object (&stores->batch_store);
  g_clear_object (&stores->state_store);
  if (stores->managed != NULL)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;

      sluice_managed_redis_stop_async (stores->managed, NULL, on_ready, &result);
      if (!sluice_managed_redis_stop_finish (stores->managed, wait_for (&result), &error))
        g_warning ("managed redis-server: %s", error->message);
      g_clear_object (&stores->managed);
    }
}

static gboolean
redis_is (SluiceConfig *config, const char *value)
{
  return JSON_NODE_HOLDS_VALUE (config->redis) &&
         g_str_equal (json_node_get_string (config->redis), value);
}

/* The redis plugin's stores for the configured Redis. With "managed",
 * @start_managed starts the server unless a running sluiced already has
 * one there (then a --run joins it and a second daemon refuses to start);
 * without it, a running daemon's server is used. */
static gboolean
stores_open (Stores           *stores,
             SluiceConfig     *config,
             SluicePluginHost *host,
             SluiceClock      *clock,
             JsonObject       *connections,
             gboolean          start_managed,
             GError          **error)
{
  g_autoptr(JsonObject) store_config = NULL;
  g_autoptr(SluiceContext) context = sluice_context_new ("redis", clock, NULL);
  SluiceComponentFactory *batch_factory = sluice_plugin_host_lookup (host, "redis.batch-store");
  SluiceComponentFactory *state_factory = sluice_plugin_host_lookup (host, "redis.state-store");
  SluiceComponentFactory *dead_letter_factory =
    sluice_plugin_host_lookup (host, "redis.dead-letter-store");

  if (batch_factory == NULL || state_factory == NULL || dead_letter_factory == NULL)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                           "\"redis\" in sluice.conf needs the redis plugin, which is not "
                           "installed (see sluiced --list-plugins)");
      return FALSE;
    }

  if (redis_is (config, "managed"))
    {
      if (start_managed && sluice_managed_redis_is_running (config->state_dir) && opt_run == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                       "another sluiced already runs with the state folder %s (its managed Redis "
                       "answers there)", config->state_dir);
          return FALSE;
        }
      if (start_managed && !sluice_managed_redis_is_running (config->state_dir))
        {
          g_autoptr(GAsyncResult) result = NULL;

          sluice_managed_redis_start_async (config->state_dir, NULL, on_ready, &result);
          stores->managed = sluice_managed_redis_start_finish (wait_for (&result), error);
          if (stores->managed == NULL)
            return FALSE;
          store_config = json_object_new ();
          json_object_set_string_member (store_config, "url",
                                         sluice_managed_redis_get_url (stores->managed));
        }
      else
        {
          g_autofree char *socket = sluice_managed_redis_socket_path (config->state_dir);
          g_autofree char *url = g_strconcat ("unix://", socket, NULL);

          if (!g_file_test (socket, G_FILE_TEST_EXISTS))
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                           "no running sluiced: its managed Redis socket %s does not exist",
                           socket);
              return FALSE;
            }
          store_config = json_object_new ();
          json_object_set_string_member (store_config, "url", url);
        }
    }
  else if (JSON_NODE_HOLDS_VALUE (config->redis))
    {
      store_config = json_object_new ();
      json_object_set_string_member (store_config, "url", json_node_get_string (config->redis));
    }
  else
    store_config = json_object_ref (json_node_get_object (config->redis));

  sluice_context_set_connections (context, connections);
  stores->batch_store = SLUICE_BATCH_STORE (
    sluice_component_factory_create (batch_factory, context, store_config, error));
  if (stores->batch_store == NULL)
    return FALSE;
  stores->state_store = SLUICE_STATE_STORE (
    sluice_component_factory_create (state_factory, context, store_config, error));
  if (stores->state_store == NULL)
    return FALSE;
  stores->dead_letters = SLUICE_DEAD_LETTER_STORE (
    sluice_component_factory_create (dead_letter_factory, context, store_config, error));
  return stores->dead_letters != NULL;
}

/* For the commands that work on the daemon's stores: the connections,
 * and the stores of the configured Redis (a managed one is joined, not
 * started). Prints why and returns NULL when that fails. */
static JsonObject *
command_stores_open (SluiceConfig     *config,
                     SluicePluginHost *host,
                     SluiceClock      *clock,
                     Stores           *stores)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) connections = sluice_config_load_connections (config->connections_dir,
                                                                      &error);

  if (connections == NULL ||
      !stores_open (stores, config, host, clock, connections, FALSE, &error))
    {
      g_printerr ("sluiced: %s\n", error->message);
      stores_clear (stores);
      return NULL;
    }
  return g_steal_pointer (&connections);
}

/* Without Redis: state in memory, kept in the state folder between runs
 * (schedules' last fire times, idempotency keys). */
static SluiceStateStore *
memory_state_store_open (SluiceConfig *config, SluiceClock *clock)
{
  SluiceStateStore *store = sluice_memory_state_store_new (clock);
  g_autofree char *path = g_build_filename (config->state_dir, "state.json", NULL);
  g_autoptr(GError) error = NULL;

  if (g_mkdir_with_parents (config->state_dir, 0700) != 0)
    g_warning ("state folder %s: %s; state is kept in memory only", config->state_dir,
               g_strerror (errno));
  else if (!sluice_memory_state_store_set_file (store, path, &error))
    g_warning ("%s; starting with an empty state", error->message);
  return store;
}

/* For commands that run workflows without their triggers (replays). */
static guint
load_workflow_dir (SluicePluginHost *host, SluiceEngine *engine, const char *dir)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  guint started = 0;

  names = sluice_config_list_json_files (dir, &error);
  if (names == NULL)
    {
      g_warning ("workflows folder %s: %s", dir, error->message);
      return 0;
    }

  /* One bad workflow is reported and skipped; the others run. */
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autoptr(SluiceWorkflow) workflow = NULL;

      g_clear_error (&error);
      workflow = sluice_workflow_load_file (host, path, &error);
      if (workflow == NULL)
        {
          g_warning ("not running %s:\n%s", path, error->message);
          continue;
        }
      if (!sluice_engine_add_workflow (engine, workflow, FALSE, &error))
        {
          g_warning ("not running %s: %s", path, error->message);
          continue;
        }
      started++;
    }
  return started;
}

/* ---- --dead-letters, --dead-letter, --replay, --purge ---- */

/* --run --input files up to this size are read into memory. */
#define INPUT_IN_MEMORY_MAX (1024 * 1024)

static void
dead_letter_filter_from_options (SluiceDeadLetterFilter *filter)
{
  memset (filter, 0, sizeof *filter);
  filter->workflow = opt_filter_workflow;
  filter->node = opt_filter_node;
  filter->error_contains = opt_filter_error;
}

static void
print_dead_letters (GPtrArray *letters)
{
  g_print ("%-36s %-24s %-16s %8s %-20s %s\n", "ID", "WORKFLOW", "NODE", "ATTEMPTS", "LAST",
           "ERROR");
  for (guint i = 0; i < letters->len; i++)
    {
      SluiceDeadLetter *letter = g_ptr_array_index (letters, i);
      g_autoptr(GDateTime) last = g_date_time_new_from_unix_utc (letter->last_usec / G_USEC_PER_SEC);
      g_autofree char *when = last != NULL ? g_date_time_format (last, "%Y-%m-%dT%H:%M:%SZ")
                                           : g_strdup ("-");

      g_print ("%-36s %-24s %-16s %8u %-20s %s\n", letter->id, letter->workflow,
               letter->node != NULL ? letter->node : "-", letter->attempts, when,
               letter->error != NULL ? letter->error : "");
    }
}

static guint replay_finished;

static void
on_replay_run_finished (SluiceEngine *engine, const char *workflow, const char *run_id,
                        guint outcome, const char *error_message, SluiceMessage *message,
                        gpointer user_data)
{
  guint *failed = user_data;

  replay_finished++;
  if (outcome != SLUICE_EVENT_ACKED)
    {
      (*failed)++;
      g_printerr ("replay of %s (workflow %s) failed again: %s\n",
                  sluice_message_get_header (message, "sluice-replay-of"), workflow,
                  error_message != NULL ? error_message : "handed back");
    }
}

/* Replays in this process: the workflows are loaded without their
 * triggers, the dead letters run through them, and the command returns
 * once every replay has finished. */
static int
replay_dead_letters (SluiceConfig *config, SluicePluginHost *host, Stores *stores,
                     SluiceClock *clock, JsonObject *connections)
{
  g_autoptr(SluiceContext) context = sluice_context_new ("sluiced", clock, stores->state_store);
  g_autoptr(SluiceEngine) engine = NULL;
  g_autoptr(SluiceDeadLetters) manager = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *skip_reason = NULL;
  const char *dir = opt_workflows != NULL ? opt_workflows : config->workflows_dir;
  SluiceDeadLetterFilter filter;
  guint64 replayed = 0, skipped = 0;
  guint failed = 0;

  sluice_context_set_connections (context, connections);
  engine = sluice_engine_new (context);
  sluice_engine_set_dead_letter_store (engine, stores->dead_letters);
  g_signal_connect (engine, "run-finished", G_CALLBACK (on_replay_run_finished), &failed);
  load_workflow_dir (host, engine, dir);

  manager = sluice_dead_letters_new (stores->dead_letters, engine);
  dead_letter_filter_from_options (&filter);
  sluice_dead_letters_replay_async (manager, opt_replay_all ? NULL : (const char * const *) opt_replay,
                                    &filter, NULL, on_ready, &result);
  if (!sluice_dead_letters_replay_finish (manager, wait_for (&result), &replayed, &skipped,
                                          &skip_reason, &error))
    {
      g_printerr ("sluiced: %s\n", error->message);
      return 1;
    }
  while (replay_finished < replayed)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&result);
  sluice_engine_shutdown_async (engine, config->shutdown_grace_usec, NULL, on_ready, &result);
  sluice_engine_shutdown_finish (engine, wait_for (&result), NULL);

  g_print ("%" G_GUINT64_FORMAT " dead letter%s replayed: %" G_GUINT64_FORMAT " succeeded, %u "
           "failed again\n", replayed, replayed == 1 ? "" : "s", replayed - failed, failed);
  if (skipped > 0)
    g_print ("%" G_GUINT64_FORMAT " skipped (first: %s)\n", skipped, skip_reason);
  return failed > 0 || skipped > 0 ? 1 : 0;
}

static int
dead_letter_command (SluiceConfig *config, SluicePluginHost *host)
{
  g_autoptr(SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr(JsonObject) connections = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Stores stores = { NULL, NULL, NULL, NULL };
  SluiceDeadLetterFilter filter;
  int status = 0;

  if (redis_is (config, "none"))
    {
      g_printerr ("sluiced: with \"redis\": \"none\" in sluice.conf, the running daemon keeps the "
                  "dead letters in %s/dead-letters.json (JSON); configure Redis to list, replay "
                  "and purge them from here\n", config->state_dir);
      return 2;
    }
  connections = command_stores_open (config, host, clock, &stores);
  if (connections == NULL)
    return 1;
  dead_letter_filter_from_options (&filter);

  if (opt_dead_letter != NULL)
    {
      g_autoptr(SluiceDeadLetter) letter = NULL;

      sluice_dead_letter_store_get_async (stores.dead_letters, opt_dead_letter, NULL, on_ready,
                                          &result);
      letter = sluice_dead_letter_store_get_finish (stores.dead_letters, wait_for (&result), &error);
      if (letter == NULL)
        {
          g_printerr ("sluiced: %s\n", error->message);
          status = 1;
        }
      else
        {
          g_autoptr(JsonNode) node = sluice_dead_letter_to_json (letter, TRUE);
          g_autofree char *text = json_to_string (node, TRUE);

          g_print ("%s\n", text);
        }
    }
  else if (opt_replay != NULL || opt_replay_all)
    status = replay_dead_letters (config, host, &stores, clock, connections);
  else if (opt_purge != NULL || opt_purge_all)
    {
      g_autoptr(SluiceEngine) engine = NULL;
      g_autoptr(SluiceContext) context = sluice_context_new ("sluiced", clock, stores.state_store);
      g_autoptr(SluiceDeadLetters) manager = NULL;
      guint64 removed = 0;

      engine = sluice_engine_new (context);
      manager = sluice_dead_letters_new (stores.dead_letters, engine);
      sluice_dead_letters_purge_async (manager, opt_purge_all ? NULL : (const char * const *) opt_purge,
                                       &filter, NULL, on_ready, &result);
      if (!sluice_dead_letters_purge_finish (manager, wait_for (&result), &removed, &error))
        {
          g_printerr ("sluiced: %s\n", error->message);
          status = 1;
        }
      else
        g_print ("%" G_GUINT64_FORMAT " dead letter%s removed\n", removed, removed == 1 ? "" : "s");
    }
  else
    {
      g_autoptr(GPtrArray) letters = NULL;

      sluice_dead_letter_store_list_async (stores.dead_letters, &filter, 0, G_MAXUINT, NULL,
                                           on_ready, &result);
      letters = sluice_dead_letter_store_list_finish (stores.dead_letters, wait_for (&result),
                                                      &error);
      if (letters == NULL)
        {
          g_printerr ("sluiced: %s\n", error->message);
          status = 1;
        }
      else
        print_dead_letters (letters);
    }

  stores_clear (&stores);
  return status;
}

/* ---- --batches, --batch-retry ---- */

static int
batch_command (SluiceConfig *config, SluicePluginHost *host)
{
  g_autoptr(SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr(JsonObject) connections = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Stores stores = { NULL, NULL, NULL, NULL };
  int status = 0;

  if (redis_is (config, "none"))
    {
      g_printerr ("sluiced: there are no batches: \"redis\" is \"none\" in sluice.conf\n");
      return 2;
    }
  connections = command_stores_open (config, host, clock, &stores);
  if (connections == NULL)
    return 1;

  if (opt_batch_retry != NULL)
    {
      guint64 count = 0;

      sluice_batch_store_retry_failed_async (stores.batch_store, opt_batch_retry, NULL, on_ready,
                                             &result);
      if (!sluice_batch_store_retry_failed_finish (stores.batch_store, wait_for (&result), &count,
                                                   &error))
        {
          g_printerr ("sluiced: %s\n", error->message);
          status = 1;
        }
      else
        g_print ("batch %s: %" G_GUINT64_FORMAT " failed record%s sent back to processing\n",
                 opt_batch_retry, count, count == 1 ? "" : "s");
    }
  else
    {
      g_autoptr(GPtrArray) batches = NULL;

      sluice_batch_store_list_async (stores.batch_store, NULL, on_ready, &result);
      batches = sluice_batch_store_list_finish (stores.batch_store, wait_for (&result), &error);
      if (batches == NULL)
        {
          g_printerr ("sluiced: %s\n", error->message);
          status = 1;
        }
      else
        {
          g_print ("%-40s %-10s %10s %10s %10s %10s\n", "BATCH", "STATE", "PENDING",
                   "PROCESSING", "SUCCEEDED", "FAILED");
          for (guint i = 0; i < batches->len; i++)
            {
              SluiceBatchInfo *info = g_ptr_array_index (batches, i);

              g_print ("%-40s %-10s %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
                       " %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT "\n",
                       info->id, sluice_batch_state_to_string (info->state),
                       info->counts[SLUICE_RECORD_PENDING], info->counts[SLUICE_RECORD_PROCESSING],
                       info->counts[SLUICE_RECORD_SUCCEEDED], info->counts[SLUICE_RECORD_FAILED]);
            }
        }
    }

  stores_clear (&stores);
  return status;
}

/* ---- Running ---- */

static void
on_batch_progress (SluiceBatchManager *manager, const char *id, SluiceBatchInfo *info,
                   gpointer user_data)
{
  g_info ("batch %s: %s, %" G_GUINT64_FORMAT " pending, %" G_GUINT64_FORMAT " processing, %"
          G_GUINT64_FORMAT " succeeded, %" G_GUINT64_FORMAT " failed", id,
          sluice_batch_state_to_string (info->state), info->counts[SLUICE_RECORD_PENDING],
          info->counts[SLUICE_RECORD_PROCESSING], info->counts[SLUICE_RECORD_SUCCEEDED],
          info->counts[SLUICE_RECORD_FAILED]);
}

static void
on_batch_finished (SluiceBatchManager *manager, const char *id, SluiceBatchInfo *info,
                   gpointer user_data)
{
  g_message ("batch %s %s: %" G_GUINT64_FORMAT " succeeded, %" G_GUINT64_FORMAT " failed", id,
             sluice_batch_state_to_string (info->state), info->counts[SLUICE_RECORD_SUCCEEDED],
             info->counts[SLUICE_RECORD_FAILED]);
}

static void
on_run_finished (SluiceEngine *engine,
                 const char   *workflow,
                 const char   *run_id,
                 guint         outcome,
                 const char   *error_message,
                 SluiceMessage *message,
                 gpointer      user_data)
{
  Daemon *daemon = user_data;

  if (daemon->run_id == NULL || !g_str_equal (daemon->run_id, run_id))
    return;
  if (outcome == SLUICE_EVENT_ACKED)
    g_print ("run %s of workflow '%s': succeeded\n", run_id, workflow);
  else
    {
      g_printerr ("run %s of workflow '%s': failed: %s\n", run_id, workflow,
                  error_message != NULL ? error_message : "(no error message)");
      daemon->exit_status = 1;
    }
  g_main_loop_quit (daemon->loop);
}

typedef struct {
  Daemon             *daemon;
  SluiceEngine       *engine;
  SluiceBatchManager *manager;
  SluiceDBusService  *service;    /* or NULL */
  gint64              grace_usec;
  gboolean            shutting_down;
  gboolean            engine_stopping;
  guint               grace_timer;
} SignalData;

static void
on_outcomes_flushed (GObject *object, GAsyncResult *result, gpointer user_data)
{
  SignalData *data = user_data;

  sluice_batch_manager_stop_finish (SLUICE_BATCH_MANAGER (object), result, NULL);
  g_main_loop_quit (data->daemon->loop);
}

static void
on_engine_shut_down (GObject *object, GAsyncResult *result, gpointer user_data)
{
  SignalData *data = user_data;

  sluice_engine_shutdown_finish (SLUICE_ENGINE (object), result, NULL);
  /* Runs that settled dispatched records while the engine stopped: their
   * outcomes go to the store before the daemon exits (else their leases
   * run out and the records are sent again). */
  if (data->manager != NULL)
    {
      sluice_batch_manager_stop_async (data->manager, NULL, on_outcomes_flushed, data);
      return;
    }
  g_main_loop_quit (data->daemon->loop);
}

static void
shut_engine_down (SignalData *data, gint64 grace_usec)
{
  g_clear_handle_id (&data->grace_timer, g_source_remove);
  if (data->engine_stopping)
    return;
  data->engine_stopping = TRUE;
  sluice_engine_shutdown_async (data->engine, grace_usec, NULL, on_engine_shut_down, data);
}

static void
on_manager_stopped (GObject *object, GAsyncResult *result, gpointer user_data)
{
  SignalData *data = user_data;

  sluice_batch_manager_stop_finish (SLUICE_BATCH_MANAGER (object), result, NULL);
  shut_engine_down (data, data->grace_usec);
}

static gboolean
on_grace_over (gpointer user_data)
{
  SignalData *data = user_data;

  data->grace_timer = 0;
  shut_engine_down (data, 0);
  return G_SOURCE_REMOVE;
}

/* First the manager stops claiming and waits for its claimed records,
 * which run on in the engine meanwhile (and a finished batch's report can
 * still be delivered); then the engine stops. Past the grace period the
 * engine stops anyway: its runs are cut short, their records handed back
 * to their leases. */
static void
begin_shutdown (SignalData *data)
{
  data->shutting_down = TRUE;
  /* Nothing new is asked of a daemon on its way out. */
  if (data->service != NULL)
    sluice_dbus_service_stop (data->service);
  if (data->manager == NULL)
    {
      shut_engine_down (data, data->grace_usec);
      return;
    }
  data->grace_timer = g_timeout_add ((guint) (data->grace_usec / 1000), on_grace_over, data);
  sluice_batch_manager_stop_async (data->manager, NULL, on_manager_stopped, data);
}

static gboolean
on_terminate (gpointer user_data)
{
  SignalData *data = user_data;

  if (data->shutting_down)
    {
      g_message ("second signal: exiting without waiting for runs in progress");
      g_main_loop_quit (data->daemon->loop);
      return G_SOURCE_CONTINUE;
    }
  g_message ("stopping: letting runs in progress finish");
  begin_shutdown (data);
  return G_SOURCE_CONTINUE;
}

static int
run (SluiceConfig *config, SluicePluginHost *host)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr(SluiceStateStore) state_store = NULL;
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(SluiceEngine) engine = NULL;
  g_autoptr(SluiceBatchManager) manager = NULL;
  g_autoptr(JsonObject) connections = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *run_id = NULL;
  Stores stores = { NULL, NULL, NULL, NULL };
  Daemon daemon = { loop, 0, NULL };
  SignalData signal_data = { &daemon, NULL, NULL, NULL, config->shutdown_grace_usec, FALSE, FALSE,
                             0 };
  g_autoptr(SluiceWorkflowSet) workflows = NULL;
  g_autoptr(SluiceDeadLetters) dead_letter_manager = NULL;
  g_autoptr(SluiceRunHistory) runs = NULL;
  g_autoptr(SluiceDBusService) service = NULL;
  guint sigterm, sigint;

  connections = sluice_config_load_connections (config->connections_dir, &error);
  if (connections == NULL)
    {
      g_printerr ("sluiced: %s\n", error->message);
      return 1;
    }

  if (!redis_is (config, "none"))
    {
      if (!stores_open (&stores, config, host, clock, connections, TRUE, &error))
        {
          g_printerr ("sluiced: %s\n", error->message);
          stores_clear (&stores);
          return 1;
        }
      state_store = g_object_ref (stores.state_store);
    }
  else
    state_store = memory_state_store_open (config, clock);

  context = sluice_context_new ("sluiced", clock, state_store);
  sluice_context_set_connections (context, connections);

  engine = sluice_engine_new (context);
  if (stores.dead_letters != NULL)
    sluice_engine_set_dead_letter_store (engine, stores.dead_letters);
  else
    {
      /* Without Redis they are kept in the state folder, like the state. */
      g_autoptr(SluiceDeadLetterStore) dead_letters = sluice_memory_dead_letter_store_new ();
      g_autofree char *path = g_build_filename (config->state_dir, "dead-letters.json", NULL);

      if (g_file_test (config->state_dir, G_FILE_TEST_IS_DIR) &&
          !sluice_memory_dead_letter_store_set_file (dead_letters, path, &error))
        {
          g_warning ("%s; dead letters are kept in memory only", error->message);
          g_clear_error (&error);
        }
      sluice_engine_set_dead_letter_store (engine, dead_letters);
    }
  signal_data.engine = engine;
  g_signal_connect (engine, "run-finished", G_CALLBACK (on_run_finished), &daemon);

  if (stores.batch_store != NULL)
    {
      g_autofree char *worker = g_strdup_printf ("%s:%d", g_get_host_name (), (int) getpid ());

      manager = sluice_batch_manager_new (stores.batch_store, engine, state_store, clock, worker);
      /* dispatch nodes build their send step through it */
      sluice_batch_manager_set_plugin_host (manager, host);
      signal_data.manager = manager;
      g_signal_connect (manager, "progress", G_CALLBACK (on_batch_progress), NULL);
      g_signal_connect (manager, "finished", G_CALLBACK (on_batch_finished), NULL);
    }

  if (opt_run != NULL)
    {
      g_autoptr(SluiceWorkflow) workflow = sluice_workflow_load_file (host, opt_run, &error);
      g_autoptr(SluiceMessage) message = NULL;
      g_autoptr(SluiceEvent) event = NULL;

      if (workflow == NULL || !sluice_engine_add_workflow (engine, workflow, FALSE, &error))
        {
          g_printerr ("%s\n", error->message);
          daemon.exit_status = 1;
          goto out;
        }
      if (opt_input != NULL)
        {
          g_autoptr(GFile) file = g_file_new_for_commandline_arg (opt_input);
          g_autoptr(GFileInputStream) stream = g_file_read (file, NULL, &error);
          g_autoptr(GFileInfo) info = NULL;
          g_autofree char *content_type = NULL;

          if (stream == NULL)
            {
              g_printerr ("sluiced: --input %s: %s\n", opt_input, error->message);
              daemon.exit_status = 1;
              goto out;
            }
          info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL,
                                                 NULL);
          content_type = g_content_type_guess (opt_input, NULL, 0, NULL);
          /* A small input is read at once: a run that fails can then be
           * retried and dead-lettered with its payload. A large one
           * streams. */
          if (info != NULL && g_file_info_get_size (info) <= INPUT_IN_MEMORY_MAX)
            {
              g_autoptr(GBytes) body = g_input_stream_read_bytes (
                G_INPUT_STREAM (stream), (gsize) g_file_info_get_size (info) + 1, NULL, &error);

              if (body == NULL)
                {
                  g_printerr ("sluiced: --input %s: %s\n", opt_input, error->message);
                  daemon.exit_status = 1;
                  goto out;
                }
              message = sluice_message_new_bytes (body, content_type);
            }
          else
            message = sluice_message_new_stream (G_INPUT_STREAM (stream),
                                                 info != NULL ? g_file_info_get_size (info) : -1,
                                                 content_type);
          sluice_message_set_header (message, "sluice-file-path", opt_input);
        }
      else
        message = sluice_message_new ();

      event = sluice_event_new (message);
      run_id = sluice_engine_inject (engine, sluice_workflow_get_name (workflow), event, &error);
      g_assert (run_id != NULL);
      daemon.run_id = run_id;
    }
  else
    {
      const char *dir = opt_workflows != NULL ? opt_workflows : config->workflows_dir;
      guint started;

      workflows = sluice_workflow_set_new (host, engine, dir, config->state_dir);
      started = sluice_workflow_set_load_folder (workflows);
      dead_letter_manager = sluice_dead_letters_new (sluice_engine_get_dead_letter_store (engine),
                                                     engine);
      runs = sluice_run_history_new (engine, clock, config->run_history_max,
                                     config->run_history_keep_usec,
                                     config->run_history_signal_all);
      service = sluice_dbus_service_new (host, engine, workflows, dead_letter_manager, manager,
                                         runs, clock);
      signal_data.service = service;
      sluice_dbus_service_start (service, opt_session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM);

      /* Pick up batches other hosts (or an earlier life) left to do. */
      if (manager != NULL)
        sluice_batch_manager_watch (manager, 2 * G_USEC_PER_SEC);
      g_message ("sluiced %s running %u workflow%s from %s%s%s", SLUICE_VERSION_STRING, started,
                 started == 1 ? "" : "s", dir, stores.managed != NULL ? ", Redis at " : "",
                 stores.managed != NULL ? sluice_managed_redis_get_url (stores.managed) : "");
    }

  sigterm = g_unix_signal_add (SIGTERM, on_terminate, &signal_data);
  sigint = g_unix_signal_add (SIGINT, on_terminate, &signal_data);
  g_main_loop_run (loop);

  if (opt_run != NULL && !signal_data.shutting_down)
    {
      /* Let everything settle before exiting. */
      begin_shutdown (&signal_data);
      g_main_loop_run (loop);
    }
  else if (opt_run != NULL)
    daemon.exit_status = 1;

  g_source_remove (sigterm);
  g_source_remove (sigint);

out:
  if (manager != NULL && !signal_data.shutting_down)
    {
      begin_shutdown (&signal_data);
      g_main_loop_run (loop);
    }
  g_clear_object (&service);
  g_clear_object (&runs);
  g_clear_object (&dead_letter_manager);
  g_clear_object (&workflows);
  g_clear_object (&manager);
  g_clear_object (&engine);
  /* Every user of the stores goes before a managed Redis is stopped. */
  g_clear_object (&context);
  g_clear_object (&state_store);
  stores_clear (&stores);
  return daemon.exit_status;
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceConfig) config = NULL;
  g_autoptr(SluicePluginHost) host = NULL;

  setlocale (LC_ALL, "");
  g_log_set_writer_func (log_writer, NULL, NULL);

  option_context = g_option_context_new ("- run Sluice integration workflows");
  g_option_context_set_summary (option_context,
                                "Loads connector plugins and runs the workflows in the configured "
                                "folder until SIGTERM.");
  g_option_context_add_main_entries (option_context, options, NULL);
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("sluiced: %s\n", error->message);
      return 2;
    }

  /* Debug lines are made only when asked for (see the engine). */
  g_log_set_debug_enabled (opt_verbose || g_getenv ("G_MESSAGES_DEBUG") != NULL);

  if (opt_version)
    {
      g_print ("sluiced %s (plugin ABI %d.%d)\n", SLUICE_VERSION_STRING, SLUICE_PLUGIN_ABI,
               SLUICE_PLUGIN_ABI_MINOR);
      return 0;
    }
  if (opt_remaining != NULL && !opt_check)
    {
      g_printerr ("sluiced: unexpected argument '%s' (workflow files go with --check)\n",
                  opt_remaining[0]);
      return 2;
    }

  config = sluice_config_load (opt_config, &error);
  if (config == NULL)
    {
      g_printerr ("sluiced: %s\n", error->message);
      return 2;
    }

  host = load_plugins (config);

  if (opt_list_plugins)
    {
      print_plugins (host);
      return 0;
    }
  if (opt_check)
    return check_workflows (host, opt_remaining);
  if (opt_batches || opt_batch_retry != NULL)
    return batch_command (config, host);
  if (opt_dead_letters || opt_dead_letter != NULL || opt_replay != NULL || opt_replay_all ||
      opt_purge != NULL || opt_purge_all)
    return dead_letter_command (config, host);

  return run (config, host);
}
