/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How fast the redis batch store moves records, without the engine:
 *
 *   redis-throughput [--records N] [--url URL] [--in-flight K]
 *
 * adds N records of about 200 bytes in calls of 500, then claims and
 * settles them in chunks of 500, with at most K calls in flight, and
 * prints records/s for each phase and end to end. Without --url it starts
 * its own redis-server. It also measures that server's LPUSH rate with
 * redis-benchmark (pipelined) when that tool is installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "redis-test-util.h"

#define CHUNK 500
#define BATCH_ID "throughput"
#define LEASE_USEC (300 * G_USEC_PER_SEC)

/* ~200 bytes, like an order record. */
#define BODY_FORMAT                                                      \
  "{\"order\": %08u, \"customer\": \"C-0042-7731\", "                    \
  "\"items\": [{\"sku\": \"SKU-11873\", \"qty\": 2, \"price\": 19.90}, " \
  "{\"sku\": \"SKU-20931\", \"qty\": 1, \"price\": 5.25}], "             \
  "\"currency\": \"EUR\", \"note\": \"deliver after 6pm\"}"

typedef struct
{
  SluiceBatchStore *store;
  gboolean          split; /* claim everything, then settle everything */
  GPtrArray        *held;  /* split: outcome arrays to settle later */
  guint             records;
  guint             max_in_flight;
  guint             in_flight;
  guint             added;   /* records sent to add */
  guint             settled; /* records whose settle came back */
  gboolean          drained; /* a claim came back empty */
  gboolean          done;
} Run;

static void
fail (const char *what,
      GError     *error)
{
  g_printerr ("redis-throughput: %s: %s\n", what, error->message);
  exit (1);
}

/* Ingest */

static void add_more (Run *run);

static void
added (GObject      *source,
       GAsyncResult *result,
       gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;

  if (!sluice_batch_store_add_finish (run->store, result, &error))
    fail ("add", error);
  run->in_flight--;
  add_more (run);
  if (run->in_flight == 0 && run->added == run->records)
    run->done = TRUE;
}

static void
add_more (Run *run)
{
  while (run->in_flight < run->max_in_flight && run->added < run->records)
    {
      guint count = MIN (CHUNK, run->records - run->added);
      g_autoptr (GPtrArray) records = g_ptr_array_new_full (count, g_object_unref);

      for (guint i = 0; i < count; i++)
        {
          char *body = g_strdup_printf (BODY_FORMAT, run->added + i);

          g_ptr_array_add (records, sluice_message_new_take_string (body, "application/json"));
        }
      run->added += count;
      run->in_flight++;
      sluice_batch_store_add_async (run->store, BATCH_ID, records, NULL, added, run);
    }
}

/* Processing */

static void claim_more (Run *run);
static void settle_held (Run *run);

static void
settled (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;

  if (!sluice_batch_store_settle_finish (run->store, result, &error))
    fail ("settle", error);
  run->in_flight--;
  if (run->split)
    settle_held (run);
  else
    claim_more (run);
  if (run->in_flight == 0 && run->drained && (run->held == NULL || run->held->len == 0))
    run->done = TRUE;
}

static void
claimed (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) records = sluice_batch_store_claim_finish (run->store, result, &error);
  g_autoptr (GPtrArray) outcomes = NULL;

  if (records == NULL)
    fail ("claim", error);
  run->in_flight--;

  if (records->len == 0)
    {
      run->drained = TRUE;
      if (run->in_flight == 0)
        run->done = TRUE;
      return;
    }

  outcomes = g_ptr_array_new_full (records->len, (GDestroyNotify) sluice_record_outcome_free);
  for (guint i = 0; i < records->len; i++)
    {
      SluiceMessage *record = g_ptr_array_index (records, i);

      g_ptr_array_add (outcomes,
                       sluice_record_outcome_new (sluice_message_get_id (record), TRUE, NULL));
    }
  run->settled += records->len;
  if (run->split)
    {
      g_ptr_array_add (run->held, g_steal_pointer (&outcomes));
      claim_more (run);
      return;
    }
  run->in_flight++;
  sluice_batch_store_settle_async (run->store, BATCH_ID, "bench", outcomes, NULL, settled, run);
  claim_more (run);
}

static void
settle_held (Run *run)
{
  while (run->in_flight < run->max_in_flight && run->held->len > 0)
    {
      GPtrArray *outcomes = g_ptr_array_steal_index (run->held, run->held->len - 1);

      run->in_flight++;
      sluice_batch_store_settle_async (run->store, BATCH_ID, "bench", outcomes, NULL,
                                       settled, run);
      g_ptr_array_unref (outcomes);
    }
}

static void
claim_more (Run *run)
{
  /* One slot stays free for the settle each claim brings. */
  while (!run->drained && run->in_flight + (run->split ? 0 : 1) < run->max_in_flight)
    {
      run->in_flight++;
      sluice_batch_store_claim_async (run->store, BATCH_ID, "bench", CHUNK, LEASE_USEC, NULL,
                                      claimed, run);
    }
}

