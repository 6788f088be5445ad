/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-workflow.h"

#include <math.h>

#include "sluice-schema.h"

struct _SluiceWorkflow
{
  GObject parent_instance;

  char                   *name;
  char                   *path;
  char                   *description;
  gboolean                enabled;
  guint                   concurrency;
  SluiceComponentFactory *trigger_factory;
  JsonObject             *trigger_config;
  GPtrArray              *nodes;        /* SluiceWorkflowNode, owned */
  GPtrArray              *entry_nodes;  /* borrowed */
  SluiceWorkflowNode     *dead_letter_node;
  SluiceRetryPolicy      *retry;        /* NULL: one run per delivery */
  guint                   max_deliveries;
  SluiceEventKey         *idempotency_key;
  gint64                  idempotency_ttl_usec;
  SluiceEventKey         *ordering_key;
};

G_DEFINE_FINAL_TYPE (SluiceWorkflow, sluice_workflow, G_TYPE_OBJECT)

#define DEFAULT_CONCURRENCY 4
#define MAX_CONCURRENCY 10000
#define DEFAULT_MAX_DELIVERIES 10
#define DEFAULT_IDEMPOTENCY_TTL (24 * G_TIME_SPAN_HOUR)

static void
edge_free (SluiceWorkflowEdge *edge)
{
  g_clear_pointer (&edge->when, sluice_predicate_free);
  g_free (edge);
}

static void
node_free (SluiceWorkflowNode *node)
{
  g_free (node->id);
  g_clear_object (&node->factory);
  g_clear_pointer (&node->config, json_object_unref);
  g_clear_pointer (&node->retry, sluice_retry_policy_unref);
  g_clear_pointer (&node->edges, g_ptr_array_unref);
  g_free (node);
}

static void
sluice_workflow_finalize (GObject *object)
{
  SluiceWorkflow *self = SLUICE_WORKFLOW (object);

  g_free (self->name);
  g_free (self->path);
  g_free (self->description);
  g_clear_object (&self->trigger_factory);
  g_clear_pointer (&self->trigger_config, json_object_unref);
  g_clear_pointer (&self->entry_nodes, g_ptr_array_unref);
  g_clear_pointer (&self->nodes, g_ptr_array_unref);
  g_clear_pointer (&self->retry, sluice_retry_policy_unref);
  g_clear_pointer (&self->idempotency_key, sluice_event_key_free);
  g_clear_pointer (&self->ordering_key, sluice_event_key_free);

  G_OBJECT_CLASS (sluice_workflow_parent_class)->finalize (object);
}

static void
sluice_workflow_class_init (SluiceWorkflowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sluice_workflow_finalize;
}

static void
sluice_workflow_init (SluiceWorkflow *self)
{
  self->enabled = TRUE;
  self->concurrency = DEFAULT_CONCURRENCY;
  self->max_deliveries = DEFAULT_MAX_DELIVERIES;
  self->idempotency_ttl_usec = DEFAULT_IDEMPOTENCY_TTL;
  self->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
  self->entry_nodes = g_ptr_array_new ();
}

/* ---- Loading: every problem is collected, then reported at once. ---- */

typedef struct {
  SluicePluginHost *host;
  const char       *filename;
  GHashTable       *lines;      /* JsonNode*, JsonObject* or JsonArray* -> line */
  GArray           *open_lines; /* lines of the objects/arrays being parsed */
  GPtrArray        *problems;   /* char* */
} Loader;

static void
on_container_start (JsonParser *parser, gpointer user_data)
{
  Loader *loader = user_data;
  guint line = json_parser_get_current_line (parser);

  g_array_append_val (loader->open_lines, line);
}

static void
on_container_end (JsonParser *parser, gpointer container, gpointer user_data)
{
  Loader *loader = user_data;
  guint line;

  if (loader->open_lines->len == 0)
    return;
  line = g_array_index (loader->open_lines, guint, loader->open_lines->len - 1);
  g_array_set_size (loader->open_lines, loader->open_lines->len - 1);
  g_hash_table_insert (loader->lines, container, GUINT_TO_POINTER (line));
}

