/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-dbus-service.h"

#include "sluice-dbus-batches.h"
#include "sluice-dbus-generated.h"

#define ERROR_PREFIX "org.sluice.Sluice1.Error."
#define INVALID_ARGUMENT ERROR_PREFIX "InvalidArgument"
#define LIST_DEFAULT 100
#define LIST_MAX 10000

struct _SluiceDBusService
{
  GObject parent_instance;

  SluiceEngine       *engine;
  SluiceWorkflowSet  *workflows;
  SluiceDeadLetters  *dead_letters;
  SluiceRunHistory   *runs;
  SluiceDBusManager  *skeleton;
  SluiceDBusBatches  *batches;     /* or NULL: no batch store */
  GDBusConnection    *connection;
  guint               owner_id;
  gulong              changed_handler;
};

G_DEFINE_FINAL_TYPE (SluiceDBusService, sluice_dbus_service, G_TYPE_OBJECT)

/* ---- Errors ---- */

/* The org.sluice.Sluice1.Error.* names of SLUICE_ERROR. */
static void
sluice_dbus_error_register (void)
{
  static gsize registered = 0;
  static const struct {
    SluiceError code;
    const char *name;
  } names[] = {
    { SLUICE_ERROR_FAILED, ERROR_PREFIX "Failed" },
    { SLUICE_ERROR_INVALID_CONFIG, ERROR_PREFIX "InvalidConfig" },
    { SLUICE_ERROR_INVALID_DATA, ERROR_PREFIX "InvalidData" },
    { SLUICE_ERROR_NOT_FOUND, ERROR_PREFIX "NotFound" },
    { SLUICE_ERROR_UNAVAILABLE, ERROR_PREFIX "Unavailable" },
    { SLUICE_ERROR_TIMEOUT, ERROR_PREFIX "Timeout" },
    { SLUICE_ERROR_PERMISSION_DENIED, ERROR_PREFIX "PermissionDenied" },
    { SLUICE_ERROR_PLUGIN, ERROR_PREFIX "Plugin" },
    { SLUICE_ERROR_INVALID_STATE, ERROR_PREFIX "InvalidState" },
    { SLUICE_ERROR_PERMANENT, ERROR_PREFIX "Permanent" },
    { SLUICE_ERROR_TOO_LARGE, ERROR_PREFIX "TooLarge" },
  };

  if (g_once_init_enter (&registered))
    {
      for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
        g_dbus_error_register_error (SLUICE_ERROR, names[i].code, names[i].name);
      g_once_init_leave (&registered, 1);
    }
}

/* Errors of other domains (a file that cannot be read, say) go out as
 * Failed with their message, not as GDBus's generic names. */
static void
return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  if (error->domain == SLUICE_ERROR)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_dbus_error (invocation, ERROR_PREFIX "Failed", error->message);
}

/* ---- Filters (a{sv}) ---- */

typedef struct {
  SluiceDeadLetterFilter filter;
  guint64                offset;
  guint                  limit;
} DeadLetterQuery;

static void
dead_letter_query_clear (DeadLetterQuery *query)
{
  g_free (query->filter.workflow);
  g_free (query->filter.node);
  g_free (query->filter.error_contains);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DeadLetterQuery, dead_letter_query_clear)

/* A non-negative integer of any D-Bus integer type. */
static gboolean
variant_get_number (GVariant *value, guint64 *out_number)
{
  gint64 signed_value;

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    {
      *out_number = g_variant_get_uint64 (value);
      return TRUE;
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    signed_value = g_variant_get_uint32 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT16))
    signed_value = g_variant_get_uint16 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE))
    signed_value = g_variant_get_byte (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    signed_value = g_variant_get_int64 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    signed_value = g_variant_get_int32 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT16))
    signed_value = g_variant_get_int16 (value);
  else
    return FALSE;
  if (signed_value < 0)
    return FALSE;
  *out_number = (guint64) signed_value;
  return TRUE;
}

