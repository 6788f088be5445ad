/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-workflow-set.h"

#include <errno.h>

#include "sluice-config.h"

#define DISABLED_FILE "disabled-workflows.json"

typedef struct {
  SluiceWorkflow *workflow;
  char           *checksum;   /* of the file's content when loaded */
  gboolean        in_folder;  /* came from the workflows folder */
} Entry;

struct _SluiceWorkflowSet
{
  GObject parent_instance;

  SluicePluginHost *host;
  SluiceEngine     *engine;
  char             *workflows_dir;
  char             *disabled_path;   /* or NULL */
  GHashTable       *entries;         /* name -> Entry */
  GHashTable       *disabled;        /* names disabled by the operator */
};

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SluiceWorkflowSet, sluice_workflow_set, G_TYPE_OBJECT)

static void
entry_free (Entry *entry)
{
  g_clear_object (&entry->workflow);
  g_free (entry->checksum);
  g_free (entry);
}

const char *
sluice_workflow_state_to_string (SluiceWorkflowState state)
{
  switch (state)
    {
    case SLUICE_WORKFLOW_RUNNING:
      return "running";
    case SLUICE_WORKFLOW_PAUSED:
      return "paused";
    case SLUICE_WORKFLOW_DISABLED:
    default:
      return "disabled";
    }
}

/* ---- The operator's disabled list, kept in the state folder ---- */

static void
disabled_load (SluiceWorkflowSet *self)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (self->disabled_path == NULL || !g_file_test (self->disabled_path, G_FILE_TEST_EXISTS))
    return;
  if (!json_parser_load_from_mapped_file (parser, self->disabled_path, &error))
    {
      g_warning ("%s: %s; every workflow is enabled", self->disabled_path, error->message);
      return;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_warning ("%s: expected an array of workflow names; every workflow is enabled",
                 self->disabled_path);
      return;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (root)); i++)
    {
      JsonNode *element = json_array_get_element (json_node_get_array (root), i);

      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
        g_hash_table_add (self->disabled, g_strdup (json_node_get_string (element)));
    }
}

static gboolean
disabled_save (SluiceWorkflowSet *self, GError **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GList) names = NULL;
  g_autofree char *text = NULL;
  g_autofree char *dir = NULL;

  if (self->disabled_path == NULL)
    return TRUE;
  names = g_list_sort (g_hash_table_get_keys (self->disabled), (GCompareFunc) g_strcmp0);
  json_builder_begin_array (builder);
  for (GList *l = names; l != NULL; l = l->next)
    json_builder_add_string_value (builder, l->data);
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, TRUE);

  dir = g_path_get_dirname (self->disabled_path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_FAILED, "state folder %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  if (!g_file_set_contents_full (self->disabled_path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error))
    return FALSE;
  return TRUE;
}

/* ---- Loading ---- */

/* The content of the file at @path and its checksum, which tells a
 * reload whether the file changed. */
static GBytes *
read_file (const char *path, char **out_checksum, GError **error)
{
  g_autofree char *data = NULL;
  gsize length;
  g_autoptr(GError) local_error = NULL;

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s", local_error->message);
      return NULL;
    }
  *out_checksum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
  return g_bytes_new_take (g_steal_pointer (&data), length);
}

static SluiceWorkflow *
load_bytes (SluiceWorkflowSet *self, GBytes *content, const char *path, GError **error)
{
  gsize length;
  const char *data = g_bytes_get_data (content, &length);

  return sluice_workflow_load_data (self->host, data, (gssize) length, path, error);
}

/* The workflow in @path, with the checksum of what was read. */
static SluiceWorkflow *
load_path (SluiceWorkflowSet *self, const char *path, char **out_checksum, GError **error)
{
  g_autofree char *checksum = NULL;
  g_autoptr(GBytes) content = read_file (path, &checksum, error);
  SluiceWorkflow *workflow;

  if (content == NULL)
    return NULL;
  workflow = load_bytes (self, content, path, error);
  if (workflow != NULL)
    *out_checksum = g_steal_pointer (&checksum);
  return workflow;
}

static gboolean
is_disabled (SluiceWorkflowSet *self, SluiceWorkflow *workflow)
{
  return !sluice_workflow_get_enabled (workflow) ||
         g_hash_table_contains (self->disabled, sluice_workflow_get_name (workflow));
}

/* Puts @workflow in place of the entry of its name (if any): the old one
 * stops taking events and finishes its runs, the new one starts (paused
 * if the old one was). If the new one does not start, the old one is
 * started again and the error returned. Takes @checksum. */