static void
remember_value_line (Loader *loader, JsonParser *parser, JsonNode *node)
{
  if (node != NULL && JSON_NODE_TYPE (node) != JSON_NODE_OBJECT &&
      JSON_NODE_TYPE (node) != JSON_NODE_ARRAY)
    g_hash_table_insert (loader->lines, node,
                         GUINT_TO_POINTER (json_parser_get_current_line (parser)));
}

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *name, gpointer user_data)
{
  remember_value_line (user_data, parser, json_object_get_member (object, name));
}

static void
on_array_element (JsonParser *parser, JsonArray *array, int index, gpointer user_data)
{
  remember_value_line (user_data, parser, json_array_get_element (array, index));
}

static guint
line_of (Loader *loader, JsonNode *node)
{
  gpointer key = node;

  if (node == NULL)
    return 0;
  if (JSON_NODE_TYPE (node) == JSON_NODE_OBJECT)
    key = json_node_get_object (node);
  else if (JSON_NODE_TYPE (node) == JSON_NODE_ARRAY)
    key = json_node_get_array (node);
  return GPOINTER_TO_UINT (g_hash_table_lookup (loader->lines, key));
}

/* "orders.json:12: node 'post', key 'with.url': not a valid URI" */
G_GNUC_PRINTF (5, 6) static void
add_problem (Loader     *loader,
             JsonNode   *where,
             const char *node_id,
             const char *key,
             const char *format,
             ...)
{
  g_autoptr(GString) text = g_string_new (loader->filename);
  g_autofree char *message = NULL;
  guint line = line_of (loader, where);
  va_list args;

  if (line > 0)
    g_string_append_printf (text, ":%u", line);
  g_string_append (text, ": ");
  if (node_id != NULL)
    g_string_append_printf (text, "node '%s'", node_id);
  if (key != NULL && *key != '\0')
    g_string_append_printf (text, "%skey '%s'", node_id != NULL ? ", " : "", key);
  if (node_id != NULL || (key != NULL && *key != '\0'))
    g_string_append (text, ": ");

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_string_append (text, message);

  g_ptr_array_add (loader->problems, g_string_free (g_steal_pointer (&text), FALSE));
}

static gboolean
is_valid_identifier (const char *text)
{
  if (text == NULL || !g_ascii_isalnum (*text))
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return strlen (text) <= 128;
}

/* Reports every member of @object not in @allowed. */
static void
check_known_keys (Loader             *loader,
                  JsonObject         *object,
                  const char         *node_id,
                  const char         *prefix,
                  const char * const *allowed)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;

      if (!g_strv_contains (allowed, name))
        {
          g_autofree char *expected = g_strjoinv (", ", (char **) allowed);
          g_autofree char *key = prefix != NULL ? g_strdup_printf ("%s.%s", prefix, name)
                                                : g_strdup (name);

          add_problem (loader, json_object_get_member (object, name), node_id, key,
                       "unknown key (expected one of: %s)", expected);
        }
    }
}

/* A string member, or NULL (with a problem added if present but not a string). */
static const char *
get_string_member (Loader     *loader,
                   JsonObject *object,
                   const char *member,
                   const char *node_id,
                   gboolean    required,
                   JsonNode   *container)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL)
    {
      if (required)
        add_problem (loader, container, node_id, member, "missing required key");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      add_problem (loader, node, node_id, member, "expected a string, got %s",
                   sluice_json_describe_type (node));
      return NULL;
    }
  return json_node_get_string (node);
}

/* Looks up and validates a component's use/with; returns the validated
 * config (defaults filled) or NULL. */
