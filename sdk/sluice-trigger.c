/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/**
 * SECTION:sluice-trigger
 * @title: SluiceTrigger
 *
 * An event source. The host connects to the #SluiceTrigger::event signal,
 * starts the trigger, and keeps its credit up to date for flow control.
 */

G_DEFINE_INTERFACE (SluiceTrigger, sluice_trigger, G_TYPE_OBJECT)

enum {
  SIGNAL_EVENT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static GQuark
trigger_credit_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("sluice-trigger-credit");
  return quark;
}

static void
sluice_trigger_default_init (SluiceTriggerInterface *iface)
{
  /**
   * SluiceTrigger::event:
   * @self: the trigger
   * @event: the new event
   *
   * Emitted by sluice_trigger_emit() for each event. The host settles
   * every emitted event.
   */
  signals[SIGNAL_EVENT] =
    g_signal_new ("event",
                  G_TYPE_FROM_INTERFACE (iface),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, SLUICE_TYPE_EVENT);
}

/**
 * sluice_trigger_start:
 * @self: a #SluiceTrigger
 * @error: return location for a #GError
 *
 * Starts listening. Called on the main loop.
 *
 * Returns: %TRUE on success
 */
gboolean
sluice_trigger_start (SluiceTrigger *self,
                      GError       **error)
{
  SluiceTriggerInterface *iface;

  g_return_val_if_fail (SLUICE_IS_TRIGGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = SLUICE_TRIGGER_GET_IFACE (self);
  if (iface->start == NULL)
    {
      g_critical ("%s does not implement SluiceTrigger.start()", G_OBJECT_TYPE_NAME (self));
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN,
                   "%s does not implement SluiceTrigger.start()", G_OBJECT_TYPE_NAME (self));
      return FALSE;
    }

  return iface->start (self, error);
}

/**
 * sluice_trigger_stop:
 * @self: a #SluiceTrigger
 *
 * Stops listening. Events already emitted are still settled.
 */
void
sluice_trigger_stop (SluiceTrigger *self)
{
  SluiceTriggerInterface *iface;

  g_return_if_fail (SLUICE_IS_TRIGGER (self));

  iface = SLUICE_TRIGGER_GET_IFACE (self);
  if (iface->stop == NULL)
    {
      g_critical ("%s does not implement SluiceTrigger.stop()", G_OBJECT_TYPE_NAME (self));
      return;
    }

  iface->stop (self);
}

/**
 * sluice_trigger_emit:
 * @self: a #SluiceTrigger
 * @event: the event
 *
 * Hands an event to the host, by emitting #SluiceTrigger::event.
 */
void
sluice_trigger_emit (SluiceTrigger *self,
                     SluiceEvent   *event)
{
  g_return_if_fail (SLUICE_IS_TRIGGER (self));
  g_return_if_fail (SLUICE_IS_EVENT (event));

  g_signal_emit (self, signals[SIGNAL_EVENT], 0, event);
}

/**
 * sluice_trigger_get_credit:
 * @self: a #SluiceTrigger
 *
 * How many more events the host wants now.
 *
 * Returns: the credit, or %SLUICE_TRIGGER_CREDIT_UNLIMITED
 */
guint
sluice_trigger_get_credit (SluiceTrigger *self)
{
  guint *credit;

  g_return_val_if_fail (SLUICE_IS_TRIGGER (self), 0);

  credit = g_object_get_qdata (G_OBJECT (self), trigger_credit_quark ());
  return credit != NULL ? *credit : SLUICE_TRIGGER_CREDIT_UNLIMITED;
}

/**
 * sluice_trigger_set_credit:
 * @self: a #SluiceTrigger
 * @credit: how many more events the host wants now, or
 *   %SLUICE_TRIGGER_CREDIT_UNLIMITED
 *
 * Sets the trigger's credit; called by the host. When the credit rises
 * from zero the trigger's credit_available() is called.
 */
void
sluice_trigger_set_credit (SluiceTrigger *self,
                           guint          credit)
{
  SluiceTriggerInterface *iface;
  guint *stored;
  guint old;

  g_return_if_fail (SLUICE_IS_TRIGGER (self));

  stored = g_object_get_qdata (G_OBJECT (self), trigger_credit_quark ());
  if (stored == NULL)
    {
      stored = g_new (guint, 1);
      *stored = SLUICE_TRIGGER_CREDIT_UNLIMITED;
      g_object_set_qdata_full (G_OBJECT (self), trigger_credit_quark (), stored, g_free);
    }

  old = *stored;
  *stored = credit;

  iface = SLUICE_TRIGGER_GET_IFACE (self);
  if (old == 0 && credit > 0 && iface->credit_available != NULL)
    iface->credit_available (self);
}