static gboolean
install (SluiceWorkflowSet *self,
         SluiceWorkflow    *workflow,
         char              *checksum,
         gboolean           in_folder,
         GError           **error)
{
  const char *name = sluice_workflow_get_name (workflow);
  Entry *old = g_hash_table_lookup (self->entries, name);
  gboolean was_running = sluice_engine_has_workflow (self->engine, name);
  gboolean was_paused = was_running && sluice_engine_is_paused (self->engine, name);
  Entry *entry;

  if (was_running)
    sluice_engine_remove_workflow (self->engine, name, NULL);
  if (!is_disabled (self, workflow))
    {
      if (!sluice_engine_add_workflow (self->engine, workflow, TRUE, error))
        {
          g_autoptr(GError) restart_error = NULL;

          if (was_running &&
              !sluice_engine_add_workflow (self->engine, old->workflow, TRUE, &restart_error))
            g_warning ("workflow '%s' could not be started again either: %s", name,
                       restart_error->message);
          else if (was_paused)
            sluice_engine_set_paused (self->engine, name, TRUE, NULL);
          g_free (checksum);
          return FALSE;
        }
      if (was_paused)
        sluice_engine_set_paused (self->engine, name, TRUE, NULL);
    }

  entry = g_new0 (Entry, 1);
  entry->workflow = g_object_ref (workflow);
  entry->checksum = checksum;
  entry->in_folder = in_folder || (old != NULL && old->in_folder &&
                                   g_strcmp0 (sluice_workflow_get_path (old->workflow),
                                              sluice_workflow_get_path (workflow)) == 0);
  g_hash_table_replace (self->entries, g_strdup (name), entry);
  return TRUE;
}

static void
log_started (SluiceWorkflowSet *self, SluiceWorkflow *workflow)
{
  if (is_disabled (self, workflow))
    g_message ("workflow '%s' (%s) is disabled", sluice_workflow_get_name (workflow),
               sluice_workflow_get_path (workflow));
  else
    g_message ("workflow '%s' started (%s)", sluice_workflow_get_name (workflow),
               sluice_workflow_get_path (workflow));
}

/* The entry whose workflow came from @path, or NULL. */
static Entry *
lookup_path (SluiceWorkflowSet *self, const char *path)
{
  GHashTableIter iter;
  Entry *entry;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (g_strcmp0 (sluice_workflow_get_path (entry->workflow), path) == 0)
      return entry;
  return NULL;
}

static void
forget (SluiceWorkflowSet *self, const char *name)
{
  if (sluice_engine_has_workflow (self->engine, name))
    sluice_engine_remove_workflow (self->engine, name, NULL);
  g_hash_table_remove (self->entries, name);
}

guint
sluice_workflow_set_load_folder (SluiceWorkflowSet *self)
{
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GError) error = NULL;
  guint running = 0;

  g_return_val_if_fail (SLUICE_IS_WORKFLOW_SET (self), 0);

  files = sluice_config_list_json_files (self->workflows_dir, &error);
  if (files == NULL)
    {
      g_warning ("workflows folder %s: %s", self->workflows_dir, error->message);
      return 0;
    }
  /* One bad workflow is reported and skipped; the others run. */
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *path = g_build_filename (self->workflows_dir,
                                                g_ptr_array_index (files, i), NULL);
      g_autoptr(SluiceWorkflow) workflow = NULL;
      char *checksum = NULL;

      g_clear_error (&error);
      workflow = load_path (self, path, &checksum, &error);
      if (workflow == NULL)
        {
          g_warning ("not running %s:\n%s", path, error->message);
          continue;
        }
      if (g_hash_table_contains (self->entries, sluice_workflow_get_name (workflow)))
        {
          g_warning ("not running %s: a workflow named '%s' is already loaded from %s", path,
                     sluice_workflow_get_name (workflow),
                     sluice_workflow_get_path (((Entry *) g_hash_table_lookup (
                       self->entries, sluice_workflow_get_name (workflow)))->workflow));
          g_free (checksum);
          continue;
        }
      if (!install (self, workflow, checksum, TRUE, &error))
        {
          g_warning ("not running %s: %s", path, error->message);
          continue;
        }
      log_started (self, workflow);
      if (!is_disabled (self, workflow))
        running++;
    }
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return running;
}

