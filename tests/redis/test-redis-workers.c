/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <string.h>

#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "redis-test-util.h"

#define PREFIX "wk:"
#define HOUR_USEC (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
#define LONG_LEASE (60 * G_USEC_PER_SEC)

static RedisTestServer *server;

typedef struct
{
  SluiceClock   *clock;
  SluiceContext *context;
} Fixture;

static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  g_autoptr (redisReply) reply = redis_test_server_command (server, "FLUSHALL");

  f->clock = sluice_clock_new_system ();
  f->context = sluice_context_new ("test/redis-workers", f->clock, NULL);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  g_clear_object (&f->context);
  g_clear_object (&f->clock);
}

static SluiceBatchStore *
new_store (Fixture *f)
{
  return redis_test_batch_store_new (f->context, redis_test_server_get_url (server), PREFIX);
}

static void
make_batch (SluiceBatchStore *store,
            const char       *id,
            guint             n,
            gboolean          close)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (redis_test_batch_create (store, id, 500, 0, HOUR_USEC, &error));
  g_assert_no_error (error);
  redis_test_batch_add_numbered (store, id, "w", 0, n, 500);
  if (close)
    {
      g_assert_true (redis_test_batch_set_state (store, id, SLUICE_BATCH_CLOSED, &error));
      g_assert_no_error (error);
    }
}

/* Asserts that two workers' ids are disjoint and together exactly 1..n. */
static void
assert_partition (GPtrArray *a,
                  GPtrArray *b,
                  guint      n)
{
  g_autofree guint8 *owner = g_new0 (guint8, n + 1);
  GPtrArray         *workers[2] = { a, b };

  for (guint w = 0; w < 2; w++)
    for (guint i = 0; i < workers[w]->len; i++)
      {
        const char *id = g_ptr_array_index (workers[w], i);
        guint64     number = 0;

        g_assert_true (g_ascii_string_to_unsigned (id, 10, 1, n, &number, NULL));
        if (owner[number] != 0)
          g_test_message ("record %s went to worker %u and worker %u", id, owner[number], w + 1);
        g_assert_cmpuint (owner[number], ==, 0);
        owner[number] = (guint8) (w + 1);
      }
  g_assert_cmpuint (a->len + b->len, ==, n);
  g_test_message ("worker 1: %u records, worker 2: %u records", a->len, b->len);
}

/* Two workers in one process, each on its own connection, two claims in
 * flight each. */
typedef struct
{
  SluiceBatchStore *store;
  const char       *worker;
  GPtrArray        *ids;
  guint             in_flight;
  gboolean          empty;
  gboolean          done;
} Worker;

static void worker_claim (Worker *worker);

static void
worker_settled (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Worker *worker = user_data;
  g_autoptr (GError) error = NULL;

  g_assert_true (sluice_batch_store_settle_finish (worker->store, result, &error));
  g_assert_no_error (error);
  if (--worker->in_flight == 0 && worker->empty)
    worker->done = TRUE;
}

static void
worker_claimed (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Worker *worker = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) records = sluice_batch_store_claim_finish (worker->store, result, &error);
  g_autoptr (GPtrArray) outcomes = NULL;

  g_assert_no_error (error);
  worker->in_flight--;
  if (records->len == 0)
    {
      worker->empty = TRUE;
      worker->done = worker->in_flight == 0;
      return;
    }

  outcomes = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_record_outcome_free);
  for (guint i = 0; i < records->len; i++)
    {
      const char *id = sluice_message_get_id (g_ptr_array_index (records, i));

      g_assert_cmpuint (sluice_message_get_attempt (g_ptr_array_index (records, i)), ==, 1);
      g_ptr_array_add (outcomes, sluice_record_outcome_new (id, TRUE, NULL));
      g_ptr_array_add (worker->ids, g_strdup (id));
    }
  worker->in_flight++;
  sluice_batch_store_settle_async (worker->store, "shared", worker->worker, outcomes, NULL,
                                   worker_settled, worker);
  worker_claim (worker);
}

