/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-scripts.h"

#include <string.h>

/* Shared by the batch scripts. Numbers that may exceed Lua's default
 * 14-digit formatting (microsecond timestamps) are formatted with %.0f
 * before they go back to Redis. unpack() is bounded by the Lua stack, so
 * long argument lists go to Redis in slices. */
#define BATCH_PRELUDE                                                                          \
  "local meta, pending, requeue, records = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"               \
  "local deadlines, leases, owners, attempts = KEYS[5], KEYS[6], KEYS[7], KEYS[8]\n"           \
  "local failed, errors, batches = KEYS[9], KEYS[10], KEYS[11]\n"                              \
  "local base = string.sub(meta, 1, -5)\n"                                                     \
  "local SLICE = 4000\n"                                                                       \
  "local SENTINEL = string.rep('~', 80)\n"                                                     \
  "local function bulk(cmd, key, args, n)\n"                                                   \
  "  local i = 1\n"                                                                            \
  "  while i <= n do\n"                                                                        \
  "    local j = math.min(i + SLICE - 1, n)\n"                                                 \
  "    redis.call(cmd, key, unpack(args, i, j))\n"                                             \
  "    i = j + 1\n"                                                                            \
  "  end\n"                                                                                    \
  "end\n"                                                                                      \
  "local function hmget(key, ids, n)\n"                                                        \
  "  if n <= SLICE then return redis.call('HMGET', key, unpack(ids, 1, n)) end\n"              \
  "  local out, k, i = {}, 0, 1\n"                                                             \
  "  while i <= n do\n"                                                                        \
  "    local j = math.min(i + SLICE - 1, n)\n"                                                 \
  "    local part = redis.call('HMGET', key, unpack(ids, i, j))\n"                             \
  "    for p = 1, j - i + 1 do out[k + p] = part[p] end\n"                                     \
  "    k = k + j - i + 1\n"                                                                    \
  "    i = j + 1\n"                                                                            \
  "  end\n"                                                                                    \
  "  return out\n"                                                                             \
  "end\n"                                                                                      \
  "local function hash_table(key)\n"                                                           \
  "  redis.call('HSETNX', key, '~', SENTINEL)\n"                                               \
  "end\n"                                                                                      \
  "local function now_ms()\n"                                                                  \
  "  local t = redis.call('TIME')\n"                                                           \
  "  return t[1] * 1000 + math.floor(t[2] / 1000)\n"                                           \
  "end\n"                                                                                      \
  "local function expiry_ms(expires_usec)\n"                                                   \
  "  return string.format('%.0f', math.floor(tonumber(expires_usec) / 1000))\n"                \
  "end\n"                                                                                      \
  "local function lease_key(lease)\n"                                                          \
  "  return base .. '" SLUICE_REDIS_LEASE_KEY "' .. lease\n"                                   \
  "end\n"                                                                                      \
  "-- A lease's record ids (strings), in the order of its payload list.\n"                     \
  "local function lease_ids(lease)\n"                                                          \
  "  local l = redis.call('HMGET', leases, lease .. ':a', lease .. ':i', lease .. ':n')\n"     \
  "  local ids, k = {}, 0\n"                                                                   \
  "  if l[1] then\n"                                                                           \
  "    local first = tonumber(l[1])\n"                                                         \
  "    k = redis.call('LLEN', lease_key(lease))\n"                                             \
  "    for i = 1, k do ids[i] = string.format('%.0f', first + i - 1) end\n"                    \
  "  elseif l[2] then\n"                                                                       \
  "    for id in string.gmatch(l[2], '%S+') do\n"                                              \
  "      k = k + 1\n"                                                                          \
  "      ids[k] = id\n"                                                                        \
  "    end\n"                                                                                  \
  "  end\n"                                                                                    \
  "  return ids, k\n"                                                                          \
  "end\n"                                                                                      \
  "local function drop_lease(lease)\n"                                                         \
  "  redis.call('HDEL', leases, lease .. ':w', lease .. ':n', lease .. ':a', lease .. ':i')\n" \
  "  redis.call('ZREM', deadlines, lease)\n"                                                   \
  "  redis.call('DEL', lease_key(lease))\n"                                                    \
  "end\n"

