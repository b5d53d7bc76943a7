import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSynth } from '../../../pipeline/commands.js';
import { runDiff } from '../../../pipeline/diff/command.js';
import { DANGER_RULES } from '../../../pipeline/diff/dangers.js';
import { captureContext, projectRoot } from '../../helpers/io.js';
import { configMapComposition, makeProject } from '../../helpers/project.js';
import { deployment, dist, object } from './helpers.js';

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function git(root: string, ...args: string[]): string {
  const result = spawnSync('git', ['-C', root, '-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function writeDist(root: string, files: Map<string, string>): void {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  for (const [path, content] of files) {
    mkdirSync(dirname(join(root, 'dist', path)), { recursive: true });
    writeFileSync(join(root, 'dist', path), content);
  }
}

/** A repository with one commit per dist, tagged by name. */
function repository(commits: Record<string, Map<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'diff-test-'));
  temporary.push(root);
  git(root, 'init', '-q');
  for (const [tag, files] of Object.entries(commits)) {
    writeDist(root, files);
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '--allow-empty', '-m', tag);
    git(root, 'tag', tag);
  }
  return root;
}

const policy = object('networking.k8s.io/v1', 'NetworkPolicy', 'deny', { spec: { podSelector: {} } }, { namespace: 'web' });
const repo = repository({
  start: dist({ web: [deployment('api'), policy] }),
  scaled: dist({ web: [deployment('api', { replicas: 5 }), policy] }),
  open: dist({ web: [deployment('api', { replicas: 5 })] }),
});

async function diff(args: string[], overrides: Parameters<typeof captureContext>[0] = {}) {
  const context = captureContext({ root: repo, env: {}, ...overrides });
  const code = await runDiff(args, context);
  return { code, out: context.out.join('\n'), err: context.err.join('\n') };
}

describe('npm run diff: exit codes', () => {
  it('0 with no change', async () => {
    const result = await diff(['--base', 'start', '--head', 'start']);
    expect(result.code).toBe(0);
    expect(result.out).toContain('summary: no change; no dangerous change');
  });

  it('0 with changes none of which is dangerous', async () => {
    const result = await diff(['--base', 'start', '--head', 'scaled']);
    expect(result.code).toBe(0);
    expect(result.out).toContain('spec.replicas: 2 → 5');
    expect(result.out).toContain(`diff of dist/: start (${git(repo, 'rev-parse', 'start').slice(0, 12)}) → scaled`);
  });

  it('1 with a dangerous change, 0 once its rule is allowed', async () => {
    const dangerous = await diff(['--base', 'scaled', '--head', 'open']);
    expect(dangerous.code).toBe(1);
    expect(dangerous.out).toContain('✗ exposure.removed-network-policy  c/web NetworkPolicy web/deny');
    expect(dangerous.out).toContain('to accept on purpose: --allow exposure.removed-network-policy');
    const allowed = await diff(['--base', 'scaled', '--head', 'open', '--allow', 'exposure.removed-network-policy']);
    expect(allowed.code).toBe(0);
    expect(allowed.out).toContain('allowed exposure.removed-network-policy');
  });

  it('2 for an unknown ref, naming it', async () => {
    const result = await diff(['--base', 'no-such-ref']);
    expect(result.code).toBe(2);
    expect(result.err).toContain("'no-such-ref' names no commit of this repository");
  });

  it('2 for bad options, each with what to do', async () => {
    const cases: [string[], string][] = [
      [['--bogus'], "Unknown option '--bogus'"],
      [['--format', 'yaml'], '--format must be one of text, markdown, json'],
      [['--head', 'open'], '--head needs --base'],
      [['--allow', 'no.such-rule'], '--allow no.such-rule: no danger rule has that id'],
      [['--base', ''], '--base needs a git ref'],
      [['--max-chars', 'ten'], '--max-chars must be a whole number'],
    ];
    for (const [args, message] of cases) {
      const result = await diff(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.err).toContain(message);
    }
  });

  it('2 outside a git repository', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'diff-test-'));
    temporary.push(outside);
    const result = await diff(['--base', 'HEAD', '--head', 'HEAD'], { root: outside });
    expect(result.code).toBe(2);
    expect(result.err).toContain('is not in a git repository');
  });
});

describe('npm run diff: a dist/ ArgoCD could not build', () => {
  it('exits 2 naming the file and what is wrong with it', async () => {
    const broken = dist({ web: [deployment('api')] });
    broken.set('c/web/deployment-api.yaml', 'kind: [\n');
    const root = repository({ good: dist({ web: [deployment('api')] }), broken });
    const result = await diff(['--base', 'good', '--head', 'broken'], { root });
    expect(result.code).toBe(2);
    expect(result.err).toContain('diff: broken (');
    expect(result.err).toContain('dist/c/web/deployment-api.yaml (document 1): YAML syntax error');
    expect(result.err).toContain('cannot be read as ArgoCD would read it (');
  });
});

describe('npm run diff: formats and colour', () => {
  it('colours text on a terminal unless NO_COLOR is set', async () => {
    expect((await diff(['--base', 'scaled', '--head', 'open'], { terminal: true })).out).toContain('\u001b[');
    expect((await diff(['--base', 'scaled', '--head', 'open'], { terminal: true, env: { NO_COLOR: '1' } })).out).not.toContain('\u001b[');
    expect((await diff(['--base', 'scaled', '--head', 'open'], { terminal: false })).out).not.toContain('\u001b[');
  });

  it('markdown and json say the same', async () => {
    const markdown = await diff(['--base', 'start', '--head', 'open', '--format', 'markdown']);
    expect(markdown.code).toBe(1);
    expect(markdown.out).toContain('### Cluster diff: `start');
    const json = await diff(['--base', 'start', '--head', 'open', '--format', 'json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out).dangers.map((danger: { rule: string }) => danger.rule)).toEqual(['exposure.removed-network-policy']);
  });

  it('--json FILE writes the JSON report beside the chosen format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diff-test-'));
    temporary.push(dir);
    const result = await diff(['--base', 'start', '--head', 'open', '--format', 'markdown', '--json', 'report.json'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.out).toContain('### Cluster diff');
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).summary.dangers).toBe(1);
    expect((await diff(['--json', join(dir, 'missing', 'report.json'), '--base', 'start', '--head', 'open'])).code).toBe(2);
  });

  it('--rules lists every rule with its reason', async () => {
    const result = await diff(['--rules']);
    expect(result.out.split('\n')).toEqual(DANGER_RULES.map((rule) => `${rule.id}: ${rule.reason}`));
  });
});