static void
worker_claim (Worker *worker)
{
  if (worker->empty)
    return;
  worker->in_flight++;
  sluice_batch_store_claim_async (worker->store, "shared", worker->worker, 500, LONG_LEASE, NULL,
                                  worker_claimed, worker);
}

static void
test_two_stores (Fixture      *f,
                 gconstpointer user_data)
{
  const guint n = 20000;
  g_autoptr (SluiceBatchStore) setup = new_store (f);
  Worker workers[2] = {
    { new_store (f), "host-1", g_ptr_array_new_with_free_func (g_free), 0, FALSE, FALSE },
    { new_store (f), "host-2", g_ptr_array_new_with_free_func (g_free), 0, FALSE, FALSE },
  };

  make_batch (setup, "shared", n, TRUE);

  for (guint w = 0; w < 2; w++)
    {
      worker_claim (&workers[w]);
      worker_claim (&workers[w]);
    }
  while (!workers[0].done || !workers[1].done)
    g_main_context_iteration (NULL, TRUE);

  assert_partition (workers[0].ids, workers[1].ids, n);
  g_assert_cmpuint (workers[0].ids->len, >, 0);
  g_assert_cmpuint (workers[1].ids->len, >, 0);
  redis_test_assert_counts (setup, "shared", SLUICE_BATCH_COMPLETED, 0, 0, n, 0);

  for (guint w = 0; w < 2; w++)
    {
      g_object_unref (workers[w].store);
      g_ptr_array_unref (workers[w].ids);
    }
}

static GSubprocess *
spawn_worker (GSubprocessFlags flags,
              const char      *mode,
              const char      *batch,
              const char      *worker,
              guint            chunk,
              guint            lease_ms)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *chunk_text = g_strdup_printf ("%u", chunk);
  g_autofree char *lease_text = g_strdup_printf ("%u", lease_ms);
  GSubprocess     *process;

  process = g_subprocess_new (flags, &error, REDIS_TEST_WORKER, mode,
                              redis_test_server_get_url (server), PREFIX, batch, worker,
                              chunk_text, lease_text, NULL);
  g_assert_no_error (error);
  return process;
}

typedef struct
{
  char    *output;
  gboolean done;
} Output;

static void
communicated (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Output *output = user_data;
  g_autoptr (GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &output->output, NULL,
                                        &error);
  g_assert_no_error (error);
  output->done = TRUE;
}

static GPtrArray *
lines (const char *text)
{
  g_auto (GStrv) split = g_strsplit (text, "\n", -1);
  GPtrArray *result = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; split[i] != NULL; i++)
    if (split[i][0] != '\0')
      g_ptr_array_add (result, g_strdup (split[i]));
  return result;
}

