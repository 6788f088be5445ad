/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-webhook-receive.h"

#include <string.h>
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

/* One listening socket, shared by every started webhook.receive on the
 * same address: the routes are told apart by path. */
typedef struct {
  char       *key;       /* normalised "host:port" */
  char       *tls_key;   /* what the TLS set-up was made from, "" without TLS */
  SoupServer *server;
  GHashTable *routes;    /* path -> SluiceWebhookReceive, unowned: removed at stop */
} Listener;

static GHashTable *listeners;  /* key -> Listener; main thread only */

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
  SluiceWebhookVerifier *verifier;
  char                  *tls_key;
  GTlsCertificate       *certificate;
  GTlsDatabase          *client_ca;
  GStrv                  allowed_subjects;

  SluiceClock           *clock;
  Listener              *listener;  /* while started */
  GQueue                 waiting;   /* SluiceWebhookRequest (owned), waiting for credit */
};

struct _SluiceWebhookRequest
{
  grefcount             ref_count;
  SoupServerMessage    *msg;        /* unowned until paused, then owned */
  SluiceWebhookReceive *receive;    /* owned, once the route is known */
  SluiceMessage        *message;    /* what the event carries */
  GByteArray           *body;
  gboolean              too_large;
  char                 *request_id;
  char                 *traceparent;
  gint64                started_usec;  /* monotonic, for the read timeout */
  guint                 read_timer;
  guint                 sync_timer;
  gboolean              paused;
  gboolean              answered;
  gboolean              gone;
  gboolean              queued;
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

/* ---- Requests ---- */

static SluiceWebhookRequest *
request_new (SoupServerMessage *msg)
{
  SluiceWebhookRequest *request = g_new0 (SluiceWebhookRequest, 1);

  g_ref_count_init (&request->ref_count);
  request->msg = msg;
  request->body = g_byte_array_new ();
  request->started_usec = g_get_monotonic_time ();
  return request;
}

SluiceWebhookRequest *
sluice_webhook_request_ref (SluiceWebhookRequest *request)
{
  g_ref_count_inc (&request->ref_count);
  return request;
}

static void
request_clear_timers (SluiceWebhookRequest *request)
{
  g_clear_handle_id (&request->read_timer, g_source_remove);
  if (request->sync_timer != 0)
    {
      sluice_clock_cancel_timeout (request->receive->clock, request->sync_timer);
      request->sync_timer = 0;
    }
}

void
sluice_webhook_request_unref (SluiceWebhookRequest *request)
{
  if (!g_ref_count_dec (&request->ref_count))
    return;
  request_clear_timers (request);
  if (request->paused)
    g_object_unref (request->msg);
  g_clear_object (&request->receive);
  g_clear_object (&request->message);
  g_byte_array_unref (request->body);
  g_free (request->request_id);
  g_free (request->traceparent);
  g_free (request);
}

/* Sets the whole response; unpauses the message if it was held. */
static void
request_respond (SluiceWebhookRequest *request,
                 guint                 status,
                 const char           *content_type,
                 GBytes               *body,
                 SoupMessageHeaders   *extra)
{
  SoupMessageHeaders *headers;

  if (request->answered || request->gone)
    return;
  request->answered = TRUE;
  request_clear_timers (request);

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

/* A JSON answer: {"error": ..., "request_id": ...} or {"request_id": ...}. */
static void
request_respond_json (SluiceWebhookRequest *request,
                      guint                 status,
                      const char           *error_text,
                      guint                 retry_after)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(SoupMessageHeaders) extra = NULL;
  g_autoptr(GBytes) body = NULL;
  char *text;

  json_builder_begin_object (builder);
  if (error_text != NULL)
    {
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, error_text);
    }
  if (request->request_id != NULL)
    {
      json_builder_set_member_name (builder, "request_id");
      json_builder_add_string_value (builder, request->request_id);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);
  body = g_bytes_new_take (text, strlen (text));

