/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <sluice/sluice-message.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_EVENT (sluice_event_get_type ())
SLUICE_API G_DECLARE_DERIVABLE_TYPE (SluiceEvent, sluice_event, SLUICE, EVENT, GObject)

/**
 * SluiceEventOutcome:
 * @SLUICE_EVENT_PENDING: not settled yet
 * @SLUICE_EVENT_ACKED: the workflow finished with it
 * @SLUICE_EVENT_RETRY: handed back to its source for a later redelivery
 * @SLUICE_EVENT_DEAD_LETTERED: given up on, with an error
 *
 * How an event was settled.
 */
typedef enum {
  SLUICE_EVENT_PENDING,
  SLUICE_EVENT_ACKED,
  SLUICE_EVENT_RETRY,
  SLUICE_EVENT_DEAD_LETTERED,
} SluiceEventOutcome;

/**
 * SluiceEventClass:
 * @parent_class: the parent class
 * @ack_async: acknowledge to the source (a broker's accept, moving a file
 *   to processed/)
 * @ack_finish: finishes @ack_async
 * @retry_async: hand the event back to the source so it is delivered again
 *   no sooner than after the delay
 * @retry_finish: finishes @retry_async
 * @dead_letter_async: move the event to the source's dead-letter place,
 *   with the error that made the workflow give up
 * @dead_letter_finish: finishes @dead_letter_async
 *
 * An event is a message and the handle that settles it with its source.
 * Triggers whose source needs settling subclass #SluiceEvent; the base
 * class settles successfully without doing anything, which fits sources
 * that have nothing to acknowledge (timers, manual runs).
 *
 * The engine settles each event exactly once, and only after the workflow
 * has finished with it.
 */
struct _SluiceEventClass
{
  GObjectClass parent_class;

  void     (*ack_async)          (SluiceEvent        *self,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data);
  gboolean (*ack_finish)         (SluiceEvent  *self,
                                  GAsyncResult *result,
                                  GError      **error);
  void     (*retry_async)        (SluiceEvent        *self,
                                  gint64              delay_usec,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data);
  gboolean (*retry_finish)       (SluiceEvent  *self,
                                  GAsyncResult *result,
                                  GError      **error);
  void     (*dead_letter_async)  (SluiceEvent        *self,
                                  const GError       *reason,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data);
  gboolean (*dead_letter_finish) (SluiceEvent  *self,
                                  GAsyncResult *result,
                                  GError      **error);

  /*< private >*/
  gpointer padding[12];
};

SLUICE_API SluiceEvent *sluice_event_new (SluiceMessage *message);
SLUICE_API SluiceMessage *sluice_event_get_message (SluiceEvent *self);
SLUICE_API SluiceEventOutcome sluice_event_get_outcome (SluiceEvent *self);
SLUICE_API SluiceMessage *sluice_event_get_reply (SluiceEvent *self);
SLUICE_API void sluice_event_set_reply (SluiceEvent   *self,
                                        SluiceMessage *reply);

SLUICE_API void sluice_event_ack_async (SluiceEvent        *self,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data);
SLUICE_API gboolean sluice_event_ack_finish (SluiceEvent  *self,
                                             GAsyncResult *result,
                                             GError      **error);
SLUICE_API void sluice_event_retry_async (SluiceEvent        *self,
                                          gint64              delay_usec,
                                          GCancellable       *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer            user_data);
SLUICE_API gboolean sluice_event_retry_finish (SluiceEvent  *self,
                                               GAsyncResult *result,
                                               GError      **error);
SLUICE_API void sluice_event_dead_letter_async (SluiceEvent        *self,
                                                const GError       *reason,
                                                GCancellable       *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer            user_data);
SLUICE_API gboolean sluice_event_dead_letter_finish (SluiceEvent  *self,
                                                     GAsyncResult *result,
                                                     GError      **error);

G_END_DECLS
