/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may do what, as data/dbus/org.sluice.Sluice1.conf says on a bus
 * shaped like the system bus: everyone reads (properties, introspection,
 * the List* methods), root and the group "sluice" change things, only root
 * owns the name. Clients run as "nobody" through setpriv, so these tests
 * need root; as another user they skip. */
#include <grp.h>
#include <string.h>

#include "dbus-test-util.h"
#include "redis-test-server.h"

#define RUN_TIMEOUT_MS 20000
#define ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"

#define OK_WORKFLOW(name) DBUS_TEST_OK_WORKFLOW (name, "1")

typedef enum
{
  AS_NOBODY,
  AS_NOBODY_IN_SLUICE,
} Who;

typedef struct
{
  RedisTestServer *redis;
  DBusTestBus     *bus;
  DBusTestSluiced *daemon;
  char            *batch;       /* the open batch's object path */
  char            *dead_letter; /* a dead letter's id */
} Fixture;

/* The batch object's property @name, or NULL while it is not there. */
static GVariant *
batch_property (Fixture *f, const char *name)
{
  return dbus_test_get_property (dbus_test_sluiced_get_connection (f->daemon), f->batch,
                                 SLUICE_BATCH_IFACE, name, NULL);
}

static gboolean
batch_exported (Fixture *f)
{
  g_autoptr (GVariant) state = batch_property (f, "State");

  return state != NULL;
}

static gboolean
batch_paused (Fixture *f)
{
  g_autoptr (GVariant) paused = batch_property (f, "Paused");

  return paused != NULL && g_variant_get_boolean (paused);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (DBusTestSignals) finished = NULL;
  g_autoptr (GVariant) letters = NULL;
  g_autoptr (GVariant) letter = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char   *setpriv = NULL;
  SluiceDBusManager *manager;

  f->bus = dbus_test_bus_start ();
  if (!dbus_test_bus_can_test_policy (f->bus))
    return;
  if (getgrnam ("sluice") == NULL)
    {
      g_test_fail_printf ("the group \"sluice\" does not exist: the policy grants it the "
                          "mutating calls; create it with: groupadd --system sluice");
      return;
    }
  setpriv = g_find_program_in_path ("setpriv");
  if (setpriv == NULL)
    {
      g_test_fail_printf ("setpriv is missing: install the Debian package util-linux");
      return;
    }

  f->redis = redis_test_server_start (NULL);
  f->daemon = dbus_test_sluiced_new (f->bus, redis_test_server_get_url (f->redis));
  dbus_test_sluiced_write_workflow (f->daemon, "alpha.json", OK_WORKFLOW ("alpha"));
  dbus_test_sluiced_write_workflow (
      f->daemon, "held.json",
      "{\"name\": \"held\", \"trigger\": {\"use\": \"core.manual\"},"
      " \"steps\": [{\"id\": \"rows\", \"use\": \"split\", \"with\": {\"format\": \"jsonl\"}},"
      "  {\"id\": \"load\", \"use\": \"batch\", \"with\": {\"id\": \"held\","
      "   \"close\": \"manual\"}},"
      "  {\"id\": \"store\", \"use\": \"file.write\", \"with\": {\"directory\": \"@DIR@/out\"}}]}");
  dbus_test_sluiced_start (f->daemon);
  manager = dbus_test_sluiced_get_manager (f->daemon);
  finished = dbus_test_signals_new (dbus_test_sluiced_get_connection (f->daemon),
                                    SLUICE_RUN_IFACE, "Finished");

  /* As root: an open batch and a dead letter to try things on. */
  {
    g_autofree char *run = dbus_test_trigger (manager, "held", "{\"n\": 1}\n", NULL);
    g_autofree char *state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);

    g_assert_cmpstr (state, ==, "succeeded");
  }
  {
    g_autofree char *run = dbus_test_trigger (manager, "alpha", "{}", NULL);
    g_autofree char *state = dbus_test_wait_run (finished, run, RUN_TIMEOUT_MS);

    g_assert_cmpstr (state, ==, "failed");
  }
  f->batch = dbus_test_object_path ("batches", "held");
  DBUS_TEST_WAIT_UNTIL (batch_exported (f), 10000);
  sluice_dbus_manager_call_list_dead_letters_sync (
      manager, g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0), &letters, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (letters), ==, 1);
  letter = g_variant_get_child_value (letters, 0);
  f->dead_letter = g_strdup (dbus_test_dict_string (letter, "id"));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  dbus_test_teardown (&f->daemon, &f->bus);
  g_clear_pointer (&f->redis, redis_test_server_free);
  g_free (f->batch);
  g_free (f->dead_letter);
}

