/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* redis.stream.send and redis.stream.receive on a private redis-server:
 * the components on their own (with this file playing the host, credit
 * included) and through the engine, and a sluiced that dies holding an
 * entry. */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sluice/sluice.h>

#include "redis-test-server.h"
#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "sluice-workflow.h"
#include "test-components.h"

#define STREAM "orders"
#define WAIT_MS 20000

static RedisTestServer *server;
static guint fixture_count;

typedef struct {
  SluicePluginHost *host;
  SluiceClock      *clock;
  SluiceContext    *context;
  SluiceEngine     *engine;
  char             *prefix;
  char             *key; /* the stream's key */
  char             *tmpdir;
  redisContext     *redis;
} Fixture;

/* This file as a trigger's host: keeps what it emits, and gives it the
 * credit an engine with a concurrency of @limit would. */
typedef struct {
  GObject   *trigger;
  GPtrArray *events;      /* SluiceEvent, in order of emission */
  guint      limit;       /* 0: no limit */
  guint      outstanding; /* emitted, not settled yet */
  guint      max_outstanding;
  guint      max_pending; /* the group's pending count, seen at each emission */
  guint      settled;
  guint      settle_errors;
  Fixture   *fixture;
  const char *group;      /* to sample the pending count with, or NULL */
} Host;

/* ---- Waiting ---- */

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @condition holds; fails the test after
 * @ms milliseconds. */
#define WAIT_UNTIL(condition, ms)                                                   \
  G_STMT_START {                                                                    \
    gboolean timed_out_ = FALSE;                                                    \
    guint    timer_ = g_timeout_add ((ms), on_timeout, &timed_out_);                \
    while (!(condition) && !timed_out_)                                             \
      g_main_context_iteration (NULL, TRUE);                                        \
    if (!timed_out_)                                                                \
      g_source_remove (timer_);                                                     \
    if (!(condition))                                                               \
      g_error ("timed out after %u ms waiting for %s", (guint) (ms), #condition);   \
  } G_STMT_END

static void
spin_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, on_timeout, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* ---- Redis, directly ---- */

static redisReply *
command (Fixture *fixture, const char *format, ...)
{
  redisReply *reply;
  va_list args;

  va_start (args, format);
  reply = redisvCommand (fixture->redis, format, args);
  va_end (args);
  g_assert_nonnull (reply);
  return reply;
}

static guint
pending_count (Fixture *fixture, const char *group)
{
  g_autoptr(redisReply) reply = command (fixture, "XPENDING %s %s", fixture->key, group);

  if (reply->type == REDIS_REPLY_ERROR)
    {
      g_assert_true (g_str_has_prefix (reply->str, "NOGROUP"));
      return 0;
    }
  g_assert_cmpint (reply->type, ==, REDIS_REPLY_ARRAY);
  return (guint) reply->element[0]->integer;
}

/* The pending entries of @consumer in @group. */
static guint
pending_of (Fixture *fixture, const char *group, const char *consumer)
{
  g_autoptr(redisReply) reply = command (fixture, "XPENDING %s %s - + 1000 %s", fixture->key,
                                         group, consumer);

  if (reply->type == REDIS_REPLY_ERROR)
    return 0;
  return (guint) reply->elements;
}

static char *
xadd (Fixture *fixture, const char *body)
{
  g_autoptr(redisReply) reply = command (fixture, "XADD %s * body %s content-type text/plain",
                                         fixture->key, body);

  g_assert_cmpint (reply->type, ==, REDIS_REPLY_STRING);
  return g_strdup (reply->str);
}

static void
xadd_numbered (Fixture *fixture, guint first, guint count)
{
  for (guint i = first; i < first + count; i++)
    {
      g_autofree char *body = g_strdup_printf ("message-%u", i);

      redisAppendCommand (fixture->redis, "XADD %s * body %s", fixture->key, body);
    }
  for (guint i = 0; i < count; i++)
    {
      redisReply *reply = NULL;

      g_assert_cmpint (redisGetReply (fixture->redis, (void **) &reply), ==, REDIS_OK);
      g_assert_cmpint (reply->type, ==, REDIS_REPLY_STRING);
      freeReplyObject (reply);
    }
}

/* ---- Fixture ---- */

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) path = sluice_plugin_host_build_search_path (NULL, NULL);

  fixture->host = sluice_plugin_host_new ();
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_true (test_components_register (fixture->host, &error));
  g_assert_no_error (error);
  sluice_plugin_host_load_directories (fixture->host, (const char * const *) path);
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "redis.stream.receive"));
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "redis.stream.send"));

  fixture->clock = sluice_clock_new_system ();
  fixture->context = sluice_context_new ("test", fixture->clock, NULL);
  fixture->engine = sluice_engine_new (fixture->context);
  fixture->prefix = g_strdup_printf ("t%u:", ++fixture_count);
  fixture->key = g_strconcat (fixture->prefix, STREAM, NULL);
  fixture->tmpdir = g_dir_make_tmp ("sluice-stream-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->redis = redis_test_server_connect (server);
  test_recorder_reset (fixture->clock);
}

static void
on_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Drops the last reference to @object and waits until it is gone: a
 * receiver lives on until the replies it waits for are in. */
