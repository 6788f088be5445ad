// SPDX-License-Identifier: LGPL-2.1-or-later
// Node-RED settings for bench/webhook: headless (no editor, no admin API),
// HTTP nodes only on 127.0.0.1:$WEBHOOK_PORT, quiet logs. The function node
// gets node's crypto and the webhook secret (read from $WEBHOOK_SECRET_FILE)
// through the global context.
const fs = require("fs");
const crypto = require("crypto");

// GitHub signs the bytes it sends, so the verifier needs the raw body. This
// middleware runs before the http-in node's own parsers: it keeps the bytes
// as req.rawBody and parses JSON into req.body as Node-RED would (which then
// leaves the request alone because req._body is set).
function rawBody (req, res, next) {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    req.rawBody = Buffer.concat(chunks);
    req._body = true;
    if (/^application\/json/i.test(req.headers["content-type"] || "")) {
      try {
        req.body = JSON.parse(req.rawBody.toString("utf8"));
      } catch (e) {
        res.status(400).send("malformed JSON: " + e.message);
        return;
      }
    } else {
      req.body = req.rawBody;
    }
    next();
  });
  req.on("error", next);
}

module.exports = {
  uiHost: "127.0.0.1",
  uiPort: parseInt(process.env.WEBHOOK_PORT, 10),
  flowFile: "flows.json",
  flowFilePretty: false,
  credentialSecret: false,
  httpAdminRoot: false,
  httpNodeRoot: "/",
  httpNodeMiddleware: rawBody,
  disableEditor: true,
  functionExternalModules: false,
  functionGlobalContext: {
    crypto: crypto,
    webhookSecret: fs.readFileSync(process.env.WEBHOOK_SECRET_FILE),
  },
  logging: {
    console: { level: "warn", metrics: false, audit: false },
  },
  diagnostics: { enabled: false, ui: false },
  telemetry: { enabled: false },
  editorTheme: { projects: { enabled: false } },
};
