/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "redis-test-util.h"

#include <string.h>

#define WAIT_TIMEOUT_MS 60000

static SluicePlugin *
plugin_load (void)
{
  static SluicePlugin *plugin;
  g_autoptr (GError) error = NULL;
  const SluicePluginDescriptor *descriptor;
  GModule                      *module;
  gpointer                      symbol = NULL;

  if (plugin != NULL)
    return plugin;

  module = g_module_open (SLUICE_REDIS_PLUGIN_PATH, G_MODULE_BIND_LOCAL);
  if (module == NULL)
    g_test_message ("g_module_open: %s", g_module_error ());
  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, SLUICE_PLUGIN_DESCRIPTOR_SYMBOL, &symbol));
  g_assert_nonnull (symbol);

  descriptor = symbol;
  g_assert_cmpuint (descriptor->abi_major, ==, SLUICE_PLUGIN_ABI);
  g_assert_cmpuint (descriptor->abi_minor, <=, SLUICE_PLUGIN_ABI_MINOR);
  g_assert_cmpstr (descriptor->name, ==, "redis");

  /* Registered types cannot be unloaded: the host makes plugins resident. */
  g_module_make_resident (module);

  plugin = sluice_plugin_new (descriptor, SLUICE_REDIS_PLUGIN_PATH);
  g_assert_true (descriptor->register_components (plugin, &error));
  g_assert_no_error (error);
  return plugin;
}

GObject *
redis_test_create (const char    *component,
                   SluiceContext *context,
                   const char    *config_json,
                   GError       **error)
{
  GPtrArray *factories = sluice_plugin_get_components (plugin_load ());
  g_autoptr (JsonNode) config = NULL;
  g_autoptr (GError) parse_error = NULL;

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

  g_test_message ("no component '%s' in the redis plugin", component);
  g_assert_not_reached ();
  return NULL;
}

