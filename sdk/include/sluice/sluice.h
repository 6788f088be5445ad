/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define SLUICE_INSIDE

#include <sluice/sluice-version.h>
#include <sluice/sluice-error.h>
#include <sluice/sluice-util.h>
#include <sluice/sluice-clock.h>
#include <sluice/sluice-message.h>
#include <sluice/sluice-message-iter.h>
#include <sluice/sluice-event.h>
#include <sluice/sluice-state-store.h>
#include <sluice/sluice-context.h>
#include <sluice/sluice-retry-policy.h>
#include <sluice/sluice-trigger.h>
#include <sluice/sluice-step.h>
#include <sluice/sluice-source.h>
#include <sluice/sluice-batch-store.h>
#include <sluice/sluice-dead-letter-store.h>
#include <sluice/sluice-component.h>
#include <sluice/sluice-plugin.h>

#undef SLUICE_INSIDE
