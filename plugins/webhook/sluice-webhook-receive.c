/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-webhook-receive.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <libsoup/soup.h>

#include "sluice-webhook-event.h"
#include "sluice-webhook-signature.h"

#define COMPONENT "webhook.receive"
#define REQUEST_KEY "sluice-webhook-request"
#define MAX_REQUEST_ID 128

/* Not in libsoup's enumeration. */
#define STATUS_TOO_MANY_REQUESTS 429
#define STATUS_HEADERS_TOO_LARGE 431

enum {
  METHOD_POST = 1 << 0,
  METHOD_PUT  = 1 << 1,
};

/* Threads: every address is served by one or more listener threads, each
 * with its own socket (SO_REUSEPORT), GMainContext and SoupServer. A
 * listener thread reads requests and refuses what it can on its own; the
 * accepted ones go to the main context in batches, where everything that
 * touches the engine runs; answers come back to the request's listener
 * thread, again in batches. */

/* What a listener thread needs of one started trigger. Immutable once made,
 * except for the hand-over queue and the main-thread-only receive. */
typedef struct {
  gatomicrefcount        ref_count;
  char                  *path;
  guint                  methods;
  GStrv                  content_types;
  gint64                 max_body;
  gint64                 max_header;
  gint64                 timeout_usec;
  gboolean               client_ca;
  GStrv                  allowed_subjects;
  SluiceWebhookVerifier *verifier;
  SluiceClock           *clock;

  GMainContext          *main_context;
  GAsyncQueue           *incoming;   /* SluiceWebhookRequest (owned), accepted, for main */
  gint                   wake;       /* atomic: a drain is scheduled on main_context */
  SluiceWebhookReceive  *receive;    /* main thread only; NULL while stopped */
} Route;

/* The routes of one address; replaced as a whole, never changed. */
typedef struct {
  gatomicrefcount ref_count;
  GHashTable     *routes;        /* path -> Route (owned) */
  gint64          max_timeout;   /* the most patient route's read timeout */
} RouteTable;

typedef struct _Listener Listener;

/* One listener thread. */
typedef struct {
  gatomicrefcount ref_count;
  Listener       *listener;   /* unowned: joined before the listener goes */
  GMainContext   *context;
  gint            quit;       /* atomic: the thread is to end */
  GThread        *thread;
  GSocket        *socket;
  SoupServer     *server;     /* used in the thread only once it runs */
  GAsyncQueue    *answers;    /* SluiceWebhookRequest (owned), answered on main */
  gint            wake;       /* atomic: a delivery is scheduled on context */
  gboolean        stopped;    /* main thread only: answers are dropped */
} Worker;

/* One address, shared by every started webhook.receive on it: the routes
 * are told apart by path. */
struct _Listener
{
  char       *key;       /* normalised "host:port" */
  char       *tls_key;   /* what the TLS set-up was made from, "" without TLS */
  GMutex      lock;      /* guards table */
  RouteTable *table;
  GPtrArray  *workers;   /* Worker (owned) */
};

static GHashTable *listeners;  /* key -> Listener; main thread only */

/* After the engine's own work of an iteration: a settle's answer goes out,
 * and a request is taken in, once the credit its run held is back. */
#define PRIORITY_HAND_OVER (G_PRIORITY_DEFAULT + 1)

/* Main thread: answers made, not yet sent to their listener threads. */
static GQueue outbox = G_QUEUE_INIT;
static gboolean outbox_scheduled;

struct _SluiceWebhookReceive
{
  GObject parent_instance;

  char                  *listen_key;
  GSocketAddress        *address;
  char                  *path;
  guint                  methods;
  gboolean               sync;
  GStrv                  content_types;
  gint64                 max_body;
  gint64                 max_header;
  gint64                 timeout_usec;
  gint64                 sync_timeout_usec;
  guint                  queue_limit;
  guint                  retry_after;
  guint                  n_listeners;
  SluiceWebhookVerifier *verifier;
  char                  *tls_key;
  GTlsCertificate       *certificate;
  GTlsDatabase          *client_ca;
  GStrv                  allowed_subjects;

  SluiceClock           *clock;
  Route                 *route;
  Listener              *listener;  /* while started */
  GQueue                 waiting;   /* SluiceWebhookRequest (owned), waiting for credit */
};

struct _SluiceWebhookRequest
{
  gatomicrefcount        ref_count;
  Worker                *worker;      /* owned */
  Route                 *route;       /* owned, once the path is known */
  gint                   gone;        /* atomic: the client went away */

  /* Listener thread. */
  SoupServerMessage     *msg;         /* unowned until paused, then owned */
  GByteArray            *body;
  gboolean               too_large;
  gboolean               refused;     /* answered by the listener thread */
  gboolean               paused;
  gint64                 started_usec;  /* monotonic, for the read timeout */
  GSource               *read_timer;

  /* Set by the listener thread before the hand-over, read-only after. */
  char                  *request_id;
  char                  *traceparent;
  SluiceMessage         *message;     /* what the event carries */

  /* Main thread. */
  SluiceWebhookReceive  *receive;     /* owned while not answered */
  guint                  sync_timer;
  gboolean               answered;
  gboolean               queued;

  /* The answer, written on main before it goes back, read there after. */
  guint                  status;
  char                  *content_type;
  GBytes                *response;
  SoupMessageHeaders    *extra;
};

static void sluice_webhook_receive_initable_iface_init (GInitableIface *iface);
static void sluice_webhook_receive_trigger_iface_init (SluiceTriggerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceWebhookReceive, sluice_webhook_receive, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_webhook_receive_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_TRIGGER,
                                                      sluice_webhook_receive_trigger_iface_init))

