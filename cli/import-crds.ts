/**
 * `npm run import-crds`: regenerates imports/ from the CRD files listed under `imports:` in
 * cdk8s.yaml (needs the npm registry). Two generators, both pinned:
 * - `cdk8s import` writes the typed constructs (imports/<name>-<group>.ts) the library builds
 *   the objects with; their one import line is made type-only, as this project's
 *   `verbatimModuleSyntax` requires (the generator writes `import { ApiObject, ApiObjectMetadata, ... }`);
 * - `@kubernetes-models/crd-generate` writes the compiled schema validators of each CRD's storage
 *   version (imports/<group>/<Group><Version><Kind>.js), which constructs/kinds.ts registers.
 * Then run `npm run strict-schemas` for the field structures. See imports/README.md.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { CommandContext } from '../pipeline/commands.js';
import { isEntryPoint } from '../pipeline/entry-point.js';
import { exitWith, projectContext } from './project.js';

export const CDK8S_CLI = 'cdk8s-cli@2.207.60';
export const CRD_GENERATE = '@kubernetes-models/crd-generate@5.1.0';

/** The CRD files of cdk8s.yaml's `imports:` (entries `name:=path`), paths as written. */
export function importedCrdFiles(cdk8sYaml: string): string[] {
  const config = parse(cdk8sYaml) as { imports?: unknown };
  const entries = Array.isArray(config.imports) ? config.imports : [];
  return entries.map((entry) => String(entry).replace(/^[^:]*:=/, ''));
}

/** The CRD files of cdk8s.yaml's `imports:` by the API group they define (each file read once). */
export function importedCrdGroups(root: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const file of importedCrdFiles(readFileSync(join(root, 'cdk8s.yaml'), 'utf8'))) {
    for (const document of parseAllDocuments(readFileSync(resolve(root, file), 'utf8'))) {
      const group = (document.toJS() as CrdDocument | null)?.spec?.group;
      if (!group) throw new Error(`${file}: not a CRD with a group`);
      if (!groups.get(group)?.includes(file)) groups.set(group, [...(groups.get(group) ?? []), file]);
    }
  }
  return groups;
}

/** The cdk8s import line rewritten so that its types are imported as types. */
export function typeOnlyImports(source: string): string {
  return source.replace(
    /^import \{ ApiObject, ApiObjectMetadata, GroupVersionKind \} from 'cdk8s';$/m,
    "import { ApiObject, type ApiObjectMetadata, type GroupVersionKind } from 'cdk8s';",
  );
}

/** The validator file stem crd-generate gives a kind: the group's parts and the version in PascalCase, then the kind. */
export function validatorStem(group: string, version: string, kind: string): string {
  const pascal = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
  return `${group.split('.').map(pascal).join('')}${pascal(version)}${kind}`;
}

interface CrdDocument {
  spec?: { group?: string; names?: { kind?: string }; versions?: { name?: string; storage?: boolean }[] };
}

function run(command: string, args: readonly string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

export async function main(_argv: readonly string[], context: Pick<CommandContext, 'root' | 'io'>): Promise<number> {
  const root = context.root;
  const files = importedCrdFiles(readFileSync(join(root, 'cdk8s.yaml'), 'utf8'));
  run('npx', ['--yes', CDK8S_CLI, 'import', '--language', 'typescript'], root);
  for (const name of readdirSync(join(root, 'imports'))) {
    if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
    const path = join(root, 'imports', name);
    writeFileSync(path, typeOnlyImports(readFileSync(path, 'utf8')));
  }
  const out = mkdtempSync(join(tmpdir(), 'crd-generate-'));
  try {
    run('npx', ['--yes', CRD_GENERATE, ...files.flatMap((file) => ['--input', resolve(root, file)]), '--output', out], root);
    for (const file of files) {
      for (const document of parseAllDocuments(readFileSync(resolve(root, file), 'utf8'))) {
        const crd = document.toJS() as CrdDocument | null;
        const group = crd?.spec?.group;
        const kind = crd?.spec?.names?.kind;
        const storage = crd?.spec?.versions?.find((version) => version.storage)?.name;
        if (!group || !kind || !storage) throw new Error(`${file}: not a CRD with a group, a kind and a storage version`);
        mkdirSync(join(root, 'imports', group), { recursive: true });
        for (const extension of ['.js', '.d.ts']) {
          const stem = validatorStem(group, storage, kind);
          copyFileSync(join(out, '_schemas', stem + extension), join(root, 'imports', group, stem + extension));
          context.io.out(`wrote imports/${group}/${stem}${extension}`);
        }
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  exitWith(main(process.argv.slice(2), projectContext));
}
