/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sluice-split-step.h"
#include "sluice-split-private.h"

const char sluice_split_step_schema[] =
  "{"
  "  \"type\": \"object\","
  "  \"description\": \"Splits one message (bytes or stream body) into one message per record, "
  "read lazily as downstream takes them. Each output carries the input's headers and trace, "
  "and the header sluice-record with the record's 1-based index.\","
  "  \"properties\": {"
  "    \"format\": {"
  "      \"type\": \"string\","
  "      \"enum\": [\"csv\", \"jsonl\", \"json-array\", \"xml\"],"
  "      \"description\": \"csv: one JSON object per row (an array of strings without header and "
  "columns); jsonl: one JSON value per non-blank line; json-array: one message per element of a "
  "top-level array; xml: the outer XML of each element named by 'element'\""
  "    },"
  "    \"header\": {"
  "      \"type\": \"boolean\","
  "      \"default\": true,"
  "      \"description\": \"csv: the first row names the fields\""
  "    },"
  "    \"columns\": {"
  "      \"type\": \"array\","
  "      \"items\": {\"type\": \"string\", \"minLength\": 1},"
  "      \"minItems\": 1,"
  "      \"description\": \"csv: the field names; with a header row they replace its names\""
  "    },"
  "    \"delimiter\": {"
  "      \"type\": \"string\","
  "      \"minLength\": 1,"
  "      \"default\": \",\","
  "      \"description\": \"csv: the field separator, one ASCII character\""
  "    },"
  "    \"quote\": {"
  "      \"type\": \"string\","
  "      \"minLength\": 1,"
  "      \"default\": \"\\\"\","
  "      \"description\": \"csv: the quote character, one ASCII character\""
  "    },"
  "    \"trim\": {"
  "      \"type\": \"boolean\","
  "      \"default\": false,"
  "      \"description\": \"csv: drop spaces and tabs around fields\""
  "    },"
  "    \"skip_empty_lines\": {"
  "      \"type\": \"boolean\","
  "      \"default\": true,"
  "      \"description\": \"csv: ignore empty lines; otherwise each one is a record without fields\""
  "    },"
  "    \"element\": {"
  "      \"type\": \"string\","
  "      \"minLength\": 1,"
  "      \"description\": \"xml (required there): the local name of the repeated element, matched "
  "at any depth, in any namespace\""
  "    },"
  "    \"max_record_size\": {"
  "      \"type\": \"integer\","
  "      \"minimum\": 1,"
  "      \"default\": 16777216,"
  "      \"description\": \"a record larger than this many bytes is an error\""
  "    }"
  "  },"
  "  \"required\": [\"format\"],"
  "  \"additionalProperties\": false"
  "}";

struct _SluiceSplitStep
{
  GObject             parent_instance;

  SluiceSplitOptions *options;
};

static void sluice_split_step_initable_iface_init (GInitableIface *iface);
static void sluice_split_step_step_iface_init (SluiceStepInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceSplitStep, sluice_split_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      sluice_split_step_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP,
                                                      sluice_split_step_step_iface_init))

static const char * const split_known_keys[] = {
  "format", "header", "columns", "delimiter", "quote", "trim", "skip_empty_lines",
  "element", "max_record_size", NULL,
};

static gboolean
split_config_fail (GError    **error,
                   const char *key,
                   const char *format,
                   ...) G_GNUC_PRINTF (3, 4);

static gboolean
split_config_fail (GError    **error,
                   const char *key,
                   const char *format,
                   ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
               "core.split: key '%s': %s", key, what);
  return FALSE;
}

