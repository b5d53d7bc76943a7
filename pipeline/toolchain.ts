import type { RenderToolchain } from '../framework/contributions.js';
import type { Problem } from '../framework/model.js';

/**
 * kustomize releases before this one run `helm version -c --short` before inflating a chart and
 * refuse any helm that is not v3; helm v4 has no `-c` (kustomize issue 6013, fixed in 5.8.1).
 */
export const KUSTOMIZE_WITH_HELM_V4 = '5.8.1';

/** What one app's folder needs from the tools that build it. */
export interface ToolchainNeeds {
  readonly app: string;
  /** Where to report a problem (the app's construct path). */
  readonly constructPath: string;
  readonly helmCharts: number;
  /** KRM exec functions its kustomization runs (the KSOPS generator's `ksops`). */
  readonly execFunctions: readonly string[];
}

/** `1.2.3` or `v1.2.3` (pre-release and build ignored) as numbers; undefined when it is not a version. */
export function parseVersion(version: string): [number, number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version.trim());
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function compareVersions(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The one toolchain of a cluster; a second one, or none where it must be, is a problem. */
export function clusterToolchain(
  cluster: string,
  declared: readonly { readonly toolchain: RenderToolchain; readonly constructPath: string }[],
  problems: Problem[],
): RenderToolchain | undefined {
  const [first, ...others] = declared;
  for (const other of others) {
    problems.push({
      origin: { constructPath: other.constructPath },
      rule: 'toolchain',
      message: `cluster ${cluster} already has its renderer declared at ${first?.constructPath}: one construct configures the tools that build every app folder`,
    });
  }
  return first?.toolchain;
}

/**
 * Whether the renderer can build what each app uses: Helm charts need `--enable-helm` and a
 * kustomize that can run the helm the renderer ships; KRM exec functions need alpha plugins,
 * `--enable-exec` and the executable on the renderer's PATH.
 */
export function checkToolchain(toolchain: RenderToolchain, apps: readonly ToolchainNeeds[]): Problem[] {
  const problems: Problem[] = [];
  const options = new Set(toolchain.buildOptions);
  const kustomize = parseVersion(toolchain.kustomize.version);
  const helms = toolchain.helm.map((version) => ({ version, parsed: parseVersion(version) }));
  const kustomizeName = `kustomize ${toolchain.kustomize.version} (${toolchain.kustomize.source})`;
  for (const app of apps) {
    const report = (message: string) => problems.push({ origin: { constructPath: app.constructPath }, rule: 'toolchain', message });
    if (app.helmCharts > 0) {
      const charts = `app "${app.app}" inflates ${app.helmCharts === 1 ? 'a Helm chart' : `${app.helmCharts} Helm charts`}`;
      if (!options.has('--enable-helm')) {
        report(`${charts}, but ${toolchain.renderer} builds without --enable-helm: add it to the kustomize build options`);
      }
      if (helms.length === 0) {
        report(`${charts}, but ${toolchain.renderer} has no helm binary`);
      } else if (kustomize === undefined) {
        report(`${charts}, but the renderer's kustomize version "${toolchain.kustomize.version}" is not a version number`);
      } else if (compareVersions(kustomize, parseVersion(KUSTOMIZE_WITH_HELM_V4) as [number, number, number]) < 0) {
        const v3 = helms.some(({ parsed }) => parsed?.[0] === 3);
        if (!v3) {
          report(
            `${charts}, but ${toolchain.renderer} runs ${kustomizeName}, which calls "helm version -c" and refuses every helm but v3, and it has only helm ${helms.map(({ version }) => version).join(', ')}: every build of the app would fail; let the renderer's own kustomize ${KUSTOMIZE_WITH_HELM_V4} or later run (kustomize issue 6013)`,
          );
        }
      }
    }
    for (const fn of app.execFunctions) {
      const missing = ['--enable-alpha-plugins', '--enable-exec'].filter((flag) => !options.has(flag));
      if (missing.length > 0) {
        report(
          `app "${app.app}" runs the KRM exec function "${fn}", but ${toolchain.renderer} builds without ${missing.join(' and ')}: kustomize would leave its output out without a word; add ${missing.length === 1 ? 'it' : 'them'} to the kustomize build options`,
        );
      }
      if (!toolchain.execFunctions.includes(fn)) {
        report(`app "${app.app}" runs the KRM exec function "${fn}", which ${toolchain.renderer} does not install on its PATH`);
      }
    }
  }
  return problems;
}
