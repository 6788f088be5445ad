/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sluice-split-private.h"

static inline gboolean
split_json_is_space (guint8 c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* JSON lines: one value per line, blank lines skipped. Each record is the
 * line's value as it was written, without the whitespace around it; it is
 * validated here and parsed only by whoever needs its tree. */

typedef struct {
  SluiceSplitParser parent;
  SluiceSplitReader reader;
  GByteArray       *pending;  /* the start of a line that spans chunks */
  guint64           line;     /* the line being assembled, 1-based */
  guint64           records;
} SluiceSplitJsonlParser;

static gboolean
split_jsonl_take_line (SluiceSplitJsonlParser *self,
                       const char             *data,
                       gsize                   len,
                       GQueue                 *out,
                       GError                **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize i, offset;

  if (len > 0 && data[len - 1] == '\r')
    len--;
  for (i = 0; i < len && split_json_is_space (data[i]); i++)
    ;
  if (i == len)
    return TRUE;

  if (len > self->parent.options->max_record_size)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                   "jsonl: line %" G_GUINT64_FORMAT " (record %" G_GUINT64_FORMAT
                   ") is larger than max_record_size (%" G_GSIZE_FORMAT " bytes)",
                   self->line, self->records + 1, self->parent.options->max_record_size);
      return FALSE;
    }

  if (!sluice_split_json_validate (data + i, len - i, &offset, &local_error))
    {
      /* columns count bytes from 1 */
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                   "jsonl: line %" G_GUINT64_FORMAT ": column %" G_GSIZE_FORMAT ": %s",
                   self->line, i + offset + 1, local_error->message);
      return FALSE;
    }

  while (split_json_is_space (data[len - 1]))
    len--;
  self->records++;
  g_queue_push_tail (out, g_bytes_new (data + i, len - i));
  return TRUE;
}

static gboolean
split_jsonl_fill (SluiceSplitParser *parser,
                  GQueue            *out,
                  guint              max_records,
                  GCancellable      *cancellable,
                  GError           **error)
{
  SluiceSplitJsonlParser *self = (SluiceSplitJsonlParser *) parser;
  SluiceSplitReader *reader = &self->reader;
  gsize max_line = parser->options->max_record_size;

  while (out->length < max_records)
    {
      const guint8 *start;
      const guint8 *newline;
      gsize avail;

      if (!sluice_split_reader_refill (reader, cancellable, error))
        return FALSE;
      if (reader->eof)
        {
          if (self->pending->len > 0 &&
              !split_jsonl_take_line (self, (const char *) self->pending->data,
                                      self->pending->len, out, error))
            return FALSE;
          g_byte_array_set_size (self->pending, 0);
          parser->finished = TRUE;
          return TRUE;
        }

      start = reader->data + reader->pos;
      avail = reader->len - reader->pos;
      newline = memchr (start, '\n', avail);
      if (newline == NULL)
        {
          /* one more byte than the limit: the line's CR */
          if (self->pending->len + avail > max_line + 1)
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                           "jsonl: line %" G_GUINT64_FORMAT " (record %" G_GUINT64_FORMAT
                           ") is larger than max_record_size (%" G_GSIZE_FORMAT " bytes)",
                           self->line, self->records + 1, max_line);
              return FALSE;
            }
          g_byte_array_append (self->pending, start, avail);
          reader->pos = reader->len;
          continue;
        }

      if (self->pending->len == 0)
        {
          /* the common case: the whole line is in this chunk, no copy */
          if (!split_jsonl_take_line (self, (const char *) start, newline - start, out, error))
            return FALSE;
        }
      else
        {
          g_byte_array_append (self->pending, start, newline - start);
          if (!split_jsonl_take_line (self, (const char *) self->pending->data,
                                      self->pending->len, out, error))
            return FALSE;
          g_byte_array_set_size (self->pending, 0);
        }
      reader->pos += (newline - start) + 1;
      self->line++;
    }

  return TRUE;
}

static void
split_jsonl_free (SluiceSplitParser *parser)
{
  SluiceSplitJsonlParser *self = (SluiceSplitJsonlParser *) parser;

  sluice_split_reader_clear (&self->reader);
  g_byte_array_unref (self->pending);
  g_free (self);
}

