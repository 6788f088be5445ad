#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: test-completion.sh COMPLETION BASH_COMPLETION
#
# Loads the sluicectl completion on top of bash-completion, as an
# interactive shell would, and completes command lines by setting
# COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT the way bash does. Only the
# parts that need no daemon are checked exactly: commands, subcommands,
# options, option values, files and time zones; names the daemon would
# list must come out empty, and silently, when it cannot be reached.
# $SLUICECTL, when set, is the built sluicectl, used for that last check.
# TAP output.
set -u

completion=$1
bash_completion=$2

if [[ ! -r $bash_completion ]]; then
  echo "1..0 # SKIP bash-completion is not installed ($bash_completion)"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test-completion-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# What loading prints goes to a file: loading must be silent.
# shellcheck disable=SC1090
source "$bash_completion" >"$tmp/load.out" 2>&1
# shellcheck disable=SC1090
source "$completion" >>"$tmp/load.out" 2>&1

n=0
failed=0

ok () {
  n=$((n + 1))
  echo "ok $n - $1"
}

not_ok () {
  n=$((n + 1))
  failed=1
  echo "not ok $n - $1"
  shift
  for line in "$@"; do
    echo "# $line"
  done
}

skip () {
  n=$((n + 1))
  echo "ok $n - $1 # SKIP $2"
}

