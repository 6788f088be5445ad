/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluicectl.h"

/* ListDeadLetters is capped: counting more would ship every letter's
 * metadata over the bus just to count it. */
#define DEAD_LETTER_COUNT_LIMIT 10000

static const char *const workflow_states[] = { "running", "paused", "disabled", NULL };
static const char *const batch_states[] = {
  "open",
  "closed",
  "completed",
  "failed",
  "cancelled",
  NULL,
};

/* Counts per state, the known states first (at 0 when none) in their
 * order, then any other state the daemon reports. */
typedef struct
{
  GPtrArray  *states;
  GHashTable *counts;
  guint64     total;
} StateCounts;

static void
state_counts_init (StateCounts *self, const char *const *known)
{
  self->states = g_ptr_array_new_with_free_func (g_free);
  self->counts = g_hash_table_new (g_str_hash, g_str_equal);
  self->total = 0;
  for (guint i = 0; known[i] != NULL; i++)
    {
      g_ptr_array_add (self->states, g_strdup (known[i]));
      g_hash_table_insert (self->counts, self->states->pdata[i], GUINT_TO_POINTER (0));
    }
}

static void
state_counts_clear (StateCounts *self)
{
  g_clear_pointer (&self->counts, g_hash_table_unref);
  g_clear_pointer (&self->states, g_ptr_array_unref);
}

static void
state_counts_add (StateCounts *self, const char *state)
{
  gpointer key, value;

  if (!g_hash_table_lookup_extended (self->counts, state, &key, &value))
    {
      key = g_strdup (state);
      g_ptr_array_add (self->states, key);
      value = GUINT_TO_POINTER (0);
    }
  g_hash_table_insert (self->counts, key, GUINT_TO_POINTER (GPOINTER_TO_UINT (value) + 1));
  self->total++;
}

static guint
state_counts_get (StateCounts *self, const char *state)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->counts, state));
}

static char *
state_counts_to_text (StateCounts *self)
{
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text, "%" G_GUINT64_FORMAT " (", self->total);
  for (guint i = 0; i < self->states->len; i++)
    g_string_append_printf (text, "%s%u %s", i > 0 ? ", " : "",
                            state_counts_get (self, self->states->pdata[i]),
                            (const char *) self->states->pdata[i]);
  g_string_append_c (text, ')');
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static JsonNode *
state_counts_to_json (StateCounts *self)
{
  g_autoptr (JsonObject) object = json_object_new ();

  json_object_set_int_member (object, "total", (gint64) self->total);
  for (guint i = 0; i < self->states->len; i++)
    json_object_set_int_member (object, self->states->pdata[i],
                                state_counts_get (self, self->states->pdata[i]));
  return json_node_init_object (json_node_alloc (), object);
}

/* Unavailable, with the remote name stripped for printing. */
static gboolean
is_unavailable (GError *error)
{
  g_autofree char *name = g_dbus_error_get_remote_error (error);

  if (g_strcmp0 (name, "org.sluice.Sluice1.Error.Unavailable") != 0)
    return FALSE;
  g_dbus_error_strip_remote_error (error);
  return TRUE;
}