/* ARGV: id, workflow, chunk size, max failed, created usec (0: now),
 * expires usec. The global set of batches lives as long as its
 * longest-lived batch. */
static const char batch_create[] =
    BATCH_PRELUDE
    "if redis.call('EXISTS', meta) == 1 then\n"
    "  return redis.error_reply('" SLUICE_REDIS_E_EXISTS "')\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local exp = math.floor(tonumber(ARGV[6]) / 1000)\n"
    "if exp <= now then\n"
    "  return redis.error_reply('" SLUICE_REDIS_E_EXPIRED " ' .. t[1] .. string.format('%06d', t[2]))\n"
    "end\n"
    "local created = ARGV[5]\n"
    "if created == '0' then created = t[1] .. string.format('%06d', t[2]) end\n"
    "local exps = string.format('%.0f', exp)\n"
    "redis.call('HSET', meta, 'workflow', ARGV[2], 'chunk', ARGV[3], 'max_failed', ARGV[4],\n"
    "           'created', created, 'expires', ARGV[6], 'state', '0', 'pending', '0',\n"
    "           'processing', '0', 'succeeded', '0', 'failed', '0', 'next', '0', 'head', '1')\n"
    "redis.call('PEXPIREAT', meta, exps)\n"
    "redis.call('ZADD', batches, exps, ARGV[1])\n"
    "if redis.call('PEXPIRETIME', batches) < exp then\n"
    "  redis.call('PEXPIREAT', batches, exps)\n"
    "end\n"
    "return 1\n";

/* Runs in a transaction right after "RPUSH pending" of ARGV[1] payloads:
 * counts them when the batch is open, and otherwise takes them back off
 * the end of pending (nothing can have come between). Returns the first
 * new id. Record ids are the batch's sequence numbers, from 1, implied by
 * the order of pending. */
static const char batch_add_commit[] =
    BATCH_PRELUDE
    "local n = tonumber(ARGV[1])\n"
    "local m = redis.call('HMGET', meta, 'state', 'next', 'expires')\n"
    "if not m[1] then\n"
    "  redis.call('DEL', pending)\n"
    "  return redis.error_reply('" SLUICE_REDIS_E_NOT_FOUND "')\n"
    "end\n"
    "if m[1] ~= '0' then\n"
    "  if n > 0 then redis.call('LTRIM', pending, 0, -n - 1) end\n"
    "  return redis.error_reply('" SLUICE_REDIS_E_STATE " ' .. m[1])\n"
    "end\n"
    "local first = tonumber(m[2]) + 1\n"
    "if n == 0 then return first end\n"
    "redis.call('HINCRBY', meta, 'next', n)\n"
    "redis.call('HINCRBY', meta, 'pending', n)\n"
    "redis.call('PEXPIREAT', pending, expiry_ms(m[3]))\n"
    "return first\n";

/* KEYS[12]: the new lease's payload list. ARGV: worker, max, lease ms,
 * lease name. Takes, in this order and up to max: records of leases that
 * ran out (they stay counted as processing), requeued records, new
 * records. They become one new lease; its list gets their payloads (new
 * ones first, copied by SORT without passing through Lua), which the
 * caller reads in the same transaction. Replies id, attempt per record, in
 * the order of the list. */