# complete_words WORD... : completes the last word (may be empty) of a command
# line made of the words. A word "=" is glued to its neighbours in
# COMP_LINE, as bash splits "--opt=value" at COMP_WORDBREAKS. The
# candidates are left in COMPREPLY and, one per line, in $reply; anything
# printed goes to $noise. No subprocess here: the test runs many of these.
complete_words () {
  local i line=''

  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  for ((i = 0; i < $#; i++)); do
    if ((i > 0)) && [[ ${COMP_WORDS[i]} != "=" && ${COMP_WORDS[i - 1]} != "=" ]]; then
      line+=' '
    fi
    line+=${COMP_WORDS[i]}
  done
  COMP_LINE=$line
  COMP_POINT=${#line}
  COMPREPLY=()
  _sluicectl "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
    "${COMP_WORDS[COMP_CWORD - 1]}" >"$tmp/noise" 2>&1
  reply=''
  for i in "${COMPREPLY[@]}"; do
    reply+=$i$'\n'
  done
  noise=''
  if [[ -s $tmp/noise ]]; then
    noise=$(<"$tmp/noise")
  fi
}

# Whether COMPREPLY holds exactly the words of $1, in any order, each once.
reply_is () {
  local -A want=()
  local -a words_wanted
  local word

  read -r -a words_wanted <<<"$1"
  for word in "${words_wanted[@]}"; do
    want[$word]=1
  done
  ((${#COMPREPLY[@]} == ${#want[@]})) || return 1
  for word in "${COMPREPLY[@]}"; do
    [[ -n ${want[$word]-} ]] || return 1
    unset "want[$word]"
  done
  return 0
}

# Whether COMPREPLY holds $1.
reply_has () {
  local word

  for word in "${COMPREPLY[@]}"; do
    [[ $word == "$1" ]] && return 0
  done
  return 1
}

# expect DESCRIPTION "CANDIDATE..." WORD... : the candidates, exactly.
expect () {
  local description=$1 expected=$2
  shift 2
  complete_words "$@"
  if reply_is "$expected" && [[ -z $noise ]]; then
    ok "$description"
  else
    not_ok "$description" "line: $COMP_LINE" "expected: $expected" \
      "got: ${reply//$'\n'/ }" "printed: $noise"
  fi
}

# expect_some DESCRIPTION WANTED UNWANTED WORD... : WANTED among the
# candidates, UNWANTED not.
expect_some () {
  local description=$1 wanted=$2 unwanted=$3
  shift 3
  complete_words "$@"
  if reply_has "$wanted" && { [[ -z $unwanted ]] || ! reply_has "$unwanted"; } &&
     [[ -z $noise ]]; then
    ok "$description"
  else
    not_ok "$description" "line: $COMP_LINE" "wanted: $wanted" "unwanted: $unwanted" \
      "got: ${reply//$'\n'/ }" "printed: $noise"
  fi
}

if [[ -s $tmp/load.out ]]; then
  not_ok "loading prints nothing" "$(cat "$tmp/load.out")"
else
  ok "loading prints nothing"
fi
if [[ $(complete -p sluicectl 2>/dev/null) == "complete -F _sluicectl sluicectl" ]]; then
  ok "sluicectl is completed by _sluicectl"
else
  not_ok "sluicectl is completed by _sluicectl" "$(complete -p sluicectl 2>&1)"
fi

# The command words are a sluicectl that does not exist: nothing here may
# depend on a daemon, and names the daemon would list come out empty.
ctl=$tmp/no-such-dir/sluicectl
global="--session --address --json --timeout --help"
commands="status plugins workflows workflow runs run batches batch dead-letters cron"

expect "/commands/all" "$commands" "$ctl" ''
expect "/commands/prefix" "workflows workflow" "$ctl" wo
expect "/commands/no-arguments" "" "$ctl" status ''
expect "/global-options" "$global --version" "$ctl" --
expect "/global-options/skipped/session" "workflow workflows" "$ctl" --session wo
expect "/global-options/skipped/address-value" "$commands" \
  "$ctl" --address unix:path=/nonexistent ''
expect "/global-options/skipped/timeout-value" "batch batches" "$ctl" --timeout 5 --json ba
expect "/global-options/address-value-not-completed" "" "$ctl" --address ''
expect "/global-options/after-command" "$global" "$ctl" batch show orders-20260327 --
expect "/global-options/after-command/given-not-again" "--session --address --timeout --help" \
  "$ctl" --json plugins --
expect "/groups/help" "--help" "$ctl" workflow --

expect "/workflow/subcommands" "enable disable pause resume load reload trigger" \
  "$ctl" workflow ''
expect "/workflow/subcommands/prefix" "reload resume" "$ctl" --session workflow re
expect "/workflow/reload/no-arguments" "" "$ctl" workflow reload ''
expect "/workflow/enable/one-name-only" "" "$ctl" workflow enable orders ''
expect "/workflow/trigger/options" "--payload --payload-file --header --content-type --wait" \
  "$ctl" workflow trigger orders ''
expect "/workflow/trigger/options/with-global" \
  "--payload --payload-file --header --content-type --wait $global" \
  "$ctl" workflow trigger orders --
expect "/workflow/trigger/options/given-not-again" "--header --content-type --wait" \
  "$ctl" workflow trigger orders --payload "'{\"a\": 1}'" --header x-a=1 ''
expect "/workflow/trigger/options/payload-file-excludes-payload" "--header --wait" \
  "$ctl" workflow trigger orders --payload-file=orders.json --content-type text/csv ''
expect "/workflow/trigger/content-type" \
  "application/json application/octet-stream application/x-ndjson application/xml" \
  "$ctl" workflow trigger orders --content-type application/
expect "/workflow/trigger/content-type/prefix" "text/csv text/plain" \
  "$ctl" workflow trigger orders --content-type te
expect "/workflow/trigger/payload-not-completed" "" "$ctl" workflow trigger orders --payload ''

mkdir -p "$tmp/files/sub"
: >"$tmp/files/orders.json"
: >"$tmp/files/orders.txt"
expect_some "/workflow/load/json-files" "$tmp/files/orders.json" "$tmp/files/orders.txt" \
  "$ctl" workflow load "$tmp/files/or"
expect_some "/workflow/load/folders" "$tmp/files/sub" "" "$ctl" workflow load "$tmp/files/s"
expect_some "/workflow/trigger/payload-file" "$tmp/files/orders.txt" "" \
  "$ctl" workflow trigger orders --payload-file "$tmp/files/orders.t"
expect_some "/workflow/trigger/payload-file/equals" "$tmp/files/orders.txt" "" \
  "$ctl" workflow trigger orders --payload-file = "$tmp/files/orders.t"

expect "/runs/options" "--workflow --state --limit" "$ctl" runs ''
expect "/runs/state" "failed" "$ctl" runs --state f
expect "/runs/state/all" "queued running succeeded failed handed-back" "$ctl" runs --state ''
expect "/runs/state/equals" "handed-back" "$ctl" runs --state = h
expect "/runs/limit-not-completed" "" "$ctl" runs --limit ''
expect "/run/subcommands" "show" "$ctl" run ''

expect "/batch/subcommands" "show retry pause resume close cancel watch failed" "$ctl" batch ''
expect "/batch/failed/options" "--offset --limit" "$ctl" batch failed orders-20260327 ''
expect "/batch/show/no-options" "" "$ctl" batch show orders-20260327 ''

expect "/dead-letters/subcommands" "list show replay purge" "$ctl" dead-letters ''
expect "/dead-letters/list/options" "--workflow --node --error-contains --offset --limit" \
  "$ctl" dead-letters list ''
expect "/dead-letters/replay/options" "--all --workflow --node --error-contains $global" \
  "$ctl" dead-letters replay --
expect "/dead-letters/purge/after-all" "--workflow --node --error-contains" \
  "$ctl" dead-letters purge --all ''
expect "/dead-letters/purge/filters-before-all" "--all --node --error-contains" \
  "$ctl" dead-letters purge --workflow order-events ''
expect "/dead-letters/replay/ids-take-no-filters" "$global" \
  "$ctl" dead-letters replay 6c1f0d2e --
expect "/dead-letters/list/error-contains-not-completed" "" \
  "$ctl" dead-letters list --error-contains ''

expect "/cron/subcommands" "next" "$ctl" cron ''
expect "/cron/next/expression-not-guessed" "" "$ctl" cron next ''
expect "/cron/next/macros" "@daily" "$ctl" cron next @da
expect "/cron/next/options" "--timezone --from --count" "$ctl" cron next "'30 2 * * *'" ''
expect "/cron/next/count-not-completed" "" "$ctl" cron next @daily --count ''
expect_some "/cron/next/timezone/utc" "UTC" "" "$ctl" cron next @daily --timezone U
expect_some "/cron/next/timezone/local" "local" "" "$ctl" cron next @daily --timezone l
complete_words "$ctl" cron next @daily --timezone UT
if [[ $reply == *UTC$'\n'* && $reply != *UTC$'\n'*UTC$'\n'* ]]; then
  ok "/cron/next/timezone/utc-once"
else
  not_ok "/cron/next/timezone/utc-once" "got: ${reply//$'\n'/ }"
fi
zones=${TZDIR:-/usr/share/zoneinfo}
if [[ -e $zones/Europe/Berlin ]]; then
  expect_some "/cron/next/timezone/iana" "Europe/Berlin" "Europe/Paris" \
    "$ctl" cron next @daily --timezone Europe/Berl
  expect_some "/cron/next/timezone/no-posix-copies" "Europe/Berlin" "posix/Europe/Berlin" \
    "$ctl" cron next @daily --timezone ''
else
  skip "/cron/next/timezone/iana" "no $zones/Europe/Berlin (tzdata)"
  skip "/cron/next/timezone/no-posix-copies" "no $zones/Europe/Berlin (tzdata)"
fi

# Names the daemon would list: none, and no message, when it cannot be
# reached, whether sluicectl itself is missing or finds no daemon.
expect "/daemon-names/missing-sluicectl/workflow" "" "$ctl" workflow enable ''
expect "/daemon-names/missing-sluicectl/run" "" "$ctl" run show ''
expect "/daemon-names/missing-sluicectl/batch" "" "$ctl" batch show ''
expect "/daemon-names/missing-sluicectl/dead-letter" "" "$ctl" dead-letters show ''
if [[ -n ${SLUICECTL-} && -x ${SLUICECTL-} ]]; then
  no_bus=unix:path=$tmp/no-bus
  expect "/daemon-names/no-daemon/workflow" "" "$SLUICECTL" --address "$no_bus" workflow enable ''
  expect "/daemon-names/no-daemon/batch" "" "$SLUICECTL" --address "$no_bus" batch watch ''
  expect "/daemon-names/no-daemon/dead-letter" "" \
    "$SLUICECTL" --address "$no_bus" dead-letters replay ''
  expect "/daemon-names/no-daemon/runs-workflow" "" "$SLUICECTL" runs --address "$no_bus" --workflow ''
  expect "/daemon-names/no-daemon/run" "" "$SLUICECTL" --address "$no_bus" run show ''
else
  skip "/daemon-names/no-daemon" "sluicectl is not built (SLUICECTL is not set)"
fi

echo "1..$n"
exit $failed
