/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "file-test-util.h"

FileTestPlugin *
file_test_plugin_load (void)
{
  g_autoptr(GError) error = NULL;
  FileTestPlugin *loaded = g_new0 (FileTestPlugin, 1);
  const SluicePluginDescriptor *descriptor;
  gpointer symbol = NULL;

  loaded->module = g_module_open (SLUICE_FILE_PLUGIN_PATH, G_MODULE_BIND_LOCAL);
  if (loaded->module == NULL)
    g_test_message ("g_module_open: %s", g_module_error ());
  g_assert_nonnull (loaded->module);

  g_assert_true (g_module_symbol (loaded->module, SLUICE_PLUGIN_DESCRIPTOR_SYMBOL, &symbol));
  g_assert_nonnull (symbol);
  descriptor = symbol;
  g_assert_cmpuint (descriptor->abi_major, ==, SLUICE_PLUGIN_ABI);
  g_assert_cmpuint (descriptor->abi_minor, <=, SLUICE_PLUGIN_ABI_MINOR);
  g_assert_cmpstr (descriptor->name, ==, "file");
  g_assert_nonnull (descriptor->register_components);

  /* Registered GTypes cannot be unloaded: the host makes plugins resident. */
  g_module_make_resident (loaded->module);

  loaded->plugin = sluice_plugin_new (descriptor, SLUICE_FILE_PLUGIN_PATH);
  g_assert_true (descriptor->register_components (loaded->plugin, &error));
  g_assert_no_error (error);

  return loaded;
}

void
file_test_plugin_free (FileTestPlugin *loaded)
{
  g_clear_object (&loaded->plugin);
  g_module_close (loaded->module);
  g_free (loaded);
}

GObject *
file_test_create (FileTestPlugin *loaded,
                  const char     *component,
                  SluiceContext  *context,
                  const char     *config_json,
                  GError        **error)
{
  GPtrArray *factories = sluice_plugin_get_components (loaded->plugin);
  g_autoptr(JsonNode) config = NULL;
  g_autoptr(GError) parse_error = NULL;

  config = json_from_string (config_json, &parse_error);
  g_assert_no_error (parse_error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (config));

  for (guint i = 0; i < factories->len; i++)
    {
      SluiceComponentFactory *factory = g_ptr_array_index (factories, i);

      if (g_str_equal (sluice_component_factory_get_name (factory), component))
        return sluice_component_factory_create (factory, context,
                                                json_node_get_object (config), error);
    }

  g_test_message ("no component '%s' in the file plugin", component);
  g_assert_not_reached ();
  return NULL;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
file_test_wait_for (FileTestDoneFunc done,
                    gpointer         user_data,
                    guint            timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint ticker = g_timeout_add (5, tick, NULL);
  gboolean finished;

  while (!(finished = done (user_data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (ticker);
  return finished;
}

void
file_test_wait_until (FileTestDoneFunc done,
                      gpointer         user_data,
                      guint            timeout_ms)
{
  if (!file_test_wait_for (done, user_data, timeout_ms))
    g_test_message ("still waiting after %u ms", timeout_ms);
  g_assert_true (done (user_data));
}

void
file_test_spin (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  guint ticker = g_timeout_add (5, tick, NULL);

  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (ticker);
}

void
file_test_store_result (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static gboolean
slot_filled (gpointer user_data)
{
  return *(GAsyncResult **) user_data != NULL;
}

GAsyncResult *
file_test_wait_result (GAsyncResult **slot)
{
  file_test_wait_until (slot_filled, slot, 30000);
  return *slot;
}

char *
file_test_read_stream (GInputStream *stream,
                       gsize        *out_len)
{
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;
  gssize spliced;

  spliced = g_output_stream_splice (memory, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (spliced, >=, 0);

  /* NUL-terminated for string comparisons. */
  g_output_stream_write_all (memory, "", 1, NULL, NULL, NULL);
  if (out_len != NULL)
    *out_len = (gsize) spliced;
  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (memory));
}

char *
file_test_write (const char *dir,
                 const char *name,
                 const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

char *
file_test_list_dir (const char *dir)
{
  g_autoptr(GDir) handle = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *name;

  handle = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);

  while ((name = g_dir_read_name (handle)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);

  return g_strjoinv (",", (char **) names->pdata);
}

char *
file_test_make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("sluice-file-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

