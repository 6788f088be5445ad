/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

#include "sluice-engine.h"
#include "sluice-plugin-host.h"

G_BEGIN_DECLS

/* Components for engine tests, registered as the "test" plugin:
 *   test.flaky    fails its first "fail_times" attempts per message id
 *                 ("permanent": fail with a non-retryable error instead)
 *   test.collect  records each message; emits it on when "pass" is true
 *   test.hold     completes only when the test releases it
 *   test.emit     emits "count" messages lazily, counting pulls */
typedef struct {
  GPtrArray  *collected;      /* SluiceMessage, all collect nodes */
  GHashTable *failures;       /* message id -> attempts failed so far */
  GArray     *attempt_times;  /* gint64 clock times of test.flaky attempts */
  GQueue      held;           /* GTask of test.hold */
  guint       holding;
  guint       max_holding;
  guint       emitted;        /* messages handed out by test.emit */
  guint       last_attempt;   /* attempt number test.flaky last saw */
  SluiceClock *clock;
} TestRecorder;

extern TestRecorder test_recorder;

void test_recorder_reset (SluiceClock *clock);
void test_recorder_release (guint count);
gboolean test_components_register (SluicePluginHost *host, GError **error);

/* Loads the workflow in @json ("test.json") and starts it in @engine;
 * any error fails the test. */
void test_engine_add_workflow (SluicePluginHost *host,
                               SluiceEngine     *engine,
                               const char       *json);

G_END_DECLS
