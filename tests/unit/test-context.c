/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include <sluice/sluice.h>

typedef struct {
  char          *tmpdir;
  char          *credentials;
  SluiceContext *context;
} ContextFixture;

static void
write_file (const char *path,
            const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  g_assert_no_error (error);
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
context_fixture_set_up (ContextFixture *fixture,
                        gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *connections_json = NULL;
  g_autoptr(JsonObject) connections = NULL;

  fixture->tmpdir = g_dir_make_tmp ("sluice-test-context-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->credentials = g_build_filename (fixture->tmpdir, "credentials", NULL);
  g_assert_cmpint (g_mkdir (fixture->credentials, 0700), ==, 0);

  password_file = g_build_filename (fixture->tmpdir, "billing-password", NULL);
  write_file (password_file, "s3cr3t\n\n");
  {
    g_autofree char *token = g_build_filename (fixture->credentials, "partner-token", NULL);
    g_autofree char *no_newline = g_build_filename (fixture->credentials, "raw", NULL);

    write_file (token, "tok-123\n");
    write_file (no_newline, "raw-value");
  }

  connections_json = g_strdup_printf (
    "{"
    "  \"billing\": {\"url\": \"https://billing.example\", \"password\": {\"file\": \"%s\"}},"
    "  \"partner\": {\"token\": {\"credential\": \"partner-token\"},"
    "                \"raw\": {\"credential\": \"raw\"},"
    "                \"escape\": {\"credential\": \"../billing-password\"},"
    "                \"missing\": {\"credential\": \"nope\"},"
    "                \"both\": {\"file\": \"/x\", \"credential\": \"y\"},"
    "                \"other\": {\"env\": \"TOKEN\"},"
    "                \"number\": {\"file\": 42}},"
    "  \"inline\": {\"password\": \"hunter2\"},"
    "  \"broken\": \"not an object\""
    "}", password_file);
  connections = parse_object (connections_json);

  fixture->context = sluice_context_new ("orders.post", NULL, NULL);
  sluice_context_set_connections (fixture->context, connections);
  sluice_context_set_credentials_directory (fixture->context, fixture->credentials);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR))
            remove_tree (child);
          else
            g_assert_cmpint (g_unlink (child), ==, 0);
        }
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

static void
context_fixture_tear_down (ContextFixture *fixture,
                           gconstpointer   data)
{
  g_clear_object (&fixture->context);
  remove_tree (fixture->tmpdir);
  g_free (fixture->credentials);
  g_free (fixture->tmpdir);
}

static void
assert_bytes_eq (GBytes     *bytes,
                 const char *expected)
{
  g_assert_nonnull (bytes);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   expected, strlen (expected));
}

static void
test_basics (ContextFixture *fixture,
             gconstpointer   data)
{
  g_autoptr(SluiceClock) clock = sluice_clock_new_manual (0);
  g_autoptr(SluiceContext) manual = sluice_context_new ("x", clock, NULL);
  g_autoptr(SluiceContext) child = NULL;
  g_autoptr(GBytes) secret = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (sluice_context_get_name (fixture->context), ==, "orders.post");
  /* no clock given: a system clock */
  g_assert_true (SLUICE_IS_CLOCK (sluice_context_get_clock (fixture->context)));
  g_assert_false (sluice_clock_is_manual (sluice_context_get_clock (fixture->context)));
  g_assert_null (sluice_context_get_state_store (fixture->context));

  g_assert_true (sluice_context_get_clock (manual) == clock);

  child = sluice_context_new_child (fixture->context, "orders.fetch");
  g_assert_cmpstr (sluice_context_get_name (child), ==, "orders.fetch");
  g_assert_true (sluice_context_get_clock (child) == sluice_context_get_clock (fixture->context));
  g_assert_true (sluice_context_get_connection (child, "billing", NULL) ==
                 sluice_context_get_connection (fixture->context, "billing", NULL));
  /* and the credentials directory */
  secret = sluice_context_get_secret (child, "partner", "token", &error);
  g_assert_no_error (error);
  assert_bytes_eq (secret, "tok-123");
}

static void
test_connection_missing (ContextFixture *fixture,
                         gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) broken_error = NULL;
  g_autoptr(GError) none_error = NULL;
  g_autoptr(SluiceContext) empty = sluice_context_new ("empty", NULL, NULL);
  JsonObject *billing;

  billing = sluice_context_get_connection (fixture->context, "billing", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (billing, "url"), ==, "https://billing.example");

  g_assert_null (sluice_context_get_connection (fixture->context, "crm", &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "connection 'crm' is not defined"));
  /* few connections: they are listed */
  g_assert_nonnull (strstr (error->message, "billing"));
  g_assert_nonnull (strstr (error->message, "partner"));
  g_assert_false (sluice_error_is_retryable (error));

  g_assert_null (sluice_context_get_connection (fixture->context, "broken", &broken_error));
  g_assert_error (broken_error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);

  g_assert_null (sluice_context_get_connection (empty, "billing", &none_error));
  g_assert_error (none_error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (none_error->message, "connection 'billing' is not defined"));
}

