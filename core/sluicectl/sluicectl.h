/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sluice-dbus-generated.h"

G_BEGIN_DECLS

#define SLUICECTL_BUS_NAME "org.sluice.Sluice1"
#define SLUICECTL_MANAGER_PATH "/org/sluice/Sluice1"
#define SLUICECTL_RUNS_PATH "/org/sluice/Sluice1/runs"
#define SLUICECTL_BATCHES_PATH "/org/sluice/Sluice1/batches"
#define SLUICECTL_RUN_IFACE "org.sluice.Sluice1.Run"
#define SLUICECTL_BATCH_IFACE "org.sluice.Sluice1.Batch"

/* ---- Exit codes, and the error domain whose codes are exit codes ---- */

/* The exit status of every command; documented in `sluicectl --help`. */
typedef enum
{
  SLUICECTL_EXIT_OK = 0,
  SLUICECTL_EXIT_FAILED = 1,
  SLUICECTL_EXIT_USAGE = 2,
  SLUICECTL_EXIT_NOT_FOUND = 3,
  SLUICECTL_EXIT_PERMISSION_DENIED = 4,
  SLUICECTL_EXIT_UNREACHABLE = 5,
  SLUICECTL_EXIT_INVALID_STATE = 6,
  SLUICECTL_EXIT_INVALID_INPUT = 7,
  SLUICECTL_EXIT_TIMED_OUT = 8,
} SluicectlExit;

/* Errors sluicectl raises itself; the code is the exit status. */
#define SLUICECTL_ERROR (sluicectl_error_quark ())
GQuark sluicectl_error_quark (void);

int sluicectl_error_to_exit (const GError *error);
/* Prints "sluicectl: WHAT: MESSAGE" (the remote error name stripped) and
 * returns the exit status for @error. */
int sluicectl_report_error (const GError *error,
                            const char   *what_format,
                            ...) G_GNUC_PRINTF (2, 3);
/* The object is not there: a path nobody exports, or NotFound. */
gboolean sluicectl_error_is_missing_object (const GError *error);
/* As sluicectl_report_error(), with "no KIND 'ID'" for a path nobody
 * exports. */
int sluicectl_report_object_error (const GError *error,
                                   const char   *what,
                                   const char   *kind,
                                   const char   *id);
int sluicectl_usage_error (const char *format,
                           ...) G_GNUC_PRINTF (1, 2);

/* ---- The session: global options and the bus ---- */

typedef struct
{
  /* global options */
  gboolean json;
  gboolean session;
  char    *address;
  int      timeout_secs;

  GDBusConnection   *connection;
  SluiceDBusManager *manager;
  char              *owner; /* sluiced's unique name */
} SluicectlContext;

void sluicectl_context_clear (SluicectlContext *ctl);

int sluicectl_timeout_msec (SluicectlContext *ctl);

/* Runs the default main context until *@slot is set by
 * sluicectl_on_ready(); returns it (owned). */
GAsyncResult *sluicectl_await (GAsyncResult **slot);
void          sluicectl_on_ready (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data);

/* The manager proxy (connecting first); NULL with an error whose exit
 * code is SLUICECTL_EXIT_UNREACHABLE when the bus or sluiced is not there. */
SluiceDBusManager *sluicectl_get_manager (SluicectlContext *ctl,
                                          GError          **error);
SluiceDBusBatch   *sluicectl_get_batch (SluicectlContext *ctl,
                                        const char       *object_path,
                                        GError          **error);
/* sluiced's unique name on the bus (for signal subscriptions). */
const char *sluicectl_daemon_owner (SluicectlContext *ctl);

/* org.freedesktop.DBus.Properties.GetAll: an a{sv}. */
GVariant *sluicectl_get_all_properties (SluicectlContext *ctl,
                                        const char       *object_path,
                                        const char       *interface,
                                        GError          **error);

/* "/org/sluice/Sluice1/batches/" + the escaped id; an argument that is
 * already an object path under @base is taken as is. */
