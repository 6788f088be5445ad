/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "sluice-batch-manager.h"

G_BEGIN_DECLS

/* The batches of the store as D-Bus objects,
 * /org/sluice/Sluice1/batches/BATCH (org.sluice.Sluice1.Batch), whichever
 * host made them: their properties follow the store (the manager's look
 * every few seconds, "listed", and its progress at once), their methods drive the
 * manager, and Progress is sent at most twice a second per batch. */
#define SLUICE_TYPE_DBUS_BATCHES (sluice_dbus_batches_get_type ())
G_DECLARE_FINAL_TYPE (SluiceDBusBatches, sluice_dbus_batches, SLUICE, DBUS_BATCHES, GObject)

#define SLUICE_DBUS_BATCHES_PATH "/org/sluice/Sluice1/batches"

SluiceDBusBatches *sluice_dbus_batches_new (SluiceBatchManager *manager,
                                            SluiceClock        *clock);

void sluice_dbus_batches_export (SluiceDBusBatches *self,
                                 GDBusConnection   *connection);
void sluice_dbus_batches_unexport (SluiceDBusBatches *self);

/* Reads the store's batches (updating their objects) and returns them as
 * aa{sv}: id, path, workflow, state, paused, chunk_size, created, expires,
 * pending, processing, succeeded, failed_records. */
void sluice_dbus_batches_list_async (SluiceDBusBatches  *self,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data);
GVariant *sluice_dbus_batches_list_finish (SluiceDBusBatches *self,
                                           GAsyncResult      *result,
                                           GError           **error);

G_END_DECLS
