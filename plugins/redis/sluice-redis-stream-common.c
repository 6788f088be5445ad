/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-stream-common.h"

#include <string.h>

/* Configuration */

static JsonNode *
get_member (JsonObject *config,
            const char *key)
{
  JsonNode *node = config != NULL ? json_object_get_member (config, key) : NULL;

  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

static gboolean
node_is (JsonNode *node,
         GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

gboolean
sluice_redis_stream_config_get_string (JsonObject  *config,
                                       const char  *component,
                                       const char  *key,
                                       const char  *default_value,
                                       char       **out_value,
                                       GError     **error)
{
  JsonNode *node = get_member (config, key);

  if (node == NULL)
    {
      if (default_value == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: key '%s' is required", component, key);
          return FALSE;
        }
      *out_value = g_strdup (default_value);
      return TRUE;
    }
  if (!node_is (node, G_TYPE_STRING))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s, key '%s': expected a string", component, key);
      return FALSE;
    }
  *out_value = g_strdup (json_node_get_string (node));
  return TRUE;
}

gboolean
sluice_redis_stream_config_get_boolean (JsonObject *config,
                                        const char *component,
                                        const char *key,
                                        gboolean    default_value,
                                        gboolean   *out_value,
                                        GError    **error)
{
  JsonNode *node = get_member (config, key);

  if (node == NULL)
    {
      *out_value = default_value;
      return TRUE;
    }
  if (!node_is (node, G_TYPE_BOOLEAN))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s, key '%s': expected true or false", component, key);
      return FALSE;
    }
  *out_value = json_node_get_boolean (node);
  return TRUE;
}

gboolean
sluice_redis_stream_config_get_uint64 (JsonObject *config,
                                       const char *component,
                                       const char *key,
                                       guint64     minimum,
                                       guint64     maximum,
                                       guint64     default_value,
                                       guint64    *out_value,
                                       GError    **error)
{
  JsonNode *node = get_member (config, key);
  gint64    value;

  if (node == NULL)
    {
      *out_value = default_value;
      return TRUE;
    }
  if (!node_is (node, G_TYPE_INT64))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s, key '%s': expected a whole number", component, key);
      return FALSE;
    }
  value = json_node_get_int (node);
  if (value < 0 || (guint64) value < minimum || (guint64) value > maximum)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s, key '%s': %" G_GINT64_FORMAT " is out of range (%" G_GUINT64_FORMAT
                   " to %" G_GUINT64_FORMAT ")",
                   component, key, value, minimum, maximum);
      return FALSE;
    }
  *out_value = (guint64) value;
  return TRUE;
}

gboolean
sluice_redis_stream_config_get_duration (JsonObject *config,
                                         const char *component,
                                         const char *key,
                                         const char *default_value,
                                         gint64      minimum,
                                         gint64     *out_usec,
                                         GError    **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!sluice_redis_stream_config_get_string (config, component, key, default_value, &text,
                                              error))
    return FALSE;
  if (!sluice_parse_duration (text, out_usec, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s, key '%s': %s",
                   component, key, local_error->message);
      return FALSE;
    }
  if (*out_usec < minimum)
    {
      g_autofree char *min_text = sluice_format_duration (minimum);

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s, key '%s': '%s' is too short (at least %s)", component, key, text,
                   min_text);
      return FALSE;
    }
  return TRUE;
}

/* Headers as JSON */

static void
append_json_string (GString    *out,
                    const char *text)
{
  static const char hex[] = "0123456789abcdef";
  const char       *run = text;
  const char       *p;

  g_string_append_c (out, '"');
  for (p = text; *p != '\0'; p++)
    {
      guchar      c = (guchar) *p;
      const char *escape = NULL;

      switch (c)
        {
        case '"':
          escape = "\\\"";
          break;
        case '\\':
          escape = "\\\\";
          break;
        case '\n':
          escape = "\\n";
          break;
        case '\r':
          escape = "\\r";
          break;
        case '\t':
          escape = "\\t";
          break;
        default:
          if (c >= 0x20)
            continue;
          break;
        }

      g_string_append_len (out, run, p - run);
      run = p + 1;
      if (escape != NULL)
        g_string_append (out, escape);
      else
        {
          char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

          g_string_append_len (out, u, sizeof u);
        }
    }
  g_string_append_len (out, run, p - run);
  g_string_append_c (out, '"');
}

gboolean
sluice_redis_stream_headers_to_json (SluiceMessage *message,
                                     GString       *out)
{
  GHashTable    *headers = sluice_message_get_headers (message);
  GHashTableIter iter;
  gpointer       name, value;
  gboolean       first = TRUE;

  if (headers == NULL || g_hash_table_size (headers) == 0)
    return FALSE;

  g_string_append_c (out, '{');
  g_hash_table_iter_init (&iter, headers);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      append_json_string (out, name);
      g_string_append_c (out, ':');
      append_json_string (out, value);
    }
  g_string_append_c (out, '}');
  return TRUE;
}

static gsize
skip_space (const char *json,
            gsize       len,
            gsize       i)
{
  while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
    i++;
  return i;
}

static gint
hex4 (const char *p)
{
  gint value = 0;

  for (int i = 0; i < 4; i++)
    {
      gint digit = g_ascii_xdigit_value (p[i]);

      if (digit < 0)
        return -1;
      value = value * 16 + digit;
    }
  return value;
}