static GObject *
create_store (const char    *component,
              SluiceContext *context,
              const char    *url,
              const char    *prefix)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *config = NULL;
  GObject         *store;

  config = g_strdup_printf ("{\"url\": \"%s\", \"prefix\": \"%s\"}", url, prefix);
  store = redis_test_create (component, context, config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

SluiceBatchStore *
redis_test_batch_store_new (SluiceContext *context,
                            const char    *url,
                            const char    *prefix)
{
  GObject *store = create_store ("redis.batch-store", context, url, prefix);

  g_assert_true (SLUICE_IS_BATCH_STORE (store));
  return SLUICE_BATCH_STORE (store);
}

SluiceStateStore *
redis_test_state_store_new (SluiceContext *context,
                            const char    *url,
                            const char    *prefix)
{
  GObject *store = create_store ("redis.state-store", context, url, prefix);

  g_assert_true (SLUICE_IS_STATE_STORE (store));
  return SLUICE_STATE_STORE (store);
}

void
redis_test_store_result (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

GAsyncResult *
redis_test_wait_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_MS * 1000;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (*slot == NULL)
    g_test_message ("no result after %d ms", WAIT_TIMEOUT_MS);
  g_assert_nonnull (*slot);
  return *slot;
}

void
redis_test_spin (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  guint  ticker = g_timeout_add (5, tick, NULL);

  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (ticker);
}

void
redis_test_wait_flag (const gboolean *flag,
                      guint           timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint  ticker = g_timeout_add (10, tick, NULL);

  while (!*flag && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (ticker);
  if (!*flag)
    g_test_message ("still waiting after %u ms", timeout_ms);
  g_assert_true (*flag);
}

gboolean
redis_test_batch_create (SluiceBatchStore *store,
                         const char       *id,
                         guint             chunk_size,
                         guint64           max_failed,
                         gint64            window_usec,
                         GError          **error)
{
  g_autoptr (SluiceBatchInfo) info = sluice_batch_info_new (id, "test-workflow");
  g_autoptr (GAsyncResult) result = NULL;

  info->chunk_size = chunk_size;
  info->max_failed = max_failed;
  info->created_usec = g_get_real_time ();
  info->expires_usec = info->created_usec + window_usec;
  sluice_batch_store_create_async (store, info, NULL, redis_test_store_result, &result);
  return sluice_batch_store_create_finish (store, redis_test_wait_result (&result), error);
}

gboolean
redis_test_batch_add (SluiceBatchStore *store,
                      const char       *id,
                      GPtrArray        *records,
                      GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_add_async (store, id, records, NULL, redis_test_store_result, &result);
  return sluice_batch_store_add_finish (store, redis_test_wait_result (&result), error);
}

void
redis_test_batch_add_numbered (SluiceBatchStore *store,
                               const char       *id,
                               const char       *tag,
                               guint             first,
                               guint             n,
                               guint             per_call)
{
  for (guint done = 0; done < n;)
    {
      g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr (GError) error = NULL;
      guint count = MIN (per_call, n - done);

      for (guint i = 0; i < count; i++)
        {
          char *body = g_strdup_printf ("%s-%u", tag, first + done + i);

          g_ptr_array_add (records, sluice_message_new_take_string (body, "text/plain"));
        }
      g_assert_true (redis_test_batch_add (store, id, records, &error));
      g_assert_no_error (error);
      done += count;
    }
}

GPtrArray *
redis_test_batch_claim (SluiceBatchStore *store,
                        const char       *id,
                        const char       *worker,
                        guint             max,
                        gint64            lease_usec,
                        GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_claim_async (store, id, worker, max, lease_usec, NULL,
                                  redis_test_store_result, &result);
  return sluice_batch_store_claim_finish (store, redis_test_wait_result (&result), error);
}

gboolean
redis_test_batch_settle (SluiceBatchStore *store,
                         const char       *id,
                         const char       *worker,
                         GPtrArray        *outcomes,
                         GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_settle_async (store, id, worker, outcomes, NULL,
                                   redis_test_store_result, &result);
  return sluice_batch_store_settle_finish (store, redis_test_wait_result (&result), error);
}

gboolean
redis_test_batch_settle_all (SluiceBatchStore *store,
                             const char       *id,
                             const char       *worker,
                             GPtrArray        *claimed,
                             RedisTestFailFunc fail,
                             gpointer          user_data,
                             GError          **error)
{
  g_autoptr (GPtrArray) outcomes = g_ptr_array_new_with_free_func (
      (GDestroyNotify) sluice_record_outcome_free);

  for (guint i = 0; i < claimed->len; i++)
    {
      SluiceMessage   *message = g_ptr_array_index (claimed, i);
      gboolean         failed = fail != NULL && fail (message, user_data);
      g_autofree char *body = redis_test_body (message);
      g_autofree char *text = failed ? g_strdup_printf ("error for %s", body) : NULL;

      g_ptr_array_add (outcomes, sluice_record_outcome_new (sluice_message_get_id (message),
                                                            !failed, text));
    }
  return redis_test_batch_settle (store, id, worker, outcomes, error);
}

gboolean
redis_test_batch_retry_failed (SluiceBatchStore *store,
                               const char       *id,
                               guint64          *out_count,
                               GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_retry_failed_async (store, id, NULL, redis_test_store_result, &result);
  return sluice_batch_store_retry_failed_finish (store, redis_test_wait_result (&result),
                                                 out_count, error);
}

SluiceBatchInfo *
redis_test_batch_get_info (SluiceBatchStore *store,
                           const char       *id,
                           GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_get_info_async (store, id, NULL, redis_test_store_result, &result);
  return sluice_batch_store_get_info_finish (store, redis_test_wait_result (&result), error);
}

GPtrArray *
redis_test_batch_list (SluiceBatchStore *store,
                       GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_list_async (store, NULL, redis_test_store_result, &result);
  return sluice_batch_store_list_finish (store, redis_test_wait_result (&result), error);
}

GPtrArray *
redis_test_batch_list_failed (SluiceBatchStore *store,
                              const char       *id,
                              guint64           offset,
                              guint             limit,
                              GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_list_failed_async (store, id, offset, limit, NULL,
                                        redis_test_store_result, &result);
  return sluice_batch_store_list_failed_finish (store, redis_test_wait_result (&result), error);
}

gboolean
redis_test_batch_set_state (SluiceBatchStore *store,
                            const char       *id,
                            SluiceBatchState  state,
                            GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_set_state_async (store, id, state, NULL, redis_test_store_result, &result);
  return sluice_batch_store_set_state_finish (store, redis_test_wait_result (&result), error);
}

gboolean
redis_test_batch_delete (SluiceBatchStore *store,
                         const char       *id,
                         GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_batch_store_delete_async (store, id, NULL, redis_test_store_result, &result);
  return sluice_batch_store_delete_finish (store, redis_test_wait_result (&result), error);
}

void
redis_test_assert_counts (SluiceBatchStore *store,
                          const char       *id,
                          SluiceBatchState  state,
                          guint64           pending,
                          guint64           processing,
                          guint64           succeeded,
                          guint64           failed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SluiceBatchInfo) info = redis_test_batch_get_info (store, id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_PENDING], ==, pending);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_PROCESSING], ==, processing);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_SUCCEEDED], ==, succeeded);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_FAILED], ==, failed);
  g_assert_cmpint (info->state, ==, state);
}

char *
redis_test_body (SluiceMessage *message)
{
  GBytes     *bytes = sluice_message_get_bytes (message);
  gsize       len = 0;
  const char *data;

  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &len);
  return g_strndup (data, len);
}
