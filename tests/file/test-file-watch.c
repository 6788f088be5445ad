/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sluice/sluice.h>

#include "file-test-util.h"

#define STABLE_FOR (10 * G_USEC_PER_SEC)
/* Long enough for inotify events and thread pool results to come in. */
#define SETTLE_MS 300

typedef struct {
  FileTestPlugin *loaded;
  char           *tmpdir;
  char           *in;
  SluiceClock    *clock;
  SluiceContext  *context;
  SluiceTrigger  *watch;
  GPtrArray      *events;
  gboolean        host_credit;  /* keep the credit as the engine does */
} Fixture;

static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  f->loaded = file_test_plugin_load ();
  f->tmpdir = file_test_make_tmpdir ();
  f->in = g_build_filename (f->tmpdir, "in", NULL);
  g_assert_cmpint (g_mkdir (f->in, 0700), ==, 0);
  f->clock = sluice_clock_new_manual (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
  f->context = sluice_context_new ("test/file", f->clock, NULL);
  f->events = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  if (f->watch != NULL)
    {
      sluice_trigger_stop (f->watch);
      g_signal_handlers_disconnect_by_data (f->watch, f);
      g_clear_object (&f->watch);
    }
  g_ptr_array_unref (f->events);
  /* Let cancelled operations finish before their objects go. */
  file_test_spin (50);
  g_clear_object (&f->context);
  g_clear_object (&f->clock);
  sluice_test_rm_rf (f->tmpdir);
  g_free (f->in);
  g_free (f->tmpdir);
  file_test_plugin_free (f->loaded);
}

static void
on_event (SluiceTrigger *trigger,
          SluiceEvent   *event,
          gpointer       user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->events, g_object_ref (event));

  /* The host lowers the credit as each event arrives; a trigger that
   * respects it never emits on zero. */
  if (f->host_credit)
    {
      guint credit = sluice_trigger_get_credit (trigger);

      g_assert_cmpuint (credit, >, 0);
      sluice_trigger_set_credit (trigger, credit - 1);
    }
}

static SluiceTrigger *
make_watch (Fixture    *f,
            const char *extra_config,
            GError    **error)
{
  g_autofree char *config = NULL;

  config = g_strdup_printf ("{\"path\": \"%s\", \"stable_for\": \"10s\"%s%s}",
                            f->in, extra_config != NULL ? ", " : "",
                            extra_config != NULL ? extra_config : "");
  return (SluiceTrigger *) file_test_create (f->loaded, "file.watch", f->context, config, error);
}

static void
start_watch (Fixture    *f,
             const char *extra_config,
             guint       credit)
{
  g_autoptr(GError) error = NULL;

  f->watch = make_watch (f, extra_config, &error);
  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_TRIGGER (f->watch));
  g_signal_connect (f->watch, "event", G_CALLBACK (on_event), f);
  sluice_trigger_set_credit (f->watch, credit);

  g_assert_true (sluice_trigger_start (f->watch, &error));
  g_assert_no_error (error);
  file_test_spin (SETTLE_MS);
}

typedef struct {
  Fixture *f;
  guint    count;
} EventCount;

static gboolean
have_events (gpointer user_data)
{
  EventCount *wanted = user_data;

  return wanted->f->events->len >= wanted->count;
}

static void
wait_events (Fixture *f,
             guint    count)
{
  EventCount wanted = { f, count };

  file_test_wait_until (have_events, &wanted, 10000);
  /* and no more than that arrive */
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, count);
}

/* Lets stability windows pass until @count events are out, for tests where
 * the exact moment is not the point: on a busy machine the monitor may see
 * a file a little later than the test wrote it. */
static void
advance_until_events (Fixture *f,
                      guint    count)
{
  EventCount wanted = { f, count };

  for (guint i = 0; i < 20 && !have_events (&wanted); i++)
    {
      sluice_clock_advance (f->clock, STABLE_FOR);
      file_test_wait_for (have_events, &wanted, 500);
    }
  wait_events (f, count);
}

static SluiceEvent *
event_at (Fixture *f,
          guint    index)
{
  g_assert_cmpuint (index, <, f->events->len);
  return g_ptr_array_index (f->events, index);
}

