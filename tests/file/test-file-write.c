/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <sluice/sluice.h>

#include "file-test-util.h"

/* 2023-11-14T22:13:20Z */
#define CLOCK_START_USEC (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC)
#define LARGE_SIZE (20 * 1024 * 1024)
#define LARGE_CHUNK (64 * 1024)

typedef struct {
  FileTestPlugin *loaded;
  char           *tmpdir;
  char           *out;
  SluiceClock    *clock;
  SluiceContext  *context;
} Fixture;

static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  f->loaded = file_test_plugin_load ();
  f->tmpdir = file_test_make_tmpdir ();
  /* not made here: the step creates it */
  f->out = g_build_filename (f->tmpdir, "out", "nested", NULL);
  f->clock = sluice_clock_new_manual (CLOCK_START_USEC);
  f->context = sluice_context_new ("test/file", f->clock, NULL);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  g_clear_object (&f->context);
  g_clear_object (&f->clock);
  sluice_test_rm_rf (f->tmpdir);
  g_free (f->out);
  g_free (f->tmpdir);
  file_test_plugin_free (f->loaded);
}

static SluiceStep *
make_write (Fixture    *f,
            const char *extra_config)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;
  GObject *step;

  config = g_strdup_printf ("{\"directory\": \"%s\"%s%s}", f->out,
                            extra_config != NULL ? ", " : "",
                            extra_config != NULL ? extra_config : "");
  step = file_test_create (f->loaded, "file.write", f->context, config, &error);
  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_STEP (step));
  return SLUICE_STEP (step);
}

static SluiceMessage *
bytes_message (const char *id,
               const char *body)
{
  SluiceMessage *message = sluice_message_new_take_string (g_strdup (body), "text/plain");

  sluice_message_set_id (message, id);
  return message;
}

static SluiceMessage *
stream_message (const char *id,
                const char *body)
{
  g_autoptr(GInputStream) stream = NULL;
  SluiceMessage *message;

  stream = g_memory_input_stream_new_from_data (g_strdup (body), -1, g_free);
  message = sluice_message_new_stream (stream, (gint64) strlen (body), "text/plain");

  sluice_message_set_id (message, id);
  return message;
}

/* Runs the step on @message; returns what it emitted (one message, which
 * must be @message itself), or NULL with @error set. */
static SluiceMessage *
process (SluiceStep    *step,
         SluiceMessage *message,
         GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) next = NULL;
  g_autoptr(GAsyncResult) end = NULL;
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(SluiceMessage) last = NULL;
  g_autoptr(GError) local_error = NULL;
  SluiceMessage *emitted;

  sluice_step_process_async (step, message, NULL, file_test_store_result, &result);
  iter = sluice_step_process_finish (step, file_test_wait_result (&result), error);
  if (iter == NULL)
    return NULL;

  sluice_message_iter_next_async (iter, NULL, file_test_store_result, &next);
  emitted = sluice_message_iter_next_finish (iter, file_test_wait_result (&next), &local_error);
  g_assert_no_error (local_error);
  g_assert_true (emitted == message);

  sluice_message_iter_next_async (iter, NULL, file_test_store_result, &end);
  last = sluice_message_iter_next_finish (iter, file_test_wait_result (&end), &local_error);
  g_assert_no_error (local_error);
  g_assert_null (last);

  return emitted;
}