/* Whether the fixture could set up a bus with the real policy alone. */
static gboolean
ready (Fixture *f)
{
  if (!dbus_test_bus_can_test_policy (f->bus))
    {
      g_test_skip ("the policy can only be tested as root (clients switch to nobody)");
      return FALSE;
    }
  return f->daemon != NULL;
}

/* Runs @command (NULL-terminated) through setpriv as @who; returns its
 * exit status. */
static int
run_as (Fixture *f, Who who, const char *const *command, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *) "setpriv");
  g_ptr_array_add (argv, (char *) "--reuid=nobody");
  g_ptr_array_add (argv, (char *) "--regid=nogroup");
  g_ptr_array_add (argv, (char *) (who == AS_NOBODY ? "--clear-groups" : "--groups=sluice"));
  g_ptr_array_add (argv, (char *) "--");
  for (guint i = 0; command[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) command[i]);
  g_ptr_array_add (argv, NULL);
  return dbus_test_run (f->bus, (const char *const *) argv->pdata, out, err);
}

/* gdbus call on @path's @method (INTERFACE.MEMBER) with @args. */
static int
gdbus_as (Fixture           *f,
          Who                who,
          const char        *path,
          const char        *method,
          const char *const *args,
          char             **out,
          char             **err)
{
  g_autoptr (GPtrArray) command = g_ptr_array_new ();

  g_ptr_array_add (command, (char *) "gdbus");
  g_ptr_array_add (command, (char *) "call");
  g_ptr_array_add (command, (char *) "--system");
  g_ptr_array_add (command, (char *) "--dest");
  g_ptr_array_add (command, (char *) SLUICE_BUS_NAME);
  g_ptr_array_add (command, (char *) "--object-path");
  g_ptr_array_add (command, (char *) path);
  g_ptr_array_add (command, (char *) "--method");
  g_ptr_array_add (command, (char *) method);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (command, (char *) args[i]);
  g_ptr_array_add (command, NULL);
  return run_as (f, who, (const char *const *) command->pdata, out, err);
}

static void
assert_allowed (Fixture *f, Who who, const char *path, const char *method, const char *const *args)
{
  g_autofree char *err = NULL;
  int              status = gdbus_as (f, who, path, method, args, NULL, &err);

  if (status != 0)
    g_test_message ("%s was refused: %s", method, err);
  g_assert_cmpint (status, ==, 0);
}

static void
assert_denied (Fixture *f, Who who, const char *path, const char *method, const char *const *args)
{
  g_autofree char *err = NULL;
  int              status = gdbus_as (f, who, path, method, args, NULL, &err);

  g_assert_cmpint (status, !=, 0);
  if (strstr (err, ACCESS_DENIED) == NULL)
    g_test_message ("%s: expected %s, got: %s", method, ACCESS_DENIED, err);
  g_assert_nonnull (strstr (err, ACCESS_DENIED));
}

static char *
state_of (Fixture *f, const char *name)
{
  return dbus_test_workflow_state (dbus_test_sluiced_get_manager (f->daemon), name);
}

static gboolean
state_is (Fixture *f, const char *name, const char *state)
{
  g_autofree char *current = state_of (f, name);

  return g_strcmp0 (current, state) == 0;
}

