/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <glib/gstdio.h>
#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "redis-test-util.h"

#define PASSWORD "s3cret-pass-1234"
#define WRONG_PASSWORD "not-the-password-98"
#define HOUR_USEC (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

/* A server that wants a password. */
static RedisTestServer *server;

typedef struct
{
  char          *tmpdir;
  char          *right_file;
  char          *wrong_file;
  SluiceClock   *clock;
  SluiceContext *context;
} Fixture;

static char *
write_secret (const char *dir,
              const char *name,
              const char *secret)
{
  g_autoptr (GError) error = NULL;
  char            *path = g_build_filename (dir, name, NULL);
  g_autofree char *contents = g_strconcat (secret, "\n", NULL);

  g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);
  return path;
}

static void
fixture_setup (Fixture      *f,
               gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *connections_json = NULL;
  g_autoptr (JsonNode) connections = NULL;

  f->tmpdir = g_dir_make_tmp ("sluice-redis-auth-XXXXXX", &error);
  g_assert_no_error (error);
  f->right_file = write_secret (f->tmpdir, "redis-password", PASSWORD);
  f->wrong_file = write_secret (f->tmpdir, "wrong-password", WRONG_PASSWORD);

  f->clock = sluice_clock_new_system ();
  f->context = sluice_context_new ("test/redis-auth", f->clock, NULL);
  sluice_context_set_credentials_directory (f->context, f->tmpdir);

  connections_json = g_strdup_printf (
      "{\"main\": {\"url\": \"%s\", \"password\": {\"credential\": \"redis-password\"}},"
      " \"nopass\": {\"url\": \"%s\"},"
      " \"nourl\": {\"password\": {\"credential\": \"redis-password\"}}}",
      redis_test_server_get_url (server), redis_test_server_get_url (server));
  connections = json_from_string (connections_json, &error);
  g_assert_no_error (error);
  sluice_context_set_connections (f->context, json_node_get_object (connections));
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer user_data)
{
  g_clear_object (&f->context);
  g_clear_object (&f->clock);
  g_unlink (f->right_file);
  g_unlink (f->wrong_file);
  g_rmdir (f->tmpdir);
  g_free (f->right_file);
  g_free (f->wrong_file);
  g_free (f->tmpdir);
}

static SluiceBatchStore *
store_from (Fixture    *f,
            const char *config)
{
  g_autoptr (GError) error = NULL;
  GObject *store = redis_test_create ("redis.batch-store", f->context, config, &error);

  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_BATCH_STORE (store));
  return SLUICE_BATCH_STORE (store);
}

/* The first operation of a store shows whether it got through. */
static void
assert_works (SluiceBatchStore *store,
              const char       *batch_id)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (redis_test_batch_create (store, batch_id, 10, 0, HOUR_USEC, &error));
  g_assert_no_error (error);
  redis_test_assert_counts (store, batch_id, SLUICE_BATCH_OPEN, 0, 0, 0, 0);
}

static GError *
first_error (SluiceBatchStore *store)
{
  GError *error = NULL;
  g_autoptr (SluiceBatchInfo) info = redis_test_batch_get_info (store, "any", &error);

  g_assert_null (info);
  g_assert_nonnull (error);
  return error;
}

static void
assert_no_secret (const char *text)
{
  g_assert_null (strstr (text, PASSWORD));
  g_assert_null (strstr (text, WRONG_PASSWORD));
}

static void
test_password_file (Fixture      *f,
                    gconstpointer user_data)
{
  g_autofree char *config = g_strdup_printf ("{\"url\": \"%s\", \"password\": {\"file\": \"%s\"}}",
                                             redis_test_server_get_url (server), f->right_file);
  g_autoptr (SluiceBatchStore) store = store_from (f, config);

  assert_works (store, "by-file");
}

static void
test_connection_credential (Fixture      *f,
                            gconstpointer user_data)
{
  g_autoptr (SluiceBatchStore) store = store_from (f, "{\"connection\": \"main\"}");
  g_autoptr (SluiceStateStore) state = NULL;
  g_autoptr (GError) error = NULL;

  assert_works (store, "by-connection");

  state = SLUICE_STATE_STORE (redis_test_create ("redis.state-store", f->context,
                                                 "{\"connection\": \"main\"}", &error));
  g_assert_no_error (error);
  g_assert_nonnull (state);
}

