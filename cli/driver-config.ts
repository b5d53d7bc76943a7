/**
 * Writes the SOPS file of a democratic-csi driver from its typed config (a tool, not a construct:
 * it reads the project and the credentials).
 *
 *   node --import tsx cli/driver-config.ts --cluster <cluster> --list
 *   node --import tsx cli/driver-config.ts --cluster <cluster> --driver <name>
 *       (--api-key-file <file|-> [--ssh-key-file <file|->] | --keep-credentials | --placeholder) [--force] [--root <dir>]
 *
 * `--driver` is the driver's release name or CSI driver name. The file is the Secret the chart
 * mounts: the whole driver config (typed config plus API key and SSH private key), encrypted in
 * memory for the `.sops.yaml` rule of its path and stamped, in readable metadata, with the sha256
 * of the non-secret config; synth fails when the typed config no longer matches that stamp.
 * `--keep-credentials` reads the credentials from the current file (it needs your age key, as
 * sops does: SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt); `--placeholder` writes fake ones
 * that TrueNAS and ssh refuse. The plaintext never touches the disk.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { DemocraticCsiDriver } from '../constructs/storage/democratic-csi.js';
import {
  DRIVER_CONFIG_DIGEST_ANNOTATION,
  DRIVER_CONFIG_KEY,
  type DriverCredentials,
  driverConfigSecret,
  placeholderCredentials,
  usesSsh,
} from '../constructs/storage/driver-config.js';
import { formatProblem, isRecord } from '../framework/model.js';
import { isEntryPoint } from '../pipeline/entry-point.js';
import { loadClusters } from '../pipeline/load.js';
import { renderCluster } from '../pipeline/render.js';
import { withoutHost } from '../pipeline/sandbox.js';
import { matchCreationRule, parseSopsConfig } from '../pipeline/sops/config.js';
import { decryptYaml } from '../pipeline/sops/decrypt.js';
import { chooseSopsWriter } from '../pipeline/sops/writer.js';
import { exitWith, projectContext, readStdin, type ToolContext } from './project.js';

const USAGE = `usage: node --import tsx cli/driver-config.ts --cluster <cluster> --list
       node --import tsx cli/driver-config.ts --cluster <cluster> --driver <name>
            (--api-key-file <file|-> [--ssh-key-file <file|->] | --keep-credentials | --placeholder) [--force] [--root <dir>]`;

class CliError extends Error {}

interface Args {
  readonly root: string;
  readonly cluster: string;
  readonly list: boolean;
  readonly driver?: string;
  readonly apiKeyFile?: string;
  readonly sshKeyFile?: string;
  readonly keepCredentials: boolean;
  readonly placeholder: boolean;
  readonly force: boolean;
}

function parseCli(argv: readonly string[], cwd: string): Args | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      root: { type: 'string' },
      cluster: { type: 'string' },
      list: { type: 'boolean', default: false },
      driver: { type: 'string' },
      'api-key-file': { type: 'string' },
      'ssh-key-file': { type: 'string' },
      'keep-credentials': { type: 'boolean', default: false },
      placeholder: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new CliError(`unexpected argument ${positionals[0]}`);
  if (!values.cluster) throw new CliError('--cluster is required');
  const sources = [values['api-key-file'] !== undefined, values['keep-credentials'], values.placeholder].filter(Boolean).length;
  if (!values.list) {
    if (!values.driver) throw new CliError('--driver is required (or --list)');
    if (sources !== 1)
      throw new CliError('give the credentials one way: --api-key-file (and --ssh-key-file), --keep-credentials or --placeholder');
  }
  if (values['ssh-key-file'] !== undefined && values['api-key-file'] === undefined) {
    throw new CliError('--ssh-key-file goes with --api-key-file');
  }
  if (values['api-key-file'] === '-' && values['ssh-key-file'] === '-')
    throw new CliError('only one of the key files can be standard input');
  return {
    root: resolve(cwd, values.root ?? '.'),
    cluster: values.cluster,
    list: values.list === true,
    driver: values.driver,
    apiKeyFile: values['api-key-file'],
    sshKeyFile: values['ssh-key-file'],
    keepCredentials: values['keep-credentials'] === true,
    placeholder: values.placeholder === true,
    force: values.force === true,
  };
}

/** Builds every app of the cluster (as synth does) and returns its democratic-csi drivers. */
export async function findDrivers(root: string, cluster: string): Promise<DemocraticCsiDriver[]> {
  const loaded = await loadClusters(root);
  const found = loaded.clusters.find((candidate) => candidate.name === cluster);
  if (!found) {
    const problems = loaded.problems.map(formatProblem);
    const names = loaded.clusters.map((candidate) => candidate.name);
    throw new CliError(
      problems.length > 0
        ? `cluster ${cluster} could not be loaded:\n${problems.join('\n')}`
        : `no cluster ${cluster} (clusters: ${names.join(', ') || 'none'})`,
    );
  }
  // Built exactly as synth builds it; another app's error is for synth to report.
  const { scope } = withoutHost(root, () => renderCluster(cluster, found.definition, found.inventory));
  return scope.node.findAll().filter((construct) => DemocraticCsiDriver.isDriver(construct));
}