static const SluiceSplitParserVTable split_jsonl_vtable = {
  .fill = split_jsonl_fill,
  .free = split_jsonl_free,
};

SluiceSplitParser *
sluice_split_jsonl_parser_new (SluiceSplitOptions *options,
                               GInputStream       *stream)
{
  SluiceSplitJsonlParser *self = g_new0 (SluiceSplitJsonlParser, 1);

  self->parent.vtable = &split_jsonl_vtable;
  self->parent.options = sluice_split_options_ref (options);
  self->parent.stream = g_object_ref (stream);
  sluice_split_reader_init (&self->reader, stream, "jsonl");
  self->pending = g_byte_array_new ();
  self->line = 1;
  return &self->parent;
}

/* JSON array: the elements of one top-level array. The array itself is
 * never held whole: a small scanner finds where each element starts and
 * ends (tracking depth, strings and escapes), then the element's bytes are
 * validated and become the record as they are. */

typedef enum {
  ARRAY_STATE_START,       /* before the '[' */
  ARRAY_STATE_FIRST,       /* after the '[': an element or ']' */
  ARRAY_STATE_NEXT,        /* after a ',': an element */
  ARRAY_STATE_ELEMENT,     /* inside an element */
  ARRAY_STATE_AFTER,       /* after an element: ',' or ']' */
  ARRAY_STATE_END,         /* after the ']': whitespace only */
} SluiceSplitArrayState;

typedef enum {
  ELEMENT_CONTAINER,       /* an object or an array */
  ELEMENT_STRING,
  ELEMENT_SCALAR,          /* a number, true, false, null */
} SluiceSplitElementKind;

typedef struct {
  SluiceSplitParser     parent;
  SluiceSplitReader     reader;
  SluiceSplitArrayState state;

  /* the element being scanned */
  SluiceSplitElementKind kind;
  guint                  depth;
  gboolean               in_string;
  gboolean               escaped;
  guint64                element_offset;  /* input offset of its first byte */
  gsize                  element_start;   /* where it starts in the current chunk */
  GByteArray            *pending;         /* its bytes from earlier chunks */

  guint64                records;
} SluiceSplitJsonArrayParser;

static guint64
split_array_offset (SluiceSplitJsonArrayParser *self)
{
  return self->reader.offset + self->reader.pos;
}

static gboolean
split_array_fail_at (SluiceSplitJsonArrayParser *self,
                     GError                    **error,
                     guint64                     offset,
                     const char                 *format,
                     ...) G_GNUC_PRINTF (4, 5);

static gboolean
split_array_fail_at (SluiceSplitJsonArrayParser *self,
                     GError                    **error,
                     guint64                     offset,
                     const char                 *format,
                     ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
               "json-array: byte %" G_GUINT64_FORMAT ": %s", offset, what);
  return FALSE;
}

static gboolean
split_array_too_large (SluiceSplitJsonArrayParser *self,
                       gsize                       size,
                       GError                    **error)
{
  if (size <= self->parent.options->max_record_size)
    return TRUE;

  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
               "json-array: byte %" G_GUINT64_FORMAT ": element %" G_GUINT64_FORMAT
               " is larger than max_record_size (%" G_GSIZE_FORMAT " bytes)",
               self->element_offset, self->records + 1, self->parent.options->max_record_size);
  return FALSE;
}

/* The element ends before reader.pos: check it and queue its bytes. */
static gboolean
split_array_take_element (SluiceSplitJsonArrayParser *self,
                          GQueue                     *out,
                          GError                    **error)
{
  SluiceSplitReader *reader = &self->reader;
  g_autoptr(GError) local_error = NULL;
  const char *data;
  gsize len, offset;

  if (self->pending->len > 0)
    {
      g_byte_array_append (self->pending, reader->data + self->element_start,
                           reader->pos - self->element_start);
      data = (const char *) self->pending->data;
      len = self->pending->len;
    }
  else
    {
      data = (const char *) reader->data + self->element_start;
      len = reader->pos - self->element_start;
    }

  if (!split_array_too_large (self, len, error))
    return FALSE;

  if (!sluice_split_json_validate (data, len, &offset, &local_error))
    return split_array_fail_at (self, error, self->element_offset + offset,
                                "element %" G_GUINT64_FORMAT ": %s",
                                self->records + 1, local_error->message);

  g_queue_push_tail (out, g_bytes_new (data, len));
  g_byte_array_set_size (self->pending, 0);
  self->records++;
  self->state = ARRAY_STATE_AFTER;
  return TRUE;
}

