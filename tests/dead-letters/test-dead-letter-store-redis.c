/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dead-letter-store-tests.h"
#include "redis-test-server.h"
#include "sluice-plugin-host.h"

#define COMPONENT "redis.dead-letter-store"

static RedisTestServer  *server;
static SluicePluginHost *host;

/* A redis.dead-letter-store made the way sluiced makes it: through the
 * loaded plugin's factory. */
static SluiceDeadLetterStore *
create_store_config (const char *url,
                     const char *prefix,
                     const char *timeout,
                     GError    **error)
{
  g_autoptr (SluiceClock) clock = sluice_clock_new_system ();
  g_autoptr (SluiceContext) context = sluice_context_new ("test/dead-letters", clock, NULL);
  g_autoptr (JsonObject) config = json_object_new ();
  SluiceComponentFactory *factory = sluice_plugin_host_lookup (host, COMPONENT);
  GObject                *store;

  g_assert_nonnull (factory);
  g_assert_cmpint (sluice_component_factory_get_kind (factory), ==,
                   SLUICE_COMPONENT_DEAD_LETTER_STORE);
  json_object_set_string_member (config, "url", url);
  json_object_set_string_member (config, "prefix", prefix);
  if (timeout != NULL)
    json_object_set_string_member (config, "timeout", timeout);
  store = sluice_component_factory_create (factory, context, config, error);
  return store != NULL ? SLUICE_DEAD_LETTER_STORE (store) : NULL;
}

static SluiceDeadLetterStore *
create_store (const char *prefix)
{
  g_autoptr (GError) error = NULL;
  SluiceDeadLetterStore *store;

  store = create_store_config (redis_test_server_get_url (server), prefix, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static char *
prefix_for (const char *tag)
{
  return g_strdup_printf ("dl-%s:", tag);
}

static SluiceDeadLetterStore *
create_redis_store (const DeadLetterBackend *backend,
                    const char              *tag)
{
  g_autofree char *prefix = prefix_for (tag);

  return create_store (prefix);
}

static const DeadLetterBackend backends[] = {
  { "redis", create_redis_store },
};

static gint64
integer_command (const char *format,
                 const char *key)
{
  g_autoptr (redisReply) reply = redis_test_server_command (server, format, key);

  g_assert_cmpint (reply->type, ==, REDIS_REPLY_INTEGER);
  return reply->integer;
}

static guint
count_keys (const char *prefix)
{
  g_autofree char *pattern = g_strconcat (prefix, "*", NULL);
  g_autoptr (redisReply) reply = redis_test_server_command (server, "KEYS %s", pattern);

  g_assert_cmpint (reply->type, ==, REDIS_REPLY_ARRAY);
  return (guint) reply->elements;
}

static GPtrArray *
all_ids (GPtrArray *letters)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < letters->len; i++)
    g_ptr_array_add (ids, g_strdup (((SluiceDeadLetter *) g_ptr_array_index (letters, i))->id));
  return ids;
}

/* Two hosts on one Redis: what one keeps, replaces or removes, the other
 * sees at once. */
