/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* webhook.receive in an engine, driven by real HTTP clients on loopback:
 * libsoup for well-formed requests, a raw socket for a client that stalls.
 * The steps are the engine tests' components plus two defined here. */
#include <string.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <sluice/sluice.h>

#include "sluice-builtins.h"
#include "sluice-engine.h"
#include "sluice-memory-dead-letter-store.h"
#include "sluice-plugin-host.h"
#include "sluice-workflow.h"
#include "test-components.h"

/* ---- wh.respond: answers with what its config says ---- */

#define WH_TYPE_RESPOND (wh_respond_get_type ())
G_DECLARE_FINAL_TYPE (WhRespond, wh_respond, WH, RESPOND, GObject)
struct _WhRespond { GObject parent_instance; };
static void wh_respond_step_init (SluiceStepInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (WhRespond, wh_respond, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, wh_respond_step_init))

static void
wh_respond_process_async (SluiceStep *step, SluiceMessage *message, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  JsonObject *config = sluice_component_get_config (step);
  g_autoptr(GTask) task = g_task_new (step, cancellable, callback, user_data);
  g_autoptr(SluiceMessage) reply = NULL;
  JsonObject *headers = json_object_get_object_member (config, "headers");
  g_autofree char *body = g_strconcat (json_object_get_string_member (config, "body"), " ",
                                       sluice_message_get_header (message, "http-method"), NULL);

  reply = sluice_message_new_take_string (g_steal_pointer (&body), "text/plain");
  if (headers != NULL)
    {
      g_autoptr(GList) names = json_object_get_members (headers);

      for (GList *l = names; l != NULL; l = l->next)
        sluice_message_set_header (reply, l->data, json_object_get_string_member (headers, l->data));
    }
  g_task_return_pointer (task, sluice_message_iter_new_single (reply), g_object_unref);
}

static gpointer
wh_step_finish (SluiceStep *step, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
wh_respond_step_init (SluiceStepInterface *iface)
{
  iface->process_async = wh_respond_process_async;
  iface->process_finish = (gpointer) wh_step_finish;
}

static void wh_respond_class_init (WhRespondClass *klass) { }
static void wh_respond_init (WhRespond *self) { }

/* ---- wh.fail: a permanent failure ---- */

#define WH_TYPE_FAIL (wh_fail_get_type ())
G_DECLARE_FINAL_TYPE (WhFail, wh_fail, WH, FAIL, GObject)
struct _WhFail { GObject parent_instance; };
static void wh_fail_step_init (SluiceStepInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (WhFail, wh_fail, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, wh_fail_step_init))

static void
wh_fail_process_async (SluiceStep *step, SluiceMessage *message, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (step, cancellable, callback, user_data);

  g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_PERMANENT,
                           "wh.fail: internal detail that must not reach the client");
}

static void
wh_fail_step_init (SluiceStepInterface *iface)
{
  iface->process_async = wh_fail_process_async;
  iface->process_finish = (gpointer) wh_step_finish;
}

static void wh_fail_class_init (WhFailClass *klass) { }
static void wh_fail_init (WhFail *self) { }

/* ---- wh.echo: answers with "echo " and the request's body ---- */

#define WH_TYPE_ECHO (wh_echo_get_type ())
G_DECLARE_FINAL_TYPE (WhEcho, wh_echo, WH, ECHO, GObject)
struct _WhEcho { GObject parent_instance; };
static void wh_echo_step_init (SluiceStepInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (WhEcho, wh_echo, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, wh_echo_step_init))

static void
wh_echo_process_async (SluiceStep *step, SluiceMessage *message, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (step, cancellable, callback, user_data);
  GBytes *bytes = sluice_message_get_bytes (message);
  gsize len = 0;
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;
  g_autofree char *body = g_strdup_printf ("echo %.*s", (int) len, data != NULL ? data : "");
  g_autoptr(SluiceMessage) reply = sluice_message_new_take_string (g_steal_pointer (&body),
                                                                   "text/plain");

  g_task_return_pointer (task, sluice_message_iter_new_single (reply), g_object_unref);
}

static void
wh_echo_step_init (SluiceStepInterface *iface)
{
  iface->process_async = wh_echo_process_async;
  iface->process_finish = (gpointer) wh_step_finish;
}

static void wh_echo_class_init (WhEchoClass *klass) { }
static void wh_echo_init (WhEcho *self) { }

static gboolean
register_wh (SluicePlugin *plugin, GError **error)
{
  return sluice_plugin_add_component (plugin, "wh.respond", WH_TYPE_RESPOND,
                                      "{\"type\": \"object\", \"additionalProperties\": true}",
                                      error) &&
         sluice_plugin_add_component (plugin, "wh.fail", WH_TYPE_FAIL,
                                      "{\"type\": \"object\"}", error) &&
         sluice_plugin_add_component (plugin, "wh.echo", WH_TYPE_ECHO,
                                      "{\"type\": \"object\"}", error);
}

static const SluicePluginDescriptor wh_descriptor = {
  SLUICE_PLUGIN_ABI, SLUICE_PLUGIN_ABI_MINOR, "wh", "1.0", "LGPL-2.1-or-later",
  "Steps for the webhook tests", register_wh, { NULL },
};

