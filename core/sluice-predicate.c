/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-predicate.h"

#include <errno.h>
#include <string.h>

/* JSONPath.
 *
 * Expressions use JsonPath's syntax and must also compile with
 * json_path_compile(), but they are matched by the walker below: the
 * json-glib 1.6 matcher reads past the end of arrays for an index, a set or
 * a slice that the document does not have (criticals, then a NULL node),
 * and its compiler crashes on an unterminated "['". A condition needs only
 * the first match, so the walker also stops there instead of collecting
 * copies of every match. */

typedef enum {
  PATH_MEMBER,   /* .name, ['name'] */
  PATH_INDEX,    /* [n]; negative counts from the end */
  PATH_SET,      /* [a,b,c] */
  PATH_SLICE,    /* [start:end:step] */
  PATH_CHILDREN, /* .*, [*], ['*'] */
  PATH_DESCENT,  /* ..: the next step, at every depth */
} PathStepKind;

typedef struct {
  PathStepKind kind;
  char        *name;
  gint64      *indices;
  guint        n_indices;
  gint64       start, end, step;
  gboolean     has_start, has_end;
} PathStep;

static void
path_step_clear (gpointer data)
{
  PathStep *step = data;

  g_free (step->name);
  g_free (step->indices);
}

static gboolean
parse_path_int (const char **cursor,
                gint64      *out_value)
{
  const char *start = *cursor;
  char *end = NULL;
  gint64 value;

  if (!(g_ascii_isdigit (start[0]) || (start[0] == '-' && g_ascii_isdigit (start[1]))))
    return FALSE;

  errno = 0;
  value = g_ascii_strtoll (start, &end, 10);
  if (errno != 0)
    return FALSE;

  *out_value = value;
  *cursor = end;
  return TRUE;
}

/* The part of a subscript after "[", up to and including "]". */
static gboolean
parse_path_subscript (const char **cursor,
                      PathStep    *step,
                      const char **out_reason)
{
  const char *p = *cursor;
  g_autoptr(GArray) indices = NULL;
  gint64 value;

  if (p[0] == '\'')
    {
      const char *close = strchr (p + 1, '\'');

      if (close == NULL || close[1] != ']')
        {
          *out_reason = "unterminated ['name'] subscript";
          return FALSE;
        }
      if (close == p + 1)
        {
          *out_reason = "empty member name";
          return FALSE;
        }
      if (close == p + 2 && p[1] == '*')
        step->kind = PATH_CHILDREN;
      else
        {
          step->kind = PATH_MEMBER;
          step->name = g_strndup (p + 1, close - (p + 1));
        }
      *cursor = close + 2;
      return TRUE;
    }

  if (p[0] == '*' && p[1] == ']')
    {
      step->kind = PATH_CHILDREN;
      *cursor = p + 2;
      return TRUE;
    }

  step->has_start = parse_path_int (&p, &step->start);
  if (p[0] == ':')
    {
      p++;
      step->kind = PATH_SLICE;
      step->has_end = parse_path_int (&p, &step->end);
      step->step = 1;
      if (p[0] == ':')
        {
          p++;
          if (parse_path_int (&p, &value))
            {
              if (value <= 0)
                {
                  *out_reason = "a slice step must be positive";
                  return FALSE;
                }
              /* No array is longer than G_MAXUINT: a bigger step means
               * the same and cannot overflow the walk. */
              step->step = MIN (value, (gint64) G_MAXUINT + 1);
            }
        }
      if (p[0] != ']')
        {
          *out_reason = "malformed slice";
          return FALSE;
        }
      *cursor = p + 1;
      return TRUE;
    }

  if (!step->has_start)
    {
      *out_reason = "expected an index, a slice, '*' or a quoted name after '['";
      return FALSE;
    }

  indices = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (indices, step->start);
  while (p[0] == ',')
    {
      p++;
      if (!parse_path_int (&p, &value))
        {
          *out_reason = "malformed index set";
          return FALSE;
        }
      g_array_append_val (indices, value);
    }
  if (p[0] != ']')
    {
      *out_reason = "expected ']' after an index";
      return FALSE;
    }

  step->kind = indices->len == 1 ? PATH_INDEX : PATH_SET;
  step->n_indices = indices->len;
  step->indices = (gint64 *) (void *) g_array_free (g_steal_pointer (&indices), FALSE);
  *cursor = p + 1;
  return TRUE;
}