static int
status (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) batches_error = NULL;
  g_autoptr (GError) letters_error = NULL;
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GVariant) plugins = NULL;
  g_autoptr (GVariant) workflows = NULL;
  g_autoptr (GVariant) batches = NULL;
  g_autoptr (GVariant) letters = NULL;
  g_autoptr (GAsyncResult) workflows_result = NULL;
  g_autoptr (GAsyncResult) batches_result = NULL;
  g_autoptr (GAsyncResult) letters_result = NULL;
  GAsyncResult *workflows_slot = NULL, *batches_slot = NULL, *letters_slot = NULL;
  g_auto (GVariantDict) filter = G_VARIANT_DICT_INIT (NULL);
  StateCounts workflow_counts, batch_counts;
  guint64     running = 0, waiting = 0, n_letters = 0;
  gboolean    letters_capped = FALSE;
  const char *version;

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "status");

  /* All four questions at once; each answer is awaited below. */
  g_variant_dict_insert (&filter, "limit", "u", (guint32) DEAD_LETTER_COUNT_LIMIT);
  sluice_dbus_manager_call_list_workflows (manager, NULL, sluicectl_on_ready, &workflows_slot);
  sluice_dbus_manager_call_list_batches (manager, NULL, sluicectl_on_ready, &batches_slot);
  sluice_dbus_manager_call_list_dead_letters (manager, g_variant_dict_end (&filter), NULL,
                                              sluicectl_on_ready, &letters_slot);

  properties = sluicectl_get_all_properties (ctl, SLUICECTL_MANAGER_PATH,
                                             "org.sluice.Sluice1.Manager", &error);
  workflows_result = sluicectl_await (&workflows_slot);
  batches_result = sluicectl_await (&batches_slot);
  letters_result = sluicectl_await (&letters_slot);
  if (properties == NULL)
    return sluicectl_report_error (error, "status: reading the daemon's properties");
  if (!sluice_dbus_manager_call_list_workflows_finish (manager, &workflows, workflows_result,
                                                       &error))
    return sluicectl_report_error (error, "status: listing the workflows");
  /* Without Redis there is no batch store, and a store that is down is
   * what status is run to find out: both are shown, not failures. */
  if (!sluice_dbus_manager_call_list_dead_letters_finish (manager, &letters, letters_result,
                                                          &letters_error) &&
      !is_unavailable (letters_error))
    return sluicectl_report_error (letters_error, "status: listing the dead letters");
  if (!sluice_dbus_manager_call_list_batches_finish (manager, &batches, batches_result,
                                                     &batches_error) &&
      !is_unavailable (batches_error))
    return sluicectl_report_error (batches_error, "status: listing the batches");

  version = sluicectl_dict_string (properties, "Version", "unknown");
  plugins = g_variant_lookup_value (properties, "Plugins", G_VARIANT_TYPE ("a(sssa(ss))"));

  state_counts_init (&workflow_counts, workflow_states);
  for (gsize i = 0; i < g_variant_n_children (workflows); i++)
    {
      g_autoptr (GVariant) workflow = g_variant_get_child_value (workflows, i);

      state_counts_add (&workflow_counts, sluicectl_dict_string (workflow, "state", "unknown"));
      running += sluicectl_dict_uint (workflow, "running");
      waiting += sluicectl_dict_uint (workflow, "waiting");
    }
  state_counts_init (&batch_counts, batch_states);
  if (batches != NULL)
    for (gsize i = 0; i < g_variant_n_children (batches); i++)
      {
        g_autoptr (GVariant) batch = g_variant_get_child_value (batches, i);

        state_counts_add (&batch_counts, sluicectl_dict_string (batch, "state", "unknown"));
      }
  if (letters != NULL)
    {
      n_letters = g_variant_n_children (letters);
      letters_capped = n_letters >= DEAD_LETTER_COUNT_LIMIT;
    }

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) root = NULL;

      json_object_set_string_member (object, "version", version);
      json_object_set_int_member (object, "plugins",
                                  plugins != NULL ? g_variant_n_children (plugins) : 0);
      json_object_set_member (object, "workflows", state_counts_to_json (&workflow_counts));
      json_object_set_int_member (object, "runs_in_progress", (gint64) running);
      json_object_set_int_member (object, "events_waiting", (gint64) waiting);
      if (batches != NULL)
        json_object_set_member (object, "batches", state_counts_to_json (&batch_counts));
      else
        json_object_set_null_member (object, "batches");
      if (letters != NULL)
        json_object_set_int_member (object, "dead_letters", (gint64) n_letters);
      else
        json_object_set_null_member (object, "dead_letters");
      json_object_set_boolean_member (object, "dead_letters_capped", letters_capped);
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      g_autofree char *workflows_text = state_counts_to_text (&workflow_counts);
      g_autofree char *batches_text = NULL;

      if (batches != NULL)
        batches_text = state_counts_to_text (&batch_counts);
      else
        batches_text = g_strdup_printf ("unavailable (%s)", batches_error->message);

      g_print ("Version:       %s\n", version);
      g_print ("Plugins:       %" G_GSIZE_FORMAT "\n",
               plugins != NULL ? g_variant_n_children (plugins) : 0);
      g_print ("Workflows:     %s\n", workflows_text);
      g_print ("Runs:          %" G_GUINT64_FORMAT " in progress, %" G_GUINT64_FORMAT
               " waiting for a slot\n",
               running, waiting);
      g_print ("Batches:       %s\n", batches_text);
      if (letters != NULL)
        g_print ("Dead letters:  %" G_GUINT64_FORMAT "%s\n", n_letters, letters_capped ? "+" : "");
      else
        g_print ("Dead letters:  unavailable (%s)\n", letters_error->message);
    }

  state_counts_clear (&workflow_counts);
  state_counts_clear (&batch_counts);
  return SLUICECTL_EXIT_OK;
}

