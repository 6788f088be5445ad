/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <sluice/sluice.h>

#include "file-test-util.h"

typedef struct {
  FileTestPlugin *loaded;
  char           *tmpdir;
  SluiceClock    *clock;
  SluiceContext  *context;
} Fixture;

static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  f->loaded = file_test_plugin_load ();
  f->tmpdir = file_test_make_tmpdir ();
  f->clock = sluice_clock_new_manual (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC);
  f->context = sluice_context_new ("test/file", f->clock, NULL);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  g_clear_object (&f->context);
  g_clear_object (&f->clock);
  sluice_test_rm_rf (f->tmpdir);
  g_free (f->tmpdir);
  file_test_plugin_free (f->loaded);
}

static SluiceSource *
make_read (Fixture    *f,
           const char *path,
           const char *extra_config)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;
  GObject *source;

  config = g_strdup_printf ("{\"path\": \"%s\"%s%s}", path,
                            extra_config != NULL ? ", " : "",
                            extra_config != NULL ? extra_config : "");
  source = file_test_create (f->loaded, "file.read", f->context, config, &error);
  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_SOURCE (source));
  return SLUICE_SOURCE (source);
}

/* The next page; NULL at the end, or with @error set. */
static GPtrArray *
next_page (SluiceSource *source,
           GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sluice_source_next_page_async (source, NULL, file_test_store_result, &result);
  return sluice_source_next_page_finish (source, file_test_wait_result (&result), error);
}

static char *
expected_mtime (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GDateTime) mtime = NULL;
  g_autoptr(GError) error = NULL;

  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_TIME_MODIFIED "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC,
                            G_FILE_QUERY_INFO_NONE, NULL, &error);
  g_assert_no_error (error);
  mtime = g_file_info_get_modification_date_time (info);
  return g_date_time_format_iso8601 (mtime);
}

static void
assert_file_message (SluiceMessage *message,
                     const char    *dir,
                     const char    *name,
                     const char    *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *size = g_strdup_printf ("%zu", strlen (contents));
  g_autofree char *mtime = expected_mtime (path);
  g_autofree char *guessed = g_content_type_guess (name, NULL, 0, NULL);
  g_autofree char *mime = g_content_type_get_mime_type (guessed);
  g_autofree char *body = NULL;
  gsize len = 0;

  g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-name"), ==, name);
  g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-path"), ==, path);
  g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-size"), ==, size);
  g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-mtime"), ==, mtime);
  g_assert_cmpstr (sluice_message_get_content_type (message), ==, mime);

  g_assert_true (sluice_message_is_streamed (message));
  g_assert_cmpint (sluice_message_get_length (message), ==, (gint64) strlen (contents));
  body = file_test_read_stream (sluice_message_get_stream (message), &len);
  g_assert_cmpuint (len, ==, strlen (contents));
  g_assert_cmpstr (body, ==, contents);
}

static void
test_read_pages_sorted (Fixture      *f,
                        gconstpointer user_data)
{
  g_autofree char *dir = g_build_filename (f->tmpdir, "data", NULL);
  g_autofree char *sub = g_build_filename (dir, "sub.txt", NULL);
  g_autoptr(SluiceSource) source = NULL;
  g_autoptr(GPtrArray) page1 = NULL;
  g_autoptr(GPtrArray) page2 = NULL;
  g_autoptr(GPtrArray) page3 = NULL;
  g_autoptr(GError) error = NULL;

  /* Written out of order, with things that are not files to read. */
  g_free (file_test_write (dir, "c.txt", "third\n"));
  g_free (file_test_write (dir, "a.txt", "first\n"));
  g_free (file_test_write (dir, "b.csv", "x,y\n1,2\n"));
  g_free (file_test_write (dir, ".hidden", "secret"));
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_free (file_test_write (sub, "inner.txt", "not me"));

  source = make_read (f, dir, "\"page_size\": 2");

  page1 = next_page (source, &error);
  g_assert_no_error (error);
  g_assert_nonnull (page1);
  g_assert_cmpuint (page1->len, ==, 2);
  assert_file_message (g_ptr_array_index (page1, 0), dir, "a.txt", "first\n");
  assert_file_message (g_ptr_array_index (page1, 1), dir, "b.csv", "x,y\n1,2\n");

  page2 = next_page (source, &error);
  g_assert_no_error (error);
  g_assert_nonnull (page2);
  g_assert_cmpuint (page2->len, ==, 1);
  assert_file_message (g_ptr_array_index (page2, 0), dir, "c.txt", "third\n");

  page3 = next_page (source, &error);
  g_assert_no_error (error);
  g_assert_null (page3);
}

