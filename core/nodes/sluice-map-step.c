/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-map-step.h"

#include "sluice-json-path.h"
#include "sluice-schema.h"

const char sluice_map_step_schema[] =
  "{\"type\": \"object\","
  " \"description\": \"Builds a new JSON body from the input's fields\","
  " \"properties\": {"
  "   \"fields\": {\"type\": \"object\","
  "     \"description\": \"Output key (dotted to nest: customer.id) to its value: a JSONPath string "
  "($.order.id, first match), {\\\"const\\\": value}, {\\\"header\\\": name} or "
  "{\\\"concat\\\": [value, ...]}\","
  "     \"additionalProperties\": {\"type\": [\"string\", \"object\"], \"additionalProperties\": true}},"
  "   \"merge\": {\"type\": \"boolean\", \"default\": false,"
  "     \"description\": \"Start from a copy of the input object and set these fields on it, "
  "instead of building an object of only these fields\"},"
  "   \"missing\": {\"type\": \"string\", \"enum\": [\"null\", \"omit\", \"error\"], \"default\": \"null\","
  "     \"description\": \"When a path matches nothing: set null, leave the key out, or fail the message\"}"
  " },"
  " \"required\": [\"fields\"]}";

/* The step */

typedef enum {
  MISSING_NULL,
  MISSING_OMIT,
  MISSING_ERROR,
} MissingPolicy;

typedef enum {
  SPEC_PATH,
  SPEC_CONST,
  SPEC_HEADER,
  SPEC_CONCAT,
} SpecKind;

typedef struct {
  SpecKind   kind;
  char           *text;   /* the path expression, or the header name */
  SluiceJsonPath *path;
  JsonNode       *value;  /* const */
  GPtrArray      *parts;  /* concat: of Spec */
} Spec;

typedef struct {
  char  *key;        /* as written: "customer.id" */
  char **parts;      /* split at the dots */
  guint  n_parts;
  Spec  *spec;
} Field;

struct _SluiceMapStep
{
  GObject parent_instance;

  gboolean      initialized;
  GPtrArray    *fields;  /* of Field, in config order */
  gboolean      merge;
  MissingPolicy missing;
  gboolean      needs_body;
};

static void sluice_map_step_step_iface_init (SluiceStepInterface *iface);
static void sluice_map_step_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceMapStep, sluice_map_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, sluice_map_step_step_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, sluice_map_step_initable_iface_init))

static void
spec_free (Spec *spec)
{
  if (spec == NULL)
    return;

  g_free (spec->text);
  g_clear_pointer (&spec->path, sluice_json_path_free);
  g_clear_pointer (&spec->value, json_node_unref);
  g_clear_pointer (&spec->parts, g_ptr_array_unref);
  g_free (spec);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Spec, spec_free)

static void
field_free (Field *field)
{
  g_free (field->key);
  g_strfreev (field->parts);
  spec_free (field->spec);
  g_free (field);
}

