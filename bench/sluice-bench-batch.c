/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The batch path end to end on one host: N generated JSON-lines records
 * (~200 bytes each) are split, handed to a batch in the Redis store, then
 * claimed in chunks and run through a no-op step. Prints records/s for the
 * ingest, the processing and the whole, and the peak RSS. bench/batch wraps
 * it with Redis's own figure for the ratio. */
#include <stdio.h>
#include <string.h>

#include <sluice/sluice.h>

#include "sluice-batch-manager.h"
#include "sluice-bench-noop.h"
#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "sluice-workflow.h"

/* ---- Records, made as they are read ---- */

#define BENCH_TYPE_RECORD_STREAM (bench_record_stream_get_type ())
G_DECLARE_FINAL_TYPE (BenchRecordStream, bench_record_stream, BENCH, RECORD_STREAM, GInputStream)

struct _BenchRecordStream
{
  GInputStream parent_instance;
  guint64      total;
  guint64      next;
  char         line[512];
  gsize        line_length;
  gsize        line_offset;
};

G_DEFINE_FINAL_TYPE (BenchRecordStream, bench_record_stream, G_TYPE_INPUT_STREAM)

static gssize
bench_record_stream_read (GInputStream *stream, void *buffer, gsize count,
                          GCancellable *cancellable, GError **error)
{
  BenchRecordStream *self = BENCH_RECORD_STREAM (stream);
  gsize done = 0;

  while (done < count)
    {
      gsize chunk;

      if (self->line_offset == self->line_length)
        {
          if (self->next == self->total)
            break;
          self->next++;
          /* ~200 bytes: an order with a few fields and some padding text */
          self->line_length = g_snprintf (
            self->line, sizeof self->line,
            "{\"id\":%" G_GUINT64_FORMAT ",\"customer\":\"customer-%" G_GUINT64_FORMAT "\","
            "\"status\":\"paid\",\"total\":%" G_GUINT64_FORMAT ".%02u,\"currency\":\"EUR\","
            "\"note\":\"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
            "incididunt ut labore\"}\n",
            self->next, self->next % 9973, self->next % 1000, (guint) (self->next % 100));
          self->line_offset = 0;
        }
      chunk = MIN (count - done, self->line_length - self->line_offset);
      memcpy ((char *) buffer + done, self->line + self->line_offset, chunk);
      self->line_offset += chunk;
      done += chunk;
    }
  return done;
}

static gboolean
bench_record_stream_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

static void
bench_record_stream_class_init (BenchRecordStreamClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = bench_record_stream_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = bench_record_stream_close;
}

static void
bench_record_stream_init (BenchRecordStream *self)
{
}


/* ---- Measuring ---- */

typedef struct {
  char   *ingest_run;
  gint64  ingest_done;
  char   *batch_id;
  gint64  batch_done;
  SluiceBatchInfo *final;
  gboolean failed;
} Progress;

static void
on_run_finished (SluiceEngine *engine, const char *workflow, const char *run_id, guint outcome,
                 const char *error, SluiceMessage *message, gpointer user_data)
{
  Progress *progress = user_data;

  if (progress->ingest_run != NULL && g_str_equal (run_id, progress->ingest_run))
    {
      progress->ingest_done = g_get_monotonic_time ();
      if (outcome != SLUICE_EVENT_ACKED)
        {
          g_printerr ("ingest failed: %s\n", error);
          progress->failed = TRUE;
        }
    }
}

