import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './io.js';
import { temporaryDir } from './temp.js';

/**
 * A temporary project laid out like this one for the launcher (cli/synth.mjs): its own apps/ and
 * inventory/ (an empty cluster `lab`), this project's code and packages. Its bundle is its own.
 */
export function bundledProject(prefix: string): string {
  const root = temporaryDir(prefix);
  mkdirSync(join(root, 'apps'), { recursive: true });
  mkdirSync(join(root, 'inventory'), { recursive: true });
  for (const folder of ['framework', 'pipeline', 'constructs', 'imports', 'node_modules']) {
    symlinkSync(join(projectRoot, folder), join(root, folder), 'dir');
  }
  // The launcher finds the project from its own file, so cli/ is a copy, not a link.
  mkdirSync(join(root, 'cli'));
  for (const file of readdirSync(join(projectRoot, 'cli'))) copyFileSync(join(projectRoot, 'cli', file), join(root, 'cli', file));
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.json']) copyFileSync(join(projectRoot, file), join(root, file));
  writeFileSync(join(root, 'inventory/lab.json'), '{}\n');
  return root;
}

/** A composition of cluster `lab`: one app `web` whose build runs `build` and adds ConfigMap `facts`. */
export const labComposition = (build: string, before = '') => `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '../framework/cluster.ts';
${before}
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) {
    ${build}
    new k8s.KubeConfigMap(chart, 'facts', { metadata: { name: 'facts' }, data: { value: 'plain' } });
  } }],
});
`;