static GArray *
parse_path (const char  *expression,
            char       **out_reason)
{
  g_autoptr(GArray) steps = g_array_new (FALSE, TRUE, sizeof (PathStep));
  g_autoptr(JsonPath) checker = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *p = expression;
  const char *reason = NULL;

  g_array_set_clear_func (steps, path_step_clear);

  if (p[0] != '$')
    {
      *out_reason = g_strdup ("a JSONPath starts with '$'");
      return NULL;
    }
  p++;

  while (p[0] != '\0')
    {
      PathStep step = { 0, };

      if (p[0] == '.' && p[1] == '.')
        {
          PathStep descent = { .kind = PATH_DESCENT };

          if (p[2] == '\0' || p[2] == '.' || p[2] == '[')
            {
              *out_reason = g_strdup ("expected a member name or '*' after '..'");
              return NULL;
            }
          g_array_append_val (steps, descent);
          p++;
          continue;
        }

      if (p[0] == '.')
        {
          const char *end = p + 1;

          while (end[0] != '\0' && end[0] != '.' && end[0] != '[')
            end++;
          if (end == p + 1)
            {
              *out_reason = g_strdup ("expected a member name or '*' after '.'");
              return NULL;
            }
          if (end == p + 2 && p[1] == '*')
            step.kind = PATH_CHILDREN;
          else
            {
              step.kind = PATH_MEMBER;
              step.name = g_strndup (p + 1, end - (p + 1));
            }
          g_array_append_val (steps, step);
          p = end;
          continue;
        }

      if (p[0] == '[')
        {
          p++;
          if (!parse_path_subscript (&p, &step, &reason))
            {
              path_step_clear (&step);
              *out_reason = g_strdup (reason);
              return NULL;
            }
          g_array_append_val (steps, step);
          continue;
        }

      *out_reason = g_strdup_printf ("unexpected '%c'", p[0]);
      return NULL;
    }

  /* Only reached with well-formed subscripts, which json_path_compile()
   * handles safely. */
  checker = json_path_new ();
  if (!json_path_compile (checker, expression, &local_error))
    {
      *out_reason = g_strdup (local_error->message);
      return NULL;
    }

  return g_steal_pointer (&steps);
}

static gboolean
normalize_index (gint64  index,
                 guint   length,
                 guint  *out_index)
{
  if (index < 0)
    index += length;
  if (index < 0 || index >= (gint64) length)
    return FALSE;
  *out_index = (guint) index;
  return TRUE;
}

