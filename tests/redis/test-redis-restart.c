/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "redis-test-util.h"

#define HOUR_USEC (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
#define LEASE_USEC (G_USEC_PER_SEC)
#define RECORDS 5000
#define CHUNK 100

/* Operations fail while Redis is away: with UNAVAILABLE naming the URL, or
 * TIMEOUT for a reply cut off. */
static void
assert_outage (GError          *error,
               RedisTestServer *server)
{
  g_assert_true (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE) ||
                 g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_TIMEOUT));
  g_assert_nonnull (strstr (error->message, redis_test_server_get_url (server)));
}

static void
test_restart_mid_batch (void)
{
  RedisTestServerOptions options = { .appendonly = TRUE };
  g_autoptr (RedisTestServer) server = redis_test_server_start (&options);
  g_autoptr (SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr (SluiceContext) context = sluice_context_new ("test/redis-restart", clock, NULL);
  g_autoptr (SluiceBatchStore) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GObject) object = NULL;
  g_autofree char *config = NULL;
  guint            settled_chunks = 0;
  guint            outages = 0;
  guint            reclaimed = 0;
  guint64          succeeded_before_stop = 0;
  gboolean         stopped = FALSE;
  gboolean         restarted = FALSE;

  config = g_strdup_printf ("{\"url\": \"%s\", \"timeout\": \"2s\", \"reconnect_max\": \"400ms\"}",
                            redis_test_server_get_url (server));
  object = redis_test_create ("redis.batch-store", context, config, &error);
  g_assert_no_error (error);
  store = SLUICE_BATCH_STORE (g_steal_pointer (&object));

  g_assert_true (redis_test_batch_create (store, "survive", CHUNK, 0, HOUR_USEC, &error));
  g_assert_no_error (error);
  redis_test_batch_add_numbered (store, "survive", "s", 0, RECORDS, 500);
  g_assert_true (redis_test_batch_set_state (store, "survive", SLUICE_BATCH_CLOSED, &error));
  g_assert_no_error (error);

  for (;;)
    {
      g_autoptr (GPtrArray) claimed = NULL;

      claimed = redis_test_batch_claim (store, "survive", "worker", CHUNK, LEASE_USEC, &error);
      if (claimed == NULL)
        {
          assert_outage (error, server);
          g_clear_error (&error);
          outages++;
          /* Let a few operations fail before Redis comes back. */
          if (stopped && !restarted && outages >= 3)
            {
              redis_test_server_restart (server);
              restarted = TRUE;
            }
          redis_test_spin (100);
          continue;
        }

      if (claimed->len == 0)
        {
          g_autoptr (SluiceBatchInfo) info = redis_test_batch_get_info (store, "survive", &error);

          if (info == NULL)
            {
              assert_outage (error, server);
              g_clear_error (&error);
              continue;
            }
          if (info->state == SLUICE_BATCH_COMPLETED)
            break;
          /* Records whose settle was lost wait for their lease to end. */
          redis_test_spin (200);
          continue;
        }

      for (guint i = 0; i < claimed->len; i++)
        if (sluice_message_get_attempt (g_ptr_array_index (claimed, i)) > 1)
          reclaimed++;

      /* Redis stops between a claim and its settle: that chunk stays
       * leased and is reclaimed after the restart. */
      if (settled_chunks == RECORDS / CHUNK / 2 && !stopped)
        {
          g_autoptr (SluiceBatchInfo) info = redis_test_batch_get_info (store, "survive", &error);

          g_assert_no_error (error);
          succeeded_before_stop = info->counts[SLUICE_RECORD_SUCCEEDED];
          redis_test_server_stop (server);
          stopped = TRUE;
        }

      if (!redis_test_batch_settle_all (store, "survive", "worker", claimed, NULL, NULL, &error))
        {
          assert_outage (error, server);
          g_clear_error (&error);
          outages++;
          continue;
        }
      settled_chunks++;
    }

  g_test_message ("%u operations failed during the outage; %u records were claimed again",
                  outages, reclaimed);
  g_assert_true (stopped);
  g_assert_true (restarted);
  g_assert_cmpuint (outages, >=, 3);
  g_assert_cmpuint (succeeded_before_stop, ==, RECORDS / 2);
  g_assert_cmpuint (reclaimed, ==, CHUNK);
  redis_test_assert_counts (store, "survive", SLUICE_BATCH_COMPLETED, 0, 0, RECORDS, 0);
}

/* A server that stops answering: the late call fails with TIMEOUT, the
 * connection is dropped and remade, and once the server answers again so
 * does the store, by itself. */
static void
test_timeout_then_recover (void)
{
  g_autoptr (RedisTestServer) server = redis_test_server_start (NULL);
  g_autoptr (SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr (SluiceContext) context = sluice_context_new ("test/redis-timeout", clock, NULL);
  g_autoptr (SluiceBatchStore) store = NULL;
  g_autoptr (SluiceBatchInfo) info = NULL;
  g_autoptr (GObject) object = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *expected = NULL;
  gint64           started;
  gint64           waited;

  config = g_strdup_printf ("{\"url\": \"%s\", \"timeout\": \"300ms\", "
                            "\"reconnect_max\": \"200ms\"}",
                            redis_test_server_get_url (server));
  object = redis_test_create ("redis.batch-store", context, config, &error);
  g_assert_no_error (error);
  store = SLUICE_BATCH_STORE (g_steal_pointer (&object));
  g_assert_true (redis_test_batch_create (store, "frozen", 10, 0, HOUR_USEC, &error));
  g_assert_no_error (error);

  redis_test_server_pause (server);
  started = g_get_monotonic_time ();
  info = redis_test_batch_get_info (store, "frozen", &error);
  waited = g_get_monotonic_time () - started;
  g_assert_null (info);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_TIMEOUT);
  expected = g_strdup_printf ("%s: no reply within 300ms", redis_test_server_get_url (server));
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpint (waited, >=, 250 * 1000);
  g_assert_cmpint (waited, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* Still frozen: new attempts cannot get through their handshake. */
  redis_test_spin (400);
  info = redis_test_batch_get_info (store, "frozen", &error);
  g_assert_null (info);
  g_assert_true (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE) ||
                 g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_TIMEOUT));
  g_assert_nonnull (strstr (error->message, redis_test_server_get_url (server)));
  g_clear_error (&error);

  redis_test_server_resume (server);
  for (guint i = 0; i < 100 && info == NULL; i++)
    {
      info = redis_test_batch_get_info (store, "frozen", &error);
      if (info == NULL)
        {
          g_clear_error (&error);
          redis_test_spin (50);
        }
    }
  g_assert_true (info != NULL && g_str_equal (info->id, "frozen"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("A redis-server restarted in the middle of a batch, or frozen: operations "
                  "fail as unavailable or timed out, the store reconnects by itself, and the "
                  "batch completes with exact counts");

  g_test_add_func ("/redis/restart/mid-batch", test_restart_mid_batch);
  g_test_add_func ("/redis/connection/timeout-then-recover", test_timeout_then_recover);
  return g_test_run ();
}