const char sluice_webhook_receive_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Emits an event for every HTTP request to a path; the client gets its "
  "answer when the event is settled (async: 202 once the run that took it finished; sync: the "
  "workflow's reply)\","
  "  \"properties\": {"
  "    \"listen\": {\"type\": \"string\", \"minLength\": 1,"
  "                 \"description\": \"IP address and port: 127.0.0.1:8085 or [::1]:8085; "
  "triggers on one address share its socket\"},"
  "    \"path\": {\"type\": \"string\", \"minLength\": 1,"
  "               \"description\": \"The exact request path, e.g. /hooks/orders\"},"
  "    \"methods\": {\"type\": \"array\", \"minItems\": 1, \"default\": [\"POST\"],"
  "                  \"items\": {\"type\": \"string\", \"enum\": [\"POST\", \"PUT\"]},"
  "                  \"description\": \"Accepted methods; others get 405\"},"
  "    \"mode\": {\"type\": \"string\", \"enum\": [\"async\", \"sync\"], \"default\": \"async\","
  "               \"description\": \"async: 202 when the run that took the request finished; "
  "sync: the response is built from the workflow's reply\"},"
  "    \"content_types\": {\"type\": \"array\", \"minItems\": 1,"
  "                        \"default\": [\"application/json\"],"
  "                        \"items\": {\"type\": \"string\", \"minLength\": 1},"
  "                        \"description\": \"Accepted media types; others get 415\"},"
  "    \"max_body\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1073741824,"
  "                   \"default\": 1048576, \"description\": \"Largest body in bytes (413)\"},"
  "    \"max_header\": {\"type\": \"integer\", \"minimum\": 256, \"maximum\": 1048576,"
  "                     \"default\": 16384,"
  "                     \"description\": \"Largest total of request headers in bytes (431)\"},"
  "    \"timeout\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"10s\","
  "                  \"description\": \"Time a client has to send its whole request\"},"
  "    \"sync_timeout\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"30s\","
  "                       \"description\": \"sync mode: longest wait for the reply (504)\"},"
  "    \"queue\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 100000, \"default\": 0,"
  "                \"description\": \"Requests that may wait for the workflow's concurrency "
  "before 429\"},"
  "    \"listeners\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 64, \"default\": 2,"
  "                    \"description\": \"Threads (each with its own socket) serving the "
  "address; the first trigger started on an address decides\"},"
  "    \"retry_after\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 86400, \"default\": 1,"
  "                      \"description\": \"Seconds in Retry-After with 429 and 503\"},"
  "    \"signature\": {\"type\": \"object\","
  "      \"description\": \"HMAC signature every request must carry (401)\","
  "      \"properties\": {"
  "        \"preset\": {\"type\": \"string\","
  "                     \"enum\": [\"github\", \"stripe\", \"slack\", \"shopify\", \"generic\"]},"
  "        \"secret\": {\"type\": \"object\", \"additionalProperties\": true,"
  "                     \"description\": \"{\\\"file\\\": PATH} or {\\\"credential\\\": NAME}\"},"
  "        \"header\": {\"type\": \"string\", \"minLength\": 1},"
  "        \"algorithm\": {\"type\": \"string\", \"enum\": [\"sha1\", \"sha256\", \"sha512\"]},"
  "        \"encoding\": {\"type\": \"string\", \"enum\": [\"hex\", \"base64\"]},"
  "        \"prefix\": {\"type\": \"string\"},"
  "        \"timestamp_header\": {\"type\": \"string\", \"minLength\": 1,"
  "                               \"description\": \"generic: sign \\\"TIMESTAMP.body\\\"\"},"
  "        \"tolerance\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"5m\"}"
  "      },"
  "      \"required\": [\"preset\", \"secret\"]},"
  "    \"tls\": {\"type\": \"object\","
  "      \"description\": \"Serve HTTPS; with client_ca, clients need a certificate it signed\","
  "      \"properties\": {"
  "        \"certificate\": {\"type\": \"string\", \"minLength\": 1},"
  "        \"key\": {\"type\": \"string\", \"minLength\": 1},"
  "        \"client_ca\": {\"type\": \"string\", \"minLength\": 1},"
  "        \"allowed_subjects\": {\"type\": \"array\", \"minItems\": 1,"
  "                               \"items\": {\"type\": \"string\", \"minLength\": 1}}"
  "      },"
  "      \"required\": [\"certificate\", \"key\"]}"
  "  },"
  "  \"required\": [\"listen\", \"path\"],"
  "  \"additionalProperties\": false"
  "}";

static SluiceContext *
get_context (SluiceWebhookReceive *self)
{
  return sluice_component_get_context (self);
}

/* ---- Routes, tables, workers ---- */

static Route *
route_ref (Route *route)
{
  g_atomic_ref_count_inc (&route->ref_count);
  return route;
}

static void
route_unref (Route *route)
{
  if (!g_atomic_ref_count_dec (&route->ref_count))
    return;
  g_free (route->path);
  g_strfreev (route->content_types);
  g_strfreev (route->allowed_subjects);
  g_clear_pointer (&route->verifier, sluice_webhook_verifier_free);
  g_clear_object (&route->clock);
  g_main_context_unref (route->main_context);
  g_async_queue_unref (route->incoming);
  g_free (route);
}

static RouteTable *
route_table_new (void)
{
  RouteTable *table = g_new0 (RouteTable, 1);

  g_atomic_ref_count_init (&table->ref_count);
  table->routes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) route_unref);
  return table;
}

static RouteTable *
route_table_ref (RouteTable *table)
{
  g_atomic_ref_count_inc (&table->ref_count);
  return table;
}

static void
route_table_unref (RouteTable *table)
{
  if (!g_atomic_ref_count_dec (&table->ref_count))
    return;
  g_hash_table_unref (table->routes);
  g_free (table);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RouteTable, route_table_unref)

/* Any thread: the routes as they are now. */
static RouteTable *
listener_get_table (Listener *listener)
{
  RouteTable *table;

  g_mutex_lock (&listener->lock);
  table = route_table_ref (listener->table);
  g_mutex_unlock (&listener->lock);
  return table;
}

/* Main thread: a new table with @route added, or @path removed. */
static void
listener_replace_route (Listener   *listener,
                        const char *path,
                        Route      *route)
{
  RouteTable *table = route_table_new ();
  RouteTable *old;
  GHashTableIter iter;
  Route *each;

  g_hash_table_iter_init (&iter, listener->table->routes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &each))
    if (!g_str_equal (each->path, path))
      g_hash_table_insert (table->routes, each->path, route_ref (each));
  if (route != NULL)
    g_hash_table_insert (table->routes, route->path, route_ref (route));
  g_hash_table_iter_init (&iter, table->routes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &each))
    table->max_timeout = MAX (table->max_timeout, each->timeout_usec);

  g_mutex_lock (&listener->lock);
  old = listener->table;
  listener->table = table;
  g_mutex_unlock (&listener->lock);
  route_table_unref (old);
}

static Worker *
worker_ref (Worker *worker)
{
  g_atomic_ref_count_inc (&worker->ref_count);
  return worker;
}

static void
worker_unref (Worker *worker)
{
  if (!g_atomic_ref_count_dec (&worker->ref_count))
    return;
  g_clear_object (&worker->server);
  g_clear_object (&worker->socket);
  g_async_queue_unref (worker->answers);
  g_main_context_unref (worker->context);
  g_free (worker);
}

/* ---- Requests ---- */

static SluiceWebhookRequest *
request_new (SoupServerMessage *msg,
             Worker            *worker)
{
  SluiceWebhookRequest *request = g_new0 (SluiceWebhookRequest, 1);

  g_atomic_ref_count_init (&request->ref_count);
  request->msg = msg;
  request->worker = worker_ref (worker);
  request->body = g_byte_array_new ();
  request->started_usec = g_get_monotonic_time ();
  return request;
}

SluiceWebhookRequest *
sluice_webhook_request_ref (SluiceWebhookRequest *request)
{
  g_atomic_ref_count_inc (&request->ref_count);
  return request;
}

static void
request_clear_read_timer (SluiceWebhookRequest *request)
{
  if (request->read_timer == NULL)
    return;
  g_source_destroy (request->read_timer);
  g_clear_pointer (&request->read_timer, g_source_unref);
}

static gboolean
unref_on_main (gpointer user_data)
{
  g_object_unref (user_data);
  return G_SOURCE_REMOVE;
}

