/**
 * `npm run strict-schemas`: regenerates the field structures strict validation reads (see
 * pipeline/strict/generate.ts) after a model package upgrade or a new CRD source. A test fails
 * while the committed files differ from what this writes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ARGOCD_VERSION } from '../constructs/gitops/argocd.js';
import { TRAEFIK_VERSION } from '../constructs/ingress/traefik.js';
import { CRD_FILE_STEMS, KUBE_PROMETHEUS_VERSION } from '../constructs/monitoring/kube-prometheus.js';
import type { CommandContext } from '../pipeline/commands.js';
import { isEntryPoint } from '../pipeline/entry-point.js';
import { type CrdStructureSource, MODEL_STRUCTURE_FOLDER, structureFiles } from '../pipeline/strict/generate.js';
import { importedCrdGroups } from './import-crds.js';
import { exitWith, projectContext } from './project.js';

const UPSTREAM = '../shared/upstream/raw.githubusercontent.com';

/**
 * The CRD files structures are made from, at the versions the constructs pin: the kinds the
 * library registers (constructs/kinds.ts, from ../shared/crds), and the custom resources it
 * renders whose CRDs a pinned upstream install carries, so that synth holds them to the CRDs the
 * cluster will really have rather than to a model package's declarations. (cert-manager's CRDs
 * ship as Helm templates: its kinds keep their package's declarations.)
 */
const PINNED_CRD_STRUCTURE_SOURCES: readonly CrdStructureSource[] = [
  {
    file: 'imports/snapshot.storage.k8s.io/structure.json',
    crds: [
      '../shared/crds/external-snapshotter/snapshot.storage.k8s.io_volumesnapshotclasses.yaml',
      '../shared/crds/external-snapshotter/snapshot.storage.k8s.io_volumesnapshots.yaml',
    ],
  },
  {
    file: `${MODEL_STRUCTURE_FOLDER}/crds-argo-cd.json`,
    crds: [`${UPSTREAM}/argoproj/argo-cd/${ARGOCD_VERSION}/manifests/ha/install.yaml`],
  },
  {
    file: `${MODEL_STRUCTURE_FOLDER}/crds-traefik.json`,
    crds: [`${UPSTREAM}/traefik/traefik/${TRAEFIK_VERSION}/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml`],
  },
  {
    file: `${MODEL_STRUCTURE_FOLDER}/crds-prometheus-operator.json`,
    crds: Object.values(CRD_FILE_STEMS).map(
      (stem) =>
        `${UPSTREAM}/prometheus-operator/kube-prometheus/${KUBE_PROMETHEUS_VERSION}/manifests/setup/0${stem}CustomResourceDefinition.yaml`,
    ),
  },
];

/** The sources above, and one per API group of the CRDs cdk8s.yaml imports (`imports/<group>/structure.json`). */
export function crdStructureSources(root: string): CrdStructureSource[] {
  const imported = [...importedCrdGroups(root)].map(([group, crds]) => ({ file: `imports/${group}/structure.json`, crds }));
  return [...PINNED_CRD_STRUCTURE_SOURCES, ...imported];
}

export async function main(_argv: readonly string[], context: Pick<CommandContext, 'root' | 'io'>): Promise<number> {
  for (const [file, text] of structureFiles(context.root, crdStructureSources(context.root))) {
    mkdirSync(dirname(join(context.root, file)), { recursive: true });
    writeFileSync(join(context.root, file), text);
    context.io.out(`wrote ${file}`);
  }
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  exitWith(main(process.argv.slice(2), projectContext));
}
