/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <csv.h>

#include "sluice-split-private.h"

/* States of libcsv's machine (struct csv_parser.pstate); csv.h does not
 * name them. */
#define CSV_STATE_ROW_NOT_BEGUN          0
#define CSV_STATE_FIELD_MIGHT_HAVE_ENDED 3

typedef struct {
  SluiceSplitParser  parent;
  SluiceSplitReader  reader;
  struct csv_parser  csv;

  GString   *fields;         /* the current row's fields, each NUL-terminated */
  GArray    *starts;         /* gsize: where each field starts in fields */
  GPtrArray *names;          /* column names; NULL: rows become arrays */
  gboolean   names_from_header;
  gboolean   header_pending;

  guint64    line;           /* the line being fed, 1-based */
  guint64    row_line;       /* the line where the current row started */
  guint64    records;        /* data records parsed so far */
  gboolean   cr_pending;     /* the last row ended at a CR: a LF right after it ends the same line */

  GQueue    *out;            /* where rows go, during fill () */
  GError    *error;          /* set by the callbacks, which cannot stop libcsv */
} SluiceSplitCsvParser;

static int
split_csv_never_space (unsigned char c)
{
  return 0;
}

/* "header (line 1)" or "record 3 (line 4)", for messages. */
static char *
split_csv_where (SluiceSplitCsvParser *self)
{
  if (self->header_pending)
    return g_strdup_printf ("header (line %" G_GUINT64_FORMAT ")", self->row_line);
  return g_strdup_printf ("record %" G_GUINT64_FORMAT " (line %" G_GUINT64_FORMAT ")",
                          self->records + 1, self->row_line);
}

static void
split_csv_fail (SluiceSplitCsvParser *self,
                gint                  code,
                const char           *format,
                ...) G_GNUC_PRINTF (3, 4);

static void
split_csv_fail (SluiceSplitCsvParser *self,
                gint                  code,
                const char           *format,
                ...)
{
  g_autofree char *where = NULL;
  g_autofree char *what = NULL;
  va_list args;

  if (self->error != NULL)
    return;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  where = split_csv_where (self);
  g_set_error (&self->error, SLUICE_ERROR, code, "csv: %s: %s", where, what);
}

static void
split_csv_reset_row (SluiceSplitCsvParser *self)
{
  g_string_truncate (self->fields, 0);
  g_array_set_size (self->starts, 0);
}

static const char *
split_csv_field (SluiceSplitCsvParser *self,
                 guint                 i,
                 gsize                *out_len)
{
  gsize start = g_array_index (self->starts, gsize, i);
  gsize end = i + 1 < self->starts->len ? g_array_index (self->starts, gsize, i + 1) : self->fields->len;

  *out_len = end - start - 1;
  return self->fields->str + start;
}

/* The size of the current row's finished fields as in the input, without
 * quotes: their bytes and a separator between each two. A field costs at
 * least a byte, so a row of a million empty fields is large too. */
static gsize
split_csv_row_size (SluiceSplitCsvParser *self)
{
  return self->fields->len > 0 ? self->fields->len - 1 : 0;
}

static void
split_csv_on_field (void  *data,
                    size_t len,
                    void  *user_data)
{
  SluiceSplitCsvParser *self = user_data;
  gsize start;

  if (self->error != NULL)
    return;

  self->cr_pending = FALSE;
  if (self->names != NULL && !self->header_pending && self->starts->len >= self->names->len)
    {
      split_csv_fail (self, SLUICE_ERROR_INVALID_DATA, "more fields than the %u %s",
                      self->names->len,
                      self->names_from_header ? "columns of the header" : "configured columns");
      return;
    }

  start = self->fields->len;
  g_array_append_val (self->starts, start);
  if (len > 0)
    g_string_append_len (self->fields, data, len);
  g_string_append_c (self->fields, '\0');
}

