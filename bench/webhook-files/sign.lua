-- SPDX-License-Identifier: LGPL-2.1-or-later
-- wrk -s sign.lua: every request is a GitHub-style webhook delivery, a POST of
-- the body in $WEBHOOK_BODY_FILE with its signature $WEBHOOK_SIGNATURE (the
-- "sha256=<hex>" value of X-Hub-Signature-256). The body is signed once, in
-- bench/webhook, as a sender with a fixed payload would.
local path = os.getenv("WEBHOOK_BODY_FILE")
local signature = os.getenv("WEBHOOK_SIGNATURE")
assert(path and signature, "sign.lua needs WEBHOOK_BODY_FILE and WEBHOOK_SIGNATURE")

local f = assert(io.open(path, "rb"))
wrk.body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-GitHub-Delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
wrk.headers["X-Hub-Signature-256"] = signature
