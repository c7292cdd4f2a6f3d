#!/usr/bin/env python3
"""A trivial stdio MCP server for gw's tests: appends a line to the file named by its first
argument when started and for each method it is asked, and answers initialize, tools/list and
ping so agents consider it healthy."""
import json
import os
import sys

log_path = sys.argv[1]


def log(line):
    with open(log_path, "a") as f:
        f.write(line + "\n")


# The env gw configured for this server (codex gets it from a private file, not argv).
log("started " + os.environ.get("GWTEST_MCP_TOKEN", "-"))
for raw in sys.stdin:
    raw = raw.strip()
    if not raw:
        continue
    try:
        msg = json.loads(raw)
    except ValueError:
        continue
    method = msg.get("method", "")
    log(method)
    if "id" not in msg:
        continue
    if method == "initialize":
        result = {
            "protocolVersion": msg.get("params", {}).get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "gw-test", "version": "1.0.0"},
        }
    elif method == "tools/list":
        result = {"tools": [{"name": "gw_ping", "description": "answers pong", "inputSchema": {"type": "object", "properties": {}}}]}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n")
    sys.stdout.flush()
