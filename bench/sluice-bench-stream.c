/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The stream path on one host: N entries shaped like redis.stream.send
 * writes them (a ~200-byte JSON body, content type, id, trace context,
 * two headers) are put in a stream with pipelined XADD, then received by
 * redis.stream.receive, run through a no-op step and acknowledged, until
 * every entry was read and the group's pending list is empty. Prints
 * entries/s for the fill and the receiving, and the peak RSS. bench/stream
 * wraps it with Redis's own figure for the ratio. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sluice/sluice.h>

#include "sluice-bench-noop.h"
#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "sluice-run-history.h"
#include "sluice-workflow.h"

#define FILL_PIPELINE 1000
#define POLL_MS 10


/* ---- Redis, directly ---- */

static redisContext *
connect_redis (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NON_DNS, NULL);
  redisContext *ctx;

  if (uri == NULL)
    g_error ("'%s' is not a URL", url);
  if (g_str_equal (g_uri_get_scheme (uri), "unix"))
    ctx = redisConnectUnix (g_uri_get_path (uri));
  else
    ctx = redisConnect (g_uri_get_host (uri), g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 6379);
  if (ctx == NULL || ctx->err != 0)
    g_error ("cannot connect to %s: %s", url, ctx != NULL ? ctx->errstr : "out of memory");
  return ctx;
}

static redisReply *
command (redisContext *ctx, const char *format, ...)
{
  redisReply *reply;
  va_list args;

  va_start (args, format);
  reply = redisvCommand (ctx, format, args);
  va_end (args);
  if (reply == NULL)
    g_error ("redis: %s", ctx->errstr);
  if (reply->type == REDIS_REPLY_ERROR)
    g_error ("redis: %s", reply->str);
  return reply;
}

/* Fills @key with @count entries as redis.stream.send would write them;
 * returns the last entry's id. */
static char *
fill (redisContext *ctx, const char *key, gint64 count)
{
  char *last = NULL;

  for (gint64 done = 0; done < count;)
    {
      gint64 n = MIN (FILL_PIPELINE, count - done);

      for (gint64 i = done; i < done + n; i++)
        {
          char body[256];
          char id[48];

          g_snprintf (body, sizeof body,
                      "{\"id\":%" G_GINT64_FORMAT ",\"customer\":\"customer-%" G_GINT64_FORMAT "\","
                      "\"status\":\"paid\",\"total\":%" G_GINT64_FORMAT ".%02u,\"currency\":\"EUR\","
                      "\"note\":\"lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
                      "eiusmod tempor incididunt ut labore\"}",
                      i, i % 9973, i % 1000, (guint) (i % 100));
          g_snprintf (id, sizeof id, "order-%" G_GINT64_FORMAT, i);
          redisAppendCommand (ctx,
                              "XADD %s * body %s content-type application/json id %s "
                              "traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 "
                              "headers %s",
                              key, body, id, "{\"tenant\":\"acme\",\"source\":\"shop\"}");
        }
      for (gint64 i = 0; i < n; i++)
        {
          redisReply *reply = NULL;

          if (redisGetReply (ctx, (void **) &reply) != REDIS_OK || reply == NULL)
            g_error ("redis: %s", ctx->errstr);
          if (reply->type != REDIS_REPLY_STRING)
            g_error ("XADD: unexpected reply");
          if (done + i == count - 1)
            last = g_strdup (reply->str);
          freeReplyObject (reply);
        }
      done += n;
    }
  return last;
}

/* Whether the group read up to @last and holds nothing pending. */
static gboolean
drained (redisContext *ctx, const char *key, const char *group, const char *last)
{
  redisReply *reply = command (ctx, "XINFO GROUPS %s", key);
  gboolean done = FALSE;

  for (size_t g = 0; g < reply->elements; g++)
    {
      redisReply *info = reply->element[g];
      const char *name = NULL, *delivered = NULL;
      long long pending = -1;

      for (size_t i = 0; i + 1 < info->elements; i += 2)
        {
          const char *field = info->element[i]->str;
          redisReply *value = info->element[i + 1];

          if (g_str_equal (field, "name"))
            name = value->str;
          else if (g_str_equal (field, "pending"))
            pending = value->integer;
          else if (g_str_equal (field, "last-delivered-id"))
            delivered = value->str;
        }
      if (g_strcmp0 (name, group) == 0)
        done = pending == 0 && g_strcmp0 (delivered, last) == 0;
    }
  freeReplyObject (reply);
  return done;
}

