/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-predicate.h"

#include "sluice-json-path.h"

typedef enum {
  PREDICATE_ALL,
  PREDICATE_ANY,
  PREDICATE_NOT,
  PREDICATE_FIELD,
  PREDICATE_HEADER,
} PredicateKind;

typedef enum {
  OP_EQUALS,
  OP_IN,
  OP_GT,
  OP_GE,
  OP_LT,
  OP_LE,
  OP_MATCHES,
  OP_EXISTS,
} Operator;

static const char * const operator_names[] = {
  "equals", "in", "gt", "ge", "lt", "le", "matches", "exists", NULL
};

struct _SluicePredicate
{
  PredicateKind kind;

  GPtrArray *children; /* all, any, not (one) */

  char           *header;
  SluiceJsonPath *path;

  Operator  op;
  JsonNode *operand;   /* equals, gt, ge, lt, le */
  GPtrArray *choices;  /* in: JsonNode scalars */
  GRegex   *regex;
  gboolean  exists;
};

void
sluice_predicate_free (SluicePredicate *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->children, g_ptr_array_unref);
  g_free (self->header);
  g_clear_pointer (&self->path, sluice_json_path_free);
  g_clear_pointer (&self->operand, json_node_unref);
  g_clear_pointer (&self->choices, g_ptr_array_unref);
  g_clear_pointer (&self->regex, g_regex_unref);
  g_free (self);
}

static gboolean
node_is_scalar (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) || JSON_NODE_HOLDS_NULL (node);
}

/* Negative when @a < @b. Two integers compare exactly: doubles lose
 * precision above 2^53. */
static int
compare_numbers (JsonNode *a,
                 JsonNode *b)
{
  double da, db;

  if (json_node_get_value_type (a) == G_TYPE_INT64 && json_node_get_value_type (b) == G_TYPE_INT64)
    {
      gint64 ia = json_node_get_int (a), ib = json_node_get_int (b);
      return (ia > ib) - (ia < ib);
    }
  da = json_node_get_value_type (a) == G_TYPE_INT64 ? (double) json_node_get_int (a) : json_node_get_double (a);
  db = json_node_get_value_type (b) == G_TYPE_INT64 ? (double) json_node_get_int (b) : json_node_get_double (b);
  return (da > db) - (da < db);
}

static gboolean
scalars_equal (JsonNode *a,
               JsonNode *b)
{
  GType type_a, type_b;

  if (JSON_NODE_HOLDS_NULL (a) || JSON_NODE_HOLDS_NULL (b))
    return JSON_NODE_HOLDS_NULL (a) && JSON_NODE_HOLDS_NULL (b);
  if (!JSON_NODE_HOLDS_VALUE (a) || !JSON_NODE_HOLDS_VALUE (b))
    return FALSE;

  if (sluice_json_is_number (a) && sluice_json_is_number (b))
    return compare_numbers (a, b) == 0;

  type_a = json_node_get_value_type (a);
  type_b = json_node_get_value_type (b);
  if (type_a != type_b)
    return FALSE;
  if (type_a == G_TYPE_STRING)
    return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
  if (type_a == G_TYPE_BOOLEAN)
    return !json_node_get_boolean (a) == !json_node_get_boolean (b);
  return FALSE;
}

static SluicePredicate *parse_condition (JsonNode   *spec,
                                         const char *path,
                                         GPtrArray  *problems);