static void
on_batch_finished (SluiceBatchManager *manager, const char *id, SluiceBatchInfo *info,
                   gpointer user_data)
{
  Progress *progress = user_data;

  progress->batch_done = g_get_monotonic_time ();
  progress->batch_id = g_strdup (id);
  progress->final = sluice_batch_info_copy (info);
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

static void
on_stopped (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

int
main (int argc, char **argv)
{
  gint64 records = 100000;
  gint64 chunk = 500;
  gint64 concurrency = 256;
  g_autofree char *redis = NULL;
  GOptionEntry entries[] = {
    { "records", 'n', 0, G_OPTION_ARG_INT64, &records, "Records to ingest and process", "N" },
    { "redis", 0, 0, G_OPTION_ARG_STRING, &redis, "Redis URL (redis:// or unix://)", "URL" },
    { "chunk", 0, 0, G_OPTION_ARG_INT64, &chunk, "Chunk size", "N" },
    { "concurrency", 0, 0, G_OPTION_ARG_INT64, &concurrency, "Workflow concurrency", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("- batch throughput");
  g_autoptr(GError) error = NULL;
  g_autoptr(SluicePluginHost) host = sluice_plugin_host_new ();
  g_auto(GStrv) path = NULL;
  g_autoptr(SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr(SluiceContext) bootstrap = sluice_context_new ("bench", clock, NULL);
  g_autoptr(JsonObject) store_config = json_object_new ();
  g_autoptr(GObject) batch_store = NULL;
  g_autoptr(GObject) state_store = NULL;
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(SluiceEngine) engine = NULL;
  g_autoptr(SluiceBatchManager) manager = NULL;
  g_autoptr(SluiceWorkflow) workflow = NULL;
  g_autoptr(BenchRecordStream) stream = NULL;
  g_autoptr(SluiceMessage) input = NULL;
  g_autoptr(SluiceEvent) event = NULL;
  g_autofree char *prefix = g_strdup_printf ("bench%d:", (int) getpid ());
  g_autofree char *definition = NULL;
  Progress progress = { 0 };
  gint64 started;
  gboolean stopped = FALSE;
  double ingest, processing, total;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || redis == NULL)
    {
      g_printerr ("sluice-bench-batch: %s\n", error != NULL ? error->message : "--redis is required");
      return 2;
    }

  if (!sluice_plugin_host_add_builtin (host, sluice_builtins_get_descriptor (), &error) ||
      !sluice_plugin_host_add_builtin (host, &sluice_bench_descriptor, &error))
    g_error ("%s", error->message);
  path = sluice_plugin_host_build_search_path (NULL, NULL);
  sluice_plugin_host_load_directories (host, (const char * const *) path);
  if (sluice_plugin_host_lookup (host, "redis.batch-store") == NULL)
    {
      g_printerr ("sluice-bench-batch: the redis plugin was not found (set SLUICE_PLUGIN_PATH)\n");
      return 1;
    }

  json_object_set_string_member (store_config, "url", redis);
  json_object_set_string_member (store_config, "prefix", prefix);
  batch_store = sluice_component_factory_create (sluice_plugin_host_lookup (host, "redis.batch-store"),
                                                 bootstrap, store_config, &error);
  if (batch_store == NULL)
    g_error ("%s", error->message);
  state_store = sluice_component_factory_create (sluice_plugin_host_lookup (host, "redis.state-store"),
                                                 bootstrap, store_config, &error);
  if (state_store == NULL)
    g_error ("%s", error->message);

  context = sluice_context_new ("bench", clock, SLUICE_STATE_STORE (state_store));
  engine = sluice_engine_new (context);
  manager = sluice_batch_manager_new (SLUICE_BATCH_STORE (batch_store), engine,
                                      SLUICE_STATE_STORE (state_store), clock, "bench");
  g_signal_connect (engine, "run-finished", G_CALLBACK (on_run_finished), &progress);
  g_signal_connect (manager, "finished", G_CALLBACK (on_batch_finished), &progress);

  definition = g_strdup_printf (
    "{\"name\": \"bench\", \"concurrency\": %" G_GINT64_FORMAT ","
    " \"trigger\": {\"use\": \"core.manual\"},"
    " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
    "             {\"id\": \"load\", \"use\": \"batch\", \"with\": {\"chunk\": %" G_GINT64_FORMAT ","
    "                \"buffer\": 500, \"expire\": \"1h\"}},"
    "             {\"id\": \"work\", \"use\": \"bench.noop\"}]}",
    concurrency, chunk);
  workflow = sluice_workflow_load_data (host, definition, -1, "bench.json", &error);
  if (workflow == NULL || !sluice_engine_add_workflow (engine, workflow, TRUE, &error))
    g_error ("%s", error->message);

  stream = g_object_new (BENCH_TYPE_RECORD_STREAM, NULL);
  stream->total = records;
  input = sluice_message_new_stream (G_INPUT_STREAM (stream), -1, "application/jsonl");
  event = sluice_event_new (input);

  started = g_get_monotonic_time ();
  progress.ingest_run = sluice_engine_inject (engine, "bench", event, &error);
  while (!progress.failed && progress.final == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (progress.failed)
    return 1;

  ingest = records / ((progress.ingest_done - started) / (double) G_USEC_PER_SEC);
  processing = records / ((progress.batch_done - progress.ingest_done) / (double) G_USEC_PER_SEC);
  total = records / ((progress.batch_done - started) / (double) G_USEC_PER_SEC);

  g_print ("records:     %" G_GINT64_FORMAT " of ~200 bytes, chunk %" G_GINT64_FORMAT
           ", concurrency %" G_GINT64_FORMAT ", one host\n", records, chunk, concurrency);
  g_print ("succeeded:   %" G_GUINT64_FORMAT " (failed %" G_GUINT64_FORMAT ")\n",
           progress.final->counts[SLUICE_RECORD_SUCCEEDED],
           progress.final->counts[SLUICE_RECORD_FAILED]);
  g_print ("ingest:      %.0f records/s\n", ingest);
  g_print ("processing:  %.0f records/s\n", processing);
  g_print ("end to end:  %.0f records/s\n", total);
  g_print ("peak RSS:    %.1f MB\n", peak_rss_kb () / 1024.0);

  /* Clean up the store, then shut down in order. */
  sluice_batch_store_delete_async (SLUICE_BATCH_STORE (batch_store), progress.batch_id, NULL, NULL,
                                   NULL);
  sluice_batch_manager_stop_async (manager, NULL, on_stopped, &stopped);
  while (!stopped)
    g_main_context_iteration (NULL, TRUE);
  stopped = FALSE;
  sluice_engine_shutdown_async (engine, G_USEC_PER_SEC, NULL, on_stopped, &stopped);
  while (!stopped)
    g_main_context_iteration (NULL, TRUE);

  if (progress.final->counts[SLUICE_RECORD_SUCCEEDED] != (guint64) records)
    {
      g_printerr ("expected %" G_GINT64_FORMAT " succeeded records\n", records);
      return 1;
    }
  sluice_batch_info_free (progress.final);
  g_free (progress.batch_id);
  g_free (progress.ingest_run);
  return 0;
}
