/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include <sluice/sluice.h>

/**
 * SECTION:sluice-context
 * @title: SluiceContext
 *
 * What the host gives each component instead of globals: its name, a
 * clock, a state store, the named connections and their secrets, and a
 * logger that tags each line with the component and the message.
 *
 * Secrets are never written inline in a connection: a secret member is a
 * reference, {"file": PATH} or {"credential": NAME} (a file in the
 * systemd credentials directory), read when asked for. Their contents
 * never appear in errors or logs.
 */

struct _SluiceContext
{
  GObject parent_instance;

  char             *name;
  SluiceClock      *clock;
  SluiceStateStore *state_store;
  JsonObject       *connections;
  char             *credentials_dir;
};

G_DEFINE_FINAL_TYPE (SluiceContext, sluice_context, G_TYPE_OBJECT)

/* how many connection names an error lists before it stops */
#define MAX_LISTED_CONNECTIONS 8

static void
sluice_context_finalize (GObject *object)
{
  SluiceContext *self = SLUICE_CONTEXT (object);

  g_free (self->name);
  g_clear_object (&self->clock);
  g_clear_object (&self->state_store);
  g_clear_pointer (&self->connections, json_object_unref);
  g_free (self->credentials_dir);

  G_OBJECT_CLASS (sluice_context_parent_class)->finalize (object);
}

static void
sluice_context_class_init (SluiceContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_context_finalize;
}

static void
sluice_context_init (SluiceContext *self)
{
}

/**
 * sluice_context_new:
 * @name: the component's name, as it appears in logs
 * @clock: (nullable): the clock; %NULL for a new system clock
 * @state_store: (nullable): the state store, if there is one
 *
 * Creates a context. The credentials directory starts as
 * $CREDENTIALS_DIRECTORY, as systemd sets it.
 *
 * Returns: (transfer full): a new #SluiceContext
 */
SluiceContext *
sluice_context_new (const char       *name,
                    SluiceClock      *clock,
                    SluiceStateStore *state_store)
{
  SluiceContext *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (clock == NULL || SLUICE_IS_CLOCK (clock), NULL);
  g_return_val_if_fail (state_store == NULL || SLUICE_IS_STATE_STORE (state_store), NULL);

  self = g_object_new (SLUICE_TYPE_CONTEXT, NULL);
  self->name = g_strdup (name);
  self->clock = clock != NULL ? g_object_ref (clock) : sluice_clock_new_system ();
  self->state_store = state_store != NULL ? g_object_ref (state_store) : NULL;
  self->credentials_dir = g_strdup (g_getenv ("CREDENTIALS_DIRECTORY"));
  return self;
}

/**
 * sluice_context_new_child:
 * @parent: a #SluiceContext
 * @name: the child's name
 *
 * Creates a context that shares everything with @parent (clock, state
 * store, connections, credentials directory) but its name.
 *
 * Returns: (transfer full): a new #SluiceContext
 */
SluiceContext *
sluice_context_new_child (SluiceContext *parent,
                          const char    *name)
{
  SluiceContext *self;

  g_return_val_if_fail (SLUICE_IS_CONTEXT (parent), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  self = g_object_new (SLUICE_TYPE_CONTEXT, NULL);
  self->name = g_strdup (name);
  self->clock = g_object_ref (parent->clock);
  self->state_store = parent->state_store != NULL ? g_object_ref (parent->state_store) : NULL;
  self->connections = parent->connections != NULL ? json_object_ref (parent->connections) : NULL;
  self->credentials_dir = g_strdup (parent->credentials_dir);
  return self;
}

/**
 * sluice_context_get_name:
 * @self: a #SluiceContext
 *
 * Returns: the component's name
 */
const char *
sluice_context_get_name (SluiceContext *self)
{
  g_return_val_if_fail (SLUICE_IS_CONTEXT (self), NULL);

  return self->name;
}

/**
 * sluice_context_get_clock:
 * @self: a #SluiceContext
 *
 * Returns: (transfer none): the clock
 */
SluiceClock *
sluice_context_get_clock (SluiceContext *self)
{
  g_return_val_if_fail (SLUICE_IS_CONTEXT (self), NULL);

  return self->clock;
}

/**
 * sluice_context_get_state_store:
 * @self: a #SluiceContext
 *
 * Returns: (transfer none) (nullable): the state store, if there is one
 */
SluiceStateStore *
sluice_context_get_state_store (SluiceContext *self)
{
  g_return_val_if_fail (SLUICE_IS_CONTEXT (self), NULL);

  return self->state_store;
}

/**
 * sluice_context_set_connections:
 * @self: a #SluiceContext
 * @connections: (nullable): connection name -> connection object
 *
 * Sets the named connections. The context takes a reference; contexts
 * created from it later share the object.
 */
void
sluice_context_set_connections (SluiceContext *self,
                                JsonObject    *connections)
{
  g_return_if_fail (SLUICE_IS_CONTEXT (self));

  if (connections != NULL)
    json_object_ref (connections);
  g_clear_pointer (&self->connections, json_object_unref);
  self->connections = connections;
}

/**
 * sluice_context_set_credentials_directory:
 * @self: a #SluiceContext
 * @path: (nullable): the directory {"credential": NAME} references are
 *   read from
 *
 * Overrides the credentials directory taken from $CREDENTIALS_DIRECTORY.
 */
void
sluice_context_set_credentials_directory (SluiceContext *self,
                                          const char    *path)
{
  g_return_if_fail (SLUICE_IS_CONTEXT (self));

  if (self->credentials_dir == path)
    return;
  g_free (self->credentials_dir);
  self->credentials_dir = g_strdup (path);
}

/**
 * sluice_context_get_connection:
 * @self: a #SluiceContext
 * @name: a connection name
 * @error: return location for a #GError
 *
 * Returns: (transfer none): the connection, or %NULL with
 *   %SLUICE_ERROR_NOT_FOUND (or %SLUICE_ERROR_INVALID_CONFIG when it is
 *   not an object)
 */
JsonObject *
sluice_context_get_connection (SluiceContext *self,
                               const char    *name,
                               GError       **error)
{
  JsonNode *node;

  g_return_val_if_fail (SLUICE_IS_CONTEXT (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  node = self->connections != NULL ? json_object_get_member (self->connections, name) : NULL;
  if (node == NULL)
    {
      g_autoptr(GList) names = NULL;
      g_autoptr(GString) known = g_string_new (NULL);
      guint n;

      if (self->connections != NULL)
        names = json_object_get_members (self->connections);
      n = g_list_length (names);

      if (n == 0)
        g_string_append (known, "no connections are defined");
      else if (n <= MAX_LISTED_CONNECTIONS)
        {
          g_string_append (known, "defined: ");
          for (GList *l = names; l != NULL; l = l->next)
            g_string_append_printf (known, "%s%s", l == names ? "" : ", ",
                                    (const char *) l->data);
        }
      else
        g_string_append_printf (known, "%u connections are defined", n);

      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                   "connection '%s' is not defined (%s)", name, known->str);
      return NULL;
    }

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "connection '%s' is not a JSON object", name);
      return NULL;
    }

  return json_node_get_object (node);
}