static JsonObject *
load_component (Loader                  *loader,
                JsonObject              *object,
                JsonNode                *container,
                const char              *node_id,
                const SluiceComponentKind *kinds,
                guint                    n_kinds,
                SluiceComponentFactory **out_factory)
{
  const char *use = get_string_member (loader, object, "use", node_id, TRUE, container);
  JsonNode *with = json_object_get_member (object, "with");
  SluiceComponentFactory *factory;
  g_autoptr(GPtrArray) problems = NULL;
  JsonObject *config;
  gboolean kind_ok = FALSE;

  if (with != NULL && !JSON_NODE_HOLDS_OBJECT (with))
    {
      add_problem (loader, with, node_id, "with", "expected an object, got %s",
                   sluice_json_describe_type (with));
      with = NULL;
    }
  if (use == NULL)
    return NULL;

  factory = sluice_plugin_host_lookup (loader->host, use);
  if (factory == NULL)
    {
      add_problem (loader, json_object_get_member (object, "use"), node_id, "use",
                   "unknown component '%s' (is its plugin installed? see sluiced --list-plugins)",
                   use);
      return NULL;
    }

  for (guint i = 0; i < n_kinds; i++)
    kind_ok |= sluice_component_factory_get_kind (factory) == kinds[i];
  if (!kind_ok)
    {
      add_problem (loader, json_object_get_member (object, "use"), node_id, "use",
                   "component '%s' is a %s, not a %s%s", use,
                   sluice_component_kind_to_string (sluice_component_factory_get_kind (factory)),
                   sluice_component_kind_to_string (kinds[0]),
                   n_kinds > 1 ? " or source" : "");
      return NULL;
    }

  problems = g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);
  config = sluice_schema_validate (sluice_component_factory_get_schema (factory), with, problems);
  for (guint i = 0; i < problems->len; i++)
    {
      SluiceSchemaProblem *problem = g_ptr_array_index (problems, i);
      g_autofree char *key = *problem->path != '\0' ? g_strdup_printf ("with.%s", problem->path)
                                                    : g_strdup ("with");

      add_problem (loader, problem->node != NULL ? problem->node : (with ? with : container),
                   node_id, key, "%s", problem->message);
    }
  if (config == NULL)
    return NULL;

  *out_factory = g_object_ref (factory);
  return config;
}

static void
load_trigger (Loader *loader, SluiceWorkflow *self, JsonNode *root)
{
  static const char * const allowed[] = { "use", "with", NULL };
  static const SluiceComponentKind kinds[] = { SLUICE_COMPONENT_TRIGGER };
  JsonNode *node = json_object_get_member (json_node_get_object (root), "trigger");

  if (node == NULL)
    {
      add_problem (loader, root, NULL, "trigger", "missing required key");
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      add_problem (loader, node, NULL, "trigger", "expected an object, got %s",
                   sluice_json_describe_type (node));
      return;
    }
  check_known_keys (loader, json_node_get_object (node), "trigger", NULL, allowed);
  self->trigger_config = load_component (loader, json_node_get_object (node), node, "trigger",
                                         kinds, G_N_ELEMENTS (kinds), &self->trigger_factory);
}

/* A node's "rate_limit": {"per_second": N, "burst": M}, a token bucket in
 * the state store, so that every host together keeps to it. */
static void
load_rate_limit (Loader *loader, SluiceWorkflowNode *node, JsonNode *spec)
{
  static const char * const allowed[] = { "per_second", "burst", NULL };
  JsonObject *object;
  JsonNode *rate, *burst;

  if (spec == NULL)
    return;
  if (!JSON_NODE_HOLDS_OBJECT (spec))
    {
      add_problem (loader, spec, node->id, "rate_limit", "expected an object, got %s",
                   sluice_json_describe_type (spec));
      return;
    }
  object = json_node_get_object (spec);
  check_known_keys (loader, object, node->id, "rate_limit", allowed);
  rate = json_object_get_member (object, "per_second");
  burst = json_object_get_member (object, "burst");
  if (rate == NULL || !JSON_NODE_HOLDS_VALUE (rate) ||
      (json_node_get_value_type (rate) != G_TYPE_INT64 &&
       json_node_get_value_type (rate) != G_TYPE_DOUBLE) ||
      json_node_get_double (rate) <= 0 || json_node_get_double (rate) > 1e6)
    {
      add_problem (loader, rate != NULL ? rate : spec, node->id, "rate_limit.per_second",
                   "expected a number of calls per second above 0 (at most 1000000)");
      return;
    }
  node->rate_per_second = json_node_get_double (rate);
  node->rate_burst = (guint) MAX (1.0, ceil (node->rate_per_second));
  if (burst != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (burst) || json_node_get_value_type (burst) != G_TYPE_INT64 ||
          json_node_get_int (burst) < 1 || json_node_get_int (burst) > 1000000)
        add_problem (loader, burst, node->id, "rate_limit.burst",
                     "expected a whole number of calls between 1 and 1000000");
      else
        node->rate_burst = (guint) json_node_get_int (burst);
    }
}