static int
plugins (SluicectlContext *ctl, char **args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GVariant) list = NULL;
  GVariantIter  iter;
  const char   *name, *version, *path;
  GVariantIter *components;

  properties = sluicectl_get_all_properties (ctl, SLUICECTL_MANAGER_PATH,
                                             "org.sluice.Sluice1.Manager", &error);
  if (properties == NULL)
    return sluicectl_report_error (error, "plugins");
  list = g_variant_lookup_value (properties, "Plugins", G_VARIANT_TYPE ("a(sssa(ss))"));
  if (list == NULL)
    {
      g_set_error (&error, SLUICECTL_ERROR, SLUICECTL_EXIT_FAILED,
                   "sluiced did not report its Plugins property as a(sssa(ss))");
      return sluicectl_report_error (error, "plugins");
    }

  if (ctl->json)
    {
      g_autoptr (JsonArray) array = json_array_new ();
      g_autoptr (JsonNode) root = NULL;

      g_variant_iter_init (&iter, list);
      while (g_variant_iter_next (&iter, "(&s&s&sa(ss))", &name, &version, &path, &components))
        {
          g_autoptr (JsonObject) plugin = json_object_new ();
          g_autoptr (JsonArray) component_array = json_array_new ();
          const char *component, *interface;

          while (g_variant_iter_next (components, "(&s&s)", &component, &interface))
            {
              g_autoptr (JsonObject) object = json_object_new ();

              json_object_set_string_member (object, "name", component);
              json_object_set_string_member (object, "interface", interface);
              json_array_add_object_element (component_array, g_steal_pointer (&object));
            }
          g_variant_iter_free (components);
          json_object_set_string_member (plugin, "name", name);
          json_object_set_string_member (plugin, "version", version);
          json_object_set_string_member (plugin, "path", path);
          json_object_set_array_member (plugin, "components", g_steal_pointer (&component_array));
          json_array_add_object_element (array, g_steal_pointer (&plugin));
        }
      root = json_node_init_array (json_node_alloc (), array);
      sluicectl_print_json (root, FALSE);
      return SLUICECTL_EXIT_OK;
    }

  /* One table for the plugins, their components under each, aligned to
   * the widest component name. */
  {
    g_autoptr (SluicectlTable) table = sluicectl_table_new ("NAME", "VERSION", "PATH", NULL);
    glong name_width = 0;

    g_variant_iter_init (&iter, list);
    while (g_variant_iter_next (&iter, "(&s&s&sa(ss))", &name, &version, &path, &components))
      {
        const char *component, *interface;

        while (g_variant_iter_next (components, "(&s&s)", &component, &interface))
          name_width = MAX (name_width, g_utf8_strlen (component, -1));
        g_variant_iter_free (components);
      }

    g_variant_iter_init (&iter, list);
    while (g_variant_iter_next (&iter, "(&s&s&sa(ss))", &name, &version, &path, &components))
      {
        const char *component, *interface;

        sluicectl_table_add_row (table, name, version, path, NULL);
        while (g_variant_iter_next (components, "(&s&s)", &component, &interface))
          {
            GString *line = g_string_new ("    ");

            g_string_append (line, component);
            for (glong pad = g_utf8_strlen (component, -1); pad < name_width + 2; pad++)
              g_string_append_c (line, ' ');
            g_string_append (line, interface);
            sluicectl_table_add_detail (table, g_string_free (line, FALSE));
          }
        g_variant_iter_free (components);
      }
    sluicectl_table_print (table);
  }
  return SLUICECTL_EXIT_OK;
}

const SluicectlCommand sluicectl_status_commands[] = {
  { NULL, "status", NULL, "Show the daemon's version, plugins, workflows, runs, batches and "
                          "dead letters at a glance",
    NULL, 0, 0, status },
  { NULL, "plugins", NULL, "List the loaded plugins and their components", NULL, 0, 0, plugins },
  { NULL }
};