static void
destroy_and_wait (gpointer object)
{
  GObject *weak = object;

  if (object == NULL)
    return;
  g_object_add_weak_pointer (weak, (gpointer *) &weak);
  g_object_unref (object);
  WAIT_UNTIL (weak == NULL, WAIT_MS);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  gboolean done = FALSE;
  GPtrArray *triggers = g_ptr_array_new ();

  /* The engine's triggers, to see them go after the engine. */
  for (guint i = 1; i <= 4; i++)
    {
      g_autofree char *name = g_strdup_printf ("w%u", i);
      GObject *trigger = sluice_engine_get_trigger (fixture->engine, name);

      if (trigger != NULL)
        g_ptr_array_add (triggers, g_object_ref (trigger));
    }

  test_recorder_release (G_MAXUINT);
  sluice_engine_shutdown_async (fixture->engine, G_USEC_PER_SEC, NULL, on_done, &done);
  WAIT_UNTIL (done, WAIT_MS);
  g_clear_object (&fixture->engine);
  for (guint i = 0; i < triggers->len; i++)
    destroy_and_wait (g_ptr_array_index (triggers, i));
  g_ptr_array_unref (triggers);

  {
    g_autoptr(redisReply) reply = command (fixture, "DEL %s", fixture->key);
  }
  redisFree (fixture->redis);
  remove_tree (fixture->tmpdir);
  g_free (fixture->tmpdir);
  g_free (fixture->key);
  g_free (fixture->prefix);
  g_clear_object (&fixture->context);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->host);
  test_recorder_reset (NULL);
}

/* ---- Components ---- */

/* Makes @component with the test server, the fixture's prefix and the
 * stream, and the JSON members in @extra ("" for none). */
static GObject *
try_create (Fixture *fixture, const char *component, const char *extra, GError **error)
{
  g_autofree char *text = g_strdup_printf ("{\"url\": \"%s\", \"prefix\": \"%s\", "
                                           "\"stream\": \"" STREAM "\"%s%s}",
                                           redis_test_server_get_url (server), fixture->prefix,
                                           *extra != '\0' ? ", " : "", extra);
  g_autoptr(JsonNode) node = json_from_string (text, error);
  g_autoptr(SluiceContext) context = sluice_context_new_child (fixture->context, component);

  if (node == NULL)
    return NULL;
  return sluice_component_factory_create (sluice_plugin_host_lookup (fixture->host, component),
                                          context, json_node_get_object (node), error);
}

static GObject *
create (Fixture *fixture, const char *component, const char *extra)
{
  g_autoptr(GError) error = NULL;
  GObject *object = try_create (fixture, component, extra, &error);

  g_assert_no_error (error);
  g_assert_nonnull (object);
  return object;
}

static void
host_update_credit (Host *host)
{
  if (host->limit > 0)
    sluice_trigger_set_credit (SLUICE_TRIGGER (host->trigger),
                               host->outstanding < host->limit ? host->limit - host->outstanding
                                                               : 0);
}

static void
on_event (SluiceTrigger *trigger, SluiceEvent *event, gpointer user_data)
{
  Host *host = user_data;

  g_ptr_array_add (host->events, g_object_ref (event));
  host->outstanding++;
  host->max_outstanding = MAX (host->max_outstanding, host->outstanding);
  if (host->group != NULL)
    host->max_pending = MAX (host->max_pending, pending_count (host->fixture, host->group));
  host_update_credit (host);
}

static void
host_init (Host *host, Fixture *fixture, GObject *trigger, guint limit)
{
  g_autoptr(GError) error = NULL;

  memset (host, 0, sizeof *host);
  host->fixture = fixture;
  host->trigger = trigger;
  host->limit = limit;
  host->events = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (trigger, "event", G_CALLBACK (on_event), host);
  host_update_credit (host);
  g_assert_true (sluice_trigger_start (SLUICE_TRIGGER (trigger), &error));
  g_assert_no_error (error);
}

/* Stops the trigger, drops the events it emitted (settled or not) and
 * waits until the trigger is gone. */
static void
host_clear (Host *host)
{
  if (host->trigger == NULL)
    return;
  sluice_trigger_stop (SLUICE_TRIGGER (host->trigger));
  g_signal_handlers_disconnect_by_data (host->trigger, host);
  g_clear_pointer (&host->events, g_ptr_array_unref);
  destroy_and_wait (g_steal_pointer (&host->trigger));
}

typedef struct {
  Host *host;
  int   kind; /* 0 ack, 1 dead-letter, 2 hand back */
} Settle;

static void
on_settled (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Settle *settle = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (settle->kind == 0)
    ok = sluice_event_ack_finish (SLUICE_EVENT (object), result, &error);
  else if (settle->kind == 1)
    ok = sluice_event_dead_letter_finish (SLUICE_EVENT (object), result, &error);
  else
    ok = sluice_event_retry_finish (SLUICE_EVENT (object), result, &error);
  if (!ok)
    {
      g_test_message ("settling failed: %s", error->message);
      settle->host->settle_errors++;
    }
  settle->host->settled++;
  settle->host->outstanding--;
  host_update_credit (settle->host);
  g_free (settle);
}

