// Parses each Mermaid text of a JSON list (stdin) with Mermaid itself; prints a JSON list with,
// per text, the diagram type and configuration, or the parse error.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const prefix = process.argv[2];
const require = createRequire(pathToFileURL(prefix + "/"));
const { JSDOM } = require("jsdom");
// Mermaid sanitizes with DOMPurify, which needs a DOM.
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const mermaid = (await import(pathToFileURL(prefix + "/node_modules/mermaid/dist/mermaid.core.mjs"))).default;
mermaid.initialize({ startOnLoad: false });

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ type: parsed.diagramType, config: parsed.config || {} });
  } catch (error) {
    results.push({ error: String(error.message || error).split("\n").slice(0, 4).join(" ") });
  }
}
process.stdout.write(JSON.stringify(results));