typedef struct {
  gsize len;
  char  data[];
} Secret;

/* secrets are wiped from memory when the last reference goes */
static void
secret_free (gpointer data)
{
  Secret *secret = data;

  explicit_bzero (secret->data, secret->len);
  g_free (secret);
}

static GBytes *
secret_read_file (const char *path,
                  const char *what,
                  GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  char *contents = NULL;
  gsize len = 0;
  Secret *secret;

  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      int code = SLUICE_ERROR_FAILED;

      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ||
          g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_ISDIR))
        code = SLUICE_ERROR_NOT_FOUND;
      else if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_ACCES) ||
               g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_PERM))
        code = SLUICE_ERROR_PERMISSION_DENIED;

      /* GLib's message names the file and the reason, never the contents */
      g_set_error (error, SLUICE_ERROR, code, "%s: cannot read the secret: %s",
                   what, local_error->message);
      return NULL;
    }

  /* "echo secret > file" adds a newline that is not part of the secret */
  if (len > 0 && contents[len - 1] == '\n')
    len--;

  secret = g_malloc (sizeof (Secret) + MAX (len, 1));
  secret->len = len;
  memcpy (secret->data, contents, len);
  explicit_bzero (contents, len);
  g_free (contents);

  return g_bytes_new_with_free_func (secret->data, len, secret_free, secret);
}

static gboolean
credential_name_is_valid (const char *name)
{
  return name[0] != '\0' && strchr (name, '/') == NULL &&
         !g_str_equal (name, ".") && !g_str_equal (name, "..");
}

/**
 * sluice_context_resolve_secret:
 * @self: a #SluiceContext
 * @reference: a secret reference: {"file": PATH} or {"credential": NAME}
 * @what: what the secret is, for error messages ("connection 'billing',
 *   key 'password'")
 * @error: return location for a #GError
 *
 * Reads a secret. A file's one trailing newline is not part of the
 * secret. A credential is a file NAME in the credentials directory.
 *
 * Returns: (transfer full): the secret, wiped from memory when freed, or
 *   %NULL with @error set (%SLUICE_ERROR_INVALID_CONFIG for a malformed
 *   reference, %SLUICE_ERROR_NOT_FOUND or
 *   %SLUICE_ERROR_PERMISSION_DENIED when the file cannot be read)
 */