static void
host_settle (Host *host, SluiceEvent *event, int kind)
{
  Settle *settle = g_new0 (Settle, 1);

  settle->host = host;
  settle->kind = kind;
  if (kind == 0)
    sluice_event_ack_async (event, NULL, on_settled, settle);
  else if (kind == 1)
    {
      g_autoptr(GError) reason = g_error_new_literal (SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                                                      "poison");

      sluice_event_dead_letter_async (event, reason, NULL, on_settled, settle);
    }
  else
    sluice_event_retry_async (event, 0, NULL, on_settled, settle);
}

static void
host_settle_all (Host *host, guint from, int kind)
{
  for (guint i = from; i < host->events->len; i++)
    host_settle (host, g_ptr_array_index (host->events, i), kind);
}

static char *
body_of (SluiceMessage *message)
{
  GBytes *bytes = sluice_message_get_bytes (message);

  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static SluiceMessage *
event_message (Host *host, guint i)
{
  return sluice_event_get_message (g_ptr_array_index (host->events, i));
}

/* ---- Sending ---- */

typedef struct {
  GAsyncResult *result;
} Pending;

static void
on_result (GObject *object, GAsyncResult *result, gpointer user_data)
{
  ((Pending *) user_data)->result = g_object_ref (result);
}

/* Runs the step on @message: its single output, or NULL with @error. */
static SluiceMessage *
send_one (GObject *step, SluiceMessage *message, GError **error)
{
  Pending pending = { NULL };
  g_autoptr(SluiceMessageIter) iter = NULL;
  g_autoptr(SluiceMessage) output = NULL;
  gboolean ready = FALSE;

  sluice_step_process_async (SLUICE_STEP (step), message, NULL, on_result, &pending);
  WAIT_UNTIL (pending.result != NULL, WAIT_MS);
  iter = sluice_step_process_finish (SLUICE_STEP (step), pending.result, error);
  g_object_unref (pending.result);
  if (iter == NULL)
    return NULL;
  output = sluice_message_iter_pop_ready (iter, &ready);
  g_assert_true (ready);
  g_assert_nonnull (output);
  return g_steal_pointer (&output);
}

/* ---- Tests ---- */

static void
test_config_invalid (Fixture *fixture, gconstpointer data)
{
  static const struct {
    const char *component;
    const char *extra;
    const char *expected;
  } cases[] = {
    { "redis.stream.receive", "", "key 'group' is required" },
    { "redis.stream.receive", "\"group\": \"g\", \"start\": \"7\"", "key 'start'" },
    { "redis.stream.receive", "\"group\": \"g\", \"batch\": 0", "key 'batch'" },
    { "redis.stream.receive", "\"group\": \"g\", \"visibility\": \"soon\"", "key 'visibility'" },
    { "redis.stream.receive", "\"group\": \"g\", \"block\": \"0s\"", "key 'block'" },
    { "redis.stream.receive", "\"group\": \"\"", "must not be empty" },
    { "redis.stream.receive", "\"group\": \"g\", \"url\": \"http://x\"", "not a Redis URL" },
    { "redis.stream.send", "\"maxlen\": -3", "key 'maxlen'" },
    { "redis.stream.send", "\"max_size\": \"big\"", "key 'max_size'" },
    { "redis.stream.send", "\"url\": \"redis://a:hunter2@host\"", "must not contain a password" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GObject) object = try_create (fixture, cases[i].component, cases[i].extra, &error);

      g_test_message ("%s with %s: %s", cases[i].component, cases[i].extra,
                      error != NULL ? error->message : "(accepted)");
      g_assert_null (object);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_nonnull (strstr (error->message, cases[i].expected));
      g_assert_nonnull (strstr (error->message, cases[i].component));
      g_assert_null (strstr (error->message, "hunter2"));
    }
}

/* Messages go through send and come out of receive as they went in. */
static void
test_roundtrip (Fixture *fixture, gconstpointer data)
{
  static const char traceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  g_autoptr(GObject) step = create (fixture, "redis.stream.send", "");
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *prefix = g_strdup_printf ("%s-%d-", g_get_host_name (), (int) getpid ());
  guint by_default_name = 0;
  Host host;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SluiceMessage) message = NULL;
      g_autoptr(SluiceMessage) output = NULL;

      if (i == 2)
        {
          /* A streamed body is read whole before it goes. */
          g_autoptr(GInputStream) stream =
            g_memory_input_stream_new_from_data ("streamed body, 29 bytes long", -1, NULL);

          message = sluice_message_new_stream (stream, -1, "text/plain");
        }
      else
        {
          g_autoptr(GBytes) body = g_bytes_new (i == 0 ? "{\"n\": 1}" : "\0binary\xff", i == 0 ? 8 : 8);

          message = sluice_message_new_bytes (body, i == 0 ? "application/json" : NULL);
        }
      sluice_message_set_id (message, i == 1 ? "id with \"quotes\"" : "plain-id");
      g_assert_true (sluice_message_set_traceparent (message, traceparent));
      sluice_message_set_header (message, "tenant", "acme");
      if (i == 0)
        {
          sluice_message_set_header (message, "note", "line\nbreak \"quoted\" \\ tab\t\x01 ü €");
          sluice_message_set_header (message, "", "empty name");
        }

      output = send_one (step, message, &error);
      g_assert_no_error (error);
      g_assert_true (output == message);
      g_assert_nonnull (sluice_message_get_header (output, "redis-stream-id"));
      g_ptr_array_add (sent, g_steal_pointer (&output));
    }

  host_init (&host, fixture, create (fixture, "redis.stream.receive",
                                     "\"group\": \"g\", \"block\": \"100ms\""), 0);
  WAIT_UNTIL (host.events->len == 3, WAIT_MS);
  spin_ms (50);
  g_assert_cmpuint (host.events->len, ==, 3);

  for (guint i = 0; i < 3; i++)
    {
      SluiceMessage *in = g_ptr_array_index (sent, i);
      SluiceMessage *out = event_message (&host, i);
      GBytes *in_body = sluice_message_get_bytes (in);
      GHashTable *in_headers = sluice_message_get_headers (in);
      GHashTable *out_headers = sluice_message_get_headers (out);
      GHashTableIter iter;
      gpointer name, value;

      g_assert_nonnull (in_body);
      g_assert_true (g_bytes_equal (in_body, sluice_message_get_bytes (out)));
      g_assert_cmpstr (sluice_message_get_content_type (out), ==,
                       sluice_message_get_content_type (in));
      g_assert_cmpstr (sluice_message_get_id (out), ==, sluice_message_get_id (in));
      g_assert_cmpstr (sluice_message_get_traceparent (out), ==, traceparent);
      g_assert_cmpuint (sluice_message_get_attempt (out), ==, 1);
      g_assert_cmpstr (sluice_message_get_header (out, "redis-stream-id"), ==,
                       sluice_message_get_header (in, "redis-stream-id"));
      /* Every header that went is back, and nothing else. */
      g_assert_cmpuint (g_hash_table_size (out_headers), ==, g_hash_table_size (in_headers));
      g_hash_table_iter_init (&iter, in_headers);
      while (g_hash_table_iter_next (&iter, &name, &value))
        g_assert_cmpstr (g_hash_table_lookup (out_headers, name), ==, value);
    }

  /* The default consumer name is <hostname>-<pid>-<n>. */
  for (guint n = 1; n <= 64; n++)
    {
      g_autofree char *consumer = g_strdup_printf ("%s%u", prefix, n);

      by_default_name += pending_of (fixture, "g", consumer);
    }
  g_assert_cmpuint (by_default_name, ==, 3);
  host_settle_all (&host, 0, 0);
  WAIT_UNTIL (host.settled == 3, WAIT_MS);
  g_assert_cmpuint (host.settle_errors, ==, 0);
  g_assert_cmpuint (pending_count (fixture, "g"), ==, 0);
  host_clear (&host);
}