static const char *
event_name (SluiceEvent *event)
{
  return sluice_message_get_header (sluice_event_get_message (event), "sluice-file-name");
}

static void
ack (SluiceEvent *event)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  sluice_event_ack_async (event, NULL, file_test_store_result, &result);
  g_assert_true (sluice_event_ack_finish (event, file_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_ACKED);
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
write_fd (int         fd,
          const char *text)
{
  g_assert_cmpint (write (fd, text, strlen (text)), ==, (gssize) strlen (text));
}

static void
test_plugin_components (Fixture      *f,
                        gconstpointer user_data)
{
  GPtrArray *factories = sluice_plugin_get_components (f->loaded->plugin);
  const struct {
    const char          *name;
    SluiceComponentKind  kind;
  } expected[] = {
    { "file.watch", SLUICE_COMPONENT_TRIGGER },
    { "file.read", SLUICE_COMPONENT_SOURCE },
    { "file.write", SLUICE_COMPONENT_STEP },
  };

  g_assert_cmpuint (factories->len, ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      SluiceComponentFactory *factory = NULL;
      JsonObject *schema;

      for (guint j = 0; j < factories->len; j++)
        if (g_str_equal (sluice_component_factory_get_name (g_ptr_array_index (factories, j)),
                         expected[i].name))
          factory = g_ptr_array_index (factories, j);

      g_assert_nonnull (factory);
      g_assert_cmpint (sluice_component_factory_get_kind (factory), ==, expected[i].kind);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (sluice_component_factory_get_schema (factory)));
      schema = json_node_get_object (sluice_component_factory_get_schema (factory));
      g_assert_cmpstr (json_object_get_string_member (schema, "type"), ==, "object");
      g_assert_false (json_object_get_boolean_member (schema, "additionalProperties"));
      g_assert_cmpstr (sluice_component_factory_get_description (factory), !=, "");
    }
}

static void
test_watch_config_errors (Fixture      *f,
                          gconstpointer user_data)
{
  const struct {
    const char *config;
    const char *mentions;
  } cases[] = {
    { "{}", "'path'" },
    { "{\"path\": 42}", "'path'" },
    { "{\"path\": \"/tmp\", \"stable_for\": \"soon\"}", "'stable_for'" },
    { "{\"path\": \"/tmp\", \"existing\": \"yes\"}", "'existing'" },
    { "{\"path\": \"/tmp\", \"processed_dir\": \"/tmp\"}", "processed_dir" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GObject) watch = NULL;

      watch = file_test_create (f->loaded, "file.watch", f->context, cases[i].config, &error);
      g_assert_null (watch);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_nonnull (strstr (error->message, "file.watch"));
      g_assert_nonnull (strstr (error->message, cases[i].mentions));
    }
}

static void
test_watch_complete_only_when_stable (Fixture      *f,
                                      gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (f->in, "report.csv", NULL);
  g_autofree char *body = NULL;
  g_autofree char *guessed = NULL;
  g_autofree char *mime = NULL;
  g_autofree char *mtime_text = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GDateTime) mtime = NULL;
  g_autoptr(GError) error = NULL;
  SluiceMessage *message;
  gsize len = 0;
  int fd;

  start_watch (f, NULL, SLUICE_TRIGGER_CREDIT_UNLIMITED);

  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  write_fd (fd, "id,amount\n");
  file_test_spin (SETTLE_MS);

  /* Most of the window passes with the writer still busy. */
  sluice_clock_advance (f->clock, STABLE_FOR - G_USEC_PER_SEC);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 0);

  write_fd (fd, "1,20\n");
  file_test_spin (SETTLE_MS);

  /* A whole window has passed since the file was first seen, but not
   * since it last changed. */
  sluice_clock_advance (f->clock, G_USEC_PER_SEC);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 0);

  g_assert_cmpint (close (fd), ==, 0);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 0);

  sluice_clock_advance (f->clock, STABLE_FOR);
  wait_events (f, 1);

  message = sluice_event_get_message (event_at (f, 0));
  g_assert_true (sluice_message_is_streamed (message));
  g_assert_cmpint (sluice_message_get_length (message), ==, strlen ("id,amount\n1,20\n"));
  body = file_test_read_stream (sluice_message_get_stream (message), &len);
  g_assert_cmpstr (body, ==, "id,amount\n1,20\n");
  g_assert_cmpuint (len, ==, strlen ("id,amount\n1,20\n"));

  g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-name"), ==, "report.csv");
  g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-path"), ==, path);
  g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-size"), ==, "15");
  g_assert_cmpuint (sluice_message_get_attempt (message), ==, 0);

  file = g_file_new_for_path (path);
  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                            G_FILE_QUERY_INFO_NONE, NULL, &error);
  g_assert_no_error (error);
  mtime = g_file_info_get_modification_date_time (info);
  mtime_text = g_date_time_format_iso8601 (mtime);
  g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-mtime"), ==, mtime_text);

  guessed = g_content_type_guess ("report.csv", NULL, 0, NULL);
  mime = g_content_type_get_mime_type (guessed);
  g_assert_cmpstr (sluice_message_get_content_type (message), ==, mime);
}

