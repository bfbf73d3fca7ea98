# shellcheck shell=bash
# Find or provision the Python that Home Assistant needs (CPython >= 3.14.2).
# Sourced by scripts/setup and .ci/run (scripts/test, scripts/develop and
# scripts/e2e get it through scripts/setup); run it directly to print the
# interpreter it would use:  scripts/lib/python.sh
#
# pwf_find_python prints the interpreter's path on stdout and says on stderr
# what it does. Where it looks, first hit wins:
#   1. $PYTHON, if set (it must be good enough, else it is an error)
#   2. python3.14, python3 on PATH
#   3. a build made earlier by step 5, in $PWF_PYTHON_CACHE
#   4. an interpreter managed by uv: uv on PATH, or uv installed from PyPI
#      with any python3 >= 3.9 into $PWF_PYTHON_CACHE/uv; then
#      `uv python find`, else `uv python install` (fails quietly when uv's
#      downloads are unreachable)
#   5. a build of the CPython source release (sha256-pinned tarball; from the
#      Debian archive apt is configured with, else from python.org) into
#      $PWF_PYTHON_CACHE/python-$PWF_CPYTHON_VERSION: about 4 minutes on two
#      idle cores (6.5 min of CPU time), once per machine
#
# Environment: PYTHON, PWF_PYTHON_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/powerwall-fleet), PWF_NO_UV=1 skips step 4.

PWF_PYTHON_MIN=3.14.2
PWF_CPYTHON_VERSION=3.14.7
# sha256 of Python-3.14.7.tar.xz, the release tarball (Debian ships it
# unchanged as python3.14_3.14.7.orig.tar.xz).
PWF_CPYTHON_SHA256=3b48dac8fb59f62eaa67ac83c1eb12bda1b7a08406dd286e252c11a66be27f81

pwf_say() { echo "python: $*" >&2; }

pwf_python_cache() {
  echo "${PWF_PYTHON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/powerwall-fleet}"
}

# True when $1 runs as CPython >= 3.14.2 with the modules Home Assistant needs.
pwf_python_ok() {
  [ -n "$1" ] || return 1
  "$1" - <<'PY' >/dev/null 2>&1
import sys

if sys.implementation.name != "cpython" or sys.version_info[:3] < (3, 14, 2):
    sys.exit(1)
import bz2, ctypes, lzma, sqlite3, ssl, venv, zlib  # noqa: E401,F401
PY
}

# An interpreter from PATH, or nothing.
pwf_python_from_path() {
  local name found
  for name in python3.14 python3; do
    found="$(command -v "$name" 2>/dev/null)" || continue
    if pwf_python_ok "$found"; then
      echo "$found"
      return 0
    fi
  done
  return 1
}

# The interpreter built earlier into the cache, or nothing.
pwf_python_from_cache() {
  local candidate
  candidate="$(pwf_python_cache)/python-$PWF_CPYTHON_VERSION/bin/python3.14"
  if [ -x "$candidate" ] && pwf_python_ok "$candidate"; then
    echo "$candidate"
    return 0
  fi
  return 1
}

# uv: on PATH, else installed from PyPI into the cache with some python3 >= 3.9.
pwf_uv() {
  local venv base found
  if found="$(command -v uv 2>/dev/null)"; then
    echo "$found"
    return 0
  fi
  venv="$(pwf_python_cache)/uv"
  if [ -x "$venv/bin/uv" ]; then
    echo "$venv/bin/uv"
    return 0
  fi
  for base in python3.14 python3.13 python3.12 python3.11 python3.10 python3.9 python3; do
    found="$(command -v "$base" 2>/dev/null)" || continue
    "$found" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null || continue
    pwf_say "installing uv from PyPI into $venv (with $found)"
    rm -rf "$venv"
    if "$found" -m venv "$venv" >/dev/null 2>&1 \
      && PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet uv >/dev/null 2>&1 \
      && [ -x "$venv/bin/uv" ]; then
      echo "$venv/bin/uv"
      return 0
    fi
    rm -rf "$venv"
    pwf_say "could not install uv with $found (no venv or pip module?)"
    return 1
  done
  return 1
}

# An interpreter managed by uv (found, else installed by uv), or nothing.
pwf_python_from_uv() {
  local uv found
  [ "${PWF_NO_UV:-}" != 1 ] || return 1
  uv="$(pwf_uv)" || return 1
  found="$("$uv" python find --no-config --managed-python ">=$PWF_PYTHON_MIN,<3.15" 2>/dev/null)" || found=""
  if pwf_python_ok "$found"; then
    echo "$found"
    return 0
  fi
  pwf_say "asking uv for Python 3.14 (uv python install 3.14)"
  if timeout 600 "$uv" python install --no-config 3.14 >/dev/null 2>&1; then
    found="$("$uv" python find --no-config --managed-python ">=$PWF_PYTHON_MIN,<3.15" 2>/dev/null)" || found=""
    if pwf_python_ok "$found"; then
      echo "$found"
      return 0
    fi
  fi
  pwf_say "uv could not provide Python 3.14 (its downloads may be unreachable here)"
  return 1
}

# The Debian archive apt is configured with (http(s)://.../debian), or nothing.
pwf_debian_archive() {
  local file url
  for file in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -r "$file" ] || continue
    # deb822 "URIs: <url> ..." and one-line "deb [options] <url> <suite> ..." forms.
    url="$(sed -nE \
      -e 's#^[[:space:]]*URIs:.*[[:space:]](https?://[^[:space:]]+/debian)/?([[:space:]].*)?$#\1#p' \
      -e 's#^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(https?://[^[:space:]]+/debian)/?[[:space:]].*$#\2#p' \
      "$file" | head -n1)"
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
  done
  return 1
}