/* Entries written by someone else: fields other than the known ones are
 * headers; without a body, the fields are the body, as JSON. A broken
 * headers field does not keep the entry from being delivered. */
static void
test_foreign_entries (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) json = NULL;
  Host host;

  {
    g_autoptr(redisReply) a = command (fixture, "XADD %s * order 42 amount 9.50", fixture->key);
    g_autoptr(redisReply) b = command (fixture, "XADD %s * body hello region eu headers %s",
                                       fixture->key, "{\"a\": 1, \"b\": [true], \"c\": null, "
                                                     "\"d\": \"\\u00fc\\ud83d\\ude00\"}");
    g_autoptr(redisReply) c = command (fixture, "XADD %s * body broken headers %s", fixture->key,
                                       "{\"a\": ");
  }

  host_init (&host, fixture, create (fixture, "redis.stream.receive",
                                     "\"group\": \"g\", \"block\": \"100ms\""), 0);
  WAIT_UNTIL (host.events->len == 3, WAIT_MS);

  json = json_node_ref (sluice_message_get_json (event_message (&host, 0), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json), "order"), ==, "42");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json), "amount"), ==,
                   "9.50");
  g_assert_cmpstr (sluice_message_get_content_type (event_message (&host, 0)), ==,
                   "application/json");
  g_assert_null (sluice_message_get_header (event_message (&host, 0), "order"));

  g_assert_cmpstr (sluice_message_get_header (event_message (&host, 1), "region"), ==, "eu");
  g_assert_cmpstr (sluice_message_get_header (event_message (&host, 1), "a"), ==, "1");
  g_assert_cmpstr (sluice_message_get_header (event_message (&host, 1), "b"), ==, "[true]");
  g_assert_null (sluice_message_get_header (event_message (&host, 1), "c"));
  g_assert_cmpstr (sluice_message_get_header (event_message (&host, 1), "d"), ==, "ü😀");
  /* Without an id field, the message id is the entry's. */
  g_assert_cmpstr (sluice_message_get_id (event_message (&host, 1)), ==,
                   sluice_message_get_header (event_message (&host, 1), "redis-stream-id"));

  {
    g_autofree char *body = body_of (event_message (&host, 2));

    g_assert_cmpstr (body, ==, "broken");
    g_assert_null (sluice_message_get_header (event_message (&host, 2), "a"));
  }

  host_settle_all (&host, 0, 0);
  WAIT_UNTIL (host.settled == 3, WAIT_MS);
  host_clear (&host);
}

