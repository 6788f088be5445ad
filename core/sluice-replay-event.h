/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* A dead letter run again. Its message is rebuilt from the dead letter
 * (payload, content type, headers, trace). Acked: the dead letter is
 * removed from @store. Dead-lettered again: the engine updates the same
 * dead letter (one more attempt, new error and time). Handed back: it stays
 * where it is, to be replayed later. */
/* Among a dead letter's headers: the id of the message, given back to it
 * on replay. */
#define SLUICE_DEAD_LETTER_MESSAGE_ID "sluice-message-id"

#define SLUICE_TYPE_REPLAY_EVENT (sluice_replay_event_get_type ())
G_DECLARE_FINAL_TYPE (SluiceReplayEvent, sluice_replay_event, SLUICE, REPLAY_EVENT, SluiceEvent)

SluiceEvent *sluice_replay_event_new (SluiceDeadLetterStore  *store,
                                      const SluiceDeadLetter *letter);

const SluiceDeadLetter *sluice_replay_event_get_letter (SluiceReplayEvent *self);

G_END_DECLS