/* ---- Fixture ---- */

typedef struct {
  SluicePluginHost      *host;
  SluiceClock           *clock;
  SluiceContext         *context;
  SluiceDeadLetterStore *dead_letters;
  SluiceEngine          *engine;
  SoupSession           *session;
  char                  *dir;
  guint16                port;
} Fixture;

typedef struct {
  guint               status;
  char               *body;
  SoupMessageHeaders *headers;
} Response;

static void
response_free (Response *response)
{
  g_free (response->body);
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_free (response);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

static guint16
free_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) path = sluice_plugin_host_build_search_path (NULL, NULL);

  fixture->host = sluice_plugin_host_new ();
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, sluice_builtins_get_descriptor (),
                                                 &error));
  g_assert_true (test_components_register (fixture->host, &error));
  g_assert_true (sluice_plugin_host_add_builtin (fixture->host, &wh_descriptor, &error));
  g_assert_no_error (error);
  sluice_plugin_host_load_directories (fixture->host, (const char * const *) path);
  g_assert_nonnull (sluice_plugin_host_lookup (fixture->host, "webhook.receive"));

  fixture->clock = sluice_clock_new_system ();
  fixture->context = sluice_context_new ("test", fixture->clock, NULL);
  fixture->engine = sluice_engine_new (fixture->context);
  fixture->dead_letters = sluice_memory_dead_letter_store_new ();
  sluice_engine_set_dead_letter_store (fixture->engine, fixture->dead_letters);
  fixture->session = soup_session_new_with_options ("timeout", 20, "max-conns-per-host", 16,
                                                    NULL);
  fixture->dir = g_dir_make_tmp ("sluice-webhook-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->port = free_port ();
  test_recorder_reset (fixture->clock);
}

static void
on_done (GObject *object, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
spin (void)
{
  for (guint i = 0; i < 100000 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *secret = g_build_filename (fixture->dir, "secret", NULL);

  test_recorder_release (G_MAXUINT);
  spin ();
  sluice_engine_shutdown_async (fixture->engine, G_USEC_PER_SEC, NULL, on_done, &result);
  g_assert_true (sluice_engine_shutdown_finish (fixture->engine, wait_for (&result), NULL));
  g_clear_object (&fixture->session);
  spin ();

  g_clear_object (&fixture->engine);
  g_clear_object (&fixture->dead_letters);
  g_clear_object (&fixture->context);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->host);
  g_remove (secret);
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->dir);
  test_recorder_reset (NULL);
}

/* Replaces PORT and DIR in @json. */
static void
add_workflow (Fixture *fixture, const char *json)
{
  g_autofree char *port = g_strdup_printf ("%u", fixture->port);
  g_autoptr(GString) text = g_string_new (json);

  g_string_replace (text, "PORT", port, 0);
  g_string_replace (text, "DIR", fixture->dir, 0);
  test_engine_add_workflow (fixture->host, fixture->engine, text->str);
}

/* Sends a request; NULL-terminated header name/value pairs follow. */
static SoupMessage *
request_new (Fixture *fixture, const char *method, const char *path, const char *content_type,
             const char *body, va_list args)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fixture->port, path);
  SoupMessage *msg = soup_message_new (method, uri);
  const char *name;

  g_assert_nonnull (msg);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, content_type, bytes);
    }
  while ((name = va_arg (args, const char *)) != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), name,
                                  va_arg (args, const char *));
  return msg;
}

static Response *
response_wait (SoupMessage *msg, GAsyncResult **result, SoupSession *session)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  Response *response = g_new0 (Response, 1);

  bytes = soup_session_send_and_read_finish (session, wait_for (result), &error);
  g_assert_no_error (error);
  response->status = soup_message_get_status (msg);
  response->body = g_strndup (g_bytes_get_size (bytes) > 0 ? g_bytes_get_data (bytes, NULL) : "",
                              g_bytes_get_size (bytes));
  response->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  return response;
}

static G_GNUC_NULL_TERMINATED Response *
send (Fixture *fixture, const char *method, const char *path, const char *content_type,
      const char *body, ...)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  va_list args;

  va_start (args, body);
  msg = request_new (fixture, method, path, content_type, body, args);
  va_end (args);
  soup_session_send_and_read_async (fixture->session, msg, G_PRIORITY_DEFAULT, NULL, on_done,
                                    &result);
  return response_wait (msg, &result, fixture->session);
}

/* A request left in flight: started now, read with pending_wait(). */
typedef struct {
  SoupMessage  *msg;
  GAsyncResult *result;
} Pending;

static G_GNUC_NULL_TERMINATED Pending *
send_start (Fixture *fixture, const char *path, const char *body, ...)
{
  Pending *pending = g_new0 (Pending, 1);
  va_list args;

  va_start (args, body);
  pending->msg = request_new (fixture, "POST", path, "application/json", body, args);
  va_end (args);
  soup_session_send_and_read_async (fixture->session, pending->msg, G_PRIORITY_DEFAULT, NULL,
                                    on_done, &pending->result);
  return pending;
}

