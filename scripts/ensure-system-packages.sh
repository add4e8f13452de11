#!/usr/bin/env bash
# Debian packages Malipo needs beyond Python: WeasyPrint's Pango stack, HarfBuzz-Subset
# (WeasyPrint subsets fonts with it; without it, fontTools takes ~4x longer) and a font.
# Chromium runs the browser test of the hosted payment page (Playwright drives Debian's
# build; no browser is ever downloaded). Installs them only when missing, and only when
# we are root with apt-get.
set -euo pipefail

needed=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 fonts-dejavu-core chromium)
missing=()
for package in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
# Debian's own Python needs python3-venv for `python3 -m venv`. $1: the interpreter the
# Makefile makes the virtual environment with.
"${1:-python3}" -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "missing Debian packages: ${missing[*]} (install them, e.g. with sudo apt-get install)" >&2
    exit 1
fi
