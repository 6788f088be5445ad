/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The signature formats of webhook.receive against the examples the
 * providers publish, and every way a signature must be refused. */
#include <string.h>
#include <sluice/sluice.h>

#include "sluice-webhook-signature.h"

#define NOW_SECONDS G_GINT64_CONSTANT (1700000000)
#define NOW (NOW_SECONDS * G_USEC_PER_SEC)

/* Slack's documented example request ("Verifying requests from Slack"). */
#define SLACK_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define SLACK_TIMESTAMP "1531420618"
#define SLACK_BODY \
  "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&" \
  "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&" \
  "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F" \
  "T1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&" \
  "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
#define SLACK_SIGNATURE "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

/* printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test */
#define STRIPE_BODY "{\"id\":\"evt_1\"}"
#define STRIPE_DIGEST "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"

/* printf '{"id":1}' | openssl dgst -sha256 -hmac shpss_test -binary | base64 */
#define SHOPIFY_DIGEST "1GxccvotnkOedTjSm8S0m/VA3yAUKshyqT52ccNYHj4="

/* printf 'hello' | openssl dgst -sha512 -hmac k -binary | base64 -w0 */
#define SHA512_DIGEST \
  "hrYQK3VK5VjfDsPnkFyBJQs+G6abBgwbuWQajxmGMDX7AHyCmwZI2jigMlVjATH8L3deARDAqhGzN1ChTPSOyw=="

static const char *
lookup (gpointer user_data, const char *name)
{
  return g_hash_table_lookup (user_data, name);
}

static SluiceWebhookVerifier *
verifier_new (const char *json, const char *secret)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);
  g_autoptr(GBytes) key = g_bytes_new (secret, strlen (secret));
  SluiceWebhookVerifier *verifier;

  g_assert_no_error (error);
  verifier = sluice_webhook_verifier_new (json_node_get_object (node), key, "test", &error);
  g_assert_no_error (error);
  g_assert_nonnull (verifier);
  return verifier;
}

/* Headers as name/value pairs, names lowercase like the server looks them up. */
static gboolean
check (SluiceWebhookVerifier *verifier, const char *body, gint64 now, ...)
{
  g_autoptr(GHashTable) headers = g_hash_table_new (g_str_hash, g_str_equal);
  const char *name;
  va_list args;

  va_start (args, now);
  while ((name = va_arg (args, const char *)) != NULL)
    g_hash_table_insert (headers, (gpointer) name, va_arg (args, char *));
  va_end (args);
  return sluice_webhook_verifier_verify (verifier, lookup, headers, (const guint8 *) body,
                                         strlen (body), now);
}

