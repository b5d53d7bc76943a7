import { compareStrings } from '../framework/model.js';

export interface Dependent {
  readonly name: string;
  /** Names of the apps that must be synced and healthy first. */
  readonly dependsOn?: readonly string[];
}

export interface Ordering {
  /** Wave of each app: 0 without dependencies, else one more than its latest dependency. */
  readonly waves: ReadonlyMap<string, number>;
  /** Unknown dependencies and cycles, as messages naming the apps involved. */
  readonly errors: readonly string[];
}

/**
 * Orders apps by what they declare they need. Each cycle is reported once, as the path that
 * closes it (`a -> b -> a`); apps on a cycle get no wave.
 */
export function orderByDependencies(apps: readonly Dependent[]): Ordering {
  const byName = new Map(apps.map((app) => [app.name, app]));
  const errors: string[] = [];
  for (const app of apps) {
    for (const dependency of app.dependsOn ?? []) {
      if (!byName.has(dependency)) errors.push(`app "${app.name}" depends on "${dependency}", which is not an app of this cluster`);
    }
  }
  const waves = new Map<string, number>();
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (name: string, path: string[]): number | undefined => {
    if (state.get(name) === 'done') return waves.get(name);
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      const key = [...new Set(cycle)].sort(compareStrings).join(',');
      if (!reported.has(key)) {
        reported.add(key);
        errors.push(`apps depend on each other in a cycle: ${cycle.join(' -> ')}`);
      }
      return undefined;
    }
    state.set(name, 'visiting');
    let wave: number | undefined = 0;
    for (const dependency of byName.get(name)?.dependsOn ?? []) {
      if (!byName.has(dependency)) continue;
      const before = visit(dependency, [...path, name]);
      wave = before === undefined || wave === undefined ? undefined : Math.max(wave, before + 1);
    }
    state.set(name, 'done');
    if (wave !== undefined) waves.set(name, wave);
    return wave;
  };
  for (const app of apps) visit(app.name, []);
  return { waves, errors };
}
