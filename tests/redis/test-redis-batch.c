/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "redis-test-util.h"

#define PREFIX "test:"
#define HOUR_USEC (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
#define LONG_LEASE (60 * G_USEC_PER_SEC)

static RedisTestServer *server;

typedef struct
{
  SluiceClock      *clock;
  SluiceContext    *context;
  SluiceBatchStore *store;
} Fixture;

static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  g_autoptr (redisReply) reply = redis_test_server_command (server, "FLUSHALL");

  f->clock = sluice_clock_new_system ();
  f->context = sluice_context_new ("test/redis", f->clock, NULL);
  f->store = redis_test_batch_store_new (f->context, redis_test_server_get_url (server), PREFIX);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  g_clear_object (&f->store);
  g_clear_object (&f->context);
  g_clear_object (&f->clock);
}

static void
create_ok (Fixture    *f,
           const char *id,
           guint       chunk,
           guint64     max_failed,
           gint64      window)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (redis_test_batch_create (f->store, id, chunk, max_failed, window, &error));
  g_assert_no_error (error);
}

static GPtrArray *
claim_ok (Fixture    *f,
          const char *id,
          const char *worker,
          guint       max,
          gint64      lease)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *claimed = redis_test_batch_claim (f->store, id, worker, max, lease, &error);

  g_assert_no_error (error);
  g_assert_nonnull (claimed);
  return claimed;
}

static void
settle_ok (Fixture          *f,
           const char       *id,
           const char       *worker,
           GPtrArray        *claimed,
           RedisTestFailFunc fail)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (redis_test_batch_settle_all (f->store, id, worker, claimed, fail, NULL, &error));
  g_assert_no_error (error);
}

/* The number in a "<tag>-<n>" body. */
static guint
body_number (SluiceMessage *message)
{
  g_autofree char *body = redis_test_body (message);
  const char      *dash = strrchr (body, '-');

  g_assert_nonnull (dash);
  return (guint) g_ascii_strtoull (dash + 1, NULL, 10);
}

static void
test_lifecycle (Fixture      *f,
                gconstpointer user_data)
{
  const guint n = 10000;
  g_autoptr (GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree gboolean *seen = g_new0 (gboolean, n);
  g_autoptr (GError) error = NULL;
  guint processed = 0;
  guint claims = 0;

  create_ok (f, "life", 500, 0, HOUR_USEC);
  redis_test_assert_counts (f->store, "life", SLUICE_BATCH_OPEN, 0, 0, 0, 0);

  redis_test_batch_add_numbered (f->store, "life", "rec", 0, n, 500);
  redis_test_assert_counts (f->store, "life", SLUICE_BATCH_OPEN, n, 0, 0, 0);

  for (;;)
    {
      g_autoptr (GPtrArray) claimed = claim_ok (f, "life", "worker-1", 500, LONG_LEASE);

      if (claimed->len == 0)
        break;
      g_assert_cmpuint (claimed->len, <=, 500);

      for (guint i = 0; i < claimed->len; i++)
        {
          SluiceMessage *message = g_ptr_array_index (claimed, i);
          guint          number = body_number (message);

          /* Pending records come out in the order they went in. */
          g_assert_cmpuint (number, ==, processed + i);
          g_assert_cmpuint (number, <, n);
          g_assert_false (seen[number]);
          seen[number] = TRUE;
          g_assert_cmpuint (sluice_message_get_attempt (message), ==, 1);
          g_assert_cmpstr (sluice_message_get_content_type (message), ==, "text/plain");
          g_assert_true (g_hash_table_add (ids, g_strdup (sluice_message_get_id (message))));
        }

      if (claims == 3)
        redis_test_assert_counts (f->store, "life", SLUICE_BATCH_OPEN, n - processed - claimed->len,
                                  claimed->len, processed, 0);

      settle_ok (f, "life", "worker-1", claimed, NULL);
      processed += claimed->len;
      claims++;

      /* Closing half way: the last settle completes the batch. */
      if (processed == n / 2)
        {
          g_assert_true (redis_test_batch_set_state (f->store, "life", SLUICE_BATCH_CLOSED,
                                                     &error));
          g_assert_no_error (error);
          redis_test_assert_counts (f->store, "life", SLUICE_BATCH_CLOSED, n - processed, 0,
                                    processed, 0);
        }
    }

  g_assert_cmpuint (processed, ==, n);
  g_assert_cmpuint (claims, ==, n / 500);
  g_assert_cmpuint (g_hash_table_size (ids), ==, n);
  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *id = g_strdup_printf ("%u", i);

      g_assert_true (g_hash_table_contains (ids, id));
    }
  redis_test_assert_counts (f->store, "life", SLUICE_BATCH_COMPLETED, 0, 0, n, 0);
}