describe('npm run diff: the working tree against a commit', () => {
  /** A project whose HEAD holds the dist of `committed`, its working tree `composition` (a module loads once per path, so each state is its own project). */
  async function project(committed: string, composition: string): Promise<string> {
    const root = makeProject({ 'inventory/tiny.json': '{}\n', 'apps/tiny.ts': committed });
    temporary.push(root);
    const synth = captureContext({ root });
    expect(await runSynth([], synth), synth.err.join('\n')).toBe(0);
    writeFileSync(join(root, '.gitignore'), 'node_modules\n');
    git(root, 'init', '-q');
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'first');
    if (composition === committed) return root;
    const next = makeProject({ 'inventory/tiny.json': '{}\n', 'apps/tiny.ts': composition, '.gitignore': 'node_modules\n' });
    temporary.push(next);
    rmSync(join(next, 'apps'), { recursive: true });
    mkdirSync(join(next, 'apps'));
    writeFileSync(join(next, 'apps/tiny.ts'), composition);
    git(next, 'init', '-q');
    spawnSync('cp', ['-r', join(root, 'dist'), join(next, 'dist')]);
    git(next, 'add', '-A');
    git(next, 'commit', '-q', '-m', 'first');
    // The working tree's composition differs from what dist/ was rendered from.
    writeFileSync(join(next, 'apps/tiny.ts'), composition);
    return next;
  }

  it('renders the working tree and compares it with HEAD', async () => {
    const one = configMapComposition({ web: { settings: { a: '1' } } });
    const same = captureContext({ root: await project(one, one), env: {} });
    expect(await runDiff([], same), same.err.join('\n')).toBe(0);
    expect(same.out.join('\n')).toContain('diff of dist/: HEAD');
    expect(same.out.join('\n')).toContain('summary: no change');

    const changed = captureContext({ root: await project(one, configMapComposition({ web: { settings: { a: '2' } } })), env: {} });
    expect(await runDiff([], changed), changed.err.join('\n')).toBe(0);
    expect(changed.out.join('\n')).toContain('→ the working tree (rendered)');
    expect(changed.out.join('\n')).toContain('~ ConfigMap web/settings');
    expect(changed.out.join('\n')).toContain('data.a: "1" → "2"');
  });

  it('exits 2 when the working tree does not render', async () => {
    const broken = captureContext({
      root: await project(configMapComposition({ web: { settings: { a: '1' } } }), 'export default 42;\n'),
      env: {},
    });
    expect(await runDiff([], broken)).toBe(2);
    expect(broken.err.join('\n')).toContain('diff: the working tree does not render');
  });

  it('runs from the command bundle as npm runs it, with the same exit codes', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(projectRoot, 'cli/diff.mjs'), '--root', repo, ...args], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      });
    const dangerous = run('--base', 'scaled', '--head', 'open');
    expect(dangerous.status, dangerous.stderr).toBe(1);
    expect(dangerous.stdout).toContain('exposure.removed-network-policy');
    expect(run('--base', 'start', '--head', 'scaled').status).toBe(0);
    expect(run('--base', 'nope', '--head', 'scaled').status).toBe(2);
  });
});

describe('npm run diff: symbolic links', () => {
  it('reads a committed link as the file it points to, and a link to nothing as a problem', async () => {
    const root = mkdtempSync(join(tmpdir(), 'diff-test-'));
    temporary.push(root);
    git(root, 'init', '-q');
    const app = join(root, 'dist/c/web');
    mkdirSync(app, { recursive: true });
    const map = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: web\ndata:\n  x: "${value}"\n`;
    writeFileSync(join(app, 'kustomization.yaml'), 'resources: [cm.yaml]\n');
    writeFileSync(join(app, 'one.yaml'), map('1'));
    writeFileSync(join(app, 'two.yaml'), map('2'));
    symlinkSync('one.yaml', join(app, 'cm.yaml'));
    const commit = (tag: string) => {
      git(root, 'add', '-A');
      git(root, 'commit', '-q', '-m', tag);
      git(root, 'tag', tag);
    };
    commit('one');
    rmSync(join(app, 'cm.yaml'));
    symlinkSync('two.yaml', join(app, 'cm.yaml'));
    commit('two');
    rmSync(join(app, 'cm.yaml'));
    symlinkSync('gone.yaml', join(app, 'cm.yaml'));
    commit('dangling');
    const run = async (base: string, head: string) => {
      const context = captureContext({ root, env: {} });
      const code = await runDiff(['--base', base, '--head', head], context);
      return { code, out: context.out.join('\n'), err: context.err.join('\n') };
    };
    const retargeted = await run('one', 'two');
    expect(retargeted.code).toBe(0);
    expect(retargeted.out).toContain('data.x: "1" → "2"');
    const dangling = await run('two', 'dangling');
    expect(dangling.code).toBe(2);
    expect(dangling.err).toContain('dist/c/web/cm.yaml is a symbolic link to no file of the commit (dangling)');
  });
});
