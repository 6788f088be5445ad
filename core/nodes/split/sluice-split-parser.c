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
