/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-webhook-signature.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sluice/sluice.h>

typedef enum {
  FORMAT_PLAIN,    /* HMAC of the body */
  FORMAT_STRIPE,   /* "t=TS,v1=HEX[,v1=HEX]" over "TS.body" */
  FORMAT_SLACK,    /* "v0=HEX" over "v0:TS:body" */
  FORMAT_DOTTED,   /* generic with a timestamp header: over "TS.body" */
} Format;

typedef enum {
  ENCODING_HEX,
  ENCODING_BASE64,
} Encoding;

struct _SluiceWebhookVerifier
{
  Format    format;
  char     *header;            /* lowercase */
  char     *timestamp_header;  /* lowercase, or NULL */
  char     *prefix;            /* before the encoded digest, may be "" */
  char     *digest;            /* OpenSSL digest name */
  gsize     digest_len;
  Encoding  encoding;
  gint64    tolerance_usec;
  GBytes   *secret;
  EVP_MAC  *mac;
};

void
sluice_webhook_verifier_free (SluiceWebhookVerifier *self)
{
  if (self == NULL)
    return;
  g_free (self->header);
  g_free (self->timestamp_header);
  g_free (self->prefix);
  g_free (self->digest);
  g_clear_pointer (&self->secret, g_bytes_unref);
  if (self->mac != NULL)
    EVP_MAC_free (self->mac);
  g_free (self);
}

static const char *
member_string (JsonObject *config,
               const char *name,
               const char *fallback)
{
  JsonNode *node = json_object_get_member (config, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;
  return json_node_get_string (node);
}

SluiceWebhookVerifier *
sluice_webhook_verifier_new (JsonObject  *config,
                             GBytes      *secret,
                             const char  *what,
                             GError     **error)
{
  g_autoptr(SluiceWebhookVerifier) self = g_new0 (SluiceWebhookVerifier, 1);
  const char *preset = member_string (config, "preset", "generic");
  const char *algorithm = "sha256";
  const char *encoding = "hex";
  const char *tolerance = member_string (config, "tolerance", "5m");

  g_return_val_if_fail (config != NULL && secret != NULL, NULL);

  if (g_bytes_get_size (secret) == 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: signature.secret is empty", what);
      return NULL;
    }

  if (g_str_equal (preset, "github"))
    {
      self->format = FORMAT_PLAIN;
      self->header = g_strdup ("x-hub-signature-256");
      self->prefix = g_strdup ("sha256=");
    }
  else if (g_str_equal (preset, "shopify"))
    {
      self->format = FORMAT_PLAIN;
      self->header = g_strdup ("x-shopify-hmac-sha256");
      self->prefix = g_strdup ("");
      encoding = "base64";
    }
  else if (g_str_equal (preset, "slack"))
    {
      self->format = FORMAT_SLACK;
      self->header = g_strdup ("x-slack-signature");
      self->timestamp_header = g_strdup ("x-slack-request-timestamp");
      self->prefix = g_strdup ("v0=");
    }
  else if (g_str_equal (preset, "stripe"))
    {
      self->format = FORMAT_STRIPE;
      self->header = g_strdup ("stripe-signature");
      self->prefix = g_strdup ("");
    }
  else if (g_str_equal (preset, "generic"))
    {
      const char *header = member_string (config, "header", NULL);
      const char *timestamp_header = member_string (config, "timestamp_header", NULL);

      if (header == NULL || *header == '\0')
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: signature.header is required with the generic preset", what);
          return NULL;
        }
      self->header = g_ascii_strdown (header, -1);
      self->prefix = g_strdup (member_string (config, "prefix", ""));
      algorithm = member_string (config, "algorithm", "sha256");
      encoding = member_string (config, "encoding", "hex");
      if (timestamp_header != NULL && *timestamp_header != '\0')
        {
          self->format = FORMAT_DOTTED;
          self->timestamp_header = g_ascii_strdown (timestamp_header, -1);
        }
      else
        self->format = FORMAT_PLAIN;
    }
  else
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: unknown signature.preset '%s'", what, preset);
      return NULL;
    }

  if (!g_str_equal (preset, "generic") &&
      (json_object_has_member (config, "header") || json_object_has_member (config, "algorithm") ||
       json_object_has_member (config, "encoding") || json_object_has_member (config, "prefix") ||
       json_object_has_member (config, "timestamp_header")))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: signature.header, algorithm, encoding, prefix and timestamp_header "
                   "only apply to the generic preset, not '%s'", what, preset);
      return NULL;
    }

  if (g_str_equal (algorithm, "sha1"))
    self->digest_len = 20;
  else if (g_str_equal (algorithm, "sha256"))
    self->digest_len = 32;
  else if (g_str_equal (algorithm, "sha512"))
    self->digest_len = 64;
  else
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: unknown signature.algorithm '%s' (sha1, sha256 or sha512)",
                   what, algorithm);
      return NULL;
    }
  self->digest = g_ascii_strup (algorithm, -1);

  if (g_str_equal (encoding, "hex"))
    self->encoding = ENCODING_HEX;
  else if (g_str_equal (encoding, "base64"))
    self->encoding = ENCODING_BASE64;
  else
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: unknown signature.encoding '%s' (hex or base64)", what, encoding);
      return NULL;
    }

  if (!sluice_parse_duration (tolerance, &self->tolerance_usec, NULL) ||
      self->tolerance_usec <= 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: signature.tolerance '%s' is not a positive duration", what, tolerance);
      return NULL;
    }

  self->mac = EVP_MAC_fetch (NULL, "HMAC", NULL);
  if (self->mac == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                   "%s: OpenSSL has no HMAC implementation", what);
      return NULL;
    }
  self->secret = g_bytes_ref (secret);

  return g_steal_pointer (&self);
}

