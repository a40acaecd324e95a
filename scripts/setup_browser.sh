#!/usr/bin/env bash
# Install the browser the end-to-end test drives JupyterLab in: Debian's chromium, through apt.
#
#   scripts/setup_browser.sh        (run by `make setup`)
#
# Playwright (a test dependency from PyPI) drives it at /usr/bin/chromium; Playwright's own browser
# download is not used. On Debian/Ubuntu as root (or with passwordless sudo) it apt-installs
# chromium once (checked with dpkg -s first). Elsewhere it says what to install and exits 0: the
# browser test then skips with that reason.
set -uo pipefail
say() { echo "setup_browser: $*"; }
if [ -x /usr/bin/chromium ]; then
    say "chromium found at /usr/bin/chromium"; exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get here: install Chromium as /usr/bin/chromium to run the browser test"; exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        say "not root: to run the browser test, run: sudo apt-get install --no-install-recommends chromium"
        exit 0
    fi
fi
say "installing chromium (apt; about a minute)"
if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    say "chromium installed at /usr/bin/chromium"
else
    say "apt-get failed; install by hand: sudo apt-get install --no-install-recommends chromium"
fi
exit 0