static void
test_secret_file (ContextFixture *fixture,
                  gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) secret = sluice_context_get_secret (fixture->context, "billing", "password", &error);

  g_assert_no_error (error);
  /* exactly one trailing newline is stripped */
  assert_bytes_eq (secret, "s3cr3t\n");
}

static void
test_secret_credential (ContextFixture *fixture,
                        gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) token = sluice_context_get_secret (fixture->context, "partner", "token", &error);
  g_autoptr(GBytes) raw = NULL;

  g_assert_no_error (error);
  assert_bytes_eq (token, "tok-123");

  raw = sluice_context_get_secret (fixture->context, "partner", "raw", &error);
  g_assert_no_error (error);
  assert_bytes_eq (raw, "raw-value");
}

static void
test_secret_inline_refused (ContextFixture *fixture,
                            gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) secret = sluice_context_get_secret (fixture->context, "inline", "password", &error);

  g_assert_null (secret);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_cmpstr (error->message, ==,
                   "connection 'inline', key 'password': secrets are not accepted inline; "
                   "use {\"file\": ...} or {\"credential\": ...}");
  /* the secret itself never shows */
  g_assert_null (strstr (error->message, "hunter2"));
}

static void
test_secret_errors (ContextFixture *fixture,
                    gconstpointer   data)
{
  static const struct {
    const char *connection;
    const char *key;
    gint        code;
    const char *prefix;
  } cases[] = {
    { "nowhere", "password", SLUICE_ERROR_NOT_FOUND, "connection 'nowhere' is not defined" },
    { "billing", "token", SLUICE_ERROR_NOT_FOUND, "connection 'billing' has no key 'token'" },
    { "partner", "escape", SLUICE_ERROR_INVALID_CONFIG, "connection 'partner', key 'escape': " },
    { "partner", "missing", SLUICE_ERROR_NOT_FOUND, "connection 'partner', key 'missing': " },
    { "partner", "both", SLUICE_ERROR_INVALID_CONFIG, "connection 'partner', key 'both': " },
    { "partner", "other", SLUICE_ERROR_INVALID_CONFIG, "connection 'partner', key 'other': " },
    { "partner", "number", SLUICE_ERROR_INVALID_CONFIG, "connection 'partner', key 'number': " },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) secret = NULL;

      secret = sluice_context_get_secret (fixture->context, cases[i].connection, cases[i].key, &error);
      g_test_message ("%s/%s: %s", cases[i].connection, cases[i].key,
                      error != NULL ? error->message : "(no error)");
      g_assert_null (secret);
      g_assert_error (error, SLUICE_ERROR, cases[i].code);
      g_assert_true (g_str_has_prefix (error->message, cases[i].prefix));
      g_assert_null (strstr (error->message, "s3cr3t"));
    }
}

static void
test_no_credentials_directory (ContextFixture *fixture,
                               gconstpointer   data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) secret = NULL;

  sluice_context_set_credentials_directory (fixture->context, NULL);
  secret = sluice_context_get_secret (fixture->context, "partner", "token", &error);
  g_assert_null (secret);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "CREDENTIALS_DIRECTORY"));
}

static void
test_credentials_from_environment (ContextFixture *fixture,
                                   gconstpointer   data)
{
  g_autoptr(SluiceContext) context = NULL;
  g_autoptr(JsonObject) connections = parse_object ("{\"p\": {\"k\": {\"credential\": \"raw\"}}}");
  g_autoptr(GBytes) secret = NULL;
  g_autoptr(GError) error = NULL;

  g_setenv ("CREDENTIALS_DIRECTORY", fixture->credentials, TRUE);
  context = sluice_context_new ("env", NULL, NULL);
  g_unsetenv ("CREDENTIALS_DIRECTORY");

  sluice_context_set_connections (context, connections);
  secret = sluice_context_get_secret (context, "p", "k", &error);
  g_assert_no_error (error);
  assert_bytes_eq (secret, "raw-value");
}

static void
test_resolve_secret (ContextFixture *fixture,
                     gconstpointer   data)
{
  g_autoptr(JsonNode) reference = json_from_string ("{\"credential\": \"partner-token\"}", NULL);
  g_autoptr(JsonNode) plain = json_from_string ("\"hunter2\"", NULL);
  g_autoptr(GBytes) secret = NULL;
  g_autoptr(GError) error = NULL;

  secret = sluice_context_resolve_secret (fixture->context, reference, "webhook 'in', key 'hmac'", &error);
  g_assert_no_error (error);
  assert_bytes_eq (secret, "tok-123");

  g_assert_null (sluice_context_resolve_secret (fixture->context, plain, "webhook 'in', key 'hmac'", &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, "webhook 'in', key 'hmac': "));
  g_assert_null (strstr (error->message, "hunter2"));
}

