/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* The "core" plugin linked into sluiced: core.manual, core.split,
 * core.map, core.filter. */
const SluicePluginDescriptor *sluice_builtins_get_descriptor (void);

G_END_DECLS
