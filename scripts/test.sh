#!/usr/bin/env bash
# Runs every test. Installs what the tests need first, when it is missing: Debian's Chromium
# (the browser tests drive it through Playwright), the PostgreSQL server binaries (the test
# run starts its own throwaway cluster) and Node with npm; then the npm clients the Mailpit
# tests drive, from their lock file. Extra arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v python3 >/dev/null || missing+=(python3)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian's packages..."
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The real npm Mailpit clients (mailpit-api) that Mailtest.Tests/Mailpit drives, exactly as the
# committed package-lock.json pins them, into a scratch folder the tests are told about.
clients=$(mktemp -d "${TMPDIR:-/tmp}/mailtest-npm-clients.XXXXXX")
trap 'rm -rf "$clients"' EXIT
cp Mailtest.Tests/TestData/Mailpit/package.json Mailtest.Tests/TestData/Mailpit/package-lock.json "$clients/"
(cd "$clients" && npm ci --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error)
export MAILTEST_NPM_CLIENTS="$clients"

dotnet test "$@"
