/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* Fan-out: one trigger event handed to several workflows. Each subscriber
 * gets a child event with its own copy of the message (runs set headers on
 * it). The parent is settled once every child is: acked when each child
 * was acked or dead-lettered (every subscriber finished with it), handed
 * back when any child was handed back (the source delivers it again, to
 * all of them). A dead-lettered child is recorded by the engine for its
 * own workflow. */
#define SLUICE_TYPE_FANOUT_EVENT (sluice_fanout_event_get_type ())
G_DECLARE_FINAL_TYPE (SluiceFanoutEvent, sluice_fanout_event, SLUICE, FANOUT_EVENT, SluiceEvent)

/* @n_children child events of @parent, in subscriber order. A streamed
 * body cannot be read twice: only the first child gets it, the others get
 * a message without a body and fail with a clear error when run (see
 * sluice_fanout_event_get_error()). */
GPtrArray *sluice_fanout_event_split (SluiceEvent *parent,
                                      guint        n_children);

/* Why this child cannot run (its parent's body is a stream that went to
 * the first subscriber), or NULL. */
const GError *sluice_fanout_event_get_error (SluiceFanoutEvent *self);

G_END_DECLS
