/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sluice-split-private.h"

/* JSON records leave the split as the bytes they came as; whoever needs the
 * tree parses them later (json-glib, through sluice_message_get_json ()).
 * So this check is the only one a record gets at split time: it must
 * refuse everything that is not JSON (RFC 8259), and also what json-glib
 * would turn into a tree that is not what the text says (nesting that
 * overflows its recursion, strings that are not UTF-8). It runs on every
 * byte of the input: one pass, no allocation unless it fails. */

/* What a byte is inside a string. */
enum {
  STRING_BYTE_PLAIN,      /* stands for itself */
  STRING_BYTE_QUOTE,
  STRING_BYTE_BACKSLASH,
  STRING_BYTE_CONTROL,    /* JSON only allows it escaped */
  STRING_BYTE_MULTI,      /* a byte of a multi-byte UTF-8 sequence */
};

static const guint8 string_bytes[256] = {
  [0x00 ... 0x1f] = STRING_BYTE_CONTROL,
  ['"'] = STRING_BYTE_QUOTE,
  ['\\'] = STRING_BYTE_BACKSLASH,
  [0x80 ... 0xff] = STRING_BYTE_MULTI,
};

/* The characters after a backslash that make an escape of their own. */
static const guint8 simple_escapes[256] = {
  ['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1, ['r'] = 1, ['t'] = 1,
};

#define BYTES_OF(b) (G_GUINT64_CONSTANT (0x0101010101010101) * (b))

/* Flags (with its high bit) each byte of @v that is not plain inside a
 * string. The subtractions borrow from the byte above only at a byte that
 * is itself below 0x20, '"' or '\\': so a word is flagged exactly when it
 * holds a byte that is not plain, and on little-endian machines its lowest
 * flagged byte is the first such byte. */
static inline guint64
json_word_special (guint64 v)
{
  guint64 control = v - BYTES_OF (0x20);
  guint64 quote = (v ^ BYTES_OF ('"')) - BYTES_OF (0x01);
  guint64 backslash = (v ^ BYTES_OF ('\\')) - BYTES_OF (0x01);

  return (((control | quote | backslash) & ~v) | v) & BYTES_OF (0x80);
}

static inline gboolean
json_is_space (guchar c)
{
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline gboolean
json_is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

G_ALWAYS_INLINE static inline gsize
json_skip_space (const guchar *data,
                 gsize         len,
                 gsize         pos)
{
  /* records seldom hold whitespace between tokens: one compare says so */
  while (pos < len && data[pos] <= ' ' && json_is_space (data[pos]))
    pos++;
  return pos;
}

char *
sluice_split_json_describe_byte (guint8 c)
{
  if (c > 0x20 && c < 0x7f)
    return g_strdup_printf ("'%c'", c);
  return g_strdup_printf ("byte 0x%02x", c);
}

static gboolean json_fail (gsize      *out_offset,
                           gsize       at,
                           GError    **error,
                           const char *format,
                           ...) G_GNUC_PRINTF (4, 5);

static G_GNUC_NO_INLINE gboolean
json_fail (gsize      *out_offset,
           gsize       at,
           GError    **error,
           const char *format,
           ...)
{
  va_list args;

  *out_offset = at;
  if (error != NULL)
    {
      va_start (args, format);
      *error = g_error_new_valist (SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA, format, args);
      va_end (args);
    }
  return FALSE;
}

/* @expected was wanted at @at but something else is there. */
static G_GNUC_NO_INLINE gboolean
json_fail_unexpected (const guchar *data,
                      gsize         len,
                      gsize         at,
                      const char   *expected,
                      gsize        *out_offset,
                      GError      **error)
{
  g_autofree char *got = NULL;

  if (at >= len)
    return json_fail (out_offset, at, error, "expected %s, got the end of the record", expected);

  /* what json-glib takes although JSON does not have it, said as such */
  if (data[at] == '\'')
    return json_fail (out_offset, at, error, "single-quoted strings are not JSON");
  if (data[at] == '/' && at + 1 < len && (data[at + 1] == '/' || data[at + 1] == '*'))
    return json_fail (out_offset, at, error, "comments are not JSON");

  got = sluice_split_json_describe_byte (data[at]);
  return json_fail (out_offset, at, error, "expected %s, got %s", expected, got);
}

/* No value starts at @at. Right after an array's '[' (the only place, with
 * the start, ',' and ':', where a value may start) a ']' would also do. */
static gboolean
json_fail_value (const guchar *data,
                 gsize         len,
                 gsize         at,
                 gsize        *out_offset,
                 GError      **error)
{
  gsize before = at;

  while (before > 0 && json_is_space (data[before - 1]))
    before--;
  return json_fail_unexpected (data, len, at,
                               before > 0 && data[before - 1] == '[' ? "a value or ']'" : "a value",
                               out_offset, error);
}

static inline gboolean
json_read_hex4 (const guchar *data,
                gsize         len,
                gsize         at,
                guint        *out_unit)
{
  guint unit = 0;

  if (len < 4 || at > len - 4)
    return FALSE;
  for (gsize i = at; i < at + 4; i++)
    {
      gint digit = g_ascii_xdigit_value (data[i]);

      if (digit < 0)
        return FALSE;
      unit = unit * 16 + digit;
    }
  *out_unit = unit;
  return TRUE;
}

/* The length of the UTF-8 sequence at @p (@avail bytes there), or 0 when
 * it is not one: no overlong forms, no surrogates, nothing past U+10FFFF,
 * which is exactly what g_utf8_validate () accepts. */
static inline gsize
json_utf8_sequence (const guchar *p,
                    gsize         avail)
{
  guchar c = p[0];
  guchar low = 0x80, high = 0xBF;

  if (c >= 0xC2 && c <= 0xDF)
    return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;

  if (c >= 0xE0 && c <= 0xEF)
    {
      if (c == 0xE0)
        low = 0xA0;
      else if (c == 0xED)
        high = 0x9F;
      return avail >= 3 && p[1] >= low && p[1] <= high && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }

  if (c >= 0xF0 && c <= 0xF4)
    {
      if (c == 0xF0)
        low = 0x90;
      else if (c == 0xF4)
        high = 0x8F;
      return avail >= 4 && p[1] >= low && p[1] <= high &&
             (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }

  return 0;
}

/* The escape at data[at] (a backslash, with at least one byte after it);
 * returns the position after it, or 0 when it is not one JSON has. */
static G_GNUC_NO_INLINE gsize
json_check_escape (const guchar *data,
                   gsize         len,
                   gsize         at,
                   gsize        *out_offset,
                   GError      **error)
{
  guchar c = data[at + 1];
  guint unit, low;

  if (simple_escapes[c])
    return at + 2;

  if (c != 'u')
    {
      /* json-glib also knows octal escapes, which may make bytes that are
       * not UTF-8 */
      g_autofree char *what = g_ascii_isprint (c)
        ? g_strdup_printf ("\\%c", c)
        : g_strdup_printf ("\\ followed by byte 0x%02x", c);

      json_fail (out_offset, at, error, "a string holds the escape %s, which JSON does not have", what);
      return 0;
    }

  /* json-glib turns a short \u escape or an unpaired surrogate into bytes
   * that are not UTF-8 */
  if (!json_read_hex4 (data, len, at + 2, &unit))
    {
      json_fail (out_offset, at, error, "a string holds a \\u escape without four hex digits");
      return 0;
    }
  if (unit < 0xD800 || unit > 0xDFFF)
    return at + 6;

  if (unit <= 0xDBFF &&
      at + 7 < len && data[at + 6] == '\\' && data[at + 7] == 'u' &&
      json_read_hex4 (data, len, at + 8, &low) && low >= 0xDC00 && low <= 0xDFFF)
    return at + 12;

  json_fail (out_offset, at, error, "a string holds an unpaired UTF-16 surrogate \\u%04x", unit);
  return 0;
}

/* The string whose opening quote is at data[at]; returns the position
 * after its closing quote, or 0 when it is not a JSON string. */
G_ALWAYS_INLINE static inline gsize
json_check_string (const guchar *data,
                   gsize         len,
                   gsize         at,
                   gsize        *out_offset,
                   GError      **error)
{
  gsize pos = at + 1;

  for (;;)
    {
      gsize n;

      /* most of a record is plain string text: eight bytes at a time */
      while (len - pos >= 8)
        {
          guint64 word, special;

          memcpy (&word, data + pos, sizeof word);
          special = json_word_special (word);
          if (special != 0)
            {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN && defined(__GNUC__)
              pos += __builtin_ctzll (special) / 8;
#endif
              break;
            }
          pos += 8;
        }
      while (pos < len && string_bytes[data[pos]] == STRING_BYTE_PLAIN)
        pos++;
      if (pos >= len)
        break;

      switch (string_bytes[data[pos]])
        {
        case STRING_BYTE_QUOTE:
          return pos + 1;

        case STRING_BYTE_BACKSLASH:
          if (pos + 1 >= len)
            goto unclosed;
          pos = json_check_escape (data, len, pos, out_offset, error);
          if (pos == 0)
            return 0;
          break;

        case STRING_BYTE_CONTROL:
          json_fail (out_offset, pos, error,
                     "a string holds the control character 0x%02x, which JSON only allows escaped",
                     data[pos]);
          return 0;

        case STRING_BYTE_MULTI:
        default:
          n = json_utf8_sequence (data + pos, len - pos);
          if (n == 0)
            {
              json_fail (out_offset, pos, error,
                         "a string holds bytes that are not UTF-8 (byte 0x%02x)", data[pos]);
              return 0;
            }
          pos += n;
          break;
        }
    }

unclosed:
  json_fail (out_offset, at, error, "a string starts here and is not closed before the end of the record");
  return 0;
}

/* The number that starts at data[at] ('-' or a digit); returns the
 * position after it, or 0 when it does not follow JSON's grammar. */
static inline gsize
json_check_number (const guchar *data,
                   gsize         len,
                   gsize         at,
                   gsize        *out_offset,
                   GError      **error)
{
  gsize pos = at;

  if (data[pos] == '-')
    {
      pos++;
      if (pos >= len || !json_is_digit (data[pos]))
        {
          json_fail_unexpected (data, len, pos, "a digit after '-'", out_offset, error);
          return 0;
        }
    }

  if (data[pos] == '0')
    {
      pos++;
      if (pos < len && json_is_digit (data[pos]))
        {
          json_fail (out_offset, pos - 1, error, "a number has a leading zero");
          return 0;
        }
    }
  else
    {
      while (pos < len && json_is_digit (data[pos]))
        pos++;
    }

  if (pos < len && data[pos] == '.')
    {
      pos++;
      if (pos >= len || !json_is_digit (data[pos]))
        {
          json_fail_unexpected (data, len, pos, "a digit after a number's decimal point",
                                out_offset, error);
          return 0;
        }
      while (pos < len && json_is_digit (data[pos]))
        pos++;
    }

  if (pos < len && (data[pos] == 'e' || data[pos] == 'E'))
    {
      pos++;
      if (pos < len && (data[pos] == '+' || data[pos] == '-'))
        pos++;
      if (pos >= len || !json_is_digit (data[pos]))
        {
          json_fail_unexpected (data, len, pos, "a digit in a number's exponent", out_offset, error);
          return 0;
        }
      while (pos < len && json_is_digit (data[pos]))
        pos++;
    }

  return pos;
}

gboolean
sluice_split_json_validate (const char *text,
                            gsize       len,
                            gsize      *out_offset,
                            GError    **error)
{
  const guchar *data = (const guchar *) text;
  /* one bit per open container: set for an object, clear for an array */
  guint64 objects[(SLUICE_SPLIT_JSON_MAX_DEPTH + 63) / 64];
  guint depth = 0;
  gboolean in_object = FALSE;
  gsize pos;

  g_return_val_if_fail (out_offset != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *out_offset = 0;
  pos = json_skip_space (data, len, 0);
  if (pos == len)
    return json_fail (out_offset, pos, error, "no JSON value");

value:
  if (pos >= len)
    return json_fail_value (data, len, pos, out_offset, error);

  switch (data[pos])
    {
    case '{':
    case '[':
      if (depth == SLUICE_SPLIT_JSON_MAX_DEPTH)
        return json_fail (out_offset, pos, error, "nested deeper than %u levels",
                          SLUICE_SPLIT_JSON_MAX_DEPTH);
      in_object = data[pos] == '{';
      if (in_object)
        objects[depth / 64] |= G_GUINT64_CONSTANT (1) << (depth % 64);
      else
        objects[depth / 64] &= ~(G_GUINT64_CONSTANT (1) << (depth % 64));
      depth++;
      pos = json_skip_space (data, len, pos + 1);

      if (pos < len && data[pos] == (in_object ? '}' : ']'))
        {
          pos++;
          goto close;
        }
      if (!in_object)
        goto value;
      if (pos >= len || data[pos] != '"')
        return json_fail_unexpected (data, len, pos, "an object key (a string) or '}'",
                                     out_offset, error);
      goto member;

    case '"':
      pos = json_check_string (data, len, pos, out_offset, error);
      if (pos == 0)
        return FALSE;
      break;

    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      pos = json_check_number (data, len, pos, out_offset, error);
      if (pos == 0)
        return FALSE;
      break;

    case 't':
      if (len - pos < 4 || memcmp (data + pos, "true", 4) != 0)
        return json_fail (out_offset, pos, error, "expected the literal true");
      pos += 4;
      break;

    case 'f':
      if (len - pos < 5 || memcmp (data + pos, "false", 5) != 0)
        return json_fail (out_offset, pos, error, "expected the literal false");
      pos += 5;
      break;

    case 'n':
      if (len - pos < 4 || memcmp (data + pos, "null", 4) != 0)
        return json_fail (out_offset, pos, error, "expected the literal null");
      pos += 4;
      break;

    default:
      return json_fail_value (data, len, pos, out_offset, error);
    }

after_value:
  pos = json_skip_space (data, len, pos);
  if (depth == 0)
    {
      if (pos < len)
        return json_fail_unexpected (data, len, pos, "nothing after the value", out_offset, error);
      return TRUE;
    }

  if (pos < len && data[pos] == ',')
    {
      pos = json_skip_space (data, len, pos + 1);
      if (!in_object)
        goto value;
      if (pos >= len || data[pos] != '"')
        return json_fail_unexpected (data, len, pos, "an object key (a string)", out_offset, error);
      goto member;
    }
  if (pos < len && data[pos] == (in_object ? '}' : ']'))
    {
      pos++;
      goto close;
    }
  return json_fail_unexpected (data, len, pos,
                               in_object ? "',' or '}' after an object member"
                                         : "',' or ']' after an array element",
                               out_offset, error);

close:
  /* the container that ended at pos - 1 is a value of the one around it */
  depth--;
  if (depth > 0)
    in_object = (objects[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1;
  goto after_value;

member:
  /* data[pos] is the opening quote of a key */
  pos = json_check_string (data, len, pos, out_offset, error);
  if (pos == 0)
    return FALSE;
  pos = json_skip_space (data, len, pos);
  if (pos >= len || data[pos] != ':')
    return json_fail_unexpected (data, len, pos, "':' after an object key", out_offset, error);
  pos = json_skip_space (data, len, pos + 1);
  goto value;
}
