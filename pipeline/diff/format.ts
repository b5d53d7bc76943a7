import { diffLines } from 'diff';
import { compareStrings, isRecord } from '../../framework/model.js';
import { stringifyData } from '../yaml.js';
import {
  type AppChange,
  type DistDiff,
  describeRef,
  ENCRYPTED,
  type FileChange,
  type KustomizationChange,
  type ObjectChange,
} from './compare.js';
import type { Danger } from './dangers.js';
import { type FieldChange, isMultiline, showValue } from './values.js';

export type DiffFormat = 'text' | 'markdown' | 'json';

export interface FormatOptions {
  readonly colour: boolean;
  /** Also the line diff of each changed object's YAML. */
  readonly verbose: boolean;
  /** The markdown output's size cap in characters: apps past it are cut, and the output says which. */
  readonly maxChars: number;
}

/** A SOPS value or an age or PGP armored block anywhere in text shown: never printed. */
const CIPHERTEXT = /ENC\[[A-Z0-9_]+,data:[^\]]*\]|-----BEGIN (AGE ENCRYPTED FILE|PGP MESSAGE)-----[\s\S]*?(-----END \1-----|$)/g;
/**
 * A SOPS data key wrapped by a key service (KMS, GCP KMS, Azure Key Vault, Vault): the `enc`
 * value of its metadata, in YAML, JSON, INI or dotenv files (`"enc": "…"`, `kms__list_0__map_enc=…`).
 */
const WRAPPED_KEY = /((?:\b|_)enc["']?[ \t]*[:=][ \t]*)(?![|>])("[^"\n]*"|'[^'\n]*'|[^\s,}\]]+)/g;
const redact = (text: string) => text.replace(CIPHERTEXT, ENCRYPTED).replace(WRAPPED_KEY, `$1${ENCRYPTED}`);

/** Every string of a value, redacted, for the JSON report. */
function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (isRecord(value) && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item)]));
  return value;
}

/** Control characters a value may hold, spelled out: a terminal must not act on them (an escape sequence could paint a false line). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this is for
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;
const printable = (text: string) =>
  redact(text).replace(CONTROL, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);

/** Changes per app: how many objects were added, changed and removed. */
export interface AppCounts {
  readonly cluster: string;
  readonly app: string;
  readonly change: AppChange['change'];
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  /** Whether the kustomization (upstream, charts, patches) or a file that is not objects changed. */
  readonly kustomization: boolean;
}

export function countsOf(app: AppChange): AppCounts {
  const count = (kind: ObjectChange['change']) => app.objects.filter((object) => object.change === kind).length;
  const kustomization = app.kustomization.length > 0 || app.files.length > 0;
  return {
    cluster: app.cluster,
    app: app.app,
    change: app.change,
    added: count('added'),
    changed: count('changed'),
    removed: count('removed'),
    kustomization,
  };
}

function countsText(counts: AppCounts): string {
  const parts = [
    counts.added > 0 ? `${counts.added} added` : '',
    counts.changed > 0 ? `${counts.changed} changed` : '',
    counts.removed > 0 ? `${counts.removed} removed` : '',
    counts.kustomization && counts.change === 'changed' ? 'kustomization changed' : '',
  ].filter((part) => part !== '');
  const whole = counts.change === 'changed' ? '' : `app ${counts.change}: `;
  return `${whole}${parts.join(', ') || 'no object changed'}`;
}

// ---------------------------------------------------------------------------------------------
// Lines, shared by the text and markdown outputs

/** One output line: its text, and how it is coloured on a terminal. */
interface Line {
  readonly text: string;
  readonly tone?: 'added' | 'removed' | 'changed' | 'danger' | 'allowed' | 'heading' | 'dim';
}

function lineDiff(before: string, after: string, indent: string, context: number, limit: number): Line[] {
  const lines: Line[] = [];
  const parts = diffLines(before, after);
  parts.forEach((part, index) => {
    const rows = part.value.replace(/\n$/, '').split('\n');
    if (part.added || part.removed) {
      for (const row of rows) lines.push({ text: `${indent}${part.added ? '+' : '-'} ${row}`, tone: part.added ? 'added' : 'removed' });
      return;
    }
    // Unchanged text: a few lines of context on each side of a change.
    const head = index > 0 ? rows.slice(0, context) : [];
    const tail = index < parts.length - 1 ? rows.slice(Math.max(head.length, rows.length - context)) : [];
    for (const row of head) lines.push({ text: `${indent}  ${row}`, tone: 'dim' });
    if (rows.length > head.length + tail.length && (head.length > 0 || tail.length > 0))
      lines.push({ text: `${indent}  ...`, tone: 'dim' });
    for (const row of tail) lines.push({ text: `${indent}  ${row}`, tone: 'dim' });
  });
  if (lines.length <= limit) return lines;
  return [...lines.slice(0, limit), { text: `${indent}... ${lines.length - limit} more lines (--verbose shows them all)`, tone: 'dim' }];
}

