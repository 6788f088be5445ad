/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

/**
 * SECTION:sluice-message
 * @title: SluiceMessage
 *
 * What flows between the nodes of a workflow: a body, a content type,
 * string headers, an id, the number of the current attempt and a W3C
 * trace context.
 *
 * The body is bytes, a JSON tree, or a stream for payloads too large to
 * hold in memory. A JSON body stays a tree until someone asks for its
 * bytes, and a bytes body is parsed only when someone asks for JSON; both
 * conversions are kept. Everything else is allocated when first used:
 * messages are created by the hundred thousand per second.
 *
 * Headers live in a short list, each name and value in one allocation,
 * until someone asks for them as a table (sluice_message_get_headers()):
 * from then on the table is where they are kept. A message rarely carries
 * more than a handful, and a list of them is cheaper to fill, search, copy
 * and free than a hash table.
 */

typedef enum {
  BODY_NONE,
  BODY_BYTES,
  BODY_JSON,
  BODY_STREAM,
} BodyKind;

/* One header in the list: "name\0value\0" in one block. */
typedef struct {
  char *name;
  char *value;  /* points into the block of @name */
} Header;

/* Past this many headers the list becomes a table. */
#define HEADER_LIST_MAX 16
/* This many fit in the message itself: a batch record carries three. */
#define HEADER_LIST_INLINE 4

struct _SluiceMessage
{
  GObject parent_instance;

  char       *id;
  char       *content_type;
  char       *traceparent;
  Header     *header_list;    /* while headers is NULL: inline_headers or
                               * an array of header_list_size */
  guint       n_headers;
  guint       header_list_size;
  Header      inline_headers[HEADER_LIST_INLINE];
  GHashTable *headers;        /* once asked for, the only store */
  guint       attempt;

  BodyKind      body_kind;
  GBytes       *bytes;          /* the body, or the serialized JSON body */
  JsonNode     *json;           /* the body, or the parsed bytes body */
  GInputStream *stream;
  gint64        stream_length;
};

G_DEFINE_FINAL_TYPE (SluiceMessage, sluice_message, G_TYPE_OBJECT)

#define TRACEPARENT_LENGTH 55

static void
message_clear_body (SluiceMessage *self)
{
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->json, json_node_unref);
  g_clear_object (&self->stream);
  self->stream_length = -1;
  self->body_kind = BODY_NONE;
}

static void
sluice_message_finalize (GObject *object)
{
  SluiceMessage *self = SLUICE_MESSAGE (object);

  message_clear_body (self);
  g_free (self->id);
  g_free (self->content_type);
  g_free (self->traceparent);
  for (guint i = 0; i < self->n_headers; i++)
    g_free (self->header_list[i].name);
  if (self->header_list != self->inline_headers)
    g_free (self->header_list);
  g_clear_pointer (&self->headers, g_hash_table_unref);

  G_OBJECT_CLASS (sluice_message_parent_class)->finalize (object);
}

static void
sluice_message_class_init (SluiceMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_message_finalize;
}

static void
sluice_message_init (SluiceMessage *self)
{
  self->stream_length = -1;
  self->header_list = self->inline_headers;
  self->header_list_size = HEADER_LIST_INLINE;
}

/**
 * sluice_message_new:
 *
 * Creates a message without a body.
 *
 * Returns: (transfer full): a new #SluiceMessage
 */
SluiceMessage *
sluice_message_new (void)
{
  return g_object_new (SLUICE_TYPE_MESSAGE, NULL);
}

/**
 * sluice_message_new_bytes:
 * @body: (nullable): the body
 * @content_type: (nullable): its MIME type
 *
 * Creates a message with @body.
 *
 * Returns: (transfer full): a new #SluiceMessage
 */
SluiceMessage *
sluice_message_new_bytes (GBytes     *body,
                          const char *content_type)
{
  SluiceMessage *self = sluice_message_new ();

  sluice_message_set_bytes (self, body);
  self->content_type = g_strdup (content_type);
  return self;
}

/**
 * sluice_message_new_take_string:
 * @body: (transfer full) (nullable): the body, a NUL-terminated string
 * @content_type: (nullable): its MIME type
 *
 * Creates a message whose body is @body, without copying it. The
 * terminating NUL is not part of the body.
 *
 * Returns: (transfer full): a new #SluiceMessage
 */