static Response *
pending_wait (Fixture *fixture, Pending *pending)
{
  Response *response = response_wait (pending->msg, &pending->result, fixture->session);

  g_object_unref (pending->msg);
  g_clear_object (&pending->result);
  g_free (pending);
  return response;
}

static void
wait_until_holding (guint count)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (test_recorder.holding < count && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (test_recorder.holding, ==, count);
}

/* Server and client share this thread: lets the server take in what the
 * client sent. */
static void
iterate_for (guint msec)
{
  gint64 deadline = g_get_monotonic_time () + msec * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
assert_json_error (Response *response, const char *error_text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (response->body, &error);
  JsonObject *object;

  g_assert_no_error (error);
  object = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member_with_default (object, "error", NULL), ==,
                   error_text);
  g_assert_cmpstr (json_object_get_string_member_with_default (object, "request_id", NULL), ==,
                   soup_message_headers_get_one (response->headers, "X-Request-Id"));
}

#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* ---- Tests ---- */

static void
test_async_accepted (Fixture *fixture, gconstpointer data)
{
  g_autoptr(Response) response = NULL;
  g_autoptr(Response) invented = NULL;
  g_autoptr(JsonNode) node = NULL;
  SluiceMessage *message;
  g_autoptr(GBytes) expected = g_bytes_new_static ("{\"order\": 7}", 12);

  add_workflow (fixture,
                "{\"name\": \"orders\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/hooks/orders\"}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\"}]}");

  response = send (fixture, "POST", "/hooks/orders?src=shop", "application/json", "{\"order\": 7}",
                   "X-Request-Id", "req-123", "traceparent", TRACEPARENT,
                   "X-Custom", "yes", "Authorization", "Bearer hunter2", NULL);
  g_assert_cmpuint (response->status, ==, SOUP_STATUS_ACCEPTED);
  g_assert_cmpstr (soup_message_headers_get_one (response->headers, "X-Request-Id"), ==, "req-123");
  g_assert_cmpstr (soup_message_headers_get_one (response->headers, "traceparent"), ==, TRACEPARENT);
  node = json_from_string (response->body, NULL);
  g_assert_nonnull (node);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "request_id"), ==,
                   "req-123");

  /* 202 comes once the run is over: the step has the message by then. */
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
  message = g_ptr_array_index (test_recorder.collected, 0);
  g_assert_true (g_bytes_equal (sluice_message_get_bytes (message), expected));
  g_assert_cmpstr (sluice_message_get_content_type (message), ==, "application/json");
  g_assert_cmpstr (sluice_message_get_header (message, "http-method"), ==, "POST");
  g_assert_cmpstr (sluice_message_get_header (message, "http-path"), ==, "/hooks/orders");
  g_assert_cmpstr (sluice_message_get_header (message, "http-query"), ==, "src=shop");
  g_assert_cmpstr (sluice_message_get_header (message, "x-request-id"), ==, "req-123");
  g_assert_cmpstr (sluice_message_get_header (message, "http-header-x-custom"), ==, "yes");
  g_assert_null (sluice_message_get_header (message, "http-header-authorization"));
  g_assert_cmpstr (sluice_message_get_traceparent (message), ==, TRACEPARENT);

  /* An id that is not sane and a broken traceparent are replaced. */
  invented = send (fixture, "POST", "/hooks/orders", "application/json", "[]",
                   "X-Request-Id", "bad id\x7f", "traceparent", "00-zz", NULL);
  g_assert_cmpuint (invented->status, ==, SOUP_STATUS_ACCEPTED);
  g_assert_cmpstr (soup_message_headers_get_one (invented->headers, "X-Request-Id"), !=,
                   "bad id\x7f");
  g_assert_cmpuint (strlen (soup_message_headers_get_one (invented->headers, "X-Request-Id")), ==,
                    36);
  g_assert_cmpuint (strlen (soup_message_headers_get_one (invented->headers, "traceparent")), ==,
                    strlen (TRACEPARENT));
}

static void
test_dead_letter (Fixture *fixture, gconstpointer data)
{
  g_autoptr(Response) response = NULL;

  add_workflow (fixture,
                "{\"name\": \"orders\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/h\"}},"
                " \"steps\": [{\"id\": \"f\", \"use\": \"wh.fail\"}]}");
  response = send (fixture, "POST", "/h", "application/json", "{}", NULL);
  g_assert_cmpuint (response->status, ==, SOUP_STATUS_INTERNAL_SERVER_ERROR);
  assert_json_error (response, "not accepted");
  g_assert_null (strstr (response->body, "internal detail"));
}