function fieldLines(field: FieldChange, indent: string, verbose: boolean): Line[] {
  if (isMultiline(field)) {
    const what = field.before === undefined ? 'added' : field.after === undefined ? 'removed' : 'changed';
    return [
      { text: `${indent}${field.path}: (${what}, text)`, tone: 'changed' },
      ...lineDiff(
        redact(String(field.before ?? '')),
        redact(String(field.after ?? '')),
        `${indent}  `,
        1,
        verbose ? Number.POSITIVE_INFINITY : 20,
      ),
    ];
  }
  const scalars = (value: unknown): value is unknown[] =>
    Array.isArray(value) && value.every((item) => item === null || typeof item !== 'object');
  if (scalars(field.before) && scalars(field.after)) {
    const before = field.before.map((item) => JSON.stringify(item));
    const after = field.after.map((item) => JSON.stringify(item));
    const added = field.after.filter((_, index) => !before.includes(after[index] as string));
    const removed = field.before.filter((_, index) => !after.includes(before[index] as string));
    if (added.length + removed.length > 0 && new Set(before).size === before.length && new Set(after).size === after.length) {
      return [
        ...added.map((item): Line => ({ text: `${indent}${field.path}: + ${showValue(item, 200)}`, tone: 'added' })),
        ...removed.map((item): Line => ({ text: `${indent}${field.path}: - ${showValue(item, 200)}`, tone: 'removed' })),
      ];
    }
    if (added.length + removed.length === 0)
      return [{ text: `${indent}${field.path}: reordered: ${showValue(field.after, 200)}`, tone: 'changed' }];
  }
  if (field.before === undefined) return [{ text: `${indent}${field.path}: + ${showValue(field.after, 100)}`, tone: 'added' }];
  if (field.after === undefined) return [{ text: `${indent}${field.path}: - ${showValue(field.before, 100)} (removed)`, tone: 'removed' }];
  return [{ text: `${indent}${field.path}: ${showValue(field.before, 60)} → ${showValue(field.after, 60)}`, tone: 'changed' }];
}

function kustomizationLines(change: KustomizationChange, indent: string, verbose: boolean): Line[] {
  if (change.note !== undefined) {
    const lines: Line[] = [{ text: `${indent}${change.subject}: ${change.note}`, tone: 'changed' }];
    const items = change.items ?? [];
    if (items.length > 1) {
      const shown = verbose ? items : items.slice(0, 8);
      lines.push({
        text: `${indent}    ${shown.join(', ')}${shown.length < items.length ? `, and ${items.length - shown.length} more` : ''}`,
        tone: 'dim',
      });
    }
    return lines;
  }
  if (change.path === undefined) {
    if (change.before === undefined) return [{ text: `${indent}${change.subject}: added ${showValue(change.after, 100)}`, tone: 'added' }];
    if (change.after === undefined)
      return [{ text: `${indent}${change.subject}: removed ${showValue(change.before, 100)}`, tone: 'removed' }];
    return [{ text: `${indent}${change.subject}: ${showValue(change.before)} → ${showValue(change.after)}`, tone: 'changed' }];
  }
  return fieldLines({ path: `${change.subject}: ${change.path}`, before: change.before, after: change.after }, indent, verbose);
}

function sopsSummary(object: ObjectChange): string {
  const sops = object.sops;
  if (!sops) return '';
  const parts = [
    sops.reencrypted ? 're-encrypted' : '',
    sops.keysAdded.length > 0 ? `keys added: ${sops.keysAdded.join(', ')}` : '',
    sops.keysRemoved.length > 0 ? `keys removed: ${sops.keysRemoved.join(', ')}` : '',
    sops.recipientsAdded.length > 0 ? `recipients added: ${sops.recipientsAdded.join(', ')}` : '',
    sops.recipientsRemoved.length > 0 ? `recipients removed: ${sops.recipientsRemoved.join(', ')}` : '',
  ].filter((part) => part !== '');
  return parts.length > 0 ? `: ${parts.join('; ')}` : '';
}

const MARK = { added: '+', removed: '-', changed: '~' } as const;