static void
test_watch_existing_files (Fixture      *f,
                           gconstpointer user_data)
{
  g_free (file_test_write (f->in, "b.txt", "bee"));
  g_free (file_test_write (f->in, "a.txt", "ay"));

  start_watch (f, NULL, SLUICE_TRIGGER_CREDIT_UNLIMITED);
  g_assert_cmpuint (f->events->len, ==, 0);

  advance_until_events (f, 2);
  g_assert_cmpstr (event_name (event_at (f, 0)), ==, "a.txt");
  g_assert_cmpstr (event_name (event_at (f, 1)), ==, "b.txt");
}

static void
test_watch_existing_ignored (Fixture      *f,
                             gconstpointer user_data)
{
  g_autofree char *old = file_test_write (f->in, "old.txt", "was here");
  g_autofree char *new = NULL;

  start_watch (f, "\"existing\": false", SLUICE_TRIGGER_CREDIT_UNLIMITED);
  new = file_test_write (f->in, "new.txt", "just came");
  file_test_spin (SETTLE_MS);

  advance_until_events (f, 1);
  g_assert_cmpstr (event_name (event_at (f, 0)), ==, "new.txt");
  g_assert_true (g_file_test (old, G_FILE_TEST_EXISTS));
}

static void
test_watch_filtering (Fixture      *f,
                      gconstpointer user_data)
{
  g_autofree char *dir = g_build_filename (f->in, "dir.csv", NULL);
  g_autofree char *processed = g_build_filename (f->in, "processed", NULL);

  g_free (file_test_write (f->in, "a.csv", "a"));
  g_free (file_test_write (f->in, "b.txt", "b"));
  g_free (file_test_write (f->in, ".hidden.csv", "h"));
  g_free (file_test_write (processed, "done.csv", "d"));
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  start_watch (f, "\"pattern\": \"*.csv\"", SLUICE_TRIGGER_CREDIT_UNLIMITED);

  /* and the same kinds of names arriving while it runs */
  g_free (file_test_write (f->in, "c.json", "c"));
  g_free (file_test_write (f->in, ".d.csv", "d"));
  file_test_spin (SETTLE_MS);

  advance_until_events (f, 1);
  g_assert_cmpstr (event_name (event_at (f, 0)), ==, "a.csv");

  sluice_clock_advance (f->clock, STABLE_FOR);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 1);
}

static void
test_watch_ack_moves_to_processed (Fixture      *f,
                                   gconstpointer user_data)
{
  g_autofree char *processed = g_build_filename (f->in, "processed", NULL);
  g_autofree char *path = file_test_write (f->in, "a.csv", "today");
  g_autofree char *listing = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *kept = NULL;

  g_free (file_test_write (processed, "a.csv", "earlier"));

  start_watch (f, NULL, SLUICE_TRIGGER_CREDIT_UNLIMITED);
  advance_until_events (f, 1);

  ack (event_at (f, 0));

  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  listing = file_test_list_dir (processed);
  g_assert_cmpstr (listing, ==, "a.csv,a.csv.1");
  moved = read_file (processed, "a.csv.1");
  g_assert_cmpstr (moved, ==, "today");
  kept = read_file (processed, "a.csv");
  g_assert_cmpstr (kept, ==, "earlier");

  /* Settled for good: nothing comes back. */
  sluice_clock_advance (f->clock, 2 * STABLE_FOR);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 1);
}

