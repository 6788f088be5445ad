/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-config.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PORT 6379
#define DEFAULT_PREFIX "sluice:"
#define DEFAULT_TIMEOUT "5s"
#define DEFAULT_RECONNECT_MAX "10s"
#define MIN_RECONNECT_MAX_USEC (100 * 1000)
#define MAX_DB 1000000

const char sluice_redis_store_schema[] =
    "{"
    "  \"type\": \"object\","
    "  \"description\": \"Keeps its state in Redis, so that every host on one Redis shares it\","
    "  \"properties\": {"
    "    \"url\": {\"type\": \"string\", \"minLength\": 1,"
    "              \"description\": \"redis://[user@]host[:port][/db] or unix:///path[?db=N]; "
    "required unless 'connection' is given\"},"
    "    \"connection\": {\"type\": \"string\", \"minLength\": 1,"
    "                     \"description\": \"A named connection with 'url' and optionally "
    "'password'\"},"
    "    \"password\": {\"type\": \"object\","
    "                   \"description\": \"Secret reference: {\\\"file\\\": PATH} or "
    "{\\\"credential\\\": NAME}\","
    "                   \"additionalProperties\": true},"
    "    \"prefix\": {\"type\": \"string\", \"minLength\": 1, \"default\": \"" DEFAULT_PREFIX "\","
    "                 \"description\": \"Prefix of every key\"},"
    "    \"timeout\": {\"type\": \"string\", \"format\": \"duration\","
    "                  \"default\": \"" DEFAULT_TIMEOUT "\","
    "                  \"description\": \"Connect and command timeout\"},"
    "    \"reconnect_max\": {\"type\": \"string\", \"format\": \"duration\","
    "                        \"default\": \"" DEFAULT_RECONNECT_MAX "\","
    "                        \"description\": \"Longest wait between reconnection attempts "
    "(the wait doubles from 100ms)\"}"
    "  },"
    "  \"additionalProperties\": false"
    "}";

void
sluice_redis_config_free (SluiceRedisConfig *self)
{
  if (self == NULL)
    return;
  g_free (self->url);
  g_free (self->host);
  g_free (self->socket_path);
  g_free (self->username);
  g_clear_pointer (&self->password, g_bytes_unref);
  g_free (self->prefix);
  g_free (self);
}

/* A URL is echoed in messages only when it cannot carry a secret. */
static const char *
printable_url (const char *url)
{
  return strchr (url, '@') != NULL ? "(not shown: it has user information)" : url;
}

static gboolean
parse_db (const char *text,
          const char *what,
          const char *url,
          guint      *out_db,
          GError    **error)
{
  guint64 db = 0;

  if (*text == '\0' || !g_ascii_string_to_unsigned (text, 10, 0, MAX_DB, &db, NULL))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: '%s': the database must be a number from 0 to %d, not '%s'",
                   what, printable_url (url), MAX_DB, text);
      return FALSE;
    }
  *out_db = (guint) db;
  return TRUE;
}

gboolean
sluice_redis_config_parse_url (SluiceRedisConfig *self,
                               const char        *url,
                               const char        *what,
                               GError           **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *scheme;
  const char *query;
  const char *path;

  uri = g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_NON_DNS, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: '%s' is not a URL (expected redis://[user@]host[:port][/db] or "
                   "unix:///path[?db=N])",
                   what, printable_url (url));
      return FALSE;
    }

  if (g_uri_get_password (uri) != NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: the URL must not contain a password; give it as 'password', a "
                   "secret reference ({\"file\": PATH} or {\"credential\": NAME})",
                   what);
      return FALSE;
    }

  scheme = g_uri_get_scheme (uri);
  query = g_uri_get_query (uri);
  path = g_uri_get_path (uri);

  g_clear_pointer (&self->host, g_free);
  g_clear_pointer (&self->socket_path, g_free);
  g_clear_pointer (&self->username, g_free);
  self->db = 0;

  if (g_ascii_strcasecmp (scheme, "redis") == 0)
    {
      const char *host = g_uri_get_host (uri);
      const char *user = g_uri_get_user (uri);
      int         port = g_uri_get_port (uri);

      if (host == NULL || *host == '\0')
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: '%s' has no host (expected redis://[user@]host[:port][/db])",
                       what, printable_url (url));
          return FALSE;
        }
      if (query != NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: '%s': redis:// URLs take no parameters ('?%s')",
                       what, printable_url (url), query);
          return FALSE;
        }
      if (port == 0)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: '%s': port 0 is not a port", what, printable_url (url));
          return FALSE;
        }
      if (*path == '/')
        path++;
      if (*path != '\0' && !parse_db (path, what, url, &self->db, error))
        return FALSE;

      self->host = g_strdup (host);
      self->port = port > 0 ? (guint16) port : DEFAULT_PORT;
      if (user != NULL && *user != '\0')
        self->username = g_strdup (user);
    }
  else if (g_ascii_strcasecmp (scheme, "unix") == 0)
    {
      const char *host = g_uri_get_host (uri);

      if ((host != NULL && *host != '\0') || g_uri_get_user (uri) != NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: '%s': a unix socket URL has no host (expected unix:///path[?db=N])",
                       what, printable_url (url));
          return FALSE;
        }
      if (*path != '/')
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: '%s': the socket path must be absolute (unix:///path[?db=N])",
                       what, printable_url (url));
          return FALSE;
        }
      if (query != NULL)
        {
          if (!g_str_has_prefix (query, "db="))
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "%s: '%s': unknown parameter '%s' (only db=N is known)",
                           what, printable_url (url), query);
              return FALSE;
            }
          if (!parse_db (query + strlen ("db="), what, url, &self->db, error))
            return FALSE;
        }
      self->socket_path = g_strdup (path);
    }
  else if (g_ascii_strcasecmp (scheme, "rediss") == 0)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: '%s': TLS (rediss://) is not supported by this build", what,
                   printable_url (url));
      return FALSE;
    }
  else
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: '%s' is not a Redis URL (expected redis://[user@]host[:port][/db] or "
                   "unix:///path[?db=N])",
                   what, printable_url (url));
      return FALSE;
    }

  g_free (self->url);
  if (self->socket_path != NULL)
    self->url = self->db != 0 ? g_strdup_printf ("unix://%s?db=%u", self->socket_path, self->db)
                              : g_strdup_printf ("unix://%s", self->socket_path);
  else
    self->url = g_strdup_printf ("redis://%s%s%s%s%s:%u/%u",
                                 self->username != NULL ? self->username : "",
                                 self->username != NULL ? "@" : "",
                                 strchr (self->host, ':') != NULL ? "[" : "",
                                 self->host,
                                 strchr (self->host, ':') != NULL ? "]" : "",
                                 self->port, self->db);
  return TRUE;
}

