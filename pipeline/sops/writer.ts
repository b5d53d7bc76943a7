import { execFileSync, spawnSync } from 'node:child_process';
import type { SopsCreationRule } from './config.js';
import { type EncryptOptions, encryptYaml } from './encrypt.js';

/** Why a SOPS file cannot be written as asked (a rule this writer cannot honour, sops failing). */
export class SopsWriterError extends Error {}

/** Where an encrypted file goes and which `.sops.yaml` rule it falls under. */
export interface SopsTarget {
  /** Absolute path of the file to write (sops matches the creation rules against it). */
  readonly path: string;
  /** Absolute path of the `.sops.yaml` the rule came from. */
  readonly configFile: string;
  readonly rule: SopsCreationRule;
  /** `lastmodified` of the in-process writer (tests). */
  readonly now?: Date | undefined;
}

/** The one seam every command that writes SOPS files goes through. */
export interface SopsWriter {
  /** What encrypts: `sops 3.11.0 (/usr/bin/sops)` or the in-process writer. */
  readonly description: string;
  encrypt(plaintextYaml: string, target: SopsTarget): Promise<string>;
}

/** The encryption settings a creation rule asks for, or why the in-process writer cannot honour it. */
export function encryptOptionsForRule(rule: SopsCreationRule, where: string): Omit<EncryptOptions, 'now'> {
  const others = [...(rule.pgp.length > 0 ? ['pgp'] : []), ...rule.otherKeySources];
  if (others.length > 0) {
    throw new SopsWriterError(`${where} also encrypts for ${others.join(', ')} keys; the in-process writer handles age only: install sops`);
  }
  if (rule.encryptedCommentRegex !== undefined || rule.unencryptedCommentRegex !== undefined) {
    throw new SopsWriterError(`${where} selects values by comments, which the in-process writer does not support: install sops`);
  }
  if (rule.age.length === 0) throw new SopsWriterError(`${where} names no age recipient`);
  return {
    ageRecipients: rule.age,
    encryptedRegex: rule.encryptedRegex,
    unencryptedRegex: rule.unencryptedRegex,
    encryptedSuffix: rule.encryptedSuffix,
    unencryptedSuffix: rule.unencryptedSuffix,
    macOnlyEncrypted: rule.macOnlyEncrypted,
  };
}

/** The tested writer of this project (pipeline/sops/encrypt.ts): age recipients only. */
export const IN_PROCESS_WRITER: SopsWriter = {
  description: 'the in-process writer (age only; install sops 3.9 or newer to use it instead)',
  encrypt: (plaintext, target) =>
    encryptYaml(plaintext, {
      ...encryptOptionsForRule(target.rule, `creation rule #${target.rule.index} of ${target.configFile}`),
      now: target.now,
    }),
};

/**
 * sops itself, reading the plaintext from standard input (it never touches the disk):
 * `sops encrypt --config F --filename-override PATH --input-type yaml --output-type yaml`,
 * as sops 3.9 and newer take it (cmd/sops/main.go: stdin needs --filename-override).
 */
export function sopsBinaryWriter(binary: string, version: string, env: NodeJS.ProcessEnv = process.env): SopsWriter {
  return {
    description: `sops ${version} (${binary})`,
    async encrypt(plaintext, target) {
      const args = ['encrypt', '--config', target.configFile, '--filename-override', target.path];
      const result = spawnSync(binary, [...args, '--input-type', 'yaml', '--output-type', 'yaml'], {
        input: plaintext,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        timeout: 60_000,
        env,
      });
      if (result.error) throw new SopsWriterError(`cannot run ${binary}: ${result.error.message}`);
      if (result.status !== 0) {
        const reason = (result.stderr || result.stdout || `exit ${result.status}`).trim().split('\n').at(-1);
        throw new SopsWriterError(`${binary} encrypt failed: ${reason}`);
      }
      return result.stdout;
    },
  };
}

/** `sops --version` → `3.11.0`, or undefined when it is not sops. */
export function sopsVersion(binary: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const out = execFileSync(binary, ['--version', '--disable-version-check'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
      env,
    });
    return /^sops (\d+\.\d+\.\d+)/m.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

const atLeast = (version: string, minimum: readonly number[]) => {
  const parts = version.split('.').map(Number);
  for (const [index, wanted] of minimum.entries()) {
    const have = parts[index] ?? 0;
    if (have !== wanted) return have > wanted;
  }
  return true;
};

/**
 * The writer to use: sops when `SOPS_BINARY` names it or `sops` is on PATH (3.9 or newer, the
 * first to encrypt standard input), else the in-process writer. `SOPS_BINARY=` (empty) forces
 * the in-process writer; a SOPS_BINARY that is not a usable sops is an error, never ignored.
 */
export function chooseSopsWriter(env: NodeJS.ProcessEnv = process.env): SopsWriter {
  const named = env.SOPS_BINARY;
  if (named === '') return IN_PROCESS_WRITER;
  const binary = named ?? 'sops';
  const version = sopsVersion(binary, env);
  if (version === undefined) {
    if (named !== undefined) throw new SopsWriterError(`SOPS_BINARY=${named} is not a sops binary (sops --version failed)`);
    return IN_PROCESS_WRITER;
  }
  if (!atLeast(version, [3, 9, 0])) {
    if (named !== undefined) throw new SopsWriterError(`SOPS_BINARY=${named} is sops ${version}; 3.9.0 or newer is needed`);
    return IN_PROCESS_WRITER;
  }
  return sopsBinaryWriter(binary, version, env);
}