static JsonNode *
path_first (const PathStep *steps,
            guint           n_steps,
            JsonNode       *node)
{
  const PathStep *step;
  JsonNode *found;

  if (n_steps == 0)
    return node;
  step = &steps[0];

  switch (step->kind)
    {
    case PATH_MEMBER:
      {
        JsonNode *member;

        if (!JSON_NODE_HOLDS_OBJECT (node))
          return NULL;
        member = json_object_get_member (json_node_get_object (node), step->name);
        return member != NULL ? path_first (steps + 1, n_steps - 1, member) : NULL;
      }

    case PATH_INDEX:
    case PATH_SET:
      {
        JsonArray *array;
        guint length, index;

        if (!JSON_NODE_HOLDS_ARRAY (node))
          return NULL;
        array = json_node_get_array (node);
        length = json_array_get_length (array);
        for (guint i = 0; i < step->n_indices; i++)
          if (normalize_index (step->indices[i], length, &index) &&
              (found = path_first (steps + 1, n_steps - 1, json_array_get_element (array, index))) != NULL)
            return found;
        return NULL;
      }

    case PATH_SLICE:
      {
        JsonArray *array;
        gint64 length, start, end;

        if (!JSON_NODE_HOLDS_ARRAY (node))
          return NULL;
        array = json_node_get_array (node);
        length = json_array_get_length (array);
        start = step->has_start ? step->start : 0;
        end = step->has_end ? step->end : length;
        if (start < 0)
          start = MAX (start + length, 0);
        if (end < 0)
          end = MAX (end + length, 0);
        end = MIN (end, length);
        for (gint64 i = start; i < end; i += step->step)
          if ((found = path_first (steps + 1, n_steps - 1, json_array_get_element (array, (guint) i))) != NULL)
            return found;
        return NULL;
      }

    case PATH_CHILDREN:
    case PATH_DESCENT:
      {
        /* Descent tries the next step here before going deeper, so the
         * first match is the first in document order. */
        const PathStep *next = step->kind == PATH_CHILDREN ? steps + 1 : steps;
        guint n_next = step->kind == PATH_CHILDREN ? n_steps - 1 : n_steps;

        if (step->kind == PATH_DESCENT &&
            (found = path_first (steps + 1, n_steps - 1, node)) != NULL)
          return found;

        if (JSON_NODE_HOLDS_OBJECT (node))
          {
            JsonObjectIter iter;
            const char *name;
            JsonNode *member;

            json_object_iter_init_ordered (&iter, json_node_get_object (node));
            while (json_object_iter_next_ordered (&iter, &name, &member))
              if ((found = path_first (next, n_next, member)) != NULL)
                return found;
          }
        else if (JSON_NODE_HOLDS_ARRAY (node))
          {
            JsonArray *array = json_node_get_array (node);
            guint length = json_array_get_length (array);

            for (guint i = 0; i < length; i++)
              if ((found = path_first (next, n_next, json_array_get_element (array, i))) != NULL)
                return found;
          }
        return NULL;
      }

    default:
      return NULL;
    }
}

/* Predicates */

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

  char   *header;
  GArray *path;        /* of PathStep */

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
  g_clear_pointer (&self->path, g_array_unref);
  g_clear_pointer (&self->operand, json_node_unref);
  g_clear_pointer (&self->choices, g_ptr_array_unref);
  g_clear_pointer (&self->regex, g_regex_unref);
  g_free (self);
}

static void add_problem (GPtrArray  *problems,
                         const char *path,
                         JsonNode   *node,
                         const char *format,
                         ...) G_GNUC_PRINTF (4, 5);

