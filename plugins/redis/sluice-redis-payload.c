/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-payload.h"

#include <string.h>

#define FLAG_CONTENT_TYPE 0x01
#define FLAG_HEADERS 0x02
#define FLAGS_KNOWN (FLAG_CONTENT_TYPE | FLAG_HEADERS)

static gsize
varint_size (gsize value)
{
  gsize size = 1;

  while (value >= 0x80)
    {
      value >>= 7;
      size++;
    }
  return size;
}

static void
varint_write (GString *out,
              gsize    value)
{
  while (value >= 0x80)
    {
      g_string_append_c (out, (char) ((value & 0x7f) | 0x80));
      value >>= 7;
    }
  g_string_append_c (out, (char) value);
}

static gboolean
varint_read (const guchar **p,
             const guchar  *end,
             gsize         *out_value)
{
  gsize value = 0;
  guint shift = 0;

  while (*p < end && shift < 64)
    {
      guchar byte = *(*p)++;

      value |= (gsize) (byte & 0x7f) << shift;
      if ((byte & 0x80) == 0)
        {
          *out_value = value;
          return TRUE;
        }
      shift += 7;
    }
  return FALSE;
}

static gsize
string_size (const char *text)
{
  gsize len = strlen (text);

  return varint_size (len) + len;
}

static GBytes *
body_of (SluiceMessage *message)
{
  GBytes *body = sluice_message_get_bytes (message);

  g_return_val_if_fail (body != NULL, NULL);
  return body;
}

gsize
sluice_redis_payload_size (SluiceMessage *message)
{
  const char *content_type = sluice_message_get_content_type (message);
  GHashTable *headers = sluice_message_get_headers (message);
  GBytes     *body = body_of (message);
  gsize       size = 1 + (body != NULL ? g_bytes_get_size (body) : 0);

  if (content_type != NULL)
    size += string_size (content_type);

  if (g_hash_table_size (headers) > 0)
    {
      GHashTableIter iter;
      gpointer       name, value;

      size += varint_size (g_hash_table_size (headers));
      g_hash_table_iter_init (&iter, headers);
      while (g_hash_table_iter_next (&iter, &name, &value))
        size += string_size (name) + string_size (value);
    }
  return size;
}

void
sluice_redis_payload_write (SluiceMessage *message,
                            GString       *out)
{
  const char *content_type = sluice_message_get_content_type (message);
  GHashTable *headers = sluice_message_get_headers (message);
  GBytes     *body = body_of (message);
  guint8      flags = 0;

  if (content_type != NULL)
    flags |= FLAG_CONTENT_TYPE;
  if (g_hash_table_size (headers) > 0)
    flags |= FLAG_HEADERS;
  g_string_append_c (out, (char) flags);

  if (content_type != NULL)
    {
      varint_write (out, strlen (content_type));
      g_string_append (out, content_type);
    }
  if (flags & FLAG_HEADERS)
    {
      GHashTableIter iter;
      gpointer       name, value;

      varint_write (out, g_hash_table_size (headers));
      g_hash_table_iter_init (&iter, headers);
      while (g_hash_table_iter_next (&iter, &name, &value))
        {
          varint_write (out, strlen (name));
          g_string_append (out, name);
          varint_write (out, strlen (value));
          g_string_append (out, value);
        }
    }
  if (body != NULL)
    {
      gsize       len = 0;
      const char *data = g_bytes_get_data (body, &len);

      g_string_append_len (out, data, (gssize) len);
    }
}

static char *
string_read (const guchar **p,
             const guchar  *end)
{
  gsize len;
  char *text;

  if (!varint_read (p, end, &len) || len > (gsize) (end - *p) || memchr (*p, '\0', len) != NULL)
    return NULL;
  text = g_strndup ((const char *) *p, len);
  *p += len;
  return text;
}

SluiceMessage *
sluice_redis_payload_read (const char *data,
                           gsize       len,
                           GError    **error)
{
  const guchar *p = (const guchar *) data;
  const guchar *end = p + len;
  g_autoptr (SluiceMessage) message = NULL;
  g_autofree char *content_type = NULL;
  g_autoptr (GBytes) body = NULL;
  guint8 flags;

  if (len == 0 || (*p & ~FLAGS_KNOWN) != 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "stored record has an unknown format (first byte 0x%02x)",
                   len == 0 ? 0 : *p);
      return NULL;
    }
  flags = *p++;
  message = sluice_message_new ();

  if (flags & FLAG_CONTENT_TYPE)
    {
      content_type = string_read (&p, end);
      if (content_type == NULL)
        goto truncated;
      sluice_message_set_content_type (message, content_type);
    }
  if (flags & FLAG_HEADERS)
    {
      gsize count;

      if (!varint_read (&p, end, &count))
        goto truncated;
      for (gsize i = 0; i < count; i++)
        {
          g_autofree char *name = string_read (&p, end);
          g_autofree char *value = NULL;

          if (name == NULL || (value = string_read (&p, end)) == NULL)
            goto truncated;
          sluice_message_set_header (message, name, value);
        }
    }

  body = g_bytes_new (p, (gsize) (end - p));
  sluice_message_set_bytes (message, body);
  return g_steal_pointer (&message);

truncated:
  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
               "stored record is truncated or malformed");
  return NULL;
}