async function readCredentialFile(path: string, env: ToolContext): Promise<string> {
  if (path === '-') {
    if (!env.readStdin) throw new CliError('standard input is not available');
    return env.readStdin();
  }
  const full = resolve(env.cwd ?? process.cwd(), path);
  if (!existsSync(full)) throw new CliError(`${path} does not exist`);
  return readFileSync(full, 'utf8');
}

function checkCredentials(driver: DemocraticCsiDriver, credentials: DriverCredentials): DriverCredentials {
  const apiKey = credentials.apiKey.trim();
  if (apiKey.length === 0 || /\s/.test(apiKey)) throw new CliError('the API key must be one non-empty line');
  if (!usesSsh(driver.config.driver)) {
    if (credentials.sshPrivateKey !== undefined && credentials.sshPrivateKey !== '') {
      throw new CliError(`${driver.config.driver} uses the API only: leave out the SSH key`);
    }
    return { apiKey };
  }
  const key = credentials.sshPrivateKey ?? '';
  if (/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+/.test(key.trim())) {
    throw new CliError('the SSH key is a public key: give the private key whose public half TrueNAS authorizes');
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new CliError(`${driver.config.driver} logs in over SSH: --ssh-key-file must be a private key (-----BEGIN ... PRIVATE KEY-----)`);
  }
  return { apiKey, sshPrivateKey: key.endsWith('\n') ? key : `${key}\n` };
}

/**
 * The operator's age identities where sops looks for them: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, else
 * $XDG_CONFIG_HOME/sops/age/keys.txt (~/.config when unset).
 */
function operatorAgeKeys(): string[] {
  const env = process.env;
  const texts: string[] = [];
  if (env.SOPS_AGE_KEY) texts.push(env.SOPS_AGE_KEY);
  const file = env.SOPS_AGE_KEY_FILE || join(env.XDG_CONFIG_HOME || join(env.HOME ?? '', '.config'), 'sops/age/keys.txt');
  if (existsSync(file)) texts.push(readFileSync(file, 'utf8'));
  return texts.flatMap((text) => text.split('\n').map((line) => line.trim())).filter((line) => line.startsWith('AGE-SECRET-KEY-1'));
}

/** The credentials of the current file, decrypted with the operator's age key as sops finds it. */
async function currentCredentials(root: string, driver: DemocraticCsiDriver): Promise<DriverCredentials> {
  const path = join(root, driver.configSecret.file);
  if (!existsSync(path)) throw new CliError(`${driver.configSecret.file} does not exist yet: give the credentials with --api-key-file`);
  let decrypted: unknown;
  try {
    ({ document: decrypted } = await decryptYaml(readFileSync(path, 'utf8'), operatorAgeKeys()));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `cannot decrypt ${driver.configSecret.file} (${reason}); point SOPS_AGE_KEY_FILE at your age key, or give the credentials again`,
    );
  }
  const stringData = isRecord(decrypted) && isRecord(decrypted.stringData) ? decrypted.stringData : {};
  const text = stringData[DRIVER_CONFIG_KEY];
  const document = typeof text === 'string' ? (parse(text) as unknown) : undefined;
  const http = isRecord(document) && isRecord(document.httpConnection) ? document.httpConnection : {};
  const ssh = isRecord(document) && isRecord(document.sshConnection) ? document.sshConnection : {};
  if (typeof http.apiKey !== 'string') throw new CliError(`${driver.configSecret.file} holds no httpConnection.apiKey to keep`);
  return { apiKey: http.apiKey, ...(typeof ssh.privateKey === 'string' ? { sshPrivateKey: ssh.privateKey } : {}) };
}