static const char batch_claim[] =
    BATCH_PRELUDE
    "local m = redis.call('HMGET', meta, 'state', 'expires', 'head')\n"
    "if not m[1] then return redis.error_reply('" SLUICE_REDIS_E_NOT_FOUND "') end\n"
    "if m[1] == '3' or m[1] == '4' then return {} end\n"
    "local list = KEYS[12]\n"
    "local worker, max, lease = ARGV[1], tonumber(ARGV[2]), ARGV[4]\n"
    "local now = now_ms()\n"
    "local ids, atts, payloads, n, moved = {}, {}, {}, 0, 0\n"
    "while n < max do\n"
    "  local old = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now, 'LIMIT', 0, 1)[1]\n"
    "  if not old then break end\n"
    "  local rids, k = lease_ids(old)\n"
    "  local own, ratts, rpayloads = {}, {}, {}\n"
    "  if k > 0 then\n"
    "    own = hmget(owners, rids, k)\n"
    "    ratts = hmget(attempts, rids, k)\n"
    "    rpayloads = redis.call('LRANGE', lease_key(old), 0, -1)\n"
    "  end\n"
    "  local left = 0\n"
    "  for i = 1, k do\n"
    "    if own[i] == old then\n"
    "      if n < max then\n"
    "        n = n + 1\n"
    "        ids[n], atts[n], payloads[n] = rids[i], (tonumber(ratts[i]) or 1) + 1, rpayloads[i] or ''\n"
    "      else\n"
    "        left = left + 1\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if left == 0 then\n"
    "    drop_lease(old)\n"
    "  else\n"
    "    redis.call('HSET', leases, old .. ':n', left)\n"
    "  end\n"
    "end\n"
    "if n < max then\n"
    "  local r = redis.call('LPOP', requeue, max - n)\n"
    "  if r then\n"
    "    local k = #r\n"
    "    local rpayloads = hmget(records, r, k)\n"
    "    local ratts = hmget(attempts, r, k)\n"
    "    for i = 1, k do\n"
    "      n = n + 1\n"
    "      ids[n], atts[n], payloads[n] = r[i], (tonumber(ratts[i]) or 1) + 1, rpayloads[i] or ''\n"
    "    end\n"
    "    bulk('HDEL', records, r, k)\n"
    "    moved = moved + k\n"
    "  end\n"
    "end\n"
    "local fresh = 0\n"
    "local head = tonumber(m[3])\n"
    "redis.call('DEL', list)\n"
    "if n < max then\n"
    "  fresh = redis.call('SORT', pending, 'BY', 'nosort', 'LIMIT', 0, max - n, 'STORE', list)\n"
    "  if fresh > 0 then\n"
    "    redis.call('LTRIM', pending, fresh, -1)\n"
    "    redis.call('HSET', meta, 'head', string.format('%.0f', head + fresh))\n"
    "    moved = moved + fresh\n"
    "  end\n"
    "end\n"
    "if n + fresh == 0 then return {} end\n"
    "if n > 0 then bulk('RPUSH', list, payloads, n) end\n"
    "if moved > 0 then\n"
    "  redis.call('HINCRBY', meta, 'pending', -moved)\n"
    "  redis.call('HINCRBY', meta, 'processing', moved)\n"
    "end\n"
    "local total = fresh + n\n"
    "local o, reply, all, bumped, nb = {}, {}, {}, {}, 0\n"
    "for i = 1, fresh do\n"
    "  local id = head + i - 1\n"
    "  o[2 * i - 1] = id\n"
    "  o[2 * i] = lease\n"
    "  reply[2 * i - 1] = id\n"
    "  reply[2 * i] = 1\n"
    "end\n"
    "for i = 1, n do\n"
    "  local j = fresh + i\n"
    "  o[2 * j - 1] = ids[i]\n"
    "  o[2 * j] = lease\n"
    "  reply[2 * j - 1] = tonumber(ids[i])\n"
    "  reply[2 * j] = atts[i]\n"
    "  bumped[nb + 1] = ids[i]\n"
    "  bumped[nb + 2] = atts[i]\n"
    "  nb = nb + 2\n"
    "end\n"
    "local exp = expiry_ms(m[2])\n"
    "hash_table(owners)\n"
    "bulk('HSET', owners, o, 2 * total)\n"
    "if n == 0 then\n"
    "  redis.call('HSET', leases, lease .. ':w', worker, lease .. ':n', total,\n"
    "             lease .. ':a', string.format('%.0f', head))\n"
    "else\n"
    "  for i = 1, fresh do all[i] = string.format('%.0f', head + i - 1) end\n"
    "  for i = 1, n do all[fresh + i] = ids[i] end\n"
    "  redis.call('HSET', leases, lease .. ':w', worker, lease .. ':n', total,\n"
    "             lease .. ':i', table.concat(all, ' '))\n"
    "  hash_table(attempts)\n"
    "  bulk('HSET', attempts, bumped, nb)\n"
    "  redis.call('PEXPIREAT', attempts, exp)\n"
    "end\n"
    "redis.call('ZADD', deadlines, string.format('%.0f', now + tonumber(ARGV[3])), lease)\n"
    "redis.call('PEXPIREAT', list, exp)\n"
    "redis.call('PEXPIREAT', owners, exp)\n"
    "redis.call('PEXPIREAT', leases, exp)\n"
    "redis.call('PEXPIREAT', deadlines, exp)\n"
    "return reply\n";

