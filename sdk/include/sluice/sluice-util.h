/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(SLUICE_INSIDE) && !defined(SLUICE_COMPILATION)
#error "Only <sluice/sluice.h> can be included directly."
#endif

#include <glib.h>
#include <sluice/sluice-version.h>

G_BEGIN_DECLS

SLUICE_API gboolean sluice_parse_duration (const char *text,
                                           gint64     *out_usec,
                                           GError    **error);

SLUICE_API char *sluice_format_duration (gint64 usec) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