/** A manifest as stable YAML (sorted keys), for the line diff of --verbose. */
function sortedYaml(value: unknown): string {
  const sort = (item: unknown): unknown =>
    Array.isArray(item)
      ? item.map(sort)
      : isRecord(item)
        ? Object.fromEntries(
            Object.keys(item)
              .sort(compareStrings)
              .map((key) => [key, sort(item[key])]),
          )
        : item;
  return stringifyData(sort(value));
}

function objectLines(object: ObjectChange, options: FormatOptions): Line[] {
  const secret = object.sops ? ' (SOPS)' : '';
  const moved =
    object.moved === undefined ? '' : object.change === 'removed' ? ` (moved to app ${object.moved})` : ` (moved from app ${object.moved})`;
  const where = object.change === 'changed' ? '' : `${moved}  [${object.file}]`;
  const lines: Line[] = [
    {
      text: `  ${MARK[object.change]} ${describeRef(object.ref)}${secret}${object.change === 'changed' ? sopsSummary(object) : ''}${where}`,
      tone: object.change,
    },
  ];
  if (object.change !== 'changed') {
    // An added or removed SOPS file: its keys, never its values.
    if (object.sops) {
      const keys = object.change === 'added' ? object.sops.keysAdded : object.sops.keysRemoved;
      if (keys.length > 0) lines.push({ text: `      keys: ${keys.join(', ')}`, tone: 'dim' });
    }
    if (options.verbose) {
      const yaml = redact(sortedYaml(object.after ?? object.before));
      lines.push(
        ...lineDiff(object.change === 'added' ? '' : yaml, object.change === 'added' ? yaml : '', '      ', 0, Number.POSITIVE_INFINITY),
      );
    }
    return lines;
  }
  for (const field of object.fields) lines.push(...fieldLines(field, '      ', options.verbose));
  if (options.verbose) {
    lines.push({ text: '      YAML:', tone: 'dim' });
    lines.push(...lineDiff(redact(sortedYaml(object.before)), redact(sortedYaml(object.after)), '      ', 3, Number.POSITIVE_INFINITY));
  }
  return lines;
}

function fileLines(file: FileChange, options: FormatOptions): Line[] {
  const lines: Line[] = [{ text: `  ${MARK[file.change]} file ${file.path}`, tone: file.change }];
  if (file.change === 'changed')
    lines.push(
      ...lineDiff(redact(file.before ?? ''), redact(file.after ?? ''), '      ', 1, options.verbose ? Number.POSITIVE_INFINITY : 20),
    );
  return lines;
}

function appLines(app: AppChange, options: FormatOptions): Line[] {
  const lines: Line[] = [{ text: `${app.cluster}/${app.app} (${countsText(countsOf(app))})`, tone: 'heading' }];
  for (const change of app.kustomization) lines.push(...kustomizationLines(change, '  ', options.verbose));
  for (const file of app.files) lines.push(...fileLines(file, options));
  for (const object of app.objects) lines.push(...objectLines(object, options));
  return lines;
}

function dangerLine(danger: Danger): Line {
  const where = `${danger.cluster}/${danger.app}${danger.object ? ` ${danger.object}` : ''}`;
  return danger.allowed
    ? { text: `  allowed ${danger.rule}  ${where}: ${danger.detail}`, tone: 'allowed' }
    : { text: `  ✗ ${danger.rule}  ${where}: ${danger.detail}`, tone: 'danger' };
}

function summaryText(diff: DistDiff, dangers: readonly Danger[]): string {
  const apps = diff.apps.map((app) => `${app.cluster}/${app.app} ${countsText(countsOf(app))}`);
  const blocking = dangers.filter((danger) => !danger.allowed).length;
  const allowed = dangers.length - blocking;
  const changes =
    apps.length === 0 && diff.other.length === 0 ? 'no change' : apps.join('; ') || `${diff.other.length} other files changed`;
  const risk =
    blocking > 0
      ? `${blocking} dangerous change${blocking === 1 ? '' : 's'}${allowed > 0 ? ` (and ${allowed} allowed)` : ''}`
      : `no dangerous change${allowed > 0 ? ` (${allowed} allowed)` : ''}`;
  return `${changes}; ${risk}`;
}

// ---------------------------------------------------------------------------------------------
// Text

const COLOURS: Record<NonNullable<Line['tone']>, string> = {
  added: '\u001b[32m',
  removed: '\u001b[31m',
  changed: '\u001b[33m',
  danger: '\u001b[1;31m',
  allowed: '\u001b[35m',
  heading: '\u001b[1m',
  dim: '\u001b[2m',
};