static void
test_read_pattern (Fixture      *f,
                   gconstpointer user_data)
{
  g_autofree char *dir = g_build_filename (f->tmpdir, "data", NULL);
  g_autoptr(SluiceSource) source = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) end = NULL;
  g_autoptr(GError) error = NULL;

  g_free (file_test_write (dir, "orders-2.csv", "2"));
  g_free (file_test_write (dir, "orders-1.csv", "1"));
  g_free (file_test_write (dir, "orders-1.csv.bak", "old"));
  g_free (file_test_write (dir, "returns-1.csv", "r"));

  source = make_read (f, dir, "\"pattern\": \"orders-*.csv\"");
  page = next_page (source, &error);
  g_assert_no_error (error);
  g_assert_nonnull (page);
  g_assert_cmpuint (page->len, ==, 2);
  assert_file_message (g_ptr_array_index (page, 0), dir, "orders-1.csv", "1");
  assert_file_message (g_ptr_array_index (page, 1), dir, "orders-2.csv", "2");

  end = next_page (source, &error);
  g_assert_no_error (error);
  g_assert_null (end);
}

static void
test_read_single_file (Fixture      *f,
                       gconstpointer user_data)
{
  g_autofree char *path = file_test_write (f->tmpdir, "only.json", "{\"a\": 1}");
  g_autoptr(SluiceSource) source = make_read (f, path, "\"pattern\": \"*.csv\"");
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) end = NULL;
  g_autoptr(GError) error = NULL;

  /* A file named outright is read whatever the pattern. */
  page = next_page (source, &error);
  g_assert_no_error (error);
  g_assert_nonnull (page);
  g_assert_cmpuint (page->len, ==, 1);
  assert_file_message (g_ptr_array_index (page, 0), f->tmpdir, "only.json", "{\"a\": 1}");

  end = next_page (source, &error);
  g_assert_no_error (error);
  g_assert_null (end);
}

static void
test_read_empty_directory (Fixture      *f,
                           gconstpointer user_data)
{
  g_autoptr(SluiceSource) source = make_read (f, f->tmpdir, NULL);
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GError) error = NULL;

  page = next_page (source, &error);
  g_assert_no_error (error);
  g_assert_null (page);
}

static void
test_read_missing_path (Fixture      *f,
                        gconstpointer user_data)
{
  g_autofree char *missing = g_build_filename (f->tmpdir, "nowhere", NULL);
  g_autoptr(SluiceSource) source = make_read (f, missing, NULL);
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GError) error = NULL;

  page = next_page (source, &error);
  g_assert_null (page);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_assert_nonnull (strstr (error->message, "file.read"));
}

static void
test_read_many_pages (Fixture      *f,
                      gconstpointer user_data)
{
  g_autofree char *dir = g_build_filename (f->tmpdir, "many", NULL);
  g_autoptr(SluiceSource) source = NULL;
  guint total = 0;
  guint pages = 0;

  for (guint i = 0; i < 250; i++)
    {
      g_autofree char *name = g_strdup_printf ("f%04u.dat", i);
      g_autofree char *contents = g_strdup_printf ("%u", i);

      g_free (file_test_write (dir, name, contents));
    }

  /* the default page size */
  source = make_read (f, dir, NULL);
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) page = next_page (source, &error);

      g_assert_no_error (error);
      if (page == NULL)
        break;
      pages++;
      g_assert_cmpuint (page->len, ==, pages < 3 ? 100 : 50);
      for (guint i = 0; i < page->len; i++)
        {
          g_autofree char *name = g_strdup_printf ("f%04u.dat", total);
          SluiceMessage *message = g_ptr_array_index (page, i);

          g_assert_cmpstr (sluice_message_get_header (message, "sluice-file-name"), ==, name);
          total++;
        }
    }

  g_assert_cmpuint (pages, ==, 3);
  g_assert_cmpuint (total, ==, 250);
}

static void
test_read_config_errors (Fixture      *f,
                         gconstpointer user_data)
{
  const struct {
    const char *config;
    const char *mentions;
  } cases[] = {
    { "{}", "'path'" },
    { "{\"path\": \"\"}", "'path'" },
    { "{\"path\": \"/tmp\", \"page_size\": 0}", "'page_size'" },
    { "{\"path\": \"/tmp\", \"page_size\": \"ten\"}", "'page_size'" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GObject) source = NULL;

      source = file_test_create (f->loaded, "file.read", f->context, cases[i].config, &error);
      g_assert_null (source);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_nonnull (strstr (error->message, cases[i].mentions));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("file.read: files of a directory as streamed messages, sorted, paged");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/file/read/pages-sorted", test_read_pages_sorted);
  ADD ("/file/read/pattern", test_read_pattern);
  ADD ("/file/read/single-file", test_read_single_file);
  ADD ("/file/read/empty-directory", test_read_empty_directory);
  ADD ("/file/read/missing-path", test_read_missing_path);
  ADD ("/file/read/many-pages", test_read_many_pages);
  ADD ("/file/read/config-errors", test_read_config_errors);
#undef ADD

  return g_test_run ();
}