/* Log capture: sluice_log() lines are kept, others go to the default writer. */
static GPtrArray *captured;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  GHashTable *entry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gboolean ours = FALSE;

  for (gsize i = 0; i < n_fields; i++)
    {
      const char *value = fields[i].value;
      gsize len = fields[i].length < 0 ? strlen (value) : (gsize) fields[i].length;

      g_hash_table_insert (entry, g_strdup (fields[i].key), g_strndup (value, len));
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN") && strncmp (value, "sluice", len) == 0)
        ours = TRUE;
    }

  if (!ours || captured == NULL)
    {
      g_hash_table_unref (entry);
      return g_log_writer_default (level, fields, n_fields, user_data);
    }

  g_hash_table_insert (entry, g_strdup ("LEVEL"), g_strdup_printf ("%d", (int) level));
  g_ptr_array_add (captured, entry);
  return G_LOG_WRITER_HANDLED;
}

static void
test_log_fields (ContextFixture *fixture,
                 gconstpointer   data)
{
  g_autoptr(SluiceMessage) message = sluice_message_new ();
  g_autoptr(SluiceMessage) traced = sluice_message_new ();
  g_autofree char *trace_id = NULL;
  GHashTable *entry;

  captured = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);

  sluice_message_set_id (message, "m-1");
  sluice_message_set_traceparent (traced, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  trace_id = sluice_message_dup_trace_id (traced);

  sluice_log (fixture->context, message, G_LOG_LEVEL_INFO, "posted %d orders", 3);
  sluice_log (fixture->context, traced, G_LOG_LEVEL_WARNING, "slow peer");
  sluice_log (NULL, NULL, G_LOG_LEVEL_DEBUG, "bare");
  /* an error line must not abort the daemon */
  sluice_log (fixture->context, NULL, G_LOG_LEVEL_ERROR, "gave up");

  g_assert_cmpuint (captured->len, ==, 4);

  entry = g_ptr_array_index (captured, 0);
  g_assert_cmpstr (g_hash_table_lookup (entry, "MESSAGE"), ==, "orders.post: posted 3 orders");
  g_assert_cmpstr (g_hash_table_lookup (entry, "PRIORITY"), ==, "6");
  g_assert_cmpstr (g_hash_table_lookup (entry, "SLUICE_COMPONENT"), ==, "orders.post");
  g_assert_cmpstr (g_hash_table_lookup (entry, "SLUICE_MESSAGE_ID"), ==, "m-1");
  /* no trace id is made up just to log */
  g_assert_null (g_hash_table_lookup (entry, "SLUICE_TRACE_ID"));
  g_assert_null (sluice_message_get_traceparent (message));

  entry = g_ptr_array_index (captured, 1);
  g_assert_cmpstr (g_hash_table_lookup (entry, "PRIORITY"), ==, "4");
  g_assert_cmpstr (g_hash_table_lookup (entry, "SLUICE_TRACE_ID"), ==, trace_id);
  g_assert_cmpstr (g_hash_table_lookup (entry, "SLUICE_MESSAGE_ID"), ==,
                   sluice_message_get_id (traced));

  entry = g_ptr_array_index (captured, 2);
  g_assert_cmpstr (g_hash_table_lookup (entry, "MESSAGE"), ==, "bare");
  g_assert_cmpstr (g_hash_table_lookup (entry, "PRIORITY"), ==, "7");
  g_assert_null (g_hash_table_lookup (entry, "SLUICE_COMPONENT"));
  g_assert_null (g_hash_table_lookup (entry, "SLUICE_MESSAGE_ID"));

  entry = g_ptr_array_index (captured, 3);
  g_assert_cmpstr (g_hash_table_lookup (entry, "PRIORITY"), ==, "3");
  g_assert_cmpstr (g_hash_table_lookup (entry, "MESSAGE"), ==, "orders.post: gave up");

  g_clear_pointer (&captured, g_ptr_array_unref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (capture_writer, NULL, NULL);

  g_test_summary ("SluiceContext: connections, secrets by reference only, structured logs");

#define ADD(path, func) \
  g_test_add (path, ContextFixture, NULL, context_fixture_set_up, func, context_fixture_tear_down)

  ADD ("/context/basics/clock-and-child", test_basics);
  ADD ("/context/connection/missing-names-known", test_connection_missing);
  ADD ("/context/secret/file-strips-one-newline", test_secret_file);
  ADD ("/context/secret/credential-directory", test_secret_credential);
  ADD ("/context/secret/inline-refused", test_secret_inline_refused);
  ADD ("/context/secret/errors-name-connection-and-key", test_secret_errors);
  ADD ("/context/secret/no-credentials-directory", test_no_credentials_directory);
  ADD ("/context/secret/credentials-directory-from-environment", test_credentials_from_environment);
  ADD ("/context/secret/resolve-reference", test_resolve_secret);
  ADD ("/context/log/structured-fields", test_log_fields);

#undef ADD

  return g_test_run ();
}