static void
run_loop (Run *run)
{
  while (!run->done)
    g_main_context_iteration (NULL, TRUE);
  run->done = FALSE;
}

/* This process's CPU time so far, in seconds. */
static double
own_cpu (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static redisReply *
server_command (const char *url,
                const char *command)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  struct timeval timeout = { 2, 0 };
  redisContext  *ctx;
  redisReply    *reply;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return NULL;
  ctx = redisConnectWithTimeout (g_uri_get_host (uri),
                                 g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 6379, timeout);
  if (ctx == NULL || ctx->err != 0)
    {
      if (ctx != NULL)
        redisFree (ctx);
      return NULL;
    }
  reply = redisCommand (ctx, command);
  redisFree (ctx);
  return reply;
}

/* Server time spent in scripts since the last call, in seconds. */
static double
script_time (const char *url)
{
  redisReply *reply = server_command (url, "INFO commandstats");
  double      usec = 0;

  if (reply != NULL && reply->type == REDIS_REPLY_STRING)
    {
      static const char *const commands[] = { "cmdstat_eval:", "cmdstat_evalsha:" };

      for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
        {
          const char *line = strstr (reply->str, commands[i]);
          const char *field = line != NULL ? strstr (line, "usec=") : NULL;

          if (field != NULL)
            usec += g_ascii_strtod (field + strlen ("usec="), NULL);
        }
    }
  if (reply != NULL)
    freeReplyObject (reply);
  reply = server_command (url, "CONFIG RESETSTAT");
  if (reply != NULL)
    freeReplyObject (reply);
  return usec / 1e6;
}

/* The Redis server's main thread CPU time so far, in seconds (blocking,
 * outside the timed phases); -1 when it cannot be read. */
static double
server_cpu (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  struct timeval timeout = { 2, 0 };
  redisContext  *ctx;
  redisReply    *reply;
  double         cpu = -1;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return -1;
  ctx = redisConnectWithTimeout (g_uri_get_host (uri),
                                 g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 6379, timeout);
  if (ctx == NULL || ctx->err != 0)
    {
      if (ctx != NULL)
        redisFree (ctx);
      return -1;
    }
  reply = redisCommand (ctx, "INFO cpu");
  if (reply != NULL && reply->type == REDIS_REPLY_STRING)
    {
      const char *user = strstr (reply->str, "used_cpu_user_main_thread:");
      const char *sys = strstr (reply->str, "used_cpu_sys_main_thread:");

      if (user != NULL && sys != NULL)
        cpu = g_ascii_strtod (user + strlen ("used_cpu_user_main_thread:"), NULL) +
              g_ascii_strtod (sys + strlen ("used_cpu_sys_main_thread:"), NULL);
    }
  if (reply != NULL)
    freeReplyObject (reply);
  redisFree (ctx);
  return cpu;
}

