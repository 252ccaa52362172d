# Shared by the set-up steps: installing Debian packages and the Node tools on a fresh machine.
# can_apt: true when we may install (root, with apt-get).
# apt_install PKG...: install without recommends; on failure refresh the package lists once
# (a fresh machine may have none) and try again; the second failure is returned to the caller.
can_apt() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" >/dev/null 2>&1 && return 0
  apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" >/dev/null
}

# ensure_npm TAG: npm on PATH, installing Debian's nodejs and npm when we may; fails otherwise.
ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  if ! can_apt; then
    echo "[$1] npm not found and not root with apt-get: cannot install the Node tools" >&2
    return 1
  fi
  echo "[$1] installing nodejs and npm"
  apt_install nodejs npm
}

# npm_ci_if_stale TAG DIR PACKAGE: `npm ci` in DIR unless node_modules/PACKAGE is there and
# newer than package-lock.json.
npm_ci_if_stale() {
  if [ ! -d "$2/node_modules/$3" ] || [ "$2/package-lock.json" -nt "$2/node_modules/.package-lock.json" ]; then
    echo "[$1] npm ci in $2"
    (cd "$2" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
