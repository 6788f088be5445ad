/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-config.h"

#include <sluice/sluice.h>

#include "sluice-schema.h"

#define DEFAULT_RUN_HISTORY_MAX 1000
#define DEFAULT_RUN_HISTORY_KEEP G_TIME_SPAN_HOUR

static const char config_schema[] =
  "{\"type\": \"object\", \"properties\": {"
  "  \"workflows\": {\"type\": \"string\", \"default\": \"" SLUICE_SYSCONFDIR "/sluice/workflows\","
  "                 \"description\": \"folder of workflow files (*.json)\"},"
  "  \"connections\": {\"type\": \"string\", \"default\": \"" SLUICE_SYSCONFDIR "/sluice/connections.d\","
  "                   \"description\": \"folder of connection files (NAME.json)\"},"
  "  \"state_dir\": {\"type\": \"string\", \"default\": \"" SLUICE_LOCALSTATEDIR "/lib/sluice\"},"
  "  \"plugin_dirs\": {\"type\": \"array\", \"items\": {\"type\": \"string\"},"
  "                   \"description\": \"third-party plugin folders, searched after $SLUICE_PLUGIN_PATH and before the distro folder\"},"
  "  \"shutdown_grace\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"30s\"},"
  "  \"run_history\": {\"type\": \"object\","
  "                   \"description\": \"the runs kept for sluicectl runs and the D-Bus run objects\","
  "                   \"properties\": {"
  "                     \"max\": {\"type\": \"integer\", \"minimum\": 0, \"default\": 1000,"
  "                              \"description\": \"finished runs kept (0: runs are not followed)\"},"
  "                     \"keep\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"1h\","
  "                               \"description\": \"how long a finished run is kept\"},"
  "                     \"signals\": {\"type\": \"string\", \"enum\": [\"watched\", \"all\"],"
  "                                  \"default\": \"watched\","
  "                                  \"description\": \"which runs send Finished on D-Bus: those "
  "started by Trigger or read while running, or all\"}}},"
  "  \"redis\": {\"type\": [\"string\", \"object\"], \"default\": \"managed\","
  "             \"description\": \"where batches and shared state live: managed (a private "
  "redis-server under state_dir), none, a redis:// or unix:// URL, or the config of the redis "
  "plugin's stores ({url, password, prefix, ...})\"}"
  "}}";

const char *
sluice_config_get_default_path (void)
{
  return SLUICE_SYSCONFDIR "/sluice/sluice.conf";
}

void
sluice_config_free (SluiceConfig *self)
{
  g_free (self->path);
  g_free (self->workflows_dir);
  g_free (self->connections_dir);
  g_free (self->state_dir);
  g_strfreev (self->plugin_dirs);
  g_clear_pointer (&self->redis, json_node_unref);
  g_free (self);
}

/* Relative paths in the file are relative to the file's folder. */
static char *
resolve_path (const char *config_path, const char *value)
{
  g_autofree char *base = NULL;

  if (config_path == NULL || g_path_is_absolute (value))
    return g_strdup (value);
  base = g_path_get_dirname (config_path);
  return g_build_filename (base, value, NULL);
}

