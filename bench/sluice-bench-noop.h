/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* The benchmarks' built-in plugin "bench": bench.noop, a step that emits
 * nothing, so a benchmark measures the path around the step. */
extern const SluicePluginDescriptor sluice_bench_descriptor;

G_END_DECLS
