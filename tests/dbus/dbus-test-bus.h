/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A private message bus shaped like Debian's system bus (type system,
 * EXTERNAL authentication, method calls and name ownership denied unless
 * a policy allows them) whose only service policy is the project's own
 * data/dbus/org.sluice.Sluice1.conf, included from the source tree: the
 * policy under test is the file that gets installed.
 *
 * The bus listens on a unix socket in a fresh directory that every user
 * may reach, so a test running as root can talk to it as "nobody". When
 * the test does not run as root, the bus also lets the current user own
 * org.sluice.Sluice1 and call it (so developers can run the suite); tests
 * of the policy itself then skip (dbus_test_bus_can_test_policy()).
 *
 * The dbus-daemon dies with the test process, even when the test crashes. */
typedef struct _DBusTestBus DBusTestBus;

/* Starts dbus-daemon and waits until it listens. Fails the test when it
 * cannot be started. */
DBusTestBus *dbus_test_bus_start (void);

/* The address to give clients: DBUS_SYSTEM_BUS_ADDRESS, --address. */
const char *dbus_test_bus_get_address (DBusTestBus *self);

/* The bus's directory (socket, configuration, log). */
const char *dbus_test_bus_get_dir (DBusTestBus *self);

/* A new connection of this process to the bus, registered with it. Its
 * signals are dispatched in the thread-default main context of the
 * caller. */
GDBusConnection *dbus_test_bus_connect (DBusTestBus *self);

/* Whether the bus's policy is the real one alone, so that who may do what
 * can be tested: only when the test runs as root. */
gboolean dbus_test_bus_can_test_policy (DBusTestBus *self);

/* Stops dbus-daemon (SIGTERM) and waits for it. */
void dbus_test_bus_stop (DBusTestBus *self);

/* Stops the bus if it runs and removes its directory. */
void dbus_test_bus_free (DBusTestBus *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DBusTestBus, dbus_test_bus_free)

G_END_DECLS
