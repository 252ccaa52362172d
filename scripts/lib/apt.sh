# Shared by the set-up steps: installing Debian packages on a fresh machine.
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
