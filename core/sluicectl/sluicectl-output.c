/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sluicectl.h"

/* ---- Times ---- */

static GDateTime *
date_time_from_usec (gint64 usec)
{
  g_autoptr (GDateTime) seconds = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  if (seconds == NULL)
    return NULL;
  return g_date_time_add (seconds, usec % G_USEC_PER_SEC);
}

char *
sluicectl_format_time (gint64 usec)
{
  g_autoptr (GDateTime) time = NULL;

  if (usec == 0)
    return g_strdup ("-");
  time = date_time_from_usec (usec);
  if (time == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT, usec);
  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
}

char *
sluicectl_format_time_json (gint64 usec)
{
  g_autoptr (GDateTime) time = NULL;

  if (usec == 0)
    return NULL;
  time = date_time_from_usec (usec);
  if (time == NULL)
    return NULL;
  /* Microseconds only when there are some, like sluice_cron_format_time(). */
  if (g_date_time_get_microsecond (time) != 0)
    return g_date_time_format (time, "%Y-%m-%dT%H:%M:%S.%fZ");
  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
}

char *
sluicectl_format_duration (gint64 usec)
{
  gint64 seconds;

  if (usec < 0)
    usec = 0;
  if (usec < G_USEC_PER_SEC)
    return g_strdup_printf ("%" G_GINT64_FORMAT "ms", usec / 1000);
  if (usec < 60 * G_USEC_PER_SEC)
    return g_strdup_printf ("%.1fs", (double) usec / G_USEC_PER_SEC);
  seconds = usec / G_USEC_PER_SEC;
  if (seconds < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT "m%02" G_GINT64_FORMAT "s", seconds / 60,
                            seconds % 60);
  if (seconds < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT "h%02" G_GINT64_FORMAT "m", seconds / 3600,
                            seconds % 3600 / 60);
  return g_strdup_printf ("%" G_GINT64_FORMAT "d%02" G_GINT64_FORMAT "h", seconds / 86400,
                          seconds % 86400 / 3600);
}

/* ---- Tables ---- */

typedef struct
{
  char     **cells;
  GPtrArray *details; /* lines printed under the row, or NULL */
} TableRow;

struct _SluicectlTable
{
  guint   n_columns;
  GArray *rows; /* of TableRow; row 0 is the header */
};

static void
table_row_clear (gpointer data)
{
  TableRow *row = data;

  g_strfreev (row->cells);
  g_clear_pointer (&row->details, g_ptr_array_unref);
}

void
sluicectl_table_free (SluicectlTable *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->rows);
  g_free (self);
}

SluicectlTable *
sluicectl_table_new (const char *first_header, ...)
{
  SluicectlTable *self = g_new0 (SluicectlTable, 1);
  g_autoptr (GStrvBuilder) header = g_strv_builder_new ();
  TableRow row = { NULL, NULL };
  va_list  args;

  self->rows = g_array_new (FALSE, TRUE, sizeof (TableRow));
  g_array_set_clear_func (self->rows, table_row_clear);
  va_start (args, first_header);
  for (const char *cell = first_header; cell != NULL; cell = va_arg (args, const char *))
    {
      g_strv_builder_add (header, cell);
      self->n_columns++;
    }
  va_end (args);
  row.cells = g_strv_builder_end (header);
  g_array_append_val (self->rows, row);
  return self;
}

void
sluicectl_table_take_row (SluicectlTable *self, char **cells)
{
  TableRow row = { cells, NULL };

  g_return_if_fail (g_strv_length (cells) == self->n_columns);
  g_array_append_val (self->rows, row);
}

void
sluicectl_table_add_row (SluicectlTable *self, const char *first_cell, ...)
{
  g_autoptr (GStrvBuilder) row = g_strv_builder_new ();
  va_list args;

  va_start (args, first_cell);
  for (const char *cell = first_cell; cell != NULL; cell = va_arg (args, const char *))
    g_strv_builder_add (row, cell);
  va_end (args);
  sluicectl_table_take_row (self, g_strv_builder_end (row));
}

void
sluicectl_table_add_detail (SluicectlTable *self, char *line)
{
  TableRow *row = &g_array_index (self->rows, TableRow, self->rows->len - 1);

  if (row->details == NULL)
    row->details = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (row->details, line);
}

guint
sluicectl_table_get_n_rows (SluicectlTable *self)
{
  return self->rows->len - 1;
}

/* Width on a terminal: characters, not bytes (names may be UTF-8). */
static gsize
text_width (const char *text)
{
  if (g_utf8_validate (text, -1, NULL))
    return g_utf8_strlen (text, -1);
  return strlen (text);
}

