// The layers and their one-way arrows (docs/architecture.md):
//   apps → inventory → constructs → framework ← pipeline, and cli on top of pipeline, inventory and constructs
//   (inventory/ is the apps' side: the schema of the facts apps are built from).
// framework/ imports nothing else of the repository; pipeline/ never imports the library or apps.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/io.js';

const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  framework: ['framework'],
  imports: ['imports'],
  constructs: ['constructs', 'framework', 'imports'],
  pipeline: ['pipeline', 'framework'],
  inventory: ['inventory', 'constructs', 'framework'],
  apps: ['apps', 'inventory', 'constructs', 'framework', 'imports'],
  cli: ['cli', 'pipeline', 'inventory', 'constructs', 'framework'],
};

/** Relative module specifiers of a file: static, type-only, re-exports and dynamic imports. */
function relativeImports(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]/g)) found.push(match[1] ?? '');
  for (const match of text.matchAll(/(?:^|\n)\s*import\s*['"](\.[^'"]+)['"]/g)) found.push(match[1] ?? '');
  for (const match of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(match[1] ?? '');
  return found;
}

/** Every import of `files` (path → text, paths relative to the root) that runs against the arrows. */
function backwardsImports(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    const layer = file.split('/')[0] ?? '';
    const allowed = ALLOWED[layer];
    if (!allowed) continue;
    for (const specifier of relativeImports(text)) {
      const target = normalize(join(dirname(file), specifier));
      const targetLayer = target.split('/')[0] ?? '';
      if (!allowed.includes(targetLayer)) out.push(`${file} imports ${target} (${layer} may import ${allowed.join(', ')})`);
    }
  }
  return out;
}

function sources(): Map<string, string> {
  const files = new Map<string, string>();
  for (const layer of Object.keys(ALLOWED)) {
    for (const entry of readdirSync(join(projectRoot, layer), { recursive: true, encoding: 'utf8' })) {
      if (!entry.endsWith('.ts')) continue;
      const path = join(layer, entry);
      files.set(relative('.', path), readFileSync(join(projectRoot, path), 'utf8'));
    }
  }
  return files;
}

describe('the architecture', () => {
  it('has no import against the layers', () => {
    const files = sources();
    expect(files.size).toBeGreaterThan(80);
    expect(backwardsImports(files)).toEqual([]);
  });

  it('finds a backwards import of every form', () => {
    const files = new Map([
      ['framework/model.ts', "import { x } from '../pipeline/synth.js';\n"],
      ['pipeline/synth.ts', "import type { A } from '../constructs/kinds.js';\nexport { b } from '../apps/k8s-235.js';\n"],
      ['constructs/core/x.ts', "const m = await import('../../pipeline/load.js');\nimport '../../cli/synth.js';\n"],
      ['constructs/core/ok.ts', "import { y } from '../../framework/model.js';\nimport { z } from './merge.js';\n"],
    ]);
    expect(backwardsImports(files)).toEqual([
      'framework/model.ts imports pipeline/synth.js (framework may import framework)',
      'pipeline/synth.ts imports constructs/kinds.js (pipeline may import pipeline, framework)',
      'pipeline/synth.ts imports apps/k8s-235.js (pipeline may import pipeline, framework)',
      'constructs/core/x.ts imports cli/synth.js (constructs may import constructs, framework, imports)',
      'constructs/core/x.ts imports pipeline/load.js (constructs may import constructs, framework, imports)',
    ]);
  });
});
