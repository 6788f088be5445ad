/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Checks the HMAC signature a webhook provider puts on each request. Kept
 * apart from the server so the provider formats can be tested on their own
 * against the published examples. Every refusal is the same FALSE: callers
 * answer without saying which part was wrong. */
typedef struct _SluiceWebhookVerifier SluiceWebhookVerifier;

/* Looks a request header up by name (case-insensitive), NULL if absent. */
typedef const char *(*SluiceWebhookHeaderFunc) (gpointer    user_data,
                                                const char *name);

/* @config is the "signature" object of webhook.receive (schema-checked);
 * @secret the resolved HMAC key. @what names the component in errors. */
SluiceWebhookVerifier *sluice_webhook_verifier_new (JsonObject  *config,
                                                    GBytes      *secret,
                                                    const char  *what,
                                                    GError     **error);
void sluice_webhook_verifier_free (SluiceWebhookVerifier *self);

/* TRUE when the request carries a valid signature of @body, and, for the
 * timestamped formats, a timestamp within the tolerance of @now_usec (real
 * time). */
gboolean sluice_webhook_verifier_verify (SluiceWebhookVerifier  *self,
                                         SluiceWebhookHeaderFunc get_header,
                                         gpointer                user_data,
                                         const guint8           *body,
                                         gsize                   body_len,
                                         gint64                  now_usec);

/* Whether @name (lowercase) is a header that carries the signature: those
 * are kept out of the message headers. */
gboolean sluice_webhook_verifier_is_signature_header (SluiceWebhookVerifier *self,
                                                      const char            *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceWebhookVerifier, sluice_webhook_verifier_free)

G_END_DECLS