/* ARGV: worker, the number S of succeeded records, their S ids, then
 * (id, error) pairs of failed records. An outcome counts only
 * while its record is still in a lease held by this worker: a late settle
 * of a record that was reclaimed, or a second settle of the same record,
 * changes nothing. A failed record's payload moves from its lease to
 * records, for retries. Replies {state, succeeded applied, failed
 * applied}. */
static const char batch_settle[] =
    BATCH_PRELUDE
    "local m = redis.call('HMGET', meta, 'state', 'max_failed', 'expires')\n"
    "if not m[1] then return redis.error_reply('" SLUICE_REDIS_E_NOT_FOUND "') end\n"
    "local worker, nsucceeded = ARGV[1], tonumber(ARGV[2])\n"
    "local n = nsucceeded + (#ARGV - 2 - nsucceeded) / 2\n"
    "local ids, texts = {}, {}\n"
    "for i = 1, nsucceeded do ids[i] = ARGV[2 + i] end\n"
    "for i = nsucceeded + 1, n do\n"
    "  local at = 2 + nsucceeded + 2 * (i - nsucceeded) - 1\n"
    "  ids[i], texts[i] = ARGV[at], ARGV[at + 1]\n"
    "end\n"
    "local own = {}\n"
    "if n > 0 then own = hmget(owners, ids, n) end\n"
    "local holders, counted, failing = {}, {}, {}\n"
    "local done, bad, errs, seen = {}, {}, {}, {}\n"
    "local ndone, nok, nbad = 0, 0, 0\n"
    "for i = 1, n do\n"
    "  local id, lease = ids[i], own[i]\n"
    "  if lease and not seen[id] then\n"
    "    local holder = holders[lease]\n"
    "    if holder == nil then\n"
    "      holder = redis.call('HGET', leases, lease .. ':w')\n"
    "      holders[lease] = holder\n"
    "    end\n"
    "    if holder == worker then\n"
    "      seen[id] = true\n"
    "      ndone = ndone + 1\n"
    "      done[ndone] = id\n"
    "      counted[lease] = (counted[lease] or 0) + 1\n"
    "      if i <= nsucceeded then\n"
    "        nok = nok + 1\n"
    "      else\n"
    "        nbad = nbad + 1\n"
    "        bad[nbad] = id\n"
    "        errs[2 * nbad - 1] = id\n"
    "        errs[2 * nbad] = texts[i]\n"
    "        local f = failing[lease]\n"
    "        if not f then\n"
    "          f = {}\n"
    "          failing[lease] = f\n"
    "        end\n"
    "        f[#f + 1] = id\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local state = m[1]\n"
    "if ndone == 0 then return {tonumber(state), 0, 0} end\n"
    "local exp = expiry_ms(m[3])\n"
    "bulk('HDEL', owners, done, ndone)\n"
    "for lease, count in pairs(counted) do\n"
    "  local f = failing[lease]\n"
    "  if f then\n"
    "    local l = redis.call('HMGET', leases, lease .. ':a', lease .. ':i')\n"
    "    local position = {}\n"
    "    if not l[1] and l[2] then\n"
    "      local k = 0\n"
    "      for id in string.gmatch(l[2], '%S+') do\n"
    "        position[id] = k\n"
    "        k = k + 1\n"
    "      end\n"
    "    end\n"
    "    local keep, nk = {}, 0\n"
    "    for _, id in ipairs(f) do\n"
    "      local at = l[1] and (tonumber(id) - tonumber(l[1])) or position[id]\n"
    "      local payload = at and redis.call('LINDEX', lease_key(lease), at) or false\n"
    "      keep[nk + 1] = id\n"
    "      keep[nk + 2] = payload or ''\n"
    "      nk = nk + 2\n"
    "    end\n"
    "    hash_table(records)\n"
    "    bulk('HSET', records, keep, nk)\n"
    "  end\n"
    "  if redis.call('HINCRBY', leases, lease .. ':n', -count) <= 0 then drop_lease(lease) end\n"
    "end\n"
    "redis.call('HINCRBY', meta, 'processing', -ndone)\n"
    "if nok > 0 then redis.call('HINCRBY', meta, 'succeeded', nok) end\n"
    "if nbad > 0 then\n"
    "  bulk('RPUSH', failed, bad, nbad)\n"
    "  hash_table(errors)\n"
    "  bulk('HSET', errors, errs, 2 * nbad)\n"
    "  local nfailed = redis.call('HINCRBY', meta, 'failed', nbad)\n"
    "  redis.call('PEXPIREAT', records, exp)\n"
    "  redis.call('PEXPIREAT', failed, exp)\n"
    "  redis.call('PEXPIREAT', errors, exp)\n"
    "  local max_failed = tonumber(m[2])\n"
    "  if max_failed > 0 and nfailed > max_failed and (state == '0' or state == '1') then\n"
    "    state = '3'\n"
    "    redis.call('HSET', meta, 'state', state)\n"
    "  end\n"
    "end\n"
    "if state == '1' then\n"
    "  local c = redis.call('HMGET', meta, 'pending', 'processing')\n"
    "  if c[1] == '0' and c[2] == '0' then\n"
    "    state = '2'\n"
    "    redis.call('HSET', meta, 'state', state)\n"
    "  end\n"
    "end\n"
    "return {tonumber(state), nok, nbad}\n";