static void
load_steps (Loader *loader, SluiceWorkflow *self, JsonNode *root, GHashTable *by_id)
{
  static const char * const allowed[] = { "id", "use", "with", "retry", "rate_limit",
                                          "description", NULL };
  static const SluiceComponentKind kinds[] = { SLUICE_COMPONENT_STEP, SLUICE_COMPONENT_SOURCE };
  JsonNode *steps = json_object_get_member (json_node_get_object (root), "steps");
  JsonArray *array;

  if (steps == NULL)
    {
      add_problem (loader, root, NULL, "steps", "missing required key");
      return;
    }
  if (!JSON_NODE_HOLDS_ARRAY (steps) || json_array_get_length (json_node_get_array (steps)) == 0)
    {
      add_problem (loader, steps, NULL, "steps", "expected a non-empty array of steps, got %s",
                   sluice_json_describe_type (steps));
      return;
    }

  array = json_node_get_array (steps);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autofree char *label = g_strdup_printf ("steps[%u]", i);
      SluiceWorkflowNode *node;
      JsonObject *object;
      JsonNode *retry;
      const char *id;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          add_problem (loader, element, NULL, label, "expected an object, got %s",
                       sluice_json_describe_type (element));
          continue;
        }
      object = json_node_get_object (element);
      id = get_string_member (loader, object, "id", NULL, FALSE, element);
      if (id == NULL && !json_object_has_member (object, "id"))
        {
          add_problem (loader, element, NULL, label, "missing required key 'id'");
          continue;
        }
      if (id == NULL)
        continue;
      if (!is_valid_identifier (id) || g_str_equal (id, SLUICE_WORKFLOW_DEAD_LETTER) ||
          g_str_equal (id, "trigger"))
        {
          add_problem (loader, json_object_get_member (object, "id"), NULL, label,
                       "'%s' is not a valid node id (letters, digits, '-', '_', '.'; "
                       "not 'trigger' or 'dead-letter')", id);
          continue;
        }
      if (g_hash_table_contains (by_id, id))
        {
          add_problem (loader, json_object_get_member (object, "id"), id, "id",
                       "another step already has this id");
          continue;
        }

      check_known_keys (loader, object, id, NULL, allowed);

      node = g_new0 (SluiceWorkflowNode, 1);
      node->id = g_strdup (id);
      node->index = self->nodes->len;
      node->edges = g_ptr_array_new_with_free_func ((GDestroyNotify) edge_free);
      g_ptr_array_add (self->nodes, node);
      g_hash_table_insert (by_id, node->id, node);

      node->config = load_component (loader, object, element, id, kinds, G_N_ELEMENTS (kinds),
                                     &node->factory);

      retry = json_object_get_member (object, "retry");
      if (retry != NULL)
        {
          g_autoptr(GError) local_error = NULL;

          if (!JSON_NODE_HOLDS_OBJECT (retry))
            add_problem (loader, retry, id, "retry", "expected an object, got %s",
                         sluice_json_describe_type (retry));
          else if ((node->retry = sluice_retry_policy_new_from_json (json_node_get_object (retry),
                                                                    &local_error)) == NULL)
            add_problem (loader, retry, id, "retry", "%s", local_error->message);
        }
      load_rate_limit (loader, node, json_object_get_member (object, "rate_limit"));
    }
}

static gboolean
parse_edge_on (const char *text, SluiceEdgeOn *out)
{
  if (g_str_equal (text, "success"))
    *out = SLUICE_EDGE_ON_SUCCESS;
  else if (g_str_equal (text, "failure"))
    *out = SLUICE_EDGE_ON_FAILURE;
  else if (g_str_equal (text, "always"))
    *out = SLUICE_EDGE_ON_ALWAYS;
  else
    return FALSE;
  return TRUE;
}

