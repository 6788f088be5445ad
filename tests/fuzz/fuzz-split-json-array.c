/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-split-common.h"

/* Byte 0: body kind, max_record_size; the rest is the JSON text. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const char * const configs[] = {
    "{\"format\": \"json-array\"}",
    "{\"format\": \"json-array\", \"max_record_size\": 32}",
    "{\"format\": \"json-array\", \"max_record_size\": 3}",
    "{\"format\": \"json-array\", \"max_record_size\": 1}",
  };

  if (size < 1)
    return 0;
  /* the whole text, taken as one JSON value */
  fuzz_check_json_text ("the input", (const char *) data + 1, size - 1, FALSE);
  fuzz_split (configs[(data[0] >> 2) & 3], data[0] & 3, data + 1, size - 1);
  return 0;
}
