/**
 * `npm run strict-schemas`: regenerates the field structures strict validation reads (see
 * pipeline/strict/generate.ts) after a model package upgrade or a new CRD source. A test fails
 * while the committed files differ from what this writes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CommandContext } from '../pipeline/commands.js';
import { isEntryPoint } from '../pipeline/entry-point.js';
import { structureFiles } from '../pipeline/strict/generate.js';
import { exitWith, projectContext } from './project.js';

export async function main(_argv: readonly string[], context: Pick<CommandContext, 'root' | 'io'>): Promise<number> {
  for (const [file, text] of structureFiles(context.root)) {
    mkdirSync(dirname(join(context.root, file)), { recursive: true });
    writeFileSync(join(context.root, file), text);
    context.io.out(`wrote ${file}`);
  }
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  exitWith(main(process.argv.slice(2), projectContext));
}