static char *
read_file (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
test_write_create (Fixture      *f,
                   gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = make_write (f, NULL);
  g_autoptr(SluiceMessage) message = bytes_message ("msg-1", "hello");
  g_autoptr(SluiceMessage) emitted = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected_path = g_build_filename (f->out, "msg-1", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *listing = NULL;

  emitted = process (step, message, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sluice_message_get_header (emitted, "sluice-file-path"), ==, expected_path);

  contents = read_file (f->out, "msg-1");
  g_assert_cmpstr (contents, ==, "hello");
  listing = file_test_list_dir (f->out);
  g_assert_cmpstr (listing, ==, "msg-1");
}

static void
test_write_create_existing_fails (Fixture      *f,
                                  gconstpointer user_data)
{
  g_autofree char *path = file_test_write (f->out, "msg-1", "already here");
  g_autoptr(SluiceStep) step = make_write (f, "\"mode\": \"create\"");
  g_autoptr(SluiceMessage) message = bytes_message ("msg-1", "newer");
  g_autoptr(SluiceMessage) emitted = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *listing = NULL;

  emitted = process (step, message, &error);
  g_assert_null (emitted);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PERMANENT);
  g_assert_false (sluice_error_is_retryable (error));
  g_assert_nonnull (strstr (error->message, path));

  contents = read_file (f->out, "msg-1");
  g_assert_cmpstr (contents, ==, "already here");
  listing = file_test_list_dir (f->out);
  g_assert_cmpstr (listing, ==, "msg-1");
  g_assert_null (sluice_message_get_header (message, "sluice-file-path"));
}

static void
test_write_replace (Fixture      *f,
                    gconstpointer user_data)
{
  g_autofree char *path = file_test_write (f->out, "report.txt", "old and longer contents");
  g_autoptr(SluiceStep) step = make_write (f, "\"mode\": \"replace\", "
                                              "\"filename\": \"report.txt\"");
  g_autoptr(SluiceMessage) first = bytes_message ("m1", "new");
  g_autoptr(SluiceMessage) second = stream_message ("m2", "newest");
  g_autoptr(SluiceMessage) emitted = NULL;
  g_autoptr(SluiceMessage) emitted2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *contents2 = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *reread = NULL;

  emitted = process (step, first, &error);
  g_assert_no_error (error);
  contents = read_file (f->out, "report.txt");
  g_assert_cmpstr (contents, ==, "new");

  emitted2 = process (step, second, &error);
  g_assert_no_error (error);
  contents2 = read_file (f->out, "report.txt");
  g_assert_cmpstr (contents2, ==, "newest");
  listing = file_test_list_dir (f->out);
  g_assert_cmpstr (listing, ==, "report.txt");

  /* The streamed body was used up by writing; the emitted message reads
   * it back from the file. */
  g_assert_cmpstr (sluice_message_get_header (emitted2, "sluice-file-path"), ==, path);
  g_assert_true (sluice_message_is_streamed (emitted2));
  g_assert_cmpint (sluice_message_get_length (emitted2), ==, strlen ("newest"));
  reread = file_test_read_stream (sluice_message_get_stream (emitted2), NULL);
  g_assert_cmpstr (reread, ==, "newest");
}

static void
test_write_append (Fixture      *f,
                   gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = make_write (f, "\"mode\": \"append\", \"filename\": \"log.txt\"");
  const char *bodies[] = { "a", "b\n", "", "c", "d\n" };
  g_autofree char *contents = NULL;
  g_autofree char *path = g_build_filename (f->out, "log.txt", NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autofree char *id = g_strdup_printf ("m%zu", i);
      g_autoptr(SluiceMessage) message = NULL;
      g_autoptr(SluiceMessage) emitted = NULL;
      g_autoptr(GError) error = NULL;

      /* bytes and streamed bodies alike */
      message = i % 2 == 0 ? bytes_message (id, bodies[i]) : stream_message (id, bodies[i]);
      emitted = process (step, message, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (sluice_message_get_header (emitted, "sluice-file-path"), ==, path);
    }

  contents = read_file (f->out, "log.txt");
  g_assert_cmpstr (contents, ==, "a\nb\n\nc\nd\n");
}

static void
test_write_append_concurrent (Fixture      *f,
                              gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = make_write (f, "\"mode\": \"append\", \"filename\": \"log.txt\"");
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  GAsyncResult *results[24] = { NULL, };
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      g_autofree char *filler = g_strnfill (20000 + i * 1000, (char) ('a' + i % 26));
      char *line = g_strdup_printf ("line %02u %s", i, filler);

      g_ptr_array_add (expected, line);
      g_ptr_array_add (messages, i % 2 == 0 ? bytes_message (id, line) : stream_message (id, line));
    }

  /* All at once: the step's instance serves concurrent runs. */
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    sluice_step_process_async (step, g_ptr_array_index (messages, i), NULL,
                               file_test_store_result, &results[i]);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SluiceMessageIter) iter = NULL;

      iter = sluice_step_process_finish (step, file_test_wait_result (&results[i]), &error);
      g_assert_no_error (error);
      g_assert_nonnull (iter);
      g_clear_object (&results[i]);
    }

  contents = read_file (f->out, "log.txt");
  g_assert_true (g_str_has_suffix (contents, "\n"));
  lines = g_strsplit (contents, "\n", -1);
  /* one line per message, plus what follows the last newline */
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (results) + 1);
  g_assert_cmpstr (lines[G_N_ELEMENTS (results)], ==, "");

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      gboolean known = FALSE;

      for (guint j = 0; j < expected->len; j++)
        known = known || g_str_equal (lines[i], g_ptr_array_index (expected, j));
      g_assert_true (known);
      g_assert_false (g_hash_table_contains (seen, lines[i]));
      g_hash_table_add (seen, lines[i]);
    }
}