static void
test_github (void)
{
  g_autoptr(SluiceWebhookVerifier) v =
    verifier_new ("{\"preset\": \"github\", \"secret\": {}}", "It's a Secret to Everybody");
  const char *good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

  g_assert_true (check (v, "Hello, World!", NOW, "x-hub-signature-256", good, NULL));
  /* Upper-case hex is the same digest. */
  g_assert_true (check (v, "Hello, World!", NOW, "x-hub-signature-256",
                        "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
                        NULL));
  g_assert_false (check (v, "Hello, World?", NOW, "x-hub-signature-256", good, NULL));
  g_assert_false (check (v, "Hello, World!", NOW, NULL));
  g_assert_false (check (v, "Hello, World!", NOW, "x-hub-signature-256", good + 7, NULL));
  g_assert_false (check (v, "Hello, World!", NOW, "x-hub-signature-256",
                         "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                         NULL));
  g_assert_false (check (v, "Hello, World!", NOW, "x-hub-signature-256",
                         "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e",
                         NULL));
  g_assert_false (check (v, "Hello, World!", NOW, "x-hub-signature-256",
                         "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                         NULL));
  g_assert_true (sluice_webhook_verifier_is_signature_header (v, "x-hub-signature-256"));
  g_assert_false (sluice_webhook_verifier_is_signature_header (v, "content-type"));
}

static void
test_github_wrong_secret (void)
{
  g_autoptr(SluiceWebhookVerifier) v =
    verifier_new ("{\"preset\": \"github\", \"secret\": {}}", "It's a secret to everybody");

  g_assert_false (check (v, "Hello, World!", NOW, "x-hub-signature-256",
                         "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                         NULL));
}

static void
test_slack (void)
{
  g_autoptr(SluiceWebhookVerifier) v =
    verifier_new ("{\"preset\": \"slack\", \"secret\": {}, \"tolerance\": \"5m\"}", SLACK_SECRET);
  gint64 sent = G_GINT64_CONSTANT (1531420618) * G_USEC_PER_SEC;

  g_assert_true (check (v, SLACK_BODY, sent + 10 * G_USEC_PER_SEC,
                        "x-slack-signature", SLACK_SIGNATURE,
                        "x-slack-request-timestamp", SLACK_TIMESTAMP, NULL));
  /* Replayed later than the tolerance, or from the future. */
  g_assert_false (check (v, SLACK_BODY, sent + 301 * G_USEC_PER_SEC,
                         "x-slack-signature", SLACK_SIGNATURE,
                         "x-slack-request-timestamp", SLACK_TIMESTAMP, NULL));
  g_assert_false (check (v, SLACK_BODY, sent - 301 * G_USEC_PER_SEC,
                         "x-slack-signature", SLACK_SIGNATURE,
                         "x-slack-request-timestamp", SLACK_TIMESTAMP, NULL));
  /* The timestamp is signed: another one does not verify. */
  g_assert_false (check (v, SLACK_BODY, sent, "x-slack-signature", SLACK_SIGNATURE,
                         "x-slack-request-timestamp", "1531420619", NULL));
  g_assert_false (check (v, SLACK_BODY, sent, "x-slack-signature", SLACK_SIGNATURE, NULL));
  g_assert_false (check (v, SLACK_BODY, sent, "x-slack-signature", SLACK_SIGNATURE,
                         "x-slack-request-timestamp", "15314206l8", NULL));
}

static void
test_stripe (void)
{
  g_autoptr(SluiceWebhookVerifier) v =
    verifier_new ("{\"preset\": \"stripe\", \"secret\": {}}", "whsec_test");
  const char *good = "t=1700000000,v1=" STRIPE_DIGEST;
  const char *rolled = "t=1700000000,v1=0000000000000000000000000000000000000000000000000000000000000000"
                       ",v1=" STRIPE_DIGEST ",v0=abc";

  g_assert_true (check (v, STRIPE_BODY, NOW, "stripe-signature", good, NULL));
  g_assert_true (check (v, STRIPE_BODY, NOW, "stripe-signature", rolled, NULL));
  g_assert_false (check (v, STRIPE_BODY, NOW + 6 * 60 * G_USEC_PER_SEC,
                         "stripe-signature", good, NULL));
  g_assert_false (check (v, STRIPE_BODY, NOW, "stripe-signature",
                         "t=1700000001,v1=" STRIPE_DIGEST, NULL));
  g_assert_false (check (v, STRIPE_BODY, NOW, "stripe-signature", "v1=" STRIPE_DIGEST, NULL));
  g_assert_false (check (v, STRIPE_BODY, NOW, "stripe-signature",
                         "t=1700000000,t=1700000000,v1=" STRIPE_DIGEST, NULL));
  g_assert_false (check (v, STRIPE_BODY, NOW, "stripe-signature",
                         "t=1700000000,v0=" STRIPE_DIGEST, NULL));
  g_assert_false (check (v, "{\"id\":\"evt_2\"}", NOW, "stripe-signature", good, NULL));
}

static void
test_shopify (void)
{
  g_autoptr(SluiceWebhookVerifier) v =
    verifier_new ("{\"preset\": \"shopify\", \"secret\": {}}", "shpss_test");

  g_assert_true (check (v, "{\"id\":1}", NOW, "x-shopify-hmac-sha256", SHOPIFY_DIGEST, NULL));
  g_assert_false (check (v, "{\"id\":2}", NOW, "x-shopify-hmac-sha256", SHOPIFY_DIGEST, NULL));
  g_assert_false (check (v, "{\"id\":1}", NOW, "x-shopify-hmac-sha256",
                         "1GxccvotnkOedTjSm8S0m/VA3yAUKshyqT52ccNYHj4", NULL));
  g_assert_false (check (v, "{\"id\":1}", NOW, "x-shopify-hmac-sha256",
                         "1Gxccvotnk*edTjSm8S0m/VA3yAUKshyqT52ccNYHj4=", NULL));
}

static void
test_generic (void)
{
  g_autoptr(SluiceWebhookVerifier) v =
    verifier_new ("{\"preset\": \"generic\", \"secret\": {}, \"header\": \"X-Sig\","
                  " \"algorithm\": \"sha512\", \"encoding\": \"base64\", \"prefix\": \"hmac \"}",
                  "k");
  g_autoptr(SluiceWebhookVerifier) dotted =
    verifier_new ("{\"preset\": \"generic\", \"secret\": {}, \"header\": \"X-Sig\","
                  " \"timestamp_header\": \"X-Ts\", \"tolerance\": \"1m\"}", "whsec_test");

  g_assert_true (check (v, "hello", NOW, "x-sig", "hmac " SHA512_DIGEST, NULL));
  g_assert_false (check (v, "hello", NOW, "x-sig", SHA512_DIGEST, NULL));
  g_assert_false (check (v, "hellO", NOW, "x-sig", "hmac " SHA512_DIGEST, NULL));

  /* Signed like Stripe: "TIMESTAMP.body". */
  g_assert_true (check (dotted, STRIPE_BODY, NOW, "x-sig", STRIPE_DIGEST,
                        "x-ts", "1700000000", NULL));
  g_assert_false (check (dotted, STRIPE_BODY, NOW + 61 * G_USEC_PER_SEC, "x-sig", STRIPE_DIGEST,
                         "x-ts", "1700000000", NULL));
}

static void
test_invalid_config (void)
{
  static const char *const configs[] = {
    "{\"preset\": \"generic\", \"secret\": {}}",
    "{\"preset\": \"github\", \"secret\": {}, \"header\": \"x\"}",
    "{\"preset\": \"generic\", \"secret\": {}, \"header\": \"x\", \"algorithm\": \"md5\"}",
    "{\"preset\": \"generic\", \"secret\": {}, \"header\": \"x\", \"encoding\": \"base32\"}",
    "{\"preset\": \"nope\", \"secret\": {}}",
    "{\"preset\": \"slack\", \"secret\": {}, \"tolerance\": \"0s\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (configs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = json_from_string (configs[i], &error);
      g_autoptr(GBytes) key = g_bytes_new_static ("k", 1);
      g_autoptr(SluiceWebhookVerifier) v = NULL;

      g_assert_no_error (error);
      v = sluice_webhook_verifier_new (json_node_get_object (node), key, "test", &error);
      g_assert_null (v);
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
      g_assert_true (g_str_has_prefix (error->message, "test: "));
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = json_from_string ("{\"preset\": \"github\"}", NULL);
    g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
    g_autoptr(SluiceWebhookVerifier) v =
      sluice_webhook_verifier_new (json_node_get_object (node), empty, "test", &error);

    g_assert_null (v);
    g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("HMAC signature formats of webhook.receive");

  g_test_add_func ("/webhook/signature/github-docs-example", test_github);
  g_test_add_func ("/webhook/signature/github-wrong-secret", test_github_wrong_secret);
  g_test_add_func ("/webhook/signature/slack-docs-example-and-replay", test_slack);
  g_test_add_func ("/webhook/signature/stripe-timestamp-and-rolled-secrets", test_stripe);
  g_test_add_func ("/webhook/signature/shopify-base64", test_shopify);
  g_test_add_func ("/webhook/signature/generic-algorithms", test_generic);
  g_test_add_func ("/webhook/signature/invalid-config", test_invalid_config);

  return g_test_run ();
}
