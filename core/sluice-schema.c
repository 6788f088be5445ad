/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-schema.h"

#include <string.h>
#include <sluice/sluice.h>

/* Keywords of the supported subset. Anything else (notably "$ref",
 * "oneOf", "pattern") is refused by sluice_schema_check(), so that a
 * component never believes a constraint is enforced when it is not. */
static const char * const supported_keywords[] = {
  "type", "properties", "required", "additionalProperties", "enum",
  "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
  "items", "default", "description", "format", "title", "examples",
  NULL
};

static const char * const supported_types[] = {
  "string", "integer", "number", "boolean", "object", "array", NULL
};

static const char * const supported_formats[] = {
  "duration", "uri", NULL
};

void
sluice_schema_problem_free (SluiceSchemaProblem *problem)
{
  if (problem == NULL)
    return;

  g_free (problem->path);
  g_free (problem->message);
  g_free (problem);
}

void
sluice_schema_problem_add (GPtrArray  *problems,
                           const char *path,
                           JsonNode   *node,
                           const char *format,
                           ...)
{
  SluiceSchemaProblem *problem = g_new0 (SluiceSchemaProblem, 1);
  va_list args;

  va_start (args, format);
  problem->message = g_strdup_vprintf (format, args);
  va_end (args);
  problem->path = g_strdup (path);
  problem->node = node;
  g_ptr_array_add (problems, problem);
}

char *
sluice_schema_child_path (const char *path,
                          const char *key)
{
  if (path[0] == '\0')
    return g_strdup (key);
  return g_strconcat (path, ".", key, NULL);
}

static char *
item_path (const char *path,
           guint       index)
{
  return g_strdup_printf ("%s[%u]", path, index);
}

/* json_node_copy() shares the JsonObject/JsonArray of container nodes and
 * keeps the immutable flag; a filled-in configuration must be a tree of its
 * own that the caller may modify, and a mapped body must not share the
 * input message's tree. */
JsonNode *
sluice_json_deep_copy (JsonNode *node)
{
  JsonNode *copy;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *source = json_node_get_object (node);
        g_autoptr(JsonObject) target = json_object_new ();
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init_ordered (&iter, source);
        while (json_object_iter_next_ordered (&iter, &name, &member))
          json_object_set_member (target, name, sluice_json_deep_copy (member));
        copy = json_node_new (JSON_NODE_OBJECT);
        json_node_set_object (copy, target);
        return copy;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *source = json_node_get_array (node);
        guint length = json_array_get_length (source);
        g_autoptr(JsonArray) target = json_array_sized_new (length);

        for (guint i = 0; i < length; i++)
          json_array_add_element (target,
                                  sluice_json_deep_copy (json_array_get_element (source, i)));
        copy = json_node_new (JSON_NODE_ARRAY);
        json_node_set_array (copy, target);
        return copy;
      }

    case JSON_NODE_VALUE:
      copy = json_node_new (JSON_NODE_VALUE);
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          json_node_set_int (copy, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          json_node_set_double (copy, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          json_node_set_boolean (copy, json_node_get_boolean (node));
          break;
        default:
          json_node_set_string (copy, json_node_get_string (node));
          break;
        }
      return copy;

    case JSON_NODE_NULL:
    default:
      return json_node_new (JSON_NODE_NULL);
    }
}

static gboolean
node_is_integer (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

gboolean
sluice_json_is_number (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

gboolean
sluice_json_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
node_is_boolean (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
}

const char *
sluice_json_describe_type (JsonNode *node)
{
  if (node == NULL)
    return "nothing";

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          return "an integer";
        case G_TYPE_DOUBLE:
          return "a number";
        case G_TYPE_BOOLEAN:
          return "a boolean";
        default:
          return "a string";
        }
    }
}

static const char *
describe_type (const char *type)
{
  if (g_str_equal (type, "string"))
    return "a string";
  if (g_str_equal (type, "integer"))
    return "an integer";
  if (g_str_equal (type, "number"))
    return "a number";
  if (g_str_equal (type, "boolean"))
    return "a boolean";
  if (g_str_equal (type, "object"))
    return "an object";
  if (g_str_equal (type, "array"))
    return "an array";
  return type;
}