static SluicePredicate *
parse_combinator (JsonObject *object,
                  const char *key,
                  const char *path,
                  GPtrArray  *problems)
{
  JsonNode *value = json_object_get_member (object, key);
  g_autofree char *value_path = sluice_schema_child_path (path, key);
  g_autoptr(SluicePredicate) self = g_new0 (SluicePredicate, 1);
  guint before = problems->len;

  self->children = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_predicate_free);

  if (g_str_equal (key, "not"))
    {
      SluicePredicate *child;

      self->kind = PREDICATE_NOT;
      if (!JSON_NODE_HOLDS_OBJECT (value))
        {
          sluice_schema_problem_add (problems, value_path, value,
                                     "expected a condition object, got %s",
                                     sluice_json_describe_type (value));
          return NULL;
        }
      child = parse_condition (value, value_path, problems);
      if (child == NULL)
        return NULL;
      g_ptr_array_add (self->children, child);
      return g_steal_pointer (&self);
    }

  self->kind = g_str_equal (key, "all") ? PREDICATE_ALL : PREDICATE_ANY;
  if (!JSON_NODE_HOLDS_ARRAY (value) || json_array_get_length (json_node_get_array (value)) == 0)
    {
      sluice_schema_problem_add (problems, value_path, value,
                                 "expected a non-empty array of conditions, got %s",
                                 JSON_NODE_HOLDS_ARRAY (value) ? "an empty array"
                                                               : sluice_json_describe_type (value));
      return NULL;
    }

  /* Every element is parsed, so that all of their problems are reported. */
  for (guint i = 0; i < json_array_get_length (json_node_get_array (value)); i++)
    {
      g_autofree char *element_path = g_strdup_printf ("%s[%u]", value_path, i);
      SluicePredicate *child = parse_condition (json_array_get_element (json_node_get_array (value), i),
                                                element_path, problems);

      if (child != NULL)
        g_ptr_array_add (self->children, child);
    }

  return problems->len == before ? g_steal_pointer (&self) : NULL;
}

static void
parse_operand (SluicePredicate *self,
               JsonNode        *value,
               const char      *path,
               GPtrArray       *problems)
{
  gboolean header = self->kind == PREDICATE_HEADER;

  switch (self->op)
    {
    case OP_EQUALS:
      if (header && !sluice_json_is_string (value))
        sluice_schema_problem_add (problems, path, value,
                                   "expected a string (headers are strings), got %s",
                                   sluice_json_describe_type (value));
      else if (!node_is_scalar (value))
        sluice_schema_problem_add (problems, path, value,
                                   "expected a string, a number, a boolean or null, got %s",
                                   sluice_json_describe_type (value));
      else
        self->operand = json_node_copy (value);
      break;

    case OP_IN:
      {
        JsonArray *array;
        guint before = problems->len;

        if (!JSON_NODE_HOLDS_ARRAY (value))
          {
            sluice_schema_problem_add (problems, path, value, "expected an array of values, got %s",
                                       sluice_json_describe_type (value));
            break;
          }
        array = json_node_get_array (value);
        self->choices = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            JsonNode *element = json_array_get_element (array, i);
            g_autofree char *element_path = g_strdup_printf ("%s[%u]", path, i);

            if (header && !sluice_json_is_string (element))
              sluice_schema_problem_add (problems, element_path, element,
                                         "expected a string (headers are strings), got %s",
                                         sluice_json_describe_type (element));
            else if (!node_is_scalar (element))
              sluice_schema_problem_add (problems, element_path, element,
                                         "expected a string, a number, a boolean or null, got %s",
                                         sluice_json_describe_type (element));
            else if (problems->len == before)
              g_ptr_array_add (self->choices, json_node_copy (element));
          }
        break;
      }

    case OP_GT:
    case OP_GE:
    case OP_LT:
    case OP_LE:
      if (header)
        sluice_schema_problem_add (problems, path, value,
                                   "'%s' compares numbers and headers are strings (use equals, in, matches or exists)",
                                   operator_names[self->op]);
      else if (!sluice_json_is_number (value))
        sluice_schema_problem_add (problems, path, value, "expected a number, got %s",
                                   sluice_json_describe_type (value));
      else
        self->operand = json_node_copy (value);
      break;

    case OP_MATCHES:
      {
        g_autoptr(GError) local_error = NULL;

        if (!sluice_json_is_string (value))
          {
            sluice_schema_problem_add (problems, path, value,
                                       "expected a regular expression string, got %s",
                                       sluice_json_describe_type (value));
            break;
          }
        self->regex = g_regex_new (json_node_get_string (value), G_REGEX_OPTIMIZE, 0, &local_error);
        if (self->regex == NULL)
          sluice_schema_problem_add (problems, path, value, "not a valid regular expression (%s)",
                                     local_error->message);
        break;
      }

    case OP_EXISTS:
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_BOOLEAN)
        sluice_schema_problem_add (problems, path, value, "expected a boolean, got %s",
                                   sluice_json_describe_type (value));
      else
        self->exists = json_node_get_boolean (value);
      break;

    default:
      g_assert_not_reached ();
    }
}