static void
split_csv_take_header (SluiceSplitCsvParser *self)
{
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GPtrArray) names = NULL;

  if (self->names != NULL)
    {
      /* "columns" given: they rename the header's fields */
      self->header_pending = FALSE;
      return;
    }

  seen = g_hash_table_new (g_str_hash, g_str_equal);
  names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < self->starts->len; i++)
    {
      gsize len;
      const char *name = split_csv_field (self, i, &len);
      gpointer first;

      if (len == 0)
        {
          split_csv_fail (self, SLUICE_ERROR_INVALID_DATA, "column %u has an empty name", i + 1);
          return;
        }
      if (!g_utf8_validate_len (name, len, NULL))
        {
          split_csv_fail (self, SLUICE_ERROR_INVALID_DATA, "the name of column %u is not valid UTF-8", i + 1);
          return;
        }
      if (g_hash_table_lookup_extended (seen, name, NULL, &first))
        {
          split_csv_fail (self, SLUICE_ERROR_INVALID_DATA, "column %u repeats the name '%s' of column %u",
                          i + 1, name, GPOINTER_TO_UINT (first));
          return;
        }
      g_ptr_array_add (names, g_strndup (name, len));
      g_hash_table_insert (seen, g_ptr_array_index (names, names->len - 1), GUINT_TO_POINTER (i + 1));
    }

  self->names = g_steal_pointer (&names);
  self->names_from_header = TRUE;
  self->header_pending = FALSE;
}

static JsonNode *
split_csv_build_record (SluiceSplitCsvParser *self)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *object = NULL;
  JsonArray *array = NULL;

  if (self->names != NULL)
    {
      node = json_node_new (JSON_NODE_OBJECT);
      object = json_object_new ();
      json_node_take_object (node, object);
    }
  else
    {
      node = json_node_new (JSON_NODE_ARRAY);
      array = json_array_sized_new (self->starts->len);
      json_node_take_array (node, array);
    }

  for (guint i = 0; i < self->starts->len; i++)
    {
      gsize len;
      const char *value = split_csv_field (self, i, &len);

      /* also refuses NUL bytes, which a JSON string from C cannot hold */
      if (!g_utf8_validate_len (value, len, NULL))
        {
          split_csv_fail (self, SLUICE_ERROR_INVALID_DATA, "field %u is not valid UTF-8 text", i + 1);
          return NULL;
        }
      if (object != NULL)
        json_object_set_string_member (object, g_ptr_array_index (self->names, i), value);
      else
        json_array_add_string_element (array, value);
    }

  return g_steal_pointer (&node);
}

static void
split_csv_on_row (int   c,
                  void *user_data)
{
  SluiceSplitCsvParser *self = user_data;
  gboolean crlf_tail;
  JsonNode *node;

  if (self->error != NULL)
    return;

  crlf_tail = c == '\n' && self->cr_pending;
  self->cr_pending = c == '\r';

  if (self->starts->len == 0)
    {
      /* libcsv reports rows without fields only under CSV_REPALL_NL: a
       * line that is empty, or the LF of a CRLF */
      if (crlf_tail || self->parent.options->skip_empty_lines)
        return;
      if (self->header_pending)
        {
          split_csv_fail (self, SLUICE_ERROR_INVALID_DATA, "the header row is empty");
          return;
        }
    }

  if (split_csv_row_size (self) > self->parent.options->max_record_size)
    {
      split_csv_fail (self, SLUICE_ERROR_TOO_LARGE, "larger than max_record_size (%" G_GSIZE_FORMAT " bytes)",
                      self->parent.options->max_record_size);
      return;
    }

  if (self->header_pending)
    {
      split_csv_take_header (self);
      split_csv_reset_row (self);
      return;
    }

  node = split_csv_build_record (self);
  if (node == NULL)
    return;
  self->records++;
  g_queue_push_tail (self->out, node);
  split_csv_reset_row (self);
}

static void
split_csv_feed (SluiceSplitCsvParser *self,
                const guint8         *data,
                gsize                 len)
{
  gsize n_parsed = csv_parse (&self->csv, data, len, split_csv_on_field, split_csv_on_row, self);

  if (n_parsed == len || self->error != NULL)
    return;

  if (csv_error (&self->csv) == CSV_EPARSE)
    {
      g_autofree char *at = NULL;

      /* a quoted field may span lines: say where the bad quote is */
      at = self->line != self->row_line
        ? g_strdup_printf ("line %" G_GUINT64_FORMAT ": ", self->line)
        : g_strdup ("");
      if (self->csv.pstate == CSV_STATE_FIELD_MIGHT_HAVE_ENDED)
        split_csv_fail (self, SLUICE_ERROR_INVALID_DATA,
                        "%sunexpected character after the closing quote of a field", at);
      else
        split_csv_fail (self, SLUICE_ERROR_INVALID_DATA,
                        "%squote character inside an unquoted field", at);
      return;
    }

  /* out of memory or a field beyond SIZE_MAX: max_record_size normally
   * stops a record long before that */
  split_csv_fail (self, SLUICE_ERROR_TOO_LARGE, "%s", csv_strerror (csv_error (&self->csv)));
}

