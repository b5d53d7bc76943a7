/**
 * Field structures read from the TypeScript declarations of a kubernetes-models style package
 * (kubernetes-models, @kubernetes-models/*): generated from the Kubernetes OpenAPI document and
 * the CRDs, one interface a definition, with every field the schema defines. The declarations
 * are regular (the packages' generator writes them), so a small parser reads them; anything it
 * does not understand is an error, never a silently free-form field.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { FieldType, ObjectType } from '../../framework/structure.js';

export interface DeclaredStructures {
  /** Named types by their package-wide name (`IIoK8sApiAppsV1DeploymentSpec`). */
  readonly types: Record<string, FieldType>;
  /** `apiVersion/Kind` → the type name of the kind's interface. */
  readonly kinds: Record<string, string>;
  /** The interfaces each interface extends (TypeMeta aside), by package-wide name: see `withBases`. */
  readonly bases: Record<string, string[]>;
}

type Parsed = FieldType | { readonly literal: string };

class DeclarationError extends Error {}

/** A cursor over one declaration file's text, comments removed. */
class Reader {
  private index = 0;
  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  private skip(): void {
    while (this.index < this.text.length && /\s/.test(this.text[this.index] ?? '')) this.index += 1;
  }

  peek(token: string): boolean {
    this.skip();
    return this.text.startsWith(token, this.index);
  }

  accept(token: string): boolean {
    if (!this.peek(token)) return false;
    this.index += token.length;
    return true;
  }

  expect(token: string): void {
    if (!this.accept(token)) this.fail(`expected "${token}"`);
  }

  identifier(): string {
    this.skip();
    const match = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(this.text.slice(this.index));
    if (!match) this.fail('expected a name');
    this.index += match[0].length;
    return match[0];
  }

  /** Skips a numeric literal type (`301`, `-1`); false when none is next. */
  number(): boolean {
    this.skip();
    const match = /^-?\d+(\.\d+)?/.exec(this.text.slice(this.index));
    if (!match) return false;
    this.index += match[0].length;
    return true;
  }

  quoted(): string {
    this.skip();
    const match = /^"((?:[^"\\]|\\.)*)"/.exec(this.text.slice(this.index));
    if (!match) this.fail('expected a quoted string');
    this.index += match[0].length;
    return JSON.parse(match[0]) as string;
  }

  fail(message: string): never {
    const line = this.text.slice(0, this.index).split('\n').length;
    throw new DeclarationError(`${this.file}:${line}: ${message} near "${this.text.slice(this.index, this.index + 40)}"`);
  }
}

/** Reads one type expression: unions of names, literals, `Array<T>`, index signatures and inline objects. */
function parseType(reader: Reader, local: (name: string) => string): Parsed {
  const members: Parsed[] = [];
  do members.push(parseAtom(reader, local));
  while (reader.accept('|'));
  if (members.length === 1) return members[0] as Parsed;
  const structural = members.filter((member): member is FieldType => typeof member !== 'object' || !('literal' in member));
  const shaped = structural.filter((member) => member !== 0);
  if (shaped.length === 0) return 0;
  if (shaped.length === 1 && structural.length === members.length && shaped[0] === 1) return 1;
  return { u: shaped };
}

function parseAtom(reader: Reader, local: (name: string) => string): Parsed {
  if (reader.accept('(')) {
    const inner = parseType(reader, local);
    reader.expect(')');
    return inner;
  }
  if (reader.peek('"')) return { literal: reader.quoted() };
  if (reader.number()) return 0;
  if (reader.peek('{')) return parseObject(reader, local);
  const name = reader.identifier();
  if (name === 'Array') {
    reader.expect('<');
    const item = parseType(reader, local);
    reader.expect('>');
    return { a: leaf(item) };
  }
  let result: Parsed;
  if (['string', 'number', 'boolean', 'null', 'undefined', 'true', 'false'].includes(name)) result = 0;
  else if (['any', 'unknown', 'object'].includes(name)) result = 1;
  else result = local(name);
  // `IDeployment["kind"]` and the like: the field's literal type.
  if (reader.accept('[')) {
    reader.quoted();
    reader.expect(']');
    result = 0;
  }
  return result;
}

const leaf = (parsed: Parsed): FieldType => (typeof parsed === 'object' && 'literal' in parsed ? 0 : parsed);