static void
test_send_limits (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GObject) step = create (fixture, "redis.stream.send", "\"max_size\": 16, \"maxlen\": 10");
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceMessage) big = sluice_message_new_take_string (g_strdup ("seventeen bytes!!"), NULL);
  g_autoptr(SluiceMessage) output = send_one (step, big, &error);
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data ("a streamed body over 16",
                                                                        -1, NULL);
  g_autoptr(SluiceMessage) big_stream = sluice_message_new_stream (stream, -1, NULL);
  guint64 length;

  g_assert_null (output);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "max_size"));
  g_clear_error (&error);

  output = send_one (step, big_stream, &error);
  g_assert_null (output);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* MAXLEN ~ 10: Redis trims whole nodes of 100 entries, so about. */
  for (guint i = 0; i < 500; i++)
    {
      g_autoptr(SluiceMessage) message = sluice_message_new_take_string (g_strdup_printf ("%u", i),
                                                                         NULL);
      g_autoptr(SluiceMessage) sent = send_one (step, message, &error);

      g_assert_no_error (error);
    }
  {
    g_autoptr(redisReply) reply = command (fixture, "XLEN %s", fixture->key);

    length = (guint64) reply->integer;
  }
  g_test_message ("stream length after 500 XADD with MAXLEN ~ 10: %" G_GUINT64_FORMAT, length);
  g_assert_cmpuint (length, >=, 10);
  g_assert_cmpuint (length, <=, 110);

  {
    /* A key of another type is a clear, final error. */
    g_autoptr(redisReply) set = command (fixture, "SET %s x", fixture->key);
    g_autoptr(SluiceMessage) message = sluice_message_new_take_string (g_strdup ("x"), NULL);
    g_autoptr(SluiceMessage) sent = send_one (step, message, &error);

    g_assert_null (sent);
    g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE);
    g_assert_nonnull (strstr (error->message, fixture->key));
  }
}

/* A receiver never holds more unsettled entries than its credit. */
static void
test_credit (Fixture *fixture, gconstpointer data)
{
  Host host;
  guint acked = 0;

  xadd_numbered (fixture, 0, 100);
  host_init (&host, fixture, create (fixture, "redis.stream.receive",
                                     "\"group\": \"g\", \"block\": \"100ms\", \"batch\": 50"), 3);
  host.group = "g";

  while (acked < 100)
    {
      WAIT_UNTIL (host.events->len > acked, WAIT_MS);
      /* Hold them a little, so more would come if the credit allowed. */
      spin_ms (5);
      g_assert_cmpuint (host.outstanding, <=, 3);
      g_assert_cmpuint (pending_count (fixture, "g"), <=, 3);
      while (acked < host.events->len)
        host_settle (&host, g_ptr_array_index (host.events, acked++), 0);
    }
  WAIT_UNTIL (host.settled == 100, WAIT_MS);
  spin_ms (50);
  g_assert_cmpuint (host.events->len, ==, 100);
  g_assert_cmpuint (host.max_outstanding, ==, 3);
  g_assert_cmpuint (host.max_pending, <=, 3);
  g_assert_cmpuint (pending_count (fixture, "g"), ==, 0);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *body = body_of (event_message (&host, i));
      g_autofree char *expected = g_strdup_printf ("message-%u", i);

      g_assert_cmpstr (body, ==, expected);
    }
  host_clear (&host);
}

/* A consumer that took entries and went away: another one of the group
 * gets them after the visibility timeout, as second deliveries. */
static void
test_reclaim_dead_consumer (Fixture *fixture, gconstpointer data)
{
  Host doomed, rescuer;
  gint64 died;

  xadd_numbered (fixture, 0, 5);
  host_init (&doomed, fixture, create (fixture, "redis.stream.receive",
                                       "\"group\": \"g\", \"consumer\": \"doomed\", "
                                       "\"block\": \"100ms\", \"visibility\": \"500ms\""), 0);
  WAIT_UNTIL (doomed.events->len == 5, WAIT_MS);
  host_clear (&doomed);
  died = g_get_monotonic_time ();
  g_assert_cmpuint (pending_of (fixture, "g", "doomed"), ==, 5);

  host_init (&rescuer, fixture, create (fixture, "redis.stream.receive",
                                        "\"group\": \"g\", \"consumer\": \"rescuer\", "
                                        "\"block\": \"100ms\", \"visibility\": \"500ms\""), 0);
  WAIT_UNTIL (rescuer.events->len == 5, WAIT_MS);
  /* Not before they were idle for the visibility timeout. */
  g_assert_cmpint (g_get_monotonic_time () - died, >=, 450 * 1000);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *body = body_of (event_message (&rescuer, i));
      g_autofree char *expected = g_strdup_printf ("message-%u", i);

      g_assert_cmpstr (body, ==, expected);
      g_assert_cmpuint (sluice_message_get_attempt (event_message (&rescuer, i)), ==, 2);
    }
  g_assert_cmpuint (pending_of (fixture, "g", "doomed"), ==, 0);
  host_settle_all (&rescuer, 0, 0);
  WAIT_UNTIL (rescuer.settled == 5, WAIT_MS);
  g_assert_cmpuint (pending_count (fixture, "g"), ==, 0);
  spin_ms (700);
  g_assert_cmpuint (rescuer.events->len, ==, 5);
  host_clear (&rescuer);
}

