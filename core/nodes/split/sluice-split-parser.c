/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sluice-split-private.h"

static void
split_options_clear (gpointer data)
{
  SluiceSplitOptions *options = data;

  g_clear_pointer (&options->columns, g_strfreev);
  g_clear_pointer (&options->element, g_free);
}

SluiceSplitOptions *
sluice_split_options_new (void)
{
  SluiceSplitOptions *options = g_atomic_rc_box_new0 (SluiceSplitOptions);

  options->format = SLUICE_SPLIT_FORMAT_CSV;
  options->max_record_size = 16 * 1024 * 1024;
  options->header = TRUE;
  options->delimiter = ',';
  options->quote = '"';
  options->trim = FALSE;
  options->skip_empty_lines = TRUE;
  return options;
}

SluiceSplitOptions *
sluice_split_options_ref (SluiceSplitOptions *options)
{
  return g_atomic_rc_box_acquire (options);
}

void
sluice_split_options_unref (SluiceSplitOptions *options)
{
  g_atomic_rc_box_release_full (options, split_options_clear);
}

const char *
sluice_split_format_to_string (SluiceSplitFormat format)
{
  switch (format)
    {
    case SLUICE_SPLIT_FORMAT_CSV:
      return "csv";
    case SLUICE_SPLIT_FORMAT_JSONL:
      return "jsonl";
    case SLUICE_SPLIT_FORMAT_JSON_ARRAY:
      return "json-array";
    case SLUICE_SPLIT_FORMAT_XML:
      return "xml";
    default:
      g_assert_not_reached ();
    }
}

SluiceSplitParser *
sluice_split_parser_new (SluiceSplitOptions *options,
                         GInputStream       *stream)
{
  switch (options->format)
    {
    case SLUICE_SPLIT_FORMAT_CSV:
      return sluice_split_csv_parser_new (options, stream);
    case SLUICE_SPLIT_FORMAT_JSONL:
      return sluice_split_jsonl_parser_new (options, stream);
    case SLUICE_SPLIT_FORMAT_JSON_ARRAY:
      return sluice_split_json_array_parser_new (options, stream);
    case SLUICE_SPLIT_FORMAT_XML:
      return sluice_split_xml_parser_new (options, stream);
    default:
      g_assert_not_reached ();
    }
}

void
sluice_split_parser_free (SluiceSplitParser *self)
{
  if (self == NULL)
    return;

  g_clear_object (&self->stream);
  g_clear_pointer (&self->options, sluice_split_options_unref);
  self->vtable->free (self);
}

gboolean
sluice_split_parser_fill (SluiceSplitParser *self,
                          GQueue            *out,
                          guint              max_records,
                          GCancellable      *cancellable,
                          GError           **error)
{
  if (self->finished)
    return TRUE;
  return self->vtable->fill (self, out, max_records, cancellable, error);
}

void
sluice_split_reader_init (SluiceSplitReader *reader,
                          GInputStream      *stream,
                          const char        *format_name)
{
  memset (reader, 0, sizeof *reader);
  reader->stream = stream;
  reader->format_name = format_name;
  reader->data = g_malloc (SLUICE_SPLIT_CHUNK_SIZE);
}

void
sluice_split_reader_clear (SluiceSplitReader *reader)
{
  g_clear_pointer (&reader->data, g_free);
}

static gboolean
reader_read (SluiceSplitReader *reader,
             gsize              at,
             gsize             *out_n_read,
             GCancellable      *cancellable,
             GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize n;

  n = g_input_stream_read (reader->stream, reader->data + at,
                           SLUICE_SPLIT_CHUNK_SIZE - at, cancellable, &local_error);
  if (n < 0)
    {
      /* cancellation stays recognisable; any other read failure may be
       * transient (a dropped connection), so the engine may retry it */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_FAILED,
                     "%s: reading the input failed: %s",
                     reader->format_name, local_error->message);
      return FALSE;
    }
  *out_n_read = n;
  return TRUE;
}