static gboolean
get_string (JsonObject  *object,
            const char  *what,
            const char  *key,
            const char **out_value,
            GError     **error)
{
  JsonNode *node = json_object_get_member (object, key);

  *out_value = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s, key '%s': expected a string", what, key);
      return FALSE;
    }
  *out_value = json_node_get_string (node);
  return TRUE;
}

static gboolean
get_duration (JsonObject *config,
              const char *component,
              const char *key,
              const char *default_value,
              gint64      minimum,
              gint64     *out_usec,
              GError    **error)
{
  g_autoptr (GError) local_error = NULL;
  const char *text;

  if (!get_string (config, component, key, &text, error))
    return FALSE;
  if (text == NULL)
    text = default_value;

  if (!sluice_parse_duration (text, out_usec, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s, key '%s': %s",
                   component, key, local_error->message);
      return FALSE;
    }
  if (*out_usec < minimum)
    {
      g_autofree char *min_text = sluice_format_duration (minimum);

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s, key '%s': '%s' is too short (at least %s)", component, key, text,
                   min_text);
      return FALSE;
    }
  return TRUE;
}

SluiceRedisConfig *
sluice_redis_config_new (SluiceContext *context,
                         JsonObject    *config,
                         const char    *component,
                         GError       **error)
{
  g_autoptr (SluiceRedisConfig) self = g_new0 (SluiceRedisConfig, 1);
  g_autoptr (JsonObject) empty = NULL;
  JsonObject      *connection = NULL;
  JsonNode        *password = NULL;
  const char      *connection_name;
  const char      *url;
  const char      *prefix;
  g_autofree char *url_what = NULL;
  g_autofree char *password_what = NULL;

  if (config == NULL)
    config = empty = json_object_new ();

  if (!get_string (config, component, "connection", &connection_name, error) ||
      !get_string (config, component, "url", &url, error) ||
      !get_string (config, component, "prefix", &prefix, error))
    return NULL;

  if (connection_name != NULL)
    {
      g_autofree char *what = g_strdup_printf ("connection '%s'", connection_name);

      if (context == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s, key 'connection': no context to look connections up in", component);
          return NULL;
        }
      connection = sluice_context_get_connection (context, connection_name, error);
      if (connection == NULL)
        {
          g_prefix_error (error, "%s, key 'connection': ", component);
          return NULL;
        }
      if (url == NULL)
        {
          if (!get_string (connection, what, "url", &url, error))
            return NULL;
          if (url == NULL)
            {
              g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "%s: connection '%s' has no 'url'", component, connection_name);
              return NULL;
            }
          url_what = g_strdup_printf ("%s: connection '%s', key 'url'", component,
                                      connection_name);
        }
      password = json_object_get_member (connection, "password");
      if (password != NULL)
        password_what = g_strdup_printf ("%s: connection '%s', key 'password'", component,
                                         connection_name);
    }

  if (url == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: key 'url' is required (or 'connection', naming a connection with a url)",
                   component);
      return NULL;
    }
  if (url_what == NULL)
    url_what = g_strdup_printf ("%s, key 'url'", component);
  if (!sluice_redis_config_parse_url (self, url, url_what, error))
    return NULL;

  /* The component's own password wins over its connection's. */
  if (json_object_has_member (config, "password"))
    {
      password = json_object_get_member (config, "password");
      g_free (password_what);
      password_what = g_strdup_printf ("%s, key 'password'", component);
    }
  if (password != NULL && !JSON_NODE_HOLDS_NULL (password))
    {
      if (context == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: no context to resolve secrets with", password_what);
          return NULL;
        }
      self->password = sluice_context_resolve_secret (context, password, password_what, error);
      if (self->password == NULL)
        return NULL;
      if (g_bytes_get_size (self->password) == 0)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: the secret is empty", password_what);
          return NULL;
        }
    }

  if (prefix == NULL)
    prefix = DEFAULT_PREFIX;
  if (*prefix == '\0' || strpbrk (prefix, "{}") != NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s, key 'prefix': '%s' must be non-empty and without braces (braces "
                   "mark the part of a key that keeps a batch's keys together)",
                   component, prefix);
      return NULL;
    }
  self->prefix = g_strdup (prefix);

  if (!get_duration (config, component, "timeout", DEFAULT_TIMEOUT, 1000,
                     &self->timeout_usec, error) ||
      !get_duration (config, component, "reconnect_max", DEFAULT_RECONNECT_MAX,
                     MIN_RECONNECT_MAX_USEC, &self->reconnect_max_usec, error))
    return NULL;

  return g_steal_pointer (&self);
}