SluiceMessage *
sluice_message_new_take_string (char       *body,
                                const char *content_type)
{
  SluiceMessage *self = sluice_message_new ();

  if (body != NULL)
    {
      gsize len = strlen (body);

      self->bytes = g_bytes_new_take (body, len);
      self->body_kind = BODY_BYTES;
    }
  self->content_type = g_strdup (content_type);
  return self;
}

/**
 * sluice_message_new_stream:
 * @stream: the body
 * @length: its length in bytes, or -1 when unknown
 * @content_type: (nullable): its MIME type
 *
 * Creates a message whose body is read from @stream. Whoever consumes the
 * body reads the stream once.
 *
 * Returns: (transfer full): a new #SluiceMessage
 */
SluiceMessage *
sluice_message_new_stream (GInputStream *stream,
                           gint64        length,
                           const char   *content_type)
{
  SluiceMessage *self;

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);

  self = sluice_message_new ();
  sluice_message_set_stream (self, stream, length);
  self->content_type = g_strdup (content_type);
  return self;
}

/**
 * sluice_message_new_json:
 * @node: the body
 *
 * Creates a message with a JSON body and the content type
 * "application/json". The message takes a reference on @node, which must
 * not be changed afterwards.
 *
 * Returns: (transfer full): a new #SluiceMessage
 */
SluiceMessage *
sluice_message_new_json (JsonNode *node)
{
  SluiceMessage *self;

  g_return_val_if_fail (node != NULL, NULL);

  self = sluice_message_new ();
  sluice_message_set_json (self, node);
  self->content_type = g_strdup ("application/json");
  return self;
}

static Header
header_new (const char *name,
            const char *value)
{
  gsize name_size = strlen (name) + 1;
  gsize value_size = strlen (value) + 1;
  Header header;

  header.name = g_malloc (name_size + value_size);
  header.value = header.name + name_size;
  memcpy (header.name, name, name_size);
  memcpy (header.value, value, value_size);
  return header;
}

static Header *
header_list_find (SluiceMessage *self,
                  const char    *name)
{
  for (guint i = 0; i < self->n_headers; i++)
    if (strcmp (self->header_list[i].name, name) == 0)
      return &self->header_list[i];
  return NULL;
}

/* Makes room for @n_more headers in the list. */
static void
header_list_reserve (SluiceMessage *self,
                     guint          n_more)
{
  guint size = self->header_list_size;

  if (self->n_headers + n_more <= size)
    return;
  while (size < self->n_headers + n_more)
    size *= 2;
  if (self->header_list == self->inline_headers)
    {
      self->header_list = g_new (Header, size);
      memcpy (self->header_list, self->inline_headers, self->n_headers * sizeof (Header));
    }
  else
    self->header_list = g_renew (Header, self->header_list, size);
  self->header_list_size = size;
}

/* From now on the headers are kept in a table (which someone may hold). */
static GHashTable *
headers_ensure_table (SluiceMessage *self)
{
  if (self->headers != NULL)
    return self->headers;

  self->headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < self->n_headers; i++)
    {
      Header *header = &self->header_list[i];

      g_hash_table_replace (self->headers, g_strdup (header->name), g_strdup (header->value));
      g_free (header->name);
    }
  if (self->header_list != self->inline_headers)
    g_free (self->header_list);
  self->header_list = self->inline_headers;
  self->n_headers = 0;
  self->header_list_size = HEADER_LIST_INLINE;
  return self->headers;
}

/**
 * sluice_message_new_child:
 * @parent: the message this one derives from
 *
 * Creates a message that continues @parent's trace: it has @parent's
 * headers and traceparent, a new id, attempt 0 and no body.
 *
 * Returns: (transfer full): a new #SluiceMessage
 */