static void
load_edges (Loader *loader, JsonNode *edges, GHashTable *by_id)
{
  static const char * const allowed[] = { "from", "to", "on", "when", NULL };
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (edges))
    {
      add_problem (loader, edges, NULL, "edges", "expected an array, got %s",
                   sluice_json_describe_type (edges));
      return;
    }

  array = json_node_get_array (edges);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autofree char *label = g_strdup_printf ("edges[%u]", i);
      SluiceWorkflowNode *from = NULL, *to = NULL;
      g_autoptr(SluicePredicate) when = NULL;
      SluiceEdgeOn on = SLUICE_EDGE_ON_SUCCESS;
      const char *from_id, *to_id, *on_text;
      JsonNode *when_node;
      JsonObject *object;
      gboolean ok = TRUE;
      SluiceWorkflowEdge *edge;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          add_problem (loader, element, NULL, label, "expected an object, got %s",
                       sluice_json_describe_type (element));
          continue;
        }
      object = json_node_get_object (element);
      check_known_keys (loader, object, NULL, label, allowed);

      from_id = get_string_member (loader, object, "from", NULL, TRUE, element);
      to_id = get_string_member (loader, object, "to", NULL, TRUE, element);
      on_text = get_string_member (loader, object, "on", NULL, FALSE, element);

      if (from_id != NULL && (from = g_hash_table_lookup (by_id, from_id)) == NULL)
        {
          add_problem (loader, json_object_get_member (object, "from"), NULL, label,
                       "edge from unknown node '%s'", from_id);
          ok = FALSE;
        }
      if (to_id != NULL && !g_str_equal (to_id, SLUICE_WORKFLOW_DEAD_LETTER) &&
          (to = g_hash_table_lookup (by_id, to_id)) == NULL)
        {
          add_problem (loader, json_object_get_member (object, "to"), NULL, label,
                       "edge to unknown node '%s'", to_id);
          ok = FALSE;
        }
      if (on_text != NULL && !parse_edge_on (on_text, &on))
        {
          add_problem (loader, json_object_get_member (object, "on"), NULL, label,
                       "'%s' is not an outcome (expected success, failure or always)", on_text);
          ok = FALSE;
        }

      when_node = json_object_get_member (object, "when");
      if (when_node != NULL)
        {
          g_autoptr(GPtrArray) problems =
            g_ptr_array_new_with_free_func ((GDestroyNotify) sluice_schema_problem_free);

          when = sluice_predicate_new (when_node, problems);
          for (guint p = 0; p < problems->len; p++)
            {
              SluiceSchemaProblem *problem = g_ptr_array_index (problems, p);
              g_autofree char *key = *problem->path != '\0'
                                       ? g_strdup_printf ("%s.when.%s", label, problem->path)
                                       : g_strdup_printf ("%s.when", label);

              add_problem (loader, problem->node != NULL ? problem->node : when_node, NULL, key,
                           "%s", problem->message);
            }
          ok &= when != NULL;
        }

      if (!ok || from == NULL || to_id == NULL)
        continue;
      if (from == to)
        {
          add_problem (loader, element, NULL, label, "edge from node '%s' to itself", from_id);
          continue;
        }

      edge = g_new0 (SluiceWorkflowEdge, 1);
      edge->to = to;
      edge->on = on;
      edge->when = g_steal_pointer (&when);
      g_ptr_array_add (from->edges, edge);
      if (to != NULL)
        to->n_incoming++;
    }
}

/* Depth-first search for a cycle; reports the first one found as a path. */
static gboolean
find_cycle (SluiceWorkflowNode *node, guint8 *colour, GPtrArray *stack)
{
  colour[node->index] = 1;
  g_ptr_array_add (stack, node);
  for (guint i = 0; i < node->edges->len; i++)
    {
      SluiceWorkflowEdge *edge = g_ptr_array_index (node->edges, i);

      if (edge->to == NULL)
        continue;
      if (colour[edge->to->index] == 1)
        {
          g_ptr_array_add (stack, edge->to);
          return TRUE;
        }
      if (colour[edge->to->index] == 0 && find_cycle (edge->to, colour, stack))
        return TRUE;
    }
  colour[node->index] = 2;
  g_ptr_array_remove_index (stack, stack->len - 1);
  return FALSE;
}