static void
test_write_template (Fixture      *f,
                     gconstpointer user_data)
{
  g_autoptr(SluiceStep) step =
    make_write (f, "\"filename\": \"{name}-{date}-{time}-{header:batch}-{record}-{id}.out\"");
  g_autoptr(SluiceMessage) message = bytes_message ("m7", "x");
  g_autoptr(SluiceMessage) emitted = NULL;
  g_autoptr(SluiceMessage) incomplete = bytes_message ("m8", "y");
  g_autoptr(SluiceMessage) none = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;

  sluice_message_set_header (message, "sluice-file-name", "orders.csv");
  sluice_message_set_header (message, "batch", "b42");
  sluice_message_set_header (message, "sluice-record", "17");

  emitted = process (step, message, &error);
  g_assert_no_error (error);
  listing = file_test_list_dir (f->out);
  g_assert_cmpstr (listing, ==, "orders.csv-2023-11-14-221320-b42-17-m7.out");

  /* Without the header a placeholder names, there is no name to write to. */
  sluice_message_set_header (incomplete, "sluice-file-name", "orders.csv");
  sluice_message_set_header (incomplete, "sluice-record", "18");
  none = process (step, incomplete, &error);
  g_assert_null (none);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "'batch'"));
  g_assert_nonnull (strstr (error->message, "{header:batch}"));
}

static void
test_write_template_refused (Fixture      *f,
                             gconstpointer user_data)
{
  const char *bad_templates[] = { "sub/{id}", "../{id}", "{bogus}", "{id", "{header:}", "a}" };
  const char *bad_values[] = { "../escape", "..", ".", ".hidden", "", "a/b" };
  g_autoptr(SluiceStep) step = NULL;
  g_autofree char *listing = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (bad_templates); i++)
    {
      g_autofree char *config = g_strdup_printf ("{\"directory\": \"%s\", \"filename\": \"%s\"}",
                                                 f->out, bad_templates[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(GObject) refused = NULL;

      refused = file_test_create (f->loaded, "file.write", f->context, config, &error);
      g_assert_null (refused);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_nonnull (strstr (error->message, "'filename'"));
    }

  step = make_write (f, "\"filename\": \"{header:where}\"");
  for (gsize i = 0; i < G_N_ELEMENTS (bad_values); i++)
    {
      g_autoptr(SluiceMessage) message = bytes_message ("m", "payload");
      g_autoptr(SluiceMessage) emitted = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *quoted = g_strdup_printf ("'%s'", bad_values[i]);

      sluice_message_set_header (message, "where", bad_values[i]);
      emitted = process (step, message, &error);
      g_assert_null (emitted);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "{header:where}"));
      g_assert_nonnull (strstr (error->message, quoted));
    }

  /* Nothing was written anywhere. */
  listing = file_test_list_dir (f->tmpdir);
  g_assert_cmpstr (listing, ==, "");
}

/* Large streamed bodies */

static guint8
large_byte (gsize offset)
{
  return (guint8) ((offset * 7) ^ (offset >> 16));
}

static void
fill_large (guint8 *buffer,
            gsize   offset,
            gsize   len)
{
  for (gsize i = 0; i < len; i++)
    buffer[i] = large_byte (offset + i);
}

static char *
large_checksum (void)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buffer = g_malloc (LARGE_CHUNK);

  for (gsize offset = 0; offset < LARGE_SIZE; offset += LARGE_CHUNK)
    {
      fill_large (buffer, offset, LARGE_CHUNK);
      g_checksum_update (checksum, buffer, LARGE_CHUNK);
    }
  return g_strdup (g_checksum_get_string (checksum));
}

static char *
stream_checksum (GInputStream *stream,
                 gsize        *out_len)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buffer = g_malloc (LARGE_CHUNK);
  g_autoptr(GError) error = NULL;
  gsize total = 0;

  for (;;)
    {
      gssize n = g_input_stream_read (stream, buffer, LARGE_CHUNK, NULL, &error);

      g_assert_no_error (error);
      if (n == 0)
        break;
      g_checksum_update (checksum, buffer, n);
      total += (gsize) n;
    }
  *out_len = total;
  return g_strdup (g_checksum_get_string (checksum));
}

typedef struct {
  int          fd;
  GAsyncQueue *go_on;
} PipeWriter;

static void
write_all_fd (int           fd,
              const guint8 *data,
              gsize         len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      g_assert_cmpint (n, >, 0);
      data += n;
      len -= (gsize) n;
    }
}

