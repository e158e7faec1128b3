// Judge verification cases with the JavaScript verifier: a JSON array of cases on stdin (the shape of
// tests/js/cases.py), a JSON array of verdicts on stdout. One process for all cases: tests/js/test_js_agrees.py
// compares the verdicts with the Python library's.

import { verdict } from "./judge.mjs";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) out.push(await verdict(c));
process.stdout.write(JSON.stringify(out));