gboolean
sluice_webhook_verifier_is_signature_header (SluiceWebhookVerifier *self,
                                             const char            *name)
{
  return g_ascii_strcasecmp (name, self->header) == 0;
}

/* HMAC over the concatenation of @parts (NULL-terminated pairs of data and
 * length), into @out (digest_len bytes). */
static gboolean
compute_hmac (SluiceWebhookVerifier *self,
              guint8                *out,
              const guint8          *prefix,
              gsize                  prefix_len,
              const guint8          *body,
              gsize                  body_len)
{
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new (self->mac);
  OSSL_PARAM params[2];
  gsize key_len = 0;
  const guint8 *key = g_bytes_get_data (self->secret, &key_len);
  size_t out_len = 0;
  gboolean ok;

  if (ctx == NULL)
    return FALSE;
  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, self->digest, 0);
  params[1] = OSSL_PARAM_construct_end ();
  ok = EVP_MAC_init (ctx, key, key_len, params) == 1 &&
       (prefix_len == 0 || EVP_MAC_update (ctx, prefix, prefix_len) == 1) &&
       (body_len == 0 || EVP_MAC_update (ctx, body, body_len) == 1) &&
       EVP_MAC_final (ctx, out, &out_len, EVP_MAX_MD_SIZE) == 1 &&
       out_len == self->digest_len;
  EVP_MAC_CTX_free (ctx);
  return ok;
}

/* Decodes @text (the part after the prefix) into @out; FALSE unless it
 * holds exactly one digest. */
static gboolean
decode_digest (SluiceWebhookVerifier *self,
               const char            *text,
               gsize                  text_len,
               guint8                *out)
{
  if (self->encoding == ENCODING_HEX)
    {
      if (text_len != self->digest_len * 2)
        return FALSE;
      for (gsize i = 0; i < self->digest_len; i++)
        {
          int hi = g_ascii_xdigit_value (text[2 * i]);
          int lo = g_ascii_xdigit_value (text[2 * i + 1]);

          if (hi < 0 || lo < 0)
            return FALSE;
          out[i] = (guint8) (hi << 4 | lo);
        }
      return TRUE;
    }
  else
    {
      g_autofree char *copy = g_strndup (text, text_len);
      g_autofree guint8 *decoded = NULL;
      gsize decoded_len = 0;

      /* g_base64_decode() skips junk; only the alphabet is accepted here. */
      for (gsize i = 0; i < text_len; i++)
        if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/' && text[i] != '=')
          return FALSE;
      if (text_len == 0 || text_len % 4 != 0)
        return FALSE;
      decoded = g_base64_decode (copy, &decoded_len);
      if (decoded_len != self->digest_len)
        return FALSE;
      memcpy (out, decoded, decoded_len);
      return TRUE;
    }
}

