/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-json-path.h"

#include <errno.h>
#include <string.h>
#include <sluice/sluice.h>

/* Expressions use JsonPath's syntax and must also compile with
 * json_path_compile(), but they are matched by the walker below: the
 * json-glib 1.6 matcher reads past the end of arrays for an index, a set or
 * a slice that the document does not have (criticals, then a NULL node),
 * its compiler crashes on an unterminated "['", and it copies every match
 * into a new array. Map fields and predicate conditions need only the first
 * match, so the walker stops there. */

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

struct _SluiceJsonPath
{
  GArray *steps; /* of PathStep */
};

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

SluiceJsonPath *
sluice_json_path_new (const char  *expression,
                      GError     **error)
{
  g_autofree char *reason = NULL;
  SluiceJsonPath *self;
  GArray *steps;

  g_return_val_if_fail (expression != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  steps = parse_path (expression, &reason);
  if (steps == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "'%s' is not a valid JSONPath (%s)", expression, reason);
      return NULL;
    }

  self = g_new0 (SluiceJsonPath, 1);
  self->steps = steps;
  return self;
}

void
sluice_json_path_free (SluiceJsonPath *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->steps, g_array_unref);
  g_free (self);
}

JsonNode *
sluice_json_path_first (SluiceJsonPath *self,
                        JsonNode       *root)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (root != NULL, NULL);

  return path_first ((const PathStep *) (void *) self->steps->data, self->steps->len, root);
}
