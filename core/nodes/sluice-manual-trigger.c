/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-manual-trigger.h"

struct _SluiceManualTrigger
{
  GObject parent_instance;
  gboolean started;
};

static void sluice_manual_trigger_iface_init (SluiceTriggerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SluiceManualTrigger, sluice_manual_trigger, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_TRIGGER,
                                                      sluice_manual_trigger_iface_init))

const char sluice_manual_trigger_schema[] =
  "{\"type\": \"object\","
  " \"description\": \"Runs the workflow only when asked: sluicectl workflow trigger, "
  "sluiced --run, or the D-Bus Trigger method\","
  " \"properties\": {}}";

static gboolean
sluice_manual_trigger_start (SluiceTrigger *trigger, GError **error)
{
  SLUICE_MANUAL_TRIGGER (trigger)->started = TRUE;
  return TRUE;
}

static void
sluice_manual_trigger_stop (SluiceTrigger *trigger)
{
  SLUICE_MANUAL_TRIGGER (trigger)->started = FALSE;
}

static void
sluice_manual_trigger_iface_init (SluiceTriggerInterface *iface)
{
  iface->start = sluice_manual_trigger_start;
  iface->stop = sluice_manual_trigger_stop;
}

static void
sluice_manual_trigger_class_init (SluiceManualTriggerClass *klass)
{
}

static void
sluice_manual_trigger_init (SluiceManualTrigger *self)
{
}

void
sluice_manual_trigger_fire (SluiceManualTrigger *self, SluiceEvent *event)
{
  g_return_if_fail (SLUICE_IS_MANUAL_TRIGGER (self));
  g_return_if_fail (SLUICE_IS_EVENT (event));

  /* A stopped trigger hands nothing on: the workflow is being removed. */
  if (self->started)
    sluice_trigger_emit (SLUICE_TRIGGER (self), event);
}