void
sluice_webhook_request_unref (SluiceWebhookRequest *request)
{
  if (!g_atomic_ref_count_dec (&request->ref_count))
    return;
  request_clear_read_timer (request);
  if (request->paused)
    g_object_unref (request->msg);
  /* Only a request never answered still holds its trigger; the trigger
   * belongs to the main thread. */
  if (request->receive != NULL)
    g_main_context_invoke (request->route->main_context, unref_on_main,
                           g_steal_pointer (&request->receive));
  g_clear_pointer (&request->route, route_unref);
  g_clear_pointer (&request->worker, worker_unref);
  g_clear_object (&request->message);
  g_byte_array_unref (request->body);
  g_free (request->request_id);
  g_free (request->traceparent);
  g_free (request->content_type);
  g_clear_pointer (&request->response, g_bytes_unref);
  g_clear_pointer (&request->extra, soup_message_headers_unref);
  g_free (request);
}

/* {"error": ..., "request_id": ...} or {"request_id": ...}. */
static GBytes *
json_answer (const char *request_id,
             const char *error_text)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  char *text;

  json_builder_begin_object (builder);
  if (error_text != NULL)
    {
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, error_text);
    }
  if (request_id != NULL)
    {
      json_builder_set_member_name (builder, "request_id");
      json_builder_add_string_value (builder, request_id);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);
  return g_bytes_new_take (text, strlen (text));
}

static SoupMessageHeaders *
retry_headers (guint status,
               guint retry_after)
{
  SoupMessageHeaders *extra;
  g_autofree char *seconds = NULL;

  if (status != STATUS_TOO_MANY_REQUESTS && status != SOUP_STATUS_SERVICE_UNAVAILABLE)
    return NULL;
  seconds = g_strdup_printf ("%u", retry_after);
  extra = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  soup_message_headers_replace (extra, "Retry-After", seconds);
  return extra;
}

/* Listener thread: sets the whole response; unpauses the message if it was
 * held. */
static void
request_respond (SluiceWebhookRequest *request,
                 guint                 status,
                 const char           *content_type,
                 GBytes               *body,
                 SoupMessageHeaders   *extra)
{
  SoupMessageHeaders *headers;

  if (g_atomic_int_get (&request->gone))
    return;
  request_clear_read_timer (request);

  headers = soup_server_message_get_response_headers (request->msg);
  if (extra != NULL)
    {
      SoupMessageHeadersIter iter;
      const char *name, *value;

      soup_message_headers_iter_init (&iter, extra);
      while (soup_message_headers_iter_next (&iter, &name, &value))
        soup_message_headers_replace (headers, name, value);
    }
  if (request->request_id != NULL)
    soup_message_headers_replace (headers, "X-Request-Id", request->request_id);
  if (request->traceparent != NULL)
    soup_message_headers_replace (headers, "traceparent", request->traceparent);

  soup_server_message_set_status (request->msg, status, NULL);
  if (body != NULL && g_bytes_get_size (body) > 0)
    {
      gsize len = 0;
      const char *data = g_bytes_get_data (body, &len);

      soup_server_message_set_response (request->msg, content_type, SOUP_MEMORY_COPY, data, len);
    }
  else
    soup_server_message_set_response (request->msg, NULL, SOUP_MEMORY_STATIC, NULL, 0);

  if (request->paused)
    {
      SoupServerMessage *msg = request->msg;

      request->paused = FALSE;
      soup_server_message_unpause (msg);
      g_object_unref (msg);
    }
}

/* Listener thread: refuses the request without the main thread. */
static void
request_refuse (SluiceWebhookRequest *request,
                guint                 status,
                const char           *error_text)
{
  g_autoptr(GBytes) body = json_answer (request->request_id, error_text);

  request->refused = TRUE;
  request_respond (request, status, "application/json", body, NULL);
}

/* Listener thread: the answers the main thread made, all that came. */
static gboolean
worker_deliver (gpointer user_data)
{
  Worker *worker = user_data;
  SluiceWebhookRequest *request;

  g_atomic_int_set (&worker->wake, 0);
  while ((request = g_async_queue_try_pop (worker->answers)) != NULL)
    {
      request_respond (request, request->status, request->content_type, request->response,
                       request->extra);
      sluice_webhook_request_unref (request);
    }
  return G_SOURCE_REMOVE;
}

/* Main thread: a request's answer goes back to its listener thread, which
 * is woken once for all the answers made before it looks. */
static void
worker_post (Worker               *worker,
             SluiceWebhookRequest *request)
{
  if (worker->stopped || g_atomic_int_get (&request->gone))
    return;
  g_async_queue_push (worker->answers, sluice_webhook_request_ref (request));
  if (g_atomic_int_compare_and_exchange (&worker->wake, 0, 1))
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, worker_deliver, worker, NULL);
      g_source_set_static_name (source, "sluice-webhook-deliver");
      g_source_attach (source, worker->context);
      g_source_unref (source);
    }
}

static void
request_cancel_sync_timer (SluiceWebhookRequest *request)
{
  guint id = request->sync_timer;

  if (id == 0)
    return;
  request->sync_timer = 0;
  /* Its destroy notify drops a reference to @request. */
  sluice_clock_cancel_timeout (request->route->clock, id);
}

static gboolean
outbox_flush (gpointer user_data)
{
  SluiceWebhookRequest *request;

  outbox_scheduled = FALSE;
  while ((request = g_queue_pop_head (&outbox)) != NULL)
    {
      worker_post (request->worker, request);
      sluice_webhook_request_unref (request);
    }
  return G_SOURCE_REMOVE;
}

/* Main thread: answers once; later answers (a settle after a timeout) are
 * ignored. */
static void
request_answer (SluiceWebhookRequest *request,
                guint                 status,
                const char           *content_type,
                GBytes               *body,
                SoupMessageHeaders   *extra)
{
  if (request->answered)
    return;
  request->answered = TRUE;
  request->status = status;
  request->content_type = g_strdup (content_type);
  request->response = body != NULL ? g_bytes_ref (body) : NULL;
  if (extra != NULL)
    {
      SoupMessageHeadersIter iter;
      const char *name, *value;

      /* A copy: the listener thread owns it from now on, and the headers'
       * reference count is not atomic. */
      request->extra = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
      soup_message_headers_iter_init (&iter, extra);
      while (soup_message_headers_iter_next (&iter, &name, &value))
        soup_message_headers_append (request->extra, name, value);
    }
  g_clear_object (&request->receive);
  /* Not yet: the settle that made this answer has not given the run's
   * credit back, and the client's next request could find none. */
  g_queue_push_tail (&outbox, sluice_webhook_request_ref (request));
  if (!outbox_scheduled)
    {
      GSource *source = g_idle_source_new ();

      outbox_scheduled = TRUE;
      g_source_set_priority (source, PRIORITY_HAND_OVER);
      g_source_set_callback (source, outbox_flush, NULL, NULL);
      g_source_set_static_name (source, "sluice-webhook-outbox");
      g_source_attach (source, request->route->main_context);
      g_source_unref (source);
    }
  /* Last: the timer may hold the last reference but one. */
  request_cancel_sync_timer (request);
}

static void
request_answer_json (SluiceWebhookRequest *request,
                     guint                 status,
                     const char           *error_text,
                     guint                 retry_after)
{
  g_autoptr(GBytes) body = json_answer (request->request_id, error_text);
  g_autoptr(SoupMessageHeaders) extra = retry_headers (status, retry_after);

  request_answer (request, status, "application/json", body, extra);
}