static void
test_two_instances (void)
{
  g_autoptr (SluiceDeadLetterStore) a = create_store ("dl-shared:");
  g_autoptr (SluiceDeadLetterStore) b = create_store ("dl-shared:");
  g_autoptr (GPtrArray) letters = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (SluiceDeadLetter) replaced = NULL;
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GError) error = NULL;
  guint64 removed = 0;

  letters = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_dead_letter_free);
  for (guint i = 0; i < 100; i++)
    g_ptr_array_add (letters, dead_letter_numbered (i));
  dead_letter_put_all (a, letters);

  page = dead_letter_list (b, NULL, 0, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 100);
  for (guint i = 0; i < page->len; i++)
    {
      SluiceDeadLetter *seen = g_ptr_array_index (page, i);

      dead_letter_assert_equal (seen, g_ptr_array_index (letters, g_ascii_strtoull (seen->id + 3,
                                                                                    NULL, 10)));
    }
  g_clear_pointer (&page, g_ptr_array_unref);

  replaced = dead_letter_numbered (5);
  g_free (replaced->error);
  replaced->error = g_strdup ("replayed and failed again");
  replaced->attempts = 12;
  g_assert_true (dead_letter_put (b, replaced, &error));
  g_assert_no_error (error);
  got = dead_letter_get (a, replaced->id, &error);
  g_assert_no_error (error);
  dead_letter_assert_equal (got, replaced);

  ids = all_ids (letters);
  g_ptr_array_set_size (ids, 10);
  g_assert_true (dead_letter_remove (a, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 10);
  /* Already gone, whoever asks. */
  g_assert_true (dead_letter_remove (b, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 0);
  page = dead_letter_list (b, NULL, 0, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 90);
}

static void
test_prefixes_apart (void)
{
  g_autoptr (SluiceDeadLetterStore) a = create_store ("dl-apart-a:");
  g_autoptr (SluiceDeadLetterStore) b = create_store ("dl-apart-b:");
  g_autoptr (SluiceDeadLetter) letter = dead_letter_numbered (1);
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (dead_letter_put (a, letter, &error));
  g_assert_no_error (error);
  got = dead_letter_get (b, letter->id, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  page = dead_letter_list (b, NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 0);
}

/* Ids that look like the store's own key names stay letters. */
static void
test_ids_like_key_names (void)
{
  const char *const ids[] = { "index", "wf:wf", "letter:x", "dl:index", "", "a b\tc" };
  g_autoptr (SluiceDeadLetterStore) store = create_store ("dl-names:");
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GPtrArray) remove = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  guint64 removed = 0;

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new (ids[i], "wf");
      g_autoptr (SluiceDeadLetter) got = NULL;

      letter->first_usec = i;
      g_assert_true (dead_letter_put (store, letter, &error));
      g_assert_no_error (error);
      got = dead_letter_get (store, ids[i], &error);
      g_assert_no_error (error);
      dead_letter_assert_equal (got, letter);
      g_ptr_array_add (remove, g_strdup (ids[i]));
    }
  page = dead_letter_list (store, NULL, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, G_N_ELEMENTS (ids));
  for (guint i = 0; i < page->len; i++)
    g_assert_cmpstr (((SluiceDeadLetter *) g_ptr_array_index (page, i))->id, ==, ids[i]);

  g_assert_true (dead_letter_remove (store, remove, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, G_N_ELEMENTS (ids));
  g_assert_cmpuint (count_keys ("dl-names:"), ==, 0);
}

/* The indexes follow every change: a letter moved to another workflow
 * leaves the old workflow's index, and removing everything leaves no key
 * behind. */
static void
test_indexes_consistent (void)
{
  g_autoptr (SluiceDeadLetterStore) store = create_store ("dl-keys:");
  g_autoptr (SluiceDeadLetter) letter = sluice_dead_letter_new ("moving", "wf-a");
  g_autoptr (SluiceDeadLetter) stays = sluice_dead_letter_new ("stays", "wf-a");
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  guint64 removed = 0;

  g_assert_true (dead_letter_put (store, letter, &error));
  g_assert_true (dead_letter_put (store, stays, &error));
  g_assert_no_error (error);
  g_assert_cmpint (integer_command ("ZCARD %s", "dl-keys:dl:wf:wf-a"), ==, 2);

  g_free (letter->workflow);
  letter->workflow = g_strdup ("wf-b");
  letter->first_usec = 1000;
  g_assert_true (dead_letter_put (store, letter, &error));
  g_assert_no_error (error);
  g_assert_cmpint (integer_command ("ZCARD %s", "dl-keys:dl:wf:wf-a"), ==, 1);
  g_assert_cmpint (integer_command ("ZCARD %s", "dl-keys:dl:wf:wf-b"), ==, 1);
  g_assert_cmpint (integer_command ("ZCARD %s", "dl-keys:dl:index"), ==, 2);

  g_ptr_array_add (ids, g_strdup ("moving"));
  g_ptr_array_add (ids, g_strdup ("stays"));
  g_assert_true (dead_letter_remove (store, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);
  g_assert_cmpuint (count_keys ("dl-keys:"), ==, 0);
}

/* A server that lost its scripts (restart, SCRIPT FLUSH) still takes
 * puts and removes. */
static void
test_scripts_flushed (void)
{
  g_autoptr (SluiceDeadLetterStore) store = create_store ("dl-flush:");
  g_autoptr (SluiceDeadLetter) letter = dead_letter_numbered (4);
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (redisReply) flush1 = NULL;
  g_autoptr (redisReply) flush2 = NULL;
  guint64 removed = 0;

  flush1 = redis_test_server_command (server, "SCRIPT FLUSH");
  g_assert_true (dead_letter_put (store, letter, &error));
  g_assert_no_error (error);
  got = dead_letter_get (store, letter->id, &error);
  g_assert_no_error (error);
  dead_letter_assert_equal (got, letter);

  flush2 = redis_test_server_command (server, "SCRIPT FLUSH");
  g_ptr_array_add (ids, g_strdup (letter->id));
  g_assert_true (dead_letter_remove (store, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 1);
}

/* A hash that is not what the store wrote gives an error naming the dead
 * letter and its key, and can still be removed. */
static void
test_corrupt_letter (void)
{
  g_autoptr (SluiceDeadLetterStore) store = create_store ("dl-bad:");
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GPtrArray) page = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (redisReply) hset = NULL;
  g_autoptr (redisReply) zadd = NULL;
  guint64 removed = 0;

  hset = redis_test_server_command (server, "HSET dl-bad:dl:letter:broken meta %s workflow wf "
                                            "last 1 at %s",
                                    "{\"id\": \"broken\", \"workflow\": 7}",
                                    "0000000000000000001:broken");
  zadd = redis_test_server_command (server, "ZADD dl-bad:dl:index 0 %s",
                                    "0000000000000000001:broken");

  got = dead_letter_get (store, "broken", &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "'broken'"));
  g_assert_nonnull (strstr (error->message, "dl-bad:dl:letter:broken"));
  g_assert_nonnull (strstr (error->message, "workflow"));
  g_clear_error (&error);

  page = dead_letter_list (store, NULL, 0, 10, &error);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA);
  g_assert_null (page);
  g_clear_error (&error);

  g_ptr_array_add (ids, g_strdup ("broken"));
  g_assert_true (dead_letter_remove (store, ids, &removed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 1);
  g_assert_cmpuint (count_keys ("dl-bad:"), ==, 0);
}

/* Redis away: a clear error naming the server, and back to work once it
 * is there again. */
static void
test_unavailable (void)
{
  g_autoptr (RedisTestServer) own = redis_test_server_start (NULL);
  g_autoptr (SluiceDeadLetterStore) store = NULL;
  g_autoptr (SluiceDeadLetter) letter = dead_letter_numbered (9);
  g_autoptr (SluiceDeadLetter) got = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *port = NULL;
  gint64           deadline;
  gboolean         stored = FALSE;

  store = create_store_config (redis_test_server_get_url (own), "dl-away:", "2s", &error);
  g_assert_no_error (error);
  g_assert_true (dead_letter_put (store, letter, &error));
  g_assert_no_error (error);

  redis_test_server_stop (own);
  g_assert_false (dead_letter_put (store, letter, &error));
  g_assert_nonnull (error);
  g_assert_true (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE) ||
                 g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_TIMEOUT));
  port = g_strdup_printf ("127.0.0.1:%u", redis_test_server_get_port (own));
  g_assert_nonnull (strstr (error->message, port));
  g_clear_error (&error);

  redis_test_server_restart (own);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!stored && g_get_monotonic_time () < deadline)
    {
      stored = dead_letter_put (store, letter, &error);
      if (!stored)
        {
          g_assert_true (sluice_error_is_retryable (error));
          g_clear_error (&error);
          g_usleep (50 * 1000);
        }
    }
  g_assert_true (stored);
  got = dead_letter_get (store, letter->id, &error);
  g_assert_no_error (error);
  dead_letter_assert_equal (got, letter);
}