static void
check_cycles (Loader *loader, SluiceWorkflow *self, JsonNode *edges)
{
  g_autofree guint8 *colour = g_new0 (guint8, self->nodes->len);

  for (guint i = 0; i < self->nodes->len; i++)
    {
      g_autoptr(GPtrArray) stack = g_ptr_array_new ();
      g_autoptr(GString) path = NULL;
      SluiceWorkflowNode *last;

      if (colour[i] != 0 || !find_cycle (g_ptr_array_index (self->nodes, i), colour, stack))
        continue;

      /* The stack ends with the node that closes the cycle: print from its
       * first appearance. */
      last = g_ptr_array_index (stack, stack->len - 1);
      path = g_string_new (NULL);
      for (guint s = 0, in_cycle = FALSE; s < stack->len; s++)
        {
          SluiceWorkflowNode *node = g_ptr_array_index (stack, s);

          in_cycle |= node == last;
          if (in_cycle)
            g_string_append_printf (path, "%s%s", path->len > 0 ? " -> " : "", node->id);
        }
      add_problem (loader, edges, NULL, "edges", "the edges form a cycle: %s", path->str);
      return;
    }
}

static void
link_nodes (Loader *loader, SluiceWorkflow *self, JsonNode *root, GHashTable *by_id)
{
  JsonObject *object = json_node_get_object (root);
  JsonNode *edges = json_object_get_member (object, "edges");
  const char *dead_letter;

  dead_letter = get_string_member (loader, object, "dead_letter", NULL, FALSE, root);
  if (dead_letter != NULL &&
      (self->dead_letter_node = g_hash_table_lookup (by_id, dead_letter)) == NULL)
    add_problem (loader, json_object_get_member (object, "dead_letter"), NULL, "dead_letter",
                 "no step has the id '%s'", dead_letter);

  if (edges != NULL)
    {
      load_edges (loader, edges, by_id);
      check_cycles (loader, self, edges);
    }
  else
    {
      /* Without edges, steps run in the order listed (the dead-letter
       * step only receives failures). */
      SluiceWorkflowNode *previous = NULL;

      for (guint i = 0; i < self->nodes->len; i++)
        {
          SluiceWorkflowNode *node = g_ptr_array_index (self->nodes, i);
          SluiceWorkflowEdge *edge;

          if (node == self->dead_letter_node)
            continue;
          if (previous != NULL)
            {
              edge = g_new0 (SluiceWorkflowEdge, 1);
              edge->to = node;
              edge->on = SLUICE_EDGE_ON_SUCCESS;
              g_ptr_array_add (previous->edges, edge);
              node->n_incoming++;
            }
          previous = node;
        }
    }

  for (guint i = 0; i < self->nodes->len; i++)
    {
      SluiceWorkflowNode *node = g_ptr_array_index (self->nodes, i);

      if (node->n_incoming == 0 && node != self->dead_letter_node)
        g_ptr_array_add (self->entry_nodes, node);
    }
  if (self->nodes->len > 0 && self->entry_nodes->len == 0)
    add_problem (loader, edges, NULL, "edges", "no step is left for the trigger's event to enter");
}

/* An "idempotency" or "ordering" object: where the key is, plus @extra
 * (NULL-terminated) members the caller reads. */
static SluiceEventKey *
load_event_key (Loader             *loader,
                JsonObject         *workflow,
                const char         *member,
                const char * const *allowed)
{
  JsonNode *node = json_object_get_member (workflow, member);
  g_autoptr(GError) local_error = NULL;
  SluiceEventKey *key;

  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      add_problem (loader, node, NULL, member, "expected an object, got %s",
                   sluice_json_describe_type (node));
      return NULL;
    }
  check_known_keys (loader, json_node_get_object (node), NULL, member, allowed);
  key = sluice_event_key_new (json_node_get_object (node), &local_error);
  if (key == NULL)
    add_problem (loader, node, NULL, member, "%s", local_error->message);
  return key;
}

/* Delivery controls, valid for every trigger: retries of a failed run,
 * the most deliveries an event may have, duplicate suppression and
 * per-key ordering. */
