#!/usr/bin/env bash
# The one test command (README: `npm test`). Installs the real peers the tests drive when they are
# missing (Debian packages: kamailio + presence modules, sip-tester for sipp, tcpdump, postgresql and
# redis-server for the cluster store and table), type-checks
# under strict, then runs every vitest suite. Tests whose component is absent print why they skip.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v kamailio >/dev/null 2>&1 || need+=(kamailio kamailio-presence-modules)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/presence.so ] || ls /usr/lib/*/kamailio/modules/presence.so >/dev/null 2>&1 || need+=(kamailio-presence-modules)
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test-all: installing ${need[*]} from Debian packages"
    # The tests start private PostgreSQL clusters; the package's own system-wide cluster is not wanted.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
      mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "test-all: ${need[*]} missing and not root: tests that need them will say they skipped"
  fi
fi
# `sipp -v` exits 99 even when it prints its version: judge by the output, not the exit status (under
# pipefail a `|| echo absent` would fire after the version was printed).
kamailio_v=$(kamailio -v 2>/dev/null | head -1 | awk '{print $3}' || true)
sipp_v=$(sipp -v 2>/dev/null | grep -o 'SIPp v[0-9.]*' | head -1 || true)
echo "test-all: kamailio ${kamailio_v:-absent}, ${sipp_v:-sipp absent}"

[ -d node_modules ] || npm_config_build_from_source=better-sqlite3 npm ci --no-audit --no-fund
npx tsc -p tsconfig.json --noEmit
echo "test-all: tsc --noEmit (strict) passed"
npm run --silent lint
echo "test-all: lint (format, lint rules, layer rule) passed"
mkdir -p .tmp && rm -f .tmp/vitest-results.json
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-results.json "$@"
rc=$?
set -e
# One plain closing line for whoever reads the log: "tests: N passed, N failed, N skipped".
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest-results.json", "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' 2>/dev/null || echo "tests: no result file (vitest exit $rc)"
exit $rc