static Spec *
compile_spec (JsonNode   *node,
              const char *path,
              gboolean    in_concat,
              GPtrArray  *problems)
{
  g_autoptr(Spec) spec = g_new0 (Spec, 1);
  JsonObject *object;
  JsonNode *value;
  g_autofree char *value_path = NULL;

  if (sluice_json_is_string (node))
    {
      g_autoptr(GError) local_error = NULL;

      spec->kind = SPEC_PATH;
      spec->text = g_strdup (json_node_get_string (node));
      spec->path = sluice_json_path_new (spec->text, &local_error);
      if (spec->path == NULL)
        {
          sluice_schema_problem_add (problems, path, node, "%s", local_error->message);
          return NULL;
        }
      return g_steal_pointer (&spec);
    }

  if (!JSON_NODE_HOLDS_OBJECT (node) || json_object_get_size (json_node_get_object (node)) != 1)
    {
      sluice_schema_problem_add (problems, path, node,
                                 "expected a JSONPath string or one of {\"const\": value}, "
                                 "{\"header\": name}, {\"concat\": [...]}, got %s",
                                 JSON_NODE_HOLDS_OBJECT (node) ? "an object with other keys"
                                                               : sluice_json_describe_type (node));
      return NULL;
    }

  object = json_node_get_object (node);
  if ((value = json_object_get_member (object, "const")) != NULL)
    {
      value_path = g_strconcat (path, ".const", NULL);
      if (in_concat && (JSON_NODE_HOLDS_OBJECT (value) || JSON_NODE_HOLDS_ARRAY (value)))
        {
          sluice_schema_problem_add (problems, value_path, value, "concat joins scalars, got %s",
                                     sluice_json_describe_type (value));
          return NULL;
        }
      spec->kind = SPEC_CONST;
      spec->value = sluice_json_deep_copy (value);
      return g_steal_pointer (&spec);
    }

  if ((value = json_object_get_member (object, "header")) != NULL)
    {
      value_path = g_strconcat (path, ".header", NULL);
      if (!sluice_json_is_string (value) || json_node_get_string (value)[0] == '\0')
        {
          sluice_schema_problem_add (problems, value_path, value, "expected a header name, got %s",
                                     sluice_json_is_string (value) ? "an empty string"
                                                                   : sluice_json_describe_type (value));
          return NULL;
        }
      spec->kind = SPEC_HEADER;
      spec->text = g_strdup (json_node_get_string (value));
      return g_steal_pointer (&spec);
    }

  if ((value = json_object_get_member (object, "concat")) != NULL)
    {
      JsonArray *array;
      guint before = problems->len;

      value_path = g_strconcat (path, ".concat", NULL);
      if (!JSON_NODE_HOLDS_ARRAY (value) || json_array_get_length (json_node_get_array (value)) == 0)
        {
          sluice_schema_problem_add (problems, value_path, value,
                                     "expected a non-empty array, got %s",
                                     JSON_NODE_HOLDS_ARRAY (value) ? "an empty array"
                                                                   : sluice_json_describe_type (value));
          return NULL;
        }

      spec->kind = SPEC_CONCAT;
      spec->parts = g_ptr_array_new_with_free_func ((GDestroyNotify) spec_free);
      array = json_node_get_array (value);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *part_path = g_strdup_printf ("%s[%u]", value_path, i);
          Spec *part = compile_spec (json_array_get_element (array, i), part_path, TRUE, problems);

          if (part != NULL)
            g_ptr_array_add (spec->parts, part);
        }
      return problems->len == before ? g_steal_pointer (&spec) : NULL;
    }

  {
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;
    g_autofree char *member_path = NULL;

    json_object_iter_init_ordered (&iter, object);
    json_object_iter_next_ordered (&iter, &name, &member);
    member_path = g_strconcat (path, ".", name, NULL);
    sluice_schema_problem_add (problems, member_path, member,
                               "unknown key (expected one of: const, header, concat)");
    return NULL;
  }
}

static gboolean
spec_reads_body (Spec *spec)
{
  if (spec->kind == SPEC_PATH)
    return TRUE;
  if (spec->kind == SPEC_CONCAT)
    for (guint i = 0; i < spec->parts->len; i++)
      if (spec_reads_body (g_ptr_array_index (spec->parts, i)))
        return TRUE;
  return FALSE;
}

/* Whether @prefix names an object that @field would have to be set in. */
static gboolean
key_is_prefix (Field *prefix,
               Field *field)
{
  if (prefix->n_parts >= field->n_parts)
    return FALSE;
  for (guint i = 0; i < prefix->n_parts; i++)
    if (!g_str_equal (prefix->parts[i], field->parts[i]))
      return FALSE;
  return TRUE;
}

static void
compile_fields (SluiceMapStep *self,
                JsonObject    *fields,
                GPtrArray     *problems)
{
  JsonObjectIter iter;
  const char *key;
  JsonNode *member;

  if (json_object_get_size (fields) == 0)
    {
      sluice_schema_problem_add (problems, "fields", NULL, "must have at least 1 field");
      return;
    }

  json_object_iter_init_ordered (&iter, fields);
  while (json_object_iter_next_ordered (&iter, &key, &member))
    {
      g_autofree char *path = g_strconcat ("fields.", key, NULL);
      g_auto(GStrv) parts = g_strsplit (key, ".", -1);
      Field *field;
      Spec *spec;
      gboolean empty_part = FALSE;

      if (key[0] == '\0')
        {
          sluice_schema_problem_add (problems, "fields", member, "an output key may not be empty");
          continue;
        }
      for (guint i = 0; parts[i] != NULL; i++)
        empty_part |= parts[i][0] == '\0';
      if (empty_part)
        {
          sluice_schema_problem_add (problems, path, member,
                                     "'%s' is not a valid output key (empty part between dots)", key);
          continue;
        }

      spec = compile_spec (member, path, FALSE, problems);
      if (spec == NULL)
        continue;

      field = g_new0 (Field, 1);
      field->key = g_strdup (key);
      field->n_parts = g_strv_length (parts);
      field->parts = g_steal_pointer (&parts);
      field->spec = spec;
      g_ptr_array_add (self->fields, field);
    }

  /* "customer": ... and "customer.id": ... cannot both be set. */
  for (guint i = 0; i < self->fields->len; i++)
    for (guint j = 0; j < self->fields->len; j++)
      {
        Field *a = g_ptr_array_index (self->fields, i);
        Field *b = g_ptr_array_index (self->fields, j);

        if (key_is_prefix (a, b))
          {
            g_autofree char *path = g_strconcat ("fields.", b->key, NULL);
            sluice_schema_problem_add (problems, path, NULL,
                                       "conflicts with '%s', which sets the whole object", a->key);
          }
      }
}

