// Checks that every export of every package has a doc comment, from TypeDoc's JSON model
// of the API (`pnpm docs` writes it to docs/api/api.json, beside the HTML reference).
// Members (methods, properties) are not required; an export re-exported from another
// entry point is checked where it is declared. Exits 1 listing each undocumented export.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? new URL('../docs/api/api.json', import.meta.url).pathname;
const project = JSON.parse(readFileSync(file, 'utf8'));

const MODULE = 2;
const REFERENCE = 4194304;

function documented(r) {
  const has = (c) => (c?.summary ?? []).some((part) => part.text.trim() !== '');
  if (has(r.comment)) return true;
  // Functions and call signatures carry the comment on their signatures; accessors on get/set.
  for (const s of [...(r.signatures ?? []), r.getSignature, r.setSignature]) {
    if (has(s?.comment)) return true;
  }
  return false;
}

const missing = [];
let exports = 0;
function visit(r, path) {
  for (const child of r.children ?? []) {
    if (child.kind === MODULE) {
      visit(child, child.name === 'index' ? path : `${path}/${child.name}`);
      continue;
    }
    if (child.kind === REFERENCE) continue;
    exports += 1;
    if (!documented(child)) missing.push(`${path}: ${child.name}`);
  }
}
for (const pkg of project.children ?? []) visit(pkg, pkg.name);

for (const m of missing) console.log(`undocumented export ${m}`);
console.log(`${exports} exports, ${missing.length} without a doc comment`);
process.exit(missing.length > 0 || exports === 0 ? 1 : 0);