/* Writes the first half, waits to be told, writes the rest. */
static gpointer
pipe_writer_thread (gpointer user_data)
{
  PipeWriter *writer = user_data;
  g_autofree guint8 *buffer = g_malloc (LARGE_CHUNK);

  for (gsize offset = 0; offset < LARGE_SIZE; offset += LARGE_CHUNK)
    {
      if (offset == LARGE_SIZE / 2)
        g_async_queue_pop (writer->go_on);
      fill_large (buffer, offset, LARGE_CHUNK);
      write_all_fd (writer->fd, buffer, LARGE_CHUNK);
    }
  close (writer->fd);
  return NULL;
}

typedef struct {
  const char    *dir;
  const char    *target;
  GAsyncResult **result;
  goffset        temp_size;
} LargeWatch;

/* Looks at the directory the way a reader would, at every main loop turn:
 * the target is either absent or complete. */
static void
large_look (LargeWatch *watch)
{
  g_autoptr(GDir) dir = g_dir_open (watch->dir, 0, NULL);
  struct stat st;
  const char *name;

  if (lstat (watch->target, &st) == 0)
    g_assert_cmpint (st.st_size, ==, LARGE_SIZE);

  watch->temp_size = -1;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (watch->dir, name, NULL);

      if (g_str_has_prefix (name, ".big.") && lstat (path, &st) == 0)
        watch->temp_size = st.st_size;
    }
}

static gboolean
large_half_written (gpointer user_data)
{
  LargeWatch *watch = user_data;

  large_look (watch);
  return watch->temp_size >= LARGE_SIZE / 4;
}

static gboolean
large_done (gpointer user_data)
{
  LargeWatch *watch = user_data;

  large_look (watch);
  return *watch->result != NULL;
}

static void
test_write_streamed_large (Fixture      *f,
                           gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = make_write (f, NULL);
  g_autoptr(GInputStream) input = NULL;
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) target_file = NULL;
  g_autoptr(GFileInputStream) target_stream = NULL;
  g_autofree char *target = g_build_filename (f->out, "big", NULL);
  g_autofree char *expected = large_checksum ();
  g_autofree char *written = NULL;
  g_autofree char *emitted_sum = NULL;
  g_autofree char *listing = NULL;
  PipeWriter writer;
  LargeWatch watch = { f->out, target, &result, -1 };
  GThread *thread;
  gsize len = 0;
  int fds[2];

  g_assert_cmpint (g_mkdir_with_parents (f->out, 0700), ==, 0);
  g_assert_cmpint (pipe (fds), ==, 0);
  input = g_unix_input_stream_new (fds[0], TRUE);
  message = sluice_message_new_stream (input, LARGE_SIZE, "application/octet-stream");
  sluice_message_set_id (message, "big");

  writer.fd = fds[1];
  writer.go_on = g_async_queue_new ();
  thread = g_thread_new ("pipe-writer", pipe_writer_thread, &writer);

  sluice_step_process_async (step, message, NULL, file_test_store_result, &result);

  /* Half the body is through: it sits in a hidden temporary file, and
   * there is no target yet. */
  file_test_wait_until (large_half_written, &watch, 30000);
  g_assert_null (result);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));

  g_async_queue_push (writer.go_on, GINT_TO_POINTER (1));
  file_test_wait_until (large_done, &watch, 60000);
  g_thread_join (thread);
  g_async_queue_unref (writer.go_on);

  iter = sluice_step_process_finish (step, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (iter);

  listing = file_test_list_dir (f->out);
  g_assert_cmpstr (listing, ==, "big");

  target_file = g_file_new_for_path (target);
  target_stream = g_file_read (target_file, NULL, &error);
  g_assert_no_error (error);
  written = stream_checksum (G_INPUT_STREAM (target_stream), &len);
  g_assert_cmpuint (len, ==, LARGE_SIZE);
  g_assert_cmpstr (written, ==, expected);

  /* What the step emits reads the same bytes, from the written file. */
  g_assert_cmpint (sluice_message_get_length (message), ==, LARGE_SIZE);
  emitted_sum = stream_checksum (sluice_message_get_stream (message), &len);
  g_assert_cmpuint (len, ==, LARGE_SIZE);
  g_assert_cmpstr (emitted_sum, ==, expected);
}

/* A body whose source breaks off after some data. */
#define TEST_TYPE_FAILING_STREAM (test_failing_stream_get_type ())
G_DECLARE_FINAL_TYPE (TestFailingStream, test_failing_stream, TEST, FAILING_STREAM, GInputStream)