static void
test_wrong_password (Fixture      *f,
                     gconstpointer user_data)
{
  g_autofree char *config = g_strdup_printf ("{\"url\": \"%s\", \"password\": {\"file\": \"%s\"}}",
                                             redis_test_server_get_url (server), f->wrong_file);
  g_autoptr (SluiceBatchStore) store = store_from (f, config);
  g_autoptr (GError) error = first_error (store);
  g_autofree char *expected = g_strdup_printf ("%s: authentication failed: WRONGPASS",
                                               redis_test_server_get_url (server));

  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PERMISSION_DENIED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, expected));
  assert_no_secret (error->message);
}

static void
test_no_password (Fixture      *f,
                  gconstpointer user_data)
{
  g_autoptr (SluiceBatchStore) store = store_from (f, "{\"connection\": \"nopass\"}");
  g_autoptr (GError) error = first_error (store);
  g_autofree char *expected = g_strdup_printf ("%s: authentication failed: NOAUTH",
                                               redis_test_server_get_url (server));

  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PERMISSION_DENIED);
  g_assert_true (g_str_has_prefix (error->message, expected));
}

static void
assert_config_error (Fixture    *f,
                     const char *config,
                     int         code,
                     const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GObject) store = redis_test_create ("redis.batch-store", f->context, config, &error);

  g_assert_null (store);
  g_assert_error (error, SLUICE_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expected));
  assert_no_secret (error->message);
}

static void
test_bad_config (Fixture      *f,
                 gconstpointer user_data)
{
  assert_config_error (f, "{\"url\": \"http://localhost:6379\"}", SLUICE_ERROR_INVALID_CONFIG,
                       "redis.batch-store, key 'url': 'http://localhost:6379' is not a Redis URL");
  assert_config_error (f, "{\"url\": \"not a url\"}", SLUICE_ERROR_INVALID_CONFIG,
                       "'not a url' is not a URL");
  assert_config_error (f, "{\"url\": \"redis://127.0.0.1:6379/x\"}", SLUICE_ERROR_INVALID_CONFIG,
                       "the database must be a number from 0 to");
  assert_config_error (f, "{\"url\": \"redis:///0\"}", SLUICE_ERROR_INVALID_CONFIG, "has no host");
  assert_config_error (f, "{\"url\": \"redis://u:" PASSWORD "@127.0.0.1:6379/0\"}",
                       SLUICE_ERROR_INVALID_CONFIG, "the URL must not contain a password");
  assert_config_error (f, "{\"url\": \"rediss://127.0.0.1/0\"}", SLUICE_ERROR_INVALID_CONFIG,
                       "TLS (rediss://) is not supported");
  assert_config_error (f, "{\"url\": \"unix://host/tmp/x.sock\"}", SLUICE_ERROR_INVALID_CONFIG,
                       "a unix socket URL has no host");
  assert_config_error (f, "{\"url\": \"unix:///tmp/x.sock?database=1\"}",
                       SLUICE_ERROR_INVALID_CONFIG, "unknown parameter 'database=1'");
  assert_config_error (f, "{}", SLUICE_ERROR_INVALID_CONFIG, "key 'url' is required");
  assert_config_error (f, "{\"url\": \"redis://127.0.0.1/0\", \"timeout\": \"soon\"}",
                       SLUICE_ERROR_INVALID_CONFIG, "redis.batch-store, key 'timeout'");
  assert_config_error (f, "{\"url\": \"redis://127.0.0.1/0\", \"reconnect_max\": \"10ms\"}",
                       SLUICE_ERROR_INVALID_CONFIG, "'10ms' is too short (at least 100ms)");
  assert_config_error (f, "{\"url\": \"redis://127.0.0.1/0\", \"prefix\": \"a{b}\"}",
                       SLUICE_ERROR_INVALID_CONFIG, "key 'prefix'");
  assert_config_error (f, "{\"url\": \"redis://127.0.0.1/0\", \"password\": \"" PASSWORD "\"}",
                       SLUICE_ERROR_INVALID_CONFIG, "secrets are not accepted inline");
  assert_config_error (f,
                       "{\"url\": \"redis://127.0.0.1/0\", "
                       "\"password\": {\"file\": \"/nonexistent/pw\"}}",
                       SLUICE_ERROR_NOT_FOUND, "redis.batch-store, key 'password'");
  assert_config_error (f, "{\"connection\": \"missing\"}", SLUICE_ERROR_NOT_FOUND,
                       "connection 'missing' is not defined");
  assert_config_error (f, "{\"connection\": \"nourl\"}", SLUICE_ERROR_INVALID_CONFIG,
                       "connection 'nourl' has no 'url'");
}

