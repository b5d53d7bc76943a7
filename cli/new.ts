/**
 * Scaffolds what a new cluster or app needs, so that `npm run synth` passes right after:
 *
 *   npm run new -- cluster NAME [--from CLUSTER]
 *   npm run new -- app NAME
 *
 * A cluster starts as a copy of another (k8s-235 by default): its inventory and composition
 * with the name replaced, a `.sops.yaml` creation rule for `secrets/NAME/` with the same
 * recipients, and one example-encrypted SOPS file for each Secret its constructs declare,
 * holding exactly the keys they declare (example values: synth lists them until replaced).
 * An app is one file under apps/, to be listed in a composition.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import type { EncryptedFileEntry } from '../framework/contributions.js';
import { dns1123LabelError } from '../framework/rules/metadata.js';
import { BEHAVIOR_ANNOTATION } from '../pipeline/encrypted-files.js';
import { isEntryPoint } from '../pipeline/entry-point.js';
import { loadClusters } from '../pipeline/load.js';
import { renderCluster } from '../pipeline/render.js';
import { withoutHost } from '../pipeline/sandbox.js';
import { matchCreationRule, parseSopsConfig } from '../pipeline/sops/config.js';
import { chooseSopsWriter } from '../pipeline/sops/writer.js';
import { describeThrown } from '../pipeline/thrown.js';
import { exitWith, projectContext, type ToolContext } from './project.js';

const USAGE = `usage: npm run new -- cluster NAME [--from CLUSTER]
       npm run new -- app NAME

cluster  copies the inventory and composition of CLUSTER (default k8s-235) under NAME, adds a
         .sops.yaml creation rule for secrets/NAME/ and writes an example-encrypted SOPS file
         for every Secret the cluster's constructs declare, with the keys they declare
app      writes apps/NAME.ts: a namespace and a pinned, restricted Deployment to start from`;

const DEFAULT_SOURCE = 'k8s-235';

class ScaffoldError extends Error {}

interface ScaffoldContext extends ToolContext {
  /** Project root. @default this project */
  readonly root?: string;
}

