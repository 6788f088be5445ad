/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* Presents a SluiceSource's pages as a SluiceMessageIter, so the engine
 * pulls records from a source exactly as it pulls a step's output. Each
 * record joins the run of @input, the message that opened the source: it
 * gets its run header and, lacking a trace of its own, its trace. */
#define SLUICE_TYPE_SOURCE_ITER (sluice_source_iter_get_type ())
G_DECLARE_FINAL_TYPE (SluiceSourceIter, sluice_source_iter, SLUICE, SOURCE_ITER, SluiceMessageIter)

SluiceMessageIter *sluice_source_iter_new (SluiceSource  *source,
                                           SluiceMessage *input);

G_END_DECLS