/* The attempt is the number of deliveries Redis counted: an entry handed
 * back comes again with one more each time; dead-lettering removes it
 * from the pending list like an ack. */
static void
test_attempts (Fixture *fixture, gconstpointer data)
{
  Host host;

  xadd_numbered (fixture, 0, 2);
  host_init (&host, fixture, create (fixture, "redis.stream.receive",
                                     "\"group\": \"g\", \"block\": \"100ms\", "
                                     "\"visibility\": \"300ms\""), 0);
  WAIT_UNTIL (host.events->len == 2, WAIT_MS);
  g_assert_cmpuint (sluice_message_get_attempt (event_message (&host, 0)), ==, 1);
  g_assert_cmpuint (sluice_message_get_attempt (event_message (&host, 1)), ==, 1);

  for (guint round = 2; round <= 4; round++)
    {
      guint from = host.events->len - 2;

      host_settle_all (&host, from, 2);
      WAIT_UNTIL (host.events->len == from + 4, WAIT_MS);
      for (guint i = from + 2; i < from + 4; i++)
        g_assert_cmpuint (sluice_message_get_attempt (event_message (&host, i)), ==, round);
    }

  /* Dead-lettered: gone from the pending list, never delivered again. */
  host_settle_all (&host, host.events->len - 2, 1);
  WAIT_UNTIL (host.settled == 8, WAIT_MS);
  g_assert_cmpuint (host.settle_errors, ==, 0);
  g_assert_cmpuint (pending_count (fixture, "g"), ==, 0);
  spin_ms (800);
  g_assert_cmpuint (host.events->len, ==, 8);
  host_clear (&host);
}

/* An entry held longer than the visibility timeout (a long run) is
 * refreshed: another consumer never takes it. */
static void
test_refresh_keeps_held (Fixture *fixture, gconstpointer data)
{
  Host slow, other;
  g_autofree char *id = xadd (fixture, "long job");

  host_init (&slow, fixture, create (fixture, "redis.stream.receive",
                                     "\"group\": \"g\", \"consumer\": \"slow\", "
                                     "\"block\": \"100ms\", \"visibility\": \"400ms\""), 0);
  WAIT_UNTIL (slow.events->len == 1, WAIT_MS);
  host_init (&other, fixture, create (fixture, "redis.stream.receive",
                                      "\"group\": \"g\", \"consumer\": \"other\", "
                                      "\"block\": \"100ms\", \"visibility\": \"400ms\""), 0);
  spin_ms (1500);
  g_assert_cmpuint (other.events->len, ==, 0);
  g_assert_cmpuint (pending_of (fixture, "g", "slow"), ==, 1);

  host_settle_all (&slow, 0, 0);
  WAIT_UNTIL (slow.settled == 1, WAIT_MS);
  g_assert_cmpuint (pending_count (fixture, "g"), ==, 0);
  host_clear (&slow);
  host_clear (&other);
}

/* stop() cuts a blocking read short: the trigger is gone long before
 * the block time is over. */
static void
test_stop_unblocks (Fixture *fixture, gconstpointer data)
{
  Host host;
  gint64 started;

  host_init (&host, fixture, create (fixture, "redis.stream.receive",
                                     "\"group\": \"g\", \"block\": \"10s\""), 0);
  /* Let the group be made and the read block. */
  spin_ms (200);
  started = g_get_monotonic_time ();
  host_clear (&host);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 3 * G_USEC_PER_SEC);
}

/* The connection is cut, and the group deleted: the receiver says so,
 * comes back, recreates the group and goes on. */
static void
test_recovers (Fixture *fixture, gconstpointer data)
{
  Host host;

  xadd_numbered (fixture, 0, 3);
  host_init (&host, fixture, create (fixture, "redis.stream.receive",
                                     "\"group\": \"g\", \"block\": \"100ms\""), 0);
  WAIT_UNTIL (host.events->len == 3, WAIT_MS);
  host_settle_all (&host, 0, 0);
  WAIT_UNTIL (host.settled == 3, WAIT_MS);

  {
    g_autoptr(redisReply) reply = command (fixture, "CLIENT KILL TYPE normal SKIPME yes");

    g_assert_cmpint (reply->type, ==, REDIS_REPLY_INTEGER);
    g_assert_cmpint (reply->integer, >=, 2);
  }
  xadd_numbered (fixture, 3, 2);
  WAIT_UNTIL (host.events->len == 5, WAIT_MS);

  /* Deleted group: made again at '0', so the stream is read again. */
  {
    g_autoptr(redisReply) reply = command (fixture, "XGROUP DESTROY %s g", fixture->key);

    g_assert_cmpint (reply->integer, ==, 1);
  }
  xadd_numbered (fixture, 5, 1);
  WAIT_UNTIL (host.events->len >= 5 + 6, WAIT_MS);
  {
    g_autofree char *body = body_of (event_message (&host, host.events->len - 1));

    g_assert_cmpstr (body, ==, "message-5");
  }
  host_settle_all (&host, 3, 0);
  WAIT_UNTIL (host.settled == host.events->len, WAIT_MS);
  g_assert_cmpuint (pending_count (fixture, "g"), ==, 0);
  host_clear (&host);
}