static void
on_sync_timeout (gpointer user_data)
{
  SluiceWebhookRequest *request = user_data;

  request->sync_timer = 0;
  /* The event stays with the engine; its settle finds the request answered. */
  request_answer_json (request, SOUP_STATUS_GATEWAY_TIMEOUT, "timed out", 0);
}

static void
sync_reply (SluiceWebhookRequest *request,
            SluiceMessage        *reply)
{
  g_autoptr(SoupMessageHeaders) extra = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  GHashTableIter iter;
  const char *name, *value;
  const char *status_text;
  guint64 status = SOUP_STATUS_OK;
  GBytes *body;

  if (reply == NULL)
    {
      request_answer (request, SOUP_STATUS_NO_CONTENT, NULL, NULL, NULL);
      return;
    }

  status_text = sluice_message_get_header (reply, "http-status");
  if (status_text != NULL &&
      (!g_ascii_string_to_unsigned (status_text, 10, 200, 599, &status, NULL)))
    {
      sluice_log (get_context (request->receive), reply, G_LOG_LEVEL_WARNING,
                  COMPONENT ": reply header http-status '%s' is not a status from 200 to 599",
                  status_text);
      request_answer_json (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "invalid reply", 0);
      return;
    }

  body = sluice_message_get_bytes (reply);
  if (body == NULL)
    {
      sluice_log (get_context (request->receive), reply, G_LOG_LEVEL_WARNING,
                  COMPONENT ": a streamed reply cannot be an HTTP response body");
      request_answer_json (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "invalid reply", 0);
      return;
    }

  g_hash_table_iter_init (&iter, sluice_message_get_headers (reply));
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &value))
    if (g_str_has_prefix (name, "http-response-header-") &&
        name[strlen ("http-response-header-")] != '\0')
      soup_message_headers_replace (extra, name + strlen ("http-response-header-"), value);

  request_answer (request, (guint) status,
                  sluice_message_get_content_type (reply) != NULL
                    ? sluice_message_get_content_type (reply) : "application/octet-stream",
                  body, extra);
}

void
sluice_webhook_request_settled (SluiceWebhookRequest *request,
                                SluiceEvent          *event,
                                SluiceEventOutcome    outcome,
                                gint64                retry_delay_usec)
{
  SluiceWebhookReceive *self = request->receive;

  if (request->answered || self == NULL)
    return;
  switch (outcome)
    {
    case SLUICE_EVENT_ACKED:
      if (self->sync)
        sync_reply (request, sluice_event_get_reply (event));
      else
        request_answer_json (request, SOUP_STATUS_ACCEPTED, NULL, 0);
      break;
    case SLUICE_EVENT_RETRY:
      {
        /* The request is not kept: the client sends it again. */
        guint seconds = retry_delay_usec > 0
          ? (guint) MIN ((retry_delay_usec + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC, 86400)
          : self->retry_after;

        request_answer_json (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "try again later",
                             seconds);
      }
      break;
    case SLUICE_EVENT_DEAD_LETTERED:
    case SLUICE_EVENT_PENDING:
    default:
      request_answer_json (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "not accepted", 0);
      break;
    }
}

static void
request_emit (SluiceWebhookRequest *request)
{
  SluiceWebhookReceive *self = request->receive;
  g_autoptr(SluiceWebhookEvent) event = NULL;

  if (self->sync)
    request->sync_timer = sluice_clock_add_timeout (request->route->clock,
                                                    self->sync_timeout_usec, on_sync_timeout,
                                                    sluice_webhook_request_ref (request),
                                                    (GDestroyNotify) sluice_webhook_request_unref);
  event = sluice_webhook_event_new (request, request->message);
  sluice_trigger_emit (SLUICE_TRIGGER (self), SLUICE_EVENT (event));
}

/* ---- Server callbacks ---- */

static gboolean
request_id_is_sane (const char *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > MAX_REQUEST_ID)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (id[i]) && strchr ("-_.:", id[i]) == NULL)
      return FALSE;
  return TRUE;
}

static void
request_identify (SluiceWebhookRequest *request,
                  SoupMessageHeaders   *headers)
{
  const char *id = soup_message_headers_get_one (headers, "X-Request-Id");
  const char *traceparent = soup_message_headers_get_one (headers, "traceparent");
  g_autoptr(SluiceMessage) probe = sluice_message_new ();

  request->request_id = id != NULL && request_id_is_sane (id) ? g_strdup (id)
                                                              : g_uuid_string_random ();
  if (traceparent == NULL || !sluice_message_set_traceparent (probe, traceparent))
    sluice_message_ensure_traceparent (probe);
  request->traceparent = g_strdup (sluice_message_get_traceparent (probe));
}

static gboolean
on_read_timeout (gpointer user_data)
{
  SluiceWebhookRequest *request = user_data;
  GSocket *socket = soup_server_message_get_socket (request->msg);

  g_clear_pointer (&request->read_timer, g_source_unref);
  /* Too slow to send its request: drop the connection. libsoup's pending
   * read sees the end and cleans the message up. */
  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}


static void
request_arm_read_timer (SluiceWebhookRequest *request,
                        gint64                timeout_usec)
{
  gint64 left = request->started_usec + timeout_usec - g_get_monotonic_time ();

  request_clear_read_timer (request);
  request->read_timer = g_timeout_source_new (left > 0 ? (guint) MIN (left / 1000, G_MAXUINT)
                                                       : 0);
  g_source_set_callback (request->read_timer, on_read_timeout, request, NULL);
  g_source_set_static_name (request->read_timer, "sluice-webhook-read-timeout");
  g_source_attach (request->read_timer, request->worker->context);
}

static void
on_msg_disconnected (SoupServerMessage *msg,
                     gpointer           user_data)
{
  SluiceWebhookRequest *request = user_data;

  g_atomic_int_set (&request->gone, 1);
  request_clear_read_timer (request);
  /* Nothing will be written: the message need not be held any longer. The
   * main thread drops the request if it still waits for credit. */
  if (request->paused)
    {
      request->paused = FALSE;
      g_object_unref (msg);
    }
}

static void
on_msg_finished (SoupServerMessage *msg,
                 gpointer           user_data)
{
  request_clear_read_timer (user_data);
}

static gsize
headers_size (SoupMessageHeaders *headers)
{
  SoupMessageHeadersIter iter;
  const char *name, *value;
  gsize total = 0;

  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    total += strlen (name) + strlen (value) + 4;
  return total;
}