static void
load_delivery_controls (Loader *loader, SluiceWorkflow *self, JsonObject *object)
{
  static const char * const idempotency_keys[] = { "header", "field", "ttl", NULL };
  static const char * const ordering_keys[] = { "header", "field", NULL };
  g_autoptr(GError) local_error = NULL;
  JsonNode *node;

  node = json_object_get_member (object, "retry");
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        add_problem (loader, node, NULL, "retry", "expected an object, got %s",
                     sluice_json_describe_type (node));
      else if ((self->retry = sluice_retry_policy_new_from_json (json_node_get_object (node),
                                                                 &local_error)) == NULL)
        add_problem (loader, node, NULL, "retry", "%s", local_error->message);
    }

  node = json_object_get_member (object, "max_deliveries");
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        add_problem (loader, node, NULL, "max_deliveries", "expected an integer, got %s",
                     sluice_json_describe_type (node));
      else if (json_node_get_int (node) < 0 || json_node_get_int (node) > G_MAXINT)
        add_problem (loader, node, NULL, "max_deliveries", "must be 0 (no limit) or more");
      else
        self->max_deliveries = (guint) json_node_get_int (node);
    }

  self->idempotency_key = load_event_key (loader, object, "idempotency", idempotency_keys);
  node = json_object_get_member (object, "idempotency");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node) &&
      json_object_has_member (json_node_get_object (node), "ttl"))
    {
      JsonNode *ttl = json_object_get_member (json_node_get_object (node), "ttl");
      g_autoptr(GError) ttl_error = NULL;

      if (!JSON_NODE_HOLDS_VALUE (ttl) || json_node_get_value_type (ttl) != G_TYPE_STRING)
        add_problem (loader, ttl, NULL, "idempotency.ttl", "expected a duration, got %s",
                     sluice_json_describe_type (ttl));
      else if (!sluice_parse_duration (json_node_get_string (ttl), &self->idempotency_ttl_usec,
                                       &ttl_error))
        add_problem (loader, ttl, NULL, "idempotency.ttl", "%s", ttl_error->message);
      else if (self->idempotency_ttl_usec < G_TIME_SPAN_SECOND)
        add_problem (loader, ttl, NULL, "idempotency.ttl", "must be at least 1s");
    }

  self->ordering_key = load_event_key (loader, object, "ordering", ordering_keys);
}

static void
load_settings (Loader *loader, SluiceWorkflow *self, JsonNode *root)
{
  static const char * const allowed[] = { "name", "description", "enabled", "trigger",
                                          "concurrency", "steps", "edges", "dead_letter",
                                          "retry", "max_deliveries", "idempotency", "ordering",
                                          NULL };
  JsonObject *object = json_node_get_object (root);
  JsonNode *node;
  const char *name;

  check_known_keys (loader, object, NULL, NULL, allowed);

  name = get_string_member (loader, object, "name", NULL, FALSE, root);
  if (name != NULL && !is_valid_identifier (name))
    add_problem (loader, json_object_get_member (object, "name"), NULL, "name",
                 "'%s' is not a valid workflow name (letters, digits, '-', '_', '.')", name);
  else if (name != NULL)
    {
      g_free (self->name);
      self->name = g_strdup (name);
    }

  self->description = g_strdup (get_string_member (loader, object, "description", NULL, FALSE,
                                                   root));

  node = json_object_get_member (object, "enabled");
  if (node != NULL)
    {
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        self->enabled = json_node_get_boolean (node);
      else
        add_problem (loader, node, NULL, "enabled", "expected a boolean, got %s",
                     sluice_json_describe_type (node));
    }

  node = json_object_get_member (object, "concurrency");
  if (node != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        add_problem (loader, node, NULL, "concurrency", "expected an integer, got %s",
                     sluice_json_describe_type (node));
      else if (json_node_get_int (node) < 1 || json_node_get_int (node) > MAX_CONCURRENCY)
        add_problem (loader, node, NULL, "concurrency", "must be between 1 and %d",
                     MAX_CONCURRENCY);
      else
        self->concurrency = (guint) json_node_get_int (node);
    }

  load_delivery_controls (loader, self, object);
}

static char *
default_name_for (const char *filename)
{
  g_autofree char *base = g_path_get_basename (filename);

  if (g_str_has_suffix (base, ".json"))
    base[strlen (base) - strlen (".json")] = '\0';
  return g_steal_pointer (&base);
}