static void
split_array_begin_element (SluiceSplitJsonArrayParser *self,
                           guint8                      c)
{
  self->element_offset = split_array_offset (self);
  self->element_start = self->reader.pos;
  self->in_string = FALSE;
  self->escaped = FALSE;
  self->depth = 0;

  if (c == '[' || c == '{')
    {
      self->kind = ELEMENT_CONTAINER;
      self->depth = 1;
    }
  else if (c == '"')
    {
      self->kind = ELEMENT_STRING;
      self->in_string = TRUE;
    }
  else
    {
      self->kind = ELEMENT_SCALAR;
    }
  /* the first byte is consumed here */
  self->reader.pos++;
  self->state = ARRAY_STATE_ELEMENT;
}

/* Scans the element from reader.pos; returns TRUE with *out_done when its
 * last byte was consumed (reader.pos just past it). */
static gboolean
split_array_scan_element (SluiceSplitJsonArrayParser *self,
                          gboolean                   *out_done,
                          GError                    **error)
{
  SluiceSplitReader *reader = &self->reader;
  const guint8 *data = reader->data;
  gsize pos = reader->pos;
  gsize len = reader->len;

  *out_done = FALSE;

  if (self->kind == ELEMENT_SCALAR)
    {
      /* ends before whitespace, ',' or ']'; the validator judges the token */
      for (; pos < len; pos++)
        {
          guint8 c = data[pos];

          if (split_json_is_space (c) || c == ',' || c == ']')
            {
              *out_done = TRUE;
              break;
            }
        }
      reader->pos = pos;
      return TRUE;
    }

  for (; pos < len; pos++)
    {
      guint8 c = data[pos];

      if (self->in_string)
        {
          if (self->escaped)
            self->escaped = FALSE;
          else if (c == '\\')
            self->escaped = TRUE;
          else if (c == '"')
            {
              self->in_string = FALSE;
              if (self->depth == 0)
                {
                  /* a string element ends with its closing quote */
                  reader->pos = pos + 1;
                  *out_done = TRUE;
                  return TRUE;
                }
            }
          continue;
        }

      switch (c)
        {
        case '"':
          self->in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++self->depth > SLUICE_SPLIT_JSON_MAX_DEPTH)
            {
              reader->pos = pos;
              return split_array_fail_at (self, error, split_array_offset (self),
                                          "element %" G_GUINT64_FORMAT ": nested deeper than %u levels",
                                          self->records + 1, SLUICE_SPLIT_JSON_MAX_DEPTH);
            }
          break;
        case ']':
        case '}':
          if (--self->depth == 0)
            {
              reader->pos = pos + 1;
              *out_done = TRUE;
              return TRUE;
            }
          break;
        default:
          break;
        }
    }

  reader->pos = pos;
  return TRUE;
}

static gboolean
split_array_fail_unexpected (SluiceSplitJsonArrayParser *self,
                             const char                 *expected,
                             GError                    **error)
{
  g_autofree char *got = sluice_split_json_describe_byte (self->reader.data[self->reader.pos]);

  return split_array_fail_at (self, error, split_array_offset (self), "expected %s, got %s",
                              expected, got);
}

