/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sluice/sluice-clock.h>
#include <sluice/sluice-message.h>
#include <sluice/sluice-state-store.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_CONTEXT (sluice_context_get_type ())
SLUICE_API G_DECLARE_FINAL_TYPE (SluiceContext, sluice_context, SLUICE, CONTEXT, GObject)

SLUICE_API SluiceContext *sluice_context_new (const char       *name,
                                              SluiceClock      *clock,
                                              SluiceStateStore *state_store);
SLUICE_API SluiceContext *sluice_context_new_child (SluiceContext *parent,
                                                    const char    *name);

SLUICE_API const char *sluice_context_get_name (SluiceContext *self);
SLUICE_API SluiceClock *sluice_context_get_clock (SluiceContext *self);
SLUICE_API SluiceStateStore *sluice_context_get_state_store (SluiceContext *self);

SLUICE_API void sluice_context_set_connections (SluiceContext *self,
                                                JsonObject    *connections);
SLUICE_API void sluice_context_set_credentials_directory (SluiceContext *self,
                                                          const char    *path);
SLUICE_API JsonObject *sluice_context_get_connection (SluiceContext *self,
                                                      const char    *name,
                                                      GError       **error);
SLUICE_API GBytes *sluice_context_get_secret (SluiceContext *self,
                                              const char    *connection,
                                              const char    *key,
                                              GError       **error);
SLUICE_API GBytes *sluice_context_resolve_secret (SluiceContext *self,
                                                  JsonNode      *reference,
                                                  const char    *what,
                                                  GError       **error);

SLUICE_API void sluice_log (SluiceContext *context,
                            SluiceMessage *message,
                            GLogLevelFlags level,
                            const char    *format,
                            ...) G_GNUC_PRINTF (4, 5);

G_END_DECLS