/* Moves every failed record, and only those, back to pending (requeue;
 * their payloads stay in records). A finished batch (completed or failed)
 * that gets records back is closed again. Replies how many moved. */
static const char batch_retry_failed[] =
    BATCH_PRELUDE
    "local m = redis.call('HMGET', meta, 'state', 'expires')\n"
    "if not m[1] then return redis.error_reply('" SLUICE_REDIS_E_NOT_FOUND "') end\n"
    "if m[1] == '4' then return redis.error_reply('" SLUICE_REDIS_E_STATE " 4') end\n"
    "local ids = redis.call('LRANGE', failed, 0, -1)\n"
    "local n = #ids\n"
    "if n == 0 then return 0 end\n"
    "bulk('RPUSH', requeue, ids, n)\n"
    "redis.call('DEL', failed, errors)\n"
    "redis.call('HINCRBY', meta, 'failed', -n)\n"
    "redis.call('HINCRBY', meta, 'pending', n)\n"
    "if m[1] == '2' or m[1] == '3' then redis.call('HSET', meta, 'state', '1') end\n"
    "redis.call('PEXPIREAT', requeue, expiry_ms(m[2]))\n"
    "return n\n";

/* KEYS[1]: the global set of batches; ARGV[1]: the key prefix. Prunes
 * batches that expired or whose meta is gone. Replies the batch id and
 * the meta fields of get_info per batch. */
static const char batch_list[] =
    "local batches = KEYS[1]\n"
    "local t = redis.call('TIME')\n"
    "local now = string.format('%.0f', t[1] * 1000 + math.floor(t[2] / 1000))\n"
    "redis.call('ZREMRANGEBYSCORE', batches, '-inf', now)\n"
    "local ids = redis.call('ZRANGE', batches, 0, -1)\n"
    "local out, k = {}, 0\n"
    "for i = 1, #ids do\n"
    "  local v = redis.call('HMGET', ARGV[1] .. 'batch:{' .. ids[i] .. '}:meta',\n"
    "                       'workflow', 'chunk', 'max_failed', 'created', 'expires', 'state',\n"
    "                       'pending', 'processing', 'succeeded', 'failed')\n"
    "  if v[6] then\n"
    "    out[k + 1] = ids[i]\n"
    "    for f = 1, 10 do out[k + 1 + f] = v[f] end\n"
    "    k = k + 11\n"
    "  else\n"
    "    redis.call('ZREM', batches, ids[i])\n"
    "  end\n"
    "end\n"
    "return out\n";