static SluicePredicate *
parse_comparison (JsonNode   *spec,
                  const char *path,
                  GPtrArray  *problems)
{
  JsonObject *object = json_node_get_object (spec);
  g_autoptr(SluicePredicate) self = g_new0 (SluicePredicate, 1);
  g_autoptr(GString) operators = g_string_new (NULL);
  guint n_operators = 0;
  const char *operator = NULL;
  JsonNode *field = json_object_get_member (object, "field");
  JsonNode *header = json_object_get_member (object, "header");
  guint before = problems->len;

  for (guint i = 0; operator_names[i] != NULL; i++)
    if (json_object_has_member (object, operator_names[i]))
      {
        if (n_operators++ == 0)
          {
            operator = operator_names[i];
            self->op = (Operator) i;
          }
        g_string_append_printf (operators, "%s'%s'", operators->len > 0 ? ", " : "", operator_names[i]);
      }

  if (field != NULL && header != NULL)
    sluice_schema_problem_add (problems, path, spec, "takes either 'field' or 'header', not both");
  else if (field == NULL && header == NULL)
    sluice_schema_problem_add (problems, path, spec, "missing 'field' or 'header'");
  else if (field != NULL)
    {
      g_autofree char *field_path = sluice_schema_child_path (path, "field");

      self->kind = PREDICATE_FIELD;
      if (!sluice_json_is_string (field))
        sluice_schema_problem_add (problems, field_path, field,
                                   "expected a JSONPath string, got %s",
                                   sluice_json_describe_type (field));
      else
        {
          g_autoptr(GError) local_error = NULL;

          self->path = sluice_json_path_new (json_node_get_string (field), &local_error);
          if (self->path == NULL)
            sluice_schema_problem_add (problems, field_path, field, "%s", local_error->message);
        }
    }
  else
    {
      g_autofree char *header_path = sluice_schema_child_path (path, "header");

      self->kind = PREDICATE_HEADER;
      if (!sluice_json_is_string (header) || json_node_get_string (header)[0] == '\0')
        sluice_schema_problem_add (problems, header_path, header, "expected a header name, got %s",
                                   sluice_json_is_string (header) ? "an empty string"
                                                                  : sluice_json_describe_type (header));
      else
        self->header = g_strdup (json_node_get_string (header));
    }

  if (n_operators == 0)
    sluice_schema_problem_add (problems, path, spec,
                               "missing an operator (one of: equals, in, gt, ge, lt, le, matches, exists)");
  else if (n_operators > 1)
    sluice_schema_problem_add (problems, path, spec, "takes exactly one operator, got %s",
                               operators->str);
  else if (field != NULL || header != NULL)
    {
      g_autofree char *operator_path = sluice_schema_child_path (path, operator);
      parse_operand (self, json_object_get_member (object, operator), operator_path, problems);
    }

  return problems->len == before ? g_steal_pointer (&self) : NULL;
}

static SluicePredicate *
parse_condition (JsonNode   *spec,
                 const char *path,
                 GPtrArray  *problems)
{
  static const char * const combinators[] = { "all", "any", "not", NULL };
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  const char *combinator = NULL;
  const char *other = NULL;
  SluicePredicate *predicate;
  guint before = problems->len;

  if (spec == NULL || !JSON_NODE_HOLDS_OBJECT (spec))
    {
      sluice_schema_problem_add (problems, path, spec, "expected a condition object, got %s",
                                 sluice_json_describe_type (spec));
      return NULL;
    }
  object = json_node_get_object (spec);

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      if (g_strv_contains (combinators, name))
        {
          if (combinator == NULL)
            combinator = name;
          else if (other == NULL)
            other = name;
        }
      else if (g_str_equal (name, "field") || g_str_equal (name, "header") ||
               g_strv_contains (operator_names, name))
        {
          if (other == NULL)
            other = name;
        }
      else
        {
          g_autofree char *member_path = sluice_schema_child_path (path, name);
          sluice_schema_problem_add (problems, member_path, member,
                                     "unknown key (expected one of: field, header, equals, in, gt, ge, lt, le, matches, exists, all, any, not)");
        }
    }

  if (combinator != NULL && other != NULL)
    {
      sluice_schema_problem_add (problems, path, spec,
                                 "'%s' cannot be combined with '%s' in one condition",
                                 combinator, other);
      return NULL;
    }

  /* Parsed even after an unknown key, so that all problems are reported. */
  if (combinator != NULL)
    predicate = parse_combinator (object, combinator, path, problems);
  else
    predicate = parse_comparison (spec, path, problems);

  if (problems->len != before)
    g_clear_pointer (&predicate, sluice_predicate_free);
  return predicate;
}

