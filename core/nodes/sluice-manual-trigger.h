/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* core.manual: emits an event whenever the host fires it (an operator's
 * trigger request, `sluiced --run`). */
#define SLUICE_TYPE_MANUAL_TRIGGER (sluice_manual_trigger_get_type ())
G_DECLARE_FINAL_TYPE (SluiceManualTrigger, sluice_manual_trigger, SLUICE, MANUAL_TRIGGER, GObject)

extern const char sluice_manual_trigger_schema[];

void sluice_manual_trigger_fire (SluiceManualTrigger *self,
                                 SluiceEvent         *event);

G_END_DECLS