static void
test_sync_reply (Fixture *fixture, gconstpointer data)
{
  g_autoptr(Response) made = NULL;
  g_autoptr(Response) empty = NULL;

  /* Two paths, one port. */
  add_workflow (fixture,
                "{\"name\": \"make\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/make\", \"mode\": \"sync\","
                "  \"methods\": [\"POST\", \"PUT\"]}},"
                " \"steps\": [{\"id\": \"r\", \"use\": \"wh.respond\", \"with\": {\"body\": \"made\","
                "  \"headers\": {\"http-status\": \"201\", \"http-response-header-x-order\": \"42\","
                "               \"unrelated\": \"no\"}}}]}");
  add_workflow (fixture,
                "{\"name\": \"quiet\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/quiet\", \"mode\": \"sync\"}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\"}]}");

  made = send (fixture, "PUT", "/make", "application/json", "{}", "X-Request-Id", "m1", NULL);
  g_assert_cmpuint (made->status, ==, 201);
  g_assert_cmpstr (made->body, ==, "made PUT");
  g_assert_cmpstr (soup_message_headers_get_content_type (made->headers, NULL), ==, "text/plain");
  g_assert_cmpstr (soup_message_headers_get_one (made->headers, "X-Order"), ==, "42");
  g_assert_null (soup_message_headers_get_one (made->headers, "unrelated"));
  g_assert_cmpstr (soup_message_headers_get_one (made->headers, "X-Request-Id"), ==, "m1");
  g_assert_nonnull (soup_message_headers_get_one (made->headers, "traceparent"));

  empty = send (fixture, "POST", "/quiet", "application/json", "{}", NULL);
  g_assert_cmpuint (empty->status, ==, SOUP_STATUS_NO_CONTENT);
  g_assert_cmpstr (empty->body, ==, "");
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
}

static void
test_refusals (Fixture *fixture, gconstpointer data)
{
  g_autofree char *big_header = g_strnfill (400, 'x');
  g_autoptr(Response) too_large = NULL;
  g_autoptr(Response) media = NULL;
  g_autoptr(Response) malformed = NULL;
  g_autoptr(Response) method = NULL;
  g_autoptr(Response) unknown = NULL;
  g_autoptr(Response) headers = NULL;
  g_autoptr(Response) fine = NULL;

  add_workflow (fixture,
                "{\"name\": \"orders\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/h\", \"max_body\": 16,"
                "  \"max_header\": 300}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\"}]}");

  too_large = send (fixture, "POST", "/h", "application/json", "[1,2,3,4,5,6,7,8,9]", NULL);
  g_assert_cmpuint (too_large->status, ==, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE);
  assert_json_error (too_large, "body too large");

  /* Chunked: no length up front, refused once past max_body. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/h", fixture->port);
    g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
    g_autoptr(GInputStream) stream =
      g_memory_input_stream_new_from_data ("[1,2,3,4,5,6,7,8,9,10,11,12]", -1, NULL);
    g_autoptr(Response) chunked = NULL;

    soup_message_set_request_body (msg, "application/json", stream, -1);
    soup_session_send_and_read_async (fixture->session, msg, G_PRIORITY_DEFAULT, NULL, on_done,
                                      &result);
    chunked = response_wait (msg, &result, fixture->session);
    g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_request_headers (msg),
                                                   "Transfer-Encoding"), ==, "chunked");
    g_assert_cmpuint (chunked->status, ==, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE);
  }

  media = send (fixture, "POST", "/h", "text/plain", "hi", NULL);
  g_assert_cmpuint (media->status, ==, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE);
  assert_json_error (media, "unsupported content type");

  malformed = send (fixture, "POST", "/h", "application/json", "{\"a\": ", NULL);
  g_assert_cmpuint (malformed->status, ==, SOUP_STATUS_BAD_REQUEST);
  assert_json_error (malformed, "malformed JSON body");

  method = send (fixture, "PUT", "/h", "application/json", "{}", NULL);
  g_assert_cmpuint (method->status, ==, SOUP_STATUS_METHOD_NOT_ALLOWED);
  g_assert_cmpstr (soup_message_headers_get_one (method->headers, "Allow"), ==, "POST");

  unknown = send (fixture, "POST", "/h/more", "application/json", "{}", NULL);
  g_assert_cmpuint (unknown->status, ==, SOUP_STATUS_NOT_FOUND);

  headers = send (fixture, "POST", "/h", "application/json", "{}", "X-Big", big_header, NULL);
  g_assert_cmpuint (headers->status, ==, 431);

  /* None of them reached the workflow; a good one still does. */
  g_assert_cmpuint (test_recorder.collected->len, ==, 0);
  fine = send (fixture, "POST", "/h", "application/json; charset=utf-8", "{}", NULL);
  g_assert_cmpuint (fine->status, ==, SOUP_STATUS_ACCEPTED);
  g_assert_cmpuint (test_recorder.collected->len, ==, 1);
}

static char *
hmac_hex (const char *key, const char *data)
{
  return g_compute_hmac_for_string (G_CHECKSUM_SHA256, (const guchar *) key, strlen (key), data, -1);
}

static void
write_secret (Fixture *fixture, const char *secret)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "secret", NULL);

  g_assert_true (g_file_set_contents_full (path, secret, -1, G_FILE_SET_CONTENTS_NONE, 0600,
                                           &error));
  g_assert_no_error (error);
}