static gboolean
content_type_allowed (Route      *route,
                      const char *content_type)
{
  if (content_type == NULL)
    return FALSE;
  for (guint i = 0; route->content_types[i] != NULL; i++)
    if (g_ascii_strcasecmp (route->content_types[i], content_type) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
subject_allowed (Route           *route,
                 GTlsCertificate *peer)
{
  g_autofree char *subject = NULL;
  g_auto(GStrv) parts = NULL;

  if (route->allowed_subjects == NULL)
    return TRUE;
  subject = g_tls_certificate_get_subject_name (peer);
  if (subject == NULL)
    return FALSE;
  parts = g_strsplit (subject, ",", -1);
  for (guint i = 0; route->allowed_subjects[i] != NULL; i++)
    {
      if (g_str_equal (route->allowed_subjects[i], subject))
        return TRUE;
      /* "CN=partner-a" allows that common name whatever else the subject says. */
      for (guint j = 0; parts[j] != NULL; j++)
        if (g_str_has_prefix (parts[j], "CN=") &&
            g_str_equal (route->allowed_subjects[i], parts[j]))
          return TRUE;
    }
  return FALSE;
}

/* What can be refused before the body is read is refused here, so a
 * refused body is never buffered. */
static void
on_msg_got_headers (SoupServerMessage *msg,
                    gpointer           user_data)
{
  SluiceWebhookRequest *request = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  g_autoptr(RouteTable) table = listener_get_table (request->worker->listener);
  Route *route;
  goffset length;

  request_identify (request, headers);

  route = g_hash_table_lookup (table->routes, g_uri_get_path (uri));
  if (route == NULL)
    {
      request_clear_read_timer (request);
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      request->refused = TRUE;
      return;
    }
  request->route = route_ref (route);
  request_arm_read_timer (request, route->timeout_usec);

  if (route->client_ca)
    {
      GTlsCertificate *peer = soup_server_message_get_tls_peer_certificate (msg);

      if (peer == NULL || soup_server_message_get_tls_peer_certificate_errors (msg) != 0 ||
          !subject_allowed (route, peer))
        {
          request_refuse (request, SOUP_STATUS_FORBIDDEN, "client certificate refused");
          return;
        }
    }

  if (!((g_str_equal (method, "POST") && (route->methods & METHOD_POST)) ||
        (g_str_equal (method, "PUT") && (route->methods & METHOD_PUT))))
    {
      const char *allow = (route->methods & METHOD_POST) && (route->methods & METHOD_PUT)
                            ? "POST, PUT"
                            : (route->methods & METHOD_PUT) ? "PUT" : "POST";

      request_refuse (request, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
      return;
    }

  if ((gint64) headers_size (headers) > route->max_header)
    {
      request_refuse (request, STATUS_HEADERS_TOO_LARGE, "request headers too large");
      return;
    }

  length = soup_message_headers_get_content_length (headers);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      length > route->max_body)
    {
      request_refuse (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body too large");
      return;
    }

  if (!content_type_allowed (route, soup_message_headers_get_content_type (headers, NULL)))
    {
      request_refuse (request, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported content type");
      return;
    }

  /* The body is kept here, up to max_body, rather than by libsoup. */
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
}

static void
on_msg_got_chunk (SoupServerMessage *msg,
                  GBytes            *chunk,
                  gpointer           user_data)
{
  SluiceWebhookRequest *request = user_data;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (chunk, &len);

  if (request->route == NULL || request->refused || request->too_large)
    return;
  if ((gint64) (request->body->len + len) > request->route->max_body)
    {
      request->too_large = TRUE;
      g_byte_array_set_size (request->body, 0);
      return;
    }
  g_byte_array_append (request->body, data, len);
}

/* libsoup refuses every client certificate nobody accepts, even one the
 * client_ca database verified: accept exactly those. The subject is checked
 * once the request's headers are in, to answer 403. */
static gboolean
on_msg_accept_certificate (SoupServerMessage   *msg,
                           GTlsCertificate     *certificate,
                           GTlsCertificateFlags errors,
                           gpointer             user_data)
{
  return errors == 0;
}

static void
on_request_started (SoupServer        *server,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  Worker *worker = user_data;
  SluiceWebhookRequest *request = request_new (msg, worker);
  g_autoptr(RouteTable) table = listener_get_table (worker->listener);

  g_object_set_data_full (G_OBJECT (msg), REQUEST_KEY, request,
                          (GDestroyNotify) sluice_webhook_request_unref);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_msg_got_headers), request);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_msg_got_chunk), request);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_msg_disconnected), request);
  g_signal_connect (msg, "finished", G_CALLBACK (on_msg_finished), request);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_msg_accept_certificate), request);

  /* Until the path is known, the most patient route's timeout applies. */
  request_arm_read_timer (request, table->max_timeout);
}

static const char *
lookup_header (gpointer    user_data,
               const char *name)
{
  return soup_message_headers_get_one (user_data, name);
}

static gboolean
media_type_is_json (const char *type)
{
  return g_ascii_strcasecmp (type, "application/json") == 0 ||
         (g_str_has_prefix (type, "application/") && g_str_has_suffix (type, "+json"));
}

static SluiceMessage *
request_build_message (SluiceWebhookRequest *request,
                       SoupServerMessage    *msg,
                       const char           *content_type)
{
  Route *route = request->route;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  g_autoptr(GBytes) body = g_byte_array_free_to_bytes (g_steal_pointer (&request->body));
  SluiceMessage *message = sluice_message_new_bytes (body, content_type);
  SoupMessageHeadersIter iter;
  const char *name, *value;

  request->body = g_byte_array_new ();
  sluice_message_set_id (message, request->request_id);
  sluice_message_set_traceparent (message, request->traceparent);
  sluice_message_set_header (message, "http-method", soup_server_message_get_method (msg));
  sluice_message_set_header (message, "http-path", g_uri_get_path (uri));
  sluice_message_set_header (message, "http-query",
                             g_uri_get_query (uri) != NULL ? g_uri_get_query (uri) : "");
  sluice_message_set_header (message, "x-request-id", request->request_id);

  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      g_autofree char *lower = g_ascii_strdown (name, -1);
      g_autofree char *key = NULL;

      /* Credentials and signatures stay out of the message, and so out of
       * logs, dead letters and whatever the workflow sends on. */
      if (g_str_equal (lower, "authorization") || g_str_equal (lower, "proxy-authorization") ||
          g_str_equal (lower, "cookie") ||
          (route->verifier != NULL &&
           sluice_webhook_verifier_is_signature_header (route->verifier, lower)))
        continue;
      key = g_strconcat ("http-header-", lower, NULL);
      if (sluice_message_get_header (message, key) != NULL)
        {
          g_autofree char *joined = g_strdup_printf ("%s, %s",
                                                     sluice_message_get_header (message, key),
                                                     value);
          sluice_message_set_header (message, key, joined);
        }
      else
        sluice_message_set_header (message, key, value);
    }
  return message;
}

static gboolean route_drain (gpointer user_data);

/* The body is parsed here, in the listener thread, into the tree the
 * message keeps: the workflow's steps on the main thread find it parsed. */
static gboolean
message_json_valid (SluiceMessage *message)
{
  GBytes *bytes = sluice_message_get_bytes (message);

  if (g_bytes_get_size (bytes) == 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();

      /* What json-glib makes of an empty document, as before. */
      return json_parser_load_from_data (parser, "", 0, NULL);
    }
  return sluice_message_get_json (message, NULL) != NULL;
}

/* Listener thread: hands an accepted request to the main thread, which is
 * woken once for all the requests handed over before it looks. */
static void
route_hand_over (Route                *route,
                 SluiceWebhookRequest *request)
{
  g_async_queue_push (route->incoming, sluice_webhook_request_ref (request));
  if (g_atomic_int_compare_and_exchange (&route->wake, 0, 1))
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, PRIORITY_HAND_OVER);
      g_source_set_callback (source, route_drain, route_ref (route),
                             (GDestroyNotify) route_unref);
      g_source_set_static_name (source, "sluice-webhook-hand-over");
      g_source_attach (source, route->main_context);
      g_source_unref (source);
    }
}