/** The plaintext of an example SOPS file for an entry: its own example, or a value per key. */
function exampleSecret(entry: EncryptedFileEntry, unnamespaced: boolean): Record<string, unknown> {
  const declared = entry.example?.();
  if (declared) return declared;
  const behavior = entry.behavior ?? 'create';
  const values = Object.fromEntries((entry.keys ?? []).map((key) => [key, `example-${key.replace(/[^A-Za-z0-9]+/g, '-')}-replace-me`]));
  return {
    apiVersion: 'v1',
    kind: entry.kind,
    metadata: {
      name: entry.name,
      ...(unnamespaced ? {} : { namespace: entry.namespace }),
      ...(behavior === 'create' ? {} : { annotations: { [BEHAVIOR_ANNOTATION]: behavior } }),
    },
    type: 'Opaque',
    // kustomize merges only `data` into an upstream Secret.
    ...(behavior === 'create'
      ? { stringData: values }
      : { data: Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')])) }),
  };
}

/** Adds a creation rule for the new cluster's secrets before the source cluster's rule, with its recipients. */
function addCreationRule(root: string, source: string, name: string): string {
  const file = join(root, '.sops.yaml');
  if (!existsSync(file)) throw new ScaffoldError('no .sops.yaml in the project root: create one (docs/secrets.md)');
  const text = readFileSync(file, 'utf8');
  const config = parseSopsConfig(text, '.sops.yaml');
  if (matchCreationRule(config, `secrets/${name}/example.sops.yaml`)?.pathRegex?.includes(name)) {
    return `.sops.yaml already has a rule for secrets/${name}/`;
  }
  const rule = matchCreationRule(config, `secrets/${source}/example.sops.yaml`);
  if (!rule) throw new ScaffoldError(`no creation rule in .sops.yaml matches secrets/${source}/: add one for secrets/${name}/ yourself`);
  const document = parseDocument(text);
  const rules = document.get('creation_rules', true);
  if (!isSeq(rules)) throw new ScaffoldError('.sops.yaml has no creation_rules list');
  const original = rules.items[rule.index - 1];
  if (!isMap(original)) throw new ScaffoldError(`creation rule #${rule.index} of .sops.yaml is not a mapping`);
  const copy = original.clone();
  const regex = rule.pathRegex?.includes(source) ? rule.pathRegex.replaceAll(source, name) : `^secrets/${name}/.*\\.ya?ml$`;
  copy.set('path_regex', regex);
  copy.commentBefore = ` ${name}: the same recipients as ${source} (replace ArgoCD's key with the new cluster's own)`;
  rules.items.splice(rule.index - 1, 0, copy);
  writeFileSync(file, document.toString({ lineWidth: 0 }));
  return `.sops.yaml: creation rule for ${regex} (the recipients of ${source}'s rule)`;
}

async function scaffoldCluster(root: string, name: string, source: string, context: ScaffoldContext): Promise<string[]> {
  const done: string[] = [];
  const inventory = `inventory/${name}.json`;
  const composition = `apps/${name}.ts`;
  for (const file of [inventory, composition]) {
    if (existsSync(join(root, file))) throw new ScaffoldError(`${file} exists: choose another name, or remove it first`);
  }
  for (const file of [`inventory/${source}.json`, `apps/${source}.ts`]) {
    if (!existsSync(join(root, file))) throw new ScaffoldError(`${file} does not exist: --from names a cluster of this project`);
  }
  // The source's name stands in its inventory (domains, host names) and its composition (NAME).
  writeFileSync(join(root, inventory), readFileSync(join(root, `inventory/${source}.json`), 'utf8').replaceAll(source, name));
  writeFileSync(join(root, composition), readFileSync(join(root, `apps/${source}.ts`), 'utf8').replaceAll(source, name));
  done.push(`${inventory} (a copy of inventory/${source}.json: its values are examples to replace)`, composition);
  done.push(addCreationRule(root, source, name));

  // The Secrets the new cluster's constructs declare, rendered as synth renders them.
  const loaded = await loadClusters(root);
  const cluster = loaded.clusters.find((candidate) => candidate.name === name);
  if (!cluster) {
    const problems = loaded.problems.filter((problem) => problem.origin.file?.includes(name));
    throw new ScaffoldError(
      `the new cluster does not load: ${problems.map((problem) => problem.message).join('; ') || 'see npm run synth'}`,
    );
  }
  const rendered = withoutHost(root, () => renderCluster(name, cluster.definition, cluster.inventory, { root }));
  const config = parseSopsConfig(readFileSync(join(root, '.sops.yaml'), 'utf8'), '.sops.yaml');
  const writer = context.writer ?? chooseSopsWriter(context.env ?? process.env);
  for (const app of rendered.apps) {
    const unnamespaced = app.kustomizeNamespaces.length > 0;
    for (const { entry } of app.encryptedFiles) {
      const path = join(root, entry.source);
      if (existsSync(path)) continue;
      const rule = matchCreationRule(config, entry.source);
      if (!rule) throw new ScaffoldError(`no creation rule in .sops.yaml matches ${entry.source}`);
      const plaintext = stringify(exampleSecret(entry, unnamespaced && (entry.behavior ?? 'create') !== 'create'), { lineWidth: 0 });
      const encrypted = await writer.encrypt(plaintext, { path, configFile: join(root, '.sops.yaml'), rule, now: context.now });
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, encrypted, { flag: 'wx' });
      done.push(`${entry.source} (keys: ${(entry.keys ?? []).join(', ') || 'none'}; example values)`);
    }
  }
  return done;
}

function appTemplate(name: string): string {
  const id = name.replace(/-([a-z0-9])/g, (_match, char: string) => char.toUpperCase());
  return `import { k8s } from 'cdk8s-plus-28';
import { podSecurityNamespace } from '../constructs/core/namespace.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';

const NAMESPACE = '${name}';

/** ${name}: describe what the app is for. */
export const ${id}App: AppDefinition<ClusterInventory> = {
  name: '${name}',
  namespace: NAMESPACE,
  build(chart) {
    podSecurityNamespace(chart, 'namespace', { name: NAMESPACE });
    const labels = { 'app.kubernetes.io/name': '${name}' };
    new k8s.KubeDeployment(chart, 'deployment', {
      metadata: { name: '${name}', namespace: NAMESPACE },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: '${name}',
                // Pin a release tag or a digest.
                image: 'registry.example.org/${name}:0.1.0',
                resources: {
                  requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') },
                  limits: { memory: k8s.Quantity.fromString('64Mi') },
                },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    });
  },
};
`;
}

async function run(argv: readonly string[], context: ScaffoldContext): Promise<string[]> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { from: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return [USAGE];
  const [what, name, ...rest] = positionals;
  if ((what !== 'cluster' && what !== 'app') || name === undefined || rest.length > 0) {
    throw new ScaffoldError(`expected "cluster NAME" or "app NAME"\n${USAGE}`);
  }
  const nameError = dns1123LabelError(name);
  if (nameError) throw new ScaffoldError(`${what} name "${name}" ${nameError}`);
  const root = context.root ?? projectContext.root;
  if (what === 'app') {
    if (values.from !== undefined) throw new ScaffoldError('--from is for clusters');
    const file = `apps/${name}.ts`;
    if (existsSync(join(root, file))) throw new ScaffoldError(`${file} exists: choose another name`);
    writeFileSync(join(root, file), appTemplate(name), { flag: 'wx' });
    return [`wrote ${file}; list it in the apps of a composition (apps/<cluster>.ts), then npm run synth`];
  }
  const written = await scaffoldCluster(root, name, values.from ?? DEFAULT_SOURCE, context);
  return [...written.map((line) => `wrote ${line}`), `next: edit inventory/${name}.json and apps/${name}.ts, then npm run synth`];
}

/** Runs the command; returns the exit code (0 done, 1 failed, 2 usage). */
export async function main(argv: readonly string[], context: ScaffoldContext): Promise<number> {
  try {
    for (const line of await run(argv, context)) context.io.out(line);
    return 0;
  } catch (error) {
    const parseError = String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
    if (parseError || (error instanceof ScaffoldError && error.message.includes('usage:'))) {
      context.io.err(`new: ${error instanceof Error ? error.message : String(error)}${parseError ? `\n${USAGE}` : ''}`);
      return 2;
    }
    context.io.err(`new: ${error instanceof ScaffoldError ? error.message : describeThrown(error)}`);
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) {
  exitWith(main(process.argv.slice(2), projectContext));
}
