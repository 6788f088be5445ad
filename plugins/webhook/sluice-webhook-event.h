/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-webhook-receive.h"

G_BEGIN_DECLS

/* The event webhook.receive emits for one request. Settling it answers
 * the HTTP client: nothing is stored, the request is the only copy. */
#define SLUICE_TYPE_WEBHOOK_EVENT (sluice_webhook_event_get_type ())
G_DECLARE_FINAL_TYPE (SluiceWebhookEvent, sluice_webhook_event, SLUICE, WEBHOOK_EVENT, SluiceEvent)

SluiceWebhookEvent *sluice_webhook_event_new (SluiceWebhookRequest *request,
                                              SluiceMessage        *message);

G_END_DECLS