  if (status == STATUS_TOO_MANY_REQUESTS || status == SOUP_STATUS_SERVICE_UNAVAILABLE)
    {
      g_autofree char *seconds = g_strdup_printf ("%u", retry_after);

      extra = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
      soup_message_headers_replace (extra, "Retry-After", seconds);
    }
  request_respond (request, status, "application/json", body, extra);
}

static void
request_pause (SluiceWebhookRequest *request)
{
  if (request->paused)
    return;
  request->paused = TRUE;
  g_object_ref (request->msg);
  soup_server_message_pause (request->msg);
}

static void
on_sync_timeout (gpointer user_data)
{
  SluiceWebhookRequest *request = user_data;

  request->sync_timer = 0;
  /* The event stays with the engine; its settle finds the request answered. */
  request_respond_json (request, SOUP_STATUS_GATEWAY_TIMEOUT, "timed out", 0);
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
      request_respond (request, SOUP_STATUS_NO_CONTENT, NULL, NULL, NULL);
      return;
    }

  status_text = sluice_message_get_header (reply, "http-status");
  if (status_text != NULL &&
      (!g_ascii_string_to_unsigned (status_text, 10, 200, 599, &status, NULL)))
    {
      sluice_log (get_context (request->receive), reply, G_LOG_LEVEL_WARNING,
                  COMPONENT ": reply header http-status '%s' is not a status from 200 to 599",
                  status_text);
      request_respond_json (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "invalid reply", 0);
      return;
    }

  body = sluice_message_get_bytes (reply);
  if (body == NULL)
    {
      sluice_log (get_context (request->receive), reply, G_LOG_LEVEL_WARNING,
                  COMPONENT ": a streamed reply cannot be an HTTP response body");
      request_respond_json (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "invalid reply", 0);
      return;
    }

  g_hash_table_iter_init (&iter, sluice_message_get_headers (reply));
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &value))
    if (g_str_has_prefix (name, "http-response-header-") &&
        name[strlen ("http-response-header-")] != '\0')
      soup_message_headers_replace (extra, name + strlen ("http-response-header-"), value);

  request_respond (request, (guint) status,
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

  switch (outcome)
    {
    case SLUICE_EVENT_ACKED:
      if (self->sync)
        sync_reply (request, sluice_event_get_reply (event));
      else
        request_respond_json (request, SOUP_STATUS_ACCEPTED, NULL, 0);
      break;
    case SLUICE_EVENT_RETRY:
      {
        /* The request is not kept: the client sends it again. */
        guint seconds = retry_delay_usec > 0
          ? (guint) MIN ((retry_delay_usec + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC, 86400)
          : self->retry_after;

        request_respond_json (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "try again later",
                              seconds);
      }
      break;
    case SLUICE_EVENT_DEAD_LETTERED:
    case SLUICE_EVENT_PENDING:
    default:
      request_respond_json (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "not accepted", 0);
      break;
    }
}

static void
request_emit (SluiceWebhookRequest *request)
{
  SluiceWebhookReceive *self = request->receive;
  g_autoptr(SluiceWebhookEvent) event = NULL;

  if (self->sync)
    request->sync_timer = sluice_clock_add_timeout (self->clock, self->sync_timeout_usec,
                                                    on_sync_timeout, request, NULL);
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

  request->read_timer = 0;
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

  g_clear_handle_id (&request->read_timer, g_source_remove);
  request->read_timer = g_timeout_add (left > 0 ? (guint) MIN (left / 1000, G_MAXUINT) : 0,
                                       on_read_timeout, request);
}

static void
on_msg_disconnected (SoupServerMessage *msg,
                     gpointer           user_data)
{
  SluiceWebhookRequest *request = user_data;

  request->gone = TRUE;
  request_clear_timers (request);
  if (request->queued)
    {
      request->queued = FALSE;
      g_queue_remove (&request->receive->waiting, request);
      sluice_webhook_request_unref (request);
    }
}

static void
on_msg_finished (SoupServerMessage *msg,
                 gpointer           user_data)
{
  SluiceWebhookRequest *request = user_data;

  g_clear_handle_id (&request->read_timer, g_source_remove);
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
content_type_allowed (SluiceWebhookReceive *self,
                      const char           *content_type)
{
  if (content_type == NULL)
    return FALSE;
  for (guint i = 0; self->content_types[i] != NULL; i++)
    if (g_ascii_strcasecmp (self->content_types[i], content_type) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
subject_allowed (SluiceWebhookReceive *self,
                 GTlsCertificate      *peer)
{
  g_autofree char *subject = NULL;
  g_auto(GStrv) parts = NULL;

  if (self->allowed_subjects == NULL)
    return TRUE;
  subject = g_tls_certificate_get_subject_name (peer);
  if (subject == NULL)
    return FALSE;
  parts = g_strsplit (subject, ",", -1);
  for (guint i = 0; self->allowed_subjects[i] != NULL; i++)
    {
      if (g_str_equal (self->allowed_subjects[i], subject))
        return TRUE;
      /* "CN=partner-a" allows that common name whatever else the subject says. */
      for (guint j = 0; parts[j] != NULL; j++)
        if (g_str_has_prefix (parts[j], "CN=") && g_str_equal (self->allowed_subjects[i], parts[j]))
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
  Listener *listener = g_object_get_data (G_OBJECT (msg), "sluice-webhook-listener");
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  SluiceWebhookReceive *self;
  goffset length;

  request_identify (request, headers);

  self = listener != NULL ? g_hash_table_lookup (listener->routes, g_uri_get_path (uri)) : NULL;
  if (self == NULL)
    {
      g_clear_handle_id (&request->read_timer, g_source_remove);
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      request->answered = TRUE;
      return;
    }
  request->receive = g_object_ref (self);
  request_arm_read_timer (request, self->timeout_usec);

  if (self->client_ca != NULL)
    {
      GTlsCertificate *peer = soup_server_message_get_tls_peer_certificate (msg);

      if (peer == NULL || soup_server_message_get_tls_peer_certificate_errors (msg) != 0 ||
          !subject_allowed (self, peer))
        {
          request_respond_json (request, SOUP_STATUS_FORBIDDEN, "client certificate refused", 0);
          return;
        }
    }

  if (!((g_str_equal (method, "POST") && (self->methods & METHOD_POST)) ||
        (g_str_equal (method, "PUT") && (self->methods & METHOD_PUT))))
    {
      const char *allow = (self->methods & METHOD_POST) && (self->methods & METHOD_PUT)
                            ? "POST, PUT"
                            : (self->methods & METHOD_PUT) ? "PUT" : "POST";

      request_respond_json (request, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed", 0);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
      return;
    }

  if ((gint64) headers_size (headers) > self->max_header)
    {
      request_respond_json (request, STATUS_HEADERS_TOO_LARGE, "request headers too large", 0);
      return;
    }

  length = soup_message_headers_get_content_length (headers);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      length > self->max_body)
    {
      request_respond_json (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body too large", 0);
      return;
    }

  if (!content_type_allowed (self, soup_message_headers_get_content_type (headers, NULL)))
    {
      request_respond_json (request, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
                            "unsupported content type", 0);
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

  if (request->receive == NULL || request->answered || request->too_large)
    return;
  if ((gint64) (request->body->len + len) > request->receive->max_body)
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
  Listener *listener = user_data;
  SluiceWebhookRequest *request = request_new (msg);
  gint64 timeout_usec = 0;
  GHashTableIter iter;
  SluiceWebhookReceive *route;

  g_object_set_data_full (G_OBJECT (msg), REQUEST_KEY, request,
                          (GDestroyNotify) sluice_webhook_request_unref);
  g_object_set_data (G_OBJECT (msg), "sluice-webhook-listener", listener);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_msg_got_headers), request);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_msg_got_chunk), request);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_msg_disconnected), request);
  g_signal_connect (msg, "finished", G_CALLBACK (on_msg_finished), request);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (on_msg_accept_certificate), request);

  /* Until the path is known, the most patient route's timeout applies. */
  g_hash_table_iter_init (&iter, listener->routes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &route))
    timeout_usec = MAX (timeout_usec, route->timeout_usec);
  request_arm_read_timer (request, timeout_usec);
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
  SluiceWebhookReceive *self = request->receive;
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
          (self->verifier != NULL && sluice_webhook_verifier_is_signature_header (self->verifier,
                                                                                lower)))
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