static void
test_payload_round_trip (Fixture      *f,
                         gconstpointer user_data)
{
  static const char binary[] = { 'a', '\0', 'b', '\r', '\n', (char) 0xff, '\0' };
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) claimed = NULL;
  g_autoptr (GBytes) binary_body = g_bytes_new_static (binary, sizeof binary);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) json = json_from_string ("{\"order\": 42, \"items\": [1, 2]}", NULL);
  SluiceMessage *message;
  GBytes        *body;

  create_ok (f, "payload", 10, 0, HOUR_USEC);

  g_ptr_array_add (records, sluice_message_new_bytes (binary_body, NULL));
  message = sluice_message_new_take_string (g_strdup ("{\"a\": 1}"), "application/json");
  sluice_message_set_header (message, "sluice-record", "7");
  sluice_message_set_header (message, "x-note", "two words, and ünïcode");
  g_ptr_array_add (records, message);
  g_ptr_array_add (records, sluice_message_new ());
  g_ptr_array_add (records, sluice_message_new_json (json));

  g_assert_true (redis_test_batch_add (f->store, "payload", records, &error));
  g_assert_no_error (error);

  claimed = claim_ok (f, "payload", "w", 10, LONG_LEASE);
  g_assert_cmpuint (claimed->len, ==, 4);

  message = g_ptr_array_index (claimed, 0);
  g_assert_cmpstr (sluice_message_get_id (message), ==, "1");
  g_assert_null (sluice_message_get_content_type (message));
  g_assert_cmpuint (g_hash_table_size (sluice_message_get_headers (message)), ==, 0);
  body = sluice_message_get_bytes (message);
  g_assert_true (g_bytes_equal (body, binary_body));

  message = g_ptr_array_index (claimed, 1);
  g_assert_cmpstr (sluice_message_get_id (message), ==, "2");
  g_assert_cmpstr (sluice_message_get_content_type (message), ==, "application/json");
  g_assert_cmpuint (g_hash_table_size (sluice_message_get_headers (message)), ==, 2);
  g_assert_cmpstr (sluice_message_get_header (message, "sluice-record"), ==, "7");
  g_assert_cmpstr (sluice_message_get_header (message, "x-note"), ==, "two words, and ünïcode");
  {
    g_autofree char *text = redis_test_body (message);

    g_assert_cmpstr (text, ==, "{\"a\": 1}");
  }

  message = g_ptr_array_index (claimed, 2);
  g_assert_cmpstr (sluice_message_get_id (message), ==, "3");
  g_assert_cmpint (sluice_message_get_length (message), ==, 0);

  message = g_ptr_array_index (claimed, 3);
  g_assert_cmpstr (sluice_message_get_id (message), ==, "4");
  {
    JsonNode *back = sluice_message_get_json (message, &error);

    g_assert_no_error (error);
    g_assert_true (json_node_equal (back, json));
  }
}

static gboolean
fail_every_seventh (SluiceMessage *message,
                    gpointer       user_data)
{
  return body_number (message) % 7 == 0;
}