/* The getters below read a keyword only when it has the shape
 * sluice_schema_check() demands, so that validating against a schema that
 * was never checked ignores a malformed keyword instead of tripping
 * json-glib's precondition checks. */
static gboolean
schema_get_int (JsonObject *schema,
                const char *keyword,
                gint64     *out_value)
{
  JsonNode *node = json_object_get_member (schema, keyword);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out_value = json_node_get_int (node);
  return TRUE;
}

static JsonNode *
schema_get_number (JsonObject *schema,
                   const char *keyword)
{
  JsonNode *node = json_object_get_member (schema, keyword);
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE ? node : NULL;
}

static const char *
schema_get_string (JsonObject *schema,
                   const char *keyword)
{
  JsonNode *node = json_object_get_member (schema, keyword);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonArray *
schema_get_array (JsonObject *schema,
                  const char *keyword)
{
  JsonNode *node = json_object_get_member (schema, keyword);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
schema_get_object (JsonObject *schema,
                   const char *keyword)
{
  JsonNode *node = json_object_get_member (schema, keyword);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static const char *
type_name_of (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
node_has_type (JsonNode   *node,
               const char *type)
{
  if (type == NULL)
    return FALSE;
  if (g_str_equal (type, "string"))
    return sluice_json_is_string (node);
  if (g_str_equal (type, "integer"))
    return node_is_integer (node);
  if (g_str_equal (type, "number"))
    return sluice_json_is_number (node);
  if (g_str_equal (type, "boolean"))
    return node_is_boolean (node);
  if (g_str_equal (type, "object"))
    return JSON_NODE_HOLDS_OBJECT (node);
  if (g_str_equal (type, "array"))
    return JSON_NODE_HOLDS_ARRAY (node);
  return FALSE;
}

static double
node_get_number (JsonNode *node)
{
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return (double) json_node_get_int (node);
  return json_node_get_double (node);
}

/* Negative when @a < @b. Two integers compare exactly: doubles lose
 * precision above 2^53. */
static int
compare_numbers (JsonNode *a,
                 JsonNode *b)
{
  double da, db;

  if (node_is_integer (a) && node_is_integer (b))
    {
      gint64 ia = json_node_get_int (a), ib = json_node_get_int (b);
      return (ia > ib) - (ia < ib);
    }
  da = node_get_number (a);
  db = node_get_number (b);
  return (da > db) - (da < db);
}

static char *
format_value (JsonNode *node)
{
  if (sluice_json_is_string (node))
    return g_strdup (json_node_get_string (node));

  /* json-glib writes doubles with 17 digits: 0.1 would read
   * 0.10000000000000001 in a message meant for people. */
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];
      double value = json_node_get_double (node);

      g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
      if (g_ascii_strtod (buffer, NULL) != value)
        g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
      return g_strdup (buffer);
    }

  return json_to_string (node, FALSE);
}

/* "a string", "a string or an integer", "a string, an integer or an array". */
static char *
describe_types (JsonNode *type)
{
  g_autoptr(GString) text = g_string_new (NULL);
  JsonArray *types;
  guint length;

  if (!JSON_NODE_HOLDS_ARRAY (type))
    return g_strdup (describe_type (type_name_of (type)));

  types = json_node_get_array (type);
  length = json_array_get_length (types);
  for (guint i = 0; i < length; i++)
    {
      const char *name = type_name_of (json_array_get_element (types, i));

      if (i > 0)
        g_string_append (text, i + 1 == length ? " or " : ", ");
      g_string_append (text, name != NULL ? describe_type (name) : "?");
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
check_type (JsonObject *schema,
            JsonNode   *value,
            const char *path,
            GPtrArray  *problems)
{
  JsonNode *type = json_object_get_member (schema, "type");
  g_autofree char *expected = NULL;

  if (type == NULL)
    return TRUE;

  if (JSON_NODE_HOLDS_ARRAY (type))
    {
      JsonArray *types = json_node_get_array (type);

      for (guint i = 0; i < json_array_get_length (types); i++)
        if (node_has_type (value, type_name_of (json_array_get_element (types, i))))
          return TRUE;
    }
  else if (type_name_of (type) == NULL)
    return TRUE;
  else if (node_has_type (value, type_name_of (type)))
    return TRUE;

  expected = describe_types (type);
  sluice_schema_problem_add (problems, path, value, "expected %s, got %s", expected,
                             sluice_json_describe_type (value));
  return FALSE;
}

static JsonNode *validate_node (JsonObject *schema,
                                JsonNode   *value,
                                const char *path,
                                GPtrArray  *problems);

static void
check_enum (JsonObject *schema,
            JsonNode   *value,
            const char *path,
            GPtrArray  *problems)
{
  JsonArray *choices;
  g_autoptr(GString) text = NULL;
  guint length;

  choices = schema_get_array (schema, "enum");
  if (choices == NULL)
    return;

  length = json_array_get_length (choices);
  for (guint i = 0; i < length; i++)
    if (json_node_equal (json_array_get_element (choices, i), value))
      return;

  text = g_string_new (NULL);
  for (guint i = 0; i < length; i++)
    {
      g_autofree char *choice = format_value (json_array_get_element (choices, i));

      if (i > 0)
        g_string_append (text, ", ");
      g_string_append (text, choice);
    }
  sluice_schema_problem_add (problems, path, value, "must be one of: %s", text->str);
}

static void
check_number (JsonObject *schema,
              JsonNode   *value,
              const char *path,
              GPtrArray  *problems)
{
  JsonNode *limit;

  limit = schema_get_number (schema, "minimum");
  if (limit != NULL && compare_numbers (value, limit) < 0)
    {
      g_autofree char *text = format_value (limit);
      sluice_schema_problem_add (problems, path, value, "must be at least %s", text);
    }

  limit = schema_get_number (schema, "maximum");
  if (limit != NULL && compare_numbers (value, limit) > 0)
    {
      g_autofree char *text = format_value (limit);
      sluice_schema_problem_add (problems, path, value, "must be at most %s", text);
    }
}

/* An absolute URI (RFC 3986). GUri parses leniently, so characters a URI
 * never holds unescaped, such as spaces, are refused here. */
static gboolean
uri_is_valid (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || strchr ("\"<>\\^`{|}", *p) != NULL)
      return FALSE;

  return g_uri_is_valid (text, G_URI_FLAGS_NONE, NULL);
}

static void
check_string (JsonObject *schema,
              JsonNode   *value,
              const char *path,
              GPtrArray  *problems)
{
  const char *text = json_node_get_string (value);
  gint64 min, max;
  gboolean has_min = schema_get_int (schema, "minLength", &min);
  gboolean has_max = schema_get_int (schema, "maxLength", &max);
  const char *format = schema_get_string (schema, "format");

  if (has_min || has_max)
    {
      /* Characters, not bytes: "ü" is one. */
      gint64 length = g_utf8_validate (text, -1, NULL) ? g_utf8_strlen (text, -1) : (gint64) strlen (text);

      if (has_min && length < min)
        sluice_schema_problem_add (problems, path, value,
                                   "must be at least %" G_GINT64_FORMAT " character%s long",
                                   min, min == 1 ? "" : "s");
      if (has_max && length > max)
        sluice_schema_problem_add (problems, path, value,
                                   "must be at most %" G_GINT64_FORMAT " character%s long",
                                   max, max == 1 ? "" : "s");
    }

  if (g_strcmp0 (format, "duration") == 0)
    {
      g_autoptr(GError) local_error = NULL;
      gint64 usec;

      /* Its message already quotes the text and shows valid examples. */
      if (!sluice_parse_duration (text, &usec, &local_error))
        sluice_schema_problem_add (problems, path, value, "%s", local_error->message);
    }
  else if (g_strcmp0 (format, "uri") == 0)
    {
      if (!uri_is_valid (text))
        sluice_schema_problem_add (problems, path, value, "not a valid URI");
    }
}

static JsonNode *
validate_array (JsonObject *schema,
                JsonNode   *value,
                const char *path,
                GPtrArray  *problems)
{
  JsonArray *source = json_node_get_array (value);
  guint length = json_array_get_length (source);
  JsonObject *items = schema_get_object (schema, "items");
  g_autoptr(JsonArray) target = json_array_sized_new (length);
  JsonNode *result;
  gint64 limit;

  if (schema_get_int (schema, "minItems", &limit) && length < limit)
    sluice_schema_problem_add (problems, path, value,
                               "must have at least %" G_GINT64_FORMAT " item%s",
                               limit, limit == 1 ? "" : "s");
  if (schema_get_int (schema, "maxItems", &limit) && length > limit)
    sluice_schema_problem_add (problems, path, value,
                               "must have at most %" G_GINT64_FORMAT " item%s",
                               limit, limit == 1 ? "" : "s");

  for (guint i = 0; i < length; i++)
    {
      JsonNode *element = json_array_get_element (source, i);

      if (items != NULL)
        {
          g_autofree char *element_path = item_path (path, i);
          json_array_add_element (target, validate_node (items, element, element_path, problems));
        }
      else
        json_array_add_element (target, sluice_json_deep_copy (element));
    }

  result = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (result, target);
  return result;
}

/* A default is filled in as validating it would produce it, so that the
 * defaults of an object-valued default's own properties are there too.
 * sluice_schema_check() makes sure it validates; should an unchecked schema
 * carry a bad default, it is copied as written rather than blamed on the
 * configuration. */
static JsonNode *
fill_default (JsonObject *schema,
              JsonNode   *value)
{
  g_autoptr(GPtrArray) scratch = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
  g_autoptr(JsonNode) filled = validate_node (schema, value, "", scratch);

  if (scratch->len > 0)
    return sluice_json_deep_copy (value);
  return g_steal_pointer (&filled);
}

static char *
list_property_names (JsonObject *properties)
{
  g_autoptr(GString) text = g_string_new (NULL);
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, properties);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      if (text->len > 0)
        g_string_append (text, ", ");
      g_string_append (text, name);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static JsonNode *
validate_object (JsonObject *schema,
                 JsonNode   *value,
                 const char *path,
                 GPtrArray  *problems)
{
  JsonObject *source = json_node_get_object (value);
  JsonObject *properties = schema_get_object (schema, "properties");
  JsonArray *required = schema_get_array (schema, "required");
  JsonNode *additional = json_object_get_member (schema, "additionalProperties");
  JsonObject *additional_schema = NULL;
  gboolean additional_allowed = FALSE;
  g_autofree char *expected = NULL;
  g_autoptr(JsonObject) target = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  JsonNode *result;

  if (additional != NULL && JSON_NODE_HOLDS_OBJECT (additional))
    {
      additional_schema = json_node_get_object (additional);
      additional_allowed = TRUE;
    }
  else if (additional != NULL && node_is_boolean (additional))
    additional_allowed = json_node_get_boolean (additional);

  json_object_iter_init_ordered (&iter, source);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      g_autofree char *member_path = sluice_schema_child_path (path, name);
      JsonNode *property = properties != NULL ? json_object_get_member (properties, name) : NULL;

      if (property != NULL && JSON_NODE_HOLDS_OBJECT (property))
        json_object_set_member (target, name,
                                validate_node (json_node_get_object (property), member, member_path, problems));
      else if (additional_schema != NULL)
        json_object_set_member (target, name,
                                validate_node (additional_schema, member, member_path, problems));
      else if (additional_allowed)
        json_object_set_member (target, name, sluice_json_deep_copy (member));
      else
        {
          if (expected == NULL)
            expected = properties != NULL && json_object_get_size (properties) > 0
                       ? list_property_names (properties) : NULL;
          if (expected != NULL)
            sluice_schema_problem_add (problems, member_path, member,
                                       "unknown key (expected one of: %s)", expected);
          else
            sluice_schema_problem_add (problems, member_path, member,
                                       "unknown key (no keys are allowed here)");
        }
    }

  if (required != NULL)
    {
      for (guint i = 0; i < json_array_get_length (required); i++)
        {
          const char *key = type_name_of (json_array_get_element (required, i));

          if (key != NULL && !json_object_has_member (source, key))
            {
              g_autofree char *member_path = sluice_schema_child_path (path, key);
              sluice_schema_problem_add (problems, member_path, value, "missing required key");
            }
        }
    }

  if (properties != NULL)
    {
      json_object_iter_init_ordered (&iter, properties);
      while (json_object_iter_next_ordered (&iter, &name, &member))
        {
          JsonNode *fallback;

          if (!JSON_NODE_HOLDS_OBJECT (member) || json_object_has_member (source, name))
            continue;
          fallback = json_object_get_member (json_node_get_object (member), "default");
          if (fallback != NULL)
            json_object_set_member (target, name, fill_default (json_node_get_object (member), fallback));
        }
    }

  result = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (result, target);
  return result;
}

/* Returns the filled-in copy of @value; problems are appended, and the
 * caller tells success by whether @problems grew. */
static JsonNode *
validate_node (JsonObject *schema,
               JsonNode   *value,
               const char *path,
               GPtrArray  *problems)
{
  if (!check_type (schema, value, path, problems))
    return sluice_json_deep_copy (value);

  check_enum (schema, value, path, problems);

  if (sluice_json_is_number (value))
    check_number (schema, value, path, problems);
  else if (sluice_json_is_string (value))
    check_string (schema, value, path, problems);
  else if (JSON_NODE_HOLDS_ARRAY (value))
    return validate_array (schema, value, path, problems);
  else if (JSON_NODE_HOLDS_OBJECT (value))
    return validate_object (schema, value, path, problems);

  return sluice_json_deep_copy (value);
}

JsonObject *
sluice_schema_validate (JsonNode  *schema,
                        JsonNode  *config,
                        GPtrArray *problems)
{
  g_autoptr(JsonNode) empty = NULL;
  g_autoptr(JsonNode) result = NULL;
  guint before;

  g_return_val_if_fail (schema != NULL && JSON_NODE_HOLDS_OBJECT (schema), NULL);
  g_return_val_if_fail (problems != NULL, NULL);

  if (config == NULL)
    {
      empty = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (empty, json_object_new ());
      config = empty;
    }

  before = problems->len;
  result = validate_node (json_node_get_object (schema), config, "", problems);

  if (problems->len == before && !JSON_NODE_HOLDS_OBJECT (result))
    sluice_schema_problem_add (problems, "", config, "expected an object, got %s",
                               sluice_json_describe_type (config));

  /* Problems point into the caller's tree; the stand-in for a missing
   * config is freed on return, so they must not point at it. */
  for (guint i = before; empty != NULL && i < problems->len; i++)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (problems, i);

      if (problem->node == empty)
        problem->node = NULL;
    }
  if (problems->len != before)
    return NULL;

  return json_object_ref (json_node_get_object (result));
}

/* sluice_schema_check */

static gboolean check_schema (JsonNode    *schema,
                              const char  *path,
                              GError     **error);

static void set_check_error (GError    **error,
                             const char *path,
                             const char *format,
                             ...) G_GNUC_PRINTF (3, 4);

static void
set_check_error (GError    **error,
                 const char *path,
                 const char *format,
                 ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (path[0] == '\0')
    g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "schema: %s", message);
  else
    g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "schema, at '%s': %s", path, message);
}

