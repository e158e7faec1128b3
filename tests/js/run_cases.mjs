// Judge verification cases with the JavaScript verifier: a JSON array of cases on stdin (the shape of
// tests/js/cases.py), a JSON array of outcomes ([code, where]) on stdout. One process for all cases:
// tests/js/test_js_agrees.py compares them with the Python library's.

import { outcome } from "./judge.mjs";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) out.push(await outcome(c));
process.stdout.write(JSON.stringify(out));