GBytes *
sluice_context_resolve_secret (SluiceContext *self,
                               JsonNode      *reference,
                               const char    *what,
                               GError       **error)
{
  JsonObject *object;
  JsonNode *file_node;
  JsonNode *credential_node;

  g_return_val_if_fail (SLUICE_IS_CONTEXT (self), NULL);
  g_return_val_if_fail (reference != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (what == NULL)
    what = "secret";

  if (!JSON_NODE_HOLDS_OBJECT (reference))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: secrets are not accepted inline; use {\"file\": ...} or {\"credential\": ...}",
                   what);
      return NULL;
    }

  object = json_node_get_object (reference);
  file_node = json_object_get_member (object, "file");
  credential_node = json_object_get_member (object, "credential");

  if (json_object_get_size (object) != 1 || (file_node == NULL && credential_node == NULL))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: a secret reference is {\"file\": PATH} or {\"credential\": NAME}", what);
      return NULL;
    }

  if (file_node != NULL)
    {
      const char *path;

      if (!JSON_NODE_HOLDS_VALUE (file_node) || json_node_get_value_type (file_node) != G_TYPE_STRING ||
          *(path = json_node_get_string (file_node)) == '\0')
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: \"file\" must be a path", what);
          return NULL;
        }
      return secret_read_file (path, what, error);
    }
  else
    {
      const char *name;
      g_autofree char *path = NULL;

      if (!JSON_NODE_HOLDS_VALUE (credential_node) ||
          json_node_get_value_type (credential_node) != G_TYPE_STRING ||
          !credential_name_is_valid (name = json_node_get_string (credential_node)))
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: \"credential\" must be a file name without '/'", what);
          return NULL;
        }
      if (self->credentials_dir == NULL || self->credentials_dir[0] == '\0')
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: credential '%s' asked for, but there is no credentials directory "
                       "(CREDENTIALS_DIRECTORY is not set)", what, name);
          return NULL;
        }

      path = g_build_filename (self->credentials_dir, name, NULL);
      return secret_read_file (path, what, error);
    }
}

/**
 * sluice_context_get_secret:
 * @self: a #SluiceContext
 * @connection: a connection name
 * @key: the member of the connection that references the secret
 * @error: return location for a #GError
 *
 * Reads the secret a connection references under @key, as
 * sluice_context_resolve_secret() does. A secret written inline in the
 * connection is refused.
 *
 * Returns: (transfer full): the secret, or %NULL with @error set
 */
GBytes *
sluice_context_get_secret (SluiceContext *self,
                           const char    *connection,
                           const char    *key,
                           GError       **error)
{
  JsonObject *object;
  JsonNode *reference;
  g_autofree char *what = NULL;

  g_return_val_if_fail (SLUICE_IS_CONTEXT (self), NULL);
  g_return_val_if_fail (connection != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  object = sluice_context_get_connection (self, connection, error);
  if (object == NULL)
    return NULL;

  reference = json_object_get_member (object, key);
  if (reference == NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_NOT_FOUND,
                   "connection '%s' has no key '%s'", connection, key);
      return NULL;
    }

  what = g_strdup_printf ("connection '%s', key '%s'", connection, key);
  return sluice_context_resolve_secret (self, reference, what, error);
}

static const char *
log_priority (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "3";
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return "4";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "5";
  if (level & G_LOG_LEVEL_INFO)
    return "6";
  return "7";
}

/**
 * sluice_log:
 * @context: (nullable): the component's context
 * @message: (nullable): the message the line is about
 * @level: the log level; %G_LOG_LEVEL_ERROR is logged as a warning with
 *   the journal priority of an error, so that a component cannot abort
 *   the daemon by logging
 * @format: printf-style format
 * @...: arguments for @format
 *
 * Logs a structured line in the "sluice" domain, prefixed with the
 * component's name and carrying its name (SLUICE_COMPONENT), the
 * message's id (SLUICE_MESSAGE_ID) and its trace id (SLUICE_TRACE_ID, if
 * it is part of a trace) as journal fields.
 */
void
sluice_log (SluiceContext *context,
            SluiceMessage *message,
            GLogLevelFlags level,
            const char    *format,
            ...)
{
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  g_autofree char *trace_id = NULL;
  GLogField fields[6];
  gsize n = 0;
  guint single;
  va_list args;

  g_return_if_fail (context == NULL || SLUICE_IS_CONTEXT (context));
  g_return_if_fail (message == NULL || SLUICE_IS_MESSAGE (message));
  g_return_if_fail (format != NULL);

  /* one level, the most severe one given; no fatal flags */
  single = (guint) level & G_LOG_LEVEL_MASK;
  single &= -single;
  level = single != 0 ? (GLogLevelFlags) single : G_LOG_LEVEL_MESSAGE;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  if (context != NULL)
    line = g_strdup_printf ("%s: %s", context->name, text);

  fields[n++] = (GLogField) { "MESSAGE", line != NULL ? line : text, -1 };
  fields[n++] = (GLogField) { "PRIORITY", log_priority (level), -1 };
  fields[n++] = (GLogField) { "GLIB_DOMAIN", "sluice", -1 };
  if (context != NULL)
    fields[n++] = (GLogField) { "SLUICE_COMPONENT", context->name, -1 };
  if (message != NULL)
    {
      fields[n++] = (GLogField) { "SLUICE_MESSAGE_ID", sluice_message_get_id (message), -1 };
      trace_id = sluice_message_dup_trace_id (message);
      if (trace_id != NULL)
        fields[n++] = (GLogField) { "SLUICE_TRACE_ID", trace_id, -1 };
    }

  if (level == G_LOG_LEVEL_ERROR)
    level = G_LOG_LEVEL_WARNING;

  g_log_structured_array (level, fields, n);
}
