/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "dbus-test-bus.h"
#include "sluice-test-fs.h"
#include "sluice-dbus-generated.h"

G_BEGIN_DECLS

#define SLUICE_BUS_NAME "org.sluice.Sluice1"
#define SLUICE_MANAGER_PATH "/org/sluice/Sluice1"
#define SLUICE_MANAGER_IFACE "org.sluice.Sluice1.Manager"
#define SLUICE_RUN_IFACE "org.sluice.Sluice1.Run"
#define SLUICE_BATCH_IFACE "org.sluice.Sluice1.Batch"

/* A manual workflow that needs "$.id" in its input: {"id": N} succeeds,
 * anything else fails at its node "shape" (malformed input: no retry,
 * dead-lettered). @name and @concurrency are string literals. */
/* clang-format off */
#define DBUS_TEST_OK_WORKFLOW(name, concurrency)                               \
  "{\"name\": \"" name "\", \"trigger\": {\"use\": \"core.manual\"},"          \
  " \"concurrency\": " concurrency ","                                         \
  " \"steps\": [{\"id\": \"shape\", \"use\": \"map\", \"with\":"               \
  " {\"fields\": {\"order\": \"$.id\"}, \"missing\": \"error\"}}]}"
/* clang-format on */

/* Runs the thread-default main context for @ms milliseconds: signals and
 * subprocess exits are seen meanwhile. */
void dbus_test_iterate (guint ms);

/* Polls @expr, running the main context between tries, until it holds or
 * @timeout_ms pass; then fails the test naming the expression. For
 * waiting on a daemon that gives no signal (a store polled every few
 * seconds), never a fixed sleep. */
