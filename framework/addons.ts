import type { IConstruct } from 'constructs';

/**
 * Behaviour a composition applies over every app's construct tree once all apps are built (an
 * aspect; kube-prometheus calls them addons): for example, one ServiceMonitor for every construct
 * that declares a metrics endpoint. Constructs declare what they have; the addon decides what that
 * becomes, so a cluster without the addon renders none of it.
 */
export interface Addon {
  /** Names the addon in problems. A name is applied once, however often it is listed. */
  readonly name: string;
  /**
   * Called once for each construct of the tree, parents before children. It may add constructs
   * (they are validated and serialized like the others); this addon does not visit what it adds,
   * the addons listed after it do.
   */
  visit(construct: IConstruct): void;
}

/** A visit that threw: the other constructs are still visited. */
export interface AddonFailure {
  readonly addon: string;
  readonly constructPath: string;
  readonly error: unknown;
}

const VISITED_BY: unique symbol = Symbol.for('homelab-cdk8s.visited-by-addons');

function visitedBy(construct: IConstruct): Set<string> {
  const holder = construct as unknown as Record<symbol, Set<string> | undefined>;
  const names = holder[VISITED_BY] ?? new Set<string>();
  holder[VISITED_BY] = names;
  return names;
}

/**
 * Applies `addons`, in order, to `scope` and everything under it. Each addon visits each
 * construct once, across calls too: applying again visits only constructs added since by
 * something other than that addon, so applying twice changes nothing, and an addon that adds
 * constructs cannot loop over its own.
 */
export function applyAddons(scope: IConstruct, addons: readonly Addon[]): AddonFailure[] {
  const failures: AddonFailure[] = [];
  const applied = new Set<string>();
  for (const addon of addons) {
    if (applied.has(addon.name)) continue;
    applied.add(addon.name);
    for (const construct of scope.node.findAll()) {
      const visited = visitedBy(construct);
      if (visited.has(addon.name)) continue;
      visited.add(addon.name);
      try {
        addon.visit(construct);
      } catch (error) {
        failures.push({ addon: addon.name, constructPath: construct.node.path, error });
      }
    }
    // What the addon added is its own output, never its input.
    for (const construct of scope.node.findAll()) visitedBy(construct).add(addon.name);
  }
  return failures;
}

/** Why `value` is not an addon, or undefined when it is one. */
export function addonError(value: unknown): string | undefined {
  const candidate = value as Partial<Addon> | null | undefined;
  if (typeof candidate !== 'object' || candidate === null) return `is ${candidate === null ? 'null' : typeof candidate}, not an addon`;
  if (typeof candidate.name !== 'string' || candidate.name === '') return 'has no name (a non-empty string)';
  if (typeof candidate.visit !== 'function') return `"${candidate.name}" has no visit(construct) function`;
  return undefined;
}
