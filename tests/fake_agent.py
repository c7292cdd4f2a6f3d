#!/usr/bin/env python3
"""A fake coding agent for gw's tests: reads the env gw injects, sends one request per protocol
through the proxy like the real agents do, reports what it saw in $FAKE_OUT (JSON) and exits
with $FAKE_EXIT. With FAKE_WAIT=1 it waits for a signal after writing $FAKE_OUT."""
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def post(url, headers, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


env = dict(os.environ)
out = {"argv": sys.argv, "env": env, "statuses": {}, "files": {}}
# What any local user sees of this process.
try:
    with open("/proc/self/cmdline", "rb") as f:
        out["cmdline"] = f.read().decode("utf-8", "replace")
except OSError:
    out["cmdline"] = " ".join(sys.argv)
headers = {"content-type": "application/json", "x-claude-code-session-id": "agent-own-session"}

anthropic = env.get("ANTHROPIC_BASE_URL")
if anthropic:
    h = dict(headers)
    # As Claude Code: an API key goes in x-api-key, an auth token as a bearer token.
    if env.get("ANTHROPIC_API_KEY"):
        h["x-api-key"] = env["ANTHROPIC_API_KEY"]
    elif env.get("ANTHROPIC_AUTH_TOKEN"):
        h["authorization"] = "Bearer " + env["ANTHROPIC_AUTH_TOKEN"]
    out["statuses"]["anthropic"] = post(anthropic + "/v1/messages?beta=true", h, {"model": "claude-sonnet-4-5", "stream": True})
    # The same request without the session key must be refused.
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(anthropic))
    out["statuses"]["no_key"] = post(origin + "/anthropic/v1/messages", {"content-type": "application/json"}, {"model": "x"})

openai = env.get("OPENAI_BASE_URL")
if openai:
    h = dict(headers)
    key = env.get("OPENAI_API_KEY") or env.get("GW_SESSION_KEY")
    h["authorization"] = "Bearer " + key
    out["statuses"]["openai"] = post(openai + "/responses", h, {"model": "gpt-5", "stream": True})

gemini = env.get("GOOGLE_GEMINI_BASE_URL")
if gemini:
    h = dict(headers)
    if env.get("GEMINI_API_KEY"):
        h["x-goog-api-key"] = env["GEMINI_API_KEY"]
    out["statuses"]["gemini"] = post(gemini + "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", h, {})

# Session files gw wrote for this agent (e.g. an MCP config passed with --mcp-config).
for i, arg in enumerate(sys.argv):
    if arg == "--mcp-config" and i + 1 < len(sys.argv):
        with open(sys.argv[i + 1]) as f:
            out["files"]["mcp_config"] = f.read()
        out["files"]["mcp_config_mode"] = oct(os.stat(sys.argv[i + 1]).st_mode & 0o777)

with open(env["FAKE_OUT"] + ".tmp", "w") as f:
    json.dump(out, f)
os.rename(env["FAKE_OUT"] + ".tmp", env["FAKE_OUT"])

if env.get("FAKE_WAIT") == "1":
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(42))
    while True:
        time.sleep(0.05)
sys.exit(int(env.get("FAKE_EXIT", "0")))
