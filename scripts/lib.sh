# Shell helpers the scripts share (sourced, not run).

# Installs Debian packages when apt-get is at hand (as root, or through sudo); does nothing on a
# machine without apt-get, where the caller's own check then says what is missing.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 0
  local as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -q >/dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}