# Download $1 to $2; true when it arrived.
pwf_download() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --connect-timeout 15 --max-time 600 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --timeout=15 -O "$2" "$1"
  else
    return 1
  fi
}

# The source tarball, checked against the pinned sha256, into $1.
pwf_fetch_source() {
  local target="$1" series="${PWF_CPYTHON_VERSION%.*}" archive url
  local urls=()
  if archive="$(pwf_debian_archive)"; then
    urls+=("$archive/pool/main/p/python$series/python${series}_$PWF_CPYTHON_VERSION.orig.tar.xz")
  fi
  urls+=("https://www.python.org/ftp/python/$PWF_CPYTHON_VERSION/Python-$PWF_CPYTHON_VERSION.tar.xz")
  for url in "${urls[@]}"; do
    if ! pwf_download "$url" "$target" 2>/dev/null; then
      pwf_say "could not download $url"
      continue
    fi
    if [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$PWF_CPYTHON_SHA256" ]; then
      pwf_say "source: $url (sha256 checked)"
      return 0
    fi
    pwf_say "$url does not have the pinned sha256; not using it"
  done
  return 1
}

# Debian packages the build needs; installed when root with apt-get, else named.
pwf_build_deps() {
  local wanted=(gcc make pkg-config libc6-dev libssl-dev zlib1g-dev libbz2-dev liblzma-dev
    libsqlite3-dev libffi-dev libzstd-dev uuid-dev libreadline-dev xz-utils)
  local missing=() pkg
  command -v dpkg >/dev/null 2>&1 || return 0
  for pkg in "${wanted[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    pwf_say "installing build dependencies: apt-get install ${missing[*]}"
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" \
      || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; }; } >&2 \
      || pwf_say "apt-get could not install them; the build may lack modules"
  else
    pwf_say "the build may need: sudo apt-get install ${missing[*]}"
  fi
}

# Build CPython from source into the cache; prints the interpreter.
pwf_python_build() {
  local cache prefix log work start src status=0
  cache="$(pwf_python_cache)"
  prefix="$cache/python-$PWF_CPYTHON_VERSION"
  log="$cache/build-$PWF_CPYTHON_VERSION.log"
  mkdir -p "$cache"
  pwf_say "no Python >= $PWF_PYTHON_MIN found: building CPython $PWF_CPYTHON_VERSION from source into $prefix"
  pwf_say "this takes about 4 minutes on 2 idle cores (longer on a busy machine), once; log: $log"
  pwf_build_deps
  work="$(mktemp -d)"
  start=$SECONDS
  : >"$log"
  if ! pwf_fetch_source "$work/Python.tar.xz"; then
    rm -rf "$work"
    pwf_say "could not get the CPython source"
    return 1
  fi
  rm -rf "$prefix"
  (
    set -e
    tar -xJf "$work/Python.tar.xz" -C "$work"
    src="$work/Python-$PWF_CPYTHON_VERSION"
    cd "$src"
    ./configure --prefix="$prefix" --with-ensurepip=install
    make -j"$(nproc 2>/dev/null || echo 2)"
    make altinstall
  ) >>"$log" 2>&1 || status=$?
  rm -rf "$work"
  if [ "$status" != 0 ]; then
    pwf_say "the build failed after $((SECONDS - start)) s; see the end of $log"
    rm -rf "$prefix"
    return 1
  fi
  if ! pwf_python_ok "$prefix/bin/python3.14"; then
    pwf_say "built, but the interpreter lacks modules Home Assistant needs (ssl, sqlite3, ctypes, lzma, bz2, zlib);"
    pwf_say "install their -dev packages (see above) and run again; log: $log"
    rm -rf "$prefix"
    return 1
  fi
  pwf_say "built CPython $PWF_CPYTHON_VERSION in $((SECONDS - start)) s: $prefix/bin/python3.14"
  echo "$prefix/bin/python3.14"
}

pwf_find_python() {
  local found cache
  if [ -n "${PYTHON:-}" ]; then
    if pwf_python_ok "$PYTHON"; then
      echo "$PYTHON"
      return 0
    fi
    pwf_say "PYTHON=$PYTHON is not CPython >= $PWF_PYTHON_MIN with ssl, sqlite3, ctypes, lzma, bz2 and zlib"
    return 1
  fi
  if found="$(pwf_python_from_path)" || found="$(pwf_python_from_cache)"; then
    echo "$found"
    return 0
  fi
  cache="$(pwf_python_cache)"
  mkdir -p "$cache"
  # One provisioning at a time (scripts may run in parallel).
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$cache/.python.lock"
    flock 8
  fi
  found="$(pwf_python_from_cache)" || found="$(pwf_python_from_uv)" || found="$(pwf_python_build)" || found=""
  if command -v flock >/dev/null 2>&1; then
    exec 8>&-
  fi
  if [ -n "$found" ]; then
    echo "$found"
    return 0
  fi
  pwf_say "no Python >= $PWF_PYTHON_MIN: install Python 3.14 (python.org, your package manager, pyenv, uv),"
  pwf_say "or point PYTHON at one: PYTHON=/path/to/python3.14 scripts/setup"
  return 1
}

# Run directly: print the interpreter.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  pwf_find_python
fi