static void
test_bad_config (void)
{
  g_autoptr (SluiceDeadLetterStore) store = NULL;
  g_autoptr (GError) error = NULL;

  store = create_store_config (redis_test_server_get_url (server), "{braces}", NULL, &error);
  g_assert_null (store);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, COMPONENT));
  g_assert_nonnull (strstr (error->message, "prefix"));
}

int
main (int    argc,
      char **argv)
{
  g_auto (GStrv) path = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The redis dead-letter store, loaded through the plugin host, on a private "
                  "redis-server: the shared store behaviour, several hosts on one Redis, and "
                  "what happens when Redis is away or holds something unexpected");

  path = sluice_plugin_host_build_search_path (NULL, NULL);
  host = sluice_plugin_host_new ();
  sluice_plugin_host_load_directories (host, (const char *const *) path);
  g_assert_nonnull (sluice_plugin_host_lookup (host, COMPONENT));
  server = redis_test_server_start (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (backends); i++)
    dead_letter_store_tests_add (&backends[i]);
  g_test_add_func ("/dead-letters/store/redis/two-instances-share", test_two_instances);
  g_test_add_func ("/dead-letters/store/redis/prefixes-apart", test_prefixes_apart);
  g_test_add_func ("/dead-letters/store/redis/ids-like-key-names", test_ids_like_key_names);
  g_test_add_func ("/dead-letters/store/redis/indexes-consistent", test_indexes_consistent);
  g_test_add_func ("/dead-letters/store/redis/scripts-flushed", test_scripts_flushed);
  g_test_add_func ("/dead-letters/store/redis/corrupt-letter", test_corrupt_letter);
  g_test_add_func ("/dead-letters/store/redis/unavailable", test_unavailable);
  g_test_add_func ("/dead-letters/store/redis/bad-config", test_bad_config);

  status = g_test_run ();
  dead_letter_store_tests_clear ();
  redis_test_server_free (server);
  g_clear_object (&host);
  return status;
}
