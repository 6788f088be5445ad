/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>
#include <sluice/sluice-context.h>

G_BEGIN_DECLS

/**
 * SluiceComponentKind:
 * @SLUICE_COMPONENT_TRIGGER: implements #SluiceTrigger
 * @SLUICE_COMPONENT_STEP: implements #SluiceStep
 * @SLUICE_COMPONENT_SOURCE: implements #SluiceSource
 * @SLUICE_COMPONENT_BATCH_STORE: implements #SluiceBatchStore
 * @SLUICE_COMPONENT_STATE_STORE: implements #SluiceStateStore
 * @SLUICE_COMPONENT_DEAD_LETTER_STORE: implements #SluiceDeadLetterStore
 *
 * Which SDK interface a component implements.
 */
typedef enum {
  SLUICE_COMPONENT_TRIGGER,
  SLUICE_COMPONENT_STEP,
  SLUICE_COMPONENT_SOURCE,
  SLUICE_COMPONENT_BATCH_STORE,
  SLUICE_COMPONENT_STATE_STORE,
  SLUICE_COMPONENT_DEAD_LETTER_STORE,
} SluiceComponentKind;

SLUICE_API const char *sluice_component_kind_to_string (SluiceComponentKind kind);

#define SLUICE_TYPE_COMPONENT_FACTORY (sluice_component_factory_get_type ())
SLUICE_API G_DECLARE_FINAL_TYPE (SluiceComponentFactory, sluice_component_factory, SLUICE, COMPONENT_FACTORY, GObject)

SLUICE_API const char *sluice_component_factory_get_name (SluiceComponentFactory *self);
SLUICE_API const char *sluice_component_factory_get_plugin_name (SluiceComponentFactory *self);
SLUICE_API const char *sluice_component_factory_get_description (SluiceComponentFactory *self);
SLUICE_API GType sluice_component_factory_get_instance_type (SluiceComponentFactory *self);
SLUICE_API SluiceComponentKind sluice_component_factory_get_kind (SluiceComponentFactory *self);
SLUICE_API JsonNode *sluice_component_factory_get_schema (SluiceComponentFactory *self);
SLUICE_API GObject *sluice_component_factory_create (SluiceComponentFactory *self,
                                                     SluiceContext          *context,
                                                     JsonObject             *config,
                                                     GError                **error) G_GNUC_WARN_UNUSED_RESULT;

SLUICE_API JsonObject *sluice_component_get_config (gpointer instance);
SLUICE_API SluiceContext *sluice_component_get_context (gpointer instance);

G_END_DECLS