SluiceConfig *
sluice_config_load (const char *path, GError **error)
{
  g_autoptr(SluiceConfig) self = g_new0 (SluiceConfig, 1);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(JsonNode) schema = json_from_string (config_schema, NULL);
  g_autoptr(GPtrArray) problems =
    g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
  g_autoptr(JsonObject) config = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root = NULL;
  JsonArray *dirs;

  g_assert (schema != NULL);

  if (path == NULL && g_file_test (sluice_config_get_default_path (), G_FILE_TEST_EXISTS))
    path = sluice_config_get_default_path ();

  if (path != NULL)
    {
      if (!json_parser_load_from_mapped_file (parser, path, &local_error))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s: %s", path,
                       local_error->message);
          return NULL;
        }
      root = json_parser_get_root (parser);
      self->path = g_strdup (path);
    }

  config = sluice_schema_validate (schema, root, problems);
  if (config == NULL)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      for (guint i = 0; i < problems->len; i++)
        {
          SluiceSchemaProblem *problem = g_ptr_array_index (problems, i);

          g_string_append_printf (text, "%s%s: %s%s%s%s", i > 0 ? "\n" : "", path,
                                  *problem->path != '\0' ? "key '" : "", problem->path,
                                  *problem->path != '\0' ? "': " : "", problem->message);
        }
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, text->str);
      return NULL;
    }

  self->workflows_dir = resolve_path (path, json_object_get_string_member (config, "workflows"));
  self->connections_dir = resolve_path (path,
                                        json_object_get_string_member (config, "connections"));
  self->state_dir = resolve_path (path, json_object_get_string_member (config, "state_dir"));
  if (!sluice_parse_duration (json_object_get_string_member (config, "shutdown_grace"),
                              &self->shutdown_grace_usec, error))
    return NULL;

  self->run_history_max = DEFAULT_RUN_HISTORY_MAX;
  self->run_history_keep_usec = DEFAULT_RUN_HISTORY_KEEP;
  if (json_object_has_member (config, "run_history"))
    {
      JsonObject *history = json_object_get_object_member (config, "run_history");

      if (json_object_has_member (history, "max"))
        self->run_history_max = (guint) MIN (json_object_get_int_member (history, "max"),
                                             G_MAXUINT);
      self->run_history_signal_all =
        g_strcmp0 (json_object_get_string_member_with_default (history, "signals", "watched"),
                   "all") == 0;
      if (json_object_has_member (history, "keep") &&
          !sluice_parse_duration (json_object_get_string_member (history, "keep"),
                                  &self->run_history_keep_usec, error))
        {
          g_prefix_error (error, "%s: key 'run_history.keep': ", path != NULL ? path : "defaults");
          return NULL;
        }
    }

  self->redis = json_node_copy (json_object_get_member (config, "redis"));
  if (JSON_NODE_HOLDS_VALUE (self->redis))
    {
      const char *redis = json_node_get_string (self->redis);

      if (!g_str_equal (redis, "managed") && !g_str_equal (redis, "none") &&
          !g_str_has_prefix (redis, "redis://") && !g_str_has_prefix (redis, "unix://"))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: key 'redis': '%s' is not managed, none, or a redis:// or unix:// "
                       "URL", path != NULL ? path : "defaults", redis);
          return NULL;
        }
    }

  dirs = json_object_has_member (config, "plugin_dirs")
           ? json_object_get_array_member (config, "plugin_dirs") : NULL;
  if (dirs != NULL)
    {
      self->plugin_dirs = g_new0 (char *, json_array_get_length (dirs) + 1);
      for (guint i = 0; i < json_array_get_length (dirs); i++)
        self->plugin_dirs[i] = resolve_path (path, json_array_get_string_element (dirs, i));
    }
  else
    self->plugin_dirs = g_strsplit (SLUICE_THIRD_PARTY_PLUGIN_DIRS, ":", -1);

  return g_steal_pointer (&self);
}

GPtrArray *
sluice_config_list_json_files (const char *dir, GError **error)
{
  g_autoptr(GDir) folder = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) names = NULL;
  const char *name;

  if (folder == NULL)
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (folder)) != NULL)
    if (g_str_has_suffix (name, ".json") && name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  return g_steal_pointer (&names);
}

JsonObject *
sluice_config_load_connections (const char *dir, GError **error)
{
  g_autoptr(JsonObject) connections = json_object_new ();
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) local_error = NULL;

  names = sluice_config_list_json_files (dir, &local_error);
  if (names == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&connections);
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s: %s", dir,
                   local_error->message);
      return NULL;
    }

  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      g_autofree char *connection = g_strndup (file, strlen (file) - strlen (".json"));
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();
      JsonNode *root;

      if (!json_parser_load_from_mapped_file (parser, path, &local_error))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s: %s", path,
                       local_error->message);
          return NULL;
        }
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: a connection is a JSON object", path);
          return NULL;
        }
      json_object_set_member (connections, connection, json_node_copy (root));
    }

  return g_steal_pointer (&connections);
}