static char *
format_problems (GPtrArray *problems)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < problems->len; i++)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (problems, i);

      if (i > 0)
        g_string_append (text, "; ");
      if (problem->path[0] != '\0')
        g_string_append_printf (text, "%s: ", problem->path);
      g_string_append (text, problem->message);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
sluice_map_step_initable_init (GInitable     *initable,
                               GCancellable  *cancellable,
                               GError       **error)
{
  SluiceMapStep *self = SLUICE_MAP_STEP (initable);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
  g_autoptr(JsonNode) schema = NULL;
  g_autoptr(JsonNode) config_node = NULL;
  g_autoptr(JsonObject) config = NULL;
  JsonObject *given;
  const char *missing;

  if (self->initialized)
    return TRUE;

  /* Validated here as well as by the workflow loader, so that an instance
   * made any other way gets the defaults and the same clear errors. */
  schema = json_from_string (sluice_map_step_schema, NULL);
  given = sluice_component_get_config (self);
  if (given != NULL)
    {
      config_node = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (config_node, given);
    }

  config = sluice_schema_validate (schema, config_node, problems);
  if (config != NULL)
    {
      self->merge = json_object_get_boolean_member (config, "merge");
      missing = json_object_get_string_member (config, "missing");
      self->missing = g_str_equal (missing, "omit") ? MISSING_OMIT
                      : g_str_equal (missing, "error") ? MISSING_ERROR : MISSING_NULL;
      compile_fields (self, json_object_get_object_member (config, "fields"), problems);
    }

  if (problems->len > 0)
    {
      g_autofree char *text = format_problems (problems);

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "map: %s", text);
      g_ptr_array_set_size (self->fields, 0);
      return FALSE;
    }

  self->needs_body = self->merge;
  for (guint i = 0; i < self->fields->len; i++)
    self->needs_body |= spec_reads_body (((Field *) g_ptr_array_index (self->fields, i))->spec);

  self->initialized = TRUE;
  return TRUE;
}

static void
append_scalar (GString  *text,
               JsonNode *node)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (JSON_NODE_HOLDS_NULL (node))
    return;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      g_string_append_printf (text, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      {
        double value = json_node_get_double (node);

        /* The shortest form that reads back the same: 0.1, not
         * 0.10000000000000001. */
        g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
        if (g_ascii_strtod (buffer, NULL) != value)
          g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
        g_string_append (text, buffer);
        break;
      }
    case G_TYPE_BOOLEAN:
      g_string_append (text, json_node_get_boolean (node) ? "true" : "false");
      break;
    default:
      g_string_append (text, json_node_get_string (node));
      break;
    }
}

/* Returns a new node; NULL with *out_missing set to the path that matched
 * nothing, or NULL with @error set. */
static JsonNode *
evaluate_spec (Spec           *spec,
               JsonNode       *root,
               SluiceMessage  *message,
               const char     *key,
               const char    **out_missing,
               GError        **error)
{
  switch (spec->kind)
    {
    case SPEC_PATH:
      {
        JsonNode *found = sluice_json_path_first (spec->path, root);

        if (found == NULL)
          {
            *out_missing = spec->text;
            return NULL;
          }
        return sluice_json_deep_copy (found);
      }

    case SPEC_CONST:
      return sluice_json_deep_copy (spec->value);

    case SPEC_HEADER:
      {
        const char *value = sluice_message_get_header (message, spec->text);
        JsonNode *node;

        if (value == NULL)
          return json_node_new (JSON_NODE_NULL);
        node = json_node_new (JSON_NODE_VALUE);
        json_node_set_string (node, value);
        return node;
      }

    case SPEC_CONCAT:
      {
        g_autoptr(GString) text = g_string_new (NULL);
        JsonNode *node;

        for (guint i = 0; i < spec->parts->len; i++)
          {
            g_autoptr(JsonNode) part = evaluate_spec (g_ptr_array_index (spec->parts, i), root, message,
                                                      key, out_missing, error);

            if (part == NULL)
              return NULL;
            if (JSON_NODE_HOLDS_OBJECT (part) || JSON_NODE_HOLDS_ARRAY (part))
              {
                g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                             "map: key '%s': concat[%u] is %s, not a scalar",
                             key, i, sluice_json_describe_type (part));
                return NULL;
              }
            append_scalar (text, part);
          }
        node = json_node_new (JSON_NODE_VALUE);
        json_node_set_string (node, text->str);
        return node;
      }

    default:
      g_assert_not_reached ();
    }
}

