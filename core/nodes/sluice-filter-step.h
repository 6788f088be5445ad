/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* core.filter: passes a message on when its predicate holds, else emits
 * nothing. */
#define SLUICE_TYPE_FILTER_STEP (sluice_filter_step_get_type ())
G_DECLARE_FINAL_TYPE (SluiceFilterStep, sluice_filter_step, SLUICE, FILTER_STEP, GObject)

extern const char sluice_filter_step_schema[];

G_END_DECLS
