#!/usr/bin/env bash
# Idempotent setup on Debian 12 (bookworm), as root: system packages (QEMU >= 9.1
# from bookworm-backports, without Recommends), then a Python venv in .venv.
# Fast when everything is already there: no apt or pip call at all.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }
# A fresh private file (mktemp: 0600, unpredictable name), never a fixed path
# in /tmp that another user could have planted as a symlink.
LOG=$(mktemp "${TMPDIR:-/tmp}/lam-harness-setup.XXXXXX.log")
: > "$LOG"
# Run a step quietly; on failure show its output and stop.
quiet() { "$@" >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "failed: $* (full log: $LOG)"; }; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 3; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "run as root (or install sudo): system packages are needed"
  SUDO="sudo"
fi

# Packages from the release itself, and from bookworm-backports (QEMU 10: the 'lam' CPU flag).
BASE_PKGS=(busybox-static dropbear-bin cpio xz-utils zstd kmod ca-certificates python3-venv
           git make gcc flex bison bc libelf-dev libssl-dev rsync ccache dpkg-dev
           libglib2.0-dev libpixman-1-dev libslirp-dev ninja-build pkg-config
           openssh-server  # tests run their own sshd (own config, 127.0.0.1) as a remote runner
           chromium)  # chromium: summary.html is checked in a real headless browser
BPO_PKGS=(qemu-system-x86 qemu-utils)

missing=()
for p in "${BASE_PKGS[@]}" "${BPO_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
qemu_ok() {
  command -v qemu-system-x86_64 >/dev/null || return 1
  v=$(qemu-system-x86_64 -version | sed -n 's/.*version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  set -- $v
  [ "${1:-0}" -gt 9 ] || { [ "${1:-0}" -eq 9 ] && [ "${2:-0}" -ge 1 ]; }
}
qemu_ok || missing+=(qemu-system-x86)

if [ ${#missing[@]} -gt 0 ]; then
  . /etc/os-release
  [ "${ID:-}" = debian ] || die "this setup script knows Debian only (found ${ID:-unknown}); install ${missing[*]} and QEMU >= 9.1 by hand"
  codename=${VERSION_CODENAME:-bookworm}
  if [ "$codename" = bookworm ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "enabling bookworm-backports (for QEMU >= 9.1)"
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/lam-harness-backports.list >/dev/null
  fi
  if [ "$codename" = bookworm ] && ! grep -rqs "^deb-src.*bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # QEMU built from Debian's source (machine.qemu: {debian: qemu, ...}) needs it
    echo "deb-src http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/lam-harness-backports-src.list >/dev/null
  fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  quiet $SUDO apt-get update -q
  new_sshd=0
  [[ " ${missing[*]} " == *" openssh-server "* ]] && new_sshd=1
  quiet $SUDO apt-get install -y -q --no-install-recommends "${BASE_PKGS[@]}"
  if [ "$new_sshd" = 1 ] && command -v systemctl >/dev/null; then
    # Only the sshd binary is wanted (tests start their own on 127.0.0.1): do
    # not leave a system SSH server listening that this script brought in.
    $SUDO systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
  if [ "$codename" = bookworm ]; then
    quiet $SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports "${BPO_PKGS[@]}"
  else
    quiet $SUDO apt-get install -y -q --no-install-recommends "${BPO_PKGS[@]}"
  fi
  qemu_ok || die "QEMU >= 9.1 is needed (the 'lam' CPU flag); found: $(qemu-system-x86_64 -version 2>/dev/null | head -1)"
fi

# The Python side: a venv with the project and its test tools.
PY=${PYTHON:-python3}
stamp=.venv/.lam-harness-setup
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating .venv and installing lam-harness with its test tools"
  [ -x .venv/bin/python ] || quiet "$PY" -m venv .venv
  quiet .venv/bin/python -m pip install -q --upgrade pip
  quiet .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi
say "ready: $(qemu-system-x86_64 -version | head -1); $(.venv/bin/python --version)"