SluiceMessage *
sluice_message_new_child (SluiceMessage *parent)
{
  SluiceMessage *self;

  g_return_val_if_fail (SLUICE_IS_MESSAGE (parent), NULL);

  self = sluice_message_new ();
  self->traceparent = g_strdup (parent->traceparent);
  if (parent->headers != NULL && g_hash_table_size (parent->headers) > HEADER_LIST_MAX)
    {
      GHashTableIter iter;
      gpointer name, value;

      self->headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_iter_init (&iter, parent->headers);
      while (g_hash_table_iter_next (&iter, &name, &value))
        g_hash_table_insert (self->headers, g_strdup (name), g_strdup (value));
    }
  else if (parent->headers != NULL && g_hash_table_size (parent->headers) > 0)
    {
      GHashTableIter iter;
      gpointer name, value;

      header_list_reserve (self, g_hash_table_size (parent->headers));
      g_hash_table_iter_init (&iter, parent->headers);
      while (g_hash_table_iter_next (&iter, &name, &value))
        self->header_list[self->n_headers++] = header_new (name, value);
    }
  else if (parent->n_headers > 0)
    {
      header_list_reserve (self, parent->n_headers);
      for (guint i = 0; i < parent->n_headers; i++)
        self->header_list[i] = header_new (parent->header_list[i].name,
                                           parent->header_list[i].value);
      self->n_headers = parent->n_headers;
    }
  return self;
}

/**
 * sluice_message_get_id:
 * @self: a #SluiceMessage
 *
 * The message's id. A message that was not given one gets a random UUID
 * the first time it is asked for.
 *
 * Returns: (transfer none): the id
 */
const char *
sluice_message_get_id (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  if (self->id == NULL)
    self->id = g_uuid_string_random ();
  return self->id;
}

/**
 * sluice_message_set_id:
 * @self: a #SluiceMessage
 * @id: (nullable): the new id; %NULL for a random one when next asked
 *
 * Sets the message's id, such as the broker's message id or a batch's
 * record id.
 */
void
sluice_message_set_id (SluiceMessage *self,
                       const char    *id)
{
  g_return_if_fail (SLUICE_IS_MESSAGE (self));

  if (self->id == id)
    return;
  g_free (self->id);
  self->id = g_strdup (id);
}

/**
 * sluice_message_get_content_type:
 * @self: a #SluiceMessage
 *
 * Returns: (nullable): the body's MIME type
 */
const char *
sluice_message_get_content_type (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  return self->content_type;
}

/**
 * sluice_message_set_content_type:
 * @self: a #SluiceMessage
 * @content_type: (nullable): the body's MIME type
 *
 * Sets the body's MIME type.
 */
void
sluice_message_set_content_type (SluiceMessage *self,
                                 const char    *content_type)
{
  g_return_if_fail (SLUICE_IS_MESSAGE (self));

  if (self->content_type == content_type)
    return;
  g_free (self->content_type);
  self->content_type = g_strdup (content_type);
}

/**
 * sluice_message_is_streamed:
 * @self: a #SluiceMessage
 *
 * Returns: whether the body is a stream
 */
gboolean
sluice_message_is_streamed (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), FALSE);

  return self->body_kind == BODY_STREAM;
}

/**
 * sluice_message_get_length:
 * @self: a #SluiceMessage
 *
 * The body's length in bytes. For a JSON body this serializes it (once).
 *
 * Returns: the length, 0 without a body, or -1 for a stream of unknown
 *   length
 */
gint64
sluice_message_get_length (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), -1);

  switch (self->body_kind)
    {
    case BODY_NONE:
      return 0;
    case BODY_STREAM:
      return self->stream_length;
    case BODY_BYTES:
    case BODY_JSON:
    default:
      return (gint64) g_bytes_get_size (sluice_message_get_bytes (self));
    }
}

/**
 * sluice_message_get_bytes:
 * @self: a #SluiceMessage
 *
 * The body as bytes. A JSON body is serialized the first time and the
 * bytes are kept.
 *
 * Returns: (transfer none) (nullable): the body (empty without a body), or
 *   %NULL when the body is a stream
 */
