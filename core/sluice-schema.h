/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The JSON Schema subset that component configurations are described in:
 * "type" (string, integer, number, boolean, object, array, or a list of
 * those), "properties", "required", "additionalProperties" (false unless
 * given as true), "enum", "minimum", "maximum", "minLength", "minItems",
 * "items", "default", "description", and "format": "duration" (checked
 * with sluice_parse_duration()) / "uri". */

/* One thing wrong in a configuration. */
typedef struct {
  char     *path;    /* dotted key path from the config root ("retry.attempts", "headers[2]"); "" for the root */
  char     *message; /* what is wrong, e.g. "expected an integer, got a string" */
  JsonNode *node;    /* borrowed: the offending value, or the object lacking a required key;
                      * NULL when the whole config was absent */
} SluiceSchemaProblem;

void sluice_schema_problem_free (SluiceSchemaProblem *problem);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceSchemaProblem, sluice_schema_problem_free)

/* Appends a new SluiceSchemaProblem to @problems, for the checkers of
 * configuration written as JSON (schemas, map fields, predicates). */
void sluice_schema_problem_add (GPtrArray  *problems,
                                const char *path,
                                JsonNode   *node,
                                const char *format,
                                ...) G_GNUC_PRINTF (4, 5);

/* The problem path of @key below @path: "retry.attempts", or just @key
 * at the root (""). */
char *sluice_schema_child_path (const char *path,
                                const char *key);

/* What error messages call the type of @node: "an object", "an array",
 * "null", "a string", "a boolean", "an integer", "a number", or "nothing"
 * for a missing (NULL) node. */
const char *sluice_json_describe_type (JsonNode *node);

/* Whether @node holds a number (an integer or a double), or a string. */
gboolean sluice_json_is_number (JsonNode *node);
gboolean sluice_json_is_string (JsonNode *node);

/* A new tree that shares no container with @node, unlike json_node_copy(). */
JsonNode *sluice_json_deep_copy (JsonNode *node);

/* Checks that @schema uses only the supported subset and is well formed. */
gboolean sluice_schema_check (JsonNode *schema,
                              GError  **error);

/* Validates @config (may be NULL: treated as {}) against @schema. Appends a
 * SluiceSchemaProblem to @problems (element free func set by the caller to
 * sluice_schema_problem_free) for every problem found, not just the first.
 * Returns a new object: a deep copy of @config with the schema's defaults
 * filled in, or NULL when any problem was found. */
JsonObject *sluice_schema_validate (JsonNode  *schema,
                                    JsonNode  *config,
                                    GPtrArray *problems);

G_END_DECLS