#define DBUS_TEST_WAIT_UNTIL(expr, timeout_ms)                                                \
  G_STMT_START                                                                                \
  {                                                                                           \
    gint64 dbus_test_deadline_ = g_get_monotonic_time () +                                    \
                                 G_TIME_SPAN_MILLISECOND * (gint64) (timeout_ms);             \
    while (!(expr))                                                                           \
      {                                                                                       \
        if (g_get_monotonic_time () > dbus_test_deadline_)                                    \
          g_assertion_message_expr (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC,              \
                                    "timed out after " #timeout_ms " ms waiting for " #expr); \
        dbus_test_iterate (20);                                                               \
      }                                                                                       \
  }                                                                                           \
  G_STMT_END

/* Asserts that @error is the D-Bus error @name (as a client that knows
 * none of the daemon's error names sees it). */
#define dbus_test_assert_remote_error(error, name) \
  dbus_test_assert_remote_error_impl (__FILE__, __LINE__, G_STRFUNC, (error), (name))
void dbus_test_assert_remote_error_impl (const char   *file,
                                         int           line,
                                         const char   *func,
                                         const GError *error,
                                         const char   *name);


/* The lines of the file at @path; 0 when it does not exist (yet). */
guint dbus_test_count_lines (const char *path);

/* Writes @text to @path, replacing every "@DIR@" by @dir first. */
void dbus_test_write_file (const char *path,
                           const char *dir,
                           const char *text);

/* Runs @argv with DBUS_SYSTEM_BUS_ADDRESS set to @bus's address (and the
 * session bus unset), stdin empty, for at most 30 s. Returns its exit
 * status (128 + N when killed by signal N) and, when asked, what it
 * printed. The main context runs meanwhile. */
int dbus_test_run (DBusTestBus       *bus,
                   const char *const *argv,
                   char             **out_stdout,
                   char             **out_stderr);

/* As dbus_test_run(), then @env (NULL-terminated NAME, VALUE pairs; a
 * NULL VALUE unsets NAME; the list ends at a NULL NAME) on top. */
int dbus_test_run_with_env (DBusTestBus       *bus,
                            const char *const *argv,
                            const char *const *env,
                            char             **out_stdout,
                            char             **out_stderr);

/* Parses @text as JSON, failing the test (and showing @text) if it is not. */
JsonNode *dbus_test_parse_json (const char *text);

/* A fresh org.freedesktop.DBus.Properties.Get, not a proxy's cache. NULL
 * and @error set when the call fails. */
GVariant *dbus_test_get_property (GDBusConnection *connection,
                                  const char      *path,
                                  const char      *interface,
                                  const char      *property,
                                  GError         **error);

/* In an aa{sv}: the first dictionary whose @key is the string @value, or
 * NULL. */
GVariant *dbus_test_find_dict (GVariant   *list,
                               const char *key,
                               const char *value);

/* In an a{sv}: the string, uint32 or uint64 under @key; fails the test
 * when it is missing or of another type. */
const char *dbus_test_dict_string (GVariant   *dict,
                                   const char *key);
guint32     dbus_test_dict_uint32 (GVariant   *dict,
                                   const char *key);
guint64     dbus_test_dict_uint64 (GVariant   *dict,
                                   const char *key);
gint64      dbus_test_dict_int64 (GVariant   *dict,
                                  const char *key);

/* Every emission of one signal (interface and member) from
 * org.sluice.Sluice1, as it arrives in the main context. */
typedef struct
{
  char     *path;
  GVariant *parameters;
  gint64    received; /* monotonic */
} DBusTestSignal;

typedef struct _DBusTestSignals DBusTestSignals;

DBusTestSignals *dbus_test_signals_new (GDBusConnection *connection,
                                        const char      *interface,
                                        const char      *member);
/* How many arrived from @path (NULL: from any object). */
guint dbus_test_signals_count (DBusTestSignals *self,
                               const char      *path);
/* The @n-th (from 0) that arrived from @path (NULL: any), or NULL. */
const DBusTestSignal *dbus_test_signals_get (DBusTestSignals *self,
                                             const char      *path,
                                             guint            n);
void                  dbus_test_signals_free (DBusTestSignals *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DBusTestSignals, dbus_test_signals_free)

/* A sluiced on a test bus: its own folder (@DIR@ in workflow texts) with
 * sluice.conf, workflows/, connections/ and state/. Started with
 * "sluiced -c DIR/sluice.conf" and DBUS_SYSTEM_BUS_ADDRESS set to the
 * bus; it is up once it owns org.sluice.Sluice1. Its output goes to the
 * test's stderr. It dies with the test process. */
typedef struct _DBusTestSluiced DBusTestSluiced;

/* @redis: "none" or a redis:// URL. */
DBusTestSluiced *dbus_test_sluiced_new (DBusTestBus *bus,
                                        const char  *redis);

const char *dbus_test_sluiced_get_dir (DBusTestSluiced *self);
const char *dbus_test_sluiced_get_workflows_dir (DBusTestSluiced *self);

/* Whether the next start uses "sluiced --session": the bus is then the
 * daemon's session bus (DBUS_SESSION_BUS_ADDRESS) and its system bus
 * address leads nowhere. */
void dbus_test_sluiced_set_session (DBusTestSluiced *self,
                                    gboolean         session);

/* Sets "run_history" in sluice.conf for the next start; @signals
 * ("watched", "all") may be NULL for the default. */
void dbus_test_sluiced_set_run_history (DBusTestSluiced *self,
                                        guint            max,
                                        const char      *keep,
                                        const char      *signals);

/* Writes @json (with @DIR@ replaced) as workflows/@file. */
void dbus_test_sluiced_write_workflow (DBusTestSluiced *self,
                                       const char      *file,
                                       const char      *json);

/* The path of workflows/@file. */
char *dbus_test_sluiced_workflow_path (DBusTestSluiced *self,
                                       const char      *file);

/* Starts the daemon and waits until it owns its name; fails the test if
 * it exits first or takes longer than 30 s. */
void dbus_test_sluiced_start (DBusTestSluiced *self);

/* SIGTERM, then waits for it to exit; fails the test unless it exits
 * with status 0 and gives up its name. */
void dbus_test_sluiced_stop (DBusTestSluiced *self);

/* Whether the daemon was started and has not exited. */
gboolean dbus_test_sluiced_is_running (DBusTestSluiced *self);
/* SIGSTOP freezes the daemon (its calls time out), SIGCONT thaws it. */
void dbus_test_sluiced_send_signal (DBusTestSluiced *self,
                                    int              signum);

/* The test's own connection to the bus (also when the daemon is down). */
GDBusConnection *dbus_test_sluiced_get_connection (DBusTestSluiced *self);

/* A proxy for the Manager, made at start. */
SluiceDBusManager *dbus_test_sluiced_get_manager (DBusTestSluiced *self);

void dbus_test_sluiced_free (DBusTestSluiced *self);

/* A fixture's end: a daemon still running is stopped, and its clean stop
 * (exit 0, name released) checked, unless the test failed already; then
 * the daemon (may be NULL) and the bus are freed. */
void dbus_test_teardown (DBusTestSluiced **daemon,
                         DBusTestBus      **bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DBusTestSluiced, dbus_test_sluiced_free)

/* The sluicectl to run: $SLUICECTL, else the one built here (NULL when
 * none is built). */
const char *dbus_test_sluicectl_path (void);

/* The object path of run or batch @id, as the spec makes it. */
char *dbus_test_object_path (const char *kind,
                             const char *id);

/* Names of the workflows in a ListWorkflows reply, in order, as one
 * space-separated string (for assertions that show what was there). */
char *dbus_test_workflow_names (GVariant *workflows);

/* The "state" of workflow @name as ListWorkflows reports it, or NULL when
 * it is not listed. */
char *dbus_test_workflow_state (SluiceDBusManager *manager,
                                const char        *name);

/* Calls Trigger with @payload (its bytes, no terminating nul) and the
 * headers @headers (NULL-terminated key, value pairs, or NULL). Fails the
 * test when the call fails; returns the run's object path. */
char *dbus_test_trigger (SluiceDBusManager *manager,
                         const char        *workflow,
                         const char        *payload,
                         const char *const *headers);

/* Waits (up to @timeout_ms) for the Finished signal of the run at @path,
 * as recorded by @finished (subscribed before the run was triggered, so
 * the signal cannot have been missed). Returns its state argument. */
char *dbus_test_wait_run (DBusTestSignals *finished,
                          const char      *path,
                          guint            timeout_ms);

G_END_DECLS