/* Decodes the JSON string whose opening quote is at *pos to *out, NUL
 * included, and moves *pos past its closing quote and *out past the NUL.
 * The decoded string never takes more bytes than its JSON text, quotes
 * included. FALSE for what this quick path leaves to json-glib: bad
 * escapes, NUL characters, control characters, a missing end. */
static gboolean
quick_string (const char *json,
              gsize       len,
              gsize      *pos,
              char      **out)
{
  gsize i = *pos + 1;
  char *o = *out;

  while (i < len)
    {
      gsize    start = i;
      gunichar c;

      while (i < len && json[i] != '"' && json[i] != '\\' && (guchar) json[i] >= 0x20)
        i++;
      memcpy (o, json + start, i - start);
      o += i - start;
      if (i >= len || (guchar) json[i] < 0x20)
        return FALSE;
      if (json[i] == '"')
        {
          *o++ = '\0';
          *pos = i + 1;
          *out = o;
          return TRUE;
        }

      /* A backslash */
      if (i + 1 >= len)
        return FALSE;
      switch (json[i + 1])
        {
        case '"':
        case '\\':
        case '/':
          *o++ = json[i + 1];
          i += 2;
          continue;
        case 'b':
          *o++ = '\b';
          i += 2;
          continue;
        case 'f':
          *o++ = '\f';
          i += 2;
          continue;
        case 'n':
          *o++ = '\n';
          i += 2;
          continue;
        case 'r':
          *o++ = '\r';
          i += 2;
          continue;
        case 't':
          *o++ = '\t';
          i += 2;
          continue;
        case 'u':
          break;
        default:
          return FALSE;
        }

      if (i + 6 > len || hex4 (json + i + 2) < 0)
        return FALSE;
      c = (gunichar) hex4 (json + i + 2);
      i += 6;
      if (c >= 0xd800 && c < 0xdc00)
        {
          gint low;

          if (i + 6 > len || json[i] != '\\' || json[i + 1] != 'u')
            return FALSE;
          low = hex4 (json + i + 2);
          if (low < 0xdc00 || low >= 0xe000)
            return FALSE;
          c = 0x10000 + ((c - 0xd800) << 10) + ((gunichar) low - 0xdc00);
          i += 6;
        }
      else if (c >= 0xdc00 && c < 0xe000)
        return FALSE;
      if (c == 0)
        return FALSE;
      /* At most 3 bytes for the 6 of \uXXXX, 4 for the 12 of a pair. */
      o += g_unichar_to_utf8 (c, o);
    }
  return FALSE;
}

/* At most this many headers go the quick way. */
#define QUICK_MAX 16

/* The common case, a small object of strings, without a parser, a tree or
 * an allocation once @scratch has grown. FALSE for anything else, having
 * set no header. */
static gboolean
headers_quick (const char    *json,
               gsize          len,
               SluiceMessage *message,
               GString       *scratch)
{
  gsize i = skip_space (json, len, 0);
  char *strings[2 * QUICK_MAX]; /* each key and value, decoded into scratch */
  char *o;
  guint n = 0;

  if (i >= len || json[i] != '{')
    return FALSE;
  i = skip_space (json, len, i + 1);
  if (i < len && json[i] == '}')
    return skip_space (json, len, i + 1) == len;

  /* Room for everything decoded: never more than the text itself. */
  g_string_set_size (scratch, len + 1);
  o = scratch->str;
  for (;;)
    {
      if (n == G_N_ELEMENTS (strings))
        return FALSE;
      strings[n++] = o;
      if (i >= len || json[i] != '"' || !quick_string (json, len, &i, &o))
        return FALSE;
      i = skip_space (json, len, i);
      if (i >= len || json[i] != ':')
        return FALSE;
      i = skip_space (json, len, i + 1);
      strings[n++] = o;
      if (i >= len || json[i] != '"' || !quick_string (json, len, &i, &o))
        return FALSE;

      i = skip_space (json, len, i);
      if (i < len && json[i] == ',')
        {
          i = skip_space (json, len, i + 1);
          continue;
        }
      if (i < len && json[i] == '}' && skip_space (json, len, i + 1) == len)
        break;
      return FALSE;
    }

  /* Only now: a refusal must leave the message alone. */
  for (guint k = 0; k < n; k += 2)
    sluice_message_set_header (message, strings[k], strings[k + 1]);
  return TRUE;
}

gboolean
sluice_redis_stream_headers_from_json (const char    *json,
                                       gsize          len,
                                       SluiceMessage *message,
                                       GString       *scratch,
                                       GError       **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonNode   *root;
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  JsonNode   *node;

  if (headers_quick (json, len, message, scratch))
    return TRUE;

  parser = json_parser_new_immutable ();
  if (len > G_MAXSSIZE || !json_parser_load_from_data (parser, json, (gssize) len, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "field '" SLUICE_REDIS_STREAM_FIELD_HEADERS "' is not JSON: %s",
                   local_error != NULL ? local_error->message : "too large");
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "field '" SLUICE_REDIS_STREAM_FIELD_HEADERS "' is not a JSON object");
      return FALSE;
    }

  object = json_node_get_object (root);
  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, &node))
    {
      g_autofree char *text = NULL;

      if (JSON_NODE_HOLDS_NULL (node))
        continue;
      if (node_is (node, G_TYPE_STRING))
        {
          sluice_message_set_header (message, name, json_node_get_string (node));
          continue;
        }
      text = json_to_string (node, FALSE);
      sluice_message_set_header (message, name, text);
    }
  return TRUE;
}