static void
test_signatures (Fixture *fixture, gconstpointer data)
{
  const char *body = "{\"order\": 1}";
  g_autofree char *digest = hmac_hex ("s3cret", body);
  g_autofree char *github = g_strconcat ("sha256=", digest, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *fresh = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  g_autofree char *stale = g_strdup_printf ("%" G_GINT64_FORMAT, now - 600);
  g_autofree char *stripe_fresh_payload = g_strdup_printf ("%s.%s", fresh, body);
  g_autofree char *stripe_stale_payload = g_strdup_printf ("%s.%s", stale, body);
  g_autofree char *stripe_fresh_digest = hmac_hex ("s3cret", stripe_fresh_payload);
  g_autofree char *stripe_stale_digest = hmac_hex ("s3cret", stripe_stale_payload);
  g_autofree char *stripe_fresh = g_strdup_printf ("t=%s,v1=%s", fresh, stripe_fresh_digest);
  g_autofree char *stripe_stale = g_strdup_printf ("t=%s,v1=%s", stale, stripe_stale_digest);
  g_autofree char *slack_stale_payload = g_strdup_printf ("v0:%s:%s", stale, body);
  g_autofree char *slack_stale_digest = hmac_hex ("s3cret", slack_stale_payload);
  g_autofree char *slack_stale = g_strconcat ("v0=", slack_stale_digest, NULL);
  g_autoptr(Response) good = NULL;
  g_autoptr(Response) bad = NULL;
  g_autoptr(Response) missing = NULL;
  g_autoptr(Response) stripe_ok = NULL;
  g_autoptr(Response) stripe_replay = NULL;
  g_autoptr(Response) slack_replay = NULL;
  SluiceMessage *message;

  /* "echo s3cret > file": the newline is not part of the secret. */
  write_secret (fixture, "s3cret\n");
  add_workflow (fixture,
                "{\"name\": \"gh\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/gh\", \"signature\":"
                "  {\"preset\": \"github\", \"secret\": {\"file\": \"DIR/secret\"}}}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\"}]}");
  add_workflow (fixture,
                "{\"name\": \"st\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/st\", \"signature\":"
                "  {\"preset\": \"stripe\", \"secret\": {\"file\": \"DIR/secret\"}}}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\"}]}");
  add_workflow (fixture,
                "{\"name\": \"sl\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/sl\", \"signature\":"
                "  {\"preset\": \"slack\", \"secret\": {\"file\": \"DIR/secret\"}}}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\"}]}");

  good = send (fixture, "POST", "/gh", "application/json", body,
               "X-Hub-Signature-256", github, NULL);
  g_assert_cmpuint (good->status, ==, SOUP_STATUS_ACCEPTED);
  message = g_ptr_array_index (test_recorder.collected, 0);
  g_assert_null (sluice_message_get_header (message, "http-header-x-hub-signature-256"));

  bad = send (fixture, "POST", "/gh", "application/json", "{\"order\": 2}",
              "X-Hub-Signature-256", github, NULL);
  g_assert_cmpuint (bad->status, ==, SOUP_STATUS_UNAUTHORIZED);
  assert_json_error (bad, "invalid signature");
  missing = send (fixture, "POST", "/gh", "application/json", body, NULL);
  g_assert_cmpuint (missing->status, ==, SOUP_STATUS_UNAUTHORIZED);
  /* The same answer whatever was wrong. */
  assert_json_error (missing, "invalid signature");

  stripe_ok = send (fixture, "POST", "/st", "application/json", body,
                    "Stripe-Signature", stripe_fresh, NULL);
  g_assert_cmpuint (stripe_ok->status, ==, SOUP_STATUS_ACCEPTED);
  stripe_replay = send (fixture, "POST", "/st", "application/json", body,
                        "Stripe-Signature", stripe_stale, NULL);
  g_assert_cmpuint (stripe_replay->status, ==, SOUP_STATUS_UNAUTHORIZED);
  assert_json_error (stripe_replay, "invalid signature");
  slack_replay = send (fixture, "POST", "/sl", "application/json", body,
                       "X-Slack-Signature", slack_stale, "X-Slack-Request-Timestamp", stale, NULL);
  g_assert_cmpuint (slack_replay->status, ==, SOUP_STATUS_UNAUTHORIZED);

  g_assert_cmpuint (test_recorder.collected->len, ==, 2);
}

static void
test_too_many (Fixture *fixture, gconstpointer data)
{
  Pending *first, *second;
  g_autoptr(Response) refused = NULL;
  g_autoptr(Response) first_response = NULL;
  g_autoptr(Response) second_response = NULL;

  add_workflow (fixture,
                "{\"name\": \"busy\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/busy\", \"queue\": 1,"
                "  \"retry_after\": 7}},"
                " \"concurrency\": 1,"
                " \"steps\": [{\"id\": \"h\", \"use\": \"test.hold\"}]}");

  first = send_start (fixture, "/busy", "{\"n\": 1}", NULL);
  wait_until_holding (1);
  /* The second waits in the queue of one; the third finds it full. */
  second = send_start (fixture, "/busy", "{\"n\": 2}", NULL);
  iterate_for (300);
  refused = send (fixture, "POST", "/busy", "application/json", "{\"n\": 3}", NULL);
  g_assert_cmpuint (refused->status, ==, 429);
  g_assert_cmpstr (soup_message_headers_get_one (refused->headers, "Retry-After"), ==, "7");
  assert_json_error (refused, "too many requests");
  g_assert_null (first->result);
  g_assert_null (second->result);

  test_recorder_release (1);
  first_response = pending_wait (fixture, first);
  g_assert_cmpuint (first_response->status, ==, SOUP_STATUS_ACCEPTED);
  wait_until_holding (1);
  test_recorder_release (1);
  second_response = pending_wait (fixture, second);
  g_assert_cmpuint (second_response->status, ==, SOUP_STATUS_ACCEPTED);
  g_assert_cmpuint (test_recorder.max_holding, ==, 1);
}

static void
test_sync_timeout (Fixture *fixture, gconstpointer data)
{
  g_autoptr(Response) response = NULL;
  g_autoptr(Response) after = NULL;

  add_workflow (fixture,
                "{\"name\": \"slow\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/slow\", \"mode\": \"sync\","
                "  \"sync_timeout\": \"200ms\"}},"
                " \"steps\": [{\"id\": \"h\", \"use\": \"test.hold\"}]}");

  response = send (fixture, "POST", "/slow", "application/json", "{}", NULL);
  g_assert_cmpuint (response->status, ==, SOUP_STATUS_GATEWAY_TIMEOUT);
  assert_json_error (response, "timed out");

  /* The run ends later; its settle finds the request answered. */
  test_recorder_release (1);
  spin ();
  after = send (fixture, "POST", "/slow", "application/json", "{}", NULL);
  g_assert_cmpuint (after->status, ==, SOUP_STATUS_GATEWAY_TIMEOUT);
}

static void
test_slow_client (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GOutputStream *out;
  char buffer[256];
  gssize got;
  gint64 started;
  const char *partial = "POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"half\": ";

  add_workflow (fixture,
                "{\"name\": \"slow\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/slow\", \"timeout\": \"300ms\"}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\"}]}");

  g_socket_client_connect_to_host_async (client, "127.0.0.1", fixture->port, NULL, on_done,
                                         &result);
  connection = g_socket_client_connect_to_host_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_output_stream_write_all_async (out, partial, strlen (partial), G_PRIORITY_DEFAULT, NULL,
                                   on_done, &result);
  g_assert_true (g_output_stream_write_all_finish (out, wait_for (&result), NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  /* Stalls: the server hangs up after its timeout, without an answer. */
  started = g_get_monotonic_time ();
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                             buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL, on_done, &result);
  got = g_input_stream_read_finish (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                    wait_for (&result), &error);
  g_assert_true (got == 0 || error != NULL);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 200 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (test_recorder.collected->len, ==, 0);
}

static void
test_fan_out (Fixture *fixture, gconstpointer data)
{
  g_autoptr(Response) response = NULL;

  add_workflow (fixture,
                "{\"name\": \"a\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/both\"}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\", \"with\": {\"tag\": \"a\"}}]}");
  add_workflow (fixture,
                "{\"name\": \"b\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/both\"}},"
                " \"steps\": [{\"id\": \"c\", \"use\": \"test.collect\", \"with\": {\"tag\": \"b\"}}]}");

  response = send (fixture, "POST", "/both", "application/json", "{}", NULL);
  g_assert_cmpuint (response->status, ==, SOUP_STATUS_ACCEPTED);
  g_assert_cmpuint (test_recorder.collected->len, ==, 2);
}

static void
on_event (SluiceTrigger *trigger, SluiceEvent *event, gpointer user_data)
{
  g_ptr_array_add (user_data, g_object_ref (event));
}

static void
test_handed_back (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json = g_strdup_printf ("{\"listen\": \"127.0.0.1:%u\", \"path\": \"/back\"}",
                                           fixture->port);
  g_autoptr(JsonNode) node = json_from_string (json, NULL);
  g_autoptr(GObject) trigger = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(Response) response = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  Pending *pending;

  trigger = sluice_component_factory_create (sluice_plugin_host_lookup (fixture->host,
                                                                        "webhook.receive"),
                                             fixture->context, json_node_get_object (node),
                                             &error);
  g_assert_no_error (error);
  g_signal_connect (trigger, "event", G_CALLBACK (on_event), events);
  g_assert_true (sluice_trigger_start (SLUICE_TRIGGER (trigger), &error));
  g_assert_no_error (error);

  pending = send_start (fixture, "/back", "{}", NULL);
  while (events->len == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (events->len, ==, 1);

  /* Handed back: the client is told to come again, after the delay asked. */
  sluice_event_retry_async (g_ptr_array_index (events, 0), 2500 * G_TIME_SPAN_MILLISECOND, NULL,
                            on_done, &result);
  g_assert_true (sluice_event_retry_finish (g_ptr_array_index (events, 0), wait_for (&result),
                                            &error));
  g_assert_no_error (error);
  response = pending_wait (fixture, pending);
  g_assert_cmpuint (response->status, ==, SOUP_STATUS_SERVICE_UNAVAILABLE);
  g_assert_cmpstr (soup_message_headers_get_one (response->headers, "Retry-After"), ==, "3");
  assert_json_error (response, "try again later");

  sluice_trigger_stop (SLUICE_TRIGGER (trigger));
}

/* One raw HTTP/1.1 exchange with "Connection: close": everything the
 * server sent, up to its end of the connection. */
typedef struct {
  char              *request;
  GSocketConnection *connection;
  GString           *received;
  char               buffer[4096];
  gboolean           done;
  GError            *error;
  guint             *pending;
} Exchange;

static void
exchange_finish (Exchange *exchange, GError *error)
{
  exchange->error = error;
  exchange->done = TRUE;
  (*exchange->pending)--;
}

static void
on_exchange_read (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Exchange *exchange = user_data;
  GError *error = NULL;
  gssize got = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);

  if (got <= 0)
    {
      exchange_finish (exchange, error);
      return;
    }
  g_string_append_len (exchange->received, exchange->buffer, got);
  g_input_stream_read_async (G_INPUT_STREAM (object), exchange->buffer, sizeof exchange->buffer,
                             G_PRIORITY_DEFAULT, NULL, on_exchange_read, exchange);
}

static void
on_exchange_written (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Exchange *exchange = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      exchange_finish (exchange, error);
      return;
    }
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (exchange->connection)),
                             exchange->buffer, sizeof exchange->buffer, G_PRIORITY_DEFAULT, NULL,
                             on_exchange_read, exchange);
}