/* Fills @query from @filter; unknown keys and wrong types are refused by
 * name, so that a typo does not widen a purge. */
static gboolean
dead_letter_query_parse (GVariant *filter, gboolean paged, DeadLetterQuery *query, char **problem)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  memset (query, 0, sizeof *query);
  query->limit = LIST_DEFAULT;
  g_variant_iter_init (&iter, filter);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      const char *want = NULL;
      guint64 number = 0;

      if (g_str_equal (key, "workflow") || g_str_equal (key, "node") ||
          g_str_equal (key, "error_contains"))
        want = "s";
      else if (g_str_equal (key, "since") || g_str_equal (key, "until"))
        want = "t";
      else if (paged && (g_str_equal (key, "offset") || g_str_equal (key, "limit")))
        want = "t";
      if (want == NULL)
        {
          *problem = g_strdup_printf ("filter: unknown key '%s'", key);
          return FALSE;
        }
      /* Any integer type will do for numbers: "gdbus call" sends int32. */
      if (g_str_equal (want, "s") ? !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
                                  : !variant_get_number (value, &number))
        {
          *problem = g_strdup_printf ("filter: '%s' must be %s, not %s", key,
                                      g_str_equal (want, "s") ? "a string (s)"
                                                              : "a non-negative integer",
                                      g_variant_print (value, TRUE));
          return FALSE;
        }
      if (g_str_equal (key, "workflow"))
        {
          g_free (query->filter.workflow);
          query->filter.workflow = g_variant_dup_string (value, NULL);
        }
      else if (g_str_equal (key, "node"))
        {
          g_free (query->filter.node);
          query->filter.node = g_variant_dup_string (value, NULL);
        }
      else if (g_str_equal (key, "error_contains"))
        {
          g_free (query->filter.error_contains);
          query->filter.error_contains = g_variant_dup_string (value, NULL);
        }
      else if (g_str_equal (key, "since"))
        query->filter.since_usec = (gint64) MIN (number, G_MAXINT64);
      else if (g_str_equal (key, "until"))
        query->filter.until_usec = (gint64) MIN (number, G_MAXINT64);
      else if (g_str_equal (key, "offset"))
        query->offset = number;
      else if (g_str_equal (key, "limit"))
        query->limit = (guint) MIN (number, LIST_MAX);
    }
  if (query->limit == 0)
    query->limit = LIST_DEFAULT;
  return TRUE;
}

/* ---- Workflows ---- */

