/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Delivery controls shared through Redis: two hosts (two engines with
 * their own redis plugin stores on one server) agree on idempotency keys,
 * and a bulk replay of 10,000 dead letters really replays all of them. */
#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "sluice-builtins.h"
#include "sluice-dead-letters.h"
#include "sluice-engine.h"
#include "sluice-workflow.h"
#include "test-components.h"

static RedisTestServer *server;
static guint fixture_count;

typedef struct {
  SluiceEngine *engine;
  GObject      *state_store;
  GObject      *dead_letters;
} Host;

typedef struct {
  SluicePluginHost *host;
  SluiceClock      *clock;
  char             *prefix;
  Host              hosts[2];
  guint             acked;
  guint             dead_lettered;
} Fixture;

static void
on_run_finished (SluiceEngine *engine, const char *workflow, const char *run_id, guint outcome,
                 const char *error, SluiceMessage *message, gpointer user_data)
{
  Fixture *fixture = user_data;

  if (outcome == SLUICE_EVENT_ACKED)
    fixture->acked++;
  else if (outcome == SLUICE_EVENT_DEAD_LETTERED)
    fixture->dead_lettered++;
}

static GObject *
create_store (Fixture *fixture, const char *component)
{
  g_autoptr(SluiceContext) context = sluice_context_new ("test/redis", fixture->clock, NULL);
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(GError) error = NULL;
  GObject *store;

  json_object_set_string_member (config, "url", redis_test_server_get_url (server));
  json_object_set_string_member (config, "prefix", fixture->prefix);
  store = sluice_component_factory_create (sluice_plugin_host_lookup (fixture->host, component),
                                           context, config, &error);
  g_assert_no_error (error);
  return store;
}

static void
host_setup (Fixture *fixture, Host *host)
{
  g_autoptr(SluiceContext) context = NULL;

  host->state_store = create_store (fixture, "redis.state-store");
  host->dead_letters = create_store (fixture, "redis.dead-letter-store");
  context = sluice_context_new ("test", fixture->clock, SLUICE_STATE_STORE (host->state_store));
  host->engine = sluice_engine_new (context);
  sluice_engine_set_dead_letter_store (host->engine, SLUICE_DEAD_LETTER_STORE (host->dead_letters));
  g_signal_connect (host->engine, "run-finished", G_CALLBACK (on_run_finished), fixture);
}

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

static void
host_teardown (Host *host)
{
  g_autoptr(GAsyncResult) result = NULL;

  sluice_engine_shutdown_async (host->engine, G_USEC_PER_SEC, NULL, on_done, &result);
  g_assert_true (sluice_engine_shutdown_finish (host->engine, wait_for (&result), NULL));
  g_clear_object (&host->engine);
  g_clear_object (&host->dead_letters);
  g_clear_object (&host->state_store);
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) path = sluice_plugin_host_build_search_path (NULL, NULL);

  fixture->host = sluice_plugin_host_new ();
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_true (test_components_register (fixture->host, &error));
  g_assert_no_error (error);
  sluice_plugin_host_load_directories (fixture->host, (const char * const *) path);
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "redis.dead-letter-store"));
  fixture->clock = sluice_clock_new_system ();
  fixture->prefix = g_strdup_printf ("d%u:", ++fixture_count);
  test_recorder_reset (fixture->clock);
  host_setup (fixture, &fixture->hosts[0]);
  host_setup (fixture, &fixture->hosts[1]);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  test_recorder_release (G_MAXUINT);
  host_teardown (&fixture->hosts[0]);
  host_teardown (&fixture->hosts[1]);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->host);
  g_free (fixture->prefix);
  test_recorder_reset (NULL);
}

static void
add_workflow (Fixture *fixture, Host *host, const char *json)
{
  test_engine_add_workflow (fixture->host, host->engine, json);
}

static SluiceEvent *
inject (Host *host, const char *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceMessage) message =
    sluice_message_new_take_string (g_strdup (body), "application/json");
  SluiceEvent *event = sluice_event_new (message);
  g_autofree char *run_id = sluice_engine_inject (host->engine, "w", event, &error);

  g_assert_no_error (error);
  return event;
}

static void
on_put (GObject *object, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_dead_letter_store_put_finish (SLUICE_DEAD_LETTER_STORE (object), result,
                                                      &error));
  g_assert_no_error (error);
  (*(guint *) user_data)--;
}

static void
wait_until (guint *counter, guint target)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (*counter < target)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static const char idempotent_workflow[] =
  "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"}, \"concurrency\": 8,"
  " \"idempotency\": {\"field\": \"$.id\", \"ttl\": \"1h\"},"
  " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}";