SluiceWorkflow *
sluice_workflow_load_data (SluicePluginHost *host,
                           const char       *data,
                           gssize            length,
                           const char       *filename,
                           GError          **error)
{
  g_autoptr(SluiceWorkflow) self = NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GHashTable) lines = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) open_lines = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) parse_error = NULL;
  Loader loader = { host, filename, lines, open_lines, problems };
  JsonNode *root;

  g_return_val_if_fail (SLUICE_IS_PLUGIN_HOST (host), NULL);
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (filename != NULL, NULL);

  g_signal_connect (parser, "object-start", G_CALLBACK (on_container_start), &loader);
  g_signal_connect (parser, "array-start", G_CALLBACK (on_container_start), &loader);
  g_signal_connect (parser, "object-end", G_CALLBACK (on_container_end), &loader);
  g_signal_connect (parser, "array-end", G_CALLBACK (on_container_end), &loader);
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &loader);
  g_signal_connect (parser, "array-element", G_CALLBACK (on_array_element), &loader);

  if (!json_parser_load_from_data (parser, data, length, &parse_error))
    {
      /* json-glib names the input "<data>:LINE:COL: ..."; name the file. */
      const char *message = parse_error->message;

      if (g_str_has_prefix (message, "<data>:"))
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s:%s", filename,
                     message + strlen ("<data>:"));
      else
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s: %s", filename,
                     message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: a workflow is a JSON object, got %s",
                   filename, sluice_json_describe_type (root));
      return NULL;
    }

  self = g_object_new (SLUICE_TYPE_WORKFLOW, NULL);
  self->path = g_strdup (filename);
  self->name = default_name_for (filename);

  load_settings (&loader, self, root);
  load_trigger (&loader, self, root);
  load_steps (&loader, self, root, by_id);
  link_nodes (&loader, self, root, by_id);

  if (problems->len > 0)
    {
      g_autofree char *joined = NULL;

      g_ptr_array_add (problems, NULL);
      joined = g_strjoinv ("\n", (char **) problems->pdata);
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, joined);
      return NULL;
    }

  return g_steal_pointer (&self);
}

SluiceWorkflow *
sluice_workflow_load_file (SluicePluginHost *host, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;
  g_autoptr(GError) local_error = NULL;

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND, "%s: %s", path,
                   local_error->message);
      return NULL;
    }
  return sluice_workflow_load_data (host, data, (gssize) length, path, error);
}

const char *
sluice_workflow_get_name (SluiceWorkflow *self)
{
  return self->name;
}

const char *
sluice_workflow_get_path (SluiceWorkflow *self)
{
  return self->path;
}

const char *
sluice_workflow_get_description (SluiceWorkflow *self)
{
  return self->description;
}

gboolean
sluice_workflow_get_enabled (SluiceWorkflow *self)
{
  return self->enabled;
}

guint
sluice_workflow_get_concurrency (SluiceWorkflow *self)
{
  return self->concurrency;
}

SluiceComponentFactory *
sluice_workflow_get_trigger_factory (SluiceWorkflow *self)
{
  return self->trigger_factory;
}

JsonObject *
sluice_workflow_get_trigger_config (SluiceWorkflow *self)
{
  return self->trigger_config;
}

GPtrArray *
sluice_workflow_get_nodes (SluiceWorkflow *self)
{
  return self->nodes;
}

SluiceWorkflowNode *
sluice_workflow_lookup_node (SluiceWorkflow *self, const char *id)
{
  for (guint i = 0; i < self->nodes->len; i++)
    {
      SluiceWorkflowNode *node = g_ptr_array_index (self->nodes, i);

      if (g_str_equal (node->id, id))
        return node;
    }
  return NULL;
}

GPtrArray *
sluice_workflow_get_entry_nodes (SluiceWorkflow *self)
{
  return self->entry_nodes;
}

SluiceRetryPolicy *
sluice_workflow_get_retry (SluiceWorkflow *self)
{
  return self->retry;
}

guint
sluice_workflow_get_max_deliveries (SluiceWorkflow *self)
{
  return self->max_deliveries;
}

SluiceEventKey *
sluice_workflow_get_idempotency_key (SluiceWorkflow *self,
                                     gint64         *out_ttl_usec)
{
  if (out_ttl_usec != NULL)
    *out_ttl_usec = self->idempotency_ttl_usec;
  return self->idempotency_key;
}

SluiceEventKey *
sluice_workflow_get_ordering_key (SluiceWorkflow *self)
{
  return self->ordering_key;
}

SluiceWorkflowNode *
sluice_workflow_get_dead_letter_node (SluiceWorkflow *self)
{
  return self->dead_letter_node;
}
