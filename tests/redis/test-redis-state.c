/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "redis-test-util.h"

#define PREFIX "st:"
#define MS (G_GINT64_CONSTANT (1000))

static RedisTestServer *server;

typedef struct
{
  SluiceClock      *clock;
  SluiceContext    *context;
  SluiceStateStore *store;
  SluiceStateStore *other; /* on its own connection */
} Fixture;

static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  g_autoptr (redisReply) reply = redis_test_server_command (server, "FLUSHALL");

  f->clock = sluice_clock_new_system ();
  f->context = sluice_context_new ("test/redis-state", f->clock, NULL);
  f->store = redis_test_state_store_new (f->context, redis_test_server_get_url (server), PREFIX);
  f->other = redis_test_state_store_new (f->context, redis_test_server_get_url (server), PREFIX);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  g_clear_object (&f->store);
  g_clear_object (&f->other);
  g_clear_object (&f->context);
  g_clear_object (&f->clock);
}

static GBytes *
get (SluiceStateStore *store,
     const char       *key)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  GBytes *value;

  sluice_state_store_get_async (store, key, NULL, redis_test_store_result, &result);
  value = sluice_state_store_get_finish (store, redis_test_wait_result (&result), &error);
  g_assert_no_error (error);
  return value;
}

static void
assert_value (SluiceStateStore *store,
              const char       *key,
              const char       *expected)
{
  g_autoptr (GBytes) value = get (store, key);

  if (expected == NULL)
    {
      g_assert_null (value);
      return;
    }
  g_assert_nonnull (value);
  g_assert_cmpmem (g_bytes_get_data (value, NULL), g_bytes_get_size (value),
                   expected, strlen (expected));
}

static void
set (SluiceStateStore *store,
     const char       *key,
     const char       *value,
     gint64            ttl_usec)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_bytes_new (value, strlen (value));

  sluice_state_store_set_async (store, key, bytes, ttl_usec, NULL, redis_test_store_result,
                                &result);
  g_assert_true (sluice_state_store_set_finish (store, redis_test_wait_result (&result), &error));
  g_assert_no_error (error);
}

static gboolean
add_if_absent (SluiceStateStore *store,
               const char       *key,
               const char       *value,
               gint64            ttl_usec)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_bytes_new (value, strlen (value));
  gboolean added = FALSE;

  sluice_state_store_add_if_absent_async (store, key, bytes, ttl_usec, NULL,
                                          redis_test_store_result, &result);
  g_assert_true (sluice_state_store_add_if_absent_finish (store, redis_test_wait_result (&result),
                                                          &added, &error));
  g_assert_no_error (error);
  return added;
}

static gboolean delete (SluiceStateStore *store,
                        const char       *key)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gboolean deleted = FALSE;

  sluice_state_store_delete_async (store, key, NULL, redis_test_store_result, &result);
  g_assert_true (sluice_state_store_delete_finish (store, redis_test_wait_result (&result),
                                                   &deleted, &error));
  g_assert_no_error (error);
  return deleted;
}

static gboolean
lock (SluiceStateStore *store,
      const char       *name,
      const char       *owner,
      gint64            lease_usec)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gboolean acquired = FALSE;

  sluice_state_store_lock_async (store, name, owner, lease_usec, NULL, redis_test_store_result,
                                 &result);
  g_assert_true (sluice_state_store_lock_finish (store, redis_test_wait_result (&result),
                                                 &acquired, &error));
  g_assert_no_error (error);
  return acquired;
}

static void
unlock (SluiceStateStore *store,
        const char       *name,
        const char       *owner)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  sluice_state_store_unlock_async (store, name, owner, NULL, redis_test_store_result, &result);
  g_assert_true (sluice_state_store_unlock_finish (store, redis_test_wait_result (&result),
                                                   &error));
  g_assert_no_error (error);
}

static gboolean
increment (SluiceStateStore *store,
           const char       *key,
           gint64            delta,
           gint64            ttl_usec,
           gint64           *out_value,
           GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_state_store_increment_async (store, key, delta, ttl_usec, NULL, redis_test_store_result,
                                      &result);
  return sluice_state_store_increment_finish (store, redis_test_wait_result (&result), out_value,
                                              error);
}

static gint64
increment_ok (SluiceStateStore *store,
              const char       *key,
              gint64            delta,
              gint64            ttl_usec)
{
  g_autoptr (GError) error = NULL;
  gint64 value = G_MININT64;

  g_assert_true (increment (store, key, delta, ttl_usec, &value, &error));
  g_assert_no_error (error);
  return value;
}

static gboolean
take_tokens (SluiceStateStore *store,
             const char       *bucket,
             double            rate,
             guint             burst,
             guint             count,
             gint64           *out_wait,
             GError          **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  sluice_state_store_take_tokens_async (store, bucket, rate, burst, count, NULL,
                                        redis_test_store_result, &result);
  return sluice_state_store_take_tokens_finish (store, redis_test_wait_result (&result), out_wait,
                                                error);
}

