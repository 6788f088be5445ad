/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-split-common.h"

/* Byte 0: body kind, element name, max_record_size; the rest is the XML. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const char * const elements[] = { "item", "a", "b", "order" };
  static const char * const max_sizes[] = { "16777216", "256", "16", "1" };
  g_autofree char *config = NULL;

  if (size < 1)
    return 0;
  config = g_strdup_printf ("{\"format\": \"xml\", \"element\": \"%s\", \"max_record_size\": %s}",
                            elements[(data[0] >> 2) & 3], max_sizes[(data[0] >> 4) & 3]);
  fuzz_split (config, data[0] & 3, data + 1, size - 1);
  return 0;
}