struct _TestFailingStream
{
  GInputStream parent_instance;
  gsize        remaining;
};

G_DEFINE_FINAL_TYPE (TestFailingStream, test_failing_stream, G_TYPE_INPUT_STREAM)

static gssize
test_failing_stream_read (GInputStream *stream,
                          void         *buffer,
                          gsize         count,
                          GCancellable *cancellable,
                          GError      **error)
{
  TestFailingStream *self = TEST_FAILING_STREAM (stream);
  gsize n = MIN (count, self->remaining);

  if (n == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "peer went away");
      return -1;
    }
  memset (buffer, 'x', n);
  self->remaining -= n;
  return (gssize) n;
}

static void
test_failing_stream_class_init (TestFailingStreamClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = test_failing_stream_read;
}

static void
test_failing_stream_init (TestFailingStream *self)
{
  self->remaining = 3 * 1024 * 1024;
}

static void
test_write_stream_failure_cleans_up (Fixture      *f,
                                     gconstpointer user_data)
{
  const char *modes[] = { "create", "replace" };

  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *config = g_strdup_printf ("\"mode\": \"%s\"", modes[i]);
      g_autoptr(SluiceStep) step = make_write (f, config);
      g_autoptr(GInputStream) input = g_object_new (TEST_TYPE_FAILING_STREAM, NULL);
      g_autoptr(SluiceMessage) message = sluice_message_new_stream (input, LARGE_SIZE, NULL);
      g_autoptr(SluiceMessage) emitted = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *listing = NULL;

      sluice_message_set_id (message, "broken");
      emitted = process (step, message, &error);
      g_assert_null (emitted);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_FAILED);
      g_assert_true (sluice_error_is_retryable (error));
      g_assert_nonnull (strstr (error->message, "peer went away"));
      g_assert_nonnull (strstr (error->message, "broken"));

      /* Neither the target nor the temporary file is left behind. */
      listing = file_test_list_dir (f->out);
      g_assert_cmpstr (listing, ==, "");
    }
}

static void
test_write_no_create_dirs (Fixture      *f,
                           gconstpointer user_data)
{
  g_autoptr(SluiceStep) step = make_write (f, "\"create_dirs\": false");
  g_autoptr(SluiceStep) appender = make_write (f, "\"create_dirs\": false, \"mode\": \"append\"");
  g_autoptr(SluiceMessage) message = bytes_message ("m1", "x");
  g_autoptr(SluiceMessage) emitted = NULL;
  g_autoptr(SluiceMessage) appended = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) append_error = NULL;

  emitted = process (step, message, &error);
  g_assert_null (emitted);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, f->out));

  appended = process (appender, message, &append_error);
  g_assert_null (appended);
  g_assert_error (append_error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);

  g_assert_false (g_file_test (f->out, G_FILE_TEST_EXISTS));
}

static void
test_write_config_errors (Fixture      *f,
                          gconstpointer user_data)
{
  const struct {
    const char *config;
    const char *mentions;
  } cases[] = {
    { "{}", "'directory'" },
    { "{\"directory\": \"/tmp\", \"mode\": \"overwrite\"}", "'mode'" },
    { "{\"directory\": \"/tmp\", \"create_dirs\": 1}", "'create_dirs'" },
    { "{\"directory\": \"/tmp\", \"filename\": \"\"}", "'filename'" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GObject) step = NULL;

      step = file_test_create (f->loaded, "file.write", f->context, cases[i].config, &error);
      g_assert_null (step);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_nonnull (strstr (error->message, cases[i].mentions));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("file.write: atomic create/replace, append, file name templates, "
                  "large streamed bodies");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/file/write/create", test_write_create);
  ADD ("/file/write/create-existing-fails", test_write_create_existing_fails);
  ADD ("/file/write/replace", test_write_replace);
  ADD ("/file/write/append", test_write_append);
  ADD ("/file/write/append-concurrent", test_write_append_concurrent);
  ADD ("/file/write/template", test_write_template);
  ADD ("/file/write/template-refused", test_write_template_refused);
  ADD ("/file/write/streamed-large", test_write_streamed_large);
  ADD ("/file/write/stream-failure-cleans-up", test_write_stream_failure_cleans_up);
  ADD ("/file/write/no-create-dirs", test_write_no_create_dirs);
  ADD ("/file/write/config-errors", test_write_config_errors);
#undef ADD

  return g_test_run ();
}
