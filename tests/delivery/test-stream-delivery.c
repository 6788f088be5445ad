/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The redis stream receiver under the engine's delivery controls: an entry
 * whose consumers died too often is dead-lettered (with its payload, in
 * the Redis dead-letter store) without running, and acknowledged so that
 * it leaves the group's pending list; one still within the limit runs. */
#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "sluice-workflow.h"
#include "test-components.h"

static RedisTestServer *server;

static void
on_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static GObject *
create_store (SluicePluginHost *host, SluiceClock *clock, const char *component)
{
  g_autoptr(SluiceContext) context = sluice_context_new ("test/redis", clock, NULL);
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(GError) error = NULL;
  GObject *store;

  json_object_set_string_member (config, "url", redis_test_server_get_url (server));
  json_object_set_string_member (config, "prefix", "t:");
  store = sluice_component_factory_create (sluice_plugin_host_lookup (host, component), context,
                                           config, &error);
  g_assert_no_error (error);
  return store;
}

static GPtrArray *
list_dead_letters (SluiceDeadLetterStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *letters;

  sluice_dead_letter_store_list_async (store, NULL, 0, 100, NULL, on_done, &result);
  letters = sluice_dead_letter_store_list_finish (store, wait_for (&result), &error);
  g_assert_no_error (error);
  return letters;
}

static void
test_max_deliveries_dead_letters_stream_entry (void)
{
  g_autoptr(SluicePluginHost) host = sluice_plugin_host_new ();
  g_autoptr(SluiceClock) clock = sluice_clock_new_system ();
  g_auto(GStrv) path = sluice_plugin_host_build_search_path (NULL, NULL);
  g_autoptr(GObject) state_store = NULL;
  g_autoptr(GObject) dead_letters = NULL;
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(SluiceEngine) engine = NULL;
  g_autoptr(SluiceWorkflow) workflow = NULL;
  g_autoptr(GPtrArray) letters = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(redisReply) reply = NULL;
  g_autofree char *poison_id = NULL;
  g_autofree char *fine_id = NULL;
  g_autofree char *workflow_json = NULL;
  SluiceDeadLetter *letter;
  gint64 deadline;

  g_assert_true (sluice_plugin_host_add_builtin (host, sluice_builtins_get_descriptor (), &error));
  g_assert_true (test_components_register (host, &error));
  g_assert_no_error (error);
  sluice_plugin_host_load_directories (host, (const char * const *) path);
  g_assert_nonnull (sluice_plugin_host_lookup (host, "redis.stream.receive"));
  test_recorder_reset (clock);

  /* Two entries; a consumer that is gone took both. The first was then
   * claimed twice more (three deliveries, none settled). */
  reply = redis_test_server_command (server, "XGROUP CREATE t:jobs g 0 MKSTREAM");
  g_clear_pointer (&reply, freeReplyObject);
  reply = redis_test_server_command (server, "XADD t:jobs * body poison content-type text/plain");
  poison_id = g_strdup (reply->str);
  g_clear_pointer (&reply, freeReplyObject);
  reply = redis_test_server_command (server, "XADD t:jobs * body fine content-type text/plain");
  fine_id = g_strdup (reply->str);
  g_clear_pointer (&reply, freeReplyObject);
  reply = redis_test_server_command (server, "XREADGROUP GROUP g ghost COUNT 10 STREAMS t:jobs >");
  g_clear_pointer (&reply, freeReplyObject);
  for (guint i = 0; i < 2; i++)
    {
      reply = redis_test_server_command (server, "XCLAIM t:jobs g ghost 0 %s", poison_id);
      g_clear_pointer (&reply, freeReplyObject);
    }

  state_store = create_store (host, clock, "redis.state-store");
  dead_letters = create_store (host, clock, "redis.dead-letter-store");
  context = sluice_context_new ("test", clock, SLUICE_STATE_STORE (state_store));
  engine = sluice_engine_new (context);
  sluice_engine_set_dead_letter_store (engine, SLUICE_DEAD_LETTER_STORE (dead_letters));
  workflow_json = g_strdup_printf (
    "{\"name\": \"jobs\", \"max_deliveries\": 3,"
    " \"trigger\": {\"use\": \"redis.stream.receive\","
    "   \"with\": {\"url\": \"%s\", \"prefix\": \"t:\", \"stream\": \"jobs\", \"group\": \"g\","
    "              \"consumer\": \"alive\", \"visibility\": \"200ms\", \"block\": \"100ms\"}},"
    " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}",
    redis_test_server_get_url (server));
  workflow = sluice_workflow_load_data (host, workflow_json, -1, "jobs.json", &error);
  g_assert_no_error (error);
  g_assert_true (sluice_engine_add_workflow (engine, workflow, TRUE, &error));
  g_assert_no_error (error);

  /* The receiver reclaims both after the visibility timeout: the poison
   * entry now has its 4th delivery, the fine one its 2nd. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (TRUE)
    {
      g_autoptr(redisReply) pending = NULL;

      g_main_context_iteration (NULL, TRUE);
      if (test_recorder.collected->len < 1)
        continue;
      pending = redis_test_server_command (server, "XPENDING t:jobs g");
      if (pending->element[0]->integer == 0)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }

  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  g_assert_cmpstr (sluice_message_get_header (g_ptr_array_index (test_recorder.collected, 0),
                                              "redis-stream-id"), ==, fine_id);
  letters = list_dead_letters (SLUICE_DEAD_LETTER_STORE (dead_letters));
  g_assert_cmpuint (letters->len, ==, 1);
  letter = g_ptr_array_index (letters, 0);
  g_assert_cmpstr (letter->workflow, ==, "jobs");
  g_assert_cmpstr (letter->source, ==, "redis.stream.receive");
  g_assert_cmpuint (letter->attempts, ==, 4);
  g_assert_nonnull (strstr (letter->error, "max_deliveries (3)"));
  g_assert_cmpmem (g_bytes_get_data (letter->payload, NULL), g_bytes_get_size (letter->payload),
                   "poison", 6);

  sluice_engine_shutdown_async (engine, G_USEC_PER_SEC, NULL, on_done, &result);
  g_assert_true (sluice_engine_shutdown_finish (engine, wait_for (&result), NULL));
  test_recorder_reset (NULL);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  server = redis_test_server_start (NULL);
  g_test_add_func ("/delivery/stream/max-deliveries-dead-letter",
                   test_max_deliveries_dead_letters_stream_entry);
  status = g_test_run ();
  redis_test_server_free (server);
  return status;
}
