import { Construct } from 'constructs';
import { crdSyncOptions, KustomizePatch } from '../core/kustomize-patch.js';
import { floatingVersionError } from '../core/pinning.js';
import { RemoteResource } from '../core/remote-resource.js';
import { type ContainerResources, containerResources, containerResourcesError } from '../core/resources.js';

/**
 * The external-snapshotter release whose CRDs and snapshot-controller this library installs: the
 * release of the csi-snapshotter sidecar the democratic-csi chart runs, so CRDs, controller and
 * sidecar speak the same API.
 */
export const EXTERNAL_SNAPSHOTTER_VERSION = 'v8.2.1';
export const SNAPSHOT_CONTROLLER_IMAGE = 'registry.k8s.io/sig-storage/snapshot-controller';

const REPOSITORY = 'https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter';
const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';

/** The CRDs of the `snapshot.storage.k8s.io` API, by upstream file. */
const CRD_FILES = [
  { kind: 'VolumeSnapshotClass', file: 'snapshot.storage.k8s.io_volumesnapshotclasses.yaml' },
  { kind: 'VolumeSnapshotContent', file: 'snapshot.storage.k8s.io_volumesnapshotcontents.yaml' },
  { kind: 'VolumeSnapshot', file: 'snapshot.storage.k8s.io_volumesnapshots.yaml' },
] as const;

export const SNAPSHOT_CRDS = [{ group: SNAPSHOT_GROUP, kinds: CRD_FILES.map((crd) => crd.kind) }] as const;

export interface SnapshotControllerProps {
  /** Exact external-snapshotter release tag. @default EXTERNAL_SNAPSHOTTER_VERSION */
  readonly version?: string;
  /** Requests and limits of the controller (upstream sets none). @default SNAPSHOT_CONTROLLER_RESOURCES */
  readonly resources?: ContainerResources;
}

/** A small Go controller that watches VolumeSnapshots. */
export const SNAPSHOT_CONTROLLER_RESOURCES: ContainerResources = containerResources('10m', '32Mi', '128Mi');

/**
 * CSI snapshot support, once per cluster: the `snapshot.storage.k8s.io` CRDs and the
 * snapshot-controller (in kube-system, as upstream deploys it), both from the upstream
 * repository at one release tag. The controller runs the image of that same release, and the
 * CRDs are never deleted by a sync: that would delete every VolumeSnapshot of the cluster.
 */
export class SnapshotController extends Construct {
  readonly version: string;

  constructor(scope: Construct, id: string, props: SnapshotControllerProps = {}) {
    super(scope, id);
    this.version = props.version ?? EXTERNAL_SNAPSHOTTER_VERSION;
    const base = `${REPOSITORY}/${this.version}`;
    for (const crd of CRD_FILES) {
      new RemoteResource(this, `crd-${crd.kind}`, {
        url: `${base}/client/config/crd/${crd.file}`,
        crds: [{ group: SNAPSHOT_GROUP, kinds: [crd.kind] }],
      });
    }
    new RemoteResource(this, 'rbac', { url: `${base}/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml` });
    new RemoteResource(this, 'controller', { url: `${base}/deploy/kubernetes/snapshot-controller/setup-snapshot-controller.yaml` });

    // Upstream's deploy manifest may lag its release by a patch version; run the release itself.
    new KustomizePatch(this, 'image', {
      target: { group: 'apps', version: 'v1', kind: 'Deployment', name: 'snapshot-controller' },
      patch: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'snapshot-controller' },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'snapshot-controller',
                  image: `${SNAPSHOT_CONTROLLER_IMAGE}:${this.version}`,
                  resources: props.resources ?? SNAPSHOT_CONTROLLER_RESOURCES,
                },
              ],
            },
          },
        },
      },
    });
    crdSyncOptions(this, 'crd-sync-options', {
      patchName: 'snapshot-crds',
      syncOptions: ['Delete=false'],
      namePattern: `.*\\.${SNAPSHOT_GROUP.replaceAll('.', '\\.')}`,
    });

    this.node.addValidation({
      validate: () => {
        const error = floatingVersionError(this.version);
        const resourcesError = containerResourcesError(props.resources ?? SNAPSHOT_CONTROLLER_RESOURCES);
        return [...(error ? [`external-snapshotter ${error}`] : []), ...(resourcesError ? [`resources: ${resourcesError}`] : [])];
      },
    });
  }
}