static void
dead_letter (SluiceEvent *event,
             const char  *reason)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) why = g_error_new_literal (SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA, reason);

  sluice_event_dead_letter_async (event, why, NULL, file_test_store_result, &result);
  g_assert_true (sluice_event_dead_letter_finish (event, file_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpint (sluice_event_get_outcome (event), ==, SLUICE_EVENT_DEAD_LETTERED);
}

static void
test_watch_dead_letter_moves_to_failed (Fixture      *f,
                                        gconstpointer user_data)
{
  g_autofree char *failed = g_build_filename (f->tmpdir, "rejected", NULL);
  g_autofree char *extra = g_strdup_printf ("\"failed_dir\": \"%s\"", failed);
  g_autofree char *path = file_test_write (f->in, "bad.csv", "x,y\n1\n");
  g_autofree char *path2 = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *why = NULL;
  g_autofree char *moved2 = NULL;
  g_autofree char *why2 = NULL;

  start_watch (f, extra, SLUICE_TRIGGER_CREDIT_UNLIMITED);
  advance_until_events (f, 1);

  dead_letter (event_at (f, 0), "row 2: expected 2 fields, got 1");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  moved = read_file (failed, "bad.csv");
  g_assert_cmpstr (moved, ==, "x,y\n1\n");
  why = read_file (failed, "bad.csv.error");
  g_assert_cmpstr (why, ==, "row 2: expected 2 fields, got 1\n");

  /* The same name failing again keeps both, each with its own error. */
  path2 = file_test_write (f->in, "bad.csv", "again");
  file_test_spin (SETTLE_MS);
  advance_until_events (f, 2);
  dead_letter (event_at (f, 1), "still wrong");

  listing = file_test_list_dir (failed);
  g_assert_cmpstr (listing, ==, "bad.csv,bad.csv.1,bad.csv.1.error,bad.csv.error");
  moved2 = read_file (failed, "bad.csv.1");
  g_assert_cmpstr (moved2, ==, "again");
  why2 = read_file (failed, "bad.csv.1.error");
  g_assert_cmpstr (why2, ==, "still wrong\n");
}

static void
test_watch_retry_re_emits_after_delay (Fixture      *f,
                                       gconstpointer user_data)
{
  g_autofree char *path = file_test_write (f->in, "a.csv", "a");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  SluiceEvent *first;
  SluiceEvent *second;

  start_watch (f, NULL, SLUICE_TRIGGER_CREDIT_UNLIMITED);
  advance_until_events (f, 1);
  first = event_at (f, 0);

  sluice_event_retry_async (first, 30 * G_USEC_PER_SEC, NULL, file_test_store_result, &result);
  g_assert_true (sluice_event_retry_finish (first, file_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpint (sluice_event_get_outcome (first), ==, SLUICE_EVENT_RETRY);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  sluice_clock_advance (f->clock, 29 * G_USEC_PER_SEC);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 1);

  sluice_clock_advance (f->clock, G_USEC_PER_SEC);
  wait_events (f, 2);
  second = event_at (f, 1);
  g_assert_true (second != first);
  g_assert_cmpstr (event_name (second), ==, "a.csv");
  g_assert_cmpuint (sluice_message_get_attempt (sluice_event_get_message (second)), ==, 1);

  ack (second);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* What the host does when a run is over: settle its event, and give the
 * credit back. */
static void
finish_run (Fixture     *f,
            SluiceEvent *event)
{
  ack (event);
  sluice_trigger_set_credit (f->watch, sluice_trigger_get_credit (f->watch) + 1);
}

static void
test_watch_credit_one (Fixture      *f,
                       gconstpointer user_data)
{
  g_free (file_test_write (f->in, "a.csv", "a"));
  g_free (file_test_write (f->in, "b.csv", "b"));
  g_free (file_test_write (f->in, "c.csv", "c"));
  f->host_credit = TRUE;

  /* No credit at all: complete files wait. */
  start_watch (f, NULL, 0);
  sluice_clock_advance (f->clock, STABLE_FOR);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 0);

  /* Room for one: one event until it is settled. */
  sluice_trigger_set_credit (f->watch, 1);
  advance_until_events (f, 1);
  g_assert_cmpstr (event_name (event_at (f, 0)), ==, "a.csv");
  g_assert_cmpuint (sluice_trigger_get_credit (f->watch), ==, 0);

  finish_run (f, event_at (f, 0));
  wait_events (f, 2);
  g_assert_cmpstr (event_name (event_at (f, 1)), ==, "b.csv");

  finish_run (f, event_at (f, 1));
  wait_events (f, 3);
  g_assert_cmpstr (event_name (event_at (f, 2)), ==, "c.csv");

  finish_run (f, event_at (f, 2));
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 3);
  g_assert_cmpuint (sluice_trigger_get_credit (f->watch), ==, 1);
}

static void
test_watch_credit_several (Fixture      *f,
                           gconstpointer user_data)
{
  const char *names[] = { "a.csv", "b.csv", "c.csv", "d.csv", "e.csv" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_free (file_test_write (f->in, names[i], names[i]));
  f->host_credit = TRUE;

  start_watch (f, NULL, 2);
  advance_until_events (f, 2);
  g_assert_cmpuint (sluice_trigger_get_credit (f->watch), ==, 0);

  finish_run (f, event_at (f, 1));
  wait_events (f, 3);
  finish_run (f, event_at (f, 0));
  finish_run (f, event_at (f, 2));
  wait_events (f, 5);

  /* in arrival order, whatever order the runs finished in */
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpstr (event_name (event_at (f, i)), ==, names[i]);
}

static void
test_watch_not_twice_while_pending (Fixture      *f,
                                    gconstpointer user_data)
{
  g_autofree char *listing = NULL;

  g_free (file_test_write (f->in, "a.csv", "first"));

  start_watch (f, NULL, SLUICE_TRIGGER_CREDIT_UNLIMITED);
  advance_until_events (f, 1);

  /* Touched while its event is out: still the same pending file. */
  g_free (file_test_write (f->in, "a.csv", "first and more"));
  file_test_spin (SETTLE_MS);
  sluice_clock_advance (f->clock, 3 * STABLE_FOR);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 1);

  ack (event_at (f, 0));
  listing = file_test_list_dir (f->in);
  g_assert_cmpstr (listing, ==, "processed");
}

static void
test_watch_settle_after_stop (Fixture      *f,
                              gconstpointer user_data)
{
  g_autofree char *processed = g_build_filename (f->in, "processed", NULL);
  g_autofree char *listing = NULL;

  g_free (file_test_write (f->in, "a.csv", "a"));

  start_watch (f, NULL, SLUICE_TRIGGER_CREDIT_UNLIMITED);
  advance_until_events (f, 1);

  sluice_trigger_stop (f->watch);
  ack (event_at (f, 0));
  listing = file_test_list_dir (processed);
  g_assert_cmpstr (listing, ==, "a.csv");

  /* Stopped: new files are not picked up any more. */
  g_free (file_test_write (f->in, "late.csv", "late"));
  file_test_spin (SETTLE_MS);
  sluice_clock_advance (f->clock, STABLE_FOR);
  file_test_spin (SETTLE_MS);
  g_assert_cmpuint (f->events->len, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("file.watch: emits complete files once, settles them by moving them, "
                  "respects credit");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/file/plugin/components", test_plugin_components);
  ADD ("/file/watch/config-errors", test_watch_config_errors);
  ADD ("/file/watch/complete-only-when-stable", test_watch_complete_only_when_stable);
  ADD ("/file/watch/existing-files", test_watch_existing_files);
  ADD ("/file/watch/existing-ignored", test_watch_existing_ignored);
  ADD ("/file/watch/filtering", test_watch_filtering);
  ADD ("/file/watch/ack-moves-to-processed", test_watch_ack_moves_to_processed);
  ADD ("/file/watch/dead-letter-moves-to-failed", test_watch_dead_letter_moves_to_failed);
  ADD ("/file/watch/retry-re-emits-after-delay", test_watch_retry_re_emits_after_delay);
  ADD ("/file/watch/credit-one", test_watch_credit_one);
  ADD ("/file/watch/credit-several", test_watch_credit_several);
  ADD ("/file/watch/not-twice-while-pending", test_watch_not_twice_while_pending);
  ADD ("/file/watch/settle-after-stop", test_watch_settle_after_stop);
#undef ADD

  return g_test_run ();
}