char *
sluice_workflow_set_load_file (SluiceWorkflowSet *self,
                               const char        *path,
                               GError           **error)
{
  g_autoptr(SluiceWorkflow) workflow = NULL;
  g_autofree char *dir = NULL;
  char *checksum = NULL;

  g_return_val_if_fail (SLUICE_IS_WORKFLOW_SET (self), NULL);

  workflow = load_path (self, path, &checksum, error);
  if (workflow == NULL)
    return NULL;
  dir = g_path_get_dirname (path);
  if (!install (self, workflow, checksum, g_strcmp0 (dir, self->workflows_dir) == 0, error))
    return NULL;
  log_started (self, workflow);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return g_strdup (sluice_workflow_get_name (workflow));
}

void
sluice_workflow_set_reload (SluiceWorkflowSet *self,
                            GPtrArray        **out_loaded,
                            GPtrArray        **out_removed,
                            GHashTable       **out_failed)
{
  g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  const char *name;
  Entry *entry;

  files = sluice_config_list_json_files (self->workflows_dir, &error);
  if (files == NULL)
    {
      /* A folder that cannot be read removes nothing. */
      g_hash_table_insert (failed, g_strdup (self->workflows_dir), g_strdup (error->message));
      goto out;
    }

  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *path = g_build_filename (self->workflows_dir,
                                                g_ptr_array_index (files, i), NULL);
      g_autofree char *checksum = NULL;
      g_autoptr(GBytes) content = NULL;
      g_autoptr(SluiceWorkflow) workflow = NULL;
      Entry *current = lookup_path (self, path);
      Entry *same_name;

      g_hash_table_add (seen, g_strdup (path));
      g_clear_error (&error);
      content = read_file (path, &checksum, &error);
      if (content == NULL)
        {
          g_hash_table_insert (failed, g_strdup (path), g_strdup (error->message));
          continue;
        }
      if (current != NULL && g_str_equal (current->checksum, checksum))
        continue;

      workflow = load_bytes (self, content, path, &error);
      if (workflow == NULL)
        {
          g_hash_table_insert (failed, g_strdup (path), g_strdup (error->message));
          continue;
        }
      same_name = g_hash_table_lookup (self->entries, sluice_workflow_get_name (workflow));
      if (same_name != NULL && same_name != current && same_name->in_folder)
        {
          g_hash_table_insert (failed, g_strdup (path),
                               g_strdup_printf ("%s: a workflow named '%s' is already loaded "
                                                "from %s", path, sluice_workflow_get_name (workflow),
                                                sluice_workflow_get_path (same_name->workflow)));
          continue;
        }
      /* Renamed in its file: the old name goes. */
      if (current != NULL &&
          !g_str_equal (sluice_workflow_get_name (current->workflow),
                        sluice_workflow_get_name (workflow)))
        {
          g_ptr_array_add (removed, g_strdup (sluice_workflow_get_name (current->workflow)));
          forget (self, sluice_workflow_get_name (current->workflow));
        }
      if (!install (self, workflow, g_steal_pointer (&checksum), TRUE, &error))
        {
          g_hash_table_insert (failed, g_strdup (path), g_strdup (error->message));
          continue;
        }
      log_started (self, workflow);
      g_ptr_array_add (loaded, g_strdup (sluice_workflow_get_name (workflow)));
    }

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &entry))
    if (entry->in_folder && !g_hash_table_contains (seen, sluice_workflow_get_path (entry->workflow)))
      g_ptr_array_add (gone, g_strdup (name));
  for (guint i = 0; i < gone->len; i++)
    {
      g_message ("workflow '%s' removed: its file is gone", (char *) g_ptr_array_index (gone, i));
      forget (self, g_ptr_array_index (gone, i));
      g_ptr_array_add (removed, g_strdup (g_ptr_array_index (gone, i)));
    }

out:
  if (loaded->len > 0 || removed->len > 0)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  *out_loaded = g_steal_pointer (&loaded);
  *out_removed = g_steal_pointer (&removed);
  *out_failed = g_steal_pointer (&failed);
}

/* ---- Operator controls ---- */

static Entry *
lookup (SluiceWorkflowSet *self, const char *name, GError **error)
{
  Entry *entry = g_hash_table_lookup (self->entries, name);

  if (entry == NULL)
    g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND, "no workflow named '%s'", name);
  return entry;
}

gboolean
sluice_workflow_set_enable (SluiceWorkflowSet *self,
                            const char        *name,
                            GError           **error)
{
  Entry *entry = lookup (self, name, error);

  if (entry == NULL)
    return FALSE;
  if (!sluice_workflow_get_enabled (entry->workflow))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                   "workflow '%s' is disabled in its file %s (\"enabled\": false): change it "
                   "there and reload", name, sluice_workflow_get_path (entry->workflow));
      return FALSE;
    }
  if (!g_hash_table_contains (self->disabled, name))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                   "workflow '%s' is not disabled", name);
      return FALSE;
    }
  if (!sluice_engine_add_workflow (self->engine, entry->workflow, TRUE, error))
    return FALSE;
  g_hash_table_remove (self->disabled, name);
  if (!disabled_save (self, error))
    {
      /* Not kept: better to say so than to come back disabled silently. */
      sluice_engine_remove_workflow (self->engine, name, NULL);
      g_hash_table_add (self->disabled, g_strdup (name));
      return FALSE;
    }
  g_message ("workflow '%s' enabled", name);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