gboolean
sluice_split_reader_refill (SluiceSplitReader *reader,
                            GCancellable      *cancellable,
                            GError           **error)
{
  static const guint8 bom[] = { 0xEF, 0xBB, 0xBF };
  gsize n_read;

  if (reader->eof || reader->pos < reader->len)
    return TRUE;

  reader->offset += reader->len;
  reader->len = 0;
  reader->pos = 0;

  if (!reader->started)
    {
      /* a stream may hand out the BOM's three bytes in separate reads */
      reader->started = TRUE;
      while (reader->len < sizeof bom)
        {
          if (!reader_read (reader, reader->len, &n_read, cancellable, error))
            return FALSE;
          if (n_read == 0)
            {
              reader->eof = reader->len == 0;
              return TRUE;
            }
          reader->len += n_read;
        }
      if (memcmp (reader->data, bom, sizeof bom) != 0)
        return TRUE;

      reader->len -= sizeof bom;
      memmove (reader->data, reader->data + sizeof bom, reader->len);
      reader->offset = sizeof bom;
      if (reader->len > 0)
        return TRUE;
    }

  if (!reader_read (reader, 0, &n_read, cancellable, error))
    return FALSE;
  reader->len = n_read;
  if (n_read == 0)
    reader->eof = TRUE;
  return TRUE;
}

static gboolean
json_read_hex4 (const char *data,
                gsize       len,
                gsize       at,
                guint      *out_unit)
{
  guint unit = 0;

  if (at + 4 > len)
    return FALSE;
  for (gsize i = at; i < at + 4; i++)
    {
      gint digit = g_ascii_xdigit_value (data[i]);

      if (digit < 0)
        return FALSE;
      unit = unit * 16 + digit;
    }
  *out_unit = unit;
  return TRUE;
}

gboolean
sluice_split_json_prescan (const char *data,
                           gsize       len,
                           GError    **error)
{
  gboolean in_string = FALSE;
  gboolean escaped = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (escaped)
            {
              guint unit, low;

              escaped = FALSE;
              if (c != 'u')
                {
                  /* json-glib also knows octal escapes, which may make
                   * bytes that are not UTF-8 */
                  if (strchr ("\"\\/bfnrt", c) == NULL || c == '\0')
                    {
                      g_autofree char *what = g_ascii_isprint (c)
                        ? g_strdup_printf ("\\%c", c)
                        : g_strdup_printf ("\\ followed by byte 0x%02x", (guchar) c);

                      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                                   "a string holds the escape %s, which JSON does not have", what);
                      return FALSE;
                    }
                  continue;
                }
              /* json-glib turns a short \u escape or an unpaired
               * surrogate into bytes that are not UTF-8 */
              if (!json_read_hex4 (data, len, i + 1, &unit))
                {
                  g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                                       "a string holds a \\u escape without four hex digits");
                  return FALSE;
                }
              if (unit >= 0xD800 && unit <= 0xDBFF &&
                  i + 10 < len && data[i + 5] == '\\' && data[i + 6] == 'u' &&
                  json_read_hex4 (data, len, i + 7, &low) && low >= 0xDC00 && low <= 0xDFFF)
                {
                  i += 10;
                  continue;
                }
              if (unit >= 0xD800 && unit <= 0xDFFF)
                {
                  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               "a string holds an unpaired UTF-16 surrogate \\u%04x", unit);
                  return FALSE;
                }
              i += 4;
            }
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > SLUICE_SPLIT_JSON_MAX_DEPTH)
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "nested deeper than %u levels", SLUICE_SPLIT_JSON_MAX_DEPTH);
              return FALSE;
            }
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        case '\'':
        case '/':
          /* json-glib also takes single-quoted strings and comments, which
           * could hide quotes and brackets from this scan */
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                       "%s are not JSON", c == '/' ? "comments" : "single-quoted strings");
          return FALSE;
        default:
          break;
        }
    }
  return TRUE;
}

JsonNode *
sluice_split_json_parse (JsonParser *parser,
                         const char *data,
                         gsize       len,
                         guint64    *out_line,
                         guint64    *out_column,
                         GError    **error)
{
  static const char prefix[] = "<data>:";
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  *out_line = 0;
  *out_column = 0;

  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      const char *message = local_error->message;

      /* "<data>:1:6: Parse error: unexpected ..." -> 1, 6, "unexpected ..." */
      if (g_str_has_prefix (message, prefix))
        {
          const char *p = message + strlen (prefix);
          guint64 line, column;
          char *end;

          line = g_ascii_strtoull (p, &end, 10);
          if (end != p && *end == ':')
            {
              p = end + 1;
              column = g_ascii_strtoull (p, &end, 10);
              if (end != p && *end == ':')
                {
                  p = end + 1;
                  while (*p == ' ')
                    p++;
                  if (g_str_has_prefix (p, "Parse error: "))
                    p += strlen ("Parse error: ");
                  *out_line = line;
                  *out_column = column;
                  g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA, p);
                  return NULL;
                }
            }
        }
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA, message);
      return NULL;
    }

  root = json_parser_steal_root (parser);
  if (root == NULL)
    {
      /* json-glib accepts a text that is only a comment */
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "no JSON value");
      return NULL;
    }
  return root;
}
