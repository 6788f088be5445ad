/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-engine.h"

G_BEGIN_DECLS

/* The operator's view of dead letters, whatever trigger they came from:
 * list with filters, inspect one, replay one, many or all that match a
 * filter, purge. What the D-Bus API publishes.
 *
 * A replay runs the dead letter's workflow again on its payload and
 * headers; the dead letter stays in the store until that run is acked (a
 * replay that fails again updates the same dead letter), so a crash during
 * a replay loses nothing. */
/* The dead letter of an event's @message that @workflow gave up on:
 * payload (when the body is in memory), content type, headers (with the
 * message id among them, see SLUICE_DEAD_LETTER_MESSAGE_ID), trace id,
 * the failing @node (or NULL), the @error, @attempts and the time. With
 * @replayed (the dead letter a replay came from), its id and first time
 * are kept; else a new id is made. */
SluiceDeadLetter *sluice_dead_letter_new_for_event (const char             *workflow,
                                                    SluiceMessage          *message,
                                                    const SluiceDeadLetter *replayed,
                                                    const char             *source,
                                                    const char             *node,
                                                    const GError           *error,
                                                    guint                   attempts,
                                                    gint64                  now_usec);

#define SLUICE_TYPE_DEAD_LETTERS (sluice_dead_letters_get_type ())
G_DECLARE_FINAL_TYPE (SluiceDeadLetters, sluice_dead_letters, SLUICE, DEAD_LETTERS, GObject)

SluiceDeadLetters *sluice_dead_letters_new (SluiceDeadLetterStore *store,
                                            SluiceEngine          *engine);

SluiceDeadLetterStore *sluice_dead_letters_get_store (SluiceDeadLetters *self);

void sluice_dead_letters_list_async (SluiceDeadLetters            *self,
                                     const SluiceDeadLetterFilter *filter,
                                     guint64                       offset,
                                     guint                         limit,
                                     GCancellable                 *cancellable,
                                     GAsyncReadyCallback           callback,
                                     gpointer                      user_data);
/* SluiceDeadLetter, oldest first. */
GPtrArray *sluice_dead_letters_list_finish (SluiceDeadLetters *self,
                                            GAsyncResult      *result,
                                            GError           **error);

void sluice_dead_letters_get_async (SluiceDeadLetters  *self,
                                    const char         *id,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);
SluiceDeadLetter *sluice_dead_letters_get_finish (SluiceDeadLetters *self,
                                                  GAsyncResult      *result,
                                                  GError           **error);

/* Replays the dead letters named in @ids, or, with @ids NULL, every one
 * matching @filter (NULL: all) at the time of the call. Completes once all
 * are queued in the engine (not once they ran): *out_replayed counts them.
 * One that cannot be replayed (its workflow is not loaded here, it kept
 * no payload) is skipped and counted in *out_skipped, with the first
 * reason as the error of a partial success (see
 * sluice_dead_letters_replay_finish()). */
void sluice_dead_letters_replay_async (SluiceDeadLetters            *self,
                                       const char * const           *ids,
                                       const SluiceDeadLetterFilter *filter,
                                       GCancellable                 *cancellable,
                                       GAsyncReadyCallback           callback,
                                       gpointer                      user_data);
/* Returns FALSE only when nothing could be listed or fetched; skipped ones
 * are reported through @out_skipped and @out_first_skip_reason. */
gboolean sluice_dead_letters_replay_finish (SluiceDeadLetters *self,
                                           GAsyncResult      *result,
                                           guint64           *out_replayed,
                                           guint64           *out_skipped,
                                           char             **out_first_skip_reason,
                                           GError           **error);

/* Removes the dead letters named in @ids, or every one matching @filter. */
void sluice_dead_letters_purge_async (SluiceDeadLetters            *self,
                                      const char * const           *ids,
                                      const SluiceDeadLetterFilter *filter,
                                      GCancellable                 *cancellable,
                                      GAsyncReadyCallback           callback,
                                      gpointer                      user_data);
gboolean sluice_dead_letters_purge_finish (SluiceDeadLetters *self,
                                           GAsyncResult      *result,
                                           guint64           *out_removed,
                                           GError           **error);

G_END_DECLS