static void
test_retry_only_failed (Fixture      *f,
                        gconstpointer user_data)
{
  const guint n = 1000;
  const guint n_failed = (n + 6) / 7;
  g_autoptr (GPtrArray) failed = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gboolean *back = g_new0 (gboolean, n);
  guint64              count = 0;

  create_ok (f, "retry", 100, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "retry", "r", 0, n, 250);

  for (;;)
    {
      g_autoptr (GPtrArray) claimed = claim_ok (f, "retry", "w", 100, LONG_LEASE);

      if (claimed->len == 0)
        break;
      settle_ok (f, "retry", "w", claimed, fail_every_seventh);
    }
  redis_test_assert_counts (f->store, "retry", SLUICE_BATCH_OPEN, 0, 0, n - n_failed, n_failed);

  /* Closing a drained batch completes it. */
  g_assert_true (redis_test_batch_set_state (f->store, "retry", SLUICE_BATCH_CLOSED, &error));
  g_assert_no_error (error);
  redis_test_assert_counts (f->store, "retry", SLUICE_BATCH_COMPLETED, 0, 0, n - n_failed,
                            n_failed);

  failed = redis_test_batch_list_failed (f->store, "retry", 0, n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (failed->len, ==, n_failed);
  for (guint i = 0; i < failed->len; i++)
    {
      SluiceMessage   *message = g_ptr_array_index (failed, i);
      g_autofree char *body = redis_test_body (message);
      g_autofree char *expected = g_strdup_printf ("error for %s", body);

      g_assert_cmpuint (body_number (message) % 7, ==, 0);
      g_assert_cmpstr (sluice_message_get_header (message, "sluice-error"), ==, expected);
      g_assert_cmpuint (sluice_message_get_attempt (message), ==, 1);
    }

  page = redis_test_batch_list_failed (f->store, "retry", 10, 5, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 5);
  for (guint i = 0; i < page->len; i++)
    g_assert_cmpstr (sluice_message_get_id (g_ptr_array_index (page, i)), ==,
                     sluice_message_get_id (g_ptr_array_index (failed, 10 + i)));

  g_assert_true (redis_test_batch_retry_failed (f->store, "retry", &count, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, n_failed);
  redis_test_assert_counts (f->store, "retry", SLUICE_BATCH_CLOSED, n_failed, 0, n - n_failed, 0);

  again = claim_ok (f, "retry", "w", n, LONG_LEASE);
  g_assert_cmpuint (again->len, ==, n_failed);
  for (guint i = 0; i < again->len; i++)
    {
      SluiceMessage *message = g_ptr_array_index (again, i);
      guint          number = body_number (message);

      g_assert_cmpuint (number % 7, ==, 0);
      g_assert_false (back[number]);
      back[number] = TRUE;
      g_assert_cmpuint (sluice_message_get_attempt (message), ==, 2);
    }
  settle_ok (f, "retry", "w", again, NULL);
  redis_test_assert_counts (f->store, "retry", SLUICE_BATCH_COMPLETED, 0, 0, n, 0);

  /* Nothing failed: nothing moves, the batch stays completed. */
  g_assert_true (redis_test_batch_retry_failed (f->store, "retry", &count, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 0);
  redis_test_assert_counts (f->store, "retry", SLUICE_BATCH_COMPLETED, 0, 0, n, 0);
}

static guint
count_keys (const char *pattern)
{
  g_autoptr (redisReply) reply = redis_test_server_command (server, "KEYS %s", pattern);

  g_assert_cmpint (reply->type, ==, REDIS_REPLY_ARRAY);
  return (guint) reply->elements;
}

static void
test_expiry (Fixture      *f,
             gconstpointer user_data)
{
  g_autoptr (GPtrArray) first = NULL;
  g_autoptr (GPtrArray) reclaimed = NULL;
  g_autoptr (GPtrArray) outcomes = g_ptr_array_new_with_free_func (
      (GDestroyNotify) sluice_record_outcome_free);
  g_autoptr (GPtrArray) batches = NULL;
  g_autoptr (SluiceBatchInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  gint64 created = g_get_monotonic_time ();

  create_ok (f, "short", 10, 0, G_USEC_PER_SEC);
  redis_test_batch_add_numbered (f->store, "short", "s", 0, 20, 20);

  /* Write every kind of key but requeue: a reclaim writes attempts, a
   * failure records, the failed list and errors, a claim a lease. */
  first = claim_ok (f, "short", "w", 5, 100 * 1000);
  redis_test_spin (150);
  reclaimed = claim_ok (f, "short", "w", 5, LONG_LEASE);
  g_assert_cmpuint (reclaimed->len, ==, 5);
  g_assert_cmpuint (sluice_message_get_attempt (g_ptr_array_index (reclaimed, 0)), ==, 2);
  for (guint i = 0; i < reclaimed->len; i++)
    {
      const char *id = sluice_message_get_id (g_ptr_array_index (reclaimed, i));

      g_ptr_array_add (outcomes, sluice_record_outcome_new (id, i < 2, i < 2 ? NULL : "broken"));
    }
  g_assert_true (redis_test_batch_settle (f->store, "short", "w", outcomes, &error));
  g_assert_no_error (error);
  {
    g_autoptr (GPtrArray) more = claim_ok (f, "short", "w", 2, LONG_LEASE);

    g_assert_cmpuint (more->len, ==, 2);
  }
  redis_test_assert_counts (f->store, "short", SLUICE_BATCH_OPEN, 13, 2, 2, 3);

  /* meta, pending, records, deadlines, leases, owners, attempts, failed,
   * errors and the open lease's list: all but requeue. */
  g_assert_cmpuint (count_keys (PREFIX "batch:{short}:*"), ==, 10);

  /* Every key carries the expiry: the batch vanishes by itself. */
  redis_test_spin ((guint) ((created + 1300 * 1000 - g_get_monotonic_time ()) / 1000));

  info = redis_test_batch_get_info (f->store, "short", &error);
  g_assert_null (info);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "batch 'short' does not exist (or has expired)");
  g_clear_error (&error);

  g_assert_cmpuint (count_keys (PREFIX "*"), ==, 0);

  batches = redis_test_batch_list (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batches->len, ==, 0);
}

static void
test_lease_reclaim (Fixture      *f,
                    gconstpointer user_data)
{
  g_autoptr (GPtrArray) by_a = NULL;
  g_autoptr (GPtrArray) by_b = NULL;
  g_autoptr (GPtrArray) reclaimed = NULL;
  g_autoptr (GHashTable) a_ids = g_hash_table_new (g_str_hash, g_str_equal);

  create_ok (f, "lease", 10, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "lease", "l", 0, 10, 10);

  by_a = claim_ok (f, "lease", "worker-a", 5, 200 * 1000);
  g_assert_cmpuint (by_a->len, ==, 5);
  for (guint i = 0; i < by_a->len; i++)
    g_hash_table_add (a_ids, (gpointer) sluice_message_get_id (g_ptr_array_index (by_a, i)));
  redis_test_assert_counts (f->store, "lease", SLUICE_BATCH_OPEN, 5, 5, 0, 0);

  /* A still holds its lease: B only gets the others. */
  by_b = claim_ok (f, "lease", "worker-b", 10, LONG_LEASE);
  g_assert_cmpuint (by_b->len, ==, 5);
  for (guint i = 0; i < by_b->len; i++)
    g_assert_false (g_hash_table_contains (a_ids,
                                           sluice_message_get_id (g_ptr_array_index (by_b, i))));
  redis_test_assert_counts (f->store, "lease", SLUICE_BATCH_OPEN, 0, 10, 0, 0);

  redis_test_spin (300);

  reclaimed = claim_ok (f, "lease", "worker-b", 10, LONG_LEASE);
  g_assert_cmpuint (reclaimed->len, ==, 5);
  for (guint i = 0; i < reclaimed->len; i++)
    {
      SluiceMessage *message = g_ptr_array_index (reclaimed, i);

      g_assert_true (g_hash_table_contains (a_ids, sluice_message_get_id (message)));
      g_assert_cmpuint (sluice_message_get_attempt (message), ==, 2);
    }
  /* Reclaimed records stay counted as processing. */
  redis_test_assert_counts (f->store, "lease", SLUICE_BATCH_OPEN, 0, 10, 0, 0);

  /* A comes back late: its lease was lost, its outcomes count for nothing. */
  settle_ok (f, "lease", "worker-a", by_a, NULL);
  redis_test_assert_counts (f->store, "lease", SLUICE_BATCH_OPEN, 0, 10, 0, 0);

  settle_ok (f, "lease", "worker-b", reclaimed, fail_every_seventh);
  settle_ok (f, "lease", "worker-b", by_b, fail_every_seventh);
  redis_test_assert_counts (f->store, "lease", SLUICE_BATCH_OPEN, 0, 0, 8, 2);

  settle_ok (f, "lease", "worker-a", by_a, NULL);
  redis_test_assert_counts (f->store, "lease", SLUICE_BATCH_OPEN, 0, 0, 8, 2);
}

static void
test_lease_partial_reclaim (Fixture      *f,
                            gconstpointer user_data)
{
  g_autoptr (GPtrArray) by_a = NULL;
  g_autoptr (GPtrArray) by_b = NULL;
  g_autoptr (GPtrArray) by_c = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  create_ok (f, "split", 10, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "split", "p", 0, 10, 10);

  by_a = claim_ok (f, "split", "worker-a", 10, 100 * 1000);
  g_assert_cmpuint (by_a->len, ==, 10);
  redis_test_spin (150);

  /* Two smaller claims share what A's lease held. */
  by_b = claim_ok (f, "split", "worker-b", 4, LONG_LEASE);
  by_c = claim_ok (f, "split", "worker-c", 10, LONG_LEASE);
  g_assert_cmpuint (by_b->len, ==, 4);
  g_assert_cmpuint (by_c->len, ==, 6);
  for (guint i = 0; i < by_b->len + by_c->len; i++)
    {
      SluiceMessage *message = g_ptr_array_index (i < by_b->len ? by_b : by_c,
                                                  i < by_b->len ? i : i - by_b->len);
      g_autofree char *body = redis_test_body (message);
      g_autofree char *expected = g_strdup_printf ("p-%u", body_number (message));

      g_assert_true (g_hash_table_add (seen, (gpointer) sluice_message_get_id (message)));
      g_assert_cmpuint (sluice_message_get_attempt (message), ==, 2);
      g_assert_cmpstr (body, ==, expected);
      /* ids follow bodies: record n + 1 is p-n */
      g_assert_cmpuint (g_ascii_strtoull (sluice_message_get_id (message), NULL, 10), ==,
                        body_number (message) + 1);
    }
  redis_test_assert_counts (f->store, "split", SLUICE_BATCH_OPEN, 0, 10, 0, 0);

  settle_ok (f, "split", "worker-a", by_a, NULL);
  redis_test_assert_counts (f->store, "split", SLUICE_BATCH_OPEN, 0, 10, 0, 0);
  settle_ok (f, "split", "worker-b", by_b, NULL);
  settle_ok (f, "split", "worker-c", by_c, fail_every_seventh);
  /* Of C's records (p-4 to p-9) only p-7 fails. */
  redis_test_assert_counts (f->store, "split", SLUICE_BATCH_OPEN, 0, 0, 9, 1);
  g_assert_cmpuint (count_keys (PREFIX "batch:{split}:lease:*"), ==, 0);
}

/* One claim takes records whose lease ran out and new ones; failures from
 * both keep their payloads for the retry. */
static void
test_lease_mixed (Fixture      *f,
                  gconstpointer user_data)
{
  g_autoptr (GPtrArray) by_a = NULL;
  g_autoptr (GPtrArray) mixed = NULL;
  g_autoptr (GPtrArray) failed = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autoptr (GPtrArray) outcomes = g_ptr_array_new_with_free_func (
      (GDestroyNotify) sluice_record_outcome_free);
  g_autoptr (GError) error = NULL;
  guint64 count = 0;
  guint   reclaimed = 0;

  create_ok (f, "mixed", 10, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "mixed", "m", 0, 8, 8);

  by_a = claim_ok (f, "mixed", "worker-a", 3, 100 * 1000);
  redis_test_spin (150);
  mixed = claim_ok (f, "mixed", "worker-b", 5, LONG_LEASE);
  g_assert_cmpuint (mixed->len, ==, 5);
  redis_test_assert_counts (f->store, "mixed", SLUICE_BATCH_OPEN, 3, 5, 0, 0);

  /* Every other record fails: some reclaimed, some new. */
  for (guint i = 0; i < mixed->len; i++)
    {
      SluiceMessage   *message = g_ptr_array_index (mixed, i);
      g_autofree char *body = redis_test_body (message);
      g_autofree char *text = g_strdup_printf ("failed %s", body);
      gboolean         was_a = body_number (message) < 3;

      reclaimed += was_a ? 1 : 0;
      g_assert_cmpuint (sluice_message_get_attempt (message), ==, was_a ? 2 : 1);
      g_ptr_array_add (outcomes, sluice_record_outcome_new (sluice_message_get_id (message),
                                                            i % 2 == 1, i % 2 == 1 ? NULL : text));
    }
  g_assert_cmpuint (reclaimed, ==, 3);
  g_assert_true (redis_test_batch_settle (f->store, "mixed", "worker-b", outcomes, &error));
  g_assert_no_error (error);
  redis_test_assert_counts (f->store, "mixed", SLUICE_BATCH_OPEN, 3, 0, 2, 3);

  failed = redis_test_batch_list_failed (f->store, "mixed", 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (failed->len, ==, 3);
  for (guint i = 0; i < failed->len; i++)
    {
      SluiceMessage   *message = g_ptr_array_index (failed, i);
      g_autofree char *body = redis_test_body (message);
      g_autofree char *expected = g_strdup_printf ("failed %s", body);

      g_assert_cmpstr (sluice_message_get_header (message, "sluice-error"), ==, expected);
      g_assert_cmpstr (sluice_message_get_content_type (message), ==, "text/plain");
      g_assert_cmpuint (sluice_message_get_attempt (message), ==,
                        body_number (message) < 3 ? 2 : 1);
    }

  g_assert_true (redis_test_batch_retry_failed (f->store, "mixed", &count, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 3);
  again = claim_ok (f, "mixed", "worker-b", 10, LONG_LEASE);
  g_assert_cmpuint (again->len, ==, 6);
  for (guint i = 0; i < again->len; i++)
    {
      SluiceMessage   *message = g_ptr_array_index (again, i);
      g_autofree char *body = redis_test_body (message);
      g_autofree char *expected = g_strdup_printf ("m-%u", body_number (message));
      guint            number = body_number (message);
      gboolean         retried = FALSE;

      g_assert_cmpstr (body, ==, expected);
      for (guint j = 0; j < failed->len; j++)
        retried = retried || body_number (g_ptr_array_index (failed, j)) == number;
      g_assert_cmpuint (sluice_message_get_attempt (message), ==,
                        !retried ? 1 : number < 3 ? 3
                                                  : 2);
    }
  settle_ok (f, "mixed", "worker-b", again, NULL);
  redis_test_assert_counts (f->store, "mixed", SLUICE_BATCH_OPEN, 0, 0, 8, 0);
}

static gboolean
fail_odd (SluiceMessage *message,
          gpointer       user_data)
{
  return body_number (message) % 2 == 1;
}

static void
test_settle_twice (Fixture      *f,
                   gconstpointer user_data)
{
  g_autoptr (GPtrArray) claimed = NULL;
  g_autoptr (GPtrArray) last = NULL;
  g_autoptr (GPtrArray) failed = NULL;
  g_autoptr (GPtrArray) outcomes = g_ptr_array_new_with_free_func (
      (GDestroyNotify) sluice_record_outcome_free);
  g_autoptr (GError) error = NULL;

  create_ok (f, "twice", 10, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "twice", "t", 0, 7, 7);

  claimed = claim_ok (f, "twice", "w", 6, LONG_LEASE);
  g_assert_cmpuint (claimed->len, ==, 6);
  settle_ok (f, "twice", "w", claimed, fail_odd);
  redis_test_assert_counts (f->store, "twice", SLUICE_BATCH_OPEN, 1, 0, 3, 3);
  settle_ok (f, "twice", "w", claimed, fail_odd);
  redis_test_assert_counts (f->store, "twice", SLUICE_BATCH_OPEN, 1, 0, 3, 3);

  failed = redis_test_batch_list_failed (f->store, "twice", 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (failed->len, ==, 3);

  /* The same record twice in one call counts once too. */
  last = claim_ok (f, "twice", "w", 6, LONG_LEASE);
  g_assert_cmpuint (last->len, ==, 1);
  {
    const char *id = sluice_message_get_id (g_ptr_array_index (last, 0));

    g_ptr_array_add (outcomes, sluice_record_outcome_new (id, TRUE, NULL));
    g_ptr_array_add (outcomes, sluice_record_outcome_new (id, FALSE, "again"));
  }
  g_assert_true (redis_test_batch_settle (f->store, "twice", "w", outcomes, &error));
  g_assert_no_error (error);
  redis_test_assert_counts (f->store, "twice", SLUICE_BATCH_OPEN, 0, 0, 4, 3);
}

static void
test_max_failed (Fixture      *f,
                 gconstpointer user_data)
{
  g_autoptr (GPtrArray) claimed = NULL;
  g_autoptr (GPtrArray) nothing = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autoptr (GError) error = NULL;
  guint64 count = 0;

  create_ok (f, "maxf", 10, 4, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "maxf", "m", 0, 12, 12);

  claimed = claim_ok (f, "maxf", "w", 10, LONG_LEASE);
  g_assert_cmpuint (claimed->len, ==, 10);
  settle_ok (f, "maxf", "w", claimed, fail_odd);

  /* 5 failed > 4 allowed: the batch stops, nothing more is handed out. */
  redis_test_assert_counts (f->store, "maxf", SLUICE_BATCH_FAILED, 2, 0, 5, 5);
  nothing = claim_ok (f, "maxf", "w", 10, LONG_LEASE);
  g_assert_cmpuint (nothing->len, ==, 0);

  g_assert_true (redis_test_batch_retry_failed (f->store, "maxf", &count, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 5);
  redis_test_assert_counts (f->store, "maxf", SLUICE_BATCH_CLOSED, 7, 0, 5, 0);

  again = claim_ok (f, "maxf", "w", 10, LONG_LEASE);
  g_assert_cmpuint (again->len, ==, 7);
  settle_ok (f, "maxf", "w", again, NULL);
  redis_test_assert_counts (f->store, "maxf", SLUICE_BATCH_COMPLETED, 0, 0, 12, 0);
}

static void
assert_state_error (GError     *error,
                    const char *message)
{
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_state_transitions (Fixture      *f,
                        gconstpointer user_data)
{
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) nothing = NULL;
  g_autoptr (GError) error = NULL;
  guint64 count = 0;

  create_ok (f, "st", 10, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "st", "x", 0, 2, 2);

  g_assert_true (redis_test_batch_set_state (f->store, "st", SLUICE_BATCH_OPEN, &error));
  g_assert_no_error (error);

  g_assert_false (redis_test_batch_set_state (f->store, "st", SLUICE_BATCH_COMPLETED, &error));
  assert_state_error (error, "batch 'st' cannot complete: 2 records are pending and 0 processing");
  g_clear_error (&error);

  g_assert_true (redis_test_batch_set_state (f->store, "st", SLUICE_BATCH_CLOSED, &error));
  g_assert_no_error (error);
  redis_test_assert_counts (f->store, "st", SLUICE_BATCH_CLOSED, 2, 0, 0, 0);

  g_ptr_array_add (records, sluice_message_new_take_string (g_strdup ("late"), NULL));
  g_assert_false (redis_test_batch_add (f->store, "st", records, &error));
  assert_state_error (error, "batch 'st' is closed: no records can be added");
  g_clear_error (&error);
  {
    /* The refused records were taken back off pending. */
    g_autoptr (redisReply) length = redis_test_server_command (server, "LLEN " PREFIX
                                                                       "batch:{st}:pending");

    g_assert_cmpint (length->integer, ==, 2);
  }

  g_assert_false (redis_test_batch_set_state (f->store, "st", SLUICE_BATCH_OPEN, &error));
  assert_state_error (error, "batch 'st' is closed: it cannot become open");
  g_clear_error (&error);

  g_assert_true (redis_test_batch_set_state (f->store, "st", SLUICE_BATCH_CANCELLED, &error));
  g_assert_no_error (error);
  nothing = claim_ok (f, "st", "w", 10, LONG_LEASE);
  g_assert_cmpuint (nothing->len, ==, 0);
  redis_test_assert_counts (f->store, "st", SLUICE_BATCH_CANCELLED, 2, 0, 0, 0);

  g_assert_false (redis_test_batch_set_state (f->store, "st", SLUICE_BATCH_CLOSED, &error));
  assert_state_error (error, "batch 'st' is cancelled: it cannot become closed");
  g_clear_error (&error);

  g_assert_false (redis_test_batch_retry_failed (f->store, "st", &count, &error));
  assert_state_error (error, "batch 'st' is cancelled: its failed records cannot be retried");
  g_clear_error (&error);

  /* An empty batch is drained: closing completes it. */
  create_ok (f, "st-empty", 10, 0, HOUR_USEC);
  g_assert_true (redis_test_batch_set_state (f->store, "st-empty", SLUICE_BATCH_CLOSED, &error));
  g_assert_no_error (error);
  redis_test_assert_counts (f->store, "st-empty", SLUICE_BATCH_COMPLETED, 0, 0, 0, 0);
}

static SluiceBatchInfo *
find_batch (GPtrArray  *batches,
            const char *id)
{
  for (guint i = 0; i < batches->len; i++)
    {
      SluiceBatchInfo *info = g_ptr_array_index (batches, i);

      if (g_str_equal (info->id, id))
        return info;
    }
  return NULL;
}

static SluiceBatchInfo *
get_batch (GPtrArray  *batches,
           const char *id)
{
  SluiceBatchInfo *info = find_batch (batches, id);

  if (info == NULL)
    {
      g_test_message ("batch '%s' is not listed", id);
      g_assert_not_reached ();
    }
  return info;
}

static void
test_list_and_delete (Fixture      *f,
                      gconstpointer user_data)
{
  g_autoptr (GPtrArray) batches = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autoptr (SluiceBatchInfo) gone = NULL;
  g_autoptr (GError) error = NULL;
  gint64           before = g_get_real_time ();
  SluiceBatchInfo *info;

  create_ok (f, "a", 5, 0, HOUR_USEC);
  create_ok (f, "b.2", 6, 3, HOUR_USEC);
  create_ok (f, "c_3-x", 7, 0, 2 * HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "b.2", "b", 0, 4, 4);
  {
    g_autoptr (GPtrArray) leased = claim_ok (f, "b.2", "w", 1, LONG_LEASE);

    g_assert_cmpuint (leased->len, ==, 1);
  }

  batches = redis_test_batch_list (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batches->len, ==, 3);

  info = get_batch (batches, "b.2");
  g_assert_cmpstr (info->workflow, ==, "test-workflow");
  g_assert_cmpuint (info->chunk_size, ==, 6);
  g_assert_cmpuint (info->max_failed, ==, 3);
  g_assert_cmpint (info->state, ==, SLUICE_BATCH_OPEN);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_PENDING], ==, 3);
  g_assert_cmpuint (info->counts[SLUICE_RECORD_PROCESSING], ==, 1);
  g_assert_cmpint (info->created_usec, >=, before);
  g_assert_cmpint (info->created_usec, <=, g_get_real_time ());
  g_assert_cmpint (info->expires_usec, ==, info->created_usec + HOUR_USEC);

  info = get_batch (batches, "c_3-x");
  g_assert_cmpuint (info->chunk_size, ==, 7);
  g_assert_cmpint (info->expires_usec, ==, info->created_usec + 2 * HOUR_USEC);
  g_assert_nonnull (find_batch (batches, "a"));

  g_assert_true (redis_test_batch_delete (f->store, "b.2", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_keys (PREFIX "batch:{b.2}:*"), ==, 0);

  gone = redis_test_batch_get_info (f->store, "b.2", &error);
  g_assert_null (gone);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_false (redis_test_batch_delete (f->store, "b.2", &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  after = redis_test_batch_list (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (after->len, ==, 2);
  g_assert_null (find_batch (after, "b.2"));
}

static void
test_noscript_recovery (Fixture      *f,
                        gconstpointer user_data)
{
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autoptr (redisReply) flushed = NULL;

  create_ok (f, "ns", 10, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "ns", "n", 0, 10, 10);
  before = claim_ok (f, "ns", "w", 3, LONG_LEASE);
  g_assert_cmpuint (before->len, ==, 3);

  /* As after a restart without the scripts: the next call loads its
   * script again and runs. */
  flushed = redis_test_server_command (server, "SCRIPT FLUSH");

  after = claim_ok (f, "ns", "w", 3, LONG_LEASE);
  g_assert_cmpuint (after->len, ==, 3);
  g_assert_cmpstr (sluice_message_get_id (g_ptr_array_index (after, 0)), ==, "4");
  settle_ok (f, "ns", "w", after, NULL);
  settle_ok (f, "ns", "w", before, NULL);
  redis_test_assert_counts (f->store, "ns", SLUICE_BATCH_OPEN, 4, 0, 6, 0);
}

/* Several calls in flight on one connection, answered in order. */
typedef struct
{
  GPtrArray *claimed;
  guint      pending;
} Pipeline;

static void
pipelined_claimed (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Pipeline *pipeline = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) claimed = sluice_batch_store_claim_finish (SLUICE_BATCH_STORE (source),
                                                                   result, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < claimed->len; i++)
    g_ptr_array_add (pipeline->claimed, g_object_ref (g_ptr_array_index (claimed, i)));
  pipeline->pending--;
}

static gboolean
pipeline_done (gpointer user_data)
{
  return ((Pipeline *) user_data)->pending == 0;
}

static void
test_claim_pipelined (Fixture      *f,
                      gconstpointer user_data)
{
  Pipeline pipeline = { g_ptr_array_new_with_free_func (g_object_unref), 0 };
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean done = FALSE;

  create_ok (f, "pipe", 100, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "pipe", "p", 0, 450, 450);

  for (guint i = 0; i < 5; i++)
    {
      sluice_batch_store_claim_async (f->store, "pipe", "w", 100, LONG_LEASE, NULL,
                                      pipelined_claimed, &pipeline);
      pipeline.pending++;
    }
  while (!done)
    {
      g_main_context_iteration (NULL, TRUE);
      done = pipeline_done (&pipeline);
    }

  g_assert_cmpuint (pipeline.claimed->len, ==, 450);
  for (guint i = 0; i < pipeline.claimed->len; i++)
    {
      SluiceMessage *message = g_ptr_array_index (pipeline.claimed, i);

      g_assert_true (g_hash_table_add (ids, (gpointer) sluice_message_get_id (message)));
    }
  redis_test_assert_counts (f->store, "pipe", SLUICE_BATCH_OPEN, 0, 450, 0, 0);
  g_ptr_array_unref (pipeline.claimed);
}

static void
test_unknown_batch (Fixture      *f,
                    gconstpointer user_data)
{
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) claimed = NULL;
  g_autoptr (GPtrArray) outcomes = g_ptr_array_new_with_free_func (
      (GDestroyNotify) sluice_record_outcome_free);
  g_autoptr (SluiceBatchInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  guint64 count = 0;

  info = redis_test_batch_get_info (f->store, "nope", &error);
  g_assert_null (info);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "batch 'nope' does not exist (or has expired)");
  g_clear_error (&error);

  g_ptr_array_add (records, sluice_message_new_take_string (g_strdup ("x"), NULL));
  g_assert_false (redis_test_batch_add (f->store, "nope", records, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "batch 'nope' does not exist (or has expired)");
  g_clear_error (&error);

  claimed = redis_test_batch_claim (f->store, "nope", "w", 10, LONG_LEASE, &error);
  g_assert_null (claimed);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_ptr_array_add (outcomes, sluice_record_outcome_new ("1", TRUE, NULL));
  g_assert_false (redis_test_batch_settle (f->store, "nope", "w", outcomes, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_false (redis_test_batch_retry_failed (f->store, "nope", &count, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_false (redis_test_batch_set_state (f->store, "nope", SLUICE_BATCH_CLOSED, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_null (redis_test_batch_list_failed (f->store, "nope", 0, 10, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Nothing was made on the way. */
  g_assert_cmpuint (count_keys (PREFIX "*"), ==, 0);
}

static void
test_bad_create (Fixture      *f,
                 gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SluiceBatchInfo) info = sluice_batch_info_new ("past", NULL);
  g_autoptr (GAsyncResult) result = NULL;

  g_assert_false (redis_test_batch_create (f->store, "zero", 0, 0, HOUR_USEC, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_cmpstr (error->message, ==, "batch 'zero': the chunk size must be at least 1");
  g_clear_error (&error);

  create_ok (f, "dup", 10, 0, HOUR_USEC);
  g_assert_false (redis_test_batch_create (f->store, "dup", 10, 0, HOUR_USEC, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
  g_assert_cmpstr (error->message, ==, "batch 'dup' already exists");
  g_clear_error (&error);

  g_assert_false (redis_test_batch_create (f->store, "a b", 10, 0, HOUR_USEC, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "'a b' is not a batch id"));
  g_clear_error (&error);

  /* Without a creation time the server's clock decides. */
  info->chunk_size = 10;
  info->expires_usec = g_get_real_time () - G_USEC_PER_SEC;
  sluice_batch_store_create_async (f->store, info, NULL, redis_test_store_result, &result);
  g_assert_false (sluice_batch_store_create_finish (f->store, redis_test_wait_result (&result),
                                                    &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_cmpstr (error->message, ==, "batch 'past': its expiry time is in the past");
  g_clear_error (&error);
  g_assert_cmpuint (count_keys (PREFIX "batch:{past}:*"), ==, 0);
}

static void
test_bad_records (Fixture      *f,
                  gconstpointer user_data)
{
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GInputStream) stream = g_memory_input_stream_new_from_data ("abc", 3, NULL);
  g_autoptr (GError) error = NULL;

  create_ok (f, "streamed", 10, 0, HOUR_USEC);
  g_ptr_array_add (records, sluice_message_new_take_string (g_strdup ("fine"), NULL));
  g_ptr_array_add (records, sluice_message_new_stream (stream, 3, NULL));
  g_assert_false (redis_test_batch_add (f->store, "streamed", records, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "record 2 of 2 has a streamed body"));
  g_clear_error (&error);

  /* All or nothing. */
  redis_test_assert_counts (f->store, "streamed", SLUICE_BATCH_OPEN, 0, 0, 0, 0);
}

static void
test_unix_socket (Fixture      *f,
                  gconstpointer user_data)
{
  g_autoptr (GObject) store = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *config = NULL;
  g_autoptr (GPtrArray) claimed = NULL;
  g_autoptr (redisContext) ctx = NULL;
  g_autoptr (redisReply) selected = NULL;
  g_autoptr (redisReply) in_db2 = NULL;

  config = g_strdup_printf ("{\"url\": \"unix://%s?db=2\", \"prefix\": \"ux:\"}",
                            redis_test_server_get_socket_path (server));
  store = redis_test_create ("redis.batch-store", f->context, config, &error);
  g_assert_no_error (error);

  g_assert_true (redis_test_batch_create (SLUICE_BATCH_STORE (store), "sock", 10, 0, HOUR_USEC,
                                          &error));
  g_assert_no_error (error);
  redis_test_batch_add_numbered (SLUICE_BATCH_STORE (store), "sock", "u", 0, 3, 3);
  claimed = redis_test_batch_claim (SLUICE_BATCH_STORE (store), "sock", "w", 2, LONG_LEASE,
                                    &error);
  g_assert_no_error (error);
  g_assert_cmpuint (claimed->len, ==, 2);

  /* The keys (meta, pending, deadlines, leases, owners, the lease's list)
   * are in database 2, not 0. */
  g_assert_cmpuint (count_keys ("ux:*"), ==, 0);
  ctx = redis_test_server_connect (server);
  selected = redisCommand (ctx, "SELECT 2");
  g_assert_cmpint (selected->type, ==, REDIS_REPLY_STATUS);
  in_db2 = redisCommand (ctx, "KEYS ux:batch:{sock}:*");
  g_assert_cmpint (in_db2->type, ==, REDIS_REPLY_ARRAY);
  g_assert_cmpuint (in_db2->elements, ==, 6);
}

static void
claimed_after_drop (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) claimed = sluice_batch_store_claim_finish (SLUICE_BATCH_STORE (source),
                                                                   result, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (claimed->len, ==, 3);
  *done = TRUE;
}

/* The caller lets go of the store while a call is in flight: the call
 * still completes, then everything goes. */
static void
test_store_dropped_mid_call (Fixture      *f,
                             gconstpointer user_data)
{
  gboolean done = FALSE;

  create_ok (f, "dropped", 10, 0, HOUR_USEC);
  redis_test_batch_add_numbered (f->store, "dropped", "d", 0, 3, 3);
  sluice_batch_store_claim_async (f->store, "dropped", "w", 10, LONG_LEASE, NULL,
                                  claimed_after_drop, &done);
  g_clear_object (&f->store);
  redis_test_wait_flag (&done, 10000);
}

int
main (int   argc,
      char *argv[])
{
  RedisTestServerOptions options = { .unix_socket = TRUE };
  int                    ret;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The redis batch store against a real redis-server: lifecycle, payloads, "
                  "retries, expiry, leases, states, listing and errors");

  server = redis_test_server_start (&options);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/redis/batch/lifecycle/ten-thousand-records", test_lifecycle);
  ADD ("/redis/batch/payload/round-trip", test_payload_round_trip);
  ADD ("/redis/batch/retry/only-failed", test_retry_only_failed);
  ADD ("/redis/batch/expiry/all-keys-vanish", test_expiry);
  ADD ("/redis/batch/lease/reclaim-after-expiry", test_lease_reclaim);
  ADD ("/redis/batch/lease/partial-reclaim", test_lease_partial_reclaim);
  ADD ("/redis/batch/lease/reclaimed-and-new-in-one-claim", test_lease_mixed);
  ADD ("/redis/batch/settle/twice-counts-once", test_settle_twice);
  ADD ("/redis/batch/max-failed/stops-batch", test_max_failed);
  ADD ("/redis/batch/state/transitions", test_state_transitions);
  ADD ("/redis/batch/list-and-delete", test_list_and_delete);
  ADD ("/redis/batch/noscript/reload-and-retry", test_noscript_recovery);
  ADD ("/redis/batch/claim/pipelined", test_claim_pipelined);
  ADD ("/redis/batch/bad-input/unknown-batch", test_unknown_batch);
  ADD ("/redis/batch/bad-input/create", test_bad_create);
  ADD ("/redis/batch/bad-input/streamed-record", test_bad_records);
  ADD ("/redis/batch/connection/unix-socket-db", test_unix_socket);
  ADD ("/redis/batch/connection/store-dropped-mid-call", test_store_dropped_mid_call);
#undef ADD

  ret = g_test_run ();
  redis_test_server_free (server);
  return ret;
}
