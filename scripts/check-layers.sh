#!/usr/bin/env bash
# Imports point down the module graph (docs/architecture.md): fails when a module imports one above it,
# or when the session layer reaches past the policy gate (the bus, the log, HTTP). Prints one line per breach.
set -euo pipefail
cd "$(dirname "$0")/.."
# module: the modules of ours it must not import
declare -A forbidden=(
    [GatewayModel]="PolicyLanguage PolicyEngine PolicyEnforcement EventBus EventStore GatewaySession GatewayServer RealtimeGateway"
    [PolicyLanguage]="PolicyEngine PolicyEnforcement EventBus EventStore GatewaySession GatewayServer RealtimeGateway"
    [PolicyEngine]="PolicyEnforcement EventBus EventStore GatewaySession GatewayServer RealtimeGateway"
    [EventBus]="PolicyLanguage PolicyEngine PolicyEnforcement EventStore GatewaySession GatewayServer RealtimeGateway"
    [RedisBackend]="PolicyLanguage PolicyEngine PolicyEnforcement EventStore GatewaySession GatewayServer RealtimeGateway"
    [EventStore]="PolicyLanguage PolicyEngine PolicyEnforcement GatewaySession GatewayServer RealtimeGateway"
    [PolicyEnforcement]="EventStore RedisBackend GatewaySession GatewayServer RealtimeGateway Hummingbird NIOHTTP1"
    [GatewaySession]="EventBus EventStore RedisBackend GatewayServer RealtimeGateway Hummingbird HummingbirdCore NIOHTTP1 NIOHTTPTypes"
    [GatewayServer]="RealtimeGateway"
)
breaches=0
for module in "${!forbidden[@]}"; do
    for other in ${forbidden[$module]}; do
        if hits=$(grep -rnE "^\s*(public |@preconcurrency |@testable )?import $other\$" "Sources/$module" 2>/dev/null); then
            while IFS= read -r hit; do echo "layering: $hit ($module must not import $other)"; done <<<"$hits"
            breaches=$((breaches + 1))
        fi
    done
done
if [ "$breaches" -gt 0 ]; then exit 1; fi
echo "layers: every import points down the graph"
