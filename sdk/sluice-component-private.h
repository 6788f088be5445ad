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

G_END_DECLS
