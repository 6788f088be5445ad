/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sluice/sluice-version.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_MESSAGE (sluice_message_get_type ())
SLUICE_API G_DECLARE_FINAL_TYPE (SluiceMessage, sluice_message, SLUICE, MESSAGE, GObject)

SLUICE_API SluiceMessage *sluice_message_new (void);
SLUICE_API SluiceMessage *sluice_message_new_bytes (GBytes     *body,
                                                    const char *content_type);
SLUICE_API SluiceMessage *sluice_message_new_take_string (char       *body,
                                                          const char *content_type);
SLUICE_API SluiceMessage *sluice_message_new_stream (GInputStream *stream,
                                                     gint64        length,
                                                     const char   *content_type);
SLUICE_API SluiceMessage *sluice_message_new_json (JsonNode *node);
SLUICE_API SluiceMessage *sluice_message_new_child (SluiceMessage *parent);

SLUICE_API const char *sluice_message_get_id (SluiceMessage *self);
SLUICE_API void sluice_message_set_id (SluiceMessage *self,
                                       const char    *id);

SLUICE_API const char *sluice_message_get_content_type (SluiceMessage *self);
SLUICE_API void sluice_message_set_content_type (SluiceMessage *self,
                                                 const char    *content_type);

SLUICE_API gboolean sluice_message_is_streamed (SluiceMessage *self);
SLUICE_API gint64 sluice_message_get_length (SluiceMessage *self);
SLUICE_API GBytes *sluice_message_get_bytes (SluiceMessage *self);
SLUICE_API GInputStream *sluice_message_get_stream (SluiceMessage *self);
SLUICE_API GInputStream *sluice_message_open_body (SluiceMessage *self) G_GNUC_WARN_UNUSED_RESULT;
SLUICE_API void sluice_message_set_bytes (SluiceMessage *self,
                                          GBytes        *body);
SLUICE_API void sluice_message_set_stream (SluiceMessage *self,
                                           GInputStream  *stream,
                                           gint64         length);

SLUICE_API JsonNode *sluice_message_get_json (SluiceMessage *self,
                                              GError       **error);
SLUICE_API void sluice_message_set_json (SluiceMessage *self,
                                         JsonNode      *node);

SLUICE_API const char *sluice_message_get_header (SluiceMessage *self,
                                                  const char    *name);
SLUICE_API void sluice_message_set_header (SluiceMessage *self,
                                           const char    *name,
                                           const char    *value);
SLUICE_API gboolean sluice_message_remove_header (SluiceMessage *self,
                                                  const char    *name);
SLUICE_API GHashTable *sluice_message_get_headers (SluiceMessage *self);

SLUICE_API guint sluice_message_get_attempt (SluiceMessage *self);
SLUICE_API void sluice_message_set_attempt (SluiceMessage *self,
                                            guint          attempt);

SLUICE_API const char *sluice_message_get_traceparent (SluiceMessage *self);
SLUICE_API gboolean sluice_message_set_traceparent (SluiceMessage *self,
                                                    const char    *traceparent);
SLUICE_API const char *sluice_message_ensure_traceparent (SluiceMessage *self);
SLUICE_API char *sluice_message_dup_trace_id (SluiceMessage *self) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
