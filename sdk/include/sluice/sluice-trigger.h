/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <gio/gio.h>
#include <sluice/sluice-event.h>

G_BEGIN_DECLS

#define SLUICE_TYPE_TRIGGER (sluice_trigger_get_type ())
SLUICE_API G_DECLARE_INTERFACE (SluiceTrigger, sluice_trigger, SLUICE, TRIGGER, GObject)

/**
 * SLUICE_TRIGGER_CREDIT_UNLIMITED:
 *
 * The credit of a trigger nobody limits.
 */
#define SLUICE_TRIGGER_CREDIT_UNLIMITED G_MAXUINT

/**
 * SluiceTriggerInterface:
 * @g_iface: the parent interface
 * @start: start listening; from now on call sluice_trigger_emit() for each
 *   event. Called on the main loop; must not block.
 * @stop: stop listening. Events already emitted are still settled.
 * @credit_available: optional; called when the credit rises from zero, so a
 *   trigger that paused pulling from its source can pull again
 *
 * An event source: a queue receiver, a webhook listener, a timer, a
 * directory watch. A trigger respects its credit
 * (sluice_trigger_get_credit()): a pull-based trigger never fetches more
 * events than that; a push-based one refuses or delays its peer. The host
 * never drops an emitted event, so credit is about flow control, not
 * correctness.
 */
struct _SluiceTriggerInterface
{
  GTypeInterface g_iface;

  gboolean (*start)            (SluiceTrigger *self,
                                GError       **error);
  void     (*stop)             (SluiceTrigger *self);
  void     (*credit_available) (SluiceTrigger *self);

  /*< private >*/
  gpointer padding[12];
};

SLUICE_API gboolean sluice_trigger_start (SluiceTrigger *self,
                                          GError       **error);
SLUICE_API void sluice_trigger_stop (SluiceTrigger *self);
SLUICE_API void sluice_trigger_emit (SluiceTrigger *self,
                                     SluiceEvent   *event);
SLUICE_API guint sluice_trigger_get_credit (SluiceTrigger *self);
SLUICE_API void sluice_trigger_set_credit (SluiceTrigger *self,
                                           guint          credit);

G_END_DECLS