static void
test_everyone_reads (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) workflows = NULL;
  g_autofree char *names = NULL;

  g_test_summary ("Anyone (nobody, no groups) may list workflows, runs, batches, dead letters "
                  "and failed records, read properties and introspect");
  if (!ready (f))
    return;

  g_assert_cmpint (gdbus_as (f, AS_NOBODY, SLUICE_MANAGER_PATH,
                             SLUICE_MANAGER_IFACE ".ListWorkflows", NULL, &out, NULL),
                   ==, 0);
  reply = g_variant_parse (G_VARIANT_TYPE ("(aa{sv})"), out, NULL, NULL, NULL);
  g_assert_nonnull (reply);
  workflows = g_variant_get_child_value (reply, 0);
  names = dbus_test_workflow_names (workflows);
  g_assert_cmpstr (names, ==, "alpha held");

  assert_allowed (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".ListRuns",
                  (const char *const[]){ "{}", NULL });
  assert_allowed (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".ListBatches", NULL);
  assert_allowed (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".ListDeadLetters",
                  (const char *const[]){ "{}", NULL });
  assert_allowed (f, AS_NOBODY, SLUICE_MANAGER_PATH, "org.freedesktop.DBus.Properties.Get",
                  (const char *const[]){ SLUICE_MANAGER_IFACE, "Version", NULL });
  assert_allowed (f, AS_NOBODY, SLUICE_MANAGER_PATH, "org.freedesktop.DBus.Properties.GetAll",
                  (const char *const[]){ SLUICE_MANAGER_IFACE, NULL });
  assert_allowed (f, AS_NOBODY, SLUICE_MANAGER_PATH,
                  "org.freedesktop.DBus.Introspectable.Introspect", NULL);
  assert_allowed (f, AS_NOBODY, f->batch, SLUICE_BATCH_IFACE ".ListFailed",
                  (const char *const[]){ "0", "0", NULL });
  assert_allowed (f, AS_NOBODY, f->batch, "org.freedesktop.DBus.Properties.Get",
                  (const char *const[]){ SLUICE_BATCH_IFACE, "Counts", NULL });
}

static void
test_nobody_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *state = NULL;
  g_autoptr (GVariant) paused = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("Without the group sluice, every call that changes something or returns a "
                  "payload is refused by the bus (AccessDenied) and changes nothing; nobody "
                  "may own the name");
  if (!ready (f))
    return;

  assert_denied (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".DisableWorkflow",
                 (const char *const[]){ "alpha", NULL });
  state = state_of (f, "alpha");
  g_assert_cmpstr (state, ==, "running");
  assert_denied (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".PauseWorkflow",
                 (const char *const[]){ "alpha", NULL });
  g_clear_pointer (&state, g_free);
  state = state_of (f, "alpha");
  g_assert_cmpstr (state, ==, "running");
  assert_denied (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".Trigger",
                 (const char *const[]){ "alpha", "[byte 0x7b, 0x7d]", "{}", NULL });
  assert_denied (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".ReloadWorkflows",
                 NULL);
  assert_denied (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".GetDeadLetter",
                 (const char *const[]){ f->dead_letter, NULL });
  assert_denied (f, AS_NOBODY, SLUICE_MANAGER_PATH, SLUICE_MANAGER_IFACE ".PurgeDeadLetters",
                 (const char *const[]){ "@as []", "{}", NULL });
  assert_denied (f, AS_NOBODY, f->batch, SLUICE_BATCH_IFACE ".Pause", NULL);
  assert_denied (f, AS_NOBODY, f->batch, SLUICE_BATCH_IFACE ".Cancel", NULL);
  paused = dbus_test_get_property (dbus_test_sluiced_get_connection (f->daemon), f->batch,
                                   SLUICE_BATCH_IFACE, "Paused", &error);
  g_assert_no_error (error);
  g_assert_false (g_variant_get_boolean (paused));
  {
    g_autoptr (GVariant) batch_state = dbus_test_get_property (
        dbus_test_sluiced_get_connection (f->daemon), f->batch, SLUICE_BATCH_IFACE, "State",
        &error);

    g_assert_no_error (error);
    g_assert_cmpstr (g_variant_get_string (batch_state, NULL), ==, "open");
  }
  {
    g_autoptr (GVariant) letters = NULL;

    sluice_dbus_manager_call_list_dead_letters_sync (
        dbus_test_sluiced_get_manager (f->daemon),
        g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0), &letters, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_variant_n_children (letters), ==, 1);
  }

  /* The name is root's. */
  {
    g_autofree char  *err = NULL;
    const char *const command[] = { "gdbus", "call", "--system", "--dest",
                                    "org.freedesktop.DBus", "--object-path",
                                    "/org/freedesktop/DBus", "--method",
                                    "org.freedesktop.DBus.RequestName", SLUICE_BUS_NAME, "4",
                                    NULL };

    g_assert_cmpint (run_as (f, AS_NOBODY_IN_SLUICE, command, NULL, &err), !=, 0);
    g_assert_nonnull (strstr (err, ACCESS_DENIED));
  }
}

