import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from './io.js';
import { temporaryDir } from './temp.js';

/** File URL prefix of this project; compositions in temporary projects import from it. */
export const PROJECT = `${pathToFileURL(projectRoot).href}/`;

/**
 * Writes a throwaway project root (inventory/, apps/, secrets/, .sops.yaml ...) in a temporary
 * folder that resolves packages from this project's node_modules.
 */
export function makeProject(files: Record<string, string>): string {
  const root = temporaryDir('synth-test-');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(projectRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  return root;
}

/** A composition with one app per entry, each holding the given ConfigMaps (name -> data). */
export function configMapComposition(apps: Record<string, Record<string, Record<string, string>>>): string {
  return `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
const apps = ${JSON.stringify(apps)};
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => Object.entries(apps).map(([name, maps]) => ({
    name,
    namespace: name,
    build(chart) {
      for (const [id, data] of Object.entries(maps)) new k8s.KubeConfigMap(chart, id, { metadata: { name: id }, data });
    },
  })),
});
`;
}