void
sluicectl_table_print (SluicectlTable *self)
{
  g_autofree gsize *widths = g_new0 (gsize, self->n_columns);
  g_autoptr (GString) line = g_string_new (NULL);

  for (guint r = 0; r < self->rows->len; r++)
    {
      char **cells = g_array_index (self->rows, TableRow, r).cells;

      for (guint c = 0; c < self->n_columns; c++)
        widths[c] = MAX (widths[c], text_width (cells[c]));
    }

  for (guint r = 0; r < self->rows->len; r++)
    {
      TableRow *row = &g_array_index (self->rows, TableRow, r);

      g_string_truncate (line, 0);
      for (guint c = 0; c < self->n_columns; c++)
        {
          g_string_append (line, row->cells[c]);
          /* The last column is not padded: no trailing blanks. */
          if (c + 1 < self->n_columns)
            for (gsize pad = text_width (row->cells[c]); pad < widths[c] + 2; pad++)
              g_string_append_c (line, ' ');
        }
      g_print ("%s\n", line->str);
      for (guint d = 0; row->details != NULL && d < row->details->len; d++)
        g_print ("%s\n", (const char *) row->details->pdata[d]);
    }
}

/* ---- JSON ---- */

/* Dictionary keys whose x values are times (µs since the epoch, 0 = not
 * yet) in the API: Run, Batch, ListRuns, ListBatches, ListDeadLetters. */
static gboolean
is_time_key (const char *key)
{
  static const char *const time_keys[] = {
    "started",
    "finished",
    "created",
    "expires",
    "first",
    "last",
    NULL,
  };

  return key != NULL && g_strv_contains (time_keys, key);
}

JsonNode *
sluicectl_variant_to_json (const char *key, GVariant *value)
{
  const GVariantType *type = g_variant_get_type (value);
  JsonNode           *node = json_node_alloc ();

  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BOOLEAN:
      return json_node_init_boolean (node, g_variant_get_boolean (value));
    case G_VARIANT_CLASS_BYTE:
      return json_node_init_int (node, g_variant_get_byte (value));
    case G_VARIANT_CLASS_INT16:
      return json_node_init_int (node, g_variant_get_int16 (value));
    case G_VARIANT_CLASS_UINT16:
      return json_node_init_int (node, g_variant_get_uint16 (value));
    case G_VARIANT_CLASS_INT32:
      return json_node_init_int (node, g_variant_get_int32 (value));
    case G_VARIANT_CLASS_UINT32:
      return json_node_init_int (node, g_variant_get_uint32 (value));
    case G_VARIANT_CLASS_HANDLE:
      return json_node_init_int (node, g_variant_get_handle (value));
    case G_VARIANT_CLASS_INT64:
      if (is_time_key (key))
        {
          g_autofree char *text = sluicectl_format_time_json (g_variant_get_int64 (value));

          if (text == NULL)
            return json_node_init_null (node);
          return json_node_init_string (node, text);
        }
      return json_node_init_int (node, g_variant_get_int64 (value));
    case G_VARIANT_CLASS_UINT64:
      /* JSON numbers beyond 2^63 would not read back as integers. */
      return json_node_init_int (node, (gint64) MIN (g_variant_get_uint64 (value),
                                                     (guint64) G_MAXINT64));
    case G_VARIANT_CLASS_DOUBLE:
      return json_node_init_double (node, g_variant_get_double (value));
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      return json_node_init_string (node, g_variant_get_string (value, NULL));
    case G_VARIANT_CLASS_VARIANT:
      {
        g_autoptr (GVariant) inner = g_variant_get_variant (value);

        json_node_unref (node);
        return sluicectl_variant_to_json (key, inner);
      }
    case G_VARIANT_CLASS_MAYBE:
      {
        g_autoptr (GVariant) inner = g_variant_get_maybe (value);

        if (inner == NULL)
          return json_node_init_null (node);
        json_node_unref (node);
        return sluicectl_variant_to_json (key, inner);
      }
    case G_VARIANT_CLASS_ARRAY:
      if (g_variant_type_equal (type, G_VARIANT_TYPE_BYTESTRING))
        {
          gsize            size = 0;
          const guint8    *data = g_variant_get_fixed_array (value, &size, 1);
          g_autofree char *base64 = g_base64_encode (data, size);

          return json_node_init_string (node, base64);
        }
      if (g_variant_type_is_dict_entry (g_variant_type_element (type)) &&
          g_variant_type_equal (g_variant_type_key (g_variant_type_element (type)),
                                G_VARIANT_TYPE_STRING))
        {
          g_autoptr (JsonObject) object = json_object_new ();
          GVariantIter iter;
          const char  *member;
          GVariant    *member_value;

          g_variant_iter_init (&iter, value);
          while (g_variant_iter_loop (&iter, "{&s@*}", &member, &member_value))
            json_object_set_member (object, member,
                                    sluicectl_variant_to_json (member, member_value));
          return json_node_init_object (node, object);
        }
      G_GNUC_FALLTHROUGH;
    case G_VARIANT_CLASS_TUPLE:
    case G_VARIANT_CLASS_DICT_ENTRY:
      {
        g_autoptr (JsonArray) array = json_array_new ();
        gsize n = g_variant_n_children (value);

        for (gsize i = 0; i < n; i++)
          {
            g_autoptr (GVariant) child = g_variant_get_child_value (value, i);

            json_array_add_element (array, sluicectl_variant_to_json (NULL, child));
          }
        return json_node_init_array (node, array);
      }
    default:
      break;
    }
  {
    g_autofree char *text = g_variant_print (value, TRUE);

    return json_node_init_string (node, text);
  }
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