static void
test_unreachable (Fixture      *f,
                  gconstpointer user_data)
{
  g_autoptr (RedisTestServer) gone = redis_test_server_start (NULL);
  g_autofree char *url = g_strdup (redis_test_server_get_url (gone));
  g_autofree char *config = NULL;
  g_autofree char *expected = NULL;
  g_autoptr (SluiceBatchStore) store = NULL;
  g_autoptr (GError) error = NULL;

  /* A port where nothing listens any more. */
  redis_test_server_kill (gone);
  config = g_strdup_printf ("{\"url\": \"%s\", \"reconnect_max\": \"200ms\"}", url);
  store = store_from (f, config);

  error = first_error (store);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE);
  expected = g_strdup_printf ("%s is unavailable: Connection refused", url);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  /* It keeps trying in the background, and fails the same meanwhile. */
  redis_test_spin (300);
  error = first_error (store);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_bad_database (Fixture      *f,
                   gconstpointer user_data)
{
  g_autofree char *config = g_strdup_printf (
      "{\"url\": \"redis://127.0.0.1:%u/9\", \"password\": {\"file\": \"%s\"}}",
      redis_test_server_get_port (server), f->right_file);
  g_autoptr (SluiceBatchStore) store = store_from (f, config);
  g_autoptr (GError) error = first_error (store);

  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "cannot select database 9"));
}

static void
test_hostname (Fixture      *f,
               gconstpointer user_data)
{
  g_autofree char *config = g_strdup_printf (
      "{\"url\": \"redis://localhost:%u/1\", \"password\": {\"file\": \"%s\"}}",
      redis_test_server_get_port (server), f->right_file);
  g_autoptr (SluiceBatchStore) store = store_from (f, config);
  g_autoptr (redisContext) ctx = NULL;
  g_autoptr (redisReply) selected = NULL;
  g_autoptr (redisReply) exists = NULL;

  /* localhost may resolve to ::1 first, where this server does not
   * listen: the next address is tried. */
  assert_works (store, "by-name");

  ctx = redis_test_server_connect (server);
  selected = redisCommand (ctx, "SELECT 1");
  g_assert_cmpint (selected->type, ==, REDIS_REPLY_STATUS);
  exists = redisCommand (ctx, "EXISTS sluice:batch:{by-name}:meta");
  g_assert_cmpint (exists->type, ==, REDIS_REPLY_INTEGER);
  g_assert_cmpint (exists->integer, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  RedisTestServerOptions options = { .password = PASSWORD };
  int                    ret;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("Configuring the redis stores: URLs, passwords from files and credentials, "
                  "and the errors for a wrong password, an unreachable server and bad settings");

  server = redis_test_server_start (&options);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/redis/auth/password-file", test_password_file);
  ADD ("/redis/auth/connection-credential", test_connection_credential);
  ADD ("/redis/auth/wrong-password", test_wrong_password);
  ADD ("/redis/auth/no-password", test_no_password);
  ADD ("/redis/config/bad-settings", test_bad_config);
  ADD ("/redis/connection/unreachable", test_unreachable);
  ADD ("/redis/connection/bad-database", test_bad_database);
  ADD ("/redis/connection/hostname", test_hostname);
#undef ADD

  ret = g_test_run ();
  redis_test_server_free (server);
  return ret;
}
