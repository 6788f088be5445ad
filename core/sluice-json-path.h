/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A compiled JSONPath expression, as written in map fields and predicate
 * conditions: $, .name, ['name'], [n] (negative counts from the end),
 * [a,b,c], [start:end:step], .* / [*] and ..name. */
typedef struct _SluiceJsonPath SluiceJsonPath;

/* Compiles @expression. On error returns NULL with a SLUICE_ERROR_INVALID_CONFIG
 * error that names the expression and what is wrong with it:
 * "'$.a[' is not a valid JSONPath (unterminated ['name'] subscript)". */
SluiceJsonPath *sluice_json_path_new (const char *expression,
                                      GError    **error);
void sluice_json_path_free (SluiceJsonPath *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceJsonPath, sluice_json_path_free)

/* The first node under @root that @self matches, in document order, or
 * NULL when it matches nothing. Borrowed from @root's tree. */
JsonNode *sluice_json_path_first (SluiceJsonPath *self,
                                  JsonNode       *root);

G_END_DECLS
