/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

#include "sluice-webhook-receive.h"

static gboolean
sluice_webhook_plugin_register (SluicePlugin *plugin,
                                GError      **error)
{
  return sluice_plugin_add_component (plugin, "webhook.receive", SLUICE_TYPE_WEBHOOK_RECEIVE,
                                      sluice_webhook_receive_schema, error);
}

SLUICE_PLUGIN_DEFINE ("webhook", SLUICE_VERSION_STRING, "LGPL-2.1-or-later",
                      "HTTP(S) webhooks: receive signed requests as events",
                      sluice_webhook_plugin_register)