static gint64
take_ok (SluiceStateStore *store,
         const char       *bucket,
         double            rate,
         guint             burst,
         guint             count)
{
  g_autoptr (GError) error = NULL;
  gint64 wait = -1;

  g_assert_true (take_tokens (store, bucket, rate, burst, count, &wait, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait, >=, 0);
  return wait;
}

/* The key's remaining time to live on the server, in ms (-1: none, -2:
 * no key). */
static long long
pttl (const char *key)
{
  g_autoptr (redisReply) reply = redis_test_server_command (server, "PTTL %s", key);

  g_assert_cmpint (reply->type, ==, REDIS_REPLY_INTEGER);
  return reply->integer;
}

static void
test_get_set (Fixture      *f,
              gconstpointer user_data)
{
  static const char binary[] = { 'x', '\0', 'y', '\n' };
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GBytes) bytes = g_bytes_new_static (binary, sizeof binary);
  g_autoptr (GBytes) back = NULL;
  g_autoptr (GError) error = NULL;

  assert_value (f->store, "missing", NULL);

  set (f->store, "k", "v1", 0);
  assert_value (f->store, "k", "v1");
  assert_value (f->other, "k", "v1");
  g_assert_cmpint (pttl (PREFIX "state:k"), ==, -1);

  set (f->other, "k", "second", 0);
  assert_value (f->store, "k", "second");

  sluice_state_store_set_async (f->store, "bin", bytes, 0, NULL, redis_test_store_result, &result);
  g_assert_true (sluice_state_store_set_finish (f->store, redis_test_wait_result (&result),
                                                &error));
  g_assert_no_error (error);
  back = get (f->store, "bin");
  g_assert_true (g_bytes_equal (back, bytes));

  g_assert_true (delete (f->store, "k"));
  g_assert_false (delete (f->store, "k"));
  assert_value (f->store, "k", NULL);
}

static void
test_ttl (Fixture      *f,
          gconstpointer user_data)
{
  long long left;

  set (f->store, "short", "v", 150 * MS);
  assert_value (f->store, "short", "v");
  left = pttl (PREFIX "state:short");
  g_assert_cmpint (left, >, 0);
  g_assert_cmpint (left, <=, 150);

  /* Sub-millisecond TTLs round up, never to "forever". */
  set (f->store, "tiny", "v", 10);
  g_assert_cmpint (pttl (PREFIX "state:tiny"), !=, -1);

  redis_test_spin (250);
  assert_value (f->store, "short", NULL);
  assert_value (f->store, "tiny", NULL);
}

static void
test_add_if_absent (Fixture      *f,
                    gconstpointer user_data)
{
  g_assert_true (add_if_absent (f->store, "seen:1", "first", 0));
  g_assert_false (add_if_absent (f->store, "seen:1", "second", 0));
  g_assert_false (add_if_absent (f->other, "seen:1", "third", 0));
  assert_value (f->store, "seen:1", "first");

  g_assert_true (add_if_absent (f->store, "seen:2", "a", 150 * MS));
  g_assert_false (add_if_absent (f->other, "seen:2", "b", 150 * MS));
  redis_test_spin (250);
  g_assert_true (add_if_absent (f->other, "seen:2", "c", 150 * MS));
  assert_value (f->store, "seen:2", "c");
}

typedef struct
{
  guint added;
  guint answered;
} Race;

static void
raced (GObject      *source,
       GAsyncResult *result,
       gpointer      user_data)
{
  Race *race = user_data;
  g_autoptr (GError) error = NULL;
  gboolean added = FALSE;

  g_assert_true (sluice_state_store_add_if_absent_finish (SLUICE_STATE_STORE (source), result,
                                                          &added, &error));
  g_assert_no_error (error);
  race->added += added ? 1 : 0;
  race->answered++;
}

static void
test_add_if_absent_race (Fixture      *f,
                         gconstpointer user_data)
{
  const guint      keys = 50;
  g_autofree Race *races = g_new0 (Race, keys);
  g_autoptr (GBytes) value = g_bytes_new_static ("v", 1);
  gboolean all = FALSE;

  /* Both connections ask for every key at the same time: exactly one
   * write wins each. */
  for (guint i = 0; i < keys; i++)
    {
      g_autofree char *key = g_strdup_printf ("idem:%u", i);

      sluice_state_store_add_if_absent_async (f->store, key, value, 0, NULL, raced, &races[i]);
      sluice_state_store_add_if_absent_async (f->other, key, value, 0, NULL, raced, &races[i]);
    }
  while (!all)
    {
      g_main_context_iteration (NULL, TRUE);
      all = TRUE;
      for (guint i = 0; i < keys; i++)
        all = all && races[i].answered == 2;
    }
  for (guint i = 0; i < keys; i++)
    g_assert_cmpuint (races[i].added, ==, 1);
}

