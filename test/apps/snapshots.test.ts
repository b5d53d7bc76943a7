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

  it.each(apps)('%s matches its snapshot', (app) => {
    const files = Object.fromEntries([...result.files].filter(([path]) => path.startsWith(`${app}/`)));
    expect(files).toMatchSnapshot();
  });

  it('passes npm run validate over the committed dist/', async () => {
    const context = captureContext();
    const code = await runValidate(['dist'], context);
    expect(context.out.at(-1)).toMatch(/all valid$/);
    expect(code).toBe(0);
  });
});