static void
on_exchange_connected (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Exchange *exchange = user_data;
  GError *error = NULL;
  GOutputStream *out;

  exchange->connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result,
                                                                 &error);
  if (exchange->connection == NULL)
    {
      exchange_finish (exchange, error);
      return;
    }
  out = g_io_stream_get_output_stream (G_IO_STREAM (exchange->connection));
  g_output_stream_write_all_async (out, exchange->request, strlen (exchange->request),
                                   G_PRIORITY_DEFAULT, NULL, on_exchange_written, exchange);
}

static guint
count_listener_threads (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *name;
  guint count = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", name, "comm", NULL);
      g_autofree char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, "webhook-"))
        count++;
    }
  return count;
}

#define N_PARALLEL 500

static void
test_parallel_listeners (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  Exchange *exchanges = g_new0 (Exchange, N_PARALLEL);
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint pending = N_PARALLEL;

  add_workflow (fixture,
                "{\"name\": \"echo\", \"trigger\": {\"use\": \"webhook.receive\", \"with\":"
                " {\"listen\": \"127.0.0.1:PORT\", \"path\": \"/echo\", \"mode\": \"sync\","
                "  \"listeners\": 4, \"queue\": 1000}},"
                " \"concurrency\": 16,"
                " \"steps\": [{\"id\": \"e\", \"use\": \"wh.echo\"}]}");
  /* Threads name themselves once they run. */
  while (count_listener_threads () < 4 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpuint (count_listener_threads (), ==, 4);

  /* All connections open at once: the kernel spreads them over the four
   * sockets, and the answers come back from four threads. */
  for (guint i = 0; i < N_PARALLEL; i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"n\": %u}", i);

      exchanges[i].pending = &pending;
      exchanges[i].received = g_string_new (NULL);
      exchanges[i].request = g_strdup_printf ("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              "Content-Type: application/json\r\n"
                                              "Content-Length: %zu\r\nConnection: close\r\n"
                                              "\r\n%s", strlen (body), body);
      g_socket_client_connect_to_host_async (client, "127.0.0.1", fixture->port, NULL,
                                             on_exchange_connected, &exchanges[i]);
    }
  while (pending > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (pending, ==, 0);

  for (guint i = 0; i < N_PARALLEL; i++)
    {
      Exchange *exchange = &exchanges[i];
      g_autofree char *expected = g_strdup_printf ("\r\n\r\necho {\"n\": %u}", i);
      const char *text = exchange->received->str;
      const char *second;

      g_assert_no_error (exchange->error);
      g_assert_true (g_str_has_prefix (text, "HTTP/1.1 200 "));
      /* Exactly one answer on the connection, and it is this request's. */
      second = strstr (text + 1, "HTTP/1.");
      g_assert_null (second);
      g_assert_true (g_str_has_suffix (text, expected));
      g_assert_false (g_hash_table_contains (seen, text));
      g_hash_table_add (seen, exchange->received->str);
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, N_PARALLEL);

  for (guint i = 0; i < N_PARALLEL; i++)
    {
      g_clear_object (&exchanges[i].connection);
      g_string_free (exchanges[i].received, TRUE);
      g_free (exchanges[i].request);
    }
  g_free (exchanges);
}

static GObject *
trigger_new (Fixture *fixture, const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *port = g_strdup_printf ("%u", fixture->port);
  g_autoptr(GString) text = g_string_new (json);
  g_autoptr(JsonNode) node = NULL;
  GObject *trigger;

  g_string_replace (text, "PORT", port, 0);
  node = json_from_string (text->str, &error);
  g_assert_no_error (error);
  trigger = sluice_component_factory_create (sluice_plugin_host_lookup (fixture->host,
                                                                        "webhook.receive"),
                                             fixture->context, json_node_get_object (node),
                                             &error);
  g_assert_no_error (error);
  return trigger;
}

static void
test_shared_address (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) a = trigger_new (fixture, "{\"listen\": \"127.0.0.1:PORT\", \"path\": \"/a\"}");
  g_autoptr(GObject) b = trigger_new (fixture, "{\"listen\": \"127.0.0.1:PORT\", \"path\": \"/b\"}");
  g_autoptr(GObject) a_again =
    trigger_new (fixture, "{\"listen\": \"127.0.0.1:PORT\", \"path\": \"/a\", \"mode\": \"sync\"}");
  g_autoptr(GObject) v6 = trigger_new (fixture, "{\"listen\": \"[::1]:PORT\", \"path\": \"/a\"}");
  g_autoptr(Response) gone = NULL;

  g_assert_true (sluice_trigger_start (SLUICE_TRIGGER (a), &error));
  g_assert_true (sluice_trigger_start (SLUICE_TRIGGER (b), &error));
  g_assert_no_error (error);
  /* A path is one trigger's (the engine shares identical ones itself). */
  g_assert_false (sluice_trigger_start (SLUICE_TRIGGER (a_again), &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, "/a"));
  g_clear_error (&error);

  /* Another address is another socket: IPv6 loopback, same port. */
  if (!sluice_trigger_start (SLUICE_TRIGGER (v6), &error))
    {
      g_test_message ("no IPv6 loopback here: %s", error->message);
      g_clear_error (&error);
    }
  sluice_trigger_stop (SLUICE_TRIGGER (v6));

  /* The socket stays while one route is left, and goes with the last. */
  sluice_trigger_stop (SLUICE_TRIGGER (a));
  gone = send (fixture, "POST", "/a", "application/json", "{}", NULL);
  g_assert_cmpuint (gone->status, ==, SOUP_STATUS_NOT_FOUND);
  sluice_trigger_stop (SLUICE_TRIGGER (b));
  g_assert_true (sluice_trigger_start (SLUICE_TRIGGER (a_again), &error));
  g_assert_no_error (error);
  sluice_trigger_stop (SLUICE_TRIGGER (a_again));
}

