#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine lacks: headless Chromium and its driver, redis-server
# and redis-cli (the tests start their own servers on free loopback ports, some TLS-only), the openssl command
# (the TLS tests' certificates), hiredis' and libssl's headers (the build links both), pkg-config (Debian packages) and the Python test tooling (never the product): jsonschema, PyYAML,
# selenium, PyJWT.
# Run by scripts/test.sh and .ci/run; does nothing when everything is there.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v curl >/dev/null || need+=(curl)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v openssl >/dev/null || need+=(openssl)   # the TLS tests make their certificates with it
# Installed with the build's own packages, in one apt-get run.
bash "$(dirname "$0")/install-build-deps.sh" "${need[@]}"
if ! python3 -c 'import jsonschema, yaml, selenium, jwt' 2>/dev/null; then
    echo "== pip install jsonschema pyyaml selenium PyJWT (test tooling)"
    python3 -m pip install --quiet --disable-pip-version-check jsonschema pyyaml selenium PyJWT
fi