GBytes *
sluice_message_get_bytes (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  switch (self->body_kind)
    {
    case BODY_STREAM:
      return NULL;
    case BODY_NONE:
      if (self->bytes == NULL)
        self->bytes = g_bytes_new_static ("", 0);
      return self->bytes;
    case BODY_JSON:
      if (self->bytes == NULL)
        {
          gsize len = 0;
          char *text = json_to_string (self->json, FALSE);

          len = strlen (text);
          self->bytes = g_bytes_new_take (text, len);
        }
      return self->bytes;
    case BODY_BYTES:
    default:
      return self->bytes;
    }
}

/**
 * sluice_message_get_stream:
 * @self: a #SluiceMessage
 *
 * Returns: (transfer none) (nullable): the body's stream, or %NULL when
 *   the body is not a stream
 */
GInputStream *
sluice_message_get_stream (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  return self->body_kind == BODY_STREAM ? self->stream : NULL;
}

/**
 * sluice_message_open_body:
 * @self: a #SluiceMessage
 *
 * A stream to read the body from, whatever its kind: a new memory stream
 * over a bytes or JSON body (or an empty one without a body), or the body's
 * own stream.
 *
 * Returns: (transfer full): a #GInputStream
 */
GInputStream *
sluice_message_open_body (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  if (self->body_kind == BODY_STREAM)
    return g_object_ref (self->stream);
  if (self->body_kind == BODY_NONE)
    return g_memory_input_stream_new ();
  return g_memory_input_stream_new_from_bytes (sluice_message_get_bytes (self));
}

/**
 * sluice_message_set_bytes:
 * @self: a #SluiceMessage
 * @body: (nullable): the new body; %NULL for none
 *
 * Replaces the body with @body.
 */
void
sluice_message_set_bytes (SluiceMessage *self,
                          GBytes        *body)
{
  g_return_if_fail (SLUICE_IS_MESSAGE (self));

  if (body != NULL)
    g_bytes_ref (body);
  message_clear_body (self);
  if (body != NULL)
    {
      self->bytes = body;
      self->body_kind = BODY_BYTES;
    }
}

/**
 * sluice_message_set_stream:
 * @self: a #SluiceMessage
 * @stream: the new body
 * @length: its length in bytes, or -1 when unknown
 *
 * Replaces the body with a stream.
 */
void
sluice_message_set_stream (SluiceMessage *self,
                           GInputStream  *stream,
                           gint64         length)
{
  g_return_if_fail (SLUICE_IS_MESSAGE (self));
  g_return_if_fail (G_IS_INPUT_STREAM (stream));

  g_object_ref (stream);
  message_clear_body (self);
  self->stream = stream;
  self->stream_length = length < 0 ? -1 : length;
  self->body_kind = BODY_STREAM;
}

/**
 * sluice_message_get_json:
 * @self: a #SluiceMessage
 * @error: return location for a #GError
 *
 * The body as JSON. A bytes body is parsed the first time and the tree is
 * kept; it belongs to the message and must not be changed.
 *
 * Returns: (transfer none): the JSON tree, or %NULL with
 *   %SLUICE_ERROR_INVALID_DATA when the body is not JSON, or
 *   %SLUICE_ERROR_INVALID_STATE when it is a stream
 */
JsonNode *
sluice_message_get_json (SluiceMessage *self,
                         GError       **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  GBytes *bytes;
  JsonNode *root;

  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->json != NULL)
    return self->json;

  if (self->body_kind == BODY_STREAM)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                           "message body is a stream; split it first");
      return NULL;
    }

  bytes = sluice_message_get_bytes (self);
  if (g_bytes_get_size (bytes) == 0)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "message body is empty, not JSON");
      return NULL;
    }
  if (g_bytes_get_size (bytes) > G_MAXSSIZE)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                           "message body is too large to parse as JSON");
      return NULL;
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                   (gssize) g_bytes_get_size (bytes), &local_error))
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "message body is empty, not JSON");
      return NULL;
    }

  self->json = json_node_ref (root);
  return self->json;
}

/**
 * sluice_message_set_json:
 * @self: a #SluiceMessage
 * @node: the new body
 *
 * Replaces the body with a JSON tree; it is serialized only when someone
 * asks for bytes. The message takes a reference on @node, which must not
 * be changed afterwards. The content type is left as it is.
 */
