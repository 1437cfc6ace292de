// The oldest Node mdw runs on is package.json's engines.node (">=X.Y.Z"); this file is the one
// reader of it. bin/mdw asks before it loads the compiled code. The Makefile runs this file to
// decide whether to install Node into .tools/: exit 0 when the node running it is new enough.
// Plain code on purpose: an old node must get as far as the answer.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const packageJson = fileURLToPath(new URL('../package.json', import.meta.url));

/** The minimum as "X.Y.Z". */
export function minimumNode() {
  const range = JSON.parse(readFileSync(packageJson, 'utf8')).engines.node;
  const match = /^>=\s*(\d+\.\d+\.\d+)$/.exec(range);
  if (!match) throw new Error(`package.json engines.node must read ">=X.Y.Z", not "${range}"`);
  return match[1];
}

/** Whether a version ("24.1.0", as in process.versions.node) is at least the minimum. */
export function meetsMinimum(version) {
  const have = version.split('.').map(Number);
  const need = minimumNode().split('.').map(Number);
  for (let i = 0; i < 3; i++) if (have[i] !== need[i]) return have[i] > need[i];
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(meetsMinimum(process.versions.node) ? 0 : 1);