static gboolean
timestamp_fresh (SluiceWebhookVerifier *self,
                 const char            *text,
                 gsize                  text_len,
                 gint64                 now_usec)
{
  g_autofree char *copy = g_strndup (text, text_len);
  guint64 seconds = 0;
  gint64 delta;

  if (text_len == 0 || text_len > 12 ||
      !g_ascii_string_to_unsigned (copy, 10, 0, G_MAXINT64 / G_USEC_PER_SEC, &seconds, NULL))
    return FALSE;
  delta = now_usec - (gint64) seconds * G_USEC_PER_SEC;
  return delta <= self->tolerance_usec && delta >= -self->tolerance_usec;
}

/* Compares the encoded @candidate (without prefix) with @expected in
 * constant time over the decoded digests. */
static gboolean
digest_matches (SluiceWebhookVerifier *self,
                const guint8          *expected,
                const char            *candidate,
                gsize                  candidate_len)
{
  guint8 given[EVP_MAX_MD_SIZE];

  if (!decode_digest (self, candidate, candidate_len, given))
    return FALSE;
  return CRYPTO_memcmp (given, expected, self->digest_len) == 0;
}

static gboolean
verify_stripe (SluiceWebhookVerifier *self,
               const char            *value,
               const guint8          *body,
               gsize                  body_len,
               gint64                 now_usec)
{
  g_auto(GStrv) parts = g_strsplit (value, ",", 32);
  const char *timestamp = NULL;
  g_autofree char *signed_prefix = NULL;
  guint8 expected[EVP_MAX_MD_SIZE];
  gboolean matched = FALSE;

  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_has_prefix (parts[i], "t="))
      {
        if (timestamp != NULL)
          return FALSE;
        timestamp = parts[i] + 2;
      }
  if (timestamp == NULL || !timestamp_fresh (self, timestamp, strlen (timestamp), now_usec))
    return FALSE;

  signed_prefix = g_strconcat (timestamp, ".", NULL);
  if (!compute_hmac (self, expected, (const guint8 *) signed_prefix, strlen (signed_prefix),
                     body, body_len))
    return FALSE;

  /* Several v1 entries while a secret is being rolled: any may match. Every
   * one is compared, so the time taken does not depend on which. */
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_has_prefix (parts[i], "v1=") &&
        digest_matches (self, expected, parts[i] + 3, strlen (parts[i] + 3)))
      matched = TRUE;
  return matched;
}

gboolean
sluice_webhook_verifier_verify (SluiceWebhookVerifier  *self,
                                SluiceWebhookHeaderFunc get_header,
                                gpointer                user_data,
                                const guint8           *body,
                                gsize                   body_len,
                                gint64                  now_usec)
{
  const char *value;
  const char *timestamp = NULL;
  g_autofree char *signed_prefix = NULL;
  guint8 expected[EVP_MAX_MD_SIZE];
  gsize prefix_len;

  g_return_val_if_fail (self != NULL, FALSE);

  value = get_header (user_data, self->header);
  if (value == NULL)
    return FALSE;
  /* Header values may come with surrounding blanks; nothing else is
   * forgiven. */
  while (*value == ' ' || *value == '\t')
    value++;

  if (self->format == FORMAT_STRIPE)
    return verify_stripe (self, value, body, body_len, now_usec);

  if (self->timestamp_header != NULL)
    {
      timestamp = get_header (user_data, self->timestamp_header);
      if (timestamp == NULL || !timestamp_fresh (self, timestamp, strlen (timestamp), now_usec))
        return FALSE;
      if (self->format == FORMAT_SLACK)
        signed_prefix = g_strdup_printf ("v0:%s:", timestamp);
      else
        signed_prefix = g_strdup_printf ("%s.", timestamp);
    }

  prefix_len = strlen (self->prefix);
  if (strncmp (value, self->prefix, prefix_len) != 0)
    return FALSE;
  value += prefix_len;

  if (!compute_hmac (self, expected, (const guint8 *) signed_prefix,
                     signed_prefix != NULL ? strlen (signed_prefix) : 0, body, body_len))
    return FALSE;

  {
    gsize len = strlen (value);

    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
      len--;
    return digest_matches (self, expected, value, len);
  }
}