static void
test_idempotency_two_hosts (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_object_unref);

  add_workflow (fixture, &fixture->hosts[0], idempotent_workflow);
  add_workflow (fixture, &fixture->hosts[1], idempotent_workflow);

  /* 50 distinct events, each delivered to both hosts (a duplicate delivery
   * by an at-least-once source), one host after the other. */
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"id\": \"order-%u\"}", i);

      g_ptr_array_add (events, inject (&fixture->hosts[0], body));
    }
  wait_until (&fixture->acked, 50);
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"id\": \"order-%u\"}", i);

      g_ptr_array_add (events, inject (&fixture->hosts[1], body));
    }
  wait_until (&fixture->acked, 100);

  /* every delivery acked, each key run once in total */
  g_assert_cmpuint (test_recorder.collected->len, ==, 50);
  for (guint i = 0; i < events->len; i++)
    g_assert_cmpint (sluice_event_get_outcome (events->pdata[i]), ==, SLUICE_EVENT_ACKED);
}

static void
test_bulk_replay_10000 (Fixture *fixture, gconstpointer data)
{
  SluiceDeadLetterStore *store = SLUICE_DEAD_LETTER_STORE (fixture->hosts[0].dead_letters);
  g_autoptr(SluiceDeadLetters) manager = sluice_dead_letters_new (store, fixture->hosts[0].engine);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) left = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  SluiceDeadLetterFilter filter = { 0 };
  guint64 replayed = 0, skipped = 0;
  const guint n = 10000;
  guint pending_puts = 0;
  gint64 start;

  add_workflow (fixture, &fixture->hosts[0],
                "{\"name\": \"w\", \"trigger\": {\"use\": \"core.manual\"}, \"concurrency\": 64,"
                " \"steps\": [{\"id\": \"sink\", \"use\": \"test.collect\"}]}");

  /* 10,000 dead letters of "w" and 100 of another workflow, which the
   * filter leaves alone */
  for (guint i = 0; i < n + 100; i++)
    {
      g_autofree char *id = g_strdup_printf ("dl-%05u", i);
      g_autoptr(SluiceDeadLetter) letter = sluice_dead_letter_new (id, i < n ? "w" : "other");
      g_autofree char *body = g_strdup_printf ("{\"n\": %u}", i);

      letter->payload = g_bytes_new (body, strlen (body));
      letter->content_type = g_strdup ("application/json");
      letter->error = g_strdup ("downstream said no");
      letter->first_usec = letter->last_usec = 1700000000000000 + i;
      pending_puts++;
      sluice_dead_letter_store_put_async (store, letter, NULL, on_put, &pending_puts);
    }
  while (pending_puts > 0)
    g_main_context_iteration (NULL, TRUE);

  start = g_get_monotonic_time ();
  filter.workflow = (char *) "w";
  sluice_dead_letters_replay_async (manager, NULL, &filter, NULL, on_done, &result);
  g_assert_true (sluice_dead_letters_replay_finish (manager, wait_for (&result), &replayed,
                                                    &skipped, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (replayed, ==, n);
  g_assert_cmpuint (skipped, ==, 0);
  wait_until (&fixture->acked, n);
  g_test_message ("replayed %u dead letters in %.2f s", n,
                  (g_get_monotonic_time () - start) / 1e6);

  /* each payload ran exactly once */
  g_assert_cmpuint (test_recorder.collected->len, ==, n);
  for (guint i = 0; i < test_recorder.collected->len; i++)
    {
      g_autoptr(GBytes) body = g_bytes_ref (sluice_message_get_bytes (
        g_ptr_array_index (test_recorder.collected, i)));

      g_assert_true (g_hash_table_add (seen, g_strndup (g_bytes_get_data (body, NULL),
                                                        g_bytes_get_size (body))));
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, n);

  /* the acks removed them; the other workflow's are still there */
  while (TRUE)
    {
      g_clear_object (&result);
      g_clear_pointer (&left, g_ptr_array_unref);
      sluice_dead_letter_store_list_async (store, NULL, 0, 1000, NULL, on_done, &result);
      left = sluice_dead_letter_store_list_finish (store, wait_for (&result), &error);
      g_assert_no_error (error);
      if (left->len == 100)
        break;
      /* the last acks' removals may still be on their way */
      g_main_context_iteration (NULL, FALSE);
    }
  for (guint i = 0; i < left->len; i++)
    g_assert_cmpstr (((SluiceDeadLetter *) left->pdata[i])->workflow, ==, "other");
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  server = redis_test_server_start (NULL);

  g_test_add ("/delivery/hosts/idempotency", Fixture, NULL, fixture_setup,
              test_idempotency_two_hosts, fixture_teardown);
  g_test_add ("/delivery/hosts/bulk-replay-10000", Fixture, NULL, fixture_setup,
              test_bulk_replay_10000, fixture_teardown);

  status = g_test_run ();
  redis_test_server_free (server);
  return status;
}
