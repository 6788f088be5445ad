/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* Where a workflow's delivery controls find an event's key (idempotency,
 * ordering), written like a predicate's operand:
 *   {"header": "X-Delivery-Id"}   a message header
 *   {"field": "$.order.id"}       a JSONPath into the JSON body */
typedef struct _SluiceEventKey SluiceEventKey;

/* Reads "header" or "field" from @object (other members are the caller's).
 * On error returns NULL with a SLUICE_ERROR_INVALID_CONFIG error naming
 * what is wrong. */
SluiceEventKey *sluice_event_key_new (JsonObject *object,
                                      GError    **error);
void sluice_event_key_free (SluiceEventKey *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceEventKey, sluice_event_key_free)

/* "header X-Delivery-Id" or "field $.order.id", for messages. */
const char *sluice_event_key_describe (SluiceEventKey *self);

/* The key of @message: the header's value, or the field's value (strings
 * as they are, numbers and booleans in their JSON form, objects and arrays
 * as compact JSON). NULL when the header or field is absent, or the body
 * is not JSON; a streamed body is never read. */
char *sluice_event_key_evaluate (SluiceEventKey *self,
                                 SluiceMessage  *message);

G_END_DECLS