static double
lpush_rate (RedisTestServer *server,
            const char      *url)
{
  g_autofree char *benchmark = g_find_program_in_path ("redis-benchmark");
  g_autofree char *out = NULL;
  g_autofree char *port = NULL;
  g_autofree char *host = NULL;
  const char      *rate;
  int              status = 0;

  if (benchmark == NULL)
    return 0;
  if (server != NULL)
    {
      host = g_strdup ("127.0.0.1");
      port = g_strdup_printf ("%u", redis_test_server_get_port (server));
    }
  else
    {
      g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

      if (uri == NULL || g_uri_get_host (uri) == NULL)
        return 0;
      host = g_strdup (g_uri_get_host (uri));
      port = g_strdup_printf ("%d", g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 6379);
    }

  {
    const char *argv[] = { benchmark, "-h", host, "-p", port, "-q", "-P", "64", "-t", "lpush",
                           "-n", "1000000", NULL };

    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                       NULL, &status, NULL) ||
        status != 0)
      return 0;
  }
  /* "LPUSH: 1612903.25 requests per second, p50=..." after progress lines. */
  rate = g_strrstr (out, "LPUSH: ");
  return rate != NULL ? g_ascii_strtod (rate + strlen ("LPUSH: "), NULL) : 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (RedisTestServer) server = NULL;
  g_autoptr (SluiceClock) clock = NULL;
  g_autoptr (SluiceContext) context = NULL;
  g_autoptr (SluiceBatchInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *sample = g_strdup_printf (BODY_FORMAT, 0u);
  const char      *url = NULL;
  guint            records = 200000;
  guint            in_flight = 4;
  gint64           t0, t1, t1b, t2;
  double           cpu0, cpu1, cpu1b, cpu2;
  double           scripts_ingest, scripts_process;
  double           own0, own1, own1b, own2;
  double           ingest, process, total, lpush;
  Run              run = { NULL, FALSE, NULL, 0 };

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--records") && i + 1 < argc)
        records = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
      else if (g_str_equal (argv[i], "--url") && i + 1 < argc)
        url = argv[++i];
      else if (g_str_equal (argv[i], "--split"))
        run.split = TRUE;
      else if (g_str_equal (argv[i], "--in-flight") && i + 1 < argc)
        {
          in_flight = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
          in_flight = MAX (in_flight, 2);
        }
      else
        {
          g_printerr ("usage: %s [--records N] [--url URL] [--in-flight K] [--split]\n", argv[0]);
          return 1;
        }
    }

  if (url == NULL)
    {
      server = redis_test_server_start (NULL);
      url = redis_test_server_get_url (server);
    }

  clock = sluice_clock_new_system ();
  context = sluice_context_new ("redis-throughput", clock, NULL);
  run.store = redis_test_batch_store_new (context, url, "bench:");
  run.held = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  run.records = records;
  run.max_in_flight = in_flight;

  {
    g_autoptr (GAsyncResult) result = NULL;

    /* A leftover from an earlier run on the same server goes first. */
    sluice_batch_store_delete_async (run.store, BATCH_ID, NULL, redis_test_store_result, &result);
    sluice_batch_store_delete_finish (run.store, redis_test_wait_result (&result), NULL);
  }
  if (!redis_test_batch_create (run.store, BATCH_ID, CHUNK, 0,
                                G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, &error))
    fail ("create", error);

  script_time (url);
  cpu0 = server_cpu (url);
  own0 = own_cpu ();
  t0 = g_get_monotonic_time ();
  add_more (&run);
  run_loop (&run);
  t1 = g_get_monotonic_time ();
  own1 = own_cpu ();
  cpu1 = server_cpu (url);
  scripts_ingest = script_time (url);

  if (!redis_test_batch_set_state (run.store, BATCH_ID, SLUICE_BATCH_CLOSED, &error))
    fail ("close", error);
  script_time (url);
  cpu1b = server_cpu (url);
  own1b = own_cpu ();
  t1b = g_get_monotonic_time ();
  claim_more (&run);
  run_loop (&run);
  if (run.split)
    {
      gint64 t_claimed = g_get_monotonic_time ();
      double claim_scripts = script_time (url);

      printf ("split: claims took %.2f s, scripts %.2f us per record\n",
              (t_claimed - t1b) / (double) G_USEC_PER_SEC, claim_scripts * 1e6 / records);
      run.drained = TRUE;
      settle_held (&run);
      run_loop (&run);
    }
  t2 = g_get_monotonic_time ();
  own2 = own_cpu ();
  cpu2 = server_cpu (url);
  scripts_process = script_time (url);

  info = redis_test_batch_get_info (run.store, BATCH_ID, &error);
  if (info == NULL)
    fail ("get info", error);
  if (info->state != SLUICE_BATCH_COMPLETED || info->counts[SLUICE_RECORD_SUCCEEDED] != records ||
      run.settled != records)
    {
      g_printerr ("redis-throughput: counts are off: state %d, succeeded %" G_GUINT64_FORMAT
                  ", settled %u of %u\n",
                  info->state, info->counts[SLUICE_RECORD_SUCCEEDED],
                  run.settled, records);
      return 1;
    }

  /* End to end counts the two timed phases, not the close between them. */
  ingest = records / ((t1 - t0) / (double) G_USEC_PER_SEC);
  process = records / ((t2 - t1b) / (double) G_USEC_PER_SEC);
  total = records / ((t1 - t0 + t2 - t1b) / (double) G_USEC_PER_SEC);
  printf ("records=%u record_bytes=%zu chunk=%d in_flight=%u\n", records,
          strlen (sample), CHUNK, in_flight);
  printf ("ingest: %.0f records/s (%.2f s)\n", ingest, (t1 - t0) / (double) G_USEC_PER_SEC);
  printf ("claim+settle: %.0f records/s (%.2f s)\n", process,
          (t2 - t1b) / (double) G_USEC_PER_SEC);
  printf ("end to end: %.0f records/s (%.2f s)\n", total,
          (t1 - t0 + t2 - t1b) / (double) G_USEC_PER_SEC);
  printf ("client cpu per record: ingest %.2f us, claim+settle %.2f us (this program, "
          "making and dropping the messages included)\n",
          (own1 - own0) * 1e6 / records, (own2 - own1b) * 1e6 / records);
  if (cpu0 >= 0 && cpu1 >= 0 && cpu1b >= 0 && cpu2 >= 0)
    printf ("redis cpu per record: ingest %.2f us (scripts %.2f), claim+settle %.2f us "
            "(scripts %.2f)\n",
            (cpu1 - cpu0) * 1e6 / records, scripts_ingest * 1e6 / records,
            (cpu2 - cpu1b) * 1e6 / records, scripts_process * 1e6 / records);

  g_clear_object (&run.store);
  g_ptr_array_unref (run.held);
  lpush = lpush_rate (server, url);
  if (lpush > 0)
    printf ("redis LPUSH (redis-benchmark -P 64): %.0f ops/s; ratio=%.3f\n", lpush, total / lpush);
  return 0;
}