/* ---- Through the engine ---- */

static void
add_workflow (Fixture *fixture, const char *name, const char *trigger_with, const char *steps)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json = g_strdup_printf (
    "{\"name\": \"%s\", \"concurrency\": 8,"
    " \"trigger\": {\"use\": \"redis.stream.receive\", \"with\": {\"url\": \"%s\","
    "   \"prefix\": \"%s\", \"stream\": \"" STREAM "\", \"block\": \"100ms\","
    "   \"visibility\": \"500ms\", %s}},"
    " \"steps\": [%s]}",
    name, redis_test_server_get_url (server), fixture->prefix, trigger_with, steps);
  g_autoptr(SluiceWorkflow) workflow =
    sluice_workflow_load_data (fixture->host, json, -1, "test.json", &error);

  g_assert_no_error (error);
  g_assert_true (sluice_engine_add_workflow (fixture->engine, workflow, TRUE, &error));
  g_assert_no_error (error);
}

static guint
collected_with_tag (const char *tag, GHashTable *bodies)
{
  guint count = 0;

  for (guint i = 0; i < test_recorder.collected->len; i++)
    {
      SluiceMessage *message = g_ptr_array_index (test_recorder.collected, i);

      if (g_strcmp0 (sluice_message_get_header (message, "collected-by"), tag) != 0)
        continue;
      count++;
      if (bodies != NULL)
        g_hash_table_add (bodies, body_of (message));
    }
  return count;
}

/* Runs that succeed are acked: nothing stays pending. Runs that fail are
 * dead-lettered, which takes them off the pending list too. */
static void
test_engine_ack (Fixture *fixture, gconstpointer data)
{
  add_workflow (fixture, "w1", "\"group\": \"g\"",
                "{\"id\": \"keep\", \"use\": \"test.collect\", \"with\": {\"tag\": \"a\"}}");
  xadd_numbered (fixture, 0, 50);
  WAIT_UNTIL (collected_with_tag ("a", NULL) == 50, WAIT_MS);
  WAIT_UNTIL (pending_count (fixture, "g") == 0, WAIT_MS);
  for (guint i = 0; i < 50; i++)
    {
      SluiceMessage *message = g_ptr_array_index (test_recorder.collected, i);

      g_assert_cmpuint (sluice_message_get_attempt (message), ==, 1);
      g_assert_nonnull (sluice_message_get_header (message, "redis-stream-id"));
    }
  spin_ms (300);
  g_assert_cmpuint (collected_with_tag ("a", NULL), ==, 50);
}

static void
test_engine_dead_letter (Fixture *fixture, gconstpointer data)
{
  add_workflow (fixture, "w1", "\"group\": \"g\"",
                "{\"id\": \"fail\", \"use\": \"test.flaky\","
                " \"with\": {\"fail_times\": 5, \"permanent\": true}}");
  xadd_numbered (fixture, 0, 4);
  WAIT_UNTIL (test_recorder.attempt_times->len >= 4, WAIT_MS);
  WAIT_UNTIL (pending_count (fixture, "g") == 0, WAIT_MS);
  spin_ms (800);
  /* Dead-lettered entries do not come back after the visibility timeout. */
  g_assert_cmpuint (test_recorder.attempt_times->len, ==, 4);
}

/* Two workflows on one stream in two groups: each gets every entry, once. */
static void
test_engine_fan_out (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GHashTable) a = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) b = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  add_workflow (fixture, "w1", "\"group\": \"ga\"",
                "{\"id\": \"keep\", \"use\": \"test.collect\", \"with\": {\"tag\": \"a\"}}");
  add_workflow (fixture, "w2", "\"group\": \"gb\"",
                "{\"id\": \"keep\", \"use\": \"test.collect\", \"with\": {\"tag\": \"b\"}}");
  xadd_numbered (fixture, 0, 40);
  WAIT_UNTIL (collected_with_tag ("a", NULL) >= 40 && collected_with_tag ("b", NULL) >= 40,
              WAIT_MS);
  WAIT_UNTIL (pending_count (fixture, "ga") == 0 && pending_count (fixture, "gb") == 0, WAIT_MS);
  spin_ms (700);
  g_assert_cmpuint (collected_with_tag ("a", a), ==, 40);
  g_assert_cmpuint (collected_with_tag ("b", b), ==, 40);
  g_assert_cmpuint (g_hash_table_size (a), ==, 40);
  g_assert_cmpuint (g_hash_table_size (b), ==, 40);
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *body = g_strdup_printf ("message-%u", i);

      g_assert_true (g_hash_table_contains (a, body));
      g_assert_true (g_hash_table_contains (b, body));
    }
}

/* A sluiced that received an entry is killed (SIGKILL) while its step
 * still works on it (a write into a FIFO nobody reads): a receiver here
 * gets the entry after the visibility timeout, as its second delivery. */
