/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "node-test-util.h"

#include <glib/gstdio.h>

#include "sluice-filter-step.h"
#include "sluice-map-step.h"

static gboolean
register_nothing (SluicePlugin *plugin,
                  GError      **error)
{
  return TRUE;
}

static const SluicePluginDescriptor test_core_descriptor = {
  SLUICE_PLUGIN_ABI,
  SLUICE_PLUGIN_ABI_MINOR,
  "core",
  "0",
  "LGPL-2.1-or-later",
  "core nodes under test",
  register_nothing,
  { NULL },
};

void
node_fixture_set_up (NodeFixture  *fixture,
                     gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->tmpdir = g_dir_make_tmp ("sluice-nodes-XXXXXX", &error);
  g_assert_no_error (error);

  fixture->plugin = sluice_plugin_new (&test_core_descriptor, NULL);
  sluice_plugin_add_component (fixture->plugin, "core.map", SLUICE_TYPE_MAP_STEP,
                               sluice_map_step_schema, &error);
  g_assert_no_error (error);
  sluice_plugin_add_component (fixture->plugin, "core.filter", SLUICE_TYPE_FILTER_STEP,
                               sluice_filter_step_schema, &error);
  g_assert_no_error (error);

  fixture->context = sluice_context_new ("test", NULL, NULL);
  fixture->main_context = g_main_context_new ();
}

void
node_fixture_tear_down (NodeFixture  *fixture,
                        gconstpointer user_data)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->tmpdir, 0, NULL);
  const char *name;

  /* Let sources queued by the last step run before the context goes. */
  while (g_main_context_iteration (fixture->main_context, FALSE))
    ;
  g_main_context_unref (fixture->main_context);
  g_object_unref (fixture->context);
  g_object_unref (fixture->plugin);

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->tmpdir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fixture->tmpdir), ==, 0);
  g_free (fixture->tmpdir);
}

JsonNode *
node_parse_json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

GObject *
node_fixture_create (NodeFixture *fixture,
                     const char  *component,
                     const char  *config_json,
                     GError     **error)
{
  GPtrArray *factories = sluice_plugin_get_components (fixture->plugin);
  g_autoptr(JsonNode) config = node_parse_json (config_json);

  g_assert_true (JSON_NODE_HOLDS_OBJECT (config));
  for (guint i = 0; i < factories->len; i++)
    {
      SluiceComponentFactory *factory = g_ptr_array_index (factories, i);

      if (g_str_equal (sluice_component_factory_get_name (factory), component))
        {
          g_assert_cmpint (sluice_component_factory_get_kind (factory), ==, SLUICE_COMPONENT_STEP);
          return sluice_component_factory_create (factory, fixture->context,
                                                  json_node_get_object (config), error);
        }
    }

  g_assert_not_reached ();
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out_result = user_data;

  *out_result = g_object_ref (result);
}

static GAsyncResult *
wait_for (GMainContext  *main_context,
          GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (main_context, TRUE);
  return *result;
}

GPtrArray *
node_fixture_process (NodeFixture   *fixture,
                      SluiceStep    *step,
                      SluiceMessage *message,
                      GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(GPtrArray) emitted = g_ptr_array_new_with_free_func (g_object_unref);

  g_main_context_push_thread_default (fixture->main_context);

  sluice_step_process_async (step, message, NULL, store_result, &result);
  iter = sluice_step_process_finish (step, wait_for (fixture->main_context, &result), error);

  while (iter != NULL)
    {
      g_autoptr(GAsyncResult) next_result = NULL;
      SluiceMessage *next;

      sluice_message_iter_next_async (iter, NULL, store_result, &next_result);
      next = sluice_message_iter_next_finish (iter, wait_for (fixture->main_context, &next_result), error);
      if (next == NULL)
        break;
      g_ptr_array_add (emitted, next);
    }

  g_main_context_pop_thread_default (fixture->main_context);

  if (iter == NULL || (error != NULL && *error != NULL))
    return NULL;
  return g_steal_pointer (&emitted);
}

char *
node_message_body_to_string (SluiceMessage *message)
{
  g_autoptr(GError) error = NULL;
  JsonNode *body = sluice_message_get_json (message, &error);

  g_assert_no_error (error);
  return json_to_string (body, FALSE);
}