JsonNode *
sluicectl_vardict_to_json (GVariant *dict)
{
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  GVariantIter iter;
  const char  *key;

  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    g_ptr_array_add (keys, (gpointer) key);
  /* Sorted: the same document for the same data, whatever the order on
   * the wire. */
  g_ptr_array_sort (keys, compare_strings);
  for (guint i = 0; i < keys->len; i++)
    {
      g_autoptr (GVariant) value = g_variant_lookup_value (dict, keys->pdata[i], NULL);

      json_object_set_member (object, keys->pdata[i],
                              sluicectl_variant_to_json (keys->pdata[i], value));
    }
  return json_node_init_object (json_node_alloc (), object);
}

JsonNode *
sluicectl_vardict_list_to_json (GVariant *list)
{
  g_autoptr (JsonArray) array = json_array_new ();

  for (gsize i = 0; i < g_variant_n_children (list); i++)
    {
      g_autoptr (GVariant) dict = g_variant_get_child_value (list, i);

      json_array_add_element (array, sluicectl_vardict_to_json (dict));
    }
  return json_node_init_array (json_node_alloc (), array);
}

void
sluicectl_print_json (JsonNode *node, gboolean one_line)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, !one_line);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
  if (one_line)
    fflush (stdout);
}

/* ---- Dictionaries ---- */

/* Property names as the dictionary keys of ListRuns and ListBatches:
 * "TraceId" → "trace_id", "ChunkSize" → "chunk_size". */
char *
sluicectl_property_key (const char *property)
{
  GString *key = g_string_new (NULL);

  for (const char *c = property; *c != '\0'; c++)
    {
      if (g_ascii_isupper (*c) && c != property)
        g_string_append_c (key, '_');
      g_string_append_c (key, g_ascii_tolower (*c));
    }
  return g_string_free (key, FALSE);
}

const char *
sluicectl_dict_string (GVariant *dict, const char *key, const char *fallback)
{
  const char *value;

  if (dict != NULL && (g_variant_lookup (dict, key, "&s", &value) ||
                       g_variant_lookup (dict, key, "&o", &value)))
    return value;
  return fallback;
}

guint64
sluicectl_dict_uint (GVariant *dict, const char *key)
{
  g_autoptr (GVariant) value = dict != NULL ? g_variant_lookup_value (dict, key, NULL) : NULL;

  if (value == NULL)
    return 0;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    return (guint64) MAX (g_variant_get_int64 (value), 0);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return (guint64) MAX (g_variant_get_int32 (value), 0);
  return 0;
}

gint64
sluicectl_dict_int (GVariant *dict, const char *key)
{
  g_autoptr (GVariant) value = dict != NULL ? g_variant_lookup_value (dict, key, NULL) : NULL;

  if (value == NULL)
    return 0;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    return g_variant_get_int64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return (gint64) MIN (g_variant_get_uint64 (value), (guint64) G_MAXINT64);
  return 0;
}

gboolean
sluicectl_dict_bool (GVariant *dict, const char *key)
{
  gboolean value = FALSE;

  if (dict != NULL)
    g_variant_lookup (dict, key, "b", &value);
  return value;
}

char *
sluicectl_first_line (const char *text)
{
  const char *end;

  if (text == NULL || *text == '\0')
    return g_strdup ("-");
  end = strchr (text, '\n');
  if (end == NULL)
    return g_strdup (text);
  return g_strdup_printf ("%.*s…", (int) (end - text), text);
}