async function credentialsFor(driver: DemocraticCsiDriver, args: Args, env: ToolContext): Promise<DriverCredentials> {
  if (args.placeholder) {
    return placeholderCredentials(driver.config.driver);
  }
  if (args.keepCredentials) return checkCredentials(driver, await currentCredentials(args.root, driver));
  const apiKey = await readCredentialFile(args.apiKeyFile ?? '', env);
  const sshPrivateKey = args.sshKeyFile !== undefined ? await readCredentialFile(args.sshKeyFile, env) : undefined;
  return checkCredentials(driver, { apiKey, ...(sshPrivateKey !== undefined ? { sshPrivateKey } : {}) });
}

/** The stamp the current file carries (readable metadata; no key needed), or why there is none. */
function stampOf(root: string, file: string): string {
  const path = join(root, file);
  if (!existsSync(path)) return 'missing';
  try {
    const metadata = (parse(readFileSync(path, 'utf8')) as { metadata?: { annotations?: Record<string, unknown> } }).metadata;
    const stamp = metadata?.annotations?.[DRIVER_CONFIG_DIGEST_ANNOTATION];
    return typeof stamp === 'string' ? stamp : 'unstamped';
  } catch {
    return 'unreadable';
  }
}

async function run(args: Args, env: ToolContext): Promise<void> {
  const drivers = await findDrivers(args.root, args.cluster);
  if (args.list) {
    if (drivers.length === 0) env.io.err(`cluster ${args.cluster} has no democratic-csi driver`);
    for (const driver of drivers) {
      const stamp = stampOf(args.root, driver.configSecret.file);
      const state = stamp === driver.configDigest ? 'up to date' : stamp.length === 64 ? 'STALE: regenerate' : stamp.toUpperCase();
      env.io.err(`${driver.releaseName} (${driver.csiDriverName}, ${driver.config.driver}): ${driver.configSecret.file}: ${state}`);
    }
    return;
  }
  const matches = drivers.filter((driver) => driver.releaseName === args.driver || driver.csiDriverName === args.driver);
  if (matches.length !== 1) {
    const names = drivers.map((driver) => `${driver.releaseName} (${driver.csiDriverName})`);
    throw new CliError(
      matches.length === 0
        ? `cluster ${args.cluster} has no democratic-csi driver "${args.driver}" (drivers: ${names.join(', ') || 'none'})`
        : `"${args.driver}" names ${matches.length} drivers; use the CSI driver name`,
    );
  }
  const driver = matches[0] as DemocraticCsiDriver;
  const file = driver.configSecret.file;
  const output = join(args.root, file);
  if (existsSync(output) && !args.force) {
    throw new CliError(`${file} exists; pass --force to replace it (with --keep-credentials to keep its API key and SSH key)`);
  }
  const credentials = await credentialsFor(driver, args, env);
  const plaintext = stringify(
    driverConfigSecret({ name: driver.configSecret.secretName, namespace: driver.namespace, config: driver.config, credentials }),
    { lineWidth: 0 },
  );
  const configFile = join(args.root, '.sops.yaml');
  if (!existsSync(configFile)) throw new CliError(`no .sops.yaml at ${args.root}`);
  const sopsConfig = parseSopsConfig(readFileSync(configFile, 'utf8'), '.sops.yaml');
  const rule = matchCreationRule(sopsConfig, file);
  if (!rule) throw new CliError(`no creation rule in .sops.yaml matches ${file}`);
  const writer = env.writer ?? chooseSopsWriter();
  const encrypted = await writer.encrypt(plaintext, { path: output, configFile, rule, now: env.now });
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, encrypted, { encoding: 'utf8', mode: 0o644 });
  env.io.err(
    `wrote ${file} for driver ${driver.releaseName} (${driver.csiDriverName}), driver config sha256 ${driver.configDigest}${args.placeholder ? ', with PLACEHOLDER credentials' : ''}`,
  );
}

/** Runs the CLI; returns the exit code (0 done, 1 failed, 2 usage). */
export async function main(argv: readonly string[], env: ToolContext): Promise<number> {
  let args: Args | 'help';
  try {
    args = parseCli(argv, env.cwd ?? process.cwd());
  } catch (error) {
    env.io.err(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    env.io.err(USAGE);
    return 0;
  }
  try {
    await run(args, env);
    return 0;
  } catch (error) {
    env.io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) {
  exitWith(main(process.argv.slice(2), { ...projectContext, readStdin }));
}