SluicePredicate *
sluice_predicate_new (JsonNode  *spec,
                      GPtrArray *problems)
{
  g_return_val_if_fail (problems != NULL, NULL);

  return parse_condition (spec, "", problems);
}

static gboolean
compare_value (SluicePredicate *self,
               JsonNode        *value)
{
  int order;

  switch (self->op)
    {
    case OP_EQUALS:
      return scalars_equal (value, self->operand);

    case OP_IN:
      for (guint i = 0; i < self->choices->len; i++)
        if (scalars_equal (value, g_ptr_array_index (self->choices, i)))
          return TRUE;
      return FALSE;

    case OP_GT:
    case OP_GE:
    case OP_LT:
    case OP_LE:
      if (!sluice_json_is_number (value))
        return FALSE;
      order = compare_numbers (value, self->operand);
      switch (self->op)
        {
        case OP_GT:
          return order > 0;
        case OP_GE:
          return order >= 0;
        case OP_LT:
          return order < 0;
        default:
          return order <= 0;
        }

    case OP_MATCHES:
      return sluice_json_is_string (value) &&
             g_regex_match (self->regex, json_node_get_string (value), 0, NULL);

    case OP_EXISTS:
    default:
      return FALSE;
    }
}

static gboolean
compare_header (SluicePredicate *self,
                const char      *value)
{
  switch (self->op)
    {
    case OP_EQUALS:
      return g_str_equal (value, json_node_get_string (self->operand));

    case OP_IN:
      for (guint i = 0; i < self->choices->len; i++)
        if (g_str_equal (value, json_node_get_string (g_ptr_array_index (self->choices, i))))
          return TRUE;
      return FALSE;

    case OP_MATCHES:
      /* Header values come from the outside; GRegex wants UTF-8. */
      return g_utf8_validate (value, -1, NULL) && g_regex_match (self->regex, value, 0, NULL);

    default:
      return FALSE;
    }
}

gboolean
sluice_predicate_evaluate (SluicePredicate *self,
                           SluiceMessage   *message)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (SLUICE_IS_MESSAGE (message), FALSE);

  switch (self->kind)
    {
    case PREDICATE_ALL:
      for (guint i = 0; i < self->children->len; i++)
        if (!sluice_predicate_evaluate (g_ptr_array_index (self->children, i), message))
          return FALSE;
      return TRUE;

    case PREDICATE_ANY:
      for (guint i = 0; i < self->children->len; i++)
        if (sluice_predicate_evaluate (g_ptr_array_index (self->children, i), message))
          return TRUE;
      return FALSE;

    case PREDICATE_NOT:
      return !sluice_predicate_evaluate (g_ptr_array_index (self->children, 0), message);

    case PREDICATE_FIELD:
      {
        JsonNode *root, *value;

        if (sluice_message_is_streamed (message))
          return FALSE;
        root = sluice_message_get_json (message, NULL);
        if (root == NULL)
          return FALSE;
        value = sluice_json_path_first (self->path, root);
        if (self->op == OP_EXISTS)
          return (value != NULL) == self->exists;
        return value != NULL && compare_value (self, value);
      }

    case PREDICATE_HEADER:
      {
        const char *value = sluice_message_get_header (message, self->header);

        if (self->op == OP_EXISTS)
          return (value != NULL) == self->exists;
        return value != NULL && compare_header (self, value);
      }

    default:
      return FALSE;
    }
}