static void
test_group_sluice (Fixture *f, gconstpointer data)
{
  g_autofree char *state = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;

  g_test_summary ("A member of the group sluice may change things: disable, enable, trigger, "
                  "read a dead letter, pause a batch");
  if (!ready (f))
    return;

  assert_allowed (f, AS_NOBODY_IN_SLUICE, SLUICE_MANAGER_PATH,
                  SLUICE_MANAGER_IFACE ".DisableWorkflow", (const char *const[]){ "alpha", NULL });
  DBUS_TEST_WAIT_UNTIL (state_is (f, "alpha", "disabled"), 5000);
  assert_allowed (f, AS_NOBODY_IN_SLUICE, SLUICE_MANAGER_PATH,
                  SLUICE_MANAGER_IFACE ".EnableWorkflow", (const char *const[]){ "alpha", NULL });
  g_clear_pointer (&state, g_free);
  state = state_of (f, "alpha");
  g_assert_cmpstr (state, ==, "running");

  g_assert_cmpint (gdbus_as (f, AS_NOBODY_IN_SLUICE, SLUICE_MANAGER_PATH,
                             SLUICE_MANAGER_IFACE ".GetDeadLetter",
                             (const char *const[]){ f->dead_letter, NULL }, &out, &err),
                   ==, 0);
  g_assert_nonnull (strstr (out, f->dead_letter));
  g_clear_pointer (&err, g_free);

  /* Refused by the daemon, not by the bus. */
  g_assert_cmpint (gdbus_as (f, AS_NOBODY_IN_SLUICE, SLUICE_MANAGER_PATH,
                             SLUICE_MANAGER_IFACE ".GetDeadLetter",
                             (const char *const[]){ "no-such-letter", NULL }, NULL, &err),
                   !=, 0);
  g_assert_nonnull (strstr (err, "org.sluice.Sluice1.Error.NotFound"));

  assert_allowed (f, AS_NOBODY_IN_SLUICE, f->batch, SLUICE_BATCH_IFACE ".Pause", NULL);
  DBUS_TEST_WAIT_UNTIL (batch_paused (f), 10000);
}

static void
test_sluicectl (Fixture *f, gconstpointer data)
{
  g_autofree char *state = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_test_summary ("sluicectl as nobody reads (exit 0) but a change is refused with exit 4; "
                  "in the group sluice it succeeds");
  if (dbus_test_sluicectl_path () == NULL)
    {
      g_test_skip ("sluicectl is not built");
      return;
    }
  if (!ready (f))
    return;

  {
    const char *const command[] = { dbus_test_sluicectl_path (), "workflow", "disable",
                                    "alpha", NULL };

    g_assert_cmpint (run_as (f, AS_NOBODY, command, NULL, &err), ==, 4);
    g_assert_cmpstr (err, !=, "");
    state = state_of (f, "alpha");
    g_assert_cmpstr (state, ==, "running");
  }
  {
    const char *const command[] = { dbus_test_sluicectl_path (), "workflows", NULL };

    g_assert_cmpint (run_as (f, AS_NOBODY, command, &out, NULL), ==, 0);
    g_assert_nonnull (strstr (out, "alpha"));
  }
  {
    const char *const command[] = { dbus_test_sluicectl_path (), "workflow", "disable",
                                    "alpha", NULL };

    g_assert_cmpint (run_as (f, AS_NOBODY_IN_SLUICE, command, NULL, NULL), ==, 0);
    DBUS_TEST_WAIT_UNTIL (state_is (f, "alpha", "disabled"), 5000);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/dbus/policy/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("everyone-reads", test_everyone_reads);
  ADD ("nobody-refused", test_nobody_refused);
  ADD ("group-sluice-changes", test_group_sluice);
  ADD ("sluicectl/exit-4", test_sluicectl);
#undef ADD

  return g_test_run ();
}