/* ARGV: offset, limit. Replies id, attempt, payload, error per record. */
static const char batch_list_failed[] =
    BATCH_PRELUDE
    "if redis.call('EXISTS', meta) == 0 then\n"
    "  return redis.error_reply('" SLUICE_REDIS_E_NOT_FOUND "')\n"
    "end\n"
    "local first = tonumber(ARGV[1])\n"
    "local ids = redis.call('LRANGE', failed, ARGV[1], string.format('%.0f', first + tonumber(ARGV[2]) - 1))\n"
    "local n = #ids\n"
    "if n == 0 then return {} end\n"
    "local errs = hmget(errors, ids, n)\n"
    "local att = hmget(attempts, ids, n)\n"
    "local payloads = hmget(records, ids, n)\n"
    "local out = {}\n"
    "for i = 1, n do\n"
    "  out[4 * i - 3] = ids[i]\n"
    "  out[4 * i - 2] = tonumber(att[i]) or 1\n"
    "  out[4 * i - 1] = payloads[i]\n"
    "  out[4 * i] = errs[i]\n"
    "end\n"
    "return out\n";

/* ARGV: the wanted state. Closing a drained batch completes it; a
 * cancelled batch stays cancelled. Replies the new state. */
static const char batch_set_state[] =
    BATCH_PRELUDE
    "local m = redis.call('HMGET', meta, 'state', 'pending', 'processing')\n"
    "if not m[1] then return redis.error_reply('" SLUICE_REDIS_E_NOT_FOUND "') end\n"
    "local cur, want = m[1], ARGV[1]\n"
    "local drained = m[2] == '0' and m[3] == '0'\n"
    "if cur == '4' and want ~= '4' then\n"
    "  return redis.error_reply('" SLUICE_REDIS_E_STATE " ' .. cur)\n"
    "end\n"
    "local new = want\n"
    "if want == '0' then\n"
    "  if cur ~= '0' then return redis.error_reply('" SLUICE_REDIS_E_STATE " ' .. cur) end\n"
    "elseif want == '1' then\n"
    "  if cur == '0' or cur == '1' then\n"
    "    if drained then new = '2' end\n"
    "  else\n"
    "    new = cur\n"
    "  end\n"
    "elseif want == '2' then\n"
    "  if not drained then\n"
    "    return redis.error_reply('" SLUICE_REDIS_E_BUSY " ' .. m[2] .. ' ' .. m[3])\n"
    "  end\n"
    "end\n"
    "if new ~= cur then redis.call('HSET', meta, 'state', new) end\n"
    "return tonumber(new)\n";

/* ARGV[1]: the batch id. */
static const char batch_delete[] =
    BATCH_PRELUDE
    "local existed = redis.call('EXISTS', meta)\n"
    "for _, field in ipairs(redis.call('HKEYS', leases)) do\n"
    "  local lease = string.match(field, '^(.*):w$')\n"
    "  if lease then redis.call('DEL', lease_key(lease)) end\n"
    "end\n"
    "redis.call('DEL', meta, pending, requeue, records, deadlines, leases, owners, attempts,\n"
    "           failed, errors)\n"
    "redis.call('ZREM', batches, ARGV[1])\n"
    "if existed == 0 then return redis.error_reply('" SLUICE_REDIS_E_NOT_FOUND "') end\n"
    "return 1\n";