/* Listener thread: the whole request is in. */
static void
on_request (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  SluiceWebhookRequest *request = g_object_get_data (G_OBJECT (msg), REQUEST_KEY);
  Route *route;
  SoupMessageHeaders *headers;
  const char *content_type;

  if (request == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
      return;
    }
  request_clear_read_timer (request);
  if (request->refused)
    return;
  route = request->route;
  if (route == NULL)
    {
      request_refuse (request, SOUP_STATUS_NOT_FOUND, "not found");
      return;
    }

  if (request->too_large)
    {
      request_refuse (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body too large");
      return;
    }

  headers = soup_server_message_get_request_headers (msg);
  if (route->verifier != NULL &&
      !sluice_webhook_verifier_verify (route->verifier, lookup_header, headers,
                                       request->body->data, request->body->len,
                                       sluice_clock_get_real_time (route->clock)))
    {
      request_refuse (request, SOUP_STATUS_UNAUTHORIZED, "invalid signature");
      return;
    }

  content_type = soup_message_headers_get_content_type (headers, NULL);
  request->message = request_build_message (request, msg, content_type);
  if (media_type_is_json (content_type) && !message_json_valid (request->message))
    {
      request_refuse (request, SOUP_STATUS_BAD_REQUEST, "malformed JSON body");
      return;
    }

  request->paused = TRUE;
  g_object_ref (msg);
  soup_server_message_pause (msg);
  route_hand_over (route, request);
}

/* ---- Main thread: credit, queue, events ---- */

static void
request_accept (Route                *route,
                SluiceWebhookRequest *request)
{
  SluiceWebhookReceive *self = route->receive;

  if (g_atomic_int_get (&request->gone))
    return;
  if (self == NULL)
    {
      request_answer_json (request, SOUP_STATUS_NOT_FOUND, "not found", 0);
      return;
    }
  request->receive = g_object_ref (self);

  if (sluice_trigger_get_credit (SLUICE_TRIGGER (self)) == 0 || self->waiting.length > 0)
    {
      if (self->waiting.length >= self->queue_limit)
        {
          request_answer_json (request, STATUS_TOO_MANY_REQUESTS, "too many requests",
                               self->retry_after);
          return;
        }
      request->queued = TRUE;
      g_queue_push_tail (&self->waiting, sluice_webhook_request_ref (request));
      return;
    }
  request_emit (request);
}

static gboolean
route_drain (gpointer user_data)
{
  Route *route = user_data;
  SluiceWebhookRequest *request;

  g_atomic_int_set (&route->wake, 0);
  while ((request = g_async_queue_try_pop (route->incoming)) != NULL)
    {
      request_accept (route, request);
      sluice_webhook_request_unref (request);
    }
  return G_SOURCE_REMOVE;
}

/* ---- Listeners ---- */

/* By hand rather than with g_socket_bind(), which turns SO_REUSEPORT off
 * on TCP sockets: every listener thread binds its own socket to the
 * address and the kernel spreads the connections over them. */
static GSocket *
listen_socket_new (GSocketAddress *address,
                   const char     *key,
                   gboolean        reuse_port,
                   GError        **error)
{
  struct sockaddr_storage native;
  gsize native_len = g_socket_address_get_native_size (address);
  gboolean v6 = g_socket_address_get_family (address) == G_SOCKET_FAMILY_IPV6;
  g_autoptr(GError) local_error = NULL;
  const char *what;
  GSocket *listening;
  int one = 1;
  int fd;
  int errsv;

  if (!g_socket_address_to_native (address, &native, sizeof native, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                   COMPONENT ": cannot listen on %s: %s", key, local_error->message);
      return NULL;
    }

  fd = socket (v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      what = "socket";
      goto failed;
    }
  what = "SO_REUSEADDR";
  if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    goto failed;
  what = "SO_REUSEPORT";
  if (reuse_port && setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    goto failed;
  what = "IPV6_V6ONLY";
  if (v6 && setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
    goto failed;
  what = "bind";
  if (bind (fd, (struct sockaddr *) &native, (socklen_t) native_len) != 0)
    goto failed;
  what = "listen";
  if (listen (fd, SOMAXCONN) != 0)
    goto failed;

  listening = g_socket_new_from_fd (fd, &local_error);
  if (listening == NULL)
    {
      close (fd);
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                   COMPONENT ": cannot listen on %s: %s", key, local_error->message);
      return NULL;
    }
  return listening;

failed:
  errsv = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
               COMPONENT ": cannot listen on %s: %s: %s", key, what, g_strerror (errsv));
  return NULL;
}

static gpointer
worker_thread (gpointer user_data)
{
  Worker *worker = user_data;

  g_main_context_push_thread_default (worker->context);
  /* Not a GMainLoop: a quit asked before g_main_loop_run() started would
   * be lost. */
  while (!g_atomic_int_get (&worker->quit))
    g_main_context_iteration (worker->context, TRUE);
  /* Every open connection goes now, in this thread: their messages see
   * "disconnected" and let go of what they held. */
  soup_server_disconnect (worker->server);
  while (g_main_context_iteration (worker->context, FALSE))
    ;
  g_clear_object (&worker->server);
  g_main_context_pop_thread_default (worker->context);
  return NULL;
}

static Worker *
worker_new (Listener             *listener,
            SluiceWebhookReceive *self,
            guint                 index,
            GError              **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *name = NULL;
  Worker *worker;
  gboolean listening;

  socket = listen_socket_new (self->address, self->listen_key, self->n_listeners > 1, error);
  if (socket == NULL)
    return NULL;

  if (self->certificate != NULL)
    server = soup_server_new ("server-header", "sluice ",
                              "tls-certificate", self->certificate,
                              "tls-database", self->client_ca,
                              "tls-auth-mode", self->client_ca != NULL
                                                 ? G_TLS_AUTHENTICATION_REQUIRED
                                                 : G_TLS_AUTHENTICATION_NONE,
                              NULL);
  else
    server = soup_server_new ("server-header", "sluice ", NULL);

  worker = g_new0 (Worker, 1);
  g_atomic_ref_count_init (&worker->ref_count);
  worker->listener = listener;
  worker->context = g_main_context_new ();
  worker->answers = g_async_queue_new_full ((GDestroyNotify) sluice_webhook_request_unref);

  /* The server's sources go to the thread's context. */
  g_main_context_push_thread_default (worker->context);
  listening = soup_server_listen_socket (server, socket,
                                         self->certificate != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0,
                                         &local_error);
  g_main_context_pop_thread_default (worker->context);
  if (!listening)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                   COMPONENT ": cannot listen on %s: %s", self->listen_key, local_error->message);
      worker_unref (worker);
      return NULL;
    }
  soup_server_add_handler (server, NULL, on_request, worker, NULL);
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), worker);
  worker->socket = g_steal_pointer (&socket);
  worker->server = g_steal_pointer (&server);

  name = g_strdup_printf ("webhook-%u", index);
  worker->thread = g_thread_try_new (name, worker_thread, worker, &local_error);
  if (worker->thread == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                   COMPONENT ": cannot start a listener thread for %s: %s", self->listen_key,
                   local_error->message);
      soup_server_disconnect (worker->server);
      worker_unref (worker);
      return NULL;
    }
  return worker;
}

