/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "sluice-batch-manager.h"
#include "sluice-dead-letters.h"
#include "sluice-engine.h"
#include "sluice-plugin-host.h"
#include "sluice-run-history.h"
#include "sluice-workflow-set.h"

G_BEGIN_DECLS

#define SLUICE_DBUS_NAME "org.sluice.Sluice1"
#define SLUICE_DBUS_PATH "/org/sluice/Sluice1"

/* The control API, org.sluice.Sluice1 (data/dbus/org.sluice.Sluice1.xml):
 * the manager object, the runs of @runs and, with a batch manager, the
 * batches. Errors go out as org.sluice.Sluice1.Error.*. */
#define SLUICE_TYPE_DBUS_SERVICE (sluice_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (SluiceDBusService, sluice_dbus_service, SLUICE, DBUS_SERVICE, GObject)

/* @manager may be NULL (no batch store: ListBatches is Unavailable). */
SluiceDBusService *sluice_dbus_service_new (SluicePluginHost   *host,
                                            SluiceEngine       *engine,
                                            SluiceWorkflowSet  *workflows,
                                            SluiceDeadLetters  *dead_letters,
                                            SluiceBatchManager *manager,
                                            SluiceRunHistory   *runs,
                                            SluiceClock        *clock);

/* Connects to @bus_type and owns the name. A bus that cannot be reached,
 * or a name owned by another daemon, is logged: the daemon runs on
 * without its API. */
void sluice_dbus_service_start (SluiceDBusService *self,
                                GBusType           bus_type);
void sluice_dbus_service_stop (SluiceDBusService *self);

G_END_DECLS