static gboolean
split_array_fail_eof (SluiceSplitJsonArrayParser *self,
                      GError                    **error)
{
  switch (self->state)
    {
    case ARRAY_STATE_START:
      return split_array_fail_at (self, error, split_array_offset (self),
                                  "expected '[', got the end of the input");
    case ARRAY_STATE_ELEMENT:
      return split_array_fail_at (self, error, split_array_offset (self),
                                  "the input ends inside element %" G_GUINT64_FORMAT
                                  " (which starts at byte %" G_GUINT64_FORMAT ")",
                                  self->records + 1, self->element_offset);
    case ARRAY_STATE_FIRST:
    case ARRAY_STATE_NEXT:
    case ARRAY_STATE_AFTER:
      return split_array_fail_at (self, error, split_array_offset (self),
                                  "the input ends before the array's closing ']'");
    case ARRAY_STATE_END:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
split_array_fill (SluiceSplitParser *parser,
                  GQueue            *out,
                  guint              max_records,
                  GCancellable      *cancellable,
                  GError           **error)
{
  SluiceSplitJsonArrayParser *self = (SluiceSplitJsonArrayParser *) parser;
  SluiceSplitReader *reader = &self->reader;

  while (out->length < max_records)
    {
      guint8 c;

      if (reader->pos == reader->len)
        {
          if (self->state == ARRAY_STATE_ELEMENT)
            {
              /* keep the element's head before the chunk is replaced */
              g_byte_array_append (self->pending, reader->data + self->element_start,
                                   reader->len - self->element_start);
              if (!split_array_too_large (self, self->pending->len, error))
                return FALSE;
              self->element_start = 0;
            }
          if (!sluice_split_reader_refill (reader, cancellable, error))
            return FALSE;
          if (reader->eof)
            {
              if (self->state == ARRAY_STATE_END)
                {
                  parser->finished = TRUE;
                  return TRUE;
                }
              return split_array_fail_eof (self, error);
            }
          self->element_start = 0;
        }

      if (self->state == ARRAY_STATE_ELEMENT)
        {
          gboolean done;

          if (!split_array_scan_element (self, &done, error))
            return FALSE;
          if (done && !split_array_take_element (self, out, error))
            return FALSE;
          continue;
        }

      c = reader->data[reader->pos];
      if (split_json_is_space (c))
        {
          reader->pos++;
          continue;
        }

      switch (self->state)
        {
        case ARRAY_STATE_START:
          if (c != '[')
            return split_array_fail_unexpected (self, "'[' at the start of the input", error);
          self->state = ARRAY_STATE_FIRST;
          reader->pos++;
          break;

        case ARRAY_STATE_FIRST:
          if (c == ']')
            {
              self->state = ARRAY_STATE_END;
              reader->pos++;
              break;
            }
          G_GNUC_FALLTHROUGH;
        case ARRAY_STATE_NEXT:
          if (c == ',' || c == ']')
            {
              g_autofree char *expected = g_strdup_printf ("element %" G_GUINT64_FORMAT, self->records + 1);
              return split_array_fail_unexpected (self, expected, error);
            }
          split_array_begin_element (self, c);
          break;

        case ARRAY_STATE_AFTER:
          if (c == ',')
            self->state = ARRAY_STATE_NEXT;
          else if (c == ']')
            self->state = ARRAY_STATE_END;
          else
            {
              g_autofree char *expected = g_strdup_printf ("',' or ']' after element %" G_GUINT64_FORMAT,
                                                           self->records);
              return split_array_fail_unexpected (self, expected, error);
            }
          reader->pos++;
          break;

        case ARRAY_STATE_END:
          return split_array_fail_unexpected (self, "nothing after the array's closing ']'", error);

        case ARRAY_STATE_ELEMENT:
        default:
          g_assert_not_reached ();
        }
    }

  return TRUE;
}

static void
split_array_free (SluiceSplitParser *parser)
{
  SluiceSplitJsonArrayParser *self = (SluiceSplitJsonArrayParser *) parser;

  sluice_split_reader_clear (&self->reader);
  g_byte_array_unref (self->pending);
  g_free (self);
}

static const SluiceSplitParserVTable split_array_vtable = {
  .fill = split_array_fill,
  .free = split_array_free,
};

SluiceSplitParser *
sluice_split_json_array_parser_new (SluiceSplitOptions *options,
                                    GInputStream       *stream)
{
  SluiceSplitJsonArrayParser *self = g_new0 (SluiceSplitJsonArrayParser, 1);

  self->parent.vtable = &split_array_vtable;
  self->parent.options = sluice_split_options_ref (options);
  self->parent.stream = g_object_ref (stream);
  sluice_split_reader_init (&self->reader, stream, "json-array");
  self->pending = g_byte_array_new ();
  self->state = ARRAY_STATE_START;
  return &self->parent;
}