static gboolean
check_type_keyword (JsonNode    *type,
                    const char  *path,
                    GError     **error)
{
  if (sluice_json_is_string (type))
    {
      if (!g_strv_contains (supported_types, json_node_get_string (type)))
        {
          set_check_error (error, path, "unsupported type '%s' (expected one of: string, integer, number, boolean, object, array)",
                           json_node_get_string (type));
          return FALSE;
        }
      return TRUE;
    }

  if (JSON_NODE_HOLDS_ARRAY (type) && json_array_get_length (json_node_get_array (type)) > 0)
    {
      JsonArray *types = json_node_get_array (type);

      for (guint i = 0; i < json_array_get_length (types); i++)
        {
          JsonNode *element = json_array_get_element (types, i);
          g_autofree char *element_path = item_path (path, i);

          if (!sluice_json_is_string (element))
            {
              set_check_error (error, element_path, "expected a type name, got %s",
                               sluice_json_describe_type (element));
              return FALSE;
            }
          if (!check_type_keyword (element, element_path, error))
            return FALSE;
        }
      return TRUE;
    }

  set_check_error (error, path, "expected a type name or a non-empty array of them, got %s",
                   sluice_json_describe_type (type));
  return FALSE;
}

static gboolean
check_non_negative_integer (JsonNode    *node,
                            const char  *path,
                            GError     **error)
{
  if (!node_is_integer (node))
    {
      set_check_error (error, path, "expected a non-negative integer, got %s",
                       sluice_json_describe_type (node));
      return FALSE;
    }
  if (json_node_get_int (node) < 0)
    {
      set_check_error (error, path, "expected a non-negative integer, got %" G_GINT64_FORMAT,
                       json_node_get_int (node));
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_properties (JsonObject  *schema,
                  const char  *path,
                  GError     **error)
{
  JsonNode *properties = json_object_get_member (schema, "properties");
  JsonNode *required = json_object_get_member (schema, "required");
  JsonNode *additional = json_object_get_member (schema, "additionalProperties");
  gboolean closed = additional == NULL || (node_is_boolean (additional) && !json_node_get_boolean (additional));

  if (properties != NULL)
    {
      g_autofree char *properties_path = sluice_schema_child_path (path, "properties");
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      if (!JSON_NODE_HOLDS_OBJECT (properties))
        {
          set_check_error (error, properties_path, "expected an object, got %s",
                           sluice_json_describe_type (properties));
          return FALSE;
        }

      json_object_iter_init_ordered (&iter, json_node_get_object (properties));
      while (json_object_iter_next_ordered (&iter, &name, &member))
        {
          g_autofree char *member_path = sluice_schema_child_path (properties_path, name);

          if (!check_schema (member, member_path, error))
            return FALSE;
        }
    }

  if (additional != NULL)
    {
      g_autofree char *additional_path = sluice_schema_child_path (path, "additionalProperties");

      if (JSON_NODE_HOLDS_OBJECT (additional))
        {
          if (!check_schema (additional, additional_path, error))
            return FALSE;
        }
      else if (!node_is_boolean (additional))
        {
          set_check_error (error, additional_path, "expected a boolean or a schema, got %s",
                           sluice_json_describe_type (additional));
          return FALSE;
        }
    }

  if (required != NULL)
    {
      g_autofree char *required_path = sluice_schema_child_path (path, "required");
      JsonArray *names;

      if (!JSON_NODE_HOLDS_ARRAY (required))
        {
          set_check_error (error, required_path, "expected an array of key names, got %s",
                           sluice_json_describe_type (required));
          return FALSE;
        }

      names = json_node_get_array (required);
      for (guint i = 0; i < json_array_get_length (names); i++)
        {
          JsonNode *element = json_array_get_element (names, i);
          g_autofree char *element_path = item_path (required_path, i);

          if (!sluice_json_is_string (element))
            {
              set_check_error (error, element_path, "expected a key name, got %s",
                               sluice_json_describe_type (element));
              return FALSE;
            }
          /* A required key that the object may not have can never be
           * satisfied: that is a typo in the schema, not in a config. */
          if (closed && (properties == NULL ||
                         !json_object_has_member (json_node_get_object (properties), json_node_get_string (element))))
            {
              set_check_error (error, element_path, "required key '%s' is not one of the properties",
                               json_node_get_string (element));
              return FALSE;
            }
        }
    }

  return TRUE;
}

static gboolean
check_schema (JsonNode    *schema,
              const char  *path,
              GError     **error)
{
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (!JSON_NODE_HOLDS_OBJECT (schema))
    {
      set_check_error (error, path, "expected a schema object, got %s",
                       sluice_json_describe_type (schema));
      return FALSE;
    }
  object = json_node_get_object (schema);

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      g_autofree char *member_path = sluice_schema_child_path (path, name);

      if (!g_strv_contains (supported_keywords, name))
        {
          set_check_error (error, path, "unsupported keyword '%s'", name);
          return FALSE;
        }

      if (g_str_equal (name, "type"))
        {
          if (!check_type_keyword (member, member_path, error))
            return FALSE;
        }
      else if (g_str_equal (name, "enum"))
        {
          if (!JSON_NODE_HOLDS_ARRAY (member) || json_array_get_length (json_node_get_array (member)) == 0)
            {
              set_check_error (error, member_path, "expected a non-empty array, got %s",
                               sluice_json_describe_type (member));
              return FALSE;
            }
        }
      else if (g_str_equal (name, "minimum") || g_str_equal (name, "maximum"))
        {
          if (!sluice_json_is_number (member))
            {
              set_check_error (error, member_path, "expected a number, got %s",
                               sluice_json_describe_type (member));
              return FALSE;
            }
        }
      else if (g_str_equal (name, "minLength") || g_str_equal (name, "maxLength") ||
               g_str_equal (name, "minItems") || g_str_equal (name, "maxItems"))
        {
          if (!check_non_negative_integer (member, member_path, error))
            return FALSE;
        }
      else if (g_str_equal (name, "items"))
        {
          if (!check_schema (member, member_path, error))
            return FALSE;
        }
      else if (g_str_equal (name, "format"))
        {
          if (!sluice_json_is_string (member))
            {
              set_check_error (error, member_path, "expected a format name, got %s",
                               sluice_json_describe_type (member));
              return FALSE;
            }
          if (!g_strv_contains (supported_formats, json_node_get_string (member)))
            {
              set_check_error (error, member_path, "unsupported format '%s' (expected duration or uri)",
                               json_node_get_string (member));
              return FALSE;
            }
        }
      else if (g_str_equal (name, "description") || g_str_equal (name, "title"))
        {
          if (!sluice_json_is_string (member))
            {
              set_check_error (error, member_path, "expected a string, got %s",
                               sluice_json_describe_type (member));
              return FALSE;
            }
        }
      else if (g_str_equal (name, "examples"))
        {
          if (!JSON_NODE_HOLDS_ARRAY (member))
            {
              set_check_error (error, member_path, "expected an array, got %s",
                               sluice_json_describe_type (member));
              return FALSE;
            }
        }
    }

  if (!check_properties (object, path, error))
    return FALSE;

  /* Checked last: validating the default needs the rest of this schema,
   * nested schemas included, to be well formed. */
  if (json_object_has_member (object, "default"))
    {
      g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
      g_autoptr(JsonNode) filled = NULL;
      g_autofree char *default_path = sluice_schema_child_path (path, "default");
      SluiceSchemaProblem *problem;

      filled = validate_node (object, json_object_get_member (object, "default"), "", problems);
      if (problems->len > 0)
        {
          problem = g_ptr_array_index (problems, 0);
          if (problem->path[0] == '\0')
            set_check_error (error, default_path, "the default is invalid: %s", problem->message);
          else
            set_check_error (error, default_path, "the default is invalid at '%s': %s", problem->path, problem->message);
          return FALSE;
        }
    }

  return TRUE;
}

gboolean
sluice_schema_check (JsonNode  *schema,
                     GError   **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (schema == NULL)
    {
      set_check_error (error, "", "no schema");
      return FALSE;
    }

  return check_schema (schema, "", error);
}