void
sluice_message_set_json (SluiceMessage *self,
                         JsonNode      *node)
{
  g_return_if_fail (SLUICE_IS_MESSAGE (self));
  g_return_if_fail (node != NULL);

  json_node_ref (node);
  message_clear_body (self);
  self->json = node;
  self->body_kind = BODY_JSON;
}

/**
 * sluice_message_get_header:
 * @self: a #SluiceMessage
 * @name: a header name (case matters)
 *
 * Returns: (nullable): the header's value, or %NULL when it is not set
 */
const char *
sluice_message_get_header (SluiceMessage *self,
                           const char    *name)
{
  Header *header;

  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (self->headers != NULL)
    return g_hash_table_lookup (self->headers, name);
  header = header_list_find (self, name);
  return header != NULL ? header->value : NULL;
}

/**
 * sluice_message_set_header:
 * @self: a #SluiceMessage
 * @name: a header name (case matters)
 * @value: (nullable): its value; %NULL removes the header
 *
 * Sets a header.
 */
void
sluice_message_set_header (SluiceMessage *self,
                           const char    *name,
                           const char    *value)
{
  Header *header;

  g_return_if_fail (SLUICE_IS_MESSAGE (self));
  g_return_if_fail (name != NULL);

  if (value == NULL)
    {
      sluice_message_remove_header (self, name);
      return;
    }

  if (self->headers != NULL)
    {
      g_hash_table_replace (self->headers, g_strdup (name), g_strdup (value));
      return;
    }

  header = header_list_find (self, name);
  if (header != NULL)
    {
      /* @value may point into the block it replaces */
      Header replacement = header_new (name, value);

      g_free (header->name);
      *header = replacement;
      return;
    }
  if (self->n_headers == HEADER_LIST_MAX)
    {
      /* copied first: they may point into the list about to go */
      char *name_copy = g_strdup (name);
      char *value_copy = g_strdup (value);

      g_hash_table_replace (headers_ensure_table (self), name_copy, value_copy);
      return;
    }
  header_list_reserve (self, 1);
  self->header_list[self->n_headers++] = header_new (name, value);
}

/**
 * sluice_message_remove_header:
 * @self: a #SluiceMessage
 * @name: a header name
 *
 * Returns: whether the header was set
 */
gboolean
sluice_message_remove_header (SluiceMessage *self,
                              const char    *name)
{
  Header *header;
  guint index;

  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (self->headers != NULL)
    return g_hash_table_remove (self->headers, name);

  header = header_list_find (self, name);
  if (header == NULL)
    return FALSE;
  index = (guint) (header - self->header_list);
  g_free (header->name);
  memmove (header, header + 1, (self->n_headers - index - 1) * sizeof (Header));
  self->n_headers--;
  return TRUE;
}

/**
 * sluice_message_get_headers:
 * @self: a #SluiceMessage
 *
 * All headers, to iterate over. The table belongs to the message: change
 * headers with sluice_message_set_header().
 *
 * Returns: (transfer none) (element-type utf8 utf8): the headers
 */
GHashTable *
sluice_message_get_headers (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  return headers_ensure_table (self);
}

/**
 * sluice_message_get_attempt:
 * @self: a #SluiceMessage
 *
 * Returns: how many times delivery or processing of this message was
 *   attempted before (0 for a new message)
 */
guint
sluice_message_get_attempt (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), 0);

  return self->attempt;
}

/**
 * sluice_message_set_attempt:
 * @self: a #SluiceMessage
 * @attempt: the attempt count
 *
 * Sets the attempt count, e.g. from a broker's delivery count.
 */
void
sluice_message_set_attempt (SluiceMessage *self,
                            guint          attempt)
{
  g_return_if_fail (SLUICE_IS_MESSAGE (self));

  self->attempt = attempt;
}

static gboolean
is_lower_hex (const char *text,
              gsize       len,
              gboolean   *out_all_zero)
{
  gboolean all_zero = TRUE;

  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return FALSE;
      if (c != '0')
        all_zero = FALSE;
    }
  if (out_all_zero != NULL)
    *out_all_zero = all_zero;
  return TRUE;
}

