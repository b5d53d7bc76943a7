import { resolve } from 'node:path';
import type { Problem } from '../../framework/model.js';
import { type CommandContext, plural } from '../commands.js';
import { SchemaRegistry } from '../schemas.js';
import type { SynthResult } from '../synth.js';
import { readLock } from '../upstream/lock.js';
import { openStore } from '../upstream/store.js';
import { deepBuild } from './build.js';
import { readAgeIdentities } from './ksops-stand-in.js';
import { type DeepTools, findTools } from './tools.js';

/** The deep build of a synth result, its notes and summary printed; every failure is a problem. */
export async function runDeep(root: string, result: SynthResult, context: CommandContext): Promise<{ problems: Problem[] }> {
  const { io } = context;
  const env = context.env ?? process.env;
  const started = performance.now();
  const fail = (rule: string, message: string) => ({ problems: [{ origin: { file: root === context.root ? '.' : root }, rule, message }] });
  const { lock, problems } = readLock(root);
  if (!lock) return { problems };
  let tools: DeepTools;
  try {
    tools = findTools(root, env);
  } catch (error) {
    return fail('deep.tools', error instanceof Error ? error.message : String(error));
  }
  const ageKeyFile = env.SOPS_AGE_KEY_FILE ? resolve(context.cwd ?? process.cwd(), env.SOPS_AGE_KEY_FILE) : undefined;
  if (ageKeyFile !== undefined) {
    let identities: number;
    try {
      identities = (await readAgeIdentities(ageKeyFile)).length;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'EISDIR'
            ? 'is a folder'
            : code === 'EACCES'
              ? 'cannot be read: permission denied'
              : `cannot be read (${code ?? String(error)})`;
      return fail(
        'deep.sops',
        `SOPS_AGE_KEY_FILE=${env.SOPS_AGE_KEY_FILE} ${reason}: point it at an age keys file (age-keygen output), or unset it to build the SOPS files without their values`,
      );
    }
    if (identities === 0) {
      return fail(
        'deep.sops',
        `SOPS_AGE_KEY_FILE=${env.SOPS_AGE_KEY_FILE} holds no age identity (an AGE-SECRET-KEY-1... line): point it at an age keys file, or unset it`,
      );
    }
  }
  const deep = await deepBuild({
    root,
    files: result.files,
    clusters: result.clusters,
    registry: new SchemaRegistry(context.kinds),
    lock,
    store: openStore(root, env),
    tools,
    ageKeyFile,
  });
  for (const note of deep.notes) io.out(`synth --deep: ${note}`);
  const { stats } = deep;
  if (deep.problems.length === 0) {
    io.out(
      `synth --deep: ${plural(result.clusters.length, 'cluster')}, ${plural(stats.apps, 'app')} built, ${plural(stats.objects, 'object')} (${stats.upstreamObjects} from upstream), all checks passed in ${((performance.now() - started) / 1000).toFixed(2)} s`,
    );
  }
  return { problems: deep.problems };
}