export function formatText(diff: DistDiff, dangers: readonly Danger[], options: FormatOptions): string {
  const lines: Line[] = [{ text: `diff of dist/: ${diff.base} → ${diff.head}`, tone: 'heading' }];
  for (const warning of diff.warnings) lines.push({ text: `warning: ${warning} (compared as far as it reads)`, tone: 'dim' });
  for (const app of diff.apps) lines.push(...appLines(app, options));
  for (const file of diff.other) lines.push(...fileLines(file, options));
  if (dangers.length > 0) {
    lines.push({ text: `dangers (${dangers.length}):`, tone: 'heading' });
    const reasons = new Map<string, string>();
    for (const danger of dangers) {
      lines.push(dangerLine(danger));
      reasons.set(danger.rule, danger.reason);
    }
    for (const [rule, reason] of reasons) lines.push({ text: `  ${rule}: ${reason}`, tone: 'dim' });
    if (dangers.some((danger) => !danger.allowed)) {
      const rules = [...new Set(dangers.filter((danger) => !danger.allowed).map((danger) => danger.rule))];
      lines.push({ text: `  to accept on purpose: ${rules.map((rule) => `--allow ${rule}`).join(' ')} (docs/review.md)`, tone: 'dim' });
    }
  }
  lines.push({ text: `summary: ${summaryText(diff, dangers)}` });
  return lines
    .map((line) => printable(line.text))
    .map((text, index) => {
      const tone = lines[index]?.tone;
      return options.colour && tone ? `${COLOURS[tone]}${text}\u001b[0m` : text;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Markdown (a merge request note)

/** Text inside a markdown code span or block cannot end it. */
const fence = (text: string) => text.replaceAll('```', '`\u200b``');
const html = (text: string) => printable(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
/** A code span, fit for a table cell: one line, no backtick to end it, pipes escaped (GFM splits cells on them even in code). */
const code = (text: string) => `\`${printable(text).replace(/\s+/g, ' ').replaceAll('`', "'").replaceAll('|', '\\|')}\``;
/** Plain text in a table cell: one line, no HTML, pipes escaped. */
const cell = (text: string) => html(text.replace(/\s+/g, ' ')).replaceAll('|', '\\|');

export function formatMarkdown(diff: DistDiff, dangers: readonly Danger[], options: FormatOptions): string {
  // Half the size is for the dangers, the rest for the apps' changes: a long list of either is cut, saying so.
  const budget = options.maxChars - 600;
  const head: string[] = [`### Cluster diff: ${code(diff.base)} → ${code(diff.head)}`, ''];
  if (diff.warnings.length > 0) {
    head.push(`> **The base does not read in full**, so it is compared as far as it reads:`);
    for (const warning of diff.warnings.slice(0, 10)) head.push(`> - ${cell(warning)}`);
    if (diff.warnings.length > 10) head.push(`> - and ${diff.warnings.length - 10} more`);
    head.push('');
  }
  const blocking = dangers.filter((danger) => !danger.allowed);
  head.push(
    blocking.length > 0
      ? `**${blocking.length} dangerous change${blocking.length === 1 ? '' : 's'}** — accept one on purpose with an \`Allow-danger: RULE\` trailer in a commit message of this merge request (docs/review.md).`
      : diff.apps.length === 0
        ? 'No change to the rendered cluster.'
        : 'No dangerous change.',
    '',
  );
  const size = () => head.reduce((total, line) => total + line.length + 1, 0);
  if (dangers.length > 0) {
    head.push('| | rule | object | what |', '|---|---|---|---|');
    let listed = 0;
    for (const danger of dangers) {
      const where = `${danger.cluster}/${danger.app}${danger.object ? ` ${danger.object}` : ''}`;
      const row = `| ${danger.allowed ? 'allowed' : '⚠️'} | ${code(danger.rule)} | ${code(where)} | ${cell(danger.detail)} |`;
      if (size() + row.length > budget / 2) break;
      head.push(row);
      listed += 1;
    }
    if (listed < dangers.length)
      head.push(
        `| | | | **and ${dangers.length - listed} more dangers**: the job's \`diff.json\` artifact and \`npm run diff\` list them all |`,
      );
    head.push('');
    for (const rule of [...new Set(dangers.map((danger) => danger.rule))]) {
      head.push(`- ${code(rule)}: ${cell(dangers.find((danger) => danger.rule === rule)?.reason ?? '')}`);
    }
    head.push('');
  }
  if (diff.apps.length > 0) {
    head.push('| app | objects added | changed | removed | kustomization |', '|---|---:|---:|---:|:---:|');
    const all = diff.apps.map(countsOf);
    let listed = 0;
    for (const counts of all) {
      const name = `${counts.cluster}/${counts.app}${counts.change === 'changed' ? '' : ` (${counts.change})`}`;
      const row = `| ${code(name)} | ${counts.added} | ${counts.changed} | ${counts.removed} | ${counts.kustomization ? 'changed' : ''} |`;
      if (size() + row.length > (budget * 3) / 4) break;
      head.push(row);
      listed += 1;
    }
    if (listed < all.length) head.push(`| and ${all.length - listed} more apps | | | | |`);
    head.push('');
  }
  let text = `${head.join('\n')}\n`;
  const sections = [
    ...diff.apps.map((app) => ({
      name: `${app.cluster}/${app.app}`,
      counts: countsText(countsOf(app)),
      lines: appLines(app, { ...options, colour: false }).slice(1),
    })),
    ...(diff.other.length > 0
      ? [{ name: 'dist/', counts: 'files outside the apps', lines: diff.other.flatMap((file) => fileLines(file, options)) }]
      : []),
  ];
  let shown = 0;
  let partial = '';
  for (const section of sections) {
    // In a diff block the first column colours the line: + added, - removed.
    const rows = section.lines.map((line) => `${line.tone === 'added' ? '+' : line.tone === 'removed' ? '-' : ' '}${printable(line.text)}`);
    const open = `<details><summary><code>${html(section.name)}</code> (${html(section.counts)})</summary>\n\n\`\`\`diff\n`;
    const close = '\n```\n\n</details>\n\n';
    const room = budget - text.length - open.length - close.length;
    const body = fence(rows.join('\n'));
    if (body.length <= room) {
      text += open + body + close;
      shown += 1;
      continue;
    }
    // The first app that does not fit is shown in part, if a useful part fits.
    const kept: string[] = [];
    let used = 0;
    for (const row of rows) {
      if (used + row.length + 1 > room - 80) break;
      kept.push(row);
      used += row.length + 1;
    }
    if (kept.length > 0) {
      text += `${open}${fence(kept.join('\n'))}\n  ... ${rows.length - kept.length} more lines cut${close}`;
      partial = `${section.name} in part, `;
      shown += 1;
    }
    break;
  }
  const cut =
    shown < sections.length || partial !== ''
      ? `**Cut at ${options.maxChars} characters:** ${partial}the changes of ${sections.length - shown} of ${sections.length} apps are not shown${
          sections.length > shown
            ? ` (${sections
                .slice(shown, shown + 20)
                .map((section) => code(section.name))
                .join(', ')}${sections.length - shown > 20 ? ', ...' : ''})`
            : ''
        }; the job's \`diff.json\` artifact and \`npm run diff\` hold them all.\n`
      : '';
  return `${text}${cut}\n<sub>${html(summaryText(diff, dangers))}</sub>\n`;
}

// ---------------------------------------------------------------------------------------------
// JSON

export function formatJson(diff: DistDiff, dangers: readonly Danger[]): string {
  const field = (change: FieldChange) => ({
    path: change.path,
    ...(change.before !== undefined ? { before: redactValue(change.before) } : {}),
    ...(change.after !== undefined ? { after: redactValue(change.after) } : {}),
  });
  const report = {
    format: 1,
    base: diff.base,
    head: diff.head,
    warnings: diff.warnings.map(redact),
    summary: {
      apps: diff.apps.map(countsOf),
      dangers: dangers.filter((danger) => !danger.allowed).length,
      allowed: dangers.filter((danger) => danger.allowed).length,
    },
    dangers,
    apps: diff.apps.map((app) => ({
      cluster: app.cluster,
      app: app.app,
      change: app.change,
      kustomization: app.kustomization.map((change) => ({
        subject: change.subject,
        ...(change.note !== undefined ? { note: change.note } : {}),
        ...(change.items !== undefined ? { items: change.items } : {}),
        ...field({ path: change.path ?? '', before: change.before, after: change.after }),
      })),
      files: app.files.map((file) => ({ path: file.path, change: file.change })),
      objects: app.objects.map((object) => ({
        change: object.change,
        ...object.ref,
        file: object.file,
        ...(object.change === 'changed' ? { fields: object.fields.map(field) } : {}),
        ...(object.sops ? { sops: object.sops } : {}),
        ...(object.moved !== undefined ? { moved: object.moved } : {}),
      })),
    })),
    other: diff.other.map((file) => ({ path: file.path, change: file.change })),
  };
  return JSON.stringify(report, null, 2);
}