/** `{ "a"?: T; [key: string]: U; }` after the opening brace is next; `keepEmpty` keeps `{}` an object with no fields. */
function parseObject(reader: Reader, local: (name: string) => string, keepEmpty = false): FieldType {
  reader.expect('{');
  const fields: Record<string, FieldType> = {};
  const literals: Record<string, string> = {};
  let rest: FieldType | undefined;
  while (!reader.accept('}')) {
    if (reader.accept('[')) {
      reader.identifier();
      reader.expect(':');
      reader.identifier();
      reader.expect(']');
      reader.expect(':');
      rest = leaf(parseType(reader, local));
    } else {
      const name = reader.peek('"') ? reader.quoted() : reader.identifier();
      reader.accept('?');
      reader.expect(':');
      const type = parseType(reader, local);
      if (typeof type === 'object' && 'literal' in type) literals[name] = type.literal;
      fields[name] = leaf(type);
    }
    reader.accept(';') || reader.accept(',');
  }
  const object: ObjectType & { literals?: Record<string, string> } = { f: fields, ...(rest !== undefined ? { m: rest } : {}) };
  if (Object.keys(literals).length > 0) Object.defineProperty(object, 'literals', { value: literals, enumerable: false });
  if (Object.keys(fields).length === 0 && !keepEmpty) return rest === undefined ? 1 : { m: rest };
  return object;
}

function declarationFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name === '_schemas' || entry.name === 'node_modules') continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.d.ts') && entry.name !== 'index.d.ts') out.push(path);
    }
  };
  visit(root);
  return out.sort();
}

const STATEMENT = /^export (interface|type|declare class) /m;

/** Reads every declaration file of the package at `root` into named types and kinds. */
export function readDeclarations(root: string): DeclaredStructures {
  const types: Record<string, FieldType> = {};
  const kinds: Record<string, string> = {};
  const bases: Record<string, string[]> = {};
  for (const path of declarationFiles(root)) {
    const file = relative(root, path);
    const text = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    if (!STATEMENT.test(text)) continue;
    // `export type { IDeploymentSpec as IIoK8sApiAppsV1DeploymentSpec, ... }` names the file's types package-wide.
    const aliases = new Map<string, string>();
    for (const match of text.matchAll(/^export type \{([^}]*)\};/gm)) {
      for (const pair of (match[1] ?? '').split(',')) {
        const [from, to] = pair.split(' as ').map((part) => part.trim());
        if (from && to) aliases.set(from, to);
      }
    }
    const local = (name: string) => aliases.get(name) ?? name;
    for (const match of text.matchAll(/^export interface (\w+)(?: extends ([\w, ]+))? \{/gm)) {
      const name = match[1] as string;
      const extended = (match[2] ?? '')
        .split(',')
        .map((base) => base.trim())
        .filter((base) => base !== '' && base !== 'TypeMeta');
      const reader = new Reader(text.slice((match.index ?? 0) + match[0].length - 1), file);
      const type = parseObject(reader, local, extended.length > 0);
      types[local(name)] = type;
      if (extended.length > 0) bases[local(name)] = extended.map(local);
      const literals = (type as { literals?: Record<string, string> }).literals;
      if (literals?.apiVersion && literals.kind) kinds[`${literals.apiVersion}/${literals.kind}`] = local(name);
    }
    for (const match of text.matchAll(/^export type (\w+) = /gm)) {
      const name = match[1] as string;
      // `export type Quantity = IQuantity;` repeats the interface's alias for the class.
      if (aliases.has(name) && !name.startsWith('I')) continue;
      const reader = new Reader(text.slice((match.index ?? 0) + match[0].length), file);
      types[local(name)] = leaf(parseType(reader, local));
    }
  }
  return { types, kinds, bases };
}

/**
 * `types` with each interface that extends others holding their fields too (an empty
 * `interface IIssuerSpec extends IIssuerConfig {}` is IIssuerConfig's fields, not free-form).
 */
export function withBases(types: Record<string, FieldType>, bases: Readonly<Record<string, readonly string[]>>): Record<string, FieldType> {
  const out = { ...types };
  const done = new Set<string>();
  const resolve = (name: string, trail: readonly string[]): FieldType => {
    const own = out[name];
    if (own === undefined) throw new DeclarationError(`interface ${name} is extended but declared in no package read`);
    if (done.has(name) || !bases[name]) return own;
    if (trail.includes(name)) throw new DeclarationError(`interfaces extend each other in a cycle: ${[...trail, name].join(' → ')}`);
    const fields: Record<string, FieldType> = {};
    for (const base of bases[name] ?? []) {
      const resolved = resolve(base, [...trail, name]);
      const object = typeof resolved === 'string' ? resolve(resolved, [...trail, name]) : resolved;
      if (typeof object !== 'object' || !('f' in object))
        throw new DeclarationError(`interface ${name} extends ${base}, which is not an object type`);
      Object.assign(fields, object.f);
    }
    const mine = own as { f: Record<string, FieldType> };
    out[name] = { ...mine, f: { ...fields, ...mine.f } };
    done.add(name);
    return out[name] as FieldType;
  };
  for (const name of Object.keys(bases)) resolve(name, []);
  return out;
}