static void
add_problem (GPtrArray  *problems,
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

static char *
child_path (const char *path,
            const char *key)
{
  if (path[0] == '\0')
    return g_strdup (key);
  return g_strconcat (path, ".", key, NULL);
}

static const char *
describe_node (JsonNode *node)
{
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

static gboolean
node_is_number (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
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

  if (node_is_number (a) && node_is_number (b))
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
  g_autofree char *value_path = child_path (path, key);
  g_autoptr(SluicePredicate) self = g_new0 (SluicePredicate, 1);
  guint before = problems->len;

  self->children = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_predicate_free);

  if (g_str_equal (key, "not"))
    {
      SluicePredicate *child;

      self->kind = PREDICATE_NOT;
      if (!JSON_NODE_HOLDS_OBJECT (value))
        {
          add_problem (problems, value_path, value, "expected a condition object, got %s", describe_node (value));
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
      add_problem (problems, value_path, value, "expected a non-empty array of conditions, got %s",
                   JSON_NODE_HOLDS_ARRAY (value) ? "an empty array" : describe_node (value));
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
      if (header && !node_is_string (value))
        add_problem (problems, path, value, "expected a string (headers are strings), got %s", describe_node (value));
      else if (!node_is_scalar (value))
        add_problem (problems, path, value, "expected a string, a number, a boolean or null, got %s", describe_node (value));
      else
        self->operand = json_node_copy (value);
      break;

    case OP_IN:
      {
        JsonArray *array;
        guint before = problems->len;

        if (!JSON_NODE_HOLDS_ARRAY (value))
          {
            add_problem (problems, path, value, "expected an array of values, got %s", describe_node (value));
            break;
          }
        array = json_node_get_array (value);
        self->choices = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            JsonNode *element = json_array_get_element (array, i);
            g_autofree char *element_path = g_strdup_printf ("%s[%u]", path, i);

            if (header && !node_is_string (element))
              add_problem (problems, element_path, element, "expected a string (headers are strings), got %s",
                           describe_node (element));
            else if (!node_is_scalar (element))
              add_problem (problems, element_path, element, "expected a string, a number, a boolean or null, got %s",
                           describe_node (element));
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
        add_problem (problems, path, value,
                     "'%s' compares numbers and headers are strings (use equals, in, matches or exists)",
                     operator_names[self->op]);
      else if (!node_is_number (value))
        add_problem (problems, path, value, "expected a number, got %s", describe_node (value));
      else
        self->operand = json_node_copy (value);
      break;

    case OP_MATCHES:
      {
        g_autoptr(GError) local_error = NULL;

        if (!node_is_string (value))
          {
            add_problem (problems, path, value, "expected a regular expression string, got %s", describe_node (value));
            break;
          }
        self->regex = g_regex_new (json_node_get_string (value), G_REGEX_OPTIMIZE, 0, &local_error);
        if (self->regex == NULL)
          add_problem (problems, path, value, "not a valid regular expression (%s)", local_error->message);
        break;
      }

    case OP_EXISTS:
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_BOOLEAN)
        add_problem (problems, path, value, "expected a boolean, got %s", describe_node (value));
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
    add_problem (problems, path, spec, "takes either 'field' or 'header', not both");
  else if (field == NULL && header == NULL)
    add_problem (problems, path, spec, "missing 'field' or 'header'");
  else if (field != NULL)
    {
      g_autofree char *field_path = child_path (path, "field");

      self->kind = PREDICATE_FIELD;
      if (!node_is_string (field))
        add_problem (problems, field_path, field, "expected a JSONPath string, got %s", describe_node (field));
      else
        {
          g_autofree char *reason = NULL;

          self->path = parse_path (json_node_get_string (field), &reason);
          if (self->path == NULL)
            add_problem (problems, field_path, field, "'%s' is not a valid JSONPath (%s)",
                         json_node_get_string (field), reason);
        }
    }
  else
    {
      g_autofree char *header_path = child_path (path, "header");

      self->kind = PREDICATE_HEADER;
      if (!node_is_string (header) || json_node_get_string (header)[0] == '\0')
        add_problem (problems, header_path, header, "expected a header name, got %s",
                     node_is_string (header) ? "an empty string" : describe_node (header));
      else
        self->header = g_strdup (json_node_get_string (header));
    }

  if (n_operators == 0)
    add_problem (problems, path, spec, "missing an operator (one of: equals, in, gt, ge, lt, le, matches, exists)");
  else if (n_operators > 1)
    add_problem (problems, path, spec, "takes exactly one operator, got %s", operators->str);
  else if (field != NULL || header != NULL)
    {
      g_autofree char *operator_path = child_path (path, operator);
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
      add_problem (problems, path, spec, "expected a condition object, got %s",
                   spec != NULL ? describe_node (spec) : "nothing");
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
          g_autofree char *member_path = child_path (path, name);
          add_problem (problems, member_path, member,
                       "unknown key (expected one of: field, header, equals, in, gt, ge, lt, le, matches, exists, all, any, not)");
        }
    }

  if (combinator != NULL && other != NULL)
    {
      add_problem (problems, path, spec, "'%s' cannot be combined with '%s' in one condition", combinator, other);
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
      if (!node_is_number (value))
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
      return node_is_string (value) && g_regex_match (self->regex, json_node_get_string (value), 0, NULL);

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
        value = path_first ((const PathStep *) (void *) self->path->data, self->path->len, root);
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