/* Main thread. Answers made from now on are dropped: their connections
 * are gone with the thread. */
static void
worker_join (Worker *worker)
{
  g_thread_join (g_steal_pointer (&worker->thread));
  worker->stopped = TRUE;
  while (g_async_queue_length (worker->answers) > 0)
    sluice_webhook_request_unref (g_async_queue_pop (worker->answers));
  g_socket_close (worker->socket, NULL);
}

static void
listener_free (Listener *listener)
{
  for (guint i = 0; i < listener->workers->len; i++)
    {
      Worker *worker = g_ptr_array_index (listener->workers, i);

      g_atomic_int_set (&worker->quit, 1);
      g_main_context_wakeup (worker->context);
    }
  for (guint i = 0; i < listener->workers->len; i++)
    worker_join (g_ptr_array_index (listener->workers, i));
  g_ptr_array_unref (listener->workers);
  route_table_unref (listener->table);
  g_mutex_clear (&listener->lock);
  g_free (listener->key);
  g_free (listener->tls_key);
  g_free (listener);
}

static Listener *
listener_open (SluiceWebhookReceive *self,
               GError              **error)
{
  Listener *listener = g_new0 (Listener, 1);

  listener->key = g_strdup (self->listen_key);
  listener->tls_key = g_strdup (self->tls_key);
  g_mutex_init (&listener->lock);
  listener->table = route_table_new ();
  listener->workers = g_ptr_array_new_with_free_func ((GDestroyNotify) worker_unref);

  for (guint i = 0; i < self->n_listeners; i++)
    {
      Worker *worker = worker_new (listener, self, i, error);

      if (worker == NULL)
        {
          listener_free (listener);
          return NULL;
        }
      g_ptr_array_add (listener->workers, worker);
    }
  return listener;
}

/* ---- SluiceTrigger ---- */

static void
sluice_webhook_receive_pump (SluiceWebhookReceive *self)
{
  while (self->listener != NULL && self->waiting.length > 0 &&
         sluice_trigger_get_credit (SLUICE_TRIGGER (self)) > 0)
    {
      g_autoptr(SluiceWebhookRequest) request = g_queue_pop_head (&self->waiting);

      request->queued = FALSE;
      /* A client that went away while waiting takes no credit. */
      if (!g_atomic_int_get (&request->gone))
        request_emit (request);
    }
}

static gboolean
sluice_webhook_receive_start (SluiceTrigger *trigger,
                              GError       **error)
{
  SluiceWebhookReceive *self = SLUICE_WEBHOOK_RECEIVE (trigger);
  Listener *listener;

  if (self->listener != NULL)
    return TRUE;

  if (listeners == NULL)
    listeners = g_hash_table_new (g_str_hash, g_str_equal);

  listener = g_hash_table_lookup (listeners, self->listen_key);
  if (listener != NULL)
    {
      if (!g_str_equal (listener->tls_key, self->tls_key))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       COMPONENT ": %s is already served with a different tls configuration; "
                       "triggers sharing an address need the same certificate, key and "
                       "client_ca", self->listen_key);
          return FALSE;
        }
      if (g_hash_table_contains (listener->table->routes, self->path))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       COMPONENT ": path '%s' on %s is already taken by another trigger "
                       "with a different configuration", self->path, self->listen_key);
          return FALSE;
        }
    }
  else
    {
      listener = listener_open (self, error);
      if (listener == NULL)
        return FALSE;
      g_hash_table_insert (listeners, listener->key, listener);
    }

  self->route->receive = self;
  listener_replace_route (listener, self->path, self->route);
  self->listener = listener;
  return TRUE;
}

static void
sluice_webhook_receive_stop (SluiceTrigger *trigger)
{
  SluiceWebhookReceive *self = SLUICE_WEBHOOK_RECEIVE (trigger);
  Listener *listener = self->listener;
  SluiceWebhookRequest *request;

  if (listener == NULL)
    return;
  self->listener = NULL;

  /* Requests not handed over yet are sent back; emitted ones are answered
   * when the engine settles them. */
  while ((request = g_queue_pop_head (&self->waiting)) != NULL)
    {
      request->queued = FALSE;
      request_answer_json (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "shutting down",
                           self->retry_after);
      sluice_webhook_request_unref (request);
    }

  /* Requests a listener thread still hands over find no trigger: 404, as
   * for any path nobody serves. */
  listener_replace_route (listener, self->path, NULL);
  self->route->receive = NULL;
  route_drain (self->route);

  if (g_hash_table_size (listener->table->routes) == 0)
    {
      g_hash_table_remove (listeners, listener->key);
      listener_free (listener);
    }
}

static void
sluice_webhook_receive_credit_available (SluiceTrigger *trigger)
{
  sluice_webhook_receive_pump (SLUICE_WEBHOOK_RECEIVE (trigger));
}

static void
sluice_webhook_receive_trigger_iface_init (SluiceTriggerInterface *iface)
{
  iface->start = sluice_webhook_receive_start;
  iface->stop = sluice_webhook_receive_stop;
  iface->credit_available = sluice_webhook_receive_credit_available;
}

/* ---- GInitable ---- */

static gboolean
parse_listen (SluiceWebhookReceive *self,
              const char           *listen,
              GError              **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *port_text;
  guint64 port = 0;

  if (listen[0] == '[')
    {
      const char *end = strstr (listen, "]:");

      if (end == NULL)
        goto invalid;
      host = g_strndup (listen + 1, end - listen - 1);
      port_text = end + 2;
    }
  else
    {
      const char *colon = strrchr (listen, ':');

      if (colon == NULL || strchr (listen, ':') != colon)
        goto invalid;
      host = g_strndup (listen, colon - listen);
      port_text = colon + 1;
    }

  address = g_inet_address_new_from_string (host);
  if (address == NULL ||
      !g_ascii_string_to_unsigned (port_text, 10, 1, 65535, &port, NULL))
    goto invalid;

  self->address = g_inet_socket_address_new (address, (guint16) port);
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    self->listen_key = g_strdup_printf ("[%s]:%u", host, (guint) port);
  else
    self->listen_key = g_strdup_printf ("%s:%u", host, (guint) port);
  return TRUE;

invalid:
  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
               COMPONENT ": key 'listen': '%s' is not an IP address and port "
               "(127.0.0.1:8085 or [::1]:8085)", listen);
  return FALSE;
}

static gint64
config_duration (JsonObject *config,
                 const char *name,
                 const char *fallback)
{
  const char *text = json_object_get_string_member_with_default (config, name, fallback);
  gint64 usec = 0;

  /* The schema checked the format already. */
  if (!sluice_parse_duration (text, &usec, NULL))
    sluice_parse_duration (fallback, &usec, NULL);
  return usec;
}

static GStrv
config_strv (JsonObject *config,
             const char *name)
{
  JsonNode *node = json_object_get_member (config, name);
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  array = json_node_get_array (node);
  builder = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_strv_builder_add (builder, json_array_get_string_element (array, i));
  return g_strv_builder_end (builder);
}

