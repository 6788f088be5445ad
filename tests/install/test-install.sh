#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: test-install.sh MESON BUILD_ROOT SOURCE_ROOT PREFIX LIBDIR SBINDIR DATADIR INCLUDEDIR
#
# What a plugin author does with the -dev package, against a DESTDIR
# install: build the example plugin with nothing but cc and pkg-config,
# drop it into a plugin folder, and see the installed sluiced list it.
# Everything happens under one temp dir, removed on exit.
set -eu

meson=$1
build_root=$2
source_root=$3
prefix=$4
libdir=$5
sbindir=$6
datadir=$7
includedir=$8

# meson options may be relative to the prefix.
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
case $sbindir in /*) ;; *) sbindir=$prefix/$sbindir ;; esac
case $datadir in /*) ;; *) datadir=$prefix/$datadir ;; esac
case $includedir in /*) ;; *) includedir=$prefix/$includedir ;; esac

fail () {
  echo "FAIL: $*" >&2
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# --no-rebuild: meson test has built everything, and a second ninja in
# the same build dir while tests run would race with it.
"$meson" install -C "$build_root" --destdir "$dest" --no-rebuild --quiet \
  || fail "meson install into $dest failed"

pcdir=$dest$libdir/pkgconfig
[ -f "$pcdir/sluice-1.pc" ] || fail "no sluice-1.pc in $pcdir"

example=$dest$datadir/doc/libsluice-1-dev/examples/upper/sluice-upper.c
[ -f "$example" ] || fail "the example plugin is not installed as $example"
[ -f "$(dirname "$example")/README.md" ] || fail "the example's README.md is not installed"
cmp -s "$example" "$source_root/sdk/examples/upper/sluice-upper.c" \
  || fail "installed $example differs from the source tree's"

# pkg-config puts PKG_CONFIG_SYSROOT_DIR in front of every -I and -L,
# those of GLib and json-glib too, so the DESTDIR has to be a complete
# sysroot, as a distro's build root is: link the folders of the SDK's
# dependencies into it, where the install did not put anything.
mirror_into_dest () {
  path=
  rest=${1#/}
  while [ -n "$rest" ]; do
    part=${rest%%/*}
    path=$path/$part
    if [ ! -e "$dest$path" ]; then
      ln -s "$path" "$dest$path"
      return
    fi
    case $rest in */*) rest=${rest#*/} ;; *) rest= ;; esac
  done
}

requires=$(PKG_CONFIG_PATH=$pcdir pkg-config --print-requires sluice-1 | cut -d' ' -f1) \
  || fail "pkg-config cannot read the requirements of sluice-1 from $pcdir"
# shellcheck disable=SC2086 # $requires is a list of words
for flag in $(pkg-config --cflags-only-I --libs-only-L $requires); do
  case $flag in
    -I/*|-L/*) mirror_into_dest "${flag#-?}" ;;
  esac
done

flags=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --cflags --libs sluice-1) \
  || fail "pkg-config cannot resolve sluice-1 from $pcdir"
echo "pkg-config --cflags --libs sluice-1: $flags"

# Every -I and -L must point into the DESTDIR, the SDK's own ones at what
# was installed there, never at the build or source tree, or this test
# would prove nothing.
case " $flags " in
  *" -I$dest$includedir/sluice-1 "*) ;;
  *) fail "no -I$dest$includedir/sluice-1 in: $flags" ;;
esac
case " $flags " in
  *" -L$dest$libdir "*) ;;
  *) fail "no -L$dest$libdir in: $flags" ;;
esac
for flag in $flags; do
  case $flag in
    -I"$dest"/*|-L"$dest"/*) ;;
    -I*|-L*) fail "$flag points outside $dest" ;;
  esac
done

mkdir "$tmp/build"
# shellcheck disable=SC2086 # $flags is a list of words
cc -shared -fPIC -o "$tmp/build/sluice-upper.so" "$example" $flags 2>"$tmp/cc.log" \
  || { cat "$tmp/cc.log" >&2; fail "the example plugin does not build against the installed SDK"; }
if [ -s "$tmp/cc.log" ]; then
  cat "$tmp/cc.log" >&2
  fail "the example plugin builds with warnings"
fi

# A third-party plugin folder as sluiced wants it: writable by its owner only.
mkdir -m 0755 "$tmp/plugins"
cp "$tmp/build/sluice-upper.so" "$tmp/plugins/sluice-upper.so"
chmod 0755 "$tmp/plugins/sluice-upper.so"

# No third-party folders from the config: only SLUICE_PLUGIN_PATH and the
# (compiled-in) distro folder are searched, whatever this machine has
# installed in /usr/local or /etc.
printf '{"plugin_dirs": []}\n' >"$tmp/sluice.conf"

sluiced=$dest$sbindir/sluiced
[ -x "$sluiced" ] || fail "no installed sluiced at $sluiced"

# Only the installed library: not the build tree's, which meson test may
# have put on LD_LIBRARY_PATH.
LD_LIBRARY_PATH=$dest$libdir
export LD_LIBRARY_PATH
case $(ldd "$sluiced" | grep 'libsluice-1\.so') in
  *"=> $dest$libdir/"*) ;;
  *) fail "installed sluiced does not use the installed libsluice-1: $(ldd "$sluiced")" ;;
esac

SLUICE_PLUGIN_PATH=$tmp/plugins \
  "$sluiced" --config "$tmp/sluice.conf" --list-plugins --json \
  >"$tmp/plugins.json" 2>"$tmp/sluiced.log" \
  || { cat "$tmp/sluiced.log" >&2; fail "installed sluiced --list-plugins --json failed"; }
cat "$tmp/sluiced.log" >&2

/usr/bin/python3 - "$tmp/plugins.json" "$tmp/plugins/sluice-upper.so" <<'PYTHON'
import json
import sys

listing_path, plugin_path = sys.argv[1], sys.argv[2]
with open(listing_path, encoding="utf-8") as f:
    listing = json.load(f)

if not isinstance(listing, list):
    sys.exit(f"FAIL: sluiced --list-plugins --json printed {type(listing).__name__}, not an array")

upper = [p for p in listing if isinstance(p, dict) and p.get("name") == "upper"]
if len(upper) != 1:
    names = [p.get("name") for p in listing if isinstance(p, dict)]
    sys.exit(f"FAIL: expected one plugin 'upper', got plugins {names}")
upper = upper[0]

problems = []
if upper.get("path") != plugin_path:
    problems.append(f"path is {upper.get('path')!r}, not {plugin_path!r}")
if not isinstance(upper.get("version"), str) or not upper["version"]:
    problems.append(f"version is {upper.get('version')!r}")
components = upper.get("components")
if not isinstance(components, list) or len(components) != 1:
    problems.append(f"components are {components!r}, not one component")
else:
    component = components[0]
    if component.get("name") != "upper.text":
        problems.append(f"component name is {component.get('name')!r}, not 'upper.text'")
    if component.get("interface") != "step":
        problems.append(f"component interface is {component.get('interface')!r}, not 'step'")
if problems:
    sys.exit("FAIL: plugin 'upper': " + "; ".join(problems))

print(f"ok: installed sluiced loaded 'upper' {upper['version']} from {plugin_path}")
PYTHON
