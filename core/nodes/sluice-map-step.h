/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* core.map: builds a new JSON body from the input's fields. */
#define SLUICE_TYPE_MAP_STEP (sluice_map_step_get_type ())
G_DECLARE_FINAL_TYPE (SluiceMapStep, sluice_map_step, SLUICE, MAP_STEP, GObject)

extern const char sluice_map_step_schema[];

G_END_DECLS