static gboolean
sluice_webhook_receive_init_tls (SluiceWebhookReceive *self,
                                 JsonObject           *tls,
                                 GError              **error)
{
  const char *certificate = json_object_get_string_member (tls, "certificate");
  const char *key = json_object_get_string_member (tls, "key");
  const char *client_ca = json_object_get_string_member_with_default (tls, "client_ca", NULL);
  g_autoptr(GError) local_error = NULL;

  self->certificate = g_tls_certificate_new_from_files (certificate, key, &local_error);
  if (self->certificate == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": tls: cannot load certificate '%s' with key '%s': %s",
                   certificate, key, local_error->message);
      return FALSE;
    }
  if (client_ca != NULL)
    {
      self->client_ca = g_tls_file_database_new (client_ca, &local_error);
      if (self->client_ca == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       COMPONENT ": tls.client_ca: cannot load '%s': %s",
                       client_ca, local_error->message);
          return FALSE;
        }
    }
  self->allowed_subjects = config_strv (tls, "allowed_subjects");
  if (self->allowed_subjects != NULL && self->client_ca == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": tls.allowed_subjects needs tls.client_ca");
      return FALSE;
    }
  self->tls_key = g_strdup_printf ("%s\n%s\n%s", certificate, key,
                                   client_ca != NULL ? client_ca : "");
  return TRUE;
}

static gboolean
sluice_webhook_receive_initable_init (GInitable    *initable,
                                      GCancellable *cancellable,
                                      GError      **error)
{
  SluiceWebhookReceive *self = SLUICE_WEBHOOK_RECEIVE (initable);
  JsonObject *config = sluice_component_get_config (self);
  SluiceContext *context = get_context (self);
  JsonArray *methods;
  const char *path;
  const char *mode;

  if (config == NULL || !json_object_has_member (config, "listen") ||
      !json_object_has_member (config, "path"))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": keys 'listen' and 'path' are required");
      return FALSE;
    }

  if (!parse_listen (self, json_object_get_string_member (config, "listen"), error))
    return FALSE;

  path = json_object_get_string_member (config, "path");
  if (path == NULL || path[0] != '/' || strpbrk (path, "?# \t") != NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'path': '%s' must start with / and hold no query",
                   path != NULL ? path : "");
      return FALSE;
    }
  self->path = g_strdup (path);

  methods = json_object_has_member (config, "methods")
              ? json_object_get_array_member (config, "methods") : NULL;
  if (methods == NULL)
    self->methods = METHOD_POST;
  else
    for (guint i = 0; i < json_array_get_length (methods); i++)
      {
        const char *method = json_array_get_string_element (methods, i);

        if (g_strcmp0 (method, "POST") == 0)
          self->methods |= METHOD_POST;
        else if (g_strcmp0 (method, "PUT") == 0)
          self->methods |= METHOD_PUT;
        else
          {
            g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                         COMPONENT ": key 'methods[%u]': '%s' is not POST or PUT", i,
                         method != NULL ? method : "(not a string)");
            return FALSE;
          }
      }
  if (self->methods == 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'methods' must list POST, PUT or both");
      return FALSE;
    }

  mode = json_object_get_string_member_with_default (config, "mode", "async");
  if (g_strcmp0 (mode, "async") != 0 && g_strcmp0 (mode, "sync") != 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'mode': '%s' is not async or sync", mode != NULL ? mode : "");
      return FALSE;
    }
  self->sync = g_str_equal (mode, "sync");
  self->content_types = config_strv (config, "content_types");
  if (self->content_types == NULL)
    self->content_types = g_strdupv ((char *[]) { (char *) "application/json", NULL });
  self->max_body = json_object_get_int_member_with_default (config, "max_body", 1048576);
  self->max_header = json_object_get_int_member_with_default (config, "max_header", 16384);
  self->timeout_usec = config_duration (config, "timeout", "10s");
  self->sync_timeout_usec = config_duration (config, "sync_timeout", "30s");
  self->queue_limit = (guint) json_object_get_int_member_with_default (config, "queue", 0);
  self->retry_after = (guint) json_object_get_int_member_with_default (config, "retry_after", 1);
  self->n_listeners = (guint) json_object_get_int_member_with_default (config, "listeners", 2);
  if (self->n_listeners < 1 || self->n_listeners > 64)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   COMPONENT ": key 'listeners': %u is not from 1 to 64", self->n_listeners);
      return FALSE;
    }

  if (json_object_has_member (config, "signature"))
    {
      JsonObject *signature = json_object_get_object_member (config, "signature");
      g_autoptr(GBytes) secret = NULL;

      if (context == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       COMPONENT ": signature.secret needs a context to be resolved in");
          return FALSE;
        }
      secret = sluice_context_resolve_secret (context,
                                              json_object_get_member (signature, "secret"),
                                              COMPONENT " signature.secret", error);
      if (secret == NULL)
        return FALSE;
      self->verifier = sluice_webhook_verifier_new (signature, secret, COMPONENT, error);
      if (self->verifier == NULL)
        return FALSE;
    }

  if (json_object_has_member (config, "tls"))
    {
      if (!sluice_webhook_receive_init_tls (self, json_object_get_object_member (config, "tls"),
                                            error))
        return FALSE;
    }
  else
    self->tls_key = g_strdup ("");

  self->clock = context != NULL ? g_object_ref (sluice_context_get_clock (context))
                                : sluice_clock_new_system ();

  self->route = g_new0 (Route, 1);
  g_atomic_ref_count_init (&self->route->ref_count);
  self->route->path = g_strdup (self->path);
  self->route->methods = self->methods;
  self->route->content_types = g_strdupv (self->content_types);
  self->route->max_body = self->max_body;
  self->route->max_header = self->max_header;
  self->route->timeout_usec = self->timeout_usec;
  self->route->client_ca = self->client_ca != NULL;
  self->route->allowed_subjects = g_strdupv (self->allowed_subjects);
  self->route->verifier = g_steal_pointer (&self->verifier);
  self->route->clock = g_object_ref (self->clock);
  self->route->main_context = g_main_context_ref_thread_default ();
  self->route->incoming = g_async_queue_new_full ((GDestroyNotify) sluice_webhook_request_unref);
  return TRUE;
}

static void
sluice_webhook_receive_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_webhook_receive_initable_init;
}

/* ---- GObject ---- */

static void
sluice_webhook_receive_dispose (GObject *object)
{
  sluice_webhook_receive_stop (SLUICE_TRIGGER (object));

  G_OBJECT_CLASS (sluice_webhook_receive_parent_class)->dispose (object);
}

static void
sluice_webhook_receive_finalize (GObject *object)
{
  SluiceWebhookReceive *self = SLUICE_WEBHOOK_RECEIVE (object);

  g_free (self->listen_key);
  g_clear_object (&self->address);
  g_free (self->path);
  g_strfreev (self->content_types);
  g_clear_pointer (&self->verifier, sluice_webhook_verifier_free);
  g_free (self->tls_key);
  g_clear_object (&self->certificate);
  g_clear_object (&self->client_ca);
  g_strfreev (self->allowed_subjects);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->route, route_unref);

  G_OBJECT_CLASS (sluice_webhook_receive_parent_class)->finalize (object);
}

static void
sluice_webhook_receive_class_init (SluiceWebhookReceiveClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_webhook_receive_dispose;
  object_class->finalize = sluice_webhook_receive_finalize;
}

static void
sluice_webhook_receive_init (SluiceWebhookReceive *self)
{
  g_queue_init (&self->waiting);
}