/* CPU time the server used so far, in µs (INFO cpu). */
static gint64
redis_cpu_usec (redisContext *ctx)
{
  redisReply *reply = command (ctx, "INFO cpu");
  double total = 0;

  for (const char *line = reply->str; line != NULL && *line != '\0';)
    {
      if (g_str_has_prefix (line, "used_cpu_user:") || g_str_has_prefix (line, "used_cpu_sys:"))
        total += g_ascii_strtod (strchr (line, ':') + 1, NULL);
      line = strchr (line, '\n');
      if (line != NULL)
        line++;
    }
  freeReplyObject (reply);
  return (gint64) (total * G_USEC_PER_SEC);
}

/* ---- Measuring ---- */

typedef struct {
  guint64  acked;
  guint64  other;
} Progress;

static void
on_run_finished (SluiceEngine *engine, const char *workflow, const char *run_id, guint outcome,
                 const char *error, SluiceMessage *message, gpointer user_data)
{
  Progress *progress = user_data;

  if (outcome == SLUICE_EVENT_ACKED)
    progress->acked++;
  else
    progress->other++;
}

static guint64
peak_rss_kb (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  return line != NULL ? g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10) : 0;
}

/* CPU time this process used so far, user and system, in µs. */
static gint64
cpu_usec (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * G_USEC_PER_SEC +
         usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

static void
on_stopped (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static gboolean
on_poll (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  gint64 events = 500000;
  gint64 concurrency = 4096;
  gint64 batch = 500;
  g_autofree char *redis = NULL;
  gint64 run_history = 0;
  gboolean on_bus = FALSE;
  gboolean signal_all = FALSE;
  g_autoptr(SluiceRunHistory) history = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  GOptionEntry entries[] = {
    { "events", 'n', 0, G_OPTION_ARG_INT64, &events, "Entries to fill the stream with", "N" },
    { "redis", 0, 0, G_OPTION_ARG_STRING, &redis, "Redis URL (redis:// or unix://)", "URL" },
    { "concurrency", 0, 0, G_OPTION_ARG_INT64, &concurrency, "Workflow concurrency", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT64, &batch, "Entries per read (the receiver's batch)", "N" },
    { "run-history", 0, 0, G_OPTION_ARG_INT64, &run_history,
      "Follow runs as sluiced does for its control API, keeping N finished ones", "N" },
    { "dbus", 0, 0, G_OPTION_ARG_NONE, &on_bus,
      "With --run-history: publish the runs on the session bus", NULL },
    { "signal-all", 0, 0, G_OPTION_ARG_NONE, &signal_all,
      "With --dbus: a Finished signal for every run (\"signals\": \"all\")", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("- stream receive throughput");
  g_autoptr(GError) error = NULL;
  g_autoptr(SluicePluginHost) host = sluice_plugin_host_new ();
  g_auto(GStrv) path = NULL;
  g_autoptr(SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(SluiceEngine) engine = NULL;
  g_autoptr(SluiceWorkflow) workflow = NULL;
  g_autofree char *prefix = g_strdup_printf ("bench%d:", (int) getpid ());
  g_autofree char *key = NULL;
  g_autofree char *last = NULL;
  g_autofree char *definition = NULL;
  redisContext *ctx;
  Progress progress = { 0 };
  gboolean stopped = FALSE, poll_due = FALSE;
  gint64 fill_started, fill_done, started, done, cpu_started, cpu_done;
  gint64 redis_started, redis_done;
  guint poll;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || redis == NULL || events < 1)
    {
      g_printerr ("sluice-bench-stream: %s\n",
                  error != NULL ? error->message : "--redis is required, --events at least 1");
      return 2;
    }

  if (!sluice_plugin_host_add_builtin (host, sluice_builtins_get_descriptor (), &error) ||
      !sluice_plugin_host_add_builtin (host, &sluice_bench_descriptor, &error))
    g_error ("%s", error->message);
  path = sluice_plugin_host_build_search_path (NULL, NULL);
  sluice_plugin_host_load_directories (host, (const char * const *) path);
  if (sluice_plugin_host_lookup (host, "redis.stream.receive") == NULL)
    {
      g_printerr ("sluice-bench-stream: the redis plugin was not found (set SLUICE_PLUGIN_PATH)\n");
      return 1;
    }

  ctx = connect_redis (redis);
  key = g_strconcat (prefix, "bench", NULL);
  fill_started = g_get_monotonic_time ();
  last = fill (ctx, key, events);
  fill_done = g_get_monotonic_time ();

  context = sluice_context_new ("bench", clock, NULL);
  engine = sluice_engine_new (context);
  g_signal_connect (engine, "run-finished", G_CALLBACK (on_run_finished), &progress);
  if (run_history > 0)
    {
      history = sluice_run_history_new (engine, clock, (guint) run_history, G_TIME_SPAN_HOUR,
                                        signal_all);
      if (on_bus)
        {
          bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
          if (bus == NULL || !sluice_run_history_export (history, bus, &error))
            g_error ("session bus: %s", error->message);
        }
    }
  definition = g_strdup_printf (
    "{\"name\": \"bench\", \"concurrency\": %" G_GINT64_FORMAT ","
    " \"trigger\": {\"use\": \"redis.stream.receive\", \"with\": {\"url\": \"%s\","
    "   \"prefix\": \"%s\", \"stream\": \"bench\", \"group\": \"g\", \"batch\": %" G_GINT64_FORMAT
    "}},"
    " \"steps\": [{\"id\": \"work\", \"use\": \"bench.noop\"}]}",
    concurrency, redis, prefix, batch);
  workflow = sluice_workflow_load_data (host, definition, -1, "bench.json", &error);

  redis_started = redis_cpu_usec (ctx);
  started = g_get_monotonic_time ();
  cpu_started = cpu_usec ();
  if (workflow == NULL || !sluice_engine_add_workflow (engine, workflow, TRUE, &error))
    g_error ("%s", error->message);
  poll = g_timeout_add (POLL_MS, on_poll, &poll_due);
  for (;;)
    {
      g_main_context_iteration (NULL, TRUE);
      if (poll_due)
        {
          poll_due = FALSE;
          if (progress.acked + progress.other >= (guint64) events && drained (ctx, key, "g", last))
            break;
        }
    }
  done = g_get_monotonic_time ();
  cpu_done = cpu_usec ();
  redis_done = redis_cpu_usec (ctx);
  g_source_remove (poll);

  g_print ("events:      %" G_GINT64_FORMAT " of ~%d bytes (5 fields), batch %" G_GINT64_FORMAT
           ", concurrency %" G_GINT64_FORMAT ", one host\n",
           events, 200, batch, concurrency);
  g_print ("acked:       %" G_GUINT64_FORMAT " (other outcomes %" G_GUINT64_FORMAT ")\n",
           progress.acked, progress.other);
  g_print ("fill:        %.0f events/s (pipelined XADD)\n",
           events / ((fill_done - fill_started) / (double) G_USEC_PER_SEC));
  g_print ("receive:     %.0f events/s (receive, no-op step, ack)\n",
           events / ((done - started) / (double) G_USEC_PER_SEC));
  g_print ("cpu:         %.2f us per event in this process, %.2f us in redis-server "
           "(user and system, while receiving)\n",
           (cpu_done - cpu_started) / (double) events,
           (redis_done - redis_started) / (double) events);
  g_print ("peak RSS:    %.1f MB\n", peak_rss_kb () / 1024.0);
  g_print ("run history: %s\n", run_history == 0 ? "off"
                                : !on_bus ? "on, not published"
                                : signal_all ? "on, published on D-Bus, a signal per run"
                                             : "on, published on D-Bus");

  sluice_engine_shutdown_async (engine, G_USEC_PER_SEC, NULL, on_stopped, &stopped);
  while (!stopped)
    g_main_context_iteration (NULL, TRUE);
  if (bus != NULL)
    g_dbus_connection_flush_sync (bus, NULL, NULL);
  g_clear_object (&history);
  freeReplyObject (command (ctx, "DEL %s", key));
  redisFree (ctx);

  if (progress.acked != (guint64) events || progress.other != 0)
    {
      g_printerr ("expected %" G_GINT64_FORMAT " acked events\n", events);
      return 1;
    }
  return 0;
}