static void
test_config_errors (Fixture *fixture, gconstpointer data)
{
  static const char *const configs[] = {
    "{\"listen\": \"localhost:80\", \"path\": \"/x\"}",
    "{\"listen\": \"127.0.0.1\", \"path\": \"/x\"}",
    "{\"listen\": \"127.0.0.1:0\", \"path\": \"/x\"}",
    "{\"listen\": \"::1:80\", \"path\": \"/x\"}",
    "{\"listen\": \"127.0.0.1:8085\", \"path\": \"x\"}",
    "{\"listen\": \"127.0.0.1:8085\", \"path\": \"/x\", \"methods\": [\"GET\"]}",
    "{\"listen\": \"127.0.0.1:8085\", \"path\": \"/x\", \"mode\": \"later\"}",
    "{\"listen\": \"127.0.0.1:8085\", \"path\": \"/x\", \"listeners\": 0}",
    "{\"listen\": \"127.0.0.1:8085\", \"path\": \"/x\", \"signature\": {\"preset\": \"github\","
    " \"secret\": \"inline\"}}",
    "{\"listen\": \"127.0.0.1:8085\", \"path\": \"/x\", \"signature\": {\"preset\": \"github\","
    " \"secret\": {\"file\": \"/nonexistent/secret\"}}}",
    "{\"listen\": \"127.0.0.1:8085\", \"path\": \"/x\", \"tls\": {\"certificate\": \"/nonexistent\","
    " \"key\": \"/nonexistent\"}}",
  };
  SluiceComponentFactory *factory = sluice_plugin_host_lookup (fixture->host, "webhook.receive");

  for (guint i = 0; i < G_N_ELEMENTS (configs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = json_from_string (configs[i], &error);
      g_autoptr(GObject) trigger = NULL;

      g_assert_no_error (error);
      trigger = sluice_component_factory_create (factory, fixture->context,
                                                 json_node_get_object (node), &error);
      g_assert_null (trigger);
      g_assert_nonnull (error);
      /* A missing secret file is NOT_FOUND; the rest is bad configuration. */
      g_assert_true (g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG) ||
                     g_error_matches (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("webhook.receive answering real HTTP clients through the engine");

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/webhook/async/accepted-after-run", test_async_accepted);
  ADD ("/webhook/async/dead-letter-is-500", test_dead_letter);
  ADD ("/webhook/sync/reply-mapping-two-paths-one-port", test_sync_reply);
  ADD ("/webhook/refusals/size-type-json-method-path-headers", test_refusals);
  ADD ("/webhook/signature/refused-and-replay", test_signatures);
  ADD ("/webhook/flow/queue-then-429", test_too_many);
  ADD ("/webhook/sync/timeout-504", test_sync_timeout);
  ADD ("/webhook/timeout/slow-client-dropped", test_slow_client);
  ADD ("/webhook/fan-out/one-path-two-workflows", test_fan_out);
  ADD ("/webhook/retry/handed-back-503", test_handed_back);
  ADD ("/webhook/listen/shared-address-and-path-conflict", test_shared_address);
  ADD ("/webhook/config/invalid", test_config_errors);
  ADD ("/webhook/listen/four-threads-500-parallel-each-answered-once", test_parallel_listeners);
#undef ADD

  return g_test_run ();
}