static gboolean
on_handle_list_workflows (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                          gpointer user_data)
{
  SluiceDBusService *self = user_data;
  g_autoptr(GPtrArray) workflows = sluice_workflow_set_list (self->workflows);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < workflows->len; i++)
    {
      SluiceWorkflow *workflow = g_ptr_array_index (workflows, i);
      const char *name = sluice_workflow_get_name (workflow);
      const char *description = sluice_workflow_get_description (workflow);
      SluiceWorkflowState state = SLUICE_WORKFLOW_DISABLED;
      GVariantDict dict;

      sluice_workflow_set_get_state (self->workflows, name, &state, NULL);
      g_variant_dict_init (&dict, NULL);
      g_variant_dict_insert (&dict, "name", "s", name);
      g_variant_dict_insert (&dict, "path", "s", sluice_workflow_get_path (workflow));
      g_variant_dict_insert (&dict, "state", "s", sluice_workflow_state_to_string (state));
      g_variant_dict_insert (&dict, "trigger", "s",
                             sluice_component_factory_get_name (
                               sluice_workflow_get_trigger_factory (workflow)));
      g_variant_dict_insert (&dict, "concurrency", "u", sluice_workflow_get_concurrency (workflow));
      g_variant_dict_insert (&dict, "running", "u", sluice_engine_get_running (self->engine, name));
      g_variant_dict_insert (&dict, "waiting", "u", sluice_engine_get_waiting (self->engine, name));
      if (description != NULL)
        g_variant_dict_insert (&dict, "description", "s", description);
      g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
    }
  sluice_dbus_manager_complete_list_workflows (skeleton, invocation,
                                               g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_load_workflow (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                         const char *path, gpointer user_data)
{
  SluiceDBusService *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *canonical = NULL;
  g_autofree char *name = NULL;

  if (!g_path_is_absolute (path))
    {
      g_dbus_method_invocation_return_dbus_error (invocation, INVALID_ARGUMENT,
                                                  "LoadWorkflow needs an absolute path, not a "
                                                  "path relative to the daemon's folder");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  canonical = g_canonicalize_filename (path, NULL);
  name = sluice_workflow_set_load_file (self->workflows, canonical, &error);
  if (name == NULL)
    return_error (invocation, error);
  else
    sluice_dbus_manager_complete_load_workflow (skeleton, invocation, name);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_reload_workflows (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                            gpointer user_data)
{
  SluiceDBusService *self = user_data;
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GHashTable) failed = NULL;
  GVariantBuilder failures;
  GHashTableIter iter;
  const char *file, *message;

  sluice_workflow_set_reload (self->workflows, &loaded, &removed, &failed);
  g_ptr_array_add (loaded, NULL);
  g_ptr_array_add (removed, NULL);
  g_variant_builder_init (&failures, G_VARIANT_TYPE ("a{ss}"));
  g_hash_table_iter_init (&iter, failed);
  while (g_hash_table_iter_next (&iter, (gpointer *) &file, (gpointer *) &message))
    g_variant_builder_add (&failures, "{ss}", file, message);
  sluice_dbus_manager_complete_reload_workflows (skeleton, invocation,
                                                 (const char * const *) loaded->pdata,
                                                 (const char * const *) removed->pdata,
                                                 g_variant_builder_end (&failures));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef enum {
  WORKFLOW_ENABLE,
  WORKFLOW_DISABLE,
  WORKFLOW_PAUSE,
  WORKFLOW_RESUME,
} WorkflowAction;

/* Enable, Disable, Pause, Resume: one name in, nothing out. */
static gboolean
handle_workflow_action (SluiceDBusService *self, GDBusMethodInvocation *invocation,
                        const char *name, WorkflowAction action)
{
  g_autoptr(GError) error = NULL;
  gboolean done = FALSE;

  switch (action)
    {
    case WORKFLOW_ENABLE:
      done = sluice_workflow_set_enable (self->workflows, name, &error);
      break;
    case WORKFLOW_DISABLE:
      done = sluice_workflow_set_disable (self->workflows, name, &error);
      break;
    case WORKFLOW_PAUSE:
    case WORKFLOW_RESUME:
      done = sluice_workflow_set_pause (self->workflows, name, action == WORKFLOW_PAUSE, &error);
      break;
    }
  if (!done)
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_enable_workflow (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                           const char *name, gpointer user_data)
{
  return handle_workflow_action (user_data, invocation, name, WORKFLOW_ENABLE);
}

static gboolean
on_handle_disable_workflow (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                            const char *name, gpointer user_data)
{
  return handle_workflow_action (user_data, invocation, name, WORKFLOW_DISABLE);
}

static gboolean
on_handle_pause_workflow (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                          const char *name, gpointer user_data)
{
  return handle_workflow_action (user_data, invocation, name, WORKFLOW_PAUSE);
}

static gboolean
on_handle_resume_workflow (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                           const char *name, gpointer user_data)
{
  return handle_workflow_action (user_data, invocation, name, WORKFLOW_RESUME);
}

static gboolean
on_handle_trigger (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                   const char *workflow, GVariant *payload, GVariant *headers, gpointer user_data)
{
  SluiceDBusService *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluiceEvent) event = NULL;
  g_autofree char *run_id = NULL;
  g_autofree char *path = NULL;
  const char *content_type = NULL;
  SluiceWorkflowState state;
  GVariantIter iter;
  const char *name, *value;
  gsize size;
  gconstpointer data;

  if (!sluice_workflow_set_get_state (self->workflows, workflow, &state, &error))
    {
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (state != SLUICE_WORKFLOW_RUNNING)
    {
      g_dbus_method_invocation_return_error (invocation, SLUICE_ERROR, SLUICE_ERROR_INVALID_STATE,
                                             "workflow '%s' is %s: resume or enable it first",
                                             workflow, sluice_workflow_state_to_string (state));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  g_variant_lookup (headers, "content-type", "&s", &content_type);
  data = g_variant_get_fixed_array (payload, &size, 1);
  body = g_bytes_new (data, size);
  message = sluice_message_new_bytes (body, content_type);
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "{&s&s}", &name, &value))
    {
      if (g_str_equal (name, "content-type"))
        continue;
      /* The caller's trace goes on through the run. */
      if (g_ascii_strcasecmp (name, "traceparent") == 0)
        {
          if (!sluice_message_set_traceparent (message, value))
            {
              g_dbus_method_invocation_return_dbus_error (invocation, INVALID_ARGUMENT,
                                                          "headers: 'traceparent' is not a W3C "
                                                          "trace context (00-TRACE-SPAN-FLAGS)");
              return G_DBUS_METHOD_INVOCATION_HANDLED;
            }
          continue;
        }
      sluice_message_set_header (message, name, value);
    }

  event = sluice_event_new (message);
  run_id = sluice_engine_inject (self->engine, workflow, event, &error);
  if (run_id == NULL)
    {
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sluice_run_history_add_queued (self->runs, workflow, run_id);
  g_message ("workflow '%s' triggered over D-Bus by %s: run %s", workflow,
             g_dbus_method_invocation_get_sender (invocation), run_id);
  path = sluice_run_history_dup_path (run_id);
  sluice_dbus_manager_complete_trigger (skeleton, invocation, path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_list_runs (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                     GVariant *filter, gpointer user_data)
{
  SluiceDBusService *self = user_data;
  const char *workflow = NULL;
  const char *state = NULL;
  guint32 limit = LIST_DEFAULT;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, filter);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      gboolean is_limit = g_str_equal (key, "limit");
      gboolean is_string = g_str_equal (key, "workflow") || g_str_equal (key, "state");
      guint64 number = 0;

      if ((!is_limit && !is_string) ||
          (is_string && !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)) ||
          (is_limit && !variant_get_number (value, &number)))
        {
          g_dbus_method_invocation_return_dbus_error (
            invocation, INVALID_ARGUMENT,
            !is_limit && !is_string ? "filter: unknown key (expected workflow, state, limit)"
                                    : "filter: workflow and state are strings, limit a "
                                      "non-negative integer");
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
      if (is_limit)
        limit = (guint32) MIN (number, G_MAXUINT32);
      else if (g_str_equal (key, "workflow"))
        workflow = g_variant_get_string (value, NULL);
      else
        state = g_variant_get_string (value, NULL);
    }
  if (limit == 0)
    limit = LIST_DEFAULT;
  sluice_dbus_manager_complete_list_runs (skeleton, invocation,
                                          sluice_run_history_list (self->runs, workflow, state,
                                                                   MIN (limit, LIST_MAX)));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- Batches ---- */

static void
on_batches_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  SluiceDBusManager *skeleton = g_object_get_data (G_OBJECT (invocation), "sluice-manager");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) batches = sluice_dbus_batches_list_finish (SLUICE_DBUS_BATCHES (source),
                                                                 result, &error);

  if (batches == NULL)
    return_error (invocation, error);
  else
    sluice_dbus_manager_complete_list_batches (skeleton, invocation, batches);
}

static gboolean
on_handle_list_batches (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                        gpointer user_data)
{
  SluiceDBusService *self = user_data;

  if (self->batches == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, SLUICE_ERROR, SLUICE_ERROR_UNAVAILABLE,
                                             "sluiced runs without a batch store (\"redis\": "
                                             "\"none\" in sluice.conf)");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_object_set_data_full (G_OBJECT (invocation), "sluice-manager", g_object_ref (skeleton),
                          g_object_unref);
  sluice_dbus_batches_list_async (self->batches, NULL, on_batches_listed, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- Dead letters ---- */

static void
dead_letter_fill (GVariantDict *dict, const SluiceDeadLetter *letter)
{
  g_variant_dict_insert (dict, "id", "s", letter->id);
  g_variant_dict_insert (dict, "workflow", "s", letter->workflow);
  g_variant_dict_insert (dict, "node", "s", letter->node != NULL ? letter->node : "");
  g_variant_dict_insert (dict, "error", "s", letter->error != NULL ? letter->error : "");
  g_variant_dict_insert (dict, "source", "s", letter->source != NULL ? letter->source : "");
  g_variant_dict_insert (dict, "trace_id", "s", letter->trace_id != NULL ? letter->trace_id : "");
  g_variant_dict_insert (dict, "content_type", "s",
                         letter->content_type != NULL ? letter->content_type : "");
  g_variant_dict_insert (dict, "attempts", "u", letter->attempts);
  g_variant_dict_insert (dict, "first", "x", letter->first_usec);
  g_variant_dict_insert (dict, "last", "x", letter->last_usec);
  if (letter->payload != NULL)
    g_variant_dict_insert (dict, "size", "t", (guint64) g_bytes_get_size (letter->payload));
}

static void
on_dead_letters_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  SluiceDBusManager *skeleton = g_object_get_data (G_OBJECT (invocation), "sluice-manager");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) letters = sluice_dead_letters_list_finish (SLUICE_DEAD_LETTERS (source),
                                                                 result, &error);
  GVariantBuilder builder;

  if (letters == NULL)
    {
      return_error (invocation, error);
      return;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < letters->len; i++)
    {
      GVariantDict dict;

      g_variant_dict_init (&dict, NULL);
      dead_letter_fill (&dict, g_ptr_array_index (letters, i));
      g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
    }
  sluice_dbus_manager_complete_list_dead_letters (skeleton, invocation,
                                                  g_variant_builder_end (&builder));
}

static gboolean
on_handle_list_dead_letters (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                             GVariant *filter, gpointer user_data)
{
  SluiceDBusService *self = user_data;
  g_auto(DeadLetterQuery) query = { 0 };
  g_autofree char *problem = NULL;

  if (!dead_letter_query_parse (filter, TRUE, &query, &problem))
    {
      g_dbus_method_invocation_return_dbus_error (invocation, INVALID_ARGUMENT, problem);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_object_set_data_full (G_OBJECT (invocation), "sluice-manager", g_object_ref (skeleton),
                          g_object_unref);
  sluice_dead_letters_list_async (self->dead_letters, &query.filter, query.offset, query.limit,
                                  NULL, on_dead_letters_listed, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_dead_letter_got (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  SluiceDBusManager *skeleton = g_object_get_data (G_OBJECT (invocation), "sluice-manager");
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceDeadLetter) letter = sluice_dead_letters_get_finish (SLUICE_DEAD_LETTERS (source),
                                                                      result, &error);
  GVariantBuilder headers;
  GVariantDict dict;

  if (letter == NULL)
    {
      return_error (invocation, error);
      return;
    }
  g_variant_dict_init (&dict, NULL);
  dead_letter_fill (&dict, letter);
  if (letter->payload != NULL)
    g_variant_dict_insert_value (&dict, "payload",
                                 g_variant_new_from_bytes (G_VARIANT_TYPE ("ay"), letter->payload,
                                                           TRUE));
  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; letter->headers != NULL && letter->headers[i] != NULL &&
                    letter->headers[i + 1] != NULL; i += 2)
    g_variant_builder_add (&headers, "(ss)", letter->headers[i], letter->headers[i + 1]);
  g_variant_dict_insert_value (&dict, "headers", g_variant_builder_end (&headers));
  sluice_dbus_manager_complete_get_dead_letter (skeleton, invocation, g_variant_dict_end (&dict));
}

static gboolean
on_handle_get_dead_letter (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                           const char *id, gpointer user_data)
{
  SluiceDBusService *self = user_data;

  g_object_set_data_full (G_OBJECT (invocation), "sluice-manager", g_object_ref (skeleton),
                          g_object_unref);
  sluice_dead_letters_get_async (self->dead_letters, id, NULL, on_dead_letter_got, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_dead_letters_replayed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  SluiceDBusManager *skeleton = g_object_get_data (G_OBJECT (invocation), "sluice-manager");
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  guint64 replayed = 0, skipped = 0;

  if (!sluice_dead_letters_replay_finish (SLUICE_DEAD_LETTERS (source), result, &replayed,
                                          &skipped, &reason, &error))
    {
      return_error (invocation, error);
      return;
    }
  g_message ("%" G_GUINT64_FORMAT " dead letter(s) replayed over D-Bus by %s, %" G_GUINT64_FORMAT
             " skipped", replayed, g_dbus_method_invocation_get_sender (invocation), skipped);
  sluice_dbus_manager_complete_replay_dead_letters (skeleton, invocation, replayed, skipped,
                                                    reason != NULL ? reason : "");
}

static void
on_dead_letters_purged (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  SluiceDBusManager *skeleton = g_object_get_data (G_OBJECT (invocation), "sluice-manager");
  g_autoptr(GError) error = NULL;
  guint64 removed = 0;

  if (!sluice_dead_letters_purge_finish (SLUICE_DEAD_LETTERS (source), result, &removed, &error))
    {
      return_error (invocation, error);
      return;
    }
  g_message ("%" G_GUINT64_FORMAT " dead letter(s) purged over D-Bus by %s", removed,
             g_dbus_method_invocation_get_sender (invocation));
  sluice_dbus_manager_complete_purge_dead_letters (skeleton, invocation, removed);
}

/* Replay and purge: ids, or else the filter (empty: all). */
static gboolean
handle_dead_letter_change (SluiceDBusService *self, SluiceDBusManager *skeleton,
                           GDBusMethodInvocation *invocation, const char * const *ids,
                           GVariant *filter, gboolean replay)
{
  g_auto(DeadLetterQuery) query = { 0 };
  g_autofree char *problem = NULL;
  const char * const *by_id = ids != NULL && ids[0] != NULL ? ids : NULL;

  if (!dead_letter_query_parse (filter, FALSE, &query, &problem))
    {
      g_dbus_method_invocation_return_dbus_error (invocation, INVALID_ARGUMENT, problem);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (by_id != NULL && g_variant_n_children (filter) > 0)
    {
      g_dbus_method_invocation_return_dbus_error (invocation, INVALID_ARGUMENT,
                                                  "give dead letter ids or a filter, not both");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_object_set_data_full (G_OBJECT (invocation), "sluice-manager", g_object_ref (skeleton),
                          g_object_unref);
  if (replay)
    sluice_dead_letters_replay_async (self->dead_letters, by_id, &query.filter, NULL,
                                      on_dead_letters_replayed, invocation);
  else
    sluice_dead_letters_purge_async (self->dead_letters, by_id, &query.filter, NULL,
                                     on_dead_letters_purged, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_replay_dead_letters (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                               const char * const *ids, GVariant *filter, gpointer user_data)
{
  return handle_dead_letter_change (user_data, skeleton, invocation, ids, filter, TRUE);
}

static gboolean
on_handle_purge_dead_letters (SluiceDBusManager *skeleton, GDBusMethodInvocation *invocation,
                              const char * const *ids, GVariant *filter, gpointer user_data)
{
  return handle_dead_letter_change (user_data, skeleton, invocation, ids, filter, FALSE);
}

/* ---- Properties ---- */

static GVariant *
plugins_variant (SluicePluginHost *host)
{
  GPtrArray *plugins = sluice_plugin_host_get_plugins (host);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sssa(ss))"));
  for (guint i = 0; i < plugins->len; i++)
    {
      SluicePlugin *plugin = g_ptr_array_index (plugins, i);
      GPtrArray *components = sluice_plugin_get_components (plugin);
      GVariantBuilder list;

      g_variant_builder_init (&list, G_VARIANT_TYPE ("a(ss)"));
      for (guint c = 0; c < components->len; c++)
        {
          SluiceComponentFactory *factory = g_ptr_array_index (components, c);

          g_variant_builder_add (&list, "(ss)", sluice_component_factory_get_name (factory),
                                 sluice_component_kind_to_string (
                                   sluice_component_factory_get_kind (factory)));
        }
      g_variant_builder_add (&builder, "(sssa(ss))", sluice_plugin_get_name (plugin),
                             sluice_plugin_get_version (plugin),
                             sluice_plugin_get_path (plugin) != NULL ? sluice_plugin_get_path (plugin)
                                                                     : "built-in",
                             &list);
    }
  return g_variant_builder_end (&builder);
}

static void
on_workflows_changed (SluiceWorkflowSet *workflows, gpointer user_data)
{
  SluiceDBusService *self = user_data;

  sluice_dbus_manager_emit_workflows_changed (self->skeleton);
}

/* ---- The bus ---- */

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  SluiceDBusService *self = user_data;
  g_autoptr(GError) error = NULL;

  self->connection = g_object_ref (connection);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         SLUICE_DBUS_PATH, &error))
    {
      g_warning ("D-Bus: %s not exported: %s", SLUICE_DBUS_PATH, error->message);
      return;
    }
  if (!sluice_run_history_export (self->runs, connection, &error))
    {
      g_warning ("D-Bus: run objects not exported: %s", error->message);
      g_clear_error (&error);
    }
  if (self->batches != NULL)
    sluice_dbus_batches_export (self->batches, connection);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  g_message ("control API on D-Bus as %s", name);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  /* Runs go on without their API: integration matters more than control. */
  if (connection == NULL)
    g_warning ("D-Bus: no bus to publish %s on; running without the control API", name);
  else
    g_warning ("D-Bus: the name %s is owned by another process or refused by the bus policy; "
               "running without the control API", name);
}

void
sluice_dbus_service_start (SluiceDBusService *self,
                           GBusType           bus_type)
{
  g_return_if_fail (SLUICE_IS_DBUS_SERVICE (self));
  g_return_if_fail (self->owner_id == 0);

  self->owner_id = g_bus_own_name (bus_type, SLUICE_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                   on_bus_acquired, on_name_acquired, on_name_lost, self, NULL);
}

void
sluice_dbus_service_stop (SluiceDBusService *self)
{
  g_return_if_fail (SLUICE_IS_DBUS_SERVICE (self));

  g_clear_handle_id (&self->owner_id, g_bus_unown_name);
  if (self->batches != NULL)
    sluice_dbus_batches_unexport (self->batches);
  sluice_run_history_unexport (self->runs);
  if (self->connection != NULL)
    {
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
      /* Replies and signals queued so far still go out. */
      g_dbus_connection_flush_sync (self->connection, NULL, NULL);
      g_clear_object (&self->connection);
    }
}

/* ---- GObject ---- */

static void
sluice_dbus_service_dispose (GObject *object)
{
  SluiceDBusService *self = SLUICE_DBUS_SERVICE (object);

  if (self->skeleton != NULL)
    sluice_dbus_service_stop (self);
  if (self->workflows != NULL)
    g_clear_signal_handler (&self->changed_handler, self->workflows);
  G_OBJECT_CLASS (sluice_dbus_service_parent_class)->dispose (object);
}

static void
sluice_dbus_service_finalize (GObject *object)
{
  SluiceDBusService *self = SLUICE_DBUS_SERVICE (object);

  g_clear_object (&self->skeleton);
  g_clear_object (&self->batches);
  g_clear_object (&self->engine);
  g_clear_object (&self->workflows);
  g_clear_object (&self->dead_letters);
  g_clear_object (&self->runs);
  G_OBJECT_CLASS (sluice_dbus_service_parent_class)->finalize (object);
}

static void
sluice_dbus_service_class_init (SluiceDBusServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_dbus_service_dispose;
  object_class->finalize = sluice_dbus_service_finalize;
  sluice_dbus_error_register ();
}

static void
sluice_dbus_service_init (SluiceDBusService *self)
{
}

SluiceDBusService *
sluice_dbus_service_new (SluicePluginHost   *host,
                         SluiceEngine       *engine,
                         SluiceWorkflowSet  *workflows,
                         SluiceDeadLetters  *dead_letters,
                         SluiceBatchManager *manager,
                         SluiceRunHistory   *runs,
                         SluiceClock        *clock)
{
  SluiceDBusService *self;
  static const struct {
    const char *signal;
    GCallback   handler;
  } handlers[] = {
    { "handle-list-workflows", G_CALLBACK (on_handle_list_workflows) },
    { "handle-load-workflow", G_CALLBACK (on_handle_load_workflow) },
    { "handle-reload-workflows", G_CALLBACK (on_handle_reload_workflows) },
    { "handle-enable-workflow", G_CALLBACK (on_handle_enable_workflow) },
    { "handle-disable-workflow", G_CALLBACK (on_handle_disable_workflow) },
    { "handle-pause-workflow", G_CALLBACK (on_handle_pause_workflow) },
    { "handle-resume-workflow", G_CALLBACK (on_handle_resume_workflow) },
    { "handle-trigger", G_CALLBACK (on_handle_trigger) },
    { "handle-list-runs", G_CALLBACK (on_handle_list_runs) },
    { "handle-list-batches", G_CALLBACK (on_handle_list_batches) },
    { "handle-list-dead-letters", G_CALLBACK (on_handle_list_dead_letters) },
    { "handle-get-dead-letter", G_CALLBACK (on_handle_get_dead_letter) },
    { "handle-replay-dead-letters", G_CALLBACK (on_handle_replay_dead_letters) },
    { "handle-purge-dead-letters", G_CALLBACK (on_handle_purge_dead_letters) },
  };

  g_return_val_if_fail (SLUICE_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (SLUICE_IS_WORKFLOW_SET (workflows), NULL);
  g_return_val_if_fail (SLUICE_IS_DEAD_LETTERS (dead_letters), NULL);
  g_return_val_if_fail (manager == NULL || SLUICE_IS_BATCH_MANAGER (manager), NULL);
  g_return_val_if_fail (SLUICE_IS_RUN_HISTORY (runs), NULL);

  self = g_object_new (SLUICE_TYPE_DBUS_SERVICE, NULL);
  self->engine = g_object_ref (engine);
  self->workflows = g_object_ref (workflows);
  self->dead_letters = g_object_ref (dead_letters);
  self->runs = g_object_ref (runs);
  if (manager != NULL)
    self->batches = sluice_dbus_batches_new (manager, clock);

  self->skeleton = sluice_dbus_manager_skeleton_new ();
  sluice_dbus_manager_set_version (self->skeleton, SLUICE_VERSION_STRING);
  sluice_dbus_manager_set_plugins (self->skeleton, plugins_variant (host));
  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_connect (self->skeleton, handlers[i].signal, handlers[i].handler, self);
  self->changed_handler = g_signal_connect (workflows, "changed",
                                            G_CALLBACK (on_workflows_changed), self);
  return self;
}
