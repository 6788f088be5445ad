/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>
#include "sluice-schema.h"

G_BEGIN_DECLS

/* A condition over a message, written as JSON, used by edge "when" clauses
 * and the filter node:
 *   {"field": "$.status", "equals": "paid"}        JSONPath into the body
 *   {"header": "X-Kind", "equals": "order"}
 *   {"field": "$.total", "gt": 100}  (gt, ge, lt, le: numbers)
 *   {"field": "$.email", "matches": "@example\\.com$"}  (GRegex)
 *   {"field": "$.id", "exists": true}
 *   {"field": "$.kind", "in": ["a", "b"]}
 *   {"all": [...]}, {"any": [...]}, {"not": {...}} */
typedef struct _SluicePredicate SluicePredicate;

/* Parses @spec. On error appends SluiceSchemaProblem entries (path relative
 * to @spec) to @problems and returns NULL. */
SluicePredicate *sluice_predicate_new (JsonNode  *spec,
                                       GPtrArray *problems);
void sluice_predicate_free (SluicePredicate *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluicePredicate, sluice_predicate_free)

/* TRUE when @message satisfies the condition. A body that is not JSON, or
 * a field that is absent, makes a field comparison false (not an error);
 * a streamed body is never read. */
gboolean sluice_predicate_evaluate (SluicePredicate *self,
                                    SluiceMessage   *message);

G_END_DECLS
