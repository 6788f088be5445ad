/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* core.split: one input message (bytes or stream) in, one message per
 * record out, read lazily as the engine pulls. */
#define SLUICE_TYPE_SPLIT_STEP (sluice_split_step_get_type ())
G_DECLARE_FINAL_TYPE (SluiceSplitStep, sluice_split_step, SLUICE, SPLIT_STEP, GObject)

extern const char sluice_split_step_schema[];

G_END_DECLS