char *sluicectl_object_path (const char *base,
                             const char *id_or_path,
                             GError    **error);
/* The id in the last element of @object_path. */
char *sluicectl_id_from_path (const char *object_path);

/* ---- Output ---- */

/* ISO 8601 UTC, second precision ("2026-11-27T10:00:00Z"), "-" for 0. */
char *sluicectl_format_time (gint64 usec);
/* Full precision for JSON; NULL for 0. */
char *sluicectl_format_time_json (gint64 usec);
/* "850ms", "12.3s", "4m05s", "2h03m", "3d04h". */
char *sluicectl_format_duration (gint64 usec);

typedef struct _SluicectlTable SluicectlTable;
SluicectlTable                *sluicectl_table_new (const char *first_header,
                                                    ...) G_GNUC_NULL_TERMINATED;
void                           sluicectl_table_add_row (SluicectlTable *self,
                                                        const char     *first_cell,
                                                        ...) G_GNUC_NULL_TERMINATED;
/* Takes ownership of @cells, a NULL-terminated array. */
void sluicectl_table_take_row (SluicectlTable *self,
                               char          **cells);
/* Takes ownership of @line, printed as is under the last row added. */
void  sluicectl_table_add_detail (SluicectlTable *self,
                                  char           *line);
guint sluicectl_table_get_n_rows (SluicectlTable *self);
void  sluicectl_table_print (SluicectlTable *self);
void  sluicectl_table_free (SluicectlTable *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluicectlTable, sluicectl_table_free)

/* A D-Bus value as JSON: strings and object paths as strings, integers and
 * doubles as numbers, booleans, ay as base64, a{s*} as objects, other
 * arrays and tuples as arrays. @key names the dictionary entry @value came
 * from: times ("started", "created", ...) become ISO 8601 strings or null. */
JsonNode *sluicectl_variant_to_json (const char *key,
                                     GVariant   *value);
/* An a{sv} as a JSON object, keys sorted. */
JsonNode *sluicectl_vardict_to_json (GVariant *dict);
/* An aa{sv} as a JSON array of objects. */
JsonNode *sluicectl_vardict_list_to_json (GVariant *list);
/* Prints a JSON document (pretty) or, with @one_line, one compact line. */
void sluicectl_print_json (JsonNode *node,
                           gboolean  one_line);

/* Dictionary look-ups with a default. */
const char *sluicectl_dict_string (GVariant   *dict,
                                   const char *key,
                                   const char *fallback);
guint64     sluicectl_dict_uint (GVariant   *dict,
                                 const char *key);
gint64      sluicectl_dict_int (GVariant   *dict,
                                const char *key);
gboolean    sluicectl_dict_bool (GVariant   *dict,
                                 const char *key);
/* A property name as a dictionary key of the List* methods:
 * "TraceId" → "trace_id". */
char *sluicectl_property_key (const char *property);
/* First line of @text, for one table cell. */
char *sluicectl_first_line (const char *text);

/* ---- Commands ---- */

typedef int (*SluicectlCommandFunc) (SluicectlContext *ctl,
                                     char            **args);

typedef struct
{
  const char          *group; /* "workflow", "batch", ... or NULL */
  const char          *name;
  const char          *parameters; /* for the usage line */
  const char          *summary;
  const GOptionEntry  *entries; /* NULL: no options of its own */
  int                  min_args;
  int                  max_args; /* -1: no limit */
  SluicectlCommandFunc func;
} SluicectlCommand;

extern const SluicectlCommand sluicectl_status_commands[];
extern const SluicectlCommand sluicectl_workflow_commands[];
extern const SluicectlCommand sluicectl_run_commands[];
extern const SluicectlCommand sluicectl_batch_commands[];
extern const SluicectlCommand sluicectl_dead_letter_commands[];
extern const SluicectlCommand sluicectl_cron_commands[];

int sluicectl_batch_watch (SluicectlContext *ctl,
                           char            **args);

G_END_DECLS
