#!/usr/bin/env bash
# Installs what building the gateway needs and a fresh machine lacks: hiredis' headers and library (Debian's
# libhiredis-dev, the C client under the Redis backend, linked into every build), OpenSSL's (libssl-dev, TLS
# for rediss://) and pkg-config, plus any
# Debian packages named as arguments (scripts/install-test-tools.sh passes the test suite's), in one apt-get
# run. Does nothing when all are there. Run by the README's first command and by install-test-tools.sh.
set -euo pipefail
need=("$@")
[ -f /usr/include/hiredis/hiredis.h ] || need+=(libhiredis-dev)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "the build and tests need the Debian packages: ${need[*]} (install them as root: apt-get install -y ${need[*]})" >&2
        exit 2
    fi
    echo "== apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
