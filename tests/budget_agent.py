#!/usr/bin/env python3
"""A fake agent for gw's team-mode tests: sends Anthropic requests through the proxy one after
another until one is refused (any status but 200; a 429 is retried after its retry-after, as
the real agents do), $BUDGET_STOP exists, or $BUDGET_REQUESTS (400) were answered. After every request it rewrites $FAKE_OUT (JSON): {"ok": n, "status": s, "body": "..."}.
$BUDGET_PAD pads the prompt to that many bytes and $BUDGET_MAX_TOKENS sets max_tokens;
$BUDGET_REQUESTS stops it after that many answered requests.
A refusal's body is printed on stdout, as Claude Code does."""
import json
import os
import time
import urllib.error
import urllib.request

env = os.environ
base = env["ANTHROPIC_BASE_URL"]
headers = {"content-type": "application/json", "x-api-key": env.get("ANTHROPIC_API_KEY", "")}
stop = env.get("BUDGET_STOP", "")
pause = float(env.get("BUDGET_PAUSE", "0"))
state = {"ok": 0, "status": None, "body": ""}


def report():
    with open(env["FAKE_OUT"] + ".tmp", "w") as f:
        json.dump(state, f)
    os.rename(env["FAKE_OUT"] + ".tmp", env["FAKE_OUT"])


limit = int(env.get("BUDGET_REQUESTS", "400"))
for _ in range(1000):
    if (stop and os.path.exists(stop)) or state["ok"] >= limit:
        break
    model = env.get("BUDGET_MODEL", "claude-sonnet-4-5")
    request = {"model": model, "stream": True}
    # A prompt of $BUDGET_PAD bytes and an output limit, as real agents send them.
    if env.get("BUDGET_PAD"):
        request["messages"] = [{"role": "user", "content": "x" * int(env["BUDGET_PAD"])}]
    if env.get("BUDGET_MAX_TOKENS"):
        request["max_tokens"] = int(env["BUDGET_MAX_TOKENS"])
    body = json.dumps(request).encode()
    # The mock answers as the model asked for, as the real API does.
    req = urllib.request.Request(base + "/v1/messages?beta=true", data=body,
                                 headers={**headers, "x-mock-model": model}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            state["status"] = resp.status
            state["ok"] += 1
    except urllib.error.HTTPError as e:
        # As the real agents do: a 429 is waited out (its retry-after) and sent again.
        if e.code == 429 and state.setdefault("retries", 0) < 300:
            state["retries"] += 1
            e.read()
            time.sleep(min(float(e.headers.get("retry-after") or 1), 5))
            continue
        state["status"] = e.code
        state["body"] = e.read().decode("utf-8", "replace")
        report()
        print(state["body"], flush=True)
        break
    report()
    if pause:
        time.sleep(pause)
report()