static void
test_lock (Fixture      *f,
           gconstpointer user_data)
{
  long long left;

  g_assert_true (lock (f->store, "tick", "host-a", 200 * MS));
  g_assert_false (lock (f->other, "tick", "host-b", 200 * MS));

  /* The holder extends its lease. */
  redis_test_spin (100);
  g_assert_true (lock (f->store, "tick", "host-a", 200 * MS));
  left = pttl (PREFIX "state:lock:tick");
  g_assert_cmpint (left, >, 150);

  /* Only the holder can release it. */
  unlock (f->other, "tick", "host-b");
  g_assert_false (lock (f->other, "tick", "host-b", 200 * MS));

  /* A holder that vanishes loses it when the lease runs out. */
  redis_test_spin (250);
  g_assert_true (lock (f->other, "tick", "host-b", 200 * MS));
  g_assert_false (lock (f->store, "tick", "host-a", 200 * MS));

  unlock (f->store, "tick", "host-a");
  g_assert_false (lock (f->store, "tick", "host-a", 200 * MS));
  unlock (f->other, "tick", "host-b");
  g_assert_true (lock (f->store, "tick", "host-a", 200 * MS));

  /* Locks and keys do not clash. */
  assert_value (f->store, "tick", NULL);
}

static void
test_counter (Fixture      *f,
              gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gint64       value = 0;
  const gint64 big = G_GINT64_CONSTANT (4611686018427387903); /* 2^62 - 1: beyond a double */

  g_assert_cmpint (increment_ok (f->store, "n", 5, 0), ==, 5);
  g_assert_cmpint (increment_ok (f->other, "n", -7, 0), ==, -2);
  g_assert_cmpint (pttl (PREFIX "state:n"), ==, -1);

  g_assert_cmpint (increment_ok (f->store, "big", big, 0), ==, big);
  g_assert_cmpint (increment_ok (f->store, "big", big, 0), ==, 2 * big);

  g_assert_false (increment (f->store, "big", big, 0, &value, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
  g_assert_nonnull (strstr (error->message, "counter 'big' would overflow"));
  g_clear_error (&error);

  set (f->store, "text", "hello", 0);
  g_assert_false (increment (f->store, "text", 1, 0, &value, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
  g_assert_nonnull (strstr (error->message, "key 'text' does not hold a counter"));
  g_clear_error (&error);

  /* The TTL is set when the counter is created, not on every change. */
  g_assert_cmpint (increment_ok (f->store, "window", 1, 300 * MS), ==, 1);
  redis_test_spin (150);
  g_assert_cmpint (increment_ok (f->other, "window", 1, 300 * MS), ==, 2);
  g_assert_cmpint (pttl (PREFIX "state:window"), <=, 160);
  redis_test_spin (200);
  g_assert_cmpint (increment_ok (f->store, "window", 1, 300 * MS), ==, 1);
}

static void
test_token_bucket (Fixture      *f,
                   gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gint64 wait = 0;
  gint64 started;
  gint64 elapsed;
  guint  taken = 0;

  /* A new bucket is full. */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (take_ok (f->store, "api", 10.0, 3, 1), ==, 0);

  /* Shared: the other host finds it empty too, and how long to wait. */
  wait = take_ok (f->other, "api", 10.0, 3, 1);
  g_assert_cmpint (wait, >, 0);
  g_assert_cmpint (wait, <=, 100 * MS);

  redis_test_spin ((guint) (wait / 1000) + 5);
  g_assert_cmpint (take_ok (f->other, "api", 10.0, 3, 1), ==, 0);

  /* A whole burst at once, from empty: wait for all of it. */
  g_assert_true (take_tokens (f->store, "api", 10.0, 3, 3, &wait, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wait, >, 200 * MS);
  g_assert_cmpint (wait, <=, 300 * MS);

  /* The rate holds: 20 tokens at 50/s with a burst of 1 take ~380 ms. */
  started = g_get_monotonic_time ();
  while (taken < 20)
    {
      wait = take_ok (taken % 2 == 0 ? f->store : f->other, "rate", 50.0, 1, 1);
      if (wait == 0)
        taken++;
      else
        redis_test_spin ((guint) ((wait + 999) / 1000));
    }
  elapsed = g_get_monotonic_time () - started;
  g_test_message ("20 tokens at 50/s took %" G_GINT64_FORMAT " ms", elapsed / 1000);
  g_assert_cmpint (elapsed, >=, 360 * MS);
  g_assert_cmpint (elapsed, <=, 2000 * MS);

  /* Idle buckets do not linger: the key expires once it would be full. */
  g_assert_cmpint (pttl (PREFIX "state:bucket:rate"), >, 0);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The redis state store against a real redis-server: keys with TTLs, "
                  "add-if-absent across connections, leased locks, counters, token buckets");

  server = redis_test_server_start (NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/redis/state/get-set-delete", test_get_set);
  ADD ("/redis/state/ttl-expires", test_ttl);
  ADD ("/redis/state/add-if-absent", test_add_if_absent);
  ADD ("/redis/state/add-if-absent/one-winner", test_add_if_absent_race);
  ADD ("/redis/state/lock/contention-and-lease", test_lock);
  ADD ("/redis/state/counter", test_counter);
  ADD ("/redis/state/token-bucket", test_token_bucket);
#undef ADD

  ret = g_test_run ();
  redis_test_server_free (server);
  return ret;
}
