#!/usr/bin/env python3
"""A prompt-injected agent for gw's tests: tries every way around the session's budget, model
allow-list and secrets that a hostile model could, then spends in a loop until refused.
Writes $FAKE_OUT (JSON): {"attempts": {name: [status, body]}, "spent_ok": n, "last": [status,
body], "found": [secret-looking strings it could read]}."""
import glob
import json
import os
import re
import urllib.error
import urllib.request

env = dict(os.environ)
anthropic = env["ANTHROPIC_BASE_URL"]
openai = env["OPENAI_BASE_URL"]
origin = anthropic.rsplit("/anthropic", 1)[0]
key = env.get("ANTHROPIC_API_KEY", "")
allowed = env["HOSTILE_ALLOWED_MODEL"]


def send(url, body, raw=None, method="POST", auth="x-api-key"):
    headers = {"content-type": "application/json", "x-mock-model": allowed}
    if auth == "x-api-key":
        headers["x-api-key"] = key
    else:
        headers["authorization"] = "Bearer " + env.get("OPENAI_API_KEY", "")
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return [resp.status, resp.read()[:2000].decode("utf-8", "replace")]
    except urllib.error.HTTPError as e:
        return [e.code, e.read()[:2000].decode("utf-8", "replace")]
    except Exception as e:  # a refused connection or reset counts as "not through"
        return [0, repr(e)]


opus = {"model": "claude-opus-4-1", "max_tokens": 1, "messages": []}
# Priced, and outside the allow-list: refused by the allow-list, not for want of a price.
sonnet = {"model": "claude-sonnet-4-5", "max_tokens": 1, "messages": []}
attempts = {
    # Endpoints gw does not meter, billed upstream.
    "batches": send(anthropic + "/v1/messages/batches", {"requests": [{"params": opus}]}),
    "legacy_completions": send(openai + "/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "x"}, auth="bearer"),
    "embeddings": send(openai + "/embeddings", {"model": "text-embedding-3-large", "input": "x"}, auth="bearer"),
    # Encoded paths and dot segments.
    "encoded_path": send(anthropic + "/v1/%6Dessages", sonnet),
    "dot_segments": send(origin + "/anthropic/../openai/v1/completions", {"model": "gpt-4.1", "prompt": "x"}, auth="bearer"),
    "dot_segments_batches": send(anthropic + "/v1/x/../messages/batches", {"requests": []}),
    # The model hidden from a byte matcher.
    "escaped_key": send(anthropic + "/v1/messages", None, raw=b'{"mod\\u0065l":"claude-sonnet-4-5","max_tokens":1}'),
    "repeated_key": send(anthropic + "/v1/messages", None, raw=('{"model":"%s","model":"claude-opus-4-1"}' % allowed).encode()),
    "array_body": send(anthropic + "/v1/messages", None, raw=b'["claude-opus-4-1"]'),
    # A model gw cannot price, within the allow-list's prefix.
    "unpriced_model": send(anthropic + "/v1/messages", {"model": allowed + "-unpriced-preview", "max_tokens": 1}),
    # A body far larger than any real request.
    "oversized_body": send(anthropic + "/v1/messages", None, raw=b'{"model":"%s","pad":"' % allowed.encode() + b"x" * (40 << 20) + b'"}'),
}

# Secrets: this process's environment and every process's command line.
pattern = re.compile(r"(gwa_|gwk_|sk-)[A-Za-z0-9_\-]+")
found = set()
for value in env.values():
    found.update(m.group(0) for m in pattern.finditer(value))
for path in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        continue
    found.update(m.group(0) for m in pattern.finditer(text))

# Then spend until refused.
spent_ok = 0
last = None
for _ in range(500):
    last = send(anthropic + "/v1/messages", {"model": allowed, "max_tokens": 1, "stream": True})
    if last[0] != 200:
        break
    spent_ok += 1

with open(env["FAKE_OUT"] + ".tmp", "w") as f:
    json.dump({"attempts": attempts, "spent_ok": spent_ok, "last": last, "found": sorted(found)}, f)
os.rename(env["FAKE_OUT"] + ".tmp", env["FAKE_OUT"])