static void
set_field (JsonObject *object,
           Field      *field,
           JsonNode   *value)
{
  for (guint i = 0; i + 1 < field->n_parts; i++)
    {
      JsonNode *member = json_object_get_member (object, field->parts[i]);

      if (member != NULL && JSON_NODE_HOLDS_OBJECT (member))
        object = json_node_get_object (member);
      else
        {
          /* With merge, an input value in the way is replaced: the
           * configuration asked for an object there. */
          JsonObject *child = json_object_new ();

          json_object_set_object_member (object, field->parts[i], child);
          object = child;
        }
    }
  json_object_set_member (object, field->parts[field->n_parts - 1], value);
}

static SluiceMessage *
map_message (SluiceMapStep  *self,
             SluiceMessage  *input,
             GError        **error)
{
  g_autoptr(JsonNode) output = NULL;
  g_autoptr(SluiceMessage) child = NULL;
  JsonNode *root = NULL;
  JsonObject *object;

  if (self->needs_body)
    {
      g_autoptr(GError) local_error = NULL;

      root = sluice_message_is_streamed (input) ? NULL : sluice_message_get_json (input, &local_error);
      if (self->merge && (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)))
        {
          g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               "map: input body is not a JSON object");
          return NULL;
        }
      if (root == NULL && local_error == NULL)
        {
          g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                               "map: input body is a stream; split it before map");
          return NULL;
        }
      if (root == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA, "map: input body is not JSON (%s)",
                       local_error->message);
          return NULL;
        }
    }

  if (self->merge)
    output = sluice_json_deep_copy (root);
  else
    {
      output = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (output, json_object_new ());
    }
  object = json_node_get_object (output);

  for (guint i = 0; i < self->fields->len; i++)
    {
      Field *field = g_ptr_array_index (self->fields, i);
      const char *missing = NULL;
      JsonNode *value;

      value = evaluate_spec (field->spec, root, input, field->key, &missing, error);
      if (value == NULL && missing == NULL)
        return NULL;

      if (value == NULL)
        {
          if (self->missing == MISSING_ERROR)
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA,
                           "map: key '%s': path '%s' matched nothing", field->key, missing);
              return NULL;
            }
          if (self->missing == MISSING_OMIT)
            continue;
          value = json_node_new (JSON_NODE_NULL);
        }
      set_field (object, field, value);
    }

  child = sluice_message_new_child (input);
  sluice_message_set_json (child, output);
  sluice_message_set_content_type (child, "application/json");
  return g_steal_pointer (&child);
}

static void
sluice_map_step_process_async (SluiceStep         *step,
                               SluiceMessage      *message,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  SluiceMapStep *self = SLUICE_MAP_STEP (step);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(SluiceMessage) output = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, sluice_map_step_process_async);

  if (!self->initialized)
    {
      g_task_return_new_error (task, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                               "map: the step was not initialized");
      return;
    }

  output = map_message (self, message, &error);
  if (output == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, sluice_message_iter_new_single (output), g_object_unref);
}

static SluiceMessageIter *
sluice_map_step_process_finish (SluiceStep   *step,
                                GAsyncResult *result,
                                GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, step), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sluice_map_step_process_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sluice_map_step_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = sluice_map_step_process_async;
  iface->process_finish = sluice_map_step_process_finish;
}

static void
sluice_map_step_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_map_step_initable_init;
}

static void
sluice_map_step_finalize (GObject *object)
{
  SluiceMapStep *self = SLUICE_MAP_STEP (object);

  g_clear_pointer (&self->fields, g_ptr_array_unref);

  G_OBJECT_CLASS (sluice_map_step_parent_class)->finalize (object);
}

static void
sluice_map_step_class_init (SluiceMapStepClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_map_step_finalize;
}

static void
sluice_map_step_init (SluiceMapStep *self)
{
  self->fields = g_ptr_array_new_with_free_func ((GDestroyNotify) field_free);
}
