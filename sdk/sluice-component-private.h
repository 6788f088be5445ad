/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* Made only by sluice_plugin_add_component(), which has checked the
 * arguments. Takes a reference on @schema. */
G_GNUC_INTERNAL
SluiceComponentFactory *sluice_component_factory_new_internal (const char         *name,
                                                               const char         *plugin_name,
                                                               const char         *description,
                                                               GType               type,
                                                               SluiceComponentKind kind,
                                                               JsonNode           *schema);

/* For the async wrappers of the SDK's interfaces: an implementation left
 * @vfunc ("SluiceStateStore.get_async()") unset. Says so loudly and fails
 * the call with %SLUICE_ERROR_PLUGIN, reported through @callback. */
G_GNUC_INTERNAL
void sluice_report_missing_vfunc (gpointer            self,
                                  const char         *vfunc,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data,
                                  gpointer            source_tag);

G_END_DECLS