static JsonNode *
split_config_get (JsonObject *config,
                  const char *key)
{
  JsonNode *node;

  if (config == NULL)
    return NULL;
  node = json_object_get_member (config, key);
  /* null stands for "not given", as the schema's defaults do */
  if (node != NULL && JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

static gboolean
split_config_get_boolean (JsonObject *config,
                          const char *key,
                          gboolean   *inout_value,
                          GError    **error)
{
  JsonNode *node = split_config_get (config, key);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return split_config_fail (error, key, "expected true or false");
  *inout_value = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
split_config_get_string (JsonObject  *config,
                         const char  *key,
                         const char **out_value,
                         GError     **error)
{
  JsonNode *node = split_config_get (config, key);

  *out_value = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return split_config_fail (error, key, "expected a string");
  *out_value = json_node_get_string (node);
  return TRUE;
}

/* One ASCII character that can separate or quote CSV fields. */
static gboolean
split_config_get_char (JsonObject *config,
                       const char *key,
                       char       *inout_value,
                       GError    **error)
{
  const char *value;

  if (!split_config_get_string (config, key, &value, error))
    return FALSE;
  if (value == NULL)
    return TRUE;
  if (strlen (value) != 1 || (guchar) value[0] >= 0x80)
    return split_config_fail (error, key, "expected one ASCII character, got \"%s\"", value);
  if (value[0] == '\n' || value[0] == '\r' || value[0] == '\0')
    return split_config_fail (error, key, "a line end cannot be used");
  *inout_value = value[0];
  return TRUE;
}

static gboolean
split_config_get_columns (JsonObject *config,
                          GStrv      *out_columns,
                          GError    **error)
{
  JsonNode *node = split_config_get (config, "columns");
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonArray *array;

  *out_columns = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return split_config_fail (error, "columns", "expected an array of strings");

  array = json_node_get_array (node);
  if (json_array_get_length (array) == 0)
    return split_config_fail (error, "columns", "expected at least one column name");

  seen = g_hash_table_new (g_str_hash, g_str_equal);
  builder = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *name;
      gpointer first;

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        return split_config_fail (error, "columns", "item %u: expected a string", i + 1);
      name = json_node_get_string (element);
      if (*name == '\0')
        return split_config_fail (error, "columns", "item %u: empty column name", i + 1);
      if (g_hash_table_lookup_extended (seen, name, NULL, &first))
        return split_config_fail (error, "columns", "item %u: '%s' repeats item %u",
                                  i + 1, name, GPOINTER_TO_UINT (first));
      g_hash_table_insert (seen, (gpointer) name, GUINT_TO_POINTER (i + 1));
      g_strv_builder_add (builder, name);
    }

  *out_columns = g_strv_builder_end (builder);
  return TRUE;
}

static SluiceSplitOptions *
split_options_from_config (JsonObject *config,
                           GError    **error)
{
  g_autoptr(SluiceSplitOptions) options = sluice_split_options_new ();
  const char *format;
  const char *element;
  JsonNode *node;

  if (config != NULL)
    {
      g_autoptr(GList) keys = json_object_get_members (config);

      for (GList *l = keys; l != NULL; l = l->next)
        if (!g_strv_contains (split_known_keys, l->data))
          {
            g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                         "core.split: unknown key '%s'", (const char *) l->data);
            return NULL;
          }
    }

  if (!split_config_get_string (config, "format", &format, error))
    return NULL;
  if (format == NULL)
    {
      split_config_fail (error, "format", "required: one of csv, jsonl, json-array, xml");
      return NULL;
    }
  if (g_str_equal (format, "csv"))
    options->format = SLUICE_SPLIT_FORMAT_CSV;
  else if (g_str_equal (format, "jsonl"))
    options->format = SLUICE_SPLIT_FORMAT_JSONL;
  else if (g_str_equal (format, "json-array"))
    options->format = SLUICE_SPLIT_FORMAT_JSON_ARRAY;
  else if (g_str_equal (format, "xml"))
    options->format = SLUICE_SPLIT_FORMAT_XML;
  else
    {
      split_config_fail (error, "format", "\"%s\" is not one of csv, jsonl, json-array, xml", format);
      return NULL;
    }

  node = split_config_get (config, "max_record_size");
  if (node != NULL)
    {
      gint64 size;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        {
          split_config_fail (error, "max_record_size", "expected an integer number of bytes");
          return NULL;
        }
      size = json_node_get_int (node);
      if (size < 1)
        {
          split_config_fail (error, "max_record_size", "must be at least 1, got %" G_GINT64_FORMAT, size);
          return NULL;
        }
      /* anything this large means "no limit"; capping keeps sums of sizes
       * from overflowing */
      options->max_record_size = (guint64) size > G_MAXSSIZE ? G_MAXSSIZE : (gsize) size;
    }

  if (!split_config_get_boolean (config, "header", &options->header, error) ||
      !split_config_get_boolean (config, "trim", &options->trim, error) ||
      !split_config_get_boolean (config, "skip_empty_lines", &options->skip_empty_lines, error) ||
      !split_config_get_char (config, "delimiter", &options->delimiter, error) ||
      !split_config_get_char (config, "quote", &options->quote, error) ||
      !split_config_get_columns (config, &options->columns, error))
    return NULL;
  if (options->delimiter == options->quote)
    {
      split_config_fail (error, "quote", "must differ from the delimiter '%c'", options->delimiter);
      return NULL;
    }

  if (!split_config_get_string (config, "element", &element, error))
    return NULL;
  if (element != NULL)
    {
      if (*element == '\0' || strchr (element, ':') != NULL || strpbrk (element, " \t\r\n<>/") != NULL)
        {
          split_config_fail (error, "element", "expected an element's local name (no prefix), got \"%s\"",
                             element);
          return NULL;
        }
      options->element = g_strdup (element);
    }
  if (options->format == SLUICE_SPLIT_FORMAT_XML && options->element == NULL)
    {
      split_config_fail (error, "element", "required when format is xml");
      return NULL;
    }

  return g_steal_pointer (&options);
}

static gboolean
sluice_split_step_initable_init (GInitable    *initable,
                                 GCancellable *cancellable,
                                 GError      **error)
{
  SluiceSplitStep *self = SLUICE_SPLIT_STEP (initable);
  SluiceSplitOptions *options;

  options = split_options_from_config (sluice_component_get_config (self), error);
  if (options == NULL)
    return FALSE;

  g_clear_pointer (&self->options, sluice_split_options_unref);
  self->options = options;
  return TRUE;
}

static void
sluice_split_step_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_split_step_initable_init;
}

static void
sluice_split_step_process_async (SluiceStep         *step,
                                 SluiceMessage      *message,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  SluiceSplitStep *self = SLUICE_SPLIT_STEP (step);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GInputStream) body = NULL;

  g_task_set_source_tag (task, sluice_split_step_process_async);

  if (self->options == NULL)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "core.split: the step was not initialised with a configuration");
      return;
    }

  /* nothing is read yet: the iterator reads as records are asked for */
  body = sluice_message_open_body (message);
  g_task_return_pointer (task, sluice_split_iter_new (self->options, message, body), g_object_unref);
}

static SluiceMessageIter *
sluice_split_step_process_finish (SluiceStep   *step,
                                  GAsyncResult *result,
                                  GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, step), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sluice_split_step_process_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_split_step_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_split_step_process_async;
  iface->process_finish = sluice_split_step_process_finish;
}

static void
sluice_split_step_finalize (GObject *object)
{
  SluiceSplitStep *self = SLUICE_SPLIT_STEP (object);

  g_clear_pointer (&self->options, sluice_split_options_unref);

  G_OBJECT_CLASS (sluice_split_step_parent_class)->finalize (object);
}

static void
sluice_split_step_class_init (SluiceSplitStepClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_split_step_finalize;
}

static void
sluice_split_step_init (SluiceSplitStep *self)
{
}