/* ARGV: owner, lease ms. Free or already ours: (re)take it. */
static const char state_lock[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == false or v == ARGV[1] then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* ARGV: owner. */
static const char state_unlock[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

/* ARGV: delta, ttl ms (0: none). The TTL is set when the counter is
 * created only. The value is read back as a string: Lua numbers would
 * lose precision past 2^53. */
static const char state_increment[] =
    "local existed = redis.call('EXISTS', KEYS[1])\n"
    "redis.call('INCRBY', KEYS[1], ARGV[1])\n"
    "if existed == 0 and ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
    "return redis.call('GET', KEYS[1])\n";

/* ARGV: rate per second, burst, count. A missing bucket is full; an idle
 * one expires once it would be full again. Replies the microseconds to
 * wait, 0 when the tokens were taken. */
static const char state_take_tokens[] =
    "local rate, burst, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000000 + t[2]\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "local tokens = tonumber(b[1]) or burst\n"
    "local ts = tonumber(b[2]) or now\n"
    "if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000000) end\n"
    "local wait = 0\n"
    "if tokens >= count then\n"
    "  tokens = tokens - count\n"
    "else\n"
    "  wait = math.ceil((count - tokens) * 1000000 / rate)\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),\n"
    "           'ts', string.format('%.0f', now))\n"
    "redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil(burst * 1000 / rate) + 1000))\n"
    "return wait\n";

static SluiceRedisScript scripts[SLUICE_REDIS_N_SCRIPTS] = {
  [SLUICE_REDIS_SCRIPT_BATCH_CREATE] = { "batch-create", batch_create, "" },
  [SLUICE_REDIS_SCRIPT_BATCH_ADD_COMMIT] = { "batch-add-commit", batch_add_commit, "" },
  [SLUICE_REDIS_SCRIPT_BATCH_CLAIM] = { "batch-claim", batch_claim, "" },
  [SLUICE_REDIS_SCRIPT_BATCH_SETTLE] = { "batch-settle", batch_settle, "" },
  [SLUICE_REDIS_SCRIPT_BATCH_RETRY_FAILED] = { "batch-retry-failed", batch_retry_failed, "" },
  [SLUICE_REDIS_SCRIPT_BATCH_LIST] = { "batch-list", batch_list, "" },
  [SLUICE_REDIS_SCRIPT_BATCH_LIST_FAILED] = { "batch-list-failed", batch_list_failed, "" },
  [SLUICE_REDIS_SCRIPT_BATCH_SET_STATE] = { "batch-set-state", batch_set_state, "" },
  [SLUICE_REDIS_SCRIPT_BATCH_DELETE] = { "batch-delete", batch_delete, "" },
  [SLUICE_REDIS_SCRIPT_STATE_LOCK] = { "state-lock", state_lock, "" },
  [SLUICE_REDIS_SCRIPT_STATE_UNLOCK] = { "state-unlock", state_unlock, "" },
  [SLUICE_REDIS_SCRIPT_STATE_INCREMENT] = { "state-increment", state_increment, "" },
  [SLUICE_REDIS_SCRIPT_STATE_TAKE_TOKENS] = { "state-take-tokens", state_take_tokens, "" },
};

static const char *const batch_key_suffixes[SLUICE_REDIS_BATCH_N_KEYS] = {
  [SLUICE_REDIS_BATCH_KEY_META] = "meta",
  [SLUICE_REDIS_BATCH_KEY_PENDING] = "pending",
  [SLUICE_REDIS_BATCH_KEY_REQUEUE] = "requeue",
  [SLUICE_REDIS_BATCH_KEY_RECORDS] = "records",
  [SLUICE_REDIS_BATCH_KEY_DEADLINES] = "deadlines",
  [SLUICE_REDIS_BATCH_KEY_LEASES] = "leases",
  [SLUICE_REDIS_BATCH_KEY_OWNERS] = "owners",
  [SLUICE_REDIS_BATCH_KEY_ATTEMPTS] = "attempts",
  [SLUICE_REDIS_BATCH_KEY_FAILED] = "failed",
  [SLUICE_REDIS_BATCH_KEY_ERRORS] = "errors",
  [SLUICE_REDIS_BATCH_KEY_BATCHES] = NULL,
};

const SluiceRedisScript *
sluice_redis_script_get (SluiceRedisScriptId id)
{
  static gsize initialized = 0;

  g_return_val_if_fail (id < SLUICE_REDIS_N_SCRIPTS, NULL);

  /* The digest Redis keys a script by is the SHA1 of its body, so it is
   * known before the server ever saw the script. */
  if (g_once_init_enter (&initialized))
    {
      for (guint i = 0; i < SLUICE_REDIS_N_SCRIPTS; i++)
        {
          g_autofree char *sha1 = g_compute_checksum_for_string (G_CHECKSUM_SHA1,
                                                                 scripts[i].body, -1);

          g_strlcpy (scripts[i].sha1, sha1, sizeof scripts[i].sha1);
        }
      g_once_init_leave (&initialized, 1);
    }

  return &scripts[id];
}

const char *
sluice_redis_batch_key_suffix (SluiceRedisBatchKey key)
{
  g_return_val_if_fail (key < SLUICE_REDIS_BATCH_N_KEYS, NULL);

  return batch_key_suffixes[key];
}
