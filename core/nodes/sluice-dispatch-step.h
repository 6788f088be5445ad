/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-batch-manager.h"

G_BEGIN_DECLS

/* core.dispatch: placed after a batch node, sends each batch record it
 * gets to a queue through the step named in "send" (a plugin's component,
 * e.g. redis.stream.send), with headers naming the batch, the record and
 * the worker that claimed it. The record then stays processing under its
 * lease: the batch manager settles it when the event workflow that
 * receives the message finishes with it. Emits nothing downstream. */
#define SLUICE_TYPE_DISPATCH_STEP (sluice_dispatch_step_get_type ())
G_DECLARE_FINAL_TYPE (SluiceDispatchStep, sluice_dispatch_step, SLUICE, DISPATCH_STEP, GObject)

extern const char sluice_dispatch_step_schema[];

/* A dispatch step made in code rather than from a workflow node (what a
 * batch node's "auto_process" sends its records through). @send is
 * {"use": COMPONENT, "with": {...}}; @context names it in messages. */
SluiceDispatchStep *sluice_dispatch_step_new (SluiceContext      *context,
                                              SluiceBatchManager *manager,
                                              JsonObject         *send,
                                              GError            **error);

G_END_DECLS
