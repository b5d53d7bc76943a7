import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registeredKinds } from '../../constructs/kinds.js';
import { runValidate } from '../../pipeline/commands.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { synthesize } from '../../pipeline/synth.js';
import { captureContext, projectRoot } from '../helpers/io.js';

const result = await synthesize({ root: projectRoot, registry: new SchemaRegistry(registeredKinds) });
const apps = [...new Set([...result.files.keys()].map((path) => path.split('/').slice(0, 2).join('/')))].sort();

describe('the default cluster', () => {
  it('renders without problems', () => {
    expect(result.problems).toEqual([]);
    expect(apps).toContain('k8s-235/cert-manager');
  });

  // dist/ is the record of what renders (CI's synth --check guards it too): no snapshot repeats it.
  it('renders exactly the committed dist/ (else run npm run synth and commit dist/)', () => {
    const committed = (path: string) => {
      const file = join(projectRoot, 'dist', path);
      return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    };
    const stale = [...result.files].filter(([path, content]) => committed(path) !== content).map(([path]) => path);
    const extra = readdirSync(join(projectRoot, 'dist'), { recursive: true, encoding: 'utf8' }).filter(
      (path) => statSync(join(projectRoot, 'dist', path)).isFile() && !result.files.has(path),
    );
    expect({ stale, extra }).toEqual({ stale: [], extra: [] });
  });

  it('passes npm run validate over the committed dist/', async () => {
    const context = captureContext();
    const code = await runValidate(['dist'], context);
    expect(context.out.at(-1)).toMatch(/all valid$/);
    expect(code).toBe(0);
  });
});