static void
split_csv_finish (SluiceSplitCsvParser *self)
{
  if (csv_fini (&self->csv, split_csv_on_field, split_csv_on_row, self) != 0)
    split_csv_fail (self, SLUICE_ERROR_INVALID_DATA, "unterminated quoted field");
}

static gboolean
split_csv_fill (SluiceSplitParser *parser,
                GQueue            *out,
                guint              max_records,
                GCancellable      *cancellable,
                GError           **error)
{
  SluiceSplitCsvParser *self = (SluiceSplitCsvParser *) parser;
  SluiceSplitReader *reader = &self->reader;

  self->out = out;
  while (self->error == NULL && out->length < max_records)
    {
      const guint8 *start;
      const guint8 *newline;
      gsize avail, segment;

      if (!sluice_split_reader_refill (reader, cancellable, error))
        {
          self->out = NULL;
          return FALSE;
        }
      if (reader->eof)
        {
          if (self->csv.pstate == CSV_STATE_ROW_NOT_BEGUN)
            self->row_line = self->line;
          split_csv_finish (self);
          if (self->error == NULL)
            parser->finished = TRUE;
          break;
        }

      /* Feed libcsv a line at a time: rows end at line ends, so a row that
       * starts in this piece starts on self->line. */
      start = reader->data + reader->pos;
      avail = reader->len - reader->pos;
      newline = memchr (start, '\n', avail);
      segment = newline != NULL ? (gsize) (newline - start) + 1 : avail;

      if (self->csv.pstate == CSV_STATE_ROW_NOT_BEGUN)
        self->row_line = self->line;
      split_csv_feed (self, start, segment);
      reader->pos += segment;
      if (newline != NULL)
        self->line++;

      /* libcsv's entry_pos (the field in progress) is only current
       * between calls to csv_parse (), not inside its callbacks */
      if (self->error == NULL &&
          self->csv.pstate != CSV_STATE_ROW_NOT_BEGUN &&
          self->fields->len + self->csv.entry_pos > parser->options->max_record_size)
        split_csv_fail (self, SLUICE_ERROR_TOO_LARGE, "larger than max_record_size (%" G_GSIZE_FORMAT " bytes)",
                        parser->options->max_record_size);
    }
  self->out = NULL;

  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      return FALSE;
    }
  return TRUE;
}

static void
split_csv_free (SluiceSplitParser *parser)
{
  SluiceSplitCsvParser *self = (SluiceSplitCsvParser *) parser;

  csv_free (&self->csv);
  sluice_split_reader_clear (&self->reader);
  g_string_free (self->fields, TRUE);
  g_array_unref (self->starts);
  g_clear_pointer (&self->names, g_ptr_array_unref);
  g_clear_error (&self->error);
  g_free (self);
}

static const SluiceSplitParserVTable split_csv_vtable = {
  .fill = split_csv_fill,
  .free = split_csv_free,
};

SluiceSplitParser *
sluice_split_csv_parser_new (SluiceSplitOptions *options,
                             GInputStream       *stream)
{
  SluiceSplitCsvParser *self = g_new0 (SluiceSplitCsvParser, 1);
  unsigned char csv_options = CSV_STRICT | CSV_STRICT_FINI;

  self->parent.vtable = &split_csv_vtable;
  self->parent.options = sluice_split_options_ref (options);
  self->parent.stream = g_object_ref (stream);
  sluice_split_reader_init (&self->reader, stream, "csv");

  /* empty lines are only reported when asked for; the row callback then
   * tells them apart from the LF of a CRLF */
  if (!options->skip_empty_lines)
    csv_options |= CSV_REPALL_NL;
  csv_init (&self->csv, csv_options);
  csv_set_delim (&self->csv, (unsigned char) options->delimiter);
  csv_set_quote (&self->csv, (unsigned char) options->quote);
  if (!options->trim)
    csv_set_space_func (&self->csv, split_csv_never_space);
  /* libcsv grows a field's buffer by this much at a time */
  csv_set_blk_size (&self->csv, SLUICE_SPLIT_CHUNK_SIZE);

  self->fields = g_string_sized_new (256);
  self->starts = g_array_new (FALSE, FALSE, sizeof (gsize));
  self->header_pending = options->header;
  if (options->columns != NULL)
    {
      self->names = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; options->columns[i] != NULL; i++)
        g_ptr_array_add (self->names, g_strdup (options->columns[i]));
    }
  self->line = 1;
  self->row_line = 1;

  return &self->parent;
}
