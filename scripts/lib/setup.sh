# Installs what building and running Safeguard need and a fresh Debian machine may lack.
# Sourced by scripts/demo and scripts/test; `ensure_packages PKG...` installs only the missing.

log() { printf '\n== %s\n' "$*" >&2; }

ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Installs a package only when its command is missing (a tool may come from elsewhere than
# Debian, as Node.js often does: then its Debian package would conflict).
ensure_command() {
  local cmd="$1"; shift
  command -v "$cmd" >/dev/null 2>&1 || ensure_packages "$@"
}

# Build dependencies: libxml2 (the XSD validator behind the CyberTipline intake, found by
# pkg-config; its Rust bindings are generated with libclang), and ffmpeg for video hashing.
ensure_build_packages() {
  ensure_packages pkg-config libxml2-dev libclang-dev clang ffmpeg
}