static gboolean
traceparent_is_valid (const char *text)
{
  gboolean zero;

  if (strlen (text) != TRACEPARENT_LENGTH)
    return FALSE;
  if (strncmp (text, "00-", 3) != 0 || text[35] != '-' || text[52] != '-')
    return FALSE;
  if (!is_lower_hex (text + 3, 32, &zero) || zero)
    return FALSE;
  if (!is_lower_hex (text + 36, 16, &zero) || zero)
    return FALSE;
  return is_lower_hex (text + 53, 2, NULL);
}

/**
 * sluice_message_get_traceparent:
 * @self: a #SluiceMessage
 *
 * Returns: (nullable): the W3C traceparent, or %NULL when the message is
 *   not part of a trace yet
 */
const char *
sluice_message_get_traceparent (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  return self->traceparent;
}

/**
 * sluice_message_set_traceparent:
 * @self: a #SluiceMessage
 * @traceparent: (nullable): a W3C traceparent
 *   ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"), or %NULL
 *   to drop it
 *
 * Sets the trace context, e.g. from an incoming "traceparent" header.
 * An invalid value is ignored and the previous one kept.
 *
 * Returns: whether @traceparent was valid and taken
 */
gboolean
sluice_message_set_traceparent (SluiceMessage *self,
                                const char    *traceparent)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), FALSE);

  if (traceparent == NULL)
    {
      g_clear_pointer (&self->traceparent, g_free);
      return TRUE;
    }
  if (!traceparent_is_valid (traceparent))
    return FALSE;
  if (self->traceparent != traceparent)
    {
      g_free (self->traceparent);
      self->traceparent = g_strdup (traceparent);
    }
  return TRUE;
}

/* Trace ids are drawn from a generator per thread (seeded like GLib's
 * global one), not g_random_int(), which takes a global lock per word:
 * every run of a batch record starts a trace. */
static GPrivate trace_rand = G_PRIVATE_INIT ((GDestroyNotify) g_rand_free);

static GRand *
get_trace_rand (void)
{
  GRand *rand = g_private_get (&trace_rand);

  if (rand == NULL)
    {
      rand = g_rand_new ();
      g_private_set (&trace_rand, rand);
    }
  return rand;
}

/* writes @n_words random 32-bit words as lower-case hex at @out; an
 * all-zero id is invalid, so one is drawn again (practically never
 * needed). Formatted by hand: printf would cost more than the rest of the
 * id. */
static void
write_random_hex (char  *out,
                  gsize  n_words)
{
  static const char digits[] = "0123456789abcdef";
  GRand *rand = get_trace_rand ();
  gboolean all_zero;

  do
    {
      all_zero = TRUE;
      for (gsize i = 0; i < n_words; i++)
        {
          guint32 word = g_rand_int (rand);

          if (word != 0)
            all_zero = FALSE;
          for (int shift = 28, j = 0; shift >= 0; shift -= 4, j++)
            out[i * 8 + j] = digits[(word >> shift) & 0xf];
        }
    }
  while (all_zero);
}

/**
 * sluice_message_ensure_traceparent:
 * @self: a #SluiceMessage
 *
 * Starts a new trace for a message that is not part of one yet: random
 * trace and parent ids, sampled.
 *
 * Returns: the traceparent
 */
const char *
sluice_message_ensure_traceparent (SluiceMessage *self)
{
  char *out;

  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  if (self->traceparent != NULL)
    return self->traceparent;

  /* "00-" 32 hex "-" 16 hex "-01" */
  out = g_malloc (TRACEPARENT_LENGTH + 1);
  memcpy (out, "00-", 3);
  write_random_hex (out + 3, 4);
  out[35] = '-';
  write_random_hex (out + 36, 2);
  memcpy (out + 52, "-01", 4);
  self->traceparent = out;
  return self->traceparent;
}

/**
 * sluice_message_dup_trace_id:
 * @self: a #SluiceMessage
 *
 * Returns: (transfer full) (nullable): the 32 hex digits of the trace id,
 *   or %NULL without a traceparent
 */
char *
sluice_message_dup_trace_id (SluiceMessage *self)
{
  g_return_val_if_fail (SLUICE_IS_MESSAGE (self), NULL);

  if (self->traceparent == NULL)
    return NULL;
  return g_strndup (self->traceparent + 3, 32);
}