static void
test_reclaim_killed_daemon (Fixture *fixture, gconstpointer data)
{
  const char *sluiced = g_getenv ("SLUICED");
  g_autofree char *workflows = g_build_filename (fixture->tmpdir, "workflows", NULL);
  g_autofree char *fifo = g_build_filename (fixture->tmpdir, "fifo", NULL);
  g_autofree char *config = g_build_filename (fixture->tmpdir, "sluice.conf", NULL);
  g_autofree char *workflow = g_build_filename (workflows, "stuck.json", NULL);
  g_autofree char *log = g_build_filename (fixture->tmpdir, "sluiced.log", NULL);
  g_autofree char *config_text = NULL;
  g_autofree char *workflow_text = NULL;
  g_autoptr(SluiceMessage) got = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  Host rescuer;
  gboolean held = FALSE;

  if (sluiced == NULL)
    {
      g_test_skip ("SLUICED is not set");
      return;
    }

  g_assert_cmpint (g_mkdir (workflows, 0700), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  config_text = g_strdup_printf ("{\"workflows\": \"%s\", \"connections\": \"%s/none\", "
                                 "\"plugin_dirs\": [], \"redis\": \"none\"}",
                                 workflows, fixture->tmpdir);
  workflow_text = g_strdup_printf (
    "{\"name\": \"stuck\","
    " \"trigger\": {\"use\": \"redis.stream.receive\", \"with\": {\"url\": \"%s\","
    "   \"prefix\": \"%s\", \"stream\": \"" STREAM "\", \"group\": \"g\","
    "   \"consumer\": \"doomed\", \"block\": \"100ms\"}},"
    " \"steps\": [{\"id\": \"write\", \"use\": \"file.write\","
    "   \"with\": {\"directory\": \"%s\", \"filename\": \"fifo\", \"mode\": \"append\"}}]}",
    redis_test_server_get_url (server), fixture->prefix, fixture->tmpdir);
  g_assert_true (g_file_set_contents (config, config_text, -1, &error));
  g_assert_true (g_file_set_contents (workflow, workflow_text, -1, &error));
  g_assert_no_error (error);

  id = xadd (fixture, "stuck forever");
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  daemon = g_subprocess_launcher_spawn (launcher, &error, sluiced, "--config", config,
                                        "--workflows", workflows, NULL);
  g_assert_no_error (error);

  /* Received, and its run is blocked in the step. */
  for (guint i = 0; i < 200 && !held; i++)
    {
      held = pending_of (fixture, "g", "doomed") == 1;
      if (!held)
        spin_ms (50);
    }
  if (!held)
    {
      g_autofree char *text = NULL;

      g_file_get_contents (log, &text, NULL, NULL);
      g_test_message ("sluiced log:\n%s", text != NULL ? text : "(none)");
    }
  g_assert_true (held);
  spin_ms (200);

  g_subprocess_force_exit (daemon);
  g_assert_true (g_subprocess_wait (daemon, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (daemon));
  g_assert_cmpint (g_subprocess_get_term_sig (daemon), ==, SIGKILL);
  g_assert_cmpuint (pending_of (fixture, "g", "doomed"), ==, 1);

  host_init (&rescuer, fixture, create (fixture, "redis.stream.receive",
                                        "\"group\": \"g\", \"consumer\": \"rescuer\", "
                                        "\"block\": \"100ms\", \"visibility\": \"500ms\""), 0);
  WAIT_UNTIL (rescuer.events->len == 1, WAIT_MS);
  got = g_object_ref (event_message (&rescuer, 0));
  {
    g_autofree char *body = body_of (got);

    g_assert_cmpstr (body, ==, "stuck forever");
  }
  g_assert_cmpstr (sluice_message_get_header (got, "redis-stream-id"), ==, id);
  g_assert_cmpuint (sluice_message_get_attempt (got), ==, 2);
  host_settle_all (&rescuer, 0, 0);
  WAIT_UNTIL (rescuer.settled == 1, WAIT_MS);
  g_assert_cmpuint (pending_count (fixture, "g"), ==, 0);
  host_clear (&rescuer);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_summary ("redis.stream.send and redis.stream.receive on a private redis-server");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/stream/config/invalid", test_config_invalid);
  ADD ("/stream/send-receive/roundtrip", test_roundtrip);
  ADD ("/stream/receive/foreign-entries", test_foreign_entries);
  ADD ("/stream/send/limits", test_send_limits);
  ADD ("/stream/receive/credit", test_credit);
  ADD ("/stream/receive/attempts", test_attempts);
  ADD ("/stream/receive/refresh-keeps-held", test_refresh_keeps_held);
  ADD ("/stream/receive/stop-unblocks", test_stop_unblocks);
  ADD ("/stream/receive/recovers", test_recovers);
  ADD ("/stream/reclaim/dead-consumer", test_reclaim_dead_consumer);
  ADD ("/stream/reclaim/killed-daemon", test_reclaim_killed_daemon);
  ADD ("/stream/engine/ack", test_engine_ack);
  ADD ("/stream/engine/dead-letter", test_engine_dead_letter);
  ADD ("/stream/engine/fan-out", test_engine_fan_out);
#undef ADD

  server = redis_test_server_start (NULL);
  status = g_test_run ();
  redis_test_server_free (server);
  return status;
}