gboolean
sluice_workflow_set_disable (SluiceWorkflowSet *self,
                             const char        *name,
                             GError           **error)
{
  Entry *entry = lookup (self, name, error);

  if (entry == NULL)
    return FALSE;
  if (is_disabled (self, entry->workflow))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                   "workflow '%s' is already disabled", name);
      return FALSE;
    }
  g_hash_table_add (self->disabled, g_strdup (name));
  if (!disabled_save (self, error))
    {
      g_hash_table_remove (self->disabled, name);
      return FALSE;
    }
  sluice_engine_remove_workflow (self->engine, name, NULL);
  g_message ("workflow '%s' disabled", name);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

gboolean
sluice_workflow_set_pause (SluiceWorkflowSet *self,
                           const char        *name,
                           gboolean           paused,
                           GError           **error)
{
  Entry *entry = lookup (self, name, error);

  if (entry == NULL)
    return FALSE;
  if (!sluice_engine_has_workflow (self->engine, name))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                   "workflow '%s' is disabled: enable it first", name);
      return FALSE;
    }
  if (sluice_engine_is_paused (self->engine, name) == paused)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE, "workflow '%s' is %s", name,
                   paused ? "already paused" : "not paused");
      return FALSE;
    }
  if (!sluice_engine_set_paused (self->engine, name, paused, error))
    return FALSE;
  g_message ("workflow '%s' %s", name, paused ? "paused" : "resumed");
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

static gint
compare_by_name (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (sluice_workflow_get_name (*(SluiceWorkflow **) a),
                    sluice_workflow_get_name (*(SluiceWorkflow **) b));
}

GPtrArray *
sluice_workflow_set_list (SluiceWorkflowSet *self)
{
  GPtrArray *workflows = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  Entry *entry;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    g_ptr_array_add (workflows, g_object_ref (entry->workflow));
  g_ptr_array_sort (workflows, compare_by_name);
  return workflows;
}

gboolean
sluice_workflow_set_get_state (SluiceWorkflowSet   *self,
                               const char          *name,
                               SluiceWorkflowState *out_state,
                               GError             **error)
{
  if (lookup (self, name, error) == NULL)
    return FALSE;
  if (!sluice_engine_has_workflow (self->engine, name))
    *out_state = SLUICE_WORKFLOW_DISABLED;
  else if (sluice_engine_is_paused (self->engine, name))
    *out_state = SLUICE_WORKFLOW_PAUSED;
  else
    *out_state = SLUICE_WORKFLOW_RUNNING;
  return TRUE;
}

/* ---- GObject ---- */

static void
sluice_workflow_set_finalize (GObject *object)
{
  SluiceWorkflowSet *self = SLUICE_WORKFLOW_SET (object);

  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_clear_pointer (&self->disabled, g_hash_table_unref);
  g_clear_object (&self->host);
  g_clear_object (&self->engine);
  g_free (self->workflows_dir);
  g_free (self->disabled_path);

  G_OBJECT_CLASS (sluice_workflow_set_parent_class)->finalize (object);
}

static void
sluice_workflow_set_class_init (SluiceWorkflowSetClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_workflow_set_finalize;

  /* SluiceWorkflowSet::changed: a workflow came, went or changed state. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sluice_workflow_set_init (SluiceWorkflowSet *self)
{
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) entry_free);
  self->disabled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

SluiceWorkflowSet *
sluice_workflow_set_new (SluicePluginHost *host,
                         SluiceEngine     *engine,
                         const char       *workflows_dir,
                         const char       *state_dir)
{
  SluiceWorkflowSet *self;

  g_return_val_if_fail (SLUICE_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (workflows_dir != NULL, NULL);

  self = g_object_new (SLUICE_TYPE_WORKFLOW_SET, NULL);
  self->host = g_object_ref (host);
  self->engine = g_object_ref (engine);
  self->workflows_dir = g_canonicalize_filename (workflows_dir, NULL);
  if (state_dir != NULL)
    self->disabled_path = g_build_filename (state_dir, DISABLED_FILE, NULL);
  disabled_load (self);
  return self;
}