static void
on_request (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  SluiceWebhookRequest *request = g_object_get_data (G_OBJECT (msg), REQUEST_KEY);
  SluiceWebhookReceive *self;
  SoupMessageHeaders *headers;
  const char *content_type;
  guint credit;

  if (request == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
      return;
    }
  g_clear_handle_id (&request->read_timer, g_source_remove);
  if (request->answered)
    return;
  self = request->receive;
  if (self == NULL || self->listener == NULL)
    {
      request_respond_json (request, SOUP_STATUS_NOT_FOUND, "not found", 0);
      return;
    }

  if (request->too_large)
    {
      request_respond_json (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body too large", 0);
      return;
    }

  headers = soup_server_message_get_request_headers (msg);
  if (self->verifier != NULL &&
      !sluice_webhook_verifier_verify (self->verifier, lookup_header, headers,
                                       request->body->data, request->body->len,
                                       sluice_clock_get_real_time (self->clock)))
    {
      request_respond_json (request, SOUP_STATUS_UNAUTHORIZED, "invalid signature", 0);
      return;
    }

  content_type = soup_message_headers_get_content_type (headers, NULL);
  if (media_type_is_json (content_type))
    {
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();

      if (!json_parser_load_from_data (parser, (const char *) request->body->data,
                                       request->body->len, NULL))
        {
          request_respond_json (request, SOUP_STATUS_BAD_REQUEST, "malformed JSON body", 0);
          return;
        }
    }

  credit = sluice_trigger_get_credit (SLUICE_TRIGGER (self));
  if (credit == 0 || self->waiting.length > 0)
    {
      if (self->waiting.length >= self->queue_limit)
        {
          request_respond_json (request, STATUS_TOO_MANY_REQUESTS, "too many requests",
                                self->retry_after);
          return;
        }
      request->message = request_build_message (request, msg, content_type);
      request_pause (request);
      request->queued = TRUE;
      g_queue_push_tail (&self->waiting, sluice_webhook_request_ref (request));
      return;
    }

  request->message = request_build_message (request, msg, content_type);
  request_pause (request);
  request_emit (request);
}

/* ---- Listeners ---- */

static void
listener_free (Listener *listener)
{
  soup_server_disconnect (listener->server);
  g_object_unref (listener->server);
  g_hash_table_unref (listener->routes);
  g_free (listener->key);
  g_free (listener->tls_key);
  g_free (listener);
}

static Listener *
listener_open (SluiceWebhookReceive *self,
               GError              **error)
{
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GError) local_error = NULL;
  Listener *listener;

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

  if (!soup_server_listen (server, self->address,
                           self->certificate != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0,
                           &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                   COMPONENT ": cannot listen on %s: %s", self->listen_key, local_error->message);
      return NULL;
    }

  listener = g_new0 (Listener, 1);
  listener->key = g_strdup (self->listen_key);
  listener->tls_key = g_strdup (self->tls_key);
  listener->server = g_steal_pointer (&server);
  listener->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  soup_server_add_handler (listener->server, NULL, on_request, listener, NULL);
  g_signal_connect (listener->server, "request-started", G_CALLBACK (on_request_started),
                    listener);
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
      if (g_hash_table_contains (listener->routes, self->path))
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

  g_hash_table_insert (listener->routes, g_strdup (self->path), self);
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
      request_respond_json (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "shutting down",
                            self->retry_after);
      sluice_webhook_request_unref (request);
    }

  g_hash_table_remove (listener->routes, self->path);
  if (g_hash_table_size (listener->routes) == 0)
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
