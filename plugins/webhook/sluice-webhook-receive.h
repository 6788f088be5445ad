/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* webhook.receive: an HTTP(S) endpoint whose requests become events. */
#define SLUICE_TYPE_WEBHOOK_RECEIVE (sluice_webhook_receive_get_type ())
G_DECLARE_FINAL_TYPE (SluiceWebhookReceive, sluice_webhook_receive, SLUICE, WEBHOOK_RECEIVE, GObject)

extern const char sluice_webhook_receive_schema[];

/* One HTTP request waiting for its event to be settled. */
typedef struct _SluiceWebhookRequest SluiceWebhookRequest;

SluiceWebhookRequest *sluice_webhook_request_ref (SluiceWebhookRequest *request);
void sluice_webhook_request_unref (SluiceWebhookRequest *request);

/* Answers the request from how its event was settled; a request already
 * answered (timed out, client gone) ignores it. */
void sluice_webhook_request_settled (SluiceWebhookRequest *request,
                                     SluiceEvent          *event,
                                     SluiceEventOutcome    outcome,
                                     gint64                retry_delay_usec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceWebhookRequest, sluice_webhook_request_unref)

G_END_DECLS