static void
test_two_processes (Fixture      *f,
                    gconstpointer user_data)
{
  const guint n = 20000;
  g_autoptr (SluiceBatchStore) store = new_store (f);
  g_autoptr (GSubprocess) one = NULL;
  g_autoptr (GSubprocess) two = NULL;
  g_autoptr (GPtrArray) ids_one = NULL;
  g_autoptr (GPtrArray) ids_two = NULL;
  g_autoptr (GError) error = NULL;
  Output out_one = { NULL, FALSE };
  Output out_two = { NULL, FALSE };

  make_batch (store, "procs", n, TRUE);

  one = spawn_worker (G_SUBPROCESS_FLAGS_STDOUT_PIPE, "drain", "procs", "proc-1", 250, 60000);
  two = spawn_worker (G_SUBPROCESS_FLAGS_STDOUT_PIPE, "drain", "procs", "proc-2", 250, 60000);
  g_subprocess_communicate_utf8_async (one, NULL, NULL, communicated, &out_one);
  g_subprocess_communicate_utf8_async (two, NULL, NULL, communicated, &out_two);
  redis_test_wait_flag (&out_one.done, 120000);
  redis_test_wait_flag (&out_two.done, 120000);

  g_assert_true (g_subprocess_wait_check (one, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (two, NULL, &error));
  g_assert_no_error (error);

  ids_one = lines (out_one.output);
  ids_two = lines (out_two.output);
  assert_partition (ids_one, ids_two, n);
  redis_test_assert_counts (store, "procs", SLUICE_BATCH_COMPLETED, 0, 0, n, 0);

  g_free (out_one.output);
  g_free (out_two.output);
}

static void
test_sigkill_reclaim (Fixture      *f,
                      gconstpointer user_data)
{
  const guint n = 1000;
  const guint lease_ms = 500;
  g_autoptr (SluiceBatchStore) store = new_store (f);
  g_autoptr (GSubprocess) holder = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GHashTable) held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) rest = NULL;
  g_autoptr (GPtrArray) reclaimed = NULL;
  g_autoptr (GPtrArray) nothing = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  g_auto (GStrv) words = NULL;
  gint64 claimed_at;

  make_batch (store, "killed", n, TRUE);

  holder = spawn_worker (G_SUBPROCESS_FLAGS_STDOUT_PIPE, "hold", "killed", "doomed", 100,
                         lease_ms);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (holder));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  claimed_at = g_get_monotonic_time ();
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "claimed "));
  words = g_strsplit (line + strlen ("claimed "), " ", -1);
  for (guint i = 0; words[i] != NULL; i++)
    g_hash_table_add (held, g_strdup (words[i]));
  g_assert_cmpuint (g_hash_table_size (held), ==, 100);

  /* The worker dies with its chunk. */
  g_subprocess_send_signal (holder, SIGKILL);
  g_assert_false (g_subprocess_wait_check (holder, NULL, NULL));
  redis_test_assert_counts (store, "killed", SLUICE_BATCH_CLOSED, n - 100, 100, 0, 0);

  /* While its lease runs, the others can take everything but its records. */
  rest = redis_test_batch_claim (store, "killed", "survivor", n, LONG_LEASE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rest->len, ==, n - 100);
  for (guint i = 0; i < rest->len; i++)
    g_assert_false (g_hash_table_contains (held,
                                           sluice_message_get_id (g_ptr_array_index (rest, i))));
  g_assert_true (redis_test_batch_settle_all (store, "killed", "survivor", rest, NULL, NULL,
                                              &error));
  g_assert_no_error (error);

  nothing = redis_test_batch_claim (store, "killed", "survivor", n, LONG_LEASE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nothing->len, ==, 0);

  /* After the lease, the dead worker's records come back, claimed twice. */
  {
    gint64 left = claimed_at + (lease_ms + 100) * 1000 - g_get_monotonic_time ();

    redis_test_spin ((guint) (MAX (left, 0) / 1000));
  }
  reclaimed = redis_test_batch_claim (store, "killed", "survivor", n, LONG_LEASE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (reclaimed->len, ==, 100);
  for (guint i = 0; i < reclaimed->len; i++)
    {
      SluiceMessage *message = g_ptr_array_index (reclaimed, i);

      g_assert_true (g_hash_table_contains (held, sluice_message_get_id (message)));
      g_assert_cmpuint (sluice_message_get_attempt (message), ==, 2);
    }
  g_assert_true (redis_test_batch_settle_all (store, "killed", "survivor", reclaimed, NULL, NULL,
                                              &error));
  g_assert_no_error (error);

  redis_test_assert_counts (store, "killed", SLUICE_BATCH_COMPLETED, 0, 0, n, 0);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Several workers on one redis batch: two connections, two processes, and a "
                  "worker killed with SIGKILL; no record is lost or counted twice");

  server = redis_test_server_start (NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/redis/workers/two-connections/disjoint-claims", test_two_stores);
  ADD ("/redis/workers/two-processes/exact-counts", test_two_processes);
  ADD ("/redis/workers/sigkill/lease-reclaimed", test_sigkill_reclaim);
#undef ADD

  ret = g_test_run ();
  redis_test_server_free (server);
  return ret;
}
